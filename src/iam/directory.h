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
// Errors (arca::Code -> IAM's code): kNotFound NoSuchEntity, kAlreadyExists EntityAlreadyExists,
// kInvalidRequest DeleteConflict (the entity still has what must go first), kLimitExceeded
// LimitExceeded, kMalformedPolicy MalformedPolicyDocument, kValidation ValidationError (the API
// model's constraints), kInvalidParameter InvalidInput (IAM's own rules), kAccessDenied.
//
// Paging (List*): Marker and MaxItems (1..1000, default 100) as IAM's; the marker is opaque to
// clients (an offset into the listing).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "crypto/keyring.h"
#include "iam/caller.h"
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
  std::string role_id;             // "AROA" + 17 characters
  std::string arn;                 // arn:aws:iam::ACCOUNT:role/PATH/NAME
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
  std::string arn;                      // arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH
  std::string url;                      // as IAM shows it: without "https://"
  std::vector<std::string> client_ids;  // the audiences tokens must name
  std::vector<std::string> thumbprints;
  // The issuer's JSON Web Key Set (Arca's extension: a cluster's issuer is often unreachable from
  // the server). Set from the server's config (inline or a file) or from the provider's tag
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

class AccessKeys;

struct DirectoryOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
  // When set, told about access keys made inactive or deleted so its cache drops them at once.
  AccessKeys* access_keys = nullptr;
};

// What an IAM API call carries besides its input.
struct RequestContext {
  std::string request_id;
  // Asked before each action; never null for a client's request.
  access::Gate* gate = &access::AllowAll::Instance();
  // Who is asking: GetUser, CreateAccessKey, ListAccessKeys, UpdateAccessKey and DeleteAccessKey
  // without a UserName act on the caller's own user (the root's own keys for the root). May be null
  // (then UserName is required).
  const Caller* caller = nullptr;
};

struct PageInput {
  std::optional<std::string> marker;
  std::optional<std::int64_t> max_items;
};

template <typename T>
struct Page {
  std::vector<T> items;
  bool is_truncated = false;
  std::string marker;  // set when truncated: pass it back for the next page
};

struct CreateUserInput {
  std::string user_name;
  std::optional<std::string> path;
  Tags tags;
};

struct AccessKeyInfo {
  std::string user_name;  // empty for the root's own keys
  std::string access_key_id;
  std::string status;  // Active | Inactive
  std::int64_t created_ms = 0;
};

// CreateAccessKey's answer: the only time the secret is shown.
struct CreatedAccessKey {
  AccessKeyInfo key;
  SecretBytes secret_access_key;
};

struct CreateRoleInput {
  std::string role_name;
  std::optional<std::string> path;
  std::string assume_role_policy_document;
  std::optional<std::string> description;
  std::optional<std::int64_t> max_session_duration;
  Tags tags;
};

struct UpdateRoleInput {
  std::string role_name;
  std::optional<std::string> description;
  std::optional<std::int64_t> max_session_duration;
};

struct CreatePolicyInput {
  std::string policy_name;
  std::optional<std::string> path;
  std::string policy_document;
  std::optional<std::string> description;
  Tags tags;
};

struct ListPoliciesInput {
  std::optional<std::string> scope;  // All | AWS | Local
  bool only_attached = false;
  std::optional<std::string> path_prefix;
  std::optional<std::string> policy_usage_filter;  // PermissionsPolicy | PermissionsBoundary
  PageInput page;
};

struct AttachedPolicy {
  std::string policy_name;
  std::string policy_arn;
};

struct InlinePolicy {
  std::string owner_name;  // the user's or role's name
  std::string policy_name;
  std::string document;
};

struct CreateOidcProviderInput {
  std::string url;  // "https://host/path"
  std::vector<std::string> client_ids;
  std::vector<std::string> thumbprints;
  Tags tags;
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

  // The server's own registration of an OIDC provider from its config (no gate): creates the
  // provider for `url` ("https://host/path") or updates the existing one's client ids and JWKS
  // (inline text or a file path; either may be empty). Thumbprints and tags are kept.
  Result<OidcProvider> EnsureOidcProvider(const std::string& url,
                                          const std::vector<std::string>& client_ids,
                                          const std::string& jwks, const std::string& jwks_file);

  // ---- the IAM API: each asks ctx's gate first (action "iam:<Action>", the entity's ARN) ----

  // Users.
  Result<User> CreateUser(const RequestContext& ctx, const CreateUserInput& in);
  // Without a name: the caller's own user (the root answers with its account id and ARN and an
  // empty name).
  Result<User> GetUser(const RequestContext& ctx, const std::optional<std::string>& user_name);
  Result<Page<User>> ListUsers(const RequestContext& ctx,
                               const std::optional<std::string>& path_prefix,
                               const PageInput& page);
  Status DeleteUser(const RequestContext& ctx, const std::string& user_name);
  Status TagUser(const RequestContext& ctx, const std::string& user_name, const Tags& tags);
  Status UntagUser(const RequestContext& ctx, const std::string& user_name,
                   const std::vector<std::string>& keys);
  Result<Page<std::pair<std::string, std::string>>> ListUserTags(const RequestContext& ctx,
                                                                 const std::string& user_name,
                                                                 const PageInput& page);

