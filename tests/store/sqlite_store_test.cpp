#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/sqlite/schema.h"

namespace arca::store {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    auto&& status_ = (expr);                                                     \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_.error().ToLogString(); \
  } while (0)

#define EXPECT_CODE(expr, code_)                                               \
  do {                                                                         \
    auto&& status_ = (expr);                                                   \
    ASSERT_FALSE(status_.ok()) << #expr << " succeeded";                       \
    EXPECT_EQ(status_.error().code(), code_) << status_.error().ToLogString(); \
  } while (0)

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-store-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = (dir_ / "arca.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> Open() {
    auto store = OpenSqliteStore(path_);
    EXPECT_TRUE(store.ok()) << store.error().ToLogString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static std::unique_ptr<Transaction> Begin(Store& store, TxnMode mode) {
    auto txn = store.Begin(mode);
    EXPECT_TRUE(txn.ok()) << txn.error().ToLogString();
    return txn.ok() ? std::move(txn).value() : nullptr;
  }

  static SecretRow Secret(const std::string& id, const std::string& region, const std::string& name,
                          std::int64_t created_ms = 1000) {
    SecretRow row;
    row.id = id;
    row.region = region;
    row.name = name;
    row.arn = "arn:aws:secretsmanager:" + region + ":000000000000:secret:" + name + "-" + id;
    row.created_ms = created_ms;
    row.meta = R"({"Description":"d"})";
    return row;
  }

  static VersionRow Version(const std::string& secret_id, const std::string& version_id,
                            std::int64_t created_ms, std::vector<std::string> labels = {}) {
    VersionRow row;
    row.secret_id = secret_id;
    row.version_id = version_id;
    row.created_ms = created_ms;
    row.labels = std::move(labels);
    row.sealed.key_version = 1;
    row.sealed.wrapped_key = "wk-" + version_id;
    row.sealed.ciphertext = "ct-" + version_id;
    return row;
  }

  static void ExpectSecretEq(const SecretRow& a, const SecretRow& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.region, b.region);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.arn, b.arn);
    EXPECT_EQ(a.created_ms, b.created_ms);
    EXPECT_EQ(a.deleted_ms, b.deleted_ms);
    EXPECT_EQ(a.purge_ms, b.purge_ms);
    EXPECT_EQ(a.meta, b.meta);
  }

  static void ExpectVersionEq(const VersionRow& a, const VersionRow& b) {
    EXPECT_EQ(a.secret_id, b.secret_id);
    EXPECT_EQ(a.version_id, b.version_id);
    EXPECT_EQ(a.created_ms, b.created_ms);
    EXPECT_EQ(a.last_accessed_ms, b.last_accessed_ms);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.binary, b.binary);
    EXPECT_EQ(a.sealed.key_version, b.sealed.key_version);
    EXPECT_EQ(a.sealed.wrapped_key, b.sealed.wrapped_key);
    EXPECT_EQ(a.sealed.ciphertext, b.sealed.ciphertext);
  }

  static mode_t ModeOf(const std::string& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
    return st.st_mode & 0777;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(SqliteStoreTest, SecretRoundTripsEveryField) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  SecretRow a = Secret("id-a", "us-east-1", "db/password");
  a.meta = R"({"Description":"ünïcode ✓","Tags":[{"Key":"k","Value":"v"}]})";
  SecretRow b = Secret("id-b", "us-east-1", "other");
  b.deleted_ms = 5000;
  b.purge_ms = 9000;
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(a));
    ASSERT_OK(txn->InsertSecret(b));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kRead);
  for (const SecretRow& want : {a, b}) {
    auto by_name = txn->GetSecretByName(want.region, want.name);
    ASSERT_OK(by_name);
    ASSERT_TRUE(by_name->has_value());
    ExpectSecretEq(**by_name, want);
    auto by_arn = txn->GetSecretByArn(want.arn);
    ASSERT_OK(by_arn);
    ASSERT_TRUE(by_arn->has_value());
    ExpectSecretEq(**by_arn, want);
    auto by_id = txn->GetSecretById(want.id);
    ASSERT_OK(by_id);
    ASSERT_TRUE(by_id->has_value());
    ExpectSecretEq(**by_id, want);
  }
  auto missing = txn->GetSecretByName("us-east-1", "nope");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  auto wrong_region = txn->GetSecretByName("eu-west-1", "db/password");
  ASSERT_OK(wrong_region);
  EXPECT_FALSE(wrong_region->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, NamesAreUniquePerRegion) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertSecret(Secret("id-1", "us-east-1", "app")));
  EXPECT_CODE(txn->InsertSecret(Secret("id-2", "us-east-1", "app")), Code::kAlreadyExists);
  ASSERT_OK(txn->InsertSecret(Secret("id-3", "eu-west-1", "app")));  // same name, other region
  SecretRow same_arn = Secret("id-4", "us-east-1", "other");
  same_arn.arn = Secret("id-1", "us-east-1", "app").arn;
  EXPECT_CODE(txn->InsertSecret(same_arn), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertSecret(Secret("id-1", "us-west-2", "x")), Code::kAlreadyExists);
  // A constraint failure leaves the transaction usable.
  ASSERT_OK(txn->Commit());
  auto read = Begin(*store, TxnMode::kRead);
  auto us = read->ListSecrets("us-east-1");
  ASSERT_OK(us);
  ASSERT_EQ(us->size(), 1u);
  EXPECT_EQ((*us)[0].id, "id-1");
  auto eu = read->ListSecrets("eu-west-1");
  ASSERT_OK(eu);
  ASSERT_EQ(eu->size(), 1u);
  EXPECT_EQ((*eu)[0].id, "id-3");
}

