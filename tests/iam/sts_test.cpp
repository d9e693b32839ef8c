#include "iam/sts.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "iam/jwt_signer.h"

namespace arca::iam {
namespace {

using namespace std::chrono_literals;
using testing::JwksOf;
using testing::TestKey;

constexpr std::string_view kAccount = "123456789012";
constexpr std::string_view kIssuerHost = "oidc.example.com/id/CLUSTER1";
constexpr std::string_view kIssuer = "https://oidc.example.com/id/CLUSTER1";
constexpr std::string_view kProviderArn = "arn:aws:iam::123456789012:oidc-provider/oidc.example.com/id/CLUSTER1";
constexpr std::string_view kSubject = "system:serviceaccount:payments:api";
constexpr std::string_view kInvalid = "The security token included in the request is invalid.";
constexpr std::string_view kExpired = "The security token included in the request is expired";
constexpr std::string_view kWebDenied = "Not authorized to perform sts:AssumeRoleWithWebIdentity";

std::string RoleArn(std::string_view name) { return "arn:aws:iam::123456789012:role/" + std::string(name); }
std::string UserArn(std::string_view name) { return "arn:aws:iam::123456789012:user/" + std::string(name); }

// The part of IAM that STS reads, in memory.
class FakeDirectory final : public StsDirectory {
 public:
  Result<std::optional<Role>> FindRoleByArn(const std::string& arn) override {
    auto it = roles.find(arn);
    if (it == roles.end()) return std::optional<Role>();
    return std::optional<Role>(it->second);
  }
  Result<std::optional<OidcProvider>> FindOidcProviderByUrl(const std::string& url) override {
    for (const auto& p : providers) {
      if (jwt::IssuerKey(p.url) == jwt::IssuerKey(url)) return std::optional<OidcProvider>(p);
    }
    return std::optional<OidcProvider>();
  }
  Result<PrincipalPolicies> PoliciesOf(const Caller& caller) override {
    auto it = policies.find(caller.principal);
    if (it == policies.end()) return PrincipalPolicies{};
    return it->second;
  }

  void AddRole(std::string name, std::string trust, std::int64_t max_session = 3600) {
    Role r;
    r.name = name;
    r.role_id = "AROA" + std::string(17 - std::min<std::size_t>(17, name.size()), 'X') + name.substr(0, 17);
    r.arn = RoleArn(name);
    r.assume_role_policy = std::move(trust);
    r.max_session_duration = max_session;
    roles[r.arn] = r;
  }

  std::map<std::string, Role> roles;
  std::vector<OidcProvider> providers;
  std::map<std::string, PrincipalPolicies> policies;  // by user or role name
};

std::string TrustAws(std::string_view principal, std::string_view extra_condition = {}) {
  std::string s = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
                  std::string(principal) + R"("},"Action":"sts:AssumeRole")";
  if (!extra_condition.empty()) s += ",\"Condition\":" + std::string(extra_condition);
  return s + "}]}";
}

std::string TrustWebIdentity(std::string_view sub_operator = "StringEquals",
                             std::string_view sub = kSubject, std::string_view aud = "sts.amazonaws.com") {
  boost::json::object condition;
  auto add = [&](std::string_view op, std::string_view key, std::string_view value) {
    boost::json::value& block = condition[op];
    if (!block.is_object()) block.emplace_object();
    block.as_object()[std::string(kIssuerHost) + std::string(key)] = value;
  };
  add(sub_operator, ":sub", sub);
  add("StringEquals", ":aud", aud);
  boost::json::object statement{{"Effect", "Allow"},
                                {"Principal", {{"Federated", kProviderArn}}},
                                {"Action", "sts:AssumeRoleWithWebIdentity"},
                                {"Condition", condition}};
  return boost::json::serialize(
      boost::json::object{{"Version", "2012-10-17"}, {"Statement", boost::json::array{statement}}});
}

Caller User(std::string_view name) {
  Caller c;
  c.type = PrincipalType::kUser;
  c.account = std::string(kAccount);
  c.arn = UserArn(name);
  c.user_id = "AIDAEXAMPLEUSER" + std::string(name);
  c.principal = std::string(name);
  c.access_key_id = "AKIA-FAKE-EXAMPLE-01";
  return c;
}

