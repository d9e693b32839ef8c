#pragma once
// Shared by the SQL stores: the state a store and its transactions share (connection pool, the
// in-process writer lock, the known change sequences, the commit listeners), and the Transaction
// implementation, written once over a dialect's connection and statement types.
//
// A Dialect provides:
//   using Connection = ...;  // InTransaction(), Reusable()
//   using Statement = ...;   // Statement(Connection&, StmtId, std::string_view op); Bind*/Column*;
//                            // Result<bool> Step(); Result<int> Run() (rows changed)
//   static Status BeforeCommit(Connection&, std::optional<std::uint64_t> sequence,
//                              std::optional<std::uint64_t> latest_change);
// and SQL for every StmtId in which a plain INSERT either writes its row or fails with
// kAlreadyExists / kNotFound (SQLite), or writes nothing (PostgreSQL: ON CONFLICT DO NOTHING and
// WHERE EXISTS (parent), so that the transaction survives the conflict); the transaction turns
// "nothing written" into the same errors.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/sql/rows.h"
#include "store/sql/statements.h"
#include "store/store.h"

namespace arca::store::sql {

// What the store and its transactions share: the connection pool, the in-process writer lock, the
// last known change sequence and change log head, and the commit listeners. Outlives the Store
// while transactions are open. Thread-safety: thread-safe; mu_ guards idle_.
template <typename Connection>
class StoreState {
 public:
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;

  // `open` makes a new connection when none is idle; `writer_wait` bounds the wait for the
  // in-process writer lock.
  StoreState(Opener open, std::unique_ptr<Connection> first, std::uint64_t sequence,
             std::uint64_t latest_change, std::size_t max_idle,
             std::chrono::milliseconds writer_wait)
      : open_(std::move(open)),
        max_idle_(max_idle),
        writer_wait_(writer_wait),
        sequence_(sequence),
        latest_change_(latest_change) {
    idle_.push_back(std::move(first));
  }

