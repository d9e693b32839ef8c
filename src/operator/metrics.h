#pragma once
// The operator's /metrics, with the External Secrets Operator's metric names so its dashboards and
// alerts work unchanged:
//   externalsecret_sync_calls_total{name,namespace}          counter, every sync
//   externalsecret_sync_calls_error{name,namespace}          counter, failed syncs
//   externalsecret_status_condition{name,namespace,condition,status}  gauge, 1 for the current status
//   externalsecret_reconcile_duration{name,namespace}        gauge, the last reconcile in milliseconds
// and Arca's own:
//   arca_operator_sync_latency_seconds                       histogram, from a pushed change to its
//                                                            Secret written
//   arca_operator_leader                                     gauge, 1 on the leader
//
// Thread-safety: all methods may be called concurrently.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace arca::op {

class OperatorMetrics {
 public:
  void Synced(const std::string& ns, const std::string& name, bool ok, double reconcile_ms);
  void Condition(const std::string& ns, const std::string& name, bool ready);
  void Forget(const std::string& ns, const std::string& name);
  void PushLatency(double seconds);
  void SetLeader(bool leader);
  std::string Render() const;

 private:
  struct PerSecret {
    std::uint64_t calls = 0;
    std::uint64_t errors = 0;
    double duration_ms = 0;
    int ready = -1;  // -1 unknown, 0 False, 1 True
  };
  static constexpr std::array<double, 8> kBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, PerSecret> secrets_;  // GUARDED_BY(mu_)
  std::array<std::uint64_t, kBuckets.size()> latency_buckets_{};      // GUARDED_BY(mu_)
  std::uint64_t latency_count_ = 0;                                    // GUARDED_BY(mu_)
  double latency_sum_ = 0;                                             // GUARDED_BY(mu_)
  bool leader_ = false;                                                // GUARDED_BY(mu_)
};

}  // namespace arca::op
