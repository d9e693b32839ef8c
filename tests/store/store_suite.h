#pragma once
// The store test suite: the Store/Transaction contract of store.h, one set of tests run against
// every store kind. A suite file declares its fixture and instantiates it for each kind:
//
//   class StoreFooTest : public StoreSuite {};
//   ARCA_INSTANTIATE_STORE_SUITE(StoreFooTest);
//   TEST_P(StoreFooTest, Bar) { auto store = Open(); ... }
//
// which gives the tests Sqlite/StoreFooTest.Bar/0 and Postgres/StoreFooTest.Bar/0. Each test gets
// a database of its own: a fresh SQLite file in a temporary directory, or a fresh database on the
// PostgreSQL cluster shared by the process (PostgresServer::Shared(), started on first use). CTest
// runs the Postgres ones as the single test `store_postgres` (tests/CMakeLists.txt).
//
// What is specific to one kind (SQLite's file, pragmas and migrations; PostgreSQL's LISTEN/NOTIFY
// and schema table) stays in sqlite_*_test.cpp and postgres_store_test.cpp.

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>

#include "store/postgres_server.h"
#include "store/store.h"
#include "store/store_test_util.h"

namespace arca::store {

enum class StoreKind { kSqlite, kPostgres };

void PrintTo(StoreKind kind, std::ostream* os);

class StoreSuite : public ::testing::TestWithParam<StoreKind>, protected StoreTestUtil {
 protected:
  void SetUp() override;
  void TearDown() override;

  StoreKind kind() const { return GetParam(); }
  // Opens another Store on this test's database (the same SQLite file, the same PostgreSQL
  // database): twice for two "replicas", again after a reset for a restart. Throws StoreTestAbort
  // (failing the test) when the store cannot be opened.
  std::unique_ptr<Store> Open();
  // The SQLite file's path or the PostgreSQL database's URL.
  const std::string& location() const { return location_; }

  // Expects `store` to report ChangeSequence() == want after Ping(): at once for SQLite, whose
  // Ping reads the file's sequence; within 2 s for PostgreSQL, which learns of another replica's
  // commits asynchronously (NOTIFY).
  void ExpectChangeSequenceReaches(Store& store, std::uint64_t want);

 private:
  std::string dir_;                     // SQLite: the temporary directory
  arca::testing::PostgresDatabase db_;  // PostgreSQL: this test's database
  std::string location_;
};

#define ARCA_INSTANTIATE_STORE_SUITE(fixture)                                                      \
  INSTANTIATE_TEST_SUITE_P(Sqlite, fixture, ::testing::Values(::arca::store::StoreKind::kSqlite)); \
  INSTANTIATE_TEST_SUITE_P(Postgres, fixture,                                                      \
                           ::testing::Values(::arca::store::StoreKind::kPostgres))

}  // namespace arca::store
