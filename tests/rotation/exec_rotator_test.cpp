#include "rotation/exec_rotator.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "crypto/random.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::rotation {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;
using namespace std::chrono_literals;

constexpr const char* kArn = "arn:aws:secretsmanager:eu-west-3:000000000000:secret:app-AbCdEf";

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-exec-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    service_ = std::make_unique<secrets::SecretsService>(*store_, *keyring_, clock_,
                                                         secrets::ServiceOptions{});
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  // An exec rotator running `script` with /bin/sh (the script itself is not a shell command line:
  // it is argv[2]).
  ExecRotator Sh(const std::string& script, std::chrono::milliseconds timeout = 10s) {
    ExecOptions o;
    o.name = "legacy";
    o.command = {"/bin/sh", "-c", script, "rotator"};
    o.env = {{"EXTRA", "from-config"}};
    o.endpoint_url = "http://127.0.0.1:8200";
    o.timeout = timeout;
    return ExecRotator(std::move(o));
  }

  Status Step(ExecRotator& r, const std::string& step = "createSecret") {
    SecretsApi api(*service_, "eu-west-3");
    return r.RunStep(api, {kArn, "tok-1", step});
  }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<secrets::SecretsService> service_;
};

TEST_F(ExecTest, ExitZeroIsSuccessAndStdinHoldsTheEvent) {
  auto r = Sh("cat > '" + (dir_ / "stdin").string() + "'");
  ASSERT_TRUE(Step(r, "setSecret").ok());
  const std::string in = Read("stdin");
  ASSERT_FALSE(in.empty());
  EXPECT_EQ(in.back(), '\n');
  auto event = bj::parse(in).as_object();
  EXPECT_EQ(event.size(), 3u);
  EXPECT_EQ(event.at("SecretId").as_string(), kArn);
  EXPECT_EQ(event.at("ClientRequestToken").as_string(), "tok-1");
  EXPECT_EQ(event.at("Step").as_string(), "setSecret");
}

TEST_F(ExecTest, TheEnvironmentNamesArcaAndTheRegion) {
  auto r = Sh("echo \"$AWS_ENDPOINT_URL $AWS_REGION $AWS_DEFAULT_REGION $EXTRA\" > '" +
              (dir_ / "env").string() + "'");
  ASSERT_TRUE(Step(r).ok());
  EXPECT_EQ(Read("env"), "http://127.0.0.1:8200 eu-west-3 eu-west-3 from-config\n");
}

TEST_F(ExecTest, ExitOneFailsTheStep) {
  auto r = Sh("echo 'the value is s3cret' >&2; exit 1");
  auto st = Step(r, "testSecret");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("exited with status 1"), std::string::npos)
      << st.error().message();
  EXPECT_NE(st.error().message().find("testSecret"), std::string::npos);
  EXPECT_EQ(st.error().message().find("s3cret"), std::string::npos);  // output never in errors
}

TEST_F(ExecTest, OutputIsCapturedAndTruncated) {
  ExecOptions o;
  o.name = "chatty";
  o.command = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo err >&2"};
  o.max_log_bytes = 64;
  ExecRotator r(std::move(o));
  auto res = r.Run("{}\n", "us-east-1");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->exit_code, 0);
  EXPECT_EQ(res->out, std::string(64, 'x'));
  EXPECT_EQ(res->err, "err\n");
}

TEST_F(ExecTest, ATimeoutKillsTheProgramAndItsChildren) {
  auto r = Sh("sleep 30 & sleep 30; wait", 300ms);
  const auto start = std::chrono::steady_clock::now();
  auto st = Step(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("did not finish"), std::string::npos) << st.error().message();
}

TEST_F(ExecTest, AProgramThatIgnoresStdinStillWorks) {
  auto r = Sh("exit 0");
  EXPECT_TRUE(Step(r).ok());
}

TEST_F(ExecTest, AMissingProgramFailsTheStep) {
  ExecOptions o;
  o.name = "missing";
  o.command = {"/nonexistent/program"};
  ExecRotator r(std::move(o));
  EXPECT_FALSE(Step(r).ok());
}

TEST_F(ExecTest, ProgramsAreFoundInPath) {
  ExecOptions o;
  o.name = "path";
  o.command = {"true"};
  ExecRotator r(std::move(o));
  EXPECT_TRUE(Step(r).ok());
}

}  // namespace
}  // namespace arca::rotation
