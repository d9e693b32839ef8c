#include "iam/access_keys.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "crypto/keyring.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::iam {
namespace {

namespace fs = std::filesystem;

SecretBytes TestMasterKey() {
  SecretBytes key(32);
  for (std::size_t i = 0; i < key.size(); ++i) key.data()[i] = static_cast<std::uint8_t>(i * 7 + 1);
  return key;
}

class AccessKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-iam-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, TestMasterKey());
    keys_ = std::make_unique<AccessKeys>(*store_, *keyring_, "aws", "123456789012");
  }
  void TearDown() override {
    keys_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::vector<store::AccessKeyRow> ListKeys() {
    auto txn = store_->Begin(store::TxnMode::kRead);
    EXPECT_TRUE(txn.ok());
    auto rows = (*txn)->ListAccessKeys();
    EXPECT_TRUE(rows.ok());
    return rows.ok() ? *rows : std::vector<store::AccessKeyRow>{};
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<AccessKeys> keys_;
};

TEST_F(AccessKeysTest, EnsureRootKeyCreatesExactlyOneKey) {
  auto first = keys_->EnsureRootKey();
  ASSERT_TRUE(first.ok()) << first.error().ToLogString();
  ASSERT_TRUE(first->has_value());
  const NewAccessKey& key = **first;

  EXPECT_EQ(key.access_key_id.size(), 20u);
  EXPECT_EQ(key.access_key_id.substr(0, 4), "AKIA");
  for (char c : key.access_key_id.substr(4)) {
    EXPECT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << c;
  }
  ASSERT_EQ(key.secret_access_key.size(), 40u);
  for (char c : key.secret_access_key.view()) {
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '+') << c;
  }

  auto second = keys_->EnsureRootKey();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());

  // A second AccessKeys over the same store sees the key too.
  AccessKeys other(*store_, *keyring_, "aws", "123456789012");
  auto third = other.EnsureRootKey();
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(third->has_value());

  auto rows = ListKeys();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].access_key_id, key.access_key_id);
  EXPECT_EQ(rows[0].principal, "root");
  EXPECT_EQ(rows[0].status, "Active");
}

TEST_F(AccessKeysTest, LookupReturnsRootCallerAndSecret) {
  auto created = keys_->EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  const NewAccessKey& key = **created;

  auto found = keys_->Lookup(key.access_key_id);
  ASSERT_TRUE(found.ok()) << found.error().ToLogString();
  const auto& [caller, secret] = *found;
  EXPECT_EQ(caller.account, "123456789012");
  EXPECT_EQ(caller.arn, "arn:aws:iam::123456789012:root");
  EXPECT_EQ(caller.user_id, "123456789012");
  EXPECT_EQ(caller.access_key_id, key.access_key_id);
  EXPECT_EQ(caller.principal, "root");
  ASSERT_NE(secret, nullptr);
  EXPECT_EQ(secret->view(), key.secret_access_key.view());

  // Cached: the same secret object comes back.
  auto again = keys_->Lookup(key.access_key_id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->second, secret);
}

TEST_F(AccessKeysTest, PartitionShapesTheArn) {
  AccessKeys cn(*store_, *keyring_, "aws-cn", "000000000000");
  auto created = cn.EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  auto found = cn.Lookup((*created)->access_key_id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->first.arn, "arn:aws-cn:iam::000000000000:root");
}

TEST_F(AccessKeysTest, UnknownKeyIsUnrecognized) {
  ASSERT_TRUE(keys_->EnsureRootKey().ok());
  for (std::string id : {"AKIA-FAKE-EXAMPLE-ID", "", "not-a-key", "akiaiosfodnn7example"}) {
    auto found = keys_->Lookup(id);
    ASSERT_FALSE(found.ok()) << id;
    EXPECT_EQ(found.error().code(), Code::kUnrecognizedClient);
    EXPECT_EQ(found.error().message(), "The security token included in the request is invalid.");
  }
}

TEST_F(AccessKeysTest, InactiveKeyIsUnrecognized) {
  auto created = keys_->EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    auto row = (*txn)->GetAccessKey((*created)->access_key_id);
    ASSERT_TRUE(row.ok() && row->has_value());
    store::AccessKeyRow r = **row;
    r.status = "Inactive";
    ASSERT_TRUE((*txn)->PutAccessKey(r).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  // A fresh AccessKeys (no cache) refuses it.
  AccessKeys fresh(*store_, *keyring_, "aws", "123456789012");
  auto found = fresh.Lookup((*created)->access_key_id);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code(), Code::kUnrecognizedClient);
}

