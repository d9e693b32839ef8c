#include "operator/template.h"

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "core/secret_bytes.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "operator/go_regexp.h"
#include "operator/go_text.h"

namespace arca::op::tmpl {

// ---- Value ---------------------------------------------------------------------------------------

Value Value::Bool(bool b) {
  Value v;
  v.v_ = b;
  return v;
}
Value Value::Int(std::int64_t i) {
  Value v;
  v.v_ = i;
  return v;
}
Value Value::Float(double d) {
  Value v;
  v.v_ = d;
  return v;
}
Value Value::String(std::string s) {
  Value v;
  v.v_ = std::move(s);
  return v;
}
Value Value::MakeList(List l) {
  Value v;
  v.v_ = std::make_shared<List>(std::move(l));
  return v;
}
Value Value::MakeMap(Map m, bool string_map) {
  Value v;
  v.v_ = std::make_shared<Map>(std::move(m));
  v.string_map_ = string_map;
  return v;
}

Value::Kind Value::kind() const {
  switch (v_.index()) {
    case 1:
      return Kind::kBool;
    case 2:
      return Kind::kInt;
    case 3:
      return Kind::kFloat;
    case 4:
      return Kind::kString;
    case 5:
      return Kind::kList;
    case 6:
      return Kind::kMap;
    default:
      return Kind::kNil;
  }
}

std::string Value::TypeName() const {
  switch (kind()) {
    case Kind::kNil:
      return "<nil>";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]interface {}";
    case Kind::kMap:
      return string_map_ ? "map[string]string" : "map[string]interface {}";
  }
  return "?";
}

namespace {

std::string FormatInner(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      return "<nil>";
    case Value::Kind::kBool:
      return v.as_bool() ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kFloat:
      return GoFormatFloatV(v.as_float());
    case Value::Kind::kString:
      return v.as_string();
    case Value::Kind::kList: {
      std::string out = "[";
      bool first = true;
      for (const auto& e : v.as_list()) {
        if (!first) out.push_back(' ');
        first = false;
        out += FormatInner(e);
      }
      out.push_back(']');
      return out;
    }
    case Value::Kind::kMap: {
      std::string out = "map[";
      bool first = true;
      for (const auto& [k, e] : v.as_map()) {
        if (!first) out.push_back(' ');
        first = false;
        out += k;
        out.push_back(':');
        out += FormatInner(e);
      }
      out.push_back(']');
      return out;
    }
  }
  return "";
}

}  // namespace

std::string FormatValue(const Value& v) { return FormatInner(v); }

Value DataValue(const std::map<std::string, std::string>& data) {
  Value::Map m;
  for (const auto& [k, v] : data) m.emplace(k, Value::String(v));
  return Value::MakeMap(std::move(m), /*string_map=*/true);
}

// ---- syntax tree ---------------------------------------------------------------------------------

struct Pipe;

struct Arg {
  enum class Kind { kDot, kField, kVariable, kNil, kLiteral, kIdent, kPipe };
  Kind kind = Kind::kDot;
  std::string name;                // function or variable name
  std::vector<std::string> chain;  // kField: the fields on dot; others: fields after the value
  Value literal;
  std::shared_ptr<const Pipe> pipe;
  std::string text;  // as written, for error messages
};

struct Command {
  std::vector<Arg> args;
  std::string text;
};

struct Pipe {
  std::vector<std::string> decl;
  bool assign = false;
  std::vector<Command> cmds;
  std::string text;
};

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kBreak, kContinue };
  Kind kind = Kind::kText;
  std::string text;
  std::shared_ptr<const Pipe> pipe;
  std::vector<Node> list;
  std::vector<Node> else_list;
  int line = 0;
};

namespace {

constexpr std::size_t kMaxOutput = 4u << 20;
constexpr std::size_t kMaxSteps = 1'000'000;  // nodes executed and range iterations
constexpr int kMaxNesting = 200;

bool IsSpaceChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsAlpha(c) || IsDigit(c); }