Caller Root() {
  Caller c;
  c.account = std::string(kAccount);
  c.arn = "arn:aws:iam::123456789012:root";
  c.user_id = std::string(kAccount);
  c.principal = "root";
  return c;
}

class StsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = new TestKey(TestKey::Kind::kRsa, "rsa-1");
    ec_ = new TestKey(TestKey::Kind::kEc, "ec-1");
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
  }

  void SetUp() override {
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    sessions_ = std::make_unique<SessionTokens>(*keyring_, clock_);
    StsOptions options;
    options.account_id = std::string(kAccount);
    sts_ = std::make_unique<StsService>(dir_, *sessions_, cache_, clock_, options);

    OidcProvider p;
    p.arn = std::string(kProviderArn);
    p.url = std::string(kIssuerHost);
    p.client_ids = {"sts.amazonaws.com"};
    p.jwks = JwksOf({rsa_, ec_});
    dir_.providers.push_back(p);
  }

  std::int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  }

  boost::json::object Claims() const {
    boost::json::object c;
    c["iss"] = kIssuer;
    c["sub"] = kSubject;
    c["aud"] = boost::json::array{"sts.amazonaws.com"};
    c["iat"] = Now() - 5;
    c["nbf"] = Now() - 5;
    c["exp"] = Now() + 3600;
    return c;
  }

  AssumeRoleInput AssumeInput(std::string_view role, std::string_view session = "s1") const {
    AssumeRoleInput in;
    in.role_arn = RoleArn(role);
    in.role_session_name = std::string(session);
    return in;
  }

  WebIdentityInput WebInput(std::string token, std::string_view role = "pod-role") const {
    WebIdentityInput in;
    in.role_arn = RoleArn(role);
    in.role_session_name = "botocore-session-1700000000";
    in.web_identity_token = std::move(token);
    return in;
  }

  static std::string Fails(const Result<AssumedRole>& r, Code code) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code(), code) << r.error().ToLogString();
    return r.error().message();
  }

  static TestKey* rsa_;
  static TestKey* ec_;
  FakeClock clock_;
  std::unique_ptr<crypto::Keyring> keyring_;
  FakeDirectory dir_;
  PolicyCache cache_;
  std::unique_ptr<SessionTokens> sessions_;
  std::unique_ptr<StsService> sts_;
  RequestFacts facts_{"10.1.2.3", "aws-cli/2", true, "us-east-1"};
};

TestKey* StsTest::rsa_ = nullptr;
TestKey* StsTest::ec_ = nullptr;

// ---------------------------------------------------------------- session tokens

Caller SessionCaller(std::int64_t issued_ms, std::int64_t expires_ms) {
  Caller c;
  c.type = PrincipalType::kAssumedRole;
  c.account = std::string(kAccount);
  c.arn = "arn:aws:sts::123456789012:assumed-role/app/s1";
  c.user_id = "AROAEXAMPLEEXAMPLE01:s1";
  c.principal = "app";
  c.role_arn = RoleArn("app");
  c.role_id = "AROAEXAMPLEEXAMPLE01";
  c.session_name = "s1";
  c.session_issued_ms = issued_ms;
  c.session_expires_ms = expires_ms;
  return c;
}

