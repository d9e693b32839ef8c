#include "server/alerts.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/server.h"

namespace arca::server {
namespace {

using namespace std::chrono_literals;

TEST(AlertRulesTest, Parses) {
  auto rules = ParseAlertRules("5/60s per-principal, 100/2m ,3/1h");
  ASSERT_TRUE(rules.ok()) << rules.error().ToLogString();
  ASSERT_EQ(rules->size(), 3U);
  EXPECT_EQ((*rules)[0].threshold, 5);
  EXPECT_EQ((*rules)[0].window, 60s);
  EXPECT_TRUE((*rules)[0].per_principal);
  EXPECT_EQ((*rules)[0].name, "denied-5-in-60s-per-principal");
  EXPECT_EQ((*rules)[1].window, 120s);
  EXPECT_FALSE((*rules)[1].per_principal);
  EXPECT_EQ((*rules)[2].window, 3600s);
  EXPECT_TRUE(ParseAlertRules("").ok());
}

TEST(AlertRulesTest, RefusesNonsense) {
  for (const char* bad : {"5", "5/60", "x/60s", "0/60s", "5/0s", "5/60s per-user", "5/60d"}) {
    auto r = ParseAlertRules(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Code::kInvalidParameter);
    }
  }
}

// A real local HTTP receiver (Arca's own http::Server) collecting the webhook's POSTs.
class Receiver {
 public:
  Receiver() {
    http::ServerOptions o;
    o.port = 0;
    o.threads = 1;
    auto created = http::Server::Create(
        o,
        [this](const http::Request& req) {
          {
            std::lock_guard<std::mutex> lock(mu_);
            bodies_.push_back(req.body);
          }
          cv_.notify_all();
          http::Response r;
          r.status = 204;
          return r;
        },
        [](const http::Request&, int status, const std::string&) {
          http::Response r;
          r.status = status;
          return r;
        });
    EXPECT_TRUE(created.ok());
    server_ = std::move(*created);
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~Receiver() {
    server_->Stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  std::vector<std::string> WaitFor(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, 10s, [&] { return bodies_.size() >= n; });
    return bodies_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> bodies_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

TEST(AlerterTest, PostsWhenAPrincipalIsDeniedTooOftenWithinTheWindow) {
  Receiver receiver;
  FakeClock clock;
  AlertOptions options;
  options.webhook_url = receiver.url();
  options.rules = *ParseAlertRules("3/60s per-principal");
  options.account_id = "000000000000";
  Alerter alerter(options, clock);
  const std::string alice = "arn:aws:iam::000000000000:user/alice";
  const std::string bob = "arn:aws:iam::000000000000:user/bob";
  alerter.OnDenied(alice, "secretsmanager:GetSecretValue", "db");
  alerter.OnDenied(bob, "secretsmanager:GetSecretValue", "db");
  clock.Advance(61s);  // alice's first denial leaves the window
  alerter.OnDenied(alice, "secretsmanager:GetSecretValue", "db");
  alerter.OnDenied(alice, "secretsmanager:GetSecretValue", "db");
  alerter.OnDenied(bob, "secretsmanager:GetSecretValue", "db");  // bob: 2 in 61 s, no alert
  alerter.OnDenied(alice, "secretsmanager:GetSecretValue", "llm/openai");  // alice: 3 in the window
  auto bodies = receiver.WaitFor(1);
  ASSERT_EQ(bodies.size(), 1U);
  auto alert = boost::json::parse(bodies[0]).as_object();
  EXPECT_EQ(alert["alert"], "denied-3-in-60s-per-principal");
  EXPECT_EQ(alert["principal"], boost::json::value(alice));
  EXPECT_EQ(alert["count"], 3);
  EXPECT_EQ(alert["lastResource"], "llm/openai");
  EXPECT_EQ(alert["account"], "000000000000");
  for (int i = 0; i < 50 && alerter.sent() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(alerter.sent(), 1U);
}

TEST(AlerterTest, OverallRuleCountsEveryone) {
  Receiver receiver;
  FakeClock clock;
  AlertOptions options;
  options.webhook_url = receiver.url();
  options.rules = *ParseAlertRules("4/10s");
  Alerter alerter(options, clock);
  for (int i = 0; i < 8; ++i) alerter.OnDenied("arn:aws:iam::000000000000:user/u" + std::to_string(i), "a", "r");
  auto bodies = receiver.WaitFor(2);
  EXPECT_EQ(bodies.size(), 2U);  // fires at 4, starts over, fires at 8
  auto alert = boost::json::parse(bodies[0]).as_object();
  EXPECT_FALSE(alert.contains("principal"));
}

TEST(AlerterTest, DeadWebhookIsCountedNotFatal) {
  FakeClock clock;
  AlertOptions options;
  options.webhook_url = "http://127.0.0.1:1/hook";  // nothing listens on port 1
  options.rules = *ParseAlertRules("1/10s");
  options.timeout = 2000ms;
  Alerter alerter(options, clock);
  alerter.OnDenied("p", "a", "r");
  for (int i = 0; i < 300 && alerter.failed() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(alerter.failed(), 1U);
  EXPECT_EQ(alerter.sent(), 0U);
}

}  // namespace
}  // namespace arca::server
