// `arca backup` and `arca restore` (see server/backup.h).
#include "server/backup.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <string>
#include <system_error>
#include <utility>

#include "audit/log.h"
#include "server/app.h"
#include "server/files.h"
#include "store/migrate.h"
#include "store/open.h"
#include "store/sqlite/backup.h"

namespace arca::server {

namespace {

std::string DbPath(const Config& config) {
  const std::string url = StoreUrl(config);
  return url.substr(std::string_view("sqlite:").size());
}

// arca backup/restore copy SQLite files; a PostgreSQL store is backed up with PostgreSQL's tools.
bool RefusePostgres(const Config& config, std::string_view command) {
  if (!store::IsPostgresUrl(StoreUrl(config))) return false;
  std::cerr << "arca " << command << ": the store is PostgreSQL; back it up with pg_dump and "
            << "restore it with pg_restore (see docs/high-availability.md)\n";
  return true;
}

// Where the master key comes from, for the reminder: the variable when set, else the key file.
std::string MasterKeySource(const Config& config) {
  if (config.master_key.has_value()) return "the ARCA_MASTER_KEY environment variable";
  return config.master_key_file;
}

void PrintSummary(const store::SqliteSummary& s) {
  std::cout << "  schema version:  " << s.schema_version << "\n"
            << "  secrets:         " << s.secrets;
  if (s.deleted_secrets > 0) std::cout << " (" << s.deleted_secrets << " scheduled for deletion)";
  std::cout << "\n"
            << "  versions:        " << s.versions << "\n"
            << "  access keys:     " << s.access_keys << "\n"
            << "  change sequence: " << s.change_sequence << "\n"
            << "  size:            " << s.bytes << " bytes\n";
}

// The lock a running server holds for its whole life: the audit log's DIR/audit/LOCK (flock). Held
// by this object until it is destroyed, so no server can start on the directory meanwhile.
// Thread-safety: used by one thread.
class ServerLock {
 public:
  ServerLock() = default;
  ServerLock(const ServerLock&) = delete;
  ServerLock& operator=(const ServerLock&) = delete;
  ~ServerLock() {
    if (fd_ >= 0) ::close(fd_);
  }

  // kPreconditionNotMet when a server holds the lock. A data directory without an audit directory
  // has never had a server started on it; nothing is created then.
  Status Acquire(const std::string& data_dir) {
    const std::string audit_dir = audit::DefaultLogOptions(data_dir).dir;
    struct stat st {};
    if (::stat(audit_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return OkStatus();
    const std::string path = audit_dir + "/LOCK";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ < 0) {
      return Error(
          Code::kUnavailable,
          "cannot open " + path + ": " + std::error_code(errno, std::generic_category()).message());
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      ::close(fd_);
      fd_ = -1;
      if (err == EWOULDBLOCK) {
        return Error(Code::kPreconditionNotMet, "an arca server is running on " + data_dir +
                                                    " (it holds " + path +
                                                    "); stop it before restoring");
      }
      return Error(Code::kUnavailable, "cannot lock " + path + ": " +
                                           std::error_code(err, std::generic_category()).message());
    }
    return OkStatus();
  }

 private:
  int fd_ = -1;
};

}  // namespace

int RunBackup(Config config, const std::string& out) {
  const std::string key_source = MasterKeySource(config);
  config.master_key.reset();  // never needed: nothing is decrypted
  ::umask(077);
  if (RefusePostgres(config, "backup")) return kExitUsage;
  const std::string db = DbPath(config);
  auto report = store::BackupSqlite(db, out);
  if (!report.ok()) {
    std::cerr << "arca backup: " << report.error().message() << "\n";
    return kExitFailure;
  }
  std::cout << "Backed up " << db << " to " << out << " (a consistent snapshot, copied in "
            << report->steps << (report->steps == 1 ? " step" : " steps") << "):\n";
  PrintSummary(report->summary);
  std::cout
      << "Secret values are in the backup only encrypted. The master key is NOT in the backup:\n"
      << "keep " << key_source << " separately and safely; without it the backup cannot be\n"
      << "read, and whoever has both can read every secret.\n";
  return kExitOk;
}

int RunRestore(Config config, const std::string& from, bool force) {
  const std::string key_source = MasterKeySource(config);
  const bool key_in_env = config.master_key.has_value();
  config.master_key.reset();
  ::umask(077);
  if (RefusePostgres(config, "restore")) return kExitUsage;
  if (auto s = EnsureDataDir(config.data_dir); !s.ok()) {
    std::cerr << "arca restore: " << s.error().message() << "\n";
    return kExitFailure;
  }
  ServerLock lock;
  if (auto s = lock.Acquire(config.data_dir); !s.ok()) {
    std::cerr << "arca restore: " << s.error().message() << "\n";
    return kExitFailure;
  }
  const std::string db = DbPath(config);
  store::RestoreOptions options;
  options.force = force;
  auto report = store::RestoreSqlite(from, db, options);
  if (!report.ok()) {
    std::cerr << "arca restore: " << report.error().message();
    if (report.error().code() == Code::kAlreadyExists) {
      std::cerr << "; pass --force to replace it with the backup";
    }
    std::cerr << "\n";
    return kExitFailure;
  }
  std::cout << "Restored " << from << " to " << db
            << (report->replaced_existing ? " (the earlier database was replaced)" : "") << ":\n";
  PrintSummary(report->summary);
  std::cout << "Start arca server on " << config.data_dir
            << " with the master key this backup was made with (" << key_source
            << "); with another key the server refuses to start.\n";
  struct stat st {};
  if (!key_in_env && ::stat(config.master_key_file.c_str(), &st) != 0) {
    std::cout << "Note: there is no master key at " << config.master_key_file
              << " yet: put the original key there (mode 0600) or set ARCA_MASTER_KEY before "
                 "starting the server.\n";
  }
  return kExitOk;
}

int RunMigrate(const std::string& from, const std::string& to) {
  ::umask(077);
  if (!from.starts_with("sqlite:") || from.size() == 7) {
    std::cerr << "arca migrate: --from must be sqlite:PATH\n";
    return kExitUsage;
  }
  if (!store::IsPostgresUrl(to)) {
    std::cerr << "arca migrate: --to must be a postgres:// or postgresql:// URL\n";
    return kExitUsage;
  }
  std::cout << "Copying " << from << " to " << store::DescribeStoreUrl(to) << "\n";
  auto report = store::MigrateSqliteToPostgres(
      from.substr(7), to, [](std::string_view line) { std::cout << "  " << line << "\n"; });
  if (!report.ok()) {
    std::cerr << "arca migrate: " << report.error().message() << "\n";
    if (!report.error().detail().empty()) std::cerr << "  (" << report.error().detail() << ")\n";
    return kExitFailure;
  }
  std::cout << "Verified: every table has the same rows on both sides:\n";
  for (const auto& t : report->tables) {
    std::cout << "  " << t.name << ": " << t.rows << " rows, sha256 " << t.checksum << "\n";
  }
  std::cout << "change sequence " << report->change_sequence << ", change log head "
            << report->latest_change << "\n"
            << "Start the servers with --store and the master key of the SQLite store.\n";
  return kExitOk;
}

}  // namespace arca::server
