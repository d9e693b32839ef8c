#include "iam/sessions.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <optional>

#include "core/json.h"
#include "crypto/hash.h"
#include "crypto/random.h"

namespace arca::iam {

namespace {

namespace bj = boost::json;

constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kExpiredTokenMessage = "The security token included in the request is expired";
constexpr std::string_view kKeyIdPrefix = "ASIA";
constexpr std::string_view kKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
constexpr std::size_t kKeyIdRandomChars = 16;
constexpr std::size_t kSecretChars = 40;
constexpr std::uint8_t kTokenFormat = 1;
constexpr std::uint8_t kPayloadFormat = 1;
constexpr std::size_t kMaxSessionTokenChars = 8192;

Error Unrecognized(std::string detail = {}) {
  return Error(Code::kUnrecognizedClient, std::string(kInvalidToken), std::move(detail));
}

char RandomChar(std::string_view alphabet) {
  return alphabet[crypto::RandomBelow(static_cast<std::uint32_t>(alphabet.size()))];
}

// ---- the sealed session ----

void PutU16(std::string& out, std::size_t v) {
  out += static_cast<char>((v >> 8) & 0xFF);
  out += static_cast<char>(v & 0xFF);
}
void PutU32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xFF);
}
std::uint32_t GetU(std::string_view s, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

std::string SessionJson(const Caller& c) {
  bj::object o;
  o["ac"] = c.account;
  o["arn"] = c.arn;
  o["uid"] = c.user_id;
  o["ak"] = c.access_key_id;
  o["p"] = c.principal;
  o["ra"] = c.role_arn;
  o["ri"] = c.role_id;
  o["sn"] = c.session_name;
  o["is"] = c.session_issued_ms;
  o["ex"] = c.session_expires_ms;
  if (c.web_identity.has_value()) {
    bj::object w;
    w["pa"] = c.web_identity->provider_arn;
    w["iss"] = c.web_identity->issuer;
    w["sub"] = c.web_identity->subject;
    bj::array aud;
    for (const auto& a : c.web_identity->audiences) aud.emplace_back(a);
    w["aud"] = std::move(aud);
    o["wi"] = std::move(w);
  }
  return bj::serialize(o);
}

Result<Caller> CallerFromJson(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(bj::value v, json::Parse(text));
  if (!v.is_object()) return Unrecognized("session payload is not an object");
  const bj::object& o = v.get_object();
  Caller c;
  c.type = PrincipalType::kAssumedRole;
  auto str = [&](const bj::object& obj, std::string_view key, std::string* out) -> bool {
    auto r = json::GetString(obj, key);
    if (!r.ok() || !r->has_value()) return false;
    *out = std::move(**r);
    return true;
  };
  auto num = [&](std::string_view key, std::int64_t* out) -> bool {
    auto r = json::GetInt(o, key);
    if (!r.ok() || !r->has_value()) return false;
    *out = **r;
    return true;
  };
  bool ok = str(o, "ac", &c.account) && str(o, "arn", &c.arn) && str(o, "uid", &c.user_id) &&
            str(o, "ak", &c.access_key_id) && str(o, "p", &c.principal) && str(o, "ra", &c.role_arn) &&
            str(o, "ri", &c.role_id) && str(o, "sn", &c.session_name) && num("is", &c.session_issued_ms) &&
            num("ex", &c.session_expires_ms);
  if (!ok) return Unrecognized("session payload lacks a member");
  if (auto it = o.find("wi"); it != o.end() && it->value().is_object()) {
    const bj::object& w = it->value().get_object();
    WebIdentity wi;
    if (!str(w, "pa", &wi.provider_arn) || !str(w, "iss", &wi.issuer) || !str(w, "sub", &wi.subject)) {
      return Unrecognized("session payload has a bad web identity");
    }
    if (auto a = w.find("aud"); a != w.end() && a->value().is_array()) {
      for (const bj::value& x : a->value().get_array()) {
        if (x.is_string()) wi.audiences.emplace_back(x.get_string());
      }
    }
    c.web_identity = std::move(wi);
  }
  return c;
}

}  // namespace

SessionTokens::SessionTokens(const crypto::Keyring& keyring, const Clock& clock, std::size_t max_cached)
    : keyring_(keyring), clock_(clock), max_cached_(max_cached == 0 ? 1 : max_cached) {}

