#include "audit/query.h"

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <chrono>
#include <string_view>
#include <utility>

#include "audit/format.h"
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

struct Position {
  std::uint64_t file = 0;  // the file index (the number in its name)
  std::uint64_t end = 0;   // read lines that end before this byte
};

std::string EncodeToken(const Position& p, const std::string& filter_hash) {
  return crypto::Base64Encode("arca-lookup-v1 " + std::to_string(p.file) + " " +
                              std::to_string(p.end) + " " + filter_hash);
}

Result<Position> DecodeToken(std::string_view token, const std::string& filter_hash) {
  const Error bad(Code::kInvalidNextToken, "Invalid NextToken.");
  std::optional<std::string> raw = crypto::Base64Decode(token);
  if (!raw) return bad;
  std::string_view s = *raw;
  constexpr std::string_view kPrefix = "arca-lookup-v1 ";
  if (s.substr(0, kPrefix.size()) != kPrefix) return bad;
  s.remove_prefix(kPrefix.size());
  Position p;
  auto num = [&s](std::uint64_t* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (ec != std::errc() || ptr == s.data() + s.size() || *ptr != ' ') return false;
    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()) + 1);
    return true;
  };
  if (!num(&p.file) || !num(&p.end)) return bad;
  if (s != filter_hash) {
    return Error(Code::kInvalidNextToken,
                 "The NextToken was issued for a request with other parameters.");
  }
  return p;
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

}  // namespace

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
  const std::string filter_hash = FilterHash(request);
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListLogFiles(dir_));

  std::optional<Position> from;
  if (!request.next_token.empty()) {
    ARCA_ASSIGN_OR_RETURN(Position p, DecodeToken(request.next_token, filter_hash));
    from = p;
  }
  if (from.has_value()) {
    bool exists = false;
    for (const LogFile& f : files) exists = exists || f.index == from->file;
    if (!exists) return Error(Code::kInvalidNextToken, "Invalid NextToken.");
  }
  const LookupAttribute* attr = request.attributes.empty() ? nullptr : &request.attributes.front();
  std::string needle;
  if (attr != nullptr && attr->key != "ReadOnly" && attr->key != "Username" &&
      attr->key != "ResourceName") {
    needle = JsonEscaped(attr->value);
  }

  LookupResult result;
  std::string line;
  std::string scratch;
  for (std::size_t i = files.size(); i-- > 0;) {
    if (from && files[i].index > from->file) continue;
    ReverseLineReader reader;
    std::optional<std::uint64_t> end;
    if (from && files[i].index == from->file) end = from->end;
    ARCA_RETURN_IF_ERROR(reader.Open(files[i].path, end));
    if (end.has_value() && (reader.partial_tail_bytes() != 0 || reader.size() != *end)) {
      return Error(Code::kInvalidNextToken, "Invalid NextToken.");
    }
    std::uint64_t offset = 0;
    while (reader.Prev(&line, &offset)) {
      if (line.rfind("{\"arcaRecordType\"", 0) == 0) continue;  // digests, recoveries
      std::optional<TimePoint> t = EventTimeOf(line);
      if (!t.has_value()) continue;
      if (request.start_time && *t < *request.start_time) {
        if (*t < *request.start_time - kOrderSlack) return result;
        continue;
      }
      if (request.end_time && *t > *request.end_time) continue;
      if (!needle.empty() && line.find(needle) == std::string::npos) continue;
      boost::system::error_code ec;
      bj::value v = bj::parse(line, ec);
      if (ec || !v.is_object()) continue;
      const bj::object& record = v.get_object();
      if (attr != nullptr && !Matches(record, *attr)) continue;
      if (static_cast<int>(result.events.size()) == max) {
        // There is at least one more: the next page starts after the last event returned, i.e.
        // with this line.
        result.next_token =
            EncodeToken(Position{files[i].index, offset + line.size() + 1}, filter_hash);
        return result;
      }
      result.events.push_back(ToEvent(record, std::string(StripChainSuffix(line, &scratch)), *t));
    }
    if (!reader.error().ok()) return reader.error().error();
  }
  return result;
}

}  // namespace arca::audit
