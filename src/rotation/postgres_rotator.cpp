#include "rotation/postgres_rotator.h"

#include <libpq-fe.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <cstring>

#include "core/json.h"
#include "core/log.h"
#include "rotation/rotator.h"
#include "secrets/password.h"

namespace arca::rotation {

namespace bj = boost::json;

namespace {

constexpr std::size_t kMaxIdentifierBytes = 63;  // PostgreSQL's NAMEDATALEN - 1
constexpr std::string_view kCloneSuffix = "_clone";

Error FieldError(const std::string& what) {
  return Error(Code::kInvalidParameter, "the secret's value is not a PostgreSQL secret: " + what);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A NUL-terminated copy (for libpq's C strings), wiped when it goes.
SecretBytes CString(std::string_view s) {
  SecretBytes out = SecretBytes::CopyOf(s);
  out.append("", 1);
  return out;
}
const char* CStr(const SecretBytes& b) { return reinterpret_cast<const char*>(b.data()); }

// libpq's multi-line messages on one line: each run of white space becomes one space.
std::string Trim(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void IgnoreNotice(void* /*arg*/, const char* /*message*/) {}

// The server's error from a result: primary message and SQLSTATE, never the statement.
std::string ResultError(const PGresult* res, const pg_conn* conn) {
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg;
  if (primary != nullptr) {
    msg = primary;
  } else if (conn != nullptr) {
    // No server error (the connection broke): libpq's own message, which has no query text.
    msg = Trim(PQerrorMessage(conn));
  }
  if (msg.empty()) msg = "unknown error";
  if (state != nullptr) msg += std::string(" (SQLSTATE ") + state + ")";
  return msg;
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

Result<DbSecret> GetDbSecret(SecretsApi& api, const std::string& secret_id,
                             std::optional<std::string> token, std::string_view stage) {
  ARCA_ASSIGN_OR_RETURN(auto text, api.GetSecretString(secret_id, std::move(token), stage));
  auto parsed = ParseDbSecret(text.view());
  if (!parsed.ok()) {
    return Error(parsed.error().code(),
                 parsed.error().message() + " (" + std::string(stage) + " of " + secret_id + ")");
  }
  return parsed;
}

// Connects, or returns nothing and remembers why (AWS's get_connection returns None on failure).
std::optional<Connection> TryOpen(const DbSecret& secret, const PostgresOptions& options,
                                  std::string& why) {
  auto conn = Connection::Open(secret, options);
  if (conn.ok()) return std::move(*conn);
  why = conn.error().message();
  return std::nullopt;
}

}  // namespace

// ---- parsing and connection parameters -------------------------------------------------------

Result<DbSecret> ParseDbSecret(std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return FieldError("it is not a JSON object");
  bj::object& obj = parsed->get_object();
  DbSecret s;
  ARCA_RETURN_IF_ERROR(ReadCredentialFields(obj, "PostgreSQL", s.engine, s.host, s.username, s.password));
  if (s.engine != "postgres" && s.engine != "aurora-postgresql") {
    return FieldError("engine must be postgres or aurora-postgresql");
  }
  if (s.host.empty()) return FieldError("host is empty");
  if (s.username.empty()) return FieldError("username is empty");
  if (auto it = obj.find("port"); it != obj.end() && !it->value().is_null()) {
    std::int64_t port = -1;
    if (it->value().is_int64()) {
      port = it->value().get_int64();
    } else if (it->value().is_uint64()) {
      port = static_cast<std::int64_t>(std::min<std::uint64_t>(it->value().get_uint64(), 1u << 20));
    } else if (it->value().is_string()) {
      const auto& str = it->value().get_string();
      if (!str.empty() && str.size() <= 5 &&
          std::all_of(str.begin(), str.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        port = std::stoll(std::string(str));
      }
    }
    if (port < 1 || port > 65535) return FieldError("port must be a number from 1 to 65535");
    s.port = static_cast<int>(port);
  }
  auto optional_string = [&](std::string_view key, std::optional<std::string>& out) -> Status {
    auto it = obj.find(key);
    if (it == obj.end() || it->value().is_null()) return OkStatus();
    if (!it->value().is_string()) return FieldError(std::string(key) + " must be a string");
    out = std::string(it->value().get_string());
    return OkStatus();
  };
  std::optional<std::string> dbname;
  ARCA_RETURN_IF_ERROR(optional_string("dbname", dbname));
  if (dbname && !dbname->empty()) s.dbname = *dbname;
  ARCA_RETURN_IF_ERROR(optional_string("masterarn", s.masterarn));
  ARCA_RETURN_IF_ERROR(optional_string("sslrootcert", s.sslrootcert));
  std::optional<std::string> sslmode;
  ARCA_RETURN_IF_ERROR(optional_string("sslmode", sslmode));
  if (sslmode) {
    static constexpr std::string_view kModes[] = {"disable", "allow",     "prefer",
                                                  "require", "verify-ca", "verify-full"};
    if (std::find(std::begin(kModes), std::end(kModes), *sslmode) == std::end(kModes)) {
      return FieldError(
          "sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full");
    }
    s.sslmode = *sslmode;
  } else if (auto it = obj.find("ssl"); it != obj.end()) {
    // As AWS's get_ssl_config: a boolean or "true"/"false" decides; anything else is the default.
    std::optional<bool> ssl;
    if (it->value().is_bool()) {
      ssl = it->value().get_bool();
    } else if (it->value().is_string()) {
      std::string v = Lower(it->value().get_string());
      if (v == "true") ssl = true;
      if (v == "false") ssl = false;
    }
    if (ssl) s.sslmode = *ssl ? "verify-full" : "disable";
  }
  if ((s.sslmode == "verify-full" || s.sslmode == "verify-ca") && !s.sslrootcert) {
    s.sslrootcert = std::string(kSystemCaBundle);
  }
  return s;
}

std::vector<std::pair<std::string, std::string>> ConnectionParams(const DbSecret& secret,
                                                                  const PostgresOptions& options) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"host", secret.host},     {"port", std::to_string(secret.port)}, {"dbname", secret.dbname},
      {"user", secret.username}, {"sslmode", secret.sslmode},
  };
  if (secret.sslrootcert) p.emplace_back("sslrootcert", *secret.sslrootcert);
  p.emplace_back("connect_timeout",
                 std::to_string(std::max<std::int64_t>(1, options.connect_timeout.count())));
  p.emplace_back("application_name", "arca-rotation");
  return p;
}

Result<std::string> AlternateUsername(std::string_view username) {
  if (username.size() > kCloneSuffix.size() &&
      username.substr(username.size() - kCloneSuffix.size()) == kCloneSuffix) {
    return std::string(username.substr(0, username.size() - kCloneSuffix.size()));
  }
  std::string clone = std::string(username) + std::string(kCloneSuffix);
  if (clone.size() > kMaxIdentifierBytes) {
    return Error(Code::kInvalidParameter,
                 "Unable to clone user " + std::string(username) +
                     ": the username with _clone appended would exceed 63 characters");
  }
  return clone;
}

std::string RedactPasswords(std::string message,
                            std::initializer_list<const SecretBytes*> passwords) {
  for (const SecretBytes* pw : passwords) {
    if (pw == nullptr || pw->empty()) continue;
    std::string_view needle = pw->view();
    for (std::size_t at = message.find(needle); at != std::string::npos;
         at = message.find(needle, at + 3)) {
      message.replace(at, needle.size(), "***");
    }
  }
  return message;
}

// ---- Connection --------------------------------------------------------------------------------

Result<Connection> Connection::Open(const DbSecret& secret, const PostgresOptions& options) {
  auto params = ConnectionParams(secret, options);
  SecretBytes password = CString(secret.password.view());
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back("password");
  values.push_back(CStr(password));
  keys.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  if (raw == nullptr) return Error(Code::kInternal, "libpq could not allocate a connection");
  Connection conn(raw);
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string why = RedactPasswords(Trim(PQerrorMessage(raw)), {&secret.password});
    return Error(Code::kUnavailable, "could not log in to PostgreSQL as " + secret.username +
                                         " at " + secret.host + ":" + std::to_string(secret.port) +
                                         ": " + why);
  }
  PQsetNoticeProcessor(raw, &IgnoreNotice, nullptr);
  PQsetErrorVerbosity(raw, PQERRORS_TERSE);
  return conn;
}

Connection Connection::Offline() {
  // An invalid option fails before any network activity; the object still quotes.
  const char* keys[] = {"sslmode", nullptr};
  const char* values[] = {"arca-offline", nullptr};
  return Connection(PQconnectdbParams(keys, values, 0));
}

Connection::Connection(Connection&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<std::string> Connection::QuoteIdentifier(std::string_view name) const {
  if (conn_ == nullptr) return Error(Code::kInternal, "no PostgreSQL connection");
  char* q = PQescapeIdentifier(conn_, name.data(), name.size());
  if (q == nullptr) {
    return Error(Code::kInvalidParameter, "cannot quote the identifier " + std::string(name) +
                                              ": " + Trim(PQerrorMessage(conn_)));
  }
  std::string out(q);
  PQfreemem(q);
  return out;
}

Result<std::string> Connection::QuoteLiteral(std::string_view value) const {
  if (conn_ == nullptr) return Error(Code::kInternal, "no PostgreSQL connection");
  char* q = PQescapeLiteral(conn_, value.data(), value.size());
  if (q == nullptr) {
    return Error(Code::kInvalidParameter, "cannot quote a literal: " + Trim(PQerrorMessage(conn_)));
  }
  std::string out(q);
  PQfreemem(q);
  return out;
}

Result<SecretBytes> Connection::PasswordClause(const SecretBytes& password,
                                               std::string_view user) const {
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    return Error(Code::kInternal, "no PostgreSQL connection");
  }
  SecretBytes pw = CString(password.view());
  std::string user_c(user);
  // NULL algorithm: the server's password_encryption (scram-sha-256 by default).
  char* verifier = PQencryptPasswordConn(conn_, CStr(pw), user_c.c_str(), nullptr);
  if (verifier == nullptr) {
    return Error(Code::kUnavailable, "could not compute the password verifier: " +
                                         RedactPasswords(Trim(PQerrorMessage(conn_)), {&password}));
  }
  SecretBytes v = SecretBytes::CopyOf(verifier);
  SecureWipe(verifier, std::strlen(verifier));
  PQfreemem(verifier);
  char* literal = PQescapeLiteral(conn_, CStr(CString(v.view())), v.size());
  if (literal == nullptr) {
    return Error(Code::kInternal, "could not quote the password verifier");
  }
  SecretBytes out = SecretBytes::CopyOf("PASSWORD ");
  out.append(literal, std::strlen(literal));
  SecureWipe(literal, std::strlen(literal));
  PQfreemem(literal);
  return out;
}

Status Connection::Execute(std::string_view sql) const {
  if (conn_ == nullptr) return Error(Code::kInternal, "no PostgreSQL connection");
  SecretBytes stmt = CString(sql);
  ResultPtr res(PQexec(conn_, CStr(stmt)));
  ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    return Error(Code::kUnavailable, "PostgreSQL: " + ResultError(res.get(), conn_));
  }
  return OkStatus();
}

Result<bool> Connection::RoleExists(std::string_view name) const {
  if (conn_ == nullptr) return Error(Code::kInternal, "no PostgreSQL connection");
  std::string n(name);
  const char* params[] = {n.c_str()};
  ResultPtr res(PQexecParams(conn_, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, nullptr, params,
                             nullptr, nullptr, 0));
  if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
    return Error(Code::kUnavailable, "PostgreSQL: " + ResultError(res.get(), conn_));
  }
  return PQntuples(res.get()) > 0;
}

