#pragma once
// Directory: the IAM domain. Users, their access keys, roles with trust policies, customer managed
// policies with versions, attachments, inline policies, tags and OpenID Connect providers, with
// IAM's rules (names, paths, limits, error codes and messages). The IAM front-end (query protocol)
// only translates to and from it; the authorizer and STS read from it.
//
// Every operation of a client's request asks the request's access::Gate first (iam:CreateUser on
// arn:aws:iam::ACCOUNT:user/PATH/NAME, ...).
//
// Thread-safety: all methods may be called concurrently; each runs in its own store transaction.
//
// NOTE(lead): the entity types and the read side below are what STS and the authorizer use; the
// write side (one method per IAM action) is the implementer's to add in the same style.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "store/store.h"

namespace arca::iam {

using Tags = std::vector<std::pair<std::string, std::string>>;  // in the order given

struct User {
  std::string name;
  std::string path = "/";
  std::string user_id;  // "AIDA" + 17 characters
  std::string arn;      // arn:aws:iam::ACCOUNT:user/PATH/NAME (path without its leading '/')
  std::int64_t created_ms = 0;
  Tags tags;
};

struct Role {
  std::string name;
  std::string path = "/";
  std::string role_id;  // "AROA" + 17 characters
  std::string arn;      // arn:aws:iam::ACCOUNT:role/PATH/NAME
  std::string assume_role_policy;  // the trust policy document (JSON text)
  std::string description;
  std::int64_t max_session_duration = 3600;  // seconds, 3600..43200
  std::int64_t created_ms = 0;
  Tags tags;
};

struct ManagedPolicy {
  std::string name;
  std::string path = "/";
  std::string policy_id;  // "ANPA" + 17 characters
  std::string arn;        // arn:aws:iam::ACCOUNT:policy/PATH/NAME
  std::string description;
  std::string default_version_id = "v1";
  std::int64_t attachment_count = 0;
  std::int64_t created_ms = 0;
  std::int64_t updated_ms = 0;
  Tags tags;
};

struct PolicyVersion {
  std::string version_id;  // "v1", "v2", ...
  std::string document;    // JSON text, as given (URL-decoded)
  bool is_default = false;
  std::int64_t created_ms = 0;
};

struct OidcProvider {
  std::string arn;  // arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH
  std::string url;  // as IAM shows it: without "https://"
  std::vector<std::string> client_ids;   // the audiences tokens must name
  std::vector<std::string> thumbprints;
  // The issuer's JSON Web Key Set (Arca's extension: a cluster's issuer is often unreachable from the
  // server). Set from the server's config (inline or a file) or from the provider's tag
  // "arca:jwks-file" (a path on the server); empty when neither is set.
  std::string jwks;
  std::string jwks_file;
  std::int64_t created_ms = 0;
  Tags tags;
};

// What the authorizer needs about a principal: the identity policies that apply (the default
// version of each attached managed policy, then the inline policies) and its tags.
struct PrincipalPolicies {
  struct Named {
    std::string source;    // the policy's ARN, or "inline:NAME"
    std::string document;  // JSON text
  };
  std::vector<Named> policies;
  Tags tags;
};

struct DirectoryOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
};

class Directory {
 public:
  Directory(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
            DirectoryOptions options);
  ~Directory();

  // ---- read side used by STS and the authorizer (no gate: the server's own lookups) ----
  Result<std::optional<User>> FindUser(const std::string& name);
  Result<std::optional<Role>> FindRole(const std::string& name);
  Result<std::optional<Role>> FindRoleByArn(const std::string& arn);
  Result<std::optional<OidcProvider>> FindOidcProviderByArn(const std::string& arn);
  // By issuer URL ("https://host/path" or "host/path").
  Result<std::optional<OidcProvider>> FindOidcProviderByUrl(const std::string& url);
  Result<PrincipalPolicies> PoliciesOfUser(const std::string& name);
  Result<PrincipalPolicies> PoliciesOfRole(const std::string& name);

  // ---- the IAM API (each asks ctx's gate; declared by the implementer) ----

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::iam
