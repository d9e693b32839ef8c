#include "audit/postgres_storage.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/log.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "store/postgres/connection.h"

namespace arca::audit {

namespace {

constexpr std::string_view kKeyAad = "arca-audit-key";
constexpr std::string_view kUndefinedTable = "42P01";
constexpr std::string_view kUniqueViolation = "23505";

// A stable 64-bit advisory lock key for `name` (the first 8 bytes of its SHA-256).
std::int64_t LockKey(std::string_view name) {
  const crypto::Sha256Digest d = crypto::Sha256(name);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | d[i];
  std::int64_t out = 0;
  std::memcpy(&out, &v, sizeof(out));
  return out;
}

const std::int64_t kSchemaLockKey = LockKey("arca-audit-schema");

// libpq's messages end in a newline and may have several lines ("...\nDETAIL: ...").
std::string Trim(std::string_view s) { return OneLine(std::string(TrimSpace(s))); }

class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() {
    if (r_ != nullptr) PQclear(r_);
  }
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  PgResult& operator=(PgResult&& o) noexcept {
    if (this != &o) {
      if (r_ != nullptr) PQclear(r_);
      r_ = std::exchange(o.r_, nullptr);
    }
    return *this;
  }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;

  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string_view value(int row, int col) const {
    return std::string_view(PQgetvalue(r_, row, col),
                            static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }

 private:
  PGresult* r_;
};

struct Param {
  std::string text;        // a text parameter
  std::string_view bytes;  // a binary one (bytea), when binary
  bool binary = false;
};
Param Text(std::string s) { return Param{std::move(s), {}, false}; }
Param Number(std::uint64_t n) { return Param{std::to_string(n), {}, false}; }
Param Bytes(std::string_view b) { return Param{{}, b, true}; }

// Runs one statement. Errors carry libpq's message (the caller says what failed, where, and cuts
// any password); the code says kNotFound for a missing table, kPreconditionNotMet for a unique
// violation, kUnavailable otherwise.
Result<PgResult> Exec(PGconn* c, const char* sql, const std::vector<Param>& params = {},
                      bool binary_result = false) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const Param& p : params) {
    if (p.binary) {
      values.push_back(p.bytes.data());
      lengths.push_back(static_cast<int>(p.bytes.size()));
      formats.push_back(1);
    } else {
      values.push_back(p.text.c_str());
      lengths.push_back(0);
      formats.push_back(0);
    }
  }
  PGresult* raw = PQexecParams(c, sql, static_cast<int>(params.size()), nullptr, values.data(),
                               lengths.data(), formats.data(), binary_result ? 1 : 0);
  if (raw == nullptr) return Error(Code::kUnavailable, Trim(PQerrorMessage(c)));
  PgResult r(raw);
  const ExecStatusType st = PQresultStatus(raw);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  const char* state = PQresultErrorField(raw, PG_DIAG_SQLSTATE);
  const std::string_view sqlstate = state == nullptr ? std::string_view() : state;
  std::string message = Trim(PQresultErrorMessage(raw));
  if (message.empty()) message = Trim(PQerrorMessage(c));
  if (sqlstate == kUndefinedTable) return Error(Code::kNotFound, message);
  if (sqlstate == kUniqueViolation) return Error(Code::kPreconditionNotMet, message);
  return Error(Code::kUnavailable, message);
}

std::uint64_t BigEndian(std::string_view v) {
  std::uint64_t x = 0;
  for (unsigned char c : v) x = (x << 8) | c;
  return x;
}

std::optional<std::uint64_t> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Distinct chains, then a chain's distinct files with their sizes: "loose index scans" of the
// primary key, one index probe per value instead of a scan of every row.
constexpr const char* kListChains = R"sql(
WITH RECURSIVE c(chain) AS (
  (SELECT chain FROM audit_chunks ORDER BY chain LIMIT 1)
  UNION ALL
  SELECT (SELECT a.chain FROM audit_chunks a WHERE a.chain > c.chain ORDER BY a.chain LIMIT 1)
    FROM c WHERE c.chain IS NOT NULL)
SELECT chain FROM c WHERE chain IS NOT NULL)sql";

