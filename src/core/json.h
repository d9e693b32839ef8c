#pragma once
// JSON helpers over Boost.JSON that return Result instead of throwing.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace arca::json {

namespace bj = boost::json;

// Parses a whole document; kSerialization on any syntax error (the message says where).
Result<bj::value> Parse(std::string_view text);
std::string Serialize(const bj::value& v);

// Typed member access on an object. Each returns nullopt when the key is absent (or JSON null) and
// kSerialization when present with the wrong JSON type.
Result<std::optional<std::string>> GetString(const bj::object& o, std::string_view key);
Result<std::optional<bool>> GetBool(const bj::object& o, std::string_view key);
Result<std::optional<std::int64_t>> GetInt(const bj::object& o, std::string_view key);
Result<const bj::array*> GetArray(const bj::object& o, std::string_view key);    // nullptr if absent
Result<const bj::object*> GetObject(const bj::object& o, std::string_view key);  // nullptr if absent

// Lenient member access, for documents another program shapes (a server's answer, a Kubernetes
// object) where a missing or mistyped member simply means "none": the member when it is present
// with that type, else "" / nullptr.
std::string StringMember(const bj::object& o, std::string_view key);
const bj::object* ObjectMember(const bj::object& o, std::string_view key);
const bj::array* ArrayMember(const bj::object& o, std::string_view key);

}  // namespace arca::json
