#include "iam/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "core/json.h"

namespace arca::iam::jwt {

namespace {

namespace bj = boost::json;

constexpr std::size_t kMinRsaBits = 2048;
constexpr std::size_t kP256FieldBytes = 32;
constexpr std::size_t kMaxTokenBytes = 20000;  // STS's limit on WebIdentityToken

Error InvalidToken(std::string message, std::string detail = {}) {
  return Error(Code::kInvalidIdentityToken, std::move(message), std::move(detail));
}
Error RejectedClaim(std::string message) { return Error(Code::kIdpRejectedClaim, std::move(message)); }
Error BadJwks(std::string message) {
  return Error(Code::kInvalidParameter, "The JSON Web Key Set is not valid: " + std::move(message));
}

constexpr std::string_view kNotAJwt =
    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)";

// ---- OpenSSL ownership ----
struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* p) const { OSSL_PARAM_BLD_free(p); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
}

BnPtr ToBignum(std::string_view big_endian) {
  return BnPtr(BN_bin2bn(Bytes(big_endian), static_cast<int>(big_endian.size()), nullptr));
}

// Builds a public key from OpenSSL parameters; nullptr on failure.
PkeyPtr FromData(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return PkeyPtr(raw);
}

PkeyPtr RsaPublicKey(std::string_view n, std::string_view e) {
  BnPtr bn_n = ToBignum(n), bn_e = ToBignum(e);
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld) return nullptr;
  if (OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return nullptr;
  }
  return FromData("RSA", bld.get());
}

PkeyPtr P256PublicKey(std::string_view x, std::string_view y) {
  std::string point;
  point.reserve(1 + x.size() + y.size());
  point += '\x04';  // uncompressed
  point += x;
  point += y;
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld) return nullptr;
  static char kGroup[] = "prime256v1";
  if (OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, kGroup, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1) {
    return nullptr;
  }
  PkeyPtr key = FromData("EC", bld.get());
  if (!key) return nullptr;
  // The point must be on the curve (an invalid-curve point would leak nothing here, since we only
  // verify, but a key that is not a key is a configuration error worth refusing).
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return nullptr;
  return key;
}

// Raw r||s (JWS's ES256 form) to the DER ECDSA-Sig-Value OpenSSL verifies.
std::optional<std::string> EcdsaRawToDer(std::string_view raw) {
  if (raw.size() != 2 * kP256FieldBytes) return std::nullopt;
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BnPtr r = ToBignum(raw.substr(0, kP256FieldBytes));
  BnPtr s = ToBignum(raw.substr(kP256FieldBytes));
  if (!sig || !r || !s) return std::nullopt;
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) return std::nullopt;
  (void)r.release();  // owned by sig now
  (void)s.release();
  int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());  // NOLINT
  if (i2d_ECDSA_SIG(sig.get(), &p) != len) return std::nullopt;
  return der;
}

bool VerifyWith(EVP_PKEY* key, std::string_view data, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  if (!md) return false;
  if (EVP_DigestVerifyInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key, nullptr) != 1) {
    return false;
  }
  return EVP_DigestVerify(md.get(), Bytes(signature), signature.size(), Bytes(data), data.size()) == 1;
}

// ---- base64url ----
int Base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// ---- JSON members ----
Result<std::optional<std::string>> StringMember(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return Error(Code::kInvalidParameter, std::string(key) + " is not a string");
  return std::optional<std::string>(std::string(it->value().get_string()));
}

// A NumericDate: JSON number of seconds (may be fractional; truncated).
Result<std::optional<std::int64_t>> NumericDate(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return std::optional<std::int64_t>();
  const bj::value& v = it->value();
  if (v.is_int64()) return std::optional<std::int64_t>(v.get_int64());
  if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v.get_uint64()));
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (d > -9.2e18 && d < 9.2e18) return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
  }
  return Error(Code::kInvalidParameter, "claim " + std::string(key) + " is not a NumericDate");
}

