#pragma once
// The on-disk format of the audit log, shared by the writer (log.h), the verifier (verify.h) and
// LookupEvents (query.h).
//
//   DIR/audit-000001.jsonl, audit-000002.jsonl, ...   (mode 0600, DIR 0700)
//   DIR/LOCK                                           (flock'ed by the one Log writing DIR)
//
// Each line is one JSON object followed by '\n'. An event line is the CloudTrail record with two
// members appended at the end:
//   "arcaSequence": N            1, 2, 3, ... across all files, no gaps
//   "arcaPreviousHash": "hex"    SHA-256 of the previous line's bytes (without its '\n'); the very
//                                first line has 64 zeros. A file's first line chains to the last
//                                line of the file before it.
// Two more line kinds carry "arcaRecordType" as their first member (and the same chain members):
//   "Digest"    signed with the audit key (Ed25519); covers the lines digestStartSequence ..
//               digestEndSequence (everything since the previous digest) and names the hash of the
//               last of them (digestEndHash). The signature is over DigestMessage().
//   "Recovery"  written at start-up when the last file ended in a partial line (a crash during a
//               write that was never acknowledged): the partial bytes were cut off and their length
//               and SHA-256 are kept here.
//
// Thread-safety: free functions; ReverseLineReader is used by one thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace arca::audit {

inline constexpr std::string_view kSequenceField = "arcaSequence";
inline constexpr std::string_view kPreviousHashField = "arcaPreviousHash";
inline constexpr std::string_view kRecordTypeField = "arcaRecordType";
inline constexpr std::string_view kDigestType = "Digest";
inline constexpr std::string_view kRecoveryType = "Recovery";
inline constexpr std::string_view kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct LogFile {
  std::uint64_t index = 0;
  std::string name;  // "audit-000001.jsonl"
  std::string path;  // DIR/name (empty for a file that is not on disk: PostgresStorage)
  std::uint64_t size = 0;  // bytes, as listed by Storage::ListFiles (ListLogFiles leaves it 0)
};

std::string LogFileName(std::uint64_t index);
std::optional<std::uint64_t> ParseLogFileName(std::string_view name);
// The log's files, in order. An absent directory is an empty list; kUnavailable if unreadable.
Result<std::vector<LogFile>> ListLogFiles(const std::string& dir);

// Lower-case hex SHA-256 of a line (without its '\n').
std::string LineHash(std::string_view line);

// What a digest's signature covers.
struct DigestFields {
  std::uint64_t start_sequence = 0;
  std::uint64_t end_sequence = 0;
  std::string end_hash;
  std::string time;    // ISO 8601
  std::string reason;  // "interval", "count", "rotate", "shutdown"
};
std::string DigestMessage(const DigestFields& d);

// Strips the arca chain members from an event line, giving the CloudTrail record's JSON. The chain
// members are the line's last members, so this is a cut, not a parse. The line unchanged when they
// are absent.
std::string_view StripChainSuffix(std::string_view line, std::string* scratch);

class Storage;

// Reads a file's complete lines from the end towards the start, in blocks. A final partial line
// (no '\n') is skipped and reported by partial_tail_bytes().
class ReverseLineReader {
 public:
  ReverseLineReader() = default;
  ReverseLineReader(const ReverseLineReader&) = delete;
  ReverseLineReader& operator=(const ReverseLineReader&) = delete;

  // Opens `file` of `chain` in `storage` (which must outlive the reader) and reads up to byte
  // `end` (file.size, as listed, when nullopt). kUnavailable on error.
  Status Open(const Storage& storage, std::string_view chain, const LogFile& file,
              std::optional<std::uint64_t> end = std::nullopt);
  // The previous line (without '\n') and its byte offset; false at the start of the file or on a
  // read error (error() then says which).
  bool Prev(std::string* line, std::uint64_t* offset);
  std::uint64_t partial_tail_bytes() const { return partial_tail_; }
  std::uint64_t size() const { return size_; }
  const Status& error() const { return error_; }

 private:
  bool Fill();
  std::string path_;  // for messages
  const Storage* storage_ = nullptr;
  std::string chain_;
  LogFile file_;
  std::uint64_t size_ = 0;
  std::uint64_t partial_tail_ = 0;
  std::uint64_t block_start_ = 0;  // file offset of buf_[0]
  std::string buf_;                // bytes [block_start_, pos_end_) still to hand out
  Status error_;
};

}  // namespace arca::audit
