#include "frontends/aws/sts.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend_fixture.h"
#include "frontends/aws/request_path.h"
#include "iam/jwt_signer.h"

namespace arca::frontends::aws {
namespace {

using namespace std::chrono_literals;
using iam::testing::JwksOf;
using iam::testing::TestKey;
using testing::FrontendTest;
using testing::SignOptions;

constexpr std::string_view kIssuerHost = "oidc.example.com/id/CLUSTER1";
constexpr std::string_view kProviderArn = "arn:aws:iam::000000000000:oidc-provider/oidc.example.com/id/CLUSTER1";
constexpr std::string_view kSubject = "system:serviceaccount:payments:api";
constexpr std::string_view kPodRole = "arn:aws:iam::000000000000:role/pod-role";
constexpr std::string_view kSecondRole = "arn:aws:iam::000000000000:role/second";

class Directory final : public iam::StsDirectory {
 public:
  Result<std::optional<iam::Role>> FindRoleByArn(const std::string& arn) override {
    auto it = roles.find(arn);
    if (it == roles.end()) return std::optional<iam::Role>();
    return std::optional<iam::Role>(it->second);
  }
  Result<std::optional<iam::OidcProvider>> FindOidcProviderByUrl(const std::string& url) override {
    if (iam::jwt::IssuerKey(url) != iam::jwt::IssuerKey(provider.url)) return std::optional<iam::OidcProvider>();
    return std::optional<iam::OidcProvider>(provider);
  }
  Result<iam::PrincipalPolicies> PoliciesOf(const iam::Caller& /*caller*/) override {
    return iam::PrincipalPolicies{};
  }
  std::map<std::string, iam::Role> roles;
  iam::OidcProvider provider;
};

// The first element named `tag` in `xml`, its text unescaped; empty when absent.
std::string Tag(const std::string& xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  std::size_t a = xml.find(open);
  if (a == std::string::npos) return {};
  a += open.size();
  std::size_t b = xml.find(close, a);
  if (b == std::string::npos) return {};
  std::string text = xml.substr(a, b - a);
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}}) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
      text.replace(at, from.size(), to);
    }
  }
  return text;
}

class StsFrontendTest : public FrontendTest {
 protected:
  static void SetUpTestSuite() { key_ = new TestKey(TestKey::Kind::kRsa, "k1"); }
  static void TearDownTestSuite() { delete key_; }

  void SetUp() override {
    FrontendTest::SetUp();
    dir_.provider.arn = std::string(kProviderArn);
    dir_.provider.url = std::string(kIssuerHost);
    dir_.provider.client_ids = {"sts.amazonaws.com"};
    dir_.provider.jwks = JwksOf({key_});
    AddRole("pod-role", WebTrust());
    AddRole("second", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":")" +
                          std::string(kPodRole) + R"("},"Action":"sts:AssumeRole"}]})");
    sessions_ = std::make_unique<iam::SessionTokens>(*keyring_, clock_);
    iam::StsOptions options;
    sts_ = std::make_unique<iam::StsService>(dir_, *sessions_, cache_, clock_, options);
    verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_, sessions_.get());
    protocol_ = std::make_unique<QueryProtocol>(*verifier_, hooks_);
    frontend_ = std::make_unique<StsFrontend>(*sts_);
  }

  void TearDown() override {
    frontend_.reset();
    protocol_.reset();
    verifier_.reset();
    sts_.reset();
    sessions_.reset();
    FrontendTest::TearDown();
  }

  void AddRole(std::string name, std::string trust) {
    iam::Role r;
    r.name = name;
    r.role_id = "AROA" + (name + "XXXXXXXXXXXXXXXXX").substr(0, 17);
    r.arn = "arn:aws:iam::000000000000:role/" + name;
    r.assume_role_policy = std::move(trust);
    dir_.roles[r.arn] = r;
  }

  static std::string WebTrust() {
    return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":")" +
           std::string(kProviderArn) + R"("},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{")" +
           std::string(kIssuerHost) + R"(:sub":")" + std::string(kSubject) + R"(",")" + std::string(kIssuerHost) +
           R"(:aud":"sts.amazonaws.com"}}}]})";
  }

  std::int64_t Now() const {
    return std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
  }

  boost::json::object Claims() const {
    return boost::json::object{{"iss", "https://" + std::string(kIssuerHost)},
                               {"sub", kSubject},
                               {"aud", boost::json::array{"sts.amazonaws.com"}},
                               {"iat", Now() - 5},
                               {"exp", Now() + 3600}};
  }

  // A form request (POST /, the query protocol's body).
  http::Request Form(std::string body) const {
    http::Request r;
    r.method = "POST";
    r.target = "/";
    r.headers = {{"Host", "localhost:8200"},
                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
                 {"X-Amz-Date", AmzDate()}};
    r.body = std::move(body);
    r.remote_addr = "127.0.0.1";
    return r;
  }

  http::Response Send(const http::Request& r) {
    auto params = QueryParams::Parse(r.body);
    EXPECT_TRUE(params.ok());
    return protocol_->Handle(r, *params, *frontend_);
  }

  // Signed by the root key, or by the given temporary credentials (token signed, as boto3 does).
  http::Response Call(std::string body, const iam::TemporaryCredentials* creds = nullptr) {
    http::Request r = Form(std::move(body));
    if (creds == nullptr) {
      Sign(r, SignOptions{.service = "sts"});
    } else {
      r.headers.emplace_back("X-Amz-Security-Token", creds->session_token);
      Sign(r, SignOptions{.service = "sts", .access_key_id = creds->access_key_id, .secret = &creds->secret_access_key});
    }
    return Send(r);
  }

  static std::string Encode(std::string_view s) { return crypto::sigv4::UriEncode(s, true); }

  std::string WebIdentityBody(const std::string& token, std::string_view extra = {}) const {
    return "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + Encode(kPodRole) +
           "&RoleSessionName=botocore-session-1&WebIdentityToken=" + Encode(token) + std::string(extra);
  }

  // Asserts a query-protocol error and returns its message.
  static std::string ExpectXmlError(const http::Response& r, std::string_view code, int status,
                                    std::string_view type = "Sender") {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(Header(r, "Content-Type"), "text/xml");
    EXPECT_NE(r.body.find(R"(<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">)"), std::string::npos)
        << r.body;
    EXPECT_EQ(Tag(r.body, "Type"), type) << r.body;
    EXPECT_EQ(Tag(r.body, "Code"), code) << r.body;
    EXPECT_EQ(Tag(r.body, "RequestId"), Header(r, "x-amzn-RequestId"));
    return Tag(r.body, "Message");
  }

  // The credentials of a successful AssumeRole* response.
  static iam::TemporaryCredentials CredentialsOf(const http::Response& r) {
    iam::TemporaryCredentials c;
    c.access_key_id = Tag(r.body, "AccessKeyId");
    c.secret_access_key = SecretBytes::CopyOf(Tag(r.body, "SecretAccessKey"));
    c.session_token = Tag(r.body, "SessionToken");
    return c;
  }

  static TestKey* key_;
  Directory dir_;
  iam::PolicyCache cache_;
  std::unique_ptr<iam::SessionTokens> sessions_;
  std::unique_ptr<iam::StsService> sts_;
  std::unique_ptr<SigV4Verifier> verifier_;
  RequestHooks hooks_;
  std::unique_ptr<QueryProtocol> protocol_;
  std::unique_ptr<StsFrontend> frontend_;
};

