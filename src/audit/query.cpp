#include "audit/query.h"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <chrono>
#include <map>
#include <memory>
#include <string_view>
#include <utility>

#include "audit/format.h"
#include "audit/storage.h"
#include "core/ids.h"
#include "crypto/hash.h"

namespace arca::audit {

namespace bj = boost::json;

namespace {

// Records reach the log moments after their eventTime, so the log is in eventTime order up to a
// small jitter: once a record is this much older than StartTime, no older file can match.
constexpr std::chrono::minutes kOrderSlack{5};

constexpr std::array<std::string_view, 8> kKeys = {"EventId",     "EventName",    "ReadOnly",
                                                   "Username",    "ResourceType", "ResourceName",
                                                   "EventSource", "AccessKeyId"};

bool IsKnownKey(std::string_view key) {
  for (std::string_view k : kKeys) {
    if (k == key) return true;
  }
  return false;
}

std::string FilterHash(const LookupRequest& r) {
  std::string canon = "v1";
  for (const LookupAttribute& a : r.attributes) {
    canon += '\0' + a.key + '\0' + a.value;
  }
  canon.append("\0s", 2);
  if (r.start_time) canon += std::to_string(ToUnixMillis(*r.start_time));
  canon.append("\0e", 2);
  if (r.end_time) canon += std::to_string(ToUnixMillis(*r.end_time));
  return crypto::Sha256Hex(canon).substr(0, 16);
}

// Where a chain's next page starts: read lines that end before byte `end` of file `file`;
// file 0: the chain has nothing more for this lookup.
struct Position {
  std::uint64_t file = 0;  // the file index (the number in its name)
  std::uint64_t end = 0;
};

// A chain's name in a token: short, and no separator characters.
std::string ChainTag(std::string_view chain) { return crypto::Sha256Hex(chain).substr(0, 16); }

// "arca-lookup-v2 FILTERHASH TAG:FILE:END ...": one entry per chain that existed when the first
// page was made (chains made later hold only newer records and are not part of the lookup).
std::string EncodeToken(const std::map<std::string, Position>& positions,
                        const std::string& filter_hash) {
  std::string raw = "arca-lookup-v2 " + filter_hash;
  for (const auto& [tag, p] : positions) {
    raw += " " + tag + ":" + std::to_string(p.file) + ":" + std::to_string(p.end);
  }
  return crypto::Base64Encode(raw);
}

Result<std::map<std::string, Position>> DecodeToken(std::string_view token,
                                                    const std::string& filter_hash) {
  const Error bad(Code::kInvalidNextToken, "Invalid NextToken.");
  std::optional<std::string> raw = crypto::Base64Decode(token);
  if (!raw) return bad;
  std::string_view s = *raw;
  constexpr std::string_view kPrefix = "arca-lookup-v2 ";
  if (s.substr(0, kPrefix.size()) != kPrefix) return bad;
  s.remove_prefix(kPrefix.size());
  const std::size_t sp = s.find(' ');
  if (s.substr(0, sp) != filter_hash) {
    return Error(Code::kInvalidNextToken,
                 "The NextToken was issued for a request with other parameters.");
  }
  if (sp == std::string_view::npos) return bad;
  s.remove_prefix(sp + 1);
  std::map<std::string, Position> out;
  auto num = [](std::string_view text, std::uint64_t* v) {
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *v);
    return ec == std::errc() && ptr == text.data() + text.size() && !text.empty();
  };
  while (!s.empty()) {
    const std::size_t next = s.find(' ');
    std::string_view entry = s.substr(0, next);
    s.remove_prefix(next == std::string_view::npos ? s.size() : next + 1);
    const std::size_t c1 = entry.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return bad;
    Position p;
    if (!num(entry.substr(c1 + 1, c2 - c1 - 1), &p.file) || !num(entry.substr(c2 + 1), &p.end))
      return bad;
    if (!out.emplace(std::string(entry.substr(0, c1)), p).second) return bad;
  }
  if (out.empty()) return bad;
  return out;
}

std::string JsonEscaped(std::string_view s) {
  std::string out = bj::serialize(bj::value(bj::string_view(s.data(), s.size())));
  return out.substr(1, out.size() - 2);
}

std::string_view Str(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return {};
  return v->get_string();
}

std::string UsernameOf(const bj::object& record) {
  const bj::value* uv = record.if_contains("userIdentity");
  if (uv == nullptr || !uv->is_object()) return {};
  const bj::object& u = uv->get_object();
  const std::string_view type = Str(u, "type");
  if (type == "Root") return "root";
  if (type == "IAMUser") return std::string(Str(u, "userName"));
  if (type == "AssumedRole") {
    const std::string_view arn = Str(u, "arn");
    const std::size_t slash = arn.rfind('/');
    return slash == std::string_view::npos ? std::string() : std::string(arn.substr(slash + 1));
  }
  if (std::string_view name = Str(u, "userName"); !name.empty()) return std::string(name);
  return std::string(Str(u, "principalId"));
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Names a ResourceName lookup matches: the ARN; the resource id inside it ("secret:prod/db-AbCdEf"
// -> "prod/db-AbCdEf"); for a secret also the name without its random suffix ("prod/db").
bool ResourceNameMatches(std::string_view arn_text, std::string_view value) {
  if (arn_text == value) return true;
  std::optional<Arn> arn = Arn::Parse(arn_text);
  if (!arn) return false;
  std::string_view id = arn->resource;
  if (id == value) return true;
  const std::size_t sep = id.find_first_of(":/");
  if (sep != std::string_view::npos) id.remove_prefix(sep + 1);
  if (id == value) return true;
  if (arn->service == "secretsmanager" && id.size() > 7 && id[id.size() - 7] == '-') {
    bool suffix = true;
    for (char c : id.substr(id.size() - 6)) suffix = suffix && IsAlnum(c);
    if (suffix && id.substr(0, id.size() - 7) == value) return true;
  }
  return false;
}

bool Matches(const bj::object& record, const LookupAttribute& a) {
  if (a.key == "EventId") return Str(record, "eventID") == a.value;
  if (a.key == "EventName") return Str(record, "eventName") == a.value;
  if (a.key == "EventSource") return Str(record, "eventSource") == a.value;
  if (a.key == "ReadOnly") {
    const bj::value* v = record.if_contains("readOnly");
    if (v == nullptr || !v->is_bool()) return false;
    return (v->get_bool() ? "true" : "false") == a.value;
  }
  if (a.key == "Username") return UsernameOf(record) == a.value;
  if (a.key == "AccessKeyId") {
    const bj::value* uv = record.if_contains("userIdentity");
    return uv != nullptr && uv->is_object() && Str(uv->get_object(), "accessKeyId") == a.value;
  }
  const bj::value* rv = record.if_contains("resources");
  if (rv == nullptr || !rv->is_array()) return false;
  for (const bj::value& item : rv->get_array()) {
    if (!item.is_object()) continue;
    const bj::object& res = item.get_object();
    if (a.key == "ResourceType" && Str(res, "type") == a.value) return true;
    if (a.key == "ResourceName" && ResourceNameMatches(Str(res, "ARN"), a.value)) return true;
  }
  return false;
}

LookupEvent ToEvent(const bj::object& record, std::string cloudtrail_event, TimePoint time) {
  LookupEvent e;
  e.event_id = std::string(Str(record, "eventID"));
  e.event_name = std::string(Str(record, "eventName"));
  const bj::value* ro = record.if_contains("readOnly");
  e.read_only = (ro != nullptr && ro->is_bool() && ro->get_bool()) ? "true" : "false";
  if (const bj::value* uv = record.if_contains("userIdentity"); uv != nullptr && uv->is_object()) {
    e.access_key_id = std::string(Str(uv->get_object(), "accessKeyId"));
  }
  e.event_time = time;
  e.event_source = std::string(Str(record, "eventSource"));
  e.username = UsernameOf(record);
  if (const bj::value* rv = record.if_contains("resources"); rv != nullptr && rv->is_array()) {
    for (const bj::value& item : rv->get_array()) {
      if (!item.is_object()) continue;
      e.resources.push_back(LookupResource{std::string(Str(item.get_object(), "type")),
                                           std::string(Str(item.get_object(), "ARN"))});
    }
  }
  e.cloudtrail_event = std::move(cloudtrail_event);
  return e;
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

// The filters of one request, applied line by line.
struct Filter {
  const LookupRequest& request;
  const LookupAttribute* attr = nullptr;
  std::string needle;  // a cheap pre-check on the raw line; empty: none
};

// One chain read newest first, one matching event ahead (the head).
class ChainCursor {
 public:
  ChainCursor(const Storage& storage, std::string chain, std::vector<LogFile> files,
              std::optional<Position> from, const Filter& filter)
      : storage_(storage),
        chain_(std::move(chain)),
        files_(std::move(files)),
        from_(from),
        filter_(filter),
        next_file_(files_.size()) {}

  // Moves to the next matching event; done() when there is none. kInvalidNextToken when the
  // starting position is not a line end of this chain; kUnavailable on a read error.
  Status Advance() {
    head_.reset();
    while (!done_) {
      if (!reader_open_) {
        if (next_file_ == 0) {
          done_ = true;
          break;
        }
        --next_file_;
        const LogFile& f = files_[next_file_];
        if (from_ && f.index > from_->file) continue;
        reader_ = std::make_unique<ReverseLineReader>();
        std::optional<std::uint64_t> end;
        if (from_ && f.index == from_->file) end = from_->end;
        ARCA_RETURN_IF_ERROR(reader_->Open(storage_, chain_, f, end));
        if (end.has_value() && (reader_->partial_tail_bytes() != 0 || reader_->size() != *end)) {
          return Error(Code::kInvalidNextToken, "Invalid NextToken.");
        }
        reader_open_ = true;
      }
      std::uint64_t offset = 0;
      if (!reader_->Prev(&line_, &offset)) {
        if (!reader_->error().ok()) return reader_->error();
        reader_open_ = false;
        continue;
      }
      if (Consider(offset)) break;
    }
    return OkStatus();
  }

  bool done() const { return !head_.has_value(); }
  const LookupEvent& head() const { return head_->event; }
  LookupEvent TakeHead() { return std::move(head_->event); }
  // Where a page that starts with the head reads from.
  Position position() const { return head_ ? head_->position : Position{}; }

 private:
  struct Head {
    LookupEvent event;
    Position position;
  };

  // Whether line_ (at `offset` of files_[next_file_]) is a matching event; sets head_ if so.
  bool Consider(std::uint64_t offset) {
    const LookupRequest& request = filter_.request;
    if (line_.rfind("{\"arcaRecordType\"", 0) == 0) return false;  // digests, recoveries
    std::optional<TimePoint> t = EventTimeOf(line_);
    if (!t.has_value()) return false;
    if (request.start_time && *t < *request.start_time) {
      if (*t < *request.start_time - kOrderSlack) done_ = true;
      return false;
    }
    if (request.end_time && *t > *request.end_time) return false;
    if (!filter_.needle.empty() && line_.find(filter_.needle) == std::string::npos) return false;
    boost::system::error_code ec;
    bj::value v = bj::parse(line_, ec);
    if (ec || !v.is_object()) return false;
    const bj::object& record = v.get_object();
    if (filter_.attr != nullptr && !Matches(record, *filter_.attr)) return false;
    head_ = Head{ToEvent(record, std::string(StripChainSuffix(line_, &scratch_)), *t),
                 Position{files_[next_file_].index, offset + line_.size() + 1}};
    return true;
  }

  const Storage& storage_;
  const std::string chain_;
  const std::vector<LogFile> files_;
  const std::optional<Position> from_;
  const Filter& filter_;
  std::size_t next_file_;  // files_[next_file_] is being read when reader_open_
  std::unique_ptr<ReverseLineReader> reader_;
  bool reader_open_ = false;
  bool done_ = false;
  std::string line_;
  std::string scratch_;
  std::optional<Head> head_;
};

}  // namespace

EventQuery::EventQuery(std::string dir) {
  auto storage = FileStorage::Open({std::move(dir), std::string(), std::string()},
                                   /*create_dir=*/false);
  if (storage.ok()) storage_ = std::shared_ptr<const Storage>(std::move(storage).value());
}

EventQuery::EventQuery(std::shared_ptr<const Storage> storage) : storage_(std::move(storage)) {}

Result<LookupResult> EventQuery::LookupEvents(access::Gate& gate,
                                              const LookupRequest& request) const {
  access::Resource any;
  ARCA_RETURN_IF_ERROR(gate.Authorize("cloudtrail:LookupEvents", any));

  if (request.attributes.size() > 1) {
    return Error(Code::kInvalidParameter, "You can specify only one lookup attribute.")
        .WithWireType("InvalidLookupAttributesException");
  }
  for (const LookupAttribute& a : request.attributes) {
    if (!IsKnownKey(a.key)) {
      return Error(Code::kInvalidParameter, "Lookup attribute key " + a.key.substr(0, 64) +
                                                " is not valid: use EventId, EventName, ReadOnly, "
                                                "Username, ResourceType, ResourceName, "
                                                "EventSource or AccessKeyId.")
          .WithWireType("InvalidLookupAttributesException");
    }
    if (a.value.empty() || a.value.size() > 2000) {
      return Error(Code::kValidation, "The lookup attribute value must be 1 to 2000 characters long.")
          .WithWireType("InvalidLookupAttributesException");
    }
  }
  if (request.start_time && request.end_time && *request.start_time > *request.end_time) {
    return Error(Code::kInvalidParameter, "Start time must be before or equal to end time.")
        .WithWireType("InvalidTimeRangeException");
  }
  const int max = request.max_results.value_or(kLookupMaxResults);
  if (max < 1 || max > kLookupMaxResults) {
    return Error(Code::kValidation, "MaxResults must be between 1 and 50.")
        .WithWireType("InvalidMaxResultsException");
  }
  if (storage_ == nullptr) return Error(Code::kUnavailable, "the audit log has no storage");
  const std::string filter_hash = FilterHash(request);

  std::optional<std::map<std::string, Position>> from;
  if (!request.next_token.empty()) {
    ARCA_ASSIGN_OR_RETURN(from, DecodeToken(request.next_token, filter_hash));
  }
  Filter filter{request};
  filter.attr = request.attributes.empty() ? nullptr : &request.attributes.front();
  if (filter.attr != nullptr && filter.attr->key != "ReadOnly" && filter.attr->key != "Username" &&
      filter.attr->key != "ResourceName") {
    filter.needle = JsonEscaped(filter.attr->value);
  }

  // One cursor per chain; each yields its events newest first and the merge takes the newest head.
  auto listed = storage_->ListChains();
  if (!listed.ok() && listed.error().code() != Code::kNotFound) return std::move(listed).error();
  const std::vector<std::string> chains =
      listed.ok() ? std::move(listed).value() : std::vector<std::string>{};  // no log yet
  std::vector<std::string> tags;
  std::vector<std::unique_ptr<ChainCursor>> cursors;
  std::size_t matched_entries = 0;
  for (const std::string& chain : chains) {
    const std::string tag = ChainTag(chain);
    std::optional<Position> pos;
    if (from.has_value()) {
      auto it = from->find(tag);
      if (it == from->end()) continue;  // a chain begun after the first page
      ++matched_entries;
      if (it->second.file == 0) continue;  // nothing more from this chain
      pos = it->second;
    }
    ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, storage_->ListFiles(chain));
    if (pos.has_value()) {
      bool exists = false;
      for (const LogFile& f : files) exists = exists || f.index == pos->file;
      if (!exists) return Error(Code::kInvalidNextToken, "Invalid NextToken.");
    }
    auto cursor = std::make_unique<ChainCursor>(*storage_, chain, std::move(files), pos, filter);
    ARCA_RETURN_IF_ERROR(cursor->Advance());
    tags.push_back(tag);
    cursors.push_back(std::move(cursor));
  }
  if (from.has_value() && matched_entries != from->size()) {
    return Error(Code::kInvalidNextToken, "Invalid NextToken.");
  }

  LookupResult result;
  while (true) {
    ChainCursor* newest = nullptr;
    for (const auto& c : cursors) {
      if (c->done()) continue;
      if (newest == nullptr || c->head().event_time > newest->head().event_time) newest = c.get();
    }
    if (newest == nullptr) break;
    if (static_cast<int>(result.events.size()) == max) {
      // There is at least one more: each chain's next page starts with its head.
      std::map<std::string, Position> positions;
      if (from.has_value()) {
        for (const auto& [tag, p] : *from) positions[tag] = Position{};
      }
      for (std::size_t i = 0; i < cursors.size(); ++i) positions[tags[i]] = cursors[i]->position();
      result.next_token = EncodeToken(positions, filter_hash);
      return result;
    }
    result.events.push_back(newest->TakeHead());
    ARCA_RETURN_IF_ERROR(newest->Advance());
  }
  return result;
}

}  // namespace arca::audit
