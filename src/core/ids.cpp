#include "core/ids.h"

#include <random>

namespace arca {

std::string FormatUuidV4(std::array<std::uint8_t, 16> b) {
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 0x0f];
  }
  return out;
}

std::string NewRequestUuid() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }();
  std::array<std::uint8_t, 16> b{};
  std::uint64_t hi = rng(), lo = rng();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<std::uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<std::uint8_t>(lo >> (8 * i));
  }
  return FormatUuidV4(b);
}

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

std::string Arn::ToString() const {
  return "arn:" + partition + ":" + service + ":" + region + ":" + account + ":" + resource;
}

std::optional<Arn> Arn::Parse(std::string_view s) {
  std::string_view parts[5];
  for (auto& part : parts) {
    auto colon = s.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    part = s.substr(0, colon);
    s.remove_prefix(colon + 1);
  }
  if (parts[0] != "arn" || parts[1].empty() || parts[2].empty()) return std::nullopt;
  Arn arn;
  arn.partition = std::string(parts[1]);
  arn.service = std::string(parts[2]);
  arn.region = std::string(parts[3]);
  arn.account = std::string(parts[4]);
  arn.resource = std::string(s);
  return arn;
}

}  // namespace arca