TestKey* StsFrontendTest::key_ = nullptr;

TEST_F(StsFrontendTest, GetCallerIdentityShape) {
  http::Response r = Call("Action=GetCallerIdentity&Version=2011-06-15");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Header(r, "Content-Type"), "text/xml");
  EXPECT_EQ(r.body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<GetCallerIdentityResult><Arn>arn:aws:iam::000000000000:root</Arn><UserId>000000000000</UserId>"
            "<Account>000000000000</Account></GetCallerIdentityResult>"
            "<ResponseMetadata><RequestId>" +
                Header(r, "x-amzn-RequestId") + "</RequestId></ResponseMetadata></GetCallerIdentityResponse>");
}

TEST_F(StsFrontendTest, RootCannotAssumeRoles) {
  http::Response r = Call("Action=AssumeRole&Version=2011-06-15&RoleArn=" + Encode(kSecondRole) +
                          "&RoleSessionName=s1");
  EXPECT_EQ(ExpectXmlError(r, "AccessDenied", 403), "Roles may not be assumed by root accounts.");
}

TEST_F(StsFrontendTest, WebIdentityThenSessionThenRoleChaining) {
  // Unsigned, as boto3's web-identity provider sends it.
  http::Response r = Send(Form(WebIdentityBody(key_->Token(Claims()))));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                        "<AssumeRoleWithWebIdentityResult>"),
            std::string::npos)
      << r.body;
  EXPECT_EQ(Tag(r.body, "SubjectFromWebIdentityToken"), kSubject);
  EXPECT_EQ(Tag(r.body, "Audience"), "sts.amazonaws.com");
  EXPECT_EQ(Tag(r.body, "Provider"), kProviderArn);
  EXPECT_EQ(Tag(r.body, "Arn"), "arn:aws:sts::000000000000:assumed-role/pod-role/botocore-session-1");
  EXPECT_EQ(Tag(r.body, "AssumedRoleId"), dir_.roles[std::string(kPodRole)].role_id + ":botocore-session-1");
  EXPECT_EQ(Tag(r.body, "Expiration"), FormatIso8601(clock_.Now() + 3600s));
  iam::TemporaryCredentials creds = CredentialsOf(r);
  EXPECT_EQ(creds.access_key_id.substr(0, 4), "ASIA");
  EXPECT_EQ(creds.secret_access_key.size(), 40u);
  EXPECT_FALSE(creds.session_token.empty());
  EXPECT_EQ(r.body.find("PackedPolicySize"), std::string::npos);

  // The session's credentials sign the next calls.
  http::Response who = Call("Action=GetCallerIdentity&Version=2011-06-15", &creds);
  ASSERT_EQ(who.status, 200) << who.body;
  EXPECT_EQ(Tag(who.body, "Arn"), "arn:aws:sts::000000000000:assumed-role/pod-role/botocore-session-1");
  EXPECT_EQ(Tag(who.body, "UserId"), dir_.roles[std::string(kPodRole)].role_id + ":botocore-session-1");
  EXPECT_EQ(Tag(who.body, "Account"), "000000000000");

  http::Response chained = Call("Action=AssumeRole&Version=2011-06-15&RoleArn=" + Encode(kSecondRole) +
                                    "&RoleSessionName=chained&DurationSeconds=900",
                                &creds);
  ASSERT_EQ(chained.status, 200) << chained.body;
  EXPECT_NE(chained.body.find("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                              "<AssumeRoleResult><AssumedRoleUser><AssumedRoleId>"),
            std::string::npos)
      << chained.body;
  EXPECT_EQ(Tag(chained.body, "Arn"), "arn:aws:sts::000000000000:assumed-role/second/chained");
  EXPECT_EQ(Tag(chained.body, "Expiration"), FormatIso8601(clock_.Now() + 900s));
  EXPECT_EQ(chained.body.find("SubjectFromWebIdentityToken"), std::string::npos);

  // When the session expires its credentials stop working.
  clock_.Advance(3600s);
  EXPECT_EQ(ExpectXmlError(Call("Action=GetCallerIdentity&Version=2011-06-15", &creds), "ExpiredToken", 403),
            "The security token included in the request is expired");
}

