#include "rotation/webhook_rotator.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "fakes/http_server.h"
#include "rotation/engine.h"
#include "rotation/random_rotator.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::rotation {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;
using namespace std::chrono_literals;
using testing::FakeHttpServer;
using testing::FakeRequest;
using testing::FakeResponse;

constexpr const char* kHookArn = "arn:aws:lambda:us-east-1:000000000000:function:billing-db";
constexpr std::string_view kKey = "test-hmac-key";

// True when `req` carries a valid signature of its body under kKey.
bool SignatureValid(const FakeRequest& req) {
  const std::string ts = req.Header("x-arca-timestamp");
  const std::string sig = req.Header("x-arca-signature");
  if (ts.empty() || sig.rfind("sha256=", 0) != 0) return false;
  const auto mac = crypto::HmacSha256(kKey, ts + "." + req.body);
  return crypto::ConstantTimeEquals(sig.substr(7), crypto::HexEncode(crypto::AsView(mac)));
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-webhook-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    service_ = std::make_unique<secrets::SecretsService>(*store_, *keyring_, clock_,
                                                         secrets::ServiceOptions{});
    ctx_.region = "us-east-1";
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  WebhookRotator Make(const std::string& url, std::chrono::milliseconds timeout = 5s) {
    WebhookOptions o;
    o.name = "billing-db";
    o.url = url;
    o.hmac_key = SecretBytes::CopyOf(kKey);
    o.timeout = timeout;
    return WebhookRotator(std::move(o), clock_);
  }

  std::string Create(const std::string& name, std::string_view value) {
    secrets::CreateSecretInput in;
    in.name = name;
    in.value.string = SecretBytes::CopyOf(value);
    auto out = service_->CreateSecret(ctx_, std::move(in));
    EXPECT_TRUE(out.ok());
    return out.ok() ? out->arn : "";
  }

  std::string Get(const std::string& name, const std::string& stage) {
    auto v = service_->GetSecretValue(ctx_, {name, std::nullopt, stage});
    if (!v.ok()) return "ERR:" + std::string(CodeName(v.error().code()));
    return std::string(v->secret_string->view());
  }

  fs::path dir_;
  FakeClock clock_{TimePoint(std::chrono::seconds(1'700'000'000))};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<secrets::SecretsService> service_;
  secrets::Context ctx_;
};

TEST_F(WebhookTest, PostsTheLambdaEventSigned) {
  FakeHttpServer hook([](const FakeRequest&) { return FakeResponse{200, {}, "ok"}; });
  auto rotator = Make(hook.url() + "/hook");
  SecretsApi api(*service_, "us-east-1");
  const StepRequest step{"arn:aws:secretsmanager:us-east-1:000000000000:secret:app-AbCdEf", "tok-1",
                         "createSecret"};
  ASSERT_TRUE(rotator.RunStep(api, step).ok());
  ASSERT_EQ(hook.count(), 1u);
  const FakeRequest req = hook.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/hook");
  EXPECT_EQ(req.Header("content-type"), "application/json");
  auto event = bj::parse(req.body).as_object();
  EXPECT_EQ(event.size(), 3u);
  EXPECT_EQ(event.at("SecretId").as_string(), step.secret_id);
  EXPECT_EQ(event.at("ClientRequestToken").as_string(), "tok-1");
  EXPECT_EQ(event.at("Step").as_string(), "createSecret");
  EXPECT_EQ(req.Header("x-arca-timestamp"), "1700000000");
  EXPECT_TRUE(SignatureValid(req));
  // The timestamp is inside the MAC: another timestamp with the same signature does not verify.
  FakeRequest replay = req;
  for (auto& [k, v] : replay.headers) {
    if (k == "x-arca-timestamp") v = "1700009999";
  }
  EXPECT_FALSE(SignatureValid(replay));
}

TEST_F(WebhookTest, Non2xxFailsTheStepNamingTheStatusNotTheBody) {
  FakeHttpServer hook([](const FakeRequest&) {
    return FakeResponse{500, {}, "password=hunter2-leaked"};
  });
  auto rotator = Make(hook.url());
  SecretsApi api(*service_, "us-east-1");
  auto st = rotator.RunStep(api, {"arn:x", "tok", "setSecret"});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("HTTP 500"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("billing-db"), std::string::npos);
  EXPECT_NE(st.error().message().find("setSecret"), std::string::npos);
  EXPECT_EQ(st.error().message().find("hunter2"), std::string::npos);
  EXPECT_EQ(st.error().ToLogString().find("hunter2"), std::string::npos);
}

TEST_F(WebhookTest, ATimeoutFailsTheStep) {
  FakeHttpServer hook([](const FakeRequest&) {
    std::this_thread::sleep_for(1500ms);
    return FakeResponse{200, {}, ""};
  });
  auto rotator = Make(hook.url(), 300ms);
  SecretsApi api(*service_, "us-east-1");
  const auto start = std::chrono::steady_clock::now();
  auto st = rotator.RunStep(api, {"arn:x", "tok", "testSecret"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1400ms);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("testSecret"), std::string::npos) << st.error().message();
}

TEST_F(WebhookTest, UnreachableFailsTheStep) {
  std::string url;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeResponse{}; });
    url = gone.url();
  }
  auto rotator = Make(url);
  SecretsApi api(*service_, "us-east-1");
  EXPECT_FALSE(rotator.RunStep(api, {"arn:x", "tok", "createSecret"}).ok());
}

