#pragma once
// Parameter policies (PutParameter's Policies): a JSON array of Expiration,
// ExpirationNotification and NoChangeNotification policies, checked as Parameter Store does.
//
// Thread-safety: pure functions.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "params/meta.h"

namespace arca::params {

struct ParsedPolicies {
  std::vector<StoredPolicy> policies;      // empty for "[]" (which removes a parameter's policies)
  std::optional<std::int64_t> expires_ms;  // the Expiration policy's time
};

// Errors: InvalidPolicyTypeException, InvalidPolicyAttributeException, IncompatiblePolicyException,
// PoliciesLimitExceededException, or ValidationException for a document that is not a JSON array.
Result<ParsedPolicies> ParsePolicies(std::string_view text, TimePoint now);

// The time an Expiration policy names: ISO_INSTANT ("2030-12-02T21:34:33.000Z") or
// ISO_OFFSET_DATE_TIME ("2030-11-01T22:13:48.87+10:30"). false on anything else.
bool ParsePolicyTimestamp(std::string_view s, std::int64_t* unix_ms);

}  // namespace arca::params