std::string_view TrimLeftSpace(std::string_view s) {
  while (!s.empty() && IsSpaceChar(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view TrimRightSpace(std::string_view s) {
  while (!s.empty() && IsSpaceChar(s.back())) s.remove_suffix(1);
  return s;
}

// ---- splitting into text and actions -------------------------------------------------------------

struct Segment {
  bool is_text = true;
  std::string content;
  int line = 1;
};

Error SyntaxError(std::string_view name, int line, const std::string& msg) {
  return Error(Code::kInvalidParameter,
               "template: " + std::string(name) + ":" + std::to_string(line) + ": " + msg);
}

Result<std::vector<Segment>> Split(std::string_view name, std::string_view t) {
  std::vector<Segment> segs;
  std::size_t pos = 0;
  std::size_t counted = 0;
  int line = 1;
  auto line_at = [&](std::size_t p) {
    for (; counted < p && counted < t.size(); ++counted) {
      if (t[counted] == '\n') ++line;
    }
    return line;
  };
  bool trim_next = false;
  while (pos <= t.size()) {
    const std::size_t open = t.find("{{", pos);
    std::string_view text =
        open == std::string_view::npos ? t.substr(pos) : t.substr(pos, open - pos);
    const int text_line = line_at(pos);
    if (trim_next) text = TrimLeftSpace(text);
    trim_next = false;
    if (open == std::string_view::npos) {
      if (!text.empty()) segs.push_back({true, std::string(text), text_line});
      break;
    }
    std::size_t j = open + 2;
    if (j + 1 < t.size() && t[j] == '-' && IsSpaceChar(t[j + 1])) {
      text = TrimRightSpace(text);
      j += 2;
    }
    if (!text.empty()) segs.push_back({true, std::string(text), text_line});
    const int action_line = line_at(open);
    if (t.substr(j, 2) == "/*") {
      const std::size_t close = t.find("*/", j + 2);
      if (close == std::string_view::npos) return SyntaxError(name, action_line, "unclosed comment");
      std::size_t k = close + 2;
      if (k + 4 <= t.size() && IsSpaceChar(t[k]) && t[k + 1] == '-' && t.substr(k + 2, 2) == "}}") {
        trim_next = true;
        k += 4;
      } else if (t.substr(k, 2) == "}}") {
        k += 2;
      } else {
        return SyntaxError(name, action_line, "comment ends before closing delimiter");
      }
      pos = k;
      continue;
    }
    std::size_t k = j;
    for (;;) {
      if (k >= t.size()) return SyntaxError(name, action_line, "unclosed action");
      const char c = t[k];
      if (c == '"' || c == '\'') {
        std::size_t q = k + 1;
        while (q < t.size() && t[q] != c && t[q] != '\n') q += t[q] == '\\' ? 2 : 1;
        if (q >= t.size() || t[q] != c) {
          return SyntaxError(name, action_line,
                             c == '"' ? "unterminated quoted string" : "unterminated character constant");
        }
        k = q + 1;
      } else if (c == '`') {
        const std::size_t q = t.find('`', k + 1);
        if (q == std::string_view::npos)
          return SyntaxError(name, action_line, "unterminated raw quoted string");
        k = q + 1;
      } else if (t.substr(k, 2) == "}}") {
        break;
      } else {
        ++k;
      }
    }
    std::size_t end = k;
    if (end >= j + 2 && t[end - 1] == '-' && IsSpaceChar(t[end - 2])) {
      trim_next = true;
      end -= 1;
    }
    segs.push_back({false, std::string(t.substr(j, end - j)), action_line});
    pos = k + 2;
  }
  return segs;
}

// ---- lexing an action ----------------------------------------------------------------------------

enum class Tok {
  kIdent,
  kKeyword,
  kField,
  kDot,
  kVariable,
  kString,
  kNumber,
  kBool,
  kNil,
  kLParen,
  kRParen,
  kPipe,
  kDeclare,
  kAssign,
  kComma
};

struct Token {
  Tok type = Tok::kIdent;
  std::string text;  // as written
  Value value;       // strings, numbers, bools
  bool space_before = false;
};

bool IsKeyword(std::string_view w) {
  return w == "if" || w == "else" || w == "end" || w == "range" || w == "with" || w == "break" ||
         w == "continue" || w == "define" || w == "template" || w == "block";
}

// Go's strconv.Unquote for "..." and '...' bodies; nullopt on a bad escape.
std::optional<std::string> Unescape(std::string_view body) {
  std::string out;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i >= body.size()) return std::nullopt;
    const char e = body[i];
    auto hex = [&](std::size_t n) -> std::optional<std::uint32_t> {
      std::uint32_t v = 0;
      for (std::size_t k = 1; k <= n; ++k) {
        if (i + k >= body.size()) return std::nullopt;
        const char h = body[i + k];
        int d = -1;
        if (h >= '0' && h <= '9') d = h - '0';
        if (h >= 'a' && h <= 'f') d = h - 'a' + 10;
        if (h >= 'A' && h <= 'F') d = h - 'A' + 10;
        if (d < 0) return std::nullopt;
        v = v * 16 + static_cast<std::uint32_t>(d);
      }
      i += n;
      return v;
    };
    switch (e) {
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case '\\': out.push_back('\\'); break;
      case '"': out.push_back('"'); break;
      case '\'': out.push_back('\''); break;
      case 'x': {
        auto v = hex(2);
        if (!v) return std::nullopt;
        out.push_back(static_cast<char>(*v));
        break;
      }
      case 'u': {
        auto v = hex(4);
        if (!v) return std::nullopt;
        AppendUtf8(out, *v);
        break;
      }
      case 'U': {
        auto v = hex(8);
        if (!v || *v > 0x10FFFF) return std::nullopt;
        AppendUtf8(out, *v);
        break;
      }
      default:
        if (e >= '0' && e <= '7' && i + 2 < body.size()) {
          int v = 0;
          for (std::size_t k = 0; k < 3; ++k) {
            const char o = body[i + k];
            if (o < '0' || o > '7') return std::nullopt;
            v = v * 8 + (o - '0');
          }
          if (v > 255) return std::nullopt;
          out.push_back(static_cast<char>(v));
          i += 2;
          break;
        }
        return std::nullopt;
    }
  }
  return out;
}

std::optional<Value> ParseNumber(std::string_view text) {
  std::string s;
  for (char c : text) {
    if (c != '_') s.push_back(c);
  }
  if (s.empty()) return std::nullopt;
  std::string_view body = s;
  const bool negative = body.front() == '-';
  if (body.front() == '+' || body.front() == '-') body.remove_prefix(1);
  const bool hex = body.starts_with("0x") || body.starts_with("0X");
  const bool is_float = !hex && (body.find_first_of(".eE") != std::string_view::npos);
  if (is_float) {
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (end == nullptr || *end != '\0') return std::nullopt;
    return Value::Float(d);
  }
  int base = 10;
  if (hex) {
    base = 16;
    body.remove_prefix(2);
  } else if (body.starts_with("0o") || body.starts_with("0O")) {
    base = 8;
    body.remove_prefix(2);
  } else if (body.starts_with("0b") || body.starts_with("0B")) {
    base = 2;
    body.remove_prefix(2);
  } else if (body.size() > 1 && body.front() == '0') {
    base = 8;
    body.remove_prefix(1);
  }
  std::int64_t v = 0;
  auto r = std::from_chars(body.data(), body.data() + body.size(), v, base);
  if (r.ec != std::errc() || r.ptr != body.data() + body.size()) return std::nullopt;
  return Value::Int(negative ? -v : v);
}

Result<std::vector<Token>> Lex(std::string_view name, int line, std::string_view s) {
  std::vector<Token> toks;
  bool space = true;
  std::size_t i = 0;
  auto err = [&](const std::string& msg) { return SyntaxError(name, line, msg); };
  while (i < s.size()) {
    const char c = s[i];
    if (IsSpaceChar(c)) {
      space = true;
      ++i;
      continue;
    }
    Token tok;
    tok.space_before = space;
    space = false;
    const std::size_t start = i;
    if (c == '"') {
      std::size_t q = i + 1;
      while (q < s.size() && s[q] != '"') q += s[q] == '\\' ? 2 : 1;
      auto body = Unescape(s.substr(i + 1, q - i - 1));
      if (!body) return err("bad escape in quoted string");
      tok.type = Tok::kString;
      tok.value = Value::String(std::move(*body));
      i = q + 1;
    } else if (c == '`') {
      const std::size_t q = s.find('`', i + 1);
      tok.type = Tok::kString;
      tok.value = Value::String(std::string(s.substr(i + 1, q - i - 1)));
      i = q + 1;
    } else if (c == '\'') {
      std::size_t q = i + 1;
      while (q < s.size() && s[q] != '\'') q += s[q] == '\\' ? 2 : 1;
      auto body = Unescape(s.substr(i + 1, q - i - 1));
      if (!body || body->empty()) return err("bad character constant");
      // One UTF-8 character: its code point.
      const auto b0 = static_cast<unsigned char>((*body)[0]);
      std::int64_t cp = b0;
      if (b0 >= 0xC0 && body->size() >= 2) {
        const int extra = b0 >= 0xF0 ? 3 : b0 >= 0xE0 ? 2 : 1;
        cp = b0 & (0x3F >> extra);
        for (int k = 1; k <= extra && static_cast<std::size_t>(k) < body->size(); ++k) {
          cp = (cp << 6) | (static_cast<unsigned char>((*body)[static_cast<std::size_t>(k)]) & 0x3F);
        }
      }
      tok.type = Tok::kNumber;
      tok.value = Value::Int(cp);
      i = q + 1;
    } else if (c == '(') {
      tok.type = Tok::kLParen;
      ++i;
    } else if (c == ')') {
      tok.type = Tok::kRParen;
      ++i;
    } else if (c == '|') {
      tok.type = Tok::kPipe;
      ++i;
    } else if (c == ',') {
      tok.type = Tok::kComma;
      ++i;
    } else if (c == ':' && i + 1 < s.size() && s[i + 1] == '=') {
      tok.type = Tok::kDeclare;
      i += 2;
    } else if (c == '=') {
      tok.type = Tok::kAssign;
      ++i;
    } else if (c == '$') {
      ++i;
      while (i < s.size() && IsAlnum(s[i])) ++i;
      tok.type = Tok::kVariable;
    } else if (c == '.' && i + 1 < s.size() && IsAlpha(s[i + 1])) {
      ++i;
      while (i < s.size() && IsAlnum(s[i])) ++i;
      tok.type = Tok::kField;
    } else if (IsDigit(c) || ((c == '+' || c == '-' || c == '.') && i + 1 < s.size() && IsDigit(s[i + 1]))) {
      ++i;
      while (i < s.size()) {
        const char d = s[i];
        if (IsAlnum(d) || d == '.') {
          ++i;
        } else if ((d == '+' || d == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E' || s[i - 1] == 'p' ||
                                              s[i - 1] == 'P')) {
          ++i;
        } else {
          break;
        }
      }
      auto v = ParseNumber(s.substr(start, i - start));
      if (!v) return err("bad number syntax: \"" + std::string(s.substr(start, i - start)) + "\"");
      tok.type = Tok::kNumber;
      tok.value = *v;
    } else if (c == '.') {
      tok.type = Tok::kDot;
      ++i;
    } else if (IsAlpha(c)) {
      while (i < s.size() && IsAlnum(s[i])) ++i;
      const std::string_view w = s.substr(start, i - start);
      if (w == "true" || w == "false") {
        tok.type = Tok::kBool;
        tok.value = Value::Bool(w == "true");
      } else if (w == "nil") {
        tok.type = Tok::kNil;
      } else if (IsKeyword(w)) {
        tok.type = Tok::kKeyword;
      } else {
        tok.type = Tok::kIdent;
      }
    } else {
      return err("unexpected \"" + std::string(1, c) + "\" in command");
    }
    tok.text = std::string(s.substr(start, i - start));
    toks.push_back(std::move(tok));
  }
  return toks;
}

// ---- functions -----------------------------------------------------------------------------------

// A function's failure: `type_error` ones are reported as Go reports argument conversions (no
// "error calling" prefix).
struct CallError {
  std::string message;
  bool type_error = false;
};
using CallResult = std::variant<Value, CallError>;
using Args = std::vector<Value>;

struct FuncSpec {
  int min_args = 0;
  int max_args = 0;  // -1: variadic
  std::function<CallResult(const Args&)> fn;
};

CallError TypeError(const Value& v, std::string_view expected) {
  if (v.is_nil()) return {"invalid value; expected " + std::string(expected), true};
  return {"wrong type for value; expected " + std::string(expected) + "; got " + v.TypeName(), true};
}

bool Truth(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      return false;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int() != 0;
    case Value::Kind::kFloat:
      return v.as_float() != 0;
    case Value::Kind::kString:
      return !v.as_string().empty();
    case Value::Kind::kList:
      return !v.as_list().empty();
    case Value::Kind::kMap:
      return !v.as_map().empty();
  }
  return false;
}

// sprig's strval: strings as they are, anything else as %v.
std::string StrVal(const Value& v) { return FormatInner(v); }

// sprig's toInt64 (through spf13/cast): numbers truncated, strings parsed (0 when they are not
// numbers), booleans 1/0, nil 0.
std::int64_t ToInt64(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kInt:
      return v.as_int();
    case Value::Kind::kFloat: {
      const double d = v.as_float();
      if (std::isnan(d)) return 0;
      if (d >= 9.2e18) return std::numeric_limits<std::int64_t>::max();
      if (d <= -9.2e18) return std::numeric_limits<std::int64_t>::min();
      return static_cast<std::int64_t>(d);
    }
    case Value::Kind::kBool:
      return v.as_bool() ? 1 : 0;
    case Value::Kind::kString: {
      std::string s = v.as_string();
      // cast trims a ".0..." decimal part before parsing.
      if (const auto dot = s.find('.'); dot != std::string::npos &&
                                        s.find_first_not_of('0', dot + 1) == std::string::npos) {
        s.erase(dot);
      }
      auto n = ParseNumber(s);
      if (n && n->kind() == Value::Kind::kInt) return n->as_int();
      return 0;
    }
    default:
      return 0;
  }
}

double ToFloat64(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kInt:
      return static_cast<double>(v.as_int());
    case Value::Kind::kFloat:
      return v.as_float();
    case Value::Kind::kBool:
      return v.as_bool() ? 1 : 0;
    case Value::Kind::kString: {
      char* end = nullptr;
      const double d = std::strtod(v.as_string().c_str(), &end);
      return end != nullptr && *end == '\0' && !v.as_string().empty() ? d : 0;
    }
    default:
      return 0;
  }
}

bool Empty(const Value& v) { return !Truth(v); }

// sprig's strslice: the non-nil elements of a list as strings; a single value as one element.
std::vector<std::string> StrSlice(const Value& v) {
  std::vector<std::string> out;
  if (v.kind() == Value::Kind::kList) {
    for (const auto& e : v.as_list()) {
      if (!e.is_nil()) out.push_back(StrVal(e));
    }
  } else if (!v.is_nil()) {
    out.push_back(StrVal(v));
  }
  return out;
}

