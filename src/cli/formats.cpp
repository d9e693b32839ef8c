// Secrets as environment variables and files, and back (see formats.h).
//
// ------------------------------------------------------------------------------------------------
// How `arca export --format dotenv` quotes a value (docs/cli.md copies this).
//
// The file must read back byte for byte by two parsers whose rules differ:
// * python-dotenv (0.21 and 1.x; `dotenv_values()`, interpolation on, its default). Unquoted
//   values run to the end of the line and lose a " #comment" and trailing whitespace. In '...'
//   only \\ and \' are escapes; in "..." \\ \' \" \a \b \f \n \r \t \v are. Then ${NAME} and
//   ${NAME:-default} are expanded in EVERY value, single-quoted ones included, with no escape.
//   Its quoted-value patterns also run past a closing quote that follows a backslash ('a\' or
//   "a\\" followed later in the file by another quote).
// * docker compose (compose-go's dotenv package: `env_file:` and `--env-file`). Unquoted values
//   run to the end of the line and lose a " #comment" and trailing whitespace. '...' is literal
//   except that \' is a quote (a backslash before anything else stays, so "\\" stays two
//   backslashes, and a value cannot end in a backslash). "..." takes \a \b \f \n \r \t \v \\ \"
//   \$ and \0NNN escapes. Unquoted and "..." values then get $$ -> $ and $NAME / ${...}
//   interpolation; a '$' followed by anything but '$', '{', '_' or an ASCII letter (or U+212A /
//   U+017F, which Go's case folding matches to k / s) stays as it is.
//
// So each value gets the first of these forms that both parsers read back unchanged:
// 1. KEY=value    unquoted, when every character is one of A-Z a-z 0-9 _ . / : @ % + , = ^ ~ -
//                 (the empty value too: KEY=).
// 2. KEY='value'  a one-line value with no control character, no single quote, no "\\" pair, no
//                 trailing backslash and no ${...} that python-dotenv would expand.
// 3. KEY="value"  with \\ \" \n \r \t \a \b \f \v escapes (other characters as they are), when
//                 every '$' is followed by the end of the value or by a character other than
//                 '$', '{', '_' or a letter (so compose leaves it alone), and the value does not
//                 end in a backslash. The form for values with a single quote or a newline.
// 4. KEY='value'  as in 2, but single quotes written \' and newlines, tabs and other control
//                 characters as they are (carriage returns excepted: Python's text files turn
//                 them into newlines), and no backslash before a quote: values that hold "$NAME"
//                 together with a quote or a newline.
// 5. KEY=value    unquoted as it is, when it neither starts nor ends with whitespace or a quote,
//                 holds no newline, carriage return or '#' after whitespace, and its '$'s are as
//                 in 3: e.g. "C:\dir\" or "it's\" (which end in a backslash).
// A value none of these fit is refused (kInvalidParameter naming the variable, never the value):
// * a value containing ${NAME} or ${NAME:-default}: python-dotenv expands it whatever the
//   quoting, compose does in every form but 2 and 4;
// * a value where a '$' is followed by a letter, '_', '$' or '{' (compose would expand it
//   outside single quotes) that also contains a "\\" pair, a backslash before a quote, a
//   trailing backslash or a carriage return;
// * a value ending in a backslash (only form 5 can hold it) that also has whitespace at its
//   start or end, a newline, a carriage return, a '#' after whitespace, or a '$' before a name;
// * a NUL byte.
// Names must be [A-Za-z_][A-Za-z0-9_]* (EnvName makes one).
// ------------------------------------------------------------------------------------------------

#include "cli/formats.h"

#include <yaml-cpp/yaml.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <optional>
#include <set>

#include "core/json.h"
#include "core/strings.h"
#include "crypto/hash.h"

namespace arca::cli {

namespace {

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiAlnum(char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c); }
bool IsControl(char c) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}
// Python's str.isspace() for ASCII: the usual six plus the four separators \x1c-\x1f.
bool IsPySpace(char c) {
  auto u = static_cast<unsigned char>(c);
  return c == ' ' || (u >= 0x09 && u <= 0x0d) || (u >= 0x1c && u <= 0x1f);
}
bool IsHorizontalSpace(char c) { return IsPySpace(c) && c != '\n' && c != '\r'; }

Error Invalid(std::string message) { return Error(Code::kInvalidParameter, std::move(message)); }

bool IsEnvNameValid(std::string_view name) {
  if (name.empty() || IsAsciiDigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsAsciiAlnum(c) || c == '_'; });
}

// ---- dotenv output
// --------------------------------------------------------------------------------

