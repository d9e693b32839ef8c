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

constexpr std::size_t kMaxIdleConnections = 8;
// In-process writers queue on a mutex (no polling); across processes BEGIN IMMEDIATE and SQLite's
// busy timeout serialise them. Both give up after about the same time.
constexpr auto kWriterWait = std::chrono::seconds(10);

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

Error Unavailable(std::string detail) {
  return Error(Code::kUnavailable, "The database is unavailable; try again later",
               std::move(detail));
}

Error Corrupt(std::string detail) {
  return Error(Code::kInternal, "Internal database error", std::move(detail));
}

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

// A list of strings as a JSON array (version labels, an OIDC provider's client ids).
std::string EncodeLabels(const std::vector<std::string>& labels) {
  boost::json::array a;
  a.reserve(labels.size());
  for (const std::string& label : labels) a.emplace_back(label);
  return boost::json::serialize(a);
}

Result<std::vector<std::string>> DecodeLabels(std::string_view text,
                                              std::string_view column = "versions.labels") {
  std::vector<std::string> labels;
  if (text == "[]") return labels;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return Corrupt(std::string(column) + " is not a JSON array");
  const boost::json::array& a = v.get_array();
  labels.reserve(a.size());
  for (const boost::json::value& e : a) {
    if (!e.is_string()) return Corrupt(std::string(column) + " holds a non-string");
    labels.emplace_back(e.get_string());
  }
  return labels;
}

// Column order: id, region, name, arn, created_ms, deleted_ms, purge_ms, meta.
SecretRow ReadSecret(const Statement& st) {
  SecretRow row;
  row.id = st.ColumnText(0);
  row.region = st.ColumnText(1);
  row.name = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.created_ms = st.ColumnInt(4);
  row.deleted_ms = st.ColumnOptionalInt(5);
  row.purge_ms = st.ColumnOptionalInt(6);
  row.meta = st.ColumnText(7);
  return row;
}

void BindSecret(Statement& st, const SecretRow& row) {
  st.BindText(1, row.id);
  st.BindText(2, row.region);
  st.BindText(3, row.name);
  st.BindText(4, row.arn);
  st.BindInt(5, row.created_ms);
  st.BindOptionalInt(6, row.deleted_ms);
  st.BindOptionalInt(7, row.purge_ms);
  st.BindText(8, row.meta);
}

// Column order: secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary,
// key_version, wrapped_key, ciphertext, kms_key_arn.
Result<VersionRow> ReadVersion(const Statement& st) {
  VersionRow row;
  row.secret_id = st.ColumnText(0);
  row.version_id = st.ColumnText(1);
  row.created_ms = st.ColumnInt(2);
  row.last_accessed_ms = st.ColumnOptionalInt(3);
  ARCA_ASSIGN_OR_RETURN(row.labels, DecodeLabels(st.ColumnText(4)));
  row.binary = st.ColumnInt(5) != 0;
  row.sealed.key_version = static_cast<std::uint32_t>(st.ColumnInt(6));
  row.sealed.wrapped_key = st.ColumnBlob(7);
  row.sealed.ciphertext = st.ColumnBlob(8);
  row.kms_key_arn = st.ColumnText(9);
  return row;
}

// Column order: access_key_id, principal, status, created_ms, key_version, wrapped_key, ciphertext.
AccessKeyRow ReadAccessKey(const Statement& st) {
  AccessKeyRow row;
  row.access_key_id = st.ColumnText(0);
  row.principal = st.ColumnText(1);
  row.status = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.secret.key_version = static_cast<std::uint32_t>(st.ColumnInt(4));
  row.secret.wrapped_key = st.ColumnBlob(5);
  row.secret.ciphertext = st.ColumnBlob(6);
  return row;
}

// Column order: user_id, name, path, arn, created_ms.
IamUserRow ReadIamUser(const Statement& st) {
  IamUserRow row;
  row.user_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.created_ms = st.ColumnInt(4);
  return row;
}

