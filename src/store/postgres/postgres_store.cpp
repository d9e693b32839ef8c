#include "store/postgres/postgres_store.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "core/log.h"
#include "store/postgres/connection.h"
#include "store/postgres/schema.h"
#include "store/sql/transaction.h"

namespace arca::store {

namespace pg {

// Column orders must agree with store/sql/rows.h (as SQLite's, sqlite_store.cpp). Inserts write
// nothing instead of failing on a duplicate or a missing parent row (ON CONFLICT DO NOTHING,
// WHERE EXISTS), so that the transaction stays usable, as SQLite's does after a constraint error:
// store/sql/transaction.h turns "nothing written" into kAlreadyExists / kNotFound. Parameters in a
// SELECT list carry casts: PostgreSQL infers no type for them there.
const char* SqlFor(StmtId id) {
  switch (id) {
    case StmtId::kBeginRead:
      return "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    case StmtId::kBeginWrite:
      return "BEGIN";
    case StmtId::kCommit:
      return "COMMIT";
    case StmtId::kRollback:
      return "ROLLBACK";
    case StmtId::kBumpChangeSequence:
      return "UPDATE change_state SET seq = seq + 1 WHERE id = 1 RETURNING seq";
    case StmtId::kReadChangeSequence:
      return "SELECT seq, latest_change FROM change_state WHERE id = 1";

    case StmtId::kGetSecretByName:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE region = $1 AND name = $2";
    case StmtId::kGetSecretByArn:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE arn = $1";
    case StmtId::kGetSecretById:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE id = $1";
    case StmtId::kListSecrets:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE region = $1 ORDER BY created_ms, id";
    case StmtId::kListSecretsDueForPurge:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE purge_ms <= $1 ORDER BY purge_ms, id";
    case StmtId::kListAllSecrets:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "ORDER BY id";
    case StmtId::kInsertSecret:
      return "INSERT INTO secrets (id, region, name, arn, created_ms, deleted_ms, purge_ms, meta) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateSecret:
      return "UPDATE secrets SET region = $2, name = $3, arn = $4, created_ms = $5, "
             "deleted_ms = $6, purge_ms = $7, meta = $8 WHERE id = $1 AND NOT EXISTS ("
             "SELECT 1 FROM secrets o WHERE o.id <> $1 AND ((o.region = $2 AND o.name = $3) OR "
             "o.arn = $4))";
    case StmtId::kDeleteSecret:
      return "DELETE FROM secrets WHERE id = $1";

    case StmtId::kListVersions:
      return "SELECT secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary, "
             "key_version, wrapped_key, ciphertext, kms_key_arn FROM versions WHERE secret_id = $1 "
             "ORDER BY created_ms, version_id";
    case StmtId::kGetVersion:
      return "SELECT secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary, "
             "key_version, wrapped_key, ciphertext, kms_key_arn FROM versions "
             "WHERE secret_id = $1 AND version_id = $2";
    case StmtId::kInsertVersion:
      return "INSERT INTO versions (secret_id, version_id, created_ms, last_accessed_ms, labels, "
             "is_binary, key_version, wrapped_key, ciphertext, kms_key_arn) "
             "SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::text, $6::integer, $7::bigint, "
             "$8::bytea, $9::bytea, $10::text WHERE EXISTS (SELECT 1 FROM secrets WHERE id = $1) "
             "ON CONFLICT DO NOTHING";
    case StmtId::kUpdateVersion:
      return "UPDATE versions SET last_accessed_ms = $3, labels = $4, key_version = $5, "
             "wrapped_key = $6, ciphertext = $7, kms_key_arn = $8 "
             "WHERE secret_id = $1 AND version_id = $2";
    case StmtId::kDeleteVersion:
      return "DELETE FROM versions WHERE secret_id = $1 AND version_id = $2";

    case StmtId::kGetAccessKey:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys WHERE access_key_id = $1";
    case StmtId::kListAccessKeys:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys ORDER BY created_ms, access_key_id";
    case StmtId::kPutAccessKey:
      return "INSERT INTO access_keys (access_key_id, principal, status, created_ms, key_version, "
             "wrapped_key, ciphertext) VALUES ($1, $2, $3, $4, $5, $6, $7) "
             "ON CONFLICT (access_key_id) DO UPDATE SET principal = excluded.principal, "
             "status = excluded.status, created_ms = excluded.created_ms, "
             "key_version = excluded.key_version, wrapped_key = excluded.wrapped_key, "
             "ciphertext = excluded.ciphertext";
    case StmtId::kDeleteAccessKey:
      return "DELETE FROM access_keys WHERE access_key_id = $1";

    case StmtId::kListAccessKeysOf:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys WHERE principal = $1 ORDER BY created_ms, access_key_id";

    case StmtId::kGetSetting:
      return "SELECT value FROM settings WHERE key = $1";
    case StmtId::kPutSetting:
      return "INSERT INTO settings (key, value) VALUES ($1, $2) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

    case StmtId::kGetIamUser:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users WHERE lower(name) = lower($1)";
    case StmtId::kGetIamUserById:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users WHERE user_id = $1";
    case StmtId::kListIamUsers:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users ORDER BY lower(name), user_id";
    case StmtId::kInsertIamUser:
      return "INSERT INTO iam_users (user_id, name, path, arn, created_ms) VALUES ($1, $2, $3, $4, $5) "
             "ON CONFLICT DO NOTHING";
    case StmtId::kDeleteIamUser:
      return "DELETE FROM iam_users WHERE user_id = $1";

    case StmtId::kGetIamRole:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles WHERE lower(name) = lower($1)";
    case StmtId::kGetIamRoleByArn:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles WHERE arn = $1";
    case StmtId::kListIamRoles:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles ORDER BY lower(name), role_id";
    case StmtId::kInsertIamRole:
      return "INSERT INTO iam_roles (role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
             "ON CONFLICT DO NOTHING";
    case StmtId::kUpdateIamRole:
      return "UPDATE iam_roles SET name = $2, path = $3, arn = $4, assume_role_policy = $5, "
             "description = $6, max_session_duration = $7, created_ms = $8 WHERE role_id = $1 "
             "AND NOT EXISTS (SELECT 1 FROM iam_roles o WHERE o.role_id <> $1 AND "
             "(lower(o.name) = lower($2) OR o.arn = $4))";
    case StmtId::kDeleteIamRole:
      return "DELETE FROM iam_roles WHERE role_id = $1";

    case StmtId::kGetIamPolicyByArn:
      return "SELECT policy_id, name, path, arn, description, default_version_id, next_version, "
             "created_ms, updated_ms FROM iam_policies WHERE arn = $1";
    case StmtId::kListIamPolicies:
      return "SELECT policy_id, name, path, arn, description, default_version_id, next_version, "
             "created_ms, updated_ms FROM iam_policies ORDER BY lower(name), policy_id";
    case StmtId::kInsertIamPolicy:
      return "INSERT INTO iam_policies (policy_id, name, path, arn, description, "
             "default_version_id, next_version, created_ms, updated_ms) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateIamPolicy:
      return "UPDATE iam_policies SET name = $2, path = $3, arn = $4, description = $5, "
             "default_version_id = $6, next_version = $7, created_ms = $8, updated_ms = $9 "
             "WHERE policy_id = $1 AND NOT EXISTS (SELECT 1 FROM iam_policies o WHERE "
             "o.policy_id <> $1 AND (lower(o.name) = lower($2) OR o.arn = $4))";
    case StmtId::kDeleteIamPolicy:
      return "DELETE FROM iam_policies WHERE policy_id = $1";

    case StmtId::kListIamPolicyVersions:
      return "SELECT policy_id, version_id, document, created_ms FROM iam_policy_versions "
             "WHERE policy_id = $1 ORDER BY created_ms, version_id";
    case StmtId::kGetIamPolicyVersion:
      return "SELECT policy_id, version_id, document, created_ms FROM iam_policy_versions "
             "WHERE policy_id = $1 AND version_id = $2";
    case StmtId::kInsertIamPolicyVersion:
      return "INSERT INTO iam_policy_versions (policy_id, version_id, document, created_ms) "
             "SELECT $1::text, $2::text, $3::text, $4::bigint "
             "WHERE EXISTS (SELECT 1 FROM iam_policies WHERE policy_id = $1) ON CONFLICT DO NOTHING";
    case StmtId::kDeleteIamPolicyVersion:
      return "DELETE FROM iam_policy_versions WHERE policy_id = $1 AND version_id = $2";

    case StmtId::kListIamAttachedPolicies:
      return "SELECT p.policy_id, p.name, p.path, p.arn, p.description, p.default_version_id, "
             "p.next_version, p.created_ms, p.updated_ms FROM iam_attachments a "
             "JOIN iam_policies p ON p.policy_id = a.policy_id WHERE a.owner_id = $1 "
             "ORDER BY a.attached_ms, a.position";
    case StmtId::kCountIamPolicyAttachments:
      return "SELECT count(*) FROM iam_attachments WHERE policy_id = $1";
    case StmtId::kAttachIamPolicy:
      return "INSERT INTO iam_attachments (owner_id, policy_id, attached_ms) "
             "SELECT $1::text, $2::text, $3::bigint "
             "WHERE EXISTS (SELECT 1 FROM iam_policies WHERE policy_id = $2) "
             "ON CONFLICT (owner_id, policy_id) DO NOTHING";
    case StmtId::kDetachIamPolicy:
      return "DELETE FROM iam_attachments WHERE owner_id = $1 AND policy_id = $2";
    case StmtId::kDeleteIamAttachmentsOf:
      return "DELETE FROM iam_attachments WHERE owner_id = $1";

    case StmtId::kListIamInlinePolicies:
      return "SELECT owner_id, name, document FROM iam_inline_policies WHERE owner_id = $1 "
             "ORDER BY name";
    case StmtId::kGetIamInlinePolicy:
      return "SELECT owner_id, name, document FROM iam_inline_policies "
             "WHERE owner_id = $1 AND name = $2";
    case StmtId::kPutIamInlinePolicy:
      return "INSERT INTO iam_inline_policies (owner_id, name, document) VALUES ($1, $2, $3) "
             "ON CONFLICT (owner_id, name) DO UPDATE SET document = excluded.document";
    case StmtId::kDeleteIamInlinePolicy:
      return "DELETE FROM iam_inline_policies WHERE owner_id = $1 AND name = $2";
    case StmtId::kDeleteIamInlinePoliciesOf:
      return "DELETE FROM iam_inline_policies WHERE owner_id = $1";

    case StmtId::kGetIamTags:
      return "SELECT key, value FROM iam_tags WHERE entity_id = $1 ORDER BY position";
    case StmtId::kDeleteIamTags:
      return "DELETE FROM iam_tags WHERE entity_id = $1";
    case StmtId::kInsertIamTag:
      return "INSERT INTO iam_tags (entity_id, position, key, value) VALUES ($1, $2, $3, $4) "
             "ON CONFLICT DO NOTHING";

    case StmtId::kGetIamOidcProvider:
      return "SELECT arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms "
             "FROM iam_oidc_providers WHERE arn = $1";
    case StmtId::kListIamOidcProviders:
      return "SELECT arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms "
             "FROM iam_oidc_providers ORDER BY arn";
    case StmtId::kInsertIamOidcProvider:
      return "INSERT INTO iam_oidc_providers (arn, url, client_ids, thumbprints, jwks, jwks_file, "
             "created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateIamOidcProvider:
      return "UPDATE iam_oidc_providers SET url = $2, client_ids = $3, thumbprints = $4, jwks = "
             "$5, "
             "jwks_file = $6, created_ms = $7 WHERE arn = $1";
    case StmtId::kDeleteIamOidcProvider:
      return "DELETE FROM iam_oidc_providers WHERE arn = $1";

    case StmtId::kGetKmsKey:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys WHERE key_id = $1";
    case StmtId::kListKmsKeys:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys WHERE region = $1 "
             "ORDER BY created_ms, key_id";
    case StmtId::kListAllKmsKeys:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys "
             "ORDER BY created_ms, key_id";
    case StmtId::kInsertKmsKey:
      return "INSERT INTO kms_keys (key_id, region, arn, created_ms, meta) "
             "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateKmsKey:
      return "UPDATE kms_keys SET region = $2, arn = $3, created_ms = $4, meta = $5 "
             "WHERE key_id = $1 AND NOT EXISTS (SELECT 1 FROM kms_keys o WHERE o.key_id <> $1 "
             "AND o.arn = $3)";
    case StmtId::kDeleteKmsKey:
      return "DELETE FROM kms_keys WHERE key_id = $1";

    case StmtId::kListKmsMaterials:
      return "SELECT key_id, version, created_ms, key_version, wrapped_key, ciphertext "
             "FROM kms_materials WHERE key_id = $1 ORDER BY version";
    case StmtId::kInsertKmsMaterial:
      return "INSERT INTO kms_materials (key_id, version, created_ms, key_version, wrapped_key, "
             "ciphertext) SELECT $1::text, $2::bigint, $3::bigint, $4::bigint, $5::bytea, $6::bytea "
             "WHERE EXISTS (SELECT 1 FROM kms_keys WHERE key_id = $1) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateKmsMaterial:
      return "UPDATE kms_materials SET key_version = $4, wrapped_key = $5, ciphertext = $6 "
             "WHERE key_id = $1 AND version = $2 AND ($3::bigint IS NULL OR true)";

    case StmtId::kGetKmsAlias:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "WHERE region = $1 AND name = $2";
    case StmtId::kListKmsAliases:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "WHERE region = $1 ORDER BY name";
    case StmtId::kListAllKmsAliases:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "ORDER BY name, region";
    case StmtId::kInsertKmsAlias:
      return "INSERT INTO kms_aliases (region, name, target_key_id, created_ms, updated_ms) "
             "SELECT $1::text, $2::text, $3::text, $4::bigint, $5::bigint "
             "WHERE EXISTS (SELECT 1 FROM kms_keys WHERE key_id = $3) ON CONFLICT DO NOTHING";
    case StmtId::kUpdateKmsAlias:
      return "UPDATE kms_aliases SET target_key_id = $3, updated_ms = $5 "
             "WHERE region = $1 AND name = $2 AND ($4::bigint IS NULL OR true) "
             "AND EXISTS (SELECT 1 FROM kms_keys WHERE key_id = $3)";
    case StmtId::kDeleteKmsAlias:
      return "DELETE FROM kms_aliases WHERE region = $1 AND name = $2";

    case StmtId::kGetParameter:
      return "SELECT region, name, version, meta FROM parameters WHERE region = $1 AND name = $2";
    // Prefix listings are ranges on the primary key (region, name), never LIKE: names compare
    // byte-wise (BINARY) and '%' or '_' in a prefix mean themselves.
    case StmtId::kListParametersFrom:
      return "SELECT region, name, version, meta FROM parameters "
             "WHERE region = $1 AND name >= $2 ORDER BY name";
    case StmtId::kListParametersRange:
      return "SELECT region, name, version, meta FROM parameters "
             "WHERE region = $1 AND name >= $2 AND name < $3 ORDER BY name";
    case StmtId::kInsertParameter:
      return "INSERT INTO parameters (region, name, version, meta) VALUES ($1, $2, $3, $4) "
             "ON CONFLICT DO NOTHING";
    case StmtId::kUpdateParameter:
      return "UPDATE parameters SET version = $3, meta = $4 WHERE region = $1 AND name = $2";
    case StmtId::kDeleteParameter:
      return "DELETE FROM parameters WHERE region = $1 AND name = $2";

    case StmtId::kListParameterVersions:
      return "SELECT region, name, version, created_ms, labels, meta, value FROM "
             "parameter_versions WHERE region = $1 AND name = $2 ORDER BY version";
    case StmtId::kGetParameterVersion:
      return "SELECT region, name, version, created_ms, labels, meta, value FROM "
             "parameter_versions WHERE region = $1 AND name = $2 AND version = $3";
    case StmtId::kInsertParameterVersion:
      return "INSERT INTO parameter_versions (region, name, version, created_ms, labels, meta, "
             "value) SELECT $1::text, $2::text, $3::bigint, $4::bigint, $5::text, $6::text, $7::bytea "
             "WHERE EXISTS (SELECT 1 FROM parameters WHERE region = $1 AND name = $2) "
             "ON CONFLICT DO NOTHING";
    case StmtId::kUpdateParameterVersion:
      return "UPDATE parameter_versions SET labels = $5, meta = $6 "
             "WHERE region = $1 AND name = $2 AND version = $3 AND ($4::bigint IS NULL OR true)";
    case StmtId::kDeleteParameterVersion:
      return "DELETE FROM parameter_versions WHERE region = $1 AND name = $2 AND version = $3";

    case StmtId::kListVersionIds:
      return "SELECT version_id FROM versions WHERE secret_id = $1 ORDER BY created_ms, version_id";
    case StmtId::kGetVersionLabels:
      return "SELECT labels FROM versions WHERE secret_id = $1 AND version_id = $2";
    case StmtId::kInsertChange:
      return "WITH s AS (UPDATE change_state SET latest_change = latest_change + 1 WHERE id = 1 "
             "RETURNING latest_change) "
             "INSERT INTO changes (sequence, time_ms, kind, region, name, arn, deleted, versions) "
             "SELECT s.latest_change, $1::bigint, $2::text, $3::text, $4::text, $5::text, "
             "$6::integer, $7::text FROM s RETURNING sequence";
    case StmtId::kListChanges:
      return "SELECT sequence, time_ms, kind, region, name, arn, deleted, versions FROM changes "
             "WHERE sequence > $1 ORDER BY sequence LIMIT $2";
    case StmtId::kChangeBounds:
      return "SELECT coalesce((SELECT min(sequence) FROM changes), 0), "
             "(SELECT latest_change FROM change_state WHERE id = 1)";
    case StmtId::kPruneChanges:
      return "DELETE FROM changes WHERE time_ms < $1 AND "
             "sequence <= (SELECT coalesce(max(sequence), 0) FROM changes) - $2";

    case StmtId::kClaimLease:
      return "INSERT INTO leases (name, owner, expires_ms) VALUES ($1, $2, $3::bigint + $4::bigint) "
             "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
             "expires_ms = excluded.expires_ms "
             "WHERE leases.owner = excluded.owner OR leases.expires_ms <= $3::bigint";
    case StmtId::kReleaseLease:
      return "DELETE FROM leases WHERE name = $1 AND owner = $2";

    case StmtId::kSecretExists:
      return "SELECT 1 FROM secrets WHERE id = $1";
    case StmtId::kIamPolicyExists:
      return "SELECT 1 FROM iam_policies WHERE policy_id = $1";
    case StmtId::kIamRoleExists:
      return "SELECT 1 FROM iam_roles WHERE role_id = $1";
    case StmtId::kKmsKeyExists:
      return "SELECT 1 FROM kms_keys WHERE key_id = $1";
    case StmtId::kParameterExists:
      return "SELECT 1 FROM parameters WHERE region = $1 AND name = $2";

    case StmtId::kNotify:
      return "SELECT pg_notify('arca_changes', $1)";

    case StmtId::kCount:
      break;
  }
  return "";
}

}  // namespace pg

namespace {

using pg::Connection;
using pg::Statement;
using pg::StmtId;
using sql::Corrupt;

using pg::kWriterLockKey;
constexpr const char* kChannel = "arca_changes";

std::string NotifyPayload(std::optional<std::uint64_t> sequence,
                          std::optional<std::uint64_t> latest_change) {
  return std::to_string(sequence.value_or(0)) + " " + std::to_string(latest_change.value_or(0));
}

// PostgreSQL's side of the shared transaction (store/sql/transaction.h): every write that changed
// something tells the other replicas, inside the transaction (delivered at COMMIT, never for a
// rollback).
struct PostgresDialect {
  using Connection = pg::Connection;
  using Statement = pg::Statement;
  struct Options {
    std::chrono::milliseconds writer_wait{10000};
  };
  // Writers: one round trip for the transaction, a bound on the wait and the cluster-wide writer
  // lock. Readers: a snapshot that never waits.
  static Status StartTransaction(Connection& conn, TxnMode mode, const Options& options) {
    Status begun = [&]() -> Status {
      if (mode == TxnMode::kWrite) {
        const std::string sql = "BEGIN; SET LOCAL lock_timeout = '" +
                                std::to_string(options.writer_wait.count()) +
                                "ms'; SELECT pg_advisory_xact_lock(" +
                                std::to_string(kWriterLockKey) + ")";
        ARCA_ASSIGN_OR_RETURN(std::string ignored, conn.Exec(sql.c_str(), "begin transaction"));
        (void)ignored;
        return OkStatus();
      }
      Statement begin(conn, StmtId::kBeginRead, "begin transaction");
      ARCA_RETURN_IF_ERROR(begin.Run());
      return OkStatus();
    }();
    if (!begun.ok() && PQtransactionStatus(conn.conn()) != PQTRANS_IDLE) {
      (void)conn.Exec("ROLLBACK", "rollback");
    }
    return begun;
  }
  static Status BeforeCommit(Connection& conn, std::optional<std::uint64_t> sequence,
                             std::optional<std::uint64_t> latest_change) {
    if (!sequence.has_value() && !latest_change.has_value()) return OkStatus();
    Statement st(conn, StmtId::kNotify, "notify replicas");
    const std::string payload = NotifyPayload(sequence, latest_change);
    st.BindText(1, payload);
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    (void)has_row;
    return OkStatus();
  }
};
using StoreState = sql::StoreState<Connection>;
using PostgresTransaction = sql::SqlTransaction<PostgresDialect>;

// Reads (seq, latest_change) from change_state.
Result<std::pair<std::uint64_t, std::uint64_t>> ReadHeads(Connection& conn) {
  Statement st(conn, StmtId::kReadChangeSequence, "read change sequence");
  ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
  if (!has_row) return Corrupt("change_state row is missing");
  return std::make_pair(static_cast<std::uint64_t>(st.ColumnInt(0)),
                        static_cast<std::uint64_t>(st.ColumnInt(1)));
}

// Raises the known heads to what another replica (or the database) reports; wakes the commit
// listeners when the change log grew.
void Observe(StoreState& state, std::uint64_t sequence, std::uint64_t latest_change) {
  state.NoteSequence(sequence);
  if (latest_change > state.latest_change()) state.NotifyCommit(latest_change);
}

// The LISTEN side: a thread with a connection of its own that turns other replicas' NOTIFYs into
// Observe() calls, reconnecting with a backoff when the connection breaks and reading the heads
// once after each (re)connect, so nothing committed meanwhile is missed.
class Listener {
 public:
  Listener(std::string conninfo, std::shared_ptr<StoreState> state)
      : conninfo_(std::move(conninfo)), state_(std::move(state)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this] { Run(); });
  }
  ~Listener() {
    stopping_.store(true);
    if (wake_fd_ >= 0) {
      const std::uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    if (wake_fd_ >= 0) ::close(wake_fd_);
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Waits until the first LISTEN is in place (commits after it are heard), at most `timeout`.
  bool WaitReady(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(ready_mu_);
    return ready_cv_.wait_for(lock, timeout, [this] { return ready_; });
  }

 private:
  void Run() {
    auto backoff = std::chrono::milliseconds(100);
    bool reported = false;
    while (!stopping_.load()) {
      Status st = Session();
      if (stopping_.load()) break;
      if (!reported) {
        log::Warn("change listener disconnected from PostgreSQL; reconnecting",
                  {{"error", st.ok() ? std::string("closed") : st.error().ToLogString()}});
        reported = true;
      }
      Wait(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      if (connected_once_) {
        backoff = std::min(backoff, std::chrono::milliseconds(1000));
      }
    }
  }

  // One connection's life: LISTEN, catch up, then wait for notifications until it breaks.
  Status Session() {
    ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn,
                          Connection::Open(conninfo_, "arca-listener"));
    ARCA_ASSIGN_OR_RETURN(std::string ignored,
                          conn->Exec((std::string("LISTEN ") + kChannel).c_str(), "listen"));
    (void)ignored;
    ARCA_ASSIGN_OR_RETURN(auto heads, ReadHeads(*conn));
    Observe(*state_, heads.first, heads.second);
    if (connected_once_) log::Info("change listener reconnected to PostgreSQL", {});
    connected_once_ = true;
    {
      std::lock_guard<std::mutex> lock(ready_mu_);
      ready_ = true;
    }
    ready_cv_.notify_all();
    const int sock = PQsocket(conn->conn());
    while (!stopping_.load()) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      const int n = ::poll(fds, 2, 5000);
      if (n < 0 && errno != EINTR) return sql::Unavailable("poll on the listener socket failed");
      if (stopping_.load()) return OkStatus();
      if (PQconsumeInput(conn->conn()) == 0) {
        return pg::PgError(nullptr, conn->conn(), "receive notifications");
      }
      while (PGnotify* note = PQnotifies(conn->conn())) {
        std::uint64_t seq = 0;
        std::uint64_t latest = 0;
        if (std::sscanf(note->extra, "%lu %lu", &seq, &latest) == 2) {
          Observe(*state_, seq, latest);
        }
        PQfreemem(note);
      }
      if (PQstatus(conn->conn()) != CONNECTION_OK) {
        return sql::Unavailable("the listener connection was closed");
      }
      if (n == 0) {
        // Quiet for a while: check that the connection is alive (a dead peer answers nothing,
        // and TCP keepalives take longer to tell).
        ARCA_ASSIGN_OR_RETURN(auto now, ReadHeads(*conn));
        Observe(*state_, now.first, now.second);
      }
    }
    return OkStatus();
  }

  void Wait(std::chrono::milliseconds d) {
    pollfd fd{wake_fd_, POLLIN, 0};
    (void)::poll(&fd, 1, static_cast<int>(d.count()));
  }

  const std::string conninfo_;
  std::shared_ptr<StoreState> state_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  bool connected_once_ = false;  // listener thread only
  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  bool ready_ = false;  // GUARDED_BY(ready_mu_): LISTEN is in place
  std::thread thread_;
};

// Thread-safety: thread-safe.
class PostgresStore final : public sql::SqlStore<PostgresDialect> {
 public:
  PostgresStore(std::shared_ptr<StoreState> state, PostgresDialect::Options options,
                std::unique_ptr<Listener> listener)
      : SqlStore(std::move(state), options), listener_(std::move(listener)) {}
  ~PostgresStore() override { listener_.reset(); }

