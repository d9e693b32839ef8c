#include "store/sqlite/backup.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace arca::store {
namespace {

namespace fs = std::filesystem;

std::string SecretId(int i) { return "s" + std::to_string(100000 + i); }

class SqliteBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-backup-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    db_ = (dir_ / "arca.db").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::unique_ptr<Store> Open(const std::string& path) {
    auto store = OpenSqliteStore(path);
    EXPECT_TRUE(store.ok()) << store.error().ToLogString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // One secret with two versions in one transaction; the value bytes are bulky so the database
  // spans many pages.
  static Status WriteSecret(Store& store, int i) {
    ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(TxnMode::kWrite));
    SecretRow row;
    row.id = SecretId(i);
    row.region = "us-east-1";
    row.name = "backup/" + std::to_string(i);
    row.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:" + row.name + "-" + row.id;
    row.created_ms = 1000 + i;
    row.meta = "{}";
    ARCA_RETURN_IF_ERROR(txn->InsertSecret(row));
    for (int v = 0; v < 2; ++v) {
      VersionRow version;
      version.secret_id = row.id;
      version.version_id = "v" + std::to_string(v);
      version.created_ms = 1000 + i;
      version.labels = {v == 1 ? "AWSCURRENT" : "AWSPREVIOUS"};
      version.sealed.key_version = 1;
      version.sealed.wrapped_key = std::string(60, 'k');
      version.sealed.ciphertext = std::string(700, static_cast<char>('a' + (i % 26)));
      ARCA_RETURN_IF_ERROR(txn->InsertVersion(version));
    }
    return txn->Commit();
  }

  static void SetUserVersion(const std::string& path, std::int64_t v) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    const std::string sql = "PRAGMA user_version = " + std::to_string(v);
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  static mode_t ModeOf(const std::string& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
    return st.st_mode & 0777;
  }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

