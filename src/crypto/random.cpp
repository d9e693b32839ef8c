#include "crypto/random.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstdlib>

#include "core/ids.h"

namespace arca::crypto {

void RandomFill(void* out, std::size_t size) {
  auto* p = static_cast<unsigned char*>(out);
  while (size > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    if (RAND_bytes(p, chunk) != 1) {
      // No safe way to continue without randomness (keys, nonces, ids all depend on it).
      std::fprintf(stderr, "arca: fatal: the OpenSSL random generator failed (error %lu)\n",
                   ERR_get_error());
      std::abort();
    }
    p += chunk;
    size -= static_cast<std::size_t>(chunk);
  }
}

SecretBytes RandomSecret(std::size_t size) {
  SecretBytes out(size);
  if (size > 0) {
    RandomFill(out.data(), size);
  }
  return out;
}

std::uint32_t RandomBelow(std::uint32_t bound) {
  if (bound <= 1) {
    return 0;
  }
  // Rejection sampling: values below `threshold` would make the low residues more likely, so they
  // are redrawn. threshold = 2^32 mod bound; at most half the range is ever rejected.
  const std::uint32_t threshold = (0u - bound) % bound;
  for (;;) {
    std::uint32_t r = 0;
    RandomFill(&r, sizeof(r));
    if (r >= threshold) {
      return r % bound;
    }
  }
}

std::string NewUuid() {
  std::array<std::uint8_t, 16> bytes{};
  RandomFill(bytes.data(), bytes.size());
  return FormatUuidV4(bytes);
}

}  // namespace arca::crypto
