#pragma once
// The PostgreSQL store's libpq layer: one connection with its prepared statements (also what the
// audit log's PostgreSQL storage connects with), a statement handle with the same shape as the
// SQLite store's (so store/sql/transaction.h drives both), and the mapping from SQLSTATEs to arca
// errors.
//
// Parameters are sent as text (integers in decimal) or, for bytes, in binary format; results come
// back as text and bytea columns are decoded from PostgreSQL's hex form. Ciphertext only: the store
// never sees a plaintext value.
//
// Thread-safety: a Connection (and every Statement on it) is used by one thread at a time; the
// store's pool hands each connection to one transaction at a time.

#include <libpq-fe.h>

#include <bitset>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/statements.h"

namespace arca::store::pg {

using sql::StmtId;

// The SQL text of each statement, in PostgreSQL's dialect ($1 parameters); postgres_store.cpp.
const char* SqlFor(StmtId id);

// Maps a failed libpq call to an arca error. `op` says what was attempted; the server's primary
// message and SQLSTATE go to detail only (never its DETAIL line, which may quote key values).
//   23505 unique_violation -> kAlreadyExists, 23503 foreign_key_violation -> kNotFound,
//   connection failures, class 08, 53, 57P0x, 40001, 40P01, 55P03 (lock timeout) -> kUnavailable,
//   anything else -> kInternal.
Error PgError(const PGresult* res, PGconn* conn, std::string_view op);
// How many PgError()s were not constraint conflicts, in this process.
std::uint64_t PgErrorCount();

class Connection {
 public:
  // Connects with `conninfo` (a URI or key=value string). Defaults that the conninfo may override:
  // connect_timeout=5, application_name (`application`), TCP keepalives after 10 s idle.
  static Result<std::unique_ptr<Connection>> Open(const std::string& conninfo,
                                                  const char* application = "arca");

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  PGconn* conn() const { return conn_; }

  // Prepares `id` on this connection the first time it is used.
  Status Prepare(StmtId id, std::string_view op);

  // Runs one or more SQL statements without parameters (the simple query protocol). Returns the
  // last result's first column of the first row ("" when there is none).
  Result<std::string> Exec(const char* sql, std::string_view op);

  // A transaction is open and healthy (not aborted by an error).
  bool InTransaction() const { return PQtransactionStatus(conn_) == PQTRANS_INTRANS; }
  // Connected and idle: the pool may hand it out again.
  bool Reusable() const {
    return PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }

 private:
  explicit Connection(PGconn* conn) : conn_(conn) {}

  PGconn* conn_;
  std::bitset<static_cast<std::size_t>(StmtId::kCount)> prepared_;
};

// A prepared statement in use: bind, then Step() (rows) or Run() (rows changed). The statement is
// executed by the first Step() or Run(). Bind failures cannot happen (values are copied).
class Statement {
 public:
  Statement(Connection& conn, StmtId id, std::string_view op);
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // 1-based, as $1, $2, ...
  void BindText(int index, std::string_view s);
  void BindBlob(int index, std::string_view bytes);
  void BindInt(int index, std::int64_t v);
  void BindOptionalInt(int index, const std::optional<std::int64_t>& v);

  // true: a row is available; false: done.
  Result<bool> Step();
  // Executes expecting no rows to be read; returns the number of rows the command changed.
  Result<int> Run();

  // 0-based columns of the current row.
  std::string ColumnText(int col) const;
  std::string ColumnBlob(int col) const;
  std::int64_t ColumnInt(int col) const;
  std::optional<std::int64_t> ColumnOptionalInt(int col) const;

 private:
  struct Param {
    std::string value;
    bool null = true;
    bool binary = false;
  };
  Param& Slot(int index);
  Status Execute();

  Connection& conn_;
  const StmtId id_;
  const std::string_view op_;
  std::vector<Param> params_;
  PGresult* res_ = nullptr;
  bool executed_ = false;
  int row_ = -1;
};

}  // namespace arca::store::pg
