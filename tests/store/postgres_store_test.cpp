// The PostgreSQL store's own behaviour (postgres_store.h): other replicas' commits reach a store
// through LISTEN/NOTIFY, a newer schema is refused, an unreachable server is kUnavailable without
// the password in the message, and RedactPostgresUrl. What every store does is in the store suite
// (store_suite*_test.cpp), which runs against PostgreSQL too.
#include "store/postgres/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "store/postgres_server.h"
#include "store/store_test_util.h"

namespace arca::store {
namespace {

using arca::testing::PostgresServer;
using ::testing::HasSubstr;
using ::testing::Not;

class PostgresStoreTest : public ::testing::Test, protected StoreTestUtil {
 protected:
  void SetUp() override {
    if (!PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL (initdb, pg_ctl) not installed";
    auto server = PostgresServer::Shared();
    ASSERT_TRUE(server.ok()) << server.error().ToLogString();
    pg_ = *server;
    auto db = pg_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.error().ToLogString();
    db_ = std::move(db).value();
  }
  void TearDown() override {
    if (pg_ != nullptr && !db_.name.empty()) {
      (void)pg_->Execute("postgres", "DROP DATABASE IF EXISTS " + db_.name + " WITH (FORCE)");
    }
  }

  std::unique_ptr<Store> Open() {
    auto store = OpenPostgresStore(PostgresOptions{db_.url});
    if (!store.ok())
      throw StoreTestAbort("opening the store failed: " + store.error().ToLogString());
    return std::move(store).value();
  }

  // Polls `done` for up to `timeout`; whether it became true.
  template <typename F>
  static bool Eventually(F done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  PostgresServer* pg_ = nullptr;
  arca::testing::PostgresDatabase db_;
};

// The server's caches and change-stream long-polls on replica B learn of a commit through replica A
// from B's listener thread (LISTEN/NOTIFY), not by polling.
TEST_F(PostgresStoreTest, AnotherReplicasCommitReachesTheListenersWithinASecond) {
  HeardCommits heard;  // outlives the stores, which call it from their listener threads
  auto a = Open();
  auto b = Open();
  b->OnCommit(heard.Listener());
  EXPECT_EQ(b->LatestChange(), 0u);
  EXPECT_EQ(b->ChangeSequence(), 0u);
  {
    auto txn = Begin(*a, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("s1", "us-east-1", "app/one")));
    ASSERT_OK(txn->InsertSecret(Secret("s2", "us-east-1", "app/two")));
    ASSERT_OK(txn->Commit());
  }
  ASSERT_EQ(a->LatestChange(), 2u);
  EXPECT_TRUE(heard.WaitFor(2, std::chrono::seconds(1)))
      << "B's OnCommit listener was not called within 1 s of A's commit";
  EXPECT_EQ(b->LatestChange(), 2u);  // raised without B reading anything
  EXPECT_TRUE(Eventually([&] { return b->ChangeSequence() == a->ChangeSequence(); },
                         std::chrono::seconds(1)))
      << "B's ChangeSequence " << b->ChangeSequence() << ", A's " << a->ChangeSequence();
  for (std::uint64_t s : heard.Get()) EXPECT_LE(s, 2u);

  // The next commit too; and B's listener calls never go backwards.
  {
    auto txn = Begin(*a, TxnMode::kWrite);
    ASSERT_OK(txn->InsertVersion(Version("s1", "v1", 1, {"AWSCURRENT"})));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_TRUE(heard.WaitFor(3, std::chrono::seconds(1)));
  EXPECT_EQ(b->LatestChange(), 3u);
  const std::vector<std::uint64_t> calls = heard.Get();
  for (std::size_t i = 1; i < calls.size(); ++i) EXPECT_LE(calls[i - 1], calls[i]);
  // B reads what A wrote.
  const std::vector<ChangeRow> rows = Changes(*b, 2);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "app/one");
}

// A commit that writes no change row (IAM, settings) still bumps the change sequence, which empties
// the other replicas' caches: B's ChangeSequence follows within a second.
TEST_F(PostgresStoreTest, AnotherReplicasCommitRaisesTheChangeSequenceWithinASecond) {
  auto a = Open();
  auto b = Open();
  for (int i = 1; i <= 3; ++i) {
    {
      auto txn = Begin(*a, TxnMode::kWrite);
      ASSERT_OK(txn->PutSetting("k", std::to_string(i)));
      ASSERT_OK(txn->Commit());
    }
    ASSERT_EQ(a->ChangeSequence(), static_cast<std::uint64_t>(i));
    EXPECT_TRUE(Eventually([&] { return b->ChangeSequence() == static_cast<std::uint64_t>(i); },
                           std::chrono::seconds(1)))
        << "after commit " << i << " B's ChangeSequence is " << b->ChangeSequence();
  }
  EXPECT_EQ(b->LatestChange(), 0u);  // no change rows were written
}

TEST_F(PostgresStoreTest, ARemovedListenerHearsNoMoreOfOtherReplicas) {
  HeardCommits heard;
  auto a = Open();
  auto b = Open();
  const std::uint64_t id = b->OnCommit(heard.Listener());
  b->RemoveOnCommit(id);
  {
    auto txn = Begin(*a, TxnMode::kWrite);
    ASSERT_OK(txn->InsertSecret(Secret("s1", "us-east-1", "app/one")));
    ASSERT_OK(txn->Commit());
  }
  EXPECT_TRUE(Eventually([&] { return b->LatestChange() == 1u; }, std::chrono::seconds(1)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(heard.Get().empty());
}

// The schema version lives in the single-row table schema_version; a database migrated by a newer
// arca is refused rather than misread.
TEST_F(PostgresStoreTest, RefusesANewerSchema) {
  { auto store = Open(); }  // creates the schema
  auto version = pg_->Query(db_.name, "SELECT version FROM schema_version");
  ASSERT_TRUE(version.ok()) << version.error().ToLogString();
  auto rows = pg_->Query(db_.name, "SELECT count(*) FROM schema_version");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, "1");
  const std::int64_t newer = std::stoll(*version) + 1;
  ASSERT_TRUE(
      pg_->Execute(db_.name, "UPDATE schema_version SET version = " + std::to_string(newer)).ok());

  auto store = OpenPostgresStore(PostgresOptions{db_.url});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), Code::kPreconditionNotMet) << store.error().ToLogString();
  EXPECT_THAT(store.error().message(), HasSubstr(std::to_string(newer)));
  // Nothing was changed: the version stays the newer one.
  auto after = pg_->Query(db_.name, "SELECT version FROM schema_version");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, std::to_string(newer));
}

TEST_F(PostgresStoreTest, ReopeningMigratesNothingAgain) {
  { auto store = Open(); }
  auto version = pg_->Query(db_.name, "SELECT version FROM schema_version");
  ASSERT_TRUE(version.ok()) << version.error().ToLogString();
  { auto store = Open(); }
  auto again = pg_->Query(db_.name, "SELECT version FROM schema_version");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *version);
  auto rows = pg_->Query(db_.name, "SELECT count(*) FROM schema_version");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, "1");
}

