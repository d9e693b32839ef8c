#include "iam/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cstring>
#include <optional>
#include <span>
#include <utility>

#include "core/json.h"
#include "core/strings.h"
#include "crypto/hash.h"

namespace arca::iam {

// The compiled form. A named namespace (not an anonymous one) because CompiledPolicy, which has
// external linkage, holds these types.
namespace policy_internal {

namespace bj = boost::json;
using access::ContextKeys;

// ---------------------------------------------------------------------------------------------
// Globs. A pattern is a sequence of elements: a byte (0..255), or one of the two wildcards. Text
// that must stay literal (${*}, substituted variables) is stored as bytes, so it never acts as a
// wildcard.

constexpr std::int16_t kStarElem = -1;
constexpr std::int16_t kQuestionElem = -2;

inline char LowerChar(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
inline std::int16_t ByteElem(char c) {
  return static_cast<std::int16_t>(static_cast<unsigned char>(c));
}

bool IEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerChar(a[i]) != LowerChar(b[i])) return false;
  }
  return true;
}

// Iterative glob match with one backtrack point per '*' (linear for the patterns policies use).
// `fold` lower-cases the subject; the pattern is then already lower case.
bool GlobMatch(std::span<const std::int16_t> p, std::string_view s, bool fold) {
  std::size_t pi = 0;
  std::size_t si = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == kStarElem) {
      star = pi++;
      mark = si;
      continue;
    }
    if (pi < p.size() &&
        (p[pi] == kQuestionElem || p[pi] == ByteElem(fold ? LowerChar(s[si]) : s[si]))) {
      ++pi;
      ++si;
      continue;
    }
    if (star == std::string_view::npos) return false;
    pi = star + 1;
    si = ++mark;
  }
  while (pi < p.size() && p[pi] == kStarElem) ++pi;
  return pi == p.size();
}

// A compiled glob with fast paths for the shapes policies mostly use: "*", an exact name, a prefix.
struct Glob {
  enum class Shape : std::uint8_t { kAny, kExact, kPrefix, kGeneral };
  Shape shape = Shape::kExact;
  bool fold = false;
  std::string literal;              // kExact: the text; kPrefix: the text before the final '*'
  std::vector<std::int16_t> elems;  // kGeneral

  static Glob FromElems(std::vector<std::int16_t> pattern, bool fold_case) {
    Glob g;
    g.fold = fold_case;
    std::size_t stars = 0;
    std::size_t questions = 0;
    for (std::int16_t e : pattern) {
      if (e == kStarElem) ++stars;
      if (e == kQuestionElem) ++questions;
    }
    auto text_of = [](std::span<const std::int16_t> elems_part) {
      std::string out;
      out.reserve(elems_part.size());
      for (std::int16_t e : elems_part)
        out.push_back(static_cast<char>(static_cast<unsigned char>(e)));
      return out;
    };
    if (!pattern.empty() && stars == pattern.size()) {
      g.shape = Shape::kAny;
    } else if (stars == 0 && questions == 0) {
      g.shape = Shape::kExact;
      g.literal = text_of(pattern);
    } else if (stars == 1 && questions == 0 && pattern.back() == kStarElem) {
      g.shape = Shape::kPrefix;
      g.literal = text_of(std::span<const std::int16_t>(pattern).first(pattern.size() - 1));
    } else {
      g.shape = Shape::kGeneral;
      g.elems = std::move(pattern);
    }
    return g;
  }

  bool Matches(std::string_view s) const {
    switch (shape) {
      case Shape::kAny:
        return true;
      case Shape::kExact:
        return fold ? IEqual(s, literal) : s == literal;
      case Shape::kPrefix:
        return s.size() >= literal.size() && (fold ? IEqual(s.substr(0, literal.size()), literal)
                                                   : s.substr(0, literal.size()) == literal);
      case Shape::kGeneral:
        return GlobMatch(elems, s, fold);
    }
    return false;
  }
};

// Pattern text where '*' and '?' are wildcards.
void AppendPatternElems(std::string_view text, bool fold, std::vector<std::int16_t>* out) {
  for (char c : text) {
    if (c == '*') {
      out->push_back(kStarElem);
    } else if (c == '?') {
      out->push_back(kQuestionElem);
    } else {
      out->push_back(ByteElem(fold ? LowerChar(c) : c));
    }
  }
}

void AppendLiteralElems(std::string_view text, std::vector<std::int16_t>* out) {
  for (char c : text) out->push_back(ByteElem(c));
}

// ---------------------------------------------------------------------------------------------
// Context keys, looked up in several sets without merging them.

struct KeySets {
  std::array<const ContextKeys*, 3> sets{};

  const std::vector<std::string>* Find(std::string_view key) const {
    for (const ContextKeys* s : sets) {
      if (s == nullptr) continue;
      if (const auto* v = s->Find(key)) return v;
    }
    return nullptr;
  }
};

// ---------------------------------------------------------------------------------------------
// Templates: a policy string that may hold policy variables.

struct Piece {
  enum class Kind : std::uint8_t {
    kPattern,   // text as written: '*' and '?' are wildcards where the operator has wildcards
    kLiteral,   // ${*} ${?} ${$}: always literal
    kVariable,  // ${key} or ${key, 'default'}
  };
  Kind kind = Kind::kPattern;
  std::string text;  // the text, or the variable's key
  bool has_default = false;
  std::string default_value;
};

struct Template {
  bool has_vars = false;
  std::vector<Piece> pieces;  // has_vars only
  std::string text;           // !has_vars: the value with ${*} ${?} ${$} resolved
  Glob glob;                  // !has_vars: the value as a (case-sensitive) pattern
};

// Splits `s` into pieces; `variables` is false for documents older than 2012-10-17, where "${...}"
// is ordinary text.
std::vector<Piece> ParsePieces(std::string_view s, bool variables) {
  std::vector<Piece> out;
  auto add_pattern = [&out](std::string_view text) {
    if (text.empty()) return;
    if (!out.empty() && out.back().kind == Piece::Kind::kPattern) {
      out.back().text.append(text);
    } else {
      out.push_back(Piece{Piece::Kind::kPattern, std::string(text), false, {}});
    }
  };
  if (!variables) {
    add_pattern(s);
    return out;
  }
  std::size_t pos = 0;
  while (pos < s.size()) {
    std::size_t open = s.find("${", pos);
    if (open == std::string_view::npos) {
      add_pattern(s.substr(pos));
      break;
    }
    std::size_t close = s.find('}', open + 2);
    if (close == std::string_view::npos) {
      add_pattern(s.substr(pos));
      break;
    }
    add_pattern(s.substr(pos, open - pos));
    std::string_view inner = TrimSpace(s.substr(open + 2, close - open - 2));
    pos = close + 1;
    if (inner == "*" || inner == "?" || inner == "$") {
      out.push_back(Piece{Piece::Kind::kLiteral, std::string(inner), false, {}});
      continue;
    }
    Piece var{Piece::Kind::kVariable, {}, false, {}};
    std::size_t comma = inner.find(',');
    std::string_view key = TrimSpace(inner.substr(0, comma));
    bool ok = !key.empty();
    if (ok && comma != std::string_view::npos) {
      std::string_view def = TrimSpace(inner.substr(comma + 1));
      if (def.size() >= 2 && def.front() == '\'' && def.back() == '\'') {
        var.has_default = true;
        var.default_value = std::string(def.substr(1, def.size() - 2));
      } else {
        ok = false;
      }
    }
    if (!ok) {  // not a variable after all: keep the text as written
      add_pattern(s.substr(open, close + 1 - open));
      continue;
    }
    var.text = std::string(key);
    out.push_back(std::move(var));
  }
  return out;
}

