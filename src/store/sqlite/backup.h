#pragma once
// Online backup and restore of the SQLite store's file (DATA_DIR/arca.db).
//
// Neither needs the master key and neither decrypts anything: database pages are copied as they
// are, so every secret value stays sealed and a backup is exactly as safe as the database file
// itself.
//
// BackupSqlite copies a live database with SQLite's online backup API, a few pages per step, inside
// one read transaction on the source: in WAL mode the server keeps reading and committing
// meanwhile, and the copy is the database as of the moment that transaction began (every write
// committed before it, nothing after). The output is an ordinary single-file SQLite database
// (rollback-journal mode), mode 0600, fsync'd.
//
// RestoreSqlite puts such a file in place of DATA_DIR/arca.db atomically (temporary file in the
// same directory, fsync, rename, fsync of the directory) after checking that it is an Arca database
// this binary can open and that no process has the current database open.
//
// Thread-safety: free functions without shared state; callers must not back up into, or restore to,
// the same path from two threads at once.

#include <cstdint>
#include <string>

#include "core/result.h"

namespace arca::store {

// What an Arca database holds, counted with plain SQL (nothing is decrypted).
struct SqliteSummary {
  std::int64_t schema_version = 0;   // PRAGMA user_version
  std::int64_t secrets = 0;          // including those scheduled for deletion
  std::int64_t deleted_secrets = 0;  // scheduled for deletion
  std::int64_t versions = 0;
  std::int64_t access_keys = 0;
  std::int64_t change_sequence = 0;
  std::int64_t bytes = 0;  // page_count * page_size
};

struct BackupOptions {
  int pages_per_step = 64;  // pages copied per sqlite3_backup_step (each step is short)
};

struct BackupReport {
  SqliteSummary summary;  // of the snapshot that was written
  int steps = 0;          // sqlite3_backup_step calls
};

// Writes a consistent snapshot of the Arca database at `src_path` to `out_path`.
//   kNotFound: no database at src_path.
//   kAlreadyExists: out_path exists (it is never overwritten).
//   kInvalidParameter: src_path is not an SQLite database, or not an Arca one.
//   kPreconditionNotMet: its schema is newer than this binary supports.
//   kUnavailable: I/O or database errors (busy, disk full), with the path and reason.
// On failure nothing is left at out_path.
Result<BackupReport> BackupSqlite(const std::string& src_path, const std::string& out_path,
                                  const BackupOptions& options = {});

// Opens `path` read-only and checks that it is an intact Arca database (PRAGMA quick_check, the
// store's tables, a schema version from 1 to LatestSchemaVersion()); returns what it holds. Errors
// as for BackupSqlite's source (kNotFound, kInvalidParameter, kPreconditionNotMet, kUnavailable).
Result<SqliteSummary> InspectSqliteDatabase(const std::string& path);

struct RestoreOptions {
  bool force = false;  // replace an existing database
};

struct RestoreReport {
  SqliteSummary summary;           // of the restored database
  bool replaced_existing = false;  // an earlier database was replaced
};

// Replaces (or creates) the database at `db_path` with a copy of the backup `from_path`, and
// removes the database's stale -wal/-shm files. The copy is checked before it is put in place.
//   kNotFound: no file at from_path.
//   kInvalidParameter / kPreconditionNotMet: from_path is not an Arca database this binary can open
//     (not SQLite, not Arca, damaged, or a newer schema); nothing is changed.
//   kAlreadyExists: db_path exists and options.force is false; nothing is changed.
//   kPreconditionNotMet: another connection (a running server) has db_path open; nothing is
//   changed. kUnavailable: I/O errors, with the path and reason.
Result<RestoreReport> RestoreSqlite(const std::string& from_path, const std::string& db_path,
                                    const RestoreOptions& options = {});

}  // namespace arca::store
