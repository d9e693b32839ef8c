// CloudTrail LookupEvents through JsonProtocol with a real audit log.
#include "frontends/aws/cloudtrail.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "audit/event.h"
#include "audit/log.h"
#include "audit/query.h"
#include "frontend_fixture.h"
#include "frontends/aws/request_path.h"
#include "frontends/aws/secretsmanager.h"
#include "frontends/aws/sigv4_auth.h"

namespace arca::frontends::aws {
namespace {

namespace bj = boost::json;

constexpr std::string_view kPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101";
constexpr std::int64_t kT0 = 1700000000;  // the fixture's clock
TimePoint At(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

class CloudTrailTest : public testing::FrontendTest {
 protected:
  void SetUp() override {
    FrontendTest::SetUp();
    audit::LogOptions opt = audit::DefaultLogOptions((dir_ / "data").string());
    auto log = audit::Log::Open(opt);
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    log_ = std::move(log).value();
    query_ = std::make_unique<audit::EventQuery>(log_->dir());
    frontend_ = std::make_unique<CloudTrailFrontend>(*query_);
    verifier_ = std::make_unique<SigV4Verifier>(*access_keys_, clock_);
    protocol_ = std::make_unique<JsonProtocol>(*verifier_, hooks_);
  }

  void TearDown() override {
    protocol_.reset();
    verifier_.reset();
    frontend_.reset();
    query_.reset();
    log_.reset();
    FrontendTest::TearDown();
  }

  // An event at kT0 + `minute` minutes.
  void AddEvent(int minute, std::string_view name, std::string_view user) {
    audit::EventInput in;
    in.identity.type = audit::IdentityType::kIamUser;
    in.identity.account = "000000000000";
    in.identity.arn = "arn:aws:iam::000000000000:user/" + std::string(user);
    in.identity.user_id = "AIDA" + std::string(user);
    in.identity.access_key_id = "AKIA" + std::string(user);
    in.identity.principal = std::string(user);
    in.event_time = At(kT0 + 60 * minute);
    in.event_source = "secretsmanager.amazonaws.com";
    in.event_name = std::string(name);
    in.region = "us-east-1";
    in.request_parameters = bj::object{{"secretId", "app/db"}};
    in.event_id = "event-" + std::to_string(minute);
    in.read_only = name.substr(0, 3) == "Get";
    in.resources.push_back({"arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-AbCdEf",
                            "", "AWS::SecretsManager::Secret"});
    ASSERT_TRUE(log_->AppendAndWait(audit::BuildRecord(in)).ok());
  }

  http::Response Lookup(const bj::value& body, const std::string& operation = "LookupEvents") {
    http::Request r = MakeRequest(operation, bj::serialize(body), kPrefix);
    testing::SignOptions opt;
    opt.service = "cloudtrail";
    Sign(r, opt);
    return protocol_->Handle(r, *frontend_);
  }

  bj::object LookupOk(const bj::value& body) {
    http::Response r = Lookup(body);
    EXPECT_EQ(r.status, 200) << r.body;
    return BodyOf(r);
  }

  static std::vector<std::string> Ids(const bj::object& body) {
    std::vector<std::string> ids;
    for (const bj::value& e : body.at("Events").as_array())
      ids.emplace_back(e.at("EventId").as_string());
    return ids;
  }

  void ExpectCloudTrailError(const http::Response& r, std::string_view type) {
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(BodyOf(r)["__type"], bj::value(type)) << r.body;
    EXPECT_EQ(Header(r, "x-amzn-ErrorType"),
              std::string(type) +
                  ":http://internal.amazon.com/coral/com.amazonaws.cloudtrail.v20131101/");
  }

  std::unique_ptr<audit::Log> log_;
  std::unique_ptr<audit::EventQuery> query_;
  std::unique_ptr<CloudTrailFrontend> frontend_;
  RequestHooks hooks_;
  std::unique_ptr<SigV4Verifier> verifier_;
  std::unique_ptr<JsonProtocol> protocol_;
};

TEST_F(CloudTrailTest, LookupByEventNameInBotocoresShape) {
  AddEvent(0, "GetSecretValue", "alice");
  AddEvent(1, "PutSecretValue", "bob");
  AddEvent(2, "GetSecretValue", "carol");
  bj::object body =
      LookupOk({{"LookupAttributes", bj::array{bj::object{{"AttributeKey", "EventName"},
                                                          {"AttributeValue", "GetSecretValue"}}}}});
  EXPECT_FALSE(body.contains("NextToken"));
  ASSERT_EQ(Ids(body), (std::vector<std::string>{"event-2", "event-0"}));
  const bj::object& e = body.at("Events").as_array().at(0).as_object();
  EXPECT_EQ(e.at("EventName"), bj::value("GetSecretValue"));
  EXPECT_EQ(e.at("ReadOnly"), bj::value("true"));
  EXPECT_EQ(e.at("AccessKeyId"), bj::value("AKIAcarol"));
  EXPECT_EQ(e.at("Username"), bj::value("carol"));
  EXPECT_EQ(e.at("EventSource"), bj::value("secretsmanager.amazonaws.com"));
  ASSERT_TRUE(e.at("EventTime").is_double()) << bj::serialize(e);
  EXPECT_DOUBLE_EQ(e.at("EventTime").as_double(), static_cast<double>(kT0 + 120));
  const bj::object& res = e.at("Resources").as_array().at(0).as_object();
  EXPECT_EQ(res.at("ResourceType"), bj::value("AWS::SecretsManager::Secret"));
  EXPECT_EQ(res.at("ResourceName"),
            bj::value("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-AbCdEf"));
  bj::object record = bj::parse(e.at("CloudTrailEvent").as_string()).as_object();
  EXPECT_EQ(record.at("eventID"), bj::value("event-2"));
  EXPECT_EQ(record.at("userIdentity").at("userName"), bj::value("carol"));
  EXPECT_FALSE(record.contains("arcaSequence"));
}

TEST_F(CloudTrailTest, TimeRangeAsEpochSecondsOrIsoStrings) {
  for (int m = 0; m < 5; ++m) AddEvent(m, "GetSecretValue", "alice");
  bj::object body =
      LookupOk({{"StartTime", kT0 + 60}, {"EndTime", static_cast<double>(kT0 + 180) + 0.5}});
  EXPECT_EQ(Ids(body), (std::vector<std::string>{"event-3", "event-2", "event-1"}));
  body = LookupOk({{"StartTime", FormatIso8601(At(kT0 + 240))}});
  EXPECT_EQ(Ids(body), (std::vector<std::string>{"event-4"}));
  ExpectCloudTrailError(Lookup({{"StartTime", kT0 + 600}, {"EndTime", kT0}}),
                        "InvalidTimeRangeException");
  ExpectCloudTrailError(Lookup({{"StartTime", "yesterday"}}), "SerializationException");
}

TEST_F(CloudTrailTest, PagesWithMaxResultsAndNextToken) {
  for (int m = 0; m < 7; ++m) AddEvent(m, "GetSecretValue", "alice");
  std::vector<std::string> seen;
  bj::object req{{"MaxResults", 3}};
  int pages = 0;
  while (true) {
    bj::object body = LookupOk(req);
    ++pages;
    for (const std::string& id : Ids(body)) seen.push_back(id);
    if (!body.contains("NextToken")) break;
    req["NextToken"] = body.at("NextToken");
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"event-6", "event-5", "event-4", "event-3", "event-2",
                                            "event-1", "event-0"}));
}

TEST_F(CloudTrailTest, InvalidInputs) {
  ExpectCloudTrailError(
      Lookup({{"LookupAttributes",
               bj::array{bj::object{{"AttributeKey", "Color"}, {"AttributeValue", "x"}}}}}),
      "InvalidLookupAttributesException");
  ExpectCloudTrailError(
      Lookup({{"LookupAttributes", bj::array{bj::object{{"AttributeKey", "EventName"}}}}}),
      "InvalidLookupAttributesException");
  ExpectCloudTrailError(Lookup({{"MaxResults", 0}}), "InvalidMaxResultsException");
  ExpectCloudTrailError(Lookup({{"MaxResults", 51}}), "InvalidMaxResultsException");
  ExpectCloudTrailError(Lookup({{"NextToken", "not-a-token"}}), "InvalidNextTokenException");
  ExpectCloudTrailError(Lookup({{"EventCategory", "management"}}), "InvalidEventCategoryException");
  ExpectCloudTrailError(Lookup({{"LookupAttributes", "EventName"}}), "SerializationException");
  ExpectCloudTrailError(Lookup(bj::object{}, "CreateTrail"), "UnknownOperationException");
}

TEST_F(CloudTrailTest, InsightEventsAreEmpty) {
  AddEvent(0, "GetSecretValue", "alice");
  bj::object body = LookupOk({{"EventCategory", "insight"}});
  EXPECT_TRUE(body.at("Events").as_array().empty());
  EXPECT_EQ(LookupOk(bj::object{}).at("Events").as_array().size(), 1u);
}

std::string ReadAll(const std::filesystem::path& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream f(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    all += ss.str();
  }
  return all;
}

// The whole loop: a Secrets Manager call recorded by the request path, then found by LookupEvents,
// with the secret's value nowhere in the audit files.
TEST_F(CloudTrailTest, RecordedCallsCanBeLookedUpAndHoldNoSecretValue) {
  hooks_.audit = log_.get();
  SecretsManagerFrontend sm(*service_);
  auto call = [&](std::string_view op, const bj::object& body) {
    http::Request r = MakeRequest(op, bj::serialize(body));
    Sign(r);
    http::Response response = protocol_->Handle(r, sm);
    if (response.defer) {
      std::promise<bool> done;
      response.defer([&done](std::optional<http::Response> replacement) {
        done.set_value(!replacement.has_value());
      });
      EXPECT_TRUE(done.get_future().get()) << "the audit record was not written";
    }
    EXPECT_EQ(response.status, 200) << response.body;
  };
  const std::string value = "correct-horse-battery-staple-7f3a";
  call("CreateSecret", {{"Name", "app/token"}, {"SecretString", value}});
  call("GetSecretValue", {{"SecretId", "app/token"}});
  call("PutSecretValue", {{"SecretId", "app/token"}, {"SecretString", value + "-2"}});

  bj::object body =
      LookupOk({{"LookupAttributes", bj::array{bj::object{{"AttributeKey", "EventName"},
                                                          {"AttributeValue", "GetSecretValue"}}}}});
  ASSERT_EQ(body.at("Events").as_array().size(), 1u) << bj::serialize(body);
  bj::object record =
      bj::parse(body.at("Events").as_array().at(0).at("CloudTrailEvent").as_string()).as_object();
  EXPECT_EQ(record.at("requestParameters").at("secretId"), bj::value("app/token"));
  EXPECT_EQ(record.at("userIdentity").at("type"), bj::value("Root"));
  EXPECT_EQ(record.at("eventSource"), bj::value("secretsmanager.amazonaws.com"));

  ASSERT_TRUE(log_->Flush().ok());
  const std::string files = ReadAll(log_->dir());
  EXPECT_NE(files.find("\"eventName\":\"CreateSecret\""), std::string::npos);
  EXPECT_NE(files.find("\"eventName\":\"PutSecretValue\""), std::string::npos);
  EXPECT_EQ(files.find("correct-horse"), std::string::npos)
      << "a secret value reached the audit log";
}

}  // namespace
}  // namespace arca::frontends::aws
