#include "operator/cli.h"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "operator/manifests.h"

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

  std::optional<int> Run() const {
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
  return [commands]() { return commands->Run(); };
}

}  // namespace arca::op
