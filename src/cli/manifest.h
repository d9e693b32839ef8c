#pragma once
// `arca bootstrap`'s manifest (docs/bootstrap.md): parsing and resolving it, reading a secret's
// current state from the server's answers, and the plan (create / update / unchanged) with what
// each secret needs. Everything here is pure or works on files and an injected environment;
// bootstrap.cpp talks to the server.
//
// Secret values (literal fields, environment variables, files, generated values, the current
// SecretString) are held in SecretBytes and never appear in an error message or a plan line: plans
// and errors name secrets and fields only.
//
// Thread-safety: free functions and plain values without shared state.

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.h"
#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::cli::bootstrap {

// ---- the manifest
// ---------------------------------------------------------------------------------

// GetRandomPassword's options (the server applies the rules); unset members are left to the server.
struct PasswordSpec {
  std::optional<std::int64_t> length;
  std::optional<std::string> exclude_characters;
  std::optional<bool> exclude_numbers;
  std::optional<bool> exclude_punctuation;
  std::optional<bool> exclude_uppercase;
  std::optional<bool> exclude_lowercase;
  std::optional<bool> include_space;
  std::optional<bool> require_each_included_type;
};

enum class RandomEncoding { kBase64, kBase64Url, kHex };

// `random: {bytes: N, encoding: base64 | base64url | hex}`: N bytes from the crypto RNG, encoded
// (base64 padded, base64url without padding, hex lower case).
struct RandomSpec {
  std::size_t bytes = 32;
  RandomEncoding encoding = RandomEncoding::kBase64;
};

struct Generator {
  enum class Kind { kPassword, kRandom };
  Kind kind = Kind::kRandom;
  PasswordSpec password;
  RandomSpec random;
};

// A field's (or a whole `value:`'s) source: resolved text (a literal, an environment variable, a
// file), or a generator that runs only when the value is missing or named by --regenerate.
struct ValueSpec {
  SecretBytes text;                    // when !generator
  std::optional<Generator> generator;  // generated values
};

struct Field {
  std::string key;
  ValueSpec value;
};

struct RotationSpec {
  std::optional<std::string> lambda_arn;
  std::optional<std::int64_t> automatically_after_days;
  std::optional<std::string> schedule_expression;
  std::optional<std::string> duration;
};

struct SecretSpec {
  std::string name;
  std::string output_key;  // the key in --outputs files
  std::optional<std::string> description;
  std::map<std::string, std::string> tags;  // defaults' tags merged under the secret's own
  std::optional<std::string> kms_key_id;
  std::optional<RotationSpec> rotation;
  std::optional<std::string> policy;  // compact JSON text
  // Either fields (the SecretString is a JSON object of them, in this order) or one plain value.
  bool is_object = true;
  std::vector<Field> fields;
  ValueSpec value;
};

struct Manifest {
  std::map<std::string, std::string> variables;  // after --var overrides and substitution
  std::vector<SecretSpec> secrets;
};

struct ManifestOptions {
  std::string base_dir = ".";                             // fromFile paths are relative to it
  std::vector<std::pair<std::string, std::string>> vars;  // --var NAME=VALUE, over `variables:`
  client::EnvLookup env;                                  // fromEnv (the process's when empty)
};

// Parses and resolves a manifest (variables, defaults, literals, environment variables, files).
// kInvalidParameter with a message naming the place and never a value, e.g.
// "secrets[0] (shop/staging/database): fields.host: environment variable DB_HOST is not set".
Result<Manifest> ParseManifest(std::string_view yaml, const ManifestOptions& options);
// Reads `path` ("-" for stdin) and parses it with base_dir set to the file's directory.
Result<Manifest> LoadManifest(const std::string& path, ManifestOptions options);

// "NAME=VALUE" from --var; kInvalidParameter when there is no '=' or NAME is not a variable name
// ([A-Za-z_][A-Za-z0-9_-]*).
Result<std::pair<std::string, std::string>> ParseVarFlag(std::string_view flag);

// Replaces every {name} with its variable; "{{" is a literal "{", and a "{" that does not start
// {name} is kept as is (so inline JSON passes through). kInvalidParameter naming an unknown
// variable.
Result<std::string> Substitute(std::string_view text,
                               const std::map<std::string, std::string>& vars);

// The last path segment of a secret name, camelCased ("shop/prod/smtp-credentials" ->
// "smtpCredentials").
std::string DefaultOutputKey(std::string_view secret_name);

// ---- the server's current state
// -------------------------------------------------------------------

