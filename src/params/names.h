#pragma once
// Parameter names, hierarchies and selectors, as Parameter Store reads them.
//
// A name is a-zA-Z0-9_.- with '/' delimiting a hierarchy; a hierarchical name must be fully
// qualified (start with '/'). "/name" and "name" are the same parameter (one level, one ARN): the
// store keys a parameter by its canonical name, which drops the leading slash of a one-level name.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace arca::params {

inline constexpr std::size_t kMaxNameLength = 2048;       // the API model's limit
inline constexpr std::size_t kMaxQualifiedLength = 1011;  // ARN prefix + name, as AWS documents
inline constexpr int kMaxHierarchyLevels = 15;
inline constexpr std::string_view kSecretsReferencePrefix = "/aws/reference/secretsmanager/";

// The store key: "/a" -> "a"; "a" and "/a/b" unchanged.
std::string CanonicalName(std::string_view name);
// Where a canonical name sits in the hierarchy: "a" -> "/a"; "/a/b" unchanged.
std::string HierarchyName(std::string_view canonical);

// Names without their leading and trailing spaces (the service strips them).
std::string_view TrimName(std::string_view name);

// 1..2048 characters (ValidationException in the model's wording).
Status ValidateNameLength(std::string_view name, std::string_view member = "name");
// Characters, slashes and full qualification; ValidationException with AWS's message.
Status ValidateNameShape(std::string_view name);
// What PutParameter adds: reserved prefixes (aws, ssm), the hierarchy depth
// (HierarchyLevelLimitExceededException) and the documented qualified length (`arn_prefix` +
// the name must fit in 1011 characters).
Status ValidateNewName(std::string_view name, std::string_view arn_prefix);

// A path for GetParametersByPath or a Path filter: starts with '/', a-zA-Z0-9_.-/ only, no empty
// level. ValidationException with AWS's message otherwise.
Status ValidatePath(std::string_view path);
// "/a/b/" -> "/a/b"; "/" stays.
std::string NormalizePath(std::string_view path);

// A name as the read operations take it: a name or the parameter's ARN, then optionally
// ":VERSION" or ":LABEL".
struct NameRef {
  std::string base;                    // the name as given, without the selector (ARN resolved)
  std::string canonical;               // CanonicalName(base)
  std::optional<std::int64_t> version;
  std::optional<std::string> label;
  std::optional<std::string> selector;  // ":3" / ":prod", as the output's Selector shows it
};

enum class RefProblem {
  kNone,
  kNotFound,  // well-formed but cannot name a parameter here (another account/region, "a:b:c")
  kInvalid,   // a name Parameter Store rejects (ValidationException)
};

// Parses `input` (already trimmed). `arn_prefix` is "arn:PARTITION:ssm:REGION:ACCOUNT:parameter/"
// for the caller's region: an ARN with another prefix names no parameter here.
RefProblem ParseNameRef(std::string_view input, std::string_view arn_prefix, NameRef* out);

// AWS's messages for the name checks.
Error InvalidNameError();
Error InvalidPathError();

}  // namespace arca::params
