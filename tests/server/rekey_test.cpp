// RewrapAll over a real SQLite store, real keyrings and the real Secrets Manager domain.
#include "server/rekey.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "crypto/hash.h"
#include "iam/access_keys.h"
#include "secrets/service.h"
#include "server/app.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::server {
namespace {

std::string KeyLine(std::uint32_t version, char fill) {
  return "arca-master-key v1 " + std::to_string(version) + " " +
         crypto::Base64Encode(std::string(32, fill)) + "\n";
}

std::unique_ptr<crypto::Keyring> MustKeyring(const std::string& text) {
  auto k = crypto::Keyring::FromText(text);
  EXPECT_TRUE(k.ok()) << k.error().ToLogString();
  return std::move(k).value();
}

secrets::SecretValue StringValue(std::string_view s) {
  secrets::SecretValue v;
  v.string = SecretBytes::CopyOf(s);
  return v;
}

class RekeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "arca-rekey-test-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    auto s = store::OpenSqliteStore(dir_ + "/arca.db");
    ASSERT_TRUE(s.ok()) << s.error().ToLogString();
    store_ = std::move(s).value();
    v1_ = MustKeyring(KeyLine(1, 'a'));
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  secrets::Context Ctx(const std::string& region) { return {region, "req-1", "arn:aws:iam::000000000000:root"}; }

  // Writes: secret "a" (two string versions) in us-east-1, "b" (binary) in eu-west-2, the root key.
  void Populate() {
    secrets::SecretsService svc(*store_, *v1_, clock_, {});
    secrets::CreateSecretInput a;
    a.name = "a";
    a.value = StringValue("a-one");
    ASSERT_TRUE(svc.CreateSecret(Ctx("us-east-1"), std::move(a)).ok());
    secrets::PutSecretValueInput a2;
    a2.secret_id = "a";
    a2.value = StringValue("a-two");
    ASSERT_TRUE(svc.PutSecretValue(Ctx("us-east-1"), std::move(a2)).ok());
    secrets::CreateSecretInput b;
    b.name = "b";
    b.value.binary = SecretBytes::CopyOf(std::string("\0bin", 4));
    ASSERT_TRUE(svc.CreateSecret(Ctx("eu-west-2"), std::move(b)).ok());
    iam::AccessKeys keys(*store_, *v1_, "aws", "000000000000");
    auto root = keys.EnsureRootKey();
    ASSERT_TRUE(root.ok() && root->has_value());
    root_id_ = (*root)->access_key_id;
    root_secret_ = std::string((*root)->secret_access_key.view());
  }

  // Every key version in use, over all rows.
  std::vector<std::uint32_t> VersionsInUse() {
    std::vector<std::uint32_t> out;
    auto txn = store_->Begin(store::TxnMode::kRead);
    EXPECT_TRUE(txn.ok());
    auto all = (*txn)->ListAllSecrets();
    EXPECT_TRUE(all.ok());
    for (const auto& s : *all) {
      auto versions = (*txn)->ListVersions(s.id);
      for (const auto& v : *versions) out.push_back(v.sealed.key_version);
    }
    auto keys = (*txn)->ListAccessKeys();
    for (const auto& k : *keys) out.push_back(k.secret.key_version);
    return out;
  }

  std::string dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> v1_;
  std::string root_id_;
  std::string root_secret_;
};

TEST_F(RekeyTest, RewrapsEverythingAndOnlyTheNewVersionIsNeeded) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  EXPECT_EQ(VersionsInUse(), (std::vector<std::uint32_t>{1, 1, 1, 1}));

  auto both = MustKeyring(KeyLine(1, 'a') + KeyLine(2, 'b'));
  auto counts = RewrapAll(*store_, *both, /*batch_size=*/2);
  ASSERT_TRUE(counts.ok()) << counts.error().ToLogString();
  EXPECT_EQ(counts->versions, 3);
  EXPECT_EQ(counts->access_keys, 1);
  EXPECT_EQ(counts->failed, 0);
  EXPECT_EQ(VersionsInUse(), (std::vector<std::uint32_t>{2, 2, 2, 2}));

  // Version 2 alone opens every value (so the AAD was kept) and the access key.
  auto v2 = MustKeyring(KeyLine(2, 'b'));
  secrets::SecretsService svc(*store_, *v2, clock_, {});
  auto cur = svc.GetSecretValue(Ctx("us-east-1"), {"a", std::nullopt, std::nullopt});
  ASSERT_TRUE(cur.ok()) << cur.error().ToLogString();
  EXPECT_EQ(cur->secret_string->view(), "a-two");
  auto prev = svc.GetSecretValue(Ctx("us-east-1"), {"a", std::nullopt, std::string("AWSPREVIOUS")});
  ASSERT_TRUE(prev.ok()) << prev.error().ToLogString();
  EXPECT_EQ(prev->secret_string->view(), "a-one");
  auto bin = svc.GetSecretValue(Ctx("eu-west-2"), {"b", std::nullopt, std::nullopt});
  ASSERT_TRUE(bin.ok()) << bin.error().ToLogString();
  EXPECT_EQ(bin->secret_binary->view(), std::string_view("\0bin", 4));
  iam::AccessKeys keys(*store_, *v2, "aws", "000000000000");
  auto found = keys.Lookup(root_id_);
  ASSERT_TRUE(found.ok()) << found.error().ToLogString();
  EXPECT_EQ(found->second->view(), root_secret_);

  // Nothing left to do the second time.
  auto again = RewrapAll(*store_, *both);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->versions + again->access_keys + again->failed, 0);
}

