// The store suite (store_suite.h): leases on background work, and several Store objects on one
// database standing in for server replicas (for SQLite: processes sharing the file; for PostgreSQL:
// replicas sharing the database), on every store kind.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "store/store_suite.h"

namespace arca::store {
namespace {

// ---- leases ----

class StoreLeaseTest : public StoreSuite {
 protected:
  // ClaimLease in a write transaction of its own, committed. A failure fails the test (and reads
  // as "not claimed").
  static bool Claim(Store& store, const std::string& name, const std::string& owner,
                    std::int64_t now_ms, std::int64_t ttl_ms) {
    auto txn = Begin(store, TxnMode::kWrite);
    auto claimed = txn->ClaimLease(name, owner, now_ms, ttl_ms);
    EXPECT_TRUE(claimed.ok()) << claimed.error().ToLogString();
    Status committed = txn->Commit();
    EXPECT_TRUE(committed.ok()) << committed.error().ToLogString();
    return claimed.ok() && committed.ok() && *claimed;
  }

  static void Release(Store& store, const std::string& name, const std::string& owner) {
    auto txn = Begin(store, TxnMode::kWrite);
    ASSERT_OK(txn->ReleaseLease(name, owner));
    ASSERT_OK(txn->Commit());
  }
};
ARCA_INSTANTIATE_STORE_SUITE(StoreLeaseTest);

TEST_P(StoreLeaseTest, AFreeLeaseIsClaimedAndRefusedToOthersUntilItExpires) {
  auto store = Open();
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1000, 500));  // a's until 1500
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 1200, 500));
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 1499, 500));
  // Another name is another lease.
  EXPECT_TRUE(Claim(*store, "rotation", "replica-b", 1200, 500));
  // Expired: taken over, and now refused to the old owner.
  EXPECT_TRUE(Claim(*store, "purge", "replica-b", 1501, 500));  // b's until 2001
  EXPECT_FALSE(Claim(*store, "purge", "replica-a", 1600, 500));
  EXPECT_FALSE(Claim(*store, "purge", "replica-a", 2000, 500));
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 2002, 500));
}

TEST_P(StoreLeaseTest, TheOwnerRenewsItsLease) {
  auto store = Open();
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1000, 500));  // until 1500
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1400, 500));  // renewed: until 1900
  // Without the renewal the lease would have expired at 1500.
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 1600, 500));
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 1899, 500));
  // An owner may also renew a lease that expired while nobody took it over.
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 5000, 500));  // until 5500
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 5400, 500));
  EXPECT_TRUE(Claim(*store, "purge", "replica-b", 5501, 500));
}

TEST_P(StoreLeaseTest, AReleasedLeaseIsFreeAtOnce) {
  auto store = Open();
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1000, 60000));
  // Only the owner releases: b's release leaves a's lease alone.
  Release(*store, "purge", "replica-b");
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 2000, 60000));
  Release(*store, "purge", "replica-a");
  EXPECT_TRUE(Claim(*store, "purge", "replica-b", 2000, 60000));
  EXPECT_FALSE(Claim(*store, "purge", "replica-a", 3000, 60000));
  // Releasing a lease nobody holds, or one never claimed, is fine.
  Release(*store, "never-claimed", "replica-a");
  Release(*store, "purge", "replica-b");
  Release(*store, "purge", "replica-b");
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 3000, 60000));
}

TEST_P(StoreLeaseTest, ClaimsCommitOrRollBackWithTheirTransaction) {
  auto store = Open();
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    auto claimed = txn->ClaimLease("purge", "replica-a", 1000, 60000);
    ASSERT_OK(claimed);
    EXPECT_TRUE(*claimed);
    // The transaction sees its own claim.
    auto other = txn->ClaimLease("purge", "replica-b", 1000, 60000);
    ASSERT_OK(other);
    EXPECT_FALSE(*other);
  }  // rolled back
  EXPECT_TRUE(Claim(*store, "purge", "replica-b", 1000, 60000));
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->ReleaseLease("purge", "replica-b"));
  }  // rolled back: still b's
  EXPECT_FALSE(Claim(*store, "purge", "replica-a", 2000, 60000));
}

TEST_P(StoreLeaseTest, AReadTransactionCannotClaimOrRelease) {
  auto store = Open();
  auto txn = Begin(*store, TxnMode::kRead);
  EXPECT_CODE(txn->ClaimLease("purge", "replica-a", 1000, 500), Code::kInternal);
  EXPECT_CODE(txn->ReleaseLease("purge", "replica-a"), Code::kInternal);
  ASSERT_OK(txn->Commit());
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1000, 500));
}

