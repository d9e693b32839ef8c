#include "iam/authorizer.h"

#include <utility>

namespace arca::iam {

namespace {

void Merge(access::ContextKeys& into, const access::ContextKeys& from) {
  for (const auto& [key, values] : from.entries()) into.Set(key, values);
}

}  // namespace

RequestGate::RequestGate(Authorizer& authorizer, const Caller& caller, const RequestFacts& facts)
    : authorizer_(authorizer), caller_(caller), facts_(facts) {}

Status RequestGate::Authorize(std::string_view action, const access::Resource& resource,
                              const access::ContextKeys* action_keys) {
  constexpr std::size_t kMaxRecordedResources = 20;  // BatchGetSecretValue names up to 20
  if (resource.arn != "*" && resources_.size() < kMaxRecordedResources &&
      (resources_.empty() || resources_.back() != resource.arn)) {
    resources_.push_back(resource.arn);
  }
  Status decided = Decide(action, resource, action_keys);
  if (!decided.ok() && decided.error().code() == Code::kAccessDenied) {
    ++denials_;
    last_denied_action_ = std::string(action);
    last_denied_resource_ = resource.display.empty() ? resource.arn : resource.display;
  }
  return decided;
}

Status RequestGate::CheckQuietly(std::string_view action, const access::Resource& resource) {
  return Decide(action, resource, nullptr);
}

Status RequestGate::Decide(std::string_view action, const access::Resource& resource,
                           const access::ContextKeys* action_keys) {
  ARCA_ASSIGN_OR_RETURN(std::shared_ptr<const Authorizer::Identity> identity,
                        authorizer_.IdentityOf(caller_));
  if (!keys_built_) {
    keys_built_ = true;
    const TimePoint now = authorizer_.clock_.Now();
    keys_.Set("aws:CurrentTime", FormatIso8601(now));
    keys_.Set("aws:EpochTime", std::to_string(ToUnixMillis(now) / 1000));
    keys_.Set("aws:SecureTransport", facts_.secure_transport ? "true" : "false");
    if (!facts_.source_ip.empty()) keys_.Set("aws:SourceIp", facts_.source_ip);
    if (!facts_.user_agent.empty()) keys_.Set("aws:UserAgent", facts_.user_agent);
    if (!facts_.region.empty()) keys_.Set("aws:RequestedRegion", facts_.region);
    keys_.Set("aws:PrincipalAccount", caller_.account);
    keys_.Set("aws:userid", caller_.user_id);
    switch (caller_.type) {
      case PrincipalType::kRoot:
        keys_.Set("aws:PrincipalArn", caller_.arn);
        keys_.Set("aws:PrincipalType", "Account");
        break;
      case PrincipalType::kUser:
        keys_.Set("aws:PrincipalArn", caller_.arn);
        keys_.Set("aws:PrincipalType", "User");
        keys_.Set("aws:username", caller_.principal);
        break;
      case PrincipalType::kAssumedRole:
        keys_.Set("aws:PrincipalArn", caller_.role_arn);
        keys_.Set("aws:PrincipalType", "AssumedRole");
        if (caller_.web_identity.has_value()) {
          keys_.Set("aws:FederatedProvider", caller_.web_identity->provider_arn);
        }
        break;
    }
    for (const auto& [k, v] : identity->tags) keys_.Set("aws:PrincipalTag/" + k, v);
  }

  std::shared_ptr<const CompiledPolicy> resource_policy;
  if (!resource.policy.empty()) {
    // Documents were validated when stored; one that no longer compiles (a corrupted row) fails
    // the request closed rather than silently dropping its denies.
    auto compiled = authorizer_.ResourcePolicy(resource.policy);
    if (!compiled.ok()) {
      return Error(Code::kInternal, "internal", "stored resource policy of " + resource.arn +
                                                    " does not compile: " + compiled.error().message());
    }
    resource_policy = std::move(compiled).value();
  }

  access::ContextKeys keys = keys_;
  Merge(keys, resource.keys);
  if (action_keys != nullptr) Merge(keys, *action_keys);

  EvalRequest request;
  request.action = action;
  request.resource = resource.arn;
  request.resource_account = authorizer_.account_id_;
  request.principal = &identity->principal;
  request.keys = &keys;
  request.identity_policies.reserve(identity->policies.size());
  for (const auto& p : identity->policies) request.identity_policies.push_back(p.get());
  request.resource_policy = resource_policy.get();
  EvalResult result = Evaluate(request);
  if (result.allowed()) return OkStatus();
  const std::string& shown = resource.display.empty() ? resource.arn : resource.display;
  return Error(Code::kAccessDenied, DenialMessage(caller_.arn, action, shown, result.decision));
}

Authorizer::Authorizer(Directory& directory, store::Store& store, const Clock& clock,
                       std::string partition, std::string account_id)
    : directory_(directory),
      store_(store),
      clock_(clock),
      partition_(std::move(partition)),
      account_id_(std::move(account_id)) {}

Result<std::shared_ptr<const CompiledPolicy>> Authorizer::ResourcePolicy(const std::string& document) {
  return resource_policies_.Get(document, PolicyKind::kResource);
}

Result<std::shared_ptr<const Authorizer::Identity>> Authorizer::IdentityOf(const Caller& caller) {
  std::string key;
  switch (caller.type) {
    case PrincipalType::kRoot: key = "root"; break;
    case PrincipalType::kUser: key = "user\n" + caller.principal; break;
    case PrincipalType::kAssumedRole: key = "role\n" + caller.principal + "\n" + caller.arn; break;
  }
  const std::uint64_t seq = store_.ChangeSequence();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (identities_seq_ != seq) {
      identities_.clear();
      identities_seq_ = seq;
    }
    if (auto it = identities_.find(key); it != identities_.end()) return it->second;
  }

  auto identity = std::make_shared<Identity>();
  identity->principal.arn = caller.arn;
  identity->principal.account = caller.account;
  identity->principal.is_root = caller.is_root();
  identity->principal.ids.push_back({"AWS", caller.arn});
  if (caller.type != PrincipalType::kRoot) {
    PrincipalPolicies found;
    if (caller.type == PrincipalType::kUser) {
      ARCA_ASSIGN_OR_RETURN(found, directory_.PoliciesOfUser(caller.principal));
    } else {
      identity->principal.ids.push_back({"AWS", caller.role_arn});
      ARCA_ASSIGN_OR_RETURN(found, directory_.PoliciesOfRole(caller.principal));
    }
    for (const auto& named : found.policies) {
      // Validated when stored: one that no longer compiles fails closed (see RequestGate).
      auto compiled = CompilePolicy(named.document, PolicyKind::kIdentity);
      if (!compiled.ok()) {
        return Error(Code::kInternal, "internal",
                     "stored policy " + named.source + " does not compile: " + compiled.error().message());
      }
      identity->policies.push_back(std::move(compiled).value());
    }
    identity->tags = std::move(found.tags);
  }

  std::shared_ptr<const Identity> result = std::move(identity);
  std::lock_guard<std::mutex> lock(mu_);
  if (identities_seq_ == seq) {
    if (identities_.size() >= 4096) identities_.clear();
    identities_.emplace(std::move(key), result);
  }
  return result;
}

}  // namespace arca::iam
