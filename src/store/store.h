#pragma once
// Store: durable state behind one interface (sqlite/ is the embedded default; postgres/ is the store
// shared by several server replicas).
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

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
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
  // Empty: `sealed` is the master keyring's envelope. Otherwise the ARN of the KMS key whose
  // ciphertext blob `sealed.wrapped_key` holds (the data key, encrypted by kms/ under that key;
  // sealed.key_version is 0) and `sealed.ciphertext` is the value sealed with that data key.
  std::string kms_key_arn;
};

struct AccessKeyRow {
  std::string access_key_id;
  // Who the key belongs to: "root" for the account root, otherwise the IAM user's id ("AIDA...").
  std::string principal;
  std::string status = "Active";       // Active | Inactive
  std::int64_t created_ms = 0;
  crypto::Sealed secret;               // the secret access key, sealed with aad = access_key_id
};

// ---- IAM (the iam/ domain decides what the rows mean) ----
// Names of users, roles and managed policies are unique case-insensitively (ASCII), as IAM's are;
// lookups by name ignore case too.

using TagList = std::vector<std::pair<std::string, std::string>>;  // (key, value) in order

struct IamUserRow {
  std::string user_id;  // "AIDA..."
  std::string name;
  std::string path;
  std::string arn;
  std::int64_t created_ms = 0;
};

struct IamRoleRow {
  std::string role_id;  // "AROA..."
  std::string name;
  std::string path;
  std::string arn;
  std::string assume_role_policy;  // JSON text
  std::string description;
  std::int64_t max_session_duration = 3600;
  std::int64_t created_ms = 0;
};

struct IamPolicyRow {
  std::string policy_id;  // "ANPA..."
  std::string name;
  std::string path;
  std::string arn;
  std::string description;
  std::string default_version_id;
  std::int64_t next_version = 1;  // the number the next version created gets ("v" + number)
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

struct IamPolicyVersionRow {
  std::string policy_id;
  std::string version_id;  // "v1", "v2", ...
  std::string document;    // JSON text
  std::int64_t created_ms = 0;
};

// An inline policy of a user or role (owner_id is the user's or role's id).
struct IamInlinePolicyRow {
  std::string owner_id;
  std::string name;
  std::string document;
};

struct IamOidcProviderRow {
  std::string arn;
  std::string url;  // without "https://"
  std::vector<std::string> client_ids;
  std::vector<std::string> thumbprints;
  std::string jwks;
  std::string jwks_file;
  std::int64_t created_ms = 0;
};

// ---- KMS (the kms/ domain decides what the rows mean) ----

struct KmsKeyRow {
  std::string key_id;  // a UUID, as KMS's key ids
  std::string region;
  std::string arn;     // arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID
  std::int64_t created_ms = 0;
  std::string meta;    // domain-owned JSON: state, description, rotation, deletion date, tags, ...
};

// One generation of a key's material: version 1 at creation, one more per rotation. Older ones stay
// for decryption.
struct KmsMaterialRow {
  std::string key_id;
  std::int64_t version = 0;
  std::int64_t created_ms = 0;
  crypto::Sealed sealed;  // the 32-byte material sealed by the master keyring (aad chosen by kms/)
};

struct KmsAliasRow {
  std::string region;
  std::string name;           // "alias/..."
  std::string target_key_id;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
};

// ---- SSM Parameter Store (the params/ domain decides what the rows mean) ----
// A parameter is identified by (region, name); names compare exactly (case-sensitive).

struct ParameterRow {
  std::string region;
  std::string name;
  std::int64_t version = 0;  // the latest version's number
  std::string meta;          // domain-owned JSON: tags and whatever the domain keeps per parameter
};

struct ParameterVersionRow {
  std::string region;
  std::string name;
  std::int64_t version = 0;
  std::int64_t created_ms = 0;
  std::vector<std::string> labels;
  std::string meta;   // domain-owned JSON: type, key id, description, pattern, tier, policies, ...
  // String/StringList: the value. SecureString: the KMS ciphertext blob (never the plaintext).
  std::string value;
};

// ---- The change log (followers read "changes after N": the server's change stream) ----
// One row per secret touched by a committed write transaction (any of Insert/Update/DeleteSecret,
// Insert/Update/DeleteVersion), written by the transaction itself at Commit(), in the same
// transaction. Never values. Sequences are assigned in commit order, start at 1 and have no gaps
// (pruning removes only the oldest rows).

struct ChangeVersion {
  std::string version_id;
  std::vector<std::string> stages;  // the labels after the transaction; empty: the version is gone
};

struct ChangeRow {
  std::uint64_t sequence = 0;
  std::int64_t time_ms = 0;  // when the transaction committed (the committing process's wall clock)
  std::string kind;          // "secret"
  std::string region;
  std::string name;
  std::string arn;
  bool deleted = false;  // the secret is gone (purged) or scheduled for deletion
  std::vector<ChangeVersion> versions;  // the versions the transaction wrote, in first-write order
};

// What the change log holds: rows oldest..latest (oldest is 0 when it holds none; latest is the
// newest sequence ever assigned, 0 when none).
struct ChangeBounds {
  std::uint64_t oldest = 0;
  std::uint64_t latest = 0;
};

// Called after a commit that wrote change rows, with the newest sequence (see Store::OnCommit).
using CommitListener = std::function<void(std::uint64_t latest_change)>;

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
  // The keys of one principal, ordered by (created_ms, access_key_id).
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeysOf(const std::string& principal) = 0;