// python-dotenv's ${NAME} / ${NAME:-default} (variables.py: \$\{([^}:]*)(?::-([^}]*))?\}).
bool HasDotenvExpansion(std::string_view v) {
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] != '$' || v[i + 1] != '{') continue;
    std::size_t j = i + 2;
    while (j < v.size() && v[j] != '}' && v[j] != ':') ++j;
    if (j >= v.size()) continue;
    if (v[j] == '}') return true;
    if (j + 1 < v.size() && v[j + 1] == '-' && v.find('}', j + 2) != std::string_view::npos)
      return true;
  }
  return false;
}

// Whether compose's template substitution leaves every '$' as it is (template.go's pattern only
// matches $$, $name and ${...}; name characters are [_a-z] case-insensitively, which in Go's
// Unicode folding also takes a few non-ASCII letters).
bool DollarsLiteralForCompose(std::string_view v) {
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] != '$') continue;
    std::string_view next = v.substr(i + 1);
    if (next[0] == '$' || next[0] == '{' || next[0] == '_' || IsAsciiAlpha(next[0]) ||
        next.starts_with("\u212A") ||
        next.starts_with("\u017F")) {  // KELVIN SIGN, LONG S fold to k, s
      return false;
    }
  }
  return true;
}

// Whether the UTF-8 text starts (or ends) with a character Python's str.isspace() or Go's
// unicode.IsSpace takes for whitespace.
bool IsUnicodeSpace(char32_t c) {
  return c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
         c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}
std::optional<char32_t> FirstCodePoint(std::string_view s) {
  if (s.empty()) return std::nullopt;
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  if (b(0) < 0x80) return b(0);
  std::size_t n = b(0) >= 0xf0 ? 4 : b(0) >= 0xe0 ? 3 : 2;
  if (s.size() < n) return std::nullopt;
  char32_t c = b(0) & (0x3f >> (n - 1));
  for (std::size_t i = 1; i < n; ++i) c = (c << 6) | (b(i) & 0x3f);
  return c;
}
std::optional<char32_t> LastCodePoint(std::string_view s) {
  std::size_t i = s.size();
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xc0) == 0x80) --i;
  if (i == 0) return std::nullopt;
  return FirstCodePoint(s.substr(i - 1));
}

bool PlainSafe(std::string_view v) {
  static constexpr std::string_view kExtra = "_./:@%+,=^~-";
  return std::all_of(v.begin(), v.end(), [](char c) {
    return IsAsciiAlnum(c) || kExtra.find(c) != std::string_view::npos;
  });
}

// Single quotes (a quote written \'): both parsers read \' as a quote and keep a backslash before
// anything else, but python-dotenv turns "\\" into one backslash and compose keeps both.
bool SingleQuoteSafe(std::string_view v) {
  if (v.find("\\\\") != std::string_view::npos || v.find("\\'") != std::string_view::npos ||
      v.find('\r') != std::string_view::npos) {
    return false;
  }
  if (!v.empty() && v.back() == '\\') return false;
  return !HasDotenvExpansion(v);
}

std::string SingleQuoted(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
  return out;
}

bool DoubleQuoteSafe(std::string_view v) {
  if (!v.empty() && v.back() == '\\') return false;
  return DollarsLiteralForCompose(v);  // also rules out "${", so python-dotenv expands nothing
}

bool BareSafe(std::string_view v) {
  auto edge_ok = [](std::optional<char32_t> c) {
    return c && *c > 0x20 && *c != 0x7f && *c != '\'' && *c != '"' && !IsUnicodeSpace(*c);
  };
  if (!edge_ok(FirstCodePoint(v)) || !edge_ok(LastCodePoint(v))) return false;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\r' || v[i] == '\n' || v[i] == '\0') return false;
    // A '#' after whitespace starts a comment (python-dotenv: any whitespace; compose: a space).
    if (v[i] == '#' && i > 0) {
      std::optional<char32_t> before = LastCodePoint(v.substr(0, i));
      if (!before || (*before < 0x80 && IsPySpace(static_cast<char>(*before))) ||
          IsUnicodeSpace(*before)) {
        return false;
      }
    }
  }
  return DollarsLiteralForCompose(v);
}

std::string DoubleQuoted(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\v':
        out += "\\v";
        break;
      default:
        out += c;
    }
  }
  out += '"';
  return out;
}

