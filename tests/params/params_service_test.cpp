// The Parameter Store domain against a real SQLite store, a real KmsService and a real
// SecretsService, with a fake clock.
#include "params/service.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <set>

#include "crypto/hash.h"
#include "crypto/random.h"
#include "params/names.h"
#include "params/policies.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::params {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Records every question and denies the actions (or ARNs) listed.
class RecordingGate final : public access::Gate {
 public:
  struct Ask {
    std::string action;
    std::string arn;
    access::ContextKeys resource_keys;
    access::ContextKeys action_keys;
  };
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* action_keys) override {
    asks.push_back(Ask{std::string(action), resource.arn, resource.keys,
                       action_keys != nullptr ? *action_keys : access::ContextKeys{}});
    if (deny.contains(std::string(action)) || deny.contains(resource.arn)) {
      return Error(Code::kAccessDenied, "User: test is not authorized to perform: " + std::string(action) +
                                            " on resource: " + resource.arn);
    }
    return OkStatus();
  }
  const Ask* Last(std::string_view action) const {
    for (auto it = asks.rbegin(); it != asks.rend(); ++it) {
      if (it->action == action) return &*it;
    }
    return nullptr;
  }
  std::vector<Ask> asks;
  std::set<std::string> deny;
};

std::string One(const access::ContextKeys& keys, std::string_view name) {
  const std::vector<std::string>* v = keys.Find(name);
  return v == nullptr || v->size() != 1 ? std::string("<none>") : (*v)[0];
}

// The error's wire name (SSM's), or its code's name, or "OK".
template <typename T>
std::string WireOf(const Result<T>& r) {
  if (r.ok()) return "OK";
  return r.error().wire_type().empty() ? std::string(CodeName(r.error().code())) : r.error().wire_type();
}

constexpr const char* kArnPrefix = "arn:aws:ssm:us-east-1:000000000000:parameter/";

class ParamsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-params-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    kms_ = std::make_unique<kms::KmsService>(*store_, *keyring_, clock_, kms::ServiceOptions{});
    secrets::ServiceOptions so;
    so.kms = kms_.get();
    secrets_ = std::make_unique<secrets::SecretsService>(*store_, *keyring_, clock_, so);
    service_ = std::make_unique<ParamsService>(*store_, *kms_, secrets_.get(), clock_, ServiceOptions{});
    ctx_.region = "us-east-1";
    ctx_.request_id = "req-1";
    ctx_.principal_arn = "arn:aws:iam::000000000000:user/alice";
    ctx_.gate = &gate_;
  }
  void TearDown() override {
    service_.reset();
    secrets_.reset();
    kms_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static PutParameterInput In(const std::string& name, std::string_view value,
                              std::optional<std::string> type = "String") {
    PutParameterInput in;
    in.name = name;
    in.value = SecretBytes::CopyOf(value);
    in.type = std::move(type);
    return in;
  }

  Result<PutParameterOutput> Put(const std::string& name, std::string_view value,
                                 std::optional<std::string> type = "String", bool overwrite = false) {
    PutParameterInput in = In(name, value, std::move(type));
    if (overwrite) in.overwrite = true;
    return service_->PutParameter(ctx_, std::move(in));
  }

  void MustPut(const std::string& name, std::string_view value, std::optional<std::string> type = "String",
               bool overwrite = false) {
    auto out = Put(name, value, std::move(type), overwrite);
    ASSERT_TRUE(out.ok()) << name << ": " << out.error().ToLogString();
  }

  Result<Parameter> Get(const std::string& name, bool decrypt = false) {
    return service_->GetParameter(ctx_, GetParameterInput{name, decrypt});
  }

  std::string Value(const std::string& name, bool decrypt = true) {
    auto p = Get(name, decrypt);
    if (!p.ok()) return "ERR:" + WireOf(p);
    return std::string(p->value.view());
  }

  std::vector<std::string> Names(const std::vector<Parameter>& list) {
    std::vector<std::string> out;
    for (const auto& p : list) out.push_back(p.name);
    return out;
  }

  Result<DescribeParametersOutput> Describe(std::vector<StringFilter> filters,
                                            std::optional<std::int64_t> max = std::nullopt) {
    DescribeParametersInput in;
    in.parameter_filters = std::move(filters);
    in.max_results = max;
    return service_->DescribeParameters(ctx_, in);
  }

  std::vector<std::string> DescribedNames(std::vector<StringFilter> filters) {
    auto out = Describe(std::move(filters), 50);
    EXPECT_TRUE(out.ok()) << out.error().ToLogString();
    std::vector<std::string> names;
    if (out.ok()) {
      for (const auto& m : out->parameters) names.push_back(m.name);
    }
    return names;
  }

  std::string DatabaseBytes() const {
    std::string all;
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::ifstream f(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    }
    return all;
  }

  std::string Iso(TimePoint t) const { return FormatIso8601(t, true); }
  std::string ExpirationPolicy(TimePoint t) const {
    return R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":")" + Iso(t) + R"("}}])";
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<kms::KmsService> kms_;
  std::unique_ptr<secrets::SecretsService> secrets_;
  std::unique_ptr<ParamsService> service_;
  RecordingGate gate_;
  Context ctx_;
};

// ---- names ----------------------------------------------------------------------------------------

TEST(ParamsNamesTest, CanonicalAndHierarchy) {
  EXPECT_EQ(CanonicalName("/a"), "a");
  EXPECT_EQ(CanonicalName("a"), "a");
  EXPECT_EQ(CanonicalName("/a/b"), "/a/b");
  EXPECT_EQ(HierarchyName("a"), "/a");
  EXPECT_EQ(HierarchyName("/a/b"), "/a/b");
  EXPECT_EQ(ParameterArn(ServiceOptions{}, "eu-west-1", "/a/b"),
            "arn:aws:ssm:eu-west-1:000000000000:parameter/a/b");
  EXPECT_EQ(ParameterArn(ServiceOptions{}, "eu-west-1", "a"), "arn:aws:ssm:eu-west-1:000000000000:parameter/a");
}

TEST(ParamsNamesTest, Shapes) {
  for (std::string_view ok : {"a", "/a", "/a/b.c-d_e", "A9", "/x/y/z"}) {
    EXPECT_TRUE(ValidateNameShape(ok).ok()) << ok;
  }
  for (std::string_view bad : {"", "/", "a/b", "/a//b", "/a/", "a b", "a!", "a:b", "/a/b c"}) {
    EXPECT_FALSE(ValidateNameShape(bad).ok()) << bad;
  }
}

TEST(ParamsNamesTest, Refs) {
  NameRef ref;
  EXPECT_EQ(ParseNameRef("/a/b:3", kArnPrefix, &ref), RefProblem::kNone);
  EXPECT_EQ(ref.canonical, "/a/b");
  EXPECT_EQ(ref.version, 3);
  EXPECT_EQ(ref.selector, ":3");
  EXPECT_EQ(ParseNameRef("x:prod", kArnPrefix, &ref), RefProblem::kNone);
  EXPECT_EQ(ref.label, "prod");
  EXPECT_EQ(ParseNameRef(std::string(kArnPrefix) + "a/b:prod", kArnPrefix, &ref), RefProblem::kNone);
  EXPECT_EQ(ref.canonical, "/a/b");
  EXPECT_EQ(ref.label, "prod");
  EXPECT_EQ(ParseNameRef(std::string(kArnPrefix) + "one", kArnPrefix, &ref), RefProblem::kNone);
  EXPECT_EQ(ref.canonical, "one");
  EXPECT_EQ(ParseNameRef("arn:aws:ssm:eu-west-1:000000000000:parameter/one", kArnPrefix, &ref),
            RefProblem::kNotFound);
  EXPECT_EQ(ParseNameRef("a:b:c", kArnPrefix, &ref), RefProblem::kNotFound);
  EXPECT_EQ(ParseNameRef("a:", kArnPrefix, &ref), RefProblem::kNotFound);
  EXPECT_EQ(ParseNameRef("a b", kArnPrefix, &ref), RefProblem::kInvalid);
}

TEST(ParamsPoliciesTest, Timestamps) {
  std::int64_t ms = 0;
  ASSERT_TRUE(ParsePolicyTimestamp("2030-12-02T21:34:33.000Z", &ms));
  EXPECT_EQ(ms, 1922477673000);
  ASSERT_TRUE(ParsePolicyTimestamp("2030-12-02T21:34:33Z", &ms));
  EXPECT_EQ(ms, 1922477673000);
  ASSERT_TRUE(ParsePolicyTimestamp("2030-12-03T08:04:33.5+10:30", &ms));
  EXPECT_EQ(ms, 1922477673500);
  ASSERT_TRUE(ParsePolicyTimestamp("2030-12-02T20:34:33-01:00", &ms));
  EXPECT_EQ(ms, 1922477673000);
  EXPECT_FALSE(ParsePolicyTimestamp("2030-12-02 21:34:33Z", &ms));
  EXPECT_FALSE(ParsePolicyTimestamp("2030-12-02T21:34:33", &ms));
  EXPECT_FALSE(ParsePolicyTimestamp("soon", &ms));
  EXPECT_FALSE(ParsePolicyTimestamp("2030-02-30T21:34:33Z", &ms));  // no 30 February
}

// ---- PutParameter / GetParameter ------------------------------------------------------------------

TEST_F(ParamsServiceTest, PutAndGetString) {
  auto out = Put("/app/db/host", "db.internal");
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->version, 1);
  EXPECT_EQ(out->tier, "Standard");
  auto p = Get("/app/db/host");
  ASSERT_TRUE(p.ok()) << p.error().ToLogString();
  EXPECT_EQ(p->name, "/app/db/host");
  EXPECT_EQ(p->type, "String");
  EXPECT_EQ(p->value.view(), "db.internal");
  EXPECT_EQ(p->version, 1);
  EXPECT_FALSE(p->selector.has_value());
  EXPECT_EQ(p->arn, std::string(kArnPrefix) + "app/db/host");
  EXPECT_EQ(p->data_type, "text");
  EXPECT_EQ(p->last_modified_date, clock_.Now());
  EXPECT_EQ(WireOf(Get("/app/db/nope")), "ParameterNotFound");
  EXPECT_EQ(Get("/app/db/nope").error().message(), "Parameter /app/db/nope not found.");
  // Names are case sensitive and trimmed.
  EXPECT_EQ(WireOf(Get("/APP/db/host")), "ParameterNotFound");
  EXPECT_EQ(Value("  /app/db/host "), "db.internal");
  // StringList values are kept as given.
  MustPut("list", "a,b,c", "StringList");
  EXPECT_EQ(Value("list"), "a,b,c");
}