// ---- the rotator -----------------------------------------------------------------------------

Status PostgresRotator::RunStep(SecretsApi& api, const StepRequest& request) {
  ARCA_ASSIGN_OR_RETURN(StepCheck check, CheckStep(api, request));
  if (check.token_is_current) return OkStatus();
  if (request.step == "createSecret") return CreateSecret(api, request);
  if (request.step == "setSecret") {
    return scheme_ == Scheme::kSingleUser ? SetSecretSingleUser(api, request)
                                          : SetSecretAlternatingUsers(api, request);
  }
  if (request.step == "testSecret") return TestSecret(api, request);
  if (request.step == "finishSecret") return MoveCurrentToToken(api, request, check.description);
  return Error(Code::kInvalidParameter,
               "Invalid step parameter " + request.step + " for secret " + request.secret_id);
}

Status PostgresRotator::CreateSecret(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  // The current secret must exist and be a PostgreSQL secret.
  ARCA_ASSIGN_OR_RETURN(auto current_text, api.GetSecretString(arn, std::nullopt, kCurrentStage));
  ARCA_ASSIGN_OR_RETURN(auto current, ParseDbSecret(current_text.view()));
  auto pending = GetDbSecret(api, arn, request.token, kPendingStage);
  if (pending.ok()) return OkStatus();  // made by an earlier attempt
  if (pending.error().code() != Code::kNotFound) return std::move(pending).error();

  secrets::GetRandomPasswordInput in;
  in.exclude_characters = std::string(kPostgresExcludedCharacters);
  auto password = secrets::GenerateRandomPassword(in);
  if (!password.ok()) return std::move(password).error();

  auto parsed = json::Parse(current_text.view());
  if (!parsed.ok() || !parsed->is_object()) return FieldError("it is not a JSON object");
  bj::object& obj = parsed->get_object();
  if (scheme_ == Scheme::kAlternatingUsers) {
    ARCA_ASSIGN_OR_RETURN(auto alt, AlternateUsername(current.username));
    obj["username"] = alt;
  }
  WipeJsonString(obj, "password");
  obj["password"] = bj::string(password->view());
  secrets::SecretValue value;
  value.string = SecretBytes::FromString(bj::serialize(obj));
  WipeJsonString(obj, "password");
  auto put = api.PutSecretValue(arn, request.token, std::move(value), {std::string(kPendingStage)});
  if (!put.ok()) return std::move(put).error();
  log::Info("rotation: new PostgreSQL credentials staged as AWSPENDING",
            {{"arn", arn}, {"token", request.token}});
  return OkStatus();
}

