#pragma once
// Background work done once among the servers that share a store (several replicas on one
// PostgreSQL; with SQLite there is one server and the lease is simply always its own).
//
// A LeaseKeeper claims or renews the named leases (store::Transaction::ClaimLease) for its owner
// every `renew`, each for `ttl`. Held(name) is true while the last successful claim is younger
// than ttl - renew: a server that cannot reach the store stops counting itself the holder before
// its lease can expire, and a server that died is replaced within `ttl` (+ one renewal). Stop()
// gives the leases back, so a clean shutdown hands the work over at once.
//
// Thread-safety: Held() from any thread; Stop() once, from the owner.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/store.h"

namespace arca::server {

struct LeaseOptions {
  std::chrono::milliseconds ttl{10000};
  std::chrono::milliseconds renew{2000};
};

class LeaseKeeper {
 public:
  LeaseKeeper(store::Store& store, std::string owner, std::vector<std::string> names,
              const Clock& clock, LeaseOptions options = {});
  ~LeaseKeeper();  // Stop()
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  bool Held(std::string_view name) const;
  // How long `name` has been held without a gap (a missed renewal starts a new period); zero when
  // it is not held.
  std::chrono::milliseconds HeldFor(std::string_view name) const;
  const std::string& owner() const { return owner_; }
  // Releases the leases and stops renewing. Idempotent.
  void Stop();

 private:
  void Loop();
  void RenewAll();

  store::Store& store_;
  const std::string owner_;
  const std::vector<std::string> names_;
  const Clock& clock_;
  const LeaseOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                       // GUARDED_BY(mu_)
  std::map<std::string, TimePoint, std::less<>> held_since_;   // GUARDED_BY(mu_): last claim
  std::map<std::string, TimePoint, std::less<>> period_start_;  // GUARDED_BY(mu_): see HeldFor
  std::map<std::string, bool, std::less<>> reported_;          // loop thread only
  std::thread thread_;  // last: starts after the members above exist
};

}  // namespace arca::server
