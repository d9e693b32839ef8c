#include "frontends/aws/sigv4_auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "frontend_fixture.h"

namespace arca::frontends::aws {
namespace {

using namespace std::chrono_literals;
using testing::FrontendTest;
using testing::SignOptions;

constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. Check your AWS "
    "Secret Access Key and signing method. Consult the service documentation for details.";

class SigV4Test : public FrontendTest {
 protected:
  void SetUp() override {
    FrontendTest::SetUp();
    verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_);
  }
  void TearDown() override {
    verifier_.reset();
    FrontendTest::TearDown();
  }

  Result<Authenticated> Verify(const http::Request& r, std::string* akid = nullptr) {
    return verifier_->Verify(r, "secretsmanager", akid);
  }

  // Asserts failure with `code` and returns the message.
  std::string Fails(const http::Request& r, Code code) {
    auto result = Verify(r);
    EXPECT_FALSE(result.ok());
    if (result.ok()) return {};
    EXPECT_EQ(result.error().code(), code) << result.error().ToLogString();
    return result.error().message();
  }

  static void SetHeader(http::Request& r, std::string_view name, std::string value) {
    for (auto& [k, v] : r.headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
        v = std::move(value);
        return;
      }
    }
    r.headers.emplace_back(std::string(name), std::move(value));
  }

  static void RemoveHeader(http::Request& r, std::string_view name) {
    std::erase_if(r.headers, [&](const auto& h) {
      return h.first.size() == name.size() && strncasecmp(h.first.data(), name.data(), name.size()) == 0;
    });
  }

  // A presigned request: SigV4 in the query string, signing only host.
  http::Request Presigned(std::string body, std::string expires, std::string payload_hash) {
    http::Request r;
    r.method = "POST";
    r.headers = {{"Host", "localhost:8200"}, {"X-Amz-Target", "secretsmanager.ListSecrets"}};
    r.body = std::move(body);
    std::string date = AmzDate();
    std::string scope = crypto::sigv4::CredentialScope(date.substr(0, 8), "us-west-2", "secretsmanager");
    std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + root_.access_key_id + "%2F" +
                        crypto::sigv4::UriEncode(scope, true) + "&X-Amz-Date=" + date +
                        "&X-Amz-SignedHeaders=host";
    if (!expires.empty()) query += "&X-Amz-Expires=" + expires;
    crypto::sigv4::CanonicalInput in;
    in.method = "POST";
    in.path = "/";
    in.query = query;
    in.headers = {{"Host", "localhost:8200"}};
    in.signed_headers = {"host"};
    in.payload_hash = payload_hash;
    SecretBytes key = crypto::sigv4::DeriveSigningKey(root_.secret_access_key, date.substr(0, 8),
                                                      "us-west-2", "secretsmanager");
    std::string sig = crypto::sigv4::Signature(
        key, crypto::sigv4::StringToSign(date, scope, crypto::sigv4::CanonicalRequest(in)));
    r.target = "/?" + query + "&X-Amz-Signature=" + sig;
    return r;
  }

  std::unique_ptr<SigV4Verifier> verifier_;
};

TEST_F(SigV4Test, AcceptsASignedRequest) {
  http::Request r = Signed("ListSecrets", "{}");
  std::string akid;
  auto result = Verify(r, &akid);
  ASSERT_TRUE(result.ok()) << result.error().ToLogString();
  EXPECT_EQ(result->caller.arn, "arn:aws:iam::000000000000:root");
  EXPECT_EQ(result->caller.access_key_id, root_.access_key_id);
  EXPECT_EQ(result->region, "us-east-1");
  EXPECT_EQ(akid, root_.access_key_id);
  // A replay within the window is accepted (AWS does the same); the cached signing key is used.
  ASSERT_TRUE(Verify(r).ok());
}