Result<std::string> DotenvValue(std::string_view name, std::string_view v) {
  if (v.find('\0') != std::string_view::npos) {
    return Invalid("the value of " + std::string(name) +
                   " contains a NUL byte, which no dotenv file can hold");
  }
  if (PlainSafe(v)) return std::string(v);
  bool single_ok = SingleQuoteSafe(v);
  bool has_control = std::any_of(v.begin(), v.end(), IsControl);
  if (single_ok && !has_control && v.find('\'') == std::string_view::npos) return SingleQuoted(v);
  if (DoubleQuoteSafe(v)) return DoubleQuoted(v);
  if (single_ok) return SingleQuoted(v);
  if (BareSafe(v)) return std::string(v);
  std::string why;
  if (HasDotenvExpansion(v)) {
    why = "it contains ${...}, which python-dotenv expands in every quoting style";
  } else if (DollarsLiteralForCompose(v)) {
    why =
        "it ends in a backslash (which rules out quotes) and has a newline, a carriage return, "
        "whitespace at an "
        "end or a '#' after whitespace (which rule out no quotes)";
  } else {
    why =
        "it contains '$' before a name (which docker compose expands outside single quotes) "
        "together "
        "with a double backslash, a backslash before a quote, a trailing backslash or a carriage "
        "return "
        "(which rule out single quotes)";
  }
  return Invalid(
      "the value of " + std::string(name) +
      " cannot be written so that both python-dotenv and docker compose read it back unchanged: " +
      why + "; use --format json or shell");
}

// ---- dotenv input (python-dotenv's parser.py)
// -----------------------------------------------------

// A cursor over the text that counts lines as python-dotenv does (\r\n, \n and \r each end one).
// Thread-safety: none; one parse owns it.
class DotenvReader {
 public:
  explicit DotenvReader(std::string_view text) : s_(text) {}

  bool AtEnd() const { return pos_ >= s_.size(); }
  char Peek() const { return AtEnd() ? '\0' : s_[pos_]; }
  int line() const { return line_; }

  void Advance(std::size_t n) {
    for (std::size_t i = 0; i < n && pos_ < s_.size(); ++i, ++pos_) {
      char c = s_[pos_];
      if (c == '\n') {
        ++line_;
      } else if (c == '\r' && !(pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n')) {
        ++line_;
      }
    }
  }
  void SkipWhile(bool (*pred)(char)) {
    std::size_t n = 0;
    while (pos_ + n < s_.size() && pred(s_[pos_ + n])) ++n;
    Advance(n);
  }
  std::string_view Rest() const { return s_.substr(pos_); }
  // The rest of the line (without its line break).
  std::string_view RestOfLine() const {
    std::size_t end = s_.find_first_of("\r\n", pos_);
    return s_.substr(pos_, end == std::string_view::npos ? std::string_view::npos : end - pos_);
  }
  void SkipRestOfLine() {
    Advance(RestOfLine().size());
    if (Peek() == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') {
      Advance(2);
    } else if (Peek() == '\r' || Peek() == '\n') {
      Advance(1);
    }
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

// '((?:\\'|[^'])*)' (and the same for "), with the regex's backtracking: the first bare quote
// closes; without one, the quote of the last \<quote> pair does. nullopt when neither exists.
std::optional<std::string_view> ReadQuoted(DotenvReader& r, char quote) {
  std::string_view rest = r.Rest();  // starts with the quote
  std::optional<std::size_t> last_escaped_quote;
  std::size_t i = 1;
  while (i < rest.size()) {
    if (rest[i] == '\\' && i + 1 < rest.size() && rest[i + 1] == quote) {
      last_escaped_quote = i + 1;
      i += 2;
      continue;
    }
    if (rest[i] == quote) break;
    ++i;
  }
  std::size_t close;
  if (i < rest.size()) {
    close = i;
  } else if (last_escaped_quote) {
    close = *last_escaped_quote;
  } else {
    return std::nullopt;
  }
  std::string_view content = rest.substr(1, close - 1);
  r.Advance(close + 1);
  return content;
}

std::string DecodeSingleQuoted(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size() && (v[i + 1] == '\\' || v[i + 1] == '\'')) {
      out += v[++i];
    } else {
      out += v[i];
    }
  }
  return out;
}

std::string DecodeDoubleQuoted(std::string_view v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char e = v[i + 1];
      char decoded = '\0';
      switch (e) {
        case '\\':
        case '\'':
        case '"':
          decoded = e;
          break;
        case 'a':
          decoded = '\a';
          break;
        case 'b':
          decoded = '\b';
          break;
        case 'f':
          decoded = '\f';
          break;
        case 'n':
          decoded = '\n';
          break;
        case 'r':
          decoded = '\r';
          break;
        case 't':
          decoded = '\t';
          break;
        case 'v':
          decoded = '\v';
          break;
        default:
          break;
      }
      if (decoded != '\0') {
        out += decoded;
        ++i;
        continue;
      }
    }
    out += v[i];
  }
  return out;
}