TEST_F(StsTest, SessionTokenRoundTrip) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  Caller in = SessionCaller(now, now + 3600 * 1000);
  in.web_identity = WebIdentity{std::string(kProviderArn), std::string(kIssuerHost), std::string(kSubject),
                                {"sts.amazonaws.com", "other"}};
  auto creds = sessions_->Issue(in);
  ASSERT_TRUE(creds.ok()) << creds.error().ToLogString();
  EXPECT_EQ(creds->access_key_id.size(), 20u);
  EXPECT_EQ(creds->access_key_id.substr(0, 4), "ASIA");
  for (char c : creds->access_key_id) EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << c;
  EXPECT_EQ(creds->secret_access_key.size(), 40u);
  EXPECT_EQ(creds->expiration, FromUnixMillis(now + 3600 * 1000));
  EXPECT_TRUE(crypto::Base64Decode(creds->session_token).has_value());
  // The secret is nowhere in the token's clear bytes.
  EXPECT_EQ(crypto::Base64Decode(creds->session_token)->find(creds->secret_access_key.view()), std::string::npos);

  for (int i = 0; i < 2; ++i) {  // the second time from the cache
    auto r = sessions_->Resolve(creds->access_key_id, creds->session_token);
    ASSERT_TRUE(r.ok()) << r.error().ToLogString();
    const Caller& c = r->first;
    EXPECT_EQ(c.type, PrincipalType::kAssumedRole);
    EXPECT_EQ(c.arn, in.arn);
    EXPECT_EQ(c.user_id, in.user_id);
    EXPECT_EQ(c.account, in.account);
    EXPECT_EQ(c.access_key_id, creds->access_key_id);
    EXPECT_EQ(c.principal, "app");
    EXPECT_EQ(c.role_arn, in.role_arn);
    EXPECT_EQ(c.role_id, in.role_id);
    EXPECT_EQ(c.session_name, "s1");
    EXPECT_EQ(c.session_issued_ms, in.session_issued_ms);
    EXPECT_EQ(c.session_expires_ms, in.session_expires_ms);
    ASSERT_TRUE(c.web_identity.has_value());
    EXPECT_EQ(c.web_identity->provider_arn, kProviderArn);
    EXPECT_EQ(c.web_identity->issuer, kIssuerHost);
    EXPECT_EQ(c.web_identity->subject, kSubject);
    EXPECT_EQ(c.web_identity->audiences, (std::vector<std::string>{"sts.amazonaws.com", "other"}));
    EXPECT_EQ(r->second->view(), creds->secret_access_key.view());
  }
  // Each issue makes a new key and secret.
  auto again = sessions_->Issue(in);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->access_key_id, creds->access_key_id);
  EXPECT_NE(again->secret_access_key.view(), creds->secret_access_key.view());
}

TEST_F(StsTest, SessionTokenExpires) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  auto creds = sessions_->Issue(SessionCaller(now, now + 900 * 1000));
  ASSERT_TRUE(creds.ok());
  ASSERT_TRUE(sessions_->Resolve(creds->access_key_id, creds->session_token).ok());  // cached now
  clock_.Advance(899s);
  ASSERT_TRUE(sessions_->Resolve(creds->access_key_id, creds->session_token).ok());
  clock_.Advance(1s);
  auto r = sessions_->Resolve(creds->access_key_id, creds->session_token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kExpiredToken);
  EXPECT_EQ(r.error().message(), kExpired);
  // Also when not cached (another server with the same key).
  SessionTokens fresh(*keyring_, clock_);
  r = fresh.Resolve(creds->access_key_id, creds->session_token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kExpiredToken);
}

TEST_F(StsTest, TamperedOrForeignTokensAreRefused) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  auto creds = sessions_->Issue(SessionCaller(now, now + 3600 * 1000));
  ASSERT_TRUE(creds.ok());
  auto refused = [&](std::string_view akid, std::string_view token) {
    SessionTokens fresh(*keyring_, clock_);
    auto r = fresh.Resolve(akid, token);
    EXPECT_FALSE(r.ok());
    if (r.ok()) return;
    EXPECT_EQ(r.error().code(), Code::kUnrecognizedClient) << r.error().ToLogString();
    EXPECT_EQ(r.error().message(), kInvalid);
  };
  // One flipped byte anywhere in the sealed bytes.
  std::string bytes = *crypto::Base64Decode(creds->session_token);
  for (std::size_t i : {std::size_t{0}, std::size_t{3}, std::size_t{10}, bytes.size() / 2, bytes.size() - 1}) {
    std::string t = bytes;
    t[i] = static_cast<char>(t[i] ^ 0x20);
    refused(creds->access_key_id, crypto::Base64Encode(t));
  }
  refused(creds->access_key_id, crypto::Base64Encode(bytes.substr(0, bytes.size() - 1)));
  refused(creds->access_key_id, crypto::Base64Encode(bytes.substr(0, 5)));
  refused(creds->access_key_id, "");
  refused(creds->access_key_id, "not base64!");
  refused(creds->access_key_id, std::string(10000, 'A'));
  // The token of another key id.
  auto other = sessions_->Issue(SessionCaller(now, now + 3600 * 1000));
  ASSERT_TRUE(other.ok());
  refused(creds->access_key_id, other->session_token);
  refused(other->access_key_id, creds->session_token);
  // A long-term key id with a session token.
  refused("AKIA" + creds->access_key_id.substr(4), creds->session_token);
  // A token sealed with another master key.
  auto other_keyring = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
  SessionTokens foreign(*other_keyring, clock_);
  auto r = foreign.Resolve(creds->access_key_id, creds->session_token);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnrecognizedClient);
}

