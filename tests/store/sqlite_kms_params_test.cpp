// The SQLite store's KMS rows (keys, materials, aliases), SSM parameter rows (parameters,
// versions), VersionRow::kms_key_arn and schema version 3.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite/connection.h"
#include "store/sqlite/schema.h"
#include "store/sqlite/sqlite_store.h"

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

class SqliteKmsParamsTest : public ::testing::Test {
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

  static std::unique_ptr<Transaction> Begin(Store& store, TxnMode mode) {
    auto txn = store.Begin(mode);
    EXPECT_TRUE(txn.ok()) << txn.error().ToLogString();
    return txn.ok() ? std::move(txn).value() : nullptr;
  }

  static KmsKeyRow Key(const std::string& id, const std::string& region, std::int64_t created_ms) {
    return {id, region, "arn:aws:kms:" + region + ":000000000000:key/" + id, created_ms,
            R"({"KeyState":"Enabled"})"};
  }

  static KmsMaterialRow Material(const std::string& key_id, std::int64_t version) {
    KmsMaterialRow row;
    row.key_id = key_id;
    row.version = version;
    row.created_ms = 100 * version;
    row.sealed.key_version = 1;
    row.sealed.wrapped_key = "wk\0\xff"s + std::to_string(version);
    row.sealed.ciphertext = "ct\0\x01"s + std::to_string(version);
    return row;
  }

  static ParameterVersionRow PVersion(const std::string& region, const std::string& name,
                                      std::int64_t version, std::string value,
                                      std::vector<std::string> labels = {}) {
    ParameterVersionRow row;
    row.region = region;
    row.name = name;
    row.version = version;
    row.created_ms = 1000 + version;
    row.labels = std::move(labels);
    row.meta = R"({"Type":"String"})";
    row.value = std::move(value);
    return row;
  }

  static std::vector<std::string> KeyIds(const std::vector<KmsKeyRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.key_id);
    return out;
  }

  static std::vector<std::string> Names(const std::vector<ParameterRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.name);
    return out;
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

