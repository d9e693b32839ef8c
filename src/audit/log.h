#pragma once
// The audit log: CloudTrail records appended as JSON lines to DATA_DIR/audit/ with a hash chain,
// group commit and signed digests (the file format is in format.h). Where the lines are kept is a
// Storage (storage.h): the files of DATA_DIR/audit/, or, with a PostgreSQL store, the same lines
// in PostgreSQL, one chain per server replica (postgres_storage.h). What follows says "file",
// "write" and "fdatasync"; with PostgreSQL read "rows", "INSERT" and "COMMIT acknowledged".
//
// Durability and fail-closed. Append() hands a record to one writer thread, which takes every
// record queued so far, writes them with one write(), fdatasyncs once for the whole batch and only
// then runs each record's callback with OK. A request's response must wait for that callback. If a
// write or fdatasync fails, that batch's callbacks get kUnavailable, Health() turns not-OK with the
// reason, and every later Append fails at once, until the writer has cut the file back to its last
// durable byte and synced it again (it retries every `retry_interval`). The chain then continues
// from the last durable record, so no sequence number is skipped.
//
// Digests. A digest record, signed with the audit key, is appended after `digest_every_records`
// records, after `digest_interval` with records pending, before each file rotation and on Stop().
//
// What verification can and cannot show (see verify.h):
//   - editing, deleting, reordering or inserting any line that has a later line after it breaks the
//     chain at a precise record; editing a digest breaks its signature; editing any record covered
//     by a digest breaks the chain up to that digest even if the attacker recomputes the hashes
//     after it, unless they also hold the private key;
//   - a final line cut short (no '\n') is reported as truncated. Open() cuts such a line off (a
//     crash in the middle of a write that was never acknowledged) and writes a Recovery record
//     naming the discarded bytes' length and hash, which verify lists in its report: a truncation
//     followed by a restart is visible, not silent;
//   - NOT detectable from the files alone: whole lines removed cleanly from the end of the log,
//     (records after the last digest, or the last digests themselves), and edits to records after
//     the last digest by someone who recomputes the hashes of the lines after them. The window is
//     kept short: a digest at least every `digest_interval` (1 s by default) while records arrive,
//     and one at every clean shutdown (reason "shutdown"), so a log that does not end with a
//     shutdown digest while the server is stopped says that it crashed or was cut. Copy the last
//     digest off the host (or keep the private key elsewhere) to close the rest of the gap;
//   - anyone who can read the private key (DATA_DIR/audit.key, or with PostgreSQL the sealed key
//     plus the master key) can forge digests: the signature protects logs copied away from the
//     server and against writers without that file.
//
// Thread-safety: all public methods may be called from any thread. Callbacks run on the writer
// thread, or inline in Append() when the log refuses the record at once (failed or stopped); they
// must be quick and must not block on the Log (AppendAndWait, Flush, Stop).

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/signing.h"
#include "audit/storage.h"
#include "core/clock.h"
#include "core/result.h"

namespace arca::audit {

using DurableCallback = std::function<void(Status)>;

struct LogOptions {
  // The file storage's places (Open(LogOptions) only).
  std::string dir;              // DATA_DIR/audit (created 0700 when absent)
  std::string key_path;         // DATA_DIR/audit.key
  std::string public_key_path;  // DATA_DIR/audit.pub
  // The chain this log writes: one per server replica when several share a storage. The file
  // storage has a single chain whatever this says.
  std::string chain;
  std::uint64_t max_file_bytes = std::uint64_t{64} << 20;
  std::uint64_t digest_every_records = 1000;
  std::chrono::milliseconds digest_interval{1000};
  // Group commit's gathering: when fewer records are queued than the last batch held, the writer
  // waits up to this long for as many before it syncs (0: never waits). Under steady load the
  // batch then holds every request in flight instead of the few that arrived first.
  std::chrono::microseconds gather_max{300};
  std::chrono::milliseconds retry_interval{1000};
  // Pre-filled files (storage.h): prepared once the current file holds this many bytes, i.e.
  // under sustained load only (0: never).
  std::uint64_t prefill_after = std::uint64_t{1} << 20;
  const Clock* clock = &SystemClock::Instance();
  // Test hook, installed on the storage (Storage::set_fault_hook): consulted before each "write",
  // "sync" and "create" (a new file); a non-OK status is taken as that operation's failure.
  FaultHook fault_hook;
};

// The defaults for a data directory: DIR = DATA_DIR/audit, keys DATA_DIR/audit.{key,pub}, chain
// DefaultChainId(data_dir).
LogOptions DefaultLogOptions(const std::string& data_dir);

// "HOSTNAME:DATA_DIR": stable across restarts of one server, different between replicas (the
// server's rotation lease owner is the same string).
std::string DefaultChainId(const std::string& data_dir);

struct LogStats {
  std::uint64_t batches = 0;  // fdatasync'ed batches
  std::uint64_t records = 0;  // event records made durable
  std::uint64_t bytes = 0;    // bytes written (events, digests, recoveries)
  std::uint64_t digests = 0;
  std::uint64_t failures = 0;  // failed batches
};

class Log {
 public:
  // Opens (or creates) the log: loads or creates the audit key, finds the chain's head in the last
  // file, cuts off a partial final line (recording a Recovery line) and starts the writer thread.
  // kPreconditionNotMet when another Log (in any process) has the directory open, the key is
  // missing but the log has records, or the last line is not a readable record; kUnavailable with
  // strerror on I/O failure.
  static Result<std::unique_ptr<Log>> Open(LogOptions options);
  // The same on any storage, writing chain `options.chain` (dir and key paths are not used: the
  // storage has its own). The storage may be shared with readers (EventQuery, Verify); the Log
  // takes its writer lock for `options.chain`.
  static Result<std::unique_ptr<Log>> Open(std::shared_ptr<Storage> storage, LogOptions options);
  ~Log();  // Stop()
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Queues `record` (a CloudTrail record from BuildRecord; top-level "arca..." members are removed)
  // and returns at once. The record is serialized here, on the caller's thread. `on_durable` runs
  // with OK once the record is on disk, or with kUnavailable when it never will be.
  void Append(boost::json::object record, DurableCallback on_durable);
  // Same for a record already serialized: one JSON object, no newline, no "arca..." members.
  void AppendSerialized(std::string record_json, DurableCallback on_durable);
  // Append and wait for the callback. Not from a callback (the writer thread would wait for
  // itself).
  Status AppendAndWait(boost::json::object record);
  // Waits until everything queued before the call is durable (or failed). Not from a callback.
  Status Flush();