// Column order: role_id, name, path, arn, assume_role_policy, description, max_session_duration,
// created_ms.
IamRoleRow ReadIamRole(const Statement& st) {
  IamRoleRow row;
  row.role_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.assume_role_policy = st.ColumnText(4);
  row.description = st.ColumnText(5);
  row.max_session_duration = st.ColumnInt(6);
  row.created_ms = st.ColumnInt(7);
  return row;
}

void BindIamRole(Statement& st, const IamRoleRow& row) {
  st.BindText(1, row.role_id);
  st.BindText(2, row.name);
  st.BindText(3, row.path);
  st.BindText(4, row.arn);
  st.BindText(5, row.assume_role_policy);
  st.BindText(6, row.description);
  st.BindInt(7, row.max_session_duration);
  st.BindInt(8, row.created_ms);
}

// Column order: policy_id, name, path, arn, description, default_version_id, next_version,
// created_ms, updated_ms.
IamPolicyRow ReadIamPolicy(const Statement& st) {
  IamPolicyRow row;
  row.policy_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.description = st.ColumnText(4);
  row.default_version_id = st.ColumnText(5);
  row.next_version = st.ColumnInt(6);
  row.created_ms = st.ColumnInt(7);
  row.updated_ms = st.ColumnInt(8);
  return row;
}

void BindIamPolicy(Statement& st, const IamPolicyRow& row) {
  st.BindText(1, row.policy_id);
  st.BindText(2, row.name);
  st.BindText(3, row.path);
  st.BindText(4, row.arn);
  st.BindText(5, row.description);
  st.BindText(6, row.default_version_id);
  st.BindInt(7, row.next_version);
  st.BindInt(8, row.created_ms);
  st.BindInt(9, row.updated_ms);
}

// Column order: policy_id, version_id, document, created_ms.
IamPolicyVersionRow ReadIamPolicyVersion(const Statement& st) {
  IamPolicyVersionRow row;
  row.policy_id = st.ColumnText(0);
  row.version_id = st.ColumnText(1);
  row.document = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  return row;
}

// Column order: owner_id, name, document.
IamInlinePolicyRow ReadIamInlinePolicy(const Statement& st) {
  IamInlinePolicyRow row;
  row.owner_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.document = st.ColumnText(2);
  return row;
}

// Column order: arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms.
Result<IamOidcProviderRow> ReadIamOidcProvider(const Statement& st) {
  IamOidcProviderRow row;
  row.arn = st.ColumnText(0);
  row.url = st.ColumnText(1);
  ARCA_ASSIGN_OR_RETURN(row.client_ids,
                        DecodeLabels(st.ColumnText(2), "iam_oidc_providers.client_ids"));
  ARCA_ASSIGN_OR_RETURN(row.thumbprints,
                        DecodeLabels(st.ColumnText(3), "iam_oidc_providers.thumbprints"));
  row.jwks = st.ColumnText(4);
  row.jwks_file = st.ColumnText(5);
  row.created_ms = st.ColumnInt(6);
  return row;
}

// Column order: key_id, region, arn, created_ms, meta.
KmsKeyRow ReadKmsKey(const Statement& st) {
  KmsKeyRow row;
  row.key_id = st.ColumnText(0);
  row.region = st.ColumnText(1);
  row.arn = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.meta = st.ColumnText(4);
  return row;
}

void BindKmsKey(Statement& st, const KmsKeyRow& row) {
  st.BindText(1, row.key_id);
  st.BindText(2, row.region);
  st.BindText(3, row.arn);
  st.BindInt(4, row.created_ms);
  st.BindText(5, row.meta);
}

