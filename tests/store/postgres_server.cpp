#include "store/postgres_server.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <utility>

extern char** environ;

namespace arca::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDebianPgBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kRunAs = "nobody";

bool Executable(const fs::path& p) {
  return ::access(p.c_str(), X_OK) == 0 && fs::is_regular_file(p);
}

// $ARCA_PG_BIN/NAME, else NAME on PATH, else Debian's PostgreSQL 15; "" when none exists.
std::string FindPgBinary(const std::string& name) {
  std::vector<fs::path> candidates;
  if (const char* bin = std::getenv("ARCA_PG_BIN"); bin != nullptr && *bin != '\0') {
    candidates.emplace_back(fs::path(bin) / name);
  } else {
    if (const char* path = std::getenv("PATH"); path != nullptr) {
      std::stringstream ss(path);
      std::string dir;
      while (std::getline(ss, dir, ':')) {
        if (!dir.empty()) candidates.emplace_back(fs::path(dir) / name);
      }
    }
    candidates.emplace_back(fs::path(kDebianPgBin) / name);
  }
  for (const fs::path& c : candidates) {
    std::error_code ec;
    if (!Executable(c)) continue;
    fs::path real = fs::canonical(c, ec);  // initdb finds `postgres` next to its real location
    return ec ? c.string() : real.string();
  }
  return "";
}

std::string FindRunuser() {
  for (const char* p : {"/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser"}) {
    if (Executable(p)) return p;
  }
  return "runuser";  // let PATH decide
}

int FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool KeepDirectories() {
  const char* keep = std::getenv("ARCA_TEST_KEEP");
  return keep != nullptr && std::string(keep) == "1";
}

