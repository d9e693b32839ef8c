#pragma once
// The domain-owned JSON documents of the parameter rows (store::ParameterRow::meta and
// store::ParameterVersionRow::meta). Never holds a value.
//
// Thread-safety: plain value types.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "params/types.h"

namespace arca::params {

// One policy of a version, as stored: its type and its JSON text.
struct StoredPolicy {
  std::string type;
  std::string text;
};

// Per parameter.
struct ParamMeta {
  std::string name;                        // as the client created it ("/a" or "a")
  std::vector<Tag> tags;                   // in the order they were first added
  std::optional<std::int64_t> expires_ms;  // the Expiration policy's time

  std::string ToJson() const;
  static Result<ParamMeta> FromJson(std::string_view json);
};

// Per version.
struct VersionMeta {
  std::string type;                        // String | StringList | SecureString
  std::optional<std::string> key_id;       // SecureString: the key as the client named it
  std::optional<std::string> key_arn;      // SecureString: the key that encrypted the value
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::string tier = "Standard";           // Standard | Advanced
  std::vector<StoredPolicy> policies;
  std::string data_type = "text";
  std::string user;                        // LastModifiedUser

  std::string ToJson() const;
  static Result<VersionMeta> FromJson(std::string_view json);
};

}  // namespace arca::params
