#include "cli/manifest.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/json.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::cli::bootstrap {

namespace bj = boost::json;

namespace {

constexpr std::string_view kDefaultKmsKey = "alias/aws/secretsmanager";
constexpr std::int64_t kMaxPasswordLength = 4096;
constexpr std::int64_t kMaxRandomBytes = 4096;

Error Invalid(std::string message) { return Error(Code::kInvalidParameter, std::move(message)); }

std::string LineOf(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.line < 0) return {};
  return " (line " + std::to_string(m.line + 1) + ")";
}

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9') || c == '-'; }

bool IsVariableName(std::string_view s) {
  if (s.empty() || !IsNameStart(s.front())) return false;
  return std::all_of(s.begin(), s.end(), IsNameChar);
}

using Lookup = std::function<Result<std::optional<std::string>>(const std::string&)>;

Result<std::string> SubstituteWith(std::string_view text, const Lookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    char c = text[i];
    if (c != '{') {
      out.push_back(c);
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      out.push_back('{');
      i += 2;
      continue;
    }
    std::size_t j = i + 1;
    if (j < text.size() && IsNameStart(text[j])) {
      while (j < text.size() && IsNameChar(text[j])) ++j;
      if (j < text.size() && text[j] == '}') {
        std::string name(text.substr(i + 1, j - i - 1));
        ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, lookup(name));
        if (!v) {
          return Invalid("unknown variable {" + name +
                         "} (define it under variables: or pass --var " + name + "=VALUE)");
        }
        out += *v;
        i = j + 1;
        continue;
      }
    }
    out.push_back('{');
    ++i;
  }
  return out;
}

Result<std::int64_t> ParseInt(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size())
    return Invalid("\"" + std::string(s) + "\" is not an integer");
  return v;
}

// The parser: one per manifest; `where` strings name the place for error messages.
// Thread-safety: none; used by one thread for one parse.
class Parser {
 public:
  explicit Parser(const ManifestOptions& options) : options_(options) {
    env_ = options.env ? options.env : client::ProcessEnv();
  }

  Result<Manifest> Parse(std::string_view yaml) {
    YAML::Node loaded;
    try {
      loaded = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      return Invalid("manifest: invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " +
                     e.msg);
    }
    const YAML::Node& root = loaded;  // const: operator[] must not insert
    if (!root.IsMap()) return Invalid("manifest: the document must be a mapping with secrets:");
    for (const auto& kv : root) {
      std::string key = KeyOf(kv.first);
      if (key != "variables" && key != "defaults" && key != "secrets") {
        return Invalid("manifest: unknown key \"" + key + "\"" + LineOf(kv.first) +
                       " (expected variables, defaults, secrets)");
      }
    }
    ARCA_RETURN_IF_ERROR(ParseVariables(root["variables"]));

    SecretSpec defaults;
    if (YAML::Node d = root["defaults"]; d && !d.IsNull()) {
      if (!d.IsMap()) return Invalid("defaults: must be a mapping" + LineOf(d));
      ARCA_RETURN_IF_ERROR(ParseMetadata(d, "defaults", true, defaults));
    }

    YAML::Node secrets = root["secrets"];
    if (!secrets || secrets.IsNull()) return Invalid("manifest: secrets: is missing");
    if (!secrets.IsSequence()) return Invalid("secrets: must be a list" + LineOf(secrets));
    if (secrets.size() == 0) return Invalid("secrets: is empty");
    Manifest m;
    m.variables = resolved_;
    std::set<std::string> names;
    std::map<std::string, std::string> outputs;
    std::size_t index = 0;
    for (const auto& node : secrets) {
      std::string where = "secrets[" + std::to_string(index++) + "]";
      ARCA_ASSIGN_OR_RETURN(SecretSpec s, ParseSecret(node, where, defaults));
      if (!names.insert(s.name).second)
        return Invalid(where + ": the secret " + s.name + " is listed twice");
      auto [it, fresh] = outputs.emplace(s.output_key, s.name);
      if (!fresh) {
        return Invalid(where + " (" + s.name + "): output key \"" + s.output_key +
                       "\" is also used by " + it->second + " (set output: on one of them)");
      }
      m.secrets.push_back(std::move(s));
    }
    return m;
  }

 private:
  static std::string KeyOf(const YAML::Node& n) {
    return n.IsScalar() ? n.Scalar() : std::string("?");
  }