  // IAM users. Insert gives kAlreadyExists when the name (any case), id or ARN is taken. Delete
  // (kNotFound if absent) also removes the user's tags, inline policies and attachments, not its
  // access keys.
  virtual Result<std::optional<IamUserRow>> GetIamUser(const std::string& name) = 0;
  virtual Result<std::optional<IamUserRow>> GetIamUserById(const std::string& user_id) = 0;
  virtual Result<std::vector<IamUserRow>> ListIamUsers() = 0;  // by name, ignoring case
  virtual Status InsertIamUser(const IamUserRow& row) = 0;
  virtual Status DeleteIamUser(const std::string& user_id) = 0;

  // IAM roles; as users. Update is by role_id (kNotFound if absent).
  virtual Result<std::optional<IamRoleRow>> GetIamRole(const std::string& name) = 0;
  virtual Result<std::optional<IamRoleRow>> GetIamRoleByArn(const std::string& arn) = 0;
  virtual Result<std::vector<IamRoleRow>> ListIamRoles() = 0;  // by name, ignoring case
  virtual Status InsertIamRole(const IamRoleRow& row) = 0;
  virtual Status UpdateIamRole(const IamRoleRow& row) = 0;
  virtual Status DeleteIamRole(const std::string& role_id) = 0;

  // Customer managed policies and their versions. Delete also removes the versions, tags and
  // attachments.
  virtual Result<std::optional<IamPolicyRow>> GetIamPolicyByArn(const std::string& arn) = 0;
  virtual Result<std::vector<IamPolicyRow>> ListIamPolicies() = 0;  // by name, ignoring case
  virtual Status InsertIamPolicy(const IamPolicyRow& row) = 0;
  virtual Status UpdateIamPolicy(const IamPolicyRow& row) = 0;  // by policy_id
  virtual Status DeleteIamPolicy(const std::string& policy_id) = 0;
  // Ordered by (created_ms, version_id).
  virtual Result<std::vector<IamPolicyVersionRow>> ListIamPolicyVersions(
      const std::string& policy_id) = 0;
  virtual Result<std::optional<IamPolicyVersionRow>> GetIamPolicyVersion(
      const std::string& policy_id, const std::string& version_id) = 0;
  // kAlreadyExists on a duplicate version id, kNotFound when the policy does not exist.
  virtual Status InsertIamPolicyVersion(const IamPolicyVersionRow& row) = 0;
  virtual Status DeleteIamPolicyVersion(const std::string& policy_id,
                                        const std::string& version_id) = 0;

