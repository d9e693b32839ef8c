#pragma once
// ListSecrets / BatchGetSecretValue filters, matched as AWS documents them (API_Filter and
// "Find secrets"): name, tag-key, tag-value, primary-region, owning-service are case-sensitive
// prefix matches; description matches words, not case-sensitive; all splits the value into words
// and matches any of them against every attribute, not case-sensitive. A value starting with '!'
// negates. Values of one filter: any positive value may match and no negated value may; several
// filters must all match.

#include <string>
#include <vector>

#include "core/result.h"
#include "secrets/types.h"

namespace arca::secrets {

// What a filter can see of one secret.
struct FilterSubject {
  std::string name;
  std::string description;
  std::vector<Tag> tags;
  std::string primary_region;  // empty when not replicated
  std::string owning_service;
};

// kInvalidParameter for an unknown key or a value list outside AWS's limits.
Status ValidateFilters(const std::vector<Filter>& filters);
bool MatchesFilters(const std::vector<Filter>& filters, const FilterSubject& s);

// Splits text into words the way the console search does: at every non-alphanumeric character, at
// lower-to-upper case changes and at letter/digit changes. Words are lower-cased.
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace arca::secrets
