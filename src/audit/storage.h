#pragma once
// Where the audit log's bytes live: the seam between the log's logic (hash chain, group commit,
// digests, verification, LookupEvents) and its I/O.
//
// A Storage holds one or more CHAINS; a chain is a sequence of "files" (audit-000001.jsonl, ...)
// of JSON lines in the format of format.h, appended to only at the end of its last file. Two
// implementations:
//   FileStorage      DATA_DIR/audit/*.jsonl, flock'ed LOCK, fdatasync; one chain, named "".
//   PostgresStorage  the same files as rows of PostgreSQL, one chain per server replica
//                    (postgres_storage.h).
// The signing key lives with the storage too (DATA_DIR/audit.key, or sealed in PostgreSQL), since
// whoever can verify or continue a chain needs it where the records are.
//
// Reading: any thread, any time, concurrently with the writer; a reader sees a prefix of what was
// made durable. Writing: only after LockWriter(chain), only that chain, from one thread at a time.
//
// Thread-safety: the const methods may be called concurrently with each other and with the
// writer methods; the writer methods (LockWriter, Append, Truncate, CreateFile, set_fault_hook)
// are called by one thread (the Log's writer) at a time.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/format.h"
#include "audit/signing.h"
#include "core/result.h"

namespace arca::audit {

// A test hook consulted before each "write", "sync" (the durability point) and "create" (a new
// file): a non-OK status is taken as that operation's failure.
using FaultHook = std::function<Status(std::string_view op)>;

class Storage {
 public:
  virtual ~Storage() = default;

  // For messages and reports: the directory, or "PostgreSQL host:port/db" (never a password).
  virtual std::string Describe() const = 0;
  // The same for one chain ("PostgreSQL host:port/db, chain NAME"; the directory for files).
  virtual std::string DescribeChain(std::string_view chain) const = 0;
  // The chains it holds, sorted. The file storage always has one, "".
  virtual Result<std::vector<std::string>> ListChains() const = 0;
  // A chain's files in order, each with its current size. An unknown chain has none.
  virtual Result<std::vector<LogFile>> ListFiles(std::string_view chain) const = 0;
  // Up to `length` bytes of `file` from `offset`: fewer only at the file's end. kUnavailable on
  // I/O failure; kPreconditionNotMet when the stored bytes are not contiguous (rows deleted
  // behind the log's back: `arca audit verify` names the records).
  virtual Result<std::string> Read(std::string_view chain, const LogFile& file,
                                   std::uint64_t offset, std::uint64_t length) const = 0;
  // The whole file as stored, for verification: its bytes in order, even where they are not
  // contiguous (so that tampering shows as a broken chain, not as a read error).
  virtual Result<std::string> ReadAll(std::string_view chain, const LogFile& file) const {
    return Read(chain, file, 0, std::numeric_limits<std::uint64_t>::max());
  }

  // Keys. The audit key pair signs digests; one per storage (per deployment with PostgreSQL).
  // LoadOrCreateSigningKey creates the pair when it is absent and the storage holds no records;
  // kPreconditionNotMet when it is absent but records exist (they could no longer be vouched for
  // by the same key), or when it cannot be unsealed/read safely.
  virtual Result<SigningKey> LoadOrCreateSigningKey() = 0;
  // The public key, nullopt when there is none (verification then reports kNoKey).
  virtual Result<std::optional<PublicKey>> LoadPublicKey() const = 0;
  // Where LoadPublicKey looks, for "no public key at ..." messages.
  virtual std::string PublicKeyLocation() const = 0;

  // Writing. LockWriter takes the one-writer lock of `chain` for the life of this object (or
  // until the storage loses it, which a later write then reports): kPreconditionNotMet when
  // another writer, in any process, holds it. The other writer methods act on that chain.
  virtual Status LockWriter(std::string_view chain) = 0;
  // Writes `data` (whole lines) at byte `offset` of `file` (the end of its records, which is its
  // size unless it is pre-filled) and makes it durable before returning OK. On failure nothing is acknowledged; the caller must
  // Truncate back to `offset` before writing again.
  virtual Status Append(const LogFile& file, std::uint64_t offset, std::string_view data) = 0;
  // Cuts `file` (the chain's last file) back to `size` bytes, durably.
  virtual Status Truncate(const LogFile& file, std::uint64_t size) = 0;
  // Starts the next file of the chain, empty (durably, where that means something);
  // kAlreadyExists when it exists already, kUnavailable on I/O failure.
  virtual Result<LogFile> CreateFile(std::uint64_t index) = 0;
  // The writer is done with `file`, whose content is its first `size` bytes: whatever the
  // storage keeps after them (the file storage's padding) goes, durably.
  virtual Status Close(const LogFile& /*file*/, std::uint64_t /*size*/) { return OkStatus(); }