  // An idle connection, or a new one.
  Result<std::unique_ptr<Connection>> Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
    }
    return open_();
  }

  // Returns a connection for reuse; closes it when it cannot be reused (still inside a
  // transaction after a failed rollback, or broken) or when enough are idle.
  void Release(std::unique_ptr<Connection> conn) {
    if (conn == nullptr || !conn->Reusable()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
    // else: conn closes when it goes out of scope (under the lock; closing is quick).
  }

  // The in-process writer lock, held by the open write transaction. (A flag under a condition
  // variable rather than std::timed_mutex: ThreadSanitizer does not understand the latter's timed
  // lock.)
  bool LockWriter() {
    std::unique_lock<std::mutex> lock(writer_mu_);
    if (!writer_cv_.wait_for(lock, writer_wait_, [this] { return !writer_held_; })) return false;
    writer_held_ = true;
    return true;
  }
  void UnlockWriter() {
    {
      std::lock_guard<std::mutex> lock(writer_mu_);
      writer_held_ = false;
    }
    writer_cv_.notify_one();
  }

  // Raises the known sequence to `seq` (never lowers it: commits may report out of order).
  void NoteSequence(std::uint64_t seq) { RaiseTo(sequence_, seq); }
  std::uint64_t sequence() const { return sequence_.load(std::memory_order_acquire); }

  // The newest change log sequence known; raised as NoteSequence.
  void NoteChange(std::uint64_t seq) { RaiseTo(latest_change_, seq); }
  std::uint64_t latest_change() const { return latest_change_.load(std::memory_order_acquire); }

  std::uint64_t AddListener(CommitListener listener) {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    const std::uint64_t id = ++last_listener_id_;
    listeners_.emplace_back(id, std::move(listener));
    return id;
  }
  void RemoveListener(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    std::erase_if(listeners_, [id](const auto& entry) { return entry.first == id; });
  }
  // Tells every listener about a commit that wrote change rows up to `latest_change`.
  // Each sequence is told once: with PostgreSQL both the committing thread and the listener thread
  // (receiving the commit's own NOTIFY) report it, whichever comes first.
  void NotifyCommit(std::uint64_t latest_change) {
    NoteChange(latest_change);
    std::lock_guard<std::mutex> lock(listeners_mu_);
    if (latest_change <= notified_) return;
    notified_ = latest_change;
    for (const auto& [id, listener] : listeners_) listener(latest_change);
  }

 private:
  static void RaiseTo(std::atomic<std::uint64_t>& value, std::uint64_t seq) {
    std::uint64_t cur = value.load(std::memory_order_relaxed);
    while (cur < seq && !value.compare_exchange_weak(cur, seq, std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
    }
  }

  const Opener open_;
  const std::size_t max_idle_;
  const std::chrono::milliseconds writer_wait_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_held_ = false;  // GUARDED_BY(writer_mu_)
  std::atomic<std::uint64_t> sequence_;
  std::atomic<std::uint64_t> latest_change_;
  std::mutex listeners_mu_;  // held while listeners run: RemoveListener waits for them
  std::uint64_t notified_ = 0;  // GUARDED_BY(listeners_mu_): the newest sequence told
  std::uint64_t last_listener_id_ = 0;                                   // GUARDED_BY(listeners_mu_)
  std::vector<std::pair<std::uint64_t, CommitListener>> listeners_;     // GUARDED_BY(listeners_mu_)
};

// Thread-safety: used by one thread at a time (as Transaction documents).
template <typename Dialect>
class SqlTransaction final : public Transaction {
 public:
  using Connection = typename Dialect::Connection;
  using Statement = typename Dialect::Statement;
  using State = StoreState<Connection>;

  SqlTransaction(std::shared_ptr<State> state, std::unique_ptr<Connection> conn, TxnMode mode)
      : state_(std::move(state)),
        conn_(std::move(conn)),
        mode_(mode),
        holds_writer_(mode == TxnMode::kWrite) {}

  ~SqlTransaction() override { Finish(); }

  Result<std::optional<SecretRow>> GetSecretByName(const std::string& region,
                                                   const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetSecretByName, "get secret by name");
    st.BindText(1, region);
    st.BindText(2, name);
    return OneSecret(st);
  }

  Result<std::optional<SecretRow>> GetSecretByArn(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetSecretByArn, "get secret by arn");
    st.BindText(1, arn);
    return OneSecret(st);
  }

  Result<std::optional<SecretRow>> GetSecretById(const std::string& id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetSecretById, "get secret by id");
    st.BindText(1, id);
    return OneSecret(st);
  }

  Result<std::vector<SecretRow>> ListSecrets(const std::string& region) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListSecrets, "list secrets");
    st.BindText(1, region);
    return AllSecrets(st);
  }

  Result<std::vector<SecretRow>> ListSecretsDueForPurge(std::int64_t now_ms) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListSecretsDueForPurge, "list secrets due for purge");
    st.BindInt(1, now_ms);
    return AllSecrets(st);
  }

  Result<std::vector<SecretRow>> ListAllSecrets() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListAllSecrets, "list all secrets");
    return AllSecrets(st);
  }

  Status InsertSecret(const SecretRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertSecret, "insert secret");
    BindSecret(st, row);
    ARCA_RETURN_IF_ERROR(Insert(st, "insert secret"));
    Touch(row.id);
    return OkStatus();
  }

  Status UpdateSecret(const SecretRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateSecret, "update secret");
    BindSecret(st, row);
    ARCA_RETURN_IF_ERROR(UpdateChecked(st, "Secret not found", "update secret", StmtId::kSecretExists, row.id));
    Touch(row.id);
    return OkStatus();
  }

  Status DeleteSecret(const std::string& id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    // The change row needs the secret's names and versions, which are gone after the delete.
    ARCA_ASSIGN_OR_RETURN(std::optional<SecretRow> before, GetSecretById(id));
    ARCA_ASSIGN_OR_RETURN(std::vector<std::string> version_ids, ListVersionIds(id));
    {
      Statement st(*conn_, StmtId::kDeleteSecret, "delete secret");
      st.BindText(1, id);
      ARCA_RETURN_IF_ERROR(Write(st, "Secret not found"));  // versions go by ON DELETE CASCADE
    }
    Touched& t = Touch(id);
    if (before.has_value()) t.removed = std::move(before);
    for (std::string& version_id : version_ids) TouchVersion(t, std::move(version_id));
    return OkStatus();
  }

  Result<std::vector<VersionRow>> ListVersions(const std::string& secret_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListVersions, "list versions");
    st.BindText(1, secret_id);
    std::vector<VersionRow> rows;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      ARCA_ASSIGN_OR_RETURN(VersionRow row, ReadVersion(st));
      rows.push_back(std::move(row));
    }
    return rows;
  }

  Result<std::optional<VersionRow>> GetVersion(const std::string& secret_id,
                                               const std::string& version_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetVersion, "get version");
    st.BindText(1, secret_id);
    st.BindText(2, version_id);
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return std::optional<VersionRow>();
    ARCA_ASSIGN_OR_RETURN(VersionRow row, ReadVersion(st));
    return std::optional<VersionRow>(std::move(row));
  }

  Status InsertVersion(const VersionRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    const std::string labels = EncodeLabels(row.labels);
    Statement st(*conn_, StmtId::kInsertVersion, "insert version");
    st.BindText(1, row.secret_id);
    st.BindText(2, row.version_id);
    st.BindInt(3, row.created_ms);
    st.BindOptionalInt(4, row.last_accessed_ms);
    st.BindText(5, labels);
    st.BindInt(6, row.binary ? 1 : 0);
    st.BindInt(7, row.sealed.key_version);
    st.BindBlob(8, row.sealed.wrapped_key);
    st.BindBlob(9, row.sealed.ciphertext);
    st.BindText(10, row.kms_key_arn);
    ARCA_RETURN_IF_ERROR(InsertChild(st, "insert version", StmtId::kSecretExists, row.secret_id));
    TouchVersion(Touch(row.secret_id), row.version_id);
    return OkStatus();
  }

  Status UpdateVersion(const VersionRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    const std::string labels = EncodeLabels(row.labels);
    Statement st(*conn_, StmtId::kUpdateVersion, "update version");
    st.BindText(1, row.secret_id);
    st.BindText(2, row.version_id);
    st.BindOptionalInt(3, row.last_accessed_ms);
    st.BindText(4, labels);
    st.BindInt(5, row.sealed.key_version);
    st.BindBlob(6, row.sealed.wrapped_key);
    st.BindBlob(7, row.sealed.ciphertext);
    st.BindText(8, row.kms_key_arn);
    ARCA_RETURN_IF_ERROR(Write(st, "Secret version not found"));
    TouchVersion(Touch(row.secret_id), row.version_id);
    return OkStatus();
  }

  Status DeleteVersion(const std::string& secret_id, const std::string& version_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteVersion, "delete version");
    st.BindText(1, secret_id);
    st.BindText(2, version_id);
    ARCA_RETURN_IF_ERROR(Write(st, "Secret version not found"));
    TouchVersion(Touch(secret_id), version_id);
    return OkStatus();
  }

  Result<std::optional<AccessKeyRow>> GetAccessKey(const std::string& access_key_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetAccessKey, "get access key");
    st.BindText(1, access_key_id);
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return std::optional<AccessKeyRow>();
    return std::optional<AccessKeyRow>(ReadAccessKey(st));
  }

  Result<std::vector<AccessKeyRow>> ListAccessKeys() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListAccessKeys, "list access keys");
    std::vector<AccessKeyRow> rows;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      rows.push_back(ReadAccessKey(st));
    }
    return rows;
  }

  Status PutAccessKey(const AccessKeyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kPutAccessKey, "put access key");
    st.BindText(1, row.access_key_id);
    st.BindText(2, row.principal);
    st.BindText(3, row.status);
    st.BindInt(4, row.created_ms);
    st.BindInt(5, row.secret.key_version);
    st.BindBlob(6, row.secret.wrapped_key);
    st.BindBlob(7, row.secret.ciphertext);
    return Write(st, nullptr);
  }

  Status DeleteAccessKey(const std::string& access_key_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteAccessKey, "delete access key");
    st.BindText(1, access_key_id);
    return Write(st, "Access key not found");
  }

  Result<std::vector<AccessKeyRow>> ListAccessKeysOf(const std::string& principal) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListAccessKeysOf, "list access keys of a principal");
    st.BindText(1, principal);
    return AllRows<AccessKeyRow>(st, ReadAccessKey<Statement>);
  }

  // ---- IAM users ----

  Result<std::optional<IamUserRow>> GetIamUser(const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamUser, "get iam user");
    st.BindText(1, name);
    return OneRow<IamUserRow>(st, ReadIamUser<Statement>);
  }

  Result<std::optional<IamUserRow>> GetIamUserById(const std::string& user_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamUserById, "get iam user by id");
    st.BindText(1, user_id);
    return OneRow<IamUserRow>(st, ReadIamUser<Statement>);
  }

  Result<std::vector<IamUserRow>> ListIamUsers() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamUsers, "list iam users");
    return AllRows<IamUserRow>(st, ReadIamUser<Statement>);
  }

  Status InsertIamUser(const IamUserRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamUser, "insert iam user");
    st.BindText(1, row.user_id);
    st.BindText(2, row.name);
    st.BindText(3, row.path);
    st.BindText(4, row.arn);
    st.BindInt(5, row.created_ms);
    return Insert(st, "insert iam user");
  }

  Status DeleteIamUser(const std::string& user_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    ARCA_RETURN_IF_ERROR(DeleteOwned(user_id));
    Statement st(*conn_, StmtId::kDeleteIamUser, "delete iam user");
    st.BindText(1, user_id);
    return Write(st, "IAM user not found");
  }

  // ---- IAM roles ----

  Result<std::optional<IamRoleRow>> GetIamRole(const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamRole, "get iam role");
    st.BindText(1, name);
    return OneRow<IamRoleRow>(st, ReadIamRole<Statement>);
  }

  Result<std::optional<IamRoleRow>> GetIamRoleByArn(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamRoleByArn, "get iam role by arn");
    st.BindText(1, arn);
    return OneRow<IamRoleRow>(st, ReadIamRole<Statement>);
  }

  Result<std::vector<IamRoleRow>> ListIamRoles() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamRoles, "list iam roles");
    return AllRows<IamRoleRow>(st, ReadIamRole<Statement>);
  }

  Status InsertIamRole(const IamRoleRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamRole, "insert iam role");
    BindIamRole(st, row);
    return Insert(st, "insert iam role");
  }

  Status UpdateIamRole(const IamRoleRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateIamRole, "update iam role");
    BindIamRole(st, row);
    return UpdateChecked(st, "IAM role not found", "update iam role", StmtId::kIamRoleExists,
                         row.role_id);
  }

  Status DeleteIamRole(const std::string& role_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    ARCA_RETURN_IF_ERROR(DeleteOwned(role_id));
    Statement st(*conn_, StmtId::kDeleteIamRole, "delete iam role");
    st.BindText(1, role_id);
    return Write(st, "IAM role not found");
  }

  // ---- IAM managed policies ----

  Result<std::optional<IamPolicyRow>> GetIamPolicyByArn(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamPolicyByArn, "get iam policy by arn");
    st.BindText(1, arn);
    return OneRow<IamPolicyRow>(st, ReadIamPolicy<Statement>);
  }

  Result<std::vector<IamPolicyRow>> ListIamPolicies() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamPolicies, "list iam policies");
    return AllRows<IamPolicyRow>(st, ReadIamPolicy<Statement>);
  }

  Status InsertIamPolicy(const IamPolicyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamPolicy, "insert iam policy");
    BindIamPolicy(st, row);
    return Insert(st, "insert iam policy");
  }

  Status UpdateIamPolicy(const IamPolicyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateIamPolicy, "update iam policy");
    BindIamPolicy(st, row);
    return UpdateChecked(st, "IAM policy not found", "update iam policy",
                         StmtId::kIamPolicyExists, row.policy_id);
  }

  Status DeleteIamPolicy(const std::string& policy_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    ARCA_RETURN_IF_ERROR(DeleteTags(policy_id));
    Statement st(*conn_, StmtId::kDeleteIamPolicy, "delete iam policy");
    st.BindText(1, policy_id);
    return Write(st, "IAM policy not found");  // versions and attachments go by ON DELETE CASCADE
  }

  Result<std::vector<IamPolicyVersionRow>> ListIamPolicyVersions(
      const std::string& policy_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamPolicyVersions, "list iam policy versions");
    st.BindText(1, policy_id);
    return AllRows<IamPolicyVersionRow>(st, ReadIamPolicyVersion<Statement>);
  }

  Result<std::optional<IamPolicyVersionRow>> GetIamPolicyVersion(
      const std::string& policy_id, const std::string& version_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamPolicyVersion, "get iam policy version");
    st.BindText(1, policy_id);
    st.BindText(2, version_id);
    return OneRow<IamPolicyVersionRow>(st, ReadIamPolicyVersion<Statement>);
  }

  Status InsertIamPolicyVersion(const IamPolicyVersionRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamPolicyVersion, "insert iam policy version");
    st.BindText(1, row.policy_id);
    st.BindText(2, row.version_id);
    st.BindText(3, row.document);
    st.BindInt(4, row.created_ms);
    return InsertChild(st, "insert iam policy version", StmtId::kIamPolicyExists, row.policy_id);
  }

  Status DeleteIamPolicyVersion(const std::string& policy_id,
                                const std::string& version_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteIamPolicyVersion, "delete iam policy version");
    st.BindText(1, policy_id);
    st.BindText(2, version_id);
    return Write(st, "IAM policy version not found");
  }

  // ---- attachments ----

  Result<std::vector<IamPolicyRow>> ListIamAttachedPolicies(const std::string& owner_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamAttachedPolicies, "list attached iam policies");
    st.BindText(1, owner_id);
    return AllRows<IamPolicyRow>(st, ReadIamPolicy<Statement>);
  }

  Result<std::int64_t> CountIamPolicyAttachments(const std::string& policy_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kCountIamPolicyAttachments, "count iam policy attachments");
    st.BindText(1, policy_id);
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return Corrupt("count(*) returned no row");
    return st.ColumnInt(0);
  }

  Status AttachIamPolicy(const std::string& owner_id, const std::string& policy_id,
                         std::int64_t attached_ms) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kAttachIamPolicy, "attach iam policy");
    st.BindText(1, owner_id);
    st.BindText(2, policy_id);
    st.BindInt(3, attached_ms);
    return InsertChildImpl(st, "attach iam policy", StmtId::kIamPolicyExists,
                           /*duplicate_ok=*/true, policy_id);
  }

  Status DetachIamPolicy(const std::string& owner_id, const std::string& policy_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDetachIamPolicy, "detach iam policy");
    st.BindText(1, owner_id);
    st.BindText(2, policy_id);
    return Write(st, "IAM policy attachment not found");
  }

  // ---- inline policies ----

  Result<std::vector<IamInlinePolicyRow>> ListIamInlinePolicies(
      const std::string& owner_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamInlinePolicies, "list iam inline policies");
    st.BindText(1, owner_id);
    return AllRows<IamInlinePolicyRow>(st, ReadIamInlinePolicy<Statement>);
  }

  Result<std::optional<IamInlinePolicyRow>> GetIamInlinePolicy(const std::string& owner_id,
                                                               const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamInlinePolicy, "get iam inline policy");
    st.BindText(1, owner_id);
    st.BindText(2, name);
    return OneRow<IamInlinePolicyRow>(st, ReadIamInlinePolicy<Statement>);
  }

  Status PutIamInlinePolicy(const IamInlinePolicyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kPutIamInlinePolicy, "put iam inline policy");
    st.BindText(1, row.owner_id);
    st.BindText(2, row.name);
    st.BindText(3, row.document);
    return Write(st, nullptr);
  }

  Status DeleteIamInlinePolicy(const std::string& owner_id, const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteIamInlinePolicy, "delete iam inline policy");
    st.BindText(1, owner_id);
    st.BindText(2, name);
    return Write(st, "IAM inline policy not found");
  }

  // ---- tags ----

  Result<TagList> GetIamTags(const std::string& entity_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamTags, "get iam tags");
    st.BindText(1, entity_id);
    TagList tags;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      tags.emplace_back(st.ColumnText(0), st.ColumnText(1));
    }
    return tags;
  }

  Status PutIamTags(const std::string& entity_id, const TagList& tags) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    ARCA_RETURN_IF_ERROR(DeleteTags(entity_id));
    for (std::size_t i = 0; i < tags.size(); ++i) {
      Statement st(*conn_, StmtId::kInsertIamTag, "insert iam tag");
      st.BindText(1, entity_id);
      st.BindInt(2, static_cast<std::int64_t>(i));
      st.BindText(3, tags[i].first);
      st.BindText(4, tags[i].second);
      ARCA_RETURN_IF_ERROR(Insert(st, "insert iam tag"));
    }
    return OkStatus();
  }

  // ---- OpenID Connect providers ----

  Result<std::optional<IamOidcProviderRow>> GetIamOidcProvider(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamOidcProvider, "get iam oidc provider");
    st.BindText(1, arn);
    return OneRow<IamOidcProviderRow>(st, ReadIamOidcProvider<Statement>);
  }

  Result<std::vector<IamOidcProviderRow>> ListIamOidcProviders() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamOidcProviders, "list iam oidc providers");
    return AllRows<IamOidcProviderRow>(st, ReadIamOidcProvider<Statement>);
  }

  Status InsertIamOidcProvider(const IamOidcProviderRow& row) override {
    return WriteOidcProvider(StmtId::kInsertIamOidcProvider, row, "insert iam oidc provider",
                             nullptr);
  }

  Status UpdateIamOidcProvider(const IamOidcProviderRow& row) override {
    return WriteOidcProvider(StmtId::kUpdateIamOidcProvider, row, "update iam oidc provider",
                             "IAM OIDC provider not found");
  }

  Status DeleteIamOidcProvider(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    ARCA_RETURN_IF_ERROR(DeleteTags(arn));
    Statement st(*conn_, StmtId::kDeleteIamOidcProvider, "delete iam oidc provider");
    st.BindText(1, arn);
    return Write(st, "IAM OIDC provider not found");
  }

  // ---- KMS keys, materials, aliases ----

  Result<std::optional<KmsKeyRow>> GetKmsKey(const std::string& key_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetKmsKey, "get kms key");
    st.BindText(1, key_id);
    return OneRow<KmsKeyRow>(st, ReadKmsKey<Statement>);
  }

  Result<std::vector<KmsKeyRow>> ListKmsKeys(const std::string& region) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    if (region.empty()) {
      Statement st(*conn_, StmtId::kListAllKmsKeys, "list all kms keys");
      return AllRows<KmsKeyRow>(st, ReadKmsKey<Statement>);
    }
    Statement st(*conn_, StmtId::kListKmsKeys, "list kms keys");
    st.BindText(1, region);
    return AllRows<KmsKeyRow>(st, ReadKmsKey<Statement>);
  }

  Status InsertKmsKey(const KmsKeyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsKey, "insert kms key");
    BindKmsKey(st, row);
    return Insert(st, "insert kms key");
  }

  Status UpdateKmsKey(const KmsKeyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateKmsKey, "update kms key");
    BindKmsKey(st, row);
    return UpdateChecked(st, "KMS key not found", "update kms key", StmtId::kKmsKeyExists,
                         row.key_id);
  }

  Status DeleteKmsKey(const std::string& key_id) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteKmsKey, "delete kms key");
    st.BindText(1, key_id);
    return Write(st, "KMS key not found");  // materials and aliases go by ON DELETE CASCADE
  }

  Result<std::vector<KmsMaterialRow>> ListKmsMaterials(const std::string& key_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListKmsMaterials, "list kms key materials");
    st.BindText(1, key_id);
    return AllRows<KmsMaterialRow>(st, ReadKmsMaterial<Statement>);
  }

  Status InsertKmsMaterial(const KmsMaterialRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsMaterial, "insert kms key material");
    BindKmsMaterial(st, row);
    return InsertChild(st, "insert kms key material", StmtId::kKmsKeyExists, row.key_id);
  }

  Status UpdateKmsMaterial(const KmsMaterialRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateKmsMaterial, "update kms key material");
    BindKmsMaterial(st, row);
    return Write(st, "KMS key material not found");
  }

  Result<std::optional<KmsAliasRow>> GetKmsAlias(const std::string& region,
                                                 const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetKmsAlias, "get kms alias");
    st.BindText(1, region);
    st.BindText(2, name);
    return OneRow<KmsAliasRow>(st, ReadKmsAlias<Statement>);
  }

  Result<std::vector<KmsAliasRow>> ListKmsAliases(const std::string& region) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    if (region.empty()) {
      Statement st(*conn_, StmtId::kListAllKmsAliases, "list all kms aliases");
      return AllRows<KmsAliasRow>(st, ReadKmsAlias<Statement>);
    }
    Statement st(*conn_, StmtId::kListKmsAliases, "list kms aliases");
    st.BindText(1, region);
    return AllRows<KmsAliasRow>(st, ReadKmsAlias<Statement>);
  }

  Status InsertKmsAlias(const KmsAliasRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsAlias, "insert kms alias");
    BindKmsAlias(st, row);
    return InsertChild(st, "insert kms alias", StmtId::kKmsKeyExists, row.target_key_id);
  }

  Status UpdateKmsAlias(const KmsAliasRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateKmsAlias, "update kms alias");
    BindKmsAlias(st, row);
    return Write(st, "KMS alias not found");
  }

  Status DeleteKmsAlias(const std::string& region, const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteKmsAlias, "delete kms alias");
    st.BindText(1, region);
    st.BindText(2, name);
    return Write(st, "KMS alias not found");
  }

  // ---- SSM parameters ----

  Result<std::optional<ParameterRow>> GetParameter(const std::string& region,
                                                   const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetParameter, "get parameter");
    st.BindText(1, region);
    st.BindText(2, name);
    return OneRow<ParameterRow>(st, ReadParameter<Statement>);
  }

  Result<std::vector<ParameterRow>> ListParameters(const std::string& region,
                                                   const std::string& prefix) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    const std::optional<std::string> end = PrefixSuccessor(prefix);
    if (!end.has_value()) {
      Statement st(*conn_, StmtId::kListParametersFrom, "list parameters");
      st.BindText(1, region);
      st.BindText(2, prefix);
      return AllRows<ParameterRow>(st, ReadParameter<Statement>);
    }
    Statement st(*conn_, StmtId::kListParametersRange, "list parameters");
    st.BindText(1, region);
    st.BindText(2, prefix);
    st.BindText(3, *end);
    return AllRows<ParameterRow>(st, ReadParameter<Statement>);
  }

  Status InsertParameter(const ParameterRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertParameter, "insert parameter");
    BindParameter(st, row);
    return Insert(st, "insert parameter");
  }

  Status UpdateParameter(const ParameterRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateParameter, "update parameter");
    BindParameter(st, row);
    return Write(st, "Parameter not found");
  }

  Status DeleteParameter(const std::string& region, const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteParameter, "delete parameter");
    st.BindText(1, region);
    st.BindText(2, name);
    return Write(st, "Parameter not found");  // versions go by ON DELETE CASCADE
  }

  Result<std::vector<ParameterVersionRow>> ListParameterVersions(const std::string& region,
                                                                 const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListParameterVersions, "list parameter versions");
    st.BindText(1, region);
    st.BindText(2, name);
    return AllRows<ParameterVersionRow>(st, ReadParameterVersion<Statement>);
  }

  Result<std::optional<ParameterVersionRow>> GetParameterVersion(const std::string& region,
                                                                 const std::string& name,
                                                                 std::int64_t version) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetParameterVersion, "get parameter version");
    st.BindText(1, region);
    st.BindText(2, name);
    st.BindInt(3, version);
    return OneRow<ParameterVersionRow>(st, ReadParameterVersion<Statement>);
  }

  Status InsertParameterVersion(const ParameterVersionRow& row) override {
    return WriteParameterVersion(StmtId::kInsertParameterVersion, row, "insert parameter version",
                                 nullptr);  // a missing parameter fails the foreign key: kNotFound
  }

  Status UpdateParameterVersion(const ParameterVersionRow& row) override {
    return WriteParameterVersion(StmtId::kUpdateParameterVersion, row, "update parameter version",
                                 "Parameter version not found");
  }

  Status DeleteParameterVersion(const std::string& region, const std::string& name,
                                std::int64_t version) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kDeleteParameterVersion, "delete parameter version");
    st.BindText(1, region);
    st.BindText(2, name);
    st.BindInt(3, version);
    return Write(st, "Parameter version not found");
  }

  Result<std::optional<std::string>> GetSetting(const std::string& key) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetSetting, "get setting");
    st.BindText(1, key);
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return std::optional<std::string>();
    return std::optional<std::string>(st.ColumnBlob(0));
  }

  Status PutSetting(const std::string& key, const std::string& value) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kPutSetting, "put setting");
    st.BindText(1, key);
    st.BindBlob(2, value);
    return Write(st, nullptr);
  }

  Result<ChangeBounds> GetChangeBounds() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kChangeBounds, "read change log bounds");
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return Corrupt("change log bounds query returned no row");
    ChangeBounds bounds;
    bounds.oldest = static_cast<std::uint64_t>(st.ColumnInt(0));
    bounds.latest = static_cast<std::uint64_t>(st.ColumnInt(1));
    state_->NoteChange(bounds.latest);
    return bounds;
  }

  Result<std::vector<ChangeRow>> ListChanges(std::uint64_t after_sequence,
                                             std::size_t limit) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListChanges, "list changes");
    st.BindInt(1, static_cast<std::int64_t>(after_sequence));
    st.BindInt(2, static_cast<std::int64_t>(limit));
    return AllRows<ChangeRow>(st, ReadChange<Statement>);
  }

  Result<std::int64_t> PruneChanges(std::int64_t before_ms, std::int64_t keep_at_least) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kPruneChanges, "prune changes");
    st.BindInt(1, before_ms);
    st.BindInt(2, std::max<std::int64_t>(keep_at_least, 0));
    ARCA_ASSIGN_OR_RETURN(int removed, st.Run());
    if (removed > 0) dirty_ = true;
    return static_cast<std::int64_t>(removed);
  }

  Result<bool> ClaimLease(const std::string& name, const std::string& owner, std::int64_t now_ms,
                          std::int64_t ttl_ms) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kClaimLease, "claim lease");
    st.BindText(1, name);
    st.BindText(2, owner);
    st.BindInt(3, now_ms);
    st.BindInt(4, ttl_ms);
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());  // not dirty_: no change sequence bump
    return changes > 0;
  }

  Status ReleaseLease(const std::string& name, const std::string& owner) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kReleaseLease, "release lease");
    st.BindText(1, name);
    st.BindText(2, owner);
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());
    (void)changes;
    return OkStatus();
  }

  void OmitFromChangeLog() override { omit_changes_ = true; }

  Status Commit() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    std::optional<std::uint64_t> sequence;
    std::optional<std::uint64_t> latest_change;
    Status status = CommitInner(&sequence, &latest_change);
    Finish();  // rolls back if the commit did not happen; the transaction is over either way
    if (status.ok() && sequence.has_value()) state_->NoteSequence(*sequence);
    if (status.ok() && latest_change.has_value()) state_->NotifyCommit(*latest_change);
    return status;
  }

 private:
  // A secret this transaction wrote: the versions it wrote, and the row as it was before a delete.
  struct Touched {
    std::string secret_id;
    std::vector<std::string> version_ids;  // in first-touch order, each once
    std::optional<SecretRow> removed;
  };

  Touched& Touch(const std::string& secret_id) {
    for (Touched& t : touched_) {
      if (t.secret_id == secret_id) return t;
    }
    touched_.push_back(Touched{secret_id, {}, std::nullopt});
    return touched_.back();
  }

  static void TouchVersion(Touched& t, std::string version_id) {
    if (std::find(t.version_ids.begin(), t.version_ids.end(), version_id) == t.version_ids.end()) {
      t.version_ids.push_back(std::move(version_id));
    }
  }

  Result<std::vector<std::string>> ListVersionIds(const std::string& secret_id) {
    Statement st(*conn_, StmtId::kListVersionIds, "list version ids");
    st.BindText(1, secret_id);
    return AllRows<std::string>(st, [](const Statement& s) { return s.ColumnText(0); });
  }

  // Writes one change row per touched secret, with the state the transaction leaves behind.
  // Returns the last sequence written, or nullopt when there was nothing to write.
  Result<std::optional<std::uint64_t>> WriteChangeRows() {
    std::optional<std::uint64_t> last;
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    for (Touched& t : touched_) {
      ARCA_ASSIGN_OR_RETURN(std::optional<SecretRow> current, GetSecretById(t.secret_id));
      const SecretRow* row = current.has_value() ? &*current : t.removed ? &*t.removed : nullptr;
      if (row == nullptr) continue;  // a version of a secret that never existed (refused by SQLite)
      std::vector<ChangeVersion> versions;
      versions.reserve(t.version_ids.size());
      for (const std::string& version_id : t.version_ids) {
        ChangeVersion v;
        v.version_id = version_id;
        Statement st(*conn_, StmtId::kGetVersionLabels, "read version labels");
        st.BindText(1, t.secret_id);
        st.BindText(2, version_id);
        ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
        if (has_row) {
          ARCA_ASSIGN_OR_RETURN(v.stages, DecodeLabels(st.ColumnText(0)));
        }
        versions.push_back(std::move(v));
      }
      const std::string encoded = EncodeChangeVersions(versions);
      Statement insert(*conn_, StmtId::kInsertChange, "insert change");
      insert.BindInt(1, now_ms);
      insert.BindText(2, "secret");
      insert.BindText(3, row->region);
      insert.BindText(4, row->name);
      insert.BindText(5, row->arn);
      insert.BindInt(6, !current.has_value() || current->deleted_ms.has_value() ? 1 : 0);
      insert.BindText(7, encoded);
      ARCA_ASSIGN_OR_RETURN(bool has_row, insert.Step());
      if (!has_row) return Corrupt("insert into changes returned no sequence");
      last = static_cast<std::uint64_t>(insert.ColumnInt(0));
    }
    return last;
  }

  Status CommitInner(std::optional<std::uint64_t>* sequence,
                     std::optional<std::uint64_t>* latest_change) {
    if (mode_ == TxnMode::kWrite && !touched_.empty() && !omit_changes_) {
      ARCA_ASSIGN_OR_RETURN(*latest_change, WriteChangeRows());
    }
    if (mode_ == TxnMode::kWrite && dirty_) {
      Statement bump(*conn_, StmtId::kBumpChangeSequence, "bump change sequence");
      ARCA_ASSIGN_OR_RETURN(bool has_row, bump.Step());
      if (!has_row) return Corrupt("change_sequence row is missing");
      *sequence = static_cast<std::uint64_t>(bump.ColumnInt(0));
    }  // bump is reset here: COMMIT refuses while a write statement is still running
    ARCA_RETURN_IF_ERROR(Dialect::BeforeCommit(*conn_, *sequence, *latest_change));
    Statement commit(*conn_, StmtId::kCommit, "commit");
    ARCA_RETURN_IF_ERROR(commit.Run());
    return OkStatus();
  }

  // Checks that the transaction may run another statement.
  Status Usable(bool write) {
    if (finished_) {
      return Error(Code::kInternal, "Internal database error",
                   "transaction used after Commit or after it failed");
    }
    if (write && mode_ != TxnMode::kWrite) {
      return Error(Code::kInternal, "Internal database error", "write in a read transaction");
    }
    if (!conn_->InTransaction()) {
      // SQLite rolls a transaction back by itself after some errors (IOERR, FULL, NOMEM); a
      // PostgreSQL transaction is aborted by any failed statement and its connection may be gone.
      // Either way the transaction is over.
      Finish();
      return Unavailable("the transaction was rolled back by the database after an error");
    }
    return OkStatus();
  }

  // Runs a write statement. `missing` (if set) is the kNotFound message when no row changed.
  Status Write(Statement& st, const char* missing) {
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());
    if (changes > 0) {
      dirty_ = true;
    } else if (missing != nullptr) {
      return Error(Code::kNotFound, missing);
    }
    return OkStatus();
  }

  // Runs an INSERT. Writing nothing means a duplicate (see the dialect contract above).
  Status Insert(Statement& st, std::string_view op) {
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());
    if (changes > 0) {
      dirty_ = true;
      return OkStatus();
    }
    return Error(Code::kAlreadyExists, std::string(op) + ": the item already exists");
  }

  // Runs an UPDATE by key that may collide with another row's unique columns. Changing nothing
  // means the row is missing (kNotFound with `missing`) or, when `exists` finds it, a collision
  // (kAlreadyExists; PostgreSQL's SQL skips a colliding update instead of failing).
  Status UpdateChecked(Statement& st, const char* missing, std::string_view op, StmtId exists,
                       const std::string& key) {
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());
    if (changes > 0) {
      dirty_ = true;
      return OkStatus();
    }
    Statement check(*conn_, exists, op);
    check.BindText(1, key);
    ARCA_ASSIGN_OR_RETURN(bool found, check.Step());
    if (!found) return Error(Code::kNotFound, missing);
    return Error(Code::kAlreadyExists, std::string(op) + ": the item already exists");
  }

  // Runs an INSERT of a row that needs a parent row (`parent` selects it by `keys`). Writing
  // nothing means the parent is missing (kNotFound) or a duplicate (kAlreadyExists; OK when
  // `duplicate_ok`).
  template <typename... Keys>
  Status InsertChild(Statement& st, std::string_view op, StmtId parent, const Keys&... keys) {
    return InsertChildImpl(st, op, parent, false, keys...);
  }
  template <typename... Keys>
  Status InsertChildImpl(Statement& st, std::string_view op, StmtId parent, bool duplicate_ok,
                         const Keys&... keys) {
    ARCA_ASSIGN_OR_RETURN(int changes, st.Run());
    if (changes > 0) {
      dirty_ = true;
      return OkStatus();
    }
    Statement check(*conn_, parent, op);
    int index = 0;
    (check.BindText(++index, keys), ...);
    ARCA_ASSIGN_OR_RETURN(bool parent_exists, check.Step());
    if (!parent_exists) {
      return Error(Code::kNotFound, std::string(op) + ": the item it belongs to does not exist");
    }
    if (duplicate_ok) return OkStatus();
    return Error(Code::kAlreadyExists, std::string(op) + ": the item already exists");
  }

  Status DeleteTags(const std::string& entity_id) {
    Statement st(*conn_, StmtId::kDeleteIamTags, "delete iam tags");
    st.BindText(1, entity_id);
    return Write(st, nullptr);
  }

  // What belongs to a user or role besides its row: tags, inline policies, attachments.
  Status DeleteOwned(const std::string& owner_id) {
    ARCA_RETURN_IF_ERROR(DeleteTags(owner_id));
    {
      Statement st(*conn_, StmtId::kDeleteIamInlinePoliciesOf, "delete iam inline policies");
      st.BindText(1, owner_id);
      ARCA_RETURN_IF_ERROR(Write(st, nullptr));
    }
    Statement st(*conn_, StmtId::kDeleteIamAttachmentsOf, "delete iam attachments");
    st.BindText(1, owner_id);
    return Write(st, nullptr);
  }

  Status WriteOidcProvider(StmtId id, const IamOidcProviderRow& row, std::string_view op,
                           const char* missing) {
    ARCA_RETURN_IF_ERROR(Usable(true));
    const std::string client_ids = EncodeLabels(row.client_ids);
    const std::string thumbprints = EncodeLabels(row.thumbprints);
    Statement st(*conn_, id, op);
    st.BindText(1, row.arn);
    st.BindText(2, row.url);
    st.BindText(3, client_ids);
    st.BindText(4, thumbprints);
    st.BindText(5, row.jwks);
    st.BindText(6, row.jwks_file);
    st.BindInt(7, row.created_ms);
    if (id == StmtId::kInsertIamOidcProvider) return Insert(st, op);
    return Write(st, missing);
  }

  // Insert writes every column; update only labels and meta (its SQL skips ?4 and has no ?7).
  Status WriteParameterVersion(StmtId id, const ParameterVersionRow& row, std::string_view op,
                               const char* missing) {
    ARCA_RETURN_IF_ERROR(Usable(true));
    const std::string labels = EncodeLabels(row.labels);
    Statement st(*conn_, id, op);
    st.BindText(1, row.region);
    st.BindText(2, row.name);
    st.BindInt(3, row.version);
    st.BindInt(4, row.created_ms);
    st.BindText(5, labels);
    st.BindText(6, row.meta);
    if (id == StmtId::kInsertParameterVersion) st.BindBlob(7, row.value);
    if (id == StmtId::kInsertParameterVersion) {
      return InsertChild(st, op, StmtId::kParameterExists, row.region, row.name);
    }
    return Write(st, missing);
  }

  static Result<std::optional<SecretRow>> OneSecret(Statement& st) {
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) return std::optional<SecretRow>();
    return std::optional<SecretRow>(ReadSecret(st));
  }

  static Result<std::vector<SecretRow>> AllSecrets(Statement& st) {
    std::vector<SecretRow> rows;
    while (true) {
      ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) break;
      rows.push_back(ReadSecret(st));
    }
    return rows;
  }

  // Ends the transaction: rolls back if still open, returns the connection, releases the writer
  // lock.
  void Finish() {
    finished_ = true;
    if (conn_ != nullptr) {
      if (conn_->InTransaction()) {
        Statement rollback(*conn_, StmtId::kRollback, "rollback");
        (void)rollback.Run();  // on failure Release() closes the connection instead of keeping it
      }
      state_->Release(std::move(conn_));
    }
    if (holds_writer_) {
      holds_writer_ = false;
      state_->UnlockWriter();
    }
  }

  std::shared_ptr<State> state_;
  std::unique_ptr<Connection> conn_;
  const TxnMode mode_;
  bool holds_writer_;  // a write transaction holds the writer lock until Finish()
  bool finished_ = false;
  bool dirty_ = false;  // a write statement changed at least one row
  std::vector<Touched> touched_;  // secrets written, for the change log (few per transaction)
  bool omit_changes_ = false;     // OmitFromChangeLog()
};

