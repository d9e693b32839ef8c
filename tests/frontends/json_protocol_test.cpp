// The JSON 1.1 protocol through Router::Handle: error shapes and headers, dispatch, body decoding.
#include "frontends/aws/json_protocol.h"

#include <gtest/gtest.h>

#include "frontend_fixture.h"

namespace arca::frontends::aws {
namespace {

using testing::FrontendTest;

class JsonProtocolTest : public FrontendTest {};

TEST(ErrorShapeTest, EveryCodeMaps) {
  struct Case {
    Code code;
    std::string_view type;
    int status;
  };
  const Case cases[] = {
      {Code::kInvalidParameter, "InvalidParameterException", 400},
      {Code::kInvalidRequest, "InvalidRequestException", 400},
      {Code::kMissingParameter, "InvalidParameterException", 400},
      {Code::kSerialization, "SerializationException", 400},
      {Code::kUnknownOperation, "UnknownOperationException", 400},
      {Code::kInvalidNextToken, "InvalidNextTokenException", 400},
      {Code::kNotFound, "ResourceNotFoundException", 400},
      {Code::kAlreadyExists, "ResourceExistsException", 400},
      {Code::kLimitExceeded, "LimitExceededException", 400},
      {Code::kMalformedPolicy, "MalformedPolicyDocumentException", 400},
      {Code::kPublicPolicy, "PublicPolicyException", 400},
      {Code::kPreconditionNotMet, "PreconditionNotMetException", 400},
      {Code::kPayloadTooLarge, "RequestEntityTooLargeException", 413},
      {Code::kMissingAuthentication, "MissingAuthenticationTokenException", 403},
      {Code::kIncompleteSignature, "IncompleteSignatureException", 400},
      {Code::kInvalidSignature, "InvalidSignatureException", 400},
      {Code::kUnrecognizedClient, "UnrecognizedClientException", 400},
      {Code::kAccessDenied, "AccessDeniedException", 400},
      {Code::kDecryptionFailure, "DecryptionFailure", 400},
      {Code::kEncryptionFailure, "EncryptionFailure", 400},
      {Code::kUnavailable, "ServiceUnavailable", 503},
      {Code::kInternal, "InternalServiceError", 500},
  };
  for (const Case& c : cases) {
    ErrorShape shape = ShapeOf(c.code);
    EXPECT_EQ(shape.type, c.type) << CodeName(c.code);
    EXPECT_EQ(shape.status, c.status) << CodeName(c.code);
  }
}

TEST(ErrorShapeTest, InternalErrorsHideTheirMessage) {
  http::Response r = ErrorResponse(Error(Code::kInternal, "sqlite: disk I/O error at /var/lib/arca", "x"),
                                   "req-1", "com.amazonaws.secretsmanager");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, R"({"__type":"InternalServiceError","message":"An error occurred on the server side."})");
}

TEST_F(JsonProtocolTest, MissingAuthenticationShape) {
  http::Response r = router_->Handle(MakeRequest("ListSecrets", "{}"));
  EXPECT_EQ(ExpectError(r, "MissingAuthenticationTokenException", 403), "Missing Authentication Token");
  EXPECT_EQ(r.body, R"({"__type":"MissingAuthenticationTokenException","message":"Missing Authentication Token"})");
}

TEST_F(JsonProtocolTest, RequestIdsAreFreshUuids) {
  http::Response a = Call("ListSecrets", boost::json::object{});
  http::Response b = Call("ListSecrets", boost::json::object{});
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(LooksLikeUuid(Header(a, "x-amzn-RequestId")));
  EXPECT_NE(Header(a, "x-amzn-RequestId"), Header(b, "x-amzn-RequestId"));
  EXPECT_EQ(Header(a, "Content-Type"), "application/x-amz-json-1.1");
}

TEST_F(JsonProtocolTest, SignatureErrorsAreEncoded) {
  SecretBytes wrong = SecretBytes::CopyOf(std::string(40, 'w'));
  http::Response r = Call("ListSecrets", boost::json::object{}, testing::SignOptions{.secret = &wrong});
  ExpectError(r, "InvalidSignatureException", 400);
  EXPECT_EQ(r.body.find(std::string(root_.secret_access_key.view())), std::string::npos);

  SecretBytes any = SecretBytes::CopyOf(std::string(40, 'x'));
  r = Call("ListSecrets", boost::json::object{},
           testing::SignOptions{.access_key_id = "AKIA-FAKE-EXAMPLE-ID", .secret = &any});
  EXPECT_EQ(ExpectError(r, "UnrecognizedClientException", 400),
            "The security token included in the request is invalid.");

  http::Request incomplete = MakeRequest("ListSecrets", "{}");
  incomplete.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 garbage");
  ExpectError(router_->Handle(incomplete), "IncompleteSignatureException", 400);
}

TEST_F(JsonProtocolTest, UnknownOperations) {
  EXPECT_EQ(ExpectError(Call("NoSuchOperation", boost::json::object{}), "UnknownOperationException", 400),
            "The operation NoSuchOperation is not supported.");

  http::Request other = MakeRequest("ListTables", "{}", "DynamoDB_20120810");
  Sign(other);
  ExpectError(router_->Handle(other), "UnknownOperationException", 400);

  http::Request none = MakeRequest("", "{}");
  Sign(none);
  ExpectError(router_->Handle(none), "UnknownOperationException", 400);

  http::Request get = Signed("ListSecrets", "");
  get.method = "GET";
  ExpectError(router_->Handle(get), "UnknownOperationException", 400);
}

TEST_F(JsonProtocolTest, BodyDecoding) {
  for (std::string body : {"{not json", "[1,2", "\xff\xfe", R"({"SecretId": "a")", "[]", "5", R"("x")"}) {
    http::Response r = router_->Handle(Signed("GetSecretValue", body));
    ExpectError(r, "SerializationException", 400);
  }
  // Wrong member types.
  ExpectError(router_->Handle(Signed("GetSecretValue", R"({"SecretId": 5})")), "SerializationException", 400);
  ExpectError(router_->Handle(Signed("ListSecrets", R"({"MaxResults": "5"})")), "SerializationException", 400);
  ExpectError(router_->Handle(Signed("ListSecrets", R"({"Filters": {"Key": "name"}})")),
              "SerializationException", 400);
  ExpectError(router_->Handle(Signed("CreateSecret", R"({"Name": "a", "SecretString": 1})")),
              "SerializationException", 400);
  ExpectError(router_->Handle(Signed("CreateSecret", R"({"Name": "a", "SecretBinary": "not base64!"})")),
              "SerializationException", 400);

  // An empty body is {}; unknown members are ignored.
  EXPECT_EQ(router_->Handle(Signed("ListSecrets", "")).status, 200);
  EXPECT_EQ(router_->Handle(Signed("ListSecrets", R"({"Unknown": [1]})")).status, 200);
  // JSON null is "absent".
  EXPECT_EQ(router_->Handle(Signed("ListSecrets", R"({"MaxResults": null})")).status, 200);
}

TEST_F(JsonProtocolTest, MissingRequiredMembers) {
  EXPECT_EQ(ExpectError(router_->Handle(Signed("GetSecretValue", "{}")), "InvalidParameterException", 400),
            "You must provide a value for the SecretId parameter.");
  EXPECT_NE(ExpectError(router_->Handle(Signed("CreateSecret", R"({"SecretString": "v"})")),
                        "InvalidParameterException", 400)
                .find("Name"),
            std::string::npos);
  EXPECT_NE(ExpectError(router_->Handle(Signed("TagResource", R"({"SecretId": "x"})")),
                        "InvalidParameterException", 400)
                .find("Tags"),
            std::string::npos);
  EXPECT_NE(ExpectError(router_->Handle(Signed("UpdateSecretVersionStage", R"({"SecretId": "x"})")),
                        "InvalidParameterException", 400)
                .find("VersionStage"),
            std::string::npos);
}

TEST_F(JsonProtocolTest, HandleErrorAnswersInTheAwsShape) {
  http::Request partial = MakeRequest("CreateSecret", "");
  http::Response big = router_->HandleError(partial, 413, "Request body exceeds 1048576 bytes");
  EXPECT_EQ(ExpectError(big, "RequestEntityTooLargeException", 413), "Request body exceeds 1048576 bytes");

  http::Response bad = router_->HandleError(partial, 400, "malformed HTTP request");
  EXPECT_EQ(ExpectError(bad, "SerializationException", 400), "malformed HTTP request");
}

}  // namespace
}  // namespace arca::frontends::aws