TEST_F(SigV4Test, RegionComesFromTheScope) {
  auto result = Verify(Signed("ListSecrets", "{}", SignOptions{.region = "eu-central-1"}));
  ASSERT_TRUE(result.ok()) << result.error().ToLogString();
  EXPECT_EQ(result->region, "eu-central-1");
  EXPECT_EQ(Fails(Signed("ListSecrets", "{}", SignOptions{.region = "US_EAST"}), Code::kInvalidSignature),
            "Credential should be scoped to a valid region, not 'US_EAST'.");
}

TEST_F(SigV4Test, TamperedBodyIsRejected) {
  http::Request r = Signed("ListSecrets", R"({"MaxResults": 5})");
  r.body = R"({"MaxResults": 6})";
  EXPECT_EQ(Fails(r, Code::kInvalidSignature), kMismatch);
}

TEST_F(SigV4Test, TamperedHeaderIsRejected) {
  http::Request r = Signed("ListSecrets", "{}");
  SetHeader(r, "X-Amz-Target", "secretsmanager.DeleteSecret");
  EXPECT_EQ(Fails(r, Code::kInvalidSignature), kMismatch);
}

TEST_F(SigV4Test, WrongSecretIsRejected) {
  SecretBytes wrong = root_.secret_access_key.Clone();
  wrong.data()[0] = wrong.data()[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(Fails(Signed("ListSecrets", "{}", SignOptions{.secret = &wrong}), Code::kInvalidSignature),
            kMismatch);
}

TEST_F(SigV4Test, UnknownKeyIsUnrecognized) {
  SecretBytes secret = SecretBytes::CopyOf("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  http::Request r = Signed("ListSecrets", "{}",
                           SignOptions{.access_key_id = "AKIA-FAKE-EXAMPLE-ID", .secret = &secret});
  EXPECT_EQ(Fails(r, Code::kUnrecognizedClient), "The security token included in the request is invalid.");
}

TEST_F(SigV4Test, ExpiredDateIsRejected) {
  clock_.Set(TimePoint(std::chrono::seconds(1440938160)));  // 2015-08-30T12:36:00Z
  http::Request r = Signed("ListSecrets", "{}");
  clock_.Advance(6min);
  EXPECT_EQ(Fails(r, Code::kInvalidSignature),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z "
            "(20150830T124200Z - 5 min.)");
  // Just inside the window it is fine.
  clock_.Advance(-2min);
  EXPECT_TRUE(Verify(r).ok());
}

TEST_F(SigV4Test, FutureDateIsRejected) {
  clock_.Set(TimePoint(std::chrono::seconds(1440938160)));  // 2015-08-30T12:36:00Z
  http::Request r = Signed("ListSecrets", "{}");
  clock_.Advance(-6min);
  EXPECT_EQ(Fails(r, Code::kInvalidSignature),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123500Z "
            "(20150830T123000Z + 5 min.)");
}

TEST_F(SigV4Test, MissingAuthorization) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  EXPECT_EQ(Fails(r, Code::kMissingAuthentication), "Missing Authentication Token");
}

TEST_F(SigV4Test, IncompleteAuthorizationHeaders) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  r.headers.emplace_back("Authorization", "Bearer abc");
  EXPECT_EQ(Fails(r, Code::kIncompleteSignature),
            "Authorization header requires 'Credential' parameter. Authorization header requires "
            "'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
            "Authorization=Bearer abc");

  RemoveHeader(r, "X-Amz-Date");
  EXPECT_NE(Fails(r, Code::kIncompleteSignature)
                .find("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."),
            std::string::npos);

  http::Request garbage = MakeRequest("ListSecrets", "{}");
  garbage.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 garbage");
  EXPECT_EQ(Fails(garbage, Code::kIncompleteSignature),
            "'garbage' not a valid key=value pair (missing equal-sign) in Authorization header: "
            "'AWS4-HMAC-SHA256 garbage'.");

  http::Request no_sig = MakeRequest("ListSecrets", "{}");
  no_sig.headers.emplace_back("Authorization",
                              "AWS4-HMAC-SHA256 Credential=" + root_.access_key_id +
                                  "/20231114/us-east-1/secretsmanager/aws4_request, SignedHeaders=host");
  std::string akid;
  auto result = Verify(no_sig, &akid);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), Code::kIncompleteSignature);
  EXPECT_EQ(result.error().message().rfind("Authorization header requires 'Signature' parameter. ", 0), 0u)
      << result.error().message();
  EXPECT_EQ(akid, root_.access_key_id);

  http::Request short_cred = MakeRequest("ListSecrets", "{}");
  short_cred.headers.emplace_back("Authorization",
                                  "AWS4-HMAC-SHA256 Credential=AKIA/20231114/us-east-1, "
                                  "SignedHeaders=host;x-amz-date, Signature=abc");
  EXPECT_EQ(Fails(short_cred, Code::kIncompleteSignature),
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got 'AKIA/20231114/us-east-1'");
}