// encoding/json of a value.
std::optional<std::string> ToJson(const Value& v, bool escape_html, int indent, int depth = 0) {
  switch (v.kind()) {
    case Value::Kind::kNil:
      return "null";
    case Value::Kind::kBool:
      return v.as_bool() ? "true" : "false";
    case Value::Kind::kInt:
      return std::to_string(v.as_int());
    case Value::Kind::kFloat:
      if (std::isnan(v.as_float()) || std::isinf(v.as_float())) return std::nullopt;
      return GoJsonFloat(v.as_float());
    case Value::Kind::kString:
      return GoJsonString(v.as_string(), escape_html);
    case Value::Kind::kList:
    case Value::Kind::kMap: {
      const bool is_map = v.kind() == Value::Kind::kMap;
      const std::size_t n = is_map ? v.as_map().size() : v.as_list().size();
      if (n == 0) return is_map ? "{}" : "[]";
      std::string out(1, is_map ? '{' : '[');
      const std::string pad = indent > 0 ? "\n" + std::string(static_cast<std::size_t>((depth + 1) * indent), ' ') : "";
      const std::string close_pad = indent > 0 ? "\n" + std::string(static_cast<std::size_t>(depth * indent), ' ') : "";
      bool first = true;
      auto add = [&](const std::string* key, const Value& e) -> bool {
        if (!first) out.push_back(',');
        first = false;
        out += pad;
        if (key != nullptr) {
          out += GoJsonString(*key, escape_html);
          out += indent > 0 ? ": " : ":";
        }
        auto sub = ToJson(e, escape_html, indent, depth + 1);
        if (!sub) return false;
        out += *sub;
        return true;
      };
      if (is_map) {
        for (const auto& [k, e] : v.as_map()) {
          if (!add(&k, e)) return std::nullopt;
        }
      } else {
        for (const auto& e : v.as_list()) {
          if (!add(nullptr, e)) return std::nullopt;
        }
      }
      out += close_pad;
      out.push_back(is_map ? '}' : ']');
      return out;
    }
  }
  return std::nullopt;
}

Value FromBoostJson(const boost::json::value& j) {
  switch (j.kind()) {
    case boost::json::kind::null:
      return Value();
    case boost::json::kind::bool_:
      return Value::Bool(j.get_bool());
    case boost::json::kind::int64:
      return Value::Float(static_cast<double>(j.get_int64()));
    case boost::json::kind::uint64:
      return Value::Float(static_cast<double>(j.get_uint64()));
    case boost::json::kind::double_:
      return Value::Float(j.get_double());
    case boost::json::kind::string:
      return Value::String(std::string(j.get_string()));
    case boost::json::kind::array: {
      Value::List l;
      for (const auto& e : j.get_array()) l.push_back(FromBoostJson(e));
      return Value::MakeList(std::move(l));
    }
    case boost::json::kind::object: {
      Value::Map m;
      for (const auto& [k, e] : j.get_object()) m[std::string(k)] = FromBoostJson(e);
      return Value::MakeMap(std::move(m));
    }
  }
  return Value();
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    if (IsAlnum(c) || c == '-' || c == '.' || c == '~') {
      out.push_back(c);  // '_' is alnum here
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      const auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

// fmt.Sprint: a space between operands when neither is a string.
std::string Sprint(const Args& args) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && args[i].kind() != Value::Kind::kString &&
        args[i - 1].kind() != Value::Kind::kString) {
      out.push_back(' ');
    }
    out += FormatInner(args[i]);
  }
  return out;
}

std::string Sprintln(const Args& args) {
  std::string out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += FormatInner(args[i]);
  }
  out.push_back('\n');
  return out;
}

