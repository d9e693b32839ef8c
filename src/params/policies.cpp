#include "params/policies.h"

#include <boost/json.hpp>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/json.h"

namespace arca::params {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxPolicies = 10;

Error InvalidAttribute(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message)).WithWireType("InvalidPolicyAttributeException");
}

// A positive whole number given as a string ("15") or a JSON number.
bool PositiveCount(const bj::value* v, std::int64_t* out) {
  if (v == nullptr) return false;
  if (v->is_int64() && v->get_int64() > 0) {
    *out = v->get_int64();
    return true;
  }
  if (v->is_uint64() && v->get_uint64() > 0 && v->get_uint64() < 1000000) {
    *out = static_cast<std::int64_t>(v->get_uint64());
    return true;
  }
  if (!v->is_string()) return false;
  std::string_view s = v->get_string();
  if (s.empty() || s.size() > 9) return false;
  std::int64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  if (n <= 0) return false;
  *out = n;
  return true;
}

Status CheckNotification(const bj::object& attrs, std::string_view type, std::string_view count_key) {
  std::int64_t n = 0;
  if (!PositiveCount(attrs.if_contains(count_key), &n)) {
    return InvalidAttribute("The " + std::string(type) + " policy requires the attribute " +
                            std::string(count_key) + " as a positive whole number.");
  }
  const bj::value* unit = attrs.if_contains("Unit");
  if (unit == nullptr || !unit->is_string() ||
      (unit->get_string() != "Days" && unit->get_string() != "Hours")) {
    return InvalidAttribute("The " + std::string(type) +
                            " policy requires the attribute Unit with the value Days or Hours.");
  }
  for (const auto& member : attrs) {
    if (member.key() != count_key && member.key() != "Unit") {
      return InvalidAttribute("The " + std::string(type) + " policy has an unknown attribute: " +
                              std::string(member.key()) + ".");
    }
  }
  return OkStatus();
}

}  // namespace

bool ParsePolicyTimestamp(std::string_view s, std::int64_t* unix_ms) {
  TimePoint t;
  if (!ParseIso8601WithOffset(s, &t)) return false;
  *unix_ms = ToUnixMillis(t);
  return true;
}

Result<ParsedPolicies> ParsePolicies(std::string_view text, TimePoint now) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_array()) {
    return Error(Code::kValidation,
                 "Policies must be a JSON array of parameter policies, for example "
                 "[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":"
                 "\"2030-12-02T21:34:33.000Z\"}}].");
  }
  const bj::array& list = parsed->get_array();
  if (list.size() > kMaxPolicies) {
    return Error(Code::kLimitExceeded,
                 "You specified more than the maximum number of allowed policies for the parameter. "
                 "The maximum is 10.")
        .WithWireType("PoliciesLimitExceededException");
  }
  ParsedPolicies out;
  std::set<std::string> seen;
  for (const bj::value& item : list) {
    if (!item.is_object()) return InvalidAttribute("Each parameter policy must be a JSON object.");
    const bj::object& policy = item.get_object();
    const bj::value* type_value = policy.if_contains("Type");
    if (type_value == nullptr || !type_value->is_string()) {
      return InvalidAttribute("Each parameter policy needs a Type.");
    }
    const std::string type(type_value->get_string());
    if (type != "Expiration" && type != "ExpirationNotification" && type != "NoChangeNotification") {
      return Error(Code::kInvalidParameter,
                   "The policy type isn't supported. Parameter Store supports the following policy "
                   "types: Expiration, ExpirationNotification, and NoChangeNotification.")
          .WithWireType("InvalidPolicyTypeException");
    }
    if (const bj::value* version = policy.if_contains("Version");
        version != nullptr && (!version->is_string() || version->get_string() != "1.0")) {
      return InvalidAttribute("The policy version must be 1.0.");
    }
    for (const auto& member : policy) {
      if (member.key() != "Type" && member.key() != "Version" && member.key() != "Attributes") {
        return InvalidAttribute("A parameter policy has an unknown member: " + std::string(member.key()) + ".");
      }
    }
    const bj::value* attrs_value = policy.if_contains("Attributes");
    if (attrs_value == nullptr || !attrs_value->is_object()) {
      return InvalidAttribute("The " + type + " policy needs Attributes.");
    }
    const bj::object& attrs = attrs_value->get_object();
    if (!seen.insert(type).second) {
      return Error(Code::kInvalidRequest,
                   "There is a conflict in the policies specified for this parameter. You can't "
                   "specify two " + type + " policies for a parameter.")
          .WithWireType("IncompatiblePolicyException");
    }
    if (type == "Expiration") {
      const bj::value* ts = attrs.if_contains("Timestamp");
      std::int64_t ms = 0;
      if (ts == nullptr || !ts->is_string() || !ParsePolicyTimestamp(ts->get_string(), &ms) ||
          attrs.size() != 1) {
        return InvalidAttribute(
            "The Expiration policy requires the attribute Timestamp in the ISO_INSTANT or "
            "ISO_OFFSET_DATE_TIME format.");
      }
      if (ms <= ToUnixMillis(now)) {
        return InvalidAttribute("The Expiration policy's Timestamp must be in the future.");
      }
      out.expires_ms = ms;
    } else if (type == "ExpirationNotification") {
      ARCA_RETURN_IF_ERROR(CheckNotification(attrs, type, "Before"));
    } else {
      ARCA_RETURN_IF_ERROR(CheckNotification(attrs, type, "After"));
    }
    out.policies.push_back(StoredPolicy{type, bj::serialize(policy)});
  }
  if (seen.contains("ExpirationNotification") && !seen.contains("Expiration")) {
    return Error(Code::kInvalidRequest,
                 "There is a conflict in the policies specified for this parameter. An "
                 "ExpirationNotification policy needs an Expiration policy.")
        .WithWireType("IncompatiblePolicyException");
  }
  return out;
}

}  // namespace arca::params
