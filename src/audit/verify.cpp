#include "audit/verify.h"

#include <sys/stat.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <utility>

#include "audit/format.h"
#include "audit/signing.h"
#include "audit/storage.h"
#include "core/json.h"
#include "crypto/hash.h"

namespace arca::audit {

namespace bj = boost::json;

namespace {

struct Line {
  std::string text;
  std::size_t file = 0;      // index into the file list
  std::uint64_t number = 0;  // 1-based within the file
  std::uint64_t next_offset = 0;
  bool complete = true;  // ended with '\n'
};

// Reads the log's lines forward, across files, from (file, offset).
class LineCursor {
 public:
  LineCursor(const Storage& storage, std::string_view chain, const std::vector<LogFile>& files,
             std::size_t file, std::uint64_t offset, std::uint64_t lines_before)
      : storage_(storage),
        chain_(chain),
        files_(files),
        file_(file),
        pos_(offset),
        number_(lines_before) {}

  // false at the end; error() tells a read failure from the end.
  bool Next(Line* out) {
    while (file_ < files_.size()) {
      if (!loaded_) {
        auto content = storage_.ReadAll(chain_, files_[file_]);
        if (!content.ok()) {
          error_ = std::move(content).error();
          return false;
        }
        content_ = std::move(content).value();
        loaded_ = true;
      }
      if (pos_ < content_.size()) {
        const std::size_t nl = content_.find('\n', pos_);
        const std::size_t end = nl == std::string::npos ? content_.size() : nl;
        out->text.assign(content_, pos_, end - pos_);
        out->file = file_;
        out->number = ++number_;
        out->complete = nl != std::string::npos;
        pos_ = nl == std::string::npos ? content_.size() : nl + 1;
        out->next_offset = pos_;
        return true;
      }
      ++file_;
      loaded_ = false;
      content_.clear();
      pos_ = 0;
      number_ = 0;
    }
    return false;
  }
  const Status& error() const { return error_; }

