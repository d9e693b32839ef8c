#include "core/json.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace arca::json {

Result<bj::value> Parse(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec) {
    return Error(Code::kSerialization, "Could not parse request body as JSON: " + ec.message());
  }
  return v;
}

std::string Serialize(const bj::value& v) { return bj::serialize(v); }

namespace {
const bj::value* Find(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}
Error TypeError(std::string_view key, std::string_view want) {
  return Error(Code::kSerialization,
               "Start of structure or map found where not expected: " + std::string(key) +
                   " must be " + std::string(want));
}
}  // namespace

Result<std::optional<std::string>> GetString(const bj::object& o, std::string_view key) {
  const bj::value* v = Find(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return TypeError(key, "a string");
  return std::optional<std::string>(std::string(v->get_string()));
}

Result<std::optional<bool>> GetBool(const bj::object& o, std::string_view key) {
  const bj::value* v = Find(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return TypeError(key, "a boolean");
  return std::optional<bool>(v->get_bool());
}

Result<std::optional<std::int64_t>> GetInt(const bj::object& o, std::string_view key) {
  const bj::value* v = Find(o, key);
  if (v == nullptr) return std::optional<std::int64_t>();
  if (v->is_int64()) return std::optional<std::int64_t>(v->get_int64());
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_uint64()));
  }
  if (v->is_double()) {
    double d = v->get_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d))) {
      return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
    }
  }
  return TypeError(key, "an integer");
}

Result<const bj::array*> GetArray(const bj::object& o, std::string_view key) {
  const bj::value* v = Find(o, key);
  if (v == nullptr) return static_cast<const bj::array*>(nullptr);
  if (!v->is_array()) return TypeError(key, "a list");
  return &v->get_array();
}

Result<const bj::object*> GetObject(const bj::object& o, std::string_view key) {
  const bj::value* v = Find(o, key);
  if (v == nullptr) return static_cast<const bj::object*>(nullptr);
  if (!v->is_object()) return TypeError(key, "a structure");
  return &v->get_object();
}

std::string StringMember(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

const bj::object* ObjectMember(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

const bj::array* ArrayMember(const bj::object& o, std::string_view key) {
  const bj::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

}  // namespace arca::json
