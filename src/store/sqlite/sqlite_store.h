#pragma once
// The embedded default store: one SQLite file (DATA_DIR/arca.db) in WAL mode with synchronous=FULL.
// The schema is versioned (PRAGMA user_version) and migrated forward at open; a file whose schema is
// newer than this binary is refused.

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace arca::store {

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

}  // namespace arca::store