TEST_F(ParamsServiceTest, OneLevelNameWithOrWithoutSlashIsOneParameter) {
  MustPut("/solo", "v");
  auto p = Get("solo");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "/solo");
  EXPECT_EQ(p->arn, std::string(kArnPrefix) + "solo");
  EXPECT_EQ(WireOf(Put("solo", "w")), "ParameterAlreadyExists");
  MustPut("solo", "w", "String", true);
  EXPECT_EQ(Value("/solo"), "w");
  EXPECT_TRUE(service_->DeleteParameter(ctx_, "solo").ok());
  EXPECT_EQ(WireOf(Get("/solo")), "ParameterNotFound");
}

TEST_F(ParamsServiceTest, SecureStringIsEncryptedAndHiddenWithoutDecryption) {
  const std::string marker = "s3cr3t-marker-" + crypto::NewUuid();
  auto out = Put("/app/token", marker, "SecureString");
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  auto hidden = Get("/app/token", false);
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(hidden->type, "SecureString");
  EXPECT_EQ(hidden->value.view().find(marker), std::string_view::npos);
  // Undecrypted, the value is the base64 of the KMS ciphertext, bound to the parameter's ARN.
  auto blob = crypto::Base64Decode(hidden->value.view());
  ASSERT_TRUE(blob.has_value());
  kms::Context kctx{"us-east-1", "r", "p", &access::AllowAll::Instance()};
  auto plain = kms_->DecryptFor(kctx, *blob, {{"PARAMETER_ARN", std::string(kArnPrefix) + "app/token"}}, "ssm");
  ASSERT_TRUE(plain.ok()) << plain.error().ToLogString();
  EXPECT_EQ(plain->view(), marker);
  EXPECT_FALSE(kms_->DecryptFor(kctx, *blob, {{"PARAMETER_ARN", "other"}}, "ssm").ok());
  EXPECT_EQ(Value("/app/token", true), marker);
  // Nowhere in the database files.
  MustPut("/app/token", marker + "-v2", "SecureString", true);
  EXPECT_EQ(DatabaseBytes().find(marker), std::string::npos);
  // The KMS key: alias/aws/ssm by default, as DescribeParameters shows it.
  auto described = Describe({StringFilter{"Name", "Equals", std::vector<std::string>{"/app/token"}}});
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->parameters.size(), 1u);
  EXPECT_EQ(described->parameters[0].key_id, "alias/aws/ssm");
}

TEST_F(ParamsServiceTest, CustomerKeysAndKeyErrors) {
  kms::Context kctx{"us-east-1", "r", "p", &access::AllowAll::Instance()};
  auto key = kms_->CreateKey(kctx, kms::CreateKeyInput{});
  ASSERT_TRUE(key.ok()) << key.error().ToLogString();
  PutParameterInput in = In("/cmk/one", "under cmk", "SecureString");
  in.key_id = key->key_id;
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(in)).ok());
  EXPECT_EQ(Value("/cmk/one"), "under cmk");
  auto described = Describe({StringFilter{"KeyId", "Equals", std::vector<std::string>{key->key_id}}});
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->parameters.size(), 1u);
  EXPECT_EQ(described->parameters[0].key_id, key->key_id);
  // Overwrite without KeyId keeps the key.
  MustPut("/cmk/one", "still cmk", "SecureString", true);
  described = Describe({StringFilter{"KeyId", "Equals", std::vector<std::string>{key->key_id}}});
  ASSERT_EQ(described->parameters.size(), 1u);
  EXPECT_EQ(described->parameters[0].version, 2);

  ASSERT_TRUE(kms_->DisableKey(kctx, kms::KeyIdInput{key->key_id}).ok());
  auto got = Get("/cmk/one", true);
  EXPECT_EQ(WireOf(got), "InvalidKeyId");
  EXPECT_NE(got.error().message().find("(Service: AWSKMS;"), std::string::npos) << got.error().message();
  EXPECT_TRUE(Get("/cmk/one", false).ok());  // the ciphertext needs no key
  PutParameterInput again = In("/cmk/one", "x", "SecureString");
  again.key_id = key->key_id;
  again.overwrite = true;
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(again))), "InvalidKeyId");
  ASSERT_TRUE(kms_->EnableKey(kctx, kms::KeyIdInput{key->key_id}).ok());
  EXPECT_EQ(Value("/cmk/one"), "still cmk");

  PutParameterInput unknown = In("/cmk/two", "x", "SecureString");
  unknown.key_id = "alias/nope";
  auto r = service_->PutParameter(ctx_, std::move(unknown));
  EXPECT_EQ(WireOf(r), "InvalidKeyId");
  EXPECT_NE(r.error().message().find("NotFoundException"), std::string::npos) << r.error().message();
  EXPECT_EQ(WireOf(Get("/cmk/two")), "ParameterNotFound");

  PutParameterInput bad_chars = In("/cmk/three", "x", "SecureString");
  bad_chars.key_id = "alias/with space";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(bad_chars))), "Validation");
  PutParameterInput on_string = In("/cmk/four", "x", "String");
  on_string.key_id = key->key_id;
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(on_string))), "Validation");
}

