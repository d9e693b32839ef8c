#pragma once
// Hashes, HMAC, constant-time comparison and encodings (all over OpenSSL).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret_bytes.h"

namespace arca::crypto {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest Sha256(std::string_view data);
std::string Sha256Hex(std::string_view data);  // lower-case hex
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// Constant-time equality: the only way Arca compares secrets, MACs and signatures. Different lengths
// compare unequal (the length itself is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

std::string HexEncode(std::string_view bytes);  // lower case
std::optional<std::string> HexDecode(std::string_view hex);
std::string Base64Encode(std::string_view bytes);  // standard alphabet, padded
// Strict standard base64 (padding required, no whitespace); nullopt on any invalid input.
std::optional<std::string> Base64Decode(std::string_view text);
// Same, for secrets: the decoded bytes never live in an ordinary std::string.
std::optional<SecretBytes> Base64DecodeSecret(std::string_view text);

inline std::string_view AsView(const Sha256Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};  // NOLINT
}

}  // namespace arca::crypto
