#include "audit/query.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "audit/log.h"
#include "audit_testing.h"

namespace arca::audit {
namespace {

namespace bj = boost::json;
using testing::SampleRecord;
using testing::TempDir;
using testing::TestOptions;

constexpr std::int64_t kT0 = 1795600800;  // 2026-11-25T10:00:00Z
TimePoint At(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

class DenyAll final : public access::Gate {
 public:
  using Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* /*keys*/) override {
    asked = std::string(action) + " on " + resource.arn;
    return Error(Code::kAccessDenied,
                 "User: x is not authorized to perform: " + std::string(action));
  }
  std::string asked;
};

// 20 events, one a minute from kT0, in a small-file log (so pages cross files):
//   minutes 0..9   GetSecretValue by alice on prod/db         (read-only)
//   minutes 10..14 PutSecretValue by bob on prod/api
//   minutes 15..17 ListSecrets by the root
//   minutes 18..19 GetSecretValue by role session pod-1 on prod/db
class QueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LogOptions opt = TestOptions(tmp_.path());
    opt.max_file_bytes = 4096;
    opt.digest_every_records = 4;  // digests between events must be skipped
    log_ = std::move(Log::Open(opt)).value();
    for (int m = 0; m < 20; ++m) Add(m);
    query_ = std::make_unique<EventQuery>(tmp_.path() + "/audit");
  }

  void Add(int minute) {
    bj::object r;
    if (minute < 10) {
      r = SampleRecord(At(kT0 + 60 * minute), "GetSecretValue", "alice", "prod/db");
    } else if (minute < 15) {
      r = SampleRecord(At(kT0 + 60 * minute), "PutSecretValue", "bob", "prod/api");
      r["readOnly"] = false;
    } else if (minute < 18) {
      EventInput in;
      in.identity.type = IdentityType::kRoot;
      in.identity.account = "123456789012";
      in.identity.arn = "arn:aws:iam::123456789012:root";
      in.identity.access_key_id = "AKIAROOTEXAMPLE";
      in.event_time = At(kT0 + 60 * minute);
      in.event_source = "secretsmanager.amazonaws.com";
      in.event_name = "ListSecrets";
      in.read_only = true;
      r = BuildRecord(in);
    } else {
      EventInput in;
      in.identity.type = IdentityType::kAssumedRole;
      in.identity.account = "123456789012";
      in.identity.arn = "arn:aws:sts::123456789012:assumed-role/reader/pod-1";
      in.identity.user_id = "AROAEXAMPLE:pod-1";
      in.identity.access_key_id = "ASIAEXAMPLE";
      in.identity.principal = "reader";
      in.identity.role_arn = "arn:aws:iam::123456789012:role/reader";
      in.event_time = At(kT0 + 60 * minute);
      in.event_source = "secretsmanager.amazonaws.com";
      in.event_name = "GetSecretValue";
      in.read_only = true;
      in.resources.push_back({"arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf",
                              "", "AWS::SecretsManager::Secret"});
      r = BuildRecord(in);
    }
    r["eventID"] = "event-" + std::to_string(minute);
    ASSERT_TRUE(log_->AppendAndWait(std::move(r)).ok());
  }

  LookupResult Lookup(const LookupRequest& req) {
    auto r = query_->LookupEvents(access::AllowAll::Instance(), req);
    EXPECT_TRUE(r.ok()) << r.error().ToLogString();
    return r.ok() ? std::move(r).value() : LookupResult{};
  }

  LookupResult By(std::string key, std::string value) {
    LookupRequest req;
    req.attributes.push_back({std::move(key), std::move(value)});
    return Lookup(req);
  }

  static std::vector<std::string> Ids(const LookupResult& r) {
    std::vector<std::string> ids;
    for (const LookupEvent& e : r.events) ids.push_back(e.event_id);
    return ids;
  }

  static std::vector<std::string> Minutes(std::initializer_list<int> ms) {
    std::vector<std::string> ids;
    for (int m : ms) ids.push_back("event-" + std::to_string(m));
    return ids;
  }

  TempDir tmp_;
  std::unique_ptr<Log> log_;
  std::unique_ptr<EventQuery> query_;
};

