#include "client/credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#include "core/strings.h"

namespace arca::client {
namespace {

constexpr char kDefaultEndpoint[] = "http://127.0.0.1:8200";
constexpr char kDefaultRegion[] = "us-east-1";
constexpr char kLocalProfile[] = "arca";

// An environment variable's value; unset and empty are the same thing (as for the aws CLI).
std::optional<std::string> Get(const EnvLookup& env, std::string_view name) {
  if (!env) return std::nullopt;
  std::optional<std::string> v = env(name);
  if (!v || v->empty()) return std::nullopt;
  return v;
}

// "~" and "~/..." become HOME's; nullopt when the path needs HOME and it is unset.
std::optional<std::string> ExpandHome(const std::string& path, const EnvLookup& env) {
  if (path != "~" && !path.starts_with("~/")) return path;
  std::optional<std::string> home = Get(env, "HOME");
  if (!home) return std::nullopt;
  std::string out = *home;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  out.append(path.substr(1));
  return out;
}

std::optional<std::string> CredentialsFilePath(const EnvLookup& env) {
  if (auto p = Get(env, "AWS_SHARED_CREDENTIALS_FILE")) return ExpandHome(*p, env);
  return ExpandHome("~/.aws/credentials", env);
}

std::optional<std::string> ConfigFilePath(const EnvLookup& env) {
  if (auto p = Get(env, "AWS_CONFIG_FILE")) return ExpandHome(*p, env);
  return ExpandHome("~/.aws/config", env);
}

std::string LocalCredentialsPath(const EnvLookup& env) {
  if (auto dir = Get(env, "ARCA_DATA_DIR")) {
    std::string d = *dir;
    while (d.size() > 1 && d.back() == '/') d.pop_back();
    return d + "/credentials";
  }
  return "./arca-data/credentials";
}

std::string ProfileName(const std::string& flag, const EnvLookup& env) {
  if (!flag.empty()) return flag;
  if (auto p = Get(env, "AWS_PROFILE")) return *p;
  return "default";
}

// Overwrites every value of a parsed file (they may hold secret keys).
void WipeIni(IniFile& ini) {
  for (auto& [section, keys] : ini) {
    for (auto& [key, value] : keys) SecureWipe(value);
  }
}

// A parsed file whose values are wiped when it goes away.
struct LoadedIni {
  LoadedIni() = default;
  LoadedIni(const LoadedIni&) = delete;
  LoadedIni& operator=(const LoadedIni&) = delete;
  ~LoadedIni() { WipeIni(ini); }

