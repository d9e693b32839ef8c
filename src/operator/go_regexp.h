#pragma once
// Go's regexp package, as ESO uses it for `dataFrom.find.name.regexp` and `dataFrom.rewrite.regexp`,
// on top of Boost.Regex's Perl syntax: RE2's `(?P<name>...)` groups, `^`/`$` anchored to the whole
// text and `.` not matching a newline unless `(?m)` / `(?s)` say so, Go's ReplaceAllString loop
// (empty matches next to a previous match are skipped) and Go's `$1` / `${1}` / `$name` / `${name}`
// expansion (`$1x` names the group "1x", as Go reads it). Patterns are byte-oriented: `.` matches one
// byte of a multi-byte UTF-8 character, where Go matches the character.
//
// Thread-safety: an object is immutable once compiled; const methods may be called concurrently.

#include <boost/regex.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace arca::op {

class GoRegexp {
 public:
  // kInvalidParameter with Boost's description when the pattern does not compile.
  static Result<GoRegexp> Compile(std::string_view pattern);

  // Whether the pattern matches anywhere in `s` (Go's MatchString).
  bool MatchString(std::string_view s) const;
  // The leftmost match, or nullopt (Go's FindString, which returns "" for no match).
  std::optional<std::string> FindString(std::string_view s) const;
  // Go's ReplaceAllString: every match replaced by `repl` with `$` expansion.
  std::string ReplaceAllString(std::string_view src, std::string_view repl) const;
  // Go's ReplaceAllLiteralString: `repl` inserted as is.
  std::string ReplaceAllLiteralString(std::string_view src, std::string_view repl) const;

 private:
  explicit GoRegexp(boost::regex re) : re_(std::move(re)) {}
  std::string Replace(std::string_view src, std::string_view repl, bool literal) const;

  boost::regex re_;
};

}  // namespace arca::op
