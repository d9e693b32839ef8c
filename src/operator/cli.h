#pragma once
// `arca operator`: the Kubernetes operator that syncs ESO's ExternalSecrets into Secrets. So far
// only `arca operator manifests` (the CRDs, RBAC and Deployment from deploy/); the controller is
// later work. `arca sync` (sync.h) runs the same ExternalSecret mapping without Kubernetes, writing
// files.

#include <functional>
#include <optional>

namespace CLI {
class App;
}

namespace arca::op {

// Adds `arca operator` (and its subcommands) and `arca sync` to `app`. After app.parse(), the
// returned function runs the command that was chosen and returns its exit status, or nullopt when
// none of these was chosen.
std::function<std::optional<int>()> AddCommands(CLI::App* app);

}  // namespace arca::op