  // Managed policies attached to a user or role (owner_id is its id). Attaching an attached policy
  // changes nothing; detaching one that is not attached is kNotFound; kNotFound too when the policy
  // does not exist.
  virtual Result<std::vector<IamPolicyRow>> ListIamAttachedPolicies(
      const std::string& owner_id) = 0;  // in attach order
  virtual Result<std::int64_t> CountIamPolicyAttachments(const std::string& policy_id) = 0;
  virtual Status AttachIamPolicy(const std::string& owner_id, const std::string& policy_id,
                                 std::int64_t attached_ms) = 0;
  virtual Status DetachIamPolicy(const std::string& owner_id, const std::string& policy_id) = 0;

  // Inline policies of a user or role: by name; Put inserts or replaces.
  virtual Result<std::vector<IamInlinePolicyRow>> ListIamInlinePolicies(
      const std::string& owner_id) = 0;
  virtual Result<std::optional<IamInlinePolicyRow>> GetIamInlinePolicy(const std::string& owner_id,
                                                                       const std::string& name) = 0;
  virtual Status PutIamInlinePolicy(const IamInlinePolicyRow& row) = 0;
  virtual Status DeleteIamInlinePolicy(const std::string& owner_id, const std::string& name) = 0;

  // Tags of a user, role, policy (by id) or OIDC provider (by ARN). Put replaces the whole list
  // (keys must be unique).
  virtual Result<TagList> GetIamTags(const std::string& entity_id) = 0;
  virtual Status PutIamTags(const std::string& entity_id, const TagList& tags) = 0;

  // OpenID Connect providers, by ARN. Insert gives kAlreadyExists; Update and Delete kNotFound;
  // Delete also removes the tags.
  virtual Result<std::optional<IamOidcProviderRow>> GetIamOidcProvider(const std::string& arn) = 0;
  virtual Result<std::vector<IamOidcProviderRow>> ListIamOidcProviders() = 0;  // by ARN
  virtual Status InsertIamOidcProvider(const IamOidcProviderRow& row) = 0;
  virtual Status UpdateIamOidcProvider(const IamOidcProviderRow& row) = 0;
  virtual Status DeleteIamOidcProvider(const std::string& arn) = 0;

  // KMS keys. Insert: kAlreadyExists on a taken id or ARN. Update by key_id (kNotFound if absent).
  // Delete (kNotFound if absent) also removes the key's materials and the aliases pointing to it.
  virtual Result<std::optional<KmsKeyRow>> GetKmsKey(const std::string& key_id) = 0;
  // The keys of a region ordered by (created_ms, key_id); every region's when `region` is empty.
  virtual Result<std::vector<KmsKeyRow>> ListKmsKeys(const std::string& region) = 0;
  virtual Status InsertKmsKey(const KmsKeyRow& row) = 0;
  virtual Status UpdateKmsKey(const KmsKeyRow& row) = 0;
  virtual Status DeleteKmsKey(const std::string& key_id) = 0;
  // Materials of a key ordered by version. Insert: kAlreadyExists on a duplicate version. Update
  // replaces `sealed` (rekey).
  virtual Result<std::vector<KmsMaterialRow>> ListKmsMaterials(const std::string& key_id) = 0;
  virtual Status InsertKmsMaterial(const KmsMaterialRow& row) = 0;
  virtual Status UpdateKmsMaterial(const KmsMaterialRow& row) = 0;
  // Aliases by (region, name). Insert: kAlreadyExists; Update (target, updated_ms) and Delete:
  // kNotFound if absent. List is ordered by name.
  virtual Result<std::optional<KmsAliasRow>> GetKmsAlias(const std::string& region,
                                                         const std::string& name) = 0;
  virtual Result<std::vector<KmsAliasRow>> ListKmsAliases(const std::string& region) = 0;
  virtual Status InsertKmsAlias(const KmsAliasRow& row) = 0;
  virtual Status UpdateKmsAlias(const KmsAliasRow& row) = 0;
  virtual Status DeleteKmsAlias(const std::string& region, const std::string& name) = 0;