TEST_F(AccessKeysTest, SecretIsStoredSealed) {
  auto created = keys_->EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  const NewAccessKey& key = **created;
  auto rows = ListKeys();
  ASSERT_EQ(rows.size(), 1u);
  const crypto::Sealed& sealed = rows[0].secret;
  EXPECT_EQ(sealed.key_version, 1u);
  EXPECT_EQ(sealed.ciphertext.find(key.secret_access_key.view()), std::string::npos);
  EXPECT_EQ(sealed.wrapped_key.find(key.secret_access_key.view()), std::string::npos);

  // The AAD is the access key id: opening with another id fails.
  auto opened = keyring_->Open(sealed, key.access_key_id);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->view(), key.secret_access_key.view());
  EXPECT_FALSE(keyring_->Open(sealed, "AKIA-FAKE-OTHER-KEY0").ok());

  // Nor is the plaintext anywhere in the database files.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(key.secret_access_key.view()), std::string::npos) << entry.path();
  }
}

TEST_F(AccessKeysTest, WrongMasterKeyIsAServerError) {
  auto created = keys_->EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  SecretBytes other(32);
  auto wrong = crypto::Keyring::ForTest(1, std::move(other));
  AccessKeys keys(*store_, *wrong, "aws", "123456789012");
  auto found = keys.Lookup((*created)->access_key_id);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code(), Code::kInternal);
}

TEST_F(AccessKeysTest, UserKeyAuthenticatesAsTheUser) {
  NewAccessKey key = GenerateAccessKey();
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    store::IamUserRow user{"AIDAEXAMPLEUSER0ID23", "Bob", "/eng/team/",
                           "arn:aws:iam::123456789012:user/eng/team/Bob", 1};
    ASSERT_TRUE((*txn)->InsertIamUser(user).ok());
    store::AccessKeyRow row;
    row.access_key_id = key.access_key_id;
    row.principal = user.user_id;
    row.status = "Active";
    row.created_ms = 1;
    auto sealed = keyring_->Seal(key.secret_access_key.view(), key.access_key_id);
    ASSERT_TRUE(sealed.ok());
    row.secret = *sealed;
    ASSERT_TRUE((*txn)->PutAccessKey(row).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto found = keys_->Lookup(key.access_key_id);
  ASSERT_TRUE(found.ok()) << found.error().ToLogString();
  const Caller& caller = found->first;
  EXPECT_EQ(caller.type, PrincipalType::kUser);
  EXPECT_FALSE(caller.is_root());
  EXPECT_EQ(caller.account, "123456789012");
  EXPECT_EQ(caller.arn, "arn:aws:iam::123456789012:user/eng/team/Bob");
  EXPECT_EQ(caller.user_id, "AIDAEXAMPLEUSER0ID23");
  EXPECT_EQ(caller.principal, "Bob");
  EXPECT_EQ(caller.access_key_id, key.access_key_id);
  EXPECT_EQ(found->second->view(), key.secret_access_key.view());

  // Cached: a lookup while nothing was written is not read again (the store is unchanged).
  EXPECT_TRUE(keys_->Lookup(key.access_key_id).ok());
  // Deleted behind the cache's back (as another replica sharing the store does it): any committed
  // write empties the cache, so the key stops working at once, without Forget().
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE((*txn)->DeleteAccessKey(key.access_key_id).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto gone = keys_->Lookup(key.access_key_id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kUnrecognizedClient);
}

TEST_F(AccessKeysTest, KeyOfAMissingUserIsUnrecognized) {
  NewAccessKey key = GenerateAccessKey();
  {
    auto txn = store_->Begin(store::TxnMode::kWrite);
    ASSERT_TRUE(txn.ok());
    store::AccessKeyRow row;
    row.access_key_id = key.access_key_id;
    row.principal = "AIDANOSUCHUSER000000";
    row.created_ms = 1;
    auto sealed = keyring_->Seal(key.secret_access_key.view(), key.access_key_id);
    ASSERT_TRUE(sealed.ok());
    row.secret = *sealed;
    ASSERT_TRUE((*txn)->PutAccessKey(row).ok());
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto found = keys_->Lookup(key.access_key_id);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.error().code(), Code::kUnrecognizedClient);
  EXPECT_EQ(found.error().message(), "The security token included in the request is invalid.");
}

TEST_F(AccessKeysTest, GeneratedKeysHaveAwsShapes) {
  NewAccessKey a = GenerateAccessKey();
  NewAccessKey b = GenerateAccessKey();
  EXPECT_NE(a.access_key_id, b.access_key_id);
  EXPECT_EQ(a.access_key_id.size(), 20u);
  EXPECT_TRUE(a.access_key_id.starts_with("AKIA"));
  EXPECT_EQ(a.secret_access_key.size(), 40u);
  EXPECT_NE(a.secret_access_key.view(), b.secret_access_key.view());
}

TEST_F(AccessKeysTest, RootCallerIsTypedRoot) {
  auto created = keys_->EnsureRootKey();
  ASSERT_TRUE(created.ok() && created->has_value());
  auto found = keys_->Lookup((*created)->access_key_id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->first.type, PrincipalType::kRoot);
  EXPECT_TRUE(found->first.is_root());
}

}  // namespace
}  // namespace arca::iam