TEST_F(SqliteStoreTest, UpdateSecret) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertSecret(Secret("id-1", "us-east-1", "one")));
  ASSERT_OK(txn->InsertSecret(Secret("id-2", "us-east-1", "two")));
  SecretRow updated = Secret("id-1", "us-east-1", "one");
  updated.deleted_ms = 123;
  updated.purge_ms = 456;
  updated.meta = R"({"Description":"new"})";
  ASSERT_OK(txn->UpdateSecret(updated));
  auto got = txn->GetSecretById("id-1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  ExpectSecretEq(**got, updated);
  // Clearing the optional fields works too.
  updated.deleted_ms.reset();
  updated.purge_ms.reset();
  ASSERT_OK(txn->UpdateSecret(updated));
  got = txn->GetSecretById("id-1");
  ASSERT_OK(got);
  ExpectSecretEq(**got, updated);

  EXPECT_CODE(txn->UpdateSecret(Secret("id-missing", "us-east-1", "x")), Code::kNotFound);
  SecretRow clash = Secret("id-1", "us-east-1", "two");  // renaming onto another secret's name
  EXPECT_CODE(txn->UpdateSecret(clash), Code::kAlreadyExists);
  EXPECT_CODE(txn->DeleteSecret("id-missing"), Code::kNotFound);
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, ListSecretsOrdersByCreatedThenIdAndIncludesDeleted) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertSecret(Secret("c", "r1", "n1", 300)));
  ASSERT_OK(txn->InsertSecret(Secret("b", "r1", "n2", 100)));
  SecretRow deleted = Secret("a", "r1", "n3", 100);
  deleted.deleted_ms = 400;
  deleted.purge_ms = 500;
  ASSERT_OK(txn->InsertSecret(deleted));
  ASSERT_OK(txn->InsertSecret(Secret("d", "r2", "n1", 50)));
  auto list = txn->ListSecrets("r1");
  ASSERT_OK(list);
  std::vector<std::string> ids;
  for (const auto& s : *list) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  auto none = txn->ListSecrets("r3");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  auto all = txn->ListAllSecrets();  // every region, by id
  ASSERT_OK(all);
  ids.clear();
  for (const auto& s : *all) ids.push_back(s.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(SqliteStoreTest, ListSecretsDueForPurge) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  SecretRow s1 = Secret("s1", "r1", "n1");
  s1.deleted_ms = 10;
  s1.purge_ms = 100;
  SecretRow s2 = Secret("s2", "r2", "n2");
  s2.deleted_ms = 10;
  s2.purge_ms = 200;
  SecretRow s3 = Secret("s3", "r1", "n3");  // not scheduled
  ASSERT_OK(txn->InsertSecret(s1));
  ASSERT_OK(txn->InsertSecret(s2));
  ASSERT_OK(txn->InsertSecret(s3));
  auto ids_due = [&](std::int64_t now) {
    std::vector<std::string> ids;
    auto due = txn->ListSecretsDueForPurge(now);
    EXPECT_TRUE(due.ok());
    if (due.ok()) {
      for (const auto& s : *due) ids.push_back(s.id);
    }
    return ids;
  };
  EXPECT_EQ(ids_due(99), std::vector<std::string>{});
  EXPECT_EQ(ids_due(100), std::vector<std::string>{"s1"});
  EXPECT_EQ(ids_due(1000), (std::vector<std::string>{"s1", "s2"}));
}

TEST_F(SqliteStoreTest, VersionRoundTripsEveryField) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertSecret(Secret("sid", "r", "n")));
  VersionRow v = Version("sid", "v1", 1234, {"AWSCURRENT", "weird \"label\" \\ ✓", ""});
  v.last_accessed_ms = 86400000;
  v.binary = true;
  v.sealed.key_version = 0xFFFFFFFFu;
  v.sealed.wrapped_key = "\0wrapped\0key\xff"s;
  v.sealed.ciphertext = std::string("\0\0\0", 3) + std::string(70000, '\x01') + "\0"s;
  VersionRow empty = Version("sid", "v2", 1235);
  empty.sealed.wrapped_key.clear();
  empty.sealed.ciphertext.clear();
  ASSERT_OK(txn->InsertVersion(v));
  ASSERT_OK(txn->InsertVersion(empty));
  ASSERT_OK(txn->Commit());

  auto read = Begin(*store, TxnMode::kRead);
  auto got = read->GetVersion("sid", "v1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  ExpectVersionEq(**got, v);
  auto got_empty = read->GetVersion("sid", "v2");
  ASSERT_OK(got_empty);
  ASSERT_TRUE(got_empty->has_value());
  ExpectVersionEq(**got_empty, empty);
  auto missing = read->GetVersion("sid", "v3");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
}

TEST_F(SqliteStoreTest, VersionsListUpdateDelete) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertSecret(Secret("sid", "r", "n")));
  ASSERT_OK(txn->InsertSecret(Secret("other", "r", "n2")));
  ASSERT_OK(txn->InsertVersion(Version("sid", "b", 200)));
  ASSERT_OK(txn->InsertVersion(Version("sid", "c", 100)));
  ASSERT_OK(txn->InsertVersion(Version("sid", "a", 200, {"AWSCURRENT"})));
  ASSERT_OK(txn->InsertVersion(Version("other", "z", 1)));
  EXPECT_CODE(txn->InsertVersion(Version("sid", "a", 999)), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertVersion(Version("no-such-secret", "a", 1)), Code::kNotFound);

  auto list = txn->ListVersions("sid");
  ASSERT_OK(list);
  std::vector<std::string> ids;
  for (const auto& v : *list) ids.push_back(v.version_id);
  EXPECT_EQ(ids, (std::vector<std::string>{"c", "a", "b"}));

  // UpdateVersion changes labels, last access and the sealed value; not created_ms or binary.
  VersionRow upd = Version("sid", "a", 777, {"AWSPREVIOUS", "x"});
  upd.last_accessed_ms = 42;
  upd.binary = true;
  upd.sealed.key_version = 2;
  upd.sealed.wrapped_key = "rewrapped\0"s;
  upd.sealed.ciphertext = "same\0ct"s;
  ASSERT_OK(txn->UpdateVersion(upd));
  auto got = txn->GetVersion("sid", "a");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  VersionRow want = upd;
  want.created_ms = 200;
  want.binary = false;
  ExpectVersionEq(**got, want);

  EXPECT_CODE(txn->UpdateVersion(Version("sid", "missing", 1)), Code::kNotFound);
  ASSERT_OK(txn->DeleteVersion("sid", "c"));
  EXPECT_CODE(txn->DeleteVersion("sid", "c"), Code::kNotFound);
  list = txn->ListVersions("sid");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 2u);
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, DeletingASecretDeletesItsVersions) {
  auto store = Open();
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("sid", "r", "n")));
    ASSERT_OK(txn->InsertSecret(Secret("keep", "r", "k")));
    ASSERT_OK(txn->InsertVersion(Version("sid", "v1", 1)));
    ASSERT_OK(txn->InsertVersion(Version("sid", "v2", 2)));
    ASSERT_OK(txn->InsertVersion(Version("keep", "v1", 1)));
    ASSERT_OK(txn->Commit());
  }
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->DeleteSecret("sid"));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kRead);
  auto gone = txn->GetSecretById("sid");
  ASSERT_OK(gone);
  EXPECT_FALSE(gone->has_value());
  auto versions = txn->ListVersions("sid");
  ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  auto kept = txn->ListVersions("keep");
  ASSERT_OK(kept);
  EXPECT_EQ(kept->size(), 1u);
}