// Column order: key_id, version, created_ms, key_version, wrapped_key, ciphertext.
KmsMaterialRow ReadKmsMaterial(const Statement& st) {
  KmsMaterialRow row;
  row.key_id = st.ColumnText(0);
  row.version = st.ColumnInt(1);
  row.created_ms = st.ColumnInt(2);
  row.sealed.key_version = static_cast<std::uint32_t>(st.ColumnInt(3));
  row.sealed.wrapped_key = st.ColumnBlob(4);
  row.sealed.ciphertext = st.ColumnBlob(5);
  return row;
}

void BindKmsMaterial(Statement& st, const KmsMaterialRow& row) {
  st.BindText(1, row.key_id);
  st.BindInt(2, row.version);
  st.BindInt(3, row.created_ms);
  st.BindInt(4, row.sealed.key_version);
  st.BindBlob(5, row.sealed.wrapped_key);
  st.BindBlob(6, row.sealed.ciphertext);
}

// Column order: region, name, target_key_id, created_ms, updated_ms.
KmsAliasRow ReadKmsAlias(const Statement& st) {
  KmsAliasRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.target_key_id = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.updated_ms = st.ColumnInt(4);
  return row;
}

void BindKmsAlias(Statement& st, const KmsAliasRow& row) {
  st.BindText(1, row.region);
  st.BindText(2, row.name);
  st.BindText(3, row.target_key_id);
  st.BindInt(4, row.created_ms);
  st.BindInt(5, row.updated_ms);
}

// Column order: region, name, version, meta.
ParameterRow ReadParameter(const Statement& st) {
  ParameterRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.version = st.ColumnInt(2);
  row.meta = st.ColumnText(3);
  return row;
}

void BindParameter(Statement& st, const ParameterRow& row) {
  st.BindText(1, row.region);
  st.BindText(2, row.name);
  st.BindInt(3, row.version);
  st.BindText(4, row.meta);
}

// Column order: region, name, version, created_ms, labels, meta, value.
Result<ParameterVersionRow> ReadParameterVersion(const Statement& st) {
  ParameterVersionRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.version = st.ColumnInt(2);
  row.created_ms = st.ColumnInt(3);
  ARCA_ASSIGN_OR_RETURN(row.labels, DecodeLabels(st.ColumnText(4), "parameter_versions.labels"));
  row.meta = st.ColumnText(5);
  row.value = st.ColumnBlob(6);
  return row;
}

// A change row's versions as JSON text: [{"VersionId": ..., "VersionStages": [...]}].
std::string EncodeChangeVersions(const std::vector<ChangeVersion>& versions) {
  boost::json::array a;
  a.reserve(versions.size());
  for (const ChangeVersion& v : versions) {
    boost::json::array stages;
    for (const std::string& stage : v.stages) stages.emplace_back(stage);
    a.emplace_back(boost::json::object{{"VersionId", v.version_id}, {"VersionStages", std::move(stages)}});
  }
  return boost::json::serialize(a);
}

Result<std::vector<ChangeVersion>> DecodeChangeVersions(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return Corrupt("changes.versions is not a JSON array");
  std::vector<ChangeVersion> versions;
  for (const boost::json::value& e : v.get_array()) {
    const boost::json::object* o = e.if_object();
    const boost::json::value* id = o != nullptr ? o->if_contains("VersionId") : nullptr;
    const boost::json::value* stages = o != nullptr ? o->if_contains("VersionStages") : nullptr;
    if (id == nullptr || !id->is_string() || stages == nullptr || !stages->is_array()) {
      return Corrupt("changes.versions holds a malformed entry");
    }
    ChangeVersion cv;
    cv.version_id = id->get_string();
    for (const boost::json::value& stage : stages->get_array()) {
      if (!stage.is_string()) return Corrupt("changes.versions holds a non-string stage");
      cv.stages.emplace_back(stage.get_string());
    }
    versions.push_back(std::move(cv));
  }
  return versions;
}

