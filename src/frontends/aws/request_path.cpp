#include "frontends/aws/request_path.h"

#include <utility>

#include "audit/event.h"
#include "core/ids.h"
#include "core/log.h"

namespace arca::frontends::aws {

namespace {

audit::IdentityInput IdentityOf(const iam::Caller& c) {
  audit::IdentityInput id;
  if (c.arn.empty()) return id;  // not authenticated by a signature (AssumeRoleWithWebIdentity)
  switch (c.type) {
    case iam::PrincipalType::kRoot: id.type = audit::IdentityType::kRoot; break;
    case iam::PrincipalType::kUser: id.type = audit::IdentityType::kIamUser; break;
    case iam::PrincipalType::kAssumedRole: id.type = audit::IdentityType::kAssumedRole; break;
  }
  id.account = c.account;
  id.arn = c.arn;
  id.user_id = c.user_id;
  id.access_key_id = c.access_key_id;
  id.principal = c.principal;
  id.role_arn = c.role_arn;
  id.role_id = c.role_id;
  id.session_name = c.session_name;
  id.session_issued_ms = c.session_issued_ms;
  if (c.web_identity.has_value()) {
    id.web_identity = audit::WebIdentityInput{c.web_identity->provider_arn, c.web_identity->issuer,
                                              c.web_identity->subject, c.web_identity->audiences};
  }
  return id;
}

// CloudTrail's resource type of an ARN ("AWS::SecretsManager::Secret", "AWS::IAM::Role", ...).
std::string ResourceTypeOf(std::string_view arn) {
  auto arn_parsed = Arn::Parse(arn);
  if (!arn_parsed) return "";
  const std::string& service = arn_parsed->service;
  std::string_view res = arn_parsed->resource;
  std::string_view kind = res.substr(0, res.find_first_of(":/"));
  if (service == "secretsmanager") return "AWS::SecretsManager::Secret";
  if (service == "iam") {
    if (kind == "user") return "AWS::IAM::User";
    if (kind == "role") return "AWS::IAM::Role";
    if (kind == "policy") return "AWS::IAM::Policy";
    if (kind == "oidc-provider") return "AWS::IAM::OIDCProvider";
    return "AWS::IAM::" + std::string(kind);
  }
  if (service == "sts") return "AWS::STS::AssumedRole";
  if (service == "kms") return kind == "alias" ? "AWS::KMS::Alias" : "AWS::KMS::Key";
  return "AWS::" + service + "::" + std::string(kind);
}

}  // namespace

void RecordUnauthenticated(const RequestHooks& hooks, std::string_view service, std::string_view operation,
                           int status, std::chrono::steady_clock::time_point start) {
  if (hooks.metrics == nullptr) return;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  hooks.metrics->RecordRequest(service, operation.empty() ? "-" : operation,
                               status >= 500 ? "server_error" : "client_error", seconds);
}

bool IsReadOnlyOperation(std::string_view op) {
  // CloudTrail also records KMS's cryptographic operations as read-only: they change no resource.
  return op.starts_with("Get") || op.starts_with("List") || op.starts_with("Describe") ||
         op.starts_with("BatchGet") || op.starts_with("Lookup") || op.starts_with("Validate") ||
         op == "Encrypt" || op == "Decrypt" || op == "ReEncrypt" || op.starts_with("GenerateDataKey") ||
         op == "GenerateRandom";
}

RequestScope::RequestScope(const RequestHooks& hooks, OperationContext& ctx, std::string_view service,
                           std::string_view event_source)
    : hooks_(hooks), ctx_(ctx), service_(service), event_source_(event_source) {
  facts_.source_ip = ctx.source_ip;
  facts_.user_agent = ctx.user_agent;
  facts_.secure_transport = ctx.secure_transport;
  facts_.region = ctx.region;
  if (hooks_.authorizer != nullptr) {
    gate_.emplace(*hooks_.authorizer, ctx_.caller, facts_);
    ctx_.gate = &*gate_;
  } else {
    ctx_.gate = &access::AllowAll::Instance();
  }
}

Status RequestScope::Admit() const {
  if (hooks_.audit == nullptr) return OkStatus();
  Status health = hooks_.audit->Health();
  if (!health.ok()) {
    return Error(Code::kUnavailable, "The service cannot record this request now; try again later.",
                 health.error().ToLogString());
  }
  return OkStatus();
}

void RequestScope::Finish(http::Response& response, bool authenticated,
                          const boost::json::object* request_parameters, std::string_view error_type,
                          std::string_view error_message, std::chrono::steady_clock::time_point start,
                          std::function<http::Response()> fail_closed) {
  const bool denied = gate_.has_value() && gate_->denials() > 0;
  if (hooks_.metrics != nullptr) {
    std::string_view outcome = response.status < 400 ? "success"
                               : error_type == "AccessDeniedException" || error_type == "AccessDenied"
                                   ? "denied"
                               : response.status >= 500 ? "server_error"
                                                        : "client_error";
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    hooks_.metrics->RecordRequest(service_, ctx_.operation.empty() ? "-" : ctx_.operation, outcome, seconds);
  }
  if (denied && hooks_.on_denied) {
    hooks_.on_denied(ctx_.caller.arn, gate_->last_denied_action(), gate_->last_denied_resource());
  }
  if (hooks_.audit == nullptr || !authenticated) return;

  audit::EventInput in;
  in.identity = IdentityOf(ctx_.caller);
  if (ctx_.web_identity_user.has_value()) {
    const iam::WebIdentity& w = *ctx_.web_identity_user;
    in.identity.type = audit::IdentityType::kWebIdentityUser;
    in.identity.web_identity = audit::WebIdentityInput{w.provider_arn, w.issuer, w.subject, w.audiences};
  }
  in.event_time = SystemClock::Instance().Now();
  in.event_source = std::string(event_source_);
  in.event_name = ctx_.operation;
  in.region = ctx_.region;
  in.source_ip = ctx_.source_ip;
  in.user_agent = ctx_.user_agent;
  if (request_parameters != nullptr && !request_parameters->empty()) {
    in.request_parameters = audit::RedactMembers(*request_parameters, audit::DefaultRedaction());
  }
  if (gate_.has_value()) {
    for (const std::string& arn : gate_->resources()) {
      audit::ResourceInput r;
      r.arn = arn;
      r.account = ctx_.caller.account;
      r.type = ResourceTypeOf(arn);
      in.resources.push_back(std::move(r));
    }
  }
  in.request_id = ctx_.request_id;
  in.read_only = IsReadOnlyOperation(ctx_.operation);
  in.recipient_account = ctx_.caller.account.empty() ? hooks_.account_id : ctx_.caller.account;
  if (!error_type.empty()) {
    in.error_code = std::string(error_type);
    in.error_message = std::string(error_message);
  }
  std::string record = audit::SerializeRecord(in);
  // The response waits for the record's batch to reach the disk; the thread serves others meanwhile.
  response.defer = [audit_log = hooks_.audit, record = std::move(record),
                    fail_closed = std::move(fail_closed), request_id = ctx_.request_id](http::Ready ready) mutable {
    audit_log->AppendSerialized(std::move(record), [ready = std::move(ready), fail_closed = std::move(fail_closed),
                                    request_id = std::move(request_id)](Status durable) {
      if (durable.ok()) {
        ready(std::nullopt);
        return;
      }
      log::Error("audit record not written: the response is withheld",
                 {{"request_id", request_id}, {"error", durable.error().ToLogString()}});
      ready(fail_closed());
    });
  };
}

}  // namespace arca::frontends::aws
