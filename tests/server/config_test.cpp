#include "server/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace arca::server {
namespace {

// A fake environment over a map.
struct FakeEnv {
  std::map<std::string, std::string> vars;
  EnvLookup Lookup() const {
    return [this](const char* name) -> const char* {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Settings Flags(std::initializer_list<std::pair<std::string, std::string>> kv) {
  Settings s;
  for (const auto& [k, v] : kv) {
    std::string flag = "--" + k;
    for (auto& c : flag) {
      if (c == '_') c = '-';
    }
    s[k] = Setting{v, flag};
  }
  return s;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-config-test-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::string path_;
};

TEST(ParseListenTest, Ipv4HostAndPort) {
  auto l = ParseListen("127.0.0.1:8200");
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->host, "127.0.0.1");
  EXPECT_EQ(l->port, 8200);
}

TEST(ParseListenTest, AnyAddressAndPortZero) {
  auto l = ParseListen("0.0.0.0:0");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->host, "0.0.0.0");
  EXPECT_EQ(l->port, 0);
}

TEST(ParseListenTest, BracketedIpv6) {
  auto l = ParseListen("[::1]:8200");
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->host, "::1");
  EXPECT_EQ(l->port, 8200);
  auto any = ParseListen("[::]:65535");
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->host, "::");
  EXPECT_EQ(any->port, 65535);
}

TEST(ParseListenTest, LocalhostMeansLoopback) {
  auto l = ParseListen("localhost:9000");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->host, "127.0.0.1");
}

TEST(ParseListenTest, RejectsBadInput) {
  for (const char* bad : {"", "8200", "127.0.0.1", "127.0.0.1:", ":8200", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1:80x", "127.0.0.1:000008200",
                          "::1:8200", "[::1]8200", "[::1]:", "[::1", "[127.0.0.1]:80", "example.com:80",
                          "300.0.0.1:80", " 127.0.0.1:80"}) {
    auto l = ParseListen(bad);
    EXPECT_FALSE(l.ok()) << "accepted \"" << bad << "\"";
    if (!l.ok()) {
      EXPECT_EQ(l.error().code(), Code::kInvalidParameter);
      EXPECT_NE(l.error().message().find("listen"), std::string::npos) << l.error().message();
    }
  }
}

TEST(ParseListenTest, BadPortMessageSaysWhy) {
  auto l = ParseListen("127.0.0.1:70000");
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.error().message().find("0 to 65535"), std::string::npos) << l.error().message();
}

TEST(AccountIdTest, TwelveDigitsOnly) {
  EXPECT_TRUE(ValidateAccountId("000000000000").ok());
  EXPECT_TRUE(ValidateAccountId("123456789012").ok());
  EXPECT_FALSE(ValidateAccountId("").ok());
  EXPECT_FALSE(ValidateAccountId("12345678901").ok());
  EXPECT_FALSE(ValidateAccountId("1234567890123").ok());
  EXPECT_FALSE(ValidateAccountId("12345678901a").ok());
  EXPECT_FALSE(ValidateAccountId("-12345678901").ok());
  EXPECT_FALSE(ValidateAccountId("１23456789012").ok());  // a full-width digit
}

TEST(ResolveConfigTest, Defaults) {
  auto c = ResolveConfig({}, {}, {});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->data_dir, "./arca-data");
  EXPECT_EQ(c->listen.host, "127.0.0.1");
  EXPECT_EQ(c->listen.port, 8200);
  EXPECT_EQ(c->master_key_file, "./arca-data/master.key");
  EXPECT_FALSE(c->master_key.has_value());
  EXPECT_EQ(c->account_id, "000000000000");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_EQ(c->max_body_bytes, 1u << 20);
  EXPECT_EQ(c->max_header_bytes, 16u << 10);
  EXPECT_EQ(c->idle_timeout_seconds, 60);
  EXPECT_EQ(c->threads, 0);
  EXPECT_EQ(c->purge_interval_seconds, 60);
  EXPECT_FALSE(c->tls());
  EXPECT_TRUE(c->config_file.empty());
}

