#pragma once
// A real PostgreSQL 15 for the audit tests: one cluster per test process, started on first use in
// a temporary directory (initdb; pg_ctl on a free port of 127.0.0.1 with the socket in the
// directory and fsync off) and stopped by a gtest global Environment at exit. As root, initdb,
// pg_ctl and the server run as `nobody` (PostgreSQL refuses root), as in
// tests/integration/test_rotation_postgres.py. Each test gets a fresh database owned by a
// password role, reached over TCP with scram-sha-256 like a real deployment.
//
// Binaries: ARCA_PG_BIN, else /usr/lib/postgresql/15/bin, else PATH. Without them the tests skip.
//
// Thread-safety: used from the test's thread only.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::audit::testing {

class PostgresCluster {
 public:
  // The process's cluster, started on first call; nullptr (with the reason in `why`) when
  // PostgreSQL is not installed or does not start.
  static PostgresCluster* Shared(std::string* why) {
    State& st = state();
    if (!st.tried) {
      st.tried = true;
      auto c = std::unique_ptr<PostgresCluster>(new PostgresCluster());
      st.failure = c->Init();
      if (st.failure.empty()) {
        st.cluster = std::move(c);
      } else {
        c->Cleanup();
      }
    }
    if (why != nullptr) *why = st.failure;
    return st.cluster.get();
  }
  // Stops and removes the cluster, if one was started.
  static void ShutdownShared() {
    if (state().cluster != nullptr) state().cluster->Cleanup();
    state().cluster.reset();
  }

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  bool running() const { return running_; }

  // A new empty database owned by the test role; its URL (with the password).
  std::string NewDatabase() {
    const std::string name = "audit_test_" + std::to_string(++databases_);
    Sql("postgres", "CREATE DATABASE " + name + " OWNER arca");
    current_db_ = name;
    return Url(name);
  }
  std::string Url(const std::string& db) const {
    return "postgresql://arca:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + db +
           "?sslmode=disable";
  }
  const std::string& current_db() const { return current_db_; }

  // Runs SQL as the superuser over the Unix socket; the rows (text), or a failure.
  std::vector<std::vector<std::string>> Sql(const std::string& db, const std::string& sql) {
    const std::string conninfo =
        "host=" + sock_ + " port=" + std::to_string(port_) + " user=postgres dbname=" + db;
    PGconn* c = PQconnectdb(conninfo.c_str());
    std::vector<std::vector<std::string>> rows;
    if (PQstatus(c) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot connect to the test cluster: " << PQerrorMessage(c);
      PQfinish(c);
      return rows;
    }
    PGresult* r = PQexec(c, sql.c_str());
    const ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      ADD_FAILURE() << "SQL failed: " << sql << ": " << PQresultErrorMessage(r);
    } else {
      for (int i = 0; i < PQntuples(r); ++i) {
        std::vector<std::string> row;
        for (int j = 0; j < PQnfields(r); ++j) row.emplace_back(PQgetvalue(r, i, j));
        rows.push_back(std::move(row));
      }
    }
    PQclear(r);
    PQfinish(c);
    return rows;
  }
  std::vector<std::vector<std::string>> Sql(const std::string& sql) { return Sql(current_db_, sql); }
  std::string Value(const std::string& sql) {
    auto rows = Sql(sql);
    return rows.empty() || rows[0].empty() ? std::string() : rows[0][0];
  }

  bool Stop() {
    const bool ok = Pg({"pg_ctl", "-D", data_, "-m", "fast", "-w", "-t", "60", "stop"});
    running_ = running_ && !ok;
    return ok;
  }
  bool Start() {
    const std::string opts = "-p " + std::to_string(port_) + " -k " + sock_ +
                             " -c listen_addresses=127.0.0.1 -c fsync=off";
    running_ = Pg({"pg_ctl", "-D", data_, "-l", root_ + "/postgres.log", "-o", opts, "-w", "-t",
                   "60", "start"});
    return running_;
  }

 private:
  struct State {
    bool tried = false;
    std::string failure;
    std::unique_ptr<PostgresCluster> cluster;
  };
  static State& state() {
    static State s;
    return s;
  }
  PostgresCluster() = default;

  static std::string FindBin() {
    if (const char* env = std::getenv("ARCA_PG_BIN"); env != nullptr && *env != '\0') return env;
    if (::access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) return "/usr/lib/postgresql/15/bin";
    return "";  // PATH
  }

  static std::string Quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    return out + "'";
  }

  // Runs a PostgreSQL program (as `nobody` when root); output goes to ROOT/commands.log.
  bool Pg(const std::vector<std::string>& args) {
    std::string cmd;
    if (::geteuid() == 0) cmd = "runuser -u nobody -- ";
    cmd += Quote(bin_.empty() ? args[0] : bin_ + "/" + args[0]);
    for (std::size_t i = 1; i < args.size(); ++i) cmd += " " + Quote(args[i]);
    cmd += " >>" + Quote(root_ + "/commands.log") + " 2>&1";
    return std::system(cmd.c_str()) == 0;  // NOLINT(concurrency-mt-unsafe)
  }

  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&  // NOLINT
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {  // NOLINT
      port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
  }

  // "" when the cluster runs, else why not.
  std::string Init() {
    bin_ = FindBin();
    const std::string initdb = bin_.empty() ? "initdb" : bin_ + "/initdb";
    if (bin_.empty() && std::system("command -v initdb >/dev/null 2>&1") != 0) {  // NOLINT
      return "PostgreSQL 15 (initdb) is not installed";
    }
    char tmpl[] = "/tmp/arca-audit-pg-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return "mkdtemp failed";
    root_ = tmpl;
    data_ = root_ + "/data";
    sock_ = root_ + "/sock";
    std::filesystem::create_directories(sock_);
    ::chmod(root_.c_str(), 0755);
    if (::geteuid() == 0) {
      const struct passwd* pw = ::getpwnam("nobody");
      if (pw == nullptr) return "no user nobody to run PostgreSQL as";
      for (const std::string& p : {root_, sock_}) {
        if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) return "cannot chown " + p;
      }
    }
    port_ = FreePort();
    if (!Pg({"initdb", "-D", data_, "-U", "postgres", "--no-sync", "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"})) {
      return "initdb failed (see " + root_ + "/commands.log)";
    }
    {
      // Written through the server's user: as root, the data directory belongs to nobody.
      const std::string hba = data_ + "/pg_hba.conf";
      std::ofstream f(hba, std::ios::trunc);
      f << "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n";
    }
    if (!Start()) return "pg_ctl start failed (see " + root_ + "/postgres.log)";
    password_ = "pw-" + crypto::HexEncode(crypto::RandomSecret(12).view());
    Sql("postgres", "CREATE ROLE arca LOGIN PASSWORD '" + password_ + "'");
    return "";
  }

  void Cleanup() {
    if (root_.empty()) return;
    if (running_) Pg({"pg_ctl", "-D", data_, "-m", "immediate", "-w", "-t", "60", "stop"});
    running_ = false;
    if (const char* keep = std::getenv("ARCA_IT_KEEP"); keep == nullptr || std::string(keep) != "1") {
      std::error_code ec;
      std::filesystem::remove_all(root_, ec);
    }
    root_.clear();
  }

  std::string bin_;
  std::string root_;
  std::string data_;
  std::string sock_;
  int port_ = 0;
  bool running_ = false;
  std::string password_;
  int databases_ = 0;
  std::string current_db_;
};

// Stops the cluster (if one was started) when the test program ends.
class PostgresEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PostgresCluster::ShutdownShared(); }
};

}  // namespace arca::audit::testing
