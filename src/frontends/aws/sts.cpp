#include "frontends/aws/sts.h"

#include <charconv>
#include <optional>
#include <string>
#include <vector>

namespace arca::frontends::aws {

namespace {

constexpr std::string_view kGetCallerIdentity = "GetCallerIdentity";
constexpr std::string_view kAssumeRole = "AssumeRole";
constexpr std::string_view kAssumeRoleWithWebIdentity = "AssumeRoleWithWebIdentity";

std::optional<std::string> Member(const QueryParams& params, std::string_view name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return std::nullopt;
  return std::string(*v);
}

// An integer member; kValidation when present and not a whole number.
Result<std::optional<std::int64_t>> IntMember(const QueryParams& params, std::string_view name,
                                              std::string_view model_name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return std::optional<std::int64_t>();
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size()) {
    return Error(Code::kValidation, "1 validation error detected: Value '" + std::string(*v) + "' at '" +
                                        std::string(model_name) +
                                        "' failed to satisfy constraint: Member must be an integer");
  }
  return std::optional<std::int64_t>(n);
}

// The request members Arca does not implement that are present in `params`.
std::vector<std::string> Unsupported(const QueryParams& params, std::initializer_list<std::string_view> scalars,
                                     std::initializer_list<std::string_view> lists) {
  std::vector<std::string> out;
  for (std::string_view name : scalars) {
    if (params.Find(name).has_value()) out.emplace_back(name);
  }
  for (std::string_view name : lists) {
    std::string prefix = std::string(name) + ".member.";
    for (const auto& [k, v] : params.entries()) {
      if (k.compare(0, prefix.size(), prefix) == 0) {
        out.emplace_back(name);
        break;
      }
    }
  }
  return out;
}

iam::RequestFacts FactsOf(const OperationContext& ctx) {
  iam::RequestFacts facts;
  facts.source_ip = ctx.source_ip;
  facts.user_agent = ctx.user_agent;
  facts.secure_transport = ctx.secure_transport;
  facts.region = ctx.region;
  return facts;
}

void WriteCredentials(XmlWriter& w, const iam::TemporaryCredentials& c) {
  w.Open("Credentials")
      .Element("AccessKeyId", c.access_key_id)
      .Element("SecretAccessKey", c.secret_access_key.view())
      .Element("SessionToken", c.session_token)
      .Element("Expiration", FormatIso8601(c.expiration))
      .Close("Credentials");
}

void WriteAssumedRoleUser(XmlWriter& w, const iam::AssumedRole& r) {
  w.Open("AssumedRoleUser").Element("AssumedRoleId", r.assumed_role_id).Element("Arn", r.arn).Close("AssumedRoleUser");
}

}  // namespace

StsFrontend::StsFrontend(iam::StsService& service) : service_(service) {}

bool StsFrontend::HasOperation(std::string_view action) const {
  return action == kGetCallerIdentity || action == kAssumeRole || action == kAssumeRoleWithWebIdentity;
}

bool StsFrontend::IsUnsigned(std::string_view action) const { return action == kAssumeRoleWithWebIdentity; }

QueryErrorShape StsFrontend::ErrorShapeOf(const Error& error) const {
  switch (error.code()) {
    case Code::kValidation:
    case Code::kInvalidParameter:
    case Code::kInvalidRequest: return {"ValidationError", "Sender", 400};
    case Code::kMalformedPolicy: return {"MalformedPolicyDocument", "Sender", 400};
    case Code::kAccessDenied: return {"AccessDenied", "Sender", 403};
    case Code::kExpiredToken: return {"ExpiredToken", "Sender", 403};
    case Code::kInvalidIdentityToken: return {"InvalidIdentityToken", "Sender", 400};
    case Code::kExpiredIdentityToken: return {"ExpiredTokenException", "Sender", 400};
    case Code::kIdpRejectedClaim: return {"IDPRejectedClaim", "Sender", 403};
    case Code::kUnrecognizedClient: return {"InvalidClientTokenId", "Sender", 403};
    case Code::kUnavailable: return {"ServiceUnavailable", "Receiver", 503};
    default: break;
  }
  return {"InternalFailure", "Receiver", 500};
}

Result<std::string> StsFrontend::Invoke(const OperationContext& ctx, const QueryParams& params) {
  XmlWriter w;
  if (ctx.operation == kGetCallerIdentity) {
    iam::CallerIdentity id = service_.GetCallerIdentity(ctx.caller);
    w.Element("Arn", id.arn).Element("UserId", id.user_id).Element("Account", id.account);
    return w.Take();
  }
  if (ctx.operation == kAssumeRole) {
    iam::AssumeRoleInput in;
    in.role_arn = Member(params, "RoleArn");
    in.role_session_name = Member(params, "RoleSessionName");
    ARCA_ASSIGN_OR_RETURN(in.duration_seconds, IntMember(params, "DurationSeconds", "durationSeconds"));
    in.external_id = Member(params, "ExternalId");
    in.unsupported = Unsupported(params, {"Policy", "SerialNumber", "TokenCode", "SourceIdentity"},
                                 {"PolicyArns", "Tags", "TransitiveTagKeys", "ProvidedContexts"});
    ARCA_ASSIGN_OR_RETURN(iam::AssumedRole r, service_.AssumeRole(ctx.caller, FactsOf(ctx), in));
    WriteAssumedRoleUser(w, r);
    WriteCredentials(w, r.credentials);
    return w.Take();
  }
  if (ctx.operation == kAssumeRoleWithWebIdentity) {
    iam::WebIdentityInput in;
    in.role_arn = Member(params, "RoleArn");
    in.role_session_name = Member(params, "RoleSessionName");
    in.web_identity_token = Member(params, "WebIdentityToken");
    ARCA_ASSIGN_OR_RETURN(in.duration_seconds, IntMember(params, "DurationSeconds", "durationSeconds"));
    in.unsupported = Unsupported(params, {"Policy"}, {"PolicyArns"});
    ARCA_ASSIGN_OR_RETURN(iam::AssumedRole r, service_.AssumeRoleWithWebIdentity(FactsOf(ctx), in));
    ctx.web_identity_user = iam::WebIdentity{r.provider, "", r.subject, {r.audience}};
    w.Element("SubjectFromWebIdentityToken", r.subject).Element("Audience", r.audience);
    WriteAssumedRoleUser(w, r);
    WriteCredentials(w, r.credentials);
    w.Element("Provider", r.provider);
    return w.Take();
  }
  return Error(Code::kUnknownOperation, "Could not find operation " + ctx.operation + " for version 2011-06-15");
}

}  // namespace arca::frontends::aws
