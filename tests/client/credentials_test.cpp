// Tests for the credential chain and the region / endpoint / CA bundle resolution, with a fake
// environment and temporary files.

#include "client/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace arca::client {
namespace {

namespace fs = std::filesystem;

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

class FakeEnv {
 public:
  std::map<std::string, std::string> vars;

  EnvLookup Lookup() const {
    return [this](std::string_view name) -> std::optional<std::string> {
      auto it = vars.find(std::string(name));
      if (it == vars.end()) return std::nullopt;
      return it->second;
    };
  }
};

class ChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-client-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // HOME points at an empty directory and the fallback at a directory of our own, so the
    // developer's real files never take part.
    env_.vars["HOME"] = (dir_ / "home").string();
    env_.vars["ARCA_DATA_DIR"] = (dir_ / "data").string();
    fs::create_directories(dir_ / "home");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& relative, const std::string& text) {
    fs::path p = dir_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

  // The exchange used by the chain; records its arguments.
  WebIdentityExchange Exchange() {
    return [this](const std::string& role, const std::string& session,
                  const std::string& token) -> Result<Credentials> {
      ++exchanges_;
      role_ = role;
      session_ = session;
      token_ = token;
      Credentials c;
      c.access_key_id = "ASIAWEBIDENTITY";
      c.secret_access_key = SecretBytes::CopyOf("web-secret");
      c.session_token = "web-session-token";
      return c;
    };
  }

  Result<Credentials> Resolve(const std::string& profile = "") {
    ChainOptions options;
    options.profile = profile;
    return ResolveCredentials(options, env_.Lookup(), Exchange());
  }

  fs::path dir_;
  FakeEnv env_;
  int exchanges_ = 0;
  std::string role_, session_, token_;
};

// ---- ParseIni ----

TEST(ParseIniTest, SectionsKeysCommentsAndSpaces) {
  auto ini = ParseIni(
      "# a comment\n"
      "; another\n"
      "\n"
      "[default]\n"
      "aws_access_key_id = AKIDEXAMPLE\n"
      "  aws_secret_access_key=secret with spaces  \r\n"
      "Region: eu-west-1\n"
      "[profile   dev]\n"
      "output = json # not a comment in a value\n"
      "[ other ]\n");
  ASSERT_TRUE(ini.ok()) << ini.error().ToLogString();
  EXPECT_EQ(ini->at("default").at("aws_access_key_id"), "AKIDEXAMPLE");
  EXPECT_EQ(ini->at("default").at("aws_secret_access_key"), "secret with spaces");
  EXPECT_EQ(ini->at("default").at("region"), "eu-west-1");
  EXPECT_EQ(ini->at("profile dev").at("output"), "json # not a comment in a value");
  EXPECT_TRUE(ini->count("other"));
  EXPECT_TRUE(ini->at("other").empty());
}

TEST(ParseIniTest, NestedSubSectionsDoNotShadowTopLevelKeys) {
  auto ini = ParseIni(
      "[profile dev]\n"
      "region = us-west-2\n"
      "s3 =\n"
      "  region = eu-central-1\n"
      "  max_concurrent_requests = 20\n"
      "  # a comment inside\n"
      "output = text\n");
  ASSERT_TRUE(ini.ok()) << ini.error().ToLogString();
  const auto& s = ini->at("profile dev");
  EXPECT_EQ(s.at("region"), "us-west-2");
  EXPECT_EQ(s.at("s3.region"), "eu-central-1");
  EXPECT_EQ(s.at("s3.max_concurrent_requests"), "20");
  EXPECT_EQ(s.at("output"), "text");
}

TEST(ParseIniTest, MalformedLinesNameTheLine) {
  auto no_section = ParseIni("\naws_access_key_id = x\n");
  ASSERT_FALSE(no_section.ok());
  EXPECT_EQ(no_section.error().code(), Code::kInvalidParameter);
  EXPECT_NE(no_section.error().message().find("line 2"), std::string::npos);

  auto no_equals = ParseIni("[default]\naws_secret_access_key " + std::string(kSecret) + "\n");
  ASSERT_FALSE(no_equals.ok());
  EXPECT_NE(no_equals.error().message().find("line 2"), std::string::npos);
  EXPECT_EQ(no_equals.error().message().find(kSecret), std::string::npos);

  auto bad_header = ParseIni("[default\n");
  ASSERT_FALSE(bad_header.ok());
  EXPECT_NE(bad_header.error().message().find("line 1"), std::string::npos);
}

// ---- the chain ----

