#pragma once
// SigV4 verification of incoming AWS requests: the Authorization header form and the presigned
// query-string form (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders,
// X-Amz-Signature, optional X-Amz-Expires). The signing math is crypto/sigv4.h, shared with the
// client; this file adds what only a server does: parsing with AWS's error messages, the clock-skew
// window, the key lookup and a cache of derived signing keys.
//
// Temporary credentials (an "ASIA..." key id with its session token in the X-Amz-Security-Token
// header, or query parameter on a presigned request) are resolved by iam::SessionTokens instead of
// the key store; the token need not be among the signed headers (AWS lets services choose), since
// the signature itself proves possession of the session's secret.
//
// Failures carry AWS's codes and messages: kMissingAuthentication, kIncompleteSignature,
// kInvalidSignature, kUnrecognizedClient, kExpiredToken (and kInternal when the key store fails).
//
// Thread-safety: Verify() may be called concurrently.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "http/message.h"
#include "iam/access_keys.h"
#include "iam/sessions.h"

namespace arca::frontends::aws {

// Who signed a request, and for which region.
struct Authenticated {
  iam::Caller caller;
  std::string region;  // from the credential scope; any well-formed region name is accepted
};

class SigV4Verifier {
 public:
  // How far X-Amz-Date may be from the server's clock.
  static constexpr std::chrono::minutes kMaxSkew{5};
  // The longest X-Amz-Expires a presigned request may ask for (7 days, as AWS).
  static constexpr std::int64_t kMaxExpiresSeconds = 604800;

  // `sessions` resolves temporary credentials; without it every session token is refused.
  SigV4Verifier(iam::AccessKeys& access_keys, const Clock& clock, iam::SessionTokens* sessions = nullptr);

  // Verifies `request` for the front-end whose signing name is `service` ("secretsmanager").
  // `access_key_id`, when given, receives the key id the request names as soon as it is parsed (for
  // the request log), even when verification then fails.
  Result<Authenticated> Verify(const http::Request& request, std::string_view service,
                               std::string* access_key_id = nullptr);

 private:
  struct CachedKey {
    std::shared_ptr<const SecretBytes> secret;       // the secret the key was derived from
    std::shared_ptr<const SecretBytes> signing_key;
  };
  // The caller and secret of a long-term key (the key store) or of temporary credentials.
  Result<std::pair<iam::Caller, std::shared_ptr<const SecretBytes>>> LookupKey(
      const std::string& access_key_id, const std::optional<std::string>& security_token);
  // The signing key for (key id, date, region, service), derived once per secret.
  std::shared_ptr<const SecretBytes> SigningKey(const std::string& access_key_id,
                                                const std::shared_ptr<const SecretBytes>& secret,
                                                std::string_view date, std::string_view region,
                                                std::string_view service);

  iam::AccessKeys& access_keys_;
  const Clock& clock_;
  iam::SessionTokens* sessions_;
  std::mutex mu_;
  std::unordered_map<std::string, CachedKey> signing_keys_;  // GUARDED_BY(mu_)
};

}  // namespace arca::frontends::aws
