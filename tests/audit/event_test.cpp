#include "audit/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

namespace arca::audit {
namespace {

namespace bj = boost::json;

std::vector<std::string> Keys(const bj::object& o) {
  std::vector<std::string> keys;
  for (const auto& kv : o) keys.emplace_back(kv.key());
  return keys;
}

TimePoint At(std::int64_t unix_seconds) { return TimePoint(std::chrono::seconds(unix_seconds)); }

TEST(CamelCase, AsCloudTrailWritesMemberNames) {
  EXPECT_EQ(CamelCaseMember("SecretId"), "secretId");
  EXPECT_EQ(CamelCaseMember("ARN"), "arn");
  EXPECT_EQ(CamelCaseMember("KMSKeyId"), "kmsKeyId");
  EXPECT_EQ(CamelCaseMember("KmsKeyId"), "kmsKeyId");
  EXPECT_EQ(CamelCaseMember("VersionIdsToStages"), "versionIdsToStages");
  EXPECT_EQ(CamelCaseMember("secretId"), "secretId");
  EXPECT_EQ(CamelCaseMember(""), "");
}

TEST(Redaction, SecretValuesNeverAppear) {
  bj::object body = bj::parse(R"({
    "Name": "prod/db", "ClientRequestToken": "tok-1", "SecretString": "hunter2-SECRET",
    "SecretBinary": "c2VjcmV0LWJpbmFyeQ==", "Description": "the db",
    "Tags": [{"Key": "team", "Value": "infra"}],
    "Nested": {"Password": "p4ss-SECRET", "Keep": 1, "List": [{"SecretAccessKey": "wJalr-SECRET"}]}
  })")
                        .as_object();
  bj::object out = RedactMembers(body, DefaultRedaction());
  const std::string text = bj::serialize(out);
  EXPECT_EQ(text.find("SECRET"), std::string::npos) << text;
  EXPECT_EQ(text.find("c2VjcmV0"), std::string::npos) << text;
  EXPECT_EQ(text.find("ecretString"), std::string::npos)
      << "AWS drops secretString entirely: " << text;
  EXPECT_EQ(out.at("name"), "prod/db");
  EXPECT_EQ(out.at("clientRequestToken"), "tok-1");
  EXPECT_EQ(out.at("description"), "the db");
  EXPECT_EQ(out.at("tags").as_array().at(0).as_object().at("key"), "team");
  EXPECT_EQ(out.at("nested").as_object().at("keep"), 1);
  EXPECT_FALSE(out.at("nested").as_object().contains("password"));
}

TEST(Redaction, HiddenMembersKeepTheirNameWithCloudTrailsMarker) {
  bj::object body =
      bj::parse(R"({"UserName": "bob", "Password": "p4ss", "PolicyDocument": "{...}"})")
          .as_object();
  Redaction r;
  r.hide = {"password", "PolicyDocument"};
  bj::object out = RedactMembers(body, r);
  EXPECT_EQ(out.at("userName"), "bob");
  EXPECT_EQ(out.at("password").as_string(), kHiddenValue);
  EXPECT_EQ(out.at("policyDocument").as_string(), kHiddenValue);
}

TEST(Redaction, CallerCannotKeepADefaultSensitiveMember) {
  bj::object body = bj::parse(R"({"SecretString": "s3cr3t"})").as_object();
  Redaction none;
  EXPECT_TRUE(RedactMembers(body, none).empty());
}

EventInput BaseInput() {
  EventInput in;
  in.event_time = At(1795600800);  // 2026-11-25T10:00:00Z
  in.event_source = "secretsmanager.amazonaws.com";
  in.event_name = "GetSecretValue";
  in.region = "eu-west-1";
  in.source_ip = "10.0.0.7";
  in.user_agent = "Boto3/1.34";
  in.request_parameters = bj::object{{"secretId", "prod/db"}};
  in.request_id = "11111111-2222-4333-8444-555555555555";
  in.event_id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
  in.read_only = true;
  return in;
}

TEST(BuildRecord, FieldsInCloudTrailOrder) {
  EventInput in = BaseInput();
  in.identity.type = IdentityType::kIamUser;
  in.identity.account = "123456789012";
  in.identity.arn = "arn:aws:iam::123456789012:user/alice";
  in.identity.user_id = "AIDAEXAMPLE";
  in.identity.access_key_id = "AKIAEXAMPLE";
  in.identity.principal = "alice";
  in.resources.push_back({"arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "",
                          "AWS::SecretsManager::Secret"});
  bj::object r = BuildRecord(in);
  EXPECT_EQ(Keys(r), (std::vector<std::string>{
                         "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName",
                         "awsRegion", "sourceIPAddress", "userAgent", "requestParameters",
                         "responseElements", "requestID", "eventID", "readOnly", "resources",
                         "eventType", "managementEvent", "recipientAccountId", "eventCategory"}));
  EXPECT_EQ(r.at("eventVersion"), "1.09");
  EXPECT_EQ(r.at("eventTime"), "2026-11-25T10:00:00Z");
  EXPECT_EQ(r.at("eventType"), "AwsApiCall");
  EXPECT_EQ(r.at("managementEvent"), true);
  EXPECT_EQ(r.at("readOnly"), true);
  EXPECT_TRUE(r.at("responseElements").is_null());
  EXPECT_EQ(r.at("recipientAccountId"), "123456789012");
  EXPECT_EQ(r.at("eventID"), "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
  const bj::object& u = r.at("userIdentity").as_object();
  EXPECT_EQ(Keys(u), (std::vector<std::string>{"type", "principalId", "arn", "accountId",
                                               "accessKeyId", "userName"}));
  EXPECT_EQ(u.at("type"), "IAMUser");
  EXPECT_EQ(u.at("userName"), "alice");
  const bj::object& res = r.at("resources").as_array().at(0).as_object();
  EXPECT_EQ(res.at("accountId"), "123456789012");
  EXPECT_EQ(res.at("type"), "AWS::SecretsManager::Secret");
}

TEST(BuildRecord, FailedCallCarriesErrorCodeAfterUserAgent) {
  EventInput in = BaseInput();
  in.identity.type = IdentityType::kRoot;
  in.identity.account = "123456789012";
  in.identity.arn = "arn:aws:iam::123456789012:root";
  in.error_code = "AccessDenied";
  in.error_message = "User: arn:aws:iam::123456789012:user/bob is not authorized";
  in.event_id.clear();
  bj::object r = BuildRecord(in);
  std::vector<std::string> keys = Keys(r);
  ASSERT_GE(keys.size(), 10u);
  EXPECT_EQ(keys[7], "userAgent");
  EXPECT_EQ(keys[8], "errorCode");
  EXPECT_EQ(keys[9], "errorMessage");
  EXPECT_EQ(r.at("errorCode"), "AccessDenied");
  EXPECT_EQ(r.at("eventID").as_string().size(), 36u);  // a fresh UUID
  const bj::object& u = r.at("userIdentity").as_object();
  EXPECT_EQ(u.at("type"), "Root");
  EXPECT_EQ(u.at("principalId"), "123456789012");
  EXPECT_FALSE(u.contains("accessKeyId"));
  EXPECT_FALSE(r.contains("resources"));
}

TEST(BuildRecord, WebIdentitySessionIsAnAssumedRoleWithFederationData) {
  EventInput in = BaseInput();
  IdentityInput& id = in.identity;
  id.type = IdentityType::kAssumedRole;
  id.account = "123456789012";
  id.arn = "arn:aws:sts::123456789012:assumed-role/reader/pod-1";
  id.user_id = "AROAEXAMPLE:pod-1";
  id.access_key_id = "ASIAEXAMPLE";
  id.principal = "reader";
  id.role_arn = "arn:aws:iam::123456789012:role/reader";
  id.role_id = "AROAEXAMPLE";
  id.session_name = "pod-1";
  id.session_issued_ms = 1795600000000;
  id.web_identity = WebIdentityInput{"arn:aws:iam::123456789012:oidc-provider/k8s.example.com",
                                     "k8s.example.com",
                                     "system:serviceaccount:apps:api",
                                     {"sts.amazonaws.com"}};
  bj::object u = BuildUserIdentity(id);
  EXPECT_EQ(u.at("type"), "AssumedRole");
  EXPECT_EQ(u.at("principalId"), "AROAEXAMPLE:pod-1");
  const bj::object& ctx = u.at("sessionContext").as_object();
  EXPECT_EQ(Keys(ctx),
            (std::vector<std::string>{"sessionIssuer", "webIdFederationData", "attributes"}));
  const bj::object& issuer = ctx.at("sessionIssuer").as_object();
  EXPECT_EQ(issuer.at("type"), "Role");
  EXPECT_EQ(issuer.at("principalId"), "AROAEXAMPLE");
  EXPECT_EQ(issuer.at("arn"), "arn:aws:iam::123456789012:role/reader");
  EXPECT_EQ(issuer.at("userName"), "reader");
  const bj::object& fed = ctx.at("webIdFederationData").as_object();
  EXPECT_EQ(fed.at("federatedProvider"), "arn:aws:iam::123456789012:oidc-provider/k8s.example.com");
  EXPECT_EQ(fed.at("attributes").as_object().at("k8s.example.com:sub"),
            "system:serviceaccount:apps:api");
  EXPECT_EQ(fed.at("attributes").as_object().at("k8s.example.com:aud"), "sts.amazonaws.com");
  const bj::object& attrs = ctx.at("attributes").as_object();
  EXPECT_EQ(attrs.at("creationDate"), "2026-11-25T09:46:40Z");
  EXPECT_EQ(attrs.at("mfaAuthenticated"), "false");

  id.web_identity.reset();
  bj::object plain = BuildUserIdentity(id);
  EXPECT_FALSE(plain.at("sessionContext").as_object().contains("webIdFederationData"));
}

TEST(SerializeRecord, SameBytesAsTheValueTree) {
  std::vector<EventInput> inputs;
  EventInput user = BaseInput();
  user.identity.type = IdentityType::kIamUser;
  user.identity.account = "123456789012";
  user.identity.arn = "arn:aws:iam::123456789012:user/al\"ice";
  user.identity.principal = "al\"ice";
  user.user_agent =
      std::string("odd \\ agent \n\t\x01\x1f\x7f caf\xc3\xa9 /path\0end", 33);  // a NUL too
  user.error_code = "ResourceNotFoundException";
  user.error_message = "Secrets Manager can't find the specified secret.";
  user.response_elements = bj::parse(R"({"arn":"x","versionIds":[1,2.5,true,null]})");
  user.resources.push_back({"arn:1", "", "AWS::SecretsManager::Secret"});
  user.resources.push_back({"arn:2", "999999999999", "AWS::KMS::Key"});
  inputs.push_back(user);
  EventInput role = BaseInput();
  role.identity.type = IdentityType::kAssumedRole;
  role.identity.account = "123456789012";
  role.identity.role_arn = "arn:aws:iam::123456789012:role/r";
  role.identity.web_identity = WebIdentityInput{"arn:p", "iss", "sub", {"a", "b"}};
  inputs.push_back(role);
  role.identity.web_identity->audiences = {"one"};
  inputs.push_back(role);
  role.identity.web_identity.reset();
  inputs.push_back(role);
  EventInput unknown = BaseInput();
  unknown.identity.access_key_id = "AKIAUNKNOWN";
  unknown.request_parameters = nullptr;
  unknown.recipient_account = "000000000000";
  inputs.push_back(unknown);
  EventInput root = BaseInput();
  root.identity.type = IdentityType::kRoot;
  root.identity.account = "123456789012";
  inputs.push_back(root);
  for (const EventInput& in : inputs) {
    const std::string direct = SerializeRecord(in);
    EXPECT_EQ(direct, bj::serialize(BuildRecord(in)));
    EXPECT_TRUE(bj::parse(direct).is_object());
  }
}

}  // namespace
}  // namespace arca::audit
