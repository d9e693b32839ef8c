#include "audit/log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <future>
#include <latch>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "audit/format.h"
#include "audit/storage.h"
#include "audit/verify.h"
#include "audit_testing.h"
#include "crypto/hash.h"

namespace arca::audit {
namespace {

namespace bj = boost::json;
using testing::ReadFile;
using testing::ReadLines;
using testing::SampleRecord;
using testing::TempDir;
using testing::TestOptions;
using testing::WriteFile;

TimePoint At(std::int64_t s) { return TimePoint(std::chrono::seconds(s)); }

std::vector<std::string> AllLines(const std::string& dir) {
  std::vector<std::string> out;
  auto files = ListLogFiles(dir);
  EXPECT_TRUE(files.ok());
  for (const LogFile& f : *files) {
    for (std::string& l : ReadLines(f.path)) out.push_back(std::move(l));
  }
  return out;
}

bj::object Parse(const std::string& line) {
  bj::value v = bj::parse(line);
  return v.as_object();
}

std::uint64_t Seq(const std::string& line) {
  return Parse(line).at("arcaSequence").to_number<std::uint64_t>();
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

void ExpectVerifies(const std::string& data_dir) {
  auto report = Verify(DefaultVerifyOptions(data_dir));
  ASSERT_TRUE(report.ok()) << report.error().ToLogString();
  EXPECT_TRUE(report->ok()) << FormatReport(*report);
}

TEST(AuditLog, AppendsChainedLinesAndSealsOnStop) {
  TempDir tmp;
  {
    auto log = Log::Open(TestOptions(tmp.path()));
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
    }
    EXPECT_TRUE((*log)->Health().ok());
    LogStats stats = (*log)->stats();
    EXPECT_EQ(stats.records, 3u);
    EXPECT_GE(stats.batches, 1u);
    EXPECT_GT(stats.bytes, 0u);
    (*log)->Stop();
  }
  std::vector<std::string> lines = ReadLines(tmp.path() + "/audit/audit-000001.jsonl");
  ASSERT_EQ(lines.size(), 4u);  // three events and the shutdown digest
  std::string prev(kZeroHash);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bj::object o = Parse(lines[i]);
    EXPECT_EQ(o.at("arcaSequence"), i + 1);
    EXPECT_EQ(o.at("arcaPreviousHash").as_string(), prev);
    prev = crypto::Sha256Hex(lines[i]);
  }
  bj::object first = Parse(lines[0]);
  EXPECT_EQ(first.begin()->key(), "eventVersion");  // the record as built, chain members at the end
  bj::object digest = Parse(lines[3]);
  EXPECT_EQ(digest.at("arcaRecordType"), "Digest");
  EXPECT_EQ(digest.at("digestReason"), "shutdown");
  EXPECT_EQ(digest.at("digestStartSequence"), 1);
  EXPECT_EQ(digest.at("digestEndSequence"), 3);
  EXPECT_EQ(digest.at("digestEndHash").as_string(), crypto::Sha256Hex(lines[2]));

