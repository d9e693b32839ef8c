// The SQLite store's KMS and SSM Parameter Store rows as they lie in the file: nothing left behind
// by cascading deletes, values stored as blobs of their bytes, the prefix listing's index, and the
// migration of a schema version 2 file. The rows' behaviour through the Store interface is in the
// store suite (store_suite_iam_kms_params_test.cpp), which runs against SQLite too.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"
#include "store/store_test_util.h"

namespace arca::store {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

class SqliteKmsParamsTest : public ::testing::Test, protected StoreTestUtil {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "arca-store-kms-test-XXXXXX").string();
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

  // Runs one query returning a single text (or integer as text) on a separate raw connection.
  std::string QueryText(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* p = sqlite3_column_text(st, 0);
      if (p != nullptr) out = reinterpret_cast<const char*>(p);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  fs::path dir_;
  std::string path_;
};

// The suite's DeletingAKmsKeyRemovesItsMaterialsAndAliases, seen in the file: no row is left.
TEST_F(SqliteKmsParamsTest, DeletingAKmsKeyLeavesNoMaterialRows) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
    ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 1)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 2)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k2", 1)));
    ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/a", "k1", 1, 1}));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteKmsKey("k1"));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(QueryText("SELECT count(*) FROM kms_materials WHERE key_id = 'k1'"), "0");
}

// The suite's ParameterVersionValuesAreBinarySafe, seen in the file: each value is stored as a blob
// of exactly its bytes.
TEST_F(SqliteKmsParamsTest, ParameterVersionValuesAreStoredAsBlobsOfTheirBytes) {
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte.push_back(static_cast<char>(i));
  const std::string invalid_utf8 = "\xc3\x28\xff\xfe\0tail"s;
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertParameter({"us-east-1", "/bin", 3, "{}"}));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 1, every_byte)));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 2, invalid_utf8)));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/bin", 3, "")));
    ASSERT_OK(txn->Commit());
  }
  store.reset();
  EXPECT_EQ(QueryText("SELECT typeof(value) || ':' || length(value) FROM parameter_versions "
                      "WHERE version = 1"),
            "blob:256");
  EXPECT_EQ(QueryText("SELECT hex(value) FROM parameter_versions WHERE version = 2"),
            "C328FFFE007461696C");
  EXPECT_EQ(QueryText("SELECT typeof(value) || ':' || length(value) FROM parameter_versions "
                      "WHERE version = 3"),
            "blob:0");
}

// The suite's DeletingAParameterRemovesItsVersions, seen in the file: only the other region's
// version row is left.
TEST_F(SqliteKmsParamsTest, DeletingAParameterLeavesNoVersionRows) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 2, "{}"}));
    ASSERT_OK(txn->InsertParameter({"eu-west-1", "/p", 1, "{}"}));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "a")));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "b")));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("eu-west-1", "/p", 1, "c")));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteParameter("us-east-1", "/p"));
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 1, "{}"}));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(QueryText("SELECT count(*) FROM parameter_versions"), "1");
}

// The prefix listing is a search on the (region, name) index, sorted by it.
TEST_F(SqliteKmsParamsTest, ListParametersUsesTheIndex) {
  { ASSERT_NE(Open(), nullptr); }
  for (sqlite::StmtId id :
       {sqlite::StmtId::kListParametersFrom, sqlite::StmtId::kListParametersRange}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    const std::string sql = "EXPLAIN QUERY PLAN "s + sqlite::SqlFor(id);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    std::string plan;
    while (sqlite3_step(st) == SQLITE_ROW) {
      plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3));
      plan += "\n";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    EXPECT_NE(plan.find("SEARCH parameters USING"), std::string::npos) << plan;
    EXPECT_NE(plan.find("region=? AND name>?"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
  }
}

// A file of schema version 2, with data in it, is migrated to the latest and keeps its data; old
// versions read with an empty kms_key_arn and the new tables work.
TEST_F(SqliteKmsParamsTest, MigratesAVersion2File) {
  {
    ASSERT_EQ(::close(::open(path_.c_str(), O_CREAT | O_WRONLY, 0600)), 0);
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    for (std::int64_t v : {1, 2}) {
      const char* sql = sqlite::MigrationSql(v);
      ASSERT_NE(sql, nullptr);
      ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    }
    const char* data = R"sql(
      INSERT INTO secrets (id, region, name, arn, created_ms, meta)
        VALUES ('s1', 'r', 'db/password', 'arn:aws:secretsmanager:r:000000000000:secret:db/password-abc', 1, '{}');
      INSERT INTO versions (secret_id, version_id, created_ms, labels, is_binary, key_version, wrapped_key, ciphertext)
        VALUES ('s1', 'v1', 1, '["AWSCURRENT"]', 0, 1, x'01', x'02');
      INSERT INTO iam_users (user_id, name, path, arn, created_ms)
        VALUES ('AIDAU', 'u', '/', 'arn:aws:iam::000000000000:user/u', 1);
      UPDATE change_sequence SET seq = 7;
      PRAGMA user_version = 2;
    )sql";
    ASSERT_EQ(sqlite3_exec(db, data, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  auto store = Open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->ChangeSequence(), 7u);
  {
    auto txn = Begin(*store, TxnMode::kRead);
    auto version = txn->GetVersion("s1", "v1");
    ASSERT_OK(version);
    ASSERT_TRUE(version->has_value());
    EXPECT_EQ((*version)->labels, std::vector<std::string>{"AWSCURRENT"});
    EXPECT_EQ((*version)->sealed.ciphertext, "\x02");
    EXPECT_EQ((*version)->kms_key_arn, "");
    auto user = txn->GetIamUser("u");
    ASSERT_OK(user);
    EXPECT_TRUE(user->has_value());
    ASSERT_OK(txn->Commit());
  }
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    ASSERT_OK(txn->InsertKmsKey(Key("k1", "r", 1)));
    ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 1)));
    ASSERT_OK(txn->InsertKmsAlias({"r", "alias/a", "k1", 1, 1}));
    ASSERT_OK(txn->InsertParameter({"r", "/p", 1, "{}"}));
    ASSERT_OK(txn->InsertParameterVersion(PVersion("r", "/p", 1, "v")));
    auto version = txn->GetVersion("s1", "v1");
    ASSERT_OK(version);
    ASSERT_TRUE(version->has_value());
    VersionRow row = **version;
    row.kms_key_arn = "arn:aws:kms:r:000000000000:key/k1";
    ASSERT_OK(txn->UpdateVersion(row));
    ASSERT_OK(txn->Commit());
  }
  store.reset();
  EXPECT_EQ(QueryText("PRAGMA user_version"), std::to_string(sqlite::LatestSchemaVersion()));
  EXPECT_GE(sqlite::LatestSchemaVersion(), 3);
  EXPECT_EQ(QueryText("SELECT kms_key_arn FROM versions WHERE version_id = 'v1'"),
            "arn:aws:kms:r:000000000000:key/k1");
  EXPECT_EQ(QueryText("PRAGMA foreign_key_check"), "");
  // Reopening the migrated file changes nothing.
  store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kRead);
  auto params = txn->ListParameters("r", "/");
  ASSERT_OK(params);
  EXPECT_EQ(params->size(), 1u);
  ASSERT_OK(txn->Commit());
}

}  // namespace
}  // namespace arca::store