std::string Normalize(std::string_view issuer) {
  constexpr std::string_view kHttps = "https://";
  if (issuer.size() >= kHttps.size() && issuer.substr(0, kHttps.size()) == kHttps) {
    issuer.remove_prefix(kHttps.size());
  }
  while (!issuer.empty() && issuer.back() == '/') issuer.remove_suffix(1);
  return std::string(issuer);
}

Result<bj::object> DecodeJsonPart(std::string_view part) {
  std::optional<std::string> text = Base64UrlDecode(part);
  if (!text.has_value()) return InvalidToken(std::string(kNotAJwt), "a part is not base64url");
  auto parsed = json::Parse(*text);
  if (!parsed.ok() || !parsed->is_object()) return InvalidToken(std::string(kNotAJwt), "a part is not a JSON object");
  return std::move(parsed->get_object());
}

}  // namespace

// ---- Jwks ----

struct Jwks::Key {
  std::string kid;
  std::string alg;  // "RS256" or "ES256": the only algorithm this key verifies
  PkeyPtr pkey;
};

Result<Jwks> Jwks::Parse(std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return BadJwks("it is not a JSON object");
  const bj::object& root = parsed->get_object();
  auto keys_it = root.find("keys");
  if (keys_it == root.end() || !keys_it->value().is_array()) return BadJwks("it has no \"keys\" array");

  Jwks out;
  std::size_t index = 0;
  for (const bj::value& v : keys_it->value().get_array()) {
    std::string where = "key " + std::to_string(index++);
    if (!v.is_object()) return BadJwks(where + " is not an object");
    const bj::object& k = v.get_object();
    auto kty = StringMember(k, "kty");
    auto kid = StringMember(k, "kid");
    auto alg = StringMember(k, "alg");
    auto use = StringMember(k, "use");
    if (!kty.ok() || !kid.ok() || !alg.ok() || !use.ok() || !kty->has_value()) {
      return BadJwks(where + " has no valid \"kty\", or a non-string kid, alg or use");
    }
    if (use->has_value() && **use != "sig") continue;  // an encryption key
    auto key = std::make_shared<Key>();
    key->kid = kid->value_or("");
    if (**kty == "RSA") {
      if (alg->has_value() && **alg != "RS256") continue;  // a key for another algorithm
      auto n = StringMember(k, "n");
      auto e = StringMember(k, "e");
      if (!n.ok() || !e.ok() || !n->has_value() || !e->has_value()) {
        return BadJwks(where + " (RSA) needs \"n\" and \"e\"");
      }
      std::optional<std::string> n_bytes = Base64UrlDecode(**n);
      std::optional<std::string> e_bytes = Base64UrlDecode(**e);
      if (!n_bytes.has_value() || !e_bytes.has_value() || n_bytes->empty() || e_bytes->empty()) {
        return BadJwks(where + " (RSA) has \"n\" or \"e\" that is not base64url");
      }
      key->pkey = RsaPublicKey(*n_bytes, *e_bytes);
      if (!key->pkey) return BadJwks(where + " (RSA) is not a valid public key");
      if (static_cast<std::size_t>(EVP_PKEY_get_bits(key->pkey.get())) < kMinRsaBits) continue;
      key->alg = "RS256";
    } else if (**kty == "EC") {
      auto crv = StringMember(k, "crv");
      if (!crv.ok() || !crv->has_value()) return BadJwks(where + " (EC) needs \"crv\"");
      if (**crv != "P-256") continue;
      if (alg->has_value() && **alg != "ES256") continue;
      auto x = StringMember(k, "x");
      auto y = StringMember(k, "y");
      if (!x.ok() || !y.ok() || !x->has_value() || !y->has_value()) {
        return BadJwks(where + " (EC) needs \"x\" and \"y\"");
      }
      std::optional<std::string> x_bytes = Base64UrlDecode(**x);
      std::optional<std::string> y_bytes = Base64UrlDecode(**y);
      if (!x_bytes.has_value() || !y_bytes.has_value() || x_bytes->size() != kP256FieldBytes ||
          y_bytes->size() != kP256FieldBytes) {
        return BadJwks(where + " (EC) has \"x\" or \"y\" that is not 32 base64url-encoded bytes");
      }
      key->pkey = P256PublicKey(*x_bytes, *y_bytes);
      if (!key->pkey) return BadJwks(where + " (EC) is not a point on P-256");
      key->alg = "ES256";
    } else {
      continue;  // oct, OKP, ...: not used for ID tokens here
    }
    out.keys_.push_back(std::move(key));
  }
  return out;
}

