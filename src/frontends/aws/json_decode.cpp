#include "frontends/aws/json_decode.h"

namespace arca::frontends::aws {

namespace bj = boost::json;

Error BadType(std::string_view member, std::string_view want) {
  return Error(Code::kSerialization,
               "Unexpected value type for " + std::string(member) + ": expected " + std::string(want) + ".");
}

Result<std::optional<std::vector<std::string>>> OptStringList(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(const bj::array* a, json::GetArray(o, key));
  if (a == nullptr) return std::optional<std::vector<std::string>>();
  std::vector<std::string> out;
  out.reserve(a->size());
  for (const bj::value& v : *a) {
    if (!v.is_string()) return BadType(key, "a list of strings");
    out.emplace_back(v.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> StringListOrEmpty(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> list, OptStringList(o, key));
  if (!list.has_value()) return std::vector<std::string>();
  return std::move(*list);
}

Result<bool> FlagOrFalse(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(std::optional<bool> v, json::GetBool(o, key));
  return v.value_or(false);
}

Error JsonDecoder::Missing(std::string_view member) const {
  if (style_ == MissingStyle::kProvideValue) {
    return Error(Code::kMissingParameter, "You must provide a value for the " + std::string(member) + " parameter.");
  }
  // "Name" -> "name": how the model's validation messages name members.
  std::string name(member);
  if (!name.empty() && name[0] >= 'A' && name[0] <= 'Z') name[0] = static_cast<char>(name[0] - 'A' + 'a');
  return Error(Code::kValidation, "1 validation error detected: Value null at '" + name +
                                      "' failed to satisfy constraint: Member must not be null")
      .WithWireType("ValidationException");
}

Result<std::string> JsonDecoder::RequiredString(const bj::object& o, std::string_view key) const {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, json::GetString(o, key));
  if (!v.has_value()) return Missing(key);
  return std::move(*v);
}

Result<std::vector<std::string>> JsonDecoder::RequiredStringList(const bj::object& o,
                                                                 std::string_view key) const {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> v, OptStringList(o, key));
  if (!v.has_value()) return Missing(key);
  return std::move(*v);
}

Error UnknownOperation(std::string_view operation) {
  return Error(Code::kUnknownOperation, "The operation " + std::string(operation) + " is not supported.");
}

}  // namespace arca::frontends::aws