// The URL's libpq parameters reach libpq: the test cluster has no TLS, so sslmode=require must
// fail and sslmode=disable must work (a URL that asks for TLS never falls back to plain text).
TEST_F(PostgresStoreTest, TheUrlsSslmodeIsHonoured) {
  PostgresOptions require{db_.url + "?sslmode=require"};
  require.listen = false;
  auto refused = OpenPostgresStore(require);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kUnavailable);
  EXPECT_THAT(refused.error().ToLogString(), HasSubstr("SSL"));
  PostgresOptions disable{db_.url + "?sslmode=disable&application_name=arca-test"};
  disable.listen = false;
  auto plain = OpenPostgresStore(disable);
  ASSERT_TRUE(plain.ok()) << plain.error().ToLogString();
}

// ---- URLs: no server needed ----

TEST(PostgresUrlTest, AnUnreachableServerIsUnavailableAndTheMessageHidesThePassword) {
  const std::string port = std::to_string(PostgresServer::FreePort());
  for (const std::string& url :
       {"postgresql://u:SECRETPW@127.0.0.1:" + port + "/x?connect_timeout=5",
        "host=127.0.0.1 port=" + port + " user=u password=SECRETPW dbname=x connect_timeout=5"}) {
    PostgresOptions options{url};
    options.listen = false;
    const auto start = std::chrono::steady_clock::now();
    auto store = OpenPostgresStore(options);
    ASSERT_FALSE(store.ok()) << url;
    EXPECT_EQ(store.error().code(), Code::kUnavailable) << store.error().ToLogString();
    EXPECT_THAT(store.error().ToLogString(), Not(HasSubstr("SECRETPW")));
    EXPECT_THAT(store.error().message(), HasSubstr("127.0.0.1"));
    EXPECT_THAT(store.error().message(), HasSubstr(port));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  }
}