TEST(ResolveConfigTest, DefaultBodyLimitFitsLargestSecretBinary) {
  auto c = ResolveConfig({}, {}, {});
  ASSERT_TRUE(c.ok());
  // 65536 bytes of SecretBinary as base64 plus the JSON around it.
  EXPECT_GT(c->max_body_bytes, (65536u + 2) / 3 * 4 + 4096);
}

TEST(ResolveConfigTest, MasterKeyFileFollowsDataDir) {
  auto c = ResolveConfig(Flags({{"data_dir", "/var/lib/arca"}}), {}, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->master_key_file, "/var/lib/arca/master.key");
  auto explicit_file = ResolveConfig(Flags({{"data_dir", "/d"}, {"master_key_file", "/k/master.key"}}), {}, {});
  ASSERT_TRUE(explicit_file.ok());
  EXPECT_EQ(explicit_file->master_key_file, "/k/master.key");
}

TEST(ResolveConfigTest, StoreUrlFromFlagEnvOrFileAndDefaultUnderDataDir) {
  auto none = ResolveConfig(Flags({{"data_dir", "/var/lib/arca"}}), {}, {});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->store_url, "");
  EXPECT_EQ(StoreUrl(*none), "sqlite:/var/lib/arca/arca.db");

  FakeEnv env;
  env.vars = {{"ARCA_STORE_URL", "postgresql://arca:pw@db:5432/arca?sslmode=verify-full"}};
  auto from_env = ResolveConfig({}, SettingsFromEnv(env.Lookup()), {});
  ASSERT_TRUE(from_env.ok()) << from_env.error().message();
  EXPECT_EQ(StoreUrl(*from_env), "postgresql://arca:pw@db:5432/arca?sslmode=verify-full");

  auto file = ParseYamlConfig("store: postgres://db/arca\n", "config file s.yaml");
  ASSERT_TRUE(file.ok()) << file.error().message();
  auto from_file = ResolveConfig({}, {}, *file);
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ(from_file->store_url, "postgres://db/arca");
  auto flag_wins = ResolveConfig(Flags({{"store", "sqlite:/tmp/x.db"}}), {}, *file);
  ASSERT_TRUE(flag_wins.ok());
  EXPECT_EQ(StoreUrl(*flag_wins), "sqlite:/tmp/x.db");

  // Another scheme is refused, naming the source but never echoing the URL (it may hold a
  // password).
  auto bad = ResolveConfig(Flags({{"store", "mysql://u:hunter2@db/x"}}), {}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("--store"), std::string::npos) << bad.error().message();
  EXPECT_EQ(bad.error().message().find("hunter2"), std::string::npos) << bad.error().message();
}

TEST(ResolveConfigTest, PrecedenceFlagOverEnvOverFileOverDefault) {
  FakeEnv env;
  env.vars = {{"ARCA_LISTEN", "127.0.0.1:2000"}, {"ARCA_DATA_DIR", "/env/data"},
              {"ARCA_LOG_LEVEL", "warn"}};
  auto file = ParseYamlConfig(
      "listen: 127.0.0.1:1000\ndata_dir: /file/data\nlog_level: error\naccount_id: '111111111111'\n",
      "config file t.yaml");
  ASSERT_TRUE(file.ok()) << file.error().message();
  auto c = ResolveConfig(Flags({{"listen", "127.0.0.1:3000"}}), SettingsFromEnv(env.Lookup()), *file);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->listen.port, 3000);              // flag beats env and file
  EXPECT_EQ(c->data_dir, "/env/data");          // env beats file
  EXPECT_EQ(c->log_level, "warn");              // env beats file
  EXPECT_EQ(c->account_id, "111111111111");     // file beats default
  EXPECT_EQ(c->purge_interval_seconds, 60);     // default
  EXPECT_EQ(c->master_key_file, "/env/data/master.key");
}