constexpr const char* kListFiles = R"sql(
WITH RECURSIVE f(file) AS (
  (SELECT file FROM audit_chunks WHERE chain = $1 ORDER BY file LIMIT 1)
  UNION ALL
  SELECT (SELECT a.file FROM audit_chunks a WHERE a.chain = $1 AND a.file > f.file
           ORDER BY a.file LIMIT 1)
    FROM f WHERE f.file IS NOT NULL)
SELECT f.file, (SELECT a."offset" + length(a.data) FROM audit_chunks a
                 WHERE a.chain = $1 AND a.file = f.file ORDER BY a."offset" DESC LIMIT 1)
  FROM f WHERE f.file IS NOT NULL)sql";

// The rows that hold bytes [$3, $4) of a file: from the last row starting at or before $3.
constexpr const char* kReadRange = R"sql(
SELECT "offset", data FROM audit_chunks
 WHERE chain = $1 AND file = $2 AND "offset" < $4::bigint
   AND "offset" >= COALESCE((SELECT max("offset") FROM audit_chunks
                              WHERE chain = $1 AND file = $2 AND "offset" <= $3::bigint), 0)
 ORDER BY "offset")sql";

constexpr const char* kReadAll =
    R"sql(SELECT data FROM audit_chunks WHERE chain = $1 AND file = $2 ORDER BY "offset")sql";

constexpr const char* kInsert =
    R"sql(INSERT INTO audit_chunks (chain, file, "offset", data) VALUES ($1, $2, $3::bigint, $4))sql";

// ftruncate: rows from the new size on go, a row across it is cut. One statement, one transaction.
constexpr const char* kTruncate = R"sql(
WITH gone AS (DELETE FROM audit_chunks
               WHERE chain = $1 AND file = $2 AND "offset" >= $3::bigint RETURNING 1)
UPDATE audit_chunks SET data = substring(data FROM 1 FOR ($3::bigint - "offset")::integer)
 WHERE chain = $1 AND file = $2 AND "offset" < $3::bigint
   AND "offset" + length(data) > $3::bigint)sql";

constexpr const char* kCreateChunks = R"sql(
CREATE TABLE IF NOT EXISTS audit_chunks (
  chain text NOT NULL,
  file text NOT NULL,
  "offset" bigint NOT NULL CHECK ("offset" >= 0),
  data bytea NOT NULL,
  PRIMARY KEY (chain, file, "offset")))sql";

constexpr const char* kCreateKey = R"sql(
CREATE TABLE IF NOT EXISTS audit_signing_key (
  id smallint PRIMARY KEY CHECK (id = 1),
  public_key text NOT NULL,
  key_version integer NOT NULL,
  wrapped_key bytea NOT NULL,
  sealed_private_key bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()))sql";

}  // namespace

// ---- connections --------------------------------------------------------------------------------

// The store's libpq connection (its connect defaults, keepalives and notice handling), used here
// with ad-hoc statements.
class PostgresStorage::Conn {
 public:
  explicit Conn(std::unique_ptr<store::pg::Connection> c) : c_(std::move(c)) {}
  PGconn* get() const { return c_->conn(); }
  bool bad() const { return PQstatus(c_->conn()) != CONNECTION_OK; }

 private:
  std::unique_ptr<store::pg::Connection> c_;
};

std::string PostgresTarget(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) return "(unparsable connection string)";
  std::string host, hostaddr, port, dbname, user;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view k = o->keyword;
    if (k == "host") host = o->val;
    if (k == "hostaddr") hostaddr = o->val;
    if (k == "port") port = o->val;
    if (k == "dbname") dbname = o->val;
    if (k == "user") user = o->val;
  }
  PQconninfoFree(opts);
  if (host.empty()) host = hostaddr.empty() ? "localhost" : hostaddr;
  if (port.empty()) port = "5432";
  if (dbname.empty()) dbname = user.empty() ? "(default database)" : user;
  return host + ":" + port + "/" + dbname;
}

PostgresStorage::PostgresStorage(PostgresStorageOptions options)
    : options_(std::move(options)), target_(PostgresTarget(options_.url)) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(options_.url.c_str(), &err);
  if (err != nullptr) PQfreemem(err);
  if (opts == nullptr) return;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && std::string_view(o->keyword) == "password") {
      password_ = SecretBytes::CopyOf(o->val);
      SecureWipe(o->val, std::strlen(o->val));
    }
  }
  PQconninfoFree(opts);
}

PostgresStorage::~PostgresStorage() = default;