TEST_F(SqliteStoreTest, AccessKeys) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  AccessKeyRow k1;
  k1.access_key_id = "AKIAB";
  k1.principal = "root";
  k1.status = "Active";
  k1.created_ms = 20;
  k1.secret.key_version = 3;
  k1.secret.wrapped_key = "w\0k"s;
  k1.secret.ciphertext = "c\0t"s;
  AccessKeyRow k2 = k1;
  k2.access_key_id = "AKIAA";
  k2.principal = "alice";
  k2.created_ms = 10;
  ASSERT_OK(txn->PutAccessKey(k1));
  ASSERT_OK(txn->PutAccessKey(k2));

  auto got = txn->GetAccessKey("AKIAB");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->access_key_id, k1.access_key_id);
  EXPECT_EQ((*got)->principal, k1.principal);
  EXPECT_EQ((*got)->status, k1.status);
  EXPECT_EQ((*got)->created_ms, k1.created_ms);
  EXPECT_EQ((*got)->secret.key_version, k1.secret.key_version);
  EXPECT_EQ((*got)->secret.wrapped_key, k1.secret.wrapped_key);
  EXPECT_EQ((*got)->secret.ciphertext, k1.secret.ciphertext);

  // Put replaces.
  k1.status = "Inactive";
  k1.secret.key_version = 4;
  ASSERT_OK(txn->PutAccessKey(k1));
  got = txn->GetAccessKey("AKIAB");
  ASSERT_OK(got);
  EXPECT_EQ((*got)->status, "Inactive");
  EXPECT_EQ((*got)->secret.key_version, 4u);

  auto list = txn->ListAccessKeys();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].access_key_id, "AKIAA");  // by created_ms
  EXPECT_EQ((*list)[1].access_key_id, "AKIAB");

  ASSERT_OK(txn->DeleteAccessKey("AKIAA"));
  EXPECT_CODE(txn->DeleteAccessKey("AKIAA"), Code::kNotFound);
  auto missing = txn->GetAccessKey("AKIAA");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, AccessKeysOfAPrincipal) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  AccessKeyRow k;
  k.status = "Active";
  k.secret.key_version = 1;
  k.secret.wrapped_key = "w";
  k.secret.ciphertext = "c";
  for (auto [id, principal, created] :
       {std::tuple{"AKIA3", "AIDAX", 30}, std::tuple{"AKIA1", "root", 10},
        std::tuple{"AKIA2", "AIDAX", 20}}) {
    k.access_key_id = id;
    k.principal = principal;
    k.created_ms = created;
    ASSERT_OK(txn->PutAccessKey(k));
  }
  auto of = txn->ListAccessKeysOf("AIDAX");
  ASSERT_OK(of);
  ASSERT_EQ(of->size(), 2u);
  EXPECT_EQ((*of)[0].access_key_id, "AKIA2");
  EXPECT_EQ((*of)[1].access_key_id, "AKIA3");
  auto none = txn->ListAccessKeysOf("AIDAY");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamUsers) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamUserRow bob{"AIDABOB", "Bob", "/eng/", "arn:aws:iam::000000000000:user/eng/Bob", 5};
  IamUserRow al{"AIDAAL", "al", "/", "arn:aws:iam::000000000000:user/al", 6};
  ASSERT_OK(txn->InsertIamUser(bob));
  ASSERT_OK(txn->InsertIamUser(al));
  // Names are unique whatever their case.
  IamUserRow dup{"AIDADUP", "BOB", "/", "arn:aws:iam::000000000000:user/BOB", 7};
  EXPECT_CODE(txn->InsertIamUser(dup), Code::kAlreadyExists);

  auto got = txn->GetIamUser("bob");  // lookups ignore case
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->user_id, "AIDABOB");
  EXPECT_EQ((*got)->name, "Bob");
  EXPECT_EQ((*got)->path, "/eng/");
  EXPECT_EQ((*got)->arn, bob.arn);
  EXPECT_EQ((*got)->created_ms, 5);
  auto by_id = txn->GetIamUserById("AIDAAL");
  ASSERT_OK(by_id);
  ASSERT_TRUE(by_id->has_value());
  EXPECT_EQ((*by_id)->name, "al");

  auto list = txn->ListIamUsers();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "al");  // by name, ignoring case
  EXPECT_EQ((*list)[1].name, "Bob");

  // Deleting a user takes its tags, inline policies and attachments along.
  IamPolicyRow policy{"ANPAP", "p", "/", "arn:aws:iam::000000000000:policy/p", "", "v1", 2, 1, 1};
  ASSERT_OK(txn->InsertIamPolicy(policy));
  ASSERT_OK(txn->AttachIamPolicy("AIDABOB", "ANPAP", 1));
  ASSERT_OK(txn->PutIamInlinePolicy({"AIDABOB", "inline", "{}"}));
  ASSERT_OK(txn->PutIamTags("AIDABOB", {{"k", "v"}}));
  ASSERT_OK(txn->DeleteIamUser("AIDABOB"));
  EXPECT_CODE(txn->DeleteIamUser("AIDABOB"), Code::kNotFound);
  auto count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 0);
  auto inline_list = txn->ListIamInlinePolicies("AIDABOB");
  ASSERT_OK(inline_list);
  EXPECT_TRUE(inline_list->empty());
  auto tags = txn->GetIamTags("AIDABOB");
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  got = txn->GetIamUser("Bob");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamRoles) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamRoleRow role{"AROAR",
                  "reader",
                  "/svc/",
                  "arn:aws:iam::000000000000:role/svc/reader",
                  R"({"Version":"2012-10-17"})",
                  "reads",
                  7200,
                  9};
  ASSERT_OK(txn->InsertIamRole(role));
  IamRoleRow dup = role;
  dup.role_id = "AROAS";
  dup.name = "READER";
  dup.arn = "arn:aws:iam::000000000000:role/READER";
  EXPECT_CODE(txn->InsertIamRole(dup), Code::kAlreadyExists);

  auto got = txn->GetIamRoleByArn(role.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->role_id, "AROAR");
  EXPECT_EQ((*got)->name, "reader");
  EXPECT_EQ((*got)->path, "/svc/");
  EXPECT_EQ((*got)->assume_role_policy, role.assume_role_policy);
  EXPECT_EQ((*got)->description, "reads");
  EXPECT_EQ((*got)->max_session_duration, 7200);
  EXPECT_EQ((*got)->created_ms, 9);

  role.description = "new";
  role.max_session_duration = 3600;
  ASSERT_OK(txn->UpdateIamRole(role));
  got = txn->GetIamRole("Reader");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->description, "new");
  EXPECT_EQ((*got)->max_session_duration, 3600);
  IamRoleRow ghost = role;
  ghost.role_id = "AROAGHOST";
  EXPECT_CODE(txn->UpdateIamRole(ghost), Code::kNotFound);

  auto list = txn->ListIamRoles();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  ASSERT_OK(txn->DeleteIamRole("AROAR"));
  EXPECT_CODE(txn->DeleteIamRole("AROAR"), Code::kNotFound);
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamPoliciesVersionsAndAttachments) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamPolicyRow p{"ANPAP", "read", "/team/", "arn:aws:iam::000000000000:policy/team/read",
                 "desc",  "v1",   2,        3,
                 4};
  IamPolicyRow q{"ANPAQ", "Admin", "/", "arn:aws:iam::000000000000:policy/Admin", "", "v1",
                 2,       5,       5};
  ASSERT_OK(txn->InsertIamPolicy(p));
  ASSERT_OK(txn->InsertIamPolicy(q));
  IamPolicyRow dup = q;
  dup.policy_id = "ANPAX";
  dup.name = "READ";
  dup.arn = "arn:aws:iam::000000000000:policy/READ";
  EXPECT_CODE(txn->InsertIamPolicy(dup), Code::kAlreadyExists);

  auto got = txn->GetIamPolicyByArn(p.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->policy_id, "ANPAP");
  EXPECT_EQ((*got)->name, "read");
  EXPECT_EQ((*got)->path, "/team/");
  EXPECT_EQ((*got)->description, "desc");
  EXPECT_EQ((*got)->default_version_id, "v1");
  EXPECT_EQ((*got)->next_version, 2);
  EXPECT_EQ((*got)->created_ms, 3);
  EXPECT_EQ((*got)->updated_ms, 4);

  p.default_version_id = "v2";
  p.next_version = 3;
  p.updated_ms = 10;
  ASSERT_OK(txn->UpdateIamPolicy(p));
  got = txn->GetIamPolicyByArn(p.arn);
  ASSERT_OK(got);
  EXPECT_EQ((*got)->default_version_id, "v2");
  EXPECT_EQ((*got)->next_version, 3);
  EXPECT_EQ((*got)->updated_ms, 10);

  auto list = txn->ListIamPolicies();
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "Admin");
  EXPECT_EQ((*list)[1].name, "read");

  // Versions.
  ASSERT_OK(txn->InsertIamPolicyVersion({"ANPAP", "v1", "doc1", 3}));
  ASSERT_OK(txn->InsertIamPolicyVersion({"ANPAP", "v2", "doc2", 10}));
  EXPECT_CODE(txn->InsertIamPolicyVersion({"ANPAP", "v2", "again", 11}), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertIamPolicyVersion({"ANPAGONE", "v1", "doc", 11}), Code::kNotFound);
  auto versions = txn->ListIamPolicyVersions("ANPAP");
  ASSERT_OK(versions);
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version_id, "v1");
  EXPECT_EQ((*versions)[1].version_id, "v2");
  auto v2 = txn->GetIamPolicyVersion("ANPAP", "v2");
  ASSERT_OK(v2);
  ASSERT_TRUE(v2->has_value());
  EXPECT_EQ((*v2)->document, "doc2");
  EXPECT_EQ((*v2)->created_ms, 10);
  ASSERT_OK(txn->DeleteIamPolicyVersion("ANPAP", "v1"));
  EXPECT_CODE(txn->DeleteIamPolicyVersion("ANPAP", "v1"), Code::kNotFound);

  // Attachments: in attach order; attaching twice changes nothing; a missing policy is kNotFound.
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAP", 20));
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAQ", 21));
  ASSERT_OK(txn->AttachIamPolicy("AIDAU", "ANPAP", 22));
  ASSERT_OK(txn->AttachIamPolicy("AROAR", "ANPAP", 23));
  EXPECT_CODE(txn->AttachIamPolicy("AIDAU", "ANPAGONE", 24), Code::kNotFound);
  auto attached = txn->ListIamAttachedPolicies("AIDAU");
  ASSERT_OK(attached);
  ASSERT_EQ(attached->size(), 2u);
  EXPECT_EQ((*attached)[0].arn, p.arn);
  EXPECT_EQ((*attached)[0].default_version_id, "v2");
  EXPECT_EQ((*attached)[1].arn, q.arn);
  auto count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 2);
  ASSERT_OK(txn->DetachIamPolicy("AIDAU", "ANPAP"));
  EXPECT_CODE(txn->DetachIamPolicy("AIDAU", "ANPAP"), Code::kNotFound);
  count = txn->CountIamPolicyAttachments("ANPAP");
  ASSERT_OK(count);
  EXPECT_EQ(*count, 1);

  // Deleting a policy takes its versions, tags and attachments along.
  ASSERT_OK(txn->PutIamTags("ANPAP", {{"a", "1"}}));
  ASSERT_OK(txn->DeleteIamPolicy("ANPAP"));
  EXPECT_CODE(txn->DeleteIamPolicy("ANPAP"), Code::kNotFound);
  versions = txn->ListIamPolicyVersions("ANPAP");
  ASSERT_OK(versions);
  EXPECT_TRUE(versions->empty());
  attached = txn->ListIamAttachedPolicies("AROAR");
  ASSERT_OK(attached);
  EXPECT_TRUE(attached->empty());
  auto tags = txn->GetIamTags("ANPAP");
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamInlinePoliciesAndTags) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "zeta", "z"}));
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "alpha", "a"}));
  ASSERT_OK(txn->PutIamInlinePolicy({"AROAR", "alpha", "a2"}));  // replaces
  ASSERT_OK(txn->PutIamInlinePolicy({"AIDAU", "alpha", "other"}));
  auto list = txn->ListIamInlinePolicies("AROAR");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alpha");
  EXPECT_EQ((*list)[0].document, "a2");
  EXPECT_EQ((*list)[1].name, "zeta");
  auto one = txn->GetIamInlinePolicy("AIDAU", "alpha");
  ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->document, "other");
  ASSERT_OK(txn->DeleteIamInlinePolicy("AROAR", "zeta"));
  EXPECT_CODE(txn->DeleteIamInlinePolicy("AROAR", "zeta"), Code::kNotFound);

  // Tags keep their order; Put replaces the whole list.
  ASSERT_OK(txn->PutIamTags("AROAR", {{"b", "2"}, {"a", "1"}, {"c", ""}}));
  auto tags = txn->GetIamTags("AROAR");
  ASSERT_OK(tags);
  EXPECT_EQ(*tags, (TagList{{"b", "2"}, {"a", "1"}, {"c", ""}}));
  ASSERT_OK(txn->PutIamTags("AROAR", {{"x", "9"}}));
  tags = txn->GetIamTags("AROAR");
  ASSERT_OK(tags);
  EXPECT_EQ(*tags, (TagList{{"x", "9"}}));
  EXPECT_CODE(txn->PutIamTags("AROAR", {{"k", "1"}, {"k", "2"}}), Code::kAlreadyExists);
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamOidcProviders) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  IamOidcProviderRow p;
  p.arn = "arn:aws:iam::000000000000:oidc-provider/kube.example/cluster";
  p.url = "kube.example/cluster";
  p.client_ids = {"sts.amazonaws.com", "arca"};
  p.thumbprints = {std::string(40, 'a')};
  p.jwks = R"({"keys":[]})";
  p.jwks_file = "/etc/jwks.json";
  p.created_ms = 77;
  ASSERT_OK(txn->InsertIamOidcProvider(p));
  EXPECT_CODE(txn->InsertIamOidcProvider(p), Code::kAlreadyExists);
  auto got = txn->GetIamOidcProvider(p.arn);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->url, p.url);
  EXPECT_EQ((*got)->client_ids, p.client_ids);
  EXPECT_EQ((*got)->thumbprints, p.thumbprints);
  EXPECT_EQ((*got)->jwks, p.jwks);
  EXPECT_EQ((*got)->jwks_file, p.jwks_file);
  EXPECT_EQ((*got)->created_ms, 77);

  p.client_ids.clear();
  p.thumbprints.clear();
  ASSERT_OK(txn->UpdateIamOidcProvider(p));
  got = txn->GetIamOidcProvider(p.arn);
  ASSERT_OK(got);
  EXPECT_TRUE((*got)->client_ids.empty());
  EXPECT_TRUE((*got)->thumbprints.empty());
  IamOidcProviderRow ghost = p;
  ghost.arn += "x";
  EXPECT_CODE(txn->UpdateIamOidcProvider(ghost), Code::kNotFound);

  auto list = txn->ListIamOidcProviders();
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 1u);
  ASSERT_OK(txn->PutIamTags(p.arn, {{"k", "v"}}));
  ASSERT_OK(txn->DeleteIamOidcProvider(p.arn));
  EXPECT_CODE(txn->DeleteIamOidcProvider(p.arn), Code::kNotFound);
  auto tags = txn->GetIamTags(p.arn);
  ASSERT_OK(tags);
  EXPECT_TRUE(tags->empty());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, IamWritesBumpTheChangeSequence) {
  auto store = Open();
  const std::uint64_t before = store->ChangeSequence();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertIamUser({"AIDAU", "u", "/", "arn:aws:iam::000000000000:user/u", 1}));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
  // Tagging with nothing changes nothing.
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutIamTags("AIDAU", {}));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
}