TEST_F(QueryTest, AllEventsNewestFirstWithoutDigests) {
  LookupResult r = Lookup({});
  ASSERT_EQ(r.events.size(), 20u);
  EXPECT_TRUE(r.next_token.empty());
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(r.events[static_cast<std::size_t>(i)].event_id, "event-" + std::to_string(19 - i));
  const LookupEvent& e = r.events.back();  // minute 0
  EXPECT_EQ(e.event_name, "GetSecretValue");
  EXPECT_EQ(e.read_only, "true");
  EXPECT_EQ(e.access_key_id, "AKIAEXAMPLEalice");
  EXPECT_EQ(e.username, "alice");
  EXPECT_EQ(e.event_source, "secretsmanager.amazonaws.com");
  EXPECT_EQ(e.event_time, At(kT0));
  ASSERT_EQ(e.resources.size(), 1u);
  EXPECT_EQ(e.resources[0].type, "AWS::SecretsManager::Secret");
  EXPECT_EQ(e.resources[0].name,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf");
  // CloudTrailEvent is the CloudTrail record alone.
  EXPECT_EQ(e.cloudtrail_event.find("arca"), std::string::npos) << e.cloudtrail_event;
  bj::object record = bj::parse(e.cloudtrail_event).as_object();
  EXPECT_EQ(record.at("eventID"), "event-0");
  EXPECT_EQ(record.at("requestParameters").as_object().at("secretId"), "prod/db");
  EXPECT_EQ(r.events[0].username, "pod-1");
  EXPECT_EQ(r.events[2].username, "root");
}

TEST_F(QueryTest, EveryLookupAttribute) {
  EXPECT_EQ(Ids(By("EventName", "PutSecretValue")), Minutes({14, 13, 12, 11, 10}));
  EXPECT_EQ(Ids(By("EventId", "event-7")), Minutes({7}));
  EXPECT_EQ(Ids(By("ReadOnly", "false")), Minutes({14, 13, 12, 11, 10}));
  EXPECT_EQ(By("ReadOnly", "true").events.size(), 15u);
  EXPECT_EQ(Ids(By("Username", "bob")), Minutes({14, 13, 12, 11, 10}));
  EXPECT_EQ(Ids(By("Username", "root")), Minutes({17, 16, 15}));
  EXPECT_EQ(Ids(By("Username", "pod-1")), Minutes({19, 18}));
  EXPECT_EQ(By("ResourceType", "AWS::SecretsManager::Secret").events.size(), 17u);
  EXPECT_EQ(By("ResourceName", "prod/db").events.size(), 12u);
  EXPECT_EQ(By("ResourceName", "prod/db-AbCdEf").events.size(), 12u);
  EXPECT_EQ(Ids(By("ResourceName",
                   "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/api-AbCdEf")),
            Minutes({14, 13, 12, 11, 10}));
  EXPECT_TRUE(By("ResourceName", "prod").events.empty());
  EXPECT_EQ(By("EventSource", "secretsmanager.amazonaws.com").events.size(), 20u);
  EXPECT_TRUE(By("EventSource", "iam.amazonaws.com").events.empty());
  EXPECT_EQ(Ids(By("AccessKeyId", "AKIAROOTEXAMPLE")), Minutes({17, 16, 15}));
  EXPECT_TRUE(By("EventName", "getsecretvalue").events.empty());  // exact match
}

TEST_F(QueryTest, TimeRangeIsInclusive) {
  LookupRequest req;
  req.start_time = At(kT0 + 60 * 3);
  req.end_time = At(kT0 + 60 * 6);
  EXPECT_EQ(Ids(Lookup(req)), Minutes({6, 5, 4, 3}));
  req.end_time.reset();
  EXPECT_EQ(Lookup(req).events.size(), 17u);
  req.start_time.reset();
  req.end_time = At(kT0 + 60);
  EXPECT_EQ(Ids(Lookup(req)), Minutes({1, 0}));
  req.attributes.push_back({"EventName", "GetSecretValue"});
  req.start_time = At(kT0 + 60 * 9);
  req.end_time = At(kT0 + 60 * 18);
  EXPECT_EQ(Ids(Lookup(req)), Minutes({18, 9}));
}

TEST_F(QueryTest, PagesCoverEveryEventOnceAndTokensStayValidWhileTheLogGrows) {
  LookupRequest req;
  req.max_results = 3;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    LookupResult r = Lookup(req);
    EXPECT_LE(r.events.size(), 3u);
    for (const auto& e : r.events) seen.push_back(e.event_id);
    req.next_token = r.next_token;
    if (pages == 1) {
      for (int m = 20; m < 25; ++m) Add(m);  // newer events do not shift the pages
    }
    ++pages;
  } while (!req.next_token.empty() && pages < 20);
  EXPECT_EQ(pages, 7);  // 20 = 6 x 3 + 2; no empty last page
  std::vector<std::string> expected;
  for (int m = 19; m >= 0; --m) expected.push_back("event-" + std::to_string(m));
  EXPECT_EQ(seen, expected);
}