TEST(ResolveConfigTest, ErrorsNameTheSource) {
  FakeEnv env;
  env.vars = {{"ARCA_MAX_BODY_BYTES", "lots"}};
  auto c = ResolveConfig({}, SettingsFromEnv(env.Lookup()), {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);
  EXPECT_NE(c.error().message().find("ARCA_MAX_BODY_BYTES"), std::string::npos) << c.error().message();
  EXPECT_NE(c.error().message().find("max_body_bytes"), std::string::npos);

  auto listen = ResolveConfig(Flags({{"listen", "nowhere"}}), {}, {});
  ASSERT_FALSE(listen.ok());
  EXPECT_NE(listen.error().message().find("--listen"), std::string::npos) << listen.error().message();

  auto file = ParseYamlConfig("account_id: 12345\n", "config file a.yaml");
  ASSERT_TRUE(file.ok());
  auto acct = ResolveConfig({}, {}, *file);
  ASSERT_FALSE(acct.ok());
  EXPECT_NE(acct.error().message().find("config file a.yaml"), std::string::npos) << acct.error().message();
  EXPECT_NE(acct.error().message().find("12 digits"), std::string::npos);
}

TEST(ResolveConfigTest, ValidatesNumbersAndLevels) {
  EXPECT_FALSE(ResolveConfig(Flags({{"log_level", "verbose"}}), {}, {}).ok());
  EXPECT_TRUE(ResolveConfig(Flags({{"log_level", "debug"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"max_body_bytes", "-1"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"max_body_bytes", "10"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"max_body_bytes", "99999999999999999999999"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"threads", "1.5"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"idle_timeout_seconds", "0"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"purge_interval_seconds", ""}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"data_dir", ""}}), {}, {}).ok());
  auto c = ResolveConfig(Flags({{"max_body_bytes", "2097152"}, {"threads", "4"},
                                {"idle_timeout_seconds", "5"}, {"max_header_bytes", "8192"},
                                {"purge_interval_seconds", "1"}}),
                         {}, {});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->max_body_bytes, 2097152u);
  EXPECT_EQ(c->threads, 4);
  EXPECT_EQ(c->idle_timeout_seconds, 5);
  EXPECT_EQ(c->max_header_bytes, 8192u);
  EXPECT_EQ(c->purge_interval_seconds, 1);
}

TEST(ResolveConfigTest, TlsNeedsCertAndKey) {
  auto only_cert = ResolveConfig(Flags({{"tls_cert", "/c.pem"}}), {}, {});
  ASSERT_FALSE(only_cert.ok());
  EXPECT_NE(only_cert.error().message().find("together"), std::string::npos);
  EXPECT_FALSE(ResolveConfig(Flags({{"tls_key", "/k.pem"}}), {}, {}).ok());
  auto both = ResolveConfig(Flags({{"tls_cert", "/c.pem"}, {"tls_key", "/k.pem"}}), {}, {});
  ASSERT_TRUE(both.ok());
  EXPECT_TRUE(both->tls());
  EXPECT_EQ(*both->tls_cert, "/c.pem");
  EXPECT_EQ(*both->tls_key, "/k.pem");
}