  std::uint64_t ErrorCount() const override { return pg::PgErrorCount(); }

  // A round trip that also catches up with the heads.
  Status Ping() override {
    ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, state_->Acquire());
    auto heads = ReadHeads(*conn);
    state_->Release(std::move(conn));
    if (!heads.ok()) return std::move(heads).error();
    Observe(*state_, heads->first, heads->second);
    return OkStatus();
  }

 private:
  std::unique_ptr<Listener> listener_;
};

// Replaces the value of `key=` up to the next space (key=value conninfo strings).
void RedactKeyValue(std::string& s, std::string_view key) {
  std::size_t pos = 0;
  while ((pos = s.find(key, pos)) != std::string::npos) {
    const bool at_word = pos == 0 || s[pos - 1] == ' ' || s[pos - 1] == '?' || s[pos - 1] == '&';
    std::size_t v = pos + key.size();
    while (v < s.size() && s[v] == ' ') ++v;
    if (!at_word || v >= s.size() || s[v] != '=') {
      pos += key.size();
      continue;
    }
    ++v;
    while (v < s.size() && s[v] == ' ') ++v;
    std::size_t end = v;
    if (end < s.size() && s[end] == '\'') {
      ++end;
      while (end < s.size() && s[end] != '\'') end += s[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, s.size());
    } else {
      while (end < s.size() && s[end] != ' ' && s[end] != '&') ++end;
    }
    s.replace(v, end - v, "***");
    pos = v + 3;
  }
}

}  // namespace

