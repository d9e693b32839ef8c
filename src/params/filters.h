#pragma once
// DescribeParameters' and GetParametersByPath's filters (ParameterStringFilter, and the deprecated
// ParametersFilter): which keys and options each operation takes, with AWS's errors
// (InvalidFilterKey, InvalidFilterOption, InvalidFilterValue, ValidationException), and matching.
//
// Thread-safety: pure functions.

#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "params/types.h"

namespace arca::params {

enum class FilterScope { kDescribeParameters, kGetParametersByPath };

Status ValidateStringFilters(const std::vector<StringFilter>& filters, FilterScope scope);
Status ValidateLegacyFilters(const std::vector<LegacyFilter>& filters);

// What a filter looks at in one parameter (its latest version).
struct FilterSubject {
  std::string hierarchy_name;  // "/a" for "a", "/a/b" for "/a/b"
  std::string type;
  std::optional<std::string> key_id;
  std::string tier;
  std::string data_type;
  const std::vector<Tag>* tags = nullptr;
};

// Every key but Label (which needs the versions: the caller matches it).
bool MatchesStringFilter(const StringFilter& filter, const FilterSubject& subject);
bool MatchesLegacyFilter(const LegacyFilter& filter, const FilterSubject& subject);

// The option a filter uses when it names none: OneLevel for Path, Equals otherwise.
std::string EffectiveOption(const StringFilter& filter);

}  // namespace arca::params