Result<std::unique_ptr<PostgresStorage>> PostgresStorage::Open(PostgresStorageOptions options) {
  if (options.url.empty()) return Error(Code::kInvalidParameter, "the PostgreSQL URL is empty");
  {
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(options.url.c_str(), &err);
    // libpq's parse error may quote the string, password included: not repeated here.
    if (err != nullptr) PQfreemem(err);
    if (opts == nullptr) {
      return Error(Code::kInvalidParameter,
                   "the PostgreSQL connection string is malformed (libpq cannot parse it)");
    }
    PQconninfoFree(opts);
  }
  std::unique_ptr<PostgresStorage> s(new PostgresStorage(std::move(options)));
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, s->Connect());
  if (s->options_.create_schema) ARCA_RETURN_IF_ERROR(s->CreateSchema(*conn));
  s->Release(std::move(conn));
  return s;
}

std::string PostgresStorage::Redact(std::string text) const {
  if (password_.empty()) return text;
  const std::string_view pw = password_.view();
  for (std::size_t at = text.find(pw); at != std::string::npos; at = text.find(pw, at + 3)) {
    text.replace(at, pw.size(), "***");
  }
  return text;
}

std::string PostgresStorage::DescribeChain(std::string_view chain) const {
  return "PostgreSQL " + target_ + ", chain " + std::string(chain);
}

std::string PostgresStorage::PublicKeyLocation() const {
  return "table audit_signing_key of PostgreSQL " + target_;
}

Result<std::unique_ptr<PostgresStorage::Conn>> PostgresStorage::Connect() const {
  auto conn = store::pg::Connection::Open(options_.url, "arca-audit");
  if (!conn.ok()) {
    // The detail says where and libpq's reason ("cannot connect to PostgreSQL at HOST:PORT:
    // ..."); Redact cuts the password should a message ever quote the connection string.
    return Error(Code::kUnavailable, Redact(Trim(conn.error().detail())));
  }
  return std::make_unique<Conn>(std::move(conn).value());
}

Result<std::unique_ptr<PostgresStorage::Conn>> PostgresStorage::Acquire() const {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    while (!idle_.empty()) {
      std::unique_ptr<Conn> c = std::move(idle_.back());
      idle_.pop_back();
      if (!c->bad()) return c;
    }
  }
  return Connect();
}

void PostgresStorage::Release(std::unique_ptr<Conn> conn) const {
  if (conn == nullptr || conn->bad() || PQtransactionStatus(conn->get()) != PQTRANS_IDLE) return;
  std::lock_guard<std::mutex> lock(pool_mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(conn));
}

Status PostgresStorage::CreateSchema(Conn& conn) const {
  auto fail = [&](const Error& e) -> Error {
    (void)Exec(conn.get(), "ROLLBACK");
    return Error(Code::kUnavailable, "cannot create the audit tables in PostgreSQL " + target_ +
                                         ": " + Redact(e.message()));
  };
  for (const char* sql : {"BEGIN", "SELECT pg_advisory_xact_lock($1::bigint)", kCreateChunks,
                          kCreateKey, "COMMIT"}) {
    std::vector<Param> params;
    if (std::strstr(sql, "$1") != nullptr) params.push_back(Text(std::to_string(kSchemaLockKey)));
    auto r = Exec(conn.get(), sql, params);
    if (!r.ok()) return fail(r.error());
  }
  return OkStatus();
}

// ---- reading ------------------------------------------------------------------------------------

template <typename Fn>
auto PostgresStorage::Reading(Fn&& fn) const {
  for (int attempt = 0;; ++attempt) {
    auto conn = Acquire();
    if (!conn.ok()) return decltype(fn(**conn))(std::move(conn).error());
    auto result = fn(**conn);
    const bool lost = (*conn)->bad();
    Release(std::move(conn).value());
    if (result.ok() || !lost || attempt > 0) return result;
  }
}

Result<std::vector<std::string>> PostgresStorage::ListChains() const {
  return Reading([&](Conn& c) -> Result<std::vector<std::string>> {
    auto r = Exec(c.get(), kListChains);
    if (!r.ok()) {
      if (r.error().code() == Code::kNotFound) {
        return Error(Code::kNotFound, "no audit log in PostgreSQL " + target_ +
                                          " (there is no audit_chunks table)");
      }
      return Error(Code::kUnavailable, "cannot list the audit chains in PostgreSQL " + target_ +
                                           ": " + Redact(r.error().message()));
    }
    std::vector<std::string> out;
    for (int i = 0; i < r->rows(); ++i) out.emplace_back(r->value(i, 0));
    std::sort(out.begin(), out.end());
    return out;
  });
}