TEST_F(ChainTest, EnvironmentKeysComeFirst) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file\n");
  env_.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env_.vars["AWS_SECRET_ACCESS_KEY"] = kSecret;
  env_.vars["AWS_SESSION_TOKEN"] = "tok";
  env_.vars["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/r";
  env_.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = Write("token", "jwt");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key.view(), kSecret);
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(exchanges_, 0);
}

TEST_F(ChainTest, HalfAnEnvironmentKeyPairIsAnError) {
  env_.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);

  env_.vars.erase("AWS_ACCESS_KEY_ID");
  env_.vars["AWS_SECRET_ACCESS_KEY"] = kSecret;
  c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message().find(kSecret), std::string::npos);
}

TEST_F(ChainTest, EmptyEnvironmentValuesCountAsUnset) {
  env_.vars["AWS_ACCESS_KEY_ID"] = "";
  env_.vars["AWS_SECRET_ACCESS_KEY"] = "";
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file\n");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDFILE");
}

TEST_F(ChainTest, WebIdentityCallsTheExchangeWithTheTokenFile) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = file\n");
  env_.vars["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/reader";
  env_.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = Write("sa/token", "eyJhbGciOi.payload.sig\n");
  env_.vars["AWS_ROLE_SESSION_NAME"] = "pod-1";
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(exchanges_, 1);
  EXPECT_EQ(role_, "arn:aws:iam::123456789012:role/reader");
  EXPECT_EQ(session_, "pod-1");
  EXPECT_EQ(token_, "eyJhbGciOi.payload.sig");
  EXPECT_EQ(c->access_key_id, "ASIAWEBIDENTITY");
  EXPECT_EQ(c->session_token, "web-session-token");
  EXPECT_EQ(c->source, "web identity (arn:aws:iam::123456789012:role/reader)");
}

TEST_F(ChainTest, WebIdentitySessionNameDefaultsToArcaAndTime) {
  env_.vars["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/reader";
  env_.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = Write("token", "jwt");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_TRUE(session_.starts_with("arca-")) << session_;
  EXPECT_GT(session_.size(), 6u);
}

TEST_F(ChainTest, WebIdentityErrors) {
  env_.vars["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/reader";
  env_.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = (dir_ / "missing-token").string();
  auto missing = Resolve();
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kInvalidParameter);
  EXPECT_NE(missing.error().message().find("missing-token"), std::string::npos);

  env_.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = Write("token", "jwt");
  ChainOptions options;
  auto failing = ResolveCredentials(
      options, env_.Lookup(),
      [](const std::string&, const std::string&, const std::string&) -> Result<Credentials> {
        return Error(Code::kInvalidIdentityToken, "bad token");
      });
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code(), Code::kInvalidIdentityToken);
}

TEST_F(ChainTest, SharedCredentialsFileDefaultProfile) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = " +
            std::string(kSecret) +
            "\naws_session_token = sess\n[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key "
            "= dev\n");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->secret_access_key.view(), kSecret);
  EXPECT_EQ(c->session_token, "sess");
  EXPECT_EQ(c->source, (dir_ / "home/.aws/credentials").string() + " [default]");
}

TEST_F(ChainTest, ProfileSelection) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n"
        "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = dev\n"
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops\n");
  env_.vars["AWS_PROFILE"] = "dev";
  auto by_env = Resolve();
  ASSERT_TRUE(by_env.ok()) << by_env.error().ToLogString();
  EXPECT_EQ(by_env->access_key_id, "AKIDDEV");

  auto by_flag = Resolve("ops");  // --profile beats AWS_PROFILE
  ASSERT_TRUE(by_flag.ok()) << by_flag.error().ToLogString();
  EXPECT_EQ(by_flag->access_key_id, "AKIDOPS");
}

TEST_F(ChainTest, ExplicitProfileBeatsEnvironmentKeys) {
  // As with the aws CLI: --profile names the identity to use, even when AWS_ACCESS_KEY_ID is set.
  Write("home/.aws/credentials",
        "[ops]\naws_access_key_id = AKIDOPS\naws_secret_access_key = ops\n");
  env_.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env_.vars["AWS_SECRET_ACCESS_KEY"] = "env";
  auto c = Resolve("ops");
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDOPS");
}

TEST_F(ChainTest, CredentialsFileFromEnvironmentAndTilde) {
  Write("elsewhere/creds",
        "[default]\naws_access_key_id = AKIDELSEWHERE\naws_secret_access_key = e\n");
  env_.vars["AWS_SHARED_CREDENTIALS_FILE"] = "~/../elsewhere/creds";
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDELSEWHERE");
}

