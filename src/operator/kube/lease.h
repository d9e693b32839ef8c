#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does: a replica
// becomes leader by creating the Lease or by taking it over once the holder has not renewed it for
// leaseDurationSeconds; the leader renews it every `retry_period` and steps down when it could not
// renew within `renew_deadline`. Updates carry the resourceVersion read, so two replicas can never
// both win (the API server refuses the second update with 409).
//
// Thread-safety: Run() on one thread; IsLeader() from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "operator/kube/client.h"

namespace arca::op::kube {

struct LeaseOptions {
  std::string namespace_;
  std::string name = "arca-operator";
  std::string identity;  // this replica: the pod name, else hostname_pid
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::milliseconds retry_period{2000};
};

class LeaderElector {
 public:
  LeaderElector(const KubeClient& client, LeaseOptions options);

  // Campaigns and renews until `stop`; `on_change(true)` when this replica becomes leader,
  // `on_change(false)` when it loses the lease. On stop a leader gives the lease up (clears the
  // holder) so another replica can take over at once.
  void Run(const std::atomic<bool>& stop, const std::function<void(bool leader)>& on_change);

  bool IsLeader() const { return leader_.load(); }
  const LeaseOptions& options() const { return options_; }

 private:
  // One attempt to acquire or renew. True when we hold the lease afterwards.
  bool TryAcquireOrRenew();
  void Release();

  const KubeClient& client_;
  const LeaseOptions options_;
  std::atomic<bool> leader_{false};
};

}  // namespace arca::op::kube