  Status ParseVariables(const YAML::Node& node) {
    if (node && !node.IsNull()) {
      if (!node.IsMap()) return Invalid("variables: must be a mapping" + LineOf(node));
      for (const auto& kv : node) {
        std::string name = KeyOf(kv.first);
        if (!IsVariableName(name)) {
          return Invalid("variables: \"" + name + "\" is not a variable name" + LineOf(kv.first));
        }
        if (kv.second.IsNull()) {
          raw_[name] = "";
        } else if (!kv.second.IsScalar()) {
          return Invalid("variables." + name + ": must be a string" + LineOf(kv.second));
        } else {
          raw_[name] = kv.second.Scalar();
        }
      }
    }
    for (const auto& [name, value] : options_.vars) {
      if (!IsVariableName(name)) return Invalid("--var " + name + ": not a variable name");
      raw_[name] = value;
    }
    for (const auto& kv : raw_) {
      std::set<std::string> stack;
      ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, ResolveVariable(kv.first, stack));
      (void)v;
    }
    return OkStatus();
  }

  Result<std::optional<std::string>> ResolveVariable(const std::string& name,
                                                     std::set<std::string>& stack) {
    if (auto it = resolved_.find(name); it != resolved_.end())
      return std::optional<std::string>(it->second);
    auto raw = raw_.find(name);
    if (raw == raw_.end()) return std::optional<std::string>();
    if (!stack.insert(name).second) return Invalid("variables." + name + ": refers to itself");
    auto r = SubstituteWith(raw->second,
                            [&](const std::string& n) { return ResolveVariable(n, stack); });
    if (!r.ok()) {
      const std::string& msg = r.error().message();
      if (msg.rfind("variables.", 0) == 0) return std::move(r).error();
      return Invalid("variables." + name + ": " + msg);
    }
    stack.erase(name);
    resolved_[name] = *r;
    return std::optional<std::string>(*r);
  }

  Result<std::string> Sub(std::string_view text, const std::string& where) {
    auto r = SubstituteWith(text, [&](const std::string& n) -> Result<std::optional<std::string>> {
      auto it = resolved_.find(n);
      if (it == resolved_.end()) return std::optional<std::string>();
      return std::optional<std::string>(it->second);
    });
    if (!r.ok()) return Invalid(where + ": " + r.error().message());
    return r;
  }

  // A scalar as a substituted string.
  Result<std::string> String(const YAML::Node& n, const std::string& where) {
    if (!n.IsScalar()) return Invalid(where + ": must be a string" + LineOf(n));
    return Sub(n.Scalar(), where);
  }

  Result<std::int64_t> Int(const YAML::Node& n, const std::string& where, std::int64_t lo,
                           std::int64_t hi) {
    if (!n.IsScalar()) return Invalid(where + ": must be an integer" + LineOf(n));
    auto v = ParseInt(n.Scalar());
    if (!v.ok()) return Invalid(where + ": " + v.error().message() + LineOf(n));
    if (*v < lo || *v > hi) {
      return Invalid(where + ": must be between " + std::to_string(lo) + " and " +
                     std::to_string(hi) + LineOf(n));
    }
    return *v;
  }

  Result<bool> Bool(const YAML::Node& n, const std::string& where) {
    if (n.IsScalar()) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    return Invalid(where + ": must be true or false" + LineOf(n));
  }

  Result<std::string> ReadFile(const std::string& rel, const std::string& where) {
    std::string path = rel;
    if (path.empty() || path.front() != '/') path = options_.base_dir + "/" + rel;
    std::ifstream in(path, std::ios::binary);
    if (!in) return Invalid(where + ": cannot read file " + rel + ": " + std::strerror(errno));
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Invalid(where + ": cannot read file " + rel);
    return content;
  }

  Status CheckKeys(const YAML::Node& map, const std::string& where,
                   std::initializer_list<std::string_view> allowed) {
    for (const auto& kv : map) {
      std::string key = KeyOf(kv.first);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) {
          if (!list.empty()) list += ", ";
          list += a;
        }
        return Invalid(where + ": unknown key \"" + key + "\"" + LineOf(kv.first) + " (expected " +
                       list + ")");
      }
    }
    return OkStatus();
  }

  Result<Generator> ParsePassword(const YAML::Node& n, const std::string& where) {
    Generator g;
    g.kind = Generator::Kind::kPassword;
    if (!n || n.IsNull()) return g;
    if (!n.IsMap())
      return Invalid(where + ": must be a mapping of GetRandomPassword's options" + LineOf(n));
    ARCA_RETURN_IF_ERROR(CheckKeys(
        n, where,
        {"length", "excludeCharacters", "excludeNumbers", "excludePunctuation", "excludeUppercase",
         "excludeLowercase", "includeSpace", "requireEachIncludedType"}));
    PasswordSpec& p = g.password;
    for (const auto& kv : n) {
      std::string key = KeyOf(kv.first);
      std::string at = where + "." + key;
      if (key == "length") {
        ARCA_ASSIGN_OR_RETURN(p.length, Int(kv.second, at, 1, kMaxPasswordLength));
      } else if (key == "excludeCharacters") {
        if (!kv.second.IsScalar()) return Invalid(at + ": must be a string" + LineOf(kv.second));
        p.exclude_characters = kv.second.Scalar();  // taken literally: braces are characters here
      } else {
        ARCA_ASSIGN_OR_RETURN(bool b, Bool(kv.second, at));
        if (key == "excludeNumbers") p.exclude_numbers = b;
        if (key == "excludePunctuation") p.exclude_punctuation = b;
        if (key == "excludeUppercase") p.exclude_uppercase = b;
        if (key == "excludeLowercase") p.exclude_lowercase = b;
        if (key == "includeSpace") p.include_space = b;
        if (key == "requireEachIncludedType") p.require_each_included_type = b;
      }
    }
    return g;
  }

  Result<Generator> ParseRandom(const YAML::Node& n, const std::string& where) {
    Generator g;
    g.kind = Generator::Kind::kRandom;
    if (!n || n.IsNull()) return g;
    if (!n.IsMap())
      return Invalid(where + ": must be a mapping {bytes: N, encoding: base64|base64url|hex}" +
                     LineOf(n));
    ARCA_RETURN_IF_ERROR(CheckKeys(n, where, {"bytes", "encoding"}));
    if (YAML::Node b = n["bytes"]) {
      ARCA_ASSIGN_OR_RETURN(std::int64_t bytes, Int(b, where + ".bytes", 1, kMaxRandomBytes));
      g.random.bytes = static_cast<std::size_t>(bytes);
    }
    if (YAML::Node e = n["encoding"]) {
      std::string enc = e.IsScalar() ? e.Scalar() : "";
      if (enc == "base64") {
        g.random.encoding = RandomEncoding::kBase64;
      } else if (enc == "base64url") {
        g.random.encoding = RandomEncoding::kBase64Url;
      } else if (enc == "hex") {
        g.random.encoding = RandomEncoding::kHex;
      } else {
        return Invalid(where + ".encoding: must be base64, base64url or hex" + LineOf(e));
      }
    }
    return g;
  }

  // A field's or a value's source.
  Result<ValueSpec> ParseValue(const YAML::Node& n, const std::string& where) {
    ValueSpec v;
    if (!n || n.IsNull())
      return Invalid(where + ": has no value (write \"\" for an empty string)" + LineOf(n));
    if (n.IsScalar()) {
      ARCA_ASSIGN_OR_RETURN(std::string text, Sub(n.Scalar(), where));
      v.text = SecretBytes::FromString(std::move(text));
      return v;
    }
    if (!n.IsMap() || n.size() == 0) {
      return Invalid(
          where +
          ": must be a string or one of {fromEnv: VAR}, {fromFile: PATH}, {password: {...}}, "
          "{random: {...}}" +
          LineOf(n));
    }
    std::string first = KeyOf(n.begin()->first);
    if (first != "fromEnv" && first != "fromFile" && first != "password" && first != "random" &&
        first != "default") {
      std::string hint;
      if (n.size() == 1 && n.begin()->second.IsNull()) {
        hint = " (a literal containing {" + first + "} must be quoted: \"{" + first + "}\")";
      }
      return Invalid(where + ": unknown value source \"" + first + "\"" + LineOf(n) + hint +
                     " (expected fromEnv, fromFile, password, random)");
    }
    if (n["fromEnv"]) {
      ARCA_RETURN_IF_ERROR(CheckKeys(n, where, {"fromEnv", "default"}));
      ARCA_ASSIGN_OR_RETURN(std::string var, String(n["fromEnv"], where + ".fromEnv"));
      std::optional<std::string> value = env_(var);
      if (!value) {
        if (YAML::Node d = n["default"]) {
          ARCA_ASSIGN_OR_RETURN(std::string def, String(d, where + ".default"));
          value = std::move(def);
        } else {
          return Invalid(where + ": environment variable " + var + " is not set");
        }
      }
      v.text = SecretBytes::FromString(std::move(*value));
      return v;
    }
    if (n.size() != 1) {
      return Invalid(where + ": give exactly one of fromEnv, fromFile, password, random" +
                     LineOf(n));
    }
    if (first == "fromFile") {
      ARCA_ASSIGN_OR_RETURN(std::string path, String(n["fromFile"], where + ".fromFile"));
      ARCA_ASSIGN_OR_RETURN(std::string content, ReadFile(path, where));
      v.text = SecretBytes::FromString(std::move(content));
      return v;
    }
    if (first == "password") {
      ARCA_ASSIGN_OR_RETURN(v.generator, ParsePassword(n["password"], where + ".password"));
      return v;
    }
    if (first == "random") {
      ARCA_ASSIGN_OR_RETURN(v.generator, ParseRandom(n["random"], where + ".random"));
      return v;
    }
    return Invalid(where + ": default: needs fromEnv" + LineOf(n));
  }

  Result<bj::value> YamlToJson(const YAML::Node& n, const std::string& where) {
    if (!n || n.IsNull()) return bj::value(nullptr);
    if (n.IsScalar()) {
      ARCA_ASSIGN_OR_RETURN(std::string s, Sub(n.Scalar(), where));
      return bj::value(bj::string(s));
    }
    if (n.IsSequence()) {
      bj::array a;
      for (const auto& e : n) {
        ARCA_ASSIGN_OR_RETURN(bj::value v, YamlToJson(e, where));
        a.push_back(std::move(v));
      }
      return bj::value(std::move(a));
    }
    bj::object o;
    for (const auto& kv : n) {
      ARCA_ASSIGN_OR_RETURN(std::string k, String(kv.first, where));
      ARCA_ASSIGN_OR_RETURN(bj::value v, YamlToJson(kv.second, where + "." + k));
      o[k] = std::move(v);
    }
    return bj::value(std::move(o));
  }

  Result<std::string> ParsePolicy(const YAML::Node& n, const std::string& where) {
    std::string text;
    if (n.IsScalar()) {
      ARCA_ASSIGN_OR_RETURN(text, Sub(n.Scalar(), where));
    } else if (n.IsMap() && n.size() == 1 && n["fromFile"]) {
      ARCA_ASSIGN_OR_RETURN(std::string path, String(n["fromFile"], where + ".fromFile"));
      ARCA_ASSIGN_OR_RETURN(std::string content, ReadFile(path, where));
      ARCA_ASSIGN_OR_RETURN(text, Sub(content, where + " (" + path + ")"));
    } else if (n.IsMap()) {
      ARCA_ASSIGN_OR_RETURN(bj::value v, YamlToJson(n, where));
      return bj::serialize(v);
    } else {
      return Invalid(where + ": must be a JSON string, a mapping, or {fromFile: PATH}" + LineOf(n));
    }
    auto parsed = json::Parse(text);
    if (!parsed.ok()) return Invalid(where + ": not valid JSON: " + parsed.error().message());
    if (!parsed->is_object()) return Invalid(where + ": must be a JSON object");
    return bj::serialize(*parsed);
  }

  Result<RotationSpec> ParseRotation(const YAML::Node& n, const std::string& where) {
    if (!n.IsMap()) return Invalid(where + ": must be a mapping" + LineOf(n));
    ARCA_RETURN_IF_ERROR(
        CheckKeys(n, where, {"lambdaArn", "schedule", "automaticallyAfterDays", "duration"}));
    RotationSpec r;
    if (YAML::Node x = n["lambdaArn"]) {
      ARCA_ASSIGN_OR_RETURN(r.lambda_arn, String(x, where + ".lambdaArn"));
    }
    if (YAML::Node x = n["schedule"]) {
      ARCA_ASSIGN_OR_RETURN(r.schedule_expression, String(x, where + ".schedule"));
    }
    if (YAML::Node x = n["automaticallyAfterDays"]) {
      ARCA_ASSIGN_OR_RETURN(r.automatically_after_days,
                            Int(x, where + ".automaticallyAfterDays", 1, 1000));
    }
    if (YAML::Node x = n["duration"]) {
      ARCA_ASSIGN_OR_RETURN(r.duration, String(x, where + ".duration"));
    }
    if (r.schedule_expression.has_value() == r.automatically_after_days.has_value()) {
      return Invalid(where + ": give exactly one of schedule and automaticallyAfterDays" +
                     LineOf(n));
    }
    return r;
  }

  // description, tags, kmsKeyId, rotation, policy: shared by defaults and secrets.
  Status ParseMetadata(const YAML::Node& n, const std::string& where, bool is_defaults,
                       SecretSpec& s) {
    if (is_defaults) {
      ARCA_RETURN_IF_ERROR(
          CheckKeys(n, where, {"description", "tags", "kmsKeyId", "rotation", "policy"}));
    }
    if (YAML::Node x = n["description"]) {
      ARCA_ASSIGN_OR_RETURN(s.description, String(x, where + ".description"));
    }
    if (YAML::Node x = n["kmsKeyId"]) {
      ARCA_ASSIGN_OR_RETURN(s.kms_key_id, String(x, where + ".kmsKeyId"));
    }
    if (YAML::Node x = n["tags"]; x && !x.IsNull()) {
      if (!x.IsMap()) return Invalid(where + ".tags: must be a mapping of key: value" + LineOf(x));
      for (const auto& kv : x) {
        ARCA_ASSIGN_OR_RETURN(std::string k, String(kv.first, where + ".tags"));
        std::string at = where + ".tags." + k;
        std::string v;
        if (!kv.second.IsNull()) {
          ARCA_ASSIGN_OR_RETURN(v, String(kv.second, at));
        }
        s.tags[k] = std::move(v);
      }
    }
    if (YAML::Node x = n["rotation"]) {
      ARCA_ASSIGN_OR_RETURN(s.rotation, ParseRotation(x, where + ".rotation"));
    }
    if (YAML::Node x = n["policy"]) {
      ARCA_ASSIGN_OR_RETURN(s.policy, ParsePolicy(x, where + ".policy"));
    }
    return OkStatus();
  }

  Result<SecretSpec> ParseSecret(const YAML::Node& n, std::string where,
                                 const SecretSpec& defaults) {
    if (!n.IsMap())
      return Invalid(where + ": must be a mapping with name: and fields: or value:" + LineOf(n));
    YAML::Node name = n["name"];
    if (!name || name.IsNull()) return Invalid(where + ": name: is missing" + LineOf(n));
    SecretSpec s;
    ARCA_ASSIGN_OR_RETURN(s.name, String(name, where + ".name"));
    if (s.name.empty()) return Invalid(where + ": name: is empty");
    where += " (" + s.name + ")";
    ARCA_RETURN_IF_ERROR(CheckKeys(n, where,
                                   {"name", "description", "fields", "value", "tags", "kmsKeyId",
                                    "rotation", "policy", "output"}));
    ARCA_RETURN_IF_ERROR(ParseMetadata(n, where, false, s));
    // Defaults under the secret's own settings; tags merged key by key.
    if (!s.description) s.description = defaults.description;
    if (!s.kms_key_id) s.kms_key_id = defaults.kms_key_id;
    if (!s.rotation) s.rotation = defaults.rotation;
    if (!s.policy) s.policy = defaults.policy;
    for (const auto& [k, v] : defaults.tags) s.tags.emplace(k, v);

    if (YAML::Node o = n["output"]) {
      ARCA_ASSIGN_OR_RETURN(s.output_key, String(o, where + ".output"));
      if (s.output_key.empty()) return Invalid(where + ": output: is empty");
    } else {
      s.output_key = DefaultOutputKey(s.name);
    }

    YAML::Node fields = n["fields"];
    YAML::Node value = n["value"];
    if (fields && value) return Invalid(where + ": give fields: or value:, not both" + LineOf(n));
    if (!fields && !value) return Invalid(where + ": needs fields: or value:" + LineOf(n));
    if (value) {
      s.is_object = false;
      ARCA_ASSIGN_OR_RETURN(s.value, ParseValue(value, where + ": value"));
      return s;
    }
    if (!fields.IsMap() || fields.size() == 0) {
      return Invalid(where + ": fields: must be a non-empty mapping" + LineOf(fields));
    }
    std::set<std::string> keys;
    for (const auto& kv : fields) {
      ARCA_ASSIGN_OR_RETURN(std::string key, String(kv.first, where + ": fields"));
      if (key.empty()) return Invalid(where + ": fields: a field name is empty" + LineOf(kv.first));
      if (!keys.insert(key).second)
        return Invalid(where + ": fields." + key + " is listed twice" + LineOf(kv.first));
      Field f;
      f.key = key;
      ARCA_ASSIGN_OR_RETURN(f.value, ParseValue(kv.second, where + ": fields." + key));
      s.fields.push_back(std::move(f));
    }
    return s;
  }

  const ManifestOptions& options_;
  client::EnvLookup env_;
  std::map<std::string, std::string> raw_;
  std::map<std::string, std::string> resolved_;
};