TEST_F(ChainTest, ConfigFileProfileSection) {
  Write("home/.aws/config",
        "[default]\nregion = eu-west-1\n"
        "[profile dev]\naws_access_key_id = AKIDCONFIGDEV\naws_secret_access_key = c\n"
        "[dev]\naws_access_key_id = AKIDWRONG\naws_secret_access_key = w\n");
  auto dev = Resolve("dev");
  ASSERT_TRUE(dev.ok()) << dev.error().ToLogString();
  EXPECT_EQ(dev->access_key_id, "AKIDCONFIGDEV");
  EXPECT_EQ(dev->source, (dir_ / "home/.aws/config").string() + " [profile dev]");
}

TEST_F(ChainTest, ConfigFileDefaultSection) {
  Write("cfg", "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = c\n");
  env_.vars["AWS_CONFIG_FILE"] = (dir_ / "cfg").string();
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDCONFIG");
}

TEST_F(ChainTest, CredentialsFileBeatsConfigFile) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = a\n");
  Write("home/.aws/config",
        "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = b\n");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDCREDS");
}

TEST_F(ChainTest, MissingNamedProfileIsAnError) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n");
  Write("data/credentials", "[arca]\naws_access_key_id = AKIDLOCAL\naws_secret_access_key = l\n");
  auto c = Resolve("nosuch");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);
  EXPECT_NE(c.error().message().find("nosuch"), std::string::npos);

  env_.vars["AWS_PROFILE"] = "alsonot";
  auto by_env = Resolve();
  ASSERT_FALSE(by_env.ok());
  EXPECT_EQ(by_env.error().code(), Code::kInvalidParameter);
}

TEST_F(ChainTest, HalfAProfileIsAnErrorWithoutTheSecret) {
  Write("home/.aws/credentials",
        "[default]\naws_secret_access_key = " + std::string(kSecret) + "\n");
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);
  EXPECT_EQ(c.error().message().find(kSecret), std::string::npos);
  EXPECT_EQ(c.error().detail().find(kSecret), std::string::npos);
}

TEST_F(ChainTest, MalformedFileIsAnErrorWithoutTheSecret) {
  Write("home/.aws/credentials",
        "[default]\naws_access_key_id = AKID\n" + std::string(kSecret) + "\n");
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidParameter);
  EXPECT_NE(c.error().message().find("line 3"), std::string::npos) << c.error().message();
  EXPECT_EQ(c.error().message().find(kSecret), std::string::npos);
}

TEST_F(ChainTest, FallsBackToTheLocalServerKey) {
  // A config file with only a region does not stop the chain.
  Write("home/.aws/config", "[default]\nregion = eu-west-1\n");
  Write("data/credentials", "[arca]\naws_access_key_id = AKIDLOCAL\naws_secret_access_key = " +
                                std::string(kSecret) + "\n");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDLOCAL");
  EXPECT_EQ(c->secret_access_key.view(), kSecret);
  EXPECT_EQ(c->source, (dir_ / "data/credentials").string() + " [arca]");

  auto named = Resolve("arca");  // the local profile by name, though no ~/.aws file has it
  ASSERT_TRUE(named.ok()) << named.error().ToLogString();
  EXPECT_EQ(named->access_key_id, "AKIDLOCAL");
}

TEST_F(ChainTest, FallbackFileIsRelativeToTheWorkingDirectoryWithoutArcaDataDir) {
  env_.vars.erase("ARCA_DATA_DIR");
  Write("cwd/arca-data/credentials",
        "[arca]\naws_access_key_id = AKIDCWD\naws_secret_access_key = w\n");
  const fs::path old = fs::current_path();
  fs::current_path(dir_ / "cwd");
  auto c = Resolve();
  fs::current_path(old);
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "AKIDCWD");
  EXPECT_EQ(c->source, "./arca-data/credentials [arca]");
}

TEST_F(ChainTest, NothingFoundNamesEveryPlace) {
  Write("data/credentials", "[other]\naws_access_key_id = AKIDLOCAL\naws_secret_access_key = l\n");
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kMissingAuthentication);
  const std::string& m = c.error().message();
  EXPECT_NE(m.find("AWS_ACCESS_KEY_ID"), std::string::npos) << m;
  EXPECT_NE(m.find("AWS_WEB_IDENTITY_TOKEN_FILE"), std::string::npos) << m;
  EXPECT_NE(m.find((dir_ / "home/.aws/credentials").string() + " [default]"), std::string::npos)
      << m;
  EXPECT_NE(m.find((dir_ / "home/.aws/config").string() + " [default]"), std::string::npos) << m;
  EXPECT_NE(m.find((dir_ / "data/credentials").string() + " [arca]"), std::string::npos) << m;
}

