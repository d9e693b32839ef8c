#include "params/filters.h"

#include <algorithm>
#include <set>

#include "core/strings.h"
#include "params/names.h"

namespace arca::params {

namespace {

constexpr std::string_view kKeyPattern = "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType";

Error ModelError(std::string_view at, std::string_view value, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value \"" + std::string(value) +
                                      "\" at \"" + std::string(at) + "\" failed to satisfy constraint: " +
                                      std::string(constraint));
}

Error InvalidKey(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message)).WithWireType("InvalidFilterKey");
}
Error InvalidOption(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message)).WithWireType("InvalidFilterOption");
}
Error InvalidValue(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message)).WithWireType("InvalidFilterValue");
}

bool KnownKey(std::string_view key) {
  if (key.starts_with("tag:")) return key.size() > 4;
  return key == "Name" || key == "Type" || key == "KeyId" || key == "Path" || key == "Label" ||
         key == "Tier" || key == "DataType";
}

std::string JoinValues(const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += values[i];
  }
  return out + "]";
}

// "/" + the name without its leading slashes: how Name filters compare names.
std::string SlashName(std::string_view name) {
  while (!name.empty() && name.front() == '/') name.remove_prefix(1);
  return "/" + std::string(name);
}

std::string ParentOf(std::string_view hierarchy_name) {
  const std::size_t slash = hierarchy_name.rfind('/');
  if (slash == 0 || slash == std::string_view::npos) return "/";
  return std::string(hierarchy_name.substr(0, slash));
}

bool Compare(std::string_view option, std::string_view what, std::string_view value) {
  if (option == "BeginsWith") return what.starts_with(value);
  if (option == "Contains") return what.find(value) != std::string_view::npos;
  return what == value;
}

bool AnyValue(const StringFilter& f, std::string_view option, std::string_view what) {
  if (!f.values) return false;
  return std::any_of(f.values->begin(), f.values->end(),
                     [&](const std::string& v) { return Compare(option, what, v); });
}

}  // namespace

std::string EffectiveOption(const StringFilter& filter) {
  if (filter.option) return *filter.option;
  return filter.key == "Path" ? "OneLevel" : "Equals";
}

Status ValidateStringFilters(const std::vector<StringFilter>& filters, FilterScope scope) {
  // The model's constraints first, as AWS's request validation does.
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const StringFilter& f = filters[i];
    const std::string at = "parameterFilters." + std::to_string(i + 1) + ".member.";
    if (f.key.empty() || f.key.size() > 132) {
      return ModelError(at + "key", f.key, "Member must have length between 1 and 132");
    }
    if (!KnownKey(f.key)) {
      return ModelError(at + "key", f.key,
                        "Member must satisfy regular expression pattern: " + std::string(kKeyPattern));
    }
    if (f.option && (f.option->empty() || f.option->size() > 10)) {
      return ModelError(at + "option", *f.option, "Member must have length between 1 and 10");
    }
    if (f.values) {
      if (f.values->empty() || f.values->size() > 50) {
        return ModelError(at + "values", JoinValues(*f.values), "Member must have length between 1 and 50");
      }
      for (const std::string& v : *f.values) {
        if (v.empty() || v.size() > 1024) {
          return ModelError(at + "values", JoinValues(*f.values),
                            "[Member must have length less than or equal to 1024, Member must have "
                            "length greater than or equal to 1]");
        }
      }
    }
  }
  std::set<std::string> seen;
  for (const StringFilter& f : filters) {
    const std::string option = EffectiveOption(f);
    if (scope == FilterScope::kDescribeParameters && f.key == "Label") {
      return InvalidKey(
          "The following filter key is not valid: Label. Valid filter keys include: [Path, Name, "
          "Type, KeyId, Tier].");
    }
    if (scope == FilterScope::kGetParametersByPath && f.key != "Type" && f.key != "KeyId" &&
        f.key != "Label") {
      return InvalidKey("The following filter key is not valid: " + f.key +
                        ". Valid filter keys include: [Type, KeyId].");
    }
    if (!f.key.starts_with("tag:") && (!f.values || f.values->empty())) {
      return InvalidValue("The following filter values are missing : null for filter key " + f.key + ".");
    }
    if (!seen.insert(f.key).second) {
      return InvalidKey("The following filter is duplicated in the request: " + f.key +
                        ". A request can contain only one occurrence of a specific filter.");
    }
    if (f.key == "Path") {
      if (option != "Recursive" && option != "OneLevel") {
        return InvalidOption("The following filter option is not valid: " + option +
                             ". Valid options include: [Recursive, OneLevel].");
      }
      for (const std::string& v : *f.values) {
        const std::string lower = AsciiLower(v);
        if (lower.starts_with("/aws") || lower.starts_with("/ssm")) {
          return Error(Code::kValidation,
                       "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" "
                       "(case-insensitive). When using global parameters, please specify within a "
                       "global namespace.");
        }
        ARCA_RETURN_IF_ERROR(ValidatePath(v));
      }
      continue;
    }
    if (f.key == "Label") {
      if (option != "Equals") {
        return InvalidOption("The following filter option is not valid: " + option +
                             ". Valid options include: [Equals].");
      }
      continue;
    }
    const bool contains_ok = f.key == "Name" && scope == FilterScope::kDescribeParameters;
    if (option != "Equals" && option != "BeginsWith" && !(contains_ok && option == "Contains")) {
      return InvalidOption("The following filter option is not valid: " + option +
                           ". Valid options include: [BeginsWith, Equals" +
                           (contains_ok ? ", Contains]." : "]."));
    }
    if (f.key == "Tier" && option == "Equals") {
      for (const std::string& v : *f.values) {
        if (v != "Standard" && v != "Advanced" && v != "Intelligent-Tiering") {
          return InvalidValue("The following filter value is not valid: " + v +
                              ". Valid values include: [Standard, Advanced, Intelligent-Tiering].");
        }
      }
    }
    if (f.key == "Type" && option == "Equals") {
      for (const std::string& v : *f.values) {
        if (v != "String" && v != "StringList" && v != "SecureString") {
          return InvalidValue("The following filter value is not valid: " + v +
                              ". Valid values include: [String, StringList, SecureString].");
        }
      }
    }
  }
  return OkStatus();
}