// Unquoted: the rest of the line, cut at the first whitespace run followed by '#', right-trimmed.
std::string UnquotedValue(std::string_view part) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (!IsPySpace(part[i])) continue;
    std::size_t j = i;
    while (j < part.size() && IsPySpace(part[j])) ++j;
    if (j < part.size() && part[j] == '#') {
      part = part.substr(0, i);
      break;
    }
    i = j - 1;
  }
  while (!part.empty() && IsPySpace(part.back())) part.remove_suffix(1);
  return std::string(part);
}

// python-dotenv's resolve_variables against the earlier entries only.
std::string Expand(std::string_view v, const Entries& earlier) {
  auto lookup = [&](std::string_view name) -> std::optional<std::string> {
    for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  };
  std::string out;
  std::size_t i = 0;
  while (i < v.size()) {
    if (v[i] == '$' && i + 1 < v.size() && v[i + 1] == '{') {
      std::size_t j = i + 2;
      while (j < v.size() && v[j] != '}' && v[j] != ':') ++j;
      std::optional<std::size_t> end;
      std::optional<std::string_view> def;
      if (j < v.size() && v[j] == '}') {
        end = j;
      } else if (j + 1 < v.size() && v[j] == ':' && v[j + 1] == '-') {
        std::size_t k = v.find('}', j + 2);
        if (k != std::string_view::npos) {
          end = k;
          def = v.substr(j + 2, k - j - 2);
        }
      }
      if (end) {
        std::string_view name = v.substr(i + 2, j - i - 2);
        std::optional<std::string> value = lookup(name);
        out += value ? *value : std::string(def.value_or(""));
        i = *end + 1;
        continue;
      }
    }
    out += v[i++];
  }
  return out;
}

// ---- YAML helpers
// ---------------------------------------------------------------------------------

// Whether a string may be written as a plain YAML scalar without being read back as something else
// (a YAML 1.1 bool, null, a number, ...). Anything else is double-quoted.
bool PlainYamlOk(std::string_view s) {
  if (s.empty() || !IsAsciiAlpha(s[0])) return false;
  for (char c : s) {
    if (!(IsAsciiAlnum(c) || c == '.' || c == '_' || c == '/' || c == '-')) return false;
  }
  static const std::set<std::string, std::less<>> kReserved = {"y",     "n",  "yes", "no",  "true",
                                                               "false", "on", "off", "null"};
  std::string lower;
  for (char c : s) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return kReserved.count(lower) == 0;
}

void EmitString(YAML::Emitter& e, const std::string& s) {
  if (!PlainYamlOk(s)) e << YAML::DoubleQuoted;
  e << s;
}

bool IsDns1123Label(std::string_view s, std::size_t max = 63) {
  if (s.empty() || s.size() > max) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || IsAsciiDigit(c); };
  if (!ok(s.front()) || !ok(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return ok(c) || c == '-'; });
}

bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (std::string_view label : SplitOn(s, '.')) {
    if (!IsDns1123Label(label, 253)) return false;
  }
  return true;
}

// A label value / the name part of a qualified name: ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9],
// <= 63.
bool IsK8sNamePart(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!IsAsciiAlnum(s.front()) || !IsAsciiAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A label or annotation key: [prefix/]name, the prefix a DNS subdomain.
bool IsQualifiedName(std::string_view s) {
  std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return IsK8sNamePart(s);
  return IsDns1123Subdomain(s.substr(0, slash)) && IsK8sNamePart(s.substr(slash + 1));
}

bool IsSecretKey(std::string_view s) {
  if (s.empty() || s.size() > 253 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

std::string ScalarText(const YAML::Node& n) {
  if (!n || n.IsNull()) return "";
  return n.Scalar();
}

std::string JsonText(const boost::json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return boost::json::serialize(v);
}

// One member or element of `v` by a path piece; nullptr when absent.
const boost::json::value* Step(const boost::json::value& v, std::string_view piece) {
  if (v.is_object()) {
    const auto& o = v.get_object();
    auto it = o.find(piece);
    return it == o.end() ? nullptr : &it->value();
  }
  if (v.is_array() && !piece.empty() && std::all_of(piece.begin(), piece.end(), IsAsciiDigit) &&
      piece.size() < 10) {
    std::size_t index = std::stoul(std::string(piece));
    const auto& a = v.get_array();
    return index < a.size() ? &a[index] : nullptr;
  }
  return nullptr;
}

}  // namespace

// ---- names
// ----------------------------------------------------------------------------------------

std::string EnvName(std::string_view key, bool keep_case) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    auto u = static_cast<unsigned char>(c);
    if (IsAsciiAlnum(c) || c == '_') {
      out += (!keep_case && c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    } else if (u >= 0x80 && u < 0xc0 && i > 0 && static_cast<unsigned char>(key[i - 1]) >= 0x80) {
      // A UTF-8 continuation byte: its character already became one '_'.
    } else {
      out += '_';
    }
  }
  if (out.empty() || IsAsciiDigit(out[0])) out.insert(out.begin(), '_');
  return out;
}

std::string K8sName(std::string_view secret_name) {
  std::string mapped;
  for (char c : secret_name) {
    char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    mapped += ((l >= 'a' && l <= 'z') || IsAsciiDigit(l) || l == '.') ? l : '-';
  }
  // Collapse each run of separators into one: '.' when the run is a single dot, else '-'.
  std::string out;
  for (std::size_t i = 0; i < mapped.size();) {
    if (mapped[i] != '-' && mapped[i] != '.') {
      out += mapped[i++];
      continue;
    }
    std::size_t j = i;
    while (j < mapped.size() && (mapped[j] == '-' || mapped[j] == '.')) ++j;
    out += (j - i == 1 && mapped[i] == '.') ? '.' : '-';
    i = j;
  }
  if (out.size() > 253) out.resize(253);
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || IsAsciiDigit(c); };
  std::size_t b = 0;
  while (b < out.size() && !alnum(out[b])) ++b;
  std::size_t e = out.size();
  while (e > b && !alnum(out[e - 1])) --e;
  out = out.substr(b, e - b);
  return out.empty() ? "secret" : out;
}

