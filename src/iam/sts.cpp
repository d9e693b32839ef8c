#include "iam/sts.h"

#include <sys/stat.h>

#include <fstream>
#include <iterator>

#include "core/ids.h"
#include "crypto/hash.h"

namespace arca::iam {

namespace {

constexpr std::int64_t kDefaultDurationSeconds = 3600;
constexpr std::int64_t kMinDurationSeconds = 900;
constexpr std::int64_t kMaxDurationSeconds = 43200;
constexpr std::int64_t kRoleChainingMaxSeconds = 3600;
constexpr std::size_t kMaxJwksFileBytes = 1 << 20;

constexpr std::string_view kWebIdentityDenied = "Not authorized to perform sts:AssumeRoleWithWebIdentity";
constexpr std::string_view kNoVerificationKey =
    "Couldn't retrieve verification key from your identity provider,  please reference "
    "AssumeRoleWithWebIdentity documentation for requirements";

// ---- request validation with AWS's messages ----

// Collects model-constraint violations: "N validation error(s) detected: Value 'x' at 'member' failed
// to satisfy constraint: Member must ...; Value ...".
class Violations {
 public:
  void Add(std::string_view member, std::optional<std::string_view> value, std::string_view constraint,
           bool sensitive = false) {
    std::string item = "Value ";
    if (!value.has_value()) {
      item += "null ";
    } else if (!sensitive) {
      item += "'" + std::string(*value) + "' ";
    }
    item += "at '" + std::string(member) + "' failed to satisfy constraint: Member must " +
            std::string(constraint);
    items_.push_back(std::move(item));
  }
  void AddNumber(std::string_view member, std::int64_t value, std::string_view constraint) {
    items_.push_back("Value '" + std::to_string(value) + "' at '" + std::string(member) +
                     "' failed to satisfy constraint: Member must " + std::string(constraint));
  }
  bool empty() const { return items_.empty(); }
  Error ToError() const {
    std::string msg = std::to_string(items_.size()) +
                      (items_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
    for (std::size_t i = 0; i < items_.size(); ++i) {
      if (i > 0) msg += "; ";
      msg += items_[i];
    }
    return Error(Code::kValidation, std::move(msg));
  }

 private:
  std::vector<std::string> items_;
};

bool IsSessionNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

void CheckRoleArn(const std::optional<std::string>& arn, Violations& v) {
  if (!arn.has_value()) {
    v.Add("roleArn", std::nullopt, "not be null");
    return;
  }
  if (arn->size() < 20) v.Add("roleArn", *arn, "have length greater than or equal to 20");
  if (arn->size() > 2048) v.Add("roleArn", *arn, "have length less than or equal to 2048");
}

void CheckSessionName(const std::optional<std::string>& name, Violations& v) {
  if (!name.has_value()) {
    v.Add("roleSessionName", std::nullopt, "not be null");
    return;
  }
  if (name->size() < 2) v.Add("roleSessionName", *name, "have length greater than or equal to 2");
  if (name->size() > 64) v.Add("roleSessionName", *name, "have length less than or equal to 64");
  for (char c : *name) {
    if (!IsSessionNameChar(c)) {
      v.Add("roleSessionName", *name, "satisfy regular expression pattern: [\\w+=,.@-]*");
      break;
    }
  }
}

void CheckDuration(const std::optional<std::int64_t>& d, Violations& v) {
  if (!d.has_value()) return;
  if (*d < kMinDurationSeconds) v.AddNumber("durationSeconds", *d, "have value greater than or equal to 900");
  if (*d > kMaxDurationSeconds) v.AddNumber("durationSeconds", *d, "have value less than or equal to 43200");
}

Status RefuseUnsupported(const std::vector<std::string>& names, std::string_view operation) {
  if (names.empty()) return OkStatus();
  std::string list;
  for (const auto& n : names) {
    if (!list.empty()) list += ", ";
    list += n;
  }
  return Error(Code::kValidation, "Arca does not support the " + std::string(operation) + " parameter(s): " +
                                      list + ".");
}

// The role ARN's shape: arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME.
bool IsRoleArn(std::string_view s) {
  std::optional<Arn> arn = Arn::Parse(s);
  return arn.has_value() && arn->service == "iam" && arn->region.empty() && !arn->account.empty() &&
         arn->resource.starts_with("role/") && arn->resource.size() > 5 && arn->resource.back() != '/';
}

std::string StripHttps(std::string_view url) {
  if (url.starts_with("https://")) url.remove_prefix(8);
  return std::string(url);
}

}  // namespace

// ============================== StsService ==============================

struct StsService::JwksEntry {
  std::string stamp;  // what the JWKS was read from: the inline text's hash or the file's identity
  std::shared_ptr<const jwt::Jwks> jwks;
};

StsService::StsService(StsDirectory& directory, SessionTokens& sessions, PolicyCache& policies,
                       const Clock& clock, StsOptions options)
    : directory_(directory), sessions_(sessions), policies_(policies), clock_(clock), options_(std::move(options)) {}

StsService::~StsService() = default;

CallerIdentity StsService::GetCallerIdentity(const Caller& caller) const {
  return CallerIdentity{caller.user_id, caller.account, caller.arn};
}

Result<std::shared_ptr<const jwt::Jwks>> StsService::JwksOf(const OidcProvider& provider) {
  auto no_key = [&](std::string detail) {
    return Error(Code::kInvalidIdentityToken, std::string(kNoVerificationKey),
                 "OIDC provider " + provider.arn + ": " + std::move(detail));
  };
  std::string stamp;
  if (!provider.jwks.empty()) {
    stamp = "inline:" + crypto::Sha256Hex(provider.jwks);
  } else if (!provider.jwks_file.empty()) {
    struct stat st {};
    if (::stat(provider.jwks_file.c_str(), &st) != 0) {
      return no_key("cannot stat JWKS file " + provider.jwks_file);
    }
    stamp = "file:" + provider.jwks_file + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
            ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
  } else {
    return no_key("it has no JWKS (set it inline or as a file)");
  }
  {
    std::lock_guard<std::mutex> lock(jwks_mu_);
    auto it = jwks_.find(provider.arn);
    if (it != jwks_.end() && it->second->stamp == stamp) return it->second->jwks;
  }
  std::string text;
  if (!provider.jwks.empty()) {
    text = provider.jwks;
  } else {
    std::ifstream in(provider.jwks_file, std::ios::binary);
    if (!in) return no_key("cannot open JWKS file " + provider.jwks_file);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.size() > kMaxJwksFileBytes) return no_key("JWKS file " + provider.jwks_file + " is too large");
  }
  auto parsed = jwt::Jwks::Parse(text);
  if (!parsed.ok()) return no_key(parsed.error().message());
  auto entry = std::make_shared<JwksEntry>();
  entry->stamp = std::move(stamp);
  entry->jwks = std::make_shared<const jwt::Jwks>(std::move(parsed).value());
  std::lock_guard<std::mutex> lock(jwks_mu_);
  jwks_[provider.arn] = entry;
  return entry->jwks;
}

Result<AssumedRole> StsService::Issue(const Role& role, const std::string& session_name,
                                      std::int64_t duration_seconds, std::optional<WebIdentity> web_identity) {
  const std::int64_t now_ms = ToUnixMillis(clock_.Now());
  const std::int64_t issued_ms = now_ms - now_ms % 1000;  // whole seconds, as Expiration is shown
  Caller session;
  session.type = PrincipalType::kAssumedRole;
  session.account = options_.account_id;
  if (std::optional<Arn> arn = Arn::Parse(role.arn); arn.has_value()) session.account = arn->account;
  session.arn = "arn:" + options_.partition + ":sts::" + session.account + ":assumed-role/" + role.name + "/" +
                session_name;
  session.user_id = role.role_id + ":" + session_name;
  session.principal = role.name;
  session.role_arn = role.arn;
  session.role_id = role.role_id;
  session.session_name = session_name;
  session.session_issued_ms = issued_ms;
  session.session_expires_ms = issued_ms + duration_seconds * 1000;
  session.web_identity = std::move(web_identity);

  AssumedRole out;
  out.assumed_role_id = session.user_id;
  out.arn = session.arn;
  ARCA_ASSIGN_OR_RETURN(out.credentials, sessions_.Issue(std::move(session)));
  return out;
}

namespace {

// The request-wide keys every trust evaluation gets.
void AddRequestKeys(const RequestFacts& facts, TimePoint now, access::ContextKeys& keys) {
  keys.Set("aws:CurrentTime", FormatIso8601(now));
  keys.Set("aws:EpochTime",
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count()));
  keys.Set("aws:SecureTransport", std::string(facts.secure_transport ? "true" : "false"));
  if (!facts.source_ip.empty()) keys.Set("aws:SourceIp", facts.source_ip);
  if (!facts.user_agent.empty()) keys.Set("aws:UserAgent", facts.user_agent);
  if (!facts.region.empty()) keys.Set("aws:RequestedRegion", facts.region);
}

}  // namespace

