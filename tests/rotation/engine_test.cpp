#include "rotation/engine.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "crypto/random.h"
#include "rotation/random_rotator.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::rotation {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;
using namespace std::chrono_literals;

constexpr const char* kRandomArn = "arn:aws:lambda:us-east-1:000000000000:function:arca-random";

secrets::SecretValue Str(std::string_view s) {
  secrets::SecretValue v;
  v.string = SecretBytes::CopyOf(s);
  return v;
}

// A rotator that delegates to arca-random and can fail a step or run a hook first.
class TestRotator final : public Rotator {
 public:
  Status RunStep(SecretsApi& api, const StepRequest& r) override {
    calls.push_back(r.step);
    if (hook) hook(r);
    if (r.step == fail_step && failures_left > 0) {
      --failures_left;
      return Error(Code::kUnavailable, "the test database is down");
    }
    return inner.RunStep(api, r);
  }
  RandomRotator inner;
  std::vector<std::string> calls;
  std::string fail_step;
  int failures_left = 0;
  std::function<void(const StepRequest&)> hook;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-rotation-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    service_ = std::make_unique<secrets::SecretsService>(*store_, *keyring_, clock_,
                                                         secrets::ServiceOptions{});
    ctx_.region = "us-east-1";
    registry_ = RotatorRegistry::WithBuiltins();
    test_rotator_ = std::make_shared<TestRotator>();
    registry_->Register("test-rotator", test_rotator_);
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Engine> MakeEngine(const std::string& owner) {
    EngineOptions o;
    o.owner = owner;
    o.lease = 60s;
    return std::make_unique<Engine>(*service_, *registry_, clock_, o,
                                    [this](const RotationEvent& e) { events_.push_back(e); });
  }

  void Create(const std::string& name, std::string_view value,
              std::vector<secrets::Tag> tags = {}) {
    secrets::CreateSecretInput in;
    in.name = name;
    in.value = Str(value);
    in.tags = std::move(tags);
    auto out = service_->CreateSecret(ctx_, std::move(in));
    ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  }

  Result<secrets::RotateSecretOutput> Rotate(
      const std::string& name, const std::string& lambda,
      std::optional<bool> immediately = std::nullopt,
      std::optional<secrets::RotationRules> rules = std::nullopt) {
    secrets::RotateSecretInput in;
    in.secret_id = name;
    in.rotation_lambda_arn = lambda;
    in.rotate_immediately = immediately;
    in.rotation_rules = std::move(rules);
    return service_->RotateSecret(ctx_, in);
  }

  std::string Get(const std::string& name, const std::string& stage) {
    auto v = service_->GetSecretValue(ctx_, {name, std::nullopt, stage});
    if (!v.ok()) return "ERR:" + std::string(CodeName(v.error().code()));
    return std::string(v->secret_string->view());
  }
  std::string VersionOf(const std::string& name, const std::string& stage) {
    auto v = service_->GetSecretValue(ctx_, {name, std::nullopt, stage});
    return v.ok() ? v->version_id : "";
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<secrets::SecretsService> service_;
  secrets::Context ctx_;
  std::unique_ptr<RotatorRegistry> registry_;
  std::shared_ptr<TestRotator> test_rotator_;
  std::vector<RotationEvent> events_;
};

TEST_F(EngineTest, FullRotationWithArcaRandomAndATemplate) {
  Create("app", R"({"JWT_SECRET":"old-secret","user":"app"})",
         {{"arca:rotation:template",
           R"({"JWT_SECRET":{"random":{"bytes":32,"encoding":"base64"}}})"}});
  auto r = Rotate("app", kRandomArn);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  ASSERT_TRUE(r->version_id.has_value());
  auto engine = MakeEngine("a");
  auto done = engine->RunOnce();
  ASSERT_TRUE(done.ok()) << done.error().ToLogString();
  EXPECT_EQ(*done, 1);

  auto current = bj::parse(Get("app", "AWSCURRENT")).as_object();
  EXPECT_NE(current.at("JWT_SECRET").as_string(), "old-secret");
  EXPECT_EQ(current.at("JWT_SECRET").as_string().size(), 44u);  // 32 bytes in base64
  EXPECT_EQ(current.at("user").as_string(), "app");             // kept from AWSCURRENT
  EXPECT_EQ(Get("app", "AWSPREVIOUS"), R"({"JWT_SECRET":"old-secret","user":"app"})");
  EXPECT_EQ(Get("app", "AWSPENDING"), "ERR:NotFound");
  EXPECT_EQ(VersionOf("app", "AWSCURRENT"), *r->version_id);
  auto d = service_->DescribeSecret(ctx_, {"app"});
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->last_rotated_date.has_value());
  EXPECT_EQ(*d->last_rotated_date, clock_.Now());
  for (const auto& [id, stages] : d->version_ids_to_stages) {
    EXPECT_EQ(std::count(stages.begin(), stages.end(), "AWSPENDING"), 0) << id;
  }
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].kind, RotationEventKind::kStarted);
  EXPECT_EQ(events_[1].kind, RotationEventKind::kSucceeded);
  EXPECT_EQ(events_[1].token, *r->version_id);
  // Nothing left to do.
  EXPECT_EQ(*engine->RunOnce(), 0);
}