void AppendUtf8Rune(std::string& out, std::int64_t cp) {
  if (cp < 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  AppendUtf8(out, static_cast<std::uint32_t>(cp));
}

// fmt.Sprintf for the verbs templates use: v s q d x X o b c U e E f F g G t and %%.
std::string Sprintf(std::string_view format, const Args& args) {
  std::string out;
  std::size_t argi = 0;
  for (std::size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      out.push_back(format[i++]);
      continue;
    }
    ++i;
    bool minus = false, plus = false, sharp = false, zero = false, space = false;
    for (; i < format.size(); ++i) {
      const char f = format[i];
      if (f == '-') {
        minus = true;
      } else if (f == '+') {
        plus = true;
      } else if (f == '#') {
        sharp = true;
      } else if (f == '0') {
        zero = true;
      } else if (f == ' ') {
        space = true;
      } else {
        break;
      }
    }
    int width = -1;
    int prec = -1;
    auto read_num = [&](int* target) {
      if (i < format.size() && format[i] == '*') {
        ++i;
        if (argi < args.size() && args[argi].kind() == Value::Kind::kInt) {
          *target = static_cast<int>(std::clamp<std::int64_t>(args[argi].as_int(), -1000, 1000));
        }
        ++argi;
        return;
      }
      int n = -1;
      while (i < format.size() && IsDigit(format[i])) {
        n = (n < 0 ? 0 : n) * 10 + (format[i] - '0');
        if (n > 1000) n = 1000;
        ++i;
      }
      *target = n;
    };
    read_num(&width);
    if (i < format.size() && format[i] == '.') {
      ++i;
      read_num(&prec);
      if (prec < 0) prec = 0;
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    const char verb = format[i++];
    if (verb == '%') {
      out.push_back('%');
      continue;
    }
    if (argi >= args.size()) {
      out += "%!";
      out.push_back(verb);
      out += "(MISSING)";
      continue;
    }
    const Value& a = args[argi++];
    std::string body;
    bool numeric = false;
    bool ok = true;
    auto sign = [&](bool negative) { return negative ? "-" : plus ? "+" : space ? " " : ""; };
    switch (verb) {
      case 'v':
        if (sharp && a.kind() == Value::Kind::kString) {
          body = GoQuote(a.as_string());
        } else {
          body = FormatInner(a);
        }
        numeric = a.kind() == Value::Kind::kInt || a.kind() == Value::Kind::kFloat;
        if (plus && numeric && body[0] != '-') body = "+" + body;
        break;
      case 's':
        if (a.kind() == Value::Kind::kString) {
          body = a.as_string();
        } else if (a.kind() == Value::Kind::kList || a.kind() == Value::Kind::kMap) {
          body = FormatInner(a);
        } else {
          ok = false;
        }
        if (ok && prec >= 0 && body.size() > static_cast<std::size_t>(prec)) body.resize(static_cast<std::size_t>(prec));
        break;
      case 'q':
        if (a.kind() == Value::Kind::kString) {
          body = GoQuote(a.as_string());
        } else if (a.kind() == Value::Kind::kInt) {
          std::string r;
          AppendUtf8Rune(r, a.as_int());
          body = GoQuote(r);
          body.front() = '\'';
          body.back() = '\'';
        } else {
          ok = false;
        }
        break;
      case 'd':
      case 'o':
      case 'b':
      case 'x':
      case 'X':
        if (a.kind() == Value::Kind::kInt) {
          numeric = true;
          const std::int64_t n = a.as_int();
          const bool negative = n < 0;
          const std::uint64_t u =
              negative ? static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
          const int base = verb == 'd' ? 10 : verb == 'o' ? 8 : verb == 'b' ? 2 : 16;
          char buf[80];
          auto r = std::to_chars(buf, buf + sizeof buf, u, base);
          std::string digits(buf, r.ptr);
          if (verb == 'X') std::transform(digits.begin(), digits.end(), digits.begin(), ::toupper);
          std::string prefix;
          if (sharp && verb == 'x') prefix = "0x";
          if (sharp && verb == 'X') prefix = "0X";
          if (sharp && verb == 'o') prefix = "0";
          body = sign(negative) + prefix + digits;
        } else if ((verb == 'x' || verb == 'X') && a.kind() == Value::Kind::kString) {
          body = crypto::HexEncode(a.as_string());
          if (verb == 'X') std::transform(body.begin(), body.end(), body.begin(), ::toupper);
        } else {
          ok = false;
        }
        break;
      case 'c':
        if (a.kind() == Value::Kind::kInt) {
          AppendUtf8Rune(body, a.as_int());
        } else {
          ok = false;
        }
        break;
      case 'U':
        if (a.kind() == Value::Kind::kInt) {
          char buf[32];
          std::snprintf(buf, sizeof buf, "U+%04llX", static_cast<unsigned long long>(a.as_int()));
          body = buf;
        } else {
          ok = false;
        }
        break;
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        if (a.kind() == Value::Kind::kFloat) {
          numeric = true;
          const double d = a.as_float();
          if ((verb == 'g' || verb == 'G') && prec < 0) {
            body = GoFormatFloatV(d);
            if (verb == 'G') std::transform(body.begin(), body.end(), body.begin(), ::toupper);
            if (d >= 0 && (plus || space)) body = sign(false) + body;
          } else {
            char fmtbuf[16];
            std::snprintf(fmtbuf, sizeof fmtbuf, "%%%s%s.*%c", plus ? "+" : "", space ? " " : "",
                          verb == 'F' ? 'f' : verb);
            char buf[512];
            std::snprintf(buf, sizeof buf, fmtbuf, prec < 0 ? 6 : prec, d);
            body = buf;
          }
        } else {
          ok = false;
        }
        break;
      case 't':
        if (a.kind() == Value::Kind::kBool) {
          body = a.as_bool() ? "true" : "false";
        } else {
          ok = false;
        }
        break;
      default:
        ok = false;
    }
    if (!ok) {
      out += "%!";
      out.push_back(verb);
      out.push_back('(');
      if (a.is_nil()) {
        out += "<nil>";
      } else {
        out += a.TypeName();
        out.push_back('=');
        out += FormatInner(a);
      }
      out.push_back(')');
      continue;
    }
    if (width > 0 && body.size() < static_cast<std::size_t>(width)) {
      const std::size_t fill = static_cast<std::size_t>(width) - body.size();
      if (minus) {
        body.append(fill, ' ');
      } else if (zero && numeric) {
        std::size_t at = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
        body.insert(at, fill, '0');
      } else {
        body.insert(0, fill, ' ');
      }
    }
    out += body;
  }
  if (argi < args.size()) {
    out += "%!(EXTRA ";
    for (std::size_t k = argi; k < args.size(); ++k) {
      if (k > argi) out += ", ";
      out += args[k].TypeName();
      out.push_back('=');
      out += FormatInner(args[k]);
    }
    out.push_back(')');
  }
  return out;
}

// Comparison for eq/ne/lt/...: nullopt when the values cannot be compared.
enum class Cmp { kLess, kEqual, kGreater, kUnordered };
std::variant<Cmp, CallError> Compare(const Value& a, const Value& b) {
  const auto ka = a.kind();
  const auto kb = b.kind();
  if (ka == Value::Kind::kNil || kb == Value::Kind::kNil) {
    return ka == kb ? Cmp::kEqual : Cmp::kUnordered;
  }
  if (ka == Value::Kind::kList || ka == Value::Kind::kMap || kb == Value::Kind::kList ||
      kb == Value::Kind::kMap) {
    return CallError{"invalid type for comparison", false};
  }
  if (ka != kb) return CallError{"incompatible types for comparison", false};
  switch (ka) {
    case Value::Kind::kBool:
      return a.as_bool() == b.as_bool() ? Cmp::kEqual : Cmp::kUnordered;
    case Value::Kind::kInt:
      return a.as_int() < b.as_int() ? Cmp::kLess : a.as_int() > b.as_int() ? Cmp::kGreater : Cmp::kEqual;
    case Value::Kind::kFloat:
      return a.as_float() < b.as_float()   ? Cmp::kLess
             : a.as_float() > b.as_float() ? Cmp::kGreater
             : a.as_float() == b.as_float() ? Cmp::kEqual
                                            : Cmp::kUnordered;
    case Value::Kind::kString:
      return a.as_string() < b.as_string()   ? Cmp::kLess
             : a.as_string() > b.as_string() ? Cmp::kGreater
                                             : Cmp::kEqual;
    default:
      return Cmp::kUnordered;
  }
}

// Argument conversions that follow Go's typed parameters.
#define ARG_STRING(var, args, i)                                          \
  if ((args)[i].kind() != Value::Kind::kString) return TypeError((args)[i], "string"); \
  const std::string& var = (args)[i].as_string()

std::optional<std::int64_t> IntArg(const Value& v) {
  if (v.kind() == Value::Kind::kInt) return v.as_int();
  if (v.kind() == Value::Kind::kFloat && std::trunc(v.as_float()) == v.as_float() &&
      std::fabs(v.as_float()) < 9e18) {
    return static_cast<std::int64_t>(v.as_float());
  }
  return std::nullopt;
}

#define ARG_INT(var, args, i)                             \
  auto var##_opt = IntArg((args)[i]);                     \
  if (!var##_opt) return TypeError((args)[i], "int");     \
  const std::int64_t var = *var##_opt

std::string Repeat(std::string_view s, std::int64_t n) {
  std::string out;
  for (std::int64_t k = 0; k < n; ++k) out.append(s);
  return out;
}

std::string Indent(std::int64_t spaces, const std::string& v) {
  const std::string pad(static_cast<std::size_t>(std::clamp<std::int64_t>(spaces, 0, 1000)), ' ');
  std::string out = pad;
  for (char c : v) {
    out.push_back(c);
    if (c == '\n') out += pad;
  }
  return out;
}

std::string ReplaceAll(const std::string& src, const std::string& old_s, const std::string& new_s) {
  if (old_s.empty()) {
    // strings.Replace with an empty old string inserts `new` around every UTF-8 character.
    std::string out = new_s;
    for (std::size_t i = 0; i < src.size();) {
      std::size_t w = 1;
      const auto c = static_cast<unsigned char>(src[i]);
      if (c >= 0xF0) {
        w = 4;
      } else if (c >= 0xE0) {
        w = 3;
      } else if (c >= 0xC0) {
        w = 2;
      }
      out.append(src, i, w);
      out += new_s;
      i += w;
    }
    return out;
  }
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = src.find(old_s, pos);
    if (hit == std::string::npos) break;
    out.append(src, pos, hit - pos);
    out += new_s;
    pos = hit + old_s.size();
  }
  out.append(src, pos, std::string::npos);
  return out;
}

std::vector<std::string> SplitString(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (sep.empty()) {
    for (std::size_t i = 0; i < s.size();) {
      std::size_t w = 1;
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0xF0) {
        w = 4;
      } else if (c >= 0xE0) {
        w = 3;
      } else if (c >= 0xC0) {
        w = 2;
      }
      out.push_back(s.substr(i, w));
      i += w;
    }
    return out;
  }
  std::size_t pos = 0;
  for (;;) {
    const std::size_t hit = s.find(sep, pos);
    if (hit == std::string::npos) {
      out.push_back(s.substr(pos));
      return out;
    }
    out.push_back(s.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
}

std::string ToUpperAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}
std::string ToLowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

bool IsGoSpace(char c) { return IsSpaceChar(c) || c == '\v' || c == '\f'; }

const std::unordered_map<std::string, FuncSpec>& Functions() {
  static auto* table = new std::unordered_map<std::string, FuncSpec>{
      // ---- Go's builtins (and/or are evaluated lazily by the executor) ----
      {"and", {1, -1, nullptr}},
      {"or", {1, -1, nullptr}},
      {"not", {1, 1, [](const Args& a) -> CallResult { return Value::Bool(!Truth(a[0])); }}},
      {"len",
       {1, 1,
        [](const Args& a) -> CallResult {
          switch (a[0].kind()) {
            case Value::Kind::kString:
              return Value::Int(static_cast<std::int64_t>(a[0].as_string().size()));
            case Value::Kind::kList:
              return Value::Int(static_cast<std::int64_t>(a[0].as_list().size()));
            case Value::Kind::kMap:
              return Value::Int(static_cast<std::int64_t>(a[0].as_map().size()));
            case Value::Kind::kNil:
              return CallError{"len of nil pointer", false};
            default:
              return CallError{"len of type " + a[0].TypeName(), false};
          }
        }}},
      {"index",
       {1, -1,
        [](const Args& a) -> CallResult {
          Value item = a[0];
          for (std::size_t k = 1; k < a.size(); ++k) {
            if (item.kind() == Value::Kind::kMap) {
              if (a[k].kind() != Value::Kind::kString) {
                return CallError{"value has type " + a[k].TypeName() + "; should be string", false};
              }
              const auto& m = item.as_map();
              auto it = m.find(a[k].as_string());
              if (it == m.end()) {
                item = item.string_map() ? Value::String("") : Value();
              } else {
                item = it->second;
              }
            } else if (item.kind() == Value::Kind::kList) {
              auto idx = IntArg(a[k]);
              if (!idx) return CallError{"cannot index slice/array with type " + a[k].TypeName(), false};
              if (*idx < 0 || static_cast<std::size_t>(*idx) >= item.as_list().size()) {
                return CallError{"index out of range: " + std::to_string(*idx), false};
              }
              item = item.as_list()[static_cast<std::size_t>(*idx)];
            } else if (item.kind() == Value::Kind::kString) {
              auto idx = IntArg(a[k]);
              if (!idx) return CallError{"cannot index string with type " + a[k].TypeName(), false};
              if (*idx < 0 || static_cast<std::size_t>(*idx) >= item.as_string().size()) {
                return CallError{"index out of range: " + std::to_string(*idx), false};
              }
              item = Value::Int(static_cast<unsigned char>(item.as_string()[static_cast<std::size_t>(*idx)]));
            } else if (item.is_nil()) {
              return CallError{"index of untyped nil", false};
            } else {
              return CallError{"can't index item of type " + item.TypeName(), false};
            }
          }
          return item;
        }}},
      {"print", {0, -1, [](const Args& a) -> CallResult { return Value::String(Sprint(a)); }}},
      {"println", {0, -1, [](const Args& a) -> CallResult { return Value::String(Sprintln(a)); }}},
      {"printf",
       {1, -1,
        [](const Args& a) -> CallResult {
          ARG_STRING(format, a, 0);
          return Value::String(Sprintf(format, Args(a.begin() + 1, a.end())));
        }}},
      {"urlquery", {0, -1, [](const Args& a) -> CallResult { return Value::String(QueryEscape(Sprint(a))); }}},
      {"eq",
       {2, -1,
        [](const Args& a) -> CallResult {
          for (std::size_t k = 1; k < a.size(); ++k) {
            auto c = Compare(a[0], a[k]);
            if (auto* e = std::get_if<CallError>(&c)) return *e;
            if (std::get<Cmp>(c) == Cmp::kEqual) return Value::Bool(true);
          }
          return Value::Bool(false);
        }}},
      {"ne",
       {2, 2,
        [](const Args& a) -> CallResult {
          auto c = Compare(a[0], a[1]);
          if (auto* e = std::get_if<CallError>(&c)) return *e;
          return Value::Bool(std::get<Cmp>(c) != Cmp::kEqual);
        }}},
      // lt, le, gt, ge are added below.
      // ---- sprig: strings ----
      {"upper", {1, 1, [](const Args& a) -> CallResult { ARG_STRING(s, a, 0); return Value::String(ToUpperAscii(s)); }}},
      {"lower", {1, 1, [](const Args& a) -> CallResult { ARG_STRING(s, a, 0); return Value::String(ToLowerAscii(s)); }}},
      {"title",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          std::string out = s;
          bool start = true;
          for (char& c : out) {
            if (start && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            start = !(IsAlnum(c) || c == '\'' || static_cast<unsigned char>(c) >= 0x80);
          }
          return Value::String(std::move(out));
        }}},
      {"trim",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          std::size_t b = 0;
          std::size_t e = s.size();
          while (b < e && IsGoSpace(s[b])) ++b;
          while (e > b && IsGoSpace(s[e - 1])) --e;
          return Value::String(s.substr(b, e - b));
        }}},
      {"trimAll",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(cut, a, 0);
          ARG_STRING(s, a, 1);
          const std::size_t b = s.find_first_not_of(cut);
          if (b == std::string::npos) return Value::String("");
          const std::size_t e = s.find_last_not_of(cut);
          return Value::String(s.substr(b, e - b + 1));
        }}},
      {"trimPrefix",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(p, a, 0);
          ARG_STRING(s, a, 1);
          return Value::String(s.starts_with(p) ? s.substr(p.size()) : s);
        }}},
      {"trimSuffix",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(p, a, 0);
          ARG_STRING(s, a, 1);
          return Value::String(s.ends_with(p) ? s.substr(0, s.size() - p.size()) : s);
        }}},
      {"trunc",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_INT(c, a, 0);
          ARG_STRING(s, a, 1);
          const auto n = static_cast<std::int64_t>(s.size());
          if (c < 0 && n + c > 0) return Value::String(s.substr(static_cast<std::size_t>(n + c)));
          if (c >= 0 && n > c) return Value::String(s.substr(0, static_cast<std::size_t>(c)));
          return Value::String(s);
        }}},
      {"nospace",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          std::string out;
          for (char c : s) {
            if (!IsGoSpace(c)) out.push_back(c);
          }
          return Value::String(std::move(out));
        }}},
      {"replace",
       {3, 3,
        [](const Args& a) -> CallResult {
          ARG_STRING(o, a, 0);
          ARG_STRING(n, a, 1);
          ARG_STRING(s, a, 2);
          return Value::String(ReplaceAll(s, o, n));
        }}},
      {"repeat",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_INT(n, a, 0);
          ARG_STRING(s, a, 1);
          if (n < 0) return CallError{"strings: negative Repeat count", false};
          if (static_cast<double>(n) * static_cast<double>(s.size()) > static_cast<double>(kMaxOutput)) {
            return CallError{"repeat count too large", false};
          }
          return Value::String(Repeat(s, n));
        }}},
      {"substr",
       {3, 3,
        [](const Args& a) -> CallResult {
          ARG_INT(start, a, 0);
          ARG_INT(end, a, 1);
          ARG_STRING(s, a, 2);
          const auto n = static_cast<std::int64_t>(s.size());
          std::int64_t b = start;
          std::int64_t e = end;
          if (start < 0) {
            b = 0;
          } else if (end < 0 || end > n) {
            e = n;
          }
          if (b > e || e > n || b > n) return CallError{"slice bounds out of range", false};
          return Value::String(s.substr(static_cast<std::size_t>(b), static_cast<std::size_t>(e - b)));
        }}},
      {"contains",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(sub, a, 0);
          ARG_STRING(s, a, 1);
          return Value::Bool(s.find(sub) != std::string::npos);
        }}},
      {"hasPrefix",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(p, a, 0);
          ARG_STRING(s, a, 1);
          return Value::Bool(s.starts_with(p));
        }}},
      {"hasSuffix",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(p, a, 0);
          ARG_STRING(s, a, 1);
          return Value::Bool(s.ends_with(p));
        }}},
      {"quote",
       {0, -1,
        [](const Args& a) -> CallResult {
          std::string out;
          bool first = true;
          for (const auto& v : a) {
            if (v.is_nil()) continue;
            if (!first) out.push_back(' ');
            first = false;
            out += GoQuote(StrVal(v));
          }
          return Value::String(std::move(out));
        }}},
      {"squote",
       {0, -1,
        [](const Args& a) -> CallResult {
          std::string out;
          bool first = true;
          for (const auto& v : a) {
            if (v.is_nil()) continue;
            if (!first) out.push_back(' ');
            first = false;
            out += "'" + FormatInner(v) + "'";
          }
          return Value::String(std::move(out));
        }}},
      {"cat",
       {0, -1,
        [](const Args& a) -> CallResult {
          std::string out;
          bool first = true;
          for (const auto& v : a) {
            if (v.is_nil()) continue;
            if (!first) out.push_back(' ');
            first = false;
            out += FormatInner(v);
          }
          return Value::String(std::move(out));
        }}},
      {"indent",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_INT(n, a, 0);
          ARG_STRING(s, a, 1);
          return Value::String(Indent(n, s));
        }}},
      {"nindent",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_INT(n, a, 0);
          ARG_STRING(s, a, 1);
          return Value::String("\n" + Indent(n, s));
        }}},
      {"b64enc", {1, 1, [](const Args& a) -> CallResult { ARG_STRING(s, a, 0); return Value::String(GoBase64Encode(s)); }}},
      {"b64dec",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          std::size_t bad = 0;
          auto d = GoBase64Decode(s, false, &bad);
          // sprig returns the error's text as the result.
          if (!d) return Value::String("illegal base64 data at input byte " + std::to_string(bad));
          return Value::String(std::move(*d));
        }}},
      {"sha256sum", {1, 1, [](const Args& a) -> CallResult { ARG_STRING(s, a, 0); return Value::String(crypto::Sha256Hex(s)); }}},
      // ---- sprig: defaults, JSON, flow ----
      {"default",
       {1, -1,
        [](const Args& a) -> CallResult {
          if (a.size() < 2 || Empty(a[1])) return a[0];
          return a[1];
        }}},
      {"empty", {1, 1, [](const Args& a) -> CallResult { return Value::Bool(Empty(a[0])); }}},
      {"coalesce",
       {0, -1,
        [](const Args& a) -> CallResult {
          for (const auto& v : a) {
            if (!Empty(v)) return v;
          }
          return Value();
        }}},
      {"ternary",
       {3, 3,
        [](const Args& a) -> CallResult {
          if (a[2].kind() != Value::Kind::kBool) return TypeError(a[2], "bool");
          return a[2].as_bool() ? a[0] : a[1];
        }}},
      {"fail",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(msg, a, 0);
          return CallError{msg, false};
        }}},
      {"toString", {1, 1, [](const Args& a) -> CallResult { return Value::String(StrVal(a[0])); }}},
      {"toJson", {1, 1, [](const Args& a) -> CallResult { return Value::String(ToJson(a[0], true, 0).value_or("")); }}},
      {"toRawJson", {1, 1, [](const Args& a) -> CallResult { return Value::String(ToJson(a[0], false, 0).value_or("")); }}},
      {"toPrettyJson", {1, 1, [](const Args& a) -> CallResult { return Value::String(ToJson(a[0], true, 2).value_or("")); }}},
      {"fromJson",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          boost::system::error_code ec;
          boost::json::parse_options opts;
          opts.max_depth = 1000;
          boost::json::value j = boost::json::parse(s, ec, {}, opts);
          if (ec) return Value();  // sprig ignores the error
          return FromBoostJson(j);
        }}},
      // ---- sprig: lists and dicts ----
      {"join",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(sep, a, 0);
          std::string out;
          bool first = true;
          for (const auto& s : StrSlice(a[1])) {
            if (!first) out += sep;
            first = false;
            out += s;
          }
          return Value::String(std::move(out));
        }}},
      {"split",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(sep, a, 0);
          ARG_STRING(s, a, 1);
          Value::Map m;
          std::size_t k = 0;
          for (auto& part : SplitString(s, sep)) m["_" + std::to_string(k++)] = Value::String(std::move(part));
          return Value::MakeMap(std::move(m), true);
        }}},
      {"splitList",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(sep, a, 0);
          ARG_STRING(s, a, 1);
          Value::List l;
          for (auto& part : SplitString(s, sep)) l.push_back(Value::String(std::move(part)));
          return Value::MakeList(std::move(l));
        }}},
      {"sortAlpha",
       {1, 1,
        [](const Args& a) -> CallResult {
          auto strs = StrSlice(a[0]);
          std::sort(strs.begin(), strs.end());
          Value::List l;
          for (auto& s : strs) l.push_back(Value::String(std::move(s)));
          return Value::MakeList(std::move(l));
        }}},
      {"list", {0, -1, [](const Args& a) -> CallResult { return Value::MakeList(a); }}},
      {"dict",
       {0, -1,
        [](const Args& a) -> CallResult {
          Value::Map m;
          for (std::size_t k = 0; k < a.size(); k += 2) {
            m[StrVal(a[k])] = k + 1 < a.size() ? a[k + 1] : Value::String("");
          }
          return Value::MakeMap(std::move(m));
        }}},
      {"get",
       {2, 2,
        [](const Args& a) -> CallResult {
          if (a[0].kind() != Value::Kind::kMap) return TypeError(a[0], "map[string]interface {}");
          ARG_STRING(key, a, 1);
          auto it = a[0].as_map().find(key);
          return it == a[0].as_map().end() ? Value::String("") : it->second;
        }}},
      {"hasKey",
       {2, 2,
        [](const Args& a) -> CallResult {
          if (a[0].kind() != Value::Kind::kMap) return TypeError(a[0], "map[string]interface {}");
          ARG_STRING(key, a, 1);
          return Value::Bool(a[0].as_map().contains(key));
        }}},
      {"keys",
       {0, -1,
        [](const Args& a) -> CallResult {
          Value::List l;
          for (const auto& m : a) {
            if (m.kind() != Value::Kind::kMap) return TypeError(m, "map[string]interface {}");
            for (const auto& [k, v] : m.as_map()) l.push_back(Value::String(k));
          }
          return Value::MakeList(std::move(l));
        }}},
      {"first",
       {1, 1,
        [](const Args& a) -> CallResult {
          if (a[0].kind() != Value::Kind::kList) return CallError{"Cannot find first on type " + a[0].TypeName(), false};
          return a[0].as_list().empty() ? Value() : a[0].as_list().front();
        }}},
      {"last",
       {1, 1,
        [](const Args& a) -> CallResult {
          if (a[0].kind() != Value::Kind::kList) return CallError{"Cannot find last on type " + a[0].TypeName(), false};
          return a[0].as_list().empty() ? Value() : a[0].as_list().back();
        }}},
      // ---- sprig: numbers ----
      {"atoi",
       {1, 1,
        [](const Args& a) -> CallResult {
          ARG_STRING(s, a, 0);
          std::int64_t v = 0;
          std::string_view body = s;
          if (body.starts_with('+')) body.remove_prefix(1);
          auto r = std::from_chars(body.data(), body.data() + body.size(), v, 10);
          if (r.ec != std::errc() || r.ptr != body.data() + body.size()) v = 0;
          return Value::Int(v);
        }}},
      {"int", {1, 1, [](const Args& a) -> CallResult { return Value::Int(ToInt64(a[0])); }}},
      {"int64", {1, 1, [](const Args& a) -> CallResult { return Value::Int(ToInt64(a[0])); }}},
      {"float64", {1, 1, [](const Args& a) -> CallResult { return Value::Float(ToFloat64(a[0])); }}},
      {"add",
       {0, -1,
        [](const Args& a) -> CallResult {
          std::int64_t s = 0;
          for (const auto& v : a) s += ToInt64(v);
          return Value::Int(s);
        }}},
      {"add1", {1, 1, [](const Args& a) -> CallResult { return Value::Int(ToInt64(a[0]) + 1); }}},
      {"sub", {2, 2, [](const Args& a) -> CallResult { return Value::Int(ToInt64(a[0]) - ToInt64(a[1])); }}},
      {"mul",
       {1, -1,
        [](const Args& a) -> CallResult {
          std::int64_t p = ToInt64(a[0]);
          for (std::size_t k = 1; k < a.size(); ++k) p *= ToInt64(a[k]);
          return Value::Int(p);
        }}},
      {"div",
       {2, 2,
        [](const Args& a) -> CallResult {
          const std::int64_t d = ToInt64(a[1]);
          if (d == 0) return CallError{"runtime error: integer divide by zero", false};
          return Value::Int(ToInt64(a[0]) / d);
        }}},
      {"mod",
       {2, 2,
        [](const Args& a) -> CallResult {
          const std::int64_t d = ToInt64(a[1]);
          if (d == 0) return CallError{"runtime error: integer divide by zero", false};
          return Value::Int(ToInt64(a[0]) % d);
        }}},
      {"max",
       {1, -1,
        [](const Args& a) -> CallResult {
          std::int64_t m = ToInt64(a[0]);
          for (const auto& v : a) m = std::max(m, ToInt64(v));
          return Value::Int(m);
        }}},
      {"min",
       {1, -1,
        [](const Args& a) -> CallResult {
          std::int64_t m = ToInt64(a[0]);
          for (const auto& v : a) m = std::min(m, ToInt64(v));
          return Value::Int(m);
        }}},
      // ---- sprig: regular expressions ----
      {"regexMatch",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(re, a, 0);
          ARG_STRING(s, a, 1);
          auto r = GoRegexp::Compile(re);
          return Value::Bool(r.ok() && r->MatchString(s));
        }}},
      {"regexFind",
       {2, 2,
        [](const Args& a) -> CallResult {
          ARG_STRING(re, a, 0);
          ARG_STRING(s, a, 1);
          auto r = GoRegexp::Compile(re);
          if (!r.ok()) return CallError{r.error().message(), false};
          return Value::String(r->FindString(s).value_or(""));
        }}},
      {"regexReplaceAll",
       {3, 3,
        [](const Args& a) -> CallResult {
          ARG_STRING(re, a, 0);
          ARG_STRING(s, a, 1);
          ARG_STRING(repl, a, 2);
          auto r = GoRegexp::Compile(re);
          if (!r.ok()) return CallError{r.error().message(), false};
          return Value::String(r->ReplaceAllString(s, repl));
        }}},
      {"regexReplaceAllLiteral",
       {3, 3,
        [](const Args& a) -> CallResult {
          ARG_STRING(re, a, 0);
          ARG_STRING(s, a, 1);
          ARG_STRING(repl, a, 2);
          auto r = GoRegexp::Compile(re);
          if (!r.ok()) return CallError{r.error().message(), false};
          return Value::String(r->ReplaceAllLiteralString(s, repl));
        }}},
  };
  static const bool once = [] {
    auto ordered = [](std::string name, bool (*want)(Cmp)) {
      (*table)[name] = FuncSpec{2, 2, [want](const Args& a) -> CallResult {
                                  auto c = Compare(a[0], a[1]);
                                  if (auto* e = std::get_if<CallError>(&c)) return *e;
                                  if (a[0].kind() == Value::Kind::kBool || a[0].is_nil()) {
                                    return CallError{"invalid type for comparison", false};
                                  }
                                  return Value::Bool(want(std::get<Cmp>(c)));
                                }};
    };
    ordered("lt", [](Cmp c) { return c == Cmp::kLess; });
    ordered("le", [](Cmp c) { return c == Cmp::kLess || c == Cmp::kEqual; });
    ordered("gt", [](Cmp c) { return c == Cmp::kGreater; });
    ordered("ge", [](Cmp c) { return c == Cmp::kGreater || c == Cmp::kEqual; });
    return true;
  }();
  (void)once;
  return *table;
}

