// Secrets Manager translation round trips through Router::Handle with the real SecretsService.
#include "frontends/aws/secretsmanager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "frontend_fixture.h"

namespace arca::frontends::aws {
namespace {

namespace bj = boost::json;
using testing::FrontendTest;
using testing::SignOptions;

class SecretsManagerTest : public FrontendTest {
 protected:
  bj::object Ok(std::string_view op, const bj::value& body, const SignOptions& opt = {}) {
    http::Response r = Call(op, body, opt);
    EXPECT_EQ(r.status, 200) << op << ": " << r.body;
    EXPECT_EQ(Header(r, "Content-Type"), "application/x-amz-json-1.1");
    EXPECT_TRUE(LooksLikeUuid(Header(r, "x-amzn-RequestId")));
    return BodyOf(r);
  }
};

TEST_F(SecretsManagerTest, CreateAndGetString) {
  const std::string value = "p@ss \"quoted\"\n\\ é ☃";
  bj::object created = Ok("CreateSecret", {{"Name", "app/db"}, {"SecretString", value},
                                           {"ClientRequestToken", std::string(32, 'a')}});
  ASSERT_TRUE(created["ARN"].is_string());
  std::string arn(created["ARN"].get_string());
  EXPECT_EQ(arn.rfind("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-", 0), 0u) << arn;
  EXPECT_EQ(created["Name"], bj::value("app/db"));
  EXPECT_EQ(created["VersionId"], bj::value(std::string(32, 'a')));
  EXPECT_FALSE(created.contains("ReplicationStatus"));

  for (const std::string& id : {std::string("app/db"), arn}) {
    bj::object got = Ok("GetSecretValue", {{"SecretId", id}});
    EXPECT_EQ(got["SecretString"], bj::value(value));
    EXPECT_FALSE(got.contains("SecretBinary"));
    EXPECT_EQ(got["ARN"], bj::value(arn));
    EXPECT_EQ(got["Name"], bj::value("app/db"));
    EXPECT_EQ(got["VersionId"], bj::value(std::string(32, 'a')));
    EXPECT_EQ(got["VersionStages"], bj::value(bj::array{"AWSCURRENT"}));
    ASSERT_TRUE(got["CreatedDate"].is_double()) << bj::serialize(got);
    EXPECT_DOUBLE_EQ(got["CreatedDate"].get_double(), 1700000000.0);
  }
}

TEST_F(SecretsManagerTest, BinaryRoundTrip) {
  std::string bytes("\x00\x01\xfe\xff binary", 11);
  std::string b64 = crypto::Base64Encode(bytes);
  Ok("CreateSecret", {{"Name", "bin"}, {"SecretBinary", b64}});
  bj::object got = Ok("GetSecretValue", {{"SecretId", "bin"}});
  EXPECT_EQ(got["SecretBinary"], bj::value(b64));
  EXPECT_FALSE(got.contains("SecretString"));
}

TEST_F(SecretsManagerTest, NotFoundIsResourceNotFound) {
  http::Response r = Call("GetSecretValue", {{"SecretId", "nope"}});
  std::string message = ExpectError(r, "ResourceNotFoundException", 400);
  EXPECT_FALSE(message.empty());
}

TEST_F(SecretsManagerTest, RegionsAreNamespaces) {
  Ok("CreateSecret", {{"Name", "regional"}, {"SecretString", "east"}});
  bj::object west = Ok("CreateSecret", {{"Name", "regional"}, {"SecretString", "west"}},
                       SignOptions{.region = "eu-west-1"});
  EXPECT_NE(std::string(west["ARN"].get_string()).find(":eu-west-1:"), std::string::npos);
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "regional"}})["SecretString"], bj::value("east"));
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "regional"}}, SignOptions{.region = "eu-west-1"})["SecretString"],
            bj::value("west"));
  ExpectError(Call("GetSecretValue", {{"SecretId", "regional"}}, SignOptions{.region = "ap-south-2"}),
              "ResourceNotFoundException", 400);
}

