#pragma once
// Temporary credentials of STS role sessions.
//
// SessionTokens makes and resolves them. They are stateless: the session (role, session name,
// account, issue and expiry instants, the access key id, its secret, the web-identity facts) is
// sealed with the server's keyring under the AAD "arca-sts-session:" + access key id and handed out,
// base64, as the session token. Nothing is stored; a session lives until it expires, and any server
// holding the same master key accepts it. A token opened once is cached by its hash.
//
// Thread-safety: SessionTokens may be used from any number of threads.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "crypto/keyring.h"
#include "iam/caller.h"

namespace arca::iam {

struct TemporaryCredentials {
  std::string access_key_id;      // "ASIA" + 16 characters
  SecretBytes secret_access_key;  // 40 characters
  std::string session_token;
  TimePoint expiration;
};

class SessionTokens {
 public:
  static constexpr std::string_view kAadPrefix = "arca-sts-session:";

  SessionTokens(const crypto::Keyring& keyring, const Clock& clock, std::size_t max_cached = 4096);

  // New credentials for `session` (a kAssumedRole caller with its role, session name, account, arn,
  // user id and session_issued_ms/session_expires_ms set; access_key_id is filled in here).
  Result<TemporaryCredentials> Issue(Caller session);

  // The caller and secret of a session token. kUnrecognizedClient ("The security token included in
  // the request is invalid.") when the key id is not an ASIA id or the token does not open under it;
  // kExpiredToken ("The security token included in the request is expired") after its expiry.
  Result<std::pair<Caller, std::shared_ptr<const SecretBytes>>> Resolve(std::string_view access_key_id,
                                                                       std::string_view session_token);

 private:
  struct Cached {
    Caller caller;
    std::shared_ptr<const SecretBytes> secret;
  };
  const crypto::Keyring& keyring_;
  const Clock& clock_;
  std::size_t max_cached_;
  std::mutex mu_;
  std::unordered_map<std::string, Cached> cache_;  // GUARDED_BY(mu_): sha256(key id, token) -> session
};

}  // namespace arca::iam
