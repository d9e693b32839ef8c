#include "operator/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "operator/manifests.h"
#include "operator/run.h"
#include "operator/sync.h"

namespace arca::op {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

// Thread-safety: used by main() on one thread only.
struct Commands {
  CLI::App* operator_cmd = nullptr;
  CLI::App* manifests = nullptr;
  ManifestOptions options;
  CLI::App* sync = nullptr;
  SyncOptions sync_options;
  OperatorOptions operator_options;

  std::optional<int> Run() const {
    if (sync->parsed()) return RunSync(sync_options, std::cout, std::cerr);
    if (!operator_cmd->parsed()) return std::nullopt;
    if (!manifests->parsed()) return RunOperator(operator_options);
    auto yaml = RenderManifests(options);
    if (!yaml.ok()) {
      std::cerr << "arca operator manifests: " << yaml.error().message() << "\n";
      return kExitUsage;
    }
    std::cout << *yaml << std::flush;
    return kExitOk;
  }
};

void AddOperatorFlags(CLI::App* c, OperatorOptions& o) {
  c->add_option("--kubeconfig", o.kubeconfig, "kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)")
      ->type_name("FILE");
  c->add_option("--metrics-addr", o.metrics_addr, "where /healthz, /readyz and /metrics are served")
      ->type_name("HOST:PORT")
      ->default_str(o.metrics_addr);
  c->add_option("--leader-elect", o.leader_elect, "elect one leader among replicas on a Lease")
      ->default_str("true");
  c->add_option("--leader-election-namespace", o.lease_namespace,
                "namespace of the Lease (default: POD_NAMESPACE, else the kubeconfig's)")
      ->type_name("NS");
  c->add_option("--leader-election-id", o.lease_name, "name of the Lease")->default_str(o.lease_name);
  auto seconds = [c](const char* name, std::chrono::seconds& field, const char* help) {
    c->add_option_function<int>(
         name, [&field](int v) { field = std::chrono::seconds(v); }, help)
        ->type_name("SECONDS")
        ->default_str(std::to_string(field.count()));
  };
  seconds("--lease-duration", o.lease_duration, "how long a leader's lease lasts without renewal");
  seconds("--renew-deadline", o.renew_deadline, "a leader that could not renew for this long steps down");
  c->add_option_function<int>(
       "--retry-period", [&o](int v) { o.retry_period = std::chrono::milliseconds(v); },
       "how often the lease is tried or renewed")
      ->type_name("MS")
      ->default_str("2000");
  seconds("--watch-timeout", o.watch_timeout, "how long one watch request lasts before it is renewed");
  c->add_option("--endpoint", o.endpoint,
                "server URL for aws stores (else AWS_ENDPOINT_URL_SECRETS_MANAGER / _SSM / _STS, AWS_ENDPOINT_URL, "
                "ARCA_ENDPOINT; a store's arca.dev/endpoint annotation wins)")
      ->type_name("URL");
  c->add_option("--region", o.region, "default region for stores that name none (env AWS_REGION)")->type_name("REGION");
  c->add_option("--ca-bundle", o.ca_bundle, "PEM CA bundle for an https --endpoint (env AWS_CA_BUNDLE)")->type_name("FILE");
  c->add_option("--push", o.push, "follow arca stores' change streams (sync within a second of a change)")
      ->default_str("true");
}

void AddSyncCommand(CLI::App* app, Commands* commands) {
  SyncOptions& o = commands->sync_options;
  CLI::App* c = app->add_subcommand(
      "sync",
      "Write the Secrets that ExternalSecret manifests describe to files, without Kubernetes: for VMs "
      "and docker compose (the operator's mapping, run once or with --watch)");
  commands->sync = c;
  c->add_option("-f,--file", o.file,
                "ExternalSecrets (external-secrets.io v1 or v1beta1), with the SecretStores and v1 "
                "Secrets they use; '-' is standard input")
      ->type_name("FILE")
      ->required();
  c->add_option("--out-dir", o.out_dir, "where the files go (created 0700)")->type_name("DIR")->required();
  c->add_flag("--watch", o.watch,
              "keep running: sync each ExternalSecret again after its refreshInterval (default 1h), and "
              "everything on SIGHUP (which also re-reads FILE)");
  c->add_option("--endpoint", o.endpoint,
                "server URL when FILE has no store for it (env ARCA_ENDPOINT, AWS_ENDPOINT_URL; default "
                "http://127.0.0.1:8200)")
      ->type_name("URL");
  c->add_option("--region", o.region, "region when FILE has no store for it (env AWS_REGION)")->type_name("REGION");
  c->add_option("--profile", o.profile, "profile in the AWS credentials and config files (env AWS_PROFILE)")
      ->type_name("NAME");
  c->add_option("--ca-bundle", o.ca_bundle, "PEM CA bundle to verify an https endpoint (env AWS_CA_BUNDLE)")
      ->type_name("FILE");
  c->footer(
      "Layout of --out-dir, for each ExternalSecret (TARGET: spec.target.name, default its name):\n"
      "  DIR/TARGET/KEY          one file per Secret key, mode 0600 (the directory 0700)\n"
      "  DIR/TARGET.env          the keys that are variable names, as dotenv (docker compose env_file)\n"
      "  DIR/TARGET.meta.json    type, labels, annotations and key names (no values)\n"
      "Files are replaced atomically and only when their content changes.\n"
      "Examples:\n"
      "  arca sync -f externalsecret.yaml --out-dir /run/secrets/shop\n"
      "  arca sync -f externalsecret.yaml --out-dir ./secrets --watch   # kill -HUP to sync now\n"
      "Exit status: 0 ok, 2 invalid manifest or template, 3 not found, 4 credentials, 6 unreachable.");
}

}  // namespace