// A file made by the first schema, with data in it, is migrated to the latest and keeps its data.
TEST_F(SqliteStoreTest, MigratesAVersion1FileAndKeepsItsData) {
  {
    ASSERT_EQ(::close(::open(path_.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const char* v1 = sqlite::MigrationSql(1);
    ASSERT_NE(v1, nullptr);
    ASSERT_EQ(sqlite3_exec(db, v1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    const char* data = R"sql(
      INSERT INTO secrets (id, region, name, arn, created_ms, meta)
        VALUES ('s1', 'r', 'db/password', 'arn:aws:secretsmanager:r:000000000000:secret:db/password-abc', 1, '{}');
      INSERT INTO versions (secret_id, version_id, created_ms, labels, is_binary, key_version, wrapped_key, ciphertext)
        VALUES ('s1', 'v1', 1, '["AWSCURRENT"]', 0, 1, x'01', x'02');
      INSERT INTO access_keys (access_key_id, principal, status, created_ms, key_version, wrapped_key, ciphertext)
        VALUES ('AKIAROOT', 'root', 'Active', 1, 1, x'03', x'04');
      INSERT INTO settings (key, value) VALUES ('k', CAST('v' AS BLOB));
      UPDATE change_sequence SET seq = 5;
      PRAGMA user_version = 1;
    )sql";
    ASSERT_EQ(sqlite3_exec(db, data, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ChangeSequence(), 5u);
  {
    auto txn = Begin(*store, TxnMode::kRead);
    auto secret = txn->GetSecretById("s1");
    ASSERT_OK(secret);
    ASSERT_TRUE(secret->has_value());
    EXPECT_EQ((*secret)->name, "db/password");
    auto version = txn->GetVersion("s1", "v1");
    ASSERT_OK(version);
    ASSERT_TRUE(version->has_value());
    EXPECT_EQ((*version)->labels, std::vector<std::string>{"AWSCURRENT"});
    EXPECT_EQ((*version)->sealed.ciphertext, "\x02");
    auto key = txn->GetAccessKey("AKIAROOT");
    ASSERT_OK(key);
    ASSERT_TRUE(key->has_value());
    EXPECT_EQ((*key)->principal, "root");
    auto of_root = txn->ListAccessKeysOf("root");
    ASSERT_OK(of_root);
    EXPECT_EQ(of_root->size(), 1u);
    auto setting = txn->GetSetting("k");
    ASSERT_OK(setting);
    EXPECT_EQ(setting->value_or(""), "v");
    ASSERT_OK(txn->Commit());
  }
  // The new tables work.
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertIamUser({"AIDAU", "u", "/", "arn:aws:iam::000000000000:user/u", 1}));
  ASSERT_OK(txn->Commit());
  store.reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), sqlite::LatestSchemaVersion());
  EXPECT_GE(sqlite::LatestSchemaVersion(), 2);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, Settings) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  auto missing = txn->GetSetting("k");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());
  ASSERT_OK(txn->PutSetting("k", "v\0\xff"s));
  ASSERT_OK(txn->PutSetting("empty", ""));
  auto got = txn->GetSetting("k");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "v\0\xff"s);
  ASSERT_OK(txn->PutSetting("k", "v2"));
  got = txn->GetSetting("k");
  ASSERT_OK(got);
  EXPECT_EQ(**got, "v2");
  got = txn->GetSetting("empty");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(**got, "");
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteStoreTest, DroppedTransactionRollsBack) {
  auto store = Open();
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("sid", "r", "n")));
    ASSERT_OK(txn->PutSetting("k", "v"));
  }  // no Commit
  EXPECT_EQ(store->ChangeSequence(), 0u);
  auto txn = Begin(*store, TxnMode::kRead);
  auto got = txn->GetSecretById("sid");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  auto setting = txn->GetSetting("k");
  ASSERT_OK(setting);
  EXPECT_FALSE(setting->has_value());
}