TEST_F(EngineTest, PlainSecretsAndPasswordTemplates) {
  Create("plain", "not-json");
  Create("db", R"({"password":"old"})",
         {{"arca:rotation:template",
           R"({"password":{"password":{"length":40,"excludePunctuation":true}}})"}});
  Create("json-no-template", R"({"k":"v"})");
  ASSERT_TRUE(Rotate("plain", kRandomArn).ok());
  ASSERT_TRUE(Rotate("db", kRandomArn).ok());
  ASSERT_TRUE(Rotate("json-no-template", kRandomArn).ok());
  auto engine = MakeEngine("a");
  EXPECT_EQ(*engine->RunOnce(), 2);
  EXPECT_EQ(Get("plain", "AWSCURRENT").size(), 44u);
  EXPECT_EQ(Get("plain", "AWSPREVIOUS"), "not-json");
  auto pw = std::string(bj::parse(Get("db", "AWSCURRENT")).as_object().at("password").as_string());
  EXPECT_EQ(pw.size(), 40u);
  EXPECT_EQ(pw.find_first_of("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"), std::string::npos);
  // A JSON secret without a template is refused with a clear error and stays as it was.
  EXPECT_EQ(Get("json-no-template", "AWSCURRENT"), R"({"k":"v"})");
  ASSERT_FALSE(events_.empty());
  bool failed = false;
  for (const auto& e : events_) {
    if (e.kind == RotationEventKind::kFailed && e.name == "json-no-template") {
      failed = true;
      EXPECT_NE(e.error.find("arca:rotation:template"), std::string::npos) << e.error;
      EXPECT_EQ(e.step, "createSecret");
    }
  }
  EXPECT_TRUE(failed);
}

TEST_F(EngineTest, ResumesAfterACrashBetweenSteps) {
  Create("app", "v1");
  auto r = Rotate("app", kRandomArn);
  ASSERT_TRUE(r.ok());
  const std::string token = *r->version_id;
  // An engine that "crashes" after createSecret: its step is recorded, its lease still held.
  {
    auto due = service_->FindDueRotations(10);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(due->size(), 1u);
    auto claimed = service_->ClaimRotation((*due)[0].arn, "crashed", 60s);
    ASSERT_TRUE(claimed.ok() && claimed->has_value());
    SecretsApi api(*service_, "us-east-1");
    RandomRotator rotator;
    ASSERT_TRUE(rotator.RunStep(api, {(*claimed)->arn, token, "createSecret"}).ok());
    auto done = service_->CompleteRotationStep(**claimed, "crashed", 60s);
    ASSERT_TRUE(done.ok());
    EXPECT_FALSE(*done);
  }
  const std::string pending = Get("app", "AWSPENDING");
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  auto engine = MakeEngine("restarted");
  EXPECT_EQ(*engine->RunOnce(), 0);  // the crashed engine's lease has not expired yet
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  clock_.Advance(61s);
  EXPECT_EQ(*engine->RunOnce(), 1);
  EXPECT_EQ(Get("app", "AWSCURRENT"), pending);  // the value createSecret made, not a new one
  EXPECT_EQ(VersionOf("app", "AWSCURRENT"), token);
  EXPECT_EQ(Get("app", "AWSPREVIOUS"), "v1");
  // The resumed rotation did not announce a new start.
  for (const auto& e : events_) EXPECT_NE(e.kind, RotationEventKind::kStarted);
}

TEST_F(EngineTest, AnOwnerResumesItsOwnLeaseAtOnce) {
  Create("app", "v1");
  ASSERT_TRUE(Rotate("app", kRandomArn).ok());
  auto due = service_->FindDueRotations(10);
  ASSERT_TRUE(due.ok() && due->size() == 1);
  ASSERT_TRUE(service_->ClaimRotation((*due)[0].arn, "server-1", 60s)->has_value());
  // The same server restarted (same owner id) does not wait for its own lease.
  auto engine = MakeEngine("server-1");
  EXPECT_EQ(*engine->RunOnce(), 0);  // FindDueRotations skips leased work...
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  clock_.Advance(61s);
  EXPECT_EQ(*engine->RunOnce(), 1);
}

