#pragma once
// The audit tests' view of the test process's PostgreSQL cluster: the one the store tests use too
// (arca::testing::PostgresServer, tests/store/postgres_server.h: initdb in a temporary directory,
// a free port of 127.0.0.1, run as `nobody` when root, stopped at exit), with the calls the audit
// tests make: a fresh database per test, SQL as the superuser on it, stop and start.
//
// The URLs carry a password (PostgreSQL's trust authentication of the test cluster ignores it), so
// the tests can check that no message ever shows it.
//
// Thread-safety: used from the test's thread only.

#include <gtest/gtest.h>

#include <string>

#include "store/postgres_server.h"

namespace arca::audit::testing {

class PostgresCluster {
 public:
  // The process's cluster, started on first call; nullptr (with the reason in `why`) when
  // PostgreSQL is not installed or does not start.
  static PostgresCluster* Shared(std::string* why) {
    static PostgresCluster cluster;
    auto server = arca::testing::PostgresServer::Shared();
    if (!server.ok()) {
      if (why != nullptr) *why = server.error().ToLogString();
      return nullptr;
    }
    cluster.server_ = *server;
    return &cluster;
  }

  int port() const { return server_->port(); }
  const std::string& password() const { return password_; }
  bool running() const { return server_->running(); }
  bool Stop() { return server_->Stop().ok(); }
  bool Start() { return server_->Start().ok(); }

  // A new empty database; its URL (with the password).
  std::string NewDatabase() {
    auto db = server_->CreateDatabase();
    EXPECT_TRUE(db.ok()) << db.error().ToLogString();
    current_db_ = db.ok() ? db->name : "";
    return Url(current_db_);
  }
  std::string Url(const std::string& db) const {
    return "postgresql://postgres:" + password_ + "@127.0.0.1:" + std::to_string(port()) + "/" +
           db + "?sslmode=disable";
  }
  const std::string& current_db() const { return current_db_; }

  // Runs SQL as the superuser on the current database.
  void Sql(const std::string& sql) {
    Status s = server_->Execute(current_db_, sql);
    EXPECT_TRUE(s.ok()) << sql << ": " << s.error().ToLogString();
  }
  // The first value of the first row ("" when there is none).
  std::string Value(const std::string& sql) {
    auto v = server_->Query(current_db_, sql);
    if (!v.ok() && v.error().code() != Code::kNotFound) {
      ADD_FAILURE() << sql << ": " << v.error().ToLogString();
    }
    return v.ok() ? *v : std::string();
  }

 private:
  arca::testing::PostgresServer* server_ = nullptr;
  const std::string password_ = "pw-not-needed-but-never-shown-7f3a";
  std::string current_db_;
};

}  // namespace arca::audit::testing