TEST_F(RekeyTest, AnUnreadableRowIsCountedAndTheRestContinues) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    auto b = (*txn)->GetSecretByName("eu-west-2", "b");
    ASSERT_TRUE(b.ok() && b->has_value());
    auto versions = (*txn)->ListVersions((*b)->id);
    ASSERT_TRUE(versions.ok() && versions->size() == 1);
    auto row = (*versions)[0];
    row.sealed.wrapped_key[row.sealed.wrapped_key.size() / 2] ^= 1;
    ASSERT_TRUE((*txn)->UpdateVersion(row).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto both = MustKeyring(KeyLine(1, 'a') + KeyLine(2, 'b'));
  auto counts = RewrapAll(*store_, *both);
  ASSERT_TRUE(counts.ok()) << counts.error().ToLogString();
  EXPECT_EQ(counts->versions, 2);
  EXPECT_EQ(counts->access_keys, 1);
  EXPECT_EQ(counts->failed, 1);
}

// A version whose data key is wrapped by a KMS key holds a KMS blob, not a master-key envelope:
// rekey leaves it alone (kms/ rewraps the KMS key materials instead).
TEST_F(RekeyTest, SkipsVersionsSealedUnderAKmsKey) {
  ASSERT_NO_FATAL_FAILURE(Populate());
  store::VersionRow kms_version;
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    auto b = (*txn)->GetSecretByName("eu-west-2", "b");
    ASSERT_TRUE(b.ok() && b->has_value());
    kms_version.secret_id = (*b)->id;
    kms_version.version_id = "kms-version";
    kms_version.created_ms = 1;
    kms_version.kms_key_arn = "arn:aws:kms:eu-west-2:000000000000:key/k";
    kms_version.sealed.key_version = 0;
    kms_version.sealed.wrapped_key = "a KMS ciphertext blob";
    kms_version.sealed.ciphertext = "sealed value";
    ASSERT_TRUE((*txn)->InsertVersion(kms_version).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto both = MustKeyring(KeyLine(1, 'a') + KeyLine(2, 'b'));
  auto counts = RewrapAll(*store_, *both);
  ASSERT_TRUE(counts.ok()) << counts.error().ToLogString();
  EXPECT_EQ(counts->versions, 3);
  EXPECT_EQ(counts->access_keys, 1);
  EXPECT_EQ(counts->failed, 0);

  auto txn = store_->Begin(store::TxnMode::kRead);
  ASSERT_TRUE(txn.ok());
  auto after = (*txn)->GetVersion(kms_version.secret_id, kms_version.version_id);
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->kms_key_arn, kms_version.kms_key_arn);
  EXPECT_EQ((*after)->sealed.key_version, 0u);
  EXPECT_EQ((*after)->sealed.wrapped_key, kms_version.sealed.wrapped_key);
  EXPECT_EQ((*after)->sealed.ciphertext, kms_version.sealed.ciphertext);
}

TEST_F(RekeyTest, CheckMasterKeyBindsTheDataToTheKey) {
  ASSERT_TRUE(CheckMasterKey(*store_, *v1_).ok());  // first start: stores the check value
  ASSERT_TRUE(CheckMasterKey(*store_, *v1_).ok());  // later starts: verifies it
  auto other = MustKeyring(KeyLine(1, 'z'));
  auto wrong = CheckMasterKey(*store_, *other);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kPreconditionNotMet);
  EXPECT_EQ(wrong.error().message(), "the master key does not match this data directory");

  auto both = MustKeyring(KeyLine(1, 'a') + KeyLine(2, 'b'));
  ASSERT_TRUE(CheckMasterKey(*store_, *both).ok());  // stores version 2's check value
  auto older = CheckMasterKey(*store_, *v1_);        // a key file without version 2
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.error().code(), Code::kPreconditionNotMet);
}

}  // namespace
}  // namespace arca::server
