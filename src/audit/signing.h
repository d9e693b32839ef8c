#pragma once
// The audit key: an Ed25519 key pair that signs the log's digest records.
//
// Files: the private key is PKCS#8 PEM (a "BEGIN PRIVATE KEY" block) with mode 0600, created on
// first use; the public key is SubjectPublicKeyInfo PEM ("-----BEGIN PUBLIC KEY-----") beside it,
// mode 0644, so `openssl pkey -pubin -in audit.pub` reads it and it can be copied to wherever logs
// are verified. A private key file readable by group or others is refused.
//
// Thread-safety: Sign and Verify may be called concurrently (each uses its own OpenSSL context).

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::audit {

// A public key that verifies digest signatures.
class PublicKey {
 public:
  ~PublicKey();
  PublicKey(PublicKey&&) noexcept;
  PublicKey& operator=(PublicKey&&) noexcept;

  // kInvalidParameter when `pem` is not an Ed25519 public key.
  static Result<PublicKey> FromPem(std::string_view pem);
  // kNotFound when the file does not exist, kUnavailable when it cannot be read.
  static Result<PublicKey> FromFile(const std::string& path);

  bool Verify(std::string_view message, std::string_view signature) const;
  // The 32 raw key bytes, lower-case hex: how reports and digest records name the key.
  const std::string& fingerprint() const { return fingerprint_; }
  std::string ToPem() const;

 private:
  struct Impl;
  explicit PublicKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string fingerprint_;
};

class SigningKey {
 public:
  ~SigningKey();
  SigningKey(SigningKey&&) noexcept;
  SigningKey& operator=(SigningKey&&) noexcept;

  // A new random key (not saved).
  static Result<SigningKey> Generate();
  // Loads the key at `path`; when the file is absent and `create_if_missing`, generates one and
  // writes it (O_EXCL temporary file, fsync, rename, fsync of the directory) together with the
  // public key at `public_path` (written whenever it is missing). kNotFound when absent and not
  // created, kPreconditionNotMet for a file readable by group/others, kInvalidParameter for a file
  // that is not an Ed25519 private key, kUnavailable (with strerror) on I/O failure.
  static Result<SigningKey> LoadOrCreate(const std::string& path, const std::string& public_path,
                                         bool create_if_missing);
  // From PKCS#8 PEM text (a key file's content, or a key unsealed from elsewhere).
  // kInvalidParameter when it is not an Ed25519 private key.
  static Result<SigningKey> FromPem(std::string_view pem);
  // The private key as PKCS#8 PEM (to seal it elsewhere). kInternal only if OpenSSL fails.
  Result<SecretBytes> ToPem() const;

  // The Ed25519 signature (64 bytes) of `message`. kInternal only if OpenSSL fails.
  Result<std::string> Sign(std::string_view message) const;
  const PublicKey& public_key() const { return public_key_; }

 private:
  struct Impl;
  SigningKey(std::unique_ptr<Impl> impl, PublicKey pub);
  std::unique_ptr<Impl> impl_;
  PublicKey public_key_;
};

// Writes `text` to `path` atomically (temporary file with O_EXCL and `mode`, fsync, rename, fsync
// of the directory). kUnavailable with strerror on failure.
Status WriteFileAtomically(const std::string& path, std::string_view text, unsigned mode);

}  // namespace arca::audit