  EXPECT_EQ(Mode(tmp.path() + "/audit"), 0700u);
  EXPECT_EQ(Mode(tmp.path() + "/audit/audit-000001.jsonl"), 0600u);
  EXPECT_EQ(Mode(tmp.path() + "/audit.key"), 0600u);
  EXPECT_NE(ReadFile(tmp.path() + "/audit.pub").find("BEGIN PUBLIC KEY"), std::string::npos);
  ExpectVerifies(tmp.path());
}

TEST(AuditLog, ChainContinuesAcrossRotation) {
  TempDir tmp;
  LogOptions opt = TestOptions(tmp.path());
  opt.max_file_bytes = 4096;
  {
    auto log = Log::Open(opt);
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    for (int i = 0; i < 40; ++i)
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
  }
  auto files = ListLogFiles(tmp.path() + "/audit");
  ASSERT_TRUE(files.ok());
  ASSERT_GE(files->size(), 4u);
  for (std::size_t i = 0; i + 1 < files->size(); ++i) {
    std::vector<std::string> a = ReadLines((*files)[i].path);
    std::vector<std::string> b = ReadLines((*files)[i + 1].path);
    ASSERT_FALSE(a.empty());
    ASSERT_FALSE(b.empty());
    // Each file is sealed by a digest and the next one chains to it.
    EXPECT_EQ(Parse(a.back()).at("digestReason"), "rotate");
    EXPECT_EQ(Parse(b.front()).at("arcaPreviousHash").as_string(), crypto::Sha256Hex(a.back()));
    EXPECT_EQ(Seq(b.front()), Seq(a.back()) + 1);
    EXPECT_LE(ReadFile((*files)[i].path).size(), 4096u + 1024u);
  }
  ExpectVerifies(tmp.path());
  auto report = Verify(DefaultVerifyOptions(tmp.path()));
  EXPECT_EQ(report->events, 40u);
}

TEST(AuditLog, ChainContinuesAcrossRestart) {
  TempDir tmp;
  for (int round = 0; round < 3; ++round) {
    auto log = Log::Open(TestOptions(tmp.path()));
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    for (int i = 0; i < 5; ++i)
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
  }
  std::vector<std::string> lines = AllLines(tmp.path() + "/audit");
  ASSERT_EQ(lines.size(), 18u);  // 3 x (5 events + a shutdown digest)
  for (std::size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(Seq(lines[i]), i + 1);
  ExpectVerifies(tmp.path());
}

TEST(AuditLog, GroupCommitWithConcurrentAppenders) {
  TempDir tmp;
  LogOptions opt = TestOptions(tmp.path());
  opt.digest_every_records = 500;
  auto log = Log::Open(opt);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 400;
  std::latch done(kThreads * kPerThread);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        (*log)->Append(
            SampleRecord(At(1795600800 + i), "GetSecretValue", "user" + std::to_string(t)),
            [&](Status s) {
              if (s.ok()) ++ok;
              done.count_down();
            });
      }
    });
  }
  for (auto& th : threads) th.join();
  done.wait();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  LogStats stats = (*log)->stats();
  EXPECT_EQ(stats.records, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LT(stats.batches, stats.records) << "records were not grouped into batches";
  EXPECT_GE(stats.digests, 6u);
  (*log)->Stop();

  std::vector<std::string> lines = AllLines(tmp.path() + "/audit");
  std::uint64_t events = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(Seq(lines[i]), i + 1);
    if (!Parse(lines[i]).contains("arcaRecordType")) ++events;
  }
  EXPECT_EQ(events, static_cast<std::uint64_t>(kThreads * kPerThread));
  ExpectVerifies(tmp.path());
}

TEST(AuditLog, FailsClosedWhenSyncFailsAndRecovers) {
  TempDir tmp;
  std::atomic<bool> broken{false};
  LogOptions opt = TestOptions(tmp.path());
  opt.fault_hook = [&broken](std::string_view op) -> Status {
    if (broken.load() && op == "sync")
      return Error(Code::kUnavailable, "injected fdatasync failure (EIO)");
    return OkStatus();
  };
  auto log = Log::Open(opt);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800))).ok());

  broken = true;
  Status failed = (*log)->AppendAndWait(SampleRecord(At(1795600801)));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kUnavailable);
  Status health = (*log)->Health();
  ASSERT_FALSE(health.ok());
  EXPECT_NE(health.error().ToLogString().find("injected fdatasync failure"), std::string::npos)
      << health.error().ToLogString();
  // Fail closed: later appends are refused at once, without waiting for the writer.
  bool called = false;
  (*log)->Append(SampleRecord(At(1795600802)), [&called](Status s) {
    called = true;
    EXPECT_FALSE(s.ok());
  });
  EXPECT_TRUE(called);
  EXPECT_EQ((*log)->stats().failures, 1u);

  broken = false;
  for (int i = 0; i < 500 && !(*log)->Health().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE((*log)->Health().ok());
  ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600803))).ok());
  (*log)->Stop();

  // The failed batch was cut back: the chain goes 1, 2 (the record after recovery), digest.
  std::vector<std::string> lines = AllLines(tmp.path() + "/audit");
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Parse(lines[1]).at("eventTime"), "2026-11-25T10:00:03Z");
  ExpectVerifies(tmp.path());
}

