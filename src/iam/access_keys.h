#pragma once
// Access keys and the caller they authenticate: the account root's (the first is made on first
// start) and IAM users' (made by the IAM API, iam/directory.h). A key row's principal is "root" or
// the user's id ("AIDA..."); a user's key authenticates as that user (type kUser, the user's ARN
// with its path, UserId the AIDA id, principal the user name).
//
// A key's secret is stored sealed (aad = access key id), never in plaintext.
//
// Thread-safety: thread-safe.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "crypto/keyring.h"
#include "iam/caller.h"
#include "store/store.h"

namespace arca::iam {

struct NewAccessKey {
  std::string access_key_id;      // "AKIA" + 16 upper-case letters and digits
  SecretBytes secret_access_key;  // 40 characters
};

// A new key: "AKIA" + 16 characters of base32 (A-Z, 2-7) and a 40-character secret (base64
// alphabet), both from the CSPRNG.
NewAccessKey GenerateAccessKey();

class AccessKeys {
 public:
  AccessKeys(store::Store& store, const crypto::Keyring& keyring, std::string partition,
             std::string account_id);

  // The caller and secret of an active key; kUnrecognizedClient ("The security token included in
  // the request is invalid.") when the key is unknown or inactive. Results are cached for a short
  // time.
  Result<std::pair<Caller, std::shared_ptr<const SecretBytes>>> Lookup(
      std::string_view access_key_id);

  // Creates the root key when the store has none. Returns the new key, or nullopt if one existed.
  Result<std::optional<NewAccessKey>> EnsureRootKey();

  // Drops a key from the cache, so a key made inactive or deleted stops working at once (in this
  // process; other processes sharing the store notice within the cache's lifetime, 60 s).
  void Forget(std::string_view access_key_id);

 private:
  struct CacheEntry {
    Caller caller;
    std::shared_ptr<const SecretBytes> secret;
    std::chrono::steady_clock::time_point expires;
  };
  Caller RootCaller(const std::string& access_key_id) const;

  store::Store& store_;
  const crypto::Keyring& keyring_;
  std::string partition_;
  std::string account_id_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // GUARDED_BY(mu_)
  // The store's change sequence the cache was filled under: any committed write, here or on
  // another replica sharing the store (a key deleted or made Inactive), empties it.
  std::uint64_t cache_seq_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace arca::iam