TEST_F(SigV4Test, SignedHeadersMustIncludeHost) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  RemoveHeader(r, "Host");
  Sign(r);
  r.headers.emplace_back("Host", "localhost:8200");
  EXPECT_EQ(Fails(r, Code::kIncompleteSignature),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(SigV4Test, SignedHeadersMustIncludeXAmzDate) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  std::string date = AmzDate();
  RemoveHeader(r, "X-Amz-Date");
  crypto::sigv4::CanonicalInput in;
  in.method = r.method;
  in.path = "/";
  for (const auto& [k, v] : r.headers) in.headers.push_back({k, v});
  in.payload_hash = crypto::Sha256Hex(r.body);
  r.headers.emplace_back("Authorization", crypto::sigv4::SignRequest(root_.secret_access_key,
                                                                     root_.access_key_id, "us-east-1",
                                                                     "secretsmanager", date, in));
  r.headers.emplace_back("X-Amz-Date", date);
  EXPECT_EQ(Fails(r, Code::kIncompleteSignature),
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
}

TEST_F(SigV4Test, WrongServiceScope) {
  EXPECT_EQ(Fails(Signed("ListSecrets", "{}", SignOptions{.service = "ssm"}), Code::kInvalidSignature),
            "Credential should be scoped to correct service: 'secretsmanager'.");
}

TEST_F(SigV4Test, ScopeDateMustMatchRequestDate) {
  http::Request r = Signed("ListSecrets", "{}");
  // Move X-Amz-Date by a day but keep the scope: the scope check fires before the signature check.
  std::string next_day = FormatAmzDate(clock_.Now() + 24h);
  SetHeader(r, "X-Amz-Date", next_day);
  clock_.Advance(24h);
  std::string message = Fails(r, Code::kInvalidSignature);
  EXPECT_EQ(message.rfind("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                          "from HTTP: '20231114' != '20231115', from '",
                          0),
            0u)
      << message;
}

TEST_F(SigV4Test, BadTerminator) {
  http::Request r = Signed("ListSecrets", "{}");
  for (auto& [k, v] : r.headers) {
    if (k == "Authorization") v.replace(v.find("aws4_request"), 12, "aws5_request");
  }
  EXPECT_EQ(Fails(r, Code::kInvalidSignature),
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'.");
}

TEST_F(SigV4Test, BadDateFormat) {
  http::Request r = Signed("ListSecrets", "{}");
  SetHeader(r, "X-Amz-Date", "2023-11-14T22:13:20Z");
  EXPECT_EQ(Fails(r, Code::kIncompleteSignature),
            "Date must be in ISO-8601 'basic format'. Got '2023-11-14T22:13:20Z'. See "
            "http://en.wikipedia.org/wiki/ISO_8601");
}

TEST_F(SigV4Test, DateHeaderInsteadOfXAmzDate) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  RemoveHeader(r, "X-Amz-Date");
  r.headers.emplace_back("Date", "Tue, 14 Nov 2023 22:13:20 GMT");  // FakeClock's default instant
  crypto::sigv4::CanonicalInput in;
  in.method = r.method;
  in.path = "/";
  for (const auto& [k, v] : r.headers) in.headers.push_back({k, v});
  in.payload_hash = crypto::Sha256Hex(r.body);
  r.headers.emplace_back("Authorization",
                         crypto::sigv4::SignRequest(root_.secret_access_key, root_.access_key_id, "us-east-1",
                                                    "secretsmanager", "20231114T221320Z", in));
  auto result = Verify(r);
  EXPECT_TRUE(result.ok()) << result.error().ToLogString();
}

TEST_F(SigV4Test, ContentSha256Header) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  r.headers.emplace_back("X-Amz-Content-Sha256", crypto::Sha256Hex("{}"));
  Sign(r);
  EXPECT_TRUE(Verify(r).ok());

  http::Request wrong = MakeRequest("ListSecrets", "{}");
  wrong.headers.emplace_back("X-Amz-Content-Sha256", crypto::Sha256Hex("{ }"));
  Sign(wrong);
  EXPECT_EQ(Fails(wrong, Code::kInvalidSignature),
            "The provided 'x-amz-content-sha256' header does not match what was computed.");

  http::Request unsigned_payload = MakeRequest("ListSecrets", "{}");
  unsigned_payload.headers.emplace_back("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD");
  Sign(unsigned_payload);
  Fails(unsigned_payload, Code::kInvalidSignature);
}

