#pragma once
// JSON the way ESO's providers read it: `remoteRef.property` is a gjson path (github.com/tidwall/gjson)
// into a secret's value, and `dataFrom.extract` turns a JSON object's members into Secret keys with
// Go's encoding/json (string members unquoted, anything else kept as its raw JSON text). Both keep
// the raw text of nested values exactly as the secret holds it, so this works on the text itself
// instead of a parsed document.
//
// Thread-safety: free functions without shared state.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace arca::op {

// gjson.Get(json, path).String() when the path exists, nullopt when it does not. The path syntax
// supported: keys separated by '.', '\' escaping the next character ("a\.b" is the key "a.b"), '*'
// and '?' wildcards in keys, array indexes ("friends.1.first"), '#' (an array's length) and
// "#.key" (that key of every element, as a JSON array). gjson's queries ("#(...)"), modifiers ('@')
// and multipaths are not supported: such a path does not exist. String() is gjson's: strings
// unescaped, objects and arrays as their raw text, integers as written, other numbers in Go's
// shortest 'f' form, true/false, and "" for null.
std::optional<std::string> GjsonGet(std::string_view json, std::string_view path);

// What ESO's AWS providers do with `property`: when it contains '.', first the whole property as one
// key (every '.' escaped), then as a path.
std::optional<std::string> LookupProperty(std::string_view json, std::string_view property);

// Go's json.Unmarshal of `json` into map[string]json.RawMessage, then each member into a string when
// it is one: the members of a JSON object, string values unescaped, null as "", anything else as its
// raw JSON text (without surrounding whitespace). Later duplicates win. kInvalidParameter when the
// text is not one valid JSON object (the message says where, never what).
Result<std::vector<std::pair<std::string, std::string>>> JsonObjectMembers(std::string_view json);

// True when `text` is one valid JSON document.
bool IsValidJson(std::string_view text);

}  // namespace arca::op
