#include "frontends/aws/cloudtrail.h"

#include <boost/json/value.hpp>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "audit/format.h"
#include "core/json.h"
#include "frontends/aws/json_writer.h"

namespace arca::frontends::aws {

namespace {

namespace bj = boost::json;

// A timestamp member: epoch seconds (integer or fractional, as botocore sends them for JSON
// protocols) or an ISO 8601 string.
Result<std::optional<TimePoint>> OptTimestamp(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<TimePoint>();
  double seconds = 0;
  if (v->is_int64()) {
    seconds = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    seconds = static_cast<double>(v->get_uint64());
  } else if (v->is_double()) {
    seconds = v->get_double();
  } else if (v->is_string()) {
    TimePoint t;
    if (ParseIso8601(v->get_string(), &t)) return std::optional<TimePoint>(t);
    return Error(Code::kSerialization,
                 "Unexpected value for " + std::string(key) + ": expected a timestamp.");
  } else {
    return Error(Code::kSerialization,
                 "Unexpected value type for " + std::string(key) + ": expected a timestamp.");
  }
  // Beyond year 9999 (or before 1970) no event can match; keep the arithmetic in range.
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0) {
    return Error(Code::kInvalidParameter,
                 "The " + std::string(key) + " value is outside the range of possible values.")
        .WithWireType("InvalidTimeRangeException");
  }
  const auto ms = static_cast<std::int64_t>(std::llround(seconds * 1000.0));
  return std::optional<TimePoint>(FromUnixMillis(ms));
}

Result<audit::LookupRequest> Decode(const bj::object& in, bool* insight) {
  audit::LookupRequest req;
  ARCA_ASSIGN_OR_RETURN(const bj::array* attrs, json::GetArray(in, "LookupAttributes"));
  if (attrs != nullptr) {
    for (const bj::value& item : *attrs) {
      if (!item.is_object()) {
        return Error(Code::kSerialization,
                     "Unexpected value type for LookupAttributes: expected a list of structures.");
      }
      ARCA_ASSIGN_OR_RETURN(std::optional<std::string> key,
                            json::GetString(item.get_object(), "AttributeKey"));
      ARCA_ASSIGN_OR_RETURN(std::optional<std::string> value,
                            json::GetString(item.get_object(), "AttributeValue"));
      if (!key.has_value() || !value.has_value()) {
        return Error(Code::kInvalidParameter,
                     "A lookup attribute needs an AttributeKey and an AttributeValue.")
            .WithWireType("InvalidLookupAttributesException");
      }
      req.attributes.push_back(audit::LookupAttribute{std::move(*key), std::move(*value)});
    }
  }
  ARCA_ASSIGN_OR_RETURN(req.start_time, OptTimestamp(in, "StartTime"));
  ARCA_ASSIGN_OR_RETURN(req.end_time, OptTimestamp(in, "EndTime"));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> category, json::GetString(in, "EventCategory"));
  if (category.has_value()) {
    if (*category != "insight") {
      return Error(Code::kInvalidParameter, "EventCategory must be insight.")
          .WithWireType("InvalidEventCategoryException");
    }
    *insight = true;
  }
  ARCA_ASSIGN_OR_RETURN(std::optional<std::int64_t> max, json::GetInt(in, "MaxResults"));
  if (max.has_value()) {
    if (*max < 1 || *max > audit::kLookupMaxResults) {
      return Error(Code::kValidation, "MaxResults must be between 1 and 50.")
          .WithWireType("InvalidMaxResultsException");
    }
    req.max_results = static_cast<int>(*max);
  }
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> token, json::GetString(in, "NextToken"));
  if (token.has_value()) req.next_token = std::move(*token);
  return req;
}

std::string Encode(const audit::LookupResult& result) {
  std::size_t reserve = 64;
  for (const audit::LookupEvent& e : result.events)
    reserve += e.cloudtrail_event.size() * 11 / 10 + 512;
  JsonWriter w(reserve);
  w.BeginObject().Key("Events").BeginArray();
  for (const audit::LookupEvent& e : result.events) {
    w.BeginObject();
    w.Member("EventId", e.event_id);
    w.Member("EventName", e.event_name);
    w.Member("ReadOnly", e.read_only);
    if (!e.access_key_id.empty()) w.Member("AccessKeyId", e.access_key_id);
    w.TimestampMember("EventTime", e.event_time);
    w.Member("EventSource", e.event_source);
    if (!e.username.empty()) w.Member("Username", e.username);
    w.Key("Resources").BeginArray();
    for (const audit::LookupResource& r : e.resources) {
      w.BeginObject().Member("ResourceType", r.type).Member("ResourceName", r.name).EndObject();
    }
    w.EndArray();
    w.Member("CloudTrailEvent", e.cloudtrail_event);
    w.EndObject();
  }
  w.EndArray();
  if (!result.next_token.empty()) w.Member("NextToken", result.next_token);
  w.EndObject();
  return w.Take();
}

}  // namespace

CloudTrailFrontend::CloudTrailFrontend(const audit::EventQuery& query) : query_(query) {}

bool CloudTrailFrontend::HasOperation(std::string_view operation) const {
  return operation == "LookupEvents";
}

Result<std::string> CloudTrailFrontend::Invoke(const OperationContext& ctx,
                                               boost::json::object& input) {
  if (ctx.operation != "LookupEvents") {
    return Error(Code::kUnknownOperation, "The operation " + ctx.operation + " is not supported.");
  }
  bool insight = false;
  ARCA_ASSIGN_OR_RETURN(audit::LookupRequest req, Decode(input, &insight));
  ARCA_ASSIGN_OR_RETURN(audit::LookupResult result, query_.LookupEvents(*ctx.gate, req));
  if (insight)
    result = audit::LookupResult{};  // authorized and validated, but there are no Insights events
  return Encode(result);
}

}  // namespace arca::frontends::aws