// ---------------------------------------------------------------- GetCallerIdentity

TEST_F(StsTest, GetCallerIdentity) {
  CallerIdentity id = sts_->GetCallerIdentity(User("alice"));
  EXPECT_EQ(id.arn, UserArn("alice"));
  EXPECT_EQ(id.account, kAccount);
  EXPECT_EQ(id.user_id, "AIDAEXAMPLEUSERalice");
  id = sts_->GetCallerIdentity(Root());
  EXPECT_EQ(id.user_id, kAccount);
}

// ---------------------------------------------------------------- AssumeRole

TEST_F(StsTest, AssumeRoleTrustNamingTheUser) {
  dir_.AddRole("app", TrustAws(UserArn("alice")));
  auto r = sts_->AssumeRole(User("alice"), facts_, AssumeInput("app", "deploy-1"));
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  const Role& role = dir_.roles[RoleArn("app")];
  EXPECT_EQ(r->arn, "arn:aws:sts::123456789012:assumed-role/app/deploy-1");
  EXPECT_EQ(r->assumed_role_id, role.role_id + ":deploy-1");
  EXPECT_EQ(r->credentials.expiration, clock_.Now() + 3600s);

  auto resolved = sessions_->Resolve(r->credentials.access_key_id, r->credentials.session_token);
  ASSERT_TRUE(resolved.ok()) << resolved.error().ToLogString();
  const Caller& c = resolved->first;
  EXPECT_EQ(c.type, PrincipalType::kAssumedRole);
  EXPECT_EQ(c.arn, r->arn);
  EXPECT_EQ(c.user_id, r->assumed_role_id);
  EXPECT_EQ(c.principal, "app");
  EXPECT_EQ(c.role_arn, RoleArn("app"));
  EXPECT_EQ(c.session_name, "deploy-1");
  EXPECT_FALSE(c.web_identity.has_value());
  EXPECT_EQ(sts_->GetCallerIdentity(c).arn, r->arn);

  // Another user is not admitted.
  EXPECT_EQ(Fails(sts_->AssumeRole(User("bob"), facts_, AssumeInput("app")), Code::kAccessDenied),
            "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: sts:AssumeRole on resource: "
            "arn:aws:iam::123456789012:role/app");
}

TEST_F(StsTest, AssumeRoleTrustNamingTheAccountNeedsAnIdentityAllow) {
  dir_.AddRole("app", TrustAws("arn:aws:iam::123456789012:root"));
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("app")), Code::kAccessDenied);
  dir_.policies["alice"].policies.push_back(
      {"inline:assume",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":")" +
           RoleArn("app") + R"("}]})"});
  auto r = sts_->AssumeRole(User("alice"), facts_, AssumeInput("app"));
  EXPECT_TRUE(r.ok()) << r.error().ToLogString();
  // The bare account id works the same way.
  dir_.AddRole("app2", TrustAws("123456789012"));
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("app2")), Code::kAccessDenied);
}

TEST_F(StsTest, IdentityAllowAloneDoesNotOpenARole) {
  // The role trusts only the web-identity provider; a user allowed sts:AssumeRole on * cannot use it.
  dir_.AddRole("pod-role", TrustWebIdentity());
  dir_.policies["alice"].policies.push_back(
      {"inline:all", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"});
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("pod-role")), Code::kAccessDenied);
}

TEST_F(StsTest, ExplicitDenyWins) {
  dir_.AddRole("app", TrustAws(UserArn("alice")));
  dir_.policies["alice"].policies.push_back(
      {"inline:deny",
       R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"sts:*","Resource":"*"}]})"});
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("app")), Code::kAccessDenied);
}

