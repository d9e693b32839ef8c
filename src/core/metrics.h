#pragma once
// Metrics in Prometheus' text exposition format (served at /metrics): requests by service, action
// and outcome, a latency histogram, and whatever other modules register as collectors (audit
// batches and bytes, store errors).
//
// Thread-safety: all methods may be called concurrently. Recording a request takes a shared lock
// and atomic increments; a new (service, action, outcome) series takes the lock exclusively once.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace arca::metrics {

// Upper bounds of the latency histogram's buckets, in seconds (+Inf is implied).
inline constexpr std::array<double, 12> kLatencyBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                           0.01,   0.025,   0.05,   0.1,   0.5,    1.0};

class Registry {
 public:
  // `outcome`: "success", "client_error", "server_error" or "denied".
  void RecordRequest(std::string_view service, std::string_view action, std::string_view outcome,
                     double seconds);

  // A collector appends its own metric families (with # HELP and # TYPE lines) to `out`.
  using Collector = std::function<void(std::string& out)>;
  void AddCollector(Collector collector);

  std::string Render() const;

 private:
  struct Series {
    std::atomic<std::uint64_t> count{0};
  };
  struct Histogram {
    std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size()> buckets{};
    std::atomic<std::uint64_t> count{0};
    std::atomic<std::uint64_t> sum_ns{0};
  };
  Series& SeriesFor(std::string_view service, std::string_view action, std::string_view outcome);
  Histogram& HistogramFor(std::string_view service);

  mutable std::shared_mutex mu_;
  std::map<std::tuple<std::string, std::string, std::string>, std::unique_ptr<Series>, std::less<>>
      requests_;  // GUARDED_BY(mu_)
  std::map<std::string, std::unique_ptr<Histogram>, std::less<>> latency_;  // GUARDED_BY(mu_)
  std::vector<Collector> collectors_;  // GUARDED_BY(mu_)
};

// Escapes a label value for the text format.
std::string EscapeLabel(std::string_view value);

}  // namespace arca::metrics