TEST(AuditLog, FailsClosedWhenTheDirectoryBecomesUnusable) {
  TempDir tmp;
  LogOptions opt = TestOptions(tmp.path());
  opt.max_file_bytes = 4096;
  auto log = Log::Open(opt);
  ASSERT_TRUE(log.ok()) << log.error().ToLogString();
  const std::string dir = tmp.path() + "/audit";
  const std::string moved = tmp.path() + "/audit.moved";
  // Fill the first file, then take the directory away: the next rotation cannot create a file.
  // (A rename plus a plain file in its place, because the tests may run as root, whom a chmod of
  // the directory does not stop.)
  Status s = OkStatus();
  std::filesystem::rename(dir, moved);
  WriteFile(dir, "not a directory");
  for (int i = 0; i < 20 && s.ok(); ++i)
    s = (*log)->AppendAndWait(SampleRecord(At(1795600800 + i)));
  ASSERT_FALSE(s.ok());
  EXPECT_FALSE((*log)->Health().ok());
  EXPECT_NE((*log)->Health().error().ToLogString().find("cannot create"), std::string::npos)
      << (*log)->Health().error().ToLogString();
  EXPECT_FALSE((*log)->AppendAndWait(SampleRecord(At(1795600900))).ok());

  std::filesystem::remove(dir);
  std::filesystem::rename(moved, dir);
  for (int i = 0; i < 500 && !(*log)->Health().ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE((*log)->Health().ok());
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795601000 + i))).ok());
  (*log)->Stop();
  ExpectVerifies(tmp.path());
}

// Three events and a shutdown digest in audit-000001.jsonl of `data_dir`; that file's path.
std::string FileOfThreeEvents(const std::string& data_dir) {
  auto log = Log::Open(TestOptions(data_dir));
  EXPECT_TRUE(log.ok());
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
  return data_dir + "/audit/audit-000001.jsonl";
}

// Reopens the log of FileOfThreeEvents, appends an event, and checks that opening cut off
// `discarded` (at `offset`) and recorded it, and that the log verifies with that recovery.
void ExpectCutAndRecordedAtOpen(const std::string& data_dir, std::uint64_t offset,
                                const std::string& discarded) {
  {
    auto log = Log::Open(TestOptions(data_dir));
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600900))).ok());
  }
  std::vector<std::string> lines = ReadLines(data_dir + "/audit/audit-000001.jsonl");
  ASSERT_EQ(lines.size(), 7u);  // 3 events, digest, recovery, event, digest
  bj::object recovery = Parse(lines[4]);
  EXPECT_EQ(recovery.at("arcaRecordType"), "Recovery");
  EXPECT_EQ(recovery.at("discardedOffset"), offset);
  EXPECT_EQ(recovery.at("discardedBytes"), discarded.size());
  EXPECT_EQ(recovery.at("discardedSha256").as_string(), crypto::Sha256Hex(discarded));
  auto report = Verify(DefaultVerifyOptions(data_dir));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << FormatReport(*report);
  EXPECT_EQ(report->recoveries, 1u);
  EXPECT_EQ(report->events, 4u);
  EXPECT_NE(FormatReport(*report).find("crash recovery"), std::string::npos);
}

TEST(AuditLog, PartialLastLineIsCutAndRecordedAtOpen) {
  TempDir tmp;
  const std::string file = FileOfThreeEvents(tmp.path());
  const std::string clean = ReadFile(file);
  const std::string partial = R"({"eventVersion":"1.09","userIdentity":{"type":"IAMUser","princ)";
  WriteFile(file, clean + partial);
  ExpectCutAndRecordedAtOpen(tmp.path(), clean.size(), partial);
}

TEST(AuditLog, DigestEveryNRecords) {
  TempDir tmp;
  LogOptions opt = TestOptions(tmp.path());
  opt.digest_every_records = 10;
  {
    auto log = Log::Open(opt);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 25; ++i)
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
  }
  std::vector<std::string> lines = AllLines(tmp.path() + "/audit");
  ASSERT_EQ(lines.size(), 28u);
  bj::object d1 = Parse(lines[10]);
  EXPECT_EQ(d1.at("digestReason"), "count");
  EXPECT_EQ(d1.at("digestStartSequence"), 1);
  EXPECT_EQ(d1.at("digestEndSequence"), 10);
  bj::object d2 = Parse(lines[21]);
  EXPECT_EQ(d2.at("digestStartSequence"), 12);
  EXPECT_EQ(d2.at("digestEndSequence"), 21);
  bj::object last = Parse(lines[27]);
  EXPECT_EQ(last.at("digestReason"), "shutdown");
  EXPECT_EQ(last.at("digestStartSequence"), 23);
  EXPECT_EQ(last.at("digestEndSequence"), 27);
  ExpectVerifies(tmp.path());
}