Status PostgresRotator::SetSecretSingleUser(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  std::optional<DbSecret> previous;
  {
    auto p = GetDbSecret(api, arn, std::nullopt, kPreviousStage);
    if (p.ok()) {
      previous = std::move(*p);
    } else if (p.error().code() != Code::kNotFound && p.error().code() != Code::kInvalidParameter) {
      return std::move(p).error();
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto current, GetDbSecret(api, arn, std::nullopt, kCurrentStage));
  ARCA_ASSIGN_OR_RETURN(auto pending, GetDbSecret(api, arn, request.token, kPendingStage));

  // Already set (an earlier attempt got this far)?
  std::string why;
  if (TryOpen(pending, options_, why)) {
    log::Info("rotation: AWSPENDING already logs in to PostgreSQL", {{"arn", arn}});
    return OkStatus();
  }
  if (current.username != pending.username) {
    return Error(Code::kInvalidParameter, "Attempting to modify user " + pending.username +
                                              " other than current user " + current.username);
  }
  if (current.host != pending.host) {
    return Error(Code::kInvalidParameter, "Attempting to modify user for host " + pending.host +
                                              " other than current host " + current.host);
  }
  std::optional<Connection> conn = TryOpen(current, options_, why);
  if (!conn && previous) {
    // The previous version with the current TLS settings.
    previous->sslmode = current.sslmode;
    previous->sslrootcert = current.sslrootcert;
    conn = TryOpen(*previous, options_, why);
    if (previous->username != pending.username) {
      return Error(Code::kInvalidParameter, "Attempting to modify user " + pending.username +
                                                " other than previous valid user " +
                                                previous->username);
    }
    if (previous->host != pending.host) {
      return Error(Code::kInvalidParameter, "Attempting to modify user for host " + pending.host +
                                                " other than previous valid host " +
                                                previous->host);
    }
  }
  if (!conn) {
    return Error(Code::kUnavailable,
                 "Unable to log into database with previous, current, or pending secret of "
                 "secret arn " +
                     arn + " (last error: " + why + ")");
  }
  ARCA_ASSIGN_OR_RETURN(auto user, conn->QuoteIdentifier(pending.username));
  ARCA_ASSIGN_OR_RETURN(auto clause, conn->PasswordClause(pending.password, pending.username));
  SecretBytes sql = SecretBytes::CopyOf("ALTER USER " + user + " WITH ");
  sql.append(clause.data(), clause.size());
  if (auto st = conn->Execute(sql.view()); !st.ok()) {
    return Error(st.error().code(),
                 "setSecret: could not set the password of " + pending.username + ": " +
                     RedactPasswords(st.error().message(), {&pending.password, &clause}));
  }
  log::Info("rotation: PostgreSQL password set", {{"arn", arn}, {"user", pending.username}});
  return OkStatus();
}

Status PostgresRotator::SetSecretAlternatingUsers(SecretsApi& api,
                                                  const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  ARCA_ASSIGN_OR_RETURN(auto current, GetDbSecret(api, arn, std::nullopt, kCurrentStage));
  ARCA_ASSIGN_OR_RETURN(auto pending, GetDbSecret(api, arn, request.token, kPendingStage));

  std::string why;
  if (TryOpen(pending, options_, why)) {
    log::Info("rotation: AWSPENDING already logs in to PostgreSQL", {{"arn", arn}});
    return OkStatus();
  }
  ARCA_ASSIGN_OR_RETURN(auto alt, AlternateUsername(current.username));
  if (alt != pending.username) {
    return Error(Code::kInvalidParameter, "Attempting to modify user " + pending.username +
                                              " other than current user or clone " +
                                              current.username);
  }
  if (current.host != pending.host) {
    return Error(Code::kInvalidParameter, "Attempting to modify user for host " + pending.host +
                                              " other than current host " + current.host);
  }
  // The credential being rotated must still be valid (against a confused deputy).
  if (!TryOpen(current, options_, why)) {
    return Error(Code::kUnavailable,
                 "Unable to log into database using current credentials for secret " + arn + " (" +
                     why + ")");
  }
  if (!current.masterarn || current.masterarn->empty()) {
    return FieldError("masterarn key is missing (the secret holding the master user)");
  }
  const std::string master_arn = *current.masterarn;
  ARCA_ASSIGN_OR_RETURN(auto master, GetDbSecret(api, master_arn, std::nullopt, kCurrentStage));
  master.dbname = current.dbname;
  if (current.host != master.host) {
    return Error(Code::kInvalidParameter, "Current database host " + current.host +
                                              " is not the same host as master " + master.host);
  }
  auto conn = Connection::Open(master, options_);
  if (!conn.ok()) {
    return Error(Code::kUnavailable,
                 "Unable to log into database using credentials in master secret " + master_arn +
                     " (" + conn.error().message() + ")");
  }
  ARCA_ASSIGN_OR_RETURN(auto pending_user, conn->QuoteIdentifier(pending.username));
  ARCA_ASSIGN_OR_RETURN(auto current_user, conn->QuoteIdentifier(current.username));
  ARCA_ASSIGN_OR_RETURN(bool exists, conn->RoleExists(pending.username));
  ARCA_ASSIGN_OR_RETURN(auto clause, conn->PasswordClause(pending.password, pending.username));
  SecretBytes sql;
  if (!exists) {
    // One implicit transaction: the role and its grant appear together.
    sql = SecretBytes::CopyOf("CREATE ROLE " + pending_user + " WITH LOGIN ");
    sql.append(clause.data(), clause.size());
    std::string grant = "; GRANT " + current_user + " TO " + pending_user;
    sql.append(grant.data(), grant.size());
  } else {
    sql = SecretBytes::CopyOf("ALTER USER " + pending_user + " WITH ");
    sql.append(clause.data(), clause.size());
  }
  if (auto st = conn->Execute(sql.view()); !st.ok()) {
    return Error(
        st.error().code(),
        "setSecret: could not " + std::string(exists ? "set the password of " : "create ") +
            pending.username + ": " +
            RedactPasswords(st.error().message(), {&pending.password, &clause, &master.password}));
  }
  log::Info(exists ? "rotation: PostgreSQL password set" : "rotation: PostgreSQL user created",
            {{"arn", arn}, {"user", pending.username}});
  return OkStatus();
}

Status PostgresRotator::TestSecret(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  ARCA_ASSIGN_OR_RETURN(auto pending, GetDbSecret(api, arn, request.token, kPendingStage));
  auto conn = Connection::Open(pending, options_);
  if (!conn.ok()) {
    return Error(Code::kUnavailable,
                 "Unable to log into database with pending secret of secret ARN " + arn + " (" +
                     conn.error().message() + ")");
  }
  if (auto st = conn->Execute("SELECT now()"); !st.ok()) {
    return Error(st.error().code(), "testSecret: " + st.error().message());
  }
  return OkStatus();
}

}  // namespace arca::rotation
