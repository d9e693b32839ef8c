#include "operator/aws_source.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <vector>

namespace arca::op {
namespace {

namespace bj = boost::json;

// Records every call and answers from a script: operation -> function of the request.
struct FakeApi {
  std::vector<std::pair<std::string, bj::object>> calls;
  std::function<Result<bj::object>(const std::string&, const bj::object&)> answer;

  JsonCall Call() {
    return [this](std::string_view op, const bj::object& req) -> Result<bj::object> {
      calls.emplace_back(std::string(op), req);
      return answer(std::string(op), req);
    };
  }
};

Error AwsError(Code code, const std::string& type, const std::string& msg) {
  return Error(code, msg).WithWireType(type);
}

TEST(SecretsManagerSourceTest, VersionsAsEsoReadsThem) {
  FakeApi api;
  api.answer = [](const std::string& op, const bj::object& req) -> Result<bj::object> {
    EXPECT_EQ(op, "GetSecretValue");
    if (req.at("SecretId").as_string() == "pre/gone") return AwsError(Code::kNotFound, "ResourceNotFoundException", "x");
    if (req.at("SecretId").as_string() == "pre/deleted") {
      return AwsError(Code::kInvalidRequest, "InvalidRequestException",
                      "You can't perform this operation on the secret because it was marked for deletion.");
    }
    if (req.at("SecretId").as_string() == "pre/bin") return bj::object{{"SecretBinary", "AAEC"}};
    return bj::object{{"SecretString", "value"}};
  };
  auto src = NewSecretsManagerSource(api.Call(), "pre/", "test");
  ASSERT_TRUE(src->GetValue("a", "").ok());
  EXPECT_EQ(api.calls.back().second.at("SecretId").as_string(), "pre/a");
  EXPECT_EQ(api.calls.back().second.at("VersionStage").as_string(), "AWSCURRENT");
  ASSERT_TRUE(src->GetValue("a", "AWSPREVIOUS").ok());
  EXPECT_EQ(api.calls.back().second.at("VersionStage").as_string(), "AWSPREVIOUS");
  ASSERT_TRUE(src->GetValue("a", "uuid/1234").ok());
  EXPECT_EQ(api.calls.back().second.at("VersionId").as_string(), "1234");
  EXPECT_FALSE(api.calls.back().second.contains("VersionStage"));
  auto bin = src->GetValue("bin", "");
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(bin->view(), std::string_view("\x00\x01\x02", 3));
  auto gone = src->GetValue("gone", "");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  auto deleted = src->GetValue("deleted", "");
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().code(), Code::kNotFound);
  EXPECT_EQ(deleted.error().message(), "secret pre/deleted is scheduled for deletion");
}

TEST(SecretsManagerSourceTest, PrefetchReadsSeveralKeysInOneBatch) {
  FakeApi api;
  bool deny_batch = false;
  api.answer = [&](const std::string& op, const bj::object& req) -> Result<bj::object> {
    if (op == "BatchGetSecretValue") {
      if (deny_batch) return AwsError(Code::kAccessDenied, "AccessDeniedException", "no");
      EXPECT_EQ(req.at("SecretIdList").as_array().size(), 2u);
      return bj::object{{"SecretValues", bj::array{bj::object{{"Name", "p/a"}, {"ARN", "arn:a"}, {"SecretString", "A"}},
                                                   bj::object{{"Name", "p/b"}, {"ARN", "arn:b"}, {"SecretString", "B"}}}},
                        {"Errors", bj::array{}}};
    }
    return bj::object{{"SecretString", "single-" + std::string(req.at("SecretId").as_string())}};
  };
  auto src = NewSecretsManagerSource(api.Call(), "p/", "test");
  src->Prefetch({"a", "b"});
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(src->GetValue("a", "")->view(), "A");
  EXPECT_EQ(src->GetValue("b", "AWSCURRENT")->view(), "B");
  EXPECT_EQ(api.calls.size(), 1u);  // both served from the batch
  EXPECT_EQ(src->GetValue("a", "AWSPREVIOUS")->view(), "single-p/a");  // another version: its own call
  // A batch refused (no secretsmanager:BatchGetSecretValue) falls back to one call per key.
  deny_batch = true;
  api.calls.clear();
  auto other = NewSecretsManagerSource(api.Call(), "p/", "test");
  other->Prefetch({"a", "b"});
  EXPECT_EQ(other->GetValue("a", "")->view(), "single-p/a");
  EXPECT_EQ(api.calls.size(), 2u);
}

TEST(SecretsManagerSourceTest, TagsAndFind) {
  FakeApi api;
  api.answer = [](const std::string& op, const bj::object& req) -> Result<bj::object> {
    if (op == "DescribeSecret") {
      return bj::object{{"Tags", bj::array{bj::object{{"Key", "env"}, {"Value", "prod"}}}}};
    }
    if (op == "ListSecrets") {
      if (!req.contains("NextToken")) {
        return bj::object{{"SecretList", bj::array{bj::object{{"Name", "shop/a"}}, bj::object{{"Name", "other"}}}},
                          {"NextToken", "t2"}};
      }
      return bj::object{{"SecretList", bj::array{bj::object{{"Name", "shop/b"}}}}};
    }
    if (op == "GetSecretValue") return bj::object{{"SecretString", "v-" + std::string(req.at("SecretId").as_string())}};
    if (op == "BatchGetSecretValue") {
      return bj::object{{"SecretValues", bj::array{bj::object{{"Name", "shop/a"}, {"SecretString", "A"}},
                                                   bj::object{{"Name", "x/b"}, {"SecretString", "B"}}}}};
    }
    return Error(Code::kInternal, "unexpected " + op);
  };
  auto src = NewSecretsManagerSource(api.Call(), "", "test");
  auto tags = src->GetTags("s", "");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->at("env"), "prod");

