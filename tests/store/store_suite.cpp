#include "store/store_suite.h"

#include <stdlib.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <utility>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::store {

namespace fs = std::filesystem;
using arca::testing::PostgresServer;

void PrintTo(StoreKind kind, std::ostream* os) {
  *os << (kind == StoreKind::kSqlite ? "sqlite" : "postgres");
}

void StoreSuite::SetUp() {
  switch (kind()) {
    case StoreKind::kSqlite: {
      std::string tmpl = (fs::temp_directory_path() / "arca-store-test-XXXXXX").string();
      ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
      dir_ = tmpl;
      location_ = (fs::path(dir_) / "arca.db").string();
      break;
    }
    case StoreKind::kPostgres: {
      if (!PostgresServer::Available()) {
        GTEST_SKIP() << "PostgreSQL (initdb, pg_ctl) is not installed; scripts/deps.sh --test "
                        "installs it";
      }
      auto server = PostgresServer::Shared();
      ASSERT_TRUE(server.ok()) << server.error().ToLogString();
      auto db = (*server)->CreateDatabase();
      ASSERT_TRUE(db.ok()) << db.error().ToLogString();
      db_ = std::move(db).value();
      location_ = db_.url;
      break;
    }
  }
}

void StoreSuite::TearDown() {
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  if (!db_.name.empty()) {
    const char* keep = std::getenv("ARCA_TEST_KEEP");
    auto server = PostgresServer::Shared();
    if ((keep == nullptr || std::string(keep) != "1") && server.ok()) {
      // Hundreds of databases would fill the temporary directory; FORCE ends connections a
      // broken store may have left behind.
      (void)(*server)->Execute("postgres", "DROP DATABASE IF EXISTS " + db_.name + " WITH (FORCE)");
    }
  }
}

std::unique_ptr<Store> StoreSuite::Open() {
  Result<std::unique_ptr<Store>> store = kind() == StoreKind::kSqlite
                                             ? OpenSqliteStore(location_)
                                             : OpenPostgresStore(PostgresOptions{location_});
  if (!store.ok()) {
    throw StoreTestAbort("opening the store failed: " + store.error().ToLogString());
  }
  return std::move(store).value();
}

void StoreSuite::ExpectChangeSequenceReaches(Store& store, std::uint64_t want) {
  EXPECT_TRUE(store.Ping().ok());
  if (kind() == StoreKind::kPostgres) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (store.ChangeSequence() != want && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      EXPECT_TRUE(store.Ping().ok());
    }
  }
  EXPECT_EQ(store.ChangeSequence(), want);
}

}  // namespace arca::store