TEST_F(SqliteStoreTest, WritesAreVisibleInsideTheirTransactionOnlyUntilCommit) {
  auto store = Open();
  auto writer = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(writer->InsertSecret(Secret("sid", "r", "n")));
  auto own = writer->GetSecretByName("r", "n");
  ASSERT_OK(own);
  EXPECT_TRUE(own->has_value());

  auto reader = Begin(*store, TxnMode::kRead);
  auto other = reader->GetSecretByName("r", "n");
  ASSERT_OK(other);
  EXPECT_FALSE(other->has_value());

  ASSERT_OK(writer->Commit());
  // The reader keeps its snapshot; a new transaction sees the commit.
  other = reader->GetSecretByName("r", "n");
  ASSERT_OK(other);
  EXPECT_FALSE(other->has_value());
  ASSERT_OK(reader->Commit());
  auto fresh = Begin(*store, TxnMode::kRead);
  other = fresh->GetSecretByName("r", "n");
  ASSERT_OK(other);
  EXPECT_TRUE(other->has_value());
}

TEST_F(SqliteStoreTest, TransactionIsFinishedAfterCommit) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutSetting("k", "v"));
  ASSERT_OK(txn->Commit());
  EXPECT_CODE(txn->Commit(), Code::kInternal);
  EXPECT_CODE(txn->GetSetting("k"), Code::kInternal);
  EXPECT_CODE(txn->PutSetting("k", "w"), Code::kInternal);

  // The writer lock was released at Commit: another write transaction can start while txn lives.
  auto next = Begin(*store, TxnMode::kWrite);
  ASSERT_NE(next, nullptr);
  auto got = next->GetSetting("k");
  ASSERT_OK(got);
  EXPECT_EQ(**got, "v");
}

