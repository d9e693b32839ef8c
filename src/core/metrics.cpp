#include "core/metrics.h"

#include <cstdio>

namespace arca::metrics {

namespace {

std::string FormatBound(double b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", b);
  return buf;
}

}  // namespace

std::string EscapeLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

Registry::Series& Registry::SeriesFor(std::string_view service, std::string_view action,
                                      std::string_view outcome) {
  auto key = std::make_tuple(std::string(service), std::string(action), std::string(outcome));
  {
    std::shared_lock lock(mu_);
    if (auto it = requests_.find(key); it != requests_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = requests_[std::move(key)];
  if (!slot) slot = std::make_unique<Series>();
  return *slot;
}

Registry::Histogram& Registry::HistogramFor(std::string_view service) {
  {
    std::shared_lock lock(mu_);
    if (auto it = latency_.find(service); it != latency_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = latency_[std::string(service)];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Registry::RecordRequest(std::string_view service, std::string_view action, std::string_view outcome,
                             double seconds) {
  SeriesFor(service, action, outcome).count.fetch_add(1, std::memory_order_relaxed);
  Histogram& h = HistogramFor(service);
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      h.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  h.sum_ns.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

void Registry::AddCollector(Collector collector) {
  std::unique_lock lock(mu_);
  collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
  std::string out;
  std::shared_lock lock(mu_);
  out += "# HELP arca_requests_total API requests by service, action and outcome.\n";
  out += "# TYPE arca_requests_total counter\n";
  for (const auto& [key, series] : requests_) {
    const auto& [service, action, outcome] = key;
    out += "arca_requests_total{service=\"" + EscapeLabel(service) + "\",action=\"" + EscapeLabel(action) +
           "\",outcome=\"" + EscapeLabel(outcome) + "\"} " +
           std::to_string(series->count.load(std::memory_order_relaxed)) + "\n";
  }
  out += "# HELP arca_denied_requests_total API requests refused by access control.\n";
  out += "# TYPE arca_denied_requests_total counter\n";
  std::map<std::string, std::uint64_t> denied;
  for (const auto& [key, series] : requests_) {
    if (std::get<2>(key) == "denied") denied[std::get<0>(key)] += series->count.load(std::memory_order_relaxed);
  }
  for (const auto& [service, n] : denied) {
    out += "arca_denied_requests_total{service=\"" + EscapeLabel(service) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP arca_request_duration_seconds Time from a whole request to its response.\n";
  out += "# TYPE arca_request_duration_seconds histogram\n";
  for (const auto& [service, h] : latency_) {
    std::uint64_t cumulative = 0;
    const std::string label = "service=\"" + EscapeLabel(service) + "\"";
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h->buckets[i].load(std::memory_order_relaxed);
      out += "arca_request_duration_seconds_bucket{" + label + ",le=\"" + FormatBound(kLatencyBuckets[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    const std::uint64_t count = h->count.load(std::memory_order_relaxed);
    out += "arca_request_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(count) + "\n";
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.9f",
                  static_cast<double>(h->sum_ns.load(std::memory_order_relaxed)) / 1e9);
    out += "arca_request_duration_seconds_sum{" + label + "} " + sum + "\n";
    out += "arca_request_duration_seconds_count{" + label + "} " + std::to_string(count) + "\n";
  }
  for (const auto& collect : collectors_) collect(out);
  return out;
}

}  // namespace arca::metrics