TEST_F(StsTest, TrustConditionsSeeExternalIdSourceIpAndTags) {
  dir_.AddRole("ext", TrustAws(UserArn("alice"), R"({"StringEquals":{"sts:ExternalId":"xyz-123"}})"));
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("ext")), Code::kAccessDenied);
  AssumeRoleInput in = AssumeInput("ext");
  in.external_id = "xyz-123";
  EXPECT_TRUE(sts_->AssumeRole(User("alice"), facts_, in).ok());

  dir_.AddRole("net", TrustAws(UserArn("alice"), R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})"));
  EXPECT_TRUE(sts_->AssumeRole(User("alice"), facts_, AssumeInput("net")).ok());
  RequestFacts outside = facts_;
  outside.source_ip = "192.0.2.1";
  Fails(sts_->AssumeRole(User("alice"), outside, AssumeInput("net")), Code::kAccessDenied);

  dir_.AddRole("team", TrustAws(UserArn("alice"), R"({"StringEquals":{"aws:PrincipalTag/team":"payments"}})"));
  Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("team")), Code::kAccessDenied);
  dir_.policies["alice"].tags.emplace_back("team", "payments");
  EXPECT_TRUE(sts_->AssumeRole(User("alice"), facts_, AssumeInput("team")).ok());
}

TEST_F(StsTest, RootMayNotAssumeRoles) {
  dir_.AddRole("app", TrustAws("arn:aws:iam::123456789012:root"));
  EXPECT_EQ(Fails(sts_->AssumeRole(Root(), facts_, AssumeInput("app")), Code::kAccessDenied),
            "Roles may not be assumed by root accounts.");
}

TEST_F(StsTest, UnknownOrMalformedRole) {
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, AssumeInput("nope")), Code::kAccessDenied),
            "User: arn:aws:iam::123456789012:user/alice is not authorized to perform: sts:AssumeRole on resource: "
            "arn:aws:iam::123456789012:role/nope");
  AssumeRoleInput in = AssumeInput("x");
  in.role_arn = "arn:aws:iam::123456789012:user/alice";
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation), "Request ARN is invalid");
  in.role_arn = "not-an-arn-but-long-enough";
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation), "Request ARN is invalid");
  in.role_arn = "short";
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation),
            "1 validation error detected: Value 'short' at 'roleArn' failed to satisfy constraint: Member must "
            "have length greater than or equal to 20");
}

TEST_F(StsTest, Durations) {
  dir_.AddRole("app", TrustAws(UserArn("alice")));
  dir_.AddRole("long", TrustAws(UserArn("alice")), 7200);
  AssumeRoleInput in = AssumeInput("app");
  in.duration_seconds = 899;
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation),
            "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member "
            "must have value greater than or equal to 900");
  in.duration_seconds = 43201;
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation),
            "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member "
            "must have value less than or equal to 43200");
  in.duration_seconds = 3601;
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation),
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  in.duration_seconds = 900;
  auto r = sts_->AssumeRole(User("alice"), facts_, in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->credentials.expiration, clock_.Now() + 900s);

  in = AssumeInput("long");
  in.duration_seconds = 7200;
  r = sts_->AssumeRole(User("alice"), facts_, in);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->credentials.expiration, clock_.Now() + 7200s);
}

TEST_F(StsTest, RoleChaining) {
  dir_.AddRole("first", TrustAws(UserArn("alice")));
  dir_.AddRole("second", TrustAws(RoleArn("first")), 7200);
  auto first = sts_->AssumeRole(User("alice"), facts_, AssumeInput("first"));
  ASSERT_TRUE(first.ok());
  auto session = sessions_->Resolve(first->credentials.access_key_id, first->credentials.session_token);
  ASSERT_TRUE(session.ok());
  AssumeRoleInput in = AssumeInput("second", "chained");
  in.duration_seconds = 7200;
  EXPECT_EQ(Fails(sts_->AssumeRole(session->first, facts_, in), Code::kValidation),
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
  in.duration_seconds.reset();
  auto second = sts_->AssumeRole(session->first, facts_, in);
  ASSERT_TRUE(second.ok()) << second.error().ToLogString();
  EXPECT_EQ(second->arn, "arn:aws:sts::123456789012:assumed-role/second/chained");
  // The trust may also name the first session itself.
  dir_.AddRole("third", TrustAws(first->arn));
  EXPECT_TRUE(sts_->AssumeRole(session->first, facts_, AssumeInput("third")).ok());
}

TEST_F(StsTest, SessionNames) {
  dir_.AddRole("app", TrustAws(UserArn("alice")));
  auto msg = [&](std::optional<std::string> name) {
    AssumeRoleInput in = AssumeInput("app");
    in.role_session_name = std::move(name);
    return Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation);
  };
  EXPECT_EQ(msg("a"), "1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: "
                      "Member must have length greater than or equal to 2");
  EXPECT_EQ(msg(std::string(65, 'a')),
            "1 validation error detected: Value '" + std::string(65, 'a') +
                "' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal "
                "to 64");
  EXPECT_EQ(msg("bad name"),
            "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  EXPECT_EQ(msg("!"),
            "2 validation errors detected: Value '!' at 'roleSessionName' failed to satisfy constraint: Member "
            "must have length greater than or equal to 2; Value '!' at 'roleSessionName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  EXPECT_EQ(msg(std::nullopt), "1 validation error detected: Value null at 'roleSessionName' failed to satisfy "
                               "constraint: Member must not be null");
  AssumeRoleInput none;
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, none), Code::kValidation),
            "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not "
            "be null; Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null");
  EXPECT_TRUE(sts_->AssumeRole(User("alice"), facts_, AssumeInput("app", "a+b=c,d.e@f-g_H9")).ok());
  EXPECT_TRUE(sts_->AssumeRole(User("alice"), facts_, AssumeInput("app", std::string(64, 'z'))).ok());
}

