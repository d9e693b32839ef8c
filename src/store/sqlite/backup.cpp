#include "store/sqlite/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "store/sqlite/schema.h"

namespace arca::store {

namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr int kBusySleepMs = 5;
constexpr int kMaxBusySteps = 2'000;  // about 10 s of a busy source or destination

// The tables every Arca schema version has; a file without them is not an Arca database.
constexpr const char* kArcaTables[] = {"secrets", "versions", "access_keys", "settings",
                                       "change_sequence"};

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Error IoError(const std::string& what, const std::string& path, int err) {
  return Error(Code::kUnavailable, what + " " + path + ": " + ErrnoText(err));
}

// Maps a failed SQLite call on the file `path` to an error a person can act on. The SQLite message
// goes to detail as well.
Error DbError(int rc, sqlite3* db, const std::string& path, std::string_view what) {
  const std::string sqlite_msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string detail = std::string(what) + " " + path + ": " + sqlite_msg + " (" +
                       sqlite3_errstr(rc) + ", code " + std::to_string(rc) + ")";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
      return Error(Code::kInvalidParameter, path + " is not an SQLite database", std::move(detail));
    case SQLITE_CORRUPT:
      return Error(Code::kInvalidParameter, path + " is damaged (" + sqlite3_errstr(rc) + ")",
                   std::move(detail));
    default:
      return Error(Code::kUnavailable, std::string(what) + " " + path + ": " + sqlite_msg,
                   std::move(detail));
  }
}

// One sqlite3 connection, closed on destruction. Thread-safety: used by one thread.
class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { Close(); }

  sqlite3* get() const { return db_; }
  sqlite3** out() { return &db_; }
  void Close() {
    if (db_ != nullptr) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Opens an existing file (never creates one) with extended result codes on.
Status OpenDb(Db& db, const std::string& path, int flags) {
  const int rc = sqlite3_open_v2(path.c_str(), db.out(), flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) return DbError(rc, db.get(), path, "cannot open");
  sqlite3_extended_result_codes(db.get(), 1);
  return OkStatus();
}

Status Exec(sqlite3* db, const char* sql, const std::string& path, std::string_view what) {
  const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return DbError(rc, db, path, what);
  return OkStatus();
}

// The first column of the first row of `sql` as an integer (0 when there is no row) or text.
Result<std::int64_t> QueryInt(sqlite3* db, const char* sql, const std::string& path,
                              std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  std::int64_t v = 0;
  if (rc == SQLITE_ROW) v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return DbError(rc, db, path, what);
  return v;
}

Result<std::string> QueryText(sqlite3* db, const char* sql, const std::string& path,
                              std::string_view what) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  std::string v;
  if (rc == SQLITE_ROW) {
    const unsigned char* p = sqlite3_column_text(stmt, 0);
    if (p != nullptr) v = reinterpret_cast<const char*>(p);
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return DbError(rc, db, path, what);
  return v;
}

// Checks that `db` holds an Arca database this binary can open. Reading sqlite_master first also
// starts the read snapshot when called inside BEGIN. `full` adds PRAGMA quick_check.
Status CheckArcaSchema(sqlite3* db, const std::string& path, bool full) {
  ARCA_ASSIGN_OR_RETURN(std::int64_t objects,
                        QueryInt(db, "SELECT count(*) FROM sqlite_master", path, "cannot read"));
  ARCA_ASSIGN_OR_RETURN(std::int64_t version, QueryInt(db, "PRAGMA user_version", path,
                                                       "cannot read the schema version of"));
  const std::int64_t latest = sqlite::LatestSchemaVersion();
  if (version > latest) {
    return Error(Code::kPreconditionNotMet, path + " has database schema version " +
                                                std::to_string(version) +
                                                ", newer than this arca supports (" +
                                                std::to_string(latest) + "); use a newer arca");
  }
  if (objects == 0 || version < 1) {
    return Error(Code::kInvalidParameter, path + " is not an Arca database (no Arca schema)");
  }
  for (const char* table : kArcaTables) {
    const std::string sql =
        std::string("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '") +
        table + "'";
    ARCA_ASSIGN_OR_RETURN(std::int64_t n, QueryInt(db, sql.c_str(), path, "cannot read"));
    if (n != 1) {
      return Error(Code::kInvalidParameter,
                   path + " is not an Arca database (it has no " + table + " table)");
    }
  }
  if (full) {
    ARCA_ASSIGN_OR_RETURN(std::string check,
                          QueryText(db, "PRAGMA quick_check", path, "cannot check"));
    if (check != "ok") {
      return Error(Code::kInvalidParameter, path + " is damaged (SQLite quick_check failed)",
                   "quick_check: " + check);
    }
  }
  return OkStatus();
}

Result<SqliteSummary> Summarize(sqlite3* db, const std::string& path) {
  SqliteSummary s;
  auto q = [&](const char* sql, std::int64_t* out) -> Status {
    ARCA_ASSIGN_OR_RETURN(*out, QueryInt(db, sql, path, "cannot count the rows of"));
    return OkStatus();
  };
  ARCA_RETURN_IF_ERROR(q("PRAGMA user_version", &s.schema_version));
  ARCA_RETURN_IF_ERROR(q("SELECT count(*) FROM secrets", &s.secrets));
  ARCA_RETURN_IF_ERROR(
      q("SELECT count(*) FROM secrets WHERE deleted_ms IS NOT NULL", &s.deleted_secrets));
  ARCA_RETURN_IF_ERROR(q("SELECT count(*) FROM versions", &s.versions));
  ARCA_RETURN_IF_ERROR(q("SELECT count(*) FROM access_keys", &s.access_keys));
  ARCA_RETURN_IF_ERROR(q("SELECT coalesce(max(seq), 0) FROM change_sequence", &s.change_sequence));
  std::int64_t pages = 0;
  std::int64_t page_size = 0;
  ARCA_RETURN_IF_ERROR(q("PRAGMA page_count", &pages));
  ARCA_RETURN_IF_ERROR(q("PRAGMA page_size", &page_size));
  s.bytes = pages * page_size;
  return s;
}

std::string DirOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  return dir.empty() ? "." : dir;
}

