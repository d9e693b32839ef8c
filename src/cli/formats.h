#pragma once
// Turning secrets into environment variables and files, and back: what `arca run`, `arca export`
// and `arca import` share. Pure functions, no I/O.
//
// Thread-safety: free functions without shared state.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace arca::cli {

// Ordered (name, value) pairs: environment variables, or a Kubernetes Secret's keys.
using Entries = std::vector<std::pair<std::string, std::string>>;

// A JSON key or a secret name as an environment variable name: upper-cased unless keep_case, every
// character outside [A-Za-z0-9_] becomes '_', and a leading digit gets a '_' in front
// ("db-host" -> "DB_HOST", "2fa.key" -> "_2FA_KEY").
std::string EnvName(std::string_view key, bool keep_case);

// A secret's SecretString as entries: a JSON object gives one entry per member (strings as they are;
// numbers, booleans and null as their JSON text; objects and arrays as compact JSON), names through
// EnvName unless raw_keys (then the JSON keys as they are, for Kubernetes Secrets). Anything else
// (plain text, a JSON array or scalar) is one entry named EnvName(whole_name) (or whole_name when
// raw_keys).
Entries EntriesFromSecret(std::string_view secret_string, std::string_view whole_name, bool keep_case,
                          bool raw_keys = false);

// dotenv: one KEY=VALUE per line, quoted so that python-dotenv (with interpolation on, its default)
// and docker compose's env_file / --env-file rules both read back exactly the value: values made only
// of safe characters unquoted; others single-quoted, or double-quoted with escapes where a single
// quote or a newline makes that necessary (docs/cli.md states the rules).
// kInvalidParameter when a name is not a valid variable name or a value cannot be represented
// (a NUL byte).
Result<std::string> FormatDotenv(const Entries& entries);
// Reads a dotenv file by python-dotenv's rules (`export ` prefix, comments, single/double quotes,
// escapes in double quotes, multi-line quoted values, ${VAR} expansion against earlier entries only
// when expand is true). kInvalidParameter naming the line of a malformed entry.
Result<Entries> ParseDotenv(std::string_view text, bool expand = false);

// POSIX sh: `export KEY='value'` lines (single quotes, ' written as '\''), for `eval "$(...)"`.
Result<std::string> FormatShell(const Entries& entries);

// A JSON object {"KEY": "value", ...} and a newline.
std::string FormatJsonObject(const Entries& entries);

// A Kubernetes v1/Secret manifest (YAML) for `kubectl apply -f -`: type Opaque, `data` base64.
struct K8sSecretMeta {
  std::string name;        // a DNS-1123 subdomain (K8sName() makes one)
  std::string namespace_;  // omitted when empty
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::pair<std::string, std::string>> annotations;
};
// kInvalidParameter when a key is not a valid Secret key ([-._a-zA-Z0-9]+) or a label is invalid.
Result<std::string> FormatK8sSecret(const Entries& data, const K8sSecretMeta& meta);
// A secret name as a DNS-1123 subdomain: lower case, characters outside [a-z0-9.-] become '-',
// runs collapsed, trimmed to 253 and to start and end alphanumeric ("shop/prod/DB_main" ->
// "shop-prod-db-main").
std::string K8sName(std::string_view secret_name);

struct K8sSecret {
  std::string name;
  std::string namespace_;
  Entries data;  // `data` decoded from base64, then `stringData` (which wins on equal keys)
};
// Every `kind: Secret` document in a YAML stream (`---` separated, `kind: List` items too).
// kInvalidParameter when the YAML is malformed, a document is not a v1 Secret, or base64 is bad.
Result<std::vector<K8sSecret>> ParseK8sSecrets(std::string_view yaml);

// `arca run --map FILE`: an ExternalSecret-like list of what goes into the environment.
//   data:
//     - secretKey: DATABASE_URL                      # the variable
//       remoteRef: {key: shop/prod/db, property: url} # property optional: the whole value
//   dataFrom:
//     - extract: {key: shop/prod/jwt}                # every JSON key, named by EnvName
//       rewrite: ...                                 # not supported (kInvalidParameter)
struct MapEntry {
  std::string env_name;  // empty for dataFrom (every key of the secret)
  std::string secret;
  std::string property;  // empty: the whole SecretString; dotted path into nested JSON otherwise
  std::string version_stage;  // remoteRef.version ("AWSCURRENT" by default)
};
Result<std::vector<MapEntry>> ParseMapFile(std::string_view yaml);

// The value of `property` (a key, or a dotted path "a.b" into nested objects, as ESO's gjson path
// for simple keys) in a SecretString; kNotFound when absent; strings as is, other JSON as compact
// text.
Result<std::string> ExtractProperty(std::string_view secret_string, std::string_view property);

}  // namespace arca::cli