std::string Join(const std::vector<std::string>& v, std::string_view sep = ", ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string JsonString(std::string_view s) { return bj::serialize(bj::value(bj::string(s))); }

// The JSON text of a string value, kept in SecretBytes.
SecretBytes JsonText(std::string_view s) {
  std::string t = JsonString(s);
  return SecretBytes::FromString(std::move(t));
}

bool SameRotation(const RotationSpec& want, const CurrentState& cur) {
  if (!cur.rotation_enabled) return false;
  const RotationSpec& have = cur.rotation;
  if (want.lambda_arn && want.lambda_arn != have.lambda_arn) return false;
  if (want.schedule_expression) {
    if (want.schedule_expression != have.schedule_expression) return false;
  } else if (want.automatically_after_days != have.automatically_after_days ||
             have.schedule_expression) {
    return false;
  }
  return want.duration == have.duration;
}

bool SamePolicy(const std::string& want, const std::optional<std::string>& have) {
  if (!have) return false;
  auto a = json::Parse(want);
  auto b = json::Parse(*have);
  return a.ok() && b.ok() && *a == *b;
}

std::string_view ActionName(Action a) {
  switch (a) {
    case Action::kCreate:
      return "create";
    case Action::kUpdate:
      return "update";
    case Action::kUnchanged:
      return "unchanged";
  }
  return "unchanged";
}

bj::array StringArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

// ---- manifest
// ---------------------------------------------------------------------------------------

Result<std::string> Substitute(std::string_view text,
                               const std::map<std::string, std::string>& vars) {
  return SubstituteWith(text, [&](const std::string& n) -> Result<std::optional<std::string>> {
    auto it = vars.find(n);
    if (it == vars.end()) return std::optional<std::string>();
    return std::optional<std::string>(it->second);
  });
}

Result<std::pair<std::string, std::string>> ParseVarFlag(std::string_view flag) {
  auto eq = flag.find('=');
  if (eq == std::string_view::npos)
    return Invalid("--var " + std::string(flag) + ": expected NAME=VALUE");
  std::string name(flag.substr(0, eq));
  if (!IsVariableName(name))
    return Invalid("--var " + name + ": not a variable name ([A-Za-z_][A-Za-z0-9_-]*)");
  return std::make_pair(name, std::string(flag.substr(eq + 1)));
}

std::string DefaultOutputKey(std::string_view secret_name) {
  std::string_view seg = secret_name;
  while (!seg.empty() && seg.back() == '/') seg.remove_suffix(1);
  if (auto slash = seg.rfind('/'); slash != std::string_view::npos) seg = seg.substr(slash + 1);
  std::string out;
  bool upper_next = false;
  for (char c : seg) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      upper_next = !out.empty();
      continue;
    }
    if (out.empty() && c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    } else if (upper_next && c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
    upper_next = false;
    out.push_back(c);
  }
  if (out.empty()) out = "secret";
  return out;
}