TEST_F(SqliteKmsParamsTest, KmsKeysCrudAndOrdering) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k3", "us-east-1", 20)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 10)));
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 20)));
  ASSERT_OK(txn->InsertKmsKey(Key("k0", "eu-west-1", 15)));

  auto got = txn->GetKmsKey("k2");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const KmsKeyRow want = Key("k2", "us-east-1", 10);
  EXPECT_EQ((*got)->key_id, want.key_id);
  EXPECT_EQ((*got)->region, want.region);
  EXPECT_EQ((*got)->arn, want.arn);
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  EXPECT_EQ((*got)->meta, want.meta);
  auto missing = txn->GetKmsKey("nope");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto east = txn->ListKmsKeys("us-east-1");
  ASSERT_OK(east);
  EXPECT_EQ(KeyIds(*east), (std::vector<std::string>{"k2", "k1", "k3"}));
  auto all = txn->ListKmsKeys("");
  ASSERT_OK(all);
  EXPECT_EQ(KeyIds(*all), (std::vector<std::string>{"k2", "k0", "k1", "k3"}));
  auto none = txn->ListKmsKeys("ap-south-1");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());

  // A taken id, a taken ARN.
  EXPECT_CODE(txn->InsertKmsKey(Key("k1", "eu-west-1", 1)), Code::kAlreadyExists);
  KmsKeyRow same_arn = Key("k9", "us-east-1", 1);
  same_arn.arn = Key("k1", "us-east-1", 1).arn;
  EXPECT_CODE(txn->InsertKmsKey(same_arn), Code::kAlreadyExists);

  KmsKeyRow updated = Key("k1", "us-east-1", 20);
  updated.meta = R"({"KeyState":"PendingDeletion"})";
  ASSERT_OK(txn->UpdateKmsKey(updated));
  got = txn->GetKmsKey("k1");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->meta, updated.meta);
  EXPECT_CODE(txn->UpdateKmsKey(Key("nope", "us-east-1", 1)), Code::kNotFound);

  ASSERT_OK(txn->DeleteKmsKey("k1"));
  got = txn->GetKmsKey("k1");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  EXPECT_CODE(txn->DeleteKmsKey("k1"), Code::kNotFound);
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteKmsParamsTest, KmsMaterials) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 2)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 1)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k1", 10)));
  ASSERT_OK(txn->InsertKmsMaterial(Material("k2", 1)));
  EXPECT_CODE(txn->InsertKmsMaterial(Material("k1", 2)), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertKmsMaterial(Material("nope", 1)), Code::kNotFound);

  auto list = txn->ListKmsMaterials("k1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].version, 1);
  EXPECT_EQ((*list)[1].version, 2);
  EXPECT_EQ((*list)[2].version, 10);
  const KmsMaterialRow want = Material("k1", 2);
  EXPECT_EQ((*list)[1].key_id, "k1");
  EXPECT_EQ((*list)[1].created_ms, want.created_ms);
  EXPECT_EQ((*list)[1].sealed.key_version, want.sealed.key_version);
  EXPECT_EQ((*list)[1].sealed.wrapped_key, want.sealed.wrapped_key);
  EXPECT_EQ((*list)[1].sealed.ciphertext, want.sealed.ciphertext);

  // Update replaces the sealed material (rekey).
  KmsMaterialRow rekeyed = Material("k1", 2);
  rekeyed.sealed.key_version = 7;
  rekeyed.sealed.wrapped_key = "new-wk";
  rekeyed.sealed.ciphertext = "new-ct";
  ASSERT_OK(txn->UpdateKmsMaterial(rekeyed));
  list = txn->ListKmsMaterials("k1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].sealed.key_version, 7u);
  EXPECT_EQ((*list)[1].sealed.wrapped_key, "new-wk");
  EXPECT_EQ((*list)[1].sealed.ciphertext, "new-ct");
  EXPECT_EQ((*list)[0].sealed.wrapped_key, Material("k1", 1).sealed.wrapped_key);
  EXPECT_CODE(txn->UpdateKmsMaterial(Material("k1", 3)), Code::kNotFound);

  auto none = txn->ListKmsMaterials("nope");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteKmsParamsTest, KmsAliases) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->InsertKmsKey(Key("k2", "us-east-1", 2)));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/zeta", "k1", 10, 10}));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/Alpha", "k2", 11, 11}));
  ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/alpha", "k1", 12, 12}));
  ASSERT_OK(txn->InsertKmsAlias({"eu-west-1", "alias/alpha", "k1", 13, 13}));
  EXPECT_CODE(txn->InsertKmsAlias({"us-east-1", "alias/zeta", "k2", 14, 14}), Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertKmsAlias({"us-east-1", "alias/dangling", "nope", 14, 14}),
              Code::kNotFound);

  auto got = txn->GetKmsAlias("us-east-1", "alias/Alpha");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->region, "us-east-1");
  EXPECT_EQ((*got)->name, "alias/Alpha");
  EXPECT_EQ((*got)->target_key_id, "k2");
  EXPECT_EQ((*got)->created_ms, 11);
  EXPECT_EQ((*got)->updated_ms, 11);
  auto missing = txn->GetKmsAlias("eu-west-1", "alias/zeta");
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  auto list = txn->ListKmsAliases("us-east-1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "alias/Alpha");  // byte-wise: 'A' < 'a'
  EXPECT_EQ((*list)[1].name, "alias/alpha");
  EXPECT_EQ((*list)[2].name, "alias/zeta");
  auto all = txn->ListKmsAliases("");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 4u);

  // Update changes the target and updated_ms only.
  ASSERT_OK(txn->UpdateKmsAlias({"us-east-1", "alias/zeta", "k2", 999, 20}));
  got = txn->GetKmsAlias("us-east-1", "alias/zeta");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->target_key_id, "k2");
  EXPECT_EQ((*got)->created_ms, 10);
  EXPECT_EQ((*got)->updated_ms, 20);
  EXPECT_CODE(txn->UpdateKmsAlias({"us-east-1", "alias/nope", "k2", 1, 1}), Code::kNotFound);
  EXPECT_CODE(txn->UpdateKmsAlias({"us-east-1", "alias/zeta", "nope", 1, 1}), Code::kNotFound);

  ASSERT_OK(txn->DeleteKmsAlias("us-east-1", "alias/zeta"));
  EXPECT_CODE(txn->DeleteKmsAlias("us-east-1", "alias/zeta"), Code::kNotFound);
  got = txn->GetKmsAlias("us-east-1", "alias/zeta");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteKmsParamsTest, DeletingAKmsKeyRemovesItsMaterialsAndAliases) {
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
    ASSERT_OK(txn->InsertKmsAlias({"eu-west-1", "alias/a", "k1", 1, 1}));
    ASSERT_OK(txn->InsertKmsAlias({"us-east-1", "alias/b", "k2", 1, 1}));
    ASSERT_OK(txn->Commit());
  }
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteKmsKey("k1"));
  auto m1 = txn->ListKmsMaterials("k1");
  ASSERT_OK(m1);
  EXPECT_TRUE(m1->empty());
  auto m2 = txn->ListKmsMaterials("k2");
  ASSERT_OK(m2);
  EXPECT_EQ(m2->size(), 1u);
  auto aliases = txn->ListKmsAliases("");
  ASSERT_OK(aliases);
  ASSERT_EQ(aliases->size(), 1u);
  EXPECT_EQ((*aliases)[0].name, "alias/b");
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(QueryText("SELECT count(*) FROM kms_materials WHERE key_id = 'k1'"), "0");
}