 private:
  const Storage& storage_;
  std::string_view chain_;
  const std::vector<LogFile>& files_;
  std::size_t file_;
  std::uint64_t pos_;
  std::uint64_t number_;
  bool loaded_ = false;
  std::string content_;
  Status error_;
};

struct ChainFields {
  std::uint64_t sequence = 0;
  std::string_view previous_hash;
};

// The chain members at the end of a line: ...,"arcaSequence":N,"arcaPreviousHash":"<64 hex>"}
std::optional<ChainFields> ParseChain(std::string_view line) {
  static constexpr std::string_view kHashKey = ",\"arcaPreviousHash\":\"";
  static constexpr std::string_view kSeqKey = "\"arcaSequence\":";
  if (line.size() < kHashKey.size() + 66 || line.substr(line.size() - 2) != "\"}")
    return std::nullopt;
  const std::size_t hash_at = line.size() - 2 - 64;
  if (line.substr(hash_at - kHashKey.size(), kHashKey.size()) != kHashKey) return std::nullopt;
  ChainFields f;
  f.previous_hash = line.substr(hash_at, 64);
  for (char c : f.previous_hash) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  const std::size_t seq_end = hash_at - kHashKey.size();
  const std::size_t key_at = line.rfind(kSeqKey, seq_end);
  if (key_at == std::string_view::npos || key_at == 0 ||
      (line[key_at - 1] != ',' && line[key_at - 1] != '{')) {
    return std::nullopt;
  }
  const char* begin = line.data() + key_at + kSeqKey.size();
  const char* end = line.data() + seq_end;
  auto [ptr, ec] = std::from_chars(begin, end, f.sequence);
  if (ec != std::errc() || ptr != end || f.sequence == 0) return std::nullopt;
  return f;
}

bool IsDigest(std::string_view line) { return line.starts_with("{\"arcaRecordType\":\"Digest\""); }
bool IsRecovery(std::string_view line) {
  return line.starts_with("{\"arcaRecordType\":\"Recovery\"");
}

std::optional<TimePoint> EventTimeOf(std::string_view line) {
  static constexpr std::string_view kKey = "\"eventTime\":\"";
  const std::size_t at = line.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  const std::size_t start = at + kKey.size();
  const std::size_t end = line.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  TimePoint t;
  if (!ParseIso8601(line.substr(start, end - start), &t)) return std::nullopt;
  return t;
}

struct Digest {
  DigestFields fields;
  std::string signature;  // raw bytes
  std::string key_fingerprint;
};

std::optional<Digest> ParseDigest(std::string_view line) {
  boost::system::error_code ec;
  bj::value v = bj::parse(line, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const bj::object& o = v.get_object();
  auto str = [&o](std::string_view key) -> std::optional<std::string> {
    const bj::value* x = o.if_contains(key);
    if (x == nullptr || !x->is_string()) return std::nullopt;
    return std::string(x->get_string());
  };
  auto num = [&o](std::string_view key) -> std::optional<std::uint64_t> {
    const bj::value* x = o.if_contains(key);
    if (x == nullptr) return std::nullopt;
    if (x->is_uint64()) return x->get_uint64();
    if (x->is_int64() && x->get_int64() >= 0) return static_cast<std::uint64_t>(x->get_int64());
    return std::nullopt;
  };
  Digest d;
  auto reason = str("digestReason");
  auto time = str("digestTime");
  auto start = num("digestStartSequence");
  auto end = num("digestEndSequence");
  auto end_hash = str("digestEndHash");
  auto sig = str("digestSignature");
  auto alg = str("digestSignatureAlgorithm");
  if (!reason || !time || !start || !end || !end_hash || !sig || !alg || *alg != "Ed25519")
    return std::nullopt;
  std::optional<std::string> raw = crypto::Base64Decode(*sig);
  if (!raw) return std::nullopt;
  d.fields.reason = std::move(*reason);
  d.fields.time = std::move(*time);
  d.fields.start_sequence = *start;
  d.fields.end_sequence = *end;
  d.fields.end_hash = std::move(*end_hash);
  d.signature = std::move(*raw);
  d.key_fingerprint = str("digestPublicKey").value_or("");
  return d;
}

std::string Where(const std::vector<LogFile>& files, const Line& l) {
  return files[l.file].name + " line " + std::to_string(l.number);
}

std::string Range(std::uint64_t a, std::uint64_t b) {
  return a == b ? "record " + std::to_string(a)
                : "records " + std::to_string(a) + ".." + std::to_string(b);
}

struct Anchor {
  std::size_t file = 0;
  std::uint64_t offset = 0;        // of the digest line
  std::uint64_t lines_before = 0;  // in its file
  std::uint64_t sequence = 0;
  std::uint64_t start_sequence = 0;
  std::string end_hash;
  std::string time;
  std::string where;
};

// The last digest at or before `since`, if any.
Result<std::optional<Anchor>> FindAnchor(const Storage& storage, std::string_view chain_id,
                                         const std::vector<LogFile>& files, TimePoint since) {
  std::optional<Anchor> anchor;
  LineCursor cur(storage, chain_id, files, 0, 0, 0);
  Line line;
  std::uint64_t offset = 0;
  std::size_t file = 0;
  while (cur.Next(&line)) {
    if (line.file != file) {
      file = line.file;
      offset = 0;
    }
    const std::uint64_t line_offset = offset;
    offset = line.next_offset;
    if (!line.complete || !IsDigest(line.text)) continue;
    std::optional<Digest> d = ParseDigest(line.text);
    std::optional<ChainFields> chain = ParseChain(line.text);
    TimePoint t;
    if (!d || !chain || !ParseIso8601(d->fields.time, &t)) continue;  // the main pass reports it
    if (t > since) break;
    anchor = Anchor{line.file,
                    line_offset,
                    line.number - 1,
                    chain->sequence,
                    d->fields.start_sequence,
                    d->fields.end_hash,
                    d->fields.time,
                    Where(files, line)};
  }
  if (!cur.error().ok()) return cur.error().error();
  return anchor;
}

class Verifier {
 public:
  Verifier(const Storage& storage, std::string_view chain, std::optional<TimePoint> since,
           std::string key_location, std::vector<LogFile> files, VerifyReport& report)
      : storage_(storage),
        chain_(chain),
        since_(since),
        key_location_(std::move(key_location)),
        files_(std::move(files)),
        report_(report) {}

  Status Run(const PublicKey* key, std::optional<Anchor> anchor) {
    key_ = key;
    std::size_t file = 0;
    std::uint64_t offset = 0, lines_before = 0;
    expected_ = 1;
    prev_hash_ = std::string(kZeroHash);
    if (anchor.has_value()) {
      file = anchor->file;
      offset = anchor->offset;
      lines_before = anchor->lines_before;
      expected_ = anchor->sequence;
      prev_hash_ = anchor->end_hash;
      last_digest_ = anchor->start_sequence - 1;
      report_.notes.push_back("checked from digest record " + std::to_string(anchor->sequence) +
                              " (" + anchor->where + ", " + anchor->time +
                              "), the last digest before --since");
    }
    report_.start_sequence = expected_;
    LineCursor cur(storage_, chain_, files_, file, offset, lines_before);
    Line line;
    while (!report_.problem && cur.Next(&line)) Check(line);
    if (!cur.error().ok()) return cur.error().error();
    report_.last_hash = prev_hash_;
    report_.last_digest_sequence = last_digest_;
    report_.lines_after_last_digest =
        report_.last_sequence - std::min(report_.last_sequence, last_digest_);
    return OkStatus();
  }

 private:
  void Report(ProblemKind kind, const Line& at, std::uint64_t sequence, std::string message) {
    Problem p;
    p.kind = kind;
    p.file = files_[at.file].name;
    p.line = at.number;
    p.sequence = sequence;
    p.message = std::move(message);
    report_.problem = std::move(p);
  }

  std::string PrevWhere() const {
    return has_prev_ ? Where(files_, prev_) : std::string("the start of the log");
  }

  void Check(const Line& line) {
    if (!line.complete) {
      Report(ProblemKind::kTruncated, line, expected_,
             Where(files_, line) + " is cut short (" + std::to_string(line.text.size()) +
                 " bytes without a line end): the log was truncated inside record " +
                 std::to_string(expected_) + (line.file + 1 == files_.size() ? " at its end" : ""));
      return;
    }
    std::optional<ChainFields> chain = ParseChain(line.text);
    if (!chain) {
      Report(ProblemKind::kMalformed, line, expected_,
             Where(files_, line) +
                 " is not an audit record (it does not end with arcaSequence and "
                 "arcaPreviousHash): it was edited or corrupted; expected record " +
                 std::to_string(expected_));
      return;
    }
    const std::uint64_t s = chain->sequence;
    if (s == expected_ && chain->previous_hash != prev_hash_) {
      ReportEdited(line, s);
      return;
    }
    if (s > expected_) {
      if (chain->previous_hash == prev_hash_) {
        Report(ProblemKind::kEdited, line, expected_,
               "record at " + Where(files_, line) + " chains to record " +
                   std::to_string(expected_ - 1) + " (" + PrevWhere() + ") but carries sequence " +
                   std::to_string(s) + " instead of " + std::to_string(expected_) +
                   ": its sequence number was edited");
        return;
      }
      if (std::optional<Line> later = FindLater(line, expected_)) {
        Report(ProblemKind::kReordered, line, expected_,
               "record " + std::to_string(expected_) + " is out of order: it appears at " +
                   Where(files_, *later) + ", after record " + std::to_string(s) + " at " +
                   Where(files_, line));
        return;
      }
      Report(ProblemKind::kMissing, line, expected_,
             Range(expected_, s - 1) + " missing: " + Where(files_, line) + " holds record " +
                 std::to_string(s) + " right after record " + std::to_string(expected_ - 1) + " (" +
                 PrevWhere() + "); deleted lines or a deleted file");
      return;
    }
    if (s < expected_) {
      Report(ProblemKind::kReordered, line, s,
             Where(files_, line) + " holds record " + std::to_string(s) + " after record " +
                 std::to_string(expected_ - 1) + " (" + PrevWhere() +
                 "): records are out of order or duplicated");
      return;
    }
    const std::string hash = LineHash(line.text);
    bool shutdown = false;
    if (IsDigest(line.text)) {
      if (!CheckDigest(line, s, &shutdown)) return;
    } else if (IsRecovery(line.text)) {
      ++report_.recoveries;
      report_.notes.push_back(
          "crash recovery at record " + std::to_string(s) + " (" + Where(files_, line) +
          "): the server cut a partial line (an unacknowledged write) at start-up: " +
          line.text.substr(0, line.text.rfind(",\"arcaSequence\"")) + "}");
    } else {
      ++report_.events;
      if (since_.has_value()) {
        std::optional<TimePoint> t = EventTimeOf(line.text);
        if (t.has_value() && *t >= *since_) ++report_.events_since;
      }
    }
    report_.ends_with_shutdown_digest = shutdown;
    report_.last_sequence = s;
    prev_hash_ = hash;
    expected_ = s + 1;
    prev_ = line;
    prev_.text.clear();
    has_prev_ = true;
  }

  // Record s does not hold the hash of the line before it. The next line tells which one changed.
  void ReportEdited(const Line& line, std::uint64_t s) {
    LineCursor look(storage_, chain_, files_, line.file, line.next_offset, line.number);
    Line next;
    std::optional<ChainFields> next_chain;
    const bool has_next = look.Next(&next) && next.complete;
    if (has_next) next_chain = ParseChain(next.text);
    const bool next_chains_to_this =
        next_chain.has_value() && next_chain->previous_hash == LineHash(line.text);
    if (!has_prev_ || (has_next && !next_chains_to_this)) {
      Report(ProblemKind::kEdited, line, s,
             "record " + std::to_string(s) + " (" + Where(files_, line) +
                 ") was modified: it does not hold the hash of " +
                 (has_prev_ ? "record " + std::to_string(s - 1) + " (" + PrevWhere() + ")"
                            : std::string("the chain's start")) +
                 (has_next ? " and the record after it does not hold its hash" : ""));
      return;
    }
    Line prev = prev_;
    Problem p;
    p.kind = ProblemKind::kEdited;
    p.file = files_[prev.file].name;
    p.line = prev.number;
    p.sequence = s - 1;
    p.message = "record " + std::to_string(s - 1) + " (" + PrevWhere() + ") was modified: record " +
                std::to_string(s) + " (" + Where(files_, line) + ") holds a different hash of it" +
                (has_next ? std::string()
                          : " (or record " + std::to_string(s) + "'s arcaPreviousHash was edited)");
    report_.problem = std::move(p);
  }

  std::optional<Line> FindLater(const Line& from, std::uint64_t sequence) {
    LineCursor look(storage_, chain_, files_, from.file, from.next_offset, from.number);
    Line l;
    while (look.Next(&l)) {
      std::optional<ChainFields> c = ParseChain(l.text);
      if (c && c->sequence == sequence) return l;
    }
    return std::nullopt;
  }

  bool CheckDigest(const Line& line, std::uint64_t s, bool* shutdown) {
    const std::string where =
        "digest record " + std::to_string(s) + " (" + Where(files_, line) + ")";
    if (key_ == nullptr) {
      Report(ProblemKind::kNoKey, line, s,
             where + " cannot be checked: no public key at " + key_location_);
      return false;
    }
    std::optional<Digest> d = ParseDigest(line.text);
    if (!d) {
      Report(ProblemKind::kBadDigest, line, s, where + " is malformed: it was edited or forged");
      return false;
    }
    if (!key_->Verify(DigestMessage(d->fields), d->signature)) {
      std::string named;
      if (!d->key_fingerprint.empty() && d->key_fingerprint != key_->fingerprint()) {
        named = "; it names key " + d->key_fingerprint;
      }
      Report(ProblemKind::kBadDigest, line, s,
             where + " has an invalid signature for public key " + key_->fingerprint() +
                 ": it was forged or edited, or signed with another key" + named);
      return false;
    }
    if (d->fields.end_sequence + 1 != s || d->fields.end_hash != prev_hash_ ||
        d->fields.start_sequence != last_digest_ + 1) {
      Report(ProblemKind::kBadDigest, line, s,
             where + " is signed but does not fit the log: it covers records " +
                 std::to_string(d->fields.start_sequence) + ".." +
                 std::to_string(d->fields.end_sequence) + " ending in hash " +
                 d->fields.end_hash.substr(0, 16) + "..., the log has records " +
                 std::to_string(last_digest_ + 1) + ".." + std::to_string(s - 1) +
                 " ending in hash " + prev_hash_.substr(0, 16) +
                 "... (a digest copied from elsewhere)");
      return false;
    }
    last_digest_ = s;
    ++report_.digests;
    *shutdown = d->fields.reason == "shutdown";
    return true;
  }

  const Storage& storage_;
  const std::string_view chain_;
  const std::optional<TimePoint> since_;
  const std::string key_location_;
  const std::vector<LogFile> files_;
  VerifyReport& report_;
  const PublicKey* key_ = nullptr;
  std::uint64_t expected_ = 1;
  std::string prev_hash_;
  std::uint64_t last_digest_ = 0;
  Line prev_;
  bool has_prev_ = false;
};

}  // namespace

VerifyOptions DefaultVerifyOptions(const std::string& data_dir) {
  VerifyOptions o;
  o.dir = data_dir + "/audit";
  o.public_key_path = data_dir + "/audit.pub";
  return o;
}

std::string_view ProblemKindName(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::kEdited:
      return "edited record";
    case ProblemKind::kMissing:
      return "missing records";
    case ProblemKind::kReordered:
      return "reordered records";
    case ProblemKind::kTruncated:
      return "truncated record";
    case ProblemKind::kMalformed:
      return "malformed line";
    case ProblemKind::kBadDigest:
      return "invalid digest";
    case ProblemKind::kNoKey:
      return "no public key";
  }
  return "problem";
}

Result<VerifyReport> VerifyChain(const Storage& storage, std::string_view chain,
                                 const PublicKey* key, std::optional<TimePoint> since,
                                 const std::string& key_location) {
  VerifyReport report;
  report.dir = storage.DescribeChain(chain);
  report.chain = std::string(chain);
  report.since = since;
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, storage.ListFiles(chain));
  report.files = files.size();
  if (key != nullptr) report.public_key_fingerprint = key->fingerprint();
  std::optional<Anchor> anchor;
  if (since.has_value()) {
    ARCA_ASSIGN_OR_RETURN(anchor, FindAnchor(storage, chain, files, *since));
  }
  Verifier v(storage, chain, since,
             key_location.empty() ? storage.PublicKeyLocation() : key_location, std::move(files),
             report);
  ARCA_RETURN_IF_ERROR(v.Run(key, std::move(anchor)));
  return report;
}