Result<Manifest> ParseManifest(std::string_view yaml, const ManifestOptions& options) {
  try {
    Parser p(options);
    return p.Parse(yaml);
  } catch (const std::exception& e) {  // yaml-cpp conversions; nothing may escape the module
    return Invalid(std::string("manifest: ") + e.what());
  }
}

Result<Manifest> LoadManifest(const std::string& path, ManifestOptions options) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Invalid("cannot read manifest " + path + ": " + std::strerror(errno));
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    auto slash = path.rfind('/');
    options.base_dir =
        slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  }
  auto m = ParseManifest(text, options);
  if (!m.ok() && path != "-") return Invalid(path + ": " + m.error().message());
  return m;
}

// ---- current state
// ----------------------------------------------------------------------------------

CurrentState StateFromDescribe(const bj::object& d) {
  CurrentState s;
  s.exists = true;
  auto str = [&](const bj::object& o, std::string_view key) -> std::optional<std::string> {
    auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
  };
  s.arn = str(d, "ARN").value_or("");
  s.description = str(d, "Description");
  s.kms_key_id = str(d, "KmsKeyId");
  s.scheduled_for_deletion = d.contains("DeletedDate") && !d.at("DeletedDate").is_null();
  if (auto* r = d.if_contains("RotationEnabled"); r && r->is_bool())
    s.rotation_enabled = r->get_bool();
  s.rotation.lambda_arn = str(d, "RotationLambdaARN");
  if (auto* r = d.if_contains("RotationRules"); r && r->is_object()) {
    const auto& rules = r->get_object();
    if (auto* days = rules.if_contains("AutomaticallyAfterDays"); days && days->is_number()) {
      s.rotation.automatically_after_days = days->to_number<std::int64_t>();
    }
    s.rotation.schedule_expression = str(rules, "ScheduleExpression");
    s.rotation.duration = str(rules, "Duration");
  }
  if (auto* t = d.if_contains("Tags"); t && t->is_array()) {
    for (const auto& e : t->get_array()) {
      if (!e.is_object()) continue;
      auto k = str(e.get_object(), "Key");
      if (k) s.tags[*k] = str(e.get_object(), "Value").value_or("");
    }
  }
  return s;
}