TEST_F(SqliteKmsParamsTest, ParametersCrud) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/app/db", 1, R"({"Tags":[]})"}));
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/app/DB", 3, "{}"}));  // names are case-sensitive
  ASSERT_OK(txn->InsertParameter({"eu-west-1", "/app/db", 2, "{}"}));  // names are per region
  EXPECT_CODE(txn->InsertParameter({"us-east-1", "/app/db", 5, "{}"}), Code::kAlreadyExists);

  auto got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->region, "us-east-1");
  EXPECT_EQ((*got)->name, "/app/db");
  EXPECT_EQ((*got)->version, 1);
  EXPECT_EQ((*got)->meta, R"({"Tags":[]})");
  got = txn->GetParameter("us-east-1", "/APP/db");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());

  ASSERT_OK(txn->UpdateParameter({"us-east-1", "/app/db", 2, R"({"Tags":[1]})"}));
  got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->meta, R"({"Tags":[1]})");
  got = txn->GetParameter("eu-west-1", "/app/db");  // untouched
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->version, 2);
  EXPECT_EQ((*got)->meta, "{}");
  EXPECT_CODE(txn->UpdateParameter({"us-east-1", "/nope", 1, "{}"}), Code::kNotFound);

  ASSERT_OK(txn->DeleteParameter("us-east-1", "/app/db"));
  EXPECT_CODE(txn->DeleteParameter("us-east-1", "/app/db"), Code::kNotFound);
  got = txn->GetParameter("us-east-1", "/app/db");
  ASSERT_OK(got);
  EXPECT_FALSE(got->has_value());
  got = txn->GetParameter("us-east-1", "/app/DB");
  ASSERT_OK(got);
  EXPECT_TRUE(got->has_value());
  ASSERT_OK(txn->Commit());
}

// Prefix listing is byte-wise and literal: '%' and '_' are not wildcards, and prefixes ending in
// 0xFF bytes (whose successor needs a carry) work.
TEST_F(SqliteKmsParamsTest, ListParametersByPrefix) {
  const std::vector<std::string> names = {
      "/a",           "/a/b",       "/a/b/c", "/a/bc",    "/a%",          "/a%b",
      "/a_",          "/ab",        "/aB",    "/A",       "/b",           "a",
      "%x",           "_x",         "\xff",   "\xff\xff", "\xff\xff\x01", "/a\xff",
      "/a\xff\x01",   "/a\xff\xff", "/b\x01", "/a0",      "/a.",          "/\xc3\xa9t\xc3\xa9",
      "/\xc3\xa9tat", "/z"};
  auto store = Open();
  ASSERT_NE(store, nullptr);
  {
    auto txn = Begin(*store, TxnMode::kWrite);
    for (const auto& n : names) ASSERT_OK(txn->InsertParameter({"us-east-1", n, 1, "{}"}));
    // Another region's parameters never show.
    ASSERT_OK(txn->InsertParameter({"eu-west-1", "/a/other", 1, "{}"}));
    ASSERT_OK(txn->InsertParameter({"us-east-10", "/a/other", 1, "{}"}));
    ASSERT_OK(txn->Commit());
  }
  auto expected = [&](const std::string& prefix) {
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
    }
    std::sort(out.begin(), out.end());  // std::string compares bytes as unsigned char
    return out;
  };
  auto txn = Begin(*store, TxnMode::kRead);
  for (const std::string& prefix :
       {""s, "/"s, "/a"s, "/a/"s, "/a/b"s, "/a%"s, "/a_"s, "%"s, "_"s, "\xff"s, "\xff\xff"s,
        "\xff\xff\xff"s, "/a\xff"s, "/a\xff\xff"s, "/\xc3\xa9"s, "/A"s, "nope"s, "/a/b/c/d"s}) {
    auto got = txn->ListParameters("us-east-1", prefix);
    ASSERT_OK(got);
    EXPECT_EQ(Names(*got), expected(prefix)) << "prefix '" << prefix << "'";
  }
  auto all = txn->ListParameters("us-east-1", "");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), names.size());
  auto other = txn->ListParameters("eu-west-1", "/a");
  ASSERT_OK(other);
  EXPECT_EQ(Names(*other), (std::vector<std::string>{"/a/other"}));
  auto empty_region = txn->ListParameters("ap-south-1", "");
  ASSERT_OK(empty_region);
  EXPECT_TRUE(empty_region->empty());
  ASSERT_OK(txn->Commit());
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

