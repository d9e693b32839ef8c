#include "params/names.h"

#include <algorithm>

#include "core/strings.h"

namespace arca::params {

namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '/';
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Error InvalidNameError() {
  return Error(Code::kValidation,
               "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a "
               "path, it can consist of sub-paths divided by slash symbol; each sub-path can be "
               "formed as a mix of letters, numbers and the following 3 symbols .-_");
}

Error InvalidPathError() {
  // AWS's wording, backslashes included.
  return Error(Code::kValidation,
               "The parameter doesn't meet the parameter name requirements. The parameter name must "
               "begin with a forward slash \"/\". It can't be prefixed with \\\"aws\\\" or \\\"ssm\\\" "
               "(case-insensitive). It must use only letters, numbers, or the following symbols: . "
               "(period), - (hyphen), _ (underscore). Special characters are not allowed. All "
               "sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: "
               "/get/parameters2-/by1./path0_.");
}

std::string CanonicalName(std::string_view name) {
  if (name.size() > 1 && name.front() == '/' && name.find('/', 1) == std::string_view::npos) {
    return std::string(name.substr(1));
  }
  return std::string(name);
}

std::string HierarchyName(std::string_view canonical) {
  if (!canonical.empty() && canonical.front() == '/') return std::string(canonical);
  return "/" + std::string(canonical);
}

std::string_view TrimName(std::string_view name) { return TrimSpace(name); }

Status ValidateNameLength(std::string_view name, std::string_view member) {
  if (name.empty()) {
    return Error(Code::kValidation, "1 validation error detected: Value at '" + std::string(member) +
                                        "' failed to satisfy constraint: Member must have length "
                                        "greater than or equal to 1");
  }
  if (name.size() > kMaxNameLength) {
    return Error(Code::kValidation, "1 validation error detected: Value at '" + std::string(member) +
                                        "' failed to satisfy constraint: Member must have length "
                                        "less than or equal to 2048");
  }
  return OkStatus();
}

Status ValidateNameShape(std::string_view name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), NameChar)) return InvalidNameError();
  if (name == "/") return InvalidNameError();
  const bool hierarchical = name.find('/') != std::string_view::npos;
  if (hierarchical && name.front() != '/') return InvalidNameError();  // not fully qualified
  if (name.back() == '/' || name.find("//") != std::string_view::npos) return InvalidNameError();
  return OkStatus();
}

Status ValidateNewName(std::string_view name, std::string_view arn_prefix) {
  const std::string lower = AsciiLower(name);
  std::string_view stripped = lower;
  while (!stripped.empty() && stripped.front() == '/') stripped.remove_prefix(1);
  if (stripped.starts_with("aws") || stripped.starts_with("ssm")) {
    const bool is_path = std::count(name.begin(), name.end(), '/') > 1;
    if (!is_path || lower.starts_with("/aws")) {
      return Error(Code::kValidation,
                   "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
    }
    return InvalidNameError();
  }
  if (std::count(name.begin(), name.end(), '/') > kMaxHierarchyLevels) {
    return Error(Code::kLimitExceeded, "A hierarchy can have a maximum of 15 levels.")
        .WithWireType("HierarchyLevelLimitExceededException");
  }
  std::string_view tail = name;
  if (!tail.empty() && tail.front() == '/') tail.remove_prefix(1);
  if (arn_prefix.size() + tail.size() > kMaxQualifiedLength) {
    return Error(Code::kValidation,
                 "Parameter name: the fully qualified name, including its ARN prefix (" +
                     std::string(arn_prefix) + "), can have at most 1011 characters.");
  }
  return OkStatus();
}

Status ValidatePath(std::string_view path) {
  if (path.empty() || path.front() != '/' || !std::all_of(path.begin(), path.end(), NameChar)) {
    return InvalidPathError();
  }
  if (path.find("//") != std::string_view::npos) return InvalidPathError();
  return OkStatus();
}

std::string NormalizePath(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return std::string(path);
}

RefProblem ParseNameRef(std::string_view input, std::string_view arn_prefix, NameRef* out) {
  *out = NameRef{};
  std::string_view rest = input;
  std::string from_arn;
  if (rest.starts_with("arn:")) {
    if (!rest.starts_with(arn_prefix)) return RefProblem::kNotFound;
    std::string_view tail = rest.substr(arn_prefix.size());
    // The ARN's resource drops a hierarchical name's leading slash; a one-level name has none.
    const std::size_t colon = tail.find(':');
    const std::string_view resource = tail.substr(0, colon);
    from_arn = resource.find('/') != std::string_view::npos ? "/" + std::string(resource)
                                                            : std::string(resource);
    if (colon != std::string_view::npos) from_arn += tail.substr(colon);
    rest = from_arn;
  }
  const std::size_t colon = rest.find(':');
  std::string_view base = rest.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view selector = rest.substr(colon + 1);
    if (selector.empty() || selector.find(':') != std::string_view::npos) return RefProblem::kNotFound;
    if (AllDigits(selector)) {
      if (selector.size() > 18) return RefProblem::kNotFound;
      std::int64_t v = 0;
      for (char c : selector) v = v * 10 + (c - '0');
      out->version = v;
    } else {
      out->label = std::string(selector);
    }
    out->selector = ":" + std::string(selector);
  }
  if (!ValidateNameShape(base).ok()) return RefProblem::kInvalid;
  out->base = std::string(base);
  out->canonical = CanonicalName(base);
  return RefProblem::kNone;
}

}  // namespace arca::params
