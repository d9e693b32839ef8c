#include "store/migrate.h"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crypto/hash.h"
#include "store/postgres/connection.h"
#include "store/postgres/postgres_store.h"
#include "store/postgres/schema.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::store {

namespace {

// One copied table: its columns (in both schemas), which of them are bytes, and the key order the
// checksum reads rows in. Parents before children (foreign keys).
struct Table {
  const char* name;
  std::vector<const char*> columns;
  std::vector<const char*> blobs;
  const char* order;
};

const std::vector<Table>& Tables() {
  static const std::vector<Table> tables = {
      {"settings", {"key", "value"}, {"value"}, "key"},
      {"secrets",
       {"id", "region", "name", "arn", "created_ms", "deleted_ms", "purge_ms", "meta"},
       {},
       "id"},
      {"versions",
       {"secret_id", "version_id", "created_ms", "last_accessed_ms", "labels", "is_binary",
        "key_version", "wrapped_key", "ciphertext", "kms_key_arn"},
       {"wrapped_key", "ciphertext"},
       "secret_id, version_id"},
      {"access_keys",
       {"access_key_id", "principal", "status", "created_ms", "key_version", "wrapped_key",
        "ciphertext"},
       {"wrapped_key", "ciphertext"},
       "access_key_id"},
      {"iam_users", {"user_id", "name", "path", "arn", "created_ms"}, {}, "user_id"},
      {"iam_roles",
       {"role_id", "name", "path", "arn", "assume_role_policy", "description",
        "max_session_duration", "created_ms"},
       {},
       "role_id"},
      {"iam_policies",
       {"policy_id", "name", "path", "arn", "description", "default_version_id", "next_version",
        "created_ms", "updated_ms"},
       {},
       "policy_id"},
      {"iam_policy_versions",
       {"policy_id", "version_id", "document", "created_ms"},
       {},
       "policy_id, version_id"},
      // Copied in attach order (SQLite: rowid), which PostgreSQL's identity column then keeps.
      {"iam_attachments", {"owner_id", "policy_id", "attached_ms"}, {}, "owner_id, policy_id"},
      {"iam_inline_policies", {"owner_id", "name", "document"}, {}, "owner_id, name"},
      {"iam_tags", {"entity_id", "position", "key", "value"}, {}, "entity_id, key"},
      {"iam_oidc_providers",
       {"arn", "url", "client_ids", "thumbprints", "jwks", "jwks_file", "created_ms"},
       {},
       "arn"},
      {"kms_keys", {"key_id", "region", "arn", "created_ms", "meta"}, {}, "key_id"},
      {"kms_materials",
       {"key_id", "version", "created_ms", "key_version", "wrapped_key", "ciphertext"},
       {"wrapped_key", "ciphertext"},
       "key_id, version"},
      {"kms_aliases",
       {"region", "name", "target_key_id", "created_ms", "updated_ms"},
       {},
       "region, name"},
      {"parameters", {"region", "name", "version", "meta"}, {}, "region, name"},
      {"parameter_versions",
       {"region", "name", "version", "created_ms", "labels", "meta", "value"},
       {"value"},
       "region, name, version"},
      {"changes",
       {"sequence", "time_ms", "kind", "region", "name", "arn", "deleted", "versions"},
       {},
       "sequence"},
  };
  return tables;
}

bool IsBlob(const Table& t, const char* column) {
  for (const char* b : t.blobs) {
    if (std::string_view(b) == column) return true;
  }
  return false;
}

std::string ColumnList(const Table& t) {
  std::string out;
  for (const char* c : t.columns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}

// A row's values (nullopt: NULL), text as is, integers in decimal, bytes raw.
using Row = std::vector<std::optional<std::string>>;

// Folds a row into the table checksum: length-prefixed values, so no two rows collide by framing.
void Fold(std::string& acc, const Row& row) {
  std::string framed;
  for (const auto& v : row) {
    if (!v.has_value()) {
      framed += "N;";
    } else {
      framed += std::to_string(v->size());
      framed += ':';
      framed += *v;
    }
  }
  acc = crypto::Sha256Hex(acc + crypto::Sha256Hex(framed));
}

Error SqliteFailure(sqlite3* db, const std::string& op) {
  return Error(Code::kUnavailable, "cannot read the SQLite database",
               op + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// Reads every row of `t` from SQLite, in `order`.
Result<std::vector<Row>> ReadSqlite(sqlite3* db, const Table& t, const char* order) {
  const std::string sql =
      "SELECT " + ColumnList(t) + " FROM " + t.name + " ORDER BY " + order;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return SqliteFailure(db, std::string("read ") + t.name);
  }
  std::vector<Row> rows;
  int rc = SQLITE_OK;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    Row row;
    for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
      if (sqlite3_column_type(st, i) == SQLITE_NULL) {
        row.emplace_back(std::nullopt);
        continue;
      }
      const void* p = IsBlob(t, t.columns[static_cast<std::size_t>(i)])
                          ? sqlite3_column_blob(st, i)
                          : static_cast<const void*>(sqlite3_column_text(st, i));
      const int n = sqlite3_column_bytes(st, i);
      row.emplace_back(std::string(p != nullptr ? static_cast<const char*>(p) : "",
                                   static_cast<std::size_t>(n)));
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return SqliteFailure(db, std::string("read ") + t.name);
  return rows;
}

Result<std::vector<Row>> ReadPostgres(pg::Connection& conn, const Table& t) {
  const std::string sql = "SELECT " + ColumnList(t) + " FROM " + t.name + " ORDER BY " + t.order;
  PGresult* res = PQexec(conn.conn(), sql.c_str());
  if (res == nullptr || PQresultStatus(res) != PGRES_TUPLES_OK) {
    Error e = pg::PgError(res, conn.conn(), std::string("read ") + t.name);
    PQclear(res);
    return e;
  }
  std::vector<Row> rows;
  for (int r = 0; r < PQntuples(res); ++r) {
    Row row;
    for (int c = 0; c < PQnfields(res); ++c) {
      if (PQgetisnull(res, r, c) != 0) {
        row.emplace_back(std::nullopt);
      } else if (IsBlob(t, t.columns[static_cast<std::size_t>(c)])) {
        std::size_t len = 0;
        unsigned char* bytes = PQunescapeBytea(
            reinterpret_cast<const unsigned char*>(PQgetvalue(res, r, c)), &len);
        row.emplace_back(std::string(reinterpret_cast<const char*>(bytes), len));
        PQfreemem(bytes);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, c),
                                     static_cast<std::size_t>(PQgetlength(res, r, c))));
      }
    }
    rows.push_back(std::move(row));
  }
  PQclear(res);
  return rows;
}