TEST_F(ParamsServiceTest, OverwriteRules) {
  MustPut("/o/p", "v1");
  auto again = Put("/o/p", "v2");
  EXPECT_EQ(WireOf(again), "ParameterAlreadyExists");
  EXPECT_EQ(again.error().message(),
            "The parameter already exists. To overwrite this value, set the overwrite option in the "
            "request to true.");
  EXPECT_EQ(WireOf(Put("/o/new", "v", std::nullopt)), "Validation");  // a type is required to create
  // Overwrite without Type keeps the type; Description and AllowedPattern carry over too.
  PutParameterInput described = In("/o/p", "v2");
  described.overwrite = true;
  described.description = "the p";
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(described)).ok());
  auto out = Put("/o/p", "v3", std::nullopt, true);
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->version, 3);
  auto history = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/o/p", false, {}, {}});
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->parameters.size(), 3u);
  EXPECT_FALSE(history->parameters[0].description.has_value());
  EXPECT_EQ(history->parameters[2].description, "the p");
  EXPECT_EQ(history->parameters[2].type, "String");
  EXPECT_EQ(history->parameters[2].last_modified_user, ctx_.principal_arn);
  // Tags and Overwrite together are refused.
  PutParameterInput tagged = In("/o/p", "v4");
  tagged.overwrite = true;
  tagged.tags = std::vector<Tag>{{"k", "v"}};
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(tagged))), "Validation");
  // The type can change on overwrite (String -> SecureString -> String).
  MustPut("/o/p", "now secret", "SecureString", true);
  EXPECT_EQ(Get("/o/p")->type, "SecureString");
  EXPECT_NE(Value("/o/p", false), "now secret");
  MustPut("/o/p", "plain again", "String", true);
  EXPECT_EQ(Value("/o/p", false), "plain again");
  // Overwrite=true also creates.
  MustPut("/o/fresh", "v", "String", true);
  // Invalid inputs.
  EXPECT_EQ(WireOf(Put("/o/e", "")), "Validation");
  EXPECT_EQ(WireOf(Put("/o/e", "v", "Str")), "Validation");
  PutParameterInput bad_tier = In("/o/e", "v");
  bad_tier.tier = "Premium";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(bad_tier))), "Validation");
  PutParameterInput long_desc = In("/o/e", "v");
  long_desc.description = std::string(1025, 'd');
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(long_desc))), "Validation");
}

TEST_F(ParamsServiceTest, NameRules) {
  for (const std::string bad : {"a/b", "/a//b", "/a/", "bad name", "/x/y!", "a:1"}) {
    EXPECT_EQ(WireOf(Put(bad, "v")), "Validation") << bad;
  }
  for (const std::string reserved : {"aws-thing", "SSM_TEST", "/aws/mine", "/ssm/x/y", "/AWS/X/Y"}) {
    auto r = Put(reserved, "v");
    EXPECT_EQ(WireOf(r), "Validation") << reserved;
  }
  EXPECT_EQ(Put("ssm_test", "v").error().message(),
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
  std::string fifteen, sixteen;
  for (int i = 0; i < 15; ++i) fifteen += "/l" + std::to_string(i);
  sixteen = fifteen + "/x";
  MustPut(fifteen, "deep");
  EXPECT_EQ(WireOf(Put(sixteen, "v")), "HierarchyLevelLimitExceededException");
  EXPECT_EQ(WireOf(Put("/" + std::string(2048, 'a'), "v")), "Validation");
  // At most 1011 characters including the ARN prefix (45 here).
  const std::size_t prefix = std::string(kArnPrefix).size();
  MustPut("/" + std::string(1011 - prefix, 'n'), "v");
  EXPECT_EQ(WireOf(Put("/" + std::string(1012 - prefix, 'n'), "v")), "Validation");
  // Reads of malformed names are ValidationException; of well-formed unknown ones ParameterNotFound.
  EXPECT_EQ(WireOf(Get("a/b")), "Validation");
  EXPECT_EQ(WireOf(Get("a b")), "Validation");
  EXPECT_EQ(WireOf(Get("/aws/whatever")), "ParameterNotFound");
}

TEST_F(ParamsServiceTest, TiersAndSizeLimits) {
  EXPECT_EQ(WireOf(Put("/t/big", std::string(4097, 'x'))), "Validation");
  MustPut("/t/max", std::string(4096, 'x'));
  PutParameterInput adv = In("/t/big", std::string(8192, 'x'));
  adv.tier = "Advanced";
  auto out = service_->PutParameter(ctx_, std::move(adv));
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->tier, "Advanced");
  PutParameterInput too_big = In("/t/huge", std::string(8193, 'x'));
  too_big.tier = "Advanced";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(too_big))), "Validation");
  // An Advanced parameter stays Advanced when the tier is omitted, and can't go back to Standard.
  out = Put("/t/big", "small now", std::nullopt, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->tier, "Advanced");
  PutParameterInput down = In("/t/big", "small");
  down.overwrite = true;
  down.tier = "Standard";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(down))), "Validation");
  // Intelligent-Tiering picks what the value needs.
  PutParameterInput smart_small = In("/t/smart", "small");
  smart_small.tier = "Intelligent-Tiering";
  EXPECT_EQ(service_->PutParameter(ctx_, std::move(smart_small))->tier, "Standard");
  PutParameterInput smart_big = In("/t/smart", std::string(5000, 'x'));
  smart_big.tier = "Intelligent-Tiering";
  smart_big.overwrite = true;
  EXPECT_EQ(service_->PutParameter(ctx_, std::move(smart_big))->tier, "Advanced");
  auto described = Describe({StringFilter{"Tier", "Equals", std::vector<std::string>{"Advanced"}}});
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->parameters.size(), 2u);
}

TEST_F(ParamsServiceTest, AllowedPatternAndDataType) {
  PutParameterInput in = In("/p/num", "123");
  in.allowed_pattern = R"(^\d+$)";
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(in)).ok());
  // The pattern stays with the parameter.
  auto r = Put("/p/num", "abc", std::nullopt, true);
  EXPECT_EQ(WireOf(r), "ParameterPatternMismatchException");
  EXPECT_EQ(r.error().message().find("abc"), std::string::npos);  // never the value
  MustPut("/p/num", "456", std::nullopt, true);
  // The whole value must match.
  PutParameterInput partial = In("/p/part", "a1");
  partial.allowed_pattern = R"(\d+)";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(partial))), "ParameterPatternMismatchException");
  // An empty pattern removes it.
  PutParameterInput cleared = In("/p/num", "abc");
  cleared.overwrite = true;
  cleared.allowed_pattern = "";
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(cleared)).ok());
  PutParameterInput broken = In("/p/broken", "x");
  broken.allowed_pattern = "([a-";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(broken))), "InvalidAllowedPatternException");
  // SecureString values are checked before encryption.
  PutParameterInput secure = In("/p/secure", "nope", "SecureString");
  secure.allowed_pattern = "^[0-9]+$";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(secure))), "ParameterPatternMismatchException");

  PutParameterInput weird = In("/p/dt", "x");
  weird.data_type = "Text";
  auto dt = service_->PutParameter(ctx_, std::move(weird));
  EXPECT_EQ(WireOf(dt), "Validation");
  EXPECT_EQ(dt.error().message(), "The following data type is not supported: Text (Data type names are all lowercase.)");
  PutParameterInput ami = In("/p/ami", "ami-0123456789abcdef0");
  ami.data_type = "aws:ec2:image";
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(ami)).ok());
  EXPECT_EQ(Get("/p/ami")->data_type, "aws:ec2:image");
  PutParameterInput not_ami = In("/p/ami2", "hello");
  not_ami.data_type = "aws:ec2:image";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(not_ami))), "Validation");
  EXPECT_EQ(DescribedNames({StringFilter{"DataType", "Equals", std::vector<std::string>{"aws:ec2:image"}}}),
            std::vector<std::string>{"/p/ami"});
}