// Through the engine: a webhook that does the work as a Lambda would (here with arca-random's
// steps), failing until the fault clears. AWSCURRENT keeps working; the retry finishes the
// rotation.
TEST_F(WebhookTest, EngineRetriesAFailingWebhookUntilItRecovers) {
  std::atomic<bool> broken{true};
  FakeHttpServer hook([&](const FakeRequest& req) {
    if (!SignatureValid(req)) return FakeResponse{401, {}, ""};
    if (broken) return FakeResponse{500, {}, ""};
    auto e = bj::parse(req.body).as_object();
    SecretsApi api(*service_, "us-east-1");
    RandomRotator inner;
    auto st = inner.RunStep(api, {std::string(e.at("SecretId").as_string()),
                                  std::string(e.at("ClientRequestToken").as_string()),
                                  std::string(e.at("Step").as_string())});
    return FakeResponse{st.ok() ? 200 : 500, {}, ""};
  });
  auto registry = RotatorRegistry::WithBuiltins();
  WebhookOptions o;
  o.name = "billing-db";
  o.url = hook.url();
  o.hmac_key = SecretBytes::CopyOf(kKey);
  registry->Register("billing-db", std::make_shared<WebhookRotator>(std::move(o), clock_));
  std::vector<RotationEvent> events;
  EngineOptions eo;
  eo.owner = "a";
  eo.retry_backoff = 1s;
  Engine engine(*service_, *registry, clock_, eo,
                [&](const RotationEvent& e) { events.push_back(e); });

  Create("db", "v1");
  secrets::RotateSecretInput in;
  in.secret_id = "db";
  in.rotation_lambda_arn = kHookArn;
  auto r = service_->RotateSecret(ctx_, in);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();

  EXPECT_EQ(*engine.RunOnce(), 0);
  EXPECT_EQ(Get("db", "AWSCURRENT"), "v1");
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, RotationEventKind::kFailed);
  EXPECT_NE(events.back().error.find("HTTP 500"), std::string::npos);
  ASSERT_TRUE(events.back().next_attempt.has_value());
  EXPECT_EQ(*events.back().next_attempt, clock_.Now() + 1s);  // the configured backoff
  EXPECT_EQ(*engine.RunOnce(), 0);                            // not due yet
  broken = false;
  clock_.Advance(1s);
  EXPECT_EQ(*engine.RunOnce(), 1);
  EXPECT_NE(Get("db", "AWSCURRENT"), "v1");
  EXPECT_EQ(Get("db", "AWSPREVIOUS"), "v1");
  EXPECT_EQ(events.back().kind, RotationEventKind::kSucceeded);
  EXPECT_EQ(hook.count(), 1u + 4u);  // one failed createSecret, then the four steps
}

