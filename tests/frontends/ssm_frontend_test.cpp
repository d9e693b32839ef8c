// SSM translation: SsmFrontend::Invoke with the real ParamsService (and KmsService) over a SQLite
// store.
#include "frontends/aws/ssm.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "core/clock.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::frontends::aws {
namespace {

namespace bj = boost::json;

class SsmFrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("arca-ssm-frontend-test-" + crypto::NewUuid());
    std::filesystem::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    kms_ = std::make_unique<kms::KmsService>(*store_, *keyring_, clock_, kms::ServiceOptions{});
    service_ = std::make_unique<params::ParamsService>(*store_, *kms_, nullptr, clock_, params::ServiceOptions{});
    frontend_ = std::make_unique<SsmFrontend>(*service_);
  }
  void TearDown() override {
    frontend_.reset();
    service_.reset();
    kms_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Result<std::string> Invoke(std::string_view op, bj::object& input) {
    OperationContext ctx;
    ctx.operation = std::string(op);
    ctx.region = "us-east-1";
    ctx.request_id = "req-1";
    ctx.caller.arn = "arn:aws:iam::000000000000:user/alice";
    return frontend_->Invoke(ctx, input);
  }

  // Runs `op` and parses its (successful) output.
  bj::object Ok(std::string_view op, bj::object input) {
    auto out = Invoke(op, input);
    EXPECT_TRUE(out.ok()) << op << ": " << (out.ok() ? "" : out.error().ToLogString());
    if (!out.ok()) return {};
    boost::system::error_code ec;
    bj::value v = bj::parse(*out, ec);
    EXPECT_FALSE(ec) << *out;
    return v.is_object() ? v.get_object() : bj::object{};
  }

  // Runs `op` and returns the error's wire name (what the JSON protocol sends as __type).
  std::string Fail(std::string_view op, bj::object input) {
    auto out = Invoke(op, input);
    EXPECT_FALSE(out.ok()) << op;
    if (out.ok()) return "OK";
    return out.error().wire_type().empty() ? std::string(ShapeOf(out.error().code()).type)
                                           : out.error().wire_type();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<kms::KmsService> kms_;
  std::unique_ptr<params::ParamsService> service_;
  std::unique_ptr<SsmFrontend> frontend_;
};

TEST_F(SsmFrontendTest, Identity) {
  EXPECT_EQ(frontend_->target_prefix(), "AmazonSSM");
  EXPECT_EQ(frontend_->signing_name(), "ssm");
  EXPECT_EQ(frontend_->coral_namespace(), "com.amazonaws.ssm");
  for (std::string_view op : {"PutParameter", "GetParameter", "GetParameters", "GetParametersByPath",
                              "DeleteParameter", "DeleteParameters", "DescribeParameters",
                              "GetParameterHistory", "LabelParameterVersion", "UnlabelParameterVersion",
                              "AddTagsToResource", "RemoveTagsFromResource", "ListTagsForResource"}) {
    EXPECT_TRUE(frontend_->HasOperation(op)) << op;
  }
  EXPECT_FALSE(frontend_->HasOperation("SendCommand"));
}

TEST_F(SsmFrontendTest, PutTakesTheValueOutOfTheRequest) {
  const std::string value = "p@ss \"quoted\"\n\\ é ☃";
  bj::object put{{"Name", "/app/secret"}, {"Value", value}, {"Type", "SecureString"},
                 {"Description", "d"}, {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "shop"}}}}};
  auto out = Invoke("PutParameter", put);
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(bj::parse(*out), bj::parse(R"({"Version":1,"Tier":"Standard"})"));
  // What the audit record is built from no longer holds the value.
  EXPECT_FALSE(put.contains("Value"));
  EXPECT_EQ(bj::serialize(put).find("quoted"), std::string::npos);
  EXPECT_TRUE(put.contains("Name"));

  bj::object got = Ok("GetParameter", {{"Name", "/app/secret"}, {"WithDecryption", true}});
  const bj::object& p = got["Parameter"].as_object();
  EXPECT_EQ(p.at("Name"), bj::value("/app/secret"));
  EXPECT_EQ(p.at("Type"), bj::value("SecureString"));
  EXPECT_EQ(p.at("Value"), bj::value(value));
  EXPECT_EQ(p.at("Version"), bj::value(1));
  EXPECT_EQ(p.at("ARN"), bj::value("arn:aws:ssm:us-east-1:000000000000:parameter/app/secret"));
  EXPECT_EQ(p.at("DataType"), bj::value("text"));
  ASSERT_TRUE(p.at("LastModifiedDate").is_number());
  EXPECT_DOUBLE_EQ(p.at("LastModifiedDate").to_number<double>(), 1700000000.0);
  EXPECT_FALSE(p.contains("Selector"));
  EXPECT_FALSE(p.contains("SourceResult"));

  bj::object hidden = Ok("GetParameter", {{"Name", "/app/secret"}});
  const std::string ciphertext(hidden["Parameter"].as_object().at("Value").as_string());
  EXPECT_NE(ciphertext, value);
  EXPECT_TRUE(crypto::Base64Decode(ciphertext).has_value());

  // A missing or mistyped Value is refused, and still removed.
  bj::object missing{{"Name", "/x"}, {"Type", "String"}};
  EXPECT_EQ(Fail("PutParameter", missing), "ValidationException");
  bj::object typed{{"Name", "/x"}, {"Type", "String"}, {"Value", 5}};
  EXPECT_EQ(Fail("PutParameter", typed), "SerializationException");
  bj::object wiped{{"Name", "bad name"}, {"Type", "String"}, {"Value", "secret-ish"}};
  auto refused = Invoke("PutParameter", wiped);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().wire_type(), "ValidationException");
  EXPECT_FALSE(wiped.contains("Value"));
}

