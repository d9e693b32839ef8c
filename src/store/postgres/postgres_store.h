#pragma once
// The store for several server replicas: one PostgreSQL database (15 or newer) over libpq.
//
// Same contract as the SQLite store (store.h), across processes:
//   - Write transactions are serialised across every replica by a transaction-scoped advisory lock
//     taken at Begin(kWrite), so the domains' read-modify-write logic (ClientRequestToken
//     idempotency, label moves, AWSCURRENT/AWSPREVIOUS) holds with many replicas exactly as with
//     one process. Read transactions are REPEATABLE READ READ ONLY snapshots and never wait.
//   - Commit() returns after PostgreSQL acknowledged the COMMIT (durable under its
//     synchronous_commit setting, `on` by default).
//   - The change log and the change sequence are rows bumped inside the write transaction (no
//     gaps, commit order). Commit sends NOTIFY arca_changes with both; every replica's listener
//     thread (LISTEN on a connection of its own) raises its known sequences and calls the
//     OnCommit listeners, so caches and change-stream long-polls see other replicas' commits
//     within milliseconds. After the listener reconnects it reads the heads once (catch-up).
//   - Schema migrations run at open inside one transaction holding an advisory lock, so replicas
//     starting together migrate once; a database whose schema is newer than the binary is refused.
//   - Connection failures give kUnavailable (retryable); a broken connection is dropped from the
//     pool and the next transaction opens a new one, so the server recovers by itself when
//     PostgreSQL comes back.
//
// Thread-safety: as Store.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace arca::store {

struct PostgresOptions {
  // A libpq connection URI ("postgres://user:password@host:port/db?sslmode=verify-full") or
  // key=value string; every libpq parameter (sslmode, sslrootcert, connect_timeout, ...) is
  // honoured as libpq documents it.
  std::string url;
  std::size_t max_idle_connections = 8;  // kept open between transactions
  // How long Begin(kWrite) waits for the cluster-wide writer lock before kUnavailable.
  std::chrono::milliseconds writer_wait{10000};
  // Whether to start the LISTEN thread (off for one-shot commands such as `arca migrate`).
  bool listen = true;
};

// Connects, migrates the schema and starts the listener.
//   kUnavailable: the database cannot be reached (the message names host and port, never the
//   password); kPreconditionNotMet: its schema is newer than this binary; kInvalidParameter: a
//   malformed URL.
Result<std::unique_ptr<Store>> OpenPostgresStore(const PostgresOptions& options);

// `url` with any password removed, for logs and error messages.
std::string RedactPostgresUrl(const std::string& url);

}  // namespace arca::store
