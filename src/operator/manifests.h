#pragma once
// The Kubernetes manifests that install `arca operator`: the external-secrets.io CRDs, RBAC and the
// Deployment. deploy/ holds them; the build embeds them, so the binary prints exactly those files.

#include <span>
#include <string>
#include <string_view>

#include "core/result.h"

namespace arca::op {

// One embedded file of deploy/. Thread-safety: immutable.
struct ManifestFile {
  std::string_view path;     // relative to the repository, e.g. "deploy/rbac.yaml"
  std::string_view content;  // the file's bytes
};

// deploy/crds/*.yaml (sorted), deploy/operator.yaml, deploy/rbac.yaml, in the order
// `kubectl apply` needs (CRDs, then the Namespace before what lives in it).
std::span<const ManifestFile> EmbeddedManifests();

// The values in deploy/ that `arca operator manifests` flags replace.
inline constexpr std::string_view kDefaultNamespace = "arca-system";
inline constexpr std::string_view kDefaultImage = "ghcr.io/arca-secrets/arca:latest";
inline constexpr std::string_view kDefaultEndpoint = "https://arca.arca-system.svc:8200";

struct ManifestOptions {
  std::string namespace_name{kDefaultNamespace};
  std::string image{kDefaultImage};
  std::string endpoint{kDefaultEndpoint};
};

// All embedded files as one multi-document YAML stream ("---" between files) with the options
// substituted. Fails with kInvalidParameter when an option is not a valid namespace name, image
// reference or http(s) URL (nothing is substituted unchecked into the YAML).
Result<std::string> RenderManifests(const ManifestOptions& options);

}  // namespace arca::op
