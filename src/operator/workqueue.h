#pragma once
// WorkQueue: the controller's queue of keys to reconcile, like client-go's delaying work queue. A
// key is held once: adding a key that waits already keeps the earlier due time; adding a key while
// it is being processed marks it to run again once Done() is called, so no change is lost and a key
// is never reconciled by two workers at once.
//
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace arca::op {

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  // Due at once (`delay` zero) or after `delay`.
  void Add(const std::string& key, Clock::duration delay = Clock::duration::zero());
  // Blocks until a key is due (returns it, now being processed) or Shutdown() (nullopt).
  std::optional<std::string> Next();
  // Processing of `key` ended.
  void Done(const std::string& key);
  void Shutdown();
  // Keys waiting or being processed (for tests and metrics).
  std::size_t Size() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, Clock::time_point> due_;           // GUARDED_BY(mu_)
  std::set<std::string> processing_;                       // GUARDED_BY(mu_)
  std::map<std::string, Clock::time_point> again_;         // GUARDED_BY(mu_): added while processing
  bool shutdown_ = false;                                  // GUARDED_BY(mu_)
};

}  // namespace arca::op
