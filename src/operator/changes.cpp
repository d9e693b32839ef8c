#include "operator/changes.h"

#include <boost/json.hpp>

#include "core/json.h"
#include "core/log.h"
#include "operator/kube/informer.h"

namespace arca::op {

namespace bj = boost::json;

ChangeFollowers::ChangeFollowers(OnChange on_change, std::chrono::seconds wait)
    : on_change_(std::move(on_change)), wait_(wait) {}

ChangeFollowers::~ChangeFollowers() { Stop(); }

void ChangeFollowers::Ensure(const std::string& store_key, const std::string& server, const std::string& region,
                             std::shared_ptr<const client::AwsClient> client) {
  // One follower per store and server: a store edited to point elsewhere gets a new one (the old
  // one goes on until Stop(); it only wakes syncs that find nothing changed).
  const std::string key = store_key + "\x1f" + server + "\x1f" + region;
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_.load()) return;
  auto it = followers_.find(key);
  if (it == followers_.end()) {
    auto f = std::make_unique<Follower>();
    f->server = server;
    f->region = region;
    f->client = std::move(client);
    f->client_at = std::chrono::steady_clock::now();
    Follower* raw = f.get();
    raw->thread = std::thread([this, raw] { Follow(*raw); });
    followers_[key] = std::move(f);
    return;
  }
  std::lock_guard<std::mutex> flock(it->second->mu);
  if (std::chrono::steady_clock::now() - it->second->client_at > std::chrono::minutes(5)) {
    it->second->client = std::move(client);
    it->second->client_at = std::chrono::steady_clock::now();
  }
}

void ChangeFollowers::Stop() {
  std::map<std::string, std::unique_ptr<Follower>> followers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    followers.swap(followers_);
  }
  for (auto& [k, f] : followers) {
    if (f->thread.joinable()) f->thread.join();
  }
}

void ChangeFollowers::Follow(Follower& f) {
  const std::string server = f.server;
  const std::string region = f.region;
  std::string after = "latest";
  bool started = false;
  std::chrono::milliseconds backoff{0};
  auto last_warning = std::chrono::steady_clock::time_point{};
  while (!stop_.load()) {
    std::shared_ptr<const client::AwsClient> c;
    {
      std::lock_guard<std::mutex> lock(f.mu);
      c = f.client;
    }
    auto r = c->CallGet("secretsmanager", "/arca/v1/changes",
                        {{"after", after}, {"wait", std::to_string(wait_.count())}});
    if (!r.ok()) {
      backoff = backoff.count() == 0 ? std::chrono::milliseconds(1000) : std::min(backoff * 2, std::chrono::milliseconds(30000));
      const auto now = std::chrono::steady_clock::now();
      if (now - last_warning > std::chrono::minutes(1)) {
        log::Warn("change stream: cannot follow; retrying (refreshInterval still applies)",
                  {{"server", server}, {"region", region}, {"error", r.error().message()}});
        last_warning = now;
      }
      if (!kube::SleepUnlessStopped(stop_, backoff)) break;
      continue;
    }
    backoff = std::chrono::milliseconds(0);
    const bj::value* next = r->if_contains("NextSequence");
    if (next != nullptr && next->is_int64()) after = std::to_string(next->get_int64());
    if (next != nullptr && next->is_uint64()) after = std::to_string(next->get_uint64());
    if (!started) {
      started = true;
      log::Info("change stream: following", {{"server", server}, {"region", region}, {"after", after}});
      on_change_(server, region, "");  // whatever changed while nobody listened
    }
    if (const bj::value* reset = r->if_contains("Reset"); reset != nullptr && reset->is_bool() && reset->get_bool()) {
      on_change_(server, region, "");
    }
    if (const bj::value* changes = r->if_contains("Changes"); changes != nullptr && changes->is_array()) {
      for (const auto& ch : changes->get_array()) {
        if (!ch.is_object()) continue;
        const std::string name = json::StringMember(ch.get_object(), "Name");
        const std::string arn = json::StringMember(ch.get_object(), "ARN");
        if (!name.empty()) on_change_(server, region, name);
        if (!arn.empty()) on_change_(server, region, arn);
      }
    }
  }
}

}  // namespace arca::op