Template CompileTemplate(std::string_view s, bool variables) {
  Template t;
  std::vector<Piece> pieces = ParsePieces(s, variables);
  for (const Piece& p : pieces) {
    if (p.kind == Piece::Kind::kVariable) t.has_vars = true;
  }
  if (t.has_vars) {
    t.pieces = std::move(pieces);
    return t;
  }
  std::vector<std::int16_t> elems;
  for (const Piece& p : pieces) {
    t.text.append(p.text);
    if (p.kind == Piece::Kind::kPattern) {
      AppendPatternElems(p.text, false, &elems);
    } else {
      AppendLiteralElems(p.text, &elems);
    }
  }
  t.glob = Glob::FromElems(std::move(elems), false);
  return t;
}

// The value a variable stands for: the key's only value, else the default; nullptr when neither.
const std::string* VariableValue(const Piece& p, const KeySets& keys) {
  const auto* v = keys.Find(p.text);
  if (v != nullptr && v->size() == 1) return &v->front();
  return p.has_default ? &p.default_value : nullptr;
}

// Per-thread buffers for substituted templates, so evaluation does not allocate once warm.
struct Scratch {
  std::string text;
  std::vector<std::int16_t> elems;
};
Scratch& LocalScratch() {
  thread_local Scratch scratch;
  return scratch;
}

// The template as literal text; false when a variable has no value.
bool ResolveText(const Template& t, const KeySets& keys, std::string* out) {
  out->clear();
  for (const Piece& p : t.pieces) {
    if (p.kind == Piece::Kind::kVariable) {
      const std::string* v = VariableValue(p, keys);
      if (v == nullptr) return false;
      out->append(*v);
    } else {
      out->append(p.text);
    }
  }
  return true;
}

// The template as a pattern; substituted values are literal. False when a variable has no value.
bool ResolveElems(const Template& t, const KeySets& keys, std::vector<std::int16_t>* out) {
  out->clear();
  for (const Piece& p : t.pieces) {
    switch (p.kind) {
      case Piece::Kind::kPattern:
        AppendPatternElems(p.text, false, out);
        break;
      case Piece::Kind::kLiteral:
        AppendLiteralElems(p.text, out);
        break;
      case Piece::Kind::kVariable: {
        const std::string* v = VariableValue(p, keys);
        if (v == nullptr) return false;
        AppendLiteralElems(*v, out);
        break;
      }
    }
  }
  return true;
}

bool TemplateEquals(const Template& t, std::string_view s, const KeySets& keys, bool ignore_case) {
  if (!t.has_vars) return ignore_case ? IEqual(s, t.text) : s == t.text;
  std::string& text = LocalScratch().text;
  if (!ResolveText(t, keys, &text)) return false;
  return ignore_case ? IEqual(s, text) : s == text;
}

bool TemplateLike(const Template& t, std::string_view s, const KeySets& keys) {
  if (!t.has_vars) return t.glob.Matches(s);
  std::vector<std::int16_t>& elems = LocalScratch().elems;
  if (!ResolveElems(t, keys, &elems)) return false;
  return GlobMatch(elems, s, false);
}

// ---------------------------------------------------------------------------------------------
// ARN patterns (ArnEquals/ArnLike): the six colon-separated parts are matched one by one, so a '*'
// never spans a ':' between parts (the last part, the resource, may itself hold ':').

constexpr std::size_t kArnParts = 6;

bool SplitArn(std::string_view s, std::array<std::string_view, kArnParts>* parts) {
  std::size_t start = 0;
  for (std::size_t i = 0; i + 1 < kArnParts; ++i) {
    std::size_t colon = s.find(':', start);
    if (colon == std::string_view::npos) return false;
    (*parts)[i] = s.substr(start, colon - start);
    start = colon + 1;
  }
  (*parts)[kArnParts - 1] = s.substr(start);
  return true;
}

bool SplitArnElems(std::span<const std::int16_t> e,
                   std::array<std::span<const std::int16_t>, kArnParts>* parts) {
  std::size_t start = 0;
  std::size_t part = 0;
  for (std::size_t i = 0; i < e.size() && part + 1 < kArnParts; ++i) {
    if (e[i] == ByteElem(':')) {
      (*parts)[part++] = e.subspan(start, i - start);
      start = i + 1;
    }
  }
  if (part + 1 != kArnParts) return false;
  (*parts)[kArnParts - 1] = e.subspan(start);
  return true;
}

bool IsAllStars(std::span<const std::int16_t> e) {
  return !e.empty() &&
         std::all_of(e.begin(), e.end(), [](std::int16_t x) { return x == kStarElem; });
}

struct ArnPattern {
  bool any = false;    // the value is "*": any ARN
  bool valid = false;  // the value has all six parts (otherwise it matches nothing)
  std::array<Glob, kArnParts> parts;
};

ArnPattern CompileArnPattern(const Template& t) {
  ArnPattern a;
  if (t.has_vars) return a;  // split after substitution
  std::vector<std::int16_t> elems;
  const Glob& g = t.glob;
  if (g.shape == Glob::Shape::kAny) {
    a.any = true;
    return a;
  }
  if (g.shape == Glob::Shape::kGeneral) {
    elems = g.elems;
  } else {
    AppendLiteralElems(g.literal, &elems);
    if (g.shape == Glob::Shape::kPrefix) elems.push_back(kStarElem);
  }
  std::array<std::span<const std::int16_t>, kArnParts> spans;
  if (!SplitArnElems(elems, &spans)) return a;
  a.valid = true;
  for (std::size_t i = 0; i < kArnParts; ++i) {
    a.parts[i] =
        Glob::FromElems(std::vector<std::int16_t>(spans[i].begin(), spans[i].end()), false);
  }
  return a;
}