TEST_F(SigV4Test, PresignedQuery) {
  auto ok = Verify(Presigned("{}", "300", crypto::Sha256Hex("{}")));
  ASSERT_TRUE(ok.ok()) << ok.error().ToLogString();
  EXPECT_EQ(ok->region, "us-west-2");

  auto unsigned_payload = Verify(Presigned("{}", "300", "UNSIGNED-PAYLOAD"));
  EXPECT_TRUE(unsigned_payload.ok()) << unsigned_payload.error().ToLogString();

  // Tampering with the query breaks the signature.
  http::Request tampered = Presigned("{}", "300", crypto::Sha256Hex("{}"));
  tampered.target += "&extra=1";
  EXPECT_EQ(Fails(tampered, Code::kInvalidSignature), kMismatch);

  // X-Amz-Expires bounds the window.
  http::Request short_lived = Presigned("{}", "60", crypto::Sha256Hex("{}"));
  clock_.Advance(2min);
  EXPECT_EQ(Fails(short_lived, Code::kInvalidSignature).rfind("Signature expired: ", 0), 0u);

  http::Request bad_expires = Presigned("{}", "0", crypto::Sha256Hex("{}"));
  Fails(bad_expires, Code::kIncompleteSignature);

  http::Request missing;
  missing.method = "POST";
  missing.target = "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=abc";
  missing.headers = {{"Host", "localhost:8200"}};
  EXPECT_EQ(Fails(missing, Code::kIncompleteSignature),
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters "
            "must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. "
            "Re-examine the query-string parameters.");

  // A query without SigV4 parameters is simply unauthenticated.
  http::Request plain = MakeRequest("ListSecrets", "{}");
  plain.target = "/?foo=bar";
  Fails(plain, Code::kMissingAuthentication);
}

