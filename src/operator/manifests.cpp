#include "operator/manifests.h"

#include <regex>
#include <string>

namespace arca::op {

namespace {

// Replaces every occurrence of `from` in `text` with `to`.
std::string ReplaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

bool IsCrd(std::string_view path) { return path.starts_with("deploy/crds/"); }

Status Validate(const ManifestOptions& options) {
  // A DNS-1123 label, as Kubernetes requires of namespace names.
  static const std::regex kNamespace("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  // An image reference: registry/path:tag or @digest; no spaces, quotes or YAML syntax.
  static const std::regex kImage("[A-Za-z0-9][A-Za-z0-9._/:@+-]*");
  // An http(s) URL without spaces, quotes or backslashes.
  static const std::regex kUrl("https?://[A-Za-z0-9._~:/?#@!$&()*+,;=%\\[\\]-]+");
  if (options.namespace_name.size() > 63 || !std::regex_match(options.namespace_name, kNamespace)) {
    return Error(Code::kInvalidParameter,
                 "--namespace must be a Kubernetes namespace name (lower-case letters, digits and "
                 "'-', at most 63 characters)");
  }
  if (options.image.size() > 1024 || !std::regex_match(options.image, kImage)) {
    return Error(Code::kInvalidParameter,
                 "--image must be a container image reference such as "
                 "registry.example.com/arca:1.0");
  }
  if (options.endpoint.size() > 2048 || !std::regex_match(options.endpoint, kUrl)) {
    return Error(Code::kInvalidParameter,
                 "--endpoint must be an http:// or https:// URL such as "
                 "https://arca.arca-system.svc:8200");
  }
  return OkStatus();
}

}  // namespace

Result<std::string> RenderManifests(const ManifestOptions& options) {
  ARCA_RETURN_IF_ERROR(Validate(options));
  std::string out;
  for (const ManifestFile& file : EmbeddedManifests()) {
    std::string text(file.content);
    if (!IsCrd(file.path)) {
      // The endpoint first: its default names the default namespace.
      text = ReplaceAll(text, kDefaultEndpoint, options.endpoint);
      text = ReplaceAll(text, kDefaultImage, options.image);
      text = ReplaceAll(text, kDefaultNamespace, options.namespace_name);
    }
    if (!out.empty()) out += "---\n";
    out += "# Source: ";
    out += file.path;
    out += "\n";
    out += text;
    if (!text.empty() && text.back() != '\n') out += '\n';
  }
  return out;
}

}  // namespace arca::op