TEST_F(SqliteKmsParamsTest, ParameterVersions) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 3, "{}"}));
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/q", 1, "{}"}));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "two", {"prod"})));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "one")));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 10, "ten", {"b", "a"})));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/q", 1, "q-one")));
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 2, "again")),
              Code::kAlreadyExists);
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("us-east-1", "/nope", 1, "x")), Code::kNotFound);
  EXPECT_CODE(txn->InsertParameterVersion(PVersion("eu-west-1", "/p", 1, "x")), Code::kNotFound);

  auto list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].version, 1);
  EXPECT_EQ((*list)[1].version, 2);
  EXPECT_EQ((*list)[2].version, 10);
  EXPECT_EQ((*list)[2].labels, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ((*list)[0].value, "one");

  auto got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  const ParameterVersionRow want = PVersion("us-east-1", "/p", 2, "two", {"prod"});
  EXPECT_EQ((*got)->region, want.region);
  EXPECT_EQ((*got)->name, want.name);
  EXPECT_EQ((*got)->version, want.version);
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  EXPECT_EQ((*got)->labels, want.labels);
  EXPECT_EQ((*got)->meta, want.meta);
  EXPECT_EQ((*got)->value, want.value);
  auto missing = txn->GetParameterVersion("us-east-1", "/p", 3);
  ASSERT_OK(missing);
  EXPECT_FALSE(missing->has_value());

  // Update replaces labels and meta; value and created_ms stay.
  ParameterVersionRow relabeled = PVersion("us-east-1", "/p", 2, "IGNORED", {"x", "y"});
  relabeled.created_ms = 1;
  relabeled.meta = R"({"Type":"SecureString"})";
  ASSERT_OK(txn->UpdateParameterVersion(relabeled));
  got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->labels, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ((*got)->meta, R"({"Type":"SecureString"})");
  EXPECT_EQ((*got)->value, "two");
  EXPECT_EQ((*got)->created_ms, want.created_ms);
  relabeled.labels.clear();
  ASSERT_OK(txn->UpdateParameterVersion(relabeled));
  got = txn->GetParameterVersion("us-east-1", "/p", 2);
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_TRUE((*got)->labels.empty());
  EXPECT_CODE(txn->UpdateParameterVersion(PVersion("us-east-1", "/p", 4, "x")), Code::kNotFound);

  ASSERT_OK(txn->DeleteParameterVersion("us-east-1", "/p", 1));
  EXPECT_CODE(txn->DeleteParameterVersion("us-east-1", "/p", 1), Code::kNotFound);
  list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].version, 2);
  auto q = txn->ListParameterVersions("us-east-1", "/q");
  ASSERT_OK(q);
  EXPECT_EQ(q->size(), 1u);
  auto none = txn->ListParameterVersions("us-east-1", "/nope");
  ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  ASSERT_OK(txn->Commit());
}