Result<std::vector<VerifyReport>> VerifyStorage(const Storage& storage,
                                                std::optional<TimePoint> since,
                                                const std::string& public_key_path) {
  std::optional<PublicKey> key;
  if (!public_key_path.empty()) {
    if (auto k = PublicKey::FromFile(public_key_path); k.ok()) {
      key = std::move(k).value();
    } else if (k.error().code() != Code::kNotFound) {
      return std::move(k).error();
    }
  } else {
    ARCA_ASSIGN_OR_RETURN(key, storage.LoadPublicKey());
  }
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> chains, storage.ListChains());
  std::vector<VerifyReport> reports;
  for (const std::string& chain : chains) {
    ARCA_ASSIGN_OR_RETURN(VerifyReport r, VerifyChain(storage, chain, key ? &*key : nullptr,
                                                      since, public_key_path));
    reports.push_back(std::move(r));
  }
  return reports;
}

Result<VerifyReport> Verify(const VerifyOptions& options) {
  struct stat st {};
  if (::stat(options.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Code::kNotFound, "no audit log directory at " + options.dir);
  }
  ARCA_ASSIGN_OR_RETURN(
      std::unique_ptr<FileStorage> storage,
      FileStorage::Open({options.dir, std::string(), options.public_key_path}, false));
  ARCA_ASSIGN_OR_RETURN(std::optional<PublicKey> key, storage->LoadPublicKey());
  return VerifyChain(*storage, "", key ? &*key : nullptr, options.since, std::string());
}