TEST_F(SqliteStoreTest, ReadTransactionRefusesWrites) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kRead);
  EXPECT_CODE(txn->PutSetting("k", "v"), Code::kInternal);
  EXPECT_CODE(txn->InsertSecret(Secret("sid", "r", "n")), Code::kInternal);
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), 0u);
}

TEST_F(SqliteStoreTest, ChangeSequenceCountsCommittedChangingWrites) {
  auto store = Open();
  EXPECT_EQ(store->ChangeSequence(), 0u);
  {
    auto txn = Begin(*store, TxnMode::kWrite);  // several writes, one commit: +1
    ASSERT_OK(txn->PutSetting("a", "1"));
    ASSERT_OK(txn->PutSetting("b", "2"));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(store->ChangeSequence(), 1u);
  {
    auto txn = Begin(*store, TxnMode::kWrite);  // nothing written: no bump
    ASSERT_OK(txn->GetSetting("a"));
    ASSERT_OK(txn->Commit());
  }
  {
    auto txn = Begin(*store, TxnMode::kWrite);  // only failed writes: no bump
    EXPECT_CODE(txn->DeleteSecret("missing"), Code::kNotFound);
    EXPECT_CODE(txn->UpdateSecret(Secret("missing", "r", "n")), Code::kNotFound);
    ASSERT_OK(txn->Commit());
  }
  {
    auto txn = Begin(*store, TxnMode::kRead);
    ASSERT_OK(txn->GetSetting("a"));
    ASSERT_OK(txn->Commit());
  }
  {
    auto txn = Begin(*store, TxnMode::kWrite);  // rolled back: no bump
    ASSERT_OK(txn->PutSetting("c", "3"));
  }
  EXPECT_EQ(store->ChangeSequence(), 1u);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->PutSetting("c", "3"));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(store->ChangeSequence(), 2u);
  ASSERT_OK(store->Ping());
  EXPECT_EQ(store->ChangeSequence(), 2u);
}

TEST_F(SqliteStoreTest, ReopenKeepsDataAndSequence) {
  {
    auto store = Open();
    for (int i = 0; i < 3; ++i) {
      auto txn = Begin(*store, TxnMode::kWrite);
      ASSERT_OK(txn->InsertSecret(Secret("id" + std::to_string(i), "r", "n" + std::to_string(i))));
      ASSERT_OK(txn->InsertVersion(Version("id" + std::to_string(i), "v", i)));
      ASSERT_OK(txn->Commit());
    }
    EXPECT_EQ(store->ChangeSequence(), 3u);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ChangeSequence(), 3u);
  auto txn = Begin(*store, TxnMode::kRead);
  auto list = txn->ListSecrets("r");
  ASSERT_OK(list);
  EXPECT_EQ(list->size(), 3u);
  auto version = txn->GetVersion("id2", "v");
  ASSERT_OK(version);
  EXPECT_TRUE(version->has_value());
  ASSERT_OK(txn->Commit());
  auto write = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(write->PutSetting("k", "v"));
  ASSERT_OK(write->Commit());
  EXPECT_EQ(store->ChangeSequence(), 4u);
}

TEST_F(SqliteStoreTest, RefusesANewerSchema) {
  { ASSERT_NE(Open(), nullptr); }
  const std::int64_t newer = sqlite::LatestSchemaVersion() + 1;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  const std::string sql = "PRAGMA user_version = " + std::to_string(newer);
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  auto store = OpenSqliteStore(path_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), Code::kPreconditionNotMet);
  EXPECT_EQ(store.error().message(), "database schema version " + std::to_string(newer) +
                                         " is newer than this arca supports (" +
                                         std::to_string(sqlite::LatestSchemaVersion()) + ")");
}

TEST_F(SqliteStoreTest, FilesAreCreatedWithMode0600) {
  const mode_t old_umask = ::umask(0);  // even with a permissive umask
  auto store = Open();
  ::umask(old_umask);
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->PutSetting("k", "v"));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(ModeOf(path_), 0600u);
  EXPECT_EQ(ModeOf(path_ + "-wal"), 0600u);
  EXPECT_EQ(ModeOf(path_ + "-shm"), 0600u);
}

