#pragma once
// The authorization gate as the domains see it. A domain (secrets/, params/, iam/ itself) knows what
// an action touches (the resource's ARN, tags, resource policy, service-specific condition keys) and
// asks the request's Gate before it acts; iam/ implements the Gate with the policy engine. Domains do
// not depend on iam/: they see only this vocabulary.
//
// Thread-safety: ContextKeys is a value type. A Gate is used by one request at a time.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace arca::access {

// Condition keys and their values. Key names compare case-insensitively, as IAM's do
// ("aws:SourceIp" == "AWS:sourceip"); values are kept as given. A key may hold several values
// (aws:TagKeys); most hold one.
class ContextKeys {
 public:
  void Set(std::string_view key, std::string value);
  void Set(std::string_view key, std::vector<std::string> values);
  void Add(std::string_view key, std::string value);  // appends to a multi-valued key
  void Remove(std::string_view key);
  // The values of `key`, or nullptr when the request has no such key (the `Null` operator's "true").
  const std::vector<std::string>* Find(std::string_view key) const;
  // Every key, names in lower case.
  const std::vector<std::pair<std::string, std::vector<std::string>>>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<std::pair<std::string, std::vector<std::string>>> entries_;  // lower-case name -> values
};

// What an action is applied to.
struct Resource {
  // The resource's ARN; "*" for actions that name no resource (ListSecrets, GetRandomPassword,
  // CreateSecret checks the ARN it is about to create).
  std::string arn = "*";
  // How a denial message names the resource (AWS shows the id the client sent); the ARN when empty.
  std::string display;
  // The resource-based policy document attached to the resource, empty when none.
  std::string policy;
  // Resource condition keys: aws:ResourceTag/K, secretsmanager:ResourceTag/K, secretsmanager:Name,
  // secretsmanager:SecretId, secretsmanager:VersionStage, aws:RequestTag/K, aws:TagKeys, ...
  ContextKeys keys;
};

// Asked once per action a request performs (BatchGetSecretValue asks once per secret).
class Gate {
 public:
  virtual ~Gate() = default;
  // OK when `action` ("secretsmanager:GetSecretValue") is allowed on `resource`; otherwise
  // Code::kAccessDenied with AWS's message ("User: ARN is not authorized to perform: ACTION on
  // resource: ARN because ..."). Other codes only when the policy machinery itself fails.
  // `action_keys` holds the keys of this one call (secretsmanager:VersionStage, aws:RequestTag/K),
  // kept apart so a domain can keep a resource's description cached.
  virtual Status Authorize(std::string_view action, const Resource& resource,
                           const ContextKeys* action_keys) = 0;
  Status Authorize(std::string_view action, const Resource& resource) {
    return Authorize(action, resource, nullptr);
  }
  // The same question asked only to filter what a caller is shown (the change stream shows the
  // changes of secrets the caller may describe): a denial is the answer, not an event, so it is not
  // counted, reported to the alerter or named in the request's audit record. Gates that count or
  // report denials override it; the default asks Authorize.
  virtual Status CheckQuietly(std::string_view action, const Resource& resource) {
    return Authorize(action, resource, nullptr);
  }
};

// Checks a resource policy document with the policy engine's own grammar, so that a document a
// domain stores is one the engine can evaluate (iam/ implements it; domains must not parse
// policies on their own terms).
class PolicyValidator {
 public:
  virtual ~PolicyValidator() = default;
  // OK, or kMalformedPolicy with the engine's message.
  virtual Status ValidateResourcePolicy(std::string_view document) const = 0;
};

// A gate that allows everything: background work the server does for itself, and tests of domain
// rules. Never used for a client's request.
class AllowAll final : public Gate {
 public:
  using Gate::Authorize;
  Status Authorize(std::string_view /*action*/, const Resource& /*resource*/,
                   const ContextKeys* /*action_keys*/) override {
    return OkStatus();
  }
  static AllowAll& Instance();
};

}  // namespace arca::access
