#pragma once
// The authenticated principal of a request: the account root, an IAM user, or a role session made
// by STS (AssumeRole, AssumeRoleWithWebIdentity). SigV4 verification produces it; the authorizer
// and the audit record read it.
//
// Thread-safety: a value type.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace arca::iam {

enum class PrincipalType { kRoot, kUser, kAssumedRole };

// What AssumeRoleWithWebIdentity verified, kept for condition keys and the audit record.
struct WebIdentity {
  std::string provider_arn;  // arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH
  std::string issuer;        // the provider's URL without "https://" (the condition key prefix)
  std::string subject;       // the token's sub: system:serviceaccount:NS:NAME
  std::vector<std::string> audiences;  // the token's aud
};

struct Caller {
  PrincipalType type = PrincipalType::kRoot;
  std::string account;
  // arn:aws:iam::ACCOUNT:root, arn:aws:iam::ACCOUNT:user/PATH/NAME, or
  // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION.
  std::string arn;
  // GetCallerIdentity's UserId: the account id (root), the user's AIDA... id, or ROLEID:SESSION.
  std::string user_id;
  std::string access_key_id;
  // "root", the user name, or the role name.
  std::string principal;

  // Role sessions only.
  std::string role_arn;      // arn:aws:iam::ACCOUNT:role/PATH/NAME
  std::string role_id;       // AROA...
  std::string session_name;
  std::int64_t session_issued_ms = 0;
  std::int64_t session_expires_ms = 0;
  std::optional<WebIdentity> web_identity;

  bool is_root() const { return type == PrincipalType::kRoot; }
};

}  // namespace arca::iam