// ---- plan
// -------------------------------------------------------------------------------------------

Result<RegenerateSet> ResolveRegenerate(const Manifest& manifest,
                                        const std::vector<std::string>& flags) {
  RegenerateSet out;
  for (const auto& flag : flags) {
    bool found = false;
    for (const auto& s : manifest.secrets) {
      if (!s.is_object && flag == s.name) {
        if (!s.value.generator)
          return Invalid("--regenerate " + flag + ": the value of " + s.name + " is not generated");
        out.emplace(s.name, "");
        found = true;
        break;
      }
      if (!s.is_object || flag.size() <= s.name.size() + 1 ||
          flag.compare(0, s.name.size(), s.name) != 0 || flag[s.name.size()] != '.') {
        continue;
      }
      std::string key = flag.substr(s.name.size() + 1);
      auto f = std::find_if(s.fields.begin(), s.fields.end(),
                            [&](const Field& x) { return x.key == key; });
      if (f == s.fields.end()) continue;
      if (!f->value.generator) {
        return Invalid("--regenerate " + flag + ": field " + key + " of " + s.name +
                       " is not generated");
      }
      out.emplace(s.name, key);
      found = true;
      break;
    }
    if (!found) {
      return Invalid("--regenerate " + flag +
                     ": no such generated field in the manifest (expected SECRET.FIELD)");
    }
  }
  return out;
}