TEST(AuditLog, DigestAfterIntervalWithRecordsPending) {
  TempDir tmp;
  LogOptions opt = TestOptions(tmp.path());
  opt.digest_interval = std::chrono::milliseconds(30);
  auto log = Log::Open(opt);
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800))).ok());
  const std::string file = tmp.path() + "/audit/audit-000001.jsonl";
  for (int i = 0; i < 200 && ReadLines(file).size() < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::vector<std::string> lines = ReadLines(file);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Parse(lines[1]).at("digestReason"), "interval");
  ASSERT_TRUE((*log)->Flush().ok());  // the digest's batch has been synced and counted
  EXPECT_EQ((*log)->stats().digests, 1u);
  // Idle with nothing new: no more digests.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ReadLines(file).size(), 2u);
}

TEST(AuditLog, RefusesToStartWithoutItsKeyOnceItHasRecords) {
  TempDir tmp;
  {
    auto log = Log::Open(TestOptions(tmp.path()));
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795600800))).ok());
  }
  std::filesystem::remove(tmp.path() + "/audit.key");
  auto again = Log::Open(TestOptions(tmp.path()));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kPreconditionNotMet);
}

TEST(AuditLog, RefusesAKeyFileOthersCanRead) {
  TempDir tmp;
  { ASSERT_TRUE(Log::Open(TestOptions(tmp.path())).ok()); }
  ::chmod((tmp.path() + "/audit.key").c_str(), 0644);
  auto again = Log::Open(TestOptions(tmp.path()));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kPreconditionNotMet);
}

TEST(AuditLog, OneWriterPerDirectory) {
  TempDir tmp;
  auto first = Log::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(first.ok());
  auto second = Log::Open(TestOptions(tmp.path()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Code::kPreconditionNotMet);
  first->reset();
  EXPECT_TRUE(Log::Open(TestOptions(tmp.path())).ok());
}

TEST(AuditLog, StoppedLogRefusesAppends) {
  TempDir tmp;
  auto log = Log::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(log.ok());
  (*log)->Stop();
  (*log)->Stop();  // idempotent
  Status s = (*log)->AppendAndWait(SampleRecord(At(1795600800)));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kUnavailable);
  EXPECT_TRUE((*log)->Flush().ok());
}

TEST(AuditLog, RecordsAreOneLineAndKeepNoCallerChainMembers) {
  TempDir tmp;
  auto log = Log::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(log.ok());
  bj::object r = SampleRecord(At(1795600800));
  r["arcaSequence"] = 999;  // a caller cannot forge the chain
  r["userAgent"] = "multi\nline\nagent";
  ASSERT_TRUE((*log)->AppendAndWait(r).ok());
  bool rejected = false;
  (*log)->AppendSerialized("{\"a\":1}\n{\"b\":2}", [&rejected](Status s) { rejected = !s.ok(); });
  EXPECT_TRUE(rejected);
  (*log)->Stop();
  std::vector<std::string> lines = ReadLines(tmp.path() + "/audit/audit-000001.jsonl");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(Seq(lines[0]), 1u);
  EXPECT_EQ(Parse(lines[0]).at("userAgent"), "multi\nline\nagent");
}

// ---- pre-filled files ---------------------------------------------------------------------------

std::uint64_t DiskBytes(const std::string& path) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::uint64_t>(n);
}

// The last file's records and its size on disk, as a reader sees them.
std::pair<LogFile, std::uint64_t> LastFile(const std::string& data_dir) {
  const LogOptions o = DefaultLogOptions(data_dir);
  auto storage = FileStorage::Open({o.dir, o.key_path, o.public_key_path}, false);
  EXPECT_TRUE(storage.ok());
  auto files = (*storage)->ListFiles("");
  EXPECT_TRUE(files.ok());
  EXPECT_FALSE(files->empty());
  return {files->back(), DiskBytes(files->back().path)};
}

LogOptions PrefillOptions(const std::string& data_dir) {
  LogOptions o = TestOptions(data_dir);
  o.max_file_bytes = 16384;
  o.prefill_after = 2048;
  return o;
}