Status FsyncPath(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return IoError("cannot open", path, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("cannot sync", path, err);
  return OkStatus();
}

// Removes `path` if present.
Status RemoveIfPresent(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError("cannot remove", path, errno);
  return OkStatus();
}

// A new, empty file with mode 0600 (an empty file is a valid empty SQLite database), removed with
// its SQLite side files on destruction unless Release()d. Thread-safety: used by one thread.
class TempDbFile {
 public:
  explicit TempDbFile(std::string path) : path_(std::move(path)) {}
  TempDbFile(const TempDbFile&) = delete;
  TempDbFile& operator=(const TempDbFile&) = delete;
  ~TempDbFile() {
    if (!created_) return;
    for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
      ::unlink((path_ + suffix).c_str());
    }
  }

  const std::string& path() const { return path_; }

  Status Create() {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {  // left behind by a crash of an earlier process with our pid
      ::unlink(path_.c_str());
      fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd < 0) return IoError("cannot create", path_, errno);
    created_ = true;
    const int rc = ::fchmod(fd, 0600);  // whatever the umask
    const int err = errno;
    ::close(fd);
    if (rc != 0) return IoError("cannot set the mode of", path_, err);
    return OkStatus();
  }

  void Release() { created_ = false; }

 private:
  std::string path_;
  bool created_ = false;
};

// Copies every page of `src` (inside the caller's read transaction) into `dest`, `pages` per step.
// Errors name `src_path` for source problems (not a database, damaged) and `dest_path` otherwise.
Status CopyPages(sqlite3* src, const std::string& src_path, sqlite3* dest,
                 const std::string& dest_path, int pages, int* steps) {
  sqlite3_backup* backup = sqlite3_backup_init(dest, "main", src, "main");
  if (backup == nullptr) {
    return DbError(sqlite3_extended_errcode(dest), dest, dest_path, "cannot start the copy into");
  }
  int rc = SQLITE_OK;
  int busy = 0;
  for (;;) {
    rc = sqlite3_backup_step(backup, pages < 1 ? 1 : pages);
    ++*steps;
    if (rc == SQLITE_DONE) break;
    if (rc == SQLITE_OK) continue;
    const int primary = rc & 0xff;
    if ((primary == SQLITE_BUSY || primary == SQLITE_LOCKED) && ++busy <= kMaxBusySteps) {
      sqlite3_sleep(kBusySleepMs);
      continue;
    }
    break;
  }
  const int finish_rc = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    const int primary = rc & 0xff;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
      return DbError(rc, src, src_path, "cannot copy");
    }
    return DbError(rc, dest, dest_path, "cannot copy into");
  }
  if (finish_rc != SQLITE_OK) return DbError(finish_rc, dest, dest_path, "cannot copy into");
  return OkStatus();
}