TEST(NotifierTest, PostsSucceededAndFailedEventsSigned) {
  FakeHttpServer a([](const FakeRequest&) { return FakeResponse{204, {}, ""}; });
  FakeHttpServer b([](const FakeRequest&) { return FakeResponse{500, {}, ""}; });
  FakeClock clock{TimePoint(std::chrono::seconds(1'700'000'000))};
  NotifierOptions o;
  o.urls = {a.url() + "/n", b.url()};
  o.hmac_key = SecretBytes::CopyOf(kKey);
  {
    RotationNotifier notifier(std::move(o), clock);
    RotationEvent started{RotationEventKind::kStarted};
    notifier.Notify(started);  // not sent
    RotationEvent ok{RotationEventKind::kSucceeded};
    ok.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf";
    ok.name = "db";
    ok.token = "tok";
    ok.step = "finishSecret";
    ok.time = clock.Now();
    notifier.Notify(ok);
    RotationEvent failed = ok;
    failed.kind = RotationEventKind::kFailed;
    failed.step = "setSecret";
    failed.error = "webhook rotator x, step setSecret: the webhook answered HTTP 500";
    failed.attempts = 2;
    failed.next_attempt = clock.Now() + 60s;
    notifier.Notify(failed);
  }  // the destructor sends what is queued
  ASSERT_EQ(a.count(), 2u);
  ASSERT_EQ(b.count(), 2u);
  auto reqs = a.requests();
  for (const auto& req : reqs) {
    EXPECT_TRUE(SignatureValid(req));
    EXPECT_EQ(req.target, "/n");
  }
  auto first = bj::parse(reqs[0].body).as_object();
  EXPECT_EQ(first.at("event").as_string(), "RotationSucceeded");
  EXPECT_EQ(first.at("arn").as_string(),
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf");
  EXPECT_EQ(first.at("name").as_string(), "db");
  EXPECT_EQ(first.at("token").as_string(), "tok");
  EXPECT_EQ(first.at("time").as_string(), "2023-11-14T22:13:20Z");
  EXPECT_FALSE(first.contains("error"));
  auto second = bj::parse(reqs[1].body).as_object();
  EXPECT_EQ(second.at("event").as_string(), "RotationFailed");
  EXPECT_EQ(second.at("step").as_string(), "setSecret");
  EXPECT_NE(second.at("error").as_string().find("HTTP 500"), std::string::npos);
  EXPECT_EQ(second.at("attempts").as_int64(), 2);
}

TEST(NotifierTest, AnUnreachableUrlIsCountedNotFatal) {
  std::string url;
  {
    FakeHttpServer gone([](const FakeRequest&) { return FakeResponse{}; });
    url = gone.url();
  }
  FakeClock clock;
  NotifierOptions o;
  o.urls = {url};
  o.timeout = 2s;
  RotationNotifier notifier(std::move(o), clock);
  RotationEvent ok{RotationEventKind::kSucceeded};
  notifier.Notify(ok);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (notifier.failed() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(notifier.failed(), 1u);
  EXPECT_EQ(notifier.sent(), 0u);
}

TEST(HmacKeyFileTest, MustBePrivateAndNonEmpty) {
  const fs::path dir = fs::temp_directory_path() / ("arca-hmac-" + crypto::NewUuid());
  fs::create_directories(dir);
  const std::string path = (dir / "key").string();
  { std::ofstream(path) << "s3cret-key\n"; }
  ::chmod(path.c_str(), 0644);
  auto loose = LoadHmacKeyFile(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_NE(loose.error().message().find("0600"), std::string::npos);
  ::chmod(path.c_str(), 0600);
  auto key = LoadHmacKeyFile(path);
  ASSERT_TRUE(key.ok()) << key.error().message();
  EXPECT_EQ(key->view(), "s3cret-key");  // the trailing newline is not part of the key
  { std::ofstream(path, std::ios::trunc) << "\n"; }
  EXPECT_FALSE(LoadHmacKeyFile(path).ok());
  EXPECT_FALSE(LoadHmacKeyFile((dir / "absent").string()).ok());
  fs::remove_all(dir);
}

}  // namespace
}  // namespace arca::rotation
