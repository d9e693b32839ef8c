#include "operator/json_path.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/strings.h"

namespace arca::op {
namespace {

constexpr int kMaxDepth = 10000;  // encoding/json's nesting limit

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }


int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A strict JSON scanner over the original text: validates as it goes and reports value spans.
// Thread-safety: one instance per call; no shared state.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t p) { pos_ = p; }
  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  void SkipSpace() {
    while (!AtEnd() && IsJsonSpace(s_[pos_])) ++pos_;
  }

  // Skips one value (with its nested content); false on a syntax error.
  bool SkipValue() { return Value(0); }

  // Reads a string token at pos (which must be '"'); `out` (when given) receives it unescaped.
  bool String(std::string* out) {
    if (Peek() != '"') return false;
    ++pos_;
    while (!AtEnd()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out != nullptr) out->push_back(c);
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= s_.size()) return false;
      const char e = s_[pos_ + 1];
      pos_ += 2;
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00) {
            // A high surrogate: a low one must follow, else U+FFFD as Go decodes it.
            std::uint32_t low = 0;
            const std::size_t save = pos_;
            if (pos_ + 1 < s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
              pos_ += 2;
              if (Hex4(&low) && low >= 0xDC00 && low < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
              } else {
                pos_ = save;
                cp = 0xFFFD;
              }
            } else {
              cp = 0xFFFD;
            }
          } else if (cp >= 0xDC00 && cp < 0xE000) {
            cp = 0xFFFD;
          }
          if (out != nullptr) AppendUtf8(*out, cp);
          continue;
        }
        default:
          return false;
      }
      if (out != nullptr) out->push_back(plain);
    }
    return false;
  }

 private:
  bool Hex4(std::uint32_t* cp) {
    if (pos_ + 4 > s_.size()) return false;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const int h = HexValue(s_[pos_ + static_cast<std::size_t>(i)]);
      if (h < 0) return false;
      v = v * 16 + static_cast<std::uint32_t>(h);
    }
    pos_ += 4;
    *cp = v;
    return true;
  }

  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool Digits() {
    const std::size_t start = pos_;
    while (!AtEnd() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool Number() {
    if (Peek() == '-') ++pos_;
    if (Peek() == '0') {
      ++pos_;
    } else if (!Digits()) {
      return false;
    }
    if (Peek() == '.') {
      ++pos_;
      if (!Digits()) return false;
    }
    if (Peek() == 'e' || Peek() == 'E') {
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!Digits()) return false;
    }
    return true;
  }

  bool Value(int depth) {
    if (depth > kMaxDepth) return false;
    SkipSpace();
    switch (Peek()) {
      case '{': {
        ++pos_;
        SkipSpace();
        if (Peek() == '}') {
          ++pos_;
          return true;
        }
        for (;;) {
          SkipSpace();
          if (!String(nullptr)) return false;
          SkipSpace();
          if (Peek() != ':') return false;
          ++pos_;
          if (!Value(depth + 1)) return false;
          SkipSpace();
          if (Peek() == ',') {
            ++pos_;
            continue;
          }
          if (Peek() == '}') {
            ++pos_;
            return true;
          }
          return false;
        }
      }
      case '[': {
        ++pos_;
        SkipSpace();
        if (Peek() == ']') {
          ++pos_;
          return true;
        }
        for (;;) {
          if (!Value(depth + 1)) return false;
          SkipSpace();
          if (Peek() == ',') {
            ++pos_;
            continue;
          }
          if (Peek() == ']') {
            ++pos_;
            return true;
          }
          return false;
        }
      }
      case '"':
        return String(nullptr);
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// One component of a gjson path.
struct Component {
  std::string key;      // unescaped
  std::string pattern;  // with escapes kept, for wildcard matching
  bool wild = false;
};

std::optional<std::vector<Component>> ParsePath(std::string_view path) {
  std::vector<Component> out;
  Component cur;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\' && i + 1 < path.size()) {
      cur.key.push_back(path[i + 1]);
      cur.pattern.push_back('\\');
      cur.pattern.push_back(path[i + 1]);
      ++i;
      continue;
    }
    if (c == '.' || c == '|') {
      out.push_back(std::move(cur));
      cur = Component{};
      continue;
    }
    if (c == '*' || c == '?') cur.wild = true;
    cur.key.push_back(c);
    cur.pattern.push_back(c);
  }
  out.push_back(std::move(cur));
  for (const auto& comp : out) {
    // Modifiers, queries and multipaths are not supported.
    if (comp.pattern.starts_with("@") || comp.pattern.starts_with("#(") ||
        comp.pattern.starts_with("[") || comp.pattern.starts_with("{")) {
      return std::nullopt;
    }
  }
  return out;
}

// gjson's wildcard match: '*' any run, '?' one character, '\' escapes.
bool WildMatch(std::string_view str, std::string_view pattern) {
  std::size_t s = 0;
  std::size_t p = 0;
  std::size_t star_p = std::string_view::npos;
  std::size_t star_s = 0;
  while (s < str.size()) {
    if (p < pattern.size()) {
      const char pc = pattern[p];
      if (pc == '*') {
        star_p = p++;
        star_s = s;
        continue;
      }
      if (pc == '?') {
        ++p;
        ++s;
        continue;
      }
      char lit = pc;
      std::size_t width = 1;
      if (pc == '\\' && p + 1 < pattern.size()) {
        lit = pattern[p + 1];
        width = 2;
      }
      if (lit == str[s]) {
        p += width;
        ++s;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    s = ++star_s;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The raw text at `components[i..]` below the value starting at scanner position; nullopt when absent.
std::optional<std::string> RawAt(std::string_view json, std::size_t value_pos,
                                 const std::vector<Component>& comps, std::size_t i) {
  Scanner sc(json);
  sc.set_pos(value_pos);
  sc.SkipSpace();
  const std::size_t start = sc.pos();
  if (i == comps.size()) {
    if (!sc.SkipValue()) return std::nullopt;
    return std::string(json.substr(start, sc.pos() - start));
  }
  const Component& comp = comps[i];
  if (sc.Peek() == '{') {
    sc.set_pos(start + 1);
    sc.SkipSpace();
    if (sc.Peek() == '}') return std::nullopt;
    for (;;) {
      sc.SkipSpace();
      std::string key;
      if (!sc.String(&key)) return std::nullopt;
      sc.SkipSpace();
      if (sc.Peek() != ':') return std::nullopt;
      sc.set_pos(sc.pos() + 1);
      sc.SkipSpace();
      const std::size_t member = sc.pos();
      const bool match = comp.wild ? WildMatch(key, comp.pattern) : key == comp.key;
      if (match) return RawAt(json, member, comps, i + 1);
      if (!sc.SkipValue()) return std::nullopt;
      sc.SkipSpace();
      if (sc.Peek() == ',') {
        sc.set_pos(sc.pos() + 1);
        continue;
      }
      return std::nullopt;
    }
  }
  if (sc.Peek() == '[') {
    std::vector<std::size_t> elements;
    sc.set_pos(start + 1);
    sc.SkipSpace();
    if (sc.Peek() != ']') {
      for (;;) {
        sc.SkipSpace();
        elements.push_back(sc.pos());
        if (!sc.SkipValue()) return std::nullopt;
        sc.SkipSpace();
        if (sc.Peek() == ',') {
          sc.set_pos(sc.pos() + 1);
          continue;
        }
        if (sc.Peek() != ']') return std::nullopt;
        break;
      }
    }
    if (comp.key == "#" && comp.pattern == "#") {
      if (i + 1 == comps.size()) return std::to_string(elements.size());
      std::string out = "[";
      bool first = true;
      for (std::size_t e : elements) {
        auto sub = RawAt(json, e, comps, i + 1);
        if (!sub) continue;
        if (!first) out.push_back(',');
        first = false;
        out += *sub;
      }
      out.push_back(']');
      return out;
    }
    if (!AllDigits(comp.key) || comp.key.size() > 9) return std::nullopt;
    const std::size_t index = static_cast<std::size_t>(std::strtoul(comp.key.c_str(), nullptr, 10));
    if (index >= elements.size()) return std::nullopt;
    return RawAt(json, elements[index], comps, i + 1);
  }
  return std::nullopt;
}

// gjson's Result.String() of a raw value.
std::string GjsonString(std::string_view raw) {
  if (raw.empty()) return "";
  switch (raw.front()) {
    case '"': {
      Scanner sc(raw);
      std::string out;
      if (!sc.String(&out)) return std::string(raw);
      return out;
    }
    case '{':
    case '[':
      return std::string(raw);
    case 't':
      return "true";
    case 'f':
      return "false";
    case 'n':
      return "";
    default:
      break;
  }
  std::string_view digits = raw;
  if (digits.starts_with('-')) digits.remove_prefix(1);
  if (AllDigits(digits)) return std::string(raw);
  const std::string copy(raw);
  const double d = std::strtod(copy.c_str(), nullptr);
  char buf[400];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  if (r.ec != std::errc()) return copy;
  return std::string(buf, r.ptr);
}

}  // namespace

std::optional<std::string> GjsonGet(std::string_view json, std::string_view path) {
  if (path.empty()) return std::nullopt;
  auto comps = ParsePath(path);
  if (!comps) return std::nullopt;
  auto raw = RawAt(json, 0, *comps, 0);
  if (!raw) return std::nullopt;
  return GjsonString(*raw);
}

std::optional<std::string> LookupProperty(std::string_view json, std::string_view property) {
  if (property.find('.') != std::string_view::npos) {
    std::string escaped;
    for (char c : property) {
      if (c == '.') escaped.push_back('\\');
      escaped.push_back(c);
    }
    if (auto v = GjsonGet(json, escaped)) return v;
  }
  return GjsonGet(json, property);
}

Result<std::vector<std::pair<std::string, std::string>>> JsonObjectMembers(std::string_view json) {
  std::vector<std::pair<std::string, std::string>> out;
  Scanner sc(json);
  auto bad = [&](std::string_view what) {
    return Error(Code::kInvalidParameter,
                 std::string(what) + " at byte " + std::to_string(sc.pos()) + " of the value");
  };
  sc.SkipSpace();
  if (sc.Peek() == 'n') {
    Scanner whole(json);
    if (!whole.SkipValue()) return bad("invalid JSON");
    whole.SkipSpace();
    if (!whole.AtEnd()) return bad("invalid JSON");
    return out;  // null unmarshals into an empty map
  }
  if (sc.Peek() != '{') return bad("not a JSON object");
  sc.set_pos(sc.pos() + 1);
  sc.SkipSpace();
  if (sc.Peek() == '}') {
    sc.set_pos(sc.pos() + 1);
  } else {
    for (;;) {
      sc.SkipSpace();
      std::string key;
      if (!sc.String(&key)) return bad("invalid JSON (expected a member name)");
      sc.SkipSpace();
      if (sc.Peek() != ':') return bad("invalid JSON (expected ':')");
      sc.set_pos(sc.pos() + 1);
      sc.SkipSpace();
      const std::size_t start = sc.pos();
      std::string value;
      if (sc.Peek() == '"') {
        if (!sc.String(&value)) return bad("invalid JSON string");
      } else {
        if (!sc.SkipValue()) return bad("invalid JSON value");
        const std::string_view raw = json.substr(start, sc.pos() - start);
        if (raw != "null") value = std::string(raw);
      }
      bool replaced = false;
      for (auto& [k, v] : out) {
        if (k == key) {
          v = std::move(value);
          replaced = true;
          break;
        }
      }
      if (!replaced) out.emplace_back(std::move(key), std::move(value));
      sc.SkipSpace();
      if (sc.Peek() == ',') {
        sc.set_pos(sc.pos() + 1);
        continue;
      }
      if (sc.Peek() == '}') {
        sc.set_pos(sc.pos() + 1);
        break;
      }
      return bad("invalid JSON (expected ',' or '}')");
    }
  }
  sc.SkipSpace();
  if (!sc.AtEnd()) return bad("invalid JSON (text after the object)");
  return out;
}

bool IsValidJson(std::string_view text) {
  Scanner sc(text);
  if (!sc.SkipValue()) return false;
  sc.SkipSpace();
  return sc.AtEnd();
}

}  // namespace arca::op
