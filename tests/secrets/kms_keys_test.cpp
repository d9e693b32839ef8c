// Secrets under customer managed KMS keys: the data key comes from the key, a disabled key makes
// the value unreadable until it is enabled again, the caller needs kms:Decrypt on the key, and
// UpdateSecret's KmsKeyId moves the labelled versions to the new key.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "crypto/random.h"
#include "kms/service.h"
#include "secrets/service.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::secrets {
namespace {

namespace fs = std::filesystem;

SecretValue Str(std::string_view s) {
  SecretValue v;
  v.string = SecretBytes::CopyOf(s);
  return v;
}

// Denies one action, records every action asked.
class DenyingGate final : public access::Gate {
 public:
  using Gate::Authorize;
  explicit DenyingGate(std::string denied) : denied_(std::move(denied)) {}
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* keys) override {
    asked.emplace_back(action);
    if (action == denied_) return Error(Code::kAccessDenied, "denied " + std::string(action));
    if (action.starts_with("kms:")) {
      const auto* via = resource.keys.Find("kms:ViaService");
      if (keys != nullptr && via == nullptr) via = keys->Find("kms:ViaService");
      if (via != nullptr) via_service = via->front();
    }
    return OkStatus();
  }
  std::vector<std::string> asked;
  std::string via_service;

 private:
  std::string denied_;
};

class SecretsKmsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("arca-secrets-kms-test-" + crypto::NewUuid());
    fs::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    kms_ = std::make_unique<kms::KmsService>(*store_, *keyring_, clock_, kms::ServiceOptions{});
    ServiceOptions options;
    options.kms = kms_.get();
    service_ = std::make_unique<SecretsService>(*store_, *keyring_, clock_, options);
    ctx_.region = "us-east-1";
    kctx_.region = "us-east-1";
  }
  void TearDown() override {
    service_.reset();
    kms_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string NewKey() {
    auto meta = kms_->CreateKey(kctx_, kms::CreateKeyInput{});
    EXPECT_TRUE(meta.ok()) << meta.error().ToLogString();
    return meta.ok() ? meta->key_id : std::string();
  }

  Status Create(const std::string& name, std::string_view value, std::optional<std::string> key) {
    CreateSecretInput in;
    in.name = name;
    in.value = Str(value);
    in.kms_key_id = std::move(key);
    auto out = service_->CreateSecret(ctx_, std::move(in));
    if (!out.ok()) return std::move(out).error();
    return OkStatus();
  }

  Result<std::string> Get(const std::string& id, const Context& ctx,
                          std::optional<std::string> stage = std::nullopt) {
    auto out = service_->GetSecretValue(ctx, {id, std::nullopt, std::move(stage)});
    if (!out.ok()) return std::move(out).error();
    return std::string(out->secret_string->view());
  }
  Result<std::string> Get(const std::string& id) { return Get(id, ctx_); }

  std::vector<store::VersionRow> Versions(const std::string& name) {
    auto txn = store_->Begin(store::TxnMode::kRead);
    auto row = (*txn)->GetSecretByName("us-east-1", name);
    return *(*txn)->ListVersions((*row)->id);
  }

  fs::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<kms::KmsService> kms_;
  std::unique_ptr<SecretsService> service_;
  Context ctx_;
  kms::Context kctx_;
};

TEST_F(SecretsKmsTest, ValueSealedUnderTheKeyAndUnreadableWhileDisabled) {
  const std::string key = NewKey();
  ASSERT_TRUE(Create("db", "under a cmk", key).ok());
  auto versions = Versions("db");
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_NE(versions[0].kms_key_arn.find(key), std::string::npos);
  EXPECT_EQ(versions[0].sealed.key_version, 0u);
  EXPECT_EQ(Get("db").value(), "under a cmk");

  ASSERT_TRUE(kms_->DisableKey(kctx_, {key}).ok());
  auto denied = Get("db");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), Code::kDecryptionFailure);
  PutSecretValueInput put;
  put.secret_id = "db";
  put.value = Str("new");
  auto written = service_->PutSecretValue(ctx_, std::move(put));
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.error().code(), Code::kEncryptionFailure);

  ASSERT_TRUE(kms_->EnableKey(kctx_, {key}).ok());
  EXPECT_EQ(Get("db").value(), "under a cmk");
}

TEST_F(SecretsKmsTest, DefaultKeyUsesTheMasterKeyEnvelope) {
  ASSERT_TRUE(Create("plain", "v", std::nullopt).ok());
  ASSERT_TRUE(Create("aws-managed", "v", "alias/aws/secretsmanager").ok());
  for (const char* name : {"plain", "aws-managed"}) {
    auto versions = Versions(name);
    EXPECT_TRUE(versions[0].kms_key_arn.empty()) << name;
    EXPECT_EQ(versions[0].sealed.key_version, 1u) << name;
  }
  auto missing = Create("nokey", "v", "alias/does-not-exist");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kEncryptionFailure);
}

TEST_F(SecretsKmsTest, ReadingAsksForKmsDecryptViaSecretsManager) {
  const std::string key = NewKey();
  ASSERT_TRUE(Create("guarded", "g", key).ok());
  DenyingGate allow_all_but_nothing("none");
  Context ctx = ctx_;
  ctx.gate = &allow_all_but_nothing;
  EXPECT_EQ(Get("guarded", ctx).value(), "g");
  EXPECT_NE(std::find(allow_all_but_nothing.asked.begin(), allow_all_but_nothing.asked.end(), "kms:Decrypt"),
            allow_all_but_nothing.asked.end());
  EXPECT_EQ(allow_all_but_nothing.via_service, "secretsmanager.us-east-1.amazonaws.com");

  DenyingGate no_decrypt("kms:Decrypt");
  ctx.gate = &no_decrypt;
  auto denied = Get("guarded", ctx);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code(), Code::kAccessDenied);
  EXPECT_EQ(denied.error().message(), "Access to KMS is not allowed");
}

TEST_F(SecretsKmsTest, UpdateSecretMovesLabelledVersionsToTheNewKey) {
  const std::string old_key = NewKey();
  const std::string new_key = NewKey();
  ASSERT_TRUE(Create("moving", "one", old_key).ok());
  PutSecretValueInput put;
  put.secret_id = "moving";
  put.value = Str("two");
  ASSERT_TRUE(service_->PutSecretValue(ctx_, std::move(put)).ok());
  UpdateSecretInput update;
  update.secret_id = "moving";
  update.kms_key_id = new_key;
  ASSERT_TRUE(service_->UpdateSecret(ctx_, std::move(update)).ok());
  for (const auto& v : Versions("moving")) {
    EXPECT_NE(v.kms_key_arn.find(new_key), std::string::npos) << v.version_id;
  }
  ASSERT_TRUE(kms_->DisableKey(kctx_, {old_key}).ok());
  EXPECT_EQ(Get("moving").value(), "two");
  EXPECT_EQ(Get("moving", ctx_, "AWSPREVIOUS").value(), "one");
}

}  // namespace
}  // namespace arca::secrets
