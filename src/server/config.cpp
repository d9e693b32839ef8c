#include "server/config.h"

#include <arpa/inet.h>
#include <stdlib.h>  // NOLINT(modernize-deprecated-headers): unsetenv
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/log.h"
#include "core/strings.h"
#include "server/alerts.h"

namespace arca::server {

namespace {

Error Invalid(std::string message) { return Error(Code::kInvalidParameter, std::move(message)); }

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// `"value" (from SOURCE)`, for error messages.
std::string Where(const Setting& s) { return "\"" + s.value + "\" (from " + s.source + ")"; }

Result<std::uint64_t> ParseUnsigned(const Setting& s, std::string_view key, std::uint64_t min,
                                    std::uint64_t max) {
  std::uint64_t v = 0;
  const char* begin = s.value.data();
  const char* end = begin + s.value.size();
  auto [ptr, ec] = std::from_chars(begin, end, v);
  if (!IsDigits(s.value) || ec != std::errc() || ptr != end || v < min || v > max) {
    return Invalid("invalid " + std::string(key) + " " + Where(s) + ": expected a whole number from " +
                   std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

Result<std::string> NonEmpty(const Setting& s, std::string_view key) {
  if (s.value.empty()) return Invalid(std::string(key) + " must not be empty (from " + s.source + ")");
  return s.value;
}

}  // namespace

bool IsYamlOnlyKey(std::string_view key) { return key == "rotators"; }

namespace {

bool IsHttpUrl(std::string_view url) {
  return (url.rfind("http://", 0) == 0 && url.size() > 7) ||
         (url.rfind("https://", 0) == 0 && url.size() > 8);
}

// `rotators:` (a YAML sequence, kept as YAML text in its Setting) -> RotatorConfig values.
Result<std::vector<RotatorConfig>> ParseRotators(const Setting& setting) {
  const std::string& src = setting.source;
  std::vector<RotatorConfig> out;
  try {
    const YAML::Node list = YAML::Load(setting.value);
    if (list.IsNull()) return out;
    if (!list.IsSequence()) return Invalid(src + ": rotators must be a list of rotators");
    std::set<std::string> names;
    for (const auto& node : list) {
      const std::string at = src + ": rotators entry " + std::to_string(out.size() + 1);
      if (!node.IsMap()) return Invalid(at + " must be a mapping (name, type, ...)");
      RotatorConfig r;
      for (const auto& kv : node) {
        const std::string key = kv.first.Scalar();
        const YAML::Node& v = kv.second;
        auto scalar = [&]() -> Result<std::string> {
          if (!v.IsScalar()) return Invalid(at + ": " + key + " must be a single value");
          return v.Scalar();
        };
        if (key == "name") {
          ARCA_ASSIGN_OR_RETURN(r.name, scalar());
        } else if (key == "type") {
          ARCA_ASSIGN_OR_RETURN(r.type, scalar());
        } else if (key == "url") {
          ARCA_ASSIGN_OR_RETURN(r.url, scalar());
        } else if (key == "hmac_key_file") {
          ARCA_ASSIGN_OR_RETURN(r.hmac_key_file, scalar());
        } else if (key == "ca_file") {
          ARCA_ASSIGN_OR_RETURN(r.ca_file, scalar());
        } else if (key == "timeout_seconds") {
          ARCA_ASSIGN_OR_RETURN(auto text, scalar());
          ARCA_ASSIGN_OR_RETURN(auto t, ParseUnsigned(Setting{text, src}, "timeout_seconds", 1, 900));
          r.timeout_seconds = static_cast<int>(t);
        } else if (key == "command") {
          if (!v.IsSequence()) {
            return Invalid(at + ": command must be a list: the program and its arguments (no shell)");
          }
          for (const auto& arg : v) {
            if (!arg.IsScalar()) return Invalid(at + ": command must be a list of strings");
            r.command.push_back(arg.Scalar());
          }
        } else if (key == "env") {
          if (!v.IsMap()) return Invalid(at + ": env must be a mapping of NAME: value");
          for (const auto& e : v) {
            if (!e.second.IsScalar() || e.first.Scalar().empty() ||
                e.first.Scalar().find('=') != std::string::npos) {
              return Invalid(at + ": env must map variable names to single values");
            }
            r.env.emplace_back(e.first.Scalar(), e.second.Scalar());
          }
        } else {
          return Invalid(at + ": unknown key \"" + key + "\"");
        }
      }
      if (r.name.empty()) return Invalid(at + ": name is missing");
      for (char c : r.name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                        c == '-' || c == '_';
        if (!ok || r.name.size() > 64) {
          return Invalid(at + ": name \"" + r.name +
                         "\" must be a Lambda function name (letters, digits, - and _; at most 64)");
        }
      }
      if (!names.insert(r.name).second) return Invalid(src + ": two rotators are named " + r.name);
      const std::string which = src + ": rotator " + r.name;
      if (r.type == "webhook") {
        if (!IsHttpUrl(r.url)) return Invalid(which + ": url must be an http:// or https:// URL");
        if (!r.command.empty() || !r.env.empty()) {
          return Invalid(which + ": command and env are for exec rotators");
        }
      } else if (r.type == "exec") {
        if (r.command.empty() || r.command[0].empty()) {
          return Invalid(which + ": command must name the program to run");
        }
        if (!r.url.empty() || !r.hmac_key_file.empty() || !r.ca_file.empty()) {
          return Invalid(which + ": url, hmac_key_file and ca_file are for webhook rotators");
        }
      } else {
        return Invalid(which + ": type must be webhook or exec");
      }
      out.push_back(std::move(r));
    }
  } catch (const std::exception& e) {
    return Invalid(src + ": rotators: " + e.what());
  }
  return out;
}

}  // namespace

Result<ListenAddress> ParseListen(std::string_view text) {
  const std::string shown = "\"" + std::string(text) + "\"";
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Invalid("invalid listen address " + shown + ": expected [IPV6]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr a6{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return Invalid("invalid listen address " + shown + ": \"" + std::string(host) +
                     "\" is not an IPv6 address");
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Invalid("invalid listen address " + shown + ": expected HOST:PORT");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Invalid("invalid listen address " + shown +
                     ": write an IPv6 address in brackets, as in [::1]:8200");
    }
    if (host.empty()) return Invalid("invalid listen address " + shown + ": the host is missing");
    if (host != "localhost") {
      in_addr a4{};
      if (inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
        return Invalid("invalid listen address " + shown + ": \"" + std::string(host) +
                       "\" is not an IPv4 address (use an IP address, or [IPV6]:PORT)");
      }
    }
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (!IsDigits(port) || port.size() > 5 || ec != std::errc() || ptr != port.data() + port.size() ||
      value > 65535) {
    return Invalid("invalid listen address " + shown + ": the port must be a number from 0 to 65535");
  }
  ListenAddress out;
  out.host = host == "localhost" ? std::string("127.0.0.1") : std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

Status ValidateAccountId(std::string_view id) {
  if (id.size() != 12 || !IsDigits(id)) {
    return Invalid("invalid account id \"" + std::string(id) + "\": it must be exactly 12 digits");
  }
  return OkStatus();
}

const std::vector<KeyInfo>& ConfigKeys() {
  static const std::vector<KeyInfo> keys = {
      {"config", "ARCA_CONFIG", "--config", false},
      {"data_dir", "ARCA_DATA_DIR", "--data-dir", true},
      {"store", "ARCA_STORE_URL", "--store", true},
      {"listen", "ARCA_LISTEN", "--listen", true},
      {"tls_cert", "ARCA_TLS_CERT", "--tls-cert", true},
      {"tls_key", "ARCA_TLS_KEY", "--tls-key", true},
      {"master_key_file", "ARCA_MASTER_KEY_FILE", "--master-key-file", true},
      {"account_id", "ARCA_ACCOUNT_ID", "--account-id", true},
      {"log_level", "ARCA_LOG_LEVEL", "--log-level", true},
      {"max_body_bytes", "ARCA_MAX_BODY_BYTES", "--max-body-bytes", true},
      {"max_header_bytes", "ARCA_MAX_HEADER_BYTES", "--max-header-bytes", true},
      {"idle_timeout_seconds", "ARCA_IDLE_TIMEOUT_SECONDS", "--idle-timeout-seconds", true},
      {"threads", "ARCA_THREADS", "--threads", true},
      {"purge_interval_seconds", "ARCA_PURGE_INTERVAL_SECONDS", "--purge-interval-seconds", true},
      {"alert_webhook_url", "ARCA_ALERT_WEBHOOK_URL", "--alert-webhook-url", true},
      {"alert_rules", "ARCA_ALERT_RULES", "--alert-rules", true},
      {"oidc_issuer", "ARCA_OIDC_ISSUER", "--oidc-issuer", true},
      {"oidc_audiences", "ARCA_OIDC_AUDIENCES", "--oidc-audiences", true},
      {"oidc_jwks", "ARCA_OIDC_JWKS", "--oidc-jwks", true},
      {"oidc_jwks_file", "ARCA_OIDC_JWKS_FILE", "--oidc-jwks-file", true},
      {"rotation_retry_seconds", "ARCA_ROTATION_RETRY_SECONDS", "--rotation-retry-seconds", true},
      {"rotation_notify_urls", "ARCA_ROTATION_NOTIFY_URLS", "--rotation-notify-urls", true},
      {"rotation_notify_hmac_key_file", "ARCA_ROTATION_NOTIFY_HMAC_KEY_FILE",
       "--rotation-notify-hmac-key-file", true},
  };
  return keys;
}

std::string StoreUrl(const Config& config) {
  if (!config.store_url.empty()) return config.store_url;
  return "sqlite://" + config.data_dir + "/arca.db";
}

EnvLookup ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };  // NOLINT(concurrency-mt-unsafe)
}

Settings SettingsFromEnv(const EnvLookup& env) {
  Settings out;
  for (const auto& k : ConfigKeys()) {
    const char* v = env(std::string(k.env).c_str());
    if (v != nullptr && *v != '\0') out[std::string(k.key)] = Setting{v, std::string(k.env)};
  }
  return out;
}

std::optional<SecretBytes> MasterKeyFromEnv(const EnvLookup& env) {
  const char* v = env("ARCA_MASTER_KEY");
  if (v == nullptr || *v == '\0') return std::nullopt;
  return SecretBytes(v, std::strlen(v));
}

void ScrubMasterKeyFromEnvironment() {
  char* v = std::getenv("ARCA_MASTER_KEY");  // NOLINT(concurrency-mt-unsafe): single-threaded here
  if (v == nullptr) return;
  SecureWipe(v, std::strlen(v));
  ::unsetenv("ARCA_MASTER_KEY");  // NOLINT(concurrency-mt-unsafe)
}

Result<Settings> ParseYamlConfig(std::string_view text, std::string_view source) {
  const std::string src(source);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Invalid(src + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  } catch (const std::exception& e) {
    return Invalid(src + ": invalid YAML: " + e.what());
  }
  Settings out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) return Invalid(src + ": expected a mapping of settings (key: value)");
  try {
    std::set<std::string> seen;
    for (const auto& kv : root) {
      if (!kv.first.IsScalar()) return Invalid(src + ": setting names must be plain words");
      const std::string key = kv.first.Scalar();
      const KeyInfo* info = nullptr;
      for (const auto& k : ConfigKeys()) {
        if (k.key == key && k.in_file) info = &k;
      }
      if (IsYamlOnlyKey(key)) {
        if (!seen.insert(key).second) return Invalid(src + ": duplicate key \"" + key + "\"");
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsSequence()) return Invalid(src + ": \"" + key + "\" must be a list");
        YAML::Emitter emitter;
        emitter << kv.second;
        out[key] = Setting{emitter.c_str(), src};
        continue;
      }
      if (info == nullptr) {
        if (key == "master_key") {
          return Invalid(src + ": master_key may not be set in a config file; use master_key_file or "
                               "the ARCA_MASTER_KEY environment variable");
        }
        return Invalid(src + ": unknown key \"" + key + "\" (line " +
                       std::to_string(kv.first.Mark().line + 1) + ")");
      }
      if (!seen.insert(key).second) return Invalid(src + ": duplicate key \"" + key + "\"");
      if (kv.second.IsNull()) continue;
      if (key == "rotation_notify_urls" && kv.second.IsSequence()) {
        std::string joined;  // a YAML list: one URL per line (a URL may hold a comma)
        for (const auto& item : kv.second) {
          if (!item.IsScalar()) return Invalid(src + ": rotation_notify_urls must be a list of URLs");
          joined += (joined.empty() ? "" : "\n") + item.Scalar();
        }
        out[key] = Setting{joined, src};
        continue;
      }
      if (!kv.second.IsScalar()) {
        return Invalid(src + ": the value of \"" + key + "\" must be a single value, not a list or mapping");
      }
      out[key] = Setting{kv.second.Scalar(), src};
    }
  } catch (const std::exception& e) {
    return Invalid(src + ": " + e.what());
  }
  return out;
}

