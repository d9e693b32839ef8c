#pragma once
// Identifiers: UUIDs and ARNs. Randomness comes from the caller (crypto::RandomBytes) so core stays
// free of OpenSSL.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace arca {

// Formats 16 random bytes as an RFC 4122 version-4 UUID ("xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx").
std::string FormatUuidV4(std::array<std::uint8_t, 16> bytes);
bool LooksLikeUuid(std::string_view s);

// A version-4-shaped UUID for ids that must be unique but need not be unpredictable (request ids):
// a per-thread PRNG seeded once from the OS, so it costs no lock and no system call.
std::string NewRequestUuid();

// arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
struct Arn {
  std::string partition = "aws";
  std::string service;
  std::string region;
  std::string account;
  std::string resource;

  std::string ToString() const;
  // nullopt unless s has the six colon-separated parts with "arn" first (RESOURCE may contain ':').
  static std::optional<Arn> Parse(std::string_view s);
};

}  // namespace arca