// Makes the copy a self-contained rollback-journal database (the source's header says WAL), checks
// it and counts what it holds. `label` names the file in messages.
Result<SqliteSummary> FinishCopy(sqlite3* dest, const std::string& label) {
  ARCA_ASSIGN_OR_RETURN(std::string mode, QueryText(dest, "PRAGMA journal_mode=DELETE", label,
                                                    "cannot set the journal mode of"));
  if (mode != "delete") {
    return Error(Code::kUnavailable, "cannot set the journal mode of " + label,
                 "journal_mode is '" + mode + "'");
  }
  ARCA_RETURN_IF_ERROR(CheckArcaSchema(dest, label, /*full=*/true));
  return Summarize(dest, label);
}

// kPreconditionNotMet when any other connection, in this or another process, has `db_path` open.
// An SQLite connection in WAL mode holds a shared lock on the database file for as long as it is
// open; an exclusive-locking-mode read needs an exclusive lock, so it fails at once (busy timeout
// 0) while anyone else has the file open. The check's own connection is closed before returning.
Status CheckNotInUse(const std::string& db_path) {
  Db db;
  {
    const int rc = sqlite3_open_v2(db_path.c_str(), db.out(),
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return OkStatus();  // gone or unreadable: nothing can serve from it
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), 0);
  ARCA_RETURN_IF_ERROR(Exec(db.get(), "PRAGMA locking_mode=EXCLUSIVE", db_path, "cannot lock"));
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db.get(), "SELECT count(*) FROM sqlite_master", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  sqlite3_finalize(stmt);
  if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
    return Error(Code::kPreconditionNotMet,
                 db_path + " is in use by another process (is an arca server running on it?)",
                 std::string("exclusive lock: ") + sqlite3_errstr(rc));
  }
  // Anything else (not a database, damaged): no server can be using it; it is about to be replaced.
  return OkStatus();
}

}  // namespace

Result<SqliteSummary> InspectSqliteDatabase(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "no database at " + path);
    return IoError("cannot access", path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidParameter, path + " is not a regular file");
  }
  Db db;
  ARCA_RETURN_IF_ERROR(OpenDb(db, path, SQLITE_OPEN_READONLY));
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  ARCA_RETURN_IF_ERROR(Exec(db.get(), "BEGIN", path, "cannot read"));
  ARCA_RETURN_IF_ERROR(CheckArcaSchema(db.get(), path, /*full=*/true));
  return Summarize(db.get(), path);
}

