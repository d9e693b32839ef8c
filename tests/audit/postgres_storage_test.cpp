// What only the PostgreSQL storage has: several replicas' chains in one database, tampering done
// in SQL, the writer losing its connection (and its lock), PostgreSQL going away and coming back,
// and the deployment's one sealed signing key. Runs in the CTest test audit_postgres.

#include "audit/postgres_storage.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <thread>

#include "audit/query.h"
#include "crypto/hash.h"
#include "storage_testing.h"

namespace arca::audit {
namespace {

namespace bj = boost::json;
using testing::Backend;
using testing::SampleRecord;

constexpr std::int64_t kT0 = 1795600800;  // 2026-11-25T10:00:00Z
TimePoint At(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

const std::string kChainA = "host-a:/var/lib/arca";
const std::string kChainB = "host-b:/var/lib/arca";

std::uint64_t Seq(const std::string& line) {
  return bj::parse(line).as_object().at("arcaSequence").to_number<std::uint64_t>();
}

class AuditPostgresTest : public ::testing::Test, protected testing::StorageFixture {
 protected:
  void SetUp() override {
    std::string why;
    if (!SetUpBackend(Backend::kPostgres, &why)) GTEST_SKIP() << why;
  }
  void TearDown() override {
    if (cluster_ != nullptr && !cluster_->running()) cluster_->Start();
  }

  // `n` records on `log`, one a minute from minute `from`, each its own batch (so each record is
  // one row of audit_chunks), user "<tag><minute>".
  void Append(Log& log, int n, int from, const std::string& tag, int step = 1) {
    for (int i = 0; i < n; ++i) {
      const int minute = from + i * step;
      ASSERT_TRUE(log.AppendAndWait(SampleRecord(At(kT0 + 60 * minute), "GetSecretValue",
                                                 tag + std::to_string(minute)))
                      .ok());
    }
  }

  // Two replicas' logs on one database: chain A has users a0..a9, chain B b0..b9.
  void TwoChains() {
    auto a = OpenLog(kChainA);
    auto b = OpenLog(kChainB);
    ASSERT_TRUE(a.ok()) << a.error().ToLogString();
    ASSERT_TRUE(b.ok()) << b.error().ToLogString();
    Append(**a, 10, 0, "a");
    Append(**b, 10, 0, "b");
  }

  const VerifyReport* ReportOf(const std::vector<VerifyReport>& reports, const std::string& chain) {
    for (const VerifyReport& r : reports) {
      if (r.chain == chain) return &r;
    }
    ADD_FAILURE() << "no report for chain " << chain;
    return nullptr;
  }

  // Terminates the audit connections of every process but the test's own SQL session.
  // Waits until they are gone (and their advisory locks with them).
  void DropAuditConnections() {
    cluster_->Sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = 'arca-audit' AND pid <> pg_backend_pid()");
    for (int i = 0; i < 500; ++i) {
      if (cluster_->Value("SELECT count(*) FROM pg_stat_activity "
                          "WHERE application_name = 'arca-audit'") == "0") {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the audit connections did not go away";
  }

  void WaitHealthy(Log& log) {
    for (int i = 0; i < 1000 && !log.Health().ok(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
};

TEST_F(AuditPostgresTest, RecordsOfTwoChainsBothVerify) {
  TwoChains();
  std::vector<VerifyReport> reports = VerifyAll();
  ASSERT_EQ(reports.size(), 2u);
  for (const VerifyReport& r : reports) {
    EXPECT_TRUE(r.ok()) << FormatReport(r);
    EXPECT_EQ(r.events, 10u);
    EXPECT_TRUE(r.ends_with_shutdown_digest);
    EXPECT_NE(r.dir.find("chain " + r.chain), std::string::npos) << r.dir;
  }
  EXPECT_EQ(reports[0].chain, kChainA);
  EXPECT_EQ(reports[1].chain, kChainB);
  // One key for the deployment: both chains' digests verify with it.
  EXPECT_EQ(reports[0].public_key_fingerprint, reports[1].public_key_fingerprint);
  const std::string text = FormatReports(reports);
  EXPECT_EQ(text.rfind("2 audit chains: OK\n", 0), 0u) << text;
  EXPECT_EQ(cluster_->Value("SELECT count(*) FROM audit_signing_key"), "1");
}

TEST_F(AuditPostgresTest, EditedChunkIsReportedAtItsRecordAndChain) {
  TwoChains();
  // Record 3 of chain B (user b2) becomes user b7's.
  cluster_->Sql(
      "UPDATE audit_chunks SET data = convert_to(replace(convert_from(data, 'UTF8'), "
      "'\"b2\"', '\"b7\"'), 'UTF8') WHERE chain = '" +
      kChainB + "' AND position('\"b2\"'::bytea IN data) > 0");
  std::vector<VerifyReport> reports = VerifyAll();
  ASSERT_EQ(reports.size(), 2u);
  const VerifyReport* a = ReportOf(reports, kChainA);
  const VerifyReport* b = ReportOf(reports, kChainB);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(a->ok()) << FormatReport(*a);
  ASSERT_FALSE(b->ok());
  EXPECT_EQ(b->problem->kind, ProblemKind::kEdited) << b->problem->message;
  EXPECT_EQ(b->problem->sequence, 3u) << b->problem->message;
  EXPECT_EQ(b->problem->file, "audit-000001.jsonl");
  EXPECT_EQ(b->problem->line, 3u);
  const std::string text = FormatReports(reports);
  EXPECT_NE(text.find("1 FAILED"), std::string::npos) << text;
  EXPECT_NE(text.find("chain " + kChainB + ": FAILED: edited record"), std::string::npos) << text;
}

TEST_F(AuditPostgresTest, DeletedChunkIsReportedMissingAtItsRecordAndChain) {
  TwoChains();
  cluster_->Sql("DELETE FROM audit_chunks WHERE chain = '" + kChainA +
                "' AND position('\"a3\"'::bytea IN data) > 0");  // record 4 of chain A
  std::vector<VerifyReport> reports = VerifyAll();
  const VerifyReport* a = ReportOf(reports, kChainA);
  const VerifyReport* b = ReportOf(reports, kChainB);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->ok()) << FormatReport(*b);
  ASSERT_FALSE(a->ok());
  EXPECT_EQ(a->problem->kind, ProblemKind::kMissing) << a->problem->message;
  EXPECT_EQ(a->problem->sequence, 4u);
  EXPECT_NE(a->problem->message.find("record 4 missing"), std::string::npos) << a->problem->message;
}

TEST_F(AuditPostgresTest, VerifyNeedsNoMasterKey) {
  TwoChains();
  PostgresStorageOptions o;
  o.url = url_;
  o.create_schema = false;  // as `arca audit verify`: reads only
  auto s = PostgresStorage::Open(o);
  ASSERT_TRUE(s.ok()) << s.error().ToLogString();
  auto reports = VerifyStorage(**s, std::nullopt);
  ASSERT_TRUE(reports.ok()) << reports.error().ToLogString();
  ASSERT_EQ(reports->size(), 2u);
  EXPECT_TRUE((*reports)[0].ok() && (*reports)[1].ok()) << FormatReports(*reports);
  // Without a keyring the key cannot be unsealed: such a storage cannot write.
  auto log = Log::Open(std::move(s).value(), Options("host-c:/x"));
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code(), Code::kPreconditionNotMet);
}

TEST_F(AuditPostgresTest, VerifyOfADatabaseWithoutAnAuditLog) {
  PostgresStorageOptions o;
  o.url = url_;
  o.create_schema = false;
  auto s = PostgresStorage::Open(o);
  ASSERT_TRUE(s.ok()) << s.error().ToLogString();
  auto reports = VerifyStorage(**s, std::nullopt);
  ASSERT_FALSE(reports.ok());
  EXPECT_EQ(reports.error().code(), Code::kNotFound);
  EXPECT_EQ(cluster_->Value("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'audit%'"), "0");
}

TEST_F(AuditPostgresTest, SigningKeyIsSealedAndSharedByEveryReplica) {
  auto a = OpenLog(kChainA);
  ASSERT_TRUE(a.ok()) << a.error().ToLogString();
  auto b = OpenLog(kChainB);
  ASSERT_TRUE(b.ok()) << b.error().ToLogString();
  EXPECT_EQ((*a)->public_key().fingerprint(), (*b)->public_key().fingerprint());
  EXPECT_NE(cluster_->Value("SELECT public_key FROM audit_signing_key").find("BEGIN PUBLIC KEY"),
            std::string::npos);
  // The private key is stored only sealed.
  EXPECT_EQ(cluster_->Value("SELECT count(*) FROM audit_signing_key WHERE position("
                            "'PRIVATE KEY'::bytea IN sealed_private_key) > 0"),
            "0");
  a->reset();
  // Another master key cannot unseal it: such a replica refuses to start its log.
  auto other = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
  auto wrong = Log::Open(NewStorage(other.get()), Options(kChainA));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kPreconditionNotMet) << wrong.error().ToLogString();
  // A public key swapped in the table no longer matches the sealed private key.
  auto forged = SigningKey::Generate();
  ASSERT_TRUE(forged.ok());
  b->reset();
  cluster_->Sql("UPDATE audit_signing_key SET public_key = '" + forged->public_key().ToPem() + "'");
  auto swapped = OpenLog(kChainA);
  ASSERT_FALSE(swapped.ok());
  EXPECT_NE(swapped.error().message().find("does not match"), std::string::npos)
      << swapped.error().ToLogString();
}

TEST_F(AuditPostgresTest, MissingKeyWithRecordsIsRefused) {
  TwoChains();
  cluster_->Sql("DELETE FROM audit_signing_key");
  auto log = OpenLog(kChainA);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.error().code(), Code::kPreconditionNotMet);
  EXPECT_NE(log.error().message().find("has records"), std::string::npos) << log.error().message();
}

TEST_F(AuditPostgresTest, ReplicasStartingTogetherCreateTheSchemaAndKeyOnce) {
  constexpr int kReplicas = 6;
  std::vector<std::unique_ptr<Log>> logs(kReplicas);
  std::vector<std::string> errors(kReplicas);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      PostgresStorageOptions o;
      o.url = url_;
      o.keyring = keyring_.get();
      auto s = PostgresStorage::Open(o);
      if (!s.ok()) {
        errors[static_cast<std::size_t>(i)] = s.error().ToLogString();
        return;
      }
      auto log = Log::Open(std::move(s).value(), Options("host-" + std::to_string(i) + ":/d"));
      if (!log.ok()) {
        errors[static_cast<std::size_t>(i)] = log.error().ToLogString();
        return;
      }
      logs[static_cast<std::size_t>(i)] = std::move(log).value();
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  for (const auto& l : logs) {
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->public_key().fingerprint(), logs[0]->public_key().fingerprint());
    ASSERT_TRUE(l->AppendAndWait(SampleRecord(At(kT0))).ok());
  }
  logs.clear();
  EXPECT_EQ(VerifyAll().size(), static_cast<std::size_t>(kReplicas));
}

TEST_F(AuditPostgresTest, PostgresStoppedFailsClosedThenHealsWithoutAGap) {
  auto log = OpenLog(kChainA);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  Append(**log, 2, 0, "a");
  ASSERT_TRUE(cluster_->Stop());
  Status failed = (*log)->AppendAndWait(SampleRecord(At(kT0 + 600)));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kUnavailable);
  Status health = (*log)->Health();
  ASSERT_FALSE(health.ok());
  EXPECT_EQ(health.error().message(), "the audit log cannot be written");
  const std::string detail = health.error().ToLogString();
  EXPECT_NE(detail.find("PostgreSQL 127.0.0.1:" + std::to_string(cluster_->port())),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find("chain " + kChainA), std::string::npos) << detail;
  EXPECT_EQ(detail.find(cluster_->password()), std::string::npos) << "the password leaked";
  // Still down: refused at once, and healing keeps failing.
  EXPECT_FALSE((*log)->AppendAndWait(SampleRecord(At(kT0 + 601))).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE((*log)->Health().ok());

  ASSERT_TRUE(cluster_->Start());
  WaitHealthy(**log);
  ASSERT_TRUE((*log)->Health().ok()) << (*log)->Health().error().ToLogString();
  Append(**log, 2, 20, "a");
  (*log)->Stop();
  std::vector<std::string> lines = Lines(kChainA);
  ASSERT_EQ(lines.size(), 5u);  // 2 events, 2 events after healing, shutdown digest
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
  EXPECT_EQ(bj::parse(lines[2]).as_object().at("eventTime"), "2026-11-25T10:20:00Z");
  std::vector<VerifyReport> reports = VerifyAll();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok()) << FormatReport(reports[0]);
}

TEST_F(AuditPostgresTest, AWriterWhoseConnectionDroppedReconnectsAndGoesOn) {
  auto log = OpenLog(kChainA);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  Append(**log, 2, 0, "a");
  DropAuditConnections();  // e.g. a PostgreSQL failover, or an idle-connection reaper
  Append(**log, 2, 10, "a");  // no request fails: the INSERT is retried on a new connection
  EXPECT_TRUE((*log)->Health().ok());
  EXPECT_EQ((*log)->stats().failures, 0u);
  (*log)->Stop();
  std::vector<std::string> lines = Lines(kChainA);
  ASSERT_EQ(lines.size(), 5u);
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
}

TEST_F(AuditPostgresTest, AWriterThatLostItsLockToAnotherDoesNotForkTheChain) {
  auto first = OpenLog(kChainA);
  ASSERT_TRUE(first.ok()) << first.error().ToLogString();
  Append(**first, 2, 0, "a");
  DropAuditConnections();  // the first writer's session, and its advisory lock, are gone
  {
    auto second = OpenLog(kChainA);  // a second server with the same chain id gets the lock
    ASSERT_TRUE(second.ok()) << second.error().ToLogString();
    Append(**second, 1, 5, "z");
  }
  // The first writer gets the lock back but finds the chain moved on: it refuses to write.
  Status s = (*first)->AppendAndWait(SampleRecord(At(kT0 + 6000)));
  ASSERT_FALSE(s.ok());
  ASSERT_FALSE((*first)->Health().ok());
  EXPECT_NE((*first)->Health().error().ToLogString().find("changed while this server was"),
            std::string::npos)
      << (*first)->Health().error().ToLogString();
  first->reset();
  std::vector<VerifyReport> reports = VerifyAll();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok()) << FormatReport(reports[0]);
  EXPECT_EQ(reports[0].events, 3u);
}

TEST_F(AuditPostgresTest, LookupEventsMergesEveryChainInTimeOrderWithPaging) {
  auto a = OpenLog(kChainA);
  auto b = OpenLog(kChainB);
  ASSERT_TRUE(a.ok() && b.ok());
  // Chain A at the even minutes 0..18, chain B at the odd ones 1..19, each replica writing its
  // own share as requests come to it.
  for (int m = 0; m < 20; ++m) {
    Append(m % 2 == 0 ? **a : **b, 1, m, m % 2 == 0 ? "a" : "b");
  }
  EventQuery query(NewStorage());
  LookupRequest req;
  req.max_results = 3;
  std::vector<std::string> seen;
  int pages = 0;
  do {
    auto r = query.LookupEvents(access::AllowAll::Instance(), req);
    ASSERT_TRUE(r.ok()) << r.error().ToLogString();
    EXPECT_LE(r->events.size(), 3u);
    for (const LookupEvent& e : r->events) seen.push_back(e.username);
    req.next_token = r->next_token;
    if (pages == 1) {
      // Newer records, and a replica that started after the first page, do not shift pages.
      Append(**a, 2, 40, "a");
      auto c = OpenLog("host-c:/var/lib/arca");
      ASSERT_TRUE(c.ok());
      Append(**c, 2, 50, "c");
    }
    ++pages;
  } while (!req.next_token.empty() && pages < 20);
  EXPECT_EQ(pages, 7);  // 20 = 6 x 3 + 2
  std::vector<std::string> expected;
  for (int m = 19; m >= 0; --m) expected.push_back((m % 2 == 0 ? "a" : "b") + std::to_string(m));
  EXPECT_EQ(seen, expected);

  // A filter across chains, and the filter's token.
  LookupRequest by_user;
  by_user.attributes.push_back({"Username", "b7"});
  auto one = query.LookupEvents(access::AllowAll::Instance(), by_user);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->events.size(), 1u);
  EXPECT_EQ(one->events[0].event_time, At(kT0 + 7 * 60));
  // All three chains in a fresh lookup, newest first.
  auto all = query.LookupEvents(access::AllowAll::Instance(), LookupRequest{});
  ASSERT_TRUE(all.ok());
  ASSERT_GE(all->events.size(), 3u);
  EXPECT_EQ(all->events[0].username, "c51");
  EXPECT_EQ(all->events[1].username, "c50");
  EXPECT_EQ(all->events[2].username, "a41");
}

