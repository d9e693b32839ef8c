// The store suite (store_suite.h): secrets, versions, access keys, settings, transactions, the
// change sequence and the change log, on every store kind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "store/store_suite.h"

namespace arca::store {
namespace {

using namespace std::string_literals;

class StoreTest : public StoreSuite {};
ARCA_INSTANTIATE_STORE_SUITE(StoreTest);

TEST_P(StoreTest, SecretRoundTripsEveryField) {
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

TEST_P(StoreTest, NamesAreUniquePerRegion) {
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

TEST_P(StoreTest, UpdateSecret) {
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

TEST_P(StoreTest, ListSecretsOrdersByCreatedThenIdAndIncludesDeleted) {
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

TEST_P(StoreTest, ListSecretsDueForPurge) {
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

TEST_P(StoreTest, VersionRoundTripsEveryField) {
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

TEST_P(StoreTest, VersionsListUpdateDelete) {
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

TEST_P(StoreTest, DeletingASecretDeletesItsVersions) {
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

TEST_P(StoreTest, AccessKeys) {
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

TEST_P(StoreTest, AccessKeysOfAPrincipal) {
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

TEST_P(StoreTest, Settings) {
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

TEST_P(StoreTest, DroppedTransactionRollsBack) {
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

TEST_P(StoreTest, WritesAreVisibleInsideTheirTransactionOnlyUntilCommit) {
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

TEST_P(StoreTest, TransactionIsFinishedAfterCommit) {
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

TEST_P(StoreTest, ReadTransactionRefusesWrites) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kRead);
  EXPECT_CODE(txn->PutSetting("k", "v"), Code::kInternal);
  EXPECT_CODE(txn->InsertSecret(Secret("sid", "r", "n")), Code::kInternal);
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), 0u);
}

TEST_P(StoreTest, ChangeSequenceCountsCommittedChangingWrites) {
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

TEST_P(StoreTest, ReopenKeepsDataAndSequence) {
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

TEST_P(StoreTest, TransactionMayOutliveTheStore) {
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

TEST_P(StoreTest, ConcurrentWritersLoseNoUpdates) {
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

TEST_P(StoreTest, HotReadPathIsFast) {
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

class StoreChangeLogTest : public StoreSuite {};
ARCA_INSTANTIATE_STORE_SUITE(StoreChangeLogTest);

TEST_P(StoreChangeLogTest, ChangeLogHasOneRowPerSecretPerTransactionWithLabelsAfterIt) {
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

TEST_P(StoreChangeLogTest, ChangeLogRecordsDeletionsAndRemovedVersions) {
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

TEST_P(StoreChangeLogTest, ChangeLogIgnoresTransactionsThatTouchNoSecret) {
  HeardCommits heard;  // outlives the store, which may call it from its own thread
  auto store = Open();
  store->OnCommit(heard.Listener());
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
  EXPECT_TRUE(heard.Get().empty());
  auto txn = Begin(*store, TxnMode::kRead);
  auto bounds = txn->GetChangeBounds();
  ASSERT_TRUE(bounds.ok());
  EXPECT_EQ(bounds->oldest, 0u);
  EXPECT_EQ(bounds->latest, 0u);
}

TEST_P(StoreChangeLogTest, CommitListenersHearCommitsThatWroteChanges) {
  HeardCommits heard;  // outlives the store, which may call it from its own thread
  auto store = Open();
  const std::uint64_t id = store->OnCommit(heard.Listener());
  for (int i = 0; i < 2; ++i) {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(
        txn->InsertSecret(Secret("s" + std::to_string(i), "us-east-1", "n" + std::to_string(i))));
    ASSERT_OK(
        txn->InsertSecret(Secret("t" + std::to_string(i), "us-east-1", "m" + std::to_string(i))));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(heard.Get(), (std::vector<std::uint64_t>{2, 4}));
  store->RemoveOnCommit(id);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("u", "us-east-1", "u")));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_EQ(heard.Get().size(), 2u);
  EXPECT_EQ(store->LatestChange(), 5u);
  // A reopened store knows its head.
  store.reset();
  store = Open();
  EXPECT_EQ(store->LatestChange(), 5u);
}

TEST_P(StoreChangeLogTest, PruneChangesKeepsTheNewestRowsAndNeverReusesSequences) {
  auto store = Open();
  for (int i = 0; i < 5; ++i) {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(
        txn->InsertSecret(Secret("s" + std::to_string(i), "us-east-1", "n" + std::to_string(i))));
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
