#pragma once
// Internal to the SQLite store: one sqlite3 connection with its pragmas and a cache of prepared
// statements, a RAII statement handle, and the mapping from SQLite result codes to arca errors.
//
// Thread-safety: a Connection (and every Statement on it) is used by one thread at a time; the
// store's pool hands each connection to one transaction at a time.

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/sql/statements.h"

namespace arca::store::sqlite {

using sql::StmtId;

// The SQL text of each statement (StmtId, store/sql/statements.h); defined next to the code that
// reads its columns (sqlite_store.cpp).
const char* SqlFor(StmtId id);

// Maps a failed SQLite call to an arca error. `op` says what was attempted ("insert secret"); the
// SQLite message goes to detail only. Constraint messages name columns, never values.
//   UNIQUE / PRIMARY KEY -> kAlreadyExists, FOREIGN KEY -> kNotFound,
//   BUSY / LOCKED / IOERR / FULL / CANTOPEN / PROTOCOL -> kUnavailable, anything else -> kInternal.
Error SqliteError(int rc, std::string_view errmsg, std::string_view op);
// How many SqliteError()s were not constraint conflicts, in this process.
std::uint64_t SqliteErrorCount();

class Connection {
 public:
  // Opens `path` (which must exist) read-write and applies the per-connection settings: extended
  // result codes, busy timeout, journal_mode=WAL, synchronous=FULL, foreign_keys=ON,
  // secure_delete=ON.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path);

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();  // finalizes the cached statements and closes the connection

  sqlite3* db() const { return db_; }

  // The cached statement for `id`, preparing it on first use. On failure returns nullptr and sets
  // *rc.
  sqlite3_stmt* Get(StmtId id, int* rc);

  // Runs one or more SQL statements without results (pragmas, migrations).
  Status Exec(const char* sql, std::string_view op);

  // Runs a statement returning one integer (e.g. "PRAGMA user_version").
  Result<std::int64_t> QueryInt(const char* sql, std::string_view op);

  // True while a transaction is open on this connection.
  bool InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }
  // Whether the pool may hand it out again (not left inside a transaction by a failed rollback).
  bool Reusable() const { return !InTransaction(); }

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::array<sqlite3_stmt*, static_cast<std::size_t>(StmtId::kCount)> stmts_{};
};

// A cached statement in use: bind, step, read columns. Reset (and bindings cleared) on destruction.
// Bind failures are remembered and reported by the next Step().
class Statement {
 public:
  Statement(Connection& conn, StmtId id, std::string_view op);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Bytes are bound without a copy (SQLITE_STATIC): the bound
  // data must outlive the Statement, which holds for arguments of the calling function.
  void BindText(int index, std::string_view s);
  void BindBlob(int index, std::string_view bytes);
  void BindInt(int index, std::int64_t v);
  void BindOptionalInt(int index, const std::optional<std::int64_t>& v);

  // true: a row is available; false: done.
  Result<bool> Step();
  // Steps to completion expecting no rows; returns sqlite3_changes() of the statement.
  Result<int> Run();

  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  std::int64_t ColumnInt(int col) const;
  std::optional<std::int64_t> ColumnOptionalInt(int col) const;

 private:
  void NoteBind(int rc);

  Connection& conn_;
  sqlite3_stmt* stmt_;
  std::string_view op_;
  int rc_ = SQLITE_OK;  // first prepare/bind error
  std::string prepare_error_;
};

}  // namespace arca::store::sqlite