TEST_F(SigV4Test, RotatedSecretIsNotServedFromTheSigningKeyCache) {
  ASSERT_TRUE(Verify(Signed("ListSecrets", "{}")).ok());
  // Another AccessKeys (empty cache) over the same store, different secret -> the cached signing key
  // must not be reused for it.
  SecretBytes other = SecretBytes::CopyOf("0123456789012345678901234567890123456789");
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    auto row = (*txn)->GetAccessKey(root_.access_key_id);
    ASSERT_TRUE(row.ok() && row->has_value());
    store::AccessKeyRow updated = **row;
    auto sealed = keyring_->Seal(other.view(), root_.access_key_id);
    ASSERT_TRUE(sealed.ok());
    updated.secret = *sealed;
    ASSERT_TRUE((*txn)->PutAccessKey(updated).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  iam::AccessKeys fresh(*store_, *keyring_, "aws", "000000000000");
  SigV4Verifier verifier(fresh, clock_);
  EXPECT_FALSE(verifier.Verify(Signed("ListSecrets", "{}"), "secretsmanager").ok());
  EXPECT_TRUE(verifier.Verify(Signed("ListSecrets", "{}", SignOptions{.secret = &other}), "secretsmanager").ok());
}

// ---- temporary credentials (STS sessions) ----

class SigV4SessionTest : public SigV4Test {
 protected:
  void SetUp() override {
    SigV4Test::SetUp();
    sessions_ = std::make_unique<iam::SessionTokens>(*keyring_, clock_);
    session_verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_, sessions_.get());
    const std::int64_t now = ToUnixMillis(clock_.Now());
    iam::Caller c;
    c.type = iam::PrincipalType::kAssumedRole;
    c.account = "000000000000";
    c.arn = "arn:aws:sts::000000000000:assumed-role/app/s1";
    c.user_id = "AROAEXAMPLEEXAMPLE01:s1";
    c.principal = "app";
    c.role_arn = "arn:aws:iam::000000000000:role/app";
    c.role_id = "AROAEXAMPLEEXAMPLE01";
    c.session_name = "s1";
    c.session_issued_ms = now;
    c.session_expires_ms = now + 3600 * 1000;
    auto creds = sessions_->Issue(c);
    ASSERT_TRUE(creds.ok()) << creds.error().ToLogString();
    creds_ = std::move(creds).value();
  }
  void TearDown() override {
    session_verifier_.reset();
    SigV4Test::TearDown();
  }

  // Signed with the session's key; the token header added before signing (signed, as boto3 does) or
  // after (unsigned).
  http::Request SessionSigned(bool token_signed = true, std::string token = {}) {
    if (token.empty()) token = creds_.session_token;
    http::Request r = MakeRequest("ListSecrets", "{}");
    if (token_signed) r.headers.emplace_back("X-Amz-Security-Token", token);
    Sign(r, SignOptions{.access_key_id = creds_.access_key_id, .secret = &creds_.secret_access_key});
    if (!token_signed) r.headers.emplace_back("X-Amz-Security-Token", token);
    return r;
  }

  std::string SessionFails(const http::Request& r, Code code) {
    auto result = session_verifier_->Verify(r, "secretsmanager");
    EXPECT_FALSE(result.ok());
    if (result.ok()) return {};
    EXPECT_EQ(result.error().code(), code) << result.error().ToLogString();
    return result.error().message();
  }

  std::unique_ptr<iam::SessionTokens> sessions_;
  std::unique_ptr<SigV4Verifier> session_verifier_;
  iam::TemporaryCredentials creds_;
};

TEST_F(SigV4SessionTest, AcceptsSessionCredentialsWithTheTokenSignedOrNot) {
  for (bool token_signed : {true, false}) {
    std::string akid;
    auto result = session_verifier_->Verify(SessionSigned(token_signed), "secretsmanager", &akid);
    ASSERT_TRUE(result.ok()) << result.error().ToLogString();
    EXPECT_EQ(result->caller.type, iam::PrincipalType::kAssumedRole);
    EXPECT_EQ(result->caller.arn, "arn:aws:sts::000000000000:assumed-role/app/s1");
    EXPECT_EQ(result->caller.access_key_id, creds_.access_key_id);
    EXPECT_EQ(result->caller.role_arn, "arn:aws:iam::000000000000:role/app");
    EXPECT_EQ(akid, creds_.access_key_id);
  }
}