TEST(PostgresUrlTest, AMalformedUrlIsInvalidParameterAndHidesThePassword) {
  auto store = OpenPostgresStore(PostgresOptions{"host=127.0.0.1 password=SECRETPW nonsense"});
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), Code::kInvalidParameter) << store.error().ToLogString();
  EXPECT_THAT(store.error().ToLogString(), Not(HasSubstr("SECRETPW")));
}

TEST(PostgresUrlTest, RedactPostgresUrlRemovesPasswords) {
  struct Case {
    std::string url;
    std::vector<std::string> secrets;  // none may remain
    std::vector<std::string> kept;     // all must remain
  };
  const std::vector<Case> cases = {
      {"postgresql://arca:S3cretPw@db.example:5432/arca?sslmode=verify-full",
       {"S3cretPw"},
       {"postgresql://", "arca", "db.example", "5432", "/arca", "sslmode=verify-full"}},
      {"postgres://arca:S3cretPw@db.example/arca", {"S3cretPw"}, {"arca", "db.example"}},
      {"postgresql://arca:p%40ss%2Fw0rd@10.0.0.1:6432/db",
       {"p%40ss%2Fw0rd", "p@ss/w0rd", "p%40ss"},
       {"arca", "10.0.0.1", "6432", "/db"}},
      {"postgresql://arca@db.example/arca?password=S3cretPw&sslmode=require",
       {"S3cretPw"},
       {"arca@db.example", "sslmode=require"}},
      {"host=db.example port=5432 user=arca password=S3cretPw dbname=arca",
       {"S3cretPw"},
       {"host=db.example", "port=5432", "user=arca", "dbname=arca"}},
      {"host=db.example password = S3cretPw user=arca", {"S3cretPw"}, {"host=db.example", "arca"}},
      {"host=db.example password='Pa ss\\'Wd' user=arca",
       {"Pa ss", "Wd"},
       {"host=db.example", "user=arca"}},
  };
  for (const Case& c : cases) {
    const std::string redacted = RedactPostgresUrl(c.url);
    for (const std::string& s : c.secrets) {
      EXPECT_THAT(redacted, Not(HasSubstr(s))) << c.url;
    }
    for (const std::string& k : c.kept) {
      EXPECT_THAT(redacted, HasSubstr(k)) << c.url;
    }
  }
  // Without a password there is nothing to remove.
  for (const std::string url : {"postgresql://arca@db.example:5432/arca?sslmode=verify-full",
                                "postgresql://postgres@127.0.0.1:5432/x",
                                "host=db.example port=5432 user=arca dbname=arca"}) {
    EXPECT_EQ(RedactPostgresUrl(url), url);
  }
}

}  // namespace
}  // namespace arca::store
