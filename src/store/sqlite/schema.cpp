#include "store/sqlite/schema.h"

#include <iterator>
#include <string>

namespace arca::store::sqlite {

namespace {

struct Migration {
  std::int64_t version;
  const char* sql;
};

// Append only: never edit a migration that has shipped; add the next version instead.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE secrets (
  id         TEXT NOT NULL PRIMARY KEY,
  region     TEXT NOT NULL,
  name       TEXT NOT NULL,
  arn        TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  deleted_ms INTEGER,
  purge_ms   INTEGER,
  meta       TEXT NOT NULL,
  UNIQUE (region, name)
) STRICT;
CREATE INDEX secrets_by_region_created ON secrets (region, created_ms, id);
CREATE INDEX secrets_by_purge ON secrets (purge_ms);

CREATE TABLE versions (
  secret_id        TEXT NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  version_id       TEXT NOT NULL,
  created_ms       INTEGER NOT NULL,
  last_accessed_ms INTEGER,
  labels           TEXT NOT NULL,
  is_binary        INTEGER NOT NULL,
  key_version      INTEGER NOT NULL,
  wrapped_key      BLOB NOT NULL,
  ciphertext       BLOB NOT NULL,
  PRIMARY KEY (secret_id, version_id)
) STRICT;

CREATE TABLE access_keys (
  access_key_id TEXT NOT NULL PRIMARY KEY,
  principal     TEXT NOT NULL,
  status        TEXT NOT NULL,
  created_ms    INTEGER NOT NULL,
  key_version   INTEGER NOT NULL,
  wrapped_key   BLOB NOT NULL,
  ciphertext    BLOB NOT NULL
) STRICT;

CREATE TABLE settings (
  key   TEXT NOT NULL PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE change_sequence (
  id  INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL
) STRICT;
INSERT INTO change_sequence (id, seq) VALUES (1, 0);
)sql"},
    // Issue 4: IAM users, roles, managed policies with versions, attachments, inline policies,
    // tags and OpenID Connect providers. Entity names compare case-insensitively, as IAM's do.
    {2, R"sql(
CREATE INDEX access_keys_by_principal ON access_keys (principal, created_ms, access_key_id);

CREATE TABLE iam_users (
  user_id    TEXT NOT NULL PRIMARY KEY,
  name       TEXT NOT NULL COLLATE NOCASE UNIQUE,
  path       TEXT NOT NULL,
  arn        TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE iam_roles (
  role_id              TEXT NOT NULL PRIMARY KEY,
  name                 TEXT NOT NULL COLLATE NOCASE UNIQUE,
  path                 TEXT NOT NULL,
  arn                  TEXT NOT NULL UNIQUE,
  assume_role_policy   TEXT NOT NULL,
  description          TEXT NOT NULL,
  max_session_duration INTEGER NOT NULL,
  created_ms           INTEGER NOT NULL
) STRICT;

CREATE TABLE iam_policies (
  policy_id          TEXT NOT NULL PRIMARY KEY,
  name               TEXT NOT NULL COLLATE NOCASE UNIQUE,
  path               TEXT NOT NULL,
  arn                TEXT NOT NULL UNIQUE,
  description        TEXT NOT NULL,
  default_version_id TEXT NOT NULL,
  next_version       INTEGER NOT NULL,
  created_ms         INTEGER NOT NULL,
  updated_ms         INTEGER NOT NULL
) STRICT;

CREATE TABLE iam_policy_versions (
  policy_id  TEXT NOT NULL REFERENCES iam_policies (policy_id) ON DELETE CASCADE,
  version_id TEXT NOT NULL,
  document   TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (policy_id, version_id)
) STRICT;

CREATE TABLE iam_attachments (
  owner_id    TEXT NOT NULL,
  policy_id   TEXT NOT NULL REFERENCES iam_policies (policy_id) ON DELETE CASCADE,
  attached_ms INTEGER NOT NULL,
  PRIMARY KEY (owner_id, policy_id)
) STRICT;
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_id);

CREATE TABLE iam_inline_policies (
  owner_id TEXT NOT NULL,
  name     TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (owner_id, name)
) STRICT;

CREATE TABLE iam_tags (
  entity_id TEXT NOT NULL,
  position  INTEGER NOT NULL,
  key       TEXT NOT NULL,
  value     TEXT NOT NULL,
  PRIMARY KEY (entity_id, key)
) STRICT;

CREATE TABLE iam_oidc_providers (
  arn         TEXT NOT NULL PRIMARY KEY,
  url         TEXT NOT NULL,
  client_ids  TEXT NOT NULL,
  thumbprints TEXT NOT NULL,
  jwks        TEXT NOT NULL,
  jwks_file   TEXT NOT NULL,
  created_ms  INTEGER NOT NULL
) STRICT;
)sql"},
    // KMS keys, their material generations and aliases; SSM Parameter Store parameters and their
    // versions; secret versions whose data key is wrapped by a KMS key (kms_key_arn).
    {3, R"sql(
ALTER TABLE versions ADD COLUMN kms_key_arn TEXT NOT NULL DEFAULT '';

CREATE TABLE kms_keys (
  key_id     TEXT NOT NULL PRIMARY KEY,
  region     TEXT NOT NULL,
  arn        TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  meta       TEXT NOT NULL
) STRICT;
CREATE INDEX kms_keys_by_region_created ON kms_keys (region, created_ms, key_id);
CREATE INDEX kms_keys_by_created ON kms_keys (created_ms, key_id);

CREATE TABLE kms_materials (
  key_id      TEXT NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
  version     INTEGER NOT NULL,
  created_ms  INTEGER NOT NULL,
  key_version INTEGER NOT NULL,
  wrapped_key BLOB NOT NULL,
  ciphertext  BLOB NOT NULL,
  PRIMARY KEY (key_id, version)
) STRICT;

CREATE TABLE kms_aliases (
  region        TEXT NOT NULL,
  name          TEXT NOT NULL,
  target_key_id TEXT NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
  created_ms    INTEGER NOT NULL,
  updated_ms    INTEGER NOT NULL,
  PRIMARY KEY (region, name)
) STRICT;
CREATE INDEX kms_aliases_by_target ON kms_aliases (target_key_id);

CREATE TABLE parameters (
  region  TEXT NOT NULL,
  name    TEXT NOT NULL,
  version INTEGER NOT NULL,
  meta    TEXT NOT NULL,
  PRIMARY KEY (region, name)
) STRICT;

CREATE TABLE parameter_versions (
  region     TEXT NOT NULL,
  name       TEXT NOT NULL,
  version    INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  labels     TEXT NOT NULL,
  meta       TEXT NOT NULL,
  value      BLOB NOT NULL,
  PRIMARY KEY (region, name, version),
  FOREIGN KEY (region, name) REFERENCES parameters (region, name) ON DELETE CASCADE
) STRICT;
)sql"},
    // The change log: one row per secret touched by a committed write transaction (names, version
    // ids and stages; never values), read by the change stream. AUTOINCREMENT: a sequence is never
    // reused, even after the newest rows were removed.
    {4, R"sql(
CREATE TABLE changes (
  sequence INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms  INTEGER NOT NULL,
  kind     TEXT NOT NULL,
  region   TEXT NOT NULL,
  name     TEXT NOT NULL,
  arn      TEXT NOT NULL,
  deleted  INTEGER NOT NULL,
  versions TEXT NOT NULL
) STRICT;
CREATE INDEX changes_by_time ON changes (time_ms);
)sql"},
    // Leases on background work, so that of several processes sharing the store one at a time
    // runs each job (issue 9).
    {5, R"sql(
CREATE TABLE leases (
  name       TEXT NOT NULL PRIMARY KEY,
  owner      TEXT NOT NULL,
  expires_ms INTEGER NOT NULL
) STRICT;
)sql"},
};

