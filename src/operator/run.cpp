#include "operator/run.h"

#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigaction
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <thread>

#include "core/log.h"
#include "http/server.h"
#include "operator/controller.h"
#include "operator/kube/client.h"
#include "operator/kube/lease.h"
#include "operator/metrics.h"

namespace arca::op {

namespace {

std::atomic<bool> g_stop{false};
void OnStop(int) { g_stop = true; }

std::string DefaultIdentity(const client::EnvLookup& env) {
  if (auto pod = env("POD_NAME"); pod && !pod->empty()) return *pod;
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return std::string(host) + "_" + std::to_string(getpid());
}

}  // namespace

int RunOperator(const OperatorOptions& options) {
  auto config = kube::LoadKubeConfig(options.kubeconfig, options.env);
  if (!config.ok()) {
    std::cerr << "arca operator: " << config.error().message() << "\n";
    return 2;
  }
  kube::KubeClient kc(*config);
  log::Info("arca operator starting", {{"api_server", config->server}, {"credentials", config->source}});

  OperatorMetrics metrics;
  ControllerOptions copts;
  copts.endpoint = options.endpoint;
  copts.region = options.region;
  copts.ca_bundle = options.ca_bundle;
  copts.env = options.env;
  copts.identity = options.identity.empty() ? DefaultIdentity(options.env) : options.identity;
  copts.watch_timeout = options.watch_timeout;
  copts.push = options.push;
  Controller controller(kc, copts, metrics);

  // /healthz, /readyz, /metrics.
  http::ServerOptions so;
  const std::size_t colon = options.metrics_addr.rfind(':');
  so.host = colon == std::string::npos || colon == 0 ? "0.0.0.0" : options.metrics_addr.substr(0, colon);
  so.port = static_cast<std::uint16_t>(
      std::stoi(colon == std::string::npos ? options.metrics_addr : options.metrics_addr.substr(colon + 1)));
  so.threads = 1;
  auto respond = [](int status, std::string body, std::string type = "text/plain; charset=utf-8") {
    http::Response r;
    r.status = status;
    r.body = std::move(body);
    r.SetHeader("Content-Type", std::move(type));
    return r;
  };
  auto server = http::Server::Create(
      so,
      [&](const http::Request& req) {
        const std::string_view path = req.Path();
        if (path == "/healthz") return respond(200, "ok\n");
        if (path == "/readyz") return controller.Synced() ? respond(200, "ok\n") : respond(503, "informers not synced\n");
        if (path == "/metrics") return respond(200, metrics.Render(), "text/plain; version=0.0.4; charset=utf-8");
        return respond(404, "not found\n");
      },
      [&](const http::Request&, int status, const std::string& why) { return respond(status, why + "\n"); });
  if (!server.ok()) {
    std::cerr << "arca operator: cannot listen on " << options.metrics_addr << ": " << server.error().message() << "\n";
    return 2;
  }
  log::Info("listening", {{"host", so.host}, {"port", static_cast<std::int64_t>((*server)->port())}});

  struct sigaction sa {};
  sa.sa_handler = OnStop;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  std::atomic<bool> stop{false};
  std::thread http_thread([&] { (*server)->Run(); });
  std::thread controller_thread([&] { controller.Run(stop); });
  std::unique_ptr<kube::LeaderElector> elector;
  std::thread election_thread;
  if (options.leader_elect) {
    kube::LeaseOptions lo;
    lo.namespace_ = options.lease_namespace;
    if (lo.namespace_.empty()) {
      auto pod_ns = options.env("POD_NAMESPACE");
      lo.namespace_ = pod_ns && !pod_ns->empty() ? *pod_ns : config->namespace_;
    }
    lo.name = options.lease_name;
    lo.identity = copts.identity;
    lo.lease_duration = options.lease_duration;
    lo.renew_deadline = options.renew_deadline;
    lo.retry_period = options.retry_period;
    elector = std::make_unique<kube::LeaderElector>(kc, lo);
    election_thread = std::thread([&] { elector->Run(stop, [&](bool leader) { controller.SetLeader(leader); }); });
  } else {
    controller.SetLeader(true);
  }
  while (!g_stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  log::Info("arca operator stopping");
  stop = true;
  if (election_thread.joinable()) election_thread.join();
  controller_thread.join();
  (*server)->Stop();
  http_thread.join();
  log::Info("arca operator stopped");
  return 0;
}

}  // namespace arca::op
