#pragma once
// Informer: keeps an in-memory copy of one kind of Kubernetes object by list + watch, the way
// client-go's informers do: a LIST gives the objects and a resourceVersion, a WATCH from that
// resourceVersion (with bookmarks) streams changes; when the watch ends it resumes from the last
// resourceVersion seen, and when that is too old (410 Gone / an ERROR event) it lists again and
// reports what changed meanwhile (deletions included). Failures are retried with backoff (1 s
// doubling to 30 s), so an API server restart is survived without a restart of ours.
//
// `strip` (optional) edits each object before it is cached and handed out: the Secrets informer drops
// the values and keeps only a hash of them.
//
// Thread-safety: Run() on one thread; Get/List/Synced from any thread. The handler runs on Run()'s
// thread and must not block for long.

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "operator/kube/client.h"

namespace arca::op::kube {

enum class EventType { kAdded, kModified, kDeleted };

// "NS/NAME" for namespaced objects, "NAME" for cluster-scoped ones.
std::string KeyOf(const boost::json::object& obj);

class Informer {
 public:
  using Handler = std::function<void(EventType type, const boost::json::object& obj)>;
  using Strip = std::function<void(boost::json::object& obj)>;

  // `collection` is the cluster-wide collection path ("/apis/external-secrets.io/v1/externalsecrets");
  // `label_selector` is passed as labelSelector= when not empty.
  Informer(const KubeClient& client, std::string collection, std::string label_selector, Handler handler,
           Strip strip = nullptr);

  // Lists and watches until `stop` turns true.
  void Run(const std::atomic<bool>& stop);

  std::optional<boost::json::object> Get(const std::string& key) const;
  std::vector<boost::json::object> List() const;
  // True once the first list has been cached.
  bool Synced() const { return synced_.load(); }
  const std::string& collection() const { return collection_; }

  // How long a watch request lasts before the API server ends it (timeoutSeconds); tests shorten it.
  std::chrono::seconds watch_timeout{300};

 private:
  Status ListAll();
  Status WatchOnce(const std::atomic<bool>& stop);
  void Apply(EventType type, boost::json::object obj);

  const KubeClient& client_;
  const std::string collection_;
  const std::string label_selector_;
  const Handler handler_;
  const Strip strip_;

  mutable std::mutex mu_;
  std::map<std::string, boost::json::object> cache_;  // GUARDED_BY(mu_)
  std::string resource_version_;  // Run()'s thread only
  std::atomic<bool> synced_{false};
};

// Sleeps up to `d`, waking early when `stop` turns true. Returns false when stopped.
bool SleepUnlessStopped(const std::atomic<bool>& stop, std::chrono::milliseconds d);

}  // namespace arca::op::kube