TEST_F(StsFrontendTest, WebIdentityRefusals) {
  auto c = Claims();
  c["exp"] = Now() - 600;
  EXPECT_EQ(ExpectXmlError(Send(Form(WebIdentityBody(key_->Token(c)))), "ExpiredTokenException", 400).rfind(
                "Token expired: current date/time ", 0),
            0u);
  c = Claims();
  c["aud"] = "somebody-else";
  EXPECT_EQ(ExpectXmlError(Send(Form(WebIdentityBody(key_->Token(c)))), "InvalidIdentityToken", 400),
            "Incorrect token audience");
  c = Claims();
  c["nbf"] = Now() + 3600;
  ExpectXmlError(Send(Form(WebIdentityBody(key_->Token(c)))), "IDPRejectedClaim", 403);
  c = Claims();
  c["sub"] = "system:serviceaccount:payments:other";
  EXPECT_EQ(ExpectXmlError(Send(Form(WebIdentityBody(key_->Token(c)))), "AccessDenied", 403),
            "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  TestKey impostor(TestKey::Kind::kRsa, "k1");
  ExpectXmlError(Send(Form(WebIdentityBody(impostor.Token(Claims())))), "InvalidIdentityToken", 400);
}

TEST_F(StsFrontendTest, ValidationErrors) {
  http::Response r = Send(Form("Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" + Encode(kPodRole) +
                               "&WebIdentityToken=" + Encode(key_->Token(Claims()))));
  EXPECT_EQ(ExpectXmlError(r, "ValidationError", 400),
            "1 validation error detected: Value null at 'roleSessionName' failed to satisfy constraint: Member "
            "must not be null");
  r = Send(Form(WebIdentityBody(key_->Token(Claims()), "&DurationSeconds=abc")));
  EXPECT_EQ(ExpectXmlError(r, "ValidationError", 400),
            "1 validation error detected: Value 'abc' at 'durationSeconds' failed to satisfy constraint: Member "
            "must be an integer");
  r = Send(Form(WebIdentityBody(key_->Token(Claims()), "&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fx")));
  EXPECT_EQ(ExpectXmlError(r, "ValidationError", 400),
            "Arca does not support the AssumeRoleWithWebIdentity parameter(s): PolicyArns.");
}

TEST_F(StsFrontendTest, AuthenticationErrors) {
  // An ASIA key without its token.
  iam::TemporaryCredentials fake;
  fake.access_key_id = "ASIAEXAMPLEEXAMPLE01";
  fake.secret_access_key = SecretBytes::CopyOf("0123456789012345678901234567890123456789");
  http::Request r = Form("Action=GetCallerIdentity&Version=2011-06-15");
  Sign(r, SignOptions{.service = "sts", .access_key_id = fake.access_key_id, .secret = &fake.secret_access_key});
  EXPECT_EQ(ExpectXmlError(Send(r), "InvalidClientTokenId", 403),
            "The security token included in the request is invalid.");
  // A token that is not one of ours.
  fake.session_token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI=";
  EXPECT_EQ(ExpectXmlError(Call("Action=GetCallerIdentity&Version=2011-06-15", &fake), "InvalidClientTokenId", 403),
            "The security token included in the request is invalid.");
  // Unsigned calls of the signed operations.
  ExpectXmlError(Send(Form("Action=GetCallerIdentity&Version=2011-06-15")), "MissingAuthenticationToken", 403);
}

}  // namespace
}  // namespace arca::frontends::aws
