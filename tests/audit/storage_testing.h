#pragma once
// The audit tests that run on both storages: a fixture parameterized by the backend, so the same
// test case checks FileStorage (a temporary data directory) and PostgresStorage (a fresh database
// of the test process's PostgreSQL cluster). Instantiations are named File/... and Postgres/...;
// the Postgres ones run in the one CTest test audit_postgres (tests/CMakeLists.txt).

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "audit/log.h"
#include "audit/postgres_storage.h"
#include "audit/storage.h"
#include "audit/verify.h"
#include "audit_testing.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "postgres_cluster.h"

namespace arca::audit::testing {

enum class Backend { kFile, kPostgres };
// How gtest (and so CTest's discovered test names) prints the parameter.
inline void PrintTo(Backend b, std::ostream* os) { *os << (b == Backend::kFile ? "files" : "rows"); }

class StorageFixture {
 protected:
  // false (and the test should skip) when the backend cannot run here.
  bool SetUpBackend(Backend backend, std::string* why) {
    backend_ = backend;
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    if (backend_ == Backend::kPostgres) {
      cluster_ = PostgresCluster::Shared(why);
      if (cluster_ == nullptr) return false;
      if (!cluster_->running() && !cluster_->Start()) {
        *why = "the test cluster does not start";
        return false;
      }
      url_ = cluster_->NewDatabase();
    }
    return true;
  }

  bool postgres() const { return backend_ == Backend::kPostgres; }

  // A new storage object on the same place (another process's view, or a restart's).
  std::shared_ptr<Storage> NewStorage(const crypto::Keyring* keyring = nullptr) {
    if (postgres()) {
      PostgresStorageOptions o;
      o.url = url_;
      o.keyring = keyring != nullptr ? keyring : keyring_.get();
      auto s = PostgresStorage::Open(o);
      EXPECT_TRUE(s.ok()) << s.error().ToLogString();
      return s.ok() ? std::shared_ptr<Storage>(std::move(s).value()) : nullptr;
    }
    const LogOptions o = DefaultLogOptions(tmp_.path());
    auto s = FileStorage::Open({o.dir, o.key_path, o.public_key_path});
    EXPECT_TRUE(s.ok()) << s.error().ToLogString();
    return s.ok() ? std::shared_ptr<Storage>(std::move(s).value()) : nullptr;
  }

  LogOptions Options(const std::string& chain = "host-a:/var/lib/arca") const {
    LogOptions o = TestOptions(tmp_.path());
    o.chain = chain;
    return o;
  }

  Result<std::unique_ptr<Log>> OpenLog(const std::string& chain = "host-a:/var/lib/arca") {
    return OpenLog(Options(chain));
  }
  Result<std::unique_ptr<Log>> OpenLog(LogOptions options) {
    std::shared_ptr<Storage> s = NewStorage();
    if (s == nullptr) return Error(Code::kUnavailable, "no storage");
    return Log::Open(std::move(s), std::move(options));
  }

  std::vector<VerifyReport> VerifyAll() {
    std::shared_ptr<Storage> s = NewStorage();
    if (s == nullptr) return {};
    auto r = VerifyStorage(*s, std::nullopt);
    EXPECT_TRUE(r.ok()) << r.error().ToLogString();
    return r.ok() ? std::move(r).value() : std::vector<VerifyReport>{};
  }

  // Every line of a chain, in order.
  std::vector<std::string> Lines(const std::string& chain = "host-a:/var/lib/arca") {
    std::vector<std::string> out;
    std::shared_ptr<Storage> s = NewStorage();
    if (s == nullptr) return out;
    auto files = s->ListFiles(chain);
    EXPECT_TRUE(files.ok());
    if (!files.ok()) return out;
    for (const LogFile& f : *files) {
      auto content = s->ReadAll(chain, f);
      EXPECT_TRUE(content.ok());
      if (!content.ok()) continue;
      std::size_t start = 0;
      for (std::size_t nl = content->find('\n'); nl != std::string::npos;
           nl = content->find('\n', start)) {
        out.push_back(content->substr(start, nl - start));
        start = nl + 1;
      }
    }
    return out;
  }

  Backend backend_ = Backend::kFile;
  TempDir tmp_;
  std::unique_ptr<crypto::Keyring> keyring_;
  PostgresCluster* cluster_ = nullptr;
  std::string url_;
};

}  // namespace arca::audit::testing
