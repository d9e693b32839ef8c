#pragma once
// Authorizer: the access::Gate of each request, backed by the policy engine (iam/policy.h) and the
// IAM directory. The gate knows who asks (the Caller) and the request's own condition keys
// (aws:SourceIp, aws:SecureTransport, aws:CurrentTime, aws:username, aws:PrincipalTag/K, web-identity
// keys); the domain adds the resource's (ARN, resource policy, tags) and the call's keys.
//
// A principal's identity policies and tags are loaded from the directory once and kept, compiled,
// until the store's change sequence moves (any committed write): evaluation never re-parses a
// document. Resource policies are compiled once per document text (PolicyCache).
//
// Thread-safety: Authorizer is thread-safe; a RequestGate belongs to one request.

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
#include "iam/caller.h"
#include "iam/directory.h"
#include "iam/policy.h"
#include "store/store.h"

namespace arca::iam {

// The facts of a request the gate turns into condition keys.
struct RequestFacts {
  std::string source_ip;
  std::string user_agent;
  bool secure_transport = false;
  std::string region;
};

class Authorizer;

class RequestGate final : public access::Gate {
 public:
  RequestGate(Authorizer& authorizer, const Caller& caller, const RequestFacts& facts);
  using access::Gate::Authorize;
  Status Authorize(std::string_view action, const access::Resource& resource,
                   const access::ContextKeys* action_keys) override;
  // Not counted in denials(), not reported, not added to resources().
  Status CheckQuietly(std::string_view action, const access::Resource& resource) override;
  // How many of this request's questions were denied (for metrics and alerts).
  int denials() const { return denials_; }
  const std::string& last_denied_action() const { return last_denied_action_; }
  const std::string& last_denied_resource() const { return last_denied_resource_; }
  // The ARNs of the resources this request asked about ("*" left out), in order, at most a few:
  // the audit record's `resources`.
  const std::vector<std::string>& resources() const { return resources_; }

 private:
  // The policy engine's decision; kAccessDenied carries AWS's message.
  Status Decide(std::string_view action, const access::Resource& resource,
                const access::ContextKeys* action_keys);

  Authorizer& authorizer_;
  const Caller& caller_;
  const RequestFacts& facts_;
  access::ContextKeys keys_;   // the request's keys, built on first use
  bool keys_built_ = false;
  int denials_ = 0;
  std::string last_denied_action_;
  std::string last_denied_resource_;
  std::vector<std::string> resources_;
};

class Authorizer {
 public:
  Authorizer(Directory& directory, store::Store& store, const Clock& clock, std::string partition,
             std::string account_id);

 private:
  friend class RequestGate;

  // What the engine needs about a principal, compiled.
  struct Identity {
    std::vector<std::shared_ptr<const CompiledPolicy>> policies;
    Tags tags;
    Principal principal;
  };
  Result<std::shared_ptr<const Identity>> IdentityOf(const Caller& caller);
  Result<std::shared_ptr<const CompiledPolicy>> ResourcePolicy(const std::string& document);

  Directory& directory_;
  store::Store& store_;
  const Clock& clock_;
  std::string partition_;
  std::string account_id_;
  PolicyCache resource_policies_;
  std::mutex mu_;
  std::uint64_t identities_seq_ = 0;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::shared_ptr<const Identity>> identities_;  // GUARDED_BY(mu_)
};

}  // namespace arca::iam
