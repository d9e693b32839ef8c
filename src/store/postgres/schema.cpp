#include "store/postgres/schema.h"

#include <iterator>
#include <string>

namespace arca::store::pg {

namespace {

struct Migration {
  std::int64_t version;
  const char* sql;
};

// Taken (transaction-scoped) around the migration; other keys of the store are in
// postgres_store.cpp.
constexpr const char* kLockMigration = "SELECT pg_advisory_xact_lock(7021802190830043137)";

// Append only: never edit a migration that has shipped; add the next version instead. Every text
// column compares byte-wise (COLLATE "C"), as SQLite's BINARY does, whatever the database's
// locale: listings sort the same on both stores. Names of IAM entities are unique ignoring ASCII
// case through indexes on lower(name).
constexpr Migration kMigrations[] = {
    // Everything SQLite's schema versions 1 to 5 hold.
    {1, R"sql(
CREATE TABLE secrets (
  id         text COLLATE "C" NOT NULL PRIMARY KEY,
  region     text COLLATE "C" NOT NULL,
  name       text COLLATE "C" NOT NULL,
  arn        text COLLATE "C" NOT NULL UNIQUE,
  created_ms bigint NOT NULL,
  deleted_ms bigint,
  purge_ms   bigint,
  meta       text COLLATE "C" NOT NULL,
  UNIQUE (region, name)
);
CREATE INDEX secrets_by_region_created ON secrets (region, created_ms, id);
CREATE INDEX secrets_by_purge ON secrets (purge_ms);

CREATE TABLE versions (
  secret_id        text COLLATE "C" NOT NULL REFERENCES secrets (id) ON DELETE CASCADE,
  version_id       text COLLATE "C" NOT NULL,
  created_ms       bigint NOT NULL,
  last_accessed_ms bigint,
  labels           text COLLATE "C" NOT NULL,
  is_binary        integer NOT NULL,
  key_version      bigint NOT NULL,
  wrapped_key      bytea NOT NULL,
  ciphertext       bytea NOT NULL,
  kms_key_arn      text COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (secret_id, version_id)
);

CREATE TABLE access_keys (
  access_key_id text COLLATE "C" NOT NULL PRIMARY KEY,
  principal     text COLLATE "C" NOT NULL,
  status        text COLLATE "C" NOT NULL,
  created_ms    bigint NOT NULL,
  key_version   bigint NOT NULL,
  wrapped_key   bytea NOT NULL,
  ciphertext    bytea NOT NULL
);
CREATE INDEX access_keys_by_principal ON access_keys (principal, created_ms, access_key_id);

CREATE TABLE settings (
  key   text COLLATE "C" NOT NULL PRIMARY KEY,
  value bytea NOT NULL
);

-- seq: the change sequence (every committed write); latest_change: the change log's newest row.
CREATE TABLE change_state (
  id            integer NOT NULL PRIMARY KEY CHECK (id = 1),
  seq           bigint NOT NULL,
  latest_change bigint NOT NULL
);
INSERT INTO change_state (id, seq, latest_change) VALUES (1, 0, 0);

CREATE TABLE iam_users (
  user_id    text COLLATE "C" NOT NULL PRIMARY KEY,
  name       text COLLATE "C" NOT NULL,
  path       text COLLATE "C" NOT NULL,
  arn        text COLLATE "C" NOT NULL UNIQUE,
  created_ms bigint NOT NULL
);
CREATE UNIQUE INDEX iam_users_by_name ON iam_users (lower(name));

CREATE TABLE iam_roles (
  role_id              text COLLATE "C" NOT NULL PRIMARY KEY,
  name                 text COLLATE "C" NOT NULL,
  path                 text COLLATE "C" NOT NULL,
  arn                  text COLLATE "C" NOT NULL UNIQUE,
  assume_role_policy   text COLLATE "C" NOT NULL,
  description          text COLLATE "C" NOT NULL,
  max_session_duration bigint NOT NULL,
  created_ms           bigint NOT NULL
);
CREATE UNIQUE INDEX iam_roles_by_name ON iam_roles (lower(name));

CREATE TABLE iam_policies (
  policy_id          text COLLATE "C" NOT NULL PRIMARY KEY,
  name               text COLLATE "C" NOT NULL,
  path               text COLLATE "C" NOT NULL,
  arn                text COLLATE "C" NOT NULL UNIQUE,
  description        text COLLATE "C" NOT NULL,
  default_version_id text COLLATE "C" NOT NULL,
  next_version       bigint NOT NULL,
  created_ms         bigint NOT NULL,
  updated_ms         bigint NOT NULL
);
CREATE UNIQUE INDEX iam_policies_by_name ON iam_policies (lower(name));

CREATE TABLE iam_policy_versions (
  policy_id  text COLLATE "C" NOT NULL REFERENCES iam_policies (policy_id) ON DELETE CASCADE,
  version_id text COLLATE "C" NOT NULL,
  document   text COLLATE "C" NOT NULL,
  created_ms bigint NOT NULL,
  PRIMARY KEY (policy_id, version_id)
);

CREATE TABLE iam_attachments (
  owner_id    text COLLATE "C" NOT NULL,
  policy_id   text COLLATE "C" NOT NULL REFERENCES iam_policies (policy_id) ON DELETE CASCADE,
  attached_ms bigint NOT NULL,
  position    bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (owner_id, policy_id)
);
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_id);

CREATE TABLE iam_inline_policies (
  owner_id text COLLATE "C" NOT NULL,
  name     text COLLATE "C" NOT NULL,
  document text COLLATE "C" NOT NULL,
  PRIMARY KEY (owner_id, name)
);

CREATE TABLE iam_tags (
  entity_id text COLLATE "C" NOT NULL,
  position  bigint NOT NULL,
  key       text COLLATE "C" NOT NULL,
  value     text COLLATE "C" NOT NULL,
  PRIMARY KEY (entity_id, key)
);

CREATE TABLE iam_oidc_providers (
  arn         text COLLATE "C" NOT NULL PRIMARY KEY,
  url         text COLLATE "C" NOT NULL,
  client_ids  text COLLATE "C" NOT NULL,
  thumbprints text COLLATE "C" NOT NULL,
  jwks        text COLLATE "C" NOT NULL,
  jwks_file   text COLLATE "C" NOT NULL,
  created_ms  bigint NOT NULL
);

CREATE TABLE kms_keys (
  key_id     text COLLATE "C" NOT NULL PRIMARY KEY,
  region     text COLLATE "C" NOT NULL,
  arn        text COLLATE "C" NOT NULL UNIQUE,
  created_ms bigint NOT NULL,
  meta       text COLLATE "C" NOT NULL
);
CREATE INDEX kms_keys_by_region_created ON kms_keys (region, created_ms, key_id);
CREATE INDEX kms_keys_by_created ON kms_keys (created_ms, key_id);

CREATE TABLE kms_materials (
  key_id      text COLLATE "C" NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
  version     bigint NOT NULL,
  created_ms  bigint NOT NULL,
  key_version bigint NOT NULL,
  wrapped_key bytea NOT NULL,
  ciphertext  bytea NOT NULL,
  PRIMARY KEY (key_id, version)
);

CREATE TABLE kms_aliases (
  region        text COLLATE "C" NOT NULL,
  name          text COLLATE "C" NOT NULL,
  target_key_id text COLLATE "C" NOT NULL REFERENCES kms_keys (key_id) ON DELETE CASCADE,
  created_ms    bigint NOT NULL,
  updated_ms    bigint NOT NULL,
  PRIMARY KEY (region, name)
);
CREATE INDEX kms_aliases_by_target ON kms_aliases (target_key_id);

CREATE TABLE parameters (
  region  text COLLATE "C" NOT NULL,
  name    text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  meta    text COLLATE "C" NOT NULL,
  PRIMARY KEY (region, name)
);

CREATE TABLE parameter_versions (
  region     text COLLATE "C" NOT NULL,
  name       text COLLATE "C" NOT NULL,
  version    bigint NOT NULL,
  created_ms bigint NOT NULL,
  labels     text COLLATE "C" NOT NULL,
  meta       text COLLATE "C" NOT NULL,
  value      bytea NOT NULL,
  PRIMARY KEY (region, name, version),
  FOREIGN KEY (region, name) REFERENCES parameters (region, name) ON DELETE CASCADE
);

CREATE TABLE changes (
  sequence bigint NOT NULL PRIMARY KEY,
  time_ms  bigint NOT NULL,
  kind     text COLLATE "C" NOT NULL,
  region   text COLLATE "C" NOT NULL,
  name     text COLLATE "C" NOT NULL,
  arn      text COLLATE "C" NOT NULL,
  deleted  integer NOT NULL,
  versions text COLLATE "C" NOT NULL
);
CREATE INDEX changes_by_time ON changes (time_ms);

CREATE TABLE leases (
  name       text COLLATE "C" NOT NULL PRIMARY KEY,
  owner      text COLLATE "C" NOT NULL,
  expires_ms bigint NOT NULL
);
)sql"},
};

}  // namespace