#undef ARG_STRING
#undef ARG_INT

// ---- parser --------------------------------------------------------------------------------------

// Thread-safety: one instance per Template::Parse call.
class Parser {
 public:
  Parser(std::string_view name, std::vector<Segment> segs) : name_(name), segs_(std::move(segs)) {}

  Result<std::vector<Node>> ParseTop() {
    End end;
    ARCA_ASSIGN_OR_RETURN(std::vector<Node> nodes, ParseList(&end));
    if (!end.keyword.empty()) return Err(end.line, "unexpected {{" + end.keyword + "}}");
    return nodes;
  }

 private:
  struct End {
    std::string keyword;  // "end", "else", or "" at the end of the text
    std::vector<Token> rest;
    int line = 0;
  };

  Error Err(int line, const std::string& msg) const { return SyntaxError(name_, line, msg); }

  Result<std::vector<Node>> ParseList(End* end) {
    std::vector<Node> nodes;
    while (i_ < segs_.size()) {
      const Segment& seg = segs_[i_++];
      if (seg.is_text) {
        Node n;
        n.kind = Node::Kind::kText;
        n.text = seg.content;
        n.line = seg.line;
        nodes.push_back(std::move(n));
        continue;
      }
      ARCA_ASSIGN_OR_RETURN(std::vector<Token> toks, Lex(name_, seg.line, seg.content));
      if (toks.empty()) return Err(seg.line, "missing value for command");
      const Token& first = toks.front();
      if (first.type == Tok::kKeyword) {
        if (first.text == "end" || first.text == "else") {
          end->keyword = first.text;
          end->rest.assign(toks.begin() + 1, toks.end());
          end->line = seg.line;
          if (first.text == "end" && !end->rest.empty())
            return Err(seg.line, "unexpected " + end->rest.front().text + " in end");
          return nodes;
        }
        if (first.text == "if" || first.text == "range" || first.text == "with") {
          const Node::Kind kind = first.text == "if"      ? Node::Kind::kIf
                                  : first.text == "range" ? Node::Kind::kRange
                                                          : Node::Kind::kWith;
          ARCA_ASSIGN_OR_RETURN(Node n, ParseControl(kind, std::vector<Token>(toks.begin() + 1, toks.end()),
                                                     seg.line));
          nodes.push_back(std::move(n));
          continue;
        }
        if (first.text == "break" || first.text == "continue") {
          if (range_depth_ == 0) return Err(seg.line, "{{" + first.text + "}} outside {{range}}");
          if (toks.size() > 1) return Err(seg.line, "unexpected " + toks[1].text + " in {{" + first.text + "}}");
          Node n;
          n.kind = first.text == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
          n.line = seg.line;
          nodes.push_back(std::move(n));
          continue;
        }
        return Err(seg.line, "{{" + first.text + "}} is not supported (define, template and block)");
      }
      std::size_t pos = 0;
      ARCA_ASSIGN_OR_RETURN(auto pipe, ParsePipe(toks, &pos, seg.line, /*allow_decl=*/true, /*range=*/false, 0));
      if (pos != toks.size()) return Err(seg.line, "unexpected " + toks[pos].text + " in operand");
      Node n;
      n.kind = Node::Kind::kAction;
      n.pipe = std::move(pipe);
      n.line = seg.line;
      nodes.push_back(std::move(n));
    }
    end->keyword.clear();
    return nodes;
  }