// Renewals happen every few seconds on every replica: they must not bump the change sequence
// (which empties the read caches) nor write change rows (which wake the change stream).
TEST_P(StoreLeaseTest, LeasesDoNotBumpTheChangeSequenceNorWriteChanges) {
  HeardCommits heard;  // outlives the store, which may call it from its own thread
  auto store = Open();
  store->OnCommit(heard.Listener());
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("s", "us-east-1", "app/s")));
    ASSERT_OK(txn->PutSetting("k", "v"));
    ASSERT_OK(txn->Commit());
  }
  const std::uint64_t sequence = store->ChangeSequence();
  const std::uint64_t latest = store->LatestChange();
  EXPECT_EQ(sequence, 1u);
  EXPECT_EQ(latest, 1u);
  const std::size_t calls = heard.Get().size();

  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1000, 500));   // a claim
  EXPECT_TRUE(Claim(*store, "purge", "replica-a", 1400, 500));   // a renewal
  EXPECT_FALSE(Claim(*store, "purge", "replica-b", 1500, 500));  // a refusal
  EXPECT_TRUE(Claim(*store, "rotation", "replica-b", 1500, 500));
  Release(*store, "purge", "replica-a");
  EXPECT_TRUE(Claim(*store, "purge", "replica-b", 2000, 500));  // a take-over
  if (kind() == StoreKind::kPostgres) {
    // A notification, had one been sent, would have arrived by now.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_OK(store->Ping());
  EXPECT_EQ(store->ChangeSequence(), sequence);
  EXPECT_EQ(store->LatestChange(), latest);
  EXPECT_TRUE(Changes(*store, latest).empty());
  EXPECT_EQ(heard.Get().size(), calls);
  auto txn = Begin(*store, TxnMode::kRead);
  auto bounds = txn->GetChangeBounds();
  ASSERT_OK(bounds);
  EXPECT_EQ(bounds->latest, latest);
}

// ---- several stores on one database ----

class StoreReplicaTest : public StoreSuite {};
ARCA_INSTANTIATE_STORE_SUITE(StoreReplicaTest);

TEST_P(StoreReplicaTest, ACommitThroughOneStoreIsVisibleThroughTheOther) {
  auto a = Open();
  auto b = Open();
  {
    auto read = Begin(*b, TxnMode::kRead);
    auto none = read->GetSecretByName("us-east-1", "app/db");
    ASSERT_OK(none);
    EXPECT_FALSE(none->has_value());
    ASSERT_OK(read->Commit());
  }
  const SecretRow secret = Secret("sid", "us-east-1", "app/db");
  const VersionRow version = Version("sid", "v1", 10, {"AWSCURRENT"});
  {
    auto txn = Begin(*a, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(secret));
    ASSERT_OK(txn->InsertVersion(version));
    ASSERT_OK(txn->PutSetting("k", "from a"));
    ASSERT_OK(txn->Commit());
  }
  {
    auto read = Begin(*b, TxnMode::kRead);
    auto got = read->GetSecretByName("us-east-1", "app/db");
    ASSERT_OK(got);
    ASSERT_TRUE(got->has_value());
    ExpectSecretEq(**got, secret);
    auto v = read->GetVersion("sid", "v1");
    ASSERT_OK(v);
    ASSERT_TRUE(v->has_value());
    ExpectVersionEq(**v, version);
    auto setting = read->GetSetting("k");
    ASSERT_OK(setting);
    EXPECT_EQ(setting->value_or(""), "from a");
    ASSERT_OK(read->Commit());
  }
  // And the other way round.
  {
    auto txn = Begin(*b, TxnMode::kWrite);
    ASSERT_OK(txn->UpdateVersion(Version("sid", "v1", 10, {"AWSPREVIOUS"})));
    ASSERT_OK(txn->PutSetting("k", "from b"));
    ASSERT_OK(txn->Commit());
  }
  {
    auto read = Begin(*a, TxnMode::kRead);
    auto v = read->GetVersion("sid", "v1");
    ASSERT_OK(v);
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ((*v)->labels, std::vector<std::string>{"AWSPREVIOUS"});
    auto setting = read->GetSetting("k");
    ASSERT_OK(setting);
    EXPECT_EQ(setting->value_or(""), "from b");
    ASSERT_OK(read->Commit());
  }
  // One change log, whoever wrote to it; reading its bounds raises what a store knows.
  const std::vector<ChangeRow> through_a = Changes(*a);
  const std::vector<ChangeRow> through_b = Changes(*b);
  ASSERT_EQ(through_a.size(), 2u);
  ASSERT_EQ(through_b.size(), 2u);
  EXPECT_EQ(through_a[1].sequence, 2u);
  EXPECT_EQ(through_b[1].sequence, 2u);
  ASSERT_EQ(through_b[1].versions.size(), 1u);
  EXPECT_EQ(through_b[1].versions[0].stages, std::vector<std::string>{"AWSPREVIOUS"});
  for (Store* s : {a.get(), b.get()}) {
    auto read = Begin(*s, TxnMode::kRead);
    auto bounds = read->GetChangeBounds();
    ASSERT_OK(bounds);
    EXPECT_EQ(bounds->latest, 2u);
    ASSERT_OK(read->Commit());
    EXPECT_EQ(s->LatestChange(), 2u);
  }
  ExpectChangeSequenceReaches(*a, 2);
  ExpectChangeSequenceReaches(*b, 2);
}