struct CurrentState {
  bool exists = false;
  bool scheduled_for_deletion = false;  // DeletedDate is set
  std::string arn;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  std::map<std::string, std::string> tags;
  bool rotation_enabled = false;
  RotationSpec rotation;  // RotationLambdaARN and RotationRules as DescribeSecret returns them
  std::optional<SecretBytes> value;   // the AWSCURRENT SecretString; nullopt when there is none
  std::optional<std::string> policy;  // ResourcePolicy, when read (the manifest has a policy)
};

// A DescribeSecret answer as state (value and policy are filled in by the caller).
CurrentState StateFromDescribe(const boost::json::object& describe);

// ---- the plan
// -------------------------------------------------------------------------------------

// What --regenerate names: (secret name, field key); the key is empty for a `value:` secret.
using RegenerateSet = std::set<std::pair<std::string, std::string>>;
// Resolves --regenerate NAME.FIELD (or NAME for a generated `value:`) against the manifest (secret
// names may contain dots). kInvalidParameter for an unknown secret or field, or one that is not
// generated.
Result<RegenerateSet> ResolveRegenerate(const Manifest& manifest,
                                        const std::vector<std::string>& flags);

enum class Action { kCreate, kUpdate, kUnchanged };

// One member of the desired value. For a JSON object, `text` is the member's JSON text (a string
// from the manifest, or the current value's member kept as it is); for a `value:` secret, `text` is
// the SecretString itself. `generate` is set when the value must be generated before applying.
struct PlannedValue {
  std::string key;
  SecretBytes text;
  const Generator* generate = nullptr;  // points into the Manifest
};

struct SecretPlan {
  const SecretSpec* spec = nullptr;  // points into the Manifest
  Action action = Action::kUnchanged;
  std::string arn;  // known for existing secrets; set after a create

  bool value_changed = false;
  std::vector<PlannedValue> values;  // fields in manifest order, or the one value (key "")
  // Field keys, for the plan line (a `value:` secret lists none).
  std::vector<std::string> added, changed, removed, generated;

  bool description_changed = false;
  bool kms_key_changed = false;
  bool rotation_changed = false;
  bool policy_changed = false;
  std::vector<std::string> tags_changed;  // keys to set (new or different values)
};

struct Plan {
  std::vector<SecretPlan> secrets;  // manifest order
  std::size_t creates = 0, updates = 0, unchanged = 0;
};

// The plan for one secret against its current state. Literal, env and file values are compared with
// the current value (JSON object equality, member order ignored, constant-time per member);
// generated members keep the current member unless regenerated, and are generated only when
// missing.
SecretPlan PlanSecret(const SecretSpec& spec, const CurrentState& current,
                      const RegenerateSet& regenerate);
Plan MakePlan(const Manifest& manifest, const std::vector<CurrentState>& current,
              const RegenerateSet& regenerate);

// "create NAME (fields: a, b, c [generated: c])", "update NAME (value: added x; changed y; removed
// z; description; tags: k)", "unchanged NAME". No values.
std::string PlanLine(const SecretPlan& plan);
// "Plan: N to create, M to update, K unchanged."
std::string PlanSummary(const Plan& plan);
// {"secrets": [{"name", "action", "arn", "fields", "generated", "value": {...}, ...}], "create": N,
// ...}
boost::json::object PlanJson(const Plan& plan);

// ---- generation and the value to write
// ------------------------------------------------------------

// Returns a password for the spec (bootstrap.cpp asks the server's GetRandomPassword).
using PasswordSource = std::function<Result<SecretBytes>(const PasswordSpec&)>;

// GetRandomPassword's request for a spec.
boost::json::object PasswordRequest(const PasswordSpec& spec);
// Random bytes from crypto random, encoded.
SecretBytes GenerateRandom(const RandomSpec& spec);
// Generates every pending value of the plan (passwords through `passwords`).
Status GenerateValues(SecretPlan& plan, const PasswordSource& passwords);
// The SecretString to write: the compact JSON object of the values in order, or the plain value.
// Every value must have been generated.
SecretBytes DesiredSecretString(const SecretPlan& plan);

// ---- outputs
// --------------------------------------------------------------------------------------

// {"NAME": "ARN", ...}, pretty-printed.
std::string OutputsJson(const Plan& plan);
// A Helm values fragment: arcaSecrets: {OUTPUTKEY: {name: NAME, arn: ARN}}.
std::string OutputsHelmYaml(const Plan& plan);

}  // namespace arca::cli::bootstrap