// Column order: sequence, time_ms, kind, region, name, arn, deleted, versions.
Result<ChangeRow> ReadChange(const Statement& st) {
  ChangeRow row;
  row.sequence = static_cast<std::uint64_t>(st.ColumnInt(0));
  row.time_ms = st.ColumnInt(1);
  row.kind = st.ColumnText(2);
  row.region = st.ColumnText(3);
  row.name = st.ColumnText(4);
  row.arn = st.ColumnText(5);
  row.deleted = st.ColumnInt(6) != 0;
  ARCA_ASSIGN_OR_RETURN(row.versions, DecodeChangeVersions(st.ColumnText(7)));
  return row;
}

// The least string greater than every string starting with `prefix` (byte-wise), or nullopt when
// there is none (the prefix is empty or all 0xFF bytes).
std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Every row of a statement, read with `read` (a function returning a row or a Result of one).
template <typename Row, typename ReadFn>
Result<std::vector<Row>> AllRows(Statement& st, ReadFn read) {
  std::vector<Row> rows;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) break;
    if constexpr (std::is_same_v<decltype(read(st)), Row>) {
      rows.push_back(read(st));
    } else {
      ARCA_ASSIGN_OR_RETURN(Row row, read(st));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// The row of a statement that returns at most one.
template <typename Row, typename ReadFn>
Result<std::optional<Row>> OneRow(Statement& st, ReadFn read) {
  ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
  if (!has_row) return std::optional<Row>();
  if constexpr (std::is_same_v<decltype(read(st)), Row>) {
    return std::optional<Row>(read(st));
  } else {
    ARCA_ASSIGN_OR_RETURN(Row row, read(st));
    return std::optional<Row>(std::move(row));
  }
}

// What the store and its transactions share: the connection pool, the in-process writer lock, the
// last known change sequence and change log head, and the commit listeners. Outlives the Store
// while transactions are open. Thread-safety: thread-safe; mu_ guards idle_.
class StoreState {
 public:
  StoreState(std::string path, std::unique_ptr<Connection> first, std::uint64_t sequence,
             std::uint64_t latest_change)
      : path_(std::move(path)), sequence_(sequence), latest_change_(latest_change) {
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
    return Connection::Open(path_);
  }

  // Returns a connection for reuse; closes it when it is still inside a transaction (a failed
  // rollback) or when enough are idle.
  void Release(std::unique_ptr<Connection> conn) {
    if (conn == nullptr || conn->InTransaction()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleConnections) idle_.push_back(std::move(conn));
    // else: conn closes when it goes out of scope (under the lock; closing is quick).
  }

  // The in-process writer lock, held by the open write transaction. (A flag under a condition
  // variable rather than std::timed_mutex: ThreadSanitizer does not understand the latter's timed
  // lock.)
  bool LockWriter() {
    std::unique_lock<std::mutex> lock(writer_mu_);
    if (!writer_cv_.wait_for(lock, kWriterWait, [this] { return !writer_held_; })) return false;
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
  void NotifyCommit(std::uint64_t latest_change) {
    NoteChange(latest_change);
    std::lock_guard<std::mutex> lock(listeners_mu_);
    for (const auto& [id, listener] : listeners_) listener(latest_change);
  }

 private:
  static void RaiseTo(std::atomic<std::uint64_t>& value, std::uint64_t seq) {
    std::uint64_t cur = value.load(std::memory_order_relaxed);
    while (cur < seq && !value.compare_exchange_weak(cur, seq, std::memory_order_acq_rel,
                                                     std::memory_order_relaxed)) {
    }
  }

  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  bool writer_held_ = false;  // GUARDED_BY(writer_mu_)
  std::atomic<std::uint64_t> sequence_;
  std::atomic<std::uint64_t> latest_change_;
  std::mutex listeners_mu_;  // held while listeners run: RemoveListener waits for them
  std::uint64_t last_listener_id_ = 0;                                   // GUARDED_BY(listeners_mu_)
  std::vector<std::pair<std::uint64_t, CommitListener>> listeners_;     // GUARDED_BY(listeners_mu_)
};

// Thread-safety: used by one thread at a time (as Transaction documents).
class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(std::shared_ptr<StoreState> state, std::unique_ptr<Connection> conn,
                    TxnMode mode)
      : state_(std::move(state)),
        conn_(std::move(conn)),
        mode_(mode),
        holds_writer_(mode == TxnMode::kWrite) {}

  ~SqliteTransaction() override { Finish(); }

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
    ARCA_RETURN_IF_ERROR(Write(st, nullptr));
    Touch(row.id);
    return OkStatus();
  }

  Status UpdateSecret(const SecretRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateSecret, "update secret");
    BindSecret(st, row);
    ARCA_RETURN_IF_ERROR(Write(st, "Secret not found"));
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
    ARCA_RETURN_IF_ERROR(Write(st, nullptr));
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
    return AllRows<AccessKeyRow>(st, ReadAccessKey);
  }

  // ---- IAM users ----

  Result<std::optional<IamUserRow>> GetIamUser(const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamUser, "get iam user");
    st.BindText(1, name);
    return OneRow<IamUserRow>(st, ReadIamUser);
  }

  Result<std::optional<IamUserRow>> GetIamUserById(const std::string& user_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamUserById, "get iam user by id");
    st.BindText(1, user_id);
    return OneRow<IamUserRow>(st, ReadIamUser);
  }

  Result<std::vector<IamUserRow>> ListIamUsers() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamUsers, "list iam users");
    return AllRows<IamUserRow>(st, ReadIamUser);
  }

  Status InsertIamUser(const IamUserRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamUser, "insert iam user");
    st.BindText(1, row.user_id);
    st.BindText(2, row.name);
    st.BindText(3, row.path);
    st.BindText(4, row.arn);
    st.BindInt(5, row.created_ms);
    return Write(st, nullptr);
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
    return OneRow<IamRoleRow>(st, ReadIamRole);
  }

  Result<std::optional<IamRoleRow>> GetIamRoleByArn(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamRoleByArn, "get iam role by arn");
    st.BindText(1, arn);
    return OneRow<IamRoleRow>(st, ReadIamRole);
  }

  Result<std::vector<IamRoleRow>> ListIamRoles() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamRoles, "list iam roles");
    return AllRows<IamRoleRow>(st, ReadIamRole);
  }

  Status InsertIamRole(const IamRoleRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamRole, "insert iam role");
    BindIamRole(st, row);
    return Write(st, nullptr);
  }

  Status UpdateIamRole(const IamRoleRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateIamRole, "update iam role");
    BindIamRole(st, row);
    return Write(st, "IAM role not found");
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
    return OneRow<IamPolicyRow>(st, ReadIamPolicy);
  }

  Result<std::vector<IamPolicyRow>> ListIamPolicies() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamPolicies, "list iam policies");
    return AllRows<IamPolicyRow>(st, ReadIamPolicy);
  }

  Status InsertIamPolicy(const IamPolicyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamPolicy, "insert iam policy");
    BindIamPolicy(st, row);
    return Write(st, nullptr);
  }

  Status UpdateIamPolicy(const IamPolicyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateIamPolicy, "update iam policy");
    BindIamPolicy(st, row);
    return Write(st, "IAM policy not found");
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
    return AllRows<IamPolicyVersionRow>(st, ReadIamPolicyVersion);
  }

  Result<std::optional<IamPolicyVersionRow>> GetIamPolicyVersion(
      const std::string& policy_id, const std::string& version_id) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamPolicyVersion, "get iam policy version");
    st.BindText(1, policy_id);
    st.BindText(2, version_id);
    return OneRow<IamPolicyVersionRow>(st, ReadIamPolicyVersion);
  }

  Status InsertIamPolicyVersion(const IamPolicyVersionRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertIamPolicyVersion, "insert iam policy version");
    st.BindText(1, row.policy_id);
    st.BindText(2, row.version_id);
    st.BindText(3, row.document);
    st.BindInt(4, row.created_ms);
    return Write(st, nullptr);
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
    return AllRows<IamPolicyRow>(st, ReadIamPolicy);
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
    return Write(st, nullptr);  // a missing policy fails the foreign key: kNotFound
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
    return AllRows<IamInlinePolicyRow>(st, ReadIamInlinePolicy);
  }

  Result<std::optional<IamInlinePolicyRow>> GetIamInlinePolicy(const std::string& owner_id,
                                                               const std::string& name) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamInlinePolicy, "get iam inline policy");
    st.BindText(1, owner_id);
    st.BindText(2, name);
    return OneRow<IamInlinePolicyRow>(st, ReadIamInlinePolicy);
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
      ARCA_RETURN_IF_ERROR(Write(st, nullptr));
    }
    return OkStatus();
  }

  // ---- OpenID Connect providers ----

  Result<std::optional<IamOidcProviderRow>> GetIamOidcProvider(const std::string& arn) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetIamOidcProvider, "get iam oidc provider");
    st.BindText(1, arn);
    return OneRow<IamOidcProviderRow>(st, ReadIamOidcProvider);
  }

  Result<std::vector<IamOidcProviderRow>> ListIamOidcProviders() override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kListIamOidcProviders, "list iam oidc providers");
    return AllRows<IamOidcProviderRow>(st, ReadIamOidcProvider);
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
    return OneRow<KmsKeyRow>(st, ReadKmsKey);
  }

  Result<std::vector<KmsKeyRow>> ListKmsKeys(const std::string& region) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    if (region.empty()) {
      Statement st(*conn_, StmtId::kListAllKmsKeys, "list all kms keys");
      return AllRows<KmsKeyRow>(st, ReadKmsKey);
    }
    Statement st(*conn_, StmtId::kListKmsKeys, "list kms keys");
    st.BindText(1, region);
    return AllRows<KmsKeyRow>(st, ReadKmsKey);
  }

  Status InsertKmsKey(const KmsKeyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsKey, "insert kms key");
    BindKmsKey(st, row);
    return Write(st, nullptr);
  }

  Status UpdateKmsKey(const KmsKeyRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kUpdateKmsKey, "update kms key");
    BindKmsKey(st, row);
    return Write(st, "KMS key not found");
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
    return AllRows<KmsMaterialRow>(st, ReadKmsMaterial);
  }

  Status InsertKmsMaterial(const KmsMaterialRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsMaterial, "insert kms key material");
    BindKmsMaterial(st, row);
    return Write(st, nullptr);  // a missing key fails the foreign key: kNotFound
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
    return OneRow<KmsAliasRow>(st, ReadKmsAlias);
  }

  Result<std::vector<KmsAliasRow>> ListKmsAliases(const std::string& region) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    if (region.empty()) {
      Statement st(*conn_, StmtId::kListAllKmsAliases, "list all kms aliases");
      return AllRows<KmsAliasRow>(st, ReadKmsAlias);
    }
    Statement st(*conn_, StmtId::kListKmsAliases, "list kms aliases");
    st.BindText(1, region);
    return AllRows<KmsAliasRow>(st, ReadKmsAlias);
  }

  Status InsertKmsAlias(const KmsAliasRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertKmsAlias, "insert kms alias");
    BindKmsAlias(st, row);
    return Write(st, nullptr);  // a missing target key fails the foreign key: kNotFound
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
    return OneRow<ParameterRow>(st, ReadParameter);
  }

  Result<std::vector<ParameterRow>> ListParameters(const std::string& region,
                                                   const std::string& prefix) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    const std::optional<std::string> end = PrefixSuccessor(prefix);
    if (!end.has_value()) {
      Statement st(*conn_, StmtId::kListParametersFrom, "list parameters");
      st.BindText(1, region);
      st.BindText(2, prefix);
      return AllRows<ParameterRow>(st, ReadParameter);
    }
    Statement st(*conn_, StmtId::kListParametersRange, "list parameters");
    st.BindText(1, region);
    st.BindText(2, prefix);
    st.BindText(3, *end);
    return AllRows<ParameterRow>(st, ReadParameter);
  }

  Status InsertParameter(const ParameterRow& row) override {
    ARCA_RETURN_IF_ERROR(Usable(true));
    Statement st(*conn_, StmtId::kInsertParameter, "insert parameter");
    BindParameter(st, row);
    return Write(st, nullptr);
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
    return AllRows<ParameterVersionRow>(st, ReadParameterVersion);
  }

  Result<std::optional<ParameterVersionRow>> GetParameterVersion(const std::string& region,
                                                                 const std::string& name,
                                                                 std::int64_t version) override {
    ARCA_RETURN_IF_ERROR(Usable(false));
    Statement st(*conn_, StmtId::kGetParameterVersion, "get parameter version");
    st.BindText(1, region);
    st.BindText(2, name);
    st.BindInt(3, version);
    return OneRow<ParameterVersionRow>(st, ReadParameterVersion);
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
    return AllRows<ChangeRow>(st, ReadChange);
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
      // SQLite rolls a transaction back by itself after some errors (IOERR, FULL, NOMEM). Any
      // statement run now would autocommit on its own, so the transaction is over.
      Finish();
      return Unavailable("the transaction was rolled back by SQLite after an error");
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

  std::shared_ptr<StoreState> state_;
  std::unique_ptr<Connection> conn_;
  const TxnMode mode_;
  bool holds_writer_;  // a write transaction holds the writer lock until Finish()
  bool finished_ = false;
  bool dirty_ = false;  // a write statement changed at least one row
  std::vector<Touched> touched_;  // secrets written, for the change log (few per transaction)
  bool omit_changes_ = false;     // OmitFromChangeLog()
};