Result<TemporaryCredentials> SessionTokens::Issue(Caller session) {
  TemporaryCredentials out;
  out.access_key_id = std::string(kKeyIdPrefix);
  for (std::size_t i = 0; i < kKeyIdRandomChars; ++i) out.access_key_id += RandomChar(kKeyIdAlphabet);
  out.secret_access_key = SecretBytes(kSecretChars);
  for (std::size_t i = 0; i < kSecretChars; ++i) {
    out.secret_access_key.data()[i] = static_cast<std::uint8_t>(RandomChar(kSecretAlphabet));
  }
  session.type = PrincipalType::kAssumedRole;
  session.access_key_id = out.access_key_id;
  out.expiration = FromUnixMillis(session.session_expires_ms);

  // Plaintext: format, secret length, secret, session JSON (the secret never sits in a std::string).
  std::string json = SessionJson(session);
  SecretBytes plain;
  const std::uint8_t head[2] = {kPayloadFormat, static_cast<std::uint8_t>(kSecretChars)};
  plain.append(head, sizeof(head));
  plain.append(out.secret_access_key.data(), out.secret_access_key.size());
  plain.append(json.data(), json.size());

  ARCA_ASSIGN_OR_RETURN(crypto::Sealed sealed,
                        keyring_.Seal(plain.view(), std::string(kAadPrefix) + out.access_key_id));
  std::string wire;
  wire += static_cast<char>(kTokenFormat);
  PutU32(wire, sealed.key_version);
  PutU16(wire, sealed.wrapped_key.size());
  wire += sealed.wrapped_key;
  wire += sealed.ciphertext;
  out.session_token = crypto::Base64Encode(wire);
  return out;
}

Result<std::pair<Caller, std::shared_ptr<const SecretBytes>>> SessionTokens::Resolve(
    std::string_view access_key_id, std::string_view session_token) {
  if (!access_key_id.starts_with(kKeyIdPrefix) || access_key_id.size() != kKeyIdPrefix.size() + kKeyIdRandomChars) {
    return Unrecognized("a session token with the access key id " + std::string(access_key_id));
  }
  if (session_token.empty() || session_token.size() > kMaxSessionTokenChars) {
    return Unrecognized("session token of " + std::to_string(session_token.size()) + " characters");
  }
  const std::int64_t now_ms = ToUnixMillis(clock_.Now());
  std::string cache_key(access_key_id);
  cache_key += '\n';
  cache_key += session_token;
  cache_key = std::string(crypto::AsView(crypto::Sha256(cache_key)));
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(cache_key);
    if (it != cache_.end()) {
      if (now_ms >= it->second.caller.session_expires_ms) {
        cache_.erase(it);
        return Error(Code::kExpiredToken, std::string(kExpiredTokenMessage));
      }
      return std::make_pair(it->second.caller, it->second.secret);
    }
  }

  std::optional<std::string> wire = crypto::Base64Decode(session_token);
  if (!wire.has_value() || wire->size() < 7 || static_cast<std::uint8_t>((*wire)[0]) != kTokenFormat) {
    return Unrecognized("session token is not in Arca's format");
  }
  crypto::Sealed sealed;
  sealed.key_version = GetU(*wire, 1, 4);
  std::size_t wrapped_len = GetU(*wire, 5, 2);
  if (wire->size() < 7 + wrapped_len) return Unrecognized("session token is truncated");
  sealed.wrapped_key = wire->substr(7, wrapped_len);
  sealed.ciphertext = wire->substr(7 + wrapped_len);
  auto opened = keyring_.Open(sealed, std::string(kAadPrefix) + std::string(access_key_id));
  if (!opened.ok()) {
    return Unrecognized("session token does not open for " + std::string(access_key_id) + ": " +
                        opened.error().ToLogString());
  }
  std::string_view plain = opened->view();
  if (plain.size() < 2 || static_cast<std::uint8_t>(plain[0]) != kPayloadFormat) {
    return Unrecognized("session payload format");
  }
  std::size_t secret_len = static_cast<std::uint8_t>(plain[1]);
  if (plain.size() < 2 + secret_len) return Unrecognized("session payload is truncated");
  auto secret = std::make_shared<const SecretBytes>(SecretBytes::CopyOf(plain.substr(2, secret_len)));
  ARCA_ASSIGN_OR_RETURN(Caller caller, CallerFromJson(plain.substr(2 + secret_len)));
  if (caller.access_key_id != access_key_id) {
    return Unrecognized("session token was issued for another access key id");
  }
  if (now_ms >= caller.session_expires_ms) {
    return Error(Code::kExpiredToken, std::string(kExpiredTokenMessage));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= max_cached_) cache_.clear();
    cache_[cache_key] = Cached{caller, secret};
  }
  return std::make_pair(std::move(caller), std::move(secret));
}

}  // namespace arca::iam
