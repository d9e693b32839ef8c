#pragma once
// The operator's controllers, run by `arca operator` on the leader replica:
//
//   ExternalSecret         (external-secrets.io/v1, every namespace) -> its target Secret, by ESO's
//                          rules: mapping.h computes the data, this writes it (creationPolicy
//                          Owner/Orphan/Merge/None/CreateOrMerge, deletionPolicy, immutable, owner
//                          references, the managed label and data-hash annotation), then the status
//                          (condition Ready with reason SecretSynced / SecretSyncedError, refreshTime,
//                          syncedResourceVersion, binding) and Events (Updated, UpdateFailed).
//                          When to sync follows ESO: a changed spec, labels or annotations (the
//                          force-sync annotation), a missing target, refreshInterval (0 = once),
//                          refreshPolicy CreatedOnce / Periodic / OnChange; failures back off from 5 s
//                          doubling to 5 minutes. A store's remote change (Notify) syncs the
//                          ExternalSecrets that read that key at once.
//   ClusterExternalSecret  -> an ExternalSecret (owned by it) in each namespace its namespaceSelector(s)
//                          / namespaces select; removed from namespaces no longer selected; status with
//                          provisionedNamespaces and failedNamespaces.
//   rolling restarts       -> when a Secret the operator writes changes its data, the Deployments,
//                          StatefulSets and DaemonSets in its namespace annotated arca.dev/reload:
//                          "true" or reloader.stakater.com/auto: "true" that use it (env, envFrom,
//                          volumes), or secret.reloader.stakater.com/reload naming it, get the hash of
//                          the data of the Secrets they use in their pod template's annotation
//                          arca.dev/secrets-hash, which rolls them; a sync that changes nothing
//                          changes no annotation.
//
// Thread-safety: Run() on one thread; SetLeader() and Notify() from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "client/credentials.h"
#include "operator/kube/client.h"

namespace arca::op {

class OperatorMetrics;

struct ControllerOptions {
  // The endpoint and region for aws stores (AWS_ENDPOINT_URL_SECRETS_MANAGER / _SSM / _STS,
  // AWS_ENDPOINT_URL, ARCA_ENDPOINT; a store's arca.dev/endpoint annotation wins).
  std::string endpoint;
  std::string region;
  std::string ca_bundle;
  client::EnvLookup env = client::ProcessEnv();
  std::string identity;  // for Events' reportingInstance
  std::chrono::milliseconds first_backoff{5000};
  std::chrono::milliseconds max_backoff{300000};
  std::chrono::seconds watch_timeout{300};
  // Push sync: follow the change stream of each arca store's server (changes.h), with the store's
  // identity; a long-poll lasts `push_wait`.
  bool push = true;
  std::chrono::seconds push_wait{10};
};

class Controller {
 public:
  Controller(const kube::KubeClient& client, ControllerOptions options, OperatorMetrics& metrics);
  ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  // Watches and reconciles until `stop`. Reconciling happens only while leader.
  void Run(const std::atomic<bool>& stop);
  void SetLeader(bool leader);
  // A remote secret changed (push): syncs every ExternalSecret that reads `key` through a store whose
  // arca server is `server` (its URL) in `region`, or that finds secrets there; an empty `key`: every
  // ExternalSecret reading from that server and region.
  void Notify(const std::string& server, const std::string& region, const std::string& key);
  // True once every informer has listed.
  bool Synced() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::op