TEST_F(SqliteStoreTest, TightensALooseExistingFile) {
  { std::ofstream create(path_); }
  ASSERT_EQ(::chmod(path_.c_str(), 0644), 0);
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(ModeOf(path_), 0600u);
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAnError) {
  auto store = OpenSqliteStore((dir_ / "no-such-dir" / "arca.db").string());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), Code::kUnavailable);
}

TEST_F(SqliteStoreTest, TransactionMayOutliveTheStore) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kWrite);
  store.reset();
  ASSERT_OK(txn->PutSetting("k", "v"));
  ASSERT_OK(txn->Commit());
  txn.reset();
  store = Open();
  auto read = Begin(*store, TxnMode::kRead);
  auto got = read->GetSetting("k");
  ASSERT_OK(got);
  EXPECT_TRUE(got->has_value());
}

// Read-modify-write of a counter from many threads: write transactions are serialised, so no
// increment is lost.
void IncrementCounter(Store& store, int times, std::atomic<int>* failures) {
  for (int i = 0; i < times; ++i) {
    auto txn = store.Begin(TxnMode::kWrite);
    if (!txn.ok()) {
      ++*failures;
      continue;
    }
    auto value = (*txn)->GetSetting("counter");
    if (!value.ok()) {
      ++*failures;
      continue;
    }
    int n = value->has_value() ? std::stoi(**value) : 0;
    if (!(*txn)->PutSetting("counter", std::to_string(n + 1)).ok() || !(*txn)->Commit().ok()) {
      ++*failures;
    }
  }
}

int ReadCounter(Store& store) {
  auto txn = store.Begin(TxnMode::kRead);
  if (!txn.ok()) return -1;
  auto value = (*txn)->GetSetting("counter");
  if (!value.ok() || !value->has_value()) return -1;
  return std::stoi(**value);
}

TEST_F(SqliteStoreTest, ConcurrentWritersLoseNoUpdates) {
  auto store = Open();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] { IncrementCounter(*store, 50, &failures); });
  }
  // Readers run alongside and never see a torn value.
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) {
      auto txn = store->Begin(TxnMode::kRead);
      if (!txn.ok() || !(*txn)->GetSetting("counter").ok()) ++failures;
    }
  });
  for (auto& t : threads) t.join();
  stop = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadCounter(*store), 400);
  EXPECT_EQ(store->ChangeSequence(), 400u);
}

// Two stores on one file stand in for `arca server` and `arca server rekey` in another process:
// they share no in-process lock, so only SQLite's BEGIN IMMEDIATE serialises them.
TEST_F(SqliteStoreTest, TwoStoresOnOneFileLoseNoUpdates) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    Store& s = (t % 2 == 0) ? *a : *b;
    threads.emplace_back([&s, &failures] { IncrementCounter(s, 25, &failures); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadCounter(*a), 100);
  // Each store saw its own commits; Ping picks up the other's.
  ASSERT_OK(a->Ping());
  ASSERT_OK(b->Ping());
  EXPECT_EQ(a->ChangeSequence(), 100u);
  EXPECT_EQ(b->ChangeSequence(), 100u);
}

TEST_F(SqliteStoreTest, HotReadPathIsFast) {
  auto store = Open();
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("sid", "us-east-1", "app/db")));
    for (int i = 0; i < 3; ++i) {
      ASSERT_OK(txn->InsertVersion(Version("sid", "v" + std::to_string(i), i, {"AWSCURRENT"})));
    }
    ASSERT_OK(txn->Commit());
  }
  constexpr int kIterations = 2000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIterations; ++i) {
    auto txn = store->Begin(TxnMode::kRead);
    ASSERT_TRUE(txn.ok());
    auto secret = (*txn)->GetSecretByName("us-east-1", "app/db");
    ASSERT_TRUE(secret.ok() && secret->has_value());
    auto versions = (*txn)->ListVersions((*secret)->id);
    ASSERT_TRUE(versions.ok() && versions->size() == 3);
    ASSERT_TRUE((*txn)->Commit().ok());
  }
  auto per_op = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - start) /
                kIterations;
  RecordProperty("read_path_us", static_cast<int>(per_op.count()));
  std::cout << "read path: " << per_op.count() << " us per transaction\n";
  EXPECT_LT(per_op.count(), 2000);  // very loose: debug and sanitizer builds on a shared machine
}


// ---- the change log ----

std::vector<ChangeRow> Changes(Store& store, std::uint64_t after = 0, std::size_t limit = 100) {
  auto txn = store.Begin(TxnMode::kRead);
  EXPECT_TRUE(txn.ok());
  if (!txn.ok()) return {};
  auto rows = (*txn)->ListChanges(after, limit);
  EXPECT_TRUE(rows.ok()) << rows.error().ToLogString();
  return rows.ok() ? std::move(rows).value() : std::vector<ChangeRow>{};
}

TEST_F(SqliteStoreTest, ChangeLogHasOneRowPerSecretPerTransactionWithLabelsAfterIt) {
  auto store = Open();
  EXPECT_EQ(store->LatestChange(), 0u);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("a", "us-east-1", "app/a")));
    ASSERT_OK(txn->InsertVersion(Version("a", "va1", 1, {"AWSPENDING"})));
    ASSERT_OK(txn->InsertSecret(Secret("b", "eu-west-1", "app/b")));
    ASSERT_OK(txn->InsertVersion(Version("b", "vb1", 1, {"AWSCURRENT"})));
    // The same version written twice: listed once, with the labels it ends with.
    ASSERT_OK(txn->UpdateVersion(Version("a", "va1", 1, {"AWSCURRENT"})));
    ASSERT_OK(txn->Commit());
  }
  std::vector<ChangeRow> rows = Changes(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sequence, 1u);
  EXPECT_EQ(rows[0].kind, "secret");
  EXPECT_EQ(rows[0].region, "us-east-1");
  EXPECT_EQ(rows[0].name, "app/a");
  EXPECT_EQ(rows[0].arn, Secret("a", "us-east-1", "app/a").arn);
  EXPECT_FALSE(rows[0].deleted);
  EXPECT_GT(rows[0].time_ms, 1700000000000);
  ASSERT_EQ(rows[0].versions.size(), 1u);
  EXPECT_EQ(rows[0].versions[0].version_id, "va1");
  EXPECT_EQ(rows[0].versions[0].stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(rows[1].sequence, 2u);
  EXPECT_EQ(rows[1].region, "eu-west-1");
  EXPECT_EQ(store->LatestChange(), 2u);

  // A second transaction moves the label: both versions are listed, the old one without stages.
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertVersion(Version("a", "va2", 2, {"AWSCURRENT"})));
    ASSERT_OK(txn->UpdateVersion(Version("a", "va1", 1, {"AWSPREVIOUS"})));
    ASSERT_OK(txn->Commit());
  }
  rows = Changes(*store, 2);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sequence, 3u);
  ASSERT_EQ(rows[0].versions.size(), 2u);
  EXPECT_EQ(rows[0].versions[0].version_id, "va2");
  EXPECT_EQ(rows[0].versions[0].stages, std::vector<std::string>{"AWSCURRENT"});
  EXPECT_EQ(rows[0].versions[1].version_id, "va1");
  EXPECT_EQ(rows[0].versions[1].stages, std::vector<std::string>{"AWSPREVIOUS"});
  // Limits and "after" page through the log.
  EXPECT_EQ(Changes(*store, 0, 1).size(), 1u);
  EXPECT_EQ(Changes(*store, 3).size(), 0u);
}