  // Access keys of a user (or, without a name, of the caller). The secret is sealed at rest
  // (aad = access key id) and returned only by CreateAccessKey.
  Result<CreatedAccessKey> CreateAccessKey(const RequestContext& ctx,
                                           const std::optional<std::string>& user_name);
  Result<Page<AccessKeyInfo>> ListAccessKeys(const RequestContext& ctx,
                                             const std::optional<std::string>& user_name,
                                             const PageInput& page);
  Status UpdateAccessKey(const RequestContext& ctx, const std::optional<std::string>& user_name,
                         const std::string& access_key_id, const std::string& status);
  Status DeleteAccessKey(const RequestContext& ctx, const std::optional<std::string>& user_name,
                         const std::string& access_key_id);

  // Roles.
  Result<Role> CreateRole(const RequestContext& ctx, const CreateRoleInput& in);
  Result<Role> GetRole(const RequestContext& ctx, const std::string& role_name);
  Result<Page<Role>> ListRoles(const RequestContext& ctx,
                               const std::optional<std::string>& path_prefix,
                               const PageInput& page);
  Status DeleteRole(const RequestContext& ctx, const std::string& role_name);
  Status UpdateRole(const RequestContext& ctx, const UpdateRoleInput& in);
  Status UpdateAssumeRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                const std::string& policy_document);
  Status TagRole(const RequestContext& ctx, const std::string& role_name, const Tags& tags);
  Status UntagRole(const RequestContext& ctx, const std::string& role_name,
                   const std::vector<std::string>& keys);
  Result<Page<std::pair<std::string, std::string>>> ListRoleTags(const RequestContext& ctx,
                                                                 const std::string& role_name,
                                                                 const PageInput& page);

  // Customer managed policies and their versions.
  Result<ManagedPolicy> CreatePolicy(const RequestContext& ctx, const CreatePolicyInput& in);
  Result<ManagedPolicy> GetPolicy(const RequestContext& ctx, const std::string& policy_arn);
  Result<Page<ManagedPolicy>> ListPolicies(const RequestContext& ctx, const ListPoliciesInput& in);
  Status DeletePolicy(const RequestContext& ctx, const std::string& policy_arn);
  Result<PolicyVersion> CreatePolicyVersion(const RequestContext& ctx,
                                            const std::string& policy_arn,
                                            const std::string& policy_document,
                                            bool set_as_default);
  Result<PolicyVersion> GetPolicyVersion(const RequestContext& ctx, const std::string& policy_arn,
                                         const std::string& version_id);
  // Newest first; documents are not included (as IAM's).
  Result<Page<PolicyVersion>> ListPolicyVersions(const RequestContext& ctx,
                                                 const std::string& policy_arn,
                                                 const PageInput& page);
  Status DeletePolicyVersion(const RequestContext& ctx, const std::string& policy_arn,
                             const std::string& version_id);
  Status SetDefaultPolicyVersion(const RequestContext& ctx, const std::string& policy_arn,
                                 const std::string& version_id);

  // Attachments.
  Status AttachUserPolicy(const RequestContext& ctx, const std::string& user_name,
                          const std::string& policy_arn);
  Status DetachUserPolicy(const RequestContext& ctx, const std::string& user_name,
                          const std::string& policy_arn);
  Result<Page<AttachedPolicy>> ListAttachedUserPolicies(
      const RequestContext& ctx, const std::string& user_name,
      const std::optional<std::string>& path_prefix, const PageInput& page);
  Status AttachRolePolicy(const RequestContext& ctx, const std::string& role_name,
                          const std::string& policy_arn);
  Status DetachRolePolicy(const RequestContext& ctx, const std::string& role_name,
                          const std::string& policy_arn);
  Result<Page<AttachedPolicy>> ListAttachedRolePolicies(
      const RequestContext& ctx, const std::string& role_name,
      const std::optional<std::string>& path_prefix, const PageInput& page);

  // Inline policies.
  Status PutUserPolicy(const RequestContext& ctx, const std::string& user_name,
                       const std::string& policy_name, const std::string& policy_document);
  Result<InlinePolicy> GetUserPolicy(const RequestContext& ctx, const std::string& user_name,
                                     const std::string& policy_name);
  Result<Page<std::string>> ListUserPolicies(const RequestContext& ctx,
                                             const std::string& user_name, const PageInput& page);
  Status DeleteUserPolicy(const RequestContext& ctx, const std::string& user_name,
                          const std::string& policy_name);
  Status PutRolePolicy(const RequestContext& ctx, const std::string& role_name,
                       const std::string& policy_name, const std::string& policy_document);
  Result<InlinePolicy> GetRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                     const std::string& policy_name);
  Result<Page<std::string>> ListRolePolicies(const RequestContext& ctx,
                                             const std::string& role_name, const PageInput& page);
  Status DeleteRolePolicy(const RequestContext& ctx, const std::string& role_name,
                          const std::string& policy_name);

  // OpenID Connect providers.
  Result<OidcProvider> CreateOpenIDConnectProvider(const RequestContext& ctx,
                                                   const CreateOidcProviderInput& in);
  Result<OidcProvider> GetOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn);
  Result<std::vector<std::string>> ListOpenIDConnectProviders(const RequestContext& ctx);  // ARNs
  Status DeleteOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn);
  Status AddClientIDToOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                            const std::string& client_id);
  Status RemoveClientIDFromOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                                 const std::string& client_id);
  Status UpdateOpenIDConnectProviderThumbprint(const RequestContext& ctx, const std::string& arn,
                                               const std::vector<std::string>& thumbprints);
  Status TagOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                  const Tags& tags);
  Status UntagOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                    const std::vector<std::string>& keys);
  Result<Page<std::pair<std::string, std::string>>> ListOpenIDConnectProviderTags(
      const RequestContext& ctx, const std::string& arn, const PageInput& page);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arca::iam
