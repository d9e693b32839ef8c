// Tests for AwsClient against a loopback fake server that verifies every signature with the same
// crypto::sigv4 functions the real server uses.

#include "client/aws_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/json/serialize.hpp>
#include <chrono>
#include <string>

#include "core/clock.h"
#include "crypto/hash.h"
#include "crypto/sigv4.h"
#include "fakes/http_server.h"

namespace arca::client {
namespace {

using arca::testing::FakeHttpServer;
using arca::testing::FakeRequest;
using arca::testing::FakeResponse;
using namespace std::chrono_literals;

constexpr char kAccessKeyId[] = "AKIDEXAMPLE";
constexpr char kSecretKey[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

Credentials TestCredentials(const std::string& session_token = "") {
  Credentials c;
  c.access_key_id = kAccessKeyId;
  c.secret_access_key = SecretBytes::CopyOf(kSecretKey);
  c.session_token = session_token;
  c.source = "test";
  return c;
}

ClientOptions TestOptions(const std::string& endpoint) {
  ClientOptions o;
  o.endpoint = endpoint;
  o.region = "eu-west-1";
  o.timeout = 5000ms;
  o.max_attempts = 3;
  o.base_backoff = 1ms;
  o.user_agent = "arca-test/1";
  return o;
}

// "" when `r` carries a valid SigV4 signature for `service` made with kSecretKey; else why not.
std::string VerifySignature(const FakeRequest& r, const std::string& service,
                            const std::vector<std::string>& must_sign) {
  std::string why;
  auto auth = crypto::sigv4::ParseAuthorization(r.Header("authorization"), &why);
  if (!auth) return "unparseable Authorization: " + why;
  if (auth->access_key_id != kAccessKeyId) return "wrong key id " + auth->access_key_id;
  if (auth->region != "eu-west-1") return "wrong region " + auth->region;
  if (auth->service != service) return "wrong service " + auth->service;
  for (const std::string& name : must_sign) {
    if (std::find(auth->signed_headers.begin(), auth->signed_headers.end(), name) ==
        auth->signed_headers.end()) {
      return name + " is not signed";
    }
  }
  const std::string amz_date = r.Header("x-amz-date");
  TimePoint when;
  if (!ParseAmzDate(amz_date, &when)) return "bad x-amz-date " + amz_date;
  if (when < std::chrono::system_clock::now() - 5min ||
      when > std::chrono::system_clock::now() + 5min) {
    return "x-amz-date is not now";
  }
  if (amz_date.substr(0, 8) != auth->date) return "scope date differs from x-amz-date";

  crypto::sigv4::CanonicalInput in;
  in.method = r.method;
  std::size_t q = r.target.find('?');
  in.path = r.target.substr(0, q);
  in.query = q == std::string::npos ? "" : r.target.substr(q + 1);
  for (const auto& [k, v] : r.headers) in.headers.push_back({k, v});
  in.signed_headers = auth->signed_headers;
  in.payload_hash = crypto::Sha256Hex(r.body);
  const std::string scope = crypto::sigv4::CredentialScope(auth->date, auth->region, auth->service);
  const std::string sts =
      crypto::sigv4::StringToSign(amz_date, scope, crypto::sigv4::CanonicalRequest(in));
  SecretBytes key = crypto::sigv4::DeriveSigningKey(SecretBytes::CopyOf(kSecretKey), auth->date,
                                                    auth->region, auth->service);
  if (!crypto::ConstantTimeEquals(crypto::sigv4::Signature(key, sts), auth->signature))
    return "signature mismatch";
  return "";
}

FakeResponse Json(int status, const std::string& body) {
  FakeResponse out;
  out.status = status;
  out.headers = {{"Content-Type", "application/x-amz-json-1.1"}};
  out.body = body;
  return out;
}

std::uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// ---- CodeForAwsError ----

TEST(CodeForAwsErrorTest, KnownNames) {
  struct Case {
    const char* name;
    Code code;
  };
  const Case cases[] = {
      {"ResourceNotFoundException", Code::kNotFound},
      {"NoSuchEntity", Code::kNotFound},
      {"AccessDeniedException", Code::kAccessDenied},
      {"AccessDenied", Code::kAccessDenied},
      {"UnrecognizedClientException", Code::kUnrecognizedClient},
      {"InvalidClientTokenId", Code::kUnrecognizedClient},
      {"InvalidSignatureException", Code::kInvalidSignature},
      {"SignatureDoesNotMatch", Code::kInvalidSignature},
      {"IncompleteSignature", Code::kIncompleteSignature},
      {"MissingAuthenticationToken", Code::kMissingAuthentication},
      {"MissingAuthenticationTokenException", Code::kMissingAuthentication},
      {"ExpiredTokenException", Code::kExpiredToken},
      {"ExpiredToken", Code::kExpiredToken},
      {"ResourceExistsException", Code::kAlreadyExists},
      {"EntityAlreadyExists", Code::kAlreadyExists},
      {"InvalidRequestException", Code::kInvalidRequest},
      {"InvalidParameterException", Code::kInvalidParameter},
      {"ValidationException", Code::kValidation},
      {"ValidationError", Code::kValidation},
      {"LimitExceededException", Code::kLimitExceeded},
      {"MalformedPolicyDocumentException", Code::kMalformedPolicy},
      {"InvalidIdentityToken", Code::kInvalidIdentityToken},
      {"DecryptionFailure", Code::kDecryptionFailure},
      {"InternalServiceError", Code::kInternal},
      {"InternalFailure", Code::kInternal},
      {"ServiceUnavailable", Code::kUnavailable},
  };
  for (const Case& c : cases) EXPECT_EQ(CodeForAwsError(c.name, 400), c.code) << c.name;
}

TEST(CodeForAwsErrorTest, UnknownNamesGoByStatus) {
  EXPECT_EQ(CodeForAwsError("SomethingNew", 500), Code::kInternal);
  EXPECT_EQ(CodeForAwsError("", 502), Code::kInternal);
  EXPECT_EQ(CodeForAwsError("", 503), Code::kUnavailable);
  EXPECT_EQ(CodeForAwsError("SomethingNew", 400), Code::kInvalidRequest);
  EXPECT_EQ(CodeForAwsError("", 404), Code::kInvalidRequest);
  EXPECT_EQ(CodeForAwsError("ThrottlingException", 400), Code::kUnavailable);
  EXPECT_EQ(CodeForAwsError("", 429), Code::kUnavailable);
}

// ---- the JSON protocol ----

TEST(AwsClientTest, JsonCallIsSignedVerifiably) {
  std::string verdict = "not called";
  FakeHttpServer server([&verdict](const FakeRequest& r) {
    verdict = VerifySignature(r, "secretsmanager",
                              {"host", "x-amz-date", "content-type", "x-amz-target"});
    if (!verdict.empty())
      return Json(400, R"({"__type":"InvalidSignatureException","message":"bad"})");
    return Json(200, R"({"ARN":"arn:x","SecretString":"s3cr3t"})");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  boost::json::object req{{"SecretId", "app/db"}};
  auto r = client.CallJson("secretsmanager", "secretsmanager.GetSecretValue", req);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(verdict, "");
  EXPECT_EQ(r->at("SecretString").as_string(), "s3cr3t");

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/");
  EXPECT_EQ(seen[0].Header("x-amz-target"), "secretsmanager.GetSecretValue");
  EXPECT_EQ(seen[0].Header("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(seen[0].Header("user-agent"), "arca-test/1");
  EXPECT_EQ(seen[0].Header("x-amz-security-token"), "");
  EXPECT_EQ(seen[0].body, boost::json::serialize(req));
}

TEST(AwsClientTest, SessionTokenIsSentAndSigned) {
  std::string verdict = "not called";
  FakeHttpServer server([&verdict](const FakeRequest& r) {
    verdict = VerifySignature(r, "secretsmanager", {"host", "x-amz-date", "x-amz-security-token"});
    return Json(200, "");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials("session-tok"));
  auto r = client.CallJson("secretsmanager", "secretsmanager.ListSecrets", {});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(verdict, "");
  EXPECT_TRUE(r->empty());  // an empty body is {}
  EXPECT_EQ(server.requests()[0].Header("x-amz-security-token"), "session-tok");
}

TEST(AwsClientTest, JsonErrorKeepsTheServersNameAndMessage) {
  FakeHttpServer server([](const FakeRequest&) {
    return Json(400, R"({"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException",)"
                     R"("message":"Secrets Manager can't find the specified secret."})");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.GetSecretValue", {{"SecretId", "x"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_EQ(r.error().wire_type(), "ResourceNotFoundException");
  EXPECT_EQ(r.error().message(), "Secrets Manager can't find the specified secret.");
  EXPECT_EQ(server.count(), 1u);  // a 4xx is never retried
}

TEST(AwsClientTest, ErrorNameFromTheErrorTypeHeaderAndCapitalMessage) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out = Json(400, R"({"Message":"User is not authorized"})");
    out.headers.emplace_back("x-amzn-ErrorType",
                             "AccessDeniedException:http://internal.amazon.com/");
    return out;
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.GetSecretValue", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kAccessDenied);
  EXPECT_EQ(r.error().wire_type(), "AccessDeniedException");
  EXPECT_EQ(r.error().message(), "User is not authorized");
}

TEST(AwsClientTest, ServerErrorsAreRetriedAndEachAttemptIsSigned) {
  std::atomic<int> calls{0};
  std::atomic<int> bad_signatures{0};
  FakeHttpServer server([&](const FakeRequest& r) {
    if (!VerifySignature(r, "secretsmanager", {"host", "x-amz-date"}).empty()) ++bad_signatures;
    if (++calls <= 2) return Json(500, R"({"__type":"InternalFailure","message":"try again"})");
    return Json(200, R"({"Name":"x"})");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.DescribeSecret", {{"SecretId", "x"}});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->at("Name").as_string(), "x");
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(bad_signatures.load(), 0);
}

TEST(AwsClientTest, RetriesStopAtMaxAttempts) {
  FakeHttpServer server([](const FakeRequest&) {
    return Json(500, R"({"__type":"InternalFailure","message":"broken"})");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.DescribeSecret", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  EXPECT_EQ(r.error().wire_type(), "InternalFailure");
  EXPECT_EQ(r.error().message(), "broken");
  EXPECT_EQ(server.count(), 3u);
}

TEST(AwsClientTest, ThrottlingIsRetried) {
  std::atomic<int> calls{0};
  FakeHttpServer server([&](const FakeRequest&) {
    if (++calls == 1)
      return Json(400, R"({"__type":"ThrottlingException","message":"Rate exceeded"})");
    return Json(200, "{}");
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.ListSecrets", {});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(calls.load(), 2);
}

TEST(AwsClientTest, UnavailableWhenNothingListens) {
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ClosedPort());
  ClientOptions options = TestOptions(endpoint);
  options.max_attempts = 2;
  AwsClient client(options, TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.ListSecrets", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find(endpoint), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("Connection refused"), std::string::npos)
      << r.error().message();
}

TEST(AwsClientTest, BadEndpointIsAnError) {
  AwsClient client(TestOptions("127.0.0.1:8200"), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.ListSecrets", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInvalidParameter);
}

TEST(AwsClientTest, NonJsonSuccessIsAnError) {
  FakeHttpServer server([](const FakeRequest&) { return Json(200, "<html>proxy</html>"); });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallJson("secretsmanager", "secretsmanager.ListSecrets", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
}

// ---- the query protocol ----

TEST(AwsClientTest, QueryCallIsFormEncodedAndSigned) {
  std::string verdict = "not called";
  FakeHttpServer server([&verdict](const FakeRequest& r) {
    verdict = VerifySignature(r, "iam", {"host", "x-amz-date", "content-type"});
    FakeResponse out;
    out.body =
        "<GetUserResponse><GetUserResult><User><UserName>alice</UserName></User></GetUserResult>"
        "</GetUserResponse>";
    return out;
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallQuery("iam", "GetUser", "2010-05-08", {{"UserName", "al ice+/=&~"}});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(verdict, "");
  EXPECT_NE(r->find("<UserName>alice</UserName>"), std::string::npos);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].body, "Action=GetUser&Version=2010-05-08&UserName=al%20ice%2B%2F%3D%26~");
  EXPECT_EQ(seen[0].Header("content-type"), "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(seen[0].Header("x-amz-target"), "");
}

TEST(AwsClientTest, QueryXmlError) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.status = 404;
    out.body =
        "<?xml version=\"1.0\"?>\n<ErrorResponse "
        "xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        "<Error><Type>Sender</Type><Code>NoSuchEntity</Code>"
        "<Message>The user with name &quot;bob&quot; &amp; co cannot be found.</Message></Error>"
        "<RequestId>r-1</RequestId></ErrorResponse>";
    return out;
  });
  AwsClient client(TestOptions(server.url()), TestCredentials());
  auto r = client.CallQuery("iam", "GetUser", "2010-05-08", {{"UserName", "bob"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kNotFound);
  EXPECT_EQ(r.error().wire_type(), "NoSuchEntity");
  EXPECT_EQ(r.error().message(), "The user with name \"bob\" & co cannot be found.");
}

// ---- AssumeRoleWithWebIdentity ----

TEST(AssumeRoleWithWebIdentityTest, UnsignedExchange) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.headers = {{"Content-Type", "text/xml"}};
    out.body =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
        "<AssumeRoleWithWebIdentityResult><Credentials>"
        "<AccessKeyId>ASIATEMP</AccessKeyId>"
        "<SecretAccessKey>tmp/secret+key&amp;x</SecretAccessKey>"
        "<SessionToken>session-token-value</SessionToken>"
        "<Expiration>2030-01-02T03:04:05Z</Expiration>"
        "</Credentials><SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</"
        "SubjectFromWebIdentityToken>"
        "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
    return out;
  });
  auto c =
      AssumeRoleWithWebIdentity(TestOptions(server.url()), "arn:aws:iam::123456789012:role/reader",
                                "pod-1", "header.payload.sig");
  ASSERT_TRUE(c.ok()) << c.error().ToLogString();
  EXPECT_EQ(c->access_key_id, "ASIATEMP");
  EXPECT_EQ(c->secret_access_key.view(), "tmp/secret+key&x");
  EXPECT_EQ(c->session_token, "session-token-value");
  ASSERT_TRUE(c->expiration.has_value());
  EXPECT_EQ(FormatIso8601(*c->expiration), "2030-01-02T03:04:05Z");

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("authorization"), "");
  EXPECT_EQ(seen[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
            "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader&RoleSessionName=pod-1"
            "&WebIdentityToken=header.payload.sig");
}

TEST(AssumeRoleWithWebIdentityTest, ServerRefusal) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.status = 400;
    out.body =
        "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
        "<Message>The token is for another audience.</Message></Error></ErrorResponse>";
    return out;
  });
  auto c = AssumeRoleWithWebIdentity(TestOptions(server.url()), "arn:aws:iam::123456789012:role/r",
                                     "s", "t");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInvalidIdentityToken);
  EXPECT_EQ(c.error().wire_type(), "InvalidIdentityToken");
  EXPECT_EQ(c.error().message(), "The token is for another audience.");
}

TEST(AssumeRoleWithWebIdentityTest, AnswerWithoutCredentialsIsAnError) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.body = "<AssumeRoleWithWebIdentityResponse/>";
    return out;
  });
  auto c = AssumeRoleWithWebIdentity(TestOptions(server.url()), "arn:aws:iam::123456789012:role/r",
                                     "s", "t");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::kInternal);
}

}  // namespace
}  // namespace arca::client
