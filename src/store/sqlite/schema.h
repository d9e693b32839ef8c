#pragma once
// Internal to the SQLite store: the schema and its forward migrations.
//
// PRAGMA user_version holds the schema version. Migrations are an ordered list; at open every
// migration newer than the file's version is applied, together with the new user_version, in one
// BEGIN IMMEDIATE transaction (so two processes opening the same file do not both migrate it).
//
// Thread-safety: Migrate uses only the connection it is given.

#include <cstdint>

#include "core/result.h"
#include "store/sqlite/connection.h"

namespace arca::store::sqlite {

// The newest schema version this binary knows.
std::int64_t LatestSchemaVersion();

// The SQL of one migration (tests build a file of an older version with it); nullptr if unknown.
const char* MigrationSql(std::int64_t version);

// Brings the file to LatestSchemaVersion(). kPreconditionNotMet when the file's schema is newer
// than this binary supports; nothing is changed then.
Status Migrate(Connection& conn);

}  // namespace arca::store::sqlite
