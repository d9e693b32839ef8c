// The Storage contract and the Log, Verify and LookupEvents over it, for both storages: each
// TEST_P runs as File/AuditStorageTest.* (DATA_DIR/audit) and Postgres/AuditStorageTest.* (a fresh
// PostgreSQL database).

#include "audit/storage.h"

#include <gtest/gtest.h>

#include <atomic>
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

std::uint64_t Seq(const std::string& line) {
  return bj::parse(line).as_object().at("arcaSequence").to_number<std::uint64_t>();
}

class AuditStorageTest : public ::testing::TestWithParam<Backend>,
                         protected testing::StorageFixture {
 protected:
  void SetUp() override {
    std::string why;
    if (!SetUpBackend(GetParam(), &why)) GTEST_SKIP() << why;
  }

  void Append(Log& log, int n, std::int64_t from = 0) {
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE(log.AppendAndWait(SampleRecord(At(kT0 + from + i), "GetSecretValue",
                                                 "u" + std::to_string(from + i)))
                      .ok());
    }
  }

  void ExpectOneChainVerifies(std::uint64_t events) {
    std::vector<VerifyReport> reports = VerifyAll();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_TRUE(reports[0].ok()) << FormatReport(reports[0]);
    EXPECT_EQ(reports[0].events, events);
  }
};

TEST_P(AuditStorageTest, AppendsReadsTruncatesAndCreates) {
  std::shared_ptr<Storage> s = NewStorage();
  ASSERT_NE(s, nullptr);
  const std::string chain = "host-a:/var/lib/arca";
  ASSERT_TRUE(s->LockWriter(chain).ok());
  auto f1 = s->CreateFile(1);
  ASSERT_TRUE(f1.ok()) << f1.error().ToLogString();
  EXPECT_EQ(f1->name, "audit-000001.jsonl");
  ASSERT_TRUE(s->Append(*f1, 0, "{\"a\":1}\n{\"b\":2}\n").ok());
  ASSERT_TRUE(s->Append(*f1, 16, "{\"c\":3}\n").ok());

  auto files = s->ListFiles(chain);
  ASSERT_TRUE(files.ok()) << files.error().ToLogString();
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ((*files)[0].index, 1u);
  EXPECT_EQ((*files)[0].size, 24u);
  // Ranges across the appended chunks, and short at the end.
  EXPECT_EQ(*s->Read(chain, (*files)[0], 10, 10), "b\":2}\n{\"c\"");
  EXPECT_EQ(*s->Read(chain, (*files)[0], 20, 100), ":3}\n");
  EXPECT_EQ(*s->Read(chain, (*files)[0], 24, 10), "");
  EXPECT_EQ(*s->ReadAll(chain, (*files)[0]), "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");

  // Cut back to a size inside the first chunk, then continue from there.
  ASSERT_TRUE(s->Truncate((*files)[0], 8).ok());
  files = s->ListFiles(chain);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ((*files)[0].size, 8u);
  EXPECT_EQ(*s->ReadAll(chain, (*files)[0]), "{\"a\":1}\n");
  ASSERT_TRUE(s->Append(*f1, 8, "{\"d\":4}\n").ok());
  EXPECT_EQ(*s->ReadAll(chain, (*files)[0]), "{\"a\":1}\n{\"d\":4}\n");

  // The next file; an existing one cannot be created again.
  auto again = s->CreateFile(1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  auto f2 = s->CreateFile(2);
  ASSERT_TRUE(f2.ok()) << f2.error().ToLogString();
  ASSERT_TRUE(s->Append(*f2, 0, "{\"e\":5}\n").ok());
  files = s->ListFiles(chain);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[1].name, "audit-000002.jsonl");
  EXPECT_EQ((*files)[1].size, 8u);
}

TEST_P(AuditStorageTest, LogVerifiesAndFindsItsPublicKey) {
  auto log = OpenLog();
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  Append(**log, 5);
  (*log)->Stop();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 6u);  // five events and the shutdown digest
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
  ExpectOneChainVerifies(5);
  auto key = NewStorage()->LoadPublicKey();
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->fingerprint(), (*log)->public_key().fingerprint());
}

TEST_P(AuditStorageTest, ReopenedLogContinuesTheChainAfterACleanStop) {
  for (int round = 0; round < 3; ++round) {
    auto log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    Append(**log, 4, round * 10);
  }
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 15u);  // 3 x (4 events + a shutdown digest)
  std::string prev(kZeroHash);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(Seq(lines[i]), i + 1);
    EXPECT_EQ(bj::parse(lines[i]).as_object().at("arcaPreviousHash").as_string(), prev);
    prev = crypto::Sha256Hex(lines[i]);
  }
  ExpectOneChainVerifies(12);
}

