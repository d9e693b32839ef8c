#pragma once
// `arca migrate`: copies an SQLite store into an empty PostgreSQL store, table by table and row by
// row, exactly as stored (values, data keys and access key secrets stay sealed: nothing is
// decrypted and the master key is not needed), in one PostgreSQL transaction, then reads both back
// and compares each table's row count and checksum.
//
// The source is first brought to the current schema (as a server start would) and read inside one
// read transaction: a server may keep running on it, and the copy is the database as of that
// moment. The target must hold no Arca data yet (its schema is created when missing).
//
// Thread-safety: a free function without shared state.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace arca::store {

struct MigratedTable {
  std::string name;
  std::int64_t rows = 0;
  std::string checksum;  // hex SHA-256 over the rows in key order, the same on both sides
};

struct MigrateReport {
  std::vector<MigratedTable> tables;
  std::int64_t change_sequence = 0;
  std::int64_t latest_change = 0;
};

// Progress lines ("secrets: 1200 rows"), for the command's output.
using MigrateProgress = std::function<void(std::string_view line)>;

//   kNotFound: no database at sqlite_path. kAlreadyExists: the target holds Arca data.
//   kInternal: a verification mismatch (the transaction is already committed; the message names
//   the table); otherwise the errors of the two stores (kUnavailable, kPreconditionNotMet, ...).
Result<MigrateReport> MigrateSqliteToPostgres(const std::string& sqlite_path,
                                              const std::string& postgres_url,
                                              const MigrateProgress& progress = {});

}  // namespace arca::store