Status ValidateLegacyFilters(const std::vector<LegacyFilter>& filters) {
  for (std::size_t i = 0; i < filters.size(); ++i) {
    const LegacyFilter& f = filters[i];
    const std::string at = "filters." + std::to_string(i + 1) + ".member.";
    if (f.key != "Name" && f.key != "Type" && f.key != "KeyId") {
      return ModelError(at + "key", f.key, "Member must satisfy enum value set: [Name, Type, KeyId]");
    }
    if (f.values.empty() || f.values.size() > 50) {
      return ModelError(at + "values", JoinValues(f.values), "Member must have length between 1 and 50");
    }
    for (const std::string& v : f.values) {
      if (v.empty() || v.size() > 1024) {
        return ModelError(at + "values", JoinValues(f.values),
                          "[Member must have length less than or equal to 1024, Member must have "
                          "length greater than or equal to 1]");
      }
    }
  }
  return OkStatus();
}

bool MatchesStringFilter(const StringFilter& f, const FilterSubject& s) {
  const std::string option = EffectiveOption(f);
  if (f.key == "Name") {
    if (!f.values) return false;
    return std::any_of(f.values->begin(), f.values->end(), [&](const std::string& v) {
      return option == "Contains" ? s.hierarchy_name.find(v) != std::string::npos
                                  : Compare(option, s.hierarchy_name, SlashName(v));
    });
  }
  if (f.key == "Path") {
    if (!f.values) return false;
    return std::any_of(f.values->begin(), f.values->end(), [&](const std::string& raw) {
      const std::string path = NormalizePath(raw);
      if (option == "OneLevel") return ParentOf(s.hierarchy_name) == path;
      return path == "/" || s.hierarchy_name.starts_with(path + "/");
    });
  }
  if (f.key == "Type") return AnyValue(f, option, s.type);
  if (f.key == "KeyId") return s.key_id.has_value() && AnyValue(f, option, *s.key_id);
  if (f.key == "Tier") return AnyValue(f, option, s.tier);
  if (f.key == "DataType") return AnyValue(f, option, s.data_type);
  if (f.key.starts_with("tag:")) {
    if (s.tags == nullptr) return false;
    const std::string_view key = std::string_view(f.key).substr(4);
    for (const Tag& t : *s.tags) {
      if (t.key != key) continue;
      if (!f.values) return true;  // the tag exists
      if (AnyValue(f, option, t.value)) return true;
    }
    return false;
  }
  return false;
}

bool MatchesLegacyFilter(const LegacyFilter& f, const FilterSubject& s) {
  return std::any_of(f.values.begin(), f.values.end(), [&](const std::string& v) {
    if (f.key == "Name") return s.hierarchy_name.starts_with(SlashName(v));
    if (f.key == "Type") return s.type == v;
    return s.key_id.has_value() && *s.key_id == v;
  });
}

}  // namespace arca::params