  FindQuery by_name;
  by_name.name_regexp = "^shop/";
  auto found = src->Find(by_name);
  ASSERT_TRUE(found.ok()) << found.error().message();
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ(found->at("shop/b").view(), "v-shop/b");

  api.calls.clear();
  FindQuery by_tags;
  by_tags.tags = {{"env", "prod"}};
  by_tags.path = "shop/";
  auto tagged = src->Find(by_tags);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->size(), 2u);  // no name matcher: the server's filters decide
  ASSERT_EQ(api.calls.size(), 1u);
  EXPECT_EQ(api.calls[0].first, "BatchGetSecretValue");
  EXPECT_EQ(bj::serialize(api.calls[0].second.at("Filters")),
            R"([{"Key":"tag-key","Values":["env"]},{"Key":"tag-value","Values":["prod"]},{"Key":"name","Values":["shop/"]}])");

  FindQuery name_and_path;
  name_and_path.name_regexp = "^shop/";
  name_and_path.path = "shop/";
  auto batched = src->Find(name_and_path);
  ASSERT_TRUE(batched.ok());
  EXPECT_EQ(batched->size(), 1u);
  EXPECT_EQ(batched->at("shop/a").view(), "A");
}

TEST(ParameterStoreSourceTest, GetParameterTagsAndFind) {
  FakeApi api;
  bool deny_by_path = false;
  api.answer = [&](const std::string& op, const bj::object& req) -> Result<bj::object> {
    if (op == "GetParameter") {
      const std::string name(req.at("Name").as_string());
      EXPECT_TRUE(req.at("WithDecryption").as_bool());
      if (name == "/shop/missing") return AwsError(Code::kInvalidParameter, "ParameterNotFound", "not found");
      return bj::object{{"Parameter", bj::object{{"Name", name}, {"Value", "val:" + name}}}};
    }
    if (op == "ListTagsForResource") {
      EXPECT_EQ(req.at("ResourceType").as_string(), "Parameter");
      return bj::object{{"TagList", bj::array{bj::object{{"Key", "team"}, {"Value", "a"}}}}};
    }
    if (op == "GetParametersByPath") {
      if (deny_by_path) return AwsError(Code::kAccessDenied, "AccessDeniedException", "denied");
      EXPECT_TRUE(req.at("Recursive").as_bool());
      return bj::object{{"Parameters", bj::array{bj::object{{"Name", "/shop/db"}, {"Value", "1"}},
                                                 bj::object{{"Name", "/shop/redis"}, {"Value", "2"}}}}};
    }
    if (op == "DescribeParameters") {
      return bj::object{{"Parameters", bj::array{bj::object{{"Name", "/shop/db"}}, bj::object{{"Name", "/shop/jwt"}}}}};
    }
    return Error(Code::kInternal, "unexpected " + op);
  };
  auto src = NewParameterStoreSource(api.Call(), "/shop/", "test");
  auto v = src->GetValue("db", "");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->view(), "val:/shop/db");
  ASSERT_TRUE(src->GetValue("db", "3").ok());
  EXPECT_EQ(api.calls.back().second.at("Name").as_string(), "/shop/db:3");
  auto missing = src->GetValue("missing", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  auto tags = src->GetTags("db", "");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->at("team"), "a");

  FindQuery by_name;
  by_name.name_regexp = "db$";
  auto found = src->Find(by_name);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->at("/shop/db").view(), "1");
  EXPECT_EQ(api.calls.back().second.at("Path").as_string(), "/");

  deny_by_path = true;  // ESO falls back to DescribeParameters + GetParameter
  auto fallback = src->Find(by_name);
  ASSERT_TRUE(fallback.ok()) << fallback.error().message();
  ASSERT_EQ(fallback->size(), 1u);
  EXPECT_EQ(fallback->at("/shop/db").view(), "val:/shop/db");

  api.calls.clear();
  FindQuery by_tags;
  by_tags.tags = {{"team", "a"}};
  auto tagged = src->Find(by_tags);
  ASSERT_TRUE(tagged.ok());
  EXPECT_EQ(tagged->size(), 2u);
  EXPECT_EQ(bj::serialize(api.calls[0].second.at("ParameterFilters")),
            R"([{"Key":"tag:team","Values":["a"],"Option":"Equals"}])");
}

}  // namespace
}  // namespace arca::op