TEST_F(EngineTest, AFailingStepIsRetriedWithBackoffAndCurrentKeepsWorking) {
  Create("app", "v1");
  test_rotator_->fail_step = "testSecret";
  test_rotator_->failures_left = 2;
  auto r = Rotate("app", "arn:aws:lambda:us-east-1:000000000000:function:test-rotator");
  ASSERT_TRUE(r.ok());
  auto engine = MakeEngine("a");
  EXPECT_EQ(*engine->RunOnce(), 0);
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  const std::string pending = Get("app", "AWSPENDING");
  EXPECT_NE(pending.rfind("ERR:", 0), 0u);
  ASSERT_EQ(events_.back().kind, RotationEventKind::kFailed);
  EXPECT_EQ(events_.back().step, "testSecret");
  EXPECT_EQ(events_.back().error, "the test database is down");
  ASSERT_TRUE(events_.back().next_attempt.has_value());
  EXPECT_EQ(*events_.back().next_attempt, clock_.Now() + 30s);

  EXPECT_EQ(*engine->RunOnce(), 0);  // backoff: not before 30 s
  EXPECT_EQ(test_rotator_->calls.size(), 3u);
  clock_.Advance(29s);
  EXPECT_EQ(*engine->RunOnce(), 0);
  EXPECT_EQ(test_rotator_->calls.size(), 3u);
  clock_.Advance(2s);
  EXPECT_EQ(*engine->RunOnce(), 0);  // second failure: retried from testSecret, not from the start
  EXPECT_EQ(test_rotator_->calls.back(), "testSecret");
  EXPECT_EQ(test_rotator_->calls.size(), 4u);
  EXPECT_EQ(*events_.back().next_attempt, clock_.Now() + 60s);  // doubled
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  EXPECT_EQ(Get("app", "AWSPENDING"), pending);
  clock_.Advance(61s);
  EXPECT_EQ(*engine->RunOnce(), 1);
  EXPECT_EQ(Get("app", "AWSCURRENT"), pending);
  EXPECT_EQ(Get("app", "AWSPREVIOUS"), "v1");
  EXPECT_EQ(test_rotator_->calls,
            (std::vector<std::string>{"createSecret", "setSecret", "testSecret", "testSecret",
                                      "testSecret", "finishSecret"}));
}

TEST_F(EngineTest, TwoEnginesNeverRunTheSameRotation) {
  Create("app", "v1");
  auto a = MakeEngine("a");
  auto b = MakeEngine("b");
  std::vector<int> b_results;
  test_rotator_->hook = [&](const StepRequest&) {
    // While engine a runs a step, engine b looks for work: the rotation is leased to a.
    auto n = b->RunOnce();
    b_results.push_back(n.ok() ? *n : -1);
  };
  ASSERT_TRUE(Rotate("app", "arn:aws:lambda:us-east-1:000000000000:function:test-rotator").ok());
  EXPECT_EQ(*a->RunOnce(), 1);
  EXPECT_EQ(test_rotator_->calls,
            (std::vector<std::string>{"createSecret", "setSecret", "testSecret", "finishSecret"}));
  EXPECT_EQ(b_results, (std::vector<int>{0, 0, 0, 0}));
  // A direct claim by another owner is refused while the lease runs.
  ASSERT_TRUE(Rotate("app", "arn:aws:lambda:us-east-1:000000000000:function:test-rotator").ok());
  test_rotator_->hook = nullptr;
  auto due = service_->FindDueRotations(10);
  ASSERT_EQ(due->size(), 1u);
  ASSERT_TRUE(service_->ClaimRotation((*due)[0].arn, "a", 60s)->has_value());
  EXPECT_FALSE(service_->ClaimRotation((*due)[0].arn, "b", 60s)->has_value());
  clock_.Advance(60s);
  EXPECT_TRUE(service_->ClaimRotation((*due)[0].arn, "b", 60s)->has_value());
  // a's lease is gone: its step results are refused.
  EXPECT_EQ(service_->CompleteRotationStep((*due)[0], "a", 60s).error().code(),
            Code::kPreconditionNotMet);
}

