// The SQLite store's own behaviour: its file (modes, a missing directory), schema migrations from
// older files, the refusal of a newer schema and two stores on one file. What any store must do is
// in the store suite (store_suite*_test.cpp), which runs against SQLite too.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/schema.h"
#include "store/store_test_util.h"

namespace arca::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test, protected StoreTestUtil {
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

  static mode_t ModeOf(const std::string& file) {
    struct stat st {};
    EXPECT_EQ(::stat(file.c_str(), &st), 0) << file;
    return st.st_mode & 0777;
  }

  fs::path dir_;
  std::string path_;
};

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

}  // namespace
}  // namespace arca::store
