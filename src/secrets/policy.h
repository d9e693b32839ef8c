#pragma once
// Resource policy documents: syntax checks for Put/ValidateResourcePolicy and the public-policy
// check behind BlockPublicPolicy. Evaluation belongs to iam/ (access control issue).

#include <string>
#include <vector>

#include "core/result.h"
#include "secrets/types.h"

namespace arca::secrets {

inline constexpr std::size_t kMaxResourcePolicySize = 20480;

// Structural problems of a policy document (empty when it is well formed). kMalformedPolicy when the
// text is not a JSON object at all.
Result<std::vector<ValidationError>> ValidatePolicyDocument(const std::string& text);

// True when an Allow statement grants access to everyone ("Principal": "*" or {"AWS": "*"}) without
// a condition that narrows it.
bool PolicyIsPublic(const std::string& text);

}  // namespace arca::secrets
