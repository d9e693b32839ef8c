#include "operator/kube/informer.h"

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <thread>

#include "core/json.h"
#include "core/log.h"

namespace arca::op::kube {

namespace bj = boost::json;

std::string KeyOf(const bj::object& obj) {
  const bj::object* meta = json::ObjectMember(obj, "metadata");
  const std::string ns = meta == nullptr ? "" : json::StringMember(*meta, "namespace");
  const std::string name = meta == nullptr ? "" : json::StringMember(*meta, "name");
  return ns.empty() ? name : ns + "/" + name;
}

bool SleepUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (!stop.load()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
  return false;
}

Informer::Informer(const KubeClient& client, std::string collection, std::string label_selector, Handler handler,
                   Strip strip)
    : client_(client),
      collection_(std::move(collection)),
      label_selector_(std::move(label_selector)),
      handler_(std::move(handler)),
      strip_(std::move(strip)) {}

std::optional<bj::object> Informer::Get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(key);
  if (it == cache_.end()) return std::nullopt;
  return it->second;
}

std::vector<bj::object> Informer::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<bj::object> out;
  out.reserve(cache_.size());
  for (const auto& [k, v] : cache_) out.push_back(v);
  return out;
}

void Informer::Apply(EventType type, bj::object obj) {
  if (strip_) strip_(obj);
  const std::string key = KeyOf(obj);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (type == EventType::kDeleted) {
      cache_.erase(key);
    } else {
      cache_[key] = obj;
    }
  }
  if (handler_) handler_(type, obj);
}

Status Informer::ListAll() {
  std::string path = collection_ + "?limit=500";
  if (!label_selector_.empty()) path += "&labelSelector=" + QueryEscape(label_selector_);
  std::map<std::string, bj::object> fresh;
  std::string rv;
  std::string cont;
  do {
    std::string page = path;
    if (!cont.empty()) page += "&continue=" + QueryEscape(cont);
    ARCA_ASSIGN_OR_RETURN(bj::object list, client_.Get(page));
    cont.clear();
    if (const bj::value* meta = list.if_contains("metadata"); meta != nullptr && meta->is_object()) {
      const bj::object& m = meta->get_object();
      if (const bj::value* v = m.if_contains("resourceVersion"); v != nullptr && v->is_string()) rv = v->get_string();
      if (const bj::value* v = m.if_contains("continue"); v != nullptr && v->is_string()) cont = v->get_string();
    }
    if (bj::value* items = list.if_contains("items"); items != nullptr && items->is_array()) {
      for (bj::value& item : items->get_array()) {
        if (!item.is_object()) continue;
        bj::object obj = std::move(item.get_object());
        if (strip_) strip_(obj);
        fresh[KeyOf(obj)] = std::move(obj);
      }
    }
  } while (!cont.empty());

  std::vector<bj::object> gone;
  std::vector<std::pair<EventType, bj::object>> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, v] : cache_) {
      if (!fresh.contains(k)) gone.push_back(v);
    }
    for (const auto& [k, v] : fresh) {
      auto it = cache_.find(k);
      if (it == cache_.end()) {
        changed.emplace_back(EventType::kAdded, v);
      } else if (it->second != v) {
        changed.emplace_back(EventType::kModified, v);
      }
    }
    cache_ = std::move(fresh);
  }
  resource_version_ = rv;
  synced_ = true;
  if (handler_) {
    for (const auto& obj : gone) handler_(EventType::kDeleted, obj);
    for (const auto& [t, obj] : changed) handler_(t, obj);
  }
  return OkStatus();
}

Status Informer::WatchOnce(const std::atomic<bool>& stop) {
  std::string path = collection_ + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=" +
                     std::to_string(watch_timeout.count()) + "&resourceVersion=" + QueryEscape(resource_version_);
  if (!label_selector_.empty()) path += "&labelSelector=" + QueryEscape(label_selector_);
  Status result = OkStatus();
  Status s = client_.Watch(
      path,
      [&](const bj::object& event) {
        const bj::value* t = event.if_contains("type");
        const bj::value* o = event.if_contains("object");
        if (t == nullptr || !t->is_string() || o == nullptr || !o->is_object()) return true;
        const std::string_view type = t->get_string();
        const bj::object& obj = o->get_object();
        if (type == "ERROR") {
          // Usually 410 Gone: the resourceVersion is too old; list again.
          const bj::value* code = obj.if_contains("code");
          const bool gone = code != nullptr && code->is_int64() && code->get_int64() == 410;
          result = Error(Code::kPreconditionNotMet, "watch " + collection_ + " ended with an error event")
                       .WithWireType(gone ? "Expired" : "Error");
          return false;
        }
        if (const bj::value* meta = obj.if_contains("metadata"); meta != nullptr && meta->is_object()) {
          if (const bj::value* rv = meta->get_object().if_contains("resourceVersion"); rv != nullptr && rv->is_string()) {
            resource_version_ = rv->get_string();
          }
        }
        if (type == "BOOKMARK") return true;
        const EventType et = type == "ADDED"     ? EventType::kAdded
                             : type == "DELETED" ? EventType::kDeleted
                                                 : EventType::kModified;
        Apply(et, obj);
        return true;
      },
      &stop, watch_timeout + std::chrono::seconds(30));
  if (!s.ok()) return s;
  return result;
}

void Informer::Run(const std::atomic<bool>& stop) {
  std::chrono::milliseconds backoff{0};
  bool need_list = true;
  while (!stop.load()) {
    Status s = OkStatus();
    if (need_list) {
      s = ListAll();
      if (s.ok()) need_list = false;
    } else {
      s = WatchOnce(stop);
      if (!s.ok() && s.error().code() == Code::kPreconditionNotMet) need_list = true;
    }
    if (s.ok()) {
      backoff = std::chrono::milliseconds(0);
      continue;
    }
    if (s.error().code() == Code::kPreconditionNotMet) continue;  // relist at once
    backoff = backoff.count() == 0 ? std::chrono::milliseconds(1000) : std::min(backoff * 2, std::chrono::milliseconds(30000));
    log::Warn("kubernetes list/watch failed; retrying",
              {{"collection", collection_}, {"error", s.error().message()}, {"retry_ms", static_cast<std::int64_t>(backoff.count())}});
    need_list = need_list || s.error().code() != Code::kUnavailable;
    if (!SleepUnlessStopped(stop, backoff)) break;
  }
}

}  // namespace arca::op::kube