TEST_F(ParamsServiceTest, Policies) {
  const std::string expiration = ExpirationPolicy(clock_.Now() + 1h);
  PutParameterInput standard = In("/pol/a", "v");
  standard.policies = expiration;
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(standard))), "IncompatiblePolicyException");
  PutParameterInput explicit_standard = In("/pol/a", "v");
  explicit_standard.policies = expiration;
  explicit_standard.tier = "Standard";
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(explicit_standard))), "IncompatiblePolicyException");

  auto put_advanced = [&](const std::string& name, const std::string& policies) {
    PutParameterInput in = In(name, "v");
    in.tier = "Advanced";
    in.policies = policies;
    return service_->PutParameter(ctx_, std::move(in));
  };
  EXPECT_EQ(WireOf(put_advanced("/pol/b", R"([{"Type":"Nope","Version":"1.0","Attributes":{}}])")),
            "InvalidPolicyTypeException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", ExpirationPolicy(clock_.Now() - 1h))), "InvalidPolicyAttributeException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", R"([{"Type":"Expiration","Version":"1.0","Attributes":{"Timestamp":"tomorrow"}}])")),
            "InvalidPolicyAttributeException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"x","Unit":"Days"}}])")),
            "InvalidPolicyAttributeException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Weeks"}}])")),
            "InvalidPolicyAttributeException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", R"([{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"3","Unit":"Days"}}])")),
            "IncompatiblePolicyException");
  const std::string two = R"([{"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"3","Unit":"Days"}},)"
                          R"({"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"5","Unit":"Days"}}])";
  EXPECT_EQ(WireOf(put_advanced("/pol/b", two)), "IncompatiblePolicyException");
  std::string eleven = "[";
  for (int i = 0; i < 11; ++i) eleven += std::string(i ? "," : "") + R"({"Type":"Expiration"})";
  eleven += "]";
  EXPECT_EQ(WireOf(put_advanced("/pol/b", eleven)), "PoliciesLimitExceededException");
  EXPECT_EQ(WireOf(put_advanced("/pol/b", "not json")), "Validation");

  const std::string all = "[" + expiration.substr(1, expiration.size() - 2) +
                          R"(,{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Minutes"}}])";
  EXPECT_EQ(WireOf(put_advanced("/pol/c", all)), "InvalidPolicyAttributeException");
  const std::string good = "[" + expiration.substr(1, expiration.size() - 2) +
                           R"(,{"Type":"ExpirationNotification","Version":"1.0","Attributes":{"Before":"15","Unit":"Days"}},)"
                           R"({"Type":"NoChangeNotification","Version":"1.0","Attributes":{"After":"20","Unit":"Days"}}])";
  ASSERT_TRUE(put_advanced("/pol/c", good).ok());
  auto described = Describe({StringFilter{"Name", "Equals", std::vector<std::string>{"/pol/c"}}});
  ASSERT_TRUE(described.ok());
  ASSERT_EQ(described->parameters.size(), 1u);
  const auto& policies = described->parameters[0].policies;
  ASSERT_EQ(policies.size(), 3u);
  EXPECT_EQ(policies[0].type, "Expiration");
  EXPECT_EQ(policies[0].status, "Pending");
  EXPECT_NE(policies[0].text.find("Timestamp"), std::string::npos);
  EXPECT_EQ(policies[2].type, "NoChangeNotification");
  // Updating the parameter keeps its policies; "[]" removes them.
  MustPut("/pol/c", "v2", std::nullopt, true);
  described = Describe({StringFilter{"Name", "Equals", std::vector<std::string>{"/pol/c"}}});
  EXPECT_EQ(described->parameters[0].policies.size(), 3u);
  ASSERT_TRUE(put_advanced("/pol/d", "[]").ok());
}

TEST_F(ParamsServiceTest, ExpirationDeletesTheParameter) {
  PutParameterInput in = In("/exp/a", "v");
  in.tier = "Advanced";
  in.policies = ExpirationPolicy(clock_.Now() + 10min);
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(in)).ok());
  PutParameterInput later = In("/exp/b", "v");
  later.tier = "Advanced";
  later.policies = ExpirationPolicy(clock_.Now() + 2h);
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(later)).ok());
  MustPut("/exp/c", "v");
  auto purged = service_->PurgeExpired();
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0);
  clock_.Advance(11min);
  // Reads already treat it as deleted.
  EXPECT_EQ(WireOf(Get("/exp/a")), "ParameterNotFound");
  EXPECT_EQ(DescribedNames({}), (std::vector<std::string>{"/exp/b", "/exp/c"}));
  purged = service_->PurgeExpired();
  ASSERT_TRUE(purged.ok()) << purged.error().ToLogString();
  EXPECT_EQ(*purged, 1);
  EXPECT_EQ(*service_->PurgeExpired(), 0);
  // The name is free again.
  MustPut("/exp/a", "again");
  EXPECT_EQ(Get("/exp/a")->version, 1);
  // An expired parameter that was not purged yet is replaced by a new one.
  clock_.Advance(2h);
  MustPut("/exp/b", "fresh");
  EXPECT_EQ(Get("/exp/b")->version, 1);
  EXPECT_EQ(*service_->PurgeExpired(), 0);
  EXPECT_EQ(Value("/exp/b"), "fresh");
}

// ---- selectors, GetParameters ---------------------------------------------------------------------

TEST_F(ParamsServiceTest, VersionAndLabelSelectors) {
  for (int i = 1; i <= 3; ++i) MustPut("/sel/p", "value " + std::to_string(i), "SecureString", true);
  EXPECT_EQ(Value("/sel/p:1"), "value 1");
  auto v2 = Get("/sel/p:2", true);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(v2->selector, ":2");
  auto missing = Get("/sel/p:9");
  EXPECT_EQ(WireOf(missing), "ParameterVersionNotFound");
  EXPECT_EQ(missing.error().message(), "Systems Manager could not find version 9 of /sel/p. Verify the version and try again.");
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/sel/p", 2, {"stable"}}).ok());
  auto stable = Get("/sel/p:stable", true);
  ASSERT_TRUE(stable.ok());
  EXPECT_EQ(stable->value.view(), "value 2");
  EXPECT_EQ(stable->selector, ":stable");
  EXPECT_EQ(WireOf(Get("/sel/p:unknown")), "ParameterNotFound");
  EXPECT_EQ(WireOf(Get("/sel/p:2:3")), "ParameterNotFound");
  // The ARN works as a name, with or without a selector.
  EXPECT_EQ(Value(std::string(kArnPrefix) + "sel/p"), "value 3");
  EXPECT_EQ(Value(std::string(kArnPrefix) + "sel/p:1"), "value 1");
  EXPECT_EQ(WireOf(Get("arn:aws:ssm:eu-west-1:000000000000:parameter/sel/p")), "ParameterNotFound");
}

TEST_F(ParamsServiceTest, GetParameters) {
  MustPut("/gp/b", "B");
  MustPut("/gp/a", "A", "SecureString");
  for (int i = 0; i < 2; ++i) MustPut("/gp/c", "C" + std::to_string(i), "String", true);
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/gp/c", 1, {"old"}}).ok());
  auto out = service_->GetParameters(
      ctx_, GetParametersInput{{"/gp/b", "/gp/missing", "/gp/a", "/gp/b", "/gp/c:1", "/gp/c:7", "/gp/c:nope",
                                "/gp/c:old"},
                               true});
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(Names(out->parameters), (std::vector<std::string>{"/gp/a", "/gp/b", "/gp/c", "/gp/c"}));
  EXPECT_EQ(out->parameters[0].value.view(), "A");
  EXPECT_EQ(out->parameters[2].value.view(), "C0");
  EXPECT_EQ(out->invalid_parameters, (std::vector<std::string>{"/gp/missing", "/gp/c:7", "/gp/c:nope"}));
  // Without decryption the SecureString stays ciphertext.
  out = service_->GetParameters(ctx_, GetParametersInput{{"/gp/a"}, false});
  ASSERT_TRUE(out.ok());
  EXPECT_NE(out->parameters[0].value.view(), "A");
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("/n" + std::to_string(i));
  EXPECT_EQ(WireOf(service_->GetParameters(ctx_, GetParametersInput{eleven, false})), "Validation");
  EXPECT_EQ(WireOf(service_->GetParameters(ctx_, GetParametersInput{{}, false})), "Validation");
  EXPECT_EQ(gate_.Last("ssm:GetParameters")->arn, std::string(kArnPrefix) + "gp/a");
}

