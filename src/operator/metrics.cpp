#include "operator/metrics.h"

#include <cstdio>

#include "core/metrics.h"

namespace arca::op {

namespace {

std::string Labels(const std::string& ns, const std::string& name) {
  return "name=\"" + metrics::EscapeLabel(name) + "\",namespace=\"" + metrics::EscapeLabel(ns) + "\"";
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void OperatorMetrics::Synced(const std::string& ns, const std::string& name, bool ok, double reconcile_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  PerSecret& s = secrets_[{ns, name}];
  ++s.calls;
  if (!ok) ++s.errors;
  s.duration_ms = reconcile_ms;
}

void OperatorMetrics::Condition(const std::string& ns, const std::string& name, bool ready) {
  std::lock_guard<std::mutex> lock(mu_);
  secrets_[{ns, name}].ready = ready ? 1 : 0;
}

void OperatorMetrics::Forget(const std::string& ns, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  secrets_.erase({ns, name});
}

void OperatorMetrics::PushLatency(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++latency_buckets_[i];
  }
  ++latency_count_;
  latency_sum_ += seconds;
}

void OperatorMetrics::SetLeader(bool leader) {
  std::lock_guard<std::mutex> lock(mu_);
  leader_ = leader;
}

std::string OperatorMetrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  out += "# HELP externalsecret_sync_calls_total Total number of the External Secret sync calls\n";
  out += "# TYPE externalsecret_sync_calls_total counter\n";
  for (const auto& [k, s] : secrets_) {
    out += "externalsecret_sync_calls_total{" + Labels(k.first, k.second) + "} " + std::to_string(s.calls) + "\n";
  }
  out += "# HELP externalsecret_sync_calls_error Total number of the External Secret sync errors\n";
  out += "# TYPE externalsecret_sync_calls_error counter\n";
  for (const auto& [k, s] : secrets_) {
    out += "externalsecret_sync_calls_error{" + Labels(k.first, k.second) + "} " + std::to_string(s.errors) + "\n";
  }
  out += "# HELP externalsecret_status_condition The status condition of a specific External Secret\n";
  out += "# TYPE externalsecret_status_condition gauge\n";
  for (const auto& [k, s] : secrets_) {
    if (s.ready < 0) continue;
    const std::string base = Labels(k.first, k.second) + ",condition=\"Ready\"";
    out += "externalsecret_status_condition{" + base + ",status=\"True\"} " + (s.ready == 1 ? "1" : "0") + "\n";
    out += "externalsecret_status_condition{" + base + ",status=\"False\"} " + (s.ready == 0 ? "1" : "0") + "\n";
  }
  out += "# HELP externalsecret_reconcile_duration The duration time to reconcile the External Secret\n";
  out += "# TYPE externalsecret_reconcile_duration gauge\n";
  for (const auto& [k, s] : secrets_) {
    out += "externalsecret_reconcile_duration{" + Labels(k.first, k.second) + "} " + Number(s.duration_ms) + "\n";
  }
  out += "# HELP arca_operator_sync_latency_seconds From a change pushed by the Arca server to its Secret written\n";
  out += "# TYPE arca_operator_sync_latency_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    out += "arca_operator_sync_latency_seconds_bucket{le=\"" + Number(kBuckets[i]) + "\"} " +
           std::to_string(latency_buckets_[i]) + "\n";
  }
  out += "arca_operator_sync_latency_seconds_bucket{le=\"+Inf\"} " + std::to_string(latency_count_) + "\n";
  out += "arca_operator_sync_latency_seconds_sum " + Number(latency_sum_) + "\n";
  out += "arca_operator_sync_latency_seconds_count " + std::to_string(latency_count_) + "\n";
  out += "# HELP arca_operator_leader Whether this replica holds the leader lease (1) or not (0)\n";
  out += "# TYPE arca_operator_leader gauge\n";
  out += std::string("arca_operator_leader ") + (leader_ ? "1" : "0") + "\n";
  return out;
}

}  // namespace arca::op