  // OK, or kUnavailable while records cannot be written: message() is generic ("the audit log
  // cannot be written", safe for clients), detail() has the cause with file and strerror
  // (ToLogString() for /readyz and the log).
  Status Health() const;
  LogStats stats() const;
  const PublicKey& public_key() const { return key_.public_key(); }
  const std::string& dir() const { return options_.dir; }  // file storage: DATA_DIR/audit

  // Writes what is queued, a final digest ("shutdown") and closes the file. Later appends fail.
  // Idempotent.
  void Stop();
  // Stops the writer as a crash would: no final digest (what is queued is still written). Later
  // appends fail; the storage's writer lock is released when the Log is destroyed.
  void AbandonForTest();

  // For the one replica that does the background work (several replicas on one storage): every
  // chain other than `own_chain` whose writer is gone and that does not end with a digest gets
  // one (reason "takeover", signed with the shared key), so a replica killed between two digests
  // leaves no records that only the hash chain protects. A writer is gone when `gone(chain)` says
  // so (the caller knows whether that replica is alive) and its writer lock is free: a free lock
  // alone also means a live writer that lost its database connection for a moment. `open_storage`
  // makes a storage object per chain (one writer lock each). Returns how many chains were sealed.
  static Result<int> SealAbandonedChains(
      const std::function<Result<std::shared_ptr<Storage>>()>& open_storage,
      const LogOptions& options, const std::string& own_chain,
      const std::function<bool(const std::string& chain)>& gone);

 private:
  struct Item {
    std::string json;  // the record; empty for a Flush() barrier
    DurableCallback done;
  };
  // The writer's view of the chain; only the writer thread touches it after Open().
  struct Chain {
    std::uint64_t file_index = 0;
    std::uint64_t file_size = 0;  // durable bytes in the current file
    std::uint64_t sequence = 0;   // last durable line's sequence (0: none)
    std::string last_hash;        // its hash (kZeroHash: none)
    std::uint64_t last_digest_sequence = 0;
    std::uint64_t undigested = 0;  // lines since the last digest
  };

  Log(LogOptions options, std::shared_ptr<Storage> storage, SigningKey key);
  Status Recover();  // Open(): find the head, cut a partial line
  void Run();        // the writer thread
  void WriteBatch(std::vector<Item>& batch);
  // Appends a line (record JSON without the chain members) to `buf` for chain state `c`.
  void AppendLine(std::string_view record_json, Chain& c, std::string& buf);
  Status AppendDigest(std::string_view reason, Chain& c, std::string& buf);
  // Appends `buf` to the current file, durably.
  Status WriteAndSync(const std::string& buf);
  Status Rotate(Chain& c);
  void CloseFile();  // the current file is finished (Storage::Close)
  Status TryHeal();
  void Fail(const Error& error);
  void Refuse(DurableCallback& done) const;
  LogFile CurrentFile() const;
  std::string Where(const LogFile& file) const;  // for messages

  const LogOptions options_;
  const std::shared_ptr<Storage> storage_;
  const SigningKey key_;
  const std::string where_;  // the storage and chain, for messages

  // Writer-thread state.
  Chain chain_;
  std::chrono::steady_clock::time_point last_digest_at_;
  std::chrono::steady_clock::time_point next_heal_at_;
  bool rotate_pending_ = false;  // a rotation failed; healing must create the next file

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::size_t gather_target_ = 0;  // GUARDED_BY(mu_): the size of the last batch
  std::vector<Item> queue_;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
  bool abandon_ = false;     // guarded by mu_: AbandonForTest()
  std::string final_reason_ = "shutdown";  // the final digest's reason (set before Stop())
  Status health_;            // guarded by mu_
  std::atomic<bool> failed_{false};
  std::mutex stop_mu_;  // serialises Stop()'s join
  std::thread writer_;

  std::atomic<std::uint64_t> batches_{0};
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::atomic<std::uint64_t> digests_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace arca::audit