bool ArnLike(const Template& t, const ArnPattern& a, std::string_view s, const KeySets& keys) {
  std::array<std::string_view, kArnParts> subject;
  if (!t.has_vars) {
    if (a.any) return true;
    if (!a.valid || !SplitArn(s, &subject)) return false;
    for (std::size_t i = 0; i < kArnParts; ++i) {
      if (!a.parts[i].Matches(subject[i])) return false;
    }
    return true;
  }
  std::vector<std::int16_t>& elems = LocalScratch().elems;
  if (!ResolveElems(t, keys, &elems)) return false;
  if (IsAllStars(elems)) return true;
  std::array<std::span<const std::int16_t>, kArnParts> spans;
  if (!SplitArnElems(elems, &spans) || !SplitArn(s, &subject)) return false;
  for (std::size_t i = 0; i < kArnParts; ++i) {
    if (!GlobMatch(spans[i], subject[i], false)) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Typed condition values: numbers, dates, booleans, IP ranges.

bool ParseNumber(std::string_view s, double* out) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

// 1 to 9 decimal digits (so the value fits an int).
bool ParseDigits(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Epoch seconds ("1577836800") or ISO 8601: YYYY-MM-DD[Thh:mm[:ss[.fff]]][Z|±hh[:mm]] (no zone
// means UTC). Milliseconds since the epoch.
bool ParseDate(std::string_view s, std::int64_t* out_ms) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (s.size() > 15) return false;
    std::int64_t secs = 0;
    for (char c : s) secs = secs * 10 + (c - '0');
    *out_ms = secs * 1000;
    return true;
  }
  int year = 0;
  int month = 0;
  int day = 0;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !ParseDigits(s.substr(0, 4), &year) ||
      !ParseDigits(s.substr(5, 2), &month) || !ParseDigits(s.substr(8, 2), &day)) {
    return false;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  std::string_view rest = s.substr(10);
  int hour = 0;
  int minute = 0;
  int second = 0;
  int millis = 0;
  if (!rest.empty() && (rest.front() == 'T' || rest.front() == 't')) {
    rest.remove_prefix(1);
    if (rest.size() < 5 || rest[2] != ':' || !ParseDigits(rest.substr(0, 2), &hour) ||
        !ParseDigits(rest.substr(3, 2), &minute)) {
      return false;
    }
    rest.remove_prefix(5);
    if (!rest.empty() && rest.front() == ':') {
      if (rest.size() < 3 || !ParseDigits(rest.substr(1, 2), &second)) return false;
      rest.remove_prefix(3);
      if (!rest.empty() && rest.front() == '.') {
        rest.remove_prefix(1);
        std::size_t n = 0;
        int scale = 100;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') {
          millis += (rest[n] - '0') * scale;
          scale /= 10;
          ++n;
        }
        if (n == 0) return false;
        rest.remove_prefix(n);
      }
    }
    if (hour > 23 || minute > 59 || second > 60) return false;
  }
  std::int64_t offset_minutes = 0;
  if (!rest.empty()) {
    if (rest == "Z" || rest == "z") {
      rest = {};
    } else if (rest.front() == '+' || rest.front() == '-') {
      int sign = rest.front() == '-' ? -1 : 1;
      std::string_view zone = rest.substr(1);
      int zh = 0;
      int zm = 0;
      bool ok = false;
      if (zone.size() == 2) {
        ok = ParseDigits(zone, &zh);
      } else if (zone.size() == 4) {
        ok = ParseDigits(zone.substr(0, 2), &zh) && ParseDigits(zone.substr(2, 2), &zm);
      } else if (zone.size() == 5 && zone[2] == ':') {
        ok = ParseDigits(zone.substr(0, 2), &zh) && ParseDigits(zone.substr(3, 2), &zm);
      }
      if (!ok || zh > 23 || zm > 59) return false;
      offset_minutes = sign * (zh * 60 + zm);
    } else {
      return false;
    }
  }
  std::int64_t days = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  *out_ms = secs * 1000 + millis;
  return true;
}

bool ParseBool(std::string_view s, bool* out) {
  if (IEqual(s, "true")) {
    *out = true;
    return true;
  }
  if (IEqual(s, "false")) {
    *out = false;
    return true;
  }
  return false;
}

struct IpAddr {
  int family = 0;  // 4 or 6
  std::array<std::uint8_t, 16> bytes{};
};

// Parses a dotted IPv4 or an IPv6 address; an IPv4-mapped IPv6 address becomes IPv4.
bool ParseIp(std::string_view s, IpAddr* out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof(buf)) return false;
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  *out = IpAddr{};
  if (s.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buf, out->bytes.data()) != 1) return false;
    out->family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out->bytes.data()) != 1) return false;
  out->family = 6;
  static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out->bytes.data(), kMapped, sizeof(kMapped)) == 0) {
    std::memmove(out->bytes.data(), out->bytes.data() + 12, 4);
    std::fill(out->bytes.begin() + 4, out->bytes.end(), std::uint8_t{0});
    out->family = 4;
  }
  return true;
}

struct Cidr {
  IpAddr base;  // host bits cleared
  int prefix = 0;
};

