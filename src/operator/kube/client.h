#pragma once
// A small Kubernetes API client for the operator: where the API server is and who we are
// (in-cluster service account, or a kubeconfig), JSON requests (get, list, create, update, merge
// patch, delete) and watches, over the outbound HTTP client (libcurl).
//
// Errors carry the API server's Status: the code by HTTP status (404 kNotFound, 409 AlreadyExists
// kAlreadyExists, other 409 kPreconditionNotMet (a resourceVersion conflict), 410 kPreconditionNotMet
// with wire type "Expired" (a watch's resourceVersion is too old), 401 kMissingAuthentication, 403
// kAccessDenied, 400/422 kInvalidParameter, 429/5xx and unreachable kUnavailable), the message the
// API server's, the wire type its `reason`.
//
// Thread-safety: KubeClient's methods may be called concurrently.

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "client/credentials.h"
#include "core/result.h"

namespace arca::op::kube {

struct KubeConfig {
  std::string server;  // https://host:port, no trailing slash
  std::string ca_pem;  // empty: the system's CAs
  bool insecure = false;
  std::string token;       // bearer token
  std::string token_file;  // re-read on every request when set (bound tokens are rotated)
  std::string client_cert_pem;
  std::string client_key_pem;
  std::string namespace_;  // the pod's namespace in-cluster, the context's (or "default") otherwise
  std::string source;      // for messages: "in-cluster service account", "kubeconfig /path (context x)"
};

// Where the API server is, in controller-runtime's order: `kubeconfig_path` (a flag) when given,
// else $KUBECONFIG (its first file), else the in-cluster service account
// (KUBERNETES_SERVICE_HOST/PORT and /var/run/secrets/kubernetes.io/serviceaccount), else
// ~/.kube/config. kInvalidParameter naming the file and field when a kubeconfig cannot be used;
// kNotFound when there is none at all.
// `service_account_dir` is where a pod's token, ca.crt and namespace are mounted (tests give
// another).
inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";
Result<KubeConfig> LoadKubeConfig(const std::string& kubeconfig_path, const client::EnvLookup& env,
                                  const std::string& service_account_dir = kServiceAccountDir);

// Parses a kubeconfig document (its current context, or `context` when given).
Result<KubeConfig> ParseKubeConfig(std::string_view yaml, const std::string& context, const std::string& path);

enum class PatchType { kMerge, kStrategicMerge };

class KubeClient {
 public:
  explicit KubeClient(KubeConfig config);

  // `path` is the API path with its query: "/api/v1/namespaces/ns/secrets/name".
  Result<boost::json::object> Get(const std::string& path) const;
  Result<boost::json::object> Create(const std::string& path, const boost::json::object& body) const;
  Result<boost::json::object> Update(const std::string& path, const boost::json::object& body) const;
  Result<boost::json::object> Patch(const std::string& path, const boost::json::object& body,
                                    PatchType type = PatchType::kMerge) const;
  // kNotFound when it is already gone. `propagation`: "Background", "Foreground" or "" (default).
  Status Delete(const std::string& path, std::string_view propagation = "") const;

  // Watches `path` (a collection, with its query: "...?watch=1&resourceVersion=...") and calls
  // `on_event` with each event object ({"type": ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, "object": ...})
  // until the API server ends the watch (OK), `on_event` returns false or `cancel` turns true (OK),
  // or the request fails. `timeout` bounds the whole watch (give the server's timeoutSeconds plus a
  // margin).
  Status Watch(const std::string& path, const std::function<bool(const boost::json::object& event)>& on_event,
               const std::atomic<bool>* cancel, std::chrono::seconds timeout) const;

  const KubeConfig& config() const { return config_; }

 private:
  Result<boost::json::object> Call(std::string_view method, const std::string& path, const std::string& body,
                                   std::string_view content_type) const;
  std::string Token() const;

  KubeConfig config_;
};

// "/api/v1" for core resources, "/apis/GROUP/VERSION" otherwise.
std::string ApiPrefix(std::string_view group, std::string_view version);
// The path of a namespaced resource's collection or object: ApiPrefix + "/namespaces/NS/PLURAL[/NAME]"
// (`ns` empty: the cluster-wide collection, or a cluster-scoped object).
std::string ResourcePath(std::string_view group, std::string_view version, std::string_view plural,
                         std::string_view ns, std::string_view name = "");
// Percent-encodes a query parameter value.
std::string QueryEscape(std::string_view s);

}  // namespace arca::op::kube
