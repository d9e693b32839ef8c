#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/log.h"
#include "store/sqlite/connection.h"
#include "store/sql/transaction.h"
#include "store/sqlite/schema.h"

namespace arca::store {

namespace sqlite {

// Column orders here and in the Read* functions below must agree.
const char* SqlFor(StmtId id) {
  switch (id) {
    case StmtId::kBeginRead:
      return "BEGIN";
    case StmtId::kBeginWrite:
      return "BEGIN IMMEDIATE";
    case StmtId::kCommit:
      return "COMMIT";
    case StmtId::kRollback:
      return "ROLLBACK";
    case StmtId::kBumpChangeSequence:
      return "UPDATE change_sequence SET seq = seq + 1 WHERE id = 1 RETURNING seq";
    case StmtId::kReadChangeSequence:
      return "SELECT seq FROM change_sequence WHERE id = 1";

    case StmtId::kGetSecretByName:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE region = ?1 AND name = ?2";
    case StmtId::kGetSecretByArn:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE arn = ?1";
    case StmtId::kGetSecretById:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE id = ?1";
    case StmtId::kListSecrets:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE region = ?1 ORDER BY created_ms, id";
    case StmtId::kListSecretsDueForPurge:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "WHERE purge_ms <= ?1 ORDER BY purge_ms, id";
    case StmtId::kListAllSecrets:
      return "SELECT id, region, name, arn, created_ms, deleted_ms, purge_ms, meta FROM secrets "
             "ORDER BY id";
    case StmtId::kInsertSecret:
      return "INSERT INTO secrets (id, region, name, arn, created_ms, deleted_ms, purge_ms, meta) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    case StmtId::kUpdateSecret:
      return "UPDATE secrets SET region = ?2, name = ?3, arn = ?4, created_ms = ?5, "
             "deleted_ms = ?6, purge_ms = ?7, meta = ?8 WHERE id = ?1";
    case StmtId::kDeleteSecret:
      return "DELETE FROM secrets WHERE id = ?1";

    case StmtId::kListVersions:
      return "SELECT secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary, "
             "key_version, wrapped_key, ciphertext, kms_key_arn FROM versions WHERE secret_id = ?1 "
             "ORDER BY created_ms, version_id";
    case StmtId::kGetVersion:
      return "SELECT secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary, "
             "key_version, wrapped_key, ciphertext, kms_key_arn FROM versions "
             "WHERE secret_id = ?1 AND version_id = ?2";
    case StmtId::kInsertVersion:
      return "INSERT INTO versions (secret_id, version_id, created_ms, last_accessed_ms, labels, "
             "is_binary, key_version, wrapped_key, ciphertext, kms_key_arn) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    case StmtId::kUpdateVersion:
      return "UPDATE versions SET last_accessed_ms = ?3, labels = ?4, key_version = ?5, "
             "wrapped_key = ?6, ciphertext = ?7, kms_key_arn = ?8 "
             "WHERE secret_id = ?1 AND version_id = ?2";
    case StmtId::kDeleteVersion:
      return "DELETE FROM versions WHERE secret_id = ?1 AND version_id = ?2";

    case StmtId::kGetAccessKey:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys WHERE access_key_id = ?1";
    case StmtId::kListAccessKeys:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys ORDER BY created_ms, access_key_id";
    case StmtId::kPutAccessKey:
      return "INSERT INTO access_keys (access_key_id, principal, status, created_ms, key_version, "
             "wrapped_key, ciphertext) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
             "ON CONFLICT (access_key_id) DO UPDATE SET principal = excluded.principal, "
             "status = excluded.status, created_ms = excluded.created_ms, "
             "key_version = excluded.key_version, wrapped_key = excluded.wrapped_key, "
             "ciphertext = excluded.ciphertext";
    case StmtId::kDeleteAccessKey:
      return "DELETE FROM access_keys WHERE access_key_id = ?1";

    case StmtId::kListAccessKeysOf:
      return "SELECT access_key_id, principal, status, created_ms, key_version, wrapped_key, "
             "ciphertext FROM access_keys WHERE principal = ?1 ORDER BY created_ms, access_key_id";

    case StmtId::kGetSetting:
      return "SELECT value FROM settings WHERE key = ?1";
    case StmtId::kPutSetting:
      return "INSERT INTO settings (key, value) VALUES (?1, ?2) "
             "ON CONFLICT (key) DO UPDATE SET value = excluded.value";

    case StmtId::kGetIamUser:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users WHERE name = ?1";
    case StmtId::kGetIamUserById:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users WHERE user_id = ?1";
    case StmtId::kListIamUsers:
      return "SELECT user_id, name, path, arn, created_ms FROM iam_users ORDER BY name, user_id";
    case StmtId::kInsertIamUser:
      return "INSERT INTO iam_users (user_id, name, path, arn, created_ms) VALUES (?1, ?2, ?3, ?4, "
             "?5)";
    case StmtId::kDeleteIamUser:
      return "DELETE FROM iam_users WHERE user_id = ?1";

    case StmtId::kGetIamRole:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles WHERE name = ?1";
    case StmtId::kGetIamRoleByArn:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles WHERE arn = ?1";
    case StmtId::kListIamRoles:
      return "SELECT role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, "
             "created_ms FROM iam_roles ORDER BY name, role_id";
    case StmtId::kInsertIamRole:
      return "INSERT INTO iam_roles (role_id, name, path, arn, assume_role_policy, description, "
             "max_session_duration, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
    case StmtId::kUpdateIamRole:
      return "UPDATE iam_roles SET name = ?2, path = ?3, arn = ?4, assume_role_policy = ?5, "
             "description = ?6, max_session_duration = ?7, created_ms = ?8 WHERE role_id = ?1";
    case StmtId::kDeleteIamRole:
      return "DELETE FROM iam_roles WHERE role_id = ?1";

    case StmtId::kGetIamPolicyByArn:
      return "SELECT policy_id, name, path, arn, description, default_version_id, next_version, "
             "created_ms, updated_ms FROM iam_policies WHERE arn = ?1";
    case StmtId::kListIamPolicies:
      return "SELECT policy_id, name, path, arn, description, default_version_id, next_version, "
             "created_ms, updated_ms FROM iam_policies ORDER BY name, policy_id";
    case StmtId::kInsertIamPolicy:
      return "INSERT INTO iam_policies (policy_id, name, path, arn, description, "
             "default_version_id, "
             "next_version, created_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
    case StmtId::kUpdateIamPolicy:
      return "UPDATE iam_policies SET name = ?2, path = ?3, arn = ?4, description = ?5, "
             "default_version_id = ?6, next_version = ?7, created_ms = ?8, updated_ms = ?9 "
             "WHERE policy_id = ?1";
    case StmtId::kDeleteIamPolicy:
      return "DELETE FROM iam_policies WHERE policy_id = ?1";

    case StmtId::kListIamPolicyVersions:
      return "SELECT policy_id, version_id, document, created_ms FROM iam_policy_versions "
             "WHERE policy_id = ?1 ORDER BY created_ms, version_id";
    case StmtId::kGetIamPolicyVersion:
      return "SELECT policy_id, version_id, document, created_ms FROM iam_policy_versions "
             "WHERE policy_id = ?1 AND version_id = ?2";
    case StmtId::kInsertIamPolicyVersion:
      return "INSERT INTO iam_policy_versions (policy_id, version_id, document, created_ms) "
             "VALUES (?1, ?2, ?3, ?4)";
    case StmtId::kDeleteIamPolicyVersion:
      return "DELETE FROM iam_policy_versions WHERE policy_id = ?1 AND version_id = ?2";

    case StmtId::kListIamAttachedPolicies:
      return "SELECT p.policy_id, p.name, p.path, p.arn, p.description, p.default_version_id, "
             "p.next_version, p.created_ms, p.updated_ms FROM iam_attachments a "
             "JOIN iam_policies p ON p.policy_id = a.policy_id WHERE a.owner_id = ?1 "
             "ORDER BY a.attached_ms, a.rowid";
    case StmtId::kCountIamPolicyAttachments:
      return "SELECT count(*) FROM iam_attachments WHERE policy_id = ?1";
    case StmtId::kAttachIamPolicy:
      return "INSERT INTO iam_attachments (owner_id, policy_id, attached_ms) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (owner_id, policy_id) DO NOTHING";
    case StmtId::kDetachIamPolicy:
      return "DELETE FROM iam_attachments WHERE owner_id = ?1 AND policy_id = ?2";
    case StmtId::kDeleteIamAttachmentsOf:
      return "DELETE FROM iam_attachments WHERE owner_id = ?1";

    case StmtId::kListIamInlinePolicies:
      return "SELECT owner_id, name, document FROM iam_inline_policies WHERE owner_id = ?1 "
             "ORDER BY name";
    case StmtId::kGetIamInlinePolicy:
      return "SELECT owner_id, name, document FROM iam_inline_policies "
             "WHERE owner_id = ?1 AND name = ?2";
    case StmtId::kPutIamInlinePolicy:
      return "INSERT INTO iam_inline_policies (owner_id, name, document) VALUES (?1, ?2, ?3) "
             "ON CONFLICT (owner_id, name) DO UPDATE SET document = excluded.document";
    case StmtId::kDeleteIamInlinePolicy:
      return "DELETE FROM iam_inline_policies WHERE owner_id = ?1 AND name = ?2";
    case StmtId::kDeleteIamInlinePoliciesOf:
      return "DELETE FROM iam_inline_policies WHERE owner_id = ?1";

    case StmtId::kGetIamTags:
      return "SELECT key, value FROM iam_tags WHERE entity_id = ?1 ORDER BY position";
    case StmtId::kDeleteIamTags:
      return "DELETE FROM iam_tags WHERE entity_id = ?1";
    case StmtId::kInsertIamTag:
      return "INSERT INTO iam_tags (entity_id, position, key, value) VALUES (?1, ?2, ?3, ?4)";

    case StmtId::kGetIamOidcProvider:
      return "SELECT arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms "
             "FROM iam_oidc_providers WHERE arn = ?1";
    case StmtId::kListIamOidcProviders:
      return "SELECT arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms "
             "FROM iam_oidc_providers ORDER BY arn";
    case StmtId::kInsertIamOidcProvider:
      return "INSERT INTO iam_oidc_providers (arn, url, client_ids, thumbprints, jwks, jwks_file, "
             "created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    case StmtId::kUpdateIamOidcProvider:
      return "UPDATE iam_oidc_providers SET url = ?2, client_ids = ?3, thumbprints = ?4, jwks = "
             "?5, "
             "jwks_file = ?6, created_ms = ?7 WHERE arn = ?1";
    case StmtId::kDeleteIamOidcProvider:
      return "DELETE FROM iam_oidc_providers WHERE arn = ?1";

    case StmtId::kGetKmsKey:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys WHERE key_id = ?1";
    case StmtId::kListKmsKeys:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys WHERE region = ?1 "
             "ORDER BY created_ms, key_id";
    case StmtId::kListAllKmsKeys:
      return "SELECT key_id, region, arn, created_ms, meta FROM kms_keys "
             "ORDER BY created_ms, key_id";
    case StmtId::kInsertKmsKey:
      return "INSERT INTO kms_keys (key_id, region, arn, created_ms, meta) "
             "VALUES (?1, ?2, ?3, ?4, ?5)";
    case StmtId::kUpdateKmsKey:
      return "UPDATE kms_keys SET region = ?2, arn = ?3, created_ms = ?4, meta = ?5 "
             "WHERE key_id = ?1";
    case StmtId::kDeleteKmsKey:
      return "DELETE FROM kms_keys WHERE key_id = ?1";

    case StmtId::kListKmsMaterials:
      return "SELECT key_id, version, created_ms, key_version, wrapped_key, ciphertext "
             "FROM kms_materials WHERE key_id = ?1 ORDER BY version";
    case StmtId::kInsertKmsMaterial:
      return "INSERT INTO kms_materials (key_id, version, created_ms, key_version, wrapped_key, "
             "ciphertext) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
    case StmtId::kUpdateKmsMaterial:
      return "UPDATE kms_materials SET key_version = ?4, wrapped_key = ?5, ciphertext = ?6 "
             "WHERE key_id = ?1 AND version = ?2";

    case StmtId::kGetKmsAlias:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "WHERE region = ?1 AND name = ?2";
    case StmtId::kListKmsAliases:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "WHERE region = ?1 ORDER BY name";
    case StmtId::kListAllKmsAliases:
      return "SELECT region, name, target_key_id, created_ms, updated_ms FROM kms_aliases "
             "ORDER BY name, region";
    case StmtId::kInsertKmsAlias:
      return "INSERT INTO kms_aliases (region, name, target_key_id, created_ms, updated_ms) "
             "VALUES (?1, ?2, ?3, ?4, ?5)";
    case StmtId::kUpdateKmsAlias:
      return "UPDATE kms_aliases SET target_key_id = ?3, updated_ms = ?5 "
             "WHERE region = ?1 AND name = ?2";
    case StmtId::kDeleteKmsAlias:
      return "DELETE FROM kms_aliases WHERE region = ?1 AND name = ?2";

    case StmtId::kGetParameter:
      return "SELECT region, name, version, meta FROM parameters WHERE region = ?1 AND name = ?2";
    // Prefix listings are ranges on the primary key (region, name), never LIKE: names compare
    // byte-wise (BINARY) and '%' or '_' in a prefix mean themselves.
    case StmtId::kListParametersFrom:
      return "SELECT region, name, version, meta FROM parameters "
             "WHERE region = ?1 AND name >= ?2 ORDER BY name";
    case StmtId::kListParametersRange:
      return "SELECT region, name, version, meta FROM parameters "
             "WHERE region = ?1 AND name >= ?2 AND name < ?3 ORDER BY name";
    case StmtId::kInsertParameter:
      return "INSERT INTO parameters (region, name, version, meta) VALUES (?1, ?2, ?3, ?4)";
    case StmtId::kUpdateParameter:
      return "UPDATE parameters SET version = ?3, meta = ?4 WHERE region = ?1 AND name = ?2";
    case StmtId::kDeleteParameter:
      return "DELETE FROM parameters WHERE region = ?1 AND name = ?2";

    case StmtId::kListParameterVersions:
      return "SELECT region, name, version, created_ms, labels, meta, value FROM "
             "parameter_versions WHERE region = ?1 AND name = ?2 ORDER BY version";
    case StmtId::kGetParameterVersion:
      return "SELECT region, name, version, created_ms, labels, meta, value FROM "
             "parameter_versions WHERE region = ?1 AND name = ?2 AND version = ?3";
    case StmtId::kInsertParameterVersion:
      return "INSERT INTO parameter_versions (region, name, version, created_ms, labels, meta, "
             "value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
    case StmtId::kUpdateParameterVersion:
      return "UPDATE parameter_versions SET labels = ?5, meta = ?6 "
             "WHERE region = ?1 AND name = ?2 AND version = ?3";
    case StmtId::kDeleteParameterVersion:
      return "DELETE FROM parameter_versions WHERE region = ?1 AND name = ?2 AND version = ?3";

    case StmtId::kListVersionIds:
      return "SELECT version_id FROM versions WHERE secret_id = ?1 ORDER BY created_ms, version_id";
    case StmtId::kGetVersionLabels:
      return "SELECT labels FROM versions WHERE secret_id = ?1 AND version_id = ?2";
    case StmtId::kInsertChange:
      return "INSERT INTO changes (time_ms, kind, region, name, arn, deleted, versions) "
             "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING sequence";
    case StmtId::kListChanges:
      return "SELECT sequence, time_ms, kind, region, name, arn, deleted, versions FROM changes "
             "WHERE sequence > ?1 ORDER BY sequence LIMIT ?2";
    case StmtId::kChangeBounds:
      return "SELECT coalesce((SELECT min(sequence) FROM changes), 0), "
             "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)";
    case StmtId::kPruneChanges:
      return "DELETE FROM changes WHERE time_ms < ?1 AND "
             "sequence <= (SELECT coalesce(max(sequence), 0) FROM changes) - ?2";

    case StmtId::kClaimLease:
      return "INSERT INTO leases (name, owner, expires_ms) VALUES (?1, ?2, ?3 + ?4) "
             "ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, "
             "expires_ms = excluded.expires_ms "
             "WHERE leases.owner = excluded.owner OR leases.expires_ms <= ?3";
    case StmtId::kReleaseLease:
      return "DELETE FROM leases WHERE name = ?1 AND owner = ?2";

    case StmtId::kSecretExists:
      return "SELECT 1 FROM secrets WHERE id = ?1";
    case StmtId::kIamPolicyExists:
      return "SELECT 1 FROM iam_policies WHERE policy_id = ?1";
    case StmtId::kIamRoleExists:
      return "SELECT 1 FROM iam_roles WHERE role_id = ?1";
    case StmtId::kKmsKeyExists:
      return "SELECT 1 FROM kms_keys WHERE key_id = ?1";
    case StmtId::kParameterExists:
      return "SELECT 1 FROM parameters WHERE region = ?1 AND name = ?2";

    case StmtId::kNotify:
      return "SELECT ?1";  // PostgreSQL only; never run here

    case StmtId::kCount:
      break;
  }
  return "";
}

}  // namespace sqlite

namespace {

using sqlite::Connection;
using sqlite::Statement;
using sqlite::StmtId;
using sql::Corrupt;
using sql::Unavailable;

// SQLite's side of the shared transaction (store/sql/transaction.h).
struct SqliteDialect {
  using Connection = sqlite::Connection;
  using Statement = sqlite::Statement;
  struct Options {};
  // BEGIN IMMEDIATE for writers: SQLite's own lock serialises them across processes.
  static Status StartTransaction(Connection& conn, TxnMode mode, const Options& /*options*/) {
    Statement begin(conn, mode == TxnMode::kWrite ? StmtId::kBeginWrite : StmtId::kBeginRead,
                    "begin transaction");
    ARCA_RETURN_IF_ERROR(begin.Run());
    return OkStatus();
  }
  static Status BeforeCommit(Connection& /*conn*/, std::optional<std::uint64_t> /*sequence*/,
                             std::optional<std::uint64_t> /*latest_change*/) {
    return OkStatus();  // one file: other processes see the commit by reading it
  }
};
using StoreState = sql::StoreState<Connection>;
using SqliteTransaction = sql::SqlTransaction<SqliteDialect>;

constexpr std::size_t kMaxIdleConnections = 8;
// In-process writers queue on a mutex (no polling); across processes BEGIN IMMEDIATE and SQLite's
// busy timeout serialise them. Both give up after about the same time.
constexpr auto kWriterWait = std::chrono::seconds(10);

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

// Creates the database file with mode 0600 if it is missing, and takes group/other access away from
// an existing one. Uses no file descriptor on an existing file: closing any descriptor of a file
// drops this process's POSIX locks on it, which SQLite connections may hold.
Status EnsurePrivateFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Unavailable("stat " + path + ": " + ErrnoText(errno));
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      ::close(fd);
      return OkStatus();
    }
    if (errno != EEXIST) return Unavailable("create " + path + ": " + ErrnoText(errno));
    // Someone else created it in between; check it like an existing file.
    if (::stat(path.c_str(), &st) != 0)
      return Unavailable("stat " + path + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kPreconditionNotMet, "The database path is not a regular file",
                 path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    if (::chmod(path.c_str(), 0600) != 0) {
      return Unavailable("chmod 0600 " + path + ": " + ErrnoText(errno));
    }
    log::Warn("database file was readable by others; mode set to 0600", {{"path", path}});
  }
  return OkStatus();
}