TEST_P(AuditStorageTest, ReopenedLogContinuesTheChainAfterAnAbandonedOne) {
  {
    auto log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    Append(**log, 3);
    (*log)->AbandonForTest();  // no shutdown digest, as after a crash
  }
  {
    auto log = OpenLog();
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    Append(**log, 2, 10);
  }
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 6u);  // 3 events, 2 events, shutdown digest
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
  EXPECT_EQ(bj::parse(lines[3]).as_object().at("arcaPreviousHash").as_string(),
            crypto::Sha256Hex(lines[2]));
  std::vector<VerifyReport> reports = VerifyAll();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_TRUE(reports[0].ok()) << FormatReport(reports[0]);
  EXPECT_TRUE(reports[0].ends_with_shutdown_digest);
  EXPECT_EQ(reports[0].digests, 1u);  // the one digest covers records 1..5
}

TEST_P(AuditStorageTest, OneWriterPerChain) {
  auto first = OpenLog();
  ASSERT_TRUE(first.ok()) << first.error().ToLogString();
  auto second = OpenLog();
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Code::kPreconditionNotMet) << second.error().ToLogString();
  first->reset();
  auto third = OpenLog();
  EXPECT_TRUE(third.ok()) << third.error().ToLogString();
}

TEST_P(AuditStorageTest, ChainContinuesAcrossFiles) {
  LogOptions opt = Options();
  opt.max_file_bytes = 4096;
  {
    auto log = OpenLog(opt);
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    Append(**log, 40);
  }
  auto files = NewStorage()->ListFiles(opt.chain);
  ASSERT_TRUE(files.ok());
  EXPECT_GE(files->size(), 4u);
  std::vector<std::string> lines = Lines();
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
  ExpectOneChainVerifies(40);
}

TEST_P(AuditStorageTest, FailedDurabilityFailsClosedAndHeals) {
  std::atomic<bool> broken{false};
  LogOptions opt = Options();
  opt.fault_hook = [&broken](std::string_view op) -> Status {
    if (broken.load() && op == "sync") return Error(Code::kUnavailable, "injected failure");
    return OkStatus();
  };
  auto log = OpenLog(opt);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  Append(**log, 1);
  broken = true;
  EXPECT_FALSE((*log)->AppendAndWait(SampleRecord(At(kT0 + 1))).ok());
  EXPECT_FALSE((*log)->Health().ok());
  broken = false;
  for (int i = 0; i < 500 && !(*log)->Health().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE((*log)->Health().ok());
  Append(**log, 1, 2);
  (*log)->Stop();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 3u);  // record, the record after healing, digest: no gap
  EXPECT_EQ(bj::parse(lines[1]).as_object().at("eventTime"), "2026-11-25T10:00:02Z");
  ExpectOneChainVerifies(2);
}

TEST_P(AuditStorageTest, LookupEventsReadsTheStorage) {
  std::shared_ptr<Storage> storage = NewStorage();
  auto log = Log::Open(storage, Options());
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  Append(**log, 7);
  EventQuery query(storage);  // the writer's storage, shared
  LookupRequest req;
  req.max_results = 4;
  auto p1 = query.LookupEvents(access::AllowAll::Instance(), req);
  ASSERT_TRUE(p1.ok()) << p1.error().ToLogString();
  ASSERT_EQ(p1->events.size(), 4u);
  EXPECT_EQ(p1->events[0].username, "u6");
  ASSERT_FALSE(p1->next_token.empty());
  req.next_token = p1->next_token;
  auto p2 = query.LookupEvents(access::AllowAll::Instance(), req);
  ASSERT_TRUE(p2.ok()) << p2.error().ToLogString();
  ASSERT_EQ(p2->events.size(), 3u);
  EXPECT_EQ(p2->events[2].username, "u0");
  EXPECT_TRUE(p2->next_token.empty());
}

INSTANTIATE_TEST_SUITE_P(File, AuditStorageTest, ::testing::Values(Backend::kFile));
INSTANTIATE_TEST_SUITE_P(Postgres, AuditStorageTest, ::testing::Values(Backend::kPostgres));

}  // namespace
}  // namespace arca::audit