TEST_F(StsTest, UnsupportedParametersAreRefused) {
  dir_.AddRole("app", TrustAws(UserArn("alice")));
  AssumeRoleInput in = AssumeInput("app");
  in.unsupported = {"Policy", "Tags"};
  EXPECT_EQ(Fails(sts_->AssumeRole(User("alice"), facts_, in), Code::kValidation),
            "Arca does not support the AssumeRole parameter(s): Policy, Tags.");
}

// ---------------------------------------------------------------- AssumeRoleWithWebIdentity

TEST_F(StsTest, WebIdentitySuccess) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  for (const TestKey* key : {static_cast<const TestKey*>(rsa_), static_cast<const TestKey*>(ec_)}) {
    auto r = sts_->AssumeRoleWithWebIdentity(facts_, WebInput(key->Token(Claims())));
    ASSERT_TRUE(r.ok()) << key->alg() << ": " << r.error().ToLogString();
    EXPECT_EQ(r->subject, kSubject);
    EXPECT_EQ(r->audience, "sts.amazonaws.com");
    EXPECT_EQ(r->provider, kProviderArn);
    EXPECT_EQ(r->arn, "arn:aws:sts::123456789012:assumed-role/pod-role/botocore-session-1700000000");
    auto resolved = sessions_->Resolve(r->credentials.access_key_id, r->credentials.session_token);
    ASSERT_TRUE(resolved.ok());
    const Caller& c = resolved->first;
    ASSERT_TRUE(c.web_identity.has_value());
    EXPECT_EQ(c.web_identity->provider_arn, kProviderArn);
    EXPECT_EQ(c.web_identity->issuer, kIssuerHost);
    EXPECT_EQ(c.web_identity->subject, kSubject);
    EXPECT_EQ(c.web_identity->audiences, std::vector<std::string>{"sts.amazonaws.com"});
    EXPECT_EQ(c.principal, "pod-role");
  }
}

TEST_F(StsTest, WebIdentityWildcardSubjectAndDuration) {
  dir_.AddRole("pod-role", TrustWebIdentity("StringLike", "system:serviceaccount:payments:*"), 7200);
  WebIdentityInput in = WebInput(rsa_->Token(Claims()));
  in.duration_seconds = 7200;
  auto r = sts_->AssumeRoleWithWebIdentity(facts_, in);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->credentials.expiration, clock_.Now() + 7200s);
  in.duration_seconds = 7201;
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, in), Code::kValidation),
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  auto c = Claims();
  c["sub"] = "system:serviceaccount:kube-system:default";
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kAccessDenied),
            kWebDenied);
}

TEST_F(StsTest, WebIdentityWrongSubject) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  auto c = Claims();
  c["sub"] = "system:serviceaccount:payments:other";
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kAccessDenied),
            kWebDenied);
}