// ---- GetParametersByPath --------------------------------------------------------------------------

TEST_F(ParamsServiceTest, GetParametersByPath) {
  for (const std::string n : {"/app/prod/db/url", "/app/prod/db/user", "/app/prod/api", "/app/staging/db/url",
                              "/application/x", "top"}) {
    MustPut(n, "v:" + n);
  }
  MustPut("/app/prod/secret", "hidden", "SecureString");
  auto by_path = [&](const std::string& path, bool recursive, std::vector<StringFilter> filters = {},
                     std::optional<std::int64_t> max = std::nullopt, std::optional<std::string> token = std::nullopt,
                     bool decrypt = false) {
    GetParametersByPathInput in;
    in.path = path;
    in.recursive = recursive;
    in.filters = std::move(filters);
    in.max_results = max;
    in.next_token = std::move(token);
    in.with_decryption = decrypt;
    return service_->GetParametersByPath(ctx_, in);
  };
  auto one = by_path("/app/prod", false);
  ASSERT_TRUE(one.ok()) << one.error().ToLogString();
  EXPECT_EQ(Names(one->parameters), (std::vector<std::string>{"/app/prod/api", "/app/prod/secret"}));
  EXPECT_NE(one->parameters[1].value.view(), "hidden");
  EXPECT_EQ(by_path("/app/prod/", false, {}, {}, {}, true)->parameters[1].value.view(), "hidden");
  auto all = by_path("/app", true);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->parameters.size(), 5u);  // not /application/x
  auto root = by_path("/", false);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Names(root->parameters), std::vector<std::string>{"top"});
  EXPECT_EQ(by_path("/", true)->parameters.size(), 7u);
  // Paging.
  std::vector<std::string> seen;
  std::optional<std::string> token;
  int pages = 0;
  do {
    auto page = by_path("/app", true, {}, 2, token);
    ASSERT_TRUE(page.ok()) << page.error().ToLogString();
    EXPECT_LE(page->parameters.size(), 2u);
    for (const auto& p : page->parameters) seen.push_back(p.name);
    token = page->next_token;
    ++pages;
  } while (token && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(WireOf(by_path("/app", true, {}, 2, std::string("garbage"))), "InvalidNextToken");
  EXPECT_EQ(WireOf(by_path("/app", true, {}, 11)), "Validation");
  EXPECT_EQ(WireOf(by_path("/app", true, {}, 0)), "Validation");
  EXPECT_EQ(WireOf(by_path("app", true)), "Validation");
  EXPECT_EQ(WireOf(by_path("/a//b", true)), "Validation");
  // Filters: Type, KeyId, Label; not Name/Path/Tier/tag.
  auto secure = by_path("/app", true, {StringFilter{"Type", "Equals", std::vector<std::string>{"SecureString"}}});
  ASSERT_TRUE(secure.ok());
  EXPECT_EQ(Names(secure->parameters), std::vector<std::string>{"/app/prod/secret"});
  auto keyed = by_path("/app", true, {StringFilter{"KeyId", "Equals", std::vector<std::string>{"alias/aws/ssm"}}});
  EXPECT_EQ(Names(keyed->parameters), std::vector<std::string>{"/app/prod/secret"});
  MustPut("/app/prod/api", "v2", std::nullopt, true);
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/app/prod/api", 1, {"first"}}).ok());
  auto labelled = by_path("/app", true, {StringFilter{"Label", std::nullopt, std::vector<std::string>{"first"}}});
  ASSERT_TRUE(labelled.ok()) << labelled.error().ToLogString();
  ASSERT_EQ(labelled->parameters.size(), 1u);
  EXPECT_EQ(labelled->parameters[0].version, 1);
  for (const std::string key : {"Name", "Path", "Tier", "tag:x", "DataType"}) {
    EXPECT_EQ(WireOf(by_path("/app", true, {StringFilter{key, std::nullopt, std::vector<std::string>{"v"}}})),
              "InvalidFilterKey")
        << key;
  }
  EXPECT_EQ(WireOf(by_path("/app", true, {StringFilter{"Label", "BeginsWith", std::vector<std::string>{"f"}}})),
            "InvalidFilterOption");
  // Authorized once, on the path's ARN.
  auto ask = gate_.Last("ssm:GetParametersByPath");
  ASSERT_NE(ask, nullptr);
  EXPECT_EQ(ask->arn, std::string(kArnPrefix) + "app");
  EXPECT_EQ(One(ask->action_keys, "ssm:Recursive"), "true");
}

// ---- deletes --------------------------------------------------------------------------------------

TEST_F(ParamsServiceTest, DeleteParameterAndParameters) {
  MustPut("/d/a", "a");
  MustPut("/d/b", "b");
  MustPut("/d/c", "c");
  EXPECT_TRUE(service_->DeleteParameter(ctx_, "/d/a").ok());
  EXPECT_EQ(WireOf(Get("/d/a")), "ParameterNotFound");
  auto again = service_->DeleteParameter(ctx_, "/d/a");
  EXPECT_EQ(again.error().wire_type(), "ParameterNotFound");
  EXPECT_EQ(again.error().message(), "Parameter /d/a not found.");
  auto out = service_->DeleteParameters(ctx_, {"/d/b", "/d/missing", "/d/c", "/d/b"});
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->deleted_parameters, (std::vector<std::string>{"/d/b", "/d/c"}));
  EXPECT_EQ(out->invalid_parameters, std::vector<std::string>{"/d/missing"});
  EXPECT_EQ(DescribedNames({}), std::vector<std::string>{});
  std::vector<std::string> eleven(11, "/x");
  EXPECT_EQ(WireOf(service_->DeleteParameters(ctx_, eleven)), "Validation");
  // The name is free again, history and all.
  MustPut("/d/a", "new");
  EXPECT_EQ(Get("/d/a")->version, 1);
}

// ---- DescribeParameters ---------------------------------------------------------------------------

