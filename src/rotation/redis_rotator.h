#pragma once
// arca-redis: the built-in rotator for a Redis 6+ ACL user, over hiredis, on the secret shape
//   {"engine": "redis", "host": ..., "port": 6379 (optional, number or string),
//    "username": ..., "password": ...,
//    "masterarn": ... (optional: a secret, same shape and host, of a user allowed ACL SETUSER),
//    "tls" / "ssl": true | false | "true" | "false" (optional)}
//
// Redis users may hold several passwords at once, so unlike AWS's single-user database rotation no
// client ever holds a password that stops working mid-rotation:
//   createSecret: unless the token's AWSPENDING version exists, AWSCURRENT with a new 32-character
//     password (GetRandomPassword's rules, without kRedisExcludedCharacters) as AWSPENDING.
//   setSecret: if AWSPENDING already AUTHs, done. Otherwise ADDS the new password to the user
//     (ACL SETUSER user #<sha256>), the old one staying valid: as the master user (AWSCURRENT of
//     `masterarn`) when there is one, else as the user itself with AWSCURRENT, else AWSPREVIOUS
//     (which needs the user to be allowed `ACL SETUSER`: Redis users cannot change their own
//     password unless granted the command).
//   testSecret: AUTH as the user with AWSPENDING, then PING.
//   finishSecret: moves AWSCURRENT to the token's version, then REMOVES the replaced password (now
//     AWSPREVIOUS) from the user (ACL SETUSER user !<sha256>), as the master or as the user with
//     the new password. If the removal fails (Redis unreachable, refused), the step fails and is
//     retried: AWSCURRENT has already moved and works, and the old password keeps working until
//     the retry removes it. A retry of finishSecret (the token already AWSCURRENT) only does the
//     removal; a password already gone counts as removed.
//
// Passwords reach Redis only as their SHA-256 (ACL's #/! forms), never in plaintext, and only as
// separate hiredis arguments (%b), never formatted into a command string. Error messages never
// contain a password or its hash. TLS: Debian's hiredis (0.14) has no hiredis_ssl, so a secret
// with "tls"/"ssl" true is refused with a clear error.
//
// Thread-safety: RedisRotator is immutable after construction; RunStep may be called from any
// thread. RedisConnection is not thread-safe (one hiredis context).

#include <chrono>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"
#include "rotation/rotator.h"

struct redisContext;  // hiredis

namespace arca::rotation {

inline constexpr std::string_view kRedisRotatorName = "arca-redis";
// Characters that break redis-cli command lines, redis:// URLs and shell quoting.
inline constexpr std::string_view kRedisExcludedCharacters = ":/@\"'\\%#?&";

struct RedisOptions {
  std::chrono::milliseconds timeout{5000};  // connect and each command
};

// One version of a Redis secret.
struct RedisSecret {
  std::string engine;
  std::string host;
  int port = 6379;
  std::string username;
  SecretBytes password;
  bool tls = false;
  std::optional<std::string> masterarn;
};

// Parses a secret's value. kInvalidParameter naming the field at fault (never a value) when it is
// not a JSON object, a required field (engine, host, username, password) is missing or mistyped,
// the engine is not redis, or port / tls / ssl are invalid.
Result<RedisSecret> ParseRedisSecret(std::string_view json);

// The argument of ACL SETUSER that adds (`op` '#') or removes (`op` '!') `password`: the op and
// the lower-case hex SHA-256 of the password.
SecretBytes AclPasswordRule(char op, const SecretBytes& password);

// One hiredis connection, authenticated as a user.
class RedisConnection {
 public:
  // Connects to `secret`'s host and port and AUTHs as its user. kUnavailable with hiredis's or
  // the server's message (never a password) on failure; kInvalidParameter when TLS is asked for.
  static Result<RedisConnection> Open(const RedisSecret& secret, const RedisOptions& options);

  RedisConnection(RedisConnection&& other) noexcept;
  RedisConnection& operator=(RedisConnection&& other) noexcept;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // PING; ok when the answer is PONG.
  Status Ping() const;
  // ACL SETUSER `user` `rule` (a rule from AclPasswordRule). The error holds the server's message
  // with the rule removed.
  Status AclSetUser(std::string_view user, const SecretBytes& rule) const;

 private:
  explicit RedisConnection(redisContext* ctx) : ctx_(ctx) {}
  redisContext* ctx_ = nullptr;
};

class RedisRotator final : public Rotator {
 public:
  explicit RedisRotator(RedisOptions options = {}) : options_(options) {}

  Status RunStep(SecretsApi& api, const StepRequest& request) override;

 private:
  Status CreateSecret(SecretsApi& api, const StepRequest& request) const;
  Status SetSecret(SecretsApi& api, const StepRequest& request) const;
  Status TestSecret(SecretsApi& api, const StepRequest& request) const;
  // Removes AWSPREVIOUS's password from the user (finishSecret, after AWSCURRENT moved).
  Status RemovePreviousPassword(SecretsApi& api, const std::string& arn) const;
  // A connection allowed to run ACL SETUSER for `user`: the master's when `user` names one,
  // otherwise the user's own with the first of `own` that AUTHs.
  Result<RedisConnection> AdminConnection(SecretsApi& api, const RedisSecret& user,
                                          std::initializer_list<const RedisSecret*> own) const;

  const RedisOptions options_;
};

}  // namespace arca::rotation
