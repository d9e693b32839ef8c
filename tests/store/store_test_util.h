#pragma once
// Helpers shared by the store tests: the ASSERT_OK/EXPECT_CODE macros, row builders and small
// drivers (Begin, Changes, a read-modify-write counter). Fixtures inherit StoreTestUtil to call
// them unqualified.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

#define ASSERT_OK(expr)                                                          \
  do {                                                                           \
    auto&& status_ = (expr);                                                     \
    ASSERT_TRUE(status_.ok()) << #expr << ": " << status_.error().ToLogString(); \
  } while (0)

#define EXPECT_CODE(expr, code_)                                               \
  do {                                                                         \
    auto&& status_ = (expr);                                                   \
    ASSERT_FALSE(status_.ok()) << #expr << " succeeded";                       \
    EXPECT_EQ(status_.error().code(), code_) << status_.error().ToLogString(); \
  } while (0)

namespace arca::store {

// Thrown by the helpers when a store or transaction cannot be had: the test fails (GoogleTest
// reports the exception) instead of the whole binary crashing on a null pointer, so a store that
// cannot open yet fails its tests one by one.
struct StoreTestAbort : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Records the sequences OnCommit listeners are called with. Thread-safe: a PostgreSQL store also
// calls its listeners from its listener thread.
class HeardCommits {
 public:
  CommitListener Listener() {
    return [this](std::uint64_t latest) {
      std::lock_guard<std::mutex> lock(mu_);
      heard_.push_back(latest);
      cv_.notify_all();
    };
  }
  std::vector<std::uint64_t> Get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return heard_;
  }
  // Waits until a call with a sequence >= `sequence` was heard; false after `timeout`.
  bool WaitFor(std::uint64_t sequence, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (std::uint64_t s : heard_) {
        if (s >= sequence) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::uint64_t> heard_;
};

struct StoreTestUtil {
  static std::unique_ptr<Transaction> Begin(Store& store, TxnMode mode) {
    auto txn = store.Begin(mode);
    if (!txn.ok()) {
      throw StoreTestAbort("Begin failed: " + txn.error().ToLogString());
    }
    return std::move(txn).value();
  }

  static SecretRow Secret(const std::string& id, const std::string& region, const std::string& name,
                          std::int64_t created_ms = 1000) {
    SecretRow row;
    row.id = id;
    row.region = region;
    row.name = name;
    row.arn = "arn:aws:secretsmanager:" + region + ":000000000000:secret:" + name + "-" + id;
    row.created_ms = created_ms;
    row.meta = R"({"Description":"d"})";
    return row;
  }

  static VersionRow Version(const std::string& secret_id, const std::string& version_id,
                            std::int64_t created_ms, std::vector<std::string> labels = {}) {
    VersionRow row;
    row.secret_id = secret_id;
    row.version_id = version_id;
    row.created_ms = created_ms;
    row.labels = std::move(labels);
    row.sealed.key_version = 1;
    row.sealed.wrapped_key = "wk-" + version_id;
    row.sealed.ciphertext = "ct-" + version_id;
    return row;
  }

  static void ExpectSecretEq(const SecretRow& a, const SecretRow& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.region, b.region);
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.arn, b.arn);
    EXPECT_EQ(a.created_ms, b.created_ms);
    EXPECT_EQ(a.deleted_ms, b.deleted_ms);
    EXPECT_EQ(a.purge_ms, b.purge_ms);
    EXPECT_EQ(a.meta, b.meta);
  }

  static void ExpectVersionEq(const VersionRow& a, const VersionRow& b) {
    EXPECT_EQ(a.secret_id, b.secret_id);
    EXPECT_EQ(a.version_id, b.version_id);
    EXPECT_EQ(a.created_ms, b.created_ms);
    EXPECT_EQ(a.last_accessed_ms, b.last_accessed_ms);
    EXPECT_EQ(a.labels, b.labels);
    EXPECT_EQ(a.binary, b.binary);
    EXPECT_EQ(a.sealed.key_version, b.sealed.key_version);
    EXPECT_EQ(a.sealed.wrapped_key, b.sealed.wrapped_key);
    EXPECT_EQ(a.sealed.ciphertext, b.sealed.ciphertext);
  }

  static KmsKeyRow Key(const std::string& id, const std::string& region, std::int64_t created_ms) {
    return {id, region, "arn:aws:kms:" + region + ":000000000000:key/" + id, created_ms,
            R"({"KeyState":"Enabled"})"};
  }

  static KmsMaterialRow Material(const std::string& key_id, std::int64_t version) {
    using namespace std::string_literals;
    KmsMaterialRow row;
    row.key_id = key_id;
    row.version = version;
    row.created_ms = 100 * version;
    row.sealed.key_version = 1;
    row.sealed.wrapped_key = "wk\0\xff"s + std::to_string(version);
    row.sealed.ciphertext = "ct\0\x01"s + std::to_string(version);
    return row;
  }

  static ParameterVersionRow PVersion(const std::string& region, const std::string& name,
                                      std::int64_t version, std::string value,
                                      std::vector<std::string> labels = {}) {
    ParameterVersionRow row;
    row.region = region;
    row.name = name;
    row.version = version;
    row.created_ms = 1000 + version;
    row.labels = std::move(labels);
    row.meta = R"({"Type":"String"})";
    row.value = std::move(value);
    return row;
  }

  static std::vector<std::string> KeyIds(const std::vector<KmsKeyRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.key_id);
    return out;
  }

  static std::vector<std::string> Names(const std::vector<ParameterRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.name);
    return out;
  }

  // The change log after `after`, through a read transaction of its own.
  static std::vector<ChangeRow> Changes(Store& store, std::uint64_t after = 0,
                                        std::size_t limit = 100) {
    auto txn = store.Begin(TxnMode::kRead);
    EXPECT_TRUE(txn.ok());
    if (!txn.ok()) return {};
    auto rows = (*txn)->ListChanges(after, limit);
    EXPECT_TRUE(rows.ok()) << rows.error().ToLogString();
    return rows.ok() ? std::move(rows).value() : std::vector<ChangeRow>{};
  }

  // Read-modify-write of the setting "counter", `times` write transactions: write transactions are
  // serialised, so no increment is lost.
  static void IncrementCounter(Store& store, int times, std::atomic<int>* failures) {
    for (int i = 0; i < times; ++i) {
      auto txn = store.Begin(TxnMode::kWrite);
      if (!txn.ok()) {
        ++*failures;
        continue;
      }
      auto value = (*txn)->GetSetting("counter");
      if (!value.ok()) {
        ++*failures;
        continue;
      }
      int n = value->has_value() ? std::stoi(**value) : 0;
      if (!(*txn)->PutSetting("counter", std::to_string(n + 1)).ok() || !(*txn)->Commit().ok()) {
        ++*failures;
      }
    }
  }

  static int ReadCounter(Store& store) {
    auto txn = store.Begin(TxnMode::kRead);
    if (!txn.ok()) return -1;
    auto value = (*txn)->GetSetting("counter");
    if (!value.ok() || !value->has_value()) return -1;
    return std::stoi(**value);
  }
};

}  // namespace arca::store