TEST_F(ParamsServiceTest, DescribeParametersFilters) {
  MustPut("/app/prod/db", "v");
  MustPut("/app/prod/db/sub", "v", "StringList");
  MustPut("/app/dev/db", "v", "SecureString");
  MustPut("plain", "v");
  PutParameterInput tagged = In("/team/x", "v");
  tagged.tags = std::vector<Tag>{{"team", "shop"}, {"env", ""}};
  tagged.description = "described";
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(tagged)).ok());

  using V = std::vector<std::string>;
  EXPECT_EQ(DescribedNames({}), (V{"/app/dev/db", "/app/prod/db", "/app/prod/db/sub", "/team/x", "plain"}));
  EXPECT_EQ(DescribedNames({StringFilter{"Name", "Equals", V{"plain"}}}), V{"plain"});
  EXPECT_EQ(DescribedNames({StringFilter{"Name", "Equals", V{"/plain"}}}), V{"plain"});
  EXPECT_EQ(DescribedNames({StringFilter{"Name", "BeginsWith", V{"/app/prod"}}}),
            (V{"/app/prod/db", "/app/prod/db/sub"}));
  EXPECT_EQ(DescribedNames({StringFilter{"Name", "Contains", V{"dev"}}}), V{"/app/dev/db"});
  EXPECT_EQ(DescribedNames({StringFilter{"Path", std::nullopt, V{"/app/prod"}}}), V{"/app/prod/db"});
  EXPECT_EQ(DescribedNames({StringFilter{"Path", "Recursive", V{"/app"}}}),
            (V{"/app/dev/db", "/app/prod/db", "/app/prod/db/sub"}));
  EXPECT_EQ(DescribedNames({StringFilter{"Path", "OneLevel", V{"/"}}}), V{"plain"});
  EXPECT_EQ(DescribedNames({StringFilter{"Type", "Equals", V{"StringList", "SecureString"}}}),
            (V{"/app/dev/db", "/app/prod/db/sub"}));
  EXPECT_EQ(DescribedNames({StringFilter{"KeyId", "Equals", V{"alias/aws/ssm"}}}), V{"/app/dev/db"});
  EXPECT_EQ(DescribedNames({StringFilter{"tag:team", "Equals", V{"shop"}}}), V{"/team/x"});
  EXPECT_EQ(DescribedNames({StringFilter{"tag:team", "BeginsWith", V{"sh"}}}), V{"/team/x"});
  EXPECT_EQ(DescribedNames({StringFilter{"tag:env", std::nullopt, std::nullopt}}), V{"/team/x"});
  EXPECT_EQ(DescribedNames({StringFilter{"tag:team", "Equals", V{"ops"}}}), V{});
  EXPECT_EQ(DescribedNames({StringFilter{"Tier", "Equals", V{"Standard"}},
                            StringFilter{"Path", "Recursive", V{"/team"}}}),
            V{"/team/x"});
  DescribeParametersInput legacy;
  legacy.filters = {LegacyFilter{"Type", {"SecureString"}}};
  auto legacy_out = service_->DescribeParameters(ctx_, legacy);
  ASSERT_TRUE(legacy_out.ok());
  ASSERT_EQ(legacy_out->parameters.size(), 1u);
  EXPECT_EQ(legacy_out->parameters[0].name, "/app/dev/db");

  // Metadata, never a value.
  auto d = Describe({StringFilter{"Name", "Equals", V{"/team/x"}}});
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->parameters.size(), 1u);
  const ParameterMetadata& m = d->parameters[0];
  EXPECT_EQ(m.arn, std::string(kArnPrefix) + "team/x");
  EXPECT_EQ(m.description, "described");
  EXPECT_EQ(m.tier, "Standard");
  EXPECT_EQ(m.data_type, "text");
  EXPECT_EQ(m.last_modified_user, ctx_.principal_arn);
  EXPECT_FALSE(m.key_id.has_value());

  // Errors.
  EXPECT_EQ(WireOf(Describe({StringFilter{"Label", std::nullopt, V{"x"}}})), "InvalidFilterKey");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Bogus", std::nullopt, V{"x"}}})), "Validation");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Name", "Equals", V{"a"}}, StringFilter{"Name", "Equals", V{"b"}}})),
            "InvalidFilterKey");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Name", "Recursive", V{"a"}}})), "InvalidFilterOption");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Path", "Equals", V{"/a"}}})), "InvalidFilterOption");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Path", "Recursive", V{"/aws/x"}}})), "Validation");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Path", "Recursive", V{"noslash"}}})), "Validation");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Type", "Equals", V{"Text"}}})), "InvalidFilterValue");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Tier", "Equals", V{"Gold"}}})), "InvalidFilterValue");
  EXPECT_EQ(WireOf(Describe({StringFilter{"Name", std::nullopt, std::nullopt}})), "InvalidFilterValue");
  DescribeParametersInput both;
  both.filters = {LegacyFilter{"Name", {"a"}}};
  both.parameter_filters = {StringFilter{"Name", "Equals", V{"a"}}};
  EXPECT_EQ(WireOf(service_->DescribeParameters(ctx_, both)), "Validation");
  EXPECT_EQ(WireOf(Describe({}, 51)), "Validation");
  EXPECT_EQ(WireOf(Describe({}, 0)), "Validation");
  DescribeParametersInput shared;
  shared.shared = true;
  EXPECT_TRUE(service_->DescribeParameters(ctx_, shared)->parameters.empty());
  EXPECT_EQ(gate_.Last("ssm:DescribeParameters")->arn, "*");
}

TEST_F(ParamsServiceTest, DescribeParametersPaging) {
  for (int i = 0; i < 23; ++i) MustPut("/page/p" + std::to_string(100 + i), "v");
  std::vector<std::string> seen;
  std::optional<std::string> token;
  int pages = 0;
  do {
    DescribeParametersInput in;
    in.max_results = 10;
    in.next_token = token;
    auto out = service_->DescribeParameters(ctx_, in);
    ASSERT_TRUE(out.ok()) << out.error().ToLogString();
    for (const auto& m : out->parameters) seen.push_back(m.name);
    token = out->next_token;
    ++pages;
  } while (token && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 23u);
  EXPECT_EQ(seen.front(), "/page/p100");
  EXPECT_EQ(seen.back(), "/page/p122");
  DescribeParametersInput bad;
  bad.next_token = "bm9wZQ==";
  EXPECT_EQ(WireOf(service_->DescribeParameters(ctx_, bad)), "InvalidNextToken");
  // A token of another operation is not accepted.
  GetParametersByPathInput by_path;
  by_path.path = "/page";
  by_path.max_results = 1;
  auto other = service_->GetParametersByPath(ctx_, by_path);
  ASSERT_TRUE(other.ok() && other->next_token);
  bad.next_token = other->next_token;
  EXPECT_EQ(WireOf(service_->DescribeParameters(ctx_, bad)), "InvalidNextToken");
}

// ---- history, labels, version limit ---------------------------------------------------------------

