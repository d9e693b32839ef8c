#include "operator/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "operator/manifests.h"
#include "operator/sync.h"

namespace arca::op {

namespace {

constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;

constexpr const char* kNotBuilt =
    "arca operator: the controller (syncing ExternalSecrets into Secrets) is not built yet; only "
    "`arca operator manifests` is available so far.";

// Thread-safety: used by main() on one thread only.
struct Commands {
  CLI::App* operator_cmd = nullptr;
  CLI::App* manifests = nullptr;
  ManifestOptions options;
  CLI::App* sync = nullptr;
  SyncOptions sync_options;

  std::optional<int> Run() const {
    if (sync->parsed()) return RunSync(sync_options, std::cout, std::cerr);
    if (!operator_cmd->parsed()) return std::nullopt;
    if (!manifests->parsed()) {
      std::cerr << kNotBuilt << "\n";
      return kExitUsage;
    }
    auto yaml = RenderManifests(options);
    if (!yaml.ok()) {
      std::cerr << "arca operator manifests: " << yaml.error().message() << "\n";
      return kExitUsage;
    }
    std::cout << *yaml << std::flush;
    return kExitOk;
  }
};

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
      "Kubernetes operator for External Secrets Operator manifests. NOT BUILT YET: only "
      "`arca operator manifests` works; the controller itself comes later");
  commands->operator_cmd->footer(
      "The controller (`arca operator` syncing ExternalSecrets into Secrets) is not built yet;\n"
      "running `arca operator` without a subcommand exits with status 2.");
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
