// GET /arca/v1/changes through the Router: parameters, errors, the answer's shape, and the deferred
// long-poll (answered by a commit, by its deadline, or at once on Shutdown).

#include "frontends/change_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>

#include "frontend_fixture.h"

namespace arca::frontends {
namespace {

using testing::FrontendTest;

// Catches the response a deferred call hands the server.
class Catcher {
 public:
  http::Ready ready() {
    return [this](std::optional<http::Response> r) {
      std::lock_guard<std::mutex> lock(mu_);
      response_ = std::move(r);
      done_ = true;
      cv_.notify_all();
    };
  }
  // The response, or nullopt when none came within `timeout`.
  std::optional<http::Response> Wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return done_; })) return std::nullopt;
    return response_;
  }
  bool done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::optional<http::Response> response_;
};

class ChangeStreamTest : public FrontendTest {
 protected:
  http::Request Get(const std::string& query, bool sign = true, const std::string& region = "us-east-1") {
    http::Request r;
    r.method = "GET";
    r.target = std::string(ChangeStream::kPath) + (query.empty() ? "" : "?" + query);
    r.headers = {{"Host", "localhost:8200"}, {"X-Amz-Date", AmzDate()}};
    r.remote_addr = "127.0.0.1";
    if (sign) {
      testing::SignOptions opt;
      opt.region = region;
      Sign(r, opt);
    }
    return r;
  }

  void Put(const std::string& name, const std::string& value) {
    secrets::Context ctx;
    ctx.region = "us-east-1";
    secrets::CreateSecretInput in;
    in.name = name;
    in.value.string = SecretBytes::CopyOf(value);
    auto out = service_->CreateSecret(ctx, std::move(in));
    ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  }
};

TEST_F(ChangeStreamTest, AnswersChangesWithoutValues) {
  Put("app/a", "value-of-a");
  Put("app/b", "value-of-b");
  http::Response r = router_->Handle(Get("after=0&wait=0"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.defer);
  EXPECT_EQ(Header(r, "Content-Type"), "application/json");
  EXPECT_TRUE(LooksLikeUuid(Header(r, "x-amzn-RequestId")));
  EXPECT_EQ(r.body.find("value-of"), std::string::npos) << r.body;
  boost::json::object body = BodyOf(r);
  const boost::json::array& changes = body["Changes"].as_array();
  ASSERT_EQ(changes.size(), 2u);
  const boost::json::object& first = changes[0].as_object();
  EXPECT_EQ(first.at("Sequence").as_int64(), 1);
  EXPECT_TRUE(first.at("Time").is_double());
  EXPECT_EQ(first.at("Region").as_string(), "us-east-1");
  EXPECT_EQ(first.at("Name").as_string(), "app/a");
  EXPECT_TRUE(first.at("ARN").as_string().starts_with("arn:aws:secretsmanager:us-east-1:"));
  EXPECT_FALSE(first.at("Deleted").as_bool());
  const boost::json::array& versions = first.at("Versions").as_array();
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0].at("VersionStages").as_array(), boost::json::array{"AWSCURRENT"});
  EXPECT_EQ(body["NextSequence"].as_int64(), 2);
  EXPECT_FALSE(body["Reset"].as_bool());

  // after=latest (or none): nothing, from the head on; limit pages.
  for (const char* q : {"after=latest", "", "wait=5"}) {
    http::Response latest = router_->Handle(Get(q));
    ASSERT_EQ(latest.status, 200) << latest.body;
    EXPECT_FALSE(latest.defer);
    EXPECT_EQ(latest.body, R"({"Changes":[],"NextSequence":2,"Reset":false})");
  }
  http::Response page = router_->Handle(Get("after=0&limit=1&wait=0"));
  boost::json::object page_body = BodyOf(page);
  EXPECT_EQ(page_body["Changes"].as_array().size(), 1u);
  EXPECT_EQ(page_body["NextSequence"].as_int64(), 1);
  // Another region's namespace has none of them.
  http::Response eu = router_->Handle(Get("after=0&wait=0", true, "eu-west-1"));
  EXPECT_EQ(eu.body, R"({"Changes":[],"NextSequence":2,"Reset":false})");
}

TEST_F(ChangeStreamTest, ErrorsAreAwsShaped) {
  ExpectError(router_->Handle(Get("after=0", false)), "MissingAuthenticationTokenException", 403);
  for (const char* q : {"wait=61", "wait=-1", "wait=1.5", "limit=0", "limit=1001", "after=x", "after=-3",
                        "after=99999999999999999999"}) {
    std::string message = ExpectError(router_->Handle(Get(q)), "ValidationException", 400);
    EXPECT_NE(message.find("failed to satisfy constraint"), std::string::npos) << q << ": " << message;
  }
  http::Request post = Get("after=0");
  post.method = "POST";
  ExpectError(router_->Handle(post), "InvalidRequestException", 400);
  // A future sequence (another history) is a reset, not an error.
  http::Response reset = router_->Handle(Get("after=50&wait=0"));
  EXPECT_EQ(reset.body, R"({"Changes":[],"NextSequence":0,"Reset":true})");
}

TEST_F(ChangeStreamTest, ALongPollIsDeferredAndAnsweredByTheCommit) {
  Put("app/a", "v");
  http::Response r = router_->Handle(Get("after=1&wait=30"));
  ASSERT_TRUE(r.defer) << r.body;
  Catcher catcher;
  r.defer(catcher.ready());
  EXPECT_FALSE(catcher.Wait(std::chrono::milliseconds(200)).has_value());
  Put("app/b", "v");
  std::optional<http::Response> answer = catcher.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->status, 200) << answer->body;
  boost::json::object body = BodyOf(*answer);
  ASSERT_EQ(body["Changes"].as_array().size(), 1u);
  EXPECT_EQ(body["Changes"].as_array()[0].at("Name").as_string(), "app/b");
  EXPECT_EQ(body["NextSequence"].as_int64(), 2);
}

TEST_F(ChangeStreamTest, ALongPollEndsAtItsDeadlinePastOtherRegionsChanges) {
  http::Response r = router_->Handle(Get("after=0&wait=1", true, "eu-west-1"));
  ASSERT_TRUE(r.defer);
  Catcher catcher;
  auto start = std::chrono::steady_clock::now();
  r.defer(catcher.ready());
  Put("app/us-only", "v");  // wakes the waiter, which finds nothing for eu-west-1
  std::optional<http::Response> answer = catcher.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(answer.has_value());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_EQ(answer->body, R"({"Changes":[],"NextSequence":1,"Reset":false})");
}

TEST_F(ChangeStreamTest, ShutdownAnswersPendingAndLaterLongPollsAtOnce) {
  http::Response pending = router_->Handle(Get("after=0&wait=60"));
  ASSERT_TRUE(pending.defer);
  Catcher first;
  pending.defer(first.ready());
  router_->Shutdown();
  std::optional<http::Response> answer = first.Wait(std::chrono::seconds(5));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->body, R"({"Changes":[],"NextSequence":0,"Reset":false})");

  http::Response later = router_->Handle(Get("after=0&wait=60"));
  ASSERT_TRUE(later.defer);
  Catcher second;
  later.defer(second.ready());
  EXPECT_TRUE(second.done());
}

}  // namespace
}  // namespace arca::frontends
