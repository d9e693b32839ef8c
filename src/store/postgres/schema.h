#pragma once
// The PostgreSQL store's schema: forward-only migrations, applied at open inside one transaction
// that holds an advisory lock, so replicas starting together migrate once and the others find the
// schema ready. The version is the single row of table schema_version.
//
// Thread-safety: Migrate uses the connection it is given, which must not be shared meanwhile.

#include <cstdint>

#include "core/result.h"
#include "store/postgres/connection.h"

namespace arca::store::pg {

// The cluster-wide writer lock: a transaction-scoped advisory lock every write transaction (and
// `arca migrate`'s copy) takes first. The migration's lock is another key (schema.cpp).
inline constexpr std::int64_t kWriterLockKey = 7021802190830043138;

std::int64_t LatestSchemaVersion();

// Brings the database to LatestSchemaVersion(). kPreconditionNotMet when its schema is newer.
Status Migrate(Connection& conn);

}  // namespace arca::store::pg