Status MigrateInTransaction(Connection& conn) {
  ARCA_ASSIGN_OR_RETURN(std::int64_t current,
                        conn.QueryInt("PRAGMA user_version", "read schema version"));
  const std::int64_t latest = LatestSchemaVersion();
  if (current > latest) {
    return Error(Code::kPreconditionNotMet, "database schema version " + std::to_string(current) +
                                                " is newer than this arca supports (" +
                                                std::to_string(latest) + ")");
  }
  if (current < 0) {
    return Error(Code::kPreconditionNotMet,
                 "database schema version " + std::to_string(current) + " is not valid");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= current) continue;
    ARCA_RETURN_IF_ERROR(
        conn.Exec(m.sql, "migrate schema to version " + std::to_string(m.version)));
  }
  if (current < latest) {
    const std::string set = "PRAGMA user_version = " + std::to_string(latest);
    ARCA_RETURN_IF_ERROR(conn.Exec(set.c_str(), "set schema version"));
  }
  return conn.Exec("COMMIT", "commit schema migration");
}

}  // namespace

const char* MigrationSql(std::int64_t version) {
  for (const Migration& m : kMigrations) {
    if (m.version == version) return m.sql;
  }
  return nullptr;
}

std::int64_t LatestSchemaVersion() { return std::prev(std::end(kMigrations))->version; }

Status Migrate(Connection& conn) {
  ARCA_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE", "begin schema migration"));
  Status status = MigrateInTransaction(conn);
  if (!status.ok() && conn.InTransaction()) {
    (void)conn.Exec("ROLLBACK", "roll back schema migration");
  }
  return status;
}

}  // namespace arca::store::sqlite
