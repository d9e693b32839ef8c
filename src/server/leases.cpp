#include "server/leases.h"

#include <utility>

#include "core/log.h"

namespace arca::server {

LeaseKeeper::LeaseKeeper(store::Store& store, std::string owner, std::vector<std::string> names,
                         const Clock& clock, LeaseOptions options)
    : store_(store),
      owner_(std::move(owner)),
      names_(std::move(names)),
      clock_(clock),
      options_(options) {
  RenewAll();  // Held() answers at once after construction
  thread_ = std::thread([this] { Loop(); });
}

LeaseKeeper::~LeaseKeeper() { Stop(); }

bool LeaseKeeper::Held(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = held_since_.find(name);
  if (it == held_since_.end()) return false;
  return clock_.Now() - it->second < options_.ttl - options_.renew;
}

std::chrono::milliseconds LeaseKeeper::HeldFor(std::string_view name) const {
  if (!Held(name)) return std::chrono::milliseconds(0);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = period_start_.find(name);
  if (it == period_start_.end()) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - it->second);
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::vector<std::string> held;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [name, since] : held_since_) held.push_back(name);
    held_since_.clear();
  }
  if (held.empty()) return;
  auto txn = store_.Begin(store::TxnMode::kWrite);
  if (!txn.ok()) return;  // they expire by themselves
  for (const auto& name : held) (void)(*txn)->ReleaseLease(name, owner_);
  (void)(*txn)->Commit();
}

void LeaseKeeper::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, options_.renew, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    RenewAll();
    lock.lock();
  }
}

void LeaseKeeper::RenewAll() {
  const TimePoint started = clock_.Now();
  const std::int64_t now_ms = ToUnixMillis(started);
  std::map<std::string, bool, std::less<>> got;
  Status status = [&]() -> Status {
    ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(store::TxnMode::kWrite));
    for (const auto& name : names_) {
      ARCA_ASSIGN_OR_RETURN(bool mine, txn->ClaimLease(name, owner_, now_ms, options_.ttl.count()));
      got[name] = mine;
    }
    return txn->Commit();
  }();
  if (!status.ok()) {
    log::Warn("cannot renew background-work leases", {{"error", status.error().ToLogString()}});
    return;  // Held() runs out by itself
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, mine] : got) {
    if (mine) {
      // A claim more than two renewals after the last one starts a new period of holding.
      auto last = held_since_.find(name);
      if (last == held_since_.end() || started - last->second > 2 * options_.renew) {
        period_start_[name] = started;
      }
      held_since_[name] = started;  // the lease runs from before the claim was sent
    } else {
      held_since_.erase(name);
      period_start_.erase(name);
    }
    bool& was = reported_[name];
    if (mine != was) {
      log::Info(mine ? "took the background-work lease" : "another server holds the background-work lease",
                {{"lease", name}, {"owner", owner_}});
      was = mine;
    }
  }
}

}  // namespace arca::server
