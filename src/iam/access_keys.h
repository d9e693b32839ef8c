#pragma once
// Access keys and the caller they authenticate. Until access control lands (issue 4) the only
// principal is the account root, whose key is made on first start.
//
// A key's secret is stored sealed (aad = access key id), never in plaintext.
//
// Thread-safety: thread-safe.

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
#include "crypto/keyring.h"
#include "iam/caller.h"
#include "store/store.h"

namespace arca::iam {


struct NewAccessKey {
  std::string access_key_id;   // "AKIA" + 16 upper-case letters and digits
  SecretBytes secret_access_key;  // 40 characters
};

class AccessKeys {
 public:
  AccessKeys(store::Store& store, const crypto::Keyring& keyring, std::string partition,
             std::string account_id);

  // The caller and secret of an active key; kUnrecognizedClient ("The security token included in the
  // request is invalid.") when the key is unknown or inactive. Results are cached for a short time.
  Result<std::pair<Caller, std::shared_ptr<const SecretBytes>>> Lookup(std::string_view access_key_id);

  // Creates the root key when the store has none. Returns the new key, or nullopt if one existed.
  Result<std::optional<NewAccessKey>> EnsureRootKey();

 private:
  struct CacheEntry {
    Caller caller;
    std::shared_ptr<const SecretBytes> secret;
    std::chrono::steady_clock::time_point expires;
  };
  Caller MakeCaller(const std::string& access_key_id, const std::string& principal) const;

  store::Store& store_;
  const crypto::Keyring& keyring_;
  std::string partition_;
  std::string account_id_;
  std::mutex mu_;
  std::unordered_map<std::string, CacheEntry> cache_;  // GUARDED_BY(mu_)
};

}  // namespace arca::iam
