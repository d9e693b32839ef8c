#pragma once
// The policy engine: IAM policy documents parsed and compiled once, then evaluated with AWS's logic.
//
//   - explicit Deny in any applicable policy wins;
//   - otherwise Allow from an identity policy, or from the resource's policy when it names the
//     principal, allows (same account); a principal of another account needs both;
//   - otherwise the implicit (default) deny.
//   The account root of the resource's account is allowed unless a resource policy denies it
//   explicitly.
//
// Grammar: Version ("2012-10-17"; "2008-10-17" has no policy variables), Id, Statement (object or
// list) with Sid, Effect, Action/NotAction, Resource/NotResource, Principal/NotPrincipal (resource and
// trust policies only), Condition. Wildcards `*` and `?` in actions (case-insensitive) and resources
// (case-sensitive). Policy variables ${aws:username}, ${aws:userid}, ${aws:PrincipalTag/K}, any
// context key, ${*} ${?} ${$}, and defaults `${key, 'default'}`, substituted in Resource and in
// condition values of String and Arn operators. Condition operators String*, Arn*, Numeric*,
// Date*, Bool, BinaryEquals, IpAddress/NotIpAddress, Null, each with ...IfExists, and the
// ForAnyValue:/ForAllValues: set qualifiers, as AWS documents them.
//
// Thread-safety: CompiledPolicy is immutable; PolicyCache is thread-safe; Evaluate is pure.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/result.h"

namespace arca::iam {

enum class PolicyKind {
  kIdentity,  // attached to a user or role: Principal is not allowed
  kResource,  // attached to a secret: Principal/NotPrincipal required
  kTrust,     // a role's assume-role policy: Principal required, actions sts:AssumeRole*
};

class CompiledPolicy;  // defined in policy.cpp

// Parses and validates `document` (JSON text, at most `max_bytes` when non-zero). Errors are
// Code::kMalformedPolicy with IAM's messages ("Syntax errors in policy.", "Policy document should
// not specify a principal.", "Missing required field Principal", "Invalid Version",
// "Unknown field Foo", ...).
Result<std::shared_ptr<const CompiledPolicy>> CompilePolicy(std::string_view document, PolicyKind kind);

// One principal identifier a Principal element may name, as in the policy: the type ("AWS",
// "Federated", "Service", "CanonicalUser") and the value ("arn:aws:iam::123456789012:root",
// "123456789012", "arn:aws:iam::...:role/R", "*", an OIDC provider ARN, ...).
struct PrincipalId {
  std::string type;
  std::string value;
};

// Who is asking, as the engine sees it.
struct Principal {
  std::string arn;       // the caller's ARN (user, root or assumed-role session)
  std::string account;   // the caller's account id
  bool is_root = false;
  // Every identifier a Principal element may use to name this caller: for a user its ARN; for a
  // role session the session ARN and the role's ARN; for a web-identity trust check the provider's
  // ARN as type "Federated". An account's root ARN or bare id matches any principal of that
  // account; "*" matches everyone.
  std::vector<PrincipalId> ids;
};

// One authorization question.
struct EvalRequest {
  std::string_view action;          // "secretsmanager:GetSecretValue"
  std::string_view resource;        // the resource ARN or "*"
  std::string_view resource_account;  // the account owning the resource
  const Principal* principal = nullptr;
  // Request context keys (aws:username, aws:SourceIp, aws:CurrentTime, aws:PrincipalTag/K,
  // secretsmanager:Name, ...) merged with the resource's.
  const access::ContextKeys* keys = nullptr;
  // The caller's identity policies (a role session gets its role's).
  std::vector<const CompiledPolicy*> identity_policies;
  const CompiledPolicy* resource_policy = nullptr;  // nullptr when the resource has none
};

enum class Decision {
  kAllow,
  kImplicitDeny,          // nothing allowed it
  kExplicitDenyIdentity,  // a Deny statement in an identity policy matched
  kExplicitDenyResource,  // a Deny statement in the resource policy matched
};

struct EvalResult {
  Decision decision = Decision::kImplicitDeny;
  bool allowed() const { return decision == Decision::kAllow; }
};

EvalResult Evaluate(const EvalRequest& request);

// AWS's denial message:
// "User: ARN is not authorized to perform: ACTION on resource: RESOURCE because no identity-based
// policy allows the ACTION action" | "... with an explicit deny in an identity-based policy" |
// "... with an explicit deny in a resource-based policy".
std::string DenialMessage(std::string_view principal_arn, std::string_view action,
                          std::string_view resource_display, Decision decision);

// Compiled policies by document text, so a document is parsed once however often it is evaluated.
// Bounded; entries are shared_ptr so a policy in use outlives its eviction.
class PolicyCache {
 public:
  explicit PolicyCache(std::size_t max_entries = 4096);
  Result<std::shared_ptr<const CompiledPolicy>> Get(std::string_view document, PolicyKind kind);

 private:
  std::size_t max_entries_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CompiledPolicy>> entries_;  // GUARDED_BY(mu_)
};

}  // namespace arca::iam