// "203.0.113.0/24", "2001:db8::/32", or a single address (/32 or /128). Host bits are ignored, as
// AWS does ("192.168.0.1/16").
bool ParseCidr(std::string_view s, Cidr* out) {
  std::size_t slash = s.find('/');
  if (!ParseIp(s.substr(0, slash), &out->base)) return false;
  int max_prefix = out->base.family == 4 ? 32 : 128;
  out->prefix = max_prefix;
  if (slash != std::string_view::npos) {
    if (!ParseDigits(s.substr(slash + 1), &out->prefix) || out->prefix > max_prefix) {
      return false;
    }
  }
  for (int bit = out->prefix; bit < max_prefix; ++bit) {
    out->base.bytes[static_cast<std::size_t>(bit / 8)] &=
        static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return true;
}

bool CidrContains(const Cidr& c, const IpAddr& a) {
  if (a.family != c.base.family) return false;
  int full = c.prefix / 8;
  if (std::memcmp(a.bytes.data(), c.base.bytes.data(), static_cast<std::size_t>(full)) != 0)
    return false;
  int rem = c.prefix % 8;
  if (rem == 0) return true;
  auto mask = static_cast<std::uint8_t>(0xffu << (8 - rem));
  return (a.bytes[static_cast<std::size_t>(full)] & mask) ==
         c.base.bytes[static_cast<std::size_t>(full)];
}

// ---------------------------------------------------------------------------------------------
// Conditions.

enum class OpClass : std::uint8_t {
  kString,
  kStringIgnoreCase,
  kStringLike,
  kNumeric,
  kDate,
  kBool,
  kBinary,
  kIp,
  kArn,
  kNull,
};
enum class Cmp : std::uint8_t { kEq, kLt, kLe, kGt, kGe };
enum class SetOp : std::uint8_t { kNone, kForAnyValue, kForAllValues };

struct OperatorInfo {
  std::string_view name;
  OpClass cls;
  Cmp cmp;
  bool negated;
};

constexpr OperatorInfo kOperators[] = {
    {"StringEquals", OpClass::kString, Cmp::kEq, false},
    {"StringNotEquals", OpClass::kString, Cmp::kEq, true},
    {"StringEqualsIgnoreCase", OpClass::kStringIgnoreCase, Cmp::kEq, false},
    {"StringNotEqualsIgnoreCase", OpClass::kStringIgnoreCase, Cmp::kEq, true},
    {"StringLike", OpClass::kStringLike, Cmp::kEq, false},
    {"StringNotLike", OpClass::kStringLike, Cmp::kEq, true},
    {"NumericEquals", OpClass::kNumeric, Cmp::kEq, false},
    {"NumericNotEquals", OpClass::kNumeric, Cmp::kEq, true},
    {"NumericLessThan", OpClass::kNumeric, Cmp::kLt, false},
    {"NumericLessThanEquals", OpClass::kNumeric, Cmp::kLe, false},
    {"NumericGreaterThan", OpClass::kNumeric, Cmp::kGt, false},
    {"NumericGreaterThanEquals", OpClass::kNumeric, Cmp::kGe, false},
    {"DateEquals", OpClass::kDate, Cmp::kEq, false},
    {"DateNotEquals", OpClass::kDate, Cmp::kEq, true},
    {"DateLessThan", OpClass::kDate, Cmp::kLt, false},
    {"DateLessThanEquals", OpClass::kDate, Cmp::kLe, false},
    {"DateGreaterThan", OpClass::kDate, Cmp::kGt, false},
    {"DateGreaterThanEquals", OpClass::kDate, Cmp::kGe, false},
    {"Bool", OpClass::kBool, Cmp::kEq, false},
    {"BinaryEquals", OpClass::kBinary, Cmp::kEq, false},
    {"IpAddress", OpClass::kIp, Cmp::kEq, false},
    {"NotIpAddress", OpClass::kIp, Cmp::kEq, true},
    {"ArnEquals", OpClass::kArn, Cmp::kEq, false},
    {"ArnLike", OpClass::kArn, Cmp::kEq, false},
    {"ArnNotEquals", OpClass::kArn, Cmp::kEq, true},
    {"ArnNotLike", OpClass::kArn, Cmp::kEq, true},
    {"Null", OpClass::kNull, Cmp::kEq, false},
};

struct CondValue {
  Template text;             // String*, Arn*
  ArnPattern arn;            // Arn*
  double number = 0;         // Numeric*
  std::int64_t date_ms = 0;  // Date*
  bool flag = false;         // Bool, Null
  std::string bytes;         // BinaryEquals (decoded)
  Cidr cidr;                 // IpAddress, NotIpAddress
};

struct Condition {
  OpClass cls = OpClass::kString;
  Cmp cmp = Cmp::kEq;
  bool negated = false;
  bool if_exists = false;
  SetOp set = SetOp::kNone;
  std::string key;
  std::vector<CondValue> values;
};

template <typename T>
bool Compare(T request, T policy, Cmp cmp) {
  switch (cmp) {
    case Cmp::kEq:
      return request == policy;
    case Cmp::kLt:
      return request < policy;
    case Cmp::kLe:
      return request <= policy;
    case Cmp::kGt:
      return request > policy;
    case Cmp::kGe:
      return request >= policy;
  }
  return false;
}

// Whether one request value matches at least one of the condition's values (the operator without
// its negation).
bool AnyPolicyValueMatches(const Condition& c, const std::string& r, const KeySets& keys) {
  switch (c.cls) {
    case OpClass::kString:
    case OpClass::kStringIgnoreCase: {
      bool ignore_case = c.cls == OpClass::kStringIgnoreCase;
      for (const CondValue& v : c.values) {
        if (TemplateEquals(v.text, r, keys, ignore_case)) return true;
      }
      return false;
    }
    case OpClass::kStringLike:
      for (const CondValue& v : c.values) {
        if (TemplateLike(v.text, r, keys)) return true;
      }
      return false;
    case OpClass::kNumeric: {
      double x = 0;
      if (!ParseNumber(r, &x)) return false;
      for (const CondValue& v : c.values) {
        if (Compare(x, v.number, c.cmp)) return true;
      }
      return false;
    }
    case OpClass::kDate: {
      std::int64_t ms = 0;
      if (!ParseDate(r, &ms)) return false;
      for (const CondValue& v : c.values) {
        if (Compare(ms, v.date_ms, c.cmp)) return true;
      }
      return false;
    }
    case OpClass::kBool: {
      bool b = false;
      if (!ParseBool(r, &b)) return false;
      for (const CondValue& v : c.values) {
        if (v.flag == b) return true;
      }
      return false;
    }
    case OpClass::kBinary: {
      // Binary keys travel base64-encoded in the context, like the policy's values.
      std::optional<std::string> bytes = crypto::Base64Decode(r);
      if (!bytes) return false;
      for (const CondValue& v : c.values) {
        if (*bytes == v.bytes) return true;
      }
      return false;
    }
    case OpClass::kIp: {
      IpAddr addr;
      if (!ParseIp(r, &addr)) return false;
      for (const CondValue& v : c.values) {
        if (CidrContains(v.cidr, addr)) return true;
      }
      return false;
    }
    case OpClass::kArn:
      for (const CondValue& v : c.values) {
        if (ArnLike(v.text, v.arn, r, keys)) return true;
      }
      return false;
    case OpClass::kNull:
      return false;  // handled by the caller
  }
  return false;
}

// One request value against the operator, negation included: a negated operator holds when the
// value matches none of the condition's values.
bool ValueSatisfies(const Condition& c, const std::string& r, const KeySets& keys) {
  bool any = AnyPolicyValueMatches(c, r, keys);
  return c.negated ? !any : any;
}

// IAM User Guide, "Condition operators" and "Creating a condition with multiple keys or values":
// a missing key fails a condition unless the operator is negated; ...IfExists makes a missing key
// pass; ForAnyValue fails and ForAllValues passes on a missing key or an empty set; Null tests
// presence only.
bool ConditionHolds(const Condition& c, const KeySets& keys) {
  const std::vector<std::string>* request = keys.Find(c.key);
  bool absent = request == nullptr || request->empty();
  if (c.cls == OpClass::kNull) {
    for (const CondValue& v : c.values) {
      if (v.flag == absent) return true;
    }
    return false;
  }
  if (absent && c.if_exists) return true;
  switch (c.set) {
    case SetOp::kNone: {
      if (absent) return c.negated;
      bool any = false;
      for (const std::string& r : *request) {
        if (AnyPolicyValueMatches(c, r, keys)) {
          any = true;
          break;
        }
      }
      return c.negated ? !any : any;
    }
    case SetOp::kForAnyValue:
      if (absent) return false;
      return std::any_of(request->begin(), request->end(),
                         [&](const std::string& r) { return ValueSatisfies(c, r, keys); });
    case SetOp::kForAllValues:
      if (absent) return true;
      return std::all_of(request->begin(), request->end(),
                         [&](const std::string& r) { return ValueSatisfies(c, r, keys); });
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Principals.

struct PrincipalEntry {
  enum class Kind : std::uint8_t {
    kEveryone,  // "*" or {"AWS": "*"}
    kAccount,   // {"AWS": "123456789012"} or {"AWS": "arn:aws:iam::123456789012:root"}
    kId,        // a user, role or session ARN, a federated provider, a service, a canonical user
  };
  Kind kind = Kind::kId;
  std::string type;        // kId: "AWS", "Federated", "Service", "CanonicalUser"
  std::string value;       // kAccount: the account id; kId: the identifier
  std::string root_arn;    // kAccount: the account's root ARN
  bool any_value = false;  // kId: {"Federated": "*"} and the like
};

enum class PrincipalMode : std::uint8_t { kNone, kPrincipal, kNotPrincipal };

// How a resource policy's Allow reaches the caller.
enum class Grant : std::uint8_t {
  kNone,
  kDelegated,  // through the caller's account: needs the caller's identity Allow as well
  kDirect,     // the caller by name, "*", its federated provider
};

bool IdMatches(const PrincipalEntry& e, const PrincipalId& id) {
  switch (e.kind) {
    case PrincipalEntry::Kind::kEveryone:
      return true;
    case PrincipalEntry::Kind::kAccount:
      return id.value == e.root_arn;
    case PrincipalEntry::Kind::kId:
      return e.type == id.type && (e.any_value || e.value == id.value);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Statements.

struct Statement {
  std::string sid;
  bool allow = true;
  bool not_action = false;
  std::vector<Glob> actions;  // lower case; matched case-insensitively
  bool has_resource = false;  // trust policies may leave Resource out
  bool not_resource = false;
  std::vector<Template> resources;
  PrincipalMode principal_mode = PrincipalMode::kNone;
  std::vector<PrincipalEntry> principals;
  std::vector<Condition> conditions;
  bool uses_variables = false;  // some Resource or condition value holds a policy variable
};

}  // namespace policy_internal

class CompiledPolicy {
 public:
  PolicyKind kind = PolicyKind::kIdentity;
  bool variables = false;  // Version 2012-10-17
  std::vector<policy_internal::Statement> statements;
};

namespace policy_internal {
namespace {

// ---------------------------------------------------------------------------------------------
// Compiling.

// IAM's messages (as CreatePolicy/CreateRole return them). Where IAM says only "Syntax errors in
// policy." the detail, for the log, says what was wrong.
Error Syntax(std::string detail) {
  return Error(Code::kMalformedPolicy, "Syntax errors in policy.", std::move(detail));
}
Error Legacy(std::string detail) {
  return Error(Code::kMalformedPolicy, "The policy failed legacy parsing", std::move(detail));
}
Error Malformed(std::string message) { return Error(Code::kMalformedPolicy, std::move(message)); }

constexpr std::string_view kVendorMessage =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";

// A string or a list of strings; false on any other JSON type.
bool StringOrList(const bj::value& v, std::vector<std::string_view>* out) {
  out->clear();
  if (v.is_string()) {
    out->push_back(v.get_string());
    return true;
  }
  if (!v.is_array()) return false;
  for (const bj::value& item : v.get_array()) {
    if (!item.is_string()) return false;
    out->push_back(item.get_string());
  }
  return true;
}

Result<Glob> CompileAction(std::string_view action) {
  if (action != "*") {
    std::size_t colon = action.find(':');
    if (colon == std::string_view::npos) return Malformed(std::string(kVendorMessage));
    if (action.find(':', colon + 1) != std::string_view::npos) {
      return Malformed("Actions/Condition can contain only one colon.");
    }
    std::string_view vendor = action.substr(0, colon);
    bool vendor_ok =
        vendor == "*" || (!vendor.empty() && std::all_of(vendor.begin(), vendor.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.';
        }));
    if (!vendor_ok) return Malformed("Vendor " + std::string(vendor) + " is not valid");
  }
  std::vector<std::int16_t> elems;
  AppendPatternElems(action, true, &elems);
  return Glob::FromElems(std::move(elems), true);
}

Status CheckResourceFormat(std::string_view resource) {
  if (resource == "*" || resource.starts_with("arn:")) return OkStatus();
  return Malformed("Resource " + std::string(resource) + " must be in ARN format or \"*\".");
}

bool IsAccountId(std::string_view s) {
  return s.size() == 12 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "arn:PARTITION:iam::ACCOUNT:root" -> ACCOUNT; empty otherwise.
std::string_view RootArnAccount(std::string_view arn) {
  std::array<std::string_view, kArnParts> parts;
  if (!arn.starts_with("arn:") || !SplitArn(arn, &parts)) return {};
  if (parts[2] != "iam" || !parts[3].empty() || parts[5] != "root" || !IsAccountId(parts[4]))
    return {};
  return parts[4];
}

Error InvalidPrincipal(std::string_view type, std::string_view value) {
  return Malformed("Invalid principal in policy: \"" + std::string(type) + "\":\"" +
                   std::string(value) + "\"");
}

Result<PrincipalEntry> CompilePrincipalValue(std::string_view type, std::string_view value) {
  PrincipalEntry e;
  e.type = std::string(type);
  if (value.empty()) return InvalidPrincipal(type, value);
  if (type == "AWS") {
    if (value == "*") {
      e.kind = PrincipalEntry::Kind::kEveryone;
      return e;
    }
    if (IsAccountId(value)) {
      e.kind = PrincipalEntry::Kind::kAccount;
      e.value = std::string(value);
      e.root_arn = "arn:aws:iam::" + e.value + ":root";
      return e;
    }
    if (std::string_view account = RootArnAccount(value); !account.empty()) {
      e.kind = PrincipalEntry::Kind::kAccount;
      e.value = std::string(account);
      e.root_arn = std::string(value);
      return e;
    }
    // A user, role, session or federated-user ARN; no partial wildcards (IAM User Guide: "You
    // cannot use a wildcard to match part of a principal name or ARN").
    std::array<std::string_view, kArnParts> parts;
    if (!value.starts_with("arn:") || !SplitArn(value, &parts) ||
        value.find_first_of("*?") != std::string_view::npos || parts[5].empty()) {
      return InvalidPrincipal(type, value);
    }
    e.kind = PrincipalEntry::Kind::kId;
    e.value = std::string(value);
    return e;
  }
  if (type == "Federated" || type == "Service" || type == "CanonicalUser") {
    e.kind = PrincipalEntry::Kind::kId;
    if (value == "*") {
      e.any_value = true;
    } else if (value.find_first_of("*?") != std::string_view::npos) {
      return InvalidPrincipal(type, value);
    }
    e.value = std::string(value);
    return e;
  }
  return InvalidPrincipal(type, value);
}

Status CompilePrincipal(const bj::value& v, std::vector<PrincipalEntry>* out) {
  if (v.is_string()) {
    if (v.get_string() != "*") return InvalidPrincipal("AWS", v.get_string());
    PrincipalEntry e;
    e.kind = PrincipalEntry::Kind::kEveryone;
    out->push_back(std::move(e));
    return OkStatus();
  }
  if (!v.is_object()) return Syntax("Principal must be \"*\" or an object");
  const bj::object& o = v.get_object();
  if (o.empty()) return Syntax("Principal is empty");
  std::vector<std::string_view> values;
  for (const auto& member : o) {
    std::string_view type = member.key();
    if (!StringOrList(member.value(), &values)) return Syntax("Principal values must be strings");
    if (values.empty()) return InvalidPrincipal(type, "");
    for (std::string_view value : values) {
      ARCA_ASSIGN_OR_RETURN(PrincipalEntry e, CompilePrincipalValue(type, value));
      out->push_back(std::move(e));
    }
  }
  return OkStatus();
}

// A condition value as text (IAM's grammar allows strings, numbers and booleans).
bool ConditionValueText(const bj::value& v, std::string* out) {
  if (v.is_string()) {
    *out = std::string(v.get_string());
  } else if (v.is_bool()) {
    *out = v.get_bool() ? "true" : "false";
  } else if (v.is_int64()) {
    *out = std::to_string(v.get_int64());
  } else if (v.is_uint64()) {
    *out = std::to_string(v.get_uint64());
  } else if (v.is_double()) {
    char buf[64];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v.get_double());
    if (ec != std::errc()) return false;
    *out = std::string(buf, ptr);
  } else {
    return false;
  }
  return true;
}

Result<CondValue> CompileConditionValue(const Condition& c, std::string_view op,
                                        const bj::value& json, bool variables) {
  std::string text;
  if (!ConditionValueText(json, &text)) {
    return Syntax("condition values must be strings, numbers or booleans");
  }
  CondValue v;
  auto legacy = [&](std::string_view what) {
    return Legacy(std::string(op) + " needs " + std::string(what) + ", got \"" + text + "\"");
  };
  switch (c.cls) {
    case OpClass::kString:
    case OpClass::kStringIgnoreCase:
    case OpClass::kStringLike:
      v.text = CompileTemplate(text, variables);
      break;
    case OpClass::kArn:
      v.text = CompileTemplate(text, variables);
      v.arn = CompileArnPattern(v.text);
      break;
    case OpClass::kNumeric:
      if (json.is_int64()) {
        v.number = static_cast<double>(json.get_int64());
      } else if (json.is_uint64()) {
        v.number = static_cast<double>(json.get_uint64());
      } else if (json.is_double()) {
        v.number = json.get_double();
      } else if (!ParseNumber(text, &v.number)) {
        return legacy("a number");
      }
      break;
    case OpClass::kDate:
      if (!ParseDate(text, &v.date_ms)) return legacy("a date (ISO 8601 or epoch seconds)");
      break;
    case OpClass::kBool:
    case OpClass::kNull:
      if (!ParseBool(text, &v.flag)) return legacy("true or false");
      break;
    case OpClass::kBinary: {
      std::optional<std::string> bytes = crypto::Base64Decode(text);
      if (!bytes) return legacy("base64");
      v.bytes = std::move(*bytes);
      break;
    }
    case OpClass::kIp:
      if (!ParseCidr(text, &v.cidr)) return legacy("an IP address or CIDR range");
      break;
  }
  return v;
}

Status CompileConditions(const bj::value& json, bool variables, Statement* st) {
  if (!json.is_object()) return Syntax("Condition must be an object");
  for (const auto& block : json.get_object()) {
    std::string_view op = block.key();
    Condition proto;
    std::string_view base = op;
    if (base.starts_with("ForAnyValue:")) {
      proto.set = SetOp::kForAnyValue;
      base.remove_prefix(std::string_view("ForAnyValue:").size());
    } else if (base.starts_with("ForAllValues:")) {
      proto.set = SetOp::kForAllValues;
      base.remove_prefix(std::string_view("ForAllValues:").size());
    }
    if (base.ends_with("IfExists") && base != "IfExists") {
      proto.if_exists = true;
      base.remove_suffix(std::string_view("IfExists").size());
    }
    const OperatorInfo* info = nullptr;
    for (const OperatorInfo& candidate : kOperators) {
      if (candidate.name == base) info = &candidate;
    }
    if (info == nullptr || (info->cls == OpClass::kNull && proto.if_exists)) {
      return Syntax("unknown condition operator " + std::string(op));
    }
    proto.cls = info->cls;
    proto.cmp = info->cmp;
    proto.negated = info->negated;
    if (!block.value().is_object())
      return Syntax("the body of condition " + std::string(op) + " must be an object");
    const bj::object& keys = block.value().get_object();
    if (keys.empty()) return Syntax("condition " + std::string(op) + " names no key");
    for (const auto& entry : keys) {
      std::string_view key = entry.key();
      if (key.find(':') == std::string_view::npos) return Malformed(std::string(kVendorMessage));
      Condition c = proto;
      c.key = std::string(key);
      const bj::value& values = entry.value();
      auto add = [&](const bj::value& one) -> Status {
        ARCA_ASSIGN_OR_RETURN(CondValue v, CompileConditionValue(c, op, one, variables));
        if (v.text.has_vars) st->uses_variables = true;
        c.values.push_back(std::move(v));
        return OkStatus();
      };
      if (values.is_array()) {
        if (values.get_array().empty())
          return Syntax("condition key " + std::string(key) + " has no values");
        for (const bj::value& one : values.get_array()) ARCA_RETURN_IF_ERROR(add(one));
      } else {
        ARCA_RETURN_IF_ERROR(add(values));
      }
      st->conditions.push_back(std::move(c));
    }
  }
  return OkStatus();
}

Status CompileStatement(const bj::value& json, PolicyKind kind, bool variables, Statement* st) {
  if (!json.is_object()) return Syntax("each statement must be an object");
  const bj::object& o = json.get_object();
  const bj::value* action = nullptr;
  const bj::value* not_action = nullptr;
  const bj::value* resource = nullptr;
  const bj::value* not_resource = nullptr;
  const bj::value* principal = nullptr;
  const bj::value* not_principal = nullptr;
  const bj::value* condition = nullptr;
  const bj::value* effect = nullptr;
  for (const auto& member : o) {
    std::string_view name = member.key();
    const bj::value* v = &member.value();
    if (name == "Sid") {
      if (!v->is_string()) return Syntax("Sid must be a string");
      st->sid = std::string(v->get_string());
    } else if (name == "Effect") {
      effect = v;
    } else if (name == "Action") {
      action = v;
    } else if (name == "NotAction") {
      not_action = v;
    } else if (name == "Resource") {
      resource = v;
    } else if (name == "NotResource") {
      not_resource = v;
    } else if (name == "Principal") {
      principal = v;
    } else if (name == "NotPrincipal") {
      not_principal = v;
    } else if (name == "Condition") {
      condition = v;
    } else {
      return Syntax("Unknown field " + std::string(name));
    }
  }

  // Effect.
  if (effect == nullptr) return Syntax("Missing required field Effect");
  if (!effect->is_string()) return Syntax("Effect must be a string");
  std::string_view effect_text = effect->get_string();
  if (effect_text == "Allow") {
    st->allow = true;
  } else if (effect_text == "Deny") {
    st->allow = false;
  } else if (IEqual(effect_text, "Allow") || IEqual(effect_text, "Deny")) {
    return Legacy("Effect is case-sensitive: " + std::string(effect_text));
  } else {
    return Syntax("Invalid effect: " + std::string(effect_text));
  }

  // Principal / NotPrincipal.
  if (principal != nullptr && not_principal != nullptr)
    return Syntax("both Principal and NotPrincipal");
  if (kind == PolicyKind::kIdentity) {
    if (principal != nullptr || not_principal != nullptr) {
      return Malformed("Policy document should not specify a principal.");
    }
  } else {
    if (principal == nullptr && not_principal == nullptr)
      return Malformed("Missing required field Principal");
    if (not_principal != nullptr && kind == PolicyKind::kTrust) {
      return Syntax("NotPrincipal is not allowed in a trust policy");
    }
    st->principal_mode =
        principal != nullptr ? PrincipalMode::kPrincipal : PrincipalMode::kNotPrincipal;
    ARCA_RETURN_IF_ERROR(
        CompilePrincipal(principal != nullptr ? *principal : *not_principal, &st->principals));
  }

  // Action / NotAction.
  if (action != nullptr && not_action != nullptr) return Syntax("both Action and NotAction");
  std::vector<std::string_view> items;
  if (action == nullptr && not_action == nullptr)
    return Malformed("Policy statement must contain actions.");
  st->not_action = not_action != nullptr;
  if (!StringOrList(action != nullptr ? *action : *not_action, &items)) {
    return Syntax("Action must be a string or a list of strings");
  }
  if (items.empty()) return Malformed("Policy statement must contain actions.");
  for (std::string_view a : items) {
    ARCA_ASSIGN_OR_RETURN(Glob g, CompileAction(a));
    st->actions.push_back(std::move(g));
  }

  // Resource / NotResource.
  if (resource != nullptr && not_resource != nullptr)
    return Syntax("both Resource and NotResource");
  if (resource == nullptr && not_resource == nullptr) {
    if (kind != PolicyKind::kTrust) return Malformed("Policy statement must contain resources.");
  } else {
    st->has_resource = true;
    st->not_resource = not_resource != nullptr;
    if (!StringOrList(resource != nullptr ? *resource : *not_resource, &items)) {
      return Syntax("Resource must be a string or a list of strings");
    }
    if (items.empty()) return Malformed("Policy statement must contain resources.");
    for (std::string_view r : items) {
      ARCA_RETURN_IF_ERROR(CheckResourceFormat(r));
      Template t = CompileTemplate(r, variables);
      if (t.has_vars) st->uses_variables = true;
      st->resources.push_back(std::move(t));
    }
  }

  if (condition != nullptr) ARCA_RETURN_IF_ERROR(CompileConditions(*condition, variables, st));
  return OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Evaluating.

struct EvalContext {
  std::string_view action;
  std::string_view resource;
  KeySets keys;
};

bool ActionMatches(const Statement& st, std::string_view action) {
  bool any = std::any_of(st.actions.begin(), st.actions.end(),
                         [&](const Glob& g) { return g.Matches(action); });
  return st.not_action ? !any : any;
}

bool ResourceMatches(const Statement& st, const EvalContext& ctx) {
  if (!st.has_resource) return true;
  bool any = std::any_of(st.resources.begin(), st.resources.end(), [&](const Template& t) {
    return TemplateLike(t, ctx.resource, ctx.keys);
  });
  return st.not_resource ? !any : any;
}

Grant MatchPrincipal(const Statement& st, const Principal& p) {
  if (st.principal_mode == PrincipalMode::kPrincipal) {
    Grant best = Grant::kNone;
    for (const PrincipalEntry& e : st.principals) {
      switch (e.kind) {
        case PrincipalEntry::Kind::kEveryone:
          return Grant::kDirect;
        case PrincipalEntry::Kind::kAccount:
          if (!p.account.empty() && e.value == p.account) {
            if (p.is_root) return Grant::kDirect;  // the account itself
            best = Grant::kDelegated;
          }
          break;
        case PrincipalEntry::Kind::kId:
          for (const PrincipalId& id : p.ids) {
            if (IdMatches(e, id)) return Grant::kDirect;
          }
          break;
      }
    }
    return best;
  }
  // NotPrincipal: the caller is left out only when each of its identities is listed.
  if (p.account.empty() && p.ids.empty()) return Grant::kDirect;
  auto listed = [&](auto&& matches) {
    return std::any_of(st.principals.begin(), st.principals.end(), matches);
  };
  if (!p.account.empty() && !listed([&](const PrincipalEntry& e) {
        return e.kind == PrincipalEntry::Kind::kEveryone ||
               (e.kind == PrincipalEntry::Kind::kAccount && e.value == p.account);
      })) {
    return Grant::kDirect;
  }
  for (const PrincipalId& id : p.ids) {
    if (!listed([&](const PrincipalEntry& e) { return IdMatches(e, id); })) return Grant::kDirect;
  }
  return Grant::kNone;
}

struct ScanResult {
  bool deny = false;
  Grant allow = Grant::kNone;
};

// Every statement of one policy; `principal` is null for identity policies (no Principal element).
ScanResult Scan(const CompiledPolicy& policy, const EvalContext& ctx, const Principal* principal) {
  ScanResult out;
  for (const Statement& st : policy.statements) {
    if (st.allow && out.allow == Grant::kDirect) continue;  // only a Deny could change the outcome
    if (!ActionMatches(st, ctx.action) || !ResourceMatches(st, ctx)) continue;
    Grant grant = Grant::kDirect;
    if (st.principal_mode != PrincipalMode::kNone) {
      if (principal == nullptr) continue;
      grant = MatchPrincipal(st, *principal);
      if (grant == Grant::kNone) continue;
    }
    bool conditions_hold =
        std::all_of(st.conditions.begin(), st.conditions.end(),
                    [&](const Condition& c) { return ConditionHolds(c, ctx.keys); });
    if (!conditions_hold) continue;
    if (!st.allow) {
      out.deny = true;
      return out;
    }
    out.allow = std::max(out.allow, grant);
  }
  return out;
}

}  // namespace
}  // namespace policy_internal

Result<std::shared_ptr<const CompiledPolicy>> CompilePolicy(std::string_view document,
                                                            PolicyKind kind) {
  using namespace policy_internal;  // NOLINT(google-build-using-namespace)
  auto parsed = json::Parse(document);
  if (!parsed.ok()) return Syntax(parsed.error().message());
  if (!parsed->is_object()) return Syntax("the policy must be a JSON object");
  const bj::object& root = parsed->get_object();
  auto policy = std::make_shared<CompiledPolicy>();
  policy->kind = kind;
  const bj::value* statements = nullptr;
  for (const auto& member : root) {
    std::string_view name = member.key();
    const bj::value& v = member.value();
    if (name == "Version") {
      if (!v.is_string()) return Syntax("Version must be a string");
      if (v.get_string() == "2012-10-17") {
        policy->variables = true;
      } else if (v.get_string() != "2008-10-17") {
        return Syntax("Invalid Version " + std::string(v.get_string()));
      }
    } else if (name == "Id") {
      if (!v.is_string()) return Syntax("Id must be a string");
    } else if (name == "Statement") {
      statements = &v;
    } else {
      return Syntax("Unknown field " + std::string(name));
    }
  }
  if (statements == nullptr) return Syntax("Missing required field Statement");
  if (statements->is_array() && statements->get_array().empty())
    return Syntax("Statement is empty");
  if (!statements->is_array() && !statements->is_object())
    return Syntax("Statement must be an object or a list");

  auto add = [&](const bj::value& json_statement) -> Status {
    Statement st;
    ARCA_RETURN_IF_ERROR(CompileStatement(json_statement, kind, policy->variables, &st));
    if (!st.sid.empty()) {
      for (const Statement& other : policy->statements) {
        if (other.sid == st.sid)
          return Malformed("Statement IDs (SID) in a single policy must be unique.");
      }
    }
    policy->statements.push_back(std::move(st));
    return OkStatus();
  };
  if (statements->is_object()) {
    ARCA_RETURN_IF_ERROR(add(*statements));
  } else {
    for (const bj::value& s : statements->get_array()) ARCA_RETURN_IF_ERROR(add(s));
  }
  return std::shared_ptr<const CompiledPolicy>(std::move(policy));
}

EvalResult Evaluate(const EvalRequest& request) {
  using policy_internal::Grant;
  EvalResult out;  // the implicit deny
  if (request.principal == nullptr) return out;
  const Principal& p = *request.principal;
  policy_internal::EvalContext ctx;
  ctx.action = request.action;
  ctx.resource = request.resource;
  ctx.keys.sets = {request.keys, request.more_keys[0], request.more_keys[1]};

  // The root user holds every permission of its own account without an identity policy.
  bool identity_allows = p.is_root;
  for (const CompiledPolicy* policy : request.identity_policies) {
    if (policy == nullptr) continue;
    policy_internal::ScanResult r = policy_internal::Scan(*policy, ctx, nullptr);
    if (r.deny) return {Decision::kExplicitDenyIdentity};
    if (r.allow != Grant::kNone) identity_allows = true;
  }
  Grant resource_grant = Grant::kNone;
  bool trust = false;
  if (request.resource_policy != nullptr) {
    policy_internal::ScanResult r = policy_internal::Scan(*request.resource_policy, ctx, &p);
    if (r.deny) return {Decision::kExplicitDenyResource};
    resource_grant = r.allow;
    trust = request.resource_policy->kind == PolicyKind::kTrust;
  }

  // A caller without an account (web identity) is judged by the resource's policy alone.
  bool same_account = p.account.empty() || request.resource_account.empty() ||
                      request.resource_account == p.account;
  bool allowed = false;
  if (same_account) {
    if (resource_grant == Grant::kDirect) {
      allowed = true;
    } else if (trust) {
      allowed = resource_grant == Grant::kDelegated && identity_allows;
    } else {
      allowed = identity_allows;
    }
  } else {
    allowed = identity_allows && resource_grant != Grant::kNone;
  }
  if (allowed) return {Decision::kAllow};
  // Name the policy type that failed to allow (AWS names one).
  if ((trust && resource_grant == Grant::kNone) || (!same_account && identity_allows)) {
    return {Decision::kImplicitDenyResource};
  }
  return {Decision::kImplicitDeny};
}

// Wording from the IAM User Guide, "Troubleshooting access denied error messages":
// "with an explicit deny in a TYPE policy" / "because no TYPE policy allows the ACTION action",
// TYPE being "identity-based" or "resource-based".
std::string DenialMessage(std::string_view principal_arn, std::string_view action,
                          std::string_view resource_display, Decision decision) {
  if (decision == Decision::kAllow) return {};
  std::string out = "User: ";
  out.append(principal_arn);
  out.append(" is not authorized to perform: ");
  out.append(action);
  if (!resource_display.empty() && resource_display != "*") {
    out.append(" on resource: ");
    out.append(resource_display);
  }
  switch (decision) {
    case Decision::kExplicitDenyIdentity:
      out.append(" with an explicit deny in an identity-based policy");
      break;
    case Decision::kExplicitDenyResource:
      out.append(" with an explicit deny in a resource-based policy");
      break;
    case Decision::kImplicitDenyResource:
      out.append(" because no resource-based policy allows the ");
      out.append(action);
      out.append(" action");
      break;
    case Decision::kImplicitDeny:
    case Decision::kAllow:
      out.append(" because no identity-based policy allows the ");
      out.append(action);
      out.append(" action");
      break;
  }
  return out;
}

PolicyCache::PolicyCache(std::size_t max_entries)
    : max_entries_(std::max<std::size_t>(max_entries, 1)) {}

Result<std::shared_ptr<const CompiledPolicy>> PolicyCache::Get(std::string_view document,
                                                               PolicyKind kind) {
  auto slot = static_cast<std::size_t>(kind);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = entries_[slot].find(document);
    if (it != entries_[slot].end()) return it->second;
  }
  ARCA_ASSIGN_OR_RETURN(std::shared_ptr<const CompiledPolicy> compiled,
                        CompilePolicy(document, kind));
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_[slot].find(document);
  if (it != entries_[slot].end()) return it->second;  // another thread compiled it meanwhile
  if (count_ >= max_entries_) {
    for (Map& m : entries_) {
      if (!m.empty()) {
        m.erase(m.begin());
        --count_;
        break;
      }
    }
  }
  entries_[slot].emplace(std::string(document), compiled);
  ++count_;
  return compiled;
}

std::size_t PolicyCache::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

Status EngineValidator::ValidateResourcePolicy(std::string_view document) const {
  auto compiled = CompilePolicy(document, PolicyKind::kResource);
  if (!compiled.ok()) return std::move(compiled).error();
  return OkStatus();
}

}  // namespace arca::iam
