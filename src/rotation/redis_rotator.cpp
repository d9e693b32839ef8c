#include "rotation/redis_rotator.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/json.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "rotation/postgres_rotator.h"  // RedactPasswords
#include "rotation/rotator.h"
#include "secrets/password.h"

namespace arca::rotation {

namespace bj = boost::json;

namespace {

Error FieldError(const std::string& what) {
  return Error(Code::kInvalidParameter, "the secret's value is not a Redis secret: " + what);
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// hiredis's own error (connection, I/O, protocol), on one line.
std::string ContextError(const redisContext* ctx) {
  if (ctx == nullptr) return "could not allocate a hiredis context";
  std::string msg = ctx->errstr[0] != '\0' ? std::string(ctx->errstr) : "unknown error";
  return msg;
}

std::string ReplyText(const redisReply* r) {
  if (r == nullptr || r->str == nullptr) return {};
  return std::string(r->str, r->len);
}

std::string Endpoint(const RedisSecret& s) { return s.host + ":" + std::to_string(s.port); }

Result<RedisSecret> GetRedisSecret(SecretsApi& api, const std::string& secret_id,
                                   std::optional<std::string> token, std::string_view stage) {
  ARCA_ASSIGN_OR_RETURN(auto text, api.GetSecretString(secret_id, std::move(token), stage));
  auto parsed = ParseRedisSecret(text.view());
  if (!parsed.ok()) {
    return Error(parsed.error().code(),
                 parsed.error().message() + " (" + std::string(stage) + " of " + secret_id + ")");
  }
  return parsed;
}

std::optional<RedisConnection> TryOpen(const RedisSecret& secret, const RedisOptions& options,
                                       std::string& why) {
  auto conn = RedisConnection::Open(secret, options);
  if (conn.ok()) return std::move(*conn);
  why = conn.error().message();
  return std::nullopt;
}

// TLS is refused before anything touches Redis (Debian's hiredis 0.14 has no hiredis_ssl).
Status CheckTransport(const RedisSecret& secret) {
  if (!secret.tls) return OkStatus();
  return Error(Code::kInvalidParameter,
               "Redis over TLS (\"tls\"/\"ssl\": true) is not supported: this build's hiredis "
               "(Debian's libhiredis 0.14) has no TLS support; reach Redis through a TLS proxy "
               "(stunnel, a sidecar) and set \"tls\": false");
}

timeval ToTimeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<decltype(tv.tv_sec)>(ms.count() / 1000);
  tv.tv_usec = static_cast<decltype(tv.tv_usec)>((ms.count() % 1000) * 1000);
  return tv;
}

}  // namespace

// ---- parsing ---------------------------------------------------------------------------------

Result<RedisSecret> ParseRedisSecret(std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return FieldError("it is not a JSON object");
  bj::object& obj = parsed->get_object();
  RedisSecret s;
  ARCA_RETURN_IF_ERROR(ReadCredentialFields(obj, "Redis", s.engine, s.host, s.username, s.password));
  if (s.engine != "redis") return FieldError("engine must be redis");
  if (s.host.empty()) return FieldError("host is empty");
  if (s.username.empty()) return FieldError("username is empty");
  if (s.password.empty()) return FieldError("password is empty");
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
  for (std::string_view key : {"tls", "ssl"}) {
    auto it = obj.find(key);
    if (it == obj.end() || it->value().is_null()) continue;
    if (it->value().is_bool()) {
      s.tls = s.tls || it->value().get_bool();
    } else if (it->value().is_string() &&
               (it->value().get_string() == "true" || it->value().get_string() == "false")) {
      s.tls = s.tls || it->value().get_string() == "true";
    } else {
      return FieldError(std::string(key) + " must be true or false");
    }
  }
  if (auto it = obj.find("masterarn"); it != obj.end() && !it->value().is_null()) {
    if (!it->value().is_string()) return FieldError("masterarn must be a string");
    if (!it->value().get_string().empty()) s.masterarn = std::string(it->value().get_string());
  }
  return s;
}

SecretBytes AclPasswordRule(char op, const SecretBytes& password) {
  static constexpr char kHex[] = "0123456789abcdef";
  crypto::Sha256Digest digest = crypto::Sha256(password.view());
  SecretBytes out(1 + 2 * digest.size());
  char* p = reinterpret_cast<char*>(out.data());  // NOLINT
  p[0] = op;
  for (std::size_t i = 0; i < digest.size(); ++i) {
    p[1 + 2 * i] = kHex[digest[i] >> 4];
    p[2 + 2 * i] = kHex[digest[i] & 0xf];
  }
  SecureWipe(digest.data(), digest.size());
  return out;
}

// ---- the connection --------------------------------------------------------------------------

Result<RedisConnection> RedisConnection::Open(const RedisSecret& secret,
                                              const RedisOptions& options) {
  ARCA_RETURN_IF_ERROR(CheckTransport(secret));
  const std::string where = "Redis as " + secret.username + " at " + Endpoint(secret);
  redisContext* raw =
      redisConnectWithTimeout(secret.host.c_str(), secret.port, ToTimeval(options.timeout));
  RedisConnection conn(raw);
  if (raw == nullptr || raw->err != 0) {
    return Error(Code::kUnavailable, "could not connect to " + where + ": " + ContextError(raw));
  }
  if (redisSetTimeout(raw, ToTimeval(options.timeout)) != REDIS_OK) {
    return Error(Code::kUnavailable, "could not connect to " + where + ": " + ContextError(raw));
  }
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommand(raw, "AUTH %b %b", secret.username.data(), secret.username.size(),
                   secret.password.data(), secret.password.size())));
  if (!reply) {
    return Error(Code::kUnavailable, "could not log in to " + where + ": " +
                                         RedactPasswords(ContextError(raw), {&secret.password}));
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    return Error(Code::kUnavailable,
                 "could not log in to " + where + ": " +
                     RedactPasswords(ReplyText(reply.get()), {&secret.password}));
  }
  return conn;
}