TEST_F(EngineTest, ScheduledRotationStartsWhenTheWindowOpens) {
  // The fake clock starts at 2023-11-14T22:13:20Z; one day after the day of creation opens at
  // 2023-11-15T00:00:00Z.
  Create("app", "v1");
  auto r = Rotate("app", kRandomArn, false, secrets::RotationRules{1, std::nullopt, std::nullopt});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->version_id.has_value());
  auto engine = MakeEngine("a");
  EXPECT_EQ(*engine->RunOnce(), 0);
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  clock_.Advance(1h);  // 23:13
  EXPECT_EQ(*engine->RunOnce(), 0);
  clock_.Advance(1h);  // 00:13 the next day: the window is open
  EXPECT_EQ(*engine->RunOnce(), 1);
  EXPECT_NE(Get("app", "AWSCURRENT"), "v1");
  EXPECT_EQ(Get("app", "AWSPREVIOUS"), "v1");
  auto d = service_->DescribeSecret(ctx_, {"app"});
  EXPECT_EQ(*d->last_rotated_date, clock_.Now());
  EXPECT_EQ(*engine->RunOnce(), 0);  // the next window is a day later
  clock_.Advance(24h);
  EXPECT_EQ(*engine->RunOnce(), 1);
}

TEST_F(EngineTest, ASecondRotateSecretDuringARotationIsRefused) {
  Create("app", "v1");
  test_rotator_->fail_step = "setSecret";
  test_rotator_->failures_left = 1;
  const std::string lambda = "arn:aws:lambda:us-east-1:000000000000:function:test-rotator";
  ASSERT_TRUE(Rotate("app", lambda).ok());
  auto again = Rotate("app", lambda);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kInvalidRequest);
  EXPECT_EQ(again.error().message(),
            "A previous rotation isn't complete. That rotation will be reattempted.");
  auto engine = MakeEngine("a");
  EXPECT_EQ(*engine->RunOnce(), 0);  // setSecret failed
  EXPECT_EQ(Rotate("app", lambda).error().code(), Code::kInvalidRequest);
  // RotateImmediately=false only changes the configuration.
  EXPECT_TRUE(Rotate("app", lambda, false).ok());
  // Cancel abandons the rotation; AWSPENDING stays where it is, as on AWS.
  const std::string pending = Get("app", "AWSPENDING");
  auto c = service_->CancelRotateSecret(ctx_, {"app"});
  ASSERT_TRUE(c.ok());
  clock_.Advance(1h);
  EXPECT_EQ(*engine->RunOnce(), 0);
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
  EXPECT_EQ(Get("app", "AWSPENDING"), pending);
  // A new rotation can start; its own token gets the pending value.
  auto r = Rotate("app", lambda);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*engine->RunOnce(), 1);
  EXPECT_EQ(VersionOf("app", "AWSCURRENT"), *r->version_id);
}

TEST_F(EngineTest, AnUnknownRotatorFailsWithAClearError) {
  Create("app", "v1");
  ASSERT_TRUE(Rotate("app", "arn:aws:lambda:us-east-1:000000000000:function:nope").ok());
  auto engine = MakeEngine("a");
  EXPECT_EQ(*engine->RunOnce(), 0);
  ASSERT_EQ(events_.back().kind, RotationEventKind::kFailed);
  EXPECT_NE(events_.back().error.find("No rotator named nope"), std::string::npos)
      << events_.back().error;
  EXPECT_EQ(Get("app", "AWSCURRENT"), "v1");
}

TEST_F(EngineTest, StartAndStopRunTheBackgroundThread) {
  Create("app", "v1");
  EngineOptions o;
  o.owner = "bg";
  o.interval = 10ms;
  Engine engine(*service_, *registry_, clock_, o);
  ASSERT_TRUE(Rotate("app", kRandomArn).ok());
  engine.Start();
  for (int i = 0; i < 500 && Get("app", "AWSCURRENT") == "v1"; ++i)
    std::this_thread::sleep_for(10ms);
  engine.Stop();
  EXPECT_NE(Get("app", "AWSCURRENT"), "v1");
  engine.Stop();  // idempotent
}

TEST(LambdaFunctionNameTest, ParsesFunctionArns) {
  EXPECT_EQ(LambdaFunctionName("arn:aws:lambda:us-east-1:123456789012:function:arca-random"),
            "arca-random");
  EXPECT_EQ(LambdaFunctionName("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"), "f");
  EXPECT_FALSE(LambdaFunctionName("arn:aws:s3:::bucket").has_value());
  EXPECT_FALSE(LambdaFunctionName("arca-random").has_value());
}

}  // namespace
}  // namespace arca::rotation
