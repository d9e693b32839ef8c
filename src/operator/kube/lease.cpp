#include "operator/kube/lease.h"

#include <boost/json.hpp>

#include <ctime>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "operator/kube/informer.h"

namespace arca::op::kube {

namespace bj = boost::json;

namespace {

using SysClock = std::chrono::system_clock;

// MicroTime: RFC 3339 with microseconds, UTC.
std::string MicroTime(SysClock::time_point t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lldZ", static_cast<long long>(us % 1000000));
  return std::string(buf) + frac;
}

}  // namespace

LeaderElector::LeaderElector(const KubeClient& client, LeaseOptions options)
    : client_(client), options_(std::move(options)) {}

bool LeaderElector::TryAcquireOrRenew() {
  const std::string collection = ResourcePath("coordination.k8s.io", "v1", "leases", options_.namespace_);
  const std::string path = collection + "/" + options_.name;
  const auto now = SysClock::now();
  auto current = client_.Get(path);
  if (!current.ok()) {
    if (current.error().code() != Code::kNotFound) {
      log::Warn("leader election: cannot read the lease", {{"lease", path}, {"error", current.error().message()}});
      return false;
    }
    bj::object lease{{"apiVersion", "coordination.k8s.io/v1"},
                     {"kind", "Lease"},
                     {"metadata", bj::object{{"name", options_.name}, {"namespace", options_.namespace_}}},
                     {"spec", bj::object{{"holderIdentity", options_.identity},
                                         {"leaseDurationSeconds", options_.lease_duration.count()},
                                         {"acquireTime", MicroTime(now)},
                                         {"renewTime", MicroTime(now)},
                                         {"leaseTransitions", 0}}}};
    auto created = client_.Create(collection, lease);
    return created.ok();
  }
  bj::object& lease = *current;
  bj::object spec;
  if (bj::value* s = lease.if_contains("spec"); s != nullptr && s->is_object()) spec = s->get_object();
  const std::string holder = json::StringMember(spec, "holderIdentity");
  std::int64_t duration = options_.lease_duration.count();
  if (const bj::value* d = spec.if_contains("leaseDurationSeconds"); d != nullptr && d->is_int64()) duration = d->get_int64();
  TimePoint renewed_at{};
  const bool renewed = ParseIso8601WithOffset(json::StringMember(spec, "renewTime"), &renewed_at);
  const bool expired = !renewed || renewed_at + std::chrono::seconds(duration) < now;
  const bool mine = holder == options_.identity;
  if (!mine && !holder.empty() && !expired) return false;
  std::int64_t transitions = 0;
  if (const bj::value* t = spec.if_contains("leaseTransitions"); t != nullptr && t->is_int64()) transitions = t->get_int64();
  if (!mine) {
    ++transitions;
    spec["acquireTime"] = MicroTime(now);
  }
  spec["holderIdentity"] = options_.identity;
  spec["leaseDurationSeconds"] = options_.lease_duration.count();
  spec["renewTime"] = MicroTime(now);
  spec["leaseTransitions"] = transitions;
  lease["spec"] = std::move(spec);
  // The update carries the resourceVersion read: a concurrent taker gets 409 and loses.
  auto updated = client_.Update(path, lease);
  return updated.ok();
}

void LeaderElector::Release() {
  const std::string path =
      ResourcePath("coordination.k8s.io", "v1", "leases", options_.namespace_, options_.name);
  auto current = client_.Get(path);
  if (!current.ok()) return;
  bj::value* s = current->if_contains("spec");
  if (s == nullptr || !s->is_object() || json::StringMember(s->get_object(), "holderIdentity") != options_.identity) return;
  bj::object& spec = s->get_object();
  spec["holderIdentity"] = "";
  spec["leaseDurationSeconds"] = 1;
  spec["renewTime"] = MicroTime(SysClock::now() - std::chrono::seconds(3600));
  (void)client_.Update(path, *current);
}

void LeaderElector::Run(const std::atomic<bool>& stop, const std::function<void(bool leader)>& on_change) {
  auto last_renew = std::chrono::steady_clock::now();
  while (!stop.load()) {
    const bool ok = TryAcquireOrRenew();
    const auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_renew = now;
      if (!leader_.exchange(true)) {
        log::Info("leader election: this replica leads", {{"lease", options_.namespace_ + "/" + options_.name},
                                                           {"identity", options_.identity}});
        on_change(true);
      }
    } else if (leader_.load() && now - last_renew > options_.renew_deadline) {
      leader_ = false;
      log::Warn("leader election: lost the lease", {{"lease", options_.namespace_ + "/" + options_.name}});
      on_change(false);
    }
    if (!SleepUnlessStopped(stop, options_.retry_period)) break;
  }
  if (leader_.exchange(false)) {
    Release();
    on_change(false);
  }
}

}  // namespace arca::op::kube
