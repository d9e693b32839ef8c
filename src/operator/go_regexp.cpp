#include "operator/go_regexp.h"

#include <exception>

namespace arca::op {
namespace {

// RE2 spells a named group (?P<name>...); Boost's Perl syntax (?<name>...).
std::string ToBoostSyntax(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size());
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out.push_back(pattern[i]);
      out.push_back(pattern[i + 1]);
      ++i;
      continue;
    }
    if (pattern.substr(i, 4) == "(?P<") {
      out += "(?<";
      i += 3;
      continue;
    }
    out.push_back(pattern[i]);
  }
  return out;
}

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}

using Match = boost::match_results<std::string_view::const_iterator>;

// Go's Regexp.expand for one match.
void Expand(std::string& dst, std::string_view tmpl, const Match& m) {
  while (!tmpl.empty()) {
    const std::size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    dst.append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl.front() == '$') {
      dst.push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view str = tmpl;
    bool brace = false;
    if (!str.empty() && str.front() == '{') {
      brace = true;
      str.remove_prefix(1);
    }
    std::size_t n = 0;
    while (n < str.size() && IsNameChar(str[n])) ++n;
    bool ok = n > 0;
    std::size_t consumed = n;
    if (ok && brace) {
      if (n >= str.size() || str[n] != '}') {
        ok = false;
      } else {
        consumed = n + 1;
      }
    }
    if (!ok) {
      dst.push_back('$');  // malformed: the '$' is text
      continue;
    }
    const std::string name(str.substr(0, n));
    tmpl = str.substr(consumed);
    long num = 0;
    for (char c : name) {
      if (c < '0' || c > '9' || num >= 100000000) {
        num = -1;
        break;
      }
      num = num * 10 + (c - '0');
    }
    if (name.size() > 1 && name.front() == '0') num = -1;
    if (num >= 0) {
      if (static_cast<std::size_t>(num) < m.size() && m[static_cast<int>(num)].matched) {
        dst.append(m[static_cast<int>(num)].first, m[static_cast<int>(num)].second);
      }
    } else {
      const auto& sub = m[name];
      if (sub.matched) dst.append(sub.first, sub.second);
    }
  }
  dst.append(tmpl);
}

}  // namespace

Result<GoRegexp> GoRegexp::Compile(std::string_view pattern) {
  try {
    boost::regex re(ToBoostSyntax(pattern),
                    boost::regex::perl | boost::regex::no_mod_m | boost::regex::no_mod_s);
    return GoRegexp(std::move(re));
  } catch (const std::exception& e) {
    return Error(Code::kInvalidParameter,
                 "invalid regular expression " + std::string(pattern) + ": " + e.what());
  }
}

bool GoRegexp::MatchString(std::string_view s) const {
  try {
    return boost::regex_search(s.begin(), s.end(), re_);
  } catch (const std::exception&) {
    return false;  // too complex to match: no match
  }
}

std::optional<std::string> GoRegexp::FindString(std::string_view s) const {
  try {
    Match m;
    if (!boost::regex_search(s.begin(), s.end(), m, re_)) return std::nullopt;
    return std::string(m[0].first, m[0].second);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string GoRegexp::ReplaceAllString(std::string_view src, std::string_view repl) const {
  return Replace(src, repl, false);
}

std::string GoRegexp::ReplaceAllLiteralString(std::string_view src, std::string_view repl) const {
  return Replace(src, repl, true);
}

std::string GoRegexp::Replace(std::string_view src, std::string_view repl, bool literal) const {
  std::string out;
  std::size_t last_end = 0;
  std::size_t search = 0;
  try {
    while (search <= src.size()) {
      Match m;
      auto flags = boost::match_default;
      if (search > 0) flags |= boost::match_prev_avail;
      // `base` tells Boost where the text starts, so ^ and \b see the characters before `search`.
      if (!boost::regex_search(src.begin() + static_cast<std::ptrdiff_t>(search), src.end(), m, re_, flags,
                               src.begin())) {
        break;
      }
      const auto a0 = static_cast<std::size_t>(m[0].first - src.begin());
      const auto a1 = static_cast<std::size_t>(m[0].second - src.begin());
      out.append(src.substr(last_end, a0 - last_end));
      // No replacement for an empty match right after another match (Go's rule).
      if (a1 > last_end || a0 == 0) {
        if (literal) {
          out.append(repl);
        } else {
          Expand(out, repl, m);
        }
      }
      last_end = a1;
      std::size_t width = 1;
      if (search < src.size()) {
        const auto c = static_cast<unsigned char>(src[search]);
        if (c >= 0xF0) {
          width = 4;
        } else if (c >= 0xE0) {
          width = 3;
        } else if (c >= 0xC0) {
          width = 2;
        }
      }
      if (search + width > a1) {
        search += width;
      } else if (search + 1 > a1) {
        ++search;
      } else {
        search = a1;
      }
    }
  } catch (const std::exception&) {
    // Too complex to match: what was replaced so far, the rest unchanged.
  }
  if (last_end < src.size()) out.append(src.substr(last_end));
  return out;
}

}  // namespace arca::op
