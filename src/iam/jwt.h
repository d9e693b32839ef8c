#pragma once
// JSON Web Tokens as AssumeRoleWithWebIdentity needs them: a Kubernetes projected service-account
// token (or any OIDC ID token) in compact form, signed RS256 or ES256, verified against the issuer's
// JSON Web Key Set, and its registered claims checked (iss, aud, exp, nbf, iat, sub).
//
// Only RS256 (RSASSA-PKCS1-v1_5 with SHA-256, keys of at least 2048 bits) and ES256 (ECDSA P-256
// with SHA-256) are accepted: "none", the HMAC algorithms and anything else are refused, so a token
// cannot pick its own verification method (no algorithm confusion).
//
// Errors carry STS's codes: kInvalidIdentityToken (malformed, unsigned, bad signature, unknown key,
// wrong issuer or audience), kExpiredIdentityToken (exp passed), kIdpRejectedClaim (nbf or iat in
// the future, a required claim missing or of the wrong type).
//
// Thread-safety: Jwks is immutable after Parse and may be shared between threads; the functions are
// pure.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace arca::iam::jwt {

// A JSON Web Key Set ({"keys":[...]}) reduced to the keys this module can use. Keys of other types
// (oct, OKP, other curves), RSA keys under 2048 bits and keys whose "use" is not "sig" are skipped.
class Jwks {
 public:
  struct Key;  // defined in jwt.cpp (holds the OpenSSL key)

  // kInvalidParameter when `json` is not a JWKS (not JSON, no "keys" array, a usable key type with
  // malformed members).
  static Result<Jwks> Parse(std::string_view json);

  std::size_t size() const { return keys_.size(); }
  bool empty() const { return keys_.empty(); }

  // The key ids, in order (empty strings for keys without "kid"); for diagnostics and tests.
  std::vector<std::string> KeyIds() const;

  const std::vector<std::shared_ptr<const Key>>& keys() const { return keys_; }

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
};

// A token split and decoded, not yet trusted.
struct Token {
  std::string alg;  // "RS256" | "ES256"
  std::string kid;  // empty when the header has none
  std::string issuer;
  std::string subject;
  std::vector<std::string> audiences;  // "aud" as a string or a list
  std::string authorized_party;        // "azp", empty when absent
  std::optional<std::int64_t> expires_at;  // seconds since the epoch
  std::optional<std::int64_t> not_before;
  std::optional<std::int64_t> issued_at;
  std::string claims_json;  // the decoded payload, as sent

  std::string signing_input;  // "BASE64URL(header).BASE64URL(payload)"
  std::string signature;      // decoded bytes
};

// Splits and decodes a compact JWS ("h.p.s"). kInvalidIdentityToken when it is not a well-formed
// JWT, names an algorithm other than RS256/ES256, or has claims of the wrong JSON type.
Result<Token> ParseToken(std::string_view compact);

// Checks the signature with the key the header names (kid), or with each key of the right type when
// the header names none. kInvalidIdentityToken when no key fits or the signature does not verify.
Status VerifySignature(const Token& token, const Jwks& jwks);

struct ClaimRules {
  // The issuer the token must name, compared after dropping "https://" and a trailing '/' on both.
  std::string issuer;
  // The token's aud (one of its values) must be one of these; empty accepts any audience.
  std::vector<std::string> audiences;
  TimePoint now;
  // Tolerance for clock differences on exp, nbf and iat.
  std::chrono::seconds skew{60};
  // Whether "sub" must be present (AssumeRoleWithWebIdentity needs it).
  bool require_subject = true;
};

// exp is required; nbf and iat are optional. See the error codes above.
Status ValidateClaims(const Token& token, const ClaimRules& rules);

// ParseToken + VerifySignature + ValidateClaims.
Result<Token> Verify(std::string_view compact, const Jwks& jwks, const ClaimRules& rules);

// base64url without padding (RFC 7515 section 2); exposed for tests.
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

// The issuer as a condition-key prefix: "https://host/path/" -> "host/path".
std::string IssuerKey(std::string_view issuer_or_url);

}  // namespace arca::iam::jwt