std::int64_t LatestSchemaVersion() { return std::prev(std::end(kMigrations))->version; }

Status Migrate(Connection& conn) {
  Status status = [&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(std::string ignored, conn.Exec("BEGIN", "begin schema migration"));
    ARCA_ASSIGN_OR_RETURN(ignored, conn.Exec(kLockMigration, "lock schema migration"));
    ARCA_ASSIGN_OR_RETURN(
        ignored, conn.Exec("CREATE TABLE IF NOT EXISTS schema_version (version bigint NOT NULL)",
                           "create schema_version"));
    ARCA_ASSIGN_OR_RETURN(std::string text, conn.Exec("SELECT max(version) FROM schema_version",
                                                      "read schema version"));
    const std::int64_t current = text.empty() ? 0 : std::stoll(text);
    const std::int64_t latest = LatestSchemaVersion();
    if (current > latest) {
      return Error(Code::kPreconditionNotMet,
                   "database schema version " + std::to_string(current) +
                       " is newer than this arca supports (" + std::to_string(latest) + ")");
    }
    for (const Migration& m : kMigrations) {
      if (m.version <= current) continue;
      ARCA_ASSIGN_OR_RETURN(
          ignored, conn.Exec(m.sql, "migrate schema to version " + std::to_string(m.version)));
    }
    if (current < latest) {
      const std::string set = "DELETE FROM schema_version; INSERT INTO schema_version VALUES (" +
                              std::to_string(latest) + ")";
      ARCA_ASSIGN_OR_RETURN(ignored, conn.Exec(set.c_str(), "set schema version"));
    }
    ARCA_ASSIGN_OR_RETURN(ignored, conn.Exec("COMMIT", "commit schema migration"));
    return OkStatus();
  }();
  if (!status.ok() && PQtransactionStatus(conn.conn()) != PQTRANS_IDLE) {
    (void)conn.Exec("ROLLBACK", "roll back schema migration");
  }
  return status;
}

}  // namespace arca::store::pg
