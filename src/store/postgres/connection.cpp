#include "store/postgres/connection.h"

#include <atomic>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace arca::store::pg {

namespace {

std::atomic<std::uint64_t> g_errors{0};

bool Retryable(std::string_view state) {
  if (state.size() != 5) return true;  // no SQLSTATE: the connection failed
  const std::string_view cls = state.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || state == "40001" || state == "40P01" ||
         state == "55P03" || state == "25P02";
}

// The server's primary message, one line.
std::string PrimaryMessage(const PGresult* res, PGconn* conn) {
  const char* primary =
      res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary != nullptr ? primary : (conn != nullptr ? PQerrorMessage(conn) : "");
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  for (char& c : msg) {
    if (c == '\n') c = ' ';
  }
  if (msg.empty()) msg = "no message";
  return msg;
}

}  // namespace

std::uint64_t PgErrorCount() { return g_errors.load(std::memory_order_relaxed); }

Error PgError(const PGresult* res, PGconn* conn, std::string_view op) {
  const char* state_field = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = state_field != nullptr ? state_field : "";
  std::string detail = std::string(op) + ": " + PrimaryMessage(res, conn);
  if (!state.empty()) detail += " (SQLSTATE " + state + ")";
  if (conn != nullptr && PQstatus(conn) != CONNECTION_OK) detail += " (connection lost)";
  if (state == "23505") {
    return Error(Code::kAlreadyExists, std::string(op) + ": the item already exists",
                 std::move(detail));
  }
  if (state == "23503") {
    return Error(Code::kNotFound, std::string(op) + ": the item it belongs to does not exist",
                 std::move(detail));
  }
  g_errors.fetch_add(1, std::memory_order_relaxed);
  if (Retryable(state) || (conn != nullptr && PQstatus(conn) != CONNECTION_OK)) {
    return Error(Code::kUnavailable, "The database is unavailable; try again later",
                 std::move(detail));
  }
  return Error(Code::kInternal, "Internal database error", std::move(detail));
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo,
                                                     const char* application) {
  // Earlier entries are overridden by what the conninfo (expanded from "dbname") says.
  const char* keys[] = {"connect_timeout", "application_name", "keepalives", "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "dbname", nullptr};
  const char* values[] = {"5", application, "1", "10", "5", "3", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) {
    return Error(Code::kUnavailable, "The database is unavailable; try again later",
                 "connect to PostgreSQL: out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string where;
    const char* host = PQhost(conn);
    const char* port = PQport(conn);
    if (host != nullptr && *host != '\0') where = std::string(" at ") + host;
    if (port != nullptr && *port != '\0') where += std::string(":") + port;
    const char* db = PQdb(conn);
    if (db != nullptr && *db != '\0') where += std::string("/") + db;
    std::string msg = PrimaryMessage(nullptr, conn);
    PQfinish(conn);
    g_errors.fetch_add(1, std::memory_order_relaxed);
    return Error(Code::kUnavailable, "The database is unavailable; try again later",
                 "cannot connect to PostgreSQL" + where + ": " + msg);
  }
  std::unique_ptr<Connection> c(new Connection(conn));
  // Every statement sees UTC and standard strings; no notices on stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  ARCA_ASSIGN_OR_RETURN(std::string ignored,
                        c->Exec("SET TIME ZONE 'UTC'; SET standard_conforming_strings = on",
                                "configure connection"));
  (void)ignored;
  return c;
}

Connection::~Connection() { PQfinish(conn_); }

Status Connection::Prepare(StmtId id, std::string_view op) {
  const auto index = static_cast<std::size_t>(id);
  if (prepared_.test(index)) return OkStatus();
  const std::string name = "s" + std::to_string(index);
  PGresult* res = PQprepare(conn_, name.c_str(), SqlFor(id), 0, nullptr);
  Status status = OkStatus();
  if (res == nullptr || PQresultStatus(res) != PGRES_COMMAND_OK) {
    status = PgError(res, conn_, std::string(op) + " (prepare)");
  } else {
    prepared_.set(index);
  }
  PQclear(res);
  return status;
}

Result<std::string> Connection::Exec(const char* sql, std::string_view op) {
  PGresult* res = PQexec(conn_, sql);
  const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error err = PgError(res, conn_, op);
    PQclear(res);
    return err;
  }
  std::string out;
  if (st == PGRES_TUPLES_OK && PQntuples(res) > 0 && PQnfields(res) > 0 &&
      PQgetisnull(res, 0, 0) == 0) {
    out = PQgetvalue(res, 0, 0);
  }
  PQclear(res);
  return out;
}

