#include "secrets/filters.h"

#include <algorithm>
#include <cctype>

#include "core/strings.h"

namespace arca::secrets {

namespace {

bool AnyWordStartsWith(const std::vector<std::string>& words, const std::string& prefix) {
  return std::any_of(words.begin(), words.end(), [&](const auto& w) { return w.starts_with(prefix); });
}

bool MatchOne(const std::string& key, const std::string& value, const FilterSubject& s) {
  if (key == "name") return s.name.starts_with(value);
  if (key == "tag-key") {
    return std::any_of(s.tags.begin(), s.tags.end(), [&](const Tag& t) { return t.key.starts_with(value); });
  }
  if (key == "tag-value") {
    return std::any_of(s.tags.begin(), s.tags.end(), [&](const Tag& t) { return t.value.starts_with(value); });
  }
  if (key == "primary-region") return !s.primary_region.empty() && s.primary_region.starts_with(value);
  if (key == "owning-service") return !s.owning_service.empty() && s.owning_service.starts_with(value);
  if (key == "description") {
    // Every word of the value must begin a word of the description (not case-sensitive).
    auto words = SplitWords(s.description);
    auto wanted = SplitWords(value);
    if (wanted.empty()) return AsciiLower(s.description).starts_with(AsciiLower(value));
    return std::all_of(wanted.begin(), wanted.end(),
                       [&](const std::string& w) { return AnyWordStartsWith(words, w); });
  }
  if (key == "all") {
    std::vector<std::string> words = SplitWords(s.name);
    auto add = [&](const std::string& text) {
      auto more = SplitWords(text);
      words.insert(words.end(), more.begin(), more.end());
    };
    add(s.description);
    for (const auto& t : s.tags) {
      add(t.key);
      add(t.value);
    }
    add(s.primary_region);
    add(s.owning_service);
    auto wanted = SplitWords(value);
    return std::any_of(wanted.begin(), wanted.end(),
                       [&](const std::string& w) { return AnyWordStartsWith(words, w); });
  }
  return false;
}

}  // namespace

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(AsciiLower(cur));
    cur.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (!std::isalnum(c)) {
      flush();
      continue;
    }
    if (!cur.empty()) {
      auto p = static_cast<unsigned char>(cur.back());
      bool case_change = std::islower(p) && std::isupper(c);
      bool kind_change = (std::isdigit(p) != 0) != (std::isdigit(c) != 0);
      if (case_change || kind_change) flush();
    }
    cur += static_cast<char>(c);
  }
  flush();
  return words;
}

Status ValidateFilters(const std::vector<Filter>& filters) {
  static const char* kKeys[] = {"description", "name", "tag-key", "tag-value",
                                "primary-region", "owning-service", "all"};
  for (const auto& f : filters) {
    if (std::none_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return f.key == k; })) {
      return Error(Code::kInvalidParameter,
                   "Invalid filter key: " + f.key +
                       ". Valid keys are description, name, tag-key, tag-value, primary-region, "
                       "owning-service, all.");
    }
    if (f.values.empty() || f.values.size() > 10) {
      return Error(Code::kInvalidParameter,
                   "A filter must have between 1 and 10 values (filter " + f.key + ").");
    }
    for (const auto& v : f.values) {
      if (v.size() > 512) {
        return Error(Code::kInvalidParameter, "Filter values can be at most 512 characters long.");
      }
      for (char c : v) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view(" :_@/+=.-!").find(c) != std::string_view::npos)) {
          return Error(Code::kInvalidParameter,
                       "Filter values may contain only letters, digits, spaces and :_@/+=.-!");
        }
      }
    }
  }
  return OkStatus();
}

bool MatchesFilters(const std::vector<Filter>& filters, const FilterSubject& s) {
  for (const auto& f : filters) {
    bool any_positive = false, positive_matched = false;
    for (const auto& raw : f.values) {
      if (!raw.empty() && raw[0] == '!') {
        if (MatchOne(f.key, raw.substr(1), s)) return false;
      } else {
        any_positive = true;
        positive_matched = positive_matched || MatchOne(f.key, raw, s);
      }
    }
    if (any_positive && !positive_matched) return false;
  }
  return true;
}

}  // namespace arca::secrets
