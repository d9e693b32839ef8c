#pragma once
// ESO's template engine v2: Go's text/template with sprig's functions, executed with
// Option("missingkey=error") over the Secret's data (a map of strings). This is the subset ESO's
// documentation and common manifests use:
//
//   text and actions, `{{-` / `-}}` trimming, comments `{{/* */}}`
//   {{ .key }}  {{ .a.b }}  {{ index . "my-key" }}  {{ $ }}  {{ $x := ... }}  {{ $x = ... }}
//   pipelines `{{ .x | b64enc | quote }}`, parenthesised pipelines `{{ (fromJson .cfg).port }}`
//   literals: "strings" with Go escapes, `raw strings`, 'c' characters, numbers, true, false, nil
//   if / else if / else, range (lists, maps in key order, `$k, $v :=`; else; break; continue),
//   with / else with / else, end
//   Go's builtins: and or not len index print printf println eq ne lt le gt ge urlquery
//   sprig: b64enc b64dec upper lower title trim trimAll trimPrefix trimSuffix trunc nospace
//          replace repeat substr contains hasPrefix hasSuffix quote squote cat indent nindent
//          default empty coalesce ternary fail toString toJson toRawJson toPrettyJson fromJson
//          join split splitList sortAlpha list dict get hasKey keys first last
//          atoi int int64 float64 add add1 sub mul div mod max min sha256sum
//          regexMatch regexFind regexReplaceAll regexReplaceAllLiteral
//
// Not supported (a parse error names the function): define/template/block, ESO's PKCS#12, JWK, PEM
// and YAML helpers, sprig's date, random, crypto (bcrypt, htpasswd, genCA, ...), semver and
// reflection functions. Go's own type rules are followed where they matter for the result
// (a missing map key is an error; `index` of a missing key is the zero value; numbers from fromJson
// are float64 and print like Go's %v); elsewhere arguments are converted leniently.
//
// Errors say where (`template: NAME:LINE: ...`) and never contain a value.
//
// Thread-safety: a parsed Template is immutable; Execute may be called concurrently.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

namespace arca::op::tmpl {

// A template value: Go's interface{} restricted to what templates handle here. Lists and maps are
// shared like Go's (reference types). Thread-safety: like a std::string (no synchronisation).
class Value {
 public:
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value>;
  enum class Kind { kNil, kBool, kInt, kFloat, kString, kList, kMap };

  Value() = default;
  static Value Bool(bool b);
  static Value Int(std::int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value MakeList(List l);
  // `string_map`: a Go map[string]string (the Secret data): `index` of a missing key gives "".
  static Value MakeMap(Map m, bool string_map = false);

  Kind kind() const;
  bool is_nil() const { return kind() == Kind::kNil; }
  bool as_bool() const { return std::get<bool>(v_); }
  std::int64_t as_int() const { return std::get<std::int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
  const Map& as_map() const { return *std::get<std::shared_ptr<Map>>(v_); }
  bool string_map() const { return string_map_; }

  // Go's type name, for error messages ("string", "int", "float64", "map[string]interface {}").
  std::string TypeName() const;

 private:
  std::variant<std::monostate, bool, std::int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Map>>
      v_;
  bool string_map_ = false;
};

// Go's fmt %v of a value (what an action prints; nil prints "<no value>" in an action and "<nil>"
// inside a list or map or through print/printf).
std::string FormatValue(const Value& v);

struct Node;

class Template {
 public:
  // Parses `text`; kInvalidParameter "template: NAME:LINE: ..." on a syntax error or an unknown
  // function.
  static Result<Template> Parse(std::string_view name, std::string_view text);

  // Executes with `dot` as the data. kInvalidParameter "template: NAME:LINE: executing \"NAME\" at
  // <...>: ..." when an action fails (a missing key, a wrong argument, `fail`).
  // `missing_key_error` false is Go's default option: a missing map key gives no value (printed
  // "<no value>") instead of an error (ESO's rewrite transform templates run that way).
  Result<std::string> Execute(const Value& dot, bool missing_key_error = true) const;

  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

 private:
  Template();
  std::string name_;
  std::unique_ptr<std::vector<Node>> root_;
};

// ESO's execute(): parse and run `text` over the Secret data (each value a string).
Result<std::string> ExecuteWithData(std::string_view name, std::string_view text,
                                    const std::map<std::string, std::string>& data);

// A map[string]string value from the Secret data.
Value DataValue(const std::map<std::string, std::string>& data);

}  // namespace arca::op::tmpl