TEST_F(SigV4SessionTest, PresignedWithTheTokenInTheQuery) {
  http::Request r;
  r.method = "GET";
  r.headers = {{"Host", "localhost:8200"}};
  std::string date = AmzDate();
  std::string scope = crypto::sigv4::CredentialScope(date.substr(0, 8), "us-east-1", "secretsmanager");
  // Canonical order: parameters sorted by name (X-Amz-Security-Token sorts after X-Amz-Date).
  std::string query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + creds_.access_key_id + "%2F" +
                      crypto::sigv4::UriEncode(scope, true) + "&X-Amz-Date=" + date + "&X-Amz-Expires=300" +
                      "&X-Amz-Security-Token=" + crypto::sigv4::UriEncode(creds_.session_token, true) +
                      "&X-Amz-SignedHeaders=host";
  crypto::sigv4::CanonicalInput in;
  in.method = "GET";
  in.path = "/";
  in.query = query;
  in.headers = {{"Host", "localhost:8200"}};
  in.signed_headers = {"host"};
  in.payload_hash = "UNSIGNED-PAYLOAD";
  SecretBytes key = crypto::sigv4::DeriveSigningKey(creds_.secret_access_key, date.substr(0, 8), "us-east-1",
                                                    "secretsmanager");
  std::string sig = crypto::sigv4::Signature(
      key, crypto::sigv4::StringToSign(date, scope, crypto::sigv4::CanonicalRequest(in)));
  r.target = "/?" + query + "&X-Amz-Signature=" + sig;
  auto result = session_verifier_->Verify(r, "secretsmanager");
  ASSERT_TRUE(result.ok()) << result.error().ToLogString();
  EXPECT_EQ(result->caller.arn, "arn:aws:sts::000000000000:assumed-role/app/s1");
}

TEST_F(SigV4SessionTest, AsiaKeyWithoutTokenIsRefused) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  Sign(r, SignOptions{.access_key_id = creds_.access_key_id, .secret = &creds_.secret_access_key});
  EXPECT_EQ(SessionFails(r, Code::kUnrecognizedClient), "The security token included in the request is invalid.");
}

TEST_F(SigV4SessionTest, LongTermKeyWithATokenIsRefused) {
  http::Request r = MakeRequest("ListSecrets", "{}");
  r.headers.emplace_back("X-Amz-Security-Token", creds_.session_token);
  Sign(r);  // the root key
  EXPECT_EQ(SessionFails(r, Code::kUnrecognizedClient), "The security token included in the request is invalid.");
}

TEST_F(SigV4SessionTest, TokenOfAnotherSessionIsRefused) {
  const std::int64_t now = ToUnixMillis(clock_.Now());
  iam::Caller c;
  c.arn = "arn:aws:sts::000000000000:assumed-role/other/s2";
  c.session_issued_ms = now;
  c.session_expires_ms = now + 3600 * 1000;
  auto other = sessions_->Issue(c);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(SessionFails(SessionSigned(true, other->session_token), Code::kUnrecognizedClient),
            "The security token included in the request is invalid.");
  std::string tampered = creds_.session_token;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  SessionFails(SessionSigned(true, tampered), Code::kUnrecognizedClient);
}

TEST_F(SigV4SessionTest, ExpiredSessionIsRefused) {
  ASSERT_TRUE(session_verifier_->Verify(SessionSigned(), "secretsmanager").ok());
  clock_.Advance(3600s);
  EXPECT_EQ(SessionFails(SessionSigned(), Code::kExpiredToken), "The security token included in the request is expired");
}

TEST_F(SigV4SessionTest, WrongSecretStillFailsTheSignature) {
  SecretBytes wrong = creds_.secret_access_key.Clone();
  wrong.data()[0] = wrong.data()[0] == 'A' ? 'B' : 'A';
  http::Request r = MakeRequest("ListSecrets", "{}");
  r.headers.emplace_back("X-Amz-Security-Token", creds_.session_token);
  Sign(r, SignOptions{.access_key_id = creds_.access_key_id, .secret = &wrong});
  EXPECT_EQ(SessionFails(r, Code::kInvalidSignature), kMismatch);
}

TEST_F(SigV4SessionTest, VerifierWithoutSessionsRefusesTokens) {
  // The plain verifier (no session resolver) never accepts temporary credentials.
  EXPECT_EQ(Fails(SessionSigned(), Code::kUnrecognizedClient), "The security token included in the request is invalid.");
}

}  // namespace
}  // namespace arca::frontends::aws
