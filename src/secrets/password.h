#pragma once
// GetRandomPassword's generator, also used by the rotation engine's `arca-random` rotator later.

#include "core/result.h"
#include "core/secret_bytes.h"
#include "secrets/types.h"

namespace arca::secrets {

inline constexpr std::int64_t kDefaultPasswordLength = 32;
inline constexpr std::int64_t kMaxPasswordLength = 4096;
inline constexpr char kPasswordPunctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

// kInvalidParameter for a length outside 1..4096, when every character is excluded, or when
// RequireEachIncludedType asks for more types than the length allows.
Result<SecretBytes> GenerateRandomPassword(const GetRandomPasswordInput& in);

}  // namespace arca::secrets
