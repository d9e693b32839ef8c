#pragma once
// `arca backup` and `arca restore`: the SQLite store's database file (DATA_DIR/arca.db) to and from
// a backup file, with store::BackupSqlite / store::RestoreSqlite. Neither loads the master key nor
// decrypts anything; both remind the operator that the master key is not in the backup.
//
// Thread-safety: each Run* function is called once, from the main thread.

#include <string>

#include "server/config.h"

namespace arca::server {

// Writes a consistent online snapshot of DATA_DIR/arca.db to `out` (mode 0600, never overwriting)
// and prints what it holds. Exit code: 0 on success, 1 on failure.
int RunBackup(Config config, const std::string& out);

// Puts the backup `from` in place of DATA_DIR/arca.db (creating DATA_DIR if needed). Refuses while
// an arca server runs on DATA_DIR (its audit log lock is held, or the database is open), when
// `from` is not an Arca database this binary can open, and when DATA_DIR/arca.db exists unless
// `force`. Exit code: 0 on success, 1 on failure.
int RunRestore(Config config, const std::string& from, bool force);

// `arca migrate --from sqlite:PATH --to postgres://...`: store::MigrateSqliteToPostgres, with a
// line per table and the verification's counts and checksums.
int RunMigrate(const std::string& from, const std::string& to);

}  // namespace arca::server