SecretPlan PlanSecret(const SecretSpec& spec, const CurrentState& current,
                      const RegenerateSet& regenerate) {
  SecretPlan p;
  p.spec = &spec;
  p.arn = current.arn;
  if (!current.exists) {
    p.action = Action::kCreate;
    p.value_changed = true;
    if (spec.is_object) {
      for (const auto& f : spec.fields) {
        PlannedValue v{f.key, SecretBytes(), nullptr};
        if (f.value.generator) {
          v.generate = &*f.value.generator;
          p.generated.push_back(f.key);
        } else {
          v.text = JsonText(f.value.text.view());
        }
        p.added.push_back(f.key);
        p.values.push_back(std::move(v));
      }
    } else {
      PlannedValue v{"", spec.value.text.Clone(),
                     spec.value.generator ? &*spec.value.generator : nullptr};
      p.values.push_back(std::move(v));
    }
    return p;
  }

  // The value.
  if (spec.is_object) {
    std::optional<bj::object> cur;
    if (current.value) {
      auto parsed = json::Parse(current.value->view());
      if (parsed.ok() && parsed->is_object()) cur = std::move(parsed->get_object());
    }
    for (const auto& f : spec.fields) {
      PlannedValue v{f.key, SecretBytes(), nullptr};
      const bj::value* have = cur ? cur->if_contains(f.key) : nullptr;
      std::string have_text;
      if (have != nullptr) have_text = bj::serialize(*have);
      if (f.value.generator) {
        if (have != nullptr && regenerate.count({spec.name, f.key}) == 0) {
          v.text = SecretBytes::CopyOf(have_text);
        } else {
          v.generate = &*f.value.generator;
          p.generated.push_back(f.key);
          (have != nullptr ? p.changed : p.added).push_back(f.key);
        }
      } else {
        v.text = JsonText(f.value.text.view());
        if (have == nullptr) {
          p.added.push_back(f.key);
        } else if (!crypto::ConstantTimeEquals(v.text.view(), have_text)) {
          p.changed.push_back(f.key);
        }
      }
      SecureWipe(have_text);
      p.values.push_back(std::move(v));
    }
    if (cur) {
      for (const auto& m : *cur) {
        bool wanted = std::any_of(spec.fields.begin(), spec.fields.end(),
                                  [&](const Field& f) { return f.key == m.key(); });
        if (!wanted) p.removed.emplace_back(m.key());
      }
      for (auto& m : *cur) {
        if (m.value().is_string())
          SecureWipe(m.value().get_string().data(), m.value().get_string().size());
      }
    }
    p.value_changed = !cur || !p.added.empty() || !p.changed.empty() || !p.removed.empty();
  } else {
    PlannedValue v{"", SecretBytes(), nullptr};
    if (spec.value.generator) {
      if (current.value && regenerate.count({spec.name, ""}) == 0) {
        v.text = current.value->Clone();
      } else {
        v.generate = &*spec.value.generator;
        p.value_changed = true;
      }
    } else {
      v.text = spec.value.text.Clone();
      p.value_changed =
          !current.value || !crypto::ConstantTimeEquals(v.text.view(), current.value->view());
    }
    p.values.push_back(std::move(v));
  }

  // Metadata.
  p.description_changed = spec.description && *spec.description != current.description.value_or("");
  p.kms_key_changed = spec.kms_key_id &&
                      *spec.kms_key_id != current.kms_key_id.value_or(std::string(kDefaultKmsKey));
  for (const auto& [k, v] : spec.tags) {
    auto it = current.tags.find(k);
    if (it == current.tags.end() || it->second != v) p.tags_changed.push_back(k);
  }
  p.rotation_changed = spec.rotation && !SameRotation(*spec.rotation, current);
  p.policy_changed = spec.policy && !SamePolicy(*spec.policy, current.policy);

  bool any = p.value_changed || p.description_changed || p.kms_key_changed ||
             !p.tags_changed.empty() || p.rotation_changed || p.policy_changed;
  p.action = any ? Action::kUpdate : Action::kUnchanged;
  return p;
}