std::string FormatReport(const VerifyReport& r) {
  std::string out = "audit log " + r.dir + ": ";
  if (r.problem.has_value()) {
    out += "FAILED: " + std::string(ProblemKindName(r.problem->kind)) + "\n";
    out += "  " + r.problem->message + "\n";
  } else {
    out += "OK\n";
  }
  out += "  files: " + std::to_string(r.files) + "\n";
  out += "  checked: " + std::to_string(r.events) + " events, " + std::to_string(r.digests) +
         " digests";
  if (r.last_sequence > 0) {
    out += " (records " + std::to_string(r.start_sequence) + ".." +
           std::to_string(r.last_sequence) + ")";
  }
  out += "\n";
  if (!r.public_key_fingerprint.empty()) out += "  public key: " + r.public_key_fingerprint + "\n";
  if (r.problem.has_value()) return out;
  if (r.last_sequence > 0) {
    out += "  last record: " + std::to_string(r.last_sequence) + ", hash " + r.last_hash + "\n";
    out += "  last digest: ";
    out += r.last_digest_sequence > 0 ? "record " + std::to_string(r.last_digest_sequence)
                                      : std::string("none");
    out +=
        "; " + std::to_string(r.lines_after_last_digest) + " records after it are not yet signed\n";
    out += r.ends_with_shutdown_digest ? "  the log ends with a clean-shutdown digest\n"
                                       : "  the log does not end with a shutdown digest: the "
                                         "server is running, crashed, or records "
                                         "after the last digest were cut (undetectable)\n";
  }
  if (r.since.has_value()) {
    out += "  events at or after " + FormatIso8601(*r.since) + ": " +
           std::to_string(r.events_since) + "\n";
  }
  for (const std::string& n : r.notes) out += "  note: " + n + "\n";
  return out;
}