TEST_F(SqliteKmsParamsTest, ParameterVersionValuesAreBinarySafe) {
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
  store = Open();
  ASSERT_NE(store, nullptr);
  auto txn = Begin(*store, TxnMode::kRead);
  auto list = txn->ListParameterVersions("us-east-1", "/bin");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].value, every_byte);
  EXPECT_EQ((*list)[1].value, invalid_utf8);
  EXPECT_EQ((*list)[2].value, "");
  auto one = txn->GetParameterVersion("us-east-1", "/bin", 1);
  ASSERT_OK(one);
  ASSERT_TRUE(one->has_value());
  EXPECT_EQ((*one)->value, every_byte);
  ASSERT_OK(txn->Commit());
  // Stored as a blob of exactly those bytes.
  EXPECT_EQ(QueryText("SELECT typeof(value) || ':' || length(value) FROM parameter_versions "
                      "WHERE version = 1"),
            "blob:256");
  EXPECT_EQ(QueryText("SELECT hex(value) FROM parameter_versions WHERE version = 2"),
            "C328FFFE007461696C");
  EXPECT_EQ(QueryText("SELECT typeof(value) || ':' || length(value) FROM parameter_versions "
                      "WHERE version = 3"),
            "blob:0");
}

TEST_F(SqliteKmsParamsTest, DeletingAParameterRemovesItsVersions) {
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
  // A parameter made again under the same name starts without versions.
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 1, "{}"}));
  auto list = txn->ListParameterVersions("us-east-1", "/p");
  ASSERT_OK(list);
  EXPECT_TRUE(list->empty());
  auto other = txn->ListParameterVersions("eu-west-1", "/p");
  ASSERT_OK(other);
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].value, "c");
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(QueryText("SELECT count(*) FROM parameter_versions"), "1");
}

TEST_F(SqliteKmsParamsTest, WritesBumpTheChangeSequence) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::uint64_t before = store->ChangeSequence();
  auto txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertKmsKey(Key("k1", "us-east-1", 1)));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 1);
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->InsertParameter({"us-east-1", "/p", 1, "{}"}));
  ASSERT_OK(txn->InsertParameterVersion(PVersion("us-east-1", "/p", 1, "v")));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 2);
  // A failed update changes nothing.
  txn = Begin(*store, TxnMode::kWrite);
  EXPECT_CODE(txn->UpdateParameter({"us-east-1", "/nope", 1, "{}"}), Code::kNotFound);
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 2);
  // Deleting a key (with its cascade) is a change.
  txn = Begin(*store, TxnMode::kWrite);
  ASSERT_OK(txn->DeleteKmsKey("k1"));
  ASSERT_OK(txn->Commit());
  EXPECT_EQ(store->ChangeSequence(), before + 3);
}

TEST_F(SqliteKmsParamsTest, VersionKmsKeyArnRoundTrips) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  const std::string arn = "arn:aws:kms:us-east-1:000000000000:key/1234abcd";
  auto txn = Begin(*store, TxnMode::kWrite);
  SecretRow secret;
  secret.id = "s1";
  secret.region = "us-east-1";
  secret.name = "n";
  secret.arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:n-abcdef";
  secret.created_ms = 1;
  secret.meta = "{}";
  ASSERT_OK(txn->InsertSecret(secret));
  VersionRow master;
  master.secret_id = "s1";
  master.version_id = "v-master";
  master.created_ms = 1;
  master.sealed = {1, "wk", "ct"};
  ASSERT_OK(txn->InsertVersion(master));
  VersionRow kms = master;
  kms.version_id = "v-kms";
  kms.created_ms = 2;
  kms.kms_key_arn = arn;
  kms.sealed = {0, "kms\0blob"s, "ct2"};
  ASSERT_OK(txn->InsertVersion(kms));

  auto got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, arn);
  EXPECT_EQ((*got)->sealed.key_version, 0u);
  EXPECT_EQ((*got)->sealed.wrapped_key, "kms\0blob"s);
  auto list = txn->ListVersions("s1");
  ASSERT_OK(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].kms_key_arn, "");
  EXPECT_EQ((*list)[1].kms_key_arn, arn);

  // Update writes the field too (re-encrypting under another key, or back to the master key).
  VersionRow moved = **got;
  moved.kms_key_arn = "";
  moved.sealed = {2, "wk3", "ct3"};
  ASSERT_OK(txn->UpdateVersion(moved));
  got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, "");
  EXPECT_EQ((*got)->sealed.key_version, 2u);
  moved.kms_key_arn = arn + "2";
  ASSERT_OK(txn->UpdateVersion(moved));
  got = txn->GetVersion("s1", "v-kms");
  ASSERT_OK(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->kms_key_arn, arn + "2");
  ASSERT_OK(txn->Commit());
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
