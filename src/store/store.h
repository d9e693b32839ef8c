#pragma once
// Store: durable state behind one interface (sqlite/ is the embedded default; postgres/ comes later).
//
// The store knows rows, not rules: the Secrets Manager domain decides what the rows mean. A secret's
// metadata lives in the domain-owned JSON document `meta`; the store indexes only what it must look
// up by (region+name, arn, deletion time). Values are stored only as crypto::Sealed (never plaintext).
//
// Every write happens inside a Transaction. A write transaction sees its own writes, is serialised
// against other writers, and on Commit() is durable (survives kill -9) before Commit returns. A
// transaction destroyed without Commit() rolls back. Every committed write transaction that changed
// something bumps the store-wide change sequence by one.
//
// Thread-safety: Store is thread-safe; a Transaction belongs to one thread at a time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "crypto/keyring.h"

namespace arca::store {

struct SecretRow {
  std::string id;                      // internal, stable UUID (never shown to clients)
  std::string region;
  std::string name;
  std::string arn;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> deleted_ms;  // set while scheduled for deletion
  std::optional<std::int64_t> purge_ms;    // when the background purge removes it
  std::string meta;                    // domain-owned JSON document
};

struct VersionRow {
  std::string secret_id;
  std::string version_id;
  std::int64_t created_ms = 0;
  std::optional<std::int64_t> last_accessed_ms;
  std::vector<std::string> labels;     // staging labels, in the order they were attached
  bool binary = false;                 // SecretBinary rather than SecretString
  crypto::Sealed sealed;
};

struct AccessKeyRow {
  std::string access_key_id;
  std::string principal;               // who the key belongs to ("root" for the admin key)
  std::string status = "Active";       // Active | Inactive
  std::int64_t created_ms = 0;
  crypto::Sealed secret;               // the secret access key, sealed with aad = access_key_id
};

enum class TxnMode { kRead, kWrite };

class Transaction {
 public:
  virtual ~Transaction() = default;  // rolls back unless committed

  // Secrets. Names are unique per region (kAlreadyExists on conflict), ARNs unique overall.
  virtual Result<std::optional<SecretRow>> GetSecretByName(const std::string& region,
                                                           const std::string& name) = 0;
  virtual Result<std::optional<SecretRow>> GetSecretByArn(const std::string& arn) = 0;
  virtual Result<std::optional<SecretRow>> GetSecretById(const std::string& id) = 0;
  // Every secret of a region, deleted ones included, ordered by (created_ms, id).
  virtual Result<std::vector<SecretRow>> ListSecrets(const std::string& region) = 0;
  // Secrets whose purge_ms <= now_ms, any region.
  virtual Result<std::vector<SecretRow>> ListSecretsDueForPurge(std::int64_t now_ms) = 0;
  // Every secret of every region, deleted ones included, ordered by id (`arca server rekey` walks
  // them all).
  virtual Result<std::vector<SecretRow>> ListAllSecrets() = 0;
  virtual Status InsertSecret(const SecretRow& row) = 0;
  virtual Status UpdateSecret(const SecretRow& row) = 0;  // by id; kNotFound if absent
  virtual Status DeleteSecret(const std::string& id) = 0;  // and all its versions

  // Versions of one secret, ordered by (created_ms, version_id).
  virtual Result<std::vector<VersionRow>> ListVersions(const std::string& secret_id) = 0;
  virtual Result<std::optional<VersionRow>> GetVersion(const std::string& secret_id,
                                                       const std::string& version_id) = 0;
  virtual Status InsertVersion(const VersionRow& row) = 0;  // kAlreadyExists on duplicate id
  virtual Status UpdateVersion(const VersionRow& row) = 0;  // labels, last access, sealed
  virtual Status DeleteVersion(const std::string& secret_id, const std::string& version_id) = 0;

  // Access keys.
  virtual Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) = 0;
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys() = 0;
  virtual Status PutAccessKey(const AccessKeyRow& row) = 0;  // insert or replace
  virtual Status DeleteAccessKey(const std::string& access_key_id) = 0;

  // Small settings (schema facts, the master key check values).
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;

  // Makes the writes durable; the transaction is finished afterwards whatever the outcome.
  virtual Status Commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::unique_ptr<Transaction>> Begin(TxnMode mode) = 0;
  // The change sequence of the last committed write.
  virtual std::uint64_t ChangeSequence() const = 0;
  // Cheap liveness check for /readyz.
  virtual Status Ping() = 0;
};

}  // namespace arca::store