// ---- entries
// --------------------------------------------------------------------------------------

Entries EntriesFromSecret(std::string_view secret_string, std::string_view whole_name,
                          bool keep_case, bool raw_keys) {
  Entries out;
  auto parsed = json::Parse(secret_string);
  if (parsed.ok() && parsed->is_object()) {
    for (const auto& member : parsed->get_object()) {
      std::string_view key = member.key();
      out.emplace_back(raw_keys ? std::string(key) : EnvName(key, keep_case),
                       JsonText(member.value()));
    }
    return out;
  }
  out.emplace_back(raw_keys ? std::string(whole_name) : EnvName(whole_name, keep_case),
                   std::string(secret_string));
  return out;
}

Result<std::string> FormatDotenv(const Entries& entries) {
  std::string out;
  for (const auto& [name, value] : entries) {
    if (!IsEnvNameValid(name)) {
      return Invalid("'" + name +
                     "' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    ARCA_ASSIGN_OR_RETURN(std::string quoted, DotenvValue(name, value));
    out += name;
    out += '=';
    out += quoted;
    out += '\n';
  }
  return out;
}

Result<Entries> ParseDotenv(std::string_view text, bool expand) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  DotenvReader r(text);
  Entries out;
  auto set = [&out](std::string key, std::string value) {
    for (auto& e : out) {
      if (e.first == key) {
        e.second = std::move(value);
        return;
      }
    }
    out.emplace_back(std::move(key), std::move(value));
  };
  while (true) {
    r.SkipWhile(IsPySpace);
    if (r.AtEnd()) break;
    int line = r.line();
    auto malformed = [line](std::string_view why) {
      return Invalid("dotenv line " + std::to_string(line) + ": " + std::string(why));
    };
    if (r.Rest().starts_with("export")) {
      std::string_view rest = r.Rest();
      if (rest.size() > 6 && IsHorizontalSpace(rest[6])) {
        r.Advance(6);
        r.SkipWhile(IsHorizontalSpace);
      }
    }
    std::optional<std::string> key;
    if (r.Peek() == '#') {
      // A comment line.
    } else if (r.Peek() == '\'') {
      std::string_view rest = r.Rest();
      std::size_t close = rest.find('\'', 1);
      if (close == std::string_view::npos || close == 1)
        return malformed("unterminated or empty quoted name");
      key = std::string(rest.substr(1, close - 1));
      r.Advance(close + 1);
    } else {
      std::string_view rest = r.Rest();
      std::size_t n = 0;
      while (n < rest.size() && rest[n] != '=' && rest[n] != '#' && !IsPySpace(rest[n])) ++n;
      if (n == 0) return malformed("expected a variable name");
      key = std::string(rest.substr(0, n));
      r.Advance(n);
    }
    r.SkipWhile(IsHorizontalSpace);
    std::optional<std::string> value;
    if (key && r.Peek() == '=') {
      r.Advance(1);
      r.SkipWhile(IsHorizontalSpace);
      char c = r.Peek();
      if (c == '\'' || c == '"') {
        std::optional<std::string_view> content = ReadQuoted(r, c);
        if (!content)
          return malformed(std::string("unterminated ") + (c == '"' ? "double" : "single") +
                           "-quoted value");
        value = c == '"' ? DecodeDoubleQuoted(*content) : DecodeSingleQuoted(*content);
      } else if (r.AtEnd() || c == '\n' || c == '\r') {
        value = "";
      } else {
        std::string_view part = r.RestOfLine();
        value = UnquotedValue(part);
        r.Advance(part.size());
      }
    }
    // An optional comment, then the end of the line.
    std::string_view rest = r.Rest();
    std::size_t n = 0;
    while (n < rest.size() && IsHorizontalSpace(rest[n])) ++n;
    if (n < rest.size() && rest[n] == '#') {
      r.Advance(r.RestOfLine().size());
    } else {
      r.Advance(n);
    }
    if (!r.AtEnd() && r.Peek() != '\n' && r.Peek() != '\r') {
      return malformed("unexpected characters after the value");
    }
    r.SkipRestOfLine();
    if (key && value) {
      set(std::move(*key), expand ? Expand(*value, out) : std::move(*value));
    }
  }
  return out;
}

Result<std::string> FormatShell(const Entries& entries) {
  std::string out;
  for (const auto& [name, value] : entries) {
    if (!IsEnvNameValid(name)) {
      return Invalid("'" + name +
                     "' is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)");
    }
    if (value.find('\0') != std::string::npos) {
      return Invalid("the value of " + name +
                     " contains a NUL byte, which no environment variable can hold");
    }
    out += "export " + name + "='";
    for (char c : value) {
      if (c == '\'') {
        out += "'\\''";
      } else {
        out += c;
      }
    }
    out += "'\n";
  }
  return out;
}

std::string FormatJsonObject(const Entries& entries) {
  boost::json::object o;
  for (const auto& [name, value] : entries) o[name] = value;
  return boost::json::serialize(o) + "\n";
}

// ---- Kubernetes
// -----------------------------------------------------------------------------------

Result<std::string> FormatK8sSecret(const Entries& data, const K8sSecretMeta& meta) {
  if (!IsDns1123Subdomain(meta.name)) {
    return Invalid("'" + meta.name +
                   "' is not a valid Kubernetes Secret name (a DNS-1123 subdomain: lower-case "
                   "letters, digits, '-' and '.')");
  }
  if (!meta.namespace_.empty() && !IsDns1123Label(meta.namespace_)) {
    return Invalid("'" + meta.namespace_ +
                   "' is not a valid Kubernetes namespace (a DNS-1123 label)");
  }
  for (const auto& [k, v] : meta.labels) {
    if (!IsQualifiedName(k)) return Invalid("'" + k + "' is not a valid Kubernetes label key");
    if (!v.empty() && !IsK8sNamePart(v)) {
      return Invalid(
          "the label " + k + " has an invalid value '" + v +
          "' (at most 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric)");
    }
  }
  for (const auto& [k, v] : meta.annotations) {
    if (!IsQualifiedName(k)) return Invalid("'" + k + "' is not a valid Kubernetes annotation key");
  }
  for (const auto& [k, v] : data) {
    if (!IsSecretKey(k)) {
      return Invalid("'" + k +
                     "' is not a valid Kubernetes Secret key (letters, digits, '-', '_' and '.')");
    }
  }
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "apiVersion" << YAML::Value << "v1";
  e << YAML::Key << "kind" << YAML::Value << "Secret";
  e << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  e << YAML::Key << "name" << YAML::Value;
  EmitString(e, meta.name);
  if (!meta.namespace_.empty()) {
    e << YAML::Key << "namespace" << YAML::Value;
    EmitString(e, meta.namespace_);
  }
  auto emit_map = [&e](const char* name,
                       const std::vector<std::pair<std::string, std::string>>& kv) {
    if (kv.empty()) return;
    e << YAML::Key << name << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : kv) {
      e << YAML::Key;
      EmitString(e, k);
      e << YAML::Value;
      EmitString(e, v);
    }
    e << YAML::EndMap;
  };
  emit_map("labels", meta.labels);
  emit_map("annotations", meta.annotations);
  e << YAML::EndMap;
  e << YAML::Key << "type" << YAML::Value << "Opaque";
  e << YAML::Key << "data" << YAML::Value;
  if (data.empty()) e << YAML::Flow;
  e << YAML::BeginMap;
  for (const auto& [k, v] : data) {
    e << YAML::Key;
    EmitString(e, k);
    e << YAML::Value;
    EmitString(e, crypto::Base64Encode(v));
  }
  e << YAML::EndMap;
  e << YAML::EndMap;
  if (!e.good())
    return Error(Code::kInternal, "could not write the Secret manifest: " + e.GetLastError());
  return std::string(e.c_str()) + "\n";
}