Result<BackupReport> BackupSqlite(const std::string& src_path, const std::string& out_path,
                                  const BackupOptions& options) {
  struct stat st {};
  if (::stat(src_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "no database at " + src_path);
    return IoError("cannot access", src_path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidParameter, src_path + " is not a regular file");
  }
  if (::lstat(out_path.c_str(), &st) == 0) {
    return Error(Code::kAlreadyExists,
                 out_path + " already exists; a backup never overwrites a file");
  }
  if (errno != ENOENT) return IoError("cannot access", out_path, errno);

  // The source: one read transaction for the whole copy. In WAL mode writers keep committing; this
  // connection keeps seeing (and copying) the database as of its first read below.
  Db src;
  ARCA_RETURN_IF_ERROR(OpenDb(src, src_path, SQLITE_OPEN_READWRITE));
  sqlite3_busy_timeout(src.get(), kBusyTimeoutMs);
  ARCA_RETURN_IF_ERROR(Exec(src.get(), "BEGIN", src_path, "cannot read"));
  ARCA_RETURN_IF_ERROR(CheckArcaSchema(src.get(), src_path, /*full=*/false));

  TempDbFile tmp(out_path + ".tmp-" + std::to_string(::getpid()));
  ARCA_RETURN_IF_ERROR(tmp.Create());
  BackupReport report;
  {
    Db dest;
    ARCA_RETURN_IF_ERROR(OpenDb(dest, tmp.path(), SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(dest.get(), kBusyTimeoutMs);
    ARCA_RETURN_IF_ERROR(CopyPages(src.get(), src_path, dest.get(), out_path,
                                   options.pages_per_step, &report.steps));
    (void)Exec(src.get(), "COMMIT", src_path, "cannot end the read of");  // read-only: cannot lose
    src.Close();
    ARCA_ASSIGN_OR_RETURN(report.summary, FinishCopy(dest.get(), out_path));
  }  // closed: every page is in the file
  ARCA_RETURN_IF_ERROR(FsyncPath(tmp.path(), /*directory=*/false));
  if (::rename(tmp.path().c_str(), out_path.c_str()) != 0) {
    return IoError("cannot rename " + tmp.path() + " to", out_path, errno);
  }
  tmp.Release();
  ARCA_RETURN_IF_ERROR(FsyncPath(DirOf(out_path), /*directory=*/true));
  return report;
}

Result<RestoreReport> RestoreSqlite(const std::string& from_path, const std::string& db_path,
                                    const RestoreOptions& options) {
  struct stat st {};
  if (::stat(from_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "no backup file at " + from_path);
    return IoError("cannot access", from_path, errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidParameter, from_path + " is not a regular file");
  }

  // The backup first (read only): a wrong file changes nothing.
  Db src;
  ARCA_RETURN_IF_ERROR(OpenDb(src, from_path, SQLITE_OPEN_READONLY));
  sqlite3_busy_timeout(src.get(), kBusyTimeoutMs);
  ARCA_RETURN_IF_ERROR(Exec(src.get(), "BEGIN", from_path, "cannot read"));
  ARCA_RETURN_IF_ERROR(CheckArcaSchema(src.get(), from_path, /*full=*/false));

  auto exists = [&db_path]() -> Result<bool> {
    struct stat s {};
    if (::lstat(db_path.c_str(), &s) == 0) return true;
    if (errno == ENOENT) return false;
    return IoError("cannot access", db_path, errno);
  };
  ARCA_ASSIGN_OR_RETURN(bool existed, exists());
  if (existed && !options.force) {
    return Error(Code::kAlreadyExists, db_path + " already exists");
  }
  if (existed) ARCA_RETURN_IF_ERROR(CheckNotInUse(db_path));

  // The copy, next to the database so the rename is atomic; checked before it is put in place.
  TempDbFile tmp(db_path + ".restore-" + std::to_string(::getpid()));
  ARCA_RETURN_IF_ERROR(tmp.Create());
  RestoreReport report;
  {
    Db dest;
    ARCA_RETURN_IF_ERROR(OpenDb(dest, tmp.path(), SQLITE_OPEN_READWRITE));
    sqlite3_busy_timeout(dest.get(), kBusyTimeoutMs);
    int steps = 0;
    ARCA_RETURN_IF_ERROR(CopyPages(src.get(), from_path, dest.get(), tmp.path(),
                                   BackupOptions{}.pages_per_step, &steps));
    (void)Exec(src.get(), "COMMIT", from_path, "cannot end the read of");
    src.Close();
    ARCA_ASSIGN_OR_RETURN(report.summary, FinishCopy(dest.get(), from_path));
  }
  ARCA_RETURN_IF_ERROR(FsyncPath(tmp.path(), /*directory=*/false));

  // Check again right before the switch: the copy took time.
  ARCA_ASSIGN_OR_RETURN(existed, exists());
  if (existed && !options.force) {
    return Error(Code::kAlreadyExists, db_path + " already exists");
  }
  if (existed) ARCA_RETURN_IF_ERROR(CheckNotInUse(db_path));
  // Side files of the old database would be replayed into the new one: remove them first.
  for (const char* suffix : {"-wal", "-shm", "-journal"}) {
    ARCA_RETURN_IF_ERROR(RemoveIfPresent(db_path + suffix));
  }
  if (::rename(tmp.path().c_str(), db_path.c_str()) != 0) {
    return IoError("cannot rename " + tmp.path() + " to", db_path, errno);
  }
  tmp.Release();
  ARCA_RETURN_IF_ERROR(FsyncPath(DirOf(db_path), /*directory=*/true));
  report.replaced_existing = existed;
  return report;
}

}  // namespace arca::store