// Appends until the active file is pre-filled (bigger on disk than its records); the count.
int AppendUntilPrefilled(Log& log, const std::string& data_dir) {
  for (int i = 0; i < 4000; ++i) {
    EXPECT_TRUE(log.AppendAndWait(SampleRecord(At(1795600800 + i))).ok());
    auto [file, disk] = LastFile(data_dir);
    if (disk > file.size + 1024) return i + 1;
    if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ADD_FAILURE() << "no file was pre-filled";
  return 4000;
}

void ExpectPlainJsonLines(const std::string& data_dir) {
  auto files = ListLogFiles(data_dir + "/audit");
  ASSERT_TRUE(files.ok());
  for (const LogFile& f : *files) {
    const std::string bytes = ReadFile(f.path);
    EXPECT_EQ(bytes.find('\0'), std::string::npos) << f.path;
    if (!bytes.empty()) {
      EXPECT_EQ(bytes.back(), '\n') << f.path;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(data_dir + "/audit/audit-spare.tmp"));
}

TEST(AuditLog, PrefilledFilesUnderLoadKeepTheChainAndEndAsPlainLines) {
  TempDir tmp;
  int events = 0;
  {
    auto log = Log::Open(PrefillOptions(tmp.path()));
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    events += AppendUntilPrefilled(**log, tmp.path());
    // While it runs, the active file is records then NUL padding; readers see the records.
    auto [file, disk] = LastFile(tmp.path());
    const std::string bytes = ReadFile(file.path);
    ASSERT_EQ(bytes.size(), disk);
    EXPECT_EQ(bytes.find('\0'), file.size);
    EXPECT_EQ(bytes.find_first_not_of('\0', file.size), std::string::npos);
    if (file.size > 0) {
      EXPECT_EQ(bytes[file.size - 1], '\n');
    }
    ExpectVerifies(tmp.path());
    for (int i = 0; i < 100; ++i, ++events)
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795601800 + i))).ok());
  }
  ExpectPlainJsonLines(tmp.path());
  ExpectVerifies(tmp.path());
  auto report = Verify(DefaultVerifyOptions(tmp.path()));
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->events, static_cast<std::uint64_t>(events));
  EXPECT_EQ(report->recoveries, 0u);
  EXPECT_GE(report->files, 3u);
}

TEST(AuditLog, CrashWithAPrefilledFileContinuesInIt) {
  TempDir tmp;
  int events = 0;
  {
    auto log = Log::Open(PrefillOptions(tmp.path()));
    ASSERT_TRUE(log.ok());
    events += AppendUntilPrefilled(**log, tmp.path());
    (*log)->AbandonForTest();  // as kill -9: the padding stays
  }
  auto [before, disk] = LastFile(tmp.path());
  ASSERT_GT(disk, before.size);
  {
    auto log = Log::Open(PrefillOptions(tmp.path()));
    ASSERT_TRUE(log.ok()) << log.error().ToLogString();
    for (int i = 0; i < 3; ++i, ++events)
      ASSERT_TRUE((*log)->AppendAndWait(SampleRecord(At(1795602800 + i))).ok());
    auto [after, disk_after] = LastFile(tmp.path());
    EXPECT_EQ(after.index, before.index);  // the same file, written over its padding
    EXPECT_GT(after.size, before.size);
  }
  ExpectPlainJsonLines(tmp.path());
  auto report = Verify(DefaultVerifyOptions(tmp.path()));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok()) << FormatReport(*report);
  EXPECT_EQ(report->events, static_cast<std::uint64_t>(events));
  EXPECT_EQ(report->recoveries, 0u);
}

// A crash in the middle of a write into a pre-filled file: the disk kept the start of the write
// and a later part of it, with a hole of zeros between. The records end at the last complete line
// before the first NUL; everything after it is discarded and recorded.
TEST(AuditLog, HoleInATornWriteIsCutAndRecordedAtOpen) {
  TempDir tmp;
  const std::string file = FileOfThreeEvents(tmp.path());
  const std::string clean = ReadFile(file);
  const std::string head = R"({"eventVersion":"1.09","userIdentity":{"ty)";
  const std::string later = R"(e":"IAMUser"},"eventTime":"2026-11-25T00:00:00Z"}
{"eventVersion":"1.09","eventTime":"2026-11-25T00:00:01Z"}
)";
  const std::string torn = head + std::string(300, '\0') + later;
  WriteFile(file, clean + torn + std::string(8192, '\0'));
  ExpectCutAndRecordedAtOpen(tmp.path(), clean.size(), torn);
  ExpectPlainJsonLines(tmp.path());
}

TEST(AuditLog, RecordWithANulByteIsRefused) {
  TempDir tmp;
  auto log = Log::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(log.ok());
  std::promise<Status> done;
  (*log)->AppendSerialized(std::string("{\"a\":\"x\0y\"}", 11), [&](Status s) { done.set_value(s); });
  Status s = done.get_future().get();
  EXPECT_EQ(s.error().code(), Code::kInvalidParameter);
}

}  // namespace
}  // namespace arca::audit