namespace {

Status AddSecretDocument(const YAML::Node& doc, const std::string& where,
                         std::vector<K8sSecret>* out) {
  if (!doc.IsMap()) return Invalid(where + " is not a mapping");
  std::string kind = ScalarText(doc["kind"]);
  std::string api_version = ScalarText(doc["apiVersion"]);
  if (kind == "List" || kind.ends_with("List")) {
    const YAML::Node items = doc["items"];
    if (items && !items.IsNull()) {
      if (!items.IsSequence()) return Invalid(where + ": items is not a list");
      for (std::size_t i = 0; i < items.size(); ++i) {
        ARCA_RETURN_IF_ERROR(
            AddSecretDocument(items[i], where + " item " + std::to_string(i + 1), out));
      }
    }
    return OkStatus();
  }
  if (kind != "Secret" || api_version != "v1") {
    return Invalid(where + " is a " + (api_version.empty() ? "?" : api_version) + " " +
                   (kind.empty() ? "?" : kind) + ", not a v1 Secret");
  }
  K8sSecret secret;
  const YAML::Node metadata = doc["metadata"];
  if (metadata && metadata.IsMap()) {
    secret.name = ScalarText(metadata["name"]);
    secret.namespace_ = ScalarText(metadata["namespace"]);
  }
  std::string label = secret.name.empty() ? where : "Secret " + secret.name;
  auto put = [&secret](std::string key, std::string value) {
    for (auto& e : secret.data) {
      if (e.first == key) {
        e.second = std::move(value);
        return;
      }
    }
    secret.data.emplace_back(std::move(key), std::move(value));
  };
  for (const char* field : {"data", "stringData"}) {
    const YAML::Node m = doc[field];
    if (!m || m.IsNull()) continue;
    if (!m.IsMap()) return Invalid(label + ": " + field + " is not a mapping");
    for (const auto& kv : m) {
      if (!kv.first.IsScalar()) return Invalid(label + ": a key of " + field + " is not a string");
      std::string key = kv.first.Scalar();
      if (kv.second && !kv.second.IsNull() && !kv.second.IsScalar()) {
        return Invalid(label + ": " + field + "." + key + " is not a string");
      }
      std::string text = ScalarText(kv.second);
      if (std::string(field) == "data") {
        std::string compact;
        for (char c : text) {
          if (!IsAsciiSpace(c)) compact += c;
        }
        std::optional<std::string> decoded = crypto::Base64Decode(compact);
        if (!decoded) return Invalid(label + ": data." + key + " is not valid base64");
        put(std::move(key), std::move(*decoded));
      } else {
        put(std::move(key), std::move(text));
      }
    }
  }
  out->push_back(std::move(secret));
  return OkStatus();
}

}  // namespace

