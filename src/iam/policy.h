#pragma once
// The policy engine: IAM policy documents parsed and compiled once, then evaluated with AWS's
// logic.
//
//   - explicit Deny in any applicable policy wins;
//   - otherwise Allow from an identity policy, or from the resource's policy when it names the
//     principal, allows (same account); a principal of another account needs both;
//   - otherwise the implicit (default) deny.
//   The account root of the resource's account is allowed unless a resource policy denies it
//   explicitly.
//
// Two refinements AWS documents (IAM User Guide, "AWS JSON policy elements: Principal" and
// "Policy evaluation logic"):
//   - naming an account ("123456789012" or "arn:aws:iam::123456789012:root") in a resource policy
//     *delegates* to that account: it matches every principal of the account (a Deny with it
//     applies to all of them), but its Allow grants a user or role only together with an Allow of
//     the caller's own identity policies. Naming the user, the role, the session, "*" or a
//     federated provider grants directly.
//   - a role's trust policy must itself allow (an identity Allow alone never lets anyone assume a
//     role).
//   NotPrincipal leaves a caller out only when every identity of the caller is listed (its account,
//   and each id in Principal::ids), as AWS advises to write it.
//
// Grammar: Version ("2012-10-17"; "2008-10-17" or none has no policy variables), Id, Statement
// (object or list) with Sid, Effect, Action/NotAction, Resource/NotResource, Principal/NotPrincipal
// (resource and trust policies only), Condition. Wildcards `*` and `?` in actions
// (case-insensitive) and resources (case-sensitive; a `*` spans ':' and '/'). Policy variables
// ${aws:username}, ${aws:userid}, ${aws:PrincipalTag/K}, any context key, ${*} ${?} ${$}, and
// defaults `${key, 'default'}`, substituted in Resource/NotResource and in condition values of
// String and Arn operators; substituted text is literal (never a wildcard), and a variable without
// a value (no key, or a key with several values) and without default matches nothing. Condition
// operators String*, Arn*, Numeric*, Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Null, each
// (but Null) with ...IfExists, and the ForAnyValue:/ForAllValues: set qualifiers, as AWS documents
// them.
//
// Thread-safety: CompiledPolicy is immutable; PolicyCache is thread-safe; Evaluate is pure (it uses
// a per-thread scratch buffer for policy variables).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/access.h"
#include "core/result.h"

namespace arca::iam {

enum class PolicyKind {
  kIdentity,  // attached to a user or role: Principal is not allowed
  kResource,  // attached to a secret: Principal/NotPrincipal required
  kTrust,     // a role's assume-role policy: Principal required, Resource optional, no NotPrincipal
};

class CompiledPolicy;  // defined in policy.cpp

// Parses and validates `document` (JSON text; callers enforce their own size limits). Errors are
// Code::kMalformedPolicy with IAM's messages: "Syntax errors in policy." (bad JSON, unknown or
// mistyped elements, unknown condition operators, both Action and NotAction, ...; the detail says
// which), "The policy failed legacy parsing" (a condition value that is not a number, date,
// boolean, IP range or base64 as its operator needs; an Effect in the wrong case), "Policy document
// should not specify a principal.", "Missing required field Principal", "Invalid principal in
// policy: "AWS":"x"", "Statement IDs (SID) in a single policy must be unique.", "Policy statement
// must contain actions.", "Policy statement must contain resources.", "Resource x must be in ARN
// format or "*".", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.".
Result<std::shared_ptr<const CompiledPolicy>> CompilePolicy(std::string_view document,
                                                            PolicyKind kind);

// One principal identifier a Principal element may name, as in the policy: the type ("AWS",
// "Federated", "Service", "CanonicalUser") and the value ("arn:aws:iam::123456789012:root",
// "123456789012", "arn:aws:iam::...:role/R", "*", an OIDC provider ARN, ...).
struct PrincipalId {
  std::string type;
  std::string value;
};

// Who is asking, as the engine sees it.
struct Principal {
  std::string arn;      // the caller's ARN (user, root or assumed-role session)
  std::string account;  // the caller's account id; empty for a web-identity caller
  bool is_root = false;
  // Every identifier a Principal element may use to name this caller: for a user its ARN; for a
  // role session the session ARN and the role's ARN; for a web-identity trust check the provider's
  // ARN as type "Federated". An account's root ARN or bare id matches any principal of that
  // account; "*" matches everyone.
  std::vector<PrincipalId> ids;
};

// One authorization question.
struct EvalRequest {
  std::string_view action;    // "secretsmanager:GetSecretValue"
  std::string_view resource;  // the resource ARN or "*"
  // The account owning the resource; empty means the caller's own account.
  std::string_view resource_account;
  const Principal* principal = nullptr;
  // Request context keys (aws:username, aws:SourceIp, aws:CurrentTime, aws:PrincipalTag/K,
  // secretsmanager:Name, ...). A key is looked up in `keys` first, then in each non-null entry of
  // `more_keys` (the resource's keys, the action's), so callers need not merge them.
  const access::ContextKeys* keys = nullptr;
  std::array<const access::ContextKeys*, 2> more_keys{};
  // The caller's identity policies (a role session gets its role's).
  std::vector<const CompiledPolicy*> identity_policies;
  const CompiledPolicy* resource_policy = nullptr;  // nullptr when the resource has none
};

enum class Decision {
  kAllow,
  kImplicitDeny,          // nothing allowed it (an identity-based policy would have to)
  kImplicitDenyResource,  // the resource-based policy (cross-account, or a trust policy) did not
                          // allow
  kExplicitDenyIdentity,  // a Deny statement in an identity policy matched
  kExplicitDenyResource,  // a Deny statement in the resource policy matched
};

struct EvalResult {
  Decision decision = Decision::kImplicitDeny;
  bool allowed() const { return decision == Decision::kAllow; }
};

EvalResult Evaluate(const EvalRequest& request);

// AWS's denial message (IAM User Guide, "Troubleshooting access denied error messages"):
// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no identity-based
// policy allows the ACTION action" | "... because no resource-based policy allows the ACTION
// action" | "... with an explicit deny in an identity-based policy" | "... with an explicit deny in
// a resource-based policy". " on resource: RESOURCE" is left out when the resource is empty or "*"
// (actions that name no resource). Empty for kAllow.
std::string DenialMessage(std::string_view principal_arn, std::string_view action,
                          std::string_view resource_display, Decision decision);

// The engine's check of resource policies, for domains that store them (core/access.h).
class EngineValidator final : public access::PolicyValidator {
 public:
  Status ValidateResourcePolicy(std::string_view document) const override;
};

// Compiled policies by document text, so a document is parsed once however often it is evaluated.
// Bounded (an arbitrary entry is dropped when full); entries are shared_ptr so a policy in use
// outlives its eviction. Documents that fail to compile are not cached.
//
// Thread-safety: all methods may be called concurrently.
class PolicyCache {
 public:
  explicit PolicyCache(std::size_t max_entries = 4096);
  Result<std::shared_ptr<const CompiledPolicy>> Get(std::string_view document, PolicyKind kind);
  std::size_t size();

 private:
  struct TextHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using Map = std::unordered_map<std::string, std::shared_ptr<const CompiledPolicy>, TextHash,
                                 std::equal_to<>>;

  std::size_t max_entries_;
  std::mutex mu_;
  std::array<Map, 3> entries_;  // by PolicyKind; GUARDED_BY(mu_)
  std::size_t count_ = 0;       // GUARDED_BY(mu_)
};

}  // namespace arca::iam