TEST_F(AuditPostgresTest, TheConnectionStringsPasswordIsNeverInAMessage) {
  // Wrong password: the error names host, port and database only.
  const std::string wrong =
      "postgresql://arca:not-the-password-123@127.0.0.1:" + std::to_string(cluster_->port()) +
      "/" + cluster_->current_db() + "?sslmode=disable";
  PostgresStorageOptions o;
  o.url = wrong;
  auto s = PostgresStorage::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kUnavailable);
  EXPECT_EQ(s.error().ToLogString().find("not-the-password-123"), std::string::npos)
      << s.error().ToLogString();
  EXPECT_NE(s.error().ToLogString().find("127.0.0.1:" + std::to_string(cluster_->port()) + "/" +
                                         cluster_->current_db()),
            std::string::npos)
      << s.error().ToLogString();
  // A malformed one is not quoted back.
  o.url = "postgresql://arca:secret-xyz@127.0.0.1:5432/db?no_such_option=1";
  s = PostgresStorage::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().ToLogString().find("secret-xyz"), std::string::npos)
      << s.error().ToLogString();
  EXPECT_EQ(PostgresTarget("postgresql://u:pw@db.example:6543/arca"), "db.example:6543/arca");
  auto good = NewStorage();
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->Describe().find(cluster_->password()), std::string::npos);
}

}  // namespace
}  // namespace arca::audit