Result<std::vector<LogFile>> PostgresStorage::ListFilesOn(Conn& c, std::string_view chain) const {
  auto r = Exec(c.get(), kListFiles, {Text(std::string(chain))});
  if (!r.ok()) {
    if (r.error().code() == Code::kNotFound) return std::vector<LogFile>{};
    return Error(Code::kUnavailable, "cannot list the files of " + DescribeChain(chain) + ": " +
                                         Redact(r.error().message()));
  }
  std::vector<LogFile> out;
  for (int i = 0; i < r->rows(); ++i) {
    const std::string name(r->value(i, 0));
    std::optional<std::uint64_t> index = ParseLogFileName(name);
    if (!index.has_value()) continue;  // not a log file, as in a directory
    LogFile f;
    f.index = *index;
    f.name = name;
    f.size = r->null(i, 1) ? 0 : ParseNumber(r->value(i, 1)).value_or(0);
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(),
            [](const LogFile& a, const LogFile& b) { return a.index < b.index; });
  return out;
}

Result<std::vector<LogFile>> PostgresStorage::ListFiles(std::string_view chain) const {
  return Reading([&](Conn& c) { return ListFilesOn(c, chain); });
}

Result<std::string> PostgresStorage::Read(std::string_view chain, const LogFile& file,
                                          std::uint64_t offset, std::uint64_t length) const {
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t end = offset > kMax || length > kMax - offset ? kMax : offset + length;
  return Reading([&](Conn& c) -> Result<std::string> {
    auto r = Exec(c.get(), kReadRange,
                  {Text(std::string(chain)), Text(file.name), Number(offset), Number(end)},
                  /*binary_result=*/true);
    if (!r.ok()) {
      return Error(Code::kUnavailable, "cannot read " + file.name + " of " + DescribeChain(chain) +
                                           ": " + Redact(r.error().message()));
    }
    std::string out;
    std::uint64_t pos = offset;  // the next byte wanted
    for (int i = 0; i < r->rows() && pos < end; ++i) {
      const std::uint64_t at = BigEndian(r->value(i, 0));
      const std::string_view data = r->value(i, 1);
      if (at + data.size() <= pos) continue;
      if (at > pos) {
        return Error(Code::kPreconditionNotMet,
                     file.name + " of " + DescribeChain(chain) + " has no bytes at " +
                         std::to_string(pos) + ".." + std::to_string(at - 1) +
                         " (rows were removed); run `arca audit verify`");
      }
      const std::uint64_t from = pos - at;
      const std::uint64_t n = std::min<std::uint64_t>(data.size() - from, end - pos);
      out.append(data.substr(static_cast<std::size_t>(from), static_cast<std::size_t>(n)));
      pos += n;
    }
    return out;
  });
}

Result<std::string> PostgresStorage::ReadAll(std::string_view chain, const LogFile& file) const {
  return Reading([&](Conn& c) -> Result<std::string> {
    auto r = Exec(c.get(), kReadAll, {Text(std::string(chain)), Text(file.name)},
                  /*binary_result=*/true);
    if (!r.ok()) {
      return Error(Code::kUnavailable, "cannot read " + file.name + " of " + DescribeChain(chain) +
                                           ": " + Redact(r.error().message()));
    }
    std::string out;
    for (int i = 0; i < r->rows(); ++i) out.append(r->value(i, 0));
    return out;
  });
}

// ---- the signing key ----------------------------------------------------------------------------

Result<std::optional<PublicKey>> PostgresStorage::LoadPublicKey() const {
  return Reading([&](Conn& c) -> Result<std::optional<PublicKey>> {
    auto r = Exec(c.get(), "SELECT public_key FROM audit_signing_key WHERE id = 1");
    if (!r.ok()) {
      if (r.error().code() == Code::kNotFound) return std::optional<PublicKey>();
      return Error(Code::kUnavailable, "cannot read the audit public key from PostgreSQL " +
                                           target_ + ": " + Redact(r.error().message()));
    }
    if (r->rows() == 0) return std::optional<PublicKey>();
    auto key = PublicKey::FromPem(r->value(0, 0));
    if (!key.ok()) {
      return Error(Code::kInvalidParameter,
                   "the audit public key in " + PublicKeyLocation() + " is not an Ed25519 key");
    }
    return std::optional<PublicKey>(std::move(key).value());
  });
}