  Result<Node> ParseControl(Node::Kind kind, std::vector<Token> toks, int line) {
    if (++nesting_ > kMaxNesting) return Err(line, "too deeply nested");
    const std::size_t mark = vars_.size();
    std::size_t pos = 0;
    ARCA_ASSIGN_OR_RETURN(auto pipe, ParsePipe(toks, &pos, line, true, kind == Node::Kind::kRange, 0));
    if (pos != toks.size()) return Err(line, "unexpected " + toks[pos].text + " in operand");
    Node node;
    node.kind = kind;
    node.pipe = std::move(pipe);
    node.line = line;
    if (kind == Node::Kind::kRange) ++range_depth_;
    End end;
    ARCA_ASSIGN_OR_RETURN(node.list, ParseList(&end));
    if (kind == Node::Kind::kRange) --range_depth_;
    const char* what = kind == Node::Kind::kIf ? "if" : kind == Node::Kind::kRange ? "range" : "with";
    if (end.keyword.empty()) return Err(line, "unexpected EOF: {{" + std::string(what) + "}} without {{end}}");
    if (end.keyword == "else") {
      if (end.rest.empty()) {
        End end2;
        ARCA_ASSIGN_OR_RETURN(node.else_list, ParseList(&end2));
        if (end2.keyword != "end") {
          return Err(end2.keyword.empty() ? line : end2.line,
                     end2.keyword.empty() ? "unexpected EOF: {{else}} without {{end}}"
                                          : "expected end; found {{" + end2.keyword + "}}");
        }
      } else if (end.rest.front().type == Tok::kKeyword &&
                 ((kind == Node::Kind::kIf && end.rest.front().text == "if") ||
                  (kind == Node::Kind::kWith && end.rest.front().text == "with"))) {
        ARCA_ASSIGN_OR_RETURN(Node nested,
                              ParseControl(kind, std::vector<Token>(end.rest.begin() + 1, end.rest.end()), end.line));
        node.else_list.push_back(std::move(nested));
      } else {
        return Err(end.line, "unexpected " + end.rest.front().text + " in else");
      }
    }
    vars_.resize(mark);
    --nesting_;
    return node;
  }