TEST_F(SqliteStoreTest, ChangeLogRecordsDeletionsAndRemovedVersions) {
  auto store = Open();
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("a", "us-east-1", "app/a")));
    ASSERT_OK(txn->InsertVersion(Version("a", "v1", 1, {"AWSCURRENT"})));
    ASSERT_OK(txn->InsertVersion(Version("a", "v2", 2)));
    ASSERT_OK(txn->Commit());
  }
  {  // a removed version is listed with no stages
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->DeleteVersion("a", "v2"));
    ASSERT_OK(txn->Commit());
  }
  {  // scheduled for deletion
    auto txn = Begin(*store, TxnMode::kWrite);
    SecretRow row = Secret("a", "us-east-1", "app/a");
    row.deleted_ms = 5000;
    ASSERT_OK(txn->UpdateSecret(row));
    ASSERT_OK(txn->Commit());
  }
  {  // purged: the row keeps the names, every version is gone
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->DeleteSecret("a"));
    ASSERT_OK(txn->Commit());
  }
  std::vector<ChangeRow> rows = Changes(*store, 1);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[0].deleted);
  ASSERT_EQ(rows[0].versions.size(), 1u);
  EXPECT_EQ(rows[0].versions[0].version_id, "v2");
  EXPECT_TRUE(rows[0].versions[0].stages.empty());
  EXPECT_TRUE(rows[1].deleted);
  EXPECT_TRUE(rows[1].versions.empty());
  EXPECT_TRUE(rows[2].deleted);
  EXPECT_EQ(rows[2].name, "app/a");
  EXPECT_EQ(rows[2].arn, Secret("a", "us-east-1", "app/a").arn);
  ASSERT_EQ(rows[2].versions.size(), 1u);
  EXPECT_EQ(rows[2].versions[0].version_id, "v1");
  EXPECT_TRUE(rows[2].versions[0].stages.empty());
}

TEST_F(SqliteStoreTest, ChangeLogIgnoresTransactionsThatTouchNoSecret) {
  auto store = Open();
  std::vector<std::uint64_t> heard;
  store->OnCommit([&heard](std::uint64_t latest) { heard.push_back(latest); });
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->PutSetting("k", "v"));
    IamUserRow user;
    user.user_id = "AIDA1";
    user.name = "u";
    user.path = "/";
    user.arn = "arn:aws:iam::000000000000:user/u";
    ASSERT_OK(txn->InsertIamUser(user));
    ASSERT_OK(txn->Commit());
  }
  {  // rolled back: nothing either
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("a", "us-east-1", "app/a")));
  }
  EXPECT_TRUE(Changes(*store).empty());
  EXPECT_EQ(store->LatestChange(), 0u);
  EXPECT_TRUE(heard.empty());
  auto txn = Begin(*store, TxnMode::kRead);
  auto bounds = txn->GetChangeBounds();
  ASSERT_TRUE(bounds.ok());
  EXPECT_EQ(bounds->oldest, 0u);
  EXPECT_EQ(bounds->latest, 0u);
}

TEST_F(SqliteStoreTest, CommitListenersHearCommitsThatWroteChanges) {
  auto store = Open();
  std::vector<std::uint64_t> heard;
  const std::uint64_t id = store->OnCommit([&heard](std::uint64_t latest) { heard.push_back(latest); });
  for (int i = 0; i < 2; ++i) {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("s" + std::to_string(i), "us-east-1", "n" + std::to_string(i))));
    ASSERT_OK(txn->InsertSecret(Secret("t" + std::to_string(i), "us-east-1", "m" + std::to_string(i))));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(heard, (std::vector<std::uint64_t>{2, 4}));
  store->RemoveOnCommit(id);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("u", "us-east-1", "u")));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(heard.size(), 2u);
  EXPECT_EQ(store->LatestChange(), 5u);
  // A reopened store knows its head.
  store.reset();
  store = Open();
  EXPECT_EQ(store->LatestChange(), 5u);
}

TEST_F(SqliteStoreTest, PruneChangesKeepsTheNewestRowsAndNeverReusesSequences) {
  auto store = Open();
  for (int i = 0; i < 5; ++i) {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("s" + std::to_string(i), "us-east-1", "n" + std::to_string(i))));
    ASSERT_OK(txn->Commit());
  }
  const std::int64_t future_ms = 32503680000000;  // year 3000: every row is old enough
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    auto none = txn->PruneChanges(0, 0);  // nothing is older than 1970
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, 0);
    auto removed = txn->PruneChanges(future_ms, 2);
    ASSERT_TRUE(removed.ok()) << removed.error().ToLogString();
    EXPECT_EQ(*removed, 3);
    ASSERT_OK(txn->Commit());
  }
  std::vector<ChangeRow> rows = Changes(*store);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].sequence, 4u);
  {
    auto txn = Begin(*store, TxnMode::kRead);
    auto bounds = txn->GetChangeBounds();
    ASSERT_TRUE(bounds.ok());
    EXPECT_EQ(bounds->oldest, 4u);
    EXPECT_EQ(bounds->latest, 5u);
  }
  {  // even with everything removed, the next row continues the sequence
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_TRUE(txn->PruneChanges(future_ms, 0).ok());
    ASSERT_OK(txn->InsertSecret(Secret("x", "us-east-1", "x")));
    ASSERT_OK(txn->Commit());
  }
  rows = Changes(*store);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sequence, 6u);
}

}  // namespace
}  // namespace arca::store