Result<SigningKey> PostgresStorage::LoadOrCreateSigningKey() {
  if (options_.keyring == nullptr) {
    return Error(Code::kPreconditionNotMet,
                 "the audit key in PostgreSQL is sealed with the master key, which was not given");
  }
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, Acquire());
  PGconn* c = conn->get();
  bool in_txn = false;
  auto fail = [&](Error e) -> Error {
    if (in_txn) (void)Exec(c, "ROLLBACK");
    Release(std::move(conn));
    return e;
  };
  auto db_error = [&](std::string_view what, const Error& e) -> Error {
    return fail(Error(Code::kUnavailable, "cannot " + std::string(what) + " in PostgreSQL " +
                                              target_ + ": " + Redact(e.message())));
  };
  if (auto r = Exec(c, "BEGIN"); !r.ok()) return db_error("read the audit key", r.error());
  in_txn = true;
  // The first process creates the key; the others wait here and read it.
  if (auto r = Exec(c, "SELECT pg_advisory_xact_lock($1::bigint)",
                    {Text(std::to_string(kSchemaLockKey))});
      !r.ok()) {
    return db_error("lock the audit key", r.error());
  }
  auto row = Exec(c,
                  "SELECT public_key, key_version::text, wrapped_key, sealed_private_key "
                  "FROM audit_signing_key WHERE id = 1",
                  {}, /*binary_result=*/true);
  if (!row.ok()) return db_error("read the audit key", row.error());
  if (row->rows() > 0) {
    crypto::Sealed sealed;
    sealed.key_version =
        static_cast<std::uint32_t>(ParseNumber(row->value(0, 1)).value_or(0));
    sealed.wrapped_key = std::string(row->value(0, 2));
    sealed.ciphertext = std::string(row->value(0, 3));
    auto pem = options_.keyring->Open(sealed, kKeyAad);
    if (!pem.ok()) {
      return fail(Error(Code::kPreconditionNotMet,
                        "cannot unseal the audit key in PostgreSQL " + target_ +
                            " with this master key: " + pem.error().message()));
    }
    auto key = SigningKey::FromPem(pem->view());
    if (!key.ok()) {
      return fail(Error(Code::kPreconditionNotMet,
                        "the sealed audit key in PostgreSQL " + target_ +
                            " is not an Ed25519 private key"));
    }
    auto stored_public = PublicKey::FromPem(row->value(0, 0));
    if (!stored_public.ok() || stored_public->fingerprint() != key->public_key().fingerprint()) {
      return fail(Error(Code::kPreconditionNotMet,
                        "the audit public key in " + PublicKeyLocation() +
                            " does not match the sealed private key beside it: the row was "
                            "altered; restore it from a backup"));
    }
    if (auto r = Exec(c, "COMMIT"); !r.ok()) return db_error("read the audit key", r.error());
    Release(std::move(conn));
    return key;
  }
  // No key yet: only a log without records may get a new one (records signed with a lost key
  // could no longer be told from forgeries).
  auto any = Exec(c, "SELECT EXISTS (SELECT 1 FROM audit_chunks)");
  if (!any.ok()) return db_error("read the audit log", any.error());
  if (any->value(0, 0) == "t") {
    return fail(Error(Code::kPreconditionNotMet,
                      "the audit key is missing from " + PublicKeyLocation() +
                          " but the audit log there has records: restore the row from a "
                          "backup, or move the records aside to start a new log"));
  }
  auto fresh = SigningKey::Generate();
  if (!fresh.ok()) return fail(std::move(fresh).error());
  auto pem = fresh->ToPem();
  if (!pem.ok()) return fail(std::move(pem).error());
  auto sealed = options_.keyring->Seal(pem->view(), kKeyAad);
  if (!sealed.ok()) return fail(std::move(sealed).error());
  if (auto r = Exec(c,
                    "INSERT INTO audit_signing_key (id, public_key, key_version, wrapped_key, "
                    "sealed_private_key) VALUES (1, $1, $2::integer, $3, $4)",
                    {Text(fresh->public_key().ToPem()), Number(sealed->key_version),
                     Bytes(sealed->wrapped_key), Bytes(sealed->ciphertext)});
      !r.ok()) {
    return db_error("store the audit key", r.error());
  }
  if (auto r = Exec(c, "COMMIT"); !r.ok()) return db_error("store the audit key", r.error());
  Release(std::move(conn));
  log::Info("audit log: created the audit signing key in PostgreSQL",
            {{"database", target_}, {"public_key", fresh->public_key().fingerprint()}});
  return fresh;
}

