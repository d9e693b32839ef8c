#pragma once
// Where the `arca` client commands (and later the operator) get their endpoint, region and
// credentials: AWS's standard chain, so that whatever already works for the `aws` CLI works here.
//
//   credentials: 1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
//                2. AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (+ AWS_ROLE_SESSION_NAME): STS
//                   AssumeRoleWithWebIdentity, as IRSA does in a pod
//                3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials),
//                   profile --profile / AWS_PROFILE / "default"; then the same profile's keys in the
//                   config file (AWS_CONFIG_FILE or ~/.aws/config, section "[profile NAME]")
//                4. a local server's key: ARCA_DATA_DIR/credentials or ./arca-data/credentials,
//                   profile "arca" (what `arca server` writes on first start)
//   region:      --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in the config
//                file, else us-east-1
//   endpoint:    --endpoint, ARCA_ENDPOINT, AWS_ENDPOINT_URL_<SERVICE> (e.g. _SECRETS_MANAGER),
//                AWS_ENDPOINT_URL, else http://127.0.0.1:8200
//   CA bundle:   --ca-bundle, AWS_CA_BUNDLE, the profile's `ca_bundle`
//
// Thread-safety: free functions without shared state.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::client {

// Reads an environment variable; nullopt when unset. Tests pass their own.
using EnvLookup = std::function<std::optional<std::string>(std::string_view)>;
EnvLookup ProcessEnv();

struct Credentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  std::string session_token;  // empty for long-term keys
  std::optional<std::chrono::system_clock::time_point> expiration;
  // Where they came from, for `--debug`-style messages: "environment", "web identity (ROLE_ARN)",
  // "/root/.aws/credentials [default]", "./arca-data/credentials [arca]". Never holds a secret.
  std::string source;
};

// An AWS INI file (credentials or config): section name -> key -> value. Comments (# ;), blank
// lines, surrounding spaces and nested sub-sections (indented lines, e.g. `s3 =` blocks) are handled
// as the aws CLI does. kInvalidParameter with the line number on a malformed line.
using IniFile = std::map<std::string, std::map<std::string, std::string>>;
Result<IniFile> ParseIni(std::string_view text);

struct ChainOptions {
  std::string profile;  // --profile; empty: AWS_PROFILE, else "default"
};

// The STS exchange for step 2. The chain calls it with the role, a session name (AWS_ROLE_SESSION_NAME
// or "arca-<unix time>") and the token file's content; AwsClient provides the real one.
using WebIdentityExchange = std::function<Result<Credentials>(
    const std::string& role_arn, const std::string& session_name, const std::string& token)>;

// Walks the chain. kMissingAuthentication naming every place looked at when nothing was found;
// kInvalidParameter when a named profile does not exist or a file is malformed.
Result<Credentials> ResolveCredentials(const ChainOptions& options, const EnvLookup& env,
                                       const WebIdentityExchange& web_identity);

std::string ResolveRegion(const std::string& flag, const std::string& profile, const EnvLookup& env);

// `service_env` is the service's AWS_ENDPOINT_URL_ suffix, e.g. "SECRETS_MANAGER" or "STS".
std::string ResolveEndpoint(const std::string& flag, std::string_view service_env, const EnvLookup& env);

std::string ResolveCaBundle(const std::string& flag, const std::string& profile, const EnvLookup& env);

}  // namespace arca::client