TEST_F(StsTest, WebIdentityWrongAudience) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  auto c = Claims();
  c["aud"] = boost::json::array{"https://kubernetes.default.svc"};
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kInvalidIdentityToken),
            "Incorrect token audience");
  // A registered audience the trust policy does not accept.
  dir_.providers[0].client_ids.push_back("vault");
  c["aud"] = "vault";
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kAccessDenied),
            kWebDenied);
  // A provider with no client ids accepts no token.
  dir_.providers[0].client_ids.clear();
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(Claims()))),
                  Code::kInvalidIdentityToken),
            "Incorrect token audience");
}

TEST_F(StsTest, WebIdentityExpiredAndNotYetValid) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  auto c = Claims();
  c["exp"] = Now() - 3600;
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kExpiredIdentityToken),
            "Token expired: current date/time " + std::to_string(Now()) +
                " must be before the expiration date/time " + std::to_string(Now() - 3600));
  c = Claims();
  c["nbf"] = Now() + 600;
  Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kIdpRejectedClaim);
}

TEST_F(StsTest, WebIdentityBadSignature) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  TestKey impostor(TestKey::Kind::kEc, "ec-1");  // the right kid, the wrong key
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(impostor.Token(Claims()))),
                  Code::kInvalidIdentityToken),
            "The token's signature is not valid.");
}

TEST_F(StsTest, WebIdentityUnknownIssuer) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  auto c = Claims();
  c["iss"] = "https://oidc.example.com/id/OTHER";
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(c))), Code::kInvalidIdentityToken),
            "No OpenIDConnect provider found in your account for https://oidc.example.com/id/OTHER");
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput("not-a-jwt")), Code::kInvalidIdentityToken),
            "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)");
}

TEST_F(StsTest, WebIdentityUnknownRoleOrAccountTrust) {
  dir_.AddRole("account-trust", TrustAws("arn:aws:iam::123456789012:root"));
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(Claims()), "nope")),
                  Code::kAccessDenied),
            kWebDenied);
  // A trust policy naming the account does not admit federated callers.
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(Claims()), "account-trust")),
                  Code::kAccessDenied),
            kWebDenied);
}

TEST_F(StsTest, WebIdentityValidation) {
  WebIdentityInput in = WebInput("");
  in.web_identity_token.reset();
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, in), Code::kValidation),
            "1 validation error detected: Value null at 'webIdentityToken' failed to satisfy constraint: Member "
            "must not be null");
  in.web_identity_token = "abc";  // the value of a sensitive member is not echoed
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, in), Code::kValidation),
            "1 validation error detected: Value at 'webIdentityToken' failed to satisfy constraint: Member must "
            "have length greater than or equal to 4");
}

TEST_F(StsTest, WebIdentityJwksFromAFileFollowsItsChanges) {
  dir_.AddRole("pod-role", TrustWebIdentity());
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("arca-sts-test-" + crypto::NewUuid());
  std::filesystem::create_directories(dir);
  std::filesystem::path file = dir / "jwks.json";
  { std::ofstream(file) << JwksOf({rsa_}); }
  dir_.providers[0].jwks.clear();
  dir_.providers[0].jwks_file = file.string();
  EXPECT_TRUE(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(rsa_->Token(Claims()))).ok());
  Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(ec_->Token(Claims()))), Code::kInvalidIdentityToken);
  // The cluster rotates its key: the file is rewritten (a new inode) and read again.
  std::filesystem::path tmp = dir / "jwks.json.new";
  { std::ofstream(tmp) << JwksOf({ec_}); }
  std::filesystem::rename(tmp, file);
  auto r = sts_->AssumeRoleWithWebIdentity(facts_, WebInput(ec_->Token(Claims())));
  EXPECT_TRUE(r.ok()) << r.error().ToLogString();
  // A missing file or a provider without a JWKS: no verification key.
  std::filesystem::remove_all(dir);
  constexpr std::string_view kNoKey =
      "Couldn't retrieve verification key from your identity provider,  please reference "
      "AssumeRoleWithWebIdentity documentation for requirements";
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(ec_->Token(Claims()))),
                  Code::kInvalidIdentityToken),
            kNoKey);
  dir_.providers[0].jwks_file.clear();
  EXPECT_EQ(Fails(sts_->AssumeRoleWithWebIdentity(facts_, WebInput(ec_->Token(Claims()))),
                  Code::kInvalidIdentityToken),
            kNoKey);
}

}  // namespace
}  // namespace arca::iam