Result<AssumedRole> StsService::AssumeRole(const Caller& caller, const RequestFacts& facts,
                                           const AssumeRoleInput& in) {
  Violations violations;
  CheckRoleArn(in.role_arn, violations);
  CheckSessionName(in.role_session_name, violations);
  CheckDuration(in.duration_seconds, violations);
  if (in.external_id.has_value() && (in.external_id->size() < 2 || in.external_id->size() > 1224)) {
    violations.Add("externalId", *in.external_id,
                   in.external_id->size() < 2 ? "have length greater than or equal to 2"
                                              : "have length less than or equal to 1224");
  }
  if (!violations.empty()) return violations.ToError();
  ARCA_RETURN_IF_ERROR(RefuseUnsupported(in.unsupported, "AssumeRole"));
  if (caller.is_root()) {
    return Error(Code::kAccessDenied, "Roles may not be assumed by root accounts.");
  }
  if (!IsRoleArn(*in.role_arn)) return Error(Code::kValidation, "Request ARN is invalid");

  const std::string denied = "User: " + caller.arn + " is not authorized to perform: sts:AssumeRole on resource: " +
                             *in.role_arn;
  ARCA_ASSIGN_OR_RETURN(std::optional<Role> role, directory_.FindRoleByArn(*in.role_arn));
  if (!role.has_value()) return Error(Code::kAccessDenied, denied, "no such role");

  const std::int64_t duration = in.duration_seconds.value_or(kDefaultDurationSeconds);
  if (duration > role->max_session_duration) {
    return Error(Code::kValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  if (caller.type == PrincipalType::kAssumedRole && duration > kRoleChainingMaxSeconds) {
    return Error(Code::kValidation,
                 "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role "
                 "chaining.");
  }

  // The trust policy and the caller's identity policies.
  auto trust = policies_.Get(role->assume_role_policy, PolicyKind::kTrust);
  if (!trust.ok()) {
    return Error(Code::kAccessDenied, denied, "the role's trust policy does not compile: " + trust.error().message());
  }
  ARCA_ASSIGN_OR_RETURN(PrincipalPolicies identity, directory_.PoliciesOf(caller));
  std::vector<std::shared_ptr<const CompiledPolicy>> compiled;
  std::vector<const CompiledPolicy*> identity_policies;
  for (const auto& named : identity.policies) {
    auto p = policies_.Get(named.document, PolicyKind::kIdentity);
    if (!p.ok()) {
      return Error(Code::kInternal, "An error occurred on the server side.",
                   "identity policy " + named.source + " does not compile: " + p.error().message());
    }
    identity_policies.push_back(p->get());
    compiled.push_back(std::move(p).value());
  }

  const TimePoint now = clock_.Now();
  access::ContextKeys keys;
  AddRequestKeys(facts, now, keys);
  keys.Set("aws:PrincipalAccount", caller.account);
  keys.Set("aws:userid", caller.user_id);
  keys.Set("sts:RoleSessionName", *in.role_session_name);
  if (in.external_id.has_value()) keys.Set("sts:ExternalId", *in.external_id);
  for (const auto& [k, v] : identity.tags) keys.Set("aws:PrincipalTag/" + k, v);

  // Who the caller is to a Principal element: a user by its ARN; a role session by its session ARN
  // and its role's ARN.
  Principal who;
  who.arn = caller.arn;
  who.account = caller.account;
  who.ids.push_back(PrincipalId{"AWS", caller.arn});
  if (caller.type == PrincipalType::kAssumedRole) {
    who.ids.push_back(PrincipalId{"AWS", caller.role_arn});
    keys.Set("aws:PrincipalArn", caller.role_arn);
    keys.Set("aws:PrincipalType", std::string("AssumedRole"));
  } else {
    keys.Set("aws:PrincipalArn", caller.arn);
    keys.Set("aws:username", caller.principal);
    keys.Set("aws:PrincipalType", std::string("User"));
  }

  EvalRequest req;
  req.action = "sts:AssumeRole";
  req.resource = role->arn;
  std::string resource_account = options_.account_id;
  if (std::optional<Arn> arn = Arn::Parse(role->arn); arn.has_value()) resource_account = arn->account;
  req.resource_account = resource_account;
  req.principal = &who;
  req.keys = &keys;
  req.identity_policies = identity_policies;
  req.resource_policy = trust->get();
  // AWS's logic: an explicit deny in either wins; the trust policy must itself allow, directly (it
  // names the caller) or by naming the caller's account together with an identity-policy allow. An
  // identity allow alone never opens a role.
  if (!Evaluate(req).allowed()) return Error(Code::kAccessDenied, denied);

  return Issue(*role, *in.role_session_name, duration, std::nullopt);
}

Result<AssumedRole> StsService::AssumeRoleWithWebIdentity(const RequestFacts& facts, const WebIdentityInput& in) {
  Violations violations;
  CheckRoleArn(in.role_arn, violations);
  CheckSessionName(in.role_session_name, violations);
  if (!in.web_identity_token.has_value()) {
    violations.Add("webIdentityToken", std::nullopt, "not be null");
  } else if (in.web_identity_token->size() < 4) {
    violations.Add("webIdentityToken", *in.web_identity_token, "have length greater than or equal to 4", true);
  } else if (in.web_identity_token->size() > 20000) {
    violations.Add("webIdentityToken", *in.web_identity_token, "have length less than or equal to 20000", true);
  }
  CheckDuration(in.duration_seconds, violations);
  if (!violations.empty()) return violations.ToError();
  ARCA_RETURN_IF_ERROR(RefuseUnsupported(in.unsupported, "AssumeRoleWithWebIdentity"));

  // The token: its issuer must be a registered provider, its signature that provider's, its audience
  // one of the provider's client ids, and it must be current.
  ARCA_ASSIGN_OR_RETURN(jwt::Token token, jwt::ParseToken(*in.web_identity_token));
  if (token.issuer.empty()) {
    return Error(Code::kInvalidIdentityToken, "No OpenIDConnect provider found in your account for ",
                 "the token has no iss");
  }
  ARCA_ASSIGN_OR_RETURN(std::optional<OidcProvider> provider, directory_.FindOidcProviderByUrl(token.issuer));
  if (!provider.has_value()) {
    return Error(Code::kInvalidIdentityToken, "No OpenIDConnect provider found in your account for " + token.issuer);
  }
  ARCA_ASSIGN_OR_RETURN(std::shared_ptr<const jwt::Jwks> jwks, JwksOf(*provider));
  ARCA_RETURN_IF_ERROR(jwt::VerifySignature(token, *jwks));
  if (provider->client_ids.empty()) {
    return Error(Code::kInvalidIdentityToken, "Incorrect token audience", "the provider has no client ids");
  }
  jwt::ClaimRules rules;
  rules.issuer = provider->url;
  rules.audiences = provider->client_ids;
  rules.now = clock_.Now();
  rules.skew = options_.token_skew;
  ARCA_RETURN_IF_ERROR(jwt::ValidateClaims(token, rules));

  if (!IsRoleArn(*in.role_arn)) return Error(Code::kValidation, "Request ARN is invalid");
  ARCA_ASSIGN_OR_RETURN(std::optional<Role> role, directory_.FindRoleByArn(*in.role_arn));
  if (!role.has_value()) return Error(Code::kAccessDenied, std::string(kWebIdentityDenied), "no such role");
  const std::int64_t duration = in.duration_seconds.value_or(kDefaultDurationSeconds);
  if (duration > role->max_session_duration) {
    return Error(Code::kValidation, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }

  // The audience the token was accepted for (azp when present, as AWS's "aud" key), and the others.
  std::string audience = token.authorized_party;
  if (audience.empty()) {
    for (const auto& a : token.audiences) {
      bool registered = false;
      for (const auto& c : provider->client_ids) registered = registered || a == c;
      if (registered) {
        audience = a;
        break;
      }
    }
  }
  std::vector<std::string> other_audiences;
  for (const auto& a : token.audiences) {
    if (a != audience) other_audiences.push_back(a);
  }

  const std::string issuer_key = StripHttps(provider->url);
  const TimePoint now = clock_.Now();
  access::ContextKeys keys;
  AddRequestKeys(facts, now, keys);
  keys.Set(issuer_key + ":sub", token.subject);
  keys.Set(issuer_key + ":aud", audience);
  if (!other_audiences.empty()) keys.Set(issuer_key + ":oaud", other_audiences);
  keys.Set("aws:FederatedProvider", provider->arn);
  keys.Set("sts:RoleSessionName", *in.role_session_name);

  auto trust = policies_.Get(role->assume_role_policy, PolicyKind::kTrust);
  if (!trust.ok()) {
    return Error(Code::kAccessDenied, std::string(kWebIdentityDenied),
                 "the role's trust policy does not compile: " + trust.error().message());
  }
  // A federated caller belongs to no account: only a trust statement naming its provider admits it.
  Principal who;
  who.arn = provider->arn;
  who.ids.push_back(PrincipalId{"Federated", provider->arn});
  EvalRequest req;
  req.action = "sts:AssumeRoleWithWebIdentity";
  req.resource = role->arn;
  std::string resource_account = options_.account_id;
  if (std::optional<Arn> arn = Arn::Parse(role->arn); arn.has_value()) resource_account = arn->account;
  req.resource_account = resource_account;
  req.principal = &who;
  req.keys = &keys;
  req.resource_policy = trust->get();
  if (!Evaluate(req).allowed()) {
    return Error(Code::kAccessDenied, std::string(kWebIdentityDenied),
                 "trust policy of " + role->arn + " does not admit " + token.subject);
  }

  WebIdentity wi;
  wi.provider_arn = provider->arn;
  wi.issuer = issuer_key;
  wi.subject = token.subject;
  wi.audiences = token.audiences;
  ARCA_ASSIGN_OR_RETURN(AssumedRole out, Issue(*role, *in.role_session_name, duration, std::move(wi)));
  out.subject = token.subject;
  out.audience = audience;
  out.provider = provider->arn;
  return out;
}

}  // namespace arca::iam
