#pragma once
// `arca operator`: the controller process. Finds the API server (operator/kube/client.h), elects a
// leader among replicas on a Lease, runs the controllers (controller.h) on the leader, follows the
// arca stores' change streams (push sync), and serves /healthz, /readyz and /metrics on
// --metrics-addr. SIGTERM / SIGINT stop it: a leader gives its lease up so another replica takes
// over at once.
//
// Thread-safety: RunOperator runs on the calling thread and installs signal handlers.

#include <chrono>
#include <string>

#include "client/credentials.h"

namespace arca::op {

struct OperatorOptions {
  std::string kubeconfig;
  std::string metrics_addr = ":8080";  // HOST:PORT; empty host: every interface; port 0: any free one
  bool leader_elect = true;
  std::string lease_namespace;  // default: POD_NAMESPACE, else the kubeconfig's namespace
  std::string lease_name = "arca-operator";
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::milliseconds retry_period{2000};
  std::string identity;  // default: POD_NAME, else HOSTNAME_PID
  std::string endpoint;  // for aws stores (else the AWS_ENDPOINT_URL* / ARCA_ENDPOINT variables)
  std::string region;
  std::string ca_bundle;
  std::chrono::seconds watch_timeout{300};
  bool push = true;  // follow arca stores' change streams
  client::EnvLookup env = client::ProcessEnv();
};

// Runs until SIGTERM / SIGINT; returns the exit status (2 when the API server cannot be found).
int RunOperator(const OperatorOptions& options);

}  // namespace arca::op