Result<Settings> LoadYamlConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return Invalid("cannot read config file " + path + ": " + std::strerror(err));  // NOLINT
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Invalid("cannot read config file " + path);
  return ParseYamlConfig(buf.str(), "config file " + path);
}

Result<Config> ResolveConfig(const Settings& flags, const Settings& env, const Settings& file) {
  Settings merged = file;
  for (const auto& [k, v] : env) merged[k] = v;
  for (const auto& [k, v] : flags) merged[k] = v;
  for (const auto& [k, v] : merged) {
    bool known = false;
    for (const auto& info : ConfigKeys()) known = known || info.key == k;
    known = known || IsYamlOnlyKey(k);
    if (!known) return Invalid("unknown setting \"" + k + "\" (from " + v.source + ")");
  }
  auto get = [&](std::string_view key) -> const Setting* {
    auto it = merged.find(key);
    return it == merged.end() ? nullptr : &it->second;
  };

  Config c;
  if (const auto* s = get("config")) c.config_file = s->value;
  if (const auto* s = get("data_dir")) {
    ARCA_ASSIGN_OR_RETURN(c.data_dir, NonEmpty(*s, "data_dir"));
  }
  if (const auto* s = get("store")) {
    ARCA_ASSIGN_OR_RETURN(c.store_url, NonEmpty(*s, "store"));
  }
  if (const auto* s = get("listen")) {
    auto l = ParseListen(s->value);
    if (!l.ok()) return Invalid(l.error().message() + " (from " + s->source + ")");
    c.listen = std::move(l).value();
  }
  if (const auto* s = get("tls_cert")) {
    ARCA_ASSIGN_OR_RETURN(c.tls_cert, NonEmpty(*s, "tls_cert"));
  }
  if (const auto* s = get("tls_key")) {
    ARCA_ASSIGN_OR_RETURN(c.tls_key, NonEmpty(*s, "tls_key"));
  }
  if (c.tls_cert.has_value() != c.tls_key.has_value()) {
    return Invalid("tls_cert and tls_key must be given together (only " +
                   std::string(c.tls_cert ? "tls_cert" : "tls_key") + " is set)");
  }
  if (const auto* s = get("master_key_file")) {
    ARCA_ASSIGN_OR_RETURN(c.master_key_file, NonEmpty(*s, "master_key_file"));
  } else {
    c.master_key_file = c.data_dir + "/master.key";
  }
  if (const auto* s = get("account_id")) {
    if (!ValidateAccountId(s->value).ok()) {
      return Invalid("invalid account_id " + Where(*s) + ": it must be exactly 12 digits");
    }
    c.account_id = s->value;
  }
  if (const auto* s = get("log_level")) {
    log::Level level;
    if (!log::ParseLevel(s->value, &level)) {
      return Invalid("invalid log_level " + Where(*s) + ": expected debug, info, warn or error");
    }
    c.log_level = s->value;
  }
  if (const auto* s = get("max_body_bytes")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "max_body_bytes", 1024, std::uint64_t{1} << 30));
    c.max_body_bytes = static_cast<std::size_t>(v);
  }
  if (const auto* s = get("max_header_bytes")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "max_header_bytes", 1024, std::uint64_t{1} << 20));
    c.max_header_bytes = static_cast<std::size_t>(v);
  }
  if (const auto* s = get("idle_timeout_seconds")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "idle_timeout_seconds", 1, 86400));
    c.idle_timeout_seconds = static_cast<int>(v);
  }
  if (const auto* s = get("threads")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "threads", 0, 1024));
    c.threads = static_cast<int>(v);
  }
  if (const auto* s = get("purge_interval_seconds")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "purge_interval_seconds", 1, 86400));
    c.purge_interval_seconds = static_cast<int>(v);
  }
  if (const auto* s = get("alert_webhook_url")) {
    if (s->value.rfind("http://", 0) != 0 && s->value.rfind("https://", 0) != 0) {
      return Invalid("invalid alert_webhook_url " + Where(*s) + ": expected an http:// or https:// URL");
    }
    c.alert_webhook_url = s->value;
  }
  if (const auto* s = get("alert_rules")) {
    auto rules = ParseAlertRules(s->value);
    if (!rules.ok()) return Invalid("invalid alert_rules " + Where(*s) + ": " + rules.error().message());
    c.alert_rules = s->value;
  }
  if (const auto* s = get("oidc_issuer")) {
    if (s->value.rfind("https://", 0) != 0 || s->value.size() <= 8) {
      return Invalid("invalid oidc_issuer " + Where(*s) + ": expected an https:// URL");
    }
    c.oidc_issuer = s->value;
  }
  if (const auto* s = get("oidc_audiences")) {
    for (std::string_view a : SplitOn(s->value, ',')) {
      a = TrimSpace(a);
      if (!a.empty()) c.oidc_audiences.emplace_back(a);
    }
  }
  if (const auto* s = get("oidc_jwks")) c.oidc_jwks = s->value;
  if (const auto* s = get("oidc_jwks_file")) c.oidc_jwks_file = s->value;
  if (c.oidc_issuer.empty() && (!c.oidc_jwks.empty() || !c.oidc_jwks_file.empty())) {
    return Invalid("oidc_jwks and oidc_jwks_file need oidc_issuer");
  }
  if (!c.oidc_issuer.empty() && c.oidc_jwks.empty() == c.oidc_jwks_file.empty()) {
    return Invalid("oidc_issuer needs exactly one of oidc_jwks (the JWKS JSON) and oidc_jwks_file");
  }
  if (!c.oidc_issuer.empty() && c.oidc_audiences.empty()) c.oidc_audiences = {"sts.amazonaws.com"};
  if (const auto* s = get("rotators")) {
    ARCA_ASSIGN_OR_RETURN(c.rotators, ParseRotators(*s));
  }
  if (const auto* s = get("rotation_retry_seconds")) {
    ARCA_ASSIGN_OR_RETURN(auto v, ParseUnsigned(*s, "rotation_retry_seconds", 1, 86400));
    c.rotation_retry_seconds = static_cast<int>(v);
  }
  if (const auto* s = get("rotation_notify_urls")) {
    const char sep = s->value.find('\n') != std::string::npos ? '\n' : ',';
    for (std::string_view u : SplitOn(s->value, sep)) {
      u = TrimSpace(u);
      if (u.empty()) continue;
      if (!IsHttpUrl(u)) {
        return Invalid("invalid rotation_notify_urls " + Where(*s) + ": \"" + std::string(u) +
                       "\" is not an http:// or https:// URL");
      }
      c.rotation_notify_urls.emplace_back(u);
    }
  }
  if (const auto* s = get("rotation_notify_hmac_key_file")) {
    ARCA_ASSIGN_OR_RETURN(c.rotation_notify_hmac_key_file, NonEmpty(*s, "rotation_notify_hmac_key_file"));
  }
  return c;
}

Result<Config> LoadConfig(const Settings& flags, const EnvLookup& env) {
  Settings env_settings = SettingsFromEnv(env);
  Settings file;
  std::string path;
  if (auto it = flags.find("config"); it != flags.end()) {
    path = it->second.value;
  } else if (auto e = env_settings.find("config"); e != env_settings.end()) {
    path = e->second.value;
  }
  if (!path.empty()) {
    ARCA_ASSIGN_OR_RETURN(file, LoadYamlConfigFile(path));
  }
  ARCA_ASSIGN_OR_RETURN(Config c, ResolveConfig(flags, env_settings, file));
  c.master_key = MasterKeyFromEnv(env);
  return c;
}

}  // namespace arca::server
