#pragma once
// The built-in PostgreSQL rotators, over libpq, on the secret JSON shape AWS's RDS rotation uses:
//   {"engine": "postgres" | "aurora-postgresql", "host": ..., "username": ..., "password": ...,
//    "port": 5432 (optional, number or string), "dbname": "postgres" (optional),
//    "masterarn": ... (alternating users: the secret holding the master user's credentials),
//    "ssl": true | false | "true" | "false" (optional), "sslmode": libpq's sslmode (optional),
//    "sslrootcert": a CA file for verify-ca / verify-full (optional)}
// They follow the logic of AWS's published rotation functions (SecretsManagerRDSPostgreSQLRotation
// SingleUser / MultiUser):
//
// arca-postgres-single-user
//   createSecret: unless the token's AWSPENDING version exists, AWSCURRENT with a new password
//     (GetRandomPassword's rules, excluding  : / @ " ' \  as AWS's function does) as AWSPENDING.
//   setSecret: if AWSPENDING already logs in, done. Otherwise logs in as the user with AWSCURRENT,
//     else with AWSPREVIOUS (with AWSCURRENT's TLS settings), and ALTERs the user's own password to
//     AWSPENDING's. The user and host must be the same in every version used.
//   testSecret: logs in with AWSPENDING and runs SELECT now().
//   finishSecret: moves AWSCURRENT to the token's version.
// arca-postgres-alternating-users
//   createSecret: AWSCURRENT with the other username (`name` <-> `name_clone`) and a new password.
//   setSecret: if AWSPENDING already logs in, done. Otherwise checks that AWSCURRENT still logs in,
//     logs in as the master user (AWSCURRENT of `masterarn`, on the same host, with the app
//     secret's dbname) and either creates the pending user WITH LOGIN and GRANTs it the current
//     user's role (first rotation), or ALTERs its password.
//   testSecret, finishSecret: as for a single user.
//
// Connections: libpq keyword/value arrays (never a conninfo string), sslmode from "sslmode", else
// "ssl" (true: verify-full against "sslrootcert" or the system CA bundle; false: disable), else
// prefer; connect_timeout (default 5 s, as AWS's functions). New passwords reach the server only as
// the verifier libpq computes (PQencryptPasswordConn, the server's password_encryption), so the
// plaintext never appears in a statement or a server log. Error messages never contain a password:
// they are built from libpq's primary message only, without query text, and scrubbed of every
// password involved.
//
// Thread-safety: PostgresRotator is immutable after construction; RunStep may be called from any
// thread. Connection is not thread-safe (one libpq connection).

#include <chrono>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "core/secret_bytes.h"
#include "rotation/rotator.h"

struct pg_conn;  // libpq's PGconn

namespace arca::rotation {

inline constexpr std::string_view kPostgresSingleUserRotatorName = "arca-postgres-single-user";
inline constexpr std::string_view kPostgresAlternatingUsersRotatorName =
    "arca-postgres-alternating-users";
// What AWS's PostgreSQL rotation functions exclude from generated passwords by default.
inline constexpr std::string_view kPostgresExcludedCharacters = ":/@\"'\\";
inline constexpr std::string_view kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";

struct PostgresOptions {
  std::chrono::seconds connect_timeout{5};
};

// One version of an RDS-shaped PostgreSQL secret.
struct DbSecret {
  std::string engine;
  std::string host;
  int port = 5432;
  std::string username;
  SecretBytes password;
  std::string dbname = "postgres";
  std::string sslmode = "prefer";
  std::optional<std::string> sslrootcert;
  std::optional<std::string> masterarn;
};

// Parses a secret's value. kInvalidParameter naming the field at fault (never a value) when it is
// not a JSON object, a required field (engine, host, username, password) is missing or mistyped,
// the engine is not postgres / aurora-postgresql, or port / ssl / sslmode are invalid.
Result<DbSecret> ParseDbSecret(std::string_view json);

// The connection parameters for `secret` except the password, in libpq keyword order.
std::vector<std::pair<std::string, std::string>> ConnectionParams(const DbSecret& secret,
                                                                  const PostgresOptions& options);

// `name_clone` for `name`, `name` for `name_clone` (as AWS's get_alt_username); kInvalidParameter
// when the clone's name would exceed PostgreSQL's 63 bytes.
Result<std::string> AlternateUsername(std::string_view username);

// `message` with every occurrence of each non-empty password replaced by "***".
std::string RedactPasswords(std::string message,
                            std::initializer_list<const SecretBytes*> passwords);

// One libpq connection.
class Connection {
 public:
  // Connects and authenticates as `secret`'s user. kUnavailable with libpq's message (without the
  // password) on failure.
  static Result<Connection> Open(const DbSecret& secret, const PostgresOptions& options);
  // A connection object that never connected, for quoting without a server (tests): quotes as
  // for a server with standard_conforming_strings off and SQL_ASCII encoding.
  static Connection Offline();

  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  Result<std::string> QuoteIdentifier(std::string_view name) const;
  // For values that are not secrets (a secret goes through PasswordClause).
  Result<std::string> QuoteLiteral(std::string_view value) const;
  // "PASSWORD '<verifier>'" for `user`'s new `password`: the server-side hash libpq computes with
  // the server's password_encryption. Needs a live connection.
  Result<SecretBytes> PasswordClause(const SecretBytes& password, std::string_view user) const;

  // Runs one or more statements; on failure the error holds the server's primary message and
  // SQLSTATE only (never the statement).
  Status Execute(std::string_view sql) const;
  // Whether a role named `name` exists (a parameterized query on pg_roles).
  Result<bool> RoleExists(std::string_view name) const;

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_ = nullptr;
};

class PostgresRotator final : public Rotator {
 public:
  enum class Scheme { kSingleUser, kAlternatingUsers };
  explicit PostgresRotator(Scheme scheme, PostgresOptions options = {})
      : scheme_(scheme), options_(options) {}

  Status RunStep(SecretsApi& api, const StepRequest& request) override;

 private:
  Status CreateSecret(SecretsApi& api, const StepRequest& request) const;
  Status SetSecretSingleUser(SecretsApi& api, const StepRequest& request) const;
  Status SetSecretAlternatingUsers(SecretsApi& api, const StepRequest& request) const;
  Status TestSecret(SecretsApi& api, const StepRequest& request) const;

  const Scheme scheme_;
  const PostgresOptions options_;
};

}  // namespace arca::rotation
