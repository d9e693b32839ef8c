#pragma once
// Alerts on denied requests: rules "N denials within M seconds", counted over every principal or
// per principal, POST a JSON alert to a webhook URL. Configured by `alert_webhook_url` and
// `alert_rules` (see ParseAlertRules), e.g. "5/60s per-principal, 100/60s".
//
// OnDenied is cheap (a lock and a deque push); the POST happens on the alerter's own thread, so a
// slow or dead webhook never slows a request. A rule fires when its count reaches N, then starts
// counting again from zero.
//
// Thread-safety: OnDenied may be called concurrently.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace arca::server {

struct AlertRule {
  std::int64_t threshold = 0;          // N
  std::chrono::seconds window{0};      // M
  bool per_principal = false;
  std::string name;                    // "denied-5-in-60s-per-principal"
};

// "N/Ms" or "N/Ms per-principal", comma-separated; also "Nm"/"Nh" windows. kInvalidParameter with
// what is wrong.
Result<std::vector<AlertRule>> ParseAlertRules(std::string_view text);

struct AlertOptions {
  std::string webhook_url;
  std::vector<AlertRule> rules;
  std::string account_id;
  std::chrono::milliseconds timeout{5000};
};

class Alerter {
 public:
  Alerter(AlertOptions options, const Clock& clock);
  ~Alerter();  // sends what is queued (bounded by the timeout), then stops
  Alerter(const Alerter&) = delete;
  Alerter& operator=(const Alerter&) = delete;

  void OnDenied(std::string_view principal_arn, std::string_view action, std::string_view resource);

  std::uint64_t sent() const;
  std::uint64_t failed() const;

 private:
  void Run();

  AlertOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  // Per rule: denial times by key ("" for the all-principals rules).
  std::vector<std::map<std::string, std::deque<TimePoint>>> windows_;  // GUARDED_BY(mu_)
  std::deque<std::string> outbox_;  // GUARDED_BY(mu_): JSON bodies to POST
  bool stopping_ = false;           // GUARDED_BY(mu_)
  std::uint64_t sent_ = 0;          // GUARDED_BY(mu_)
  std::uint64_t failed_ = 0;        // GUARDED_BY(mu_)
  std::thread worker_;
};

}  // namespace arca::server
