#pragma once
// The audit log's files kept in PostgreSQL, for servers that share a PostgreSQL store: losing a
// replica's disk then loses no audit record, and `arca audit verify` and LookupEvents see every
// replica's records.
//
// Tables (created at Open when absent, under a transaction-scoped advisory lock, so replicas
// starting together do not race):
//   audit_chunks(chain text, file text, "offset" bigint, data bytea,
//                PRIMARY KEY (chain, file, "offset"))
//       One row per appended batch: `data` is whole JSON lines of the format of format.h, at byte
//       `offset` of `file` ("audit-000001.jsonl", ...) of `chain`. A file is its rows' data in
//       offset order. A chain is one hash chain: one per server replica (its id is the replica's
//       "HOSTNAME:DATA_DIR", see DefaultChainId in log.h).
//   audit_signing_key(id = 1, public_key text, key_version int, wrapped_key bytea,
//                     sealed_private_key bytea)
//       The deployment's one Ed25519 audit key pair: the public key in PEM, in clear (verify
//       needs no master key); the private key's PKCS#8 PEM sealed with the master keyring
//       (crypto::Keyring::Seal, AAD "arca-audit-key"). Created by the first writer.
//
// Durability and group commit: an Append is one INSERT of the whole batch in its own transaction;
// it is durable when PostgreSQL acknowledged the COMMIT (synchronous_commit, `on` by default).
//
// One writer per chain: LockWriter takes a session-level advisory lock (pg_try_advisory_lock on a
// hash of the chain id) on the writer's own connection. When that connection is lost, the lock is
// lost with it: the next write reconnects, takes the lock again and first checks that the chain
// still ends where this writer left it (allowing only its own last INSERT, whose COMMIT may have
// succeeded unacknowledged); otherwise it refuses (kPreconditionNotMet) rather than fork the
// chain. An INSERT that failed because the connection was lost is retried once on a new
// connection (or found committed); a failure after that is the log's failure (fail closed,
// /readyz says why) and the Log's healing retries until PostgreSQL is back.
//
// The connection string is never logged or put in an error: messages name host, port and
// database only, and any password text is cut from libpq's messages.
//
// Thread-safety: as Storage. Readers use pooled connections of their own, so queries and
// verification never wait for the writer.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/storage.h"
#include "core/result.h"
#include "core/secret_bytes.h"

struct pg_conn;

namespace arca::crypto {
class Keyring;
}

namespace arca::audit {

struct PostgresStorageOptions {
  // A libpq connection URI ("postgresql://user:password@host:5432/db?sslmode=verify-full") or
  // key=value string; every libpq parameter is honoured.
  std::string url;
  // Unseals (or seals, when creating it) the audit signing key: needed by a writer, not by
  // readers (verify, LookupEvents). Must outlive the storage.
  const crypto::Keyring* keyring = nullptr;
  // false: never create tables (`arca audit verify` reads only); a missing table then reads as
  // kNotFound from ListChains.
  bool create_schema = true;
  std::size_t max_idle_connections = 4;  // readers' pool
};

class PostgresStorage final : public Storage {
 public:
  // Connects once (kUnavailable naming host and port when it cannot; kInvalidParameter for a
  // malformed URL) and creates the tables when asked.
  static Result<std::unique_ptr<PostgresStorage>> Open(PostgresStorageOptions options);
  ~PostgresStorage() override;
  PostgresStorage(const PostgresStorage&) = delete;
  PostgresStorage& operator=(const PostgresStorage&) = delete;

  std::string Describe() const override { return "PostgreSQL " + target_; }
  std::string DescribeChain(std::string_view chain) const override;
  Result<std::vector<std::string>> ListChains() const override;
  Result<std::vector<LogFile>> ListFiles(std::string_view chain) const override;
  Result<std::string> Read(std::string_view chain, const LogFile& file, std::uint64_t offset,
                           std::uint64_t length) const override;
  Result<std::string> ReadAll(std::string_view chain, const LogFile& file) const override;
  Result<SigningKey> LoadOrCreateSigningKey() override;
  Result<std::optional<PublicKey>> LoadPublicKey() const override;
  std::string PublicKeyLocation() const override;
  Status LockWriter(std::string_view chain) override;
  Status Append(const LogFile& file, std::uint64_t offset, std::string_view data) override;
  Status Truncate(const LogFile& file, std::uint64_t size) override;
  Result<LogFile> CreateFile(std::uint64_t index) override;

 private:
  class Conn;  // a libpq connection

  explicit PostgresStorage(PostgresStorageOptions options);
  Result<std::unique_ptr<Conn>> Connect() const;
  Result<std::unique_ptr<Conn>> Acquire() const;  // a reader connection from the pool
  void Release(std::unique_ptr<Conn> conn) const;
  // fn(Conn&) on a reader connection; once more on a new one when a pooled connection turned out
  // to be dead (PostgreSQL restarted since it was last used).
  template <typename Fn>
  auto Reading(Fn&& fn) const;
  Status CreateSchema(Conn& conn) const;
  Result<std::vector<LogFile>> ListFilesOn(Conn& conn, std::string_view chain) const;
  // The writer's connection, reconnected, relocked and checked when it was lost; true when the
  // INSERT whose outcome was unknown turned out committed.
  Result<bool> EnsureWriter();
  // OK(false) when the chain ends where this writer left it, OK(true) when it ends after the
  // pending INSERT, kPreconditionNotMet otherwise.
  Result<bool> CheckChainEnd(Conn& conn);
  Error WriterError(std::string_view what, const Error& cause) const;
  std::string Redact(std::string text) const;

  const PostgresStorageOptions options_;
  std::string target_;    // host:port/db, for messages
  SecretBytes password_;  // cut from libpq's messages

  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<Conn>> idle_;  // GUARDED_BY(pool_mu_)

  // Writer state (one thread: the Log's writer).
  std::string chain_;  // locked chain; empty before LockWriter
  std::int64_t lock_key_ = 0;
  std::unique_ptr<Conn> writer_;  // holds the chain's lock; null once lost
  struct End {
    std::uint64_t file = 0;  // the chain's last file as this writer knows it (0: none)
    std::uint64_t size = 0;
  };
  End known_end_;
  End previous_end_;  // the end before CreateFile, while the new file has no rows
  struct Pending {  // the INSERT whose outcome is unknown
    std::uint64_t file = 0;
    std::uint64_t offset = 0;
    std::string sha256;
    std::uint64_t size = 0;
  };
  std::optional<Pending> pending_;
};

// "host:port/db" of a libpq URL or key=value string, without user or password (for messages);
// "(unparsable connection string)" when libpq cannot parse it.
std::string PostgresTarget(const std::string& url);

}  // namespace arca::audit