// What both SQL stores do alike: Begin (the in-process writer lock, a pooled connection, the
// dialect's BEGIN, the shared transaction) and the change-sequence and listener bookkeeping.
// Dialect also provides
//   static Status StartTransaction(Connection&, TxnMode, const Options&);  // BEGIN (+ locks)
// where Options is the store's (the PostgreSQL writer lock's timeout).
template <typename Dialect>
class SqlStore : public Store {
 public:
  using Connection = typename Dialect::Connection;
  using Options = typename Dialect::Options;
  using State = StoreState<Connection>;

  SqlStore(std::shared_ptr<State> state, Options options)
      : state_(std::move(state)), options_(std::move(options)) {}

  Result<std::unique_ptr<Transaction>> Begin(TxnMode mode) override {
    const bool write = mode == TxnMode::kWrite;
    if (write && !state_->LockWriter()) {
      return Error(Code::kUnavailable, "The database is busy; try again later",
                   "timed out waiting for the write transaction of another thread");
    }
    std::unique_ptr<Connection> conn;
    for (int attempt = 0;; ++attempt) {
      Result<std::unique_ptr<Connection>> acquired = state_->Acquire();
      if (!acquired.ok()) {
        if (write) state_->UnlockWriter();
        return std::move(acquired).error();
      }
      conn = std::move(acquired).value();
      Status begun = Dialect::StartTransaction(*conn, mode, options_);
      if (begun.ok()) break;
      // An idle pooled connection may have died meanwhile (the database restarted): it is
      // dropped, and one more connection is tried before the caller hears of it.
      const bool broken = !conn->Reusable();
      state_->Release(std::move(conn));  // closed instead when it cannot be reused
      if (broken && attempt == 0 && begun.error().code() == Code::kUnavailable) continue;
      if (write) state_->UnlockWriter();
      return std::move(begun).error();
    }
    std::unique_ptr<Transaction> txn =
        std::make_unique<SqlTransaction<Dialect>>(state_, std::move(conn), mode);
    return txn;
  }

  std::uint64_t ChangeSequence() const override { return state_->sequence(); }
  std::uint64_t LatestChange() const override { return state_->latest_change(); }
  std::uint64_t OnCommit(CommitListener listener) override {
    return state_->AddListener(std::move(listener));
  }
  void RemoveOnCommit(std::uint64_t id) override { state_->RemoveListener(id); }

 protected:
  std::shared_ptr<State> state_;
  const Options options_;
};

}  // namespace arca::store::sql