Result<std::vector<K8sSecret>> ParseK8sSecrets(std::string_view yaml) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Invalid("the manifest is not valid YAML: " + e.msg + " (line " +
                   std::to_string(e.mark.line + 1) + ")");
  } catch (const std::exception& e) {
    return Invalid(std::string("the manifest is not valid YAML: ") + e.what());
  }
  std::vector<K8sSecret> out;
  try {
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (!docs[i] || docs[i].IsNull()) continue;
      ARCA_RETURN_IF_ERROR(AddSecretDocument(docs[i], "document " + std::to_string(i + 1), &out));
    }
  } catch (const YAML::Exception& e) {
    return Invalid("the manifest is not a valid Secret: " + e.msg);
  }
  return out;
}

// ---- arca run --map
// -------------------------------------------------------------------------------

namespace {

// Members of `node` other than `known` (and ESO's options at their defaults) are refused, so that a
// misspelt field is an error rather than silently ignored.
Status CheckKeys(const YAML::Node& node, std::initializer_list<std::string_view> known,
                 const std::string& where) {
  static const std::vector<std::pair<std::string_view, std::string_view>> kEsoDefaults = {
      {"conversionStrategy", "Default"}, {"decodingStrategy", "None"}, {"metadataPolicy", "None"}};
  for (const auto& kv : node) {
    std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    bool eso_default = false;
    for (const auto& [k, v] : kEsoDefaults) {
      if (key == k && kv.second.IsScalar() && kv.second.Scalar() == v) eso_default = true;
    }
    if (eso_default) continue;
    return Invalid(where + ": " + key + " is not supported");
  }
  return OkStatus();
}

Result<std::string> RequiredString(const YAML::Node& node, const char* key,
                                   const std::string& where) {
  const YAML::Node v = node[key];
  if (!v || v.IsNull() || !v.IsScalar() || v.Scalar().empty())
    return Invalid(where + ": " + key + " is required");
  return v.Scalar();
}

}  // namespace