Plan MakePlan(const Manifest& manifest, const std::vector<CurrentState>& current,
              const RegenerateSet& regenerate) {
  Plan plan;
  for (std::size_t i = 0; i < manifest.secrets.size(); ++i) {
    static const CurrentState kMissing;
    const CurrentState& cur = i < current.size() ? current[i] : kMissing;
    SecretPlan p = PlanSecret(manifest.secrets[i], cur, regenerate);
    switch (p.action) {
      case Action::kCreate:
        ++plan.creates;
        break;
      case Action::kUpdate:
        ++plan.updates;
        break;
      case Action::kUnchanged:
        ++plan.unchanged;
        break;
    }
    plan.secrets.push_back(std::move(p));
  }
  return plan;
}

std::string PlanLine(const SecretPlan& p) {
  const SecretSpec& s = *p.spec;
  std::string line(ActionName(p.action));
  line += " " + s.name;
  if (p.action == Action::kUnchanged) return line;
  if (p.action == Action::kCreate) {
    if (s.is_object) {
      line += " (fields: " + Join(p.added);
      if (!p.generated.empty()) line += " [generated: " + Join(p.generated) + "]";
      line += ")";
    } else {
      line += s.value.generator ? " (value [generated])" : " (value)";
    }
    return line;
  }
  std::vector<std::string> parts;
  if (p.value_changed) {
    if (s.is_object) {
      std::vector<std::string> v;
      if (!p.added.empty()) v.push_back("added " + Join(p.added));
      if (!p.changed.empty()) v.push_back("changed " + Join(p.changed));
      if (!p.removed.empty()) v.push_back("removed " + Join(p.removed));
      std::string part = "value: " + (v.empty() ? std::string("replaced") : Join(v, "; "));
      if (!p.generated.empty()) part += " [generated: " + Join(p.generated) + "]";
      parts.push_back(part);
    } else {
      parts.push_back(p.values.front().generate != nullptr ? "value [generated]" : "value");
    }
  }
  if (p.description_changed) parts.emplace_back("description");
  if (p.kms_key_changed) parts.emplace_back("kmsKeyId");
  if (!p.tags_changed.empty()) parts.push_back("tags: " + Join(p.tags_changed));
  if (p.rotation_changed) parts.emplace_back("rotation");
  if (p.policy_changed) parts.emplace_back("policy");
  return line + " (" + Join(parts, "; ") + ")";
}

std::string PlanSummary(const Plan& plan) {
  return "Plan: " + std::to_string(plan.creates) + " to create, " + std::to_string(plan.updates) +
         " to update, " + std::to_string(plan.unchanged) + " unchanged.";
}