// ---- writing ------------------------------------------------------------------------------------

Error PostgresStorage::WriterError(std::string_view what, const Error& cause) const {
  return Error(cause.code() == Code::kPreconditionNotMet ? Code::kPreconditionNotMet
                                                         : Code::kUnavailable,
               "cannot " + std::string(what) + " " + DescribeChain(chain_) + ": " +
                   cause.message());
}

Status PostgresStorage::LockWriter(std::string_view chain) {
  if (!chain_.empty()) {
    if (chain == chain_) return OkStatus();
    return Error(Code::kInternal, "this audit storage already writes another chain");
  }
  if (chain.empty()) return Error(Code::kInvalidParameter, "an audit chain needs a name");
  chain_ = std::string(chain);
  lock_key_ = LockKey("arca-audit-chain\n" + chain_);
  auto conn = Connect();
  if (!conn.ok()) {
    chain_.clear();
    return std::move(conn).error();
  }
  auto r = Exec((*conn)->get(), "SELECT pg_try_advisory_lock($1::bigint)",
                {Text(std::to_string(lock_key_))});
  if (!r.ok() || r->value(0, 0) != "t") {
    const std::string cid = chain_;
    chain_.clear();
    if (!r.ok()) {
      return Error(Code::kUnavailable, "cannot lock the audit chain " + cid + " in PostgreSQL " +
                                           target_ + ": " + Redact(r.error().message()));
    }
    return Error(Code::kPreconditionNotMet,
                 "the audit chain " + cid + " in PostgreSQL " + target_ +
                     " is in use by another server (one with the same host name and data "
                     "directory)");
  }
  auto files = ListFilesOn(**conn, chain_);
  if (!files.ok()) {
    chain_.clear();
    return std::move(files).error();
  }
  known_end_ = files->empty() ? End{} : End{files->back().index, files->back().size};
  previous_end_ = End{};
  writer_ = std::move(conn).value();
  return OkStatus();
}

Result<bool> PostgresStorage::CheckChainEnd(Conn& conn) {
  ARCA_ASSIGN_OR_RETURN(std::vector<LogFile> files, ListFilesOn(conn, chain_));
  const End actual = files.empty() ? End{} : End{files.back().index, files.back().size};
  auto same = [](const End& a, const End& b) { return a.file == b.file && a.size == b.size; };
  // A file made by CreateFile has no rows until its first append: the chain then still ends
  // where the file before it did.
  const End expected =
      known_end_.size == 0 && known_end_.file != 0 ? previous_end_ : known_end_;
  if (same(actual, expected)) return false;
  if (pending_.has_value() && pending_->file == known_end_.file &&
      pending_->offset == known_end_.size &&
      same(actual, End{pending_->file, pending_->offset + pending_->size})) {
    // Our own last INSERT, committed although its acknowledgement was lost?
    auto r = Exec(conn.get(),
                  R"sql(SELECT data FROM audit_chunks WHERE chain = $1 AND file = $2 AND "offset" = $3::bigint)sql",
                  {Text(chain_), Text(LogFileName(pending_->file)), Number(pending_->offset)},
                  /*binary_result=*/true);
    if (!r.ok()) {
      return Error(Code::kUnavailable, "cannot read " + DescribeChain(chain_) + ": " +
                                           Redact(r.error().message()));
    }
    if (r->rows() == 1 && crypto::Sha256Hex(r->value(0, 0)) == pending_->sha256) return true;
  }
  return Error(Code::kPreconditionNotMet,
               "the chain changed while this server was disconnected from PostgreSQL: it ends at " +
                   LogFileName(actual.file) + " byte " + std::to_string(actual.size) +
                   ", not where this writer left it (" + LogFileName(known_end_.file) + " byte " +
                   std::to_string(known_end_.size) +
                   "); another writer used it or rows were removed. Restart the server to "
                   "continue from the stored head, and run `arca audit verify`");
}

