#include "audit/signing.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <string>
#include <system_error>
#include <utility>

#include "core/secret_bytes.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::audit {

namespace {

constexpr std::size_t kMaxKeyFileSize = 64 * 1024;

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Error IoError(std::string_view what, const std::string& path, int err) {
  return Error(Code::kUnavailable, std::string(what) + " " + path + ": " + ErrnoText(err));
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string DirName(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Reads a small file into SecretBytes (a private key's PEM must not sit in an ordinary string).
Result<SecretBytes> ReadSmallFile(const std::string& path, struct stat* st_out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "no file at " + path);
    return IoError("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Error(Code::kInvalidParameter, path + " is not a regular file");
  if (st.st_size > static_cast<off_t>(kMaxKeyFileSize)) {
    return Error(Code::kInvalidParameter, path + " is too large for a key file");
  }
  SecretBytes out(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read", path, errno);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  if (st_out != nullptr) *st_out = st;
  return out;
}

std::string RawPublicKey(EVP_PKEY* key) {
  std::array<unsigned char, 32> raw{};
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(raw.data()), len);  // NOLINT
}

bool IsEd25519(EVP_PKEY* key) { return EVP_PKEY_is_a(key, "ED25519") == 1; }

}  // namespace

Status WriteFileAtomically(const std::string& path, std::string_view text, unsigned mode) {
  std::array<std::uint8_t, 8> rnd{};
  crypto::RandomFill(rnd.data(), rnd.size());
  const std::string tmp = path + ".tmp-" +
                          crypto::HexEncode(std::string_view(
                              reinterpret_cast<const char*>(rnd.data()), rnd.size()));  // NOLINT
  auto fail = [&tmp](Error e) -> Status {
    ::unlink(tmp.c_str());
    return e;
  };
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
    if (fd.get() < 0) return IoError("cannot create", tmp, errno);
    if (::fchmod(fd.get(), mode) != 0) return fail(IoError("cannot set the mode of", tmp, errno));
    std::size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail(IoError("cannot write", tmp, errno));
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd.get()) != 0) return fail(IoError("cannot sync", tmp, errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail(IoError("cannot rename to", path, errno));
  const std::string dir = DirName(path);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0 || ::fsync(dfd.get()) != 0) return IoError("cannot sync directory", dir, errno);
  return OkStatus();
}

// ---- PublicKey ----------------------------------------------------------------------------------

struct PublicKey::Impl {
  PkeyPtr key;
};

PublicKey::PublicKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  fingerprint_ = crypto::HexEncode(RawPublicKey(impl_->key.get()));
}
PublicKey::~PublicKey() = default;
PublicKey::PublicKey(PublicKey&&) noexcept = default;
PublicKey& PublicKey::operator=(PublicKey&&) noexcept = default;

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(Code::kInternal, "BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key || !IsEd25519(key.get())) {
    return Error(Code::kInvalidParameter, "not an Ed25519 public key in PEM form");
  }
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return PublicKey(std::move(impl));
}

Result<PublicKey> PublicKey::FromFile(const std::string& path) {
  ARCA_ASSIGN_OR_RETURN(SecretBytes text, ReadSmallFile(path, nullptr));
  auto key = FromPem(text.view());
  if (!key.ok()) return Error(key.error().code(), path + ": " + key.error().message());
  return key;
}

bool PublicKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != 64) return false;
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(),
                          reinterpret_cast<const unsigned char*>(signature.data()),  // NOLINT
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(message.data()),  // NOLINT
                          message.size()) == 1;
}

std::string PublicKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->key.get()) != 1) return {};
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// ---- SigningKey ---------------------------------------------------------------------------------

struct SigningKey::Impl {
  PkeyPtr key;
};

SigningKey::SigningKey(std::unique_ptr<Impl> impl, PublicKey pub)
    : impl_(std::move(impl)), public_key_(std::move(pub)) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;
SigningKey& SigningKey::operator=(SigningKey&&) noexcept = default;

namespace {

// The public half of a private key, as a PublicKey.
Result<PublicKey> PublicKeyOf(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return Error(Code::kInternal, "cannot encode the public key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return PublicKey::FromPem(std::string_view(data, static_cast<std::size_t>(n)));
}

}  // namespace

Result<SigningKey> SigningKey::Generate() {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return Error(Code::kInternal, "cannot generate an Ed25519 key");
  ARCA_ASSIGN_OR_RETURN(PublicKey pub, PublicKeyOf(key.get()));
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl), std::move(pub));
}

Result<SecretBytes> SigningKey::ToPem() const {
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Error(Code::kInternal, "cannot encode the audit key");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes(data, static_cast<std::size_t>(n));
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(Code::kInternal, "BIO_new_mem_buf failed");
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key || !IsEd25519(key.get())) {
    return Error(Code::kInvalidParameter, "not an Ed25519 private key in PEM form");
  }
  ARCA_ASSIGN_OR_RETURN(PublicKey pub, PublicKeyOf(key.get()));
  auto impl = std::make_unique<Impl>();
  impl->key = std::move(key);
  return SigningKey(std::move(impl), std::move(pub));
}

Result<SigningKey> SigningKey::LoadOrCreate(const std::string& path, const std::string& public_path,
                                            bool create_if_missing) {
  struct stat st {};
  auto text = ReadSmallFile(path, &st);
  if (!text.ok() && text.error().code() == Code::kNotFound && create_if_missing) {
    ARCA_ASSIGN_OR_RETURN(SigningKey fresh, Generate());
    ARCA_ASSIGN_OR_RETURN(SecretBytes pem, fresh.ToPem());
    ARCA_RETURN_IF_ERROR(WriteFileAtomically(path, pem.view(), 0600));
    ARCA_RETURN_IF_ERROR(WriteFileAtomically(public_path, fresh.public_key().ToPem(), 0644));
    return fresh;
  }
  if (!text.ok()) return std::move(text).error();
  if ((st.st_mode & 077) != 0) {
    return Error(Code::kPreconditionNotMet,
                 "the audit key " + path + " is readable by group or others; chmod 600 it");
  }
  auto key = FromPem(text->view());
  if (!key.ok()) {
    if (key.error().code() == Code::kInvalidParameter) {
      return Error(Code::kInvalidParameter,
                   path + " does not hold an Ed25519 private key in PEM form");
    }
    return std::move(key).error();
  }
  if (::access(public_path.c_str(), F_OK) != 0) {
    ARCA_RETURN_IF_ERROR(WriteFileAtomically(public_path, key->public_key().ToPem(), 0644));
  }
  return key;
}

Result<std::string> SigningKey::Sign(std::string_view message) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) != 1) {
    return Error(Code::kInternal, "EVP_DigestSignInit(Ed25519) failed");
  }
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,  // NOLINT
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1) {  // NOLINT
    return Error(Code::kInternal, "EVP_DigestSign(Ed25519) failed");
  }
  sig.resize(len);
  return sig;
}

}  // namespace arca::audit
