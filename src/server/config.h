#pragma once
// The server's configuration, from four sources with this precedence:
//   command-line flags > ARCA_* environment variables > YAML config file > defaults.
// Every source is first read into Settings (key -> value + where it came from); ResolveConfig() merges
// them and validates every value, so an error names the value's source ("--listen", "ARCA_LISTEN",
// "config file /etc/arca.yaml").
//
// The master key text comes only from ARCA_MASTER_KEY: it is never a flag, never a config-file key,
// never part of Settings and never in an error message.
//
// Nothing here does I/O except LoadYamlConfigFile()/LoadConfig() reading the config file.
//
// Thread-safety: free functions without shared state; Config is a plain value.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::server {

inline constexpr std::string_view kDefaultDataDir = "./arca-data";
inline constexpr std::string_view kDefaultListen = "127.0.0.1:8200";
inline constexpr std::string_view kDefaultAccountId = "000000000000";

struct ListenAddress {
  std::string host;  // an IP literal without brackets: "127.0.0.1", "::1", "0.0.0.0"
  std::uint16_t port = 0;
};

// "HOST:PORT" with an IPv4 literal or "localhost" (-> 127.0.0.1), or "[IPV6]:PORT". PORT is 0..65535
// (0 picks a free port). kInvalidParameter with a message saying what is wrong.
Result<ListenAddress> ParseListen(std::string_view text);

// Exactly 12 ASCII digits.
Status ValidateAccountId(std::string_view id);

struct Setting {
  std::string value;
  std::string source;  // for error messages: "--data-dir", "ARCA_DATA_DIR", "config file x.yaml"
};
using Settings = std::map<std::string, Setting, std::less<>>;

// One configurable key: its name (config-file key), environment variable and flag.
struct KeyInfo {
  std::string_view key;   // "data_dir"
  std::string_view env;   // "ARCA_DATA_DIR"
  std::string_view flag;  // "--data-dir"
  bool in_file = true;    // may appear in the YAML file ("config" may not)
};
const std::vector<KeyInfo>& ConfigKeys();

// Reads an environment variable; nullptr when unset. Tests pass a lambda over a map.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup ProcessEnv();

// The ARCA_* variables of ConfigKeys() that are set and non-empty (ARCA_MASTER_KEY is not among them).
Settings SettingsFromEnv(const EnvLookup& env);
// ARCA_MASTER_KEY, if set and non-empty.
std::optional<SecretBytes> MasterKeyFromEnv(const EnvLookup& env);
// Wipes ARCA_MASTER_KEY's text in place and removes it from this process's environment, so no child
// process (rotators, hooks) inherits it. Call once, before any thread starts.
void ScrubMasterKeyFromEnvironment();

// Parses a YAML config file's text: a mapping of ConfigKeys() (in_file) to scalar values. An empty
// document is an empty mapping; null values count as unset. kInvalidParameter naming the unknown key,
// a duplicate key, a non-scalar value, or the YAML syntax error and its line. `source` names the file.
Result<Settings> ParseYamlConfig(std::string_view text, std::string_view source);
// Reads and parses the file; kInvalidParameter (with strerror) when it cannot be read.
Result<Settings> LoadYamlConfigFile(const std::string& path);

// A rotator configured under `rotators:` in the YAML config file (the only place it can be set).
// Its name is the function name of the RotationLambdaARN that picks it.
struct RotatorConfig {
  std::string name;
  std::string type;  // "webhook" | "exec"
  int timeout_seconds = 30;
  // webhook
  std::string url;
  std::string hmac_key_file;  // empty: requests are not signed
  std::string ca_file;        // extra CA bundle for https URLs
  // exec
  std::vector<std::string> command;                       // argv, no shell
  std::vector<std::pair<std::string, std::string>> env;   // extra environment
};

// Keys that only the YAML file can set (structured values): "rotators".
bool IsYamlOnlyKey(std::string_view key);

struct Config {
  std::string data_dir = std::string(kDefaultDataDir);
  std::string store_url;  // empty: the SQLite store in DATA_DIR (see StoreUrl)
  ListenAddress listen{"127.0.0.1", 8200};
  std::string config_file;  // empty: none
  std::optional<std::string> tls_cert;
  std::optional<std::string> tls_key;
  std::string master_key_file;  // default: DATA_DIR/master.key
  std::optional<SecretBytes> master_key;  // ARCA_MASTER_KEY text; never logged
  std::string account_id = std::string(kDefaultAccountId);
  std::string log_level = "info";
  std::size_t max_body_bytes = std::size_t{1} << 20;  // SecretBinary (64 KiB) base64 + JSON fits
  std::size_t max_header_bytes = std::size_t{16} << 10;
  int idle_timeout_seconds = 60;
  int threads = 0;  // 0: one per core
  int purge_interval_seconds = 60;
  std::string alert_webhook_url;  // empty: no alerts
  std::string alert_rules = "10/60s per-principal";  // see ParseAlertRules (server/alerts.h)
  // One OpenID Connect provider registered at start (e.g. the cluster's service-account issuer),
  // with its JWKS given inline or as a file; more can be made with the IAM API.
  std::string oidc_issuer;
  std::vector<std::string> oidc_audiences;  // default {"sts.amazonaws.com"} when an issuer is set
  std::string oidc_jwks;
  std::string oidc_jwks_file;
  // Rotation: configured rotators, where to POST RotationSucceeded/RotationFailed events (signed
  // with the key file's HMAC key when one is given), and the first retry delay of a failed step.
  std::vector<RotatorConfig> rotators;
  std::vector<std::string> rotation_notify_urls;
  std::string rotation_notify_hmac_key_file;
  int rotation_retry_seconds = 30;

  bool tls() const { return tls_cert.has_value(); }
};

// The store to open: config.store_url, or the SQLite database in the data directory.
std::string StoreUrl(const Config& config);

// Merges the layers (flags > env > file > defaults) and validates every value. master_key is left
// empty; the caller sets it from MasterKeyFromEnv().
Result<Config> ResolveConfig(const Settings& flags, const Settings& env, const Settings& file);

// The whole pipeline: the config file path comes from flags or ARCA_CONFIG; the file is read if set.
Result<Config> LoadConfig(const Settings& flags, const EnvLookup& env);

}  // namespace arca::server