  bool exists = false;
  IniFile ini;
};

// Reads a whole file into *out (sized once, so no partial copies of a secret are left behind when
// it grows). false when the file does not exist.
Result<bool> ReadWholeFile(const std::string& path, std::string* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) return false;
    return Error(Code::kInvalidParameter, "cannot read " + path + ": " + std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Code::kInvalidParameter, "cannot read " + path + ": not a regular file");
  }
  constexpr off_t kMaxFile = 1 << 20;
  if (st.st_size > kMaxFile) {
    ::close(fd);
    return Error(Code::kInvalidParameter, "cannot read " + path + ": larger than 1 MiB");
  }
  out->assign(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::read(fd, out->data() + done, out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      SecureWipe(*out);
      return Error(Code::kInvalidParameter, "cannot read " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  out->resize(done);
  ::close(fd);
  return true;
}

// Reads and parses `path`. A missing file is not an error (exists stays false).
Status LoadIni(const std::string& path, LoadedIni* out) {
  std::string text;
  ARCA_ASSIGN_OR_RETURN(bool exists, ReadWholeFile(path, &text));
  if (!exists) return OkStatus();
  Result<IniFile> parsed = ParseIni(text);
  SecureWipe(text);
  if (!parsed.ok()) {
    return Error(Code::kInvalidParameter, path + ": " + parsed.error().message());
  }
  out->exists = true;
  out->ini = std::move(parsed).value();
  return OkStatus();
}

const std::map<std::string, std::string>* FindSection(const IniFile& ini, const std::string& name) {
  auto it = ini.find(name);
  return it == ini.end() ? nullptr : &it->second;
}

// The profile's section in the config file: "[default]" (or "[profile default]"), else
// "[profile NAME]".
const std::map<std::string, std::string>* FindConfigProfile(const IniFile& ini,
                                                            const std::string& profile) {
  if (profile == "default") {
    if (const auto* s = FindSection(ini, "default")) return s;
  }
  return FindSection(ini, "profile " + profile);
}

std::string ValueOr(const std::map<std::string, std::string>* section, const std::string& key) {
  if (section == nullptr) return {};
  auto it = section->find(key);
  return it == section->end() ? std::string() : it->second;
}

// Keys from one INI section: nullopt when the section has no access key id at all;
// kInvalidParameter when it has only half of a key pair.
Result<std::optional<Credentials>> KeysFromSection(
    const std::map<std::string, std::string>& section, const std::string& where) {
  auto id = section.find("aws_access_key_id");
  auto secret = section.find("aws_secret_access_key");
  const bool has_id = id != section.end() && !id->second.empty();
  const bool has_secret = secret != section.end() && !secret->second.empty();
  if (!has_id && !has_secret) return std::optional<Credentials>();
  if (!has_id)
    return Error(Code::kInvalidParameter,
                 where + " has aws_secret_access_key but no aws_access_key_id");
  if (!has_secret)
    return Error(Code::kInvalidParameter,
                 where + " has aws_access_key_id but no aws_secret_access_key");
  Credentials c;
  c.access_key_id = id->second;
  c.secret_access_key = SecretBytes::CopyOf(secret->second);
  for (const char* token_key : {"aws_session_token", "aws_security_token"}) {
    auto t = section.find(token_key);
    if (t != section.end() && !t->second.empty()) {
      c.session_token = t->second;
      break;
    }
  }
  c.source = where;
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> FromEnvironment(const EnvLookup& env) {
  std::optional<std::string> id = Get(env, "AWS_ACCESS_KEY_ID");
  std::optional<std::string> secret = Get(env, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return std::optional<Credentials>();
  if (!id)
    return Error(Code::kInvalidParameter,
                 "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
  if (!secret)
    return Error(Code::kInvalidParameter,
                 "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  Credentials c;
  c.access_key_id = *id;
  c.secret_access_key = SecretBytes::FromString(std::move(*secret));
  SecureWipe(*secret);
  if (auto token = Get(env, "AWS_SESSION_TOKEN")) c.session_token = *token;
  c.source = "environment";
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> FromWebIdentity(const EnvLookup& env,
                                                   const WebIdentityExchange& exchange) {
  std::optional<std::string> role = Get(env, "AWS_ROLE_ARN");
  std::optional<std::string> token_file = Get(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  if (!role || !token_file) return std::optional<Credentials>();
  std::optional<std::string> path = ExpandHome(*token_file, env);
  if (!path)
    return Error(Code::kInvalidParameter,
                 "AWS_WEB_IDENTITY_TOKEN_FILE starts with ~ but HOME is not set");
  std::string token;
  ARCA_ASSIGN_OR_RETURN(bool exists, ReadWholeFile(*path, &token));
  if (!exists) {
    return Error(Code::kInvalidParameter,
                 "the web identity token file " + *path + " does not exist");
  }
  std::string trimmed(TrimSpace(token));
  SecureWipe(token);
  if (trimmed.empty()) {
    return Error(Code::kInvalidParameter, "the web identity token file " + *path + " is empty");
  }
  if (!exchange) {
    SecureWipe(trimmed);
    return Error(Code::kInternal, "no web identity exchange is configured");
  }
  std::string session_name;
  if (auto s = Get(env, "AWS_ROLE_SESSION_NAME")) {
    session_name = *s;
  } else {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    session_name = "arca-" + std::to_string(now.count());
  }
  Result<Credentials> c = exchange(*role, session_name, trimmed);
  SecureWipe(trimmed);
  if (!c.ok()) return std::move(c).error();
  Credentials out = std::move(c).value();
  out.source = "web identity (" + *role + ")";
  return std::optional<Credentials>(std::move(out));
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Result<IniFile> ParseIni(std::string_view text) {
  IniFile out;
  std::string section;
  bool in_section = false;
  // The empty-valued option whose deeper-indented lines form a nested section (`s3 =`).
  std::string option;
  std::size_t option_indent = 0;
  bool have_option = false;

  std::size_t line_no = 0;
  for (std::string_view raw : SplitOn(text, '\n')) {
    ++line_no;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = TrimSpace(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    std::size_t indent = 0;
    while (indent < raw.size() && (raw[indent] == ' ' || raw[indent] == '\t')) ++indent;
    auto malformed = [line_no](std::string_view why) {
      return Error(Code::kInvalidParameter,
                   "line " + std::to_string(line_no) + ": " + std::string(why));
    };

    if (have_option && indent > option_indent) {
      // A nested key of the option above: kept as "option.key" so it never shadows a top-level key.
      std::size_t sep = line.find_first_of("=:");
      if (sep == std::string_view::npos)
        return malformed("expected 'key = value' in a nested section");
      std::string key = AsciiLower(TrimSpace(line.substr(0, sep)));
      if (key.empty()) return malformed("a nested setting has no name");
      out[section][option + "." + key] = std::string(TrimSpace(line.substr(sep + 1)));
      continue;
    }
    have_option = false;

    if (line.front() == '[') {
      if (line.back() != ']') return malformed("a section header must end with ']'");
      std::string_view name = TrimSpace(line.substr(1, line.size() - 2));
      if (name.empty()) return malformed("a section header needs a name");
      // "[profile   dev]" is "profile dev".
      if (name.starts_with("profile") && name.size() > 7 && IsAsciiSpace(name[7])) {
        section = "profile " + std::string(TrimSpace(name.substr(7)));
      } else {
        section = std::string(name);
      }
      out[section];
      in_section = true;
      continue;
    }
    if (!in_section) return malformed("a setting before any [section]");
    std::size_t sep = line.find_first_of("=:");
    if (sep == std::string_view::npos) return malformed("expected 'key = value'");
    std::string key = AsciiLower(TrimSpace(line.substr(0, sep)));
    if (key.empty()) return malformed("a setting has no name");
    std::string value(TrimSpace(line.substr(sep + 1)));
    // Only an empty value opens a nested section (`s3 =`). The aws CLI would also glue a deeper-
    // indented line onto a non-empty value; that only ever produces a broken key, so such a line is
    // read as a setting of its own.
    have_option = value.empty();
    option = key;
    option_indent = indent;
    out[section][key] = std::move(value);
  }
  return out;
}

Result<Credentials> ResolveCredentials(const ChainOptions& options, const EnvLookup& env,
                                       const WebIdentityExchange& web_identity) {
  std::vector<std::string> looked;

  // 1. The environment's keys. An explicit --profile means that profile, as for the aws CLI.
  if (options.profile.empty()) {
    ARCA_ASSIGN_OR_RETURN(std::optional<Credentials> c, FromEnvironment(env));
    if (c) return std::move(*c);
    looked.emplace_back("AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY");
  }

  // 2. A web identity token (IRSA).
  {
    ARCA_ASSIGN_OR_RETURN(std::optional<Credentials> c, FromWebIdentity(env, web_identity));
    if (c) return std::move(*c);
    looked.emplace_back("AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE");
  }

  // 3. The shared credentials file, then the config file.
  const std::string profile = ProfileName(options.profile, env);
  const bool explicit_profile = !options.profile.empty() || Get(env, "AWS_PROFILE").has_value();
  bool profile_found = false;
  if (std::optional<std::string> path = CredentialsFilePath(env)) {
    LoadedIni file;
    ARCA_RETURN_IF_ERROR(LoadIni(*path, &file));
    if (const auto* s = FindSection(file.ini, profile)) {
      profile_found = true;
      ARCA_ASSIGN_OR_RETURN(std::optional<Credentials> c,
                            KeysFromSection(*s, *path + " [" + profile + "]"));
      if (c) return std::move(*c);
    }
    looked.push_back(*path + " [" + profile + "]");
  }
  if (std::optional<std::string> path = ConfigFilePath(env)) {
    LoadedIni file;
    ARCA_RETURN_IF_ERROR(LoadIni(*path, &file));
    const std::string section = profile == "default" ? "default" : "profile " + profile;
    if (const auto* s = FindConfigProfile(file.ini, profile)) {
      profile_found = true;
      ARCA_ASSIGN_OR_RETURN(std::optional<Credentials> c,
                            KeysFromSection(*s, *path + " [" + section + "]"));
      if (c) return std::move(*c);
    }
    looked.push_back(*path + " [" + section + "]");
  }
  if (explicit_profile && !profile_found && profile != kLocalProfile) {
    return Error(Code::kInvalidParameter,
                 "the profile '" + profile + "' was not found (looked in " +
                     CredentialsFilePath(env).value_or("~/.aws/credentials") + " and " +
                     ConfigFilePath(env).value_or("~/.aws/config") + ")");
  }

  // 4. The local server's admin key.
  {
    const std::string path = LocalCredentialsPath(env);
    LoadedIni file;
    ARCA_RETURN_IF_ERROR(LoadIni(path, &file));
    const std::string where = path + " [" + kLocalProfile + "]";
    if (const auto* s = FindSection(file.ini, kLocalProfile)) {
      ARCA_ASSIGN_OR_RETURN(std::optional<Credentials> c, KeysFromSection(*s, where));
      if (c) return std::move(*c);
    }
    looked.push_back(where);
  }

  std::string message = "no credentials found; looked at";
  for (std::size_t i = 0; i < looked.size(); ++i) message += (i == 0 ? " " : ", ") + looked[i];
  return Error(Code::kMissingAuthentication, message);
}

std::string ResolveRegion(const std::string& flag, const std::string& profile,
                          const EnvLookup& env) {
  if (!flag.empty()) return flag;
  if (auto r = Get(env, "AWS_REGION")) return *r;
  if (auto r = Get(env, "AWS_DEFAULT_REGION")) return *r;
  if (std::optional<std::string> path = ConfigFilePath(env)) {
    LoadedIni file;
    if (LoadIni(*path, &file).ok()) {
      std::string region =
          ValueOr(FindConfigProfile(file.ini, ProfileName(profile, env)), "region");
      if (!region.empty()) return region;
    }
  }
  return kDefaultRegion;
}

std::string ResolveEndpoint(const std::string& flag, std::string_view service_env,
                            const EnvLookup& env) {
  std::string endpoint = kDefaultEndpoint;
  if (!flag.empty()) {
    endpoint = flag;
  } else if (auto e = Get(env, "ARCA_ENDPOINT")) {
    endpoint = *e;
  } else if (auto s = service_env.empty()
                          ? std::nullopt
                          : Get(env, "AWS_ENDPOINT_URL_" + std::string(service_env))) {
    endpoint = *s;
  } else if (auto g = Get(env, "AWS_ENDPOINT_URL")) {
    endpoint = *g;
  }
  while (endpoint.size() > 1 && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::string ResolveCaBundle(const std::string& flag, const std::string& profile,
                            const EnvLookup& env) {
  if (!flag.empty()) return flag;
  if (auto b = Get(env, "AWS_CA_BUNDLE")) return *b;
  if (std::optional<std::string> path = ConfigFilePath(env)) {
    LoadedIni file;
    if (LoadIni(*path, &file).ok()) {
      std::string bundle =
          ValueOr(FindConfigProfile(file.ini, ProfileName(profile, env)), "ca_bundle");
      if (!bundle.empty()) return ExpandHome(bundle, env).value_or(bundle);
    }
  }
  return {};
}

}  // namespace arca::client
