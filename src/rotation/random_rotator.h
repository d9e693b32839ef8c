#pragma once
// arca-random: the built-in rotator for values Arca can generate itself (signing keys, API tokens,
// passwords that nothing else has to be told about).
//
// createSecret: unless a version with the token exists, makes the new value and stores it as
//   AWSPENDING. With the tag `arca:rotation:template` (a JSON object mapping fields to generators)
//   the value is AWSCURRENT's JSON object with those fields regenerated, other fields kept:
//     {"JWT_SECRET": {"random": {"bytes": 32, "encoding": "base64"}}}   (base64 | base64url | hex)
//     {"password": {"password": {"length": 32, "excludePunctuation": true}}}  (GetRandomPassword's
//       options: length, excludeCharacters, excludeNumbers, excludePunctuation, excludeUppercase,
//       excludeLowercase, includeSpace, requireEachIncludedType)
//   Without a template: a plain string secret gets 32 random bytes in base64, a binary secret 32
//   random bytes; a JSON object secret is refused (say which fields to generate).
// setSecret, testSecret: nothing to do (nothing outside Arca holds the value).
// finishSecret: moves AWSCURRENT to the token's version, as AWS's rotation template does.
//
// Thread-safety: stateless; RunStep may be called from any thread.

#include <string_view>

#include "rotation/rotator.h"

namespace arca::rotation {

inline constexpr std::string_view kRandomRotatorName = "arca-random";
inline constexpr std::string_view kTemplateTag = "arca:rotation:template";

class RandomRotator final : public Rotator {
 public:
  Status RunStep(SecretsApi& api, const StepRequest& request) override;
};

// The new value for `current` under `template_json` (empty: no template). Exposed for tests.
// Errors name the template field at fault, never a value.
Result<secrets::SecretValue> GenerateFromTemplate(std::string_view template_json,
                                                  const secrets::SecretValueOutput& current);

}  // namespace arca::rotation
