#include "operator/go_text.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>
#include <vector>

namespace arca::op {
namespace {

constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int DecodeChar(char c, bool url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (!url && c == '+') return 62;
  if (!url && c == '/') return 63;
  if (url && c == '-') return 62;
  if (url && c == '_') return 63;
  return -1;
}

// Decodes one UTF-8 sequence at s[i]; returns the code point and its width, or -1 width 1 when
// invalid.
std::pair<std::int32_t, std::size_t> DecodeRune(std::string_view s, std::size_t i) {
  const auto c0 = static_cast<unsigned char>(s[i]);
  if (c0 < 0x80) return {c0, 1};
  auto cont = [&](std::size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto bits = [&](std::size_t k) { return static_cast<std::int32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (c0 >= 0xC2 && c0 < 0xE0 && cont(1)) return {((c0 & 0x1F) << 6) | bits(1), 2};
  if (c0 >= 0xE0 && c0 < 0xF0 && cont(1) && cont(2)) {
    const std::int32_t cp = ((c0 & 0x0F) << 12) | (bits(1) << 6) | bits(2);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) return {cp, 3};
    return {-1, 1};
  }
  if (c0 >= 0xF0 && c0 < 0xF5 && cont(1) && cont(2) && cont(3)) {
    const std::int32_t cp = ((c0 & 0x07) << 18) | (bits(1) << 12) | (bits(2) << 6) | bits(3);
    if (cp >= 0x10000 && cp <= 0x10FFFF) return {cp, 4};
  }
  return {-1, 1};
}

void AppendHex(std::string& out, std::uint32_t v, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) out.push_back(kHex[(v >> (4 * i)) & 0xF]);
}

}  // namespace

std::optional<std::string> GoBase64Decode(std::string_view in, bool url, std::size_t* bad_byte) {
  std::string clean;
  std::vector<std::size_t> where;  // original offsets, for the error position
  clean.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r' || in[i] == '\n') continue;
    clean.push_back(in[i]);
    where.push_back(i);
  }
  auto fail = [&](std::size_t at) -> std::optional<std::string> {
    if (bad_byte != nullptr) *bad_byte = at < where.size() ? where[at] : in.size();
    return std::nullopt;
  };
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  std::size_t i = 0;
  while (i < clean.size()) {
    std::uint32_t acc = 0;
    int n = 0;
    std::size_t j = 0;
    for (; j < 4 && i + j < clean.size(); ++j) {
      const char c = clean[i + j];
      if (c == '=') break;
      const int v = DecodeChar(c, url);
      if (v < 0) return fail(i + j);
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      ++n;
    }
    if (n == 4) {
      out.push_back(static_cast<char>((acc >> 16) & 0xFF));
      out.push_back(static_cast<char>((acc >> 8) & 0xFF));
      out.push_back(static_cast<char>(acc & 0xFF));
      i += 4;
      continue;
    }
    // A short quantum: padding must complete it, and nothing may follow.
    if (i + static_cast<std::size_t>(n) == clean.size()) return fail(i);  // input ended, no padding
    if (n < 2) return fail(i + static_cast<std::size_t>(n));
    const std::size_t pads = 4 - static_cast<std::size_t>(n);
    for (std::size_t p = 0; p < pads; ++p) {
      const std::size_t at = i + static_cast<std::size_t>(n) + p;
      if (at >= clean.size() || clean[at] != '=') return fail(at);
    }
    if (i + 4 != clean.size()) return fail(i + 4);
    acc <<= 6 * pads;
    out.push_back(static_cast<char>((acc >> 16) & 0xFF));
    if (n == 3) out.push_back(static_cast<char>((acc >> 8) & 0xFF));
    i += 4;
  }
  return out;
}

std::string GoBase64Encode(std::string_view in, bool url) {
  const std::string_view alphabet = url ? kUrlAlphabet : kStdAlphabet;
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8) |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 2]));
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const std::size_t rest = in.size() - i;
  if (rest > 0) {
    std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    auto [cp, width] = DecodeRune(s, i);
    if (cp < 0) {
      out += "\\x";
      AppendHex(out, static_cast<unsigned char>(s[i]), 2);
      i += 1;
      continue;
    }
    if (cp == '"' || cp == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 0x20 && cp < 0x7F) {
      out.push_back(static_cast<char>(cp));
    } else if (cp >= 0xA0 && cp != 0xAD && cp != 0x2028 && cp != 0x2029 && cp != 0xFEFF) {
      out.append(s.substr(i, width));  // printable beyond ASCII (approximately unicode.IsPrint)
    } else {
      switch (cp) {
        case '\a': out += "\\a"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\v': out += "\\v"; break;
        default:
          if (cp < 0x20 || cp == 0x7F) {
            out += "\\x";
            AppendHex(out, static_cast<std::uint32_t>(cp), 2);
          } else if (cp < 0x10000) {
            out += "\\u";
            AppendHex(out, static_cast<std::uint32_t>(cp), 4);
          } else {
            out += "\\U";
            AppendHex(out, static_cast<std::uint32_t>(cp), 8);
          }
      }
    }
    i += width;
  }
  out.push_back('"');
  return out;
}

std::string GoFormatFloatV(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, r.ptr);
  const std::size_t e = sci.find('e');
  const int exp = std::atoi(sci.c_str() + e + 1);
  if (exp < -4 || exp >= 6) return sci;  // Go writes "1e+06", as to_chars does
  r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::string GoJsonFloat(double d) {
  if (std::isnan(d) || std::isinf(d)) return "null";  // json.Marshal fails; callers print nothing
  const double a = std::fabs(d);
  char buf[400];
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    // "1e-07" -> "1e-7" as encoding/json writes it.
    const std::size_t e = s.find('e');
    if (e != std::string::npos && s.size() == e + 4 && s[e + 1] == '-' && s[e + 2] == '0') {
      s.erase(e + 2, 1);
    }
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

std::string GoJsonString(std::string_view s, bool escape_html) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\r') {
        out += "\\r";
      } else if (c == '\t') {
        out += "\\t";
      } else if (c < 0x20 || (escape_html && (c == '<' || c == '>' || c == '&'))) {
        out += "\\u00";
        AppendHex(out, c, 2);
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    auto [cp, width] = DecodeRune(s, i);
    if (cp < 0) {
      out += "\\ufffd";
    } else if (cp == 0x2028 || cp == 0x2029) {
      out += "\\u";
      AppendHex(out, static_cast<std::uint32_t>(cp), 4);
    } else {
      out.append(s.substr(i, width));
    }
    i += width;
  }
  out.push_back('"');
  return out;
}

}  // namespace arca::op