  bool Declared(const std::string& var) const {
    return std::find(vars_.begin(), vars_.end(), var) != vars_.end();
  }

  Result<std::shared_ptr<const Pipe>> ParsePipe(const std::vector<Token>& toks, std::size_t* pos, int line,
                                                bool allow_decl, bool range, int depth) {
    if (depth > kMaxNesting) return Err(line, "too deeply nested");
    auto pipe = std::make_shared<Pipe>();
    const std::size_t start = *pos;
    auto tok_at = [&](std::size_t k) -> const Token* { return k < toks.size() ? &toks[k] : nullptr; };
    if (allow_decl && tok_at(*pos) != nullptr && toks[*pos].type == Tok::kVariable) {
      const Token* t1 = tok_at(*pos + 1);
      if (t1 != nullptr && (t1->type == Tok::kDeclare || t1->type == Tok::kAssign)) {
        pipe->decl.push_back(toks[*pos].text);
        pipe->assign = t1->type == Tok::kAssign;
        *pos += 2;
      } else if (range && t1 != nullptr && t1->type == Tok::kComma && tok_at(*pos + 2) != nullptr &&
                 toks[*pos + 2].type == Tok::kVariable && tok_at(*pos + 3) != nullptr &&
                 (toks[*pos + 3].type == Tok::kDeclare || toks[*pos + 3].type == Tok::kAssign)) {
        pipe->decl.push_back(toks[*pos].text);
        pipe->decl.push_back(toks[*pos + 2].text);
        pipe->assign = toks[*pos + 3].type == Tok::kAssign;
        *pos += 4;
      }
      for (const auto& v : pipe->decl) {
        if (pipe->assign) {
          if (!Declared(v)) return Err(line, "undefined variable \"" + v + "\"");
        } else {
          vars_.push_back(v);
        }
      }
    }
    for (;;) {
      const Token* t = tok_at(*pos);
      if (t == nullptr || t->type == Tok::kRParen) break;
      ARCA_ASSIGN_OR_RETURN(Command cmd, ParseCommand(toks, pos, line, depth));
      if (!pipe->cmds.empty()) {
        const Arg& a0 = cmd.args.front();
        if (a0.kind == Arg::Kind::kLiteral || a0.kind == Arg::Kind::kDot || a0.kind == Arg::Kind::kNil) {
          return Err(line, "non executable command in pipeline stage " + std::to_string(pipe->cmds.size() + 1));
        }
      }
      pipe->cmds.push_back(std::move(cmd));
      const Token* after = tok_at(*pos);
      if (after != nullptr && after->type == Tok::kPipe) {
        ++*pos;
        const Token* next = tok_at(*pos);
        if (next == nullptr || next->type == Tok::kRParen || next->type == Tok::kPipe) {
          return Err(line, "missing value for command");
        }
        continue;
      }
      break;
    }
    if (pipe->cmds.empty()) return Err(line, "missing value for command");
    for (std::size_t k = start; k < *pos; ++k) {
      if (k > start) pipe->text.push_back(' ');
      pipe->text += toks[k].text;
    }
    return std::shared_ptr<const Pipe>(std::move(pipe));
  }

  Result<Command> ParseCommand(const std::vector<Token>& toks, std::size_t* pos, int line, int depth) {
    Command cmd;
    while (*pos < toks.size()) {
      const Token& t = toks[*pos];
      if (t.type == Tok::kPipe || t.type == Tok::kRParen) break;
      if (!cmd.args.empty() && !t.space_before) return Err(line, "missing space before " + t.text);
      ARCA_ASSIGN_OR_RETURN(Arg a, ParseOperand(toks, pos, line, depth));
      if (!cmd.text.empty()) cmd.text.push_back(' ');
      cmd.text += a.text;
      cmd.args.push_back(std::move(a));
    }
    if (cmd.args.empty()) return Err(line, "missing value for command");
    if (cmd.args.front().kind == Arg::Kind::kNil) return Err(line, "nil is not a command");
    return cmd;
  }

  Result<Arg> ParseOperand(const std::vector<Token>& toks, std::size_t* pos, int line, int depth) {
    const Token& t = toks[(*pos)++];
    Arg a;
    a.text = t.text;
    switch (t.type) {
      case Tok::kIdent:
        if (!Functions().contains(t.text)) return Err(line, "function \"" + t.text + "\" not defined");
        a.kind = Arg::Kind::kIdent;
        a.name = t.text;
        break;
      case Tok::kDot:
        a.kind = Arg::Kind::kDot;
        break;
      case Tok::kField:
        a.kind = Arg::Kind::kField;
        a.chain.push_back(t.text.substr(1));
        break;
      case Tok::kVariable:
        if (!Declared(t.text)) return Err(line, "undefined variable \"" + t.text + "\"");
        a.kind = Arg::Kind::kVariable;
        a.name = t.text;
        break;
      case Tok::kString:
      case Tok::kNumber:
      case Tok::kBool:
        a.kind = Arg::Kind::kLiteral;
        a.literal = t.value;
        break;
      case Tok::kNil:
        a.kind = Arg::Kind::kNil;
        break;
      case Tok::kLParen: {
        ARCA_ASSIGN_OR_RETURN(a.pipe, ParsePipe(toks, pos, line, true, false, depth + 1));
        if (*pos >= toks.size() || toks[*pos].type != Tok::kRParen) return Err(line, "unclosed left paren");
        ++*pos;
        a.kind = Arg::Kind::kPipe;
        a.text = "(" + a.pipe->text + ")";
        break;
      }
      default:
        return Err(line, "unexpected " + t.text + " in operand");
    }
    while (*pos < toks.size() && toks[*pos].type == Tok::kField && !toks[*pos].space_before) {
      if (a.kind == Arg::Kind::kLiteral || a.kind == Arg::Kind::kNil || a.kind == Arg::Kind::kDot) {
        return Err(line, "unexpected " + toks[*pos].text + " after " + a.text);
      }
      a.chain.push_back(toks[*pos].text.substr(1));
      a.text += toks[*pos].text;
      ++*pos;
    }
    return a;
  }

  std::string name_;
  std::vector<Segment> segs_;
  std::size_t i_ = 0;
  std::vector<std::string> vars_{"$"};
  int range_depth_ = 0;
  int nesting_ = 0;
};

// ---- executor ------------------------------------------------------------------------------------

enum class Flow { kNormal, kBreak, kContinue };

// Thread-safety: one instance per Template::Execute call.
class Executor {
 public:
  Executor(const std::string& name, const Value& root, bool missing_key_error)
      : name_(name), missing_key_error_(missing_key_error) {
    vars_.emplace_back("$", root);
  }

  std::string out;

  Result<Flow> Walk(const Value& dot, const std::vector<Node>& nodes) {
    for (const Node& n : nodes) {
      if (++steps_ > kMaxSteps) return Fail("<template>", "template execution exceeds its step budget");
      switch (n.kind) {
        case Node::Kind::kText:
          out += n.text;
          break;
        case Node::Kind::kAction: {
          line_ = n.line;
          ARCA_ASSIGN_OR_RETURN(Value v, EvalPipe(dot, *n.pipe, true));
          if (n.pipe->decl.empty()) out += v.is_nil() ? "<no value>" : FormatInner(v);
          break;
        }
        case Node::Kind::kIf:
        case Node::Kind::kWith: {
          line_ = n.line;
          const std::size_t mark = vars_.size();
          ARCA_ASSIGN_OR_RETURN(Value v, EvalPipe(dot, *n.pipe, true));
          Flow f = Flow::kNormal;
          if (Truth(v)) {
            ARCA_ASSIGN_OR_RETURN(f, Walk(n.kind == Node::Kind::kWith ? v : dot, n.list));
          } else {
            ARCA_ASSIGN_OR_RETURN(f, Walk(dot, n.else_list));
          }
          vars_.resize(mark);
          if (f != Flow::kNormal) return f;
          break;
        }
        case Node::Kind::kRange: {
          ARCA_ASSIGN_OR_RETURN(Flow f, Range(dot, n));
          (void)f;
          break;
        }
        case Node::Kind::kBreak:
          return Flow::kBreak;
        case Node::Kind::kContinue:
          return Flow::kContinue;
      }
      if (out.size() > kMaxOutput) return Fail("<output>", "template output exceeds 4 MiB");
    }
    return Flow::kNormal;
  }