std::vector<std::string> Jwks::KeyIds() const {
  std::vector<std::string> ids;
  ids.reserve(keys_.size());
  for (const auto& k : keys_) ids.push_back(k->kid);
  return ids;
}

// ---- tokens ----

std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto byte = [&](std::size_t j) { return static_cast<unsigned char>(bytes[j]); };
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    unsigned v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = Base64UrlValue(c);
    if (v < 0) return std::nullopt;  // padding, whitespace and the standard alphabet are refused
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero (one encoding per byte string).
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string IssuerKey(std::string_view issuer_or_url) { return Normalize(issuer_or_url); }

Result<Token> ParseToken(std::string_view compact) {
  if (compact.size() > kMaxTokenBytes) return InvalidToken(std::string(kNotAJwt), "token too long");
  std::size_t d1 = compact.find('.');
  std::size_t d2 = d1 == std::string_view::npos ? d1 : compact.find('.', d1 + 1);
  if (d2 == std::string_view::npos || compact.find('.', d2 + 1) != std::string_view::npos) {
    return InvalidToken(std::string(kNotAJwt), "not three dot-separated parts");
  }
  std::string_view header_part = compact.substr(0, d1);
  std::string_view payload_part = compact.substr(d1 + 1, d2 - d1 - 1);
  std::string_view signature_part = compact.substr(d2 + 1);
  if (header_part.empty() || payload_part.empty()) {
    return InvalidToken(std::string(kNotAJwt), "empty header or payload");
  }

  ARCA_ASSIGN_OR_RETURN(bj::object header, DecodeJsonPart(header_part));
  Token t;
  auto alg = StringMember(header, "alg");
  if (!alg.ok() || !alg->has_value()) return InvalidToken(std::string(kNotAJwt), "no alg");
  t.alg = **alg;
  if (t.alg != "RS256" && t.alg != "ES256") {
    return InvalidToken("The token's signing algorithm " + t.alg + " is not supported; use RS256 or ES256.");
  }
  auto kid = StringMember(header, "kid");
  if (!kid.ok()) return InvalidToken(std::string(kNotAJwt), "kid is not a string");
  t.kid = kid->value_or("");
  if (header.contains("crit")) {
    return InvalidToken("The token names critical header parameters (crit), which are not supported.");
  }
  if (signature_part.empty()) return InvalidToken("The token is not signed.");
  std::optional<std::string> signature = Base64UrlDecode(signature_part);
  if (!signature.has_value()) return InvalidToken(std::string(kNotAJwt), "signature is not base64url");
  t.signature = std::move(*signature);
  t.signing_input = std::string(compact.substr(0, d2));

  std::optional<std::string> payload_text = Base64UrlDecode(payload_part);
  if (!payload_text.has_value()) return InvalidToken(std::string(kNotAJwt), "payload is not base64url");
  auto payload = json::Parse(*payload_text);
  if (!payload.ok() || !payload->is_object()) {
    return InvalidToken(std::string(kNotAJwt), "payload is not a JSON object");
  }
  const bj::object& claims = payload->get_object();
  t.claims_json = std::move(*payload_text);

  auto iss = StringMember(claims, "iss");
  auto sub = StringMember(claims, "sub");
  auto azp = StringMember(claims, "azp");
  if (!iss.ok() || !sub.ok() || !azp.ok()) {
    return InvalidToken("The token's iss, sub or azp claim is not a string.");
  }
  t.issuer = iss->value_or("");
  t.subject = sub->value_or("");
  t.authorized_party = azp->value_or("");
  if (auto it = claims.find("aud"); it != claims.end() && !it->value().is_null()) {
    if (it->value().is_string()) {
      t.audiences.emplace_back(it->value().get_string());
    } else if (it->value().is_array()) {
      for (const bj::value& a : it->value().get_array()) {
        if (!a.is_string()) return InvalidToken("The token's aud claim holds a value that is not a string.");
        t.audiences.emplace_back(a.get_string());
      }
    } else {
      return InvalidToken("The token's aud claim is neither a string nor a list of strings.");
    }
  }
  auto exp = NumericDate(claims, "exp");
  auto nbf = NumericDate(claims, "nbf");
  auto iat = NumericDate(claims, "iat");
  if (!exp.ok() || !nbf.ok() || !iat.ok()) {
    return InvalidToken("The token's exp, nbf or iat claim is not a number of seconds.");
  }
  t.expires_at = *exp;
  t.not_before = *nbf;
  t.issued_at = *iat;
  return t;
}