  // A backup of a store holding `n` secrets, at dir_/name.
  std::string MakeBackup(int n, const std::string& name = "backup.db") {
    const std::string src = (dir_ / ("src-" + name)).string();
    {
      auto store = Open(src);
      if (!store) return {};
      for (int i = 0; i < n; ++i) EXPECT_TRUE(WriteSecret(*store, i).ok());
    }
    const std::string out = (dir_ / name).string();
    auto report = BackupSqlite(src, out);
    EXPECT_TRUE(report.ok()) << report.error().ToLogString();
    return out;
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(SqliteBackupTest, BackupWhileAnotherThreadWritesHoldsEveryCommittedRowConsistently) {
  auto store = Open(db_);
  ASSERT_NE(store, nullptr);
  constexpr int kPreloaded = 300;
  for (int i = 0; i < kPreloaded; ++i) ASSERT_OK(WriteSecret(*store, i));

  std::atomic<int> committed{kPreloaded};
  std::atomic<bool> stop{false};
  std::atomic<bool> writer_failed{false};
  std::thread writer([&] {
    for (int i = kPreloaded; !stop.load(); ++i) {
      if (!WriteSecret(*store, i).ok()) {
        writer_failed = true;
        return;
      }
      committed.store(i + 1);
    }
  });
  while (committed.load() < kPreloaded + 20) std::this_thread::yield();

  const int before = committed.load();
  const std::string out = (dir_ / "snap.db").string();
  BackupOptions options;
  options.pages_per_step = 1;  // many short steps, interleaved with the writer's commits
  auto report = BackupSqlite(db_, out, options);
  const int after_backup = committed.load();
  stop = true;
  writer.join();
  ASSERT_TRUE(report.ok()) << report.error().ToLogString();
  ASSERT_FALSE(writer_failed.load());
  EXPECT_GT(report->steps, 10);
  EXPECT_GT(after_backup, before) << "the writer made no progress during the backup";

  EXPECT_EQ(ModeOf(out), 0600u);
  EXPECT_FALSE(fs::exists(out + "-wal"));
  EXPECT_FALSE(fs::exists(out + "-journal"));
  // A standalone rollback-journal file (header bytes 18/19 == 1), not a WAL database.
  const std::string header = ReadAll(out).substr(0, 100);
  ASSERT_EQ(header.substr(0, 16), std::string("SQLite format 3\0", 16));
  EXPECT_EQ(header[18], 1);
  EXPECT_EQ(header[19], 1);

  // The summary counts the snapshot, which holds every secret committed before the backup began,
  // each with both versions (a secret and its versions commit together).
  EXPECT_EQ(report->summary.schema_version, sqlite::LatestSchemaVersion());
  EXPECT_GE(report->summary.secrets, before);
  EXPECT_LE(report->summary.secrets, after_backup);
  EXPECT_EQ(report->summary.versions, 2 * report->summary.secrets);
  EXPECT_EQ(report->summary.change_sequence, report->summary.secrets);

  auto inspected = InspectSqliteDatabase(out);
  ASSERT_TRUE(inspected.ok()) << inspected.error().ToLogString();
  EXPECT_EQ(inspected->secrets, report->summary.secrets);

  auto copy = Open(out);
  ASSERT_NE(copy, nullptr);
  auto txn = copy->Begin(TxnMode::kRead);
  ASSERT_TRUE(txn.ok());
  auto all = (*txn)->ListAllSecrets();
  ASSERT_TRUE(all.ok());
  std::set<std::string> ids;
  for (const auto& s : *all) ids.insert(s.id);
  ASSERT_EQ(static_cast<std::int64_t>(ids.size()), report->summary.secrets);
  for (int i = 0; i < report->summary.secrets; ++i) {  // a prefix: writes were sequential
    ASSERT_TRUE(ids.count(SecretId(i))) << SecretId(i);
  }
  for (int i = 0; i < before; ++i) {
    auto versions = (*txn)->ListVersions(SecretId(i));
    ASSERT_TRUE(versions.ok());
    ASSERT_EQ(versions->size(), 2u) << SecretId(i);
    for (const auto& v : *versions) {
      EXPECT_EQ(v.sealed.ciphertext, std::string(700, static_cast<char>('a' + (i % 26))));
    }
  }
}

TEST_F(SqliteBackupTest, BackupNeverOverwritesAndRefusesMissingOrForeignSources) {
  {
    auto store = Open(db_);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(WriteSecret(*store, 1));
  }
  const std::string out = (dir_ / "exists.db").string();
  { std::ofstream(out) << "keep me"; }
  EXPECT_CODE(BackupSqlite(db_, out), Code::kAlreadyExists);
  EXPECT_EQ(ReadAll(out), "keep me");

  EXPECT_CODE(BackupSqlite((dir_ / "missing.db").string(), (dir_ / "o1.db").string()),
              Code::kNotFound);
  const std::string text = (dir_ / "text.db").string();
  { std::ofstream(text) << std::string(4096, 'x'); }
  EXPECT_CODE(BackupSqlite(text, (dir_ / "o2.db").string()), Code::kInvalidParameter);
  EXPECT_FALSE(fs::exists(dir_ / "o2.db"));
  // No stray temporary files were left behind.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(SqliteBackupTest, RestoreIntoAnEmptyDirectoryServesEveryRow) {
  const std::string backup = MakeBackup(25);
  ASSERT_FALSE(backup.empty());
  auto report = RestoreSqlite(backup, db_);
  ASSERT_TRUE(report.ok()) << report.error().ToLogString();
  EXPECT_FALSE(report->replaced_existing);
  EXPECT_EQ(report->summary.secrets, 25);
  EXPECT_EQ(report->summary.versions, 50);
  EXPECT_EQ(ModeOf(db_), 0600u);

  auto store = Open(db_);
  ASSERT_NE(store, nullptr);
  auto txn = store->Begin(TxnMode::kRead);
  ASSERT_TRUE(txn.ok());
  auto all = (*txn)->ListAllSecrets();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 25u);
  auto version = (*txn)->GetVersion(SecretId(7), "v1");
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(version->has_value());
  EXPECT_EQ((*version)->labels, std::vector<std::string>{"AWSCURRENT"});
}

TEST_F(SqliteBackupTest, RestoreRefusesAnExistingDatabaseWithoutForceAndReplacesItWithForce) {
  const std::string backup = MakeBackup(3);
  {
    auto store = Open(db_);
    ASSERT_NE(store, nullptr);
    for (int i = 100; i < 110; ++i) ASSERT_OK(WriteSecret(*store, i));
  }
  // A stale WAL of the old database must not be replayed into the restored one.
  { std::ofstream(db_ + "-wal") << std::string(8192, 'w'); }
  EXPECT_CODE(RestoreSqlite(backup, db_), Code::kAlreadyExists);
  ASSERT_TRUE(fs::exists(db_ + "-wal"));
  {
    auto unchanged = InspectSqliteDatabase(db_);
    ASSERT_TRUE(unchanged.ok()) << unchanged.error().ToLogString();
    EXPECT_EQ(unchanged->secrets, 10);
  }

  RestoreOptions force;
  force.force = true;
  auto report = RestoreSqlite(backup, db_, force);
  ASSERT_TRUE(report.ok()) << report.error().ToLogString();
  EXPECT_TRUE(report->replaced_existing);
  EXPECT_FALSE(fs::exists(db_ + "-wal"));
  EXPECT_FALSE(fs::exists(db_ + "-shm"));
  auto restored = InspectSqliteDatabase(db_);
  ASSERT_TRUE(restored.ok()) << restored.error().ToLogString();
  EXPECT_EQ(restored->secrets, 3);
  auto store = Open(db_);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Ping().ok());
}