  // SSM parameters. Insert: kAlreadyExists; Update (version, meta) and Delete: kNotFound if
  // absent; Delete also removes the versions.
  virtual Result<std::optional<ParameterRow>> GetParameter(const std::string& region,
                                                           const std::string& name) = 0;
  // The parameters of a region whose name starts with `prefix` (byte-wise; "" for all), ordered by
  // name (byte-wise).
  virtual Result<std::vector<ParameterRow>> ListParameters(const std::string& region,
                                                           const std::string& prefix) = 0;
  virtual Status InsertParameter(const ParameterRow& row) = 0;
  virtual Status UpdateParameter(const ParameterRow& row) = 0;
  virtual Status DeleteParameter(const std::string& region, const std::string& name) = 0;
  // Versions of one parameter ordered by version. Insert: kAlreadyExists on a duplicate version,
  // kNotFound when the parameter does not exist. Update replaces labels and meta. Delete: kNotFound
  // if absent.
  virtual Result<std::vector<ParameterVersionRow>> ListParameterVersions(
      const std::string& region, const std::string& name) = 0;
  virtual Result<std::optional<ParameterVersionRow>> GetParameterVersion(
      const std::string& region, const std::string& name, std::int64_t version) = 0;
  virtual Status InsertParameterVersion(const ParameterVersionRow& row) = 0;
  virtual Status UpdateParameterVersion(const ParameterVersionRow& row) = 0;
  virtual Status DeleteParameterVersion(const std::string& region, const std::string& name,
                                        std::int64_t version) = 0;

  // Small settings (schema facts, the master key check values).
  virtual Result<std::optional<std::string>> GetSetting(const std::string& key) = 0;
  virtual Status PutSetting(const std::string& key, const std::string& value) = 0;

  // The change log. ListChanges: rows with sequence > after_sequence, oldest first, at most `limit`.
  virtual Result<ChangeBounds> GetChangeBounds() = 0;
  virtual Result<std::vector<ChangeRow>> ListChanges(std::uint64_t after_sequence,
                                                     std::size_t limit) = 0;
  // Removes the rows older than `before_ms`, but never any of the newest `keep_at_least` rows.
  // Returns how many were removed. (It writes no change row itself.)
  virtual Result<std::int64_t> PruneChanges(std::int64_t before_ms, std::int64_t keep_at_least) = 0;

  // Leases: a named piece of background work (the purge, the rotation engine, ...) done by one
  // process at a time among all that share the store. ClaimLease takes `name` for `owner` until
  // now_ms + ttl_ms when it is free, expired or already `owner`'s (a renewal) and returns true;
  // false when another owner holds it unexpired. ReleaseLease gives it back if `owner` holds it.
  // Neither writes a change row nor bumps the change sequence (renewals must not empty caches).
  virtual Result<bool> ClaimLease(const std::string& name, const std::string& owner,
                                  std::int64_t now_ms, std::int64_t ttl_ms) = 0;
  virtual Status ReleaseLease(const std::string& name, const std::string& owner) = 0;

  // The transaction's writes are bookkeeping that changes no secret's value, labels or settings
  // (the day a version was last read): Commit() writes no change row for them, so followers of the
  // change log (the operator's push sync) are not woken by reads.
  virtual void OmitFromChangeLog() = 0;

  // Makes the writes durable; the transaction is finished afterwards whatever the outcome.
  virtual Status Commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::unique_ptr<Transaction>> Begin(TxnMode mode) = 0;
  // The change sequence of the last committed write.
  virtual std::uint64_t ChangeSequence() const = 0;
  // The newest change log sequence this process knows of (read at open, raised by its own commits
  // and by GetChangeBounds()), 0 when none; no I/O.
  virtual std::uint64_t LatestChange() const = 0;
  // Registers `listener`, called after every commit that wrote change rows (on the committing
  // thread, after the commit is durable, with the new latest sequence; with PostgreSQL also for
  // other replicas' commits, on the store's listener thread). It must be quick and must not call OnCommit/RemoveOnCommit. Returns
  // an id for RemoveOnCommit, which waits for a call in progress to finish.
  virtual std::uint64_t OnCommit(CommitListener listener) = 0;
  virtual void RemoveOnCommit(std::uint64_t id) = 0;
  // Cheap liveness check for /readyz.
  virtual Status Ping() = 0;
  // How many operations failed inside the store (I/O errors, busy timeouts, corruption; not
  // constraint conflicts, which are the caller's), for /metrics.
  virtual std::uint64_t ErrorCount() const = 0;
};

}  // namespace arca::store