TEST_F(SecretsManagerTest, DescribeAndListUseTheirOwnMemberNames) {
  Ok("CreateSecret", {{"Name", "described"}, {"SecretString", "v"}, {"Description", "d"},
                      {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "core"}}}}});
  bj::object d = Ok("DescribeSecret", {{"SecretId", "described"}});
  EXPECT_EQ(d["Name"], bj::value("described"));
  EXPECT_EQ(d["Description"], bj::value("d"));
  ASSERT_TRUE(d["VersionIdsToStages"].is_object()) << bj::serialize(d);
  EXPECT_FALSE(d.contains("SecretVersionsToStages"));
  EXPECT_EQ(d["Tags"], bj::value(bj::array{bj::object{{"Key", "team"}, {"Value", "core"}}}));
  EXPECT_TRUE(d["CreatedDate"].is_double());

  bj::object list = Ok("ListSecrets", bj::object{});
  ASSERT_TRUE(list["SecretList"].is_array());
  ASSERT_EQ(list["SecretList"].get_array().size(), 1u);
  bj::object& entry = list["SecretList"].get_array()[0].get_object();
  EXPECT_EQ(entry["Name"], bj::value("described"));
  EXPECT_TRUE(entry["SecretVersionsToStages"].is_object()) << bj::serialize(entry);
  EXPECT_FALSE(entry.contains("VersionIdsToStages"));

  bj::object empty = Ok("ListSecrets", bj::object{}, SignOptions{.region = "sa-east-1"});
  EXPECT_EQ(empty["SecretList"], bj::value(bj::array{}));
}

TEST_F(SecretsManagerTest, PutVersionsAndStages) {
  Ok("CreateSecret", {{"Name", "versions"}, {"SecretString", "one"}});
  bj::object put = Ok("PutSecretValue", {{"SecretId", "versions"}, {"SecretString", "two"}});
  EXPECT_EQ(put["VersionStages"], bj::value(bj::array{"AWSCURRENT"}));
  bj::object ids = Ok("ListSecretVersionIds", {{"SecretId", "versions"}});
  ASSERT_TRUE(ids["Versions"].is_array());
  EXPECT_EQ(ids["Versions"].get_array().size(), 2u);
  EXPECT_EQ(ids["Name"], bj::value("versions"));
  bj::object prev = Ok("GetSecretValue", {{"SecretId", "versions"}, {"VersionStage", "AWSPREVIOUS"}});
  EXPECT_EQ(prev["SecretString"], bj::value("one"));
}

TEST_F(SecretsManagerTest, TagUntagReturnEmptyObjects) {
  Ok("CreateSecret", {{"Name", "tagged"}, {"SecretString", "v"}});
  http::Response tag = Call("TagResource", {{"SecretId", "tagged"},
                                            {"Tags", bj::array{bj::object{{"Key", "k"}, {"Value", "v"}}}}});
  EXPECT_EQ(tag.status, 200);
  EXPECT_EQ(tag.body, "{}");
  http::Response untag = Call("UntagResource", {{"SecretId", "tagged"}, {"TagKeys", bj::array{"k"}}});
  EXPECT_EQ(untag.status, 200);
  EXPECT_EQ(untag.body, "{}");
}

TEST_F(SecretsManagerTest, DeleteAndRestore) {
  Ok("CreateSecret", {{"Name", "doomed"}, {"SecretString", "v"}});
  bj::object del = Ok("DeleteSecret", {{"SecretId", "doomed"}, {"RecoveryWindowInDays", 7}});
  ASSERT_TRUE(del["DeletionDate"].is_double()) << bj::serialize(del);
  EXPECT_DOUBLE_EQ(del["DeletionDate"].get_double(), 1700000000.0 + 7 * 86400);
  ExpectError(Call("GetSecretValue", {{"SecretId", "doomed"}}), "InvalidRequestException", 400);
  bj::object restored = Ok("RestoreSecret", {{"SecretId", "doomed"}});
  EXPECT_EQ(restored["Name"], bj::value("doomed"));
  EXPECT_EQ(Ok("GetSecretValue", {{"SecretId", "doomed"}})["SecretString"], bj::value("v"));
}

TEST_F(SecretsManagerTest, GetRandomPassword) {
  bj::object out = Ok("GetRandomPassword", {{"PasswordLength", 20}, {"ExcludePunctuation", true}});
  ASSERT_TRUE(out["RandomPassword"].is_string());
  EXPECT_EQ(out["RandomPassword"].get_string().size(), 20u);
}