std::string RedactPostgresUrl(const std::string& url) {
  std::string s = url;
  const std::size_t scheme = s.find("://");
  if (scheme != std::string::npos) {
    const std::size_t auth_start = scheme + 3;
    const std::size_t auth_end = s.find_first_of("/?", auth_start);
    const std::size_t at = s.rfind('@', auth_end == std::string::npos ? s.size() : auth_end);
    if (at != std::string::npos && at >= auth_start) {
      const std::size_t colon = s.find(':', auth_start);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
  }
  RedactKeyValue(s, "password");
  return s;
}

Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options) {
  if (options.url.empty()) {
    return Error(Code::kInvalidParameter, "The PostgreSQL URL is empty");
  }
  {
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(options.url.c_str(), &err);
    if (parsed == nullptr) {
      std::string why = err != nullptr ? err : "unreadable";
      PQfreemem(err);
      while (!why.empty() && why.back() == '\n') why.pop_back();
      return Error(Code::kInvalidParameter, "The PostgreSQL URL is malformed: " + why);
    }
    PQconninfoFree(parsed);
  }
  auto opened = Connection::Open(options.url);
  if (!opened.ok()) {
    // At start the operator needs to know where it failed; requests later get only the generic
    // message (the detail, with host and port, goes to the log).
    const Error& e = opened.error();
    return Error(e.code(), e.detail().empty() ? e.message() : e.detail(), e.detail());
  }
  std::unique_ptr<Connection> conn = std::move(opened).value();
  ARCA_RETURN_IF_ERROR(pg::Migrate(*conn));
  ARCA_ASSIGN_OR_RETURN(auto heads, ReadHeads(*conn));
  const std::string url = options.url;
  auto state = std::make_shared<StoreState>([url] { return Connection::Open(url); },
                                            std::move(conn), heads.first, heads.second,
                                            options.max_idle_connections, options.writer_wait);
  std::unique_ptr<Listener> listener;
  if (options.listen) {
    listener = std::make_unique<Listener>(options.url, state);
    // So that a commit through another replica right after this returns is heard; if the
    // database is slow to take a second connection, the listener catches up once it is in.
    if (!listener->WaitReady(std::chrono::seconds(10))) {
      log::Warn("the change listener is not connected yet; it catches up when it is", {});
    }
  }
  std::unique_ptr<Store> store = std::make_unique<PostgresStore>(
      std::move(state), PostgresDialect::Options{options.writer_wait}, std::move(listener));
  return store;
}

}  // namespace arca::store
