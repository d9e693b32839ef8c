#pragma once
// AES-256-GCM with a 96-bit random nonce and a 128-bit tag.
// Sealed layout: nonce (12 bytes) || ciphertext || tag (16 bytes).

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::crypto {

inline constexpr std::size_t kAeadKeySize = 32;
inline constexpr std::size_t kAeadNonceSize = 12;
inline constexpr std::size_t kAeadTagSize = 16;

// key must be 32 bytes (kInternal otherwise).
Result<std::string> AeadSeal(const SecretBytes& key, std::string_view plaintext, std::string_view aad);
// Same with a caller-chosen nonce: for known-answer tests only.
Result<std::string> AeadSealWithNonceForTest(const SecretBytes& key, std::string_view nonce,
                                             std::string_view plaintext, std::string_view aad);
// kDecryptionFailure on a wrong key, wrong AAD, truncated input or any tampering.
Result<SecretBytes> AeadOpen(const SecretBytes& key, std::string_view sealed, std::string_view aad);

}  // namespace arca::crypto