TEST_F(SecretsManagerTest, BatchGetSecretValue) {
  Ok("CreateSecret", {{"Name", "b1"}, {"SecretString", "v1"}});
  bj::object out = Ok("BatchGetSecretValue", {{"SecretIdList", bj::array{"b1", "missing"}}});
  ASSERT_TRUE(out["SecretValues"].is_array());
  ASSERT_EQ(out["SecretValues"].get_array().size(), 1u);
  EXPECT_EQ(out["SecretValues"].get_array()[0].at("SecretString"), bj::value("v1"));
  ASSERT_TRUE(out["Errors"].is_array());
  ASSERT_EQ(out["Errors"].get_array().size(), 1u);
  EXPECT_EQ(out["Errors"].get_array()[0].at("ErrorCode"), bj::value("ResourceNotFoundException"));
}

TEST_F(SecretsManagerTest, ResourcePolicies) {
  Ok("CreateSecret", {{"Name", "policy"}, {"SecretString", "v"}});
  std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]})";
  Ok("PutResourcePolicy", {{"SecretId", "policy"}, {"ResourcePolicy", policy}});
  bj::object got = Ok("GetResourcePolicy", {{"SecretId", "policy"}});
  ASSERT_TRUE(got["ResourcePolicy"].is_string());
  bj::object validated = Ok("ValidateResourcePolicy", {{"ResourcePolicy", policy}});
  EXPECT_TRUE(validated["PolicyValidationPassed"].is_bool());
  EXPECT_TRUE(validated["ValidationErrors"].is_array());
  Ok("DeleteResourcePolicy", {{"SecretId", "policy"}});
  EXPECT_FALSE(Ok("GetResourcePolicy", {{"SecretId", "policy"}}).contains("ResourcePolicy"));
}

TEST_F(SecretsManagerTest, EveryOperationIsDispatched) {
  SecretsManagerFrontend frontend(*service_);
  for (std::string_view op :
       {"BatchGetSecretValue", "CancelRotateSecret", "CreateSecret", "DeleteResourcePolicy", "DeleteSecret",
        "DescribeSecret", "GetRandomPassword", "GetResourcePolicy", "GetSecretValue", "ListSecretVersionIds",
        "ListSecrets", "PutResourcePolicy", "PutSecretValue", "RemoveRegionsFromReplication",
        "ReplicateSecretToRegions", "RestoreSecret", "RotateSecret", "StopReplicationToReplica",
        "TagResource", "UntagResource", "UpdateSecret", "UpdateSecretVersionStage",
        "ValidateResourcePolicy"}) {
    EXPECT_TRUE(frontend.HasOperation(op)) << op;
    // Each answers in the AWS shape (success or a modelled error), never UnknownOperation.
    http::Response r = Call(op, {{"SecretId", "none"}});
    EXPECT_NE(BodyOf(r)["__type"], bj::value("UnknownOperationException")) << op;
    EXPECT_NE(r.status, 500) << op << ": " << r.body;
  }
  EXPECT_FALSE(frontend.HasOperation("getSecretValue"));
}

TEST_F(SecretsManagerTest, ConcurrentReplaysOfOneSignedRequest) {
  // The benchmark's pattern: one signed GetSecretValue replayed many times, from several threads.
  Ok("CreateSecret", {{"Name", "hot"}, {"SecretString", std::string(1024, 'k')}});
  const http::Request request = Signed("GetSecretValue", R"({"SecretId":"hot"})");
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        http::Response r = router_->Handle(request);
        if (r.status == 200 && r.body.find(std::string(1024, 'k')) != std::string::npos) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(SecretsManagerTest, SecretValuesAreWipedFromTheParsedRequest) {
  bj::object input{{"Name", "wiped"}, {"SecretString", "super-secret-value"}};
  OperationContext ctx;
  ctx.operation = "CreateSecret";
  ctx.region = "us-east-1";
  ctx.request_id = "r";
  SecretsManagerFrontend frontend(*service_);
  auto out = frontend.Invoke(ctx, input);
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  std::string_view left(input["SecretString"].get_string());
  EXPECT_EQ(left.find("super-secret-value"), std::string_view::npos);
}

}  // namespace
}  // namespace arca::frontends::aws