std::string ShellQuote(const std::string& s) {
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

// Runs argv (no shell) in `cwd` with stdin from /dev/null; stdout and stderr go to `output`.
// Returns the exit status (-1 when it could not be started or did not exit normally).
int Spawn(const std::vector<std::string>& argv, const std::string& cwd, std::string* output) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    *output = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    *output = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return -1;
  }
  output->clear();
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipefd[0], buf, sizeof(buf));
    if (n > 0) {
      output->append(buf, static_cast<std::size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

std::string Trimmed(const char* s) {
  std::string out = s == nullptr ? "" : s;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

PostgresServer::PostgresServer()
    : initdb_(FindPgBinary("initdb")), pg_ctl_(FindPgBinary("pg_ctl")) {
  std::string tmpl = (fs::temp_directory_path() / "arca-pg-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::cerr << "PostgresServer: mkdtemp: " << std::strerror(errno) << "\n";
    return;
  }
  root_ = tmpl;
  data_ = root_ + "/data";
  sock_ = root_ + "/sock";
  log_ = root_ + "/postgres.log";
  std::error_code ec;
  fs::create_directory(sock_, ec);
  fs::permissions(root_, fs::perms(0755), ec);
  port_ = FreeLoopbackPort();
  if (::geteuid() == 0) {
    // PostgreSQL will not run as root: every command runs as `nobody`, who owns the directory.
    as_nobody_ = true;
    if (const passwd* pw = ::getpwnam(kRunAs); pw != nullptr) {
      for (const std::string& p : {root_, sock_}) {
        if (::chown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
          std::cerr << "PostgresServer: chown " << p << ": " << std::strerror(errno) << "\n";
        }
      }
    }
  }
  StartWatchdog();
}

PostgresServer::~PostgresServer() {
  if (running_) {
    Status stopped = Stop();
    if (!stopped.ok()) {
      std::string out;
      (void)Run(pg_ctl_.c_str(), {"-D", data_, "-m", "immediate", "-w", "-t", "60", "stop"}, &out);
    }
  }
  if (!root_.empty()) {
    if (KeepDirectories()) {
      std::cerr << "PostgresServer: kept " << root_ << " (ARCA_TEST_KEEP=1)\n";
    } else {
      std::error_code ec;
      fs::remove_all(root_, ec);
    }
  }
  if (watchdog_fd_ >= 0) ::close(watchdog_fd_);  // the watchdog wakes up and finds nothing to do
}

int PostgresServer::FreePort() { return FreeLoopbackPort(); }

bool PostgresServer::Available() {
  return !FindPgBinary("initdb").empty() && !FindPgBinary("pg_ctl").empty();
}

Result<PostgresServer*> PostgresServer::Shared() {
  static std::mutex mu;
  static std::unique_ptr<PostgresServer> server;  // destroyed (stopped, removed) at exit
  static std::unique_ptr<Error> failure;
  std::lock_guard<std::mutex> lock(mu);
  if (failure) return *failure;
  if (!server) {
    auto made = std::make_unique<PostgresServer>();
    Status started = made->Start();
    if (!started.ok()) {
      failure = std::make_unique<Error>(started.error());
      return *failure;
    }
    server = std::move(made);
  }
  return server.get();
}

// A detached shell (its own session, reparented to init, so neither the test's death nor CTest
// killing the test's process tree takes it along) that waits for the test process to close the
// pipe, by exiting or by destroying this object, then stops the cluster if it still runs and
// removes the directory. After an orderly destructor both are no-ops.
void PostgresServer::StartWatchdog() {
  if (pg_ctl_.empty() || root_.empty()) return;
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return;
  std::string stop = ShellQuote(pg_ctl_) + " -D " + ShellQuote(data_) + " -m immediate -w stop";
  if (as_nobody_) stop = ShellQuote(FindRunuser()) + " -u " + kRunAs + " -- " + stop;
  std::string cleanup = stop;
  if (!KeepDirectories()) cleanup += "; rm -rf " + ShellQuote(root_);
  const std::string script =
      "exec 3<&0; ( read x <&3; " + cleanup + " ) </dev/null >/dev/null 2>&1 & exit 0";
  std::vector<std::string> argv = {"/bin/sh", "-c", script};
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addchdir_np(&actions, "/");
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipefd[0]);
  if (rc != 0) {
    ::close(pipefd[1]);
    return;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  watchdog_fd_ = pipefd[1];
}

Status PostgresServer::Run(const char* binary, const std::vector<std::string>& args,
                           std::string* output) {
  std::vector<std::string> argv;
  if (as_nobody_) argv = {FindRunuser(), "-u", kRunAs, "--"};
  argv.emplace_back(binary);
  argv.insert(argv.end(), args.begin(), args.end());
  const int rc = Spawn(argv, root_, output);
  if (rc == 0) return OkStatus();
  std::string cmd;
  for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  return Error(Code::kUnavailable, cmd + " failed (exit " + std::to_string(rc) + "): " + *output);
}

Status PostgresServer::InitDb() {
  std::string out;
  ARCA_RETURN_IF_ERROR(Run(initdb_.c_str(),
                           {"-D", data_, "-U", "postgres", "--no-sync", "--auth-local=trust",
                            "--auth-host=trust", "-E", "UTF8", "--locale=C"},
                           &out));
  initialised_ = true;
  return OkStatus();
}

Status PostgresServer::StartOnce(bool* port_taken) {
  *port_taken = false;
  const std::string opts = "-p " + std::to_string(port_) + " -k " + sock_ +
                           " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200";
  const std::size_t log_before = ReadFile(log_).size();
  std::string out;
  Status started =
      Run(pg_ctl_.c_str(), {"-D", data_, "-l", log_, "-o", opts, "-w", "-t", "60", "start"}, &out);
  if (!started.ok()) {
    const std::string log = ReadFile(log_);
    *port_taken =
        log.find("Address already in use", std::min(log_before, log.size())) != std::string::npos;
  }
  return started;
}

Status PostgresServer::Start() {
  if (running_) return OkStatus();
  if (root_.empty()) return Error(Code::kInternal, "PostgresServer: no temporary directory");
  if (initdb_.empty() || pg_ctl_.empty()) {
    return Error(Code::kUnavailable,
                 "PostgreSQL not found: no initdb/pg_ctl in $ARCA_PG_BIN, on PATH or in " +
                     std::string(kDebianPgBin));
  }
  if (!initialised_) {
    Status made = InitDb();
    if (!made.ok()) {
      std::cerr << "PostgresServer: " << made.error().message() << "\n";
      return made;
    }
  }
  // The port was free when it was picked; another process may have taken it since.
  for (int attempt = 0;; ++attempt) {
    bool port_taken = false;
    Status started = StartOnce(&port_taken);
    if (started.ok()) break;
    if (port_taken && attempt < 5) {
      port_ = FreeLoopbackPort();
      continue;
    }
    PrintLog(started.error().message());
    return started;
  }
  running_ = true;
  return OkStatus();
}

Status PostgresServer::Stop() {
  if (!running_) return OkStatus();
  std::string out;
  Status stopped =
      Run(pg_ctl_.c_str(), {"-D", data_, "-m", "fast", "-w", "-t", "60", "stop"}, &out);
  if (!stopped.ok()) {
    PrintLog(stopped.error().message());
    return stopped;
  }
  running_ = false;
  return OkStatus();
}

Status PostgresServer::Restart() {
  ARCA_RETURN_IF_ERROR(Stop());
  return Start();
}

std::string PostgresServer::Url(const std::string& dbname) const {
  return "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" + dbname;
}

Result<PostgresDatabase> PostgresServer::CreateDatabase() {
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    name = "arca_test_" + std::to_string(::getpid()) + "_" + std::to_string(++next_db_);
  }
  // Serialised: concurrent CREATE DATABASE from one template can fail ("being accessed").
  static std::mutex create_mu;
  std::lock_guard<std::mutex> lock(create_mu);
  Status made = Execute("postgres", "CREATE DATABASE " + name);
  if (!made.ok()) {
    PrintLog(made.error().message());
    return made.error();
  }
  return PostgresDatabase{name, Url(name)};
}

Status PostgresServer::Execute(const std::string& dbname, const std::string& sql) {
  PgConn conn(PQconnectdb(Url(dbname + "?connect_timeout=10").c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Error(Code::kUnavailable,
                 "connect to " + Url(dbname) + ": " + Trimmed(PQerrorMessage(conn.get())));
  }
  PgResult res(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Error(Code::kInternal, sql + ": " + Trimmed(PQerrorMessage(conn.get())));
  }
  return OkStatus();
}

Result<std::string> PostgresServer::Query(const std::string& dbname, const std::string& sql) {
  PgConn conn(PQconnectdb(Url(dbname + "?connect_timeout=10").c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return Error(Code::kUnavailable,
                 "connect to " + Url(dbname) + ": " + Trimmed(PQerrorMessage(conn.get())));
  }
  PgResult res(PQexec(conn.get(), sql.c_str()));
  if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return Error(Code::kInternal, sql + ": " + Trimmed(PQerrorMessage(conn.get())));
  }
  if (PQntuples(res.get()) < 1 || PQnfields(res.get()) < 1) {
    return Error(Code::kNotFound, sql + ": no row");
  }
  return std::string(PQgetvalue(res.get(), 0, 0),
                     static_cast<std::size_t>(PQgetlength(res.get(), 0, 0)));
}

std::string PostgresServer::ServerLog() const { return ReadFile(log_); }

void PostgresServer::PrintLog(const std::string& why) const {
  std::cerr << "PostgresServer (" << root_ << ", port " << port_ << "): " << why << "\n"
            << "---- server log ----\n"
            << ServerLog() << "---- end of server log ----\n";
}

}  // namespace arca::testing