// Thread-safety: thread-safe.
class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::shared_ptr<StoreState> state) : state_(std::move(state)) {}

  Result<std::unique_ptr<Transaction>> Begin(TxnMode mode) override {
    if (mode == TxnMode::kWrite && !state_->LockWriter()) {
      return Error(Code::kUnavailable, "The database is busy; try again later",
                   "timed out waiting for the write transaction of another thread");
    }
    Result<std::unique_ptr<Connection>> acquired = state_->Acquire();
    if (!acquired.ok()) {
      if (mode == TxnMode::kWrite) state_->UnlockWriter();
      return std::move(acquired).error();
    }
    std::unique_ptr<Connection> conn = std::move(acquired).value();
    Status begun = [&]() -> Status {
      Statement begin(*conn, mode == TxnMode::kWrite ? StmtId::kBeginWrite : StmtId::kBeginRead,
                      "begin transaction");
      ARCA_RETURN_IF_ERROR(begin.Run());
      return OkStatus();
    }();
    if (!begun.ok()) {
      state_->Release(std::move(conn));
      if (mode == TxnMode::kWrite) state_->UnlockWriter();
      return std::move(begun).error();
    }
    std::unique_ptr<Transaction> txn =
        std::make_unique<SqliteTransaction>(state_, std::move(conn), mode);
    return txn;
  }

  std::uint64_t ChangeSequence() const override { return state_->sequence(); }
  std::uint64_t LatestChange() const override { return state_->latest_change(); }
  std::uint64_t OnCommit(CommitListener listener) override {
    return state_->AddListener(std::move(listener));
  }
  void RemoveOnCommit(std::uint64_t id) override { state_->RemoveListener(id); }
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

 private:
  std::shared_ptr<StoreState> state_;
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
  auto state = std::make_shared<StoreState>(path, std::move(conn), static_cast<std::uint64_t>(seq),
                                            static_cast<std::uint64_t>(latest_change));
  std::unique_ptr<Store> store = std::make_unique<SqliteStore>(std::move(state));
  return store;
}

}  // namespace arca::store