TEST(ResolveConfigTest, AlertsAndOidcIssuer) {
  auto c = ResolveConfig(Flags({{"alert_webhook_url", "http://127.0.0.1:9/hook"},
                                {"alert_rules", "5/60s per-principal, 100/1m"},
                                {"oidc_issuer", "https://k8s.example/id/1"},
                                {"oidc_audiences", "sts.amazonaws.com, vault"},
                                {"oidc_jwks_file", "/etc/arca/jwks.json"}}),
                         {}, {});
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->alert_webhook_url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(c->alert_rules, "5/60s per-principal, 100/1m");
  EXPECT_EQ(c->oidc_issuer, "https://k8s.example/id/1");
  EXPECT_EQ(c->oidc_audiences, (std::vector<std::string>{"sts.amazonaws.com", "vault"}));
  EXPECT_EQ(c->oidc_jwks_file, "/etc/arca/jwks.json");
  auto d = ResolveConfig(Flags({{"oidc_issuer", "https://k8s.example/id/1"}, {"oidc_jwks", "{}"}}), {}, {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->oidc_audiences, (std::vector<std::string>{"sts.amazonaws.com"}));

  EXPECT_FALSE(ResolveConfig(Flags({{"alert_webhook_url", "ftp://x"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"alert_rules", "5"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"oidc_issuer", "http://insecure"}, {"oidc_jwks", "{}"}}), {}, {}).ok());
  EXPECT_FALSE(ResolveConfig(Flags({{"oidc_issuer", "https://k8s.example"}}), {}, {}).ok());  // no JWKS
  EXPECT_FALSE(ResolveConfig(Flags({{"oidc_jwks_file", "/x"}}), {}, {}).ok());  // no issuer
}

TEST(EnvTest, ReadsArcaVariablesAndIgnoresEmptyOnes) {
  FakeEnv env;
  env.vars = {{"ARCA_ACCOUNT_ID", "123456789012"}, {"ARCA_TLS_CERT", ""}, {"HOME", "/root"},
              {"ARCA_MASTER_KEY", "arca-master-key v1 1 AAAA"}};
  Settings s = SettingsFromEnv(env.Lookup());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.at("account_id").value, "123456789012");
  EXPECT_EQ(s.at("account_id").source, "ARCA_ACCOUNT_ID");
  EXPECT_EQ(s.count("master_key"), 0u);  // the master key never enters Settings
}

TEST(EnvTest, MasterKeyOnlyFromArcaMasterKey) {
  FakeEnv env;
  EXPECT_FALSE(MasterKeyFromEnv(env.Lookup()).has_value());
  env.vars["ARCA_MASTER_KEY"] = "";
  EXPECT_FALSE(MasterKeyFromEnv(env.Lookup()).has_value());
  env.vars["ARCA_MASTER_KEY"] = "arca-master-key v1 1 AAAA";
  auto k = MasterKeyFromEnv(env.Lookup());
  ASSERT_TRUE(k.has_value());
  EXPECT_EQ(k->view(), "arca-master-key v1 1 AAAA");
  // No flag sets it.
  for (const auto& info : ConfigKeys()) EXPECT_NE(info.key, "master_key");
}

TEST(YamlTest, ParsesEveryKey) {
  auto s = ParseYamlConfig(R"(
# comment
data_dir: /srv/arca
listen: "[::1]:8300"
tls_cert: /etc/arca/cert.pem
tls_key: /etc/arca/key.pem
master_key_file: /etc/arca/master.key
account_id: "123456789012"
log_level: debug
max_body_bytes: 2097152
max_header_bytes: 32768
idle_timeout_seconds: 30
threads: 2
purge_interval_seconds: 10
)",
                           "config file x.yaml");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->size(), 12u);
  EXPECT_EQ(s->at("listen").source, "config file x.yaml");
  auto c = ResolveConfig({}, {}, *s);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->data_dir, "/srv/arca");
  EXPECT_EQ(c->listen.host, "::1");
  EXPECT_EQ(c->listen.port, 8300);
  EXPECT_EQ(*c->tls_cert, "/etc/arca/cert.pem");
  EXPECT_EQ(*c->tls_key, "/etc/arca/key.pem");
  EXPECT_EQ(c->master_key_file, "/etc/arca/master.key");
  EXPECT_EQ(c->account_id, "123456789012");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->max_body_bytes, 2097152u);
  EXPECT_EQ(c->max_header_bytes, 32768u);
  EXPECT_EQ(c->idle_timeout_seconds, 30);
  EXPECT_EQ(c->threads, 2);
  EXPECT_EQ(c->purge_interval_seconds, 10);
}

TEST(YamlTest, EmptyDocumentAndNullValues) {
  auto empty = ParseYamlConfig("", "f");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto comments = ParseYamlConfig("# nothing here\n", "f");
  ASSERT_TRUE(comments.ok());
  EXPECT_TRUE(comments->empty());
  auto nulls = ParseYamlConfig("tls_cert:\ntls_key: ~\n", "f");
  ASSERT_TRUE(nulls.ok());
  EXPECT_TRUE(nulls->empty());
}

