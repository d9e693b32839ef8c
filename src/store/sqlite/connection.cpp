#include "store/sqlite/connection.h"

#include <atomic>
#include <string>
#include <utility>

namespace arca::store::sqlite {

namespace {

constexpr int kBusyTimeoutMs = 10'000;

// Bound data must never be a null pointer: SQLite would bind NULL instead of an empty value.
const char* NonNull(std::string_view s) {
  static const char kEmpty[1] = {'\0'};
  return s.data() == nullptr ? kEmpty : s.data();
}

}  // namespace

namespace {
std::atomic<std::uint64_t> g_errors{0};
}  // namespace

std::uint64_t SqliteErrorCount() { return g_errors.load(std::memory_order_relaxed); }

Error SqliteError(int rc, std::string_view errmsg, std::string_view op) {
  std::string detail = std::string(op) + ": " + std::string(errmsg) + " (" + sqlite3_errstr(rc) +
                       ", code " + std::to_string(rc) + ")";
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return Error(Code::kAlreadyExists, std::string(op) + ": the item already exists",
                   std::move(detail));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return Error(Code::kNotFound, std::string(op) + ": the item it belongs to does not exist",
                   std::move(detail));
    default:
      break;
  }
  g_errors.fetch_add(1, std::memory_order_relaxed);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Error(Code::kUnavailable, "The database is unavailable; try again later",
                   std::move(detail));
    default:
      return Error(Code::kInternal, "Internal database error", std::move(detail));
  }
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path) {
  sqlite3* db = nullptr;
  // No SQLITE_OPEN_CREATE: the store creates the file itself, with mode 0600.
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return SqliteError(rc, msg, "open database " + path);
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kBusyTimeoutMs);

  // journal_mode answers with the mode in effect; anything but "wal" means WAL is not available.
  sqlite3_stmt* stmt = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  std::string mode;
  if (rc == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(stmt, 0);
    if (text != nullptr) mode = reinterpret_cast<const char*>(text);
    rc = SQLITE_OK;
  }
  if (rc != SQLITE_OK) {
    Error err = SqliteError(rc, sqlite3_errmsg(db), "set journal_mode=WAL");
    sqlite3_finalize(stmt);
    return err;
  }
  sqlite3_finalize(stmt);
  if (mode != "wal") {
    return Error(Code::kUnavailable, "The database is unavailable; try again later",
                 "journal_mode=WAL not in effect on " + path + " (got '" + mode + "')");
  }
  ARCA_RETURN_IF_ERROR(
      conn->Exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; "
                 "PRAGMA trusted_schema=OFF;",
                 "set connection pragmas"));
  return conn;
}

Connection::~Connection() {
  for (sqlite3_stmt*& stmt : stmts_) {
    sqlite3_finalize(stmt);
    stmt = nullptr;
  }
  sqlite3_close_v2(db_);
}

sqlite3_stmt* Connection::Get(StmtId id, int* rc) {
  sqlite3_stmt*& slot = stmts_[static_cast<std::size_t>(id)];
  if (slot == nullptr) {
    int prc = sqlite3_prepare_v3(db_, SqlFor(id), -1, SQLITE_PREPARE_PERSISTENT, &slot, nullptr);
    if (prc != SQLITE_OK) {
      sqlite3_finalize(slot);
      slot = nullptr;
      *rc = prc;
      return nullptr;
    }
  }
  return slot;
}

Status Connection::Exec(const char* sql, std::string_view op) {
  char* errmsg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &errmsg);
  if (rc != SQLITE_OK) {
    std::string msg = errmsg != nullptr ? errmsg : sqlite3_errmsg(db_);
    sqlite3_free(errmsg);
    return SqliteError(rc, msg, op);
  }
  return OkStatus();
}

Result<std::int64_t> Connection::QueryInt(const char* sql, std::string_view op) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    Error err = rc == SQLITE_DONE ? Error(Code::kInternal, "Internal database error",
                                          std::string(op) + ": no row")
                                  : SqliteError(rc, sqlite3_errmsg(db_), op);
    sqlite3_finalize(stmt);
    return err;
  }
  std::int64_t v = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  return v;
}

Statement::Statement(Connection& conn, StmtId id, std::string_view op) : conn_(conn), op_(op) {
  stmt_ = conn_.Get(id, &rc_);
  if (stmt_ == nullptr) prepare_error_ = sqlite3_errmsg(conn_.db());
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

void Statement::NoteBind(int rc) {
  if (rc_ == SQLITE_OK && rc != SQLITE_OK) rc_ = rc;
}

void Statement::BindText(int index, std::string_view s) {
  if (stmt_ == nullptr) return;
  NoteBind(sqlite3_bind_text64(stmt_, index, NonNull(s), s.size(), SQLITE_STATIC, SQLITE_UTF8));
}

void Statement::BindBlob(int index, std::string_view bytes) {
  if (stmt_ == nullptr) return;
  NoteBind(sqlite3_bind_blob64(stmt_, index, NonNull(bytes), bytes.size(), SQLITE_STATIC));
}

void Statement::BindInt(int index, std::int64_t v) {
  if (stmt_ == nullptr) return;
  NoteBind(sqlite3_bind_int64(stmt_, index, v));
}

void Statement::BindOptionalInt(int index, const std::optional<std::int64_t>& v) {
  if (stmt_ == nullptr) return;
  NoteBind(v.has_value() ? sqlite3_bind_int64(stmt_, index, *v) : sqlite3_bind_null(stmt_, index));
}

Result<bool> Statement::Step() {
  if (stmt_ == nullptr) return SqliteError(rc_, prepare_error_, op_);
  if (rc_ != SQLITE_OK) return SqliteError(rc_, sqlite3_errstr(rc_), op_);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(rc, sqlite3_errmsg(conn_.db()), op_);
}

Result<int> Statement::Run() {
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) break;
  }
  return sqlite3_changes(conn_.db());
}

std::string Statement::ColumnText(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Statement::ColumnBlob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  if (p == nullptr) return {};
  return std::string(static_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::int64_t Statement::ColumnInt(int col) const { return sqlite3_column_int64(stmt_, col); }

std::optional<std::int64_t> Statement::ColumnOptionalInt(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}

}  // namespace arca::store::sqlite