bj::object PlanJson(const Plan& plan) {
  bj::array secrets;
  for (const auto& p : plan.secrets) {
    bj::object o;
    o["name"] = p.spec->name;
    o["action"] = ActionName(p.action);
    if (!p.arn.empty()) o["arn"] = p.arn;
    o["output"] = p.spec->output_key;
    if (p.spec->is_object) {
      bj::array fields;
      for (const auto& f : p.spec->fields) fields.emplace_back(f.key);
      o["fields"] = std::move(fields);
    }
    o["valueChanged"] = p.value_changed;
    if (p.spec->is_object) {
      o["added"] = StringArray(p.added);
      o["changed"] = StringArray(p.changed);
      o["removed"] = StringArray(p.removed);
      o["generated"] = StringArray(p.generated);
    } else {
      o["generated"] = p.values.front().generate != nullptr;
    }
    o["description"] = p.description_changed;
    o["kmsKeyId"] = p.kms_key_changed;
    o["tags"] = StringArray(p.tags_changed);
    o["rotation"] = p.rotation_changed;
    o["policy"] = p.policy_changed;
    secrets.push_back(std::move(o));
  }
  bj::object out;
  out["secrets"] = std::move(secrets);
  out["create"] = plan.creates;
  out["update"] = plan.updates;
  out["unchanged"] = plan.unchanged;
  return out;
}

// ---- generation
// -------------------------------------------------------------------------------------

bj::object PasswordRequest(const PasswordSpec& s) {
  bj::object r;
  if (s.length) r["PasswordLength"] = *s.length;
  if (s.exclude_characters) r["ExcludeCharacters"] = *s.exclude_characters;
  if (s.exclude_numbers) r["ExcludeNumbers"] = *s.exclude_numbers;
  if (s.exclude_punctuation) r["ExcludePunctuation"] = *s.exclude_punctuation;
  if (s.exclude_uppercase) r["ExcludeUppercase"] = *s.exclude_uppercase;
  if (s.exclude_lowercase) r["ExcludeLowercase"] = *s.exclude_lowercase;
  if (s.include_space) r["IncludeSpace"] = *s.include_space;
  if (s.require_each_included_type) r["RequireEachIncludedType"] = *s.require_each_included_type;
  return r;
}

SecretBytes GenerateRandom(const RandomSpec& spec) {
  SecretBytes raw = crypto::RandomSecret(spec.bytes);
  std::string text;
  switch (spec.encoding) {
    case RandomEncoding::kHex:
      text = crypto::HexEncode(raw.view());
      break;
    case RandomEncoding::kBase64:
      text = crypto::Base64Encode(raw.view());
      break;
    case RandomEncoding::kBase64Url:
      text = crypto::Base64Encode(raw.view());
      while (!text.empty() && text.back() == '=') text.pop_back();
      for (char& c : text) {
        if (c == '+') c = '-';
        if (c == '/') c = '_';
      }
      break;
  }
  return SecretBytes::FromString(std::move(text));
}

Status GenerateValues(SecretPlan& plan, const PasswordSource& passwords) {
  for (auto& v : plan.values) {
    if (v.generate == nullptr) continue;
    SecretBytes text;
    if (v.generate->kind == Generator::Kind::kPassword) {
      ARCA_ASSIGN_OR_RETURN(text, passwords(v.generate->password));
    } else {
      text = GenerateRandom(v.generate->random);
    }
    v.text = plan.spec->is_object ? JsonText(text.view()) : std::move(text);
    v.generate = nullptr;
  }
  return OkStatus();
}

SecretBytes DesiredSecretString(const SecretPlan& plan) {
  if (!plan.spec->is_object) return plan.values.front().text.Clone();
  SecretBytes out;
  out.append("{", 1);
  bool first = true;
  for (const auto& v : plan.values) {
    if (!first) out.append(",", 1);
    first = false;
    std::string key = JsonString(v.key);
    out.append(key.data(), key.size());
    out.append(":", 1);
    out.append(v.text.data(), v.text.size());
  }
  out.append("}", 1);
  return out;
}

// ---- outputs
// ----------------------------------------------------------------------------------------

std::string OutputsJson(const Plan& plan) {
  std::string out = "{";
  bool first = true;
  for (const auto& p : plan.secrets) {
    out += first ? "\n  " : ",\n  ";
    first = false;
    out += JsonString(p.spec->name) + ": " + JsonString(p.arn);
  }
  out += first ? "}\n" : "\n}\n";
  return out;
}

std::string OutputsHelmYaml(const Plan& plan) {
  YAML::Emitter e;
  e << YAML::BeginMap << YAML::Key << "arcaSecrets" << YAML::Value << YAML::BeginMap;
  for (const auto& p : plan.secrets) {
    e << YAML::Key << p.spec->output_key << YAML::Value << YAML::BeginMap;
    e << YAML::Key << "name" << YAML::Value << p.spec->name;
    e << YAML::Key << "arn" << YAML::Value << p.arn;
    e << YAML::EndMap;
  }
  e << YAML::EndMap << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace arca::cli::bootstrap
