#pragma once
// STS: role sessions. StsService is the STS domain: GetCallerIdentity, AssumeRole (the role's trust policy is evaluated
// with the policy engine, together with the caller's identity policies, as AWS does) and
// AssumeRoleWithWebIdentity (a Kubernetes service-account token or other OIDC ID token, verified
// against the OIDC provider registered for its issuer, then the trust policy with the token's
// claims as condition keys "ISSUER:sub", "ISSUER:aud", "ISSUER:oaud"). Errors use AWS's codes and
// messages (ValidationError, AccessDenied, InvalidIdentityToken, ExpiredTokenException,
// IDPRejectedClaim: see core/result.h).
//
// The temporary credentials themselves are iam/sessions.h.
//
// Thread-safety: StsService may be used from any number of threads.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "crypto/keyring.h"
#include "iam/authorizer.h"  // RequestFacts
#include "iam/caller.h"
#include "iam/directory.h"
#include "iam/jwt.h"
#include "iam/policy.h"
#include "iam/sessions.h"

namespace arca::iam {

// What STS reads from IAM. The server adapts the Directory (DirectorySource below); tests use a
// small in-memory implementation.
class StsDirectory {
 public:
  virtual ~StsDirectory() = default;
  virtual Result<std::optional<Role>> FindRoleByArn(const std::string& arn) = 0;
  // By issuer ("https://host/path" as in a token's iss).
  virtual Result<std::optional<OidcProvider>> FindOidcProviderByUrl(const std::string& url) = 0;
  // The identity policies and tags of a user or a role session's role; empty for the root.
  virtual Result<PrincipalPolicies> PoliciesOf(const Caller& caller) = 0;
};

// The Directory as STS sees it.
class DirectorySource final : public StsDirectory {
 public:
  explicit DirectorySource(Directory& directory) : directory_(directory) {}
  Result<std::optional<Role>> FindRoleByArn(const std::string& arn) override {
    return directory_.FindRoleByArn(arn);
  }
  Result<std::optional<OidcProvider>> FindOidcProviderByUrl(const std::string& url) override {
    return directory_.FindOidcProviderByUrl(url);
  }
  Result<PrincipalPolicies> PoliciesOf(const Caller& caller) override {
    switch (caller.type) {
      case PrincipalType::kUser: return directory_.PoliciesOfUser(caller.principal);
      case PrincipalType::kAssumedRole: return directory_.PoliciesOfRole(caller.principal);
      case PrincipalType::kRoot: break;
    }
    return PrincipalPolicies{};
  }

 private:
  Directory& directory_;
};

struct StsOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
  // Tolerance on a web-identity token's exp, nbf and iat.
  std::chrono::seconds token_skew{60};
};

struct AssumeRoleInput {
  std::optional<std::string> role_arn;           // required
  std::optional<std::string> role_session_name;  // required
  std::optional<std::int64_t> duration_seconds;
  std::optional<std::string> external_id;
  // Names of request parameters Arca does not implement (Policy, PolicyArns, Tags, SerialNumber,
  // ...): refused rather than ignored, since ignoring a session policy would widen the session.
  std::vector<std::string> unsupported;
};

struct WebIdentityInput {
  std::optional<std::string> role_arn;            // required
  std::optional<std::string> role_session_name;   // required
  std::optional<std::string> web_identity_token;  // required
  std::optional<std::int64_t> duration_seconds;
  std::vector<std::string> unsupported;
};

struct CallerIdentity {
  std::string user_id;
  std::string account;
  std::string arn;
};

struct AssumedRole {
  TemporaryCredentials credentials;
  std::string assumed_role_id;  // ROLEID:SESSION
  std::string arn;              // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
  // AssumeRoleWithWebIdentity only.
  std::string subject;   // the token's sub
  std::string audience;  // the audience that matched (azp, or the aud value among the client ids)
  std::string provider;  // the OIDC provider's ARN
};

class StsService {
 public:
  StsService(StsDirectory& directory, SessionTokens& sessions, PolicyCache& policies, const Clock& clock,
             StsOptions options);
  ~StsService();

  CallerIdentity GetCallerIdentity(const Caller& caller) const;
  Result<AssumedRole> AssumeRole(const Caller& caller, const RequestFacts& facts, const AssumeRoleInput& in);
  // Unauthenticated: the token is the credential.
  Result<AssumedRole> AssumeRoleWithWebIdentity(const RequestFacts& facts, const WebIdentityInput& in);

 private:
  struct JwksEntry;
  Result<std::shared_ptr<const jwt::Jwks>> JwksOf(const OidcProvider& provider);
  Result<AssumedRole> Issue(const Role& role, const std::string& session_name, std::int64_t duration_seconds,
                            std::optional<WebIdentity> web_identity);

  StsDirectory& directory_;
  SessionTokens& sessions_;
  PolicyCache& policies_;
  const Clock& clock_;
  StsOptions options_;
  std::mutex jwks_mu_;
  std::unordered_map<std::string, std::shared_ptr<const JwksEntry>> jwks_;  // GUARDED_BY(jwks_mu_)
};

}  // namespace arca::iam