// ---- region, endpoint, CA bundle ----

TEST_F(ChainTest, RegionOrder) {
  Write(
      "home/.aws/config",
      "[default]\nregion = eu-west-1\n[profile dev]\nregion = ap-south-1\ns3 =\n  region = nested\n"
      "[profile bare]\noutput = json\n");
  EXPECT_EQ(ResolveRegion("", "", env_.Lookup()), "eu-west-1");
  EXPECT_EQ(ResolveRegion("", "dev", env_.Lookup()), "ap-south-1");
  EXPECT_EQ(ResolveRegion("", "bare", env_.Lookup()), "us-east-1");
  env_.vars["AWS_PROFILE"] = "dev";
  EXPECT_EQ(ResolveRegion("", "", env_.Lookup()), "ap-south-1");
  env_.vars["AWS_DEFAULT_REGION"] = "us-west-1";
  EXPECT_EQ(ResolveRegion("", "dev", env_.Lookup()), "us-west-1");
  env_.vars["AWS_REGION"] = "us-west-2";
  EXPECT_EQ(ResolveRegion("", "dev", env_.Lookup()), "us-west-2");
  EXPECT_EQ(ResolveRegion("sa-east-1", "dev", env_.Lookup()), "sa-east-1");
}

TEST_F(ChainTest, RegionDefaultsWithoutFiles) {
  EXPECT_EQ(ResolveRegion("", "", env_.Lookup()), "us-east-1");
  FakeEnv empty;
  EXPECT_EQ(ResolveRegion("", "", empty.Lookup()), "us-east-1");
}

TEST(ResolveEndpointTest, Order) {
  FakeEnv env;
  EXPECT_EQ(ResolveEndpoint("", "SECRETS_MANAGER", env.Lookup()), "http://127.0.0.1:8200");
  env.vars["AWS_ENDPOINT_URL"] = "http://global:1";
  EXPECT_EQ(ResolveEndpoint("", "SECRETS_MANAGER", env.Lookup()), "http://global:1");
  env.vars["AWS_ENDPOINT_URL_STS"] = "http://sts:2";
  EXPECT_EQ(ResolveEndpoint("", "SECRETS_MANAGER", env.Lookup()), "http://global:1");
  EXPECT_EQ(ResolveEndpoint("", "STS", env.Lookup()), "http://sts:2");
  env.vars["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://sm:3/";
  EXPECT_EQ(ResolveEndpoint("", "SECRETS_MANAGER", env.Lookup()), "http://sm:3");
  env.vars["ARCA_ENDPOINT"] = "https://arca:4";
  EXPECT_EQ(ResolveEndpoint("", "SECRETS_MANAGER", env.Lookup()), "https://arca:4");
  EXPECT_EQ(ResolveEndpoint("http://flag:5", "SECRETS_MANAGER", env.Lookup()), "http://flag:5");
}

TEST_F(ChainTest, CaBundleOrder) {
  Write("home/.aws/config",
        "[default]\nca_bundle = ~/ca.pem\n[profile dev]\nca_bundle = /dev-ca.pem\n");
  EXPECT_EQ(ResolveCaBundle("", "", env_.Lookup()), (dir_ / "home/ca.pem").string());
  EXPECT_EQ(ResolveCaBundle("", "dev", env_.Lookup()), "/dev-ca.pem");
  EXPECT_EQ(ResolveCaBundle("", "nosuch", env_.Lookup()), "");
  env_.vars["AWS_CA_BUNDLE"] = "/env-ca.pem";
  EXPECT_EQ(ResolveCaBundle("", "dev", env_.Lookup()), "/env-ca.pem");
  EXPECT_EQ(ResolveCaBundle("/flag-ca.pem", "dev", env_.Lookup()), "/flag-ca.pem");
}

TEST(ProcessEnvTest, ReadsTheProcessEnvironment) {
  ::setenv("ARCA_CLIENT_TEST_VAR", "value", 1);
  EnvLookup env = ProcessEnv();
  EXPECT_EQ(env("ARCA_CLIENT_TEST_VAR"), std::optional<std::string>("value"));
  ::unsetenv("ARCA_CLIENT_TEST_VAR");
  EXPECT_EQ(env("ARCA_CLIENT_TEST_VAR"), std::nullopt);
}

}  // namespace
}  // namespace arca::client