Statement::Statement(Connection& conn, StmtId id, std::string_view op)
    : conn_(conn), id_(id), op_(op) {}

Statement::~Statement() { PQclear(res_); }

Statement::Param& Statement::Slot(int index) {
  const auto i = static_cast<std::size_t>(index - 1);
  if (params_.size() <= i) params_.resize(i + 1);
  return params_[i];
}

void Statement::BindText(int index, std::string_view s) {
  Param& p = Slot(index);
  p.value.assign(s.data() == nullptr ? "" : s.data(), s.size());
  p.null = false;
  p.binary = false;
}

void Statement::BindBlob(int index, std::string_view bytes) {
  Param& p = Slot(index);
  p.value.assign(bytes.data() == nullptr ? "" : bytes.data(), bytes.size());
  p.null = false;
  p.binary = true;
}

void Statement::BindInt(int index, std::int64_t v) {
  Param& p = Slot(index);
  p.value = std::to_string(v);
  p.null = false;
  p.binary = false;
}

void Statement::BindOptionalInt(int index, const std::optional<std::int64_t>& v) {
  if (v.has_value()) {
    BindInt(index, *v);
    return;
  }
  Param& p = Slot(index);
  p.value.clear();
  p.null = true;
  p.binary = false;
}

Status Statement::Execute() {
  executed_ = true;
  ARCA_RETURN_IF_ERROR(conn_.Prepare(id_, op_));
  std::vector<const char*> values(params_.size());
  std::vector<int> lengths(params_.size());
  std::vector<int> formats(params_.size());
  for (std::size_t i = 0; i < params_.size(); ++i) {
    values[i] = params_[i].null ? nullptr : params_[i].value.c_str();
    lengths[i] = static_cast<int>(params_[i].value.size());
    formats[i] = params_[i].binary ? 1 : 0;
  }
  const std::string name = "s" + std::to_string(static_cast<std::size_t>(id_));
  res_ = PQexecPrepared(conn_.conn(), name.c_str(), static_cast<int>(params_.size()),
                        values.data(), lengths.data(), formats.data(), /*resultFormat=*/0);
  const ExecStatusType st = res_ != nullptr ? PQresultStatus(res_) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return PgError(res_, conn_.conn(), op_);
  // COMMIT of a transaction that had failed answers ROLLBACK without an error.
  if (id_ == StmtId::kCommit && std::strcmp(PQcmdStatus(res_), "COMMIT") != 0) {
    return Error(Code::kUnavailable, "The database is unavailable; try again later",
                 std::string(op_) + ": the transaction was rolled back");
  }
  return OkStatus();
}

Result<bool> Statement::Step() {
  if (!executed_) ARCA_RETURN_IF_ERROR(Execute());
  if (res_ == nullptr) return false;
  if (row_ + 1 < PQntuples(res_)) {
    ++row_;
    return true;
  }
  return false;
}

Result<int> Statement::Run() {
  if (!executed_) ARCA_RETURN_IF_ERROR(Execute());
  const char* n = PQcmdTuples(res_);
  if (n == nullptr || *n == '\0') return 0;
  return std::atoi(n);
}

std::string Statement::ColumnText(int col) const {
  if (PQgetisnull(res_, row_, col) != 0) return {};
  return std::string(PQgetvalue(res_, row_, col),
                     static_cast<std::size_t>(PQgetlength(res_, row_, col)));
}

std::string Statement::ColumnBlob(int col) const {
  if (PQgetisnull(res_, row_, col) != 0) return {};
  std::size_t len = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row_, col)), &len);
  if (bytes == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(bytes), len);
  PQfreemem(bytes);
  return out;
}

std::int64_t Statement::ColumnInt(int col) const {
  if (PQgetisnull(res_, row_, col) != 0) return 0;
  const char* p = PQgetvalue(res_, row_, col);
  std::int64_t v = 0;
  std::from_chars(p, p + PQgetlength(res_, row_, col), v);
  return v;
}

std::optional<std::int64_t> Statement::ColumnOptionalInt(int col) const {
  if (PQgetisnull(res_, row_, col) != 0) return std::nullopt;
  return ColumnInt(col);
}

}  // namespace arca::store::pg
