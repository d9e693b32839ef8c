#include "crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace arca::crypto {
namespace {

// OpenSSL wants non-null pointers even for empty inputs.
const unsigned char kEmpty[1] = {0};

const unsigned char* Bytes(std::string_view s) {
  return s.empty() ? kEmpty : reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
}

[[noreturn]] void Fatal(const char* what) {
  // Hashing a buffer in memory cannot fail short of a broken OpenSSL build.
  std::fprintf(stderr, "arca: fatal: OpenSSL %s failed\n", what);
  std::abort();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// Checks that `text` is strict, padded standard base64 and returns the decoded length (or -1).
long StrictBase64DecodedSize(std::string_view text) {
  if (text.size() % 4 != 0) return -1;
  if (text.size() > static_cast<std::size_t>(INT32_MAX)) return -1;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') {
    pad = 1;
    if (text[text.size() - 2] == '=') pad = 2;
  }
  for (std::size_t i = 0; i < text.size() - pad; ++i) {
    if (!IsBase64Char(text[i])) return -1;
  }
  return static_cast<long>(text.size() / 4 * 3 - pad);
}

// Decodes validated base64 into `out` (which must hold size/4*3 bytes). Returns false on failure.
bool DecodeInto(std::string_view text, unsigned char* out) {
  if (text.empty()) return true;
  int n = EVP_DecodeBlock(out, Bytes(text), static_cast<int>(text.size()));
  // EVP_DecodeBlock returns the length including the zero bytes that stand for the padding.
  return n == static_cast<int>(text.size() / 4 * 3);
}

// OpenSSL 3 looks algorithms up by name on every call to EVP_sha256()-style helpers and HMAC();
// fetching them once makes a SigV4 verification several times cheaper. Fetched objects live for the
// process.
const EVP_MD* Sha256Md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) Fatal("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

// An HMAC-SHA256 context with the digest already set; each call duplicates it and adds the key.
const EVP_MAC_CTX* HmacTemplate() {
  static EVP_MAC_CTX* tmpl = [] {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) Fatal("EVP_MAC_fetch(HMAC)");
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);  // the context keeps its own reference
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (ctx == nullptr || EVP_MAC_CTX_set_params(ctx, params) != 1) Fatal("HMAC-SHA256 setup");
    return ctx;
  }();
  return tmpl;
}

}  // namespace

Sha256Digest Sha256(std::string_view data) {
  // One digest context per thread, re-initialised per call (no allocation on the hot path).
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                             &EVP_MD_CTX_free);
  Sha256Digest out{};
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), Sha256Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), Bytes(data), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out.data(), &len) != 1 || len != out.size()) {
    Fatal("SHA-256");
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  Sha256Digest d = Sha256(data);
  return HexEncode(AsView(d));
}

Sha256Digest HmacSha256(std::string_view key, std::string_view data) {
  Sha256Digest out{};
  std::size_t len = 0;
  // One HMAC context per thread; EVP_MAC_init with a key re-initialises it for each call.
  thread_local std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(
      EVP_MAC_CTX_dup(HmacTemplate()), &EVP_MAC_CTX_free);
  // An empty key is valid HMAC input; OpenSSL wants a non-null pointer for it.
  static const unsigned char kEmpty = 0;
  const unsigned char* k = key.empty() ? &kEmpty : Bytes(key);
  if (!ctx || EVP_MAC_init(ctx.get(), k, key.size(), nullptr) != 1 ||
      EVP_MAC_update(ctx.get(), Bytes(data), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    Fatal("HMAC-SHA256");
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.resize(bytes.size() * 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kDigits[b >> 4];
    out[2 * i + 1] = kDigits[b & 0x0f];
  }
  return out;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.resize(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  if (bytes.empty()) return {};
  std::string out;
  // EVP_EncodeBlock writes 4 chars per 3 input bytes plus a terminating NUL.
  std::size_t blocks = (bytes.size() + 2) / 3;
  out.resize(blocks * 4 + 1);
  std::size_t done = 0;
  std::size_t written = 0;
  // EVP_EncodeBlock takes an int length: feed very large inputs in whole 3-byte groups.
  constexpr std::size_t kChunk = 3u * 1024u * 1024u;
  while (done < bytes.size()) {
    std::size_t n = std::min(kChunk, bytes.size() - done);
    int w = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()) + written,  // NOLINT
                            Bytes(bytes.substr(done, n)), static_cast<int>(n));
    written += static_cast<std::size_t>(w);
    done += n;
  }
  out.resize(written);
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  long size = StrictBase64DecodedSize(text);
  if (size < 0) return std::nullopt;
  std::string out;
  out.resize(text.size() / 4 * 3);
  if (!DecodeInto(text, reinterpret_cast<unsigned char*>(out.data()))) {  // NOLINT
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::optional<SecretBytes> Base64DecodeSecret(std::string_view text) {
  long size = StrictBase64DecodedSize(text);
  if (size < 0) return std::nullopt;
  SecretBytes out(text.size() / 4 * 3);
  if (!DecodeInto(text, out.data())) {
    return std::nullopt;  // `out` is wiped by its destructor
  }
  out.resize(static_cast<std::size_t>(size));  // wipes the padding bytes it drops
  return out;
}

}  // namespace arca::crypto