TEST_F(QueryTest, PagingWithAFilter) {
  LookupRequest req;
  req.attributes.push_back({"EventName", "GetSecretValue"});
  req.max_results = 5;
  LookupResult p1 = Lookup(req);
  EXPECT_EQ(Ids(p1), Minutes({19, 18, 9, 8, 7}));
  ASSERT_FALSE(p1.next_token.empty());
  req.next_token = p1.next_token;
  LookupResult p2 = Lookup(req);
  EXPECT_EQ(Ids(p2), Minutes({6, 5, 4, 3, 2}));
  req.next_token = p2.next_token;
  LookupResult p3 = Lookup(req);
  EXPECT_EQ(Ids(p3), Minutes({1, 0}));
  EXPECT_TRUE(p3.next_token.empty());

  // The token belongs to these filters.
  LookupRequest other;
  other.attributes.push_back({"EventName", "PutSecretValue"});
  other.next_token = p1.next_token;
  auto bad = query_->LookupEvents(access::AllowAll::Instance(), other);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidNextToken);
}

TEST_F(QueryTest, InvalidRequests) {
  auto code_of = [this](const LookupRequest& req) {
    auto r = query_->LookupEvents(access::AllowAll::Instance(), req);
    return r.ok() ? Code::kOk : r.error().code();
  };
  LookupRequest two;
  two.attributes = {{"EventName", "A"}, {"Username", "b"}};
  EXPECT_EQ(code_of(two), Code::kInvalidParameter);
  LookupRequest bad_key;
  bad_key.attributes = {{"SecretId", "x"}};
  EXPECT_EQ(code_of(bad_key), Code::kInvalidParameter);
  LookupRequest empty_value;
  empty_value.attributes = {{"EventName", ""}};
  EXPECT_EQ(code_of(empty_value), Code::kValidation);
  LookupRequest range;
  range.start_time = At(kT0 + 10);
  range.end_time = At(kT0);
  EXPECT_EQ(code_of(range), Code::kInvalidParameter);
  LookupRequest zero;
  zero.max_results = 0;
  EXPECT_EQ(code_of(zero), Code::kValidation);
  LookupRequest many;
  many.max_results = 51;
  EXPECT_EQ(code_of(many), Code::kValidation);
  for (std::string token : {"garbage", "YXJjYS1sb29rdXAtdjEgMSAxMjMgMDAwMA==", ""}) {
    LookupRequest t;
    t.next_token = token;
    EXPECT_EQ(code_of(t), token.empty() ? Code::kOk : Code::kInvalidNextToken) << token;
  }
}

TEST_F(QueryTest, AsksTheGate) {
  DenyAll deny;
  auto r = query_->LookupEvents(deny, LookupRequest{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kAccessDenied);
  EXPECT_EQ(deny.asked, "cloudtrail:LookupEvents on *");
}

TEST(QueryEmpty, NoLogNoEvents) {
  TempDir tmp;
  EventQuery q(tmp.path() + "/audit");
  auto r = q.LookupEvents(access::AllowAll::Instance(), LookupRequest{});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(r->next_token.empty());
}

}  // namespace
}  // namespace arca::audit