  // Pre-filling, for storages where appending costs more than overwriting (the file storage):
  // files of `file_bytes` are prepared ahead, once the current file holds `after_bytes`
  // (0: never). PrefersNewFile() is true while the current file is not pre-filled and a
  // pre-filled one is ready: the writer then rotates early.
  virtual void SetPrefill(std::uint64_t /*file_bytes*/, std::uint64_t /*after_bytes*/) {}
  virtual bool PrefersNewFile() const { return false; }
  // For the writer's recovery: the offset of the first NUL byte of `file`, nullopt when there is
  // none. In a pre-filled file that is where its padding starts, or an
  // earlier hole of zeros that a crash left inside a torn write. Storages that never pad have none.
  virtual Result<std::optional<std::uint64_t>> FindNul(const LogFile& /*file*/) const {
    return std::optional<std::uint64_t>();
  }

  void set_fault_hook(FaultHook hook) { fault_hook_ = std::move(hook); }

 protected:
  Status Hook(std::string_view op) const { return fault_hook_ ? fault_hook_(op) : OkStatus(); }

 private:
  FaultHook fault_hook_;
};

// Today's files: one chain, whatever its name (ListChains says ""). `dir` is DATA_DIR/audit
// (created 0700 by Open when absent), `key_path` and `public_key_path` DATA_DIR/audit.{key,pub}
// (see signing.h).
//
// Pre-filled files. On ext4, an fdatasync after an append must also commit the file's new size
// through the journal; an fdatasync after overwriting blocks that are already written commits
// only the data. Under load (server and clients busy on the cores) the first costs about twice
// the second here. So, under sustained load, the writer's files are made ahead of time by a
// background thread ("arca-audit-fill"): DIR/audit-spare.tmp, `file_bytes` of zeros, synced, and
// renamed into place at the next rotation. The active file is then its records followed by NUL
// bytes (records never contain one: JSON escapes it). Readers see only the records: ListFiles
// reports the size before the padding, ReadAll leaves the padding out. A file is cut back to its
// records when the writer moves on or stops (Close); only a server that crashed leaves padding,
// and its next writer finds the records' end again (a crash may leave a hole of zeros inside
// the last, unacknowledged write: Log::Open cuts the tail back to the last complete line before
// the first NUL).
struct FileStorageOptions {
  std::string dir;
  std::string key_path;
  std::string public_key_path;
};

class FileStorage final : public Storage {
 public:
  // Creates the directory when `create_dir` (the writer's case); a reader (verify, query) does
  // not create anything.
  static Result<std::unique_ptr<FileStorage>> Open(FileStorageOptions options,
                                                   bool create_dir = true);
  ~FileStorage() override;
  FileStorage(const FileStorage&) = delete;
  FileStorage& operator=(const FileStorage&) = delete;

  const std::string& dir() const { return options_.dir; }

  std::string Describe() const override { return options_.dir; }
  std::string DescribeChain(std::string_view /*chain*/) const override { return options_.dir; }
  Result<std::vector<std::string>> ListChains() const override;
  Result<std::vector<LogFile>> ListFiles(std::string_view chain) const override;
  Result<std::string> Read(std::string_view chain, const LogFile& file, std::uint64_t offset,
                           std::uint64_t length) const override;
  Result<SigningKey> LoadOrCreateSigningKey() override;
  Result<std::optional<PublicKey>> LoadPublicKey() const override;
  std::string PublicKeyLocation() const override { return options_.public_key_path; }
  Status LockWriter(std::string_view chain) override;
  Status Append(const LogFile& file, std::uint64_t offset, std::string_view data) override;
  Status Truncate(const LogFile& file, std::uint64_t size) override;
  Result<LogFile> CreateFile(std::uint64_t index) override;
  Result<std::string> ReadAll(std::string_view chain, const LogFile& file) const override;
  Status Close(const LogFile& file, std::uint64_t size) override;
  void SetPrefill(std::uint64_t file_bytes, std::uint64_t after_bytes) override;
  bool PrefersNewFile() const override;

  Result<std::optional<std::uint64_t>> FindNul(const LogFile& file) const override;

 private:
  explicit FileStorage(FileStorageOptions options) : options_(std::move(options)) {}
  std::string PathOf(std::uint64_t index) const;
  std::string SparePath() const { return options_.dir + "/audit-spare.tmp"; }
  // The open write descriptor of file `index`, opening it when needed.
  Result<int> WriteFd(std::uint64_t index);
  void MaybeStartSpare(std::uint64_t end);
  void MakeSpare();  // the fill thread
  void StopSpare();

  const FileStorageOptions options_;
  int lock_fd_ = -1;  // DIR/LOCK, flock'ed: one writer per directory
  // Writer state (writer thread only).
  int fd_ = -1;                  // descriptor of file fd_index_
  std::uint64_t fd_index_ = 0;   // 0: none
  std::uint64_t fd_bytes_ = 0;   // its size on disk, padding included
  std::uint64_t fd_end_ = 0;     // the end of the last write to it
  std::uint64_t prefill_bytes_ = 0;
  std::uint64_t prefill_after_ = 0;
  // The spare file, shared by the writer and the fill thread.
  std::thread spare_thread_;
  std::atomic<bool> spare_busy_{false};   // the fill thread is making it
  std::atomic<bool> spare_ready_{false};  // made and synced
  std::atomic<bool> spare_stop_{false};
  // When making one last failed (not retried for a minute; read after spare_busy_ is false).
  std::chrono::steady_clock::time_point spare_failed_at_{};
};

}  // namespace arca::audit