Status VerifySignature(const Token& token, const Jwks& jwks) {
  std::string der;
  std::string_view signature = token.signature;
  if (token.alg == "ES256") {
    std::optional<std::string> converted = EcdsaRawToDer(token.signature);
    if (!converted.has_value()) return InvalidToken("The token's signature is not valid.", "ES256 signature is not 64 bytes");
    der = std::move(*converted);
    signature = der;
  }
  bool candidate = false;
  for (const auto& key : jwks.keys()) {
    if (key->alg != token.alg) continue;
    if (!token.kid.empty() && key->kid != token.kid) continue;
    candidate = true;
    if (VerifyWith(key->pkey.get(), token.signing_input, signature)) return OkStatus();
  }
  if (!candidate) {
    return InvalidToken(
        "Couldn't retrieve verification key from your identity provider,  please reference "
        "AssumeRoleWithWebIdentity documentation for requirements",
        "no " + token.alg + " key with kid '" + token.kid + "' in the JWKS");
  }
  return InvalidToken("The token's signature is not valid.");
}

Status ValidateClaims(const Token& token, const ClaimRules& rules) {
  if (token.issuer.empty()) return InvalidToken("The token has no issuer (iss).");
  if (Normalize(token.issuer) != Normalize(rules.issuer)) {
    return InvalidToken("No OpenIDConnect provider found in your account for " + token.issuer);
  }
  if (!rules.audiences.empty()) {
    bool found = false;
    for (const std::string& aud : token.audiences) {
      for (const std::string& allowed : rules.audiences) {
        if (aud == allowed) found = true;
      }
    }
    if (!found) return InvalidToken("Incorrect token audience");
  }
  if (rules.require_subject && token.subject.empty()) {
    return RejectedClaim("The token has no subject (sub).");
  }
  const std::int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(rules.now.time_since_epoch()).count();
  const std::int64_t skew = rules.skew.count();
  if (!token.expires_at.has_value()) return RejectedClaim("The token has no expiration time (exp).");
  if (now > *token.expires_at + skew) {
    return Error(Code::kExpiredIdentityToken, "Token expired: current date/time " + std::to_string(now) +
                                                  " must be before the expiration date/time " +
                                                  std::to_string(*token.expires_at));
  }
  if (token.not_before.has_value() && *token.not_before > now + skew) {
    return RejectedClaim("Token is not yet valid: current date/time " + std::to_string(now) +
                         " must not be before the not-before date/time " + std::to_string(*token.not_before));
  }
  if (token.issued_at.has_value() && *token.issued_at > now + skew) {
    return RejectedClaim("Token was issued in the future: issued-at date/time " +
                         std::to_string(*token.issued_at) + " is after the current date/time " +
                         std::to_string(now));
  }
  return OkStatus();
}

Result<Token> Verify(std::string_view compact, const Jwks& jwks, const ClaimRules& rules) {
  ARCA_ASSIGN_OR_RETURN(Token token, ParseToken(compact));
  ARCA_RETURN_IF_ERROR(VerifySignature(token, jwks));
  ARCA_RETURN_IF_ERROR(ValidateClaims(token, rules));
  return token;
}

}  // namespace arca::iam::jwt