Status InsertPostgres(pg::Connection& conn, const Table& t, const std::vector<Row>& rows) {
  std::string sql = std::string("INSERT INTO ") + t.name + " (" + ColumnList(t) + ") VALUES (";
  for (std::size_t i = 0; i < t.columns.size(); ++i) {
    sql += (i == 0 ? "$" : ", $") + std::to_string(i + 1);
  }
  sql += ")";
  std::vector<int> formats;
  for (const char* c : t.columns) formats.push_back(IsBlob(t, c) ? 1 : 0);
  const std::string name = std::string("migrate_") + t.name;
  PGresult* prep = PQprepare(conn.conn(), name.c_str(), sql.c_str(), 0, nullptr);
  if (prep == nullptr || PQresultStatus(prep) != PGRES_COMMAND_OK) {
    Error e = pg::PgError(prep, conn.conn(), std::string("prepare copy of ") + t.name);
    PQclear(prep);
    return e;
  }
  PQclear(prep);
  for (const Row& row : rows) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    for (const auto& v : row) {
      values.push_back(v.has_value() ? v->c_str() : nullptr);
      lengths.push_back(v.has_value() ? static_cast<int>(v->size()) : 0);
    }
    PGresult* res = PQexecPrepared(conn.conn(), name.c_str(), static_cast<int>(values.size()),
                                   values.data(), lengths.data(), formats.data(), 0);
    if (res == nullptr || PQresultStatus(res) != PGRES_COMMAND_OK) {
      Error e = pg::PgError(res, conn.conn(), std::string("copy into ") + t.name);
      PQclear(res);
      return e;
    }
    PQclear(res);
  }
  return OkStatus();
}

struct SqliteHandle {
  sqlite3* db = nullptr;
  ~SqliteHandle() {
    if (db != nullptr) {
      (void)sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close_v2(db);
    }
  }
};

Result<std::int64_t> SqliteInt(sqlite3* db, const char* sql) {
  sqlite3_stmt* st = nullptr;
  std::int64_t v = 0;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK) return SqliteFailure(db, sql);
  const int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc != SQLITE_ROW) return SqliteFailure(db, sql);
  return v;
}

}  // namespace