Result<bool> PostgresStorage::EnsureWriter() {
  if (chain_.empty()) return Error(Code::kInternal, "the audit chain is not locked");
  if (writer_ != nullptr && !writer_->bad()) return false;
  // The connection, and with it the session's advisory lock, is gone: get both back, then make
  // sure nobody wrote the chain in between.
  writer_.reset();
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, Connect());
  auto r = Exec(conn->get(), "SELECT pg_try_advisory_lock($1::bigint)",
                {Text(std::to_string(lock_key_))});
  if (!r.ok()) {
    return Error(Code::kUnavailable,
                 "cannot lock the audit chain again: " + Redact(r.error().message()));
  }
  if (r->value(0, 0) != "t") {
    return Error(Code::kPreconditionNotMet,
                 "another server took the audit chain while this one was disconnected from "
                 "PostgreSQL");
  }
  ARCA_ASSIGN_OR_RETURN(bool pending_committed, CheckChainEnd(*conn));
  writer_ = std::move(conn);
  log::Info("audit log: reconnected to PostgreSQL", {{"chain", DescribeChain(chain_)}});
  return pending_committed;
}

Status PostgresStorage::Append(const LogFile& file, std::uint64_t offset, std::string_view data) {
  if (auto s = EnsureWriter(); !s.ok()) return WriterError("write to", s.error());
  ARCA_RETURN_IF_ERROR(Hook("write"));
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  pending_ = Pending{file.index, offset, crypto::Sha256Hex(data), data.size()};
  auto insert = [&]() {
    return Exec(writer_->get(), kInsert,
                {Text(chain_), Text(file.name), Number(offset), Bytes(data)});
  };
  auto r = insert();
  if (!r.ok() && writer_->bad()) {
    // The connection broke under the INSERT: on a new one, the row is either there (committed,
    // acknowledgement lost) or not (insert it again).
    auto again = EnsureWriter();
    if (!again.ok()) return WriterError("write to", again.error());
    if (*again) {
      known_end_ = End{file.index, offset + data.size()};
      pending_.reset();
      return OkStatus();
    }
    r = insert();
  }
  if (!r.ok()) {
    if (r.error().code() == Code::kPreconditionNotMet) {
      return WriterError("write to",
                         Error(Code::kPreconditionNotMet,
                               "byte " + std::to_string(offset) + " of " + file.name +
                                   " was written by another writer"));
    }
    return WriterError("write to", Error(Code::kUnavailable, Redact(r.error().message())));
  }
  known_end_ = End{file.index, offset + data.size()};
  pending_.reset();
  return OkStatus();
}

Status PostgresStorage::Truncate(const LogFile& file, std::uint64_t size) {
  if (auto s = EnsureWriter(); !s.ok()) return WriterError("truncate", s.error());
  ARCA_RETURN_IF_ERROR(Hook("sync"));
  auto r = Exec(writer_->get(), kTruncate, {Text(chain_), Text(file.name), Number(size)});
  if (!r.ok()) return WriterError("truncate", Error(Code::kUnavailable, Redact(r.error().message())));
  known_end_ = End{file.index, size};
  pending_.reset();
  return OkStatus();
}

Result<LogFile> PostgresStorage::CreateFile(std::uint64_t index) {
  if (auto s = EnsureWriter(); !s.ok()) return WriterError("create a file in", s.error());
  ARCA_RETURN_IF_ERROR(Hook("create"));
  const std::string name = LogFileName(index);
  auto r = Exec(writer_->get(),
                "SELECT EXISTS (SELECT 1 FROM audit_chunks WHERE chain = $1 AND file = $2)",
                {Text(chain_), Text(name)});
  if (!r.ok()) {
    return WriterError("create a file in", Error(Code::kUnavailable, Redact(r.error().message())));
  }
  if (r->value(0, 0) == "t") {
    return Error(Code::kAlreadyExists,
                 "cannot create " + name + " in " + DescribeChain(chain_) + ": it exists");
  }
  // A file exists in PostgreSQL from its first row on; until then the chain ends where it did.
  if (known_end_.size > 0 || known_end_.file == 0) previous_end_ = known_end_;
  known_end_ = End{index, 0};
  return LogFile{index, name, std::string(), 0};
}

}  // namespace arca::audit
