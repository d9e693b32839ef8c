#pragma once
// A throwaway PostgreSQL cluster for tests: Debian's initdb in a temporary directory, started by
// pg_ctl on a free loopback port (trust authentication for `postgres`, fsync off), stopped and
// removed again by the destructor. Quiet unless something fails; then the error carries the
// command's output and the server log is printed to stderr.
//
//   PostgresServer& pg = ...;                      // usually PostgresServer::Shared()
//   auto db = pg.CreateDatabase();                 // a fresh, empty database per test
//   OpenPostgresStore(PostgresOptions{db->url});   // postgresql://postgres@127.0.0.1:PORT/NAME
//   pg.Execute(db->name, "UPDATE ...");            // SQL as the superuser, for poking at the rows
//
// Binaries: $ARCA_PG_BIN, else initdb/pg_ctl on PATH, else /usr/lib/postgresql/15/bin. PostgreSQL
// refuses to run as root: as root every command runs as `nobody` (runuser), which owns the
// temporary directory. ARCA_TEST_KEEP=1 keeps the directory (data, log) after the test.
// A watchdog process stops the cluster and removes the directory should the test process die
// without running the destructor (a crash, a CTest timeout), so no server is left running.
//
// Thread-safety: CreateDatabase, Execute and Query may be called from several threads; Start, Stop
// and Restart may not run concurrently with anything else.

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

namespace arca::testing {

struct PostgresDatabase {
  std::string name;
  std::string url;  // postgresql://postgres@127.0.0.1:PORT/NAME
};

class PostgresServer {
 public:
  // Picks the directory and port; starts nothing.
  PostgresServer();
  ~PostgresServer();  // Stop() and remove the directory (unless ARCA_TEST_KEEP=1)
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Whether initdb and pg_ctl were found (tests skip without them).
  static bool Available();
  // A loopback TCP port nobody listened on a moment ago.
  static int FreePort();
  // The cluster shared by every test of this process: made and started on first use (so a run
  // that selects no PostgreSQL test starts none), stopped at exit. A failed start is not retried:
  // later calls return the same error.
  static Result<PostgresServer*> Shared();

  // initdb (the first time) and pg_ctl start; returns once the server accepts connections.
  Status Start();
  // pg_ctl stop -m fast; the data stays, Start() brings the same cluster back on the same port.
  Status Stop();
  Status Restart();  // Stop() then Start()
  bool running() const { return running_; }

  // CREATE DATABASE with a name unique in this process ("arca_test_PID_N").
  Result<PostgresDatabase> CreateDatabase();
  // postgresql://postgres@127.0.0.1:PORT/DBNAME (TCP, trust: no password).
  std::string Url(const std::string& dbname) const;
  // Runs SQL (one or more statements) in `dbname` as the superuser over TCP.
  Status Execute(const std::string& dbname, const std::string& sql);
  // The first column of the first row of `sql` ("" for NULL; kNotFound when no row).
  Result<std::string> Query(const std::string& dbname, const std::string& sql);

  int port() const { return port_; }
  const std::string& root_dir() const { return root_; }  // the temporary directory
  const std::string& socket_dir() const { return sock_; }
  std::string ServerLog() const;  // the server's log so far

 private:
  Status InitDb();
  Status StartOnce(bool* port_taken);
  Status Run(const char* binary, const std::vector<std::string>& args, std::string* output);
  void PrintLog(const std::string& why) const;
  void StartWatchdog();

  std::string initdb_;
  std::string pg_ctl_;
  std::string root_;
  std::string data_;
  std::string sock_;
  std::string log_;
  int port_ = 0;
  bool as_nobody_ = false;
  bool initialised_ = false;
  bool running_ = false;
  int watchdog_fd_ = -1;  // write end of the watchdog's stdin
  std::mutex mu_;         // database names
  std::uint64_t next_db_ = 0;
};

}  // namespace arca::testing