Result<MigrateReport> MigrateSqliteToPostgres(const std::string& sqlite_path,
                                              const std::string& postgres_url,
                                              const MigrateProgress& progress) {
  auto say = [&](const std::string& line) {
    if (progress) progress(line);
  };
  {
    // Brings the source to the current schema, as a server start does (and checks it is Arca's).
    sqlite3* probe = nullptr;
    const int rc = sqlite3_open_v2(sqlite_path.c_str(), &probe, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_close_v2(probe);
    if (rc != SQLITE_OK) {
      return Error(Code::kNotFound, "no SQLite database at " + sqlite_path);
    }
    ARCA_ASSIGN_OR_RETURN(auto source, OpenSqliteStore(sqlite_path));
  }
  PostgresOptions pg_options;
  pg_options.url = postgres_url;
  pg_options.listen = false;
  {
    ARCA_ASSIGN_OR_RETURN(auto target, OpenPostgresStore(pg_options));  // creates the schema
  }
  ARCA_ASSIGN_OR_RETURN(auto conn, pg::Connection::Open(postgres_url));

  SqliteHandle src;
  if (sqlite3_open_v2(sqlite_path.c_str(), &src.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    return SqliteFailure(src.db, "open " + sqlite_path);
  }
  // One read transaction: the copy is the database as of this moment.
  if (sqlite3_exec(src.db, "BEGIN", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteFailure(src.db, "begin");
  }
  ARCA_ASSIGN_OR_RETURN(std::int64_t seq,
                        SqliteInt(src.db, "SELECT seq FROM change_sequence WHERE id = 1"));
  ARCA_ASSIGN_OR_RETURN(
      std::int64_t latest,
      SqliteInt(src.db,
                "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)"));

  MigrateReport report;
  report.change_sequence = seq;
  report.latest_change = latest;
  ARCA_ASSIGN_OR_RETURN(std::string begun, conn->Exec("BEGIN", "begin the copy"));
  (void)begun;
  Status copied = [&]() -> Status {
    // The cluster-wide writer lock: no server on the target writes meanwhile.
    const std::string lock =
        "SELECT pg_advisory_xact_lock(" + std::to_string(pg::kWriterLockKey) + ")";
    ARCA_ASSIGN_OR_RETURN(std::string locked, conn->Exec(lock.c_str(), "lock the target"));
    (void)locked;
    ARCA_ASSIGN_OR_RETURN(
        std::string held,
        conn->Exec("SELECT (SELECT count(*) FROM secrets) + (SELECT count(*) FROM access_keys) + "
                   "(SELECT count(*) FROM settings) + (SELECT count(*) FROM parameters) + "
                   "(SELECT count(*) FROM kms_keys) + (SELECT count(*) FROM iam_users)",
                   "check the target is empty"));
    if (held != "0") {
      return Error(Code::kAlreadyExists,
                   "the target database already holds Arca data; migrate into an empty database");
    }
    for (const Table& t : Tables()) {
      const char* order = std::string_view(t.name) == "iam_attachments" ? "attached_ms, rowid"
                                                                         : t.order;
      ARCA_ASSIGN_OR_RETURN(std::vector<Row> rows, ReadSqlite(src.db, t, order));
      ARCA_RETURN_IF_ERROR(InsertPostgres(*conn, t, rows));
      say(std::string(t.name) + ": " + std::to_string(rows.size()) + " rows copied");
    }
    const std::string heads = "UPDATE change_state SET seq = " + std::to_string(seq) +
                              ", latest_change = " + std::to_string(latest) + " WHERE id = 1";
    ARCA_ASSIGN_OR_RETURN(std::string updated, conn->Exec(heads.c_str(), "copy change heads"));
    (void)updated;
    ARCA_ASSIGN_OR_RETURN(std::string committed, conn->Exec("COMMIT", "commit the copy"));
    (void)committed;
    return OkStatus();
  }();
  if (!copied.ok()) {
    if (PQtransactionStatus(conn->conn()) != PQTRANS_IDLE) (void)conn->Exec("ROLLBACK", "rollback");
    return copied.error();
  }

  // Verify: both sides read back in key order, counted and checksummed.
  for (const Table& t : Tables()) {
    ARCA_ASSIGN_OR_RETURN(std::vector<Row> from, ReadSqlite(src.db, t, t.order));
    ARCA_ASSIGN_OR_RETURN(std::vector<Row> to, ReadPostgres(*conn, t));
    std::string a;
    std::string b;
    for (const Row& r : from) Fold(a, r);
    for (const Row& r : to) Fold(b, r);
    if (from.size() != to.size() || a != b) {
      return Error(Code::kInternal,
                   std::string("verification failed for table ") + t.name + ": " +
                       std::to_string(from.size()) + " rows in SQLite, " +
                       std::to_string(to.size()) + " in PostgreSQL" +
                       (from.size() == to.size() ? " with different contents" : ""));
    }
    report.tables.push_back(
        MigratedTable{t.name, static_cast<std::int64_t>(from.size()), a.empty() ? "-" : a});
  }
  ARCA_ASSIGN_OR_RETURN(std::string state,
                        conn->Exec("SELECT seq || ' ' || latest_change FROM change_state",
                                   "read change heads"));
  if (state != std::to_string(seq) + " " + std::to_string(latest)) {
    return Error(Code::kInternal, "verification failed for the change sequences");
  }
  return report;
}

}  // namespace arca::store
