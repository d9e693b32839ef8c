#include "server/alerts.h"

#include <boost/json.hpp>
#include <charconv>

#include "core/ids.h"
#include "core/log.h"
#include "core/strings.h"
#include "http/client.h"

namespace arca::server {

namespace {

constexpr std::size_t kMaxOutbox = 1000;
constexpr std::size_t kMaxKeysPerRule = 10000;

Error BadRule(std::string_view rule, std::string_view why) {
  return Error(Code::kInvalidParameter,
               "alert rule \"" + std::string(rule) + "\": " + std::string(why) +
                   " (the form is N/Ms or N/Ms per-principal, e.g. 5/60s per-principal)");
}

Result<std::int64_t> ParseCount(std::string_view s) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n <= 0) {
    return Error(Code::kInvalidParameter, "not a positive number");
  }
  return n;
}

}  // namespace

Result<std::vector<AlertRule>> ParseAlertRules(std::string_view text) {
  std::vector<AlertRule> rules;
  for (std::string_view raw : SplitOn(text, ',')) {
    std::string_view rule = TrimSpace(raw);
    if (rule.empty()) continue;
    AlertRule r;
    std::string_view spec = rule;
    if (auto space = rule.find(' '); space != std::string_view::npos) {
      std::string_view scope = TrimSpace(rule.substr(space + 1));
      if (scope != "per-principal") return BadRule(rule, "unknown scope \"" + std::string(scope) + "\"");
      r.per_principal = true;
      spec = rule.substr(0, space);
    }
    auto slash = spec.find('/');
    if (slash == std::string_view::npos) return BadRule(rule, "missing '/'");
    auto n = ParseCount(spec.substr(0, slash));
    if (!n.ok()) return BadRule(rule, "the count is not a positive number");
    std::string_view window = spec.substr(slash + 1);
    if (window.size() < 2) return BadRule(rule, "the window needs a unit (s, m or h)");
    std::int64_t unit = 0;
    switch (window.back()) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      default: return BadRule(rule, "the window needs a unit (s, m or h)");
    }
    auto w = ParseCount(window.substr(0, window.size() - 1));
    if (!w.ok()) return BadRule(rule, "the window is not a positive number");
    r.threshold = *n;
    r.window = std::chrono::seconds(*w * unit);
    r.name = "denied-" + std::to_string(r.threshold) + "-in-" + std::to_string(r.window.count()) + "s" +
             (r.per_principal ? "-per-principal" : "");
    rules.push_back(std::move(r));
  }
  return rules;
}

Alerter::Alerter(AlertOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), windows_(options_.rules.size()) {
  worker_ = std::thread([this] { Run(); });
}

Alerter::~Alerter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void Alerter::OnDenied(std::string_view principal_arn, std::string_view action, std::string_view resource) {
  const TimePoint now = clock_.Now();
  std::lock_guard<std::mutex> lock(mu_);
  for (std::size_t i = 0; i < options_.rules.size(); ++i) {
    const AlertRule& rule = options_.rules[i];
    auto& by_key = windows_[i];
    const std::string key = rule.per_principal ? std::string(principal_arn) : std::string();
    if (by_key.size() >= kMaxKeysPerRule && by_key.find(key) == by_key.end()) by_key.clear();
    auto& times = by_key[key];
    times.push_back(now);
    while (!times.empty() && times.front() <= now - rule.window) times.pop_front();
    if (static_cast<std::int64_t>(times.size()) < rule.threshold) continue;
    boost::json::object alert;
    alert["alert"] = rule.name;
    alert["id"] = NewRequestUuid();
    alert["account"] = options_.account_id;
    alert["threshold"] = rule.threshold;
    alert["windowSeconds"] = rule.window.count();
    alert["count"] = static_cast<std::int64_t>(times.size());
    if (rule.per_principal) alert["principal"] = std::string(principal_arn);
    alert["firstDenial"] = FormatIso8601(times.front());
    alert["lastDenial"] = FormatIso8601(now);
    alert["lastAction"] = std::string(action);
    alert["lastResource"] = std::string(resource);
    times.clear();
    if (outbox_.size() < kMaxOutbox) outbox_.push_back(boost::json::serialize(alert));
  }
  if (!outbox_.empty()) cv_.notify_one();
}

void Alerter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
    if (outbox_.empty()) return;  // stopping with nothing left
    std::string body = std::move(outbox_.front());
    outbox_.pop_front();
    lock.unlock();
    http::PostOptions post;
    post.headers = {{"Content-Type", "application/json"}};
    post.timeout = options_.timeout;
    auto r = http::Post(options_.webhook_url, body, post);
    bool ok = r.ok() && r->status >= 200 && r->status < 300;
    if (!ok) {
      log::Warn("alert webhook failed", {{"url", options_.webhook_url},
                                         {"error", r.ok() ? "HTTP " + std::to_string(r->status)
                                                          : r.error().ToLogString()}});
    }
    lock.lock();
    ++(ok ? sent_ : failed_);
  }
}

std::uint64_t Alerter::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

std::uint64_t Alerter::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

}  // namespace arca::server