 private:
  Error Fail(const std::string& at, const std::string& msg) const {
    return Error(Code::kInvalidParameter, "template: " + name_ + ":" + std::to_string(line_) +
                                              ": executing \"" + name_ + "\" at <" + at + ">: " + msg);
  }

  Result<Flow> Range(const Value& dot, const Node& n) {
    line_ = n.line;
    const std::size_t mark = vars_.size();
    ARCA_ASSIGN_OR_RETURN(Value v, EvalPipe(dot, *n.pipe, false));
    const auto& decl = n.pipe->decl;
    bool any = false;
    auto one = [&](const Value& key, const Value& elem) -> Result<Flow> {
      any = true;
      if (++steps_ > kMaxSteps) return Fail(n.pipe->text, "template execution exceeds its step budget");
      vars_.resize(mark);
      if (decl.size() == 1) {
        Bind(decl[0], elem, n.pipe->assign);
      } else if (decl.size() == 2) {
        Bind(decl[0], key, n.pipe->assign);
        Bind(decl[1], elem, n.pipe->assign);
      }
      return Walk(elem, n.list);
    };
    switch (v.kind()) {
      case Value::Kind::kList:
        for (std::size_t k = 0; k < v.as_list().size(); ++k) {
          ARCA_ASSIGN_OR_RETURN(Flow f, one(Value::Int(static_cast<std::int64_t>(k)), v.as_list()[k]));
          if (f == Flow::kBreak) break;
        }
        break;
      case Value::Kind::kMap:
        for (const auto& [k, e] : v.as_map()) {
          ARCA_ASSIGN_OR_RETURN(Flow f, one(Value::String(k), e));
          if (f == Flow::kBreak) break;
        }
        break;
      case Value::Kind::kInt:
        if (decl.size() > 1) return Fail(n.pipe->text, "can't use range over int with two variables");
        for (std::int64_t k = 0; k < v.as_int(); ++k) {
          ARCA_ASSIGN_OR_RETURN(Flow f, one(Value::Int(k), Value::Int(k)));
          if (f == Flow::kBreak) break;
        }
        break;
      case Value::Kind::kNil:
        break;
      default:
        return Fail(n.pipe->text, "range can't iterate over a value of type " + v.TypeName());
    }
    vars_.resize(mark);
    if (!any) {
      ARCA_ASSIGN_OR_RETURN(Flow f, Walk(dot, n.else_list));
      vars_.resize(mark);
      return f;
    }
    return Flow::kNormal;
  }

  void Bind(const std::string& var, const Value& v, bool assign) {
    if (assign) {
      for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
        if (it->first == var) {
          it->second = v;
          return;
        }
      }
    }
    vars_.emplace_back(var, v);
  }

  Result<Value> Variable(const std::string& var, const std::string& at) const {
    for (auto it = vars_.rbegin(); it != vars_.rend(); ++it) {
      if (it->first == var) return it->second;
    }
    return Fail(at, "undefined variable: " + var);
  }

  Result<Value> EvalPipe(const Value& dot, const Pipe& pipe, bool bind) {
    Value v;
    bool have = false;
    for (const Command& cmd : pipe.cmds) {
      ARCA_ASSIGN_OR_RETURN(v, EvalCommand(dot, cmd, have ? &v : nullptr));
      have = true;
    }
    if (bind) {
      for (const auto& var : pipe.decl) Bind(var, v, pipe.assign);
    }
    return v;
  }

  Result<Value> Fields(Value v, const std::vector<std::string>& chain, const std::string& at) const {
    for (const auto& f : chain) {
      if (v.kind() == Value::Kind::kMap) {
        auto it = v.as_map().find(f);
        if (it == v.as_map().end()) {
          if (missing_key_error_) return Fail(at, "map has no entry for key \"" + f + "\"");
          v = Value();
          continue;
        }
        Value next = it->second;
        v = std::move(next);
      } else if (v.is_nil()) {
        return Fail(at, "nil pointer evaluating interface {}." + f);
      } else {
        return Fail(at, "can't evaluate field " + f + " in type " + v.TypeName());
      }
    }
    return v;
  }

  Result<Value> EvalCommand(const Value& dot, const Command& cmd, const Value* final_value) {
    const Arg& first = cmd.args.front();
    if (first.kind == Arg::Kind::kIdent) {
      if (!first.chain.empty()) {
        if (cmd.args.size() > 1 || final_value != nullptr)
          return Fail(cmd.text, "can't give argument to non-function " + first.text);
        ARCA_ASSIGN_OR_RETURN(Value v, Call(first.name, dot, first.text, nullptr, nullptr));
        return Fields(std::move(v), first.chain, first.text);
      }
      return Call(first.name, dot, cmd.text, &cmd, final_value);
    }
    if (cmd.args.size() > 1 || final_value != nullptr) {
      return Fail(cmd.text, "can't give argument to non-function " + first.text);
    }
    return EvalArg(dot, first);
  }

  Result<Value> EvalArg(const Value& dot, const Arg& a) {
    switch (a.kind) {
      case Arg::Kind::kDot:
        return dot;
      case Arg::Kind::kField:
        return Fields(dot, a.chain, a.text);
      case Arg::Kind::kVariable: {
        ARCA_ASSIGN_OR_RETURN(Value v, Variable(a.name, a.text));
        return Fields(std::move(v), a.chain, a.text);
      }
      case Arg::Kind::kNil:
        return Value();
      case Arg::Kind::kLiteral:
        return a.literal;
      case Arg::Kind::kIdent: {
        ARCA_ASSIGN_OR_RETURN(Value v, Call(a.name, dot, a.text, nullptr, nullptr));
        return Fields(std::move(v), a.chain, a.text);
      }
      case Arg::Kind::kPipe: {
        const std::size_t mark = vars_.size();
        ARCA_ASSIGN_OR_RETURN(Value v, EvalPipe(dot, *a.pipe, true));
        vars_.resize(mark);
        return Fields(std::move(v), a.chain, a.text);
      }
    }
    return Value();
  }

  // Calls function `fn` with cmd->args[1..] (none without `cmd`), then `final_value` when given.
  Result<Value> Call(const std::string& fn, const Value& dot, const std::string& at, const Command* cmd,
                     const Value* final_value) {
    std::vector<const Arg*> nodes;
    if (cmd != nullptr) {
      for (std::size_t k = 1; k < cmd->args.size(); ++k) nodes.push_back(&cmd->args[k]);
    }
    const std::size_t argc = nodes.size() + (final_value != nullptr ? 1 : 0);
    const FuncSpec& spec = Functions().at(fn);
    if (spec.max_args >= 0 && spec.min_args == spec.max_args && static_cast<int>(argc) != spec.min_args) {
      return Fail(at, "wrong number of args for " + fn + ": want " + std::to_string(spec.min_args) + " got " +
                          std::to_string(argc));
    }
    if (static_cast<int>(argc) < spec.min_args) {
      return Fail(at, "wrong number of args for " + fn + ": want at least " + std::to_string(spec.min_args) +
                          " got " + std::to_string(argc));
    }
    if (spec.max_args >= 0 && static_cast<int>(argc) > spec.max_args) {
      return Fail(at, "wrong number of args for " + fn + ": want at most " + std::to_string(spec.max_args) +
                          " got " + std::to_string(argc));
    }
    if (fn == "and" || fn == "or") {
      Value v;
      for (std::size_t k = 0; k < argc; ++k) {
        if (k < nodes.size()) {
          ARCA_ASSIGN_OR_RETURN(v, EvalArg(dot, *nodes[k]));
        } else {
          v = *final_value;
        }
        const bool t = Truth(v);
        if ((fn == "and" && !t) || (fn == "or" && t)) return v;
      }
      return v;
    }
    Args values;
    values.reserve(argc);
    for (const Arg* node : nodes) {
      ARCA_ASSIGN_OR_RETURN(Value v, EvalArg(dot, *node));
      values.push_back(std::move(v));
    }
    if (final_value != nullptr) values.push_back(*final_value);
    CallResult r = spec.fn(values);
    if (auto* e = std::get_if<CallError>(&r)) {
      return Fail(at, e->type_error ? e->message : "error calling " + fn + ": " + e->message);
    }
    return std::get<Value>(std::move(r));
  }

  const std::string& name_;
  bool missing_key_error_ = true;
  std::size_t steps_ = 0;
  std::vector<std::pair<std::string, Value>> vars_;
  int line_ = 0;
};

}  // namespace

// ---- Template ------------------------------------------------------------------------------------

Template::Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

Result<Template> Template::Parse(std::string_view name, std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(std::vector<Segment> segs, Split(name, text));
  Parser p(name, std::move(segs));
  ARCA_ASSIGN_OR_RETURN(std::vector<Node> nodes, p.ParseTop());
  Template t;
  t.name_ = std::string(name);
  t.root_ = std::make_unique<std::vector<Node>>(std::move(nodes));
  return t;
}

Result<std::string> Template::Execute(const Value& dot, bool missing_key_error) const {
  Executor ex(name_, dot, missing_key_error);
  try {
    auto r = ex.Walk(dot, *root_);
    if (!r.ok()) {
      SecureWipe(ex.out);
      return std::move(r).error();
    }
  } catch (const std::exception& e) {
    SecureWipe(ex.out);
    return Error(Code::kInvalidParameter, "template: " + name_ + ": " + e.what());
  }
  return std::move(ex.out);
}

Result<std::string> ExecuteWithData(std::string_view name, std::string_view text,
                                    const std::map<std::string, std::string>& data) {
  ARCA_ASSIGN_OR_RETURN(Template t, Template::Parse(name, text));
  return t.Execute(DataValue(data));
}

}  // namespace arca::op::tmpl
