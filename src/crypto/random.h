#pragma once
// Cryptographically secure randomness (OpenSSL RAND_bytes). Aborts the process if the RNG fails:
// there is no safe way to continue without randomness.

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/secret_bytes.h"

namespace arca::crypto {

void RandomFill(void* out, std::size_t size);
SecretBytes RandomSecret(std::size_t size);
// A uniformly random integer in [0, bound), without modulo bias. bound > 0.
std::uint32_t RandomBelow(std::uint32_t bound);
// A random version-4 UUID, lower case.
std::string NewUuid();

}  // namespace arca::crypto