Result<std::vector<MapEntry>> ParseMapFile(std::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Invalid("the map file is not valid YAML: " + e.msg + " (line " +
                   std::to_string(e.mark.line + 1) + ")");
  } catch (const std::exception& e) {
    return Invalid(std::string("the map file is not valid YAML: ") + e.what());
  }
  std::vector<MapEntry> out;
  try {
    if (!root || root.IsNull()) return out;
    if (!root.IsMap()) return Invalid("the map file must be a mapping with data and/or dataFrom");
    // A whole ExternalSecret is accepted too: its spec holds the lists.
    if (ScalarText(root["kind"]) == "ExternalSecret" && root["spec"].IsMap()) root = root["spec"];
    for (const auto& kv : root) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "";
      static const std::set<std::string, std::less<>> kIgnored = {
          "apiVersion", "kind", "metadata", "target", "refreshInterval", "secretStoreRef"};
      if (key != "data" && key != "dataFrom" && kIgnored.count(key) == 0) {
        return Invalid("the map file: " + key + " is not supported (data and dataFrom are)");
      }
    }
    const YAML::Node data = root["data"];
    if (data && !data.IsNull()) {
      if (!data.IsSequence()) return Invalid("the map file: data must be a list");
      for (std::size_t i = 0; i < data.size(); ++i) {
        const YAML::Node item = data[i];
        std::string where = "data[" + std::to_string(i) + "]";
        if (!item.IsMap()) return Invalid(where + " must be a mapping");
        ARCA_RETURN_IF_ERROR(CheckKeys(item, {"secretKey", "remoteRef"}, where));
        MapEntry e;
        ARCA_ASSIGN_OR_RETURN(e.env_name, RequiredString(item, "secretKey", where));
        const YAML::Node ref = item["remoteRef"];
        if (!ref || !ref.IsMap()) return Invalid(where + ": remoteRef is required");
        ARCA_RETURN_IF_ERROR(CheckKeys(ref, {"key", "property", "version"}, where + ".remoteRef"));
        ARCA_ASSIGN_OR_RETURN(e.secret, RequiredString(ref, "key", where + ".remoteRef"));
        e.property = ScalarText(ref["property"]);
        e.version_stage = ScalarText(ref["version"]);
        if (e.version_stage.empty()) e.version_stage = "AWSCURRENT";
        out.push_back(std::move(e));
      }
    }
    const YAML::Node data_from = root["dataFrom"];
    if (data_from && !data_from.IsNull()) {
      if (!data_from.IsSequence()) return Invalid("the map file: dataFrom must be a list");
      for (std::size_t i = 0; i < data_from.size(); ++i) {
        const YAML::Node item = data_from[i];
        std::string where = "dataFrom[" + std::to_string(i) + "]";
        if (!item.IsMap()) return Invalid(where + " must be a mapping");
        if (item["rewrite"]) return Invalid(where + ": rewrite is not supported");
        if (item["find"]) return Invalid(where + ": find is not supported (use extract)");
        ARCA_RETURN_IF_ERROR(CheckKeys(item, {"extract"}, where));
        const YAML::Node extract = item["extract"];
        if (!extract || !extract.IsMap()) return Invalid(where + ": extract is required");
        ARCA_RETURN_IF_ERROR(CheckKeys(extract, {"key", "version"}, where + ".extract"));
        MapEntry e;
        ARCA_ASSIGN_OR_RETURN(e.secret, RequiredString(extract, "key", where + ".extract"));
        e.version_stage = ScalarText(extract["version"]);
        if (e.version_stage.empty()) e.version_stage = "AWSCURRENT";
        out.push_back(std::move(e));
      }
    }
  } catch (const YAML::Exception& e) {
    return Invalid("the map file is malformed: " + e.msg);
  }
  return out;
}

Result<std::string> ExtractProperty(std::string_view secret_string, std::string_view property) {
  auto parsed = json::Parse(secret_string);
  if (!parsed.ok() || !parsed->is_object()) {
    return Error(Code::kNotFound, "property " + std::string(property) +
                                      " not found: the secret is not a JSON object");
  }
  const boost::json::value& root = *parsed;
  // A key holding dots as it is first, then a path.
  if (const boost::json::value* exact = Step(root, property)) return JsonText(*exact);
  const boost::json::value* cur = &root;
  for (std::string_view piece : SplitOn(property, '.')) {
    cur = Step(*cur, piece);
    if (cur == nullptr)
      return Error(Code::kNotFound,
                   "property " + std::string(property) + " not found in the secret");
  }
  return JsonText(*cur);
}

}  // namespace arca::cli
