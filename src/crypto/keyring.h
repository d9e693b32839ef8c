#pragma once
// Keyring: the master key versions and envelope encryption.
//
// Every value is sealed under its own random 256-bit data key (AES-256-GCM, AAD supplied by the caller,
// e.g. ARN + version id); the data key is wrapped (AES-256-GCM) by the current master key version. A
// Sealed keeps the ciphertext, the wrapped data key and the master key version that wrapped it.
//
// Master key file format (mode 0600): one version per line, "arca-master-key v1 <version> <base64 of
// 32 bytes>"; the highest version is current. ARCA_MASTER_KEY holds the same text (lines may be
// separated by ';').
//
// Thread-safety: Seal/Open/Rewrap may be called concurrently. Reload() swaps the versions atomically.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::crypto {

struct Sealed {
  std::uint32_t key_version = 0;
  std::string wrapped_key;  // AeadSeal(master[key_version], data_key, aad="arca-dk:" + aad)
  std::string ciphertext;   // AeadSeal(data_key, plaintext, aad)
};

class Keyring {
 public:
  // Parses the key text (file contents or ARCA_MASTER_KEY). kInvalidParameter with a clear message on
  // malformed text.
  static Result<std::unique_ptr<Keyring>> FromText(std::string_view text);
  // Loads from a file; refuses (kPreconditionNotMet) files readable by group or others. When the file is
  // absent and create_if_missing, writes a new version-1 key with mode 0600 first.
  static Result<std::unique_ptr<Keyring>> FromFile(const std::string& path, bool create_if_missing);
  // For tests: one version with the given 32-byte key.
  static std::unique_ptr<Keyring> ForTest(std::uint32_t version, SecretBytes key);

  std::uint32_t current_version() const;
  bool HasVersion(std::uint32_t version) const;

  Result<Sealed> Seal(std::string_view plaintext, std::string_view aad) const;
  // kDecryptionFailure when the ciphertext or wrapped key was tampered with or the AAD differs;
  // kDecryptionFailure naming the version when the key version is unknown.
  Result<SecretBytes> Open(const Sealed& sealed, std::string_view aad) const;
  // Unwraps the data key with its version and wraps it with the current one; the ciphertext is kept.
  Result<Sealed> Rewrap(const Sealed& sealed, std::string_view aad) const;

  // A value that proves which master key is loaded, to store beside the data: Seal of a fixed text.
  Result<std::string> MakeCheckValue(std::uint32_t version) const;
  // kPreconditionNotMet ("wrong master key") if the check value was not made with this key version.
  Status VerifyCheckValue(std::uint32_t version, std::string_view check) const;

  // Re-reads the source (file only) to pick up versions added by `arca server rekey`.
  Status Reload();
  // Reloads when the key file changed since it was last read (inode, size or mtime), so a running
  // server seals with the version a rekey just added. Seal and Rewrap call it; cheap (one stat).
  void ReloadIfChanged() const;

  // Appends a new version (current + 1) to the key file; the running keyring uses it after Reload().
  static Result<std::uint32_t> AddVersionToFile(const std::string& path);

 private:
  Keyring() = default;
  mutable std::mutex mu_;
  std::map<std::uint32_t, std::shared_ptr<const SecretBytes>> keys_;  // GUARDED_BY(mu_)
  std::string path_;  // empty when loaded from text
  struct FileStamp {
    unsigned long long inode = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const FileStamp&) const = default;
  };
  static FileStamp StampOf(const std::string& path);
  FileStamp stamp_;  // GUARDED_BY(mu_): the key file as it was when last read
};

}  // namespace arca::crypto