RedisConnection::RedisConnection(RedisConnection&& other) noexcept
    : ctx_(std::exchange(other.ctx_, nullptr)) {}

RedisConnection& RedisConnection::operator=(RedisConnection&& other) noexcept {
  if (this != &other) {
    if (ctx_ != nullptr) redisFree(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

RedisConnection::~RedisConnection() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Status RedisConnection::Ping() const {
  if (ctx_ == nullptr) return Error(Code::kInternal, "no Redis connection");
  ReplyPtr reply(static_cast<redisReply*>(redisCommand(ctx_, "PING")));
  if (!reply) return Error(Code::kUnavailable, "Redis: " + ContextError(ctx_));
  if (reply->type == REDIS_REPLY_ERROR) {
    return Error(Code::kUnavailable, "Redis: " + ReplyText(reply.get()));
  }
  if (ReplyText(reply.get()) != "PONG") {
    return Error(Code::kUnavailable, "Redis: PING was not answered with PONG");
  }
  return OkStatus();
}

Status RedisConnection::AclSetUser(std::string_view user, const SecretBytes& rule) const {
  if (ctx_ == nullptr) return Error(Code::kInternal, "no Redis connection");
  ReplyPtr reply(static_cast<redisReply*>(
      redisCommand(ctx_, "ACL SETUSER %b %b", user.data(), user.size(), rule.data(), rule.size())));
  if (!reply) return Error(Code::kUnavailable, "Redis: " + ContextError(ctx_));
  if (reply->type == REDIS_REPLY_ERROR) {
    // Redis quotes the rule in its message ("Error in ACL SETUSER modifier '...'").
    return Error(Code::kUnavailable, "Redis: " + RedactPasswords(ReplyText(reply.get()), {&rule}));
  }
  return OkStatus();
}

// ---- the rotator -----------------------------------------------------------------------------

Status RedisRotator::RunStep(SecretsApi& api, const StepRequest& request) {
  ARCA_ASSIGN_OR_RETURN(StepCheck check, CheckStep(api, request));
  if (check.token_is_current) {
    // finishSecret moved AWSCURRENT but could not remove the replaced password: try again.
    if (request.step == "finishSecret") return RemovePreviousPassword(api, request.secret_id);
    return OkStatus();
  }
  if (request.step == "createSecret") return CreateSecret(api, request);
  if (request.step == "setSecret") return SetSecret(api, request);
  if (request.step == "testSecret") return TestSecret(api, request);
  if (request.step == "finishSecret") {
    ARCA_RETURN_IF_ERROR(MoveCurrentToToken(api, request, check.description));
    return RemovePreviousPassword(api, request.secret_id);
  }
  return Error(Code::kInvalidParameter,
               "Invalid step parameter " + request.step + " for secret " + request.secret_id);
}

Status RedisRotator::CreateSecret(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  ARCA_ASSIGN_OR_RETURN(auto current_text, api.GetSecretString(arn, std::nullopt, kCurrentStage));
  ARCA_ASSIGN_OR_RETURN(auto current, ParseRedisSecret(current_text.view()));
  auto pending = GetRedisSecret(api, arn, request.token, kPendingStage);
  if (pending.ok()) return OkStatus();  // made by an earlier attempt
  if (pending.error().code() != Code::kNotFound) return std::move(pending).error();

  secrets::GetRandomPasswordInput in;
  in.exclude_characters = std::string(kRedisExcludedCharacters);
  auto password = secrets::GenerateRandomPassword(in);
  if (!password.ok()) return std::move(password).error();

  auto parsed = json::Parse(current_text.view());
  if (!parsed.ok() || !parsed->is_object()) return FieldError("it is not a JSON object");
  bj::object& obj = parsed->get_object();
  WipeJsonString(obj, "password");
  obj["password"] = bj::string(password->view());
  secrets::SecretValue value;
  value.string = SecretBytes::FromString(bj::serialize(obj));
  WipeJsonString(obj, "password");
  auto put = api.PutSecretValue(arn, request.token, std::move(value), {std::string(kPendingStage)});
  if (!put.ok()) return std::move(put).error();
  log::Info("rotation: new Redis credentials staged as AWSPENDING",
            {{"arn", arn}, {"token", request.token}});
  return OkStatus();
}

Result<RedisConnection> RedisRotator::AdminConnection(
    SecretsApi& api, const RedisSecret& user, std::initializer_list<const RedisSecret*> own) const {
  if (user.masterarn) {
    const std::string& master_arn = *user.masterarn;
    ARCA_ASSIGN_OR_RETURN(auto master,
                          GetRedisSecret(api, master_arn, std::nullopt, kCurrentStage));
    master.tls = master.tls || user.tls;  // the same server: the user's transport
    if (master.host != user.host || master.port != user.port) {
      return Error(
          Code::kInvalidParameter,
          "Redis host " + Endpoint(user) + " is not the same as the master's " + Endpoint(master));
    }
    auto conn = RedisConnection::Open(master, options_);
    if (!conn.ok()) {
      return Error(Code::kUnavailable,
                   "Unable to log into Redis using credentials in master "
                   "secret " +
                       master_arn + " (" + conn.error().message() + ")");
    }
    return conn;
  }
  std::string why = "no credentials";
  for (const RedisSecret* s : own) {
    if (s == nullptr) continue;
    if (auto conn = TryOpen(*s, options_, why)) return std::move(*conn);
  }
  return Error(Code::kUnavailable,
               "Unable to log into Redis as " + user.username + " (last error: " + why + ")");
}

Status RedisRotator::SetSecret(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  std::optional<RedisSecret> previous;
  {
    auto p = GetRedisSecret(api, arn, std::nullopt, kPreviousStage);
    if (p.ok()) {
      previous = std::move(*p);
    } else if (p.error().code() != Code::kNotFound && p.error().code() != Code::kInvalidParameter) {
      return std::move(p).error();
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto current, GetRedisSecret(api, arn, std::nullopt, kCurrentStage));
  ARCA_ASSIGN_OR_RETURN(auto pending, GetRedisSecret(api, arn, request.token, kPendingStage));

  ARCA_RETURN_IF_ERROR(CheckTransport(current));
  ARCA_RETURN_IF_ERROR(CheckTransport(pending));
  std::string why;
  if (TryOpen(pending, options_, why)) {
    log::Info("rotation: AWSPENDING already logs in to Redis", {{"arn", arn}});
    return OkStatus();
  }
  if (current.username != pending.username) {
    return Error(Code::kInvalidParameter, "Attempting to modify user " + pending.username +
                                              " other than current user " + current.username);
  }
  if (current.host != pending.host || current.port != pending.port) {
    return Error(Code::kInvalidParameter, "Attempting to modify user for host " +
                                              Endpoint(pending) + " other than current host " +
                                              Endpoint(current));
  }
  const RedisSecret* fallback = nullptr;
  if (previous && previous->username == pending.username && previous->host == pending.host &&
      previous->port == pending.port) {
    previous->tls = current.tls;
    fallback = &*previous;
  }
  auto conn = AdminConnection(api, pending, {&current, fallback});
  if (!conn.ok()) {
    return Error(conn.error().code(),
                 "setSecret: " + conn.error().message() + " (secret " + arn + ")");
  }
  SecretBytes rule = AclPasswordRule('#', pending.password);
  if (auto st = conn->AclSetUser(pending.username, rule); !st.ok()) {
    return Error(st.error().code(),
                 "setSecret: could not add the new password to Redis user " + pending.username +
                     (pending.masterarn ? std::string()
                                        : std::string(" (without masterarn the user must be "
                                                      "allowed ACL SETUSER)")) +
                     ": " + RedactPasswords(st.error().message(), {&pending.password, &rule}));
  }
  log::Info("rotation: Redis password added", {{"arn", arn}, {"user", pending.username}});
  return OkStatus();
}

Status RedisRotator::TestSecret(SecretsApi& api, const StepRequest& request) const {
  const std::string& arn = request.secret_id;
  ARCA_ASSIGN_OR_RETURN(auto pending, GetRedisSecret(api, arn, request.token, kPendingStage));
  auto conn = RedisConnection::Open(pending, options_);
  if (!conn.ok()) {
    return Error(Code::kUnavailable, "Unable to log into Redis with pending secret of secret ARN " +
                                         arn + " (" + conn.error().message() + ")");
  }
  if (auto st = conn->Ping(); !st.ok()) {
    return Error(st.error().code(), "testSecret: " + st.error().message());
  }
  return OkStatus();
}

Status RedisRotator::RemovePreviousPassword(SecretsApi& api, const std::string& arn) const {
  ARCA_ASSIGN_OR_RETURN(auto current, GetRedisSecret(api, arn, std::nullopt, kCurrentStage));
  auto previous = GetRedisSecret(api, arn, std::nullopt, kPreviousStage);
  if (!previous.ok()) {
    if (previous.error().code() == Code::kNotFound) return OkStatus();  // nothing replaced
    return Error(previous.error().code(),
                 "finishSecret: AWSCURRENT moved, but the replaced "
                 "password could not be read to remove it: " +
                     previous.error().message());
  }
  if (previous->username != current.username || previous->host != current.host ||
      previous->port != current.port ||
      crypto::ConstantTimeEquals(previous->password.view(), current.password.view())) {
    return OkStatus();  // not the same user's other password: nothing to remove
  }
  auto conn = AdminConnection(api, current, {&current});
  if (!conn.ok()) {
    return Error(conn.error().code(),
                 "finishSecret: AWSCURRENT moved, but the replaced password of Redis user " +
                     current.username +
                     " is still valid and will be removed at the retry: " + conn.error().message());
  }
  SecretBytes rule = AclPasswordRule('!', previous->password);
  if (auto st = conn->AclSetUser(current.username, rule); !st.ok()) {
    const std::string message =
        RedactPasswords(st.error().message(), {&previous->password, &current.password, &rule});
    if (message.find("does not exist") != std::string::npos) {
      return OkStatus();  // removed by an earlier attempt (or by hand)
    }
    return Error(st.error().code(),
                 "finishSecret: AWSCURRENT moved, but the replaced password of Redis user " +
                     current.username + " could not be removed (it is still valid): " + message);
  }
  log::Info("rotation: replaced Redis password removed",
            {{"arn", arn}, {"user", current.username}});
  return OkStatus();
}

}  // namespace arca::rotation
