#include "iam/access_keys.h"

#include <string>
#include <utility>

#include "crypto/random.h"

namespace arca::iam {

namespace {

constexpr std::string_view kInvalidToken = "The security token included in the request is invalid.";
constexpr std::string_view kRootPrincipal = "root";
// AWS's key id alphabet (base32: A-Z, 2-7) and the secret access key's (base64 without padding).
constexpr std::string_view kKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+";
constexpr std::size_t kKeyIdRandomChars = 16;
constexpr std::size_t kSecretChars = 40;
constexpr std::chrono::seconds kCacheTtl{60};
constexpr std::size_t kMaxCacheEntries = 4096;

Error Unrecognized(std::string detail = {}) {
  return Error(Code::kUnrecognizedClient, std::string(kInvalidToken), std::move(detail));
}

// A key id as AWS makes them: 20 characters, upper-case letters and digits. Anything else cannot be
// ours, so it is refused before touching the store.
bool LooksLikeKeyId(std::string_view id) {
  if (id.size() < 16 || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

char RandomChar(std::string_view alphabet) {
  return alphabet[crypto::RandomBelow(static_cast<std::uint32_t>(alphabet.size()))];
}

}  // namespace

AccessKeys::AccessKeys(store::Store& store, const crypto::Keyring& keyring, std::string partition,
                       std::string account_id)
    : store_(store),
      keyring_(keyring),
      partition_(std::move(partition)),
      account_id_(std::move(account_id)) {}

NewAccessKey GenerateAccessKey() {
  NewAccessKey key;
  key.access_key_id = "AKIA";
  for (std::size_t i = 0; i < kKeyIdRandomChars; ++i) {
    key.access_key_id += RandomChar(kKeyIdAlphabet);
  }
  key.secret_access_key = SecretBytes(kSecretChars);
  for (std::size_t i = 0; i < kSecretChars; ++i) {
    key.secret_access_key.data()[i] = static_cast<std::uint8_t>(RandomChar(kSecretAlphabet));
  }
  return key;
}

Caller AccessKeys::RootCaller(const std::string& access_key_id) const {
  Caller c;
  c.type = PrincipalType::kRoot;
  c.account = account_id_;
  c.access_key_id = access_key_id;
  c.principal = std::string(kRootPrincipal);
  c.arn = "arn:" + partition_ + ":iam::" + account_id_ + ":root";
  c.user_id = account_id_;
  return c;
}

void AccessKeys::Forget(std::string_view access_key_id) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(std::string(access_key_id));
}

Result<std::pair<Caller, std::shared_ptr<const SecretBytes>>> AccessKeys::Lookup(
    std::string_view access_key_id) {
  if (!LooksLikeKeyId(access_key_id)) {
    return Unrecognized();
  }
  std::string id(access_key_id);
  auto now = std::chrono::steady_clock::now();
  const std::uint64_t seq = store_.ChangeSequence();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (seq != cache_seq_) {
      cache_.clear();
      cache_seq_ = seq;
    }
    auto it = cache_.find(id);
    if (it != cache_.end()) {
      if (it->second.expires > now) {
        return std::make_pair(it->second.caller, it->second.secret);
      }
      cache_.erase(it);
    }
  }

  ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(store::TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(std::optional<store::AccessKeyRow> row, txn->GetAccessKey(id));
  if (!row.has_value()) {
    return Unrecognized("unknown access key " + id);
  }
  if (row->status != "Active") {
    return Unrecognized("access key " + id + " is " + row->status);
  }
  auto opened = keyring_.Open(row->secret, id);
  if (!opened.ok()) {
    // The key exists but cannot be opened (wrong master key, tampering): a server fault, not the
    // caller's.
    return Error(
        Code::kInternal, "An error occurred on the server side.",
        "cannot open the secret of access key " + id + ": " + opened.error().ToLogString());
  }
  Caller caller;
  if (row->principal == kRootPrincipal) {
    caller = RootCaller(id);
  } else {
    // A user's key: the caller is the user, as it is now (its ARN carries its path).
    ARCA_ASSIGN_OR_RETURN(std::optional<store::IamUserRow> user,
                          txn->GetIamUserById(row->principal));
    if (!user.has_value()) {
      return Unrecognized("access key " + id + " belongs to no user (" + row->principal + ")");
    }
    caller.type = PrincipalType::kUser;
    caller.account = account_id_;
    caller.access_key_id = id;
    caller.principal = user->name;
    caller.arn = user->arn;
    caller.user_id = user->user_id;
  }
  auto secret = std::make_shared<const SecretBytes>(std::move(opened).value());

  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() >= kMaxCacheEntries) {
      cache_.clear();
    }
    // Filed only under the sequence it was read at (a newer one means the row may have changed).
    if (cache_seq_ == seq) cache_[id] = CacheEntry{caller, secret, now + kCacheTtl};
  }
  return std::make_pair(std::move(caller), std::move(secret));
}

Result<std::optional<NewAccessKey>> AccessKeys::EnsureRootKey() {
  ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(store::TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(std::vector<store::AccessKeyRow> keys, txn->ListAccessKeys());
  if (!keys.empty()) {
    return std::optional<NewAccessKey>();
  }

  NewAccessKey key = GenerateAccessKey();
  store::AccessKeyRow row;
  row.access_key_id = key.access_key_id;
  row.principal = std::string(kRootPrincipal);
  row.status = "Active";
  row.created_ms = ToUnixMillis(SystemClock::Instance().Now());
  ARCA_ASSIGN_OR_RETURN(row.secret, keyring_.Seal(key.secret_access_key.view(), key.access_key_id));
  ARCA_RETURN_IF_ERROR(txn->PutAccessKey(row));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return std::optional<NewAccessKey>(std::move(key));
}

}  // namespace arca::iam