TEST_F(SqliteBackupTest, RestoreRefusesWhileTheDatabaseIsOpen) {
  const std::string backup = MakeBackup(2);
  auto store = Open(db_);
  ASSERT_NE(store, nullptr);
  ASSERT_OK(WriteSecret(*store, 50));
  RestoreOptions force;
  force.force = true;
  EXPECT_CODE(RestoreSqlite(backup, db_, force), Code::kPreconditionNotMet);
  // The open store is untouched and still works.
  auto txn = store->Begin(TxnMode::kRead);
  ASSERT_TRUE(txn.ok());
  auto secret = (*txn)->GetSecretById(SecretId(50));
  ASSERT_TRUE(secret.ok());
  EXPECT_TRUE(secret->has_value());
  txn->reset();
  store.reset();
  EXPECT_TRUE(RestoreSqlite(backup, db_, force).ok());
}

TEST_F(SqliteBackupTest, RestoreRefusesWrongFilesAndNewerSchemasChangingNothing) {
  {
    auto store = Open(db_);
    ASSERT_NE(store, nullptr);
    ASSERT_OK(WriteSecret(*store, 1));
  }
  const std::string before = ReadAll(db_);
  RestoreOptions force;
  force.force = true;

  EXPECT_CODE(RestoreSqlite((dir_ / "missing.db").string(), db_, force), Code::kNotFound);

  const std::string text = (dir_ / "notes.txt").string();
  { std::ofstream(text) << "these are not the pages you are looking for\n"; }
  EXPECT_CODE(RestoreSqlite(text, db_, force), Code::kInvalidParameter);

  const std::string other = (dir_ / "other.db").string();  // SQLite, but not Arca
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, "CREATE TABLE t (a); INSERT INTO t VALUES (1);", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  EXPECT_CODE(RestoreSqlite(other, db_, force), Code::kInvalidParameter);
  SetUserVersion(other, 1);  // a schema version but none of the store's tables
  EXPECT_CODE(RestoreSqlite(other, db_, force), Code::kInvalidParameter);

  const std::string newer = MakeBackup(1, "newer.db");
  SetUserVersion(newer, sqlite::LatestSchemaVersion() + 1);
  auto refused = RestoreSqlite(newer, db_, force);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kPreconditionNotMet);
  EXPECT_NE(refused.error().message().find("newer"), std::string::npos)
      << refused.error().message();

  const std::string empty = (dir_ / "empty.db").string();
  { std::ofstream touch(empty); }
  EXPECT_CODE(RestoreSqlite(empty, db_, force), Code::kInvalidParameter);

  EXPECT_EQ(ReadAll(db_), before) << "a refused restore changed the database";
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".restore-"), std::string::npos)
        << entry.path();
  }
}

TEST_F(SqliteBackupTest, ABackupOfAnOlderSchemaRestoresAndMigratesOnOpen) {
  const std::string old = (dir_ / "v1.db").string();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(old.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sqlite::MigrationSql(1), nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 1", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  auto report = RestoreSqlite(old, db_);
  ASSERT_TRUE(report.ok()) << report.error().ToLogString();
  EXPECT_EQ(report->summary.schema_version, 1);
  ASSERT_NE(Open(db_), nullptr);
  auto migrated = InspectSqliteDatabase(db_);
  ASSERT_TRUE(migrated.ok());
  EXPECT_EQ(migrated->schema_version, sqlite::LatestSchemaVersion());
}

}  // namespace
}  // namespace arca::store