// Read-modify-write of one counter through two stores: the writer lock is the database's, not a
// store's, so no increment is lost.
TEST_P(StoreReplicaTest, WritersAreSerialisedAcrossStores) {
  auto a = Open();
  auto b = Open();
  std::atomic<int> failures{0};
  std::thread through_a([&] { IncrementCounter(*a, 50, &failures); });
  std::thread through_b([&] { IncrementCounter(*b, 50, &failures); });
  through_a.join();
  through_b.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadCounter(*a), 100);
  EXPECT_EQ(ReadCounter(*b), 100);
  ExpectChangeSequenceReaches(*a, 100);
  ExpectChangeSequenceReaches(*b, 100);
}

// A write transaction of one store holds off the other store's writers until it finishes; the
// waiting writer then reads what it committed.
TEST_P(StoreReplicaTest, AWriterWaitsForTheOtherStoresWriter) {
  auto a = Open();
  auto b = Open();
  auto first = Begin(*a, TxnMode::kWrite);
  ASSERT_OK(first->PutSetting("counter", "1"));
  std::atomic<bool> begun{false};
  auto second = std::async(std::launch::async, [&]() -> std::string {
    auto txn = b->Begin(TxnMode::kWrite);
    begun = true;
    if (!txn.ok()) return "Begin: " + txn.error().ToLogString();
    auto value = (*txn)->GetSetting("counter");
    if (!value.ok()) return "GetSetting: " + value.error().ToLogString();
    const std::string seen = value->value_or("none");
    Status put = (*txn)->PutSetting("counter", seen + "+1");
    if (!put.ok()) return "PutSetting: " + put.error().ToLogString();
    Status committed = (*txn)->Commit();
    if (!committed.ok()) return "Commit: " + committed.error().ToLogString();
    return seen;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(begun.load()) << "b's writer did not wait for a's";
  ASSERT_OK(first->Commit());
  EXPECT_EQ(second.get(), "1");
  auto read = Begin(*a, TxnMode::kRead);
  auto value = read->GetSetting("counter");
  ASSERT_OK(value);
  EXPECT_EQ(value->value_or(""), "1+1");
}

TEST_P(StoreReplicaTest, ALeaseHeldThroughOneStoreIsRefusedThroughTheOther) {
  auto a = Open();
  auto b = Open();
  auto claim = [](Store& store, const std::string& owner, std::int64_t now_ms) {
    auto txn = Begin(store, TxnMode::kWrite);
    auto claimed = txn->ClaimLease("purge", owner, now_ms, 1000);
    EXPECT_TRUE(claimed.ok()) << claimed.error().ToLogString();
    EXPECT_TRUE(txn->Commit().ok());
    return claimed.ok() && *claimed;
  };
  EXPECT_TRUE(claim(*a, "replica-a", 1000));
  EXPECT_FALSE(claim(*b, "replica-b", 1500));
  EXPECT_TRUE(claim(*a, "replica-a", 1500));  // renewed through a: until 2500
  EXPECT_FALSE(claim(*b, "replica-b", 2400));
  EXPECT_TRUE(claim(*b, "replica-b", 2600));  // expired: b takes over
  EXPECT_FALSE(claim(*a, "replica-a", 2700));
  ExpectChangeSequenceReaches(*a, 0);
  ExpectChangeSequenceReaches(*b, 0);
}

}  // namespace
}  // namespace arca::store
