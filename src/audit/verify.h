#pragma once
// `arca audit verify`: walks the audit log's files in order, recomputes the hash chain, checks that
// sequence numbers are contiguous and every digest's Ed25519 signature, and reports the FIRST
// problem precisely (file, line, record):
//   kEdited     a record's bytes changed: the next record holds a different hash of it (or the
//               record's own chain members were changed)
//   kMissing    records deleted: a gap in the sequence numbers (a whole file missing shows so too)
//   kReordered  a record appears before one that precedes it, or twice
//   kTruncated  a line cut short (no line end), e.g. the end of the log chopped mid-record
//   kMalformed  a line that is not an audit record at all (no chain members, not JSON)
//   kBadDigest  a digest whose signature does not verify with the public key (forged, edited or
//               made with another key) or that does not describe the records before it
//   kNoKey      there is no public key to check digests with
// What cannot be detected (records cut cleanly from the end after the last digest) is described
// in log.h; the report says how many lines follow the last digest and whether the log ends with a
// clean-shutdown digest.
//
// With `since`, checking starts at the last digest before that time (its signature vouches for the
// chain up to it) and the report counts the events at or after it; without, at the first record.
//
// The checks run over a Storage (storage.h): the files of one directory (Verify), or every chain
// of a storage, each on its own (VerifyStorage: with PostgreSQL, one chain per server replica;
// each report names its chain, and the first problem of each chain is reported).
//
// Thread-safety: free functions; Verify reads the files without locking them (run it on a stopped
// server's log, or accept that the newest lines may still be being written).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace arca::audit {

class PublicKey;
class Storage;

struct VerifyOptions {
  std::string dir;              // DATA_DIR/audit
  std::string public_key_path;  // DATA_DIR/audit.pub
  std::optional<TimePoint> since;
};
VerifyOptions DefaultVerifyOptions(const std::string& data_dir);

enum class ProblemKind {
  kEdited,
  kMissing,
  kReordered,
  kTruncated,
  kMalformed,
  kBadDigest,
  kNoKey
};
std::string_view ProblemKindName(ProblemKind kind);  // "edited record", "missing records", ...

struct Problem {
  ProblemKind kind = ProblemKind::kMalformed;
  std::string file;            // file name within the directory ("audit-000001.jsonl")
  std::uint64_t line = 0;      // 1-based line number within that file
  std::uint64_t sequence = 0;  // the record concerned (0 when unknown)
  std::string message;         // one sentence naming the record, file and line
};

struct VerifyReport {
  std::string dir;    // where the chain is: the directory, or the storage and chain
  std::string chain;  // the chain's id ("" for the file storage)
  std::optional<Problem> problem;  // the first problem; none when the log checks out
  bool ok() const { return !problem.has_value(); }

  std::uint64_t files = 0;
  std::uint64_t events = 0;          // event records checked
  std::uint64_t digests = 0;         // digests checked (all signatures valid when ok())
  std::uint64_t recoveries = 0;      // crash recoveries found (see notes)
  std::uint64_t start_sequence = 0;  // the first record checked
  std::uint64_t last_sequence = 0;
  std::string last_hash;
  std::uint64_t last_digest_sequence = 0;
  std::uint64_t lines_after_last_digest = 0;  // not covered by a signature
  bool ends_with_shutdown_digest = false;
  std::string public_key_fingerprint;
  std::optional<TimePoint> since;
  std::uint64_t events_since = 0;  // events with eventTime at or after `since`
  std::vector<std::string> notes;  // recoveries, where checking started
};

// kUnavailable only when the directory or a file cannot be read; every integrity problem is in
// the report.
Result<VerifyReport> Verify(const VerifyOptions& options);

// One chain of `storage`, its digests checked with `key` (nullptr: the first digest is kNoKey,
// naming `key_location`, by default storage.PublicKeyLocation()). Errors as Verify.
Result<VerifyReport> VerifyChain(const Storage& storage, std::string_view chain,
                                 const PublicKey* key, std::optional<TimePoint> since,
                                 const std::string& key_location = {});
// Every chain of `storage`, in ListChains() order, with the storage's public key, or the one in
// `public_key_path` when that is set. kUnavailable when the storage cannot be read, or the key
// file exists but cannot be read.
Result<std::vector<VerifyReport>> VerifyStorage(const Storage& storage,
                                                std::optional<TimePoint> since,
                                                const std::string& public_key_path = {});

// The report as text for people, one fact per line; the first line says OK or names the problem.
std::string FormatReport(const VerifyReport& report);
// Several: a first line counting chains and failures (when there is not exactly one), then each.
std::string FormatReports(const std::vector<VerifyReport>& reports);

// --since: an ISO 8601 time ("2026-11-25T10:00:00Z"), a date ("2026-11-25", midnight UTC), or an
// age before `now` ("30m", "24h", "7d"). kInvalidParameter otherwise.
Result<TimePoint> ParseSince(std::string_view text, TimePoint now);

}  // namespace arca::audit
