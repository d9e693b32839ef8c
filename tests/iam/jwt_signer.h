#pragma once
// A test identity provider: RSA-2048 and EC P-256 keys made at test time with OpenSSL, their JWKS,
// and compact JWTs signed RS256 or ES256 (or with whatever header a test wants to try).

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <boost/json.hpp>
#include <memory>
#include <stdexcept>
#include <string>

#include "iam/jwt.h"

namespace arca::iam::testing {

class TestKey {
 public:
  enum class Kind { kRsa, kEc };

  explicit TestKey(Kind kind, std::string kid, std::size_t rsa_bits = 2048) : kind_(kind), kid_(std::move(kid)) {
    EVP_PKEY* k = kind == Kind::kRsa ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", rsa_bits)
                                     : EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    if (k == nullptr) throw std::runtime_error("keygen failed");
    key_.reset(k);
  }

  const std::string& kid() const { return kid_; }
  std::string alg() const { return kind_ == Kind::kRsa ? "RS256" : "ES256"; }

  // This key as a JWK object.
  boost::json::object Jwk() const {
    boost::json::object o;
    if (kind_ == Kind::kRsa) {
      o["kty"] = "RSA";
      o["n"] = jwt::Base64UrlEncode(BnParam(OSSL_PKEY_PARAM_RSA_N, 0));
      o["e"] = jwt::Base64UrlEncode(BnParam(OSSL_PKEY_PARAM_RSA_E, 0));
    } else {
      o["kty"] = "EC";
      o["crv"] = "P-256";
      o["x"] = jwt::Base64UrlEncode(BnParam(OSSL_PKEY_PARAM_EC_PUB_X, 32));
      o["y"] = jwt::Base64UrlEncode(BnParam(OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
    o["kid"] = kid_;
    o["use"] = "sig";
    o["alg"] = alg();
    return o;
  }

  // Signs `header`.`claims` (JSON texts) with this key, in JWS form (ES256 as raw r||s).
  std::string Sign(const std::string& header, const std::string& claims) const {
    std::string input = jwt::Base64UrlEncode(header) + "." + jwt::Base64UrlEncode(claims);
    return input + "." + jwt::Base64UrlEncode(RawSignature(input));
  }

  // A token with the usual header {"alg":..., "kid":...}.
  std::string Token(const boost::json::object& claims) const {
    boost::json::object h;
    h["alg"] = alg();
    h["kid"] = kid_;
    return Sign(boost::json::serialize(h), boost::json::serialize(claims));
  }

  std::string RawSignature(const std::string& input) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (EVP_DigestSignInit_ex(md.get(), nullptr, "SHA256", nullptr, nullptr, key_.get(), nullptr) != 1) {
      throw std::runtime_error("sign init");
    }
    std::size_t len = 0;
    const auto* data = reinterpret_cast<const unsigned char*>(input.data());  // NOLINT
    if (EVP_DigestSign(md.get(), nullptr, &len, data, input.size()) != 1) throw std::runtime_error("sign len");
    std::string sig(len, '\0');
    if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data,  // NOLINT
                       input.size()) != 1) {
      throw std::runtime_error("sign");
    }
    sig.resize(len);
    if (kind_ == Kind::kRsa) return sig;
    // DER ECDSA-Sig-Value -> r||s, 32 bytes each.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());  // NOLINT
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (es == nullptr) throw std::runtime_error("d2i_ECDSA_SIG");
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);       // NOLINT
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);  // NOLINT
    ECDSA_SIG_free(es);
    return raw;
  }

 private:
  std::string BnParam(const char* name, int pad) const {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key_.get(), name, &bn) != 1) throw std::runtime_error("get_bn_param");
    int n = pad > 0 ? pad : BN_num_bytes(bn);
    std::string out(static_cast<std::size_t>(n), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n);  // NOLINT
    BN_free(bn);
    return out;
  }

  Kind kind_;
  std::string kid_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, &EVP_PKEY_free};
};

// {"keys":[...]} of the given keys.
inline std::string JwksOf(std::initializer_list<const TestKey*> keys) {
  boost::json::array a;
  for (const TestKey* k : keys) a.push_back(k->Jwk());
  boost::json::object o;
  o["keys"] = std::move(a);
  return boost::json::serialize(o);
}

}  // namespace arca::iam::testing