// SQLite creates -wal and -shm with the database file's mode; files left by an older run may be
// looser.
Status TightenSidecarFiles(const std::string& path) {
  for (const char* suffix : {"-wal", "-shm"}) {
    const std::string file = path + suffix;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;
      return Unavailable("stat " + file + ": " + ErrnoText(errno));
    }
    if ((st.st_mode & 077) != 0 && ::chmod(file.c_str(), 0600) != 0) {
      return Unavailable("chmod 0600 " + file + ": " + ErrnoText(errno));
    }
  }
  return OkStatus();
}

// Thread-safety: thread-safe.
class SqliteStore final : public sql::SqlStore<SqliteDialect> {
 public:
  explicit SqliteStore(std::shared_ptr<StoreState> state) : SqlStore(std::move(state), {}) {}

  std::uint64_t ErrorCount() const override { return sqlite::SqliteErrorCount(); }

  // Reads the stored change sequence, which also picks up writes committed by other processes.
  Status Ping() override {
    ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, state_->Acquire());
    Result<std::int64_t> seq = [&]() -> Result<std::int64_t> {
      Statement st(*conn, StmtId::kReadChangeSequence, "ping");
      ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
      if (!has_row) return Corrupt("change_sequence row is missing");
      return st.ColumnInt(0);
    }();
    state_->Release(std::move(conn));
    if (!seq.ok()) return std::move(seq).error();
    state_->NoteSequence(static_cast<std::uint64_t>(*seq));
    return OkStatus();
  }
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  if (sqlite3_threadsafe() == 0) {  // the pool hands connections between threads
    return Error(Code::kInternal, "Internal database error",
                 "libsqlite3 was built without thread support (SQLITE_THREADSAFE=0)");
  }
  ARCA_RETURN_IF_ERROR(EnsurePrivateFile(path));
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(path));
  ARCA_RETURN_IF_ERROR(sqlite::Migrate(*conn));
  ARCA_RETURN_IF_ERROR(TightenSidecarFiles(path));
  ARCA_ASSIGN_OR_RETURN(
      std::int64_t seq,
      conn->QueryInt("SELECT seq FROM change_sequence WHERE id = 1", "read change sequence"));
  ARCA_ASSIGN_OR_RETURN(
      std::int64_t latest_change,
      conn->QueryInt("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)",
                     "read change log head"));
  auto state = std::make_shared<StoreState>([path] { return Connection::Open(path); },
                                            std::move(conn), static_cast<std::uint64_t>(seq),
                                            static_cast<std::uint64_t>(latest_change),
                                            kMaxIdleConnections, kWriterWait);
  std::unique_ptr<Store> store = std::make_unique<SqliteStore>(std::move(state));
  return store;
}

}  // namespace arca::store