std::function<std::optional<int>()> AddCommands(CLI::App* app) {
  auto commands = std::make_shared<Commands>();
  commands->operator_cmd = app->add_subcommand(
      "operator",
      "Kubernetes operator: syncs External Secrets Operator manifests (ExternalSecret, SecretStore, "
      "ClusterSecretStore, ClusterExternalSecret) into Secrets, and rolls the workloads that use them");
  AddOperatorFlags(commands->operator_cmd, commands->operator_options);
  commands->operator_cmd->footer(
      "Runs in a cluster (its service account) or outside it (--kubeconfig, KUBECONFIG, ~/.kube/config).\n"
      "Examples:\n"
      "  arca operator manifests | kubectl apply -f -     # install the CRDs, RBAC and Deployment\n"
      "  arca operator --kubeconfig ~/.kube/config --metrics-addr 127.0.0.1:8080\n"
      "Exit status: 0 stopped by SIGTERM/SIGINT, 2 no API server or bad flags.");
  commands->manifests = commands->operator_cmd->add_subcommand(
      "manifests",
      "Print the CRDs (external-secrets.io v1beta1 and v1), RBAC and Deployment for "
      "`kubectl apply -f -`");
  commands->manifests
      ->add_option("--namespace", commands->options.namespace_name,
                   "namespace of the operator's ServiceAccount and Deployment")
      ->type_name("NS")
      ->default_str(std::string(kDefaultNamespace));
  commands->manifests
      ->add_option("--image", commands->options.image, "container image that runs arca")
      ->type_name("IMAGE")
      ->default_str(std::string(kDefaultImage));
  commands->manifests
      ->add_option("--endpoint", commands->options.endpoint,
                   "Arca server URL given to the operator as ARCA_ENDPOINT (default: "
                   "https://arca.NS.svc:8200)")
      ->type_name("URL");
  AddSyncCommand(app, commands.get());
  return [commands]() { return commands->Run(); };
}

}  // namespace arca::op