TEST(YamlTest, UnknownKeyIsAnErrorNamingTheKey) {
  auto s = ParseYamlConfig("listen: 127.0.0.1:1\nlisten_port: 9\n", "config file a.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kInvalidParameter);
  EXPECT_NE(s.error().message().find("listen_port"), std::string::npos) << s.error().message();
  EXPECT_NE(s.error().message().find("a.yaml"), std::string::npos);
  EXPECT_NE(s.error().message().find("line 2"), std::string::npos) << s.error().message();
}

TEST(YamlTest, MasterKeyAndConfigAreNotFileKeys) {
  auto mk = ParseYamlConfig("master_key: arca-master-key v1 1 AAAA\n", "f");
  ASSERT_FALSE(mk.ok());
  EXPECT_NE(mk.error().message().find("ARCA_MASTER_KEY"), std::string::npos);
  EXPECT_EQ(mk.error().message().find("AAAA"), std::string::npos);  // never echoes the key
  EXPECT_FALSE(ParseYamlConfig("config: other.yaml\n", "f").ok());
}

TEST(YamlTest, RejectsBadShapes) {
  EXPECT_FALSE(ParseYamlConfig("- a\n- b\n", "f").ok());            // a list
  EXPECT_FALSE(ParseYamlConfig("just text\n", "f").ok());          // a scalar
  EXPECT_FALSE(ParseYamlConfig("listen: [a, b]\n", "f").ok());     // non-scalar value
  EXPECT_FALSE(ParseYamlConfig("listen: {a: b}\n", "f").ok());
  EXPECT_FALSE(ParseYamlConfig("listen: a\nlisten: b\n", "f").ok());  // duplicate
  auto syntax = ParseYamlConfig("threads: 1\nlisten: [unclosed\n", "config file s.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().message().find("s.yaml"), std::string::npos);
  EXPECT_NE(syntax.error().message().find("line"), std::string::npos) << syntax.error().message();
}

TEST(LoadConfigTest, ReadsTheFileNamedByFlagOrEnv) {
  TempDir dir;
  const std::string from_env = dir.Write("env.yaml", "listen: 127.0.0.1:1111\nthreads: 3\n");
  const std::string from_flag = dir.Write("flag.yaml", "listen: 127.0.0.1:2222\n");
  FakeEnv env;
  env.vars = {{"ARCA_CONFIG", from_env}, {"ARCA_THREADS", "5"}};

  auto c = LoadConfig({}, env.Lookup());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->config_file, from_env);
  EXPECT_EQ(c->listen.port, 1111);
  EXPECT_EQ(c->threads, 5);  // env beats the file

  auto f = LoadConfig(Flags({{"config", from_flag}}), env.Lookup());
  ASSERT_TRUE(f.ok()) << f.error().message();
  EXPECT_EQ(f->config_file, from_flag);
  EXPECT_EQ(f->listen.port, 2222);
  EXPECT_EQ(f->threads, 5);
}

TEST(LoadConfigTest, MissingFileIsAClearError) {
  TempDir dir;
  FakeEnv env;
  auto c = LoadConfig(Flags({{"config", dir.path() + "/absent.yaml"}}), env.Lookup());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("absent.yaml"), std::string::npos);
  EXPECT_NE(c.error().message().find("No such file"), std::string::npos) << c.error().message();
}

TEST(LoadConfigTest, TakesMasterKeyFromEnv) {
  FakeEnv env;
  env.vars = {{"ARCA_MASTER_KEY", "arca-master-key v1 1 AAAA"}};
  auto c = LoadConfig({}, env.Lookup());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c->master_key.has_value());
  EXPECT_EQ(c->master_key->view(), "arca-master-key v1 1 AAAA");
}

TEST(LoadConfigTest, NoFileNoEnvGivesDefaults) {
  FakeEnv env;
  auto c = LoadConfig({}, env.Lookup());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->listen.port, 8200);
}

}  // namespace
}  // namespace arca::server