TEST_F(SsmFrontendTest, ErrorNames) {
  EXPECT_EQ(Fail("GetParameter", {{"Name", "/nope"}}), "ParameterNotFound");
  EXPECT_EQ(Fail("GetParameter", {}), "ValidationException");
  EXPECT_EQ(Fail("GetParameter", {{"Name", "a b"}}), "ValidationException");
  EXPECT_EQ(Fail("GetParameter", {{"Name", 3}}), "SerializationException");
  Ok("PutParameter", {{"Name", "/e"}, {"Value", "v"}, {"Type", "String"}});
  EXPECT_EQ(Fail("PutParameter", {{"Name", "/e"}, {"Value", "v"}, {"Type", "String"}}), "ParameterAlreadyExists");
  EXPECT_EQ(Fail("GetParameter", {{"Name", "/e:4"}}), "ParameterVersionNotFound");
  EXPECT_EQ(Fail("GetParametersByPath", {{"Path", "/"}, {"NextToken", "zzz"}}), "InvalidNextToken");
  EXPECT_EQ(Fail("DescribeParameters",
                 {{"ParameterFilters", bj::array{bj::object{{"Key", "Label"}, {"Values", bj::array{"x"}}}}}}),
            "InvalidFilterKey");
  EXPECT_EQ(Fail("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/none"}}),
            "InvalidResourceId");
  EXPECT_EQ(Fail("PutParameter", {{"Name", "/k"}, {"Value", "v"}, {"Type", "SecureString"}, {"KeyId", "alias/none"}}),
            "InvalidKeyId");
  EXPECT_EQ(Fail("GetParameters", {{"Names", "/e"}}), "SerializationException");
  EXPECT_EQ(Fail("LabelParameterVersion", {{"Name", "/e"}, {"Labels", bj::array{"ok"}}, {"ParameterVersion", "1"}}),
            "SerializationException");
}

TEST_F(SsmFrontendTest, GetParametersAndByPath) {
  Ok("PutParameter", {{"Name", "/p/b"}, {"Value", "B"}, {"Type", "String"}});
  Ok("PutParameter", {{"Name", "/p/a"}, {"Value", "x,y"}, {"Type", "StringList"}});
  Ok("PutParameter", {{"Name", "/p/deep/c"}, {"Value", "C"}, {"Type", "String"}});
  bj::object out = Ok("GetParameters", {{"Names", bj::array{"/p/b", "/p/a", "/p/none", "/p/b:1"}}});
  const bj::array& params = out["Parameters"].as_array();
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].at("Name"), bj::value("/p/a"));
  EXPECT_EQ(params[0].at("Value"), bj::value("x,y"));
  EXPECT_EQ(params[2].at("Selector"), bj::value(":1"));
  EXPECT_EQ(out["InvalidParameters"], bj::value(bj::array{"/p/none"}));

  bj::object page = Ok("GetParametersByPath", {{"Path", "/p"}, {"Recursive", true}, {"MaxResults", 2}});
  EXPECT_EQ(page["Parameters"].as_array().size(), 2u);
  ASSERT_TRUE(page["NextToken"].is_string());
  bj::object rest = Ok("GetParametersByPath", {{"Path", "/p"}, {"Recursive", true}, {"NextToken", page["NextToken"]}});
  EXPECT_EQ(rest["Parameters"].as_array().size(), 1u);
  EXPECT_FALSE(rest.contains("NextToken"));
  bj::object filtered = Ok("GetParametersByPath",
                           {{"Path", "/p"},
                            {"ParameterFilters", bj::array{bj::object{{"Key", "Type"}, {"Option", "Equals"},
                                                                      {"Values", bj::array{"StringList"}}}}}});
  ASSERT_EQ(filtered["Parameters"].as_array().size(), 1u);
  EXPECT_EQ(filtered["Parameters"].as_array()[0].at("Name"), bj::value("/p/a"));

  bj::object deleted = Ok("DeleteParameters", {{"Names", bj::array{"/p/a", "/p/none"}}});
  EXPECT_EQ(deleted["DeletedParameters"], bj::value(bj::array{"/p/a"}));
  EXPECT_EQ(deleted["InvalidParameters"], bj::value(bj::array{"/p/none"}));
  EXPECT_EQ(Ok("DeleteParameter", {{"Name", "/p/b"}}), bj::object{});
}