TEST_F(ParamsServiceTest, GetParameterHistory) {
  for (int i = 1; i <= 5; ++i) {
    clock_.Advance(1s);
    MustPut("/h/p", "value " + std::to_string(i), "SecureString", true);
  }
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/h/p", 3, {"three", "mid"}}).ok());
  auto all = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/p", true, {}, {}});
  ASSERT_TRUE(all.ok()) << all.error().ToLogString();
  ASSERT_EQ(all->parameters.size(), 5u);
  EXPECT_FALSE(all->next_token.has_value());
  EXPECT_EQ(all->parameters[0].version, 1);
  EXPECT_EQ(all->parameters[0].value.view(), "value 1");
  EXPECT_EQ(all->parameters[2].labels, (std::vector<std::string>{"three", "mid"}));
  EXPECT_EQ(all->parameters[4].key_id, "alias/aws/ssm");
  EXPECT_EQ(all->parameters[1].last_modified_date, TimePoint(std::chrono::seconds(1700000002)));
  auto hidden = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/p", false, {}, {}});
  ASSERT_TRUE(hidden.ok());
  for (const auto& e : hidden->parameters) EXPECT_EQ(e.value.view().find("value"), std::string_view::npos);
  std::vector<std::int64_t> versions;
  std::optional<std::string> token;
  do {
    auto page = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/p", false, 2, token});
    ASSERT_TRUE(page.ok()) << page.error().ToLogString();
    for (const auto& e : page->parameters) versions.push_back(e.version);
    token = page->next_token;
  } while (token && versions.size() < 10);
  EXPECT_EQ(versions, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(WireOf(service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/p", false, 51, {}})),
            "Validation");
  EXPECT_EQ(WireOf(service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/none", false, {}, {}})),
            "ParameterNotFound");
  EXPECT_EQ(WireOf(service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/h/p", false, {}, "x"})),
            "InvalidNextToken");
}

TEST_F(ParamsServiceTest, LabelsRulesAndMoves) {
  for (int i = 1; i <= 3; ++i) MustPut("/l/p", "v" + std::to_string(i), "String", true);
  // Default: the latest version.
  auto out = service_->LabelParameterVersion(ctx_, {"/l/p", std::nullopt, {"latest"}});
  ASSERT_TRUE(out.ok()) << out.error().ToLogString();
  EXPECT_EQ(out->parameter_version, 3);
  EXPECT_TRUE(out->invalid_labels.empty());
  out = service_->LabelParameterVersion(
      ctx_, {"/l/p", 1, {"awsLabel", "SSM-x", "9lives", "has/slash", "has space", "ok.label-1_x"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->invalid_labels,
            (std::vector<std::string>{"awsLabel", "SSM-x", "9lives", "has/slash", "has space"}));
  EXPECT_EQ(Get("/l/p:ok.label-1_x")->version, 1);
  // Moving a label.
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/l/p", 2, {"latest"}}).ok());
  EXPECT_EQ(Get("/l/p:latest")->version, 2);
  auto history = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/l/p", false, {}, {}});
  EXPECT_TRUE(history->parameters[2].labels.empty());
  // Ten per version.
  std::vector<std::string> nine;
  for (int i = 0; i < 9; ++i) nine.push_back("l" + std::to_string(i));
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/l/p", 1, nine}).ok());  // 10 with ok.label-1_x
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/p", 1, {"one-more"}})),
            "ParameterVersionLabelLimitExceeded");
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("m" + std::to_string(i));
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/p", 3, eleven})),
            "ParameterVersionLabelLimitExceeded");
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/l/p", 1, {"l0"}}).ok());  // already there
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/p", 1, {std::string(101, 'a')}})), "Validation");
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/p", 1, {}})), "Validation");
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/p", 7, {"x"}})), "ParameterVersionNotFound");
  EXPECT_EQ(WireOf(service_->LabelParameterVersion(ctx_, {"/l/none", 1, {"x"}})), "ParameterNotFound");

  auto removed = service_->UnlabelParameterVersion(ctx_, {"/l/p", 1, {"l0", "never", "l0"}});
  ASSERT_TRUE(removed.ok()) << removed.error().ToLogString();
  EXPECT_EQ(removed->removed_labels, std::vector<std::string>{"l0"});
  EXPECT_EQ(removed->invalid_labels, std::vector<std::string>{"never"});
  EXPECT_EQ(WireOf(Get("/l/p:l0")), "ParameterNotFound");
  EXPECT_EQ(WireOf(service_->UnlabelParameterVersion(ctx_, {"/l/p", std::nullopt, {"x"}})), "Validation");
  EXPECT_EQ(WireOf(service_->UnlabelParameterVersion(ctx_, {"/l/p", 9, {"x"}})), "ParameterVersionNotFound");
  EXPECT_EQ(WireOf(service_->UnlabelParameterVersion(ctx_, {"/l/none", 1, {"x"}})), "ParameterNotFound");
}

TEST_F(ParamsServiceTest, HundredVersionLimit) {
  for (int i = 1; i <= 101; ++i) MustPut("/v/p", std::to_string(i), "String", true);
  std::vector<std::int64_t> versions;
  std::optional<std::string> token;
  do {
    auto page = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/v/p", false, 50, token});
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->parameters) versions.push_back(e.version);
    token = page->next_token;
  } while (token);
  ASSERT_EQ(versions.size(), 100u);
  EXPECT_EQ(versions.front(), 2);
  EXPECT_EQ(versions.back(), 101);
  EXPECT_EQ(WireOf(Get("/v/p:1")), "ParameterVersionNotFound");
  ASSERT_TRUE(service_->LabelParameterVersion(ctx_, {"/v/p", 2, {"pinned"}}).ok());
  auto r = Put("/v/p", "more", "String", true);
  EXPECT_EQ(WireOf(r), "ParameterMaxVersionLimitExceeded");
  EXPECT_NE(r.error().message().find("Version 2, the oldest version"), std::string::npos) << r.error().message();
  ASSERT_TRUE(service_->UnlabelParameterVersion(ctx_, {"/v/p", 2, {"pinned"}}).ok());
  auto ok = Put("/v/p", "more", "String", true);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->version, 102);
}

// ---- tags -----------------------------------------------------------------------------------------

TEST_F(ParamsServiceTest, Tags) {
  PutParameterInput in = In("/tg/p", "v");
  in.tags = std::vector<Tag>{{"team", "shop"}};
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(in)).ok());
  ASSERT_TRUE(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", {{"env", "prod"}, {"team", "ops"}}}).ok());
  auto tags = service_->ListTagsForResource(ctx_, {"Parameter", "/tg/p"});
  ASSERT_TRUE(tags.ok());
  ASSERT_EQ(tags->size(), 2u);
  EXPECT_EQ((*tags)[0].key, "team");
  EXPECT_EQ((*tags)[0].value, "ops");
  EXPECT_EQ((*tags)[1].key, "env");
  ASSERT_TRUE(service_->RemoveTagsFromResource(ctx_, {"Parameter", "/tg/p", {"team", "absent"}}).ok());
  tags = service_->ListTagsForResource(ctx_, {"Parameter", "/tg/p"});
  ASSERT_EQ(tags->size(), 1u);
  EXPECT_EQ((*tags)[0].key, "env");
  // Tags survive a new version.
  MustPut("/tg/p", "v2", std::nullopt, true);
  EXPECT_EQ(service_->ListTagsForResource(ctx_, {"Parameter", "/tg/p"})->size(), 1u);

  std::vector<Tag> many;
  for (int i = 0; i < 50; ++i) many.push_back(Tag{"k" + std::to_string(i), "v"});
  EXPECT_EQ(WireOf(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", many})), "TooManyTagsError");
  many.pop_back();
  ASSERT_TRUE(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", many}).ok());  // 49 + env = 50
  PutParameterInput too_many = In("/tg/q", "v");
  many.push_back(Tag{"x", "y"});
  many.push_back(Tag{"z", "y"});
  too_many.tags = many;
  EXPECT_EQ(WireOf(service_->PutParameter(ctx_, std::move(too_many))), "TooManyTagsError");

  EXPECT_EQ(WireOf(service_->ListTagsForResource(ctx_, {"Parameter", "/tg/none"})), "InvalidResourceId");
  EXPECT_EQ(WireOf(service_->ListTagsForResource(ctx_, {"Document", "/tg/p"})), "InvalidResourceId");
  EXPECT_EQ(WireOf(service_->ListTagsForResource(ctx_, {"Bucket", "/tg/p"})), "InvalidResourceType");
  EXPECT_EQ(WireOf(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", {{"", "v"}}})), "Validation");
  EXPECT_EQ(WireOf(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", {{"aws:x", "v"}}})), "Validation");
  EXPECT_EQ(WireOf(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", {{"k", std::string(257, 'v')}}})),
            "Validation");
  EXPECT_EQ(WireOf(service_->AddTagsToResource(ctx_, {"Parameter", "/tg/p", {{"bad!", "v"}}})), "Validation");
}

// ---- authorization --------------------------------------------------------------------------------

TEST_F(ParamsServiceTest, EveryActionAsksTheGate) {
  PutParameterInput in = In("/auth/p", "v", "SecureString");
  in.tags = std::vector<Tag>{{"team", "shop"}};
  ASSERT_TRUE(service_->PutParameter(ctx_, std::move(in)).ok());
  auto put = gate_.Last("ssm:PutParameter");
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->arn, std::string(kArnPrefix) + "auth/p");
  EXPECT_EQ(One(put->action_keys, "aws:RequestTag/team"), "shop");
  EXPECT_EQ(One(put->action_keys, "aws:TagKeys"), "team");
  EXPECT_EQ(One(put->action_keys, "ssm:Overwrite"), "false");

  struct Case {
    std::string action;
    std::function<Status()> call;
  };
  std::vector<Case> cases = {
      {"ssm:GetParameter",
       [&]() -> Status {
         auto r = Get("/auth/p");
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"ssm:GetParameterHistory",
       [&]() -> Status {
         auto r = service_->GetParameterHistory(ctx_, GetParameterHistoryInput{"/auth/p", false, {}, {}});
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"ssm:LabelParameterVersion",
       [&]() -> Status {
         auto r = service_->LabelParameterVersion(ctx_, {"/auth/p", 1, {"x"}});
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"ssm:UnlabelParameterVersion",
       [&]() -> Status {
         auto r = service_->UnlabelParameterVersion(ctx_, {"/auth/p", 1, {"x"}});
         return r.ok() ? OkStatus() : Status(r.error());
       }},
      {"ssm:AddTagsToResource", [&] { return service_->AddTagsToResource(ctx_, {"Parameter", "/auth/p", {{"a", "b"}}}); }},
      {"ssm:RemoveTagsFromResource",
       [&] { return service_->RemoveTagsFromResource(ctx_, {"Parameter", "/auth/p", {"a"}}); }},
      {"ssm:ListTagsForResource",
       [&]() -> Status {
         auto r = service_->ListTagsForResource(ctx_, {"Parameter", "/auth/p"});
         return r.ok() ? OkStatus() : Status(r.error());
       }},
  };
  for (const Case& c : cases) {
    ASSERT_TRUE(c.call().ok()) << c.action;
    auto ask = gate_.Last(c.action);
    ASSERT_NE(ask, nullptr) << c.action;
    EXPECT_EQ(ask->arn, std::string(kArnPrefix) + "auth/p") << c.action;
    EXPECT_EQ(One(ask->resource_keys, "aws:ResourceTag/team"), "shop") << c.action;
    EXPECT_EQ(One(ask->resource_keys, "ssm:resourceTag/team"), "shop") << c.action;
    gate_.deny.insert(c.action);
    EXPECT_EQ(c.call().error().code(), Code::kAccessDenied) << c.action;
    gate_.deny.clear();
  }
  // A denied caller learns nothing about which names exist.
  gate_.deny.insert("ssm:GetParameter");
  EXPECT_EQ(Get("/auth/none").error().code(), Code::kAccessDenied);
  EXPECT_EQ(Get("/auth/p").error().code(), Code::kAccessDenied);
  gate_.deny.clear();
  // GetParameters: one denied name fails the call.
  MustPut("/auth/q", "q");
  gate_.deny.insert(std::string(kArnPrefix) + "auth/q");
  EXPECT_EQ(service_->GetParameters(ctx_, GetParametersInput{{"/auth/p", "/auth/q"}, true}).error().code(),
            Code::kAccessDenied);
  EXPECT_EQ(Put("/auth/q", "x", "String", true).error().code(), Code::kAccessDenied);
  EXPECT_EQ(service_->DeleteParameters(ctx_, {"/auth/q"}).error().code(), Code::kAccessDenied);
  EXPECT_EQ(gate_.Last("ssm:DeleteParameters")->arn, std::string(kArnPrefix) + "auth/q");
  EXPECT_EQ(service_->DeleteParameter(ctx_, "/auth/q").error().code(), Code::kAccessDenied);
  EXPECT_EQ(Value("/auth/q", false), "ERR:AccessDenied");
  gate_.deny.clear();
  EXPECT_EQ(Value("/auth/q", false), "q");
  gate_.deny.insert("ssm:DescribeParameters");
  EXPECT_EQ(Describe({}).error().code(), Code::kAccessDenied);
}

// ---- Secrets Manager references -------------------------------------------------------------------

TEST_F(ParamsServiceTest, SecretsManagerReference) {
  secrets::Context sctx{"us-east-1", "r", "p", &access::AllowAll::Instance()};
  secrets::CreateSecretInput create;
  create.name = "db/creds";
  create.value.string = SecretBytes::CopyOf(R"({"password":"from-sm"})");
  create.client_request_token = std::string(32, 'a');
  auto created = secrets_->CreateSecret(sctx, std::move(create));
  ASSERT_TRUE(created.ok()) << created.error().ToLogString();
  secrets::PutSecretValueInput put;
  put.secret_id = "db/creds";
  put.value.string = SecretBytes::CopyOf("second");
  put.client_request_token = std::string(32, 'b');
  ASSERT_TRUE(secrets_->PutSecretValue(sctx, std::move(put)).ok());

  const std::string ref = "/aws/reference/secretsmanager/db/creds";
  auto got = Get(ref, true);
  ASSERT_TRUE(got.ok()) << got.error().ToLogString();
  EXPECT_EQ(got->value.view(), "second");
  EXPECT_EQ(got->name, ref);
  EXPECT_EQ(got->type, "SecureString");
  EXPECT_EQ(got->version, 0);
  EXPECT_EQ(got->arn, created->arn);
  ASSERT_TRUE(got->source_result.has_value());
  auto source = boost::json::parse(*got->source_result);
  EXPECT_EQ(source.at("ARN").as_string(), created->arn);
  EXPECT_EQ(source.at("Name").as_string(), "db/creds");
  EXPECT_TRUE(source.at("VersionIdsToStages").is_object());
  EXPECT_EQ(source.as_object().find("SecretString"), source.as_object().end());
  // The caller's rights on the secret are checked.
  EXPECT_NE(gate_.Last("secretsmanager:GetSecretValue"), nullptr);
  EXPECT_EQ(gate_.Last("ssm:GetParameter")->arn, std::string(kArnPrefix) + "aws/reference/secretsmanager/db/creds");
  // Selectors: a staging label or a version id.
  EXPECT_EQ(Value(ref + ":AWSPREVIOUS"), R"({"password":"from-sm"})");
  EXPECT_EQ(Get(ref + ":AWSPREVIOUS", true)->selector, ":AWSPREVIOUS");
  EXPECT_EQ(Value(ref + ":" + std::string(32, 'b')), "second");
  EXPECT_EQ(WireOf(Get(ref + ":NOPE", true)), "ParameterNotFound");
  // WithDecryption is required.
  EXPECT_EQ(WireOf(Get(ref, false)), "Validation");
  EXPECT_EQ(WireOf(service_->GetParameters(ctx_, GetParametersInput{{ref}, false})), "Validation");
  auto many = service_->GetParameters(ctx_, GetParametersInput{{ref, "/aws/reference/secretsmanager/none"}, true});
  ASSERT_TRUE(many.ok()) << many.error().ToLogString();
  ASSERT_EQ(many->parameters.size(), 1u);
  EXPECT_EQ(many->invalid_parameters, std::vector<std::string>{"/aws/reference/secretsmanager/none"});
  EXPECT_EQ(WireOf(Get("/aws/reference/secretsmanager/none", true)), "ParameterNotFound");
  gate_.deny.insert("secretsmanager:GetSecretValue");
  EXPECT_EQ(Get(ref, true).error().code(), Code::kAccessDenied);
  gate_.deny.clear();
  // Without a Secrets Manager service, there is nothing to reference.
  ParamsService alone(*store_, *kms_, nullptr, clock_, ServiceOptions{});
  EXPECT_EQ(WireOf(alone.GetParameter(ctx_, GetParameterInput{ref, true})), "ParameterNotFound");
}

TEST_F(ParamsServiceTest, RegionsAreSeparate) {
  MustPut("/r/p", "east");
  Context west = ctx_;
  west.region = "eu-west-1";
  PutParameterInput in = In("/r/p", "west");
  ASSERT_TRUE(service_->PutParameter(west, std::move(in)).ok());
  EXPECT_EQ(Value("/r/p"), "east");
  auto p = service_->GetParameter(west, GetParameterInput{"/r/p", true});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->value.view(), "west");
  EXPECT_EQ(p->arn, "arn:aws:ssm:eu-west-1:000000000000:parameter/r/p");
}

}  // namespace
}  // namespace arca::params
