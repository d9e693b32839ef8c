#include "crypto/aead.h"

#include <openssl/evp.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "crypto/random.h"

namespace arca::crypto {
namespace {

// Fetched once: EVP_aes_256_gcm() makes OpenSSL 3 look the algorithm up on every init.
const EVP_CIPHER* Gcm() {
  static EVP_CIPHER* cipher = [] {
    EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    if (c == nullptr) std::abort();  // no AES-GCM provider: nothing can be sealed or opened
    return c;
  }();
  return cipher;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const {
    EVP_CIPHER_CTX_free(ctx);
  }  // also cleanses the key schedule
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
}

bool FitsInt(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX) - kAeadTagSize; }

Error SealError(std::string_view what) {
  return Error(Code::kEncryptionFailure, "encryption failed", std::string(what));
}

Error OpenError() {
  // One message for every cause: telling a wrong key from tampering helps nobody but an attacker.
  return Error(Code::kDecryptionFailure,
               "decryption failed: wrong key, wrong context or damaged data");
}

Result<std::string> SealImpl(const SecretBytes& key, std::string_view nonce,
                             std::string_view plaintext, std::string_view aad) {
  if (key.size() != kAeadKeySize) {
    return Error(Code::kInternal, "AES-256-GCM needs a 32-byte key");
  }
  if (nonce.size() != kAeadNonceSize) {
    return Error(Code::kInternal, "AES-256-GCM needs a 12-byte nonce");
  }
  if (!FitsInt(plaintext.size()) || !FitsInt(aad.size())) {
    return Error(Code::kInvalidParameter, "value too large to encrypt");
  }
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return SealError("EVP_CIPHER_CTX_new");
  if (nonce.size() != kAeadNonceSize ||
      EVP_EncryptInit_ex2(ctx.get(), Gcm(), key.data(), Bytes(nonce), nullptr) != 1) {
    return SealError("EVP_EncryptInit_ex");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return SealError("EVP_EncryptUpdate(aad)");
  }
  std::string out;
  out.resize(kAeadNonceSize + plaintext.size() + kAeadTagSize);
  out.replace(0, kAeadNonceSize, nonce);
  auto* ct = reinterpret_cast<unsigned char*>(out.data()) + kAeadNonceSize;  // NOLINT
  int written = 0;
  if (!plaintext.empty()) {
    if (EVP_EncryptUpdate(ctx.get(), ct, &len, Bytes(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
      return SealError("EVP_EncryptUpdate");
    }
    written = len;
  }
  if (EVP_EncryptFinal_ex(ctx.get(), ct + written, &len) != 1) {
    return SealError("EVP_EncryptFinal_ex");
  }
  written += len;
  if (static_cast<std::size_t>(written) != plaintext.size()) {
    return SealError("unexpected ciphertext length");
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagSize),
                          ct + written) != 1) {
    return SealError("EVP_CTRL_GCM_GET_TAG");
  }
  return out;
}

}  // namespace

Result<std::string> AeadSeal(const SecretBytes& key, std::string_view plaintext,
                             std::string_view aad) {
  unsigned char nonce[kAeadNonceSize];
  RandomFill(nonce, sizeof(nonce));
  return SealImpl(key,
                  std::string_view(reinterpret_cast<const char*>(nonce), sizeof(nonce)),  // NOLINT
                  plaintext, aad);
}

Result<std::string> AeadSealWithNonceForTest(const SecretBytes& key, std::string_view nonce,
                                             std::string_view plaintext, std::string_view aad) {
  return SealImpl(key, nonce, plaintext, aad);
}

Result<SecretBytes> AeadOpen(const SecretBytes& key, std::string_view sealed,
                             std::string_view aad) {
  if (key.size() != kAeadKeySize) {
    return Error(Code::kInternal, "AES-256-GCM needs a 32-byte key");
  }
  if (sealed.size() < kAeadNonceSize + kAeadTagSize) {
    return OpenError();
  }
  if (!FitsInt(sealed.size()) || !FitsInt(aad.size())) {
    return OpenError();
  }
  std::string_view nonce = sealed.substr(0, kAeadNonceSize);
  std::string_view ct =
      sealed.substr(kAeadNonceSize, sealed.size() - kAeadNonceSize - kAeadTagSize);
  std::string_view tag = sealed.substr(sealed.size() - kAeadTagSize);

  CtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Error(Code::kInternal, "decryption failed", "EVP_CIPHER_CTX_new");
  // One init with cipher, key and nonce: 12 bytes is GCM's default IV length.
  static_assert(kAeadNonceSize == 12);
  if (EVP_DecryptInit_ex2(ctx.get(), Gcm(), key.data(), Bytes(nonce), nullptr) != 1) {
    return Error(Code::kInternal, "decryption failed", "EVP_DecryptInit_ex");
  }
  int len = 0;
  if (!aad.empty() &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) {
    return OpenError();
  }
  // The plaintext goes straight into SecretBytes, which wipes it if authentication fails below.
  SecretBytes out(ct.size());
  int written = 0;
  if (!ct.empty()) {
    if (EVP_DecryptUpdate(ctx.get(), out.data(), &len, Bytes(ct), static_cast<int>(ct.size())) !=
        1) {
      return OpenError();
    }
    written = len;
  }
  // The tag buffer must be writable for the ctrl call; copy it (it is not secret).
  unsigned char tag_copy[kAeadTagSize];
  for (std::size_t i = 0; i < kAeadTagSize; ++i) tag_copy[i] = static_cast<unsigned char>(tag[i]);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagSize),
                          tag_copy) != 1) {
    return OpenError();
  }
  unsigned char final_block[16];
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &len) != 1) {
    return OpenError();  // tag mismatch: `out` is wiped by its destructor
  }
  if (static_cast<std::size_t>(written + len) != ct.size()) {
    return OpenError();
  }
  return out;
}

}  // namespace arca::crypto
