// The PostgreSQL test harness itself (postgres_server.h): the cluster starts, databases are made,
// their URLs connect with libpq, and a stopped cluster comes back with its data on its port.
#include "store/postgres_server.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace arca::testing {
namespace {

namespace fs = std::filesystem;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

// The single value `sql` returns on `conn`, "" when it fails.
std::string Value(PGconn* conn, const std::string& sql) {
  PGresult* res = PQexec(conn, sql.c_str());
  std::string out;
  if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) out = PQgetvalue(res, 0, 0);
  PQclear(res);
  return out;
}

#define SKIP_WITHOUT_POSTGRES()                                                   \
  do {                                                                            \
    if (!PostgresServer::Available()) GTEST_SKIP() << "PostgreSQL not installed"; \
  } while (0)

TEST(PostgresServerTest, TheSharedClusterStartsAndItsDatabasesConnect) {
  SKIP_WITHOUT_POSTGRES();
  auto server = PostgresServer::Shared();
  ASSERT_TRUE(server.ok()) << server.error().ToLogString();
  PostgresServer& pg = **server;
  EXPECT_TRUE(pg.running());
  auto again = PostgresServer::Shared();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, &pg);  // one cluster per process

  auto one = pg.CreateDatabase();
  auto two = pg.CreateDatabase();
  ASSERT_TRUE(one.ok()) << one.error().ToLogString();
  ASSERT_TRUE(two.ok()) << two.error().ToLogString();
  EXPECT_NE(one->name, two->name);
  EXPECT_EQ(one->url,
            "postgresql://postgres@127.0.0.1:" + std::to_string(pg.port()) + "/" + one->name);
  for (const PostgresDatabase* db : {&*one, &*two}) {
    Conn conn(PQconnectdb(db->url.c_str()));
    ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
    EXPECT_EQ(Value(conn.get(), "SELECT current_database()"), db->name);
    EXPECT_EQ(Value(conn.get(), "SELECT current_user"), "postgres");
    EXPECT_GE(std::stoi(Value(conn.get(), "SHOW server_version_num")), 150000);
    EXPECT_EQ(Value(conn.get(), "SHOW fsync"), "off");
    EXPECT_EQ(Value(conn.get(), "SHOW max_connections"), "200");
    EXPECT_EQ(Value(conn.get(), "SHOW listen_addresses"), "127.0.0.1");
    EXPECT_EQ(Value(conn.get(), "SHOW server_encoding"), "UTF8");
    EXPECT_EQ(Value(conn.get(), "SHOW lc_collate"), "C");
    EXPECT_EQ(Value(conn.get(), "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
              "0");  // fresh
  }
  // The Unix socket is in the temporary directory too.
  EXPECT_TRUE(fs::exists(fs::path(pg.socket_dir()) / (".s.PGSQL." + std::to_string(pg.port()))));

  // Execute and Query, for tests that poke at rows.
  ASSERT_TRUE(pg.Execute(one->name, "CREATE TABLE t (v bigint); INSERT INTO t VALUES (42)").ok());
  auto v = pg.Query(one->name, "SELECT v FROM t");
  ASSERT_TRUE(v.ok()) << v.error().ToLogString();
  EXPECT_EQ(*v, "42");
  auto none = pg.Query(one->name, "SELECT v FROM t WHERE v = 0");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
  auto missing = pg.Query(two->name, "SELECT v FROM t");  // databases are separate
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos)
      << missing.error().message();
  EXPECT_FALSE(pg.Execute(one->name, "THIS IS NOT SQL").ok());
}

TEST(PostgresServerTest, StopStartAndRestartKeepTheDataAndThePort) {
  SKIP_WITHOUT_POSTGRES();
  std::string root;
  std::string url;
  {
    PostgresServer pg;  // a cluster of its own: stopping the shared one would disturb other tests
    root = pg.root_dir();
    ASSERT_TRUE(fs::is_directory(root));
    ASSERT_TRUE(pg.Start().ok());
    auto db = pg.CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.error().ToLogString();
    url = db->url;
    ASSERT_TRUE(
        pg.Execute(db->name, "CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')").ok());
    const int port = pg.port();

    ASSERT_TRUE(pg.Stop().ok());
    EXPECT_FALSE(pg.running());
    Conn down(PQconnectdb((url + "?connect_timeout=2").c_str()));
    EXPECT_EQ(PQstatus(down.get()), CONNECTION_BAD);

    ASSERT_TRUE(pg.Start().ok());
    EXPECT_EQ(pg.port(), port);
    auto v = pg.Query(db->name, "SELECT v FROM t");
    ASSERT_TRUE(v.ok()) << v.error().ToLogString();
    EXPECT_EQ(*v, "kept");

    ASSERT_TRUE(pg.Restart().ok());
    EXPECT_EQ(pg.port(), port);
    Conn up(PQconnectdb(url.c_str()));
    ASSERT_EQ(PQstatus(up.get()), CONNECTION_OK) << PQerrorMessage(up.get());
    EXPECT_EQ(Value(up.get(), "SELECT v FROM t"), "kept");
    EXPECT_NE(pg.ServerLog().find("database system is ready to accept connections"),
              std::string::npos);
  }
  // The destructor stopped the server and removed its directory.
  Conn gone(PQconnectdb((url + "?connect_timeout=2").c_str()));
  EXPECT_EQ(PQstatus(gone.get()), CONNECTION_BAD);
  const char* keep = std::getenv("ARCA_TEST_KEEP");
  if (keep == nullptr || std::string(keep) != "1") {
    EXPECT_FALSE(fs::exists(root));
  }
}

}  // namespace
}  // namespace arca::testing