TEST_F(SsmFrontendTest, DescribeHistoryLabelsAndTags) {
  const std::string policies =
      R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"2030-01-01T00:00:00Z"}}])";
  Ok("PutParameter", {{"Name", "/d/p"}, {"Value", "one"}, {"Type", "SecureString"}, {"Tier", "Advanced"},
                      {"Policies", policies}, {"AllowedPattern", "^[a-z]+$"}, {"Description", "desc"}});
  Ok("PutParameter", {{"Name", "/d/p"}, {"Value", "two"}, {"Overwrite", true}});
  bj::object described = Ok("DescribeParameters", {{"Filters", bj::array{bj::object{{"Key", "Name"},
                                                                                    {"Values", bj::array{"/d/"}}}}},
                                                    {"MaxResults", 5}});
  const bj::array& list = described["Parameters"].as_array();
  ASSERT_EQ(list.size(), 1u);
  const bj::object& m = list[0].as_object();
  EXPECT_EQ(m.at("Name"), bj::value("/d/p"));
  EXPECT_EQ(m.at("ARN"), bj::value("arn:aws:ssm:us-east-1:000000000000:parameter/d/p"));
  EXPECT_EQ(m.at("Type"), bj::value("SecureString"));
  EXPECT_EQ(m.at("KeyId"), bj::value("alias/aws/ssm"));
  EXPECT_EQ(m.at("LastModifiedUser"), bj::value("arn:aws:iam::000000000000:user/alice"));
  EXPECT_EQ(m.at("Description"), bj::value("desc"));
  EXPECT_EQ(m.at("AllowedPattern"), bj::value("^[a-z]+$"));
  EXPECT_EQ(m.at("Version"), bj::value(2));
  EXPECT_EQ(m.at("Tier"), bj::value("Advanced"));
  EXPECT_EQ(m.at("DataType"), bj::value("text"));
  EXPECT_FALSE(m.contains("Value"));
  const bj::array& pol = m.at("Policies").as_array();
  ASSERT_EQ(pol.size(), 1u);
  EXPECT_EQ(pol[0].at("PolicyType"), bj::value("Expiration"));
  EXPECT_EQ(pol[0].at("PolicyStatus"), bj::value("Pending"));
  EXPECT_TRUE(bj::parse(pol[0].at("PolicyText").as_string()).is_object());

  bj::object labelled = Ok("LabelParameterVersion", {{"Name", "/d/p"}, {"ParameterVersion", 1},
                                                     {"Labels", bj::array{"old", "aws-no"}}});
  EXPECT_EQ(labelled["InvalidLabels"], bj::value(bj::array{"aws-no"}));
  EXPECT_EQ(labelled["ParameterVersion"], bj::value(1));

  bj::object history = Ok("GetParameterHistory", {{"Name", "/d/p"}, {"WithDecryption", true}, {"MaxResults", 1}});
  ASSERT_EQ(history["Parameters"].as_array().size(), 1u);
  const bj::object& h = history["Parameters"].as_array()[0].as_object();
  EXPECT_EQ(h.at("Value"), bj::value("one"));
  EXPECT_EQ(h.at("Labels"), bj::value(bj::array{"old"}));
  EXPECT_EQ(h.at("KeyId"), bj::value("alias/aws/ssm"));
  ASSERT_TRUE(history["NextToken"].is_string());
  bj::object second = Ok("GetParameterHistory", {{"Name", "/d/p"}, {"NextToken", history["NextToken"]}});
  ASSERT_EQ(second["Parameters"].as_array().size(), 1u);
  EXPECT_EQ(second["Parameters"].as_array()[0].at("Labels"), bj::value(bj::array{}));
  EXPECT_NE(second["Parameters"].as_array()[0].at("Value"), bj::value("two"));

  bj::object unlabelled = Ok("UnlabelParameterVersion", {{"Name", "/d/p"}, {"ParameterVersion", 1},
                                                         {"Labels", bj::array{"old", "never"}}});
  EXPECT_EQ(unlabelled["RemovedLabels"], bj::value(bj::array{"old"}));
  EXPECT_EQ(unlabelled["InvalidLabels"], bj::value(bj::array{"never"}));

  EXPECT_EQ(Ok("AddTagsToResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/d/p"},
                                     {"Tags", bj::array{bj::object{{"Key", "a"}, {"Value", "1"}},
                                                        bj::object{{"Key", "b"}, {"Value", ""}}}}}),
            bj::object{});
  EXPECT_EQ(Ok("RemoveTagsFromResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/d/p"},
                                          {"TagKeys", bj::array{"a"}}}),
            bj::object{});
  bj::object tags = Ok("ListTagsForResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/d/p"}});
  EXPECT_EQ(tags["TagList"], bj::parse(R"([{"Key":"b","Value":""}])"));
  EXPECT_EQ(Fail("AddTagsToResource", {{"ResourceType", "Parameter"}, {"ResourceId", "/d/p"},
                                       {"Tags", bj::array{bj::object{{"Key", "a"}}}}}),
            "ValidationException");
}

}  // namespace
}  // namespace arca::frontends::aws