std::string FormatReports(const std::vector<VerifyReport>& reports) {
  std::size_t failed = 0;
  for (const VerifyReport& r : reports) failed += r.ok() ? 0 : 1;
  std::string out;
  if (reports.size() != 1) {
    out = std::to_string(reports.size()) + " audit chains: ";
    out += failed == 0 ? std::string("OK") : std::to_string(failed) + " FAILED";
    out += "\n";
  }
  for (const VerifyReport& r : reports) out += FormatReport(r);
  return out;
}

Result<TimePoint> ParseSince(std::string_view text, TimePoint now) {
  if (text.size() >= 2) {
    const char unit = text.back();
    std::int64_t n = 0;
    const std::string_view digits = text.substr(0, text.size() - 1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec == std::errc() && ptr == digits.data() + digits.size() && n >= 0) {
      std::int64_t seconds = -1;
      switch (unit) {
        case 's':
          seconds = n;
          break;
        case 'm':
          seconds = n * 60;
          break;
        case 'h':
          seconds = n * 3600;
          break;
        case 'd':
          seconds = n * 86400;
          break;
        default:
          break;
      }
      if (seconds >= 0) return now - std::chrono::seconds(seconds);
    }
  }
  TimePoint t;
  if (ParseIso8601(text, &t)) return t;
  return Error(Code::kInvalidParameter,
               "--since must be a time (2026-11-25T10:00:00Z), a date (2026-11-25) "
               "or an age (30m, 24h, 7d), not \"" +
                   std::string(text) + "\"");
}

}  // namespace arca::audit
