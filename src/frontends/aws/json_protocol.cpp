#include "frontends/aws/json_protocol.h"

#include <chrono>
#include <utility>

#include "core/ids.h"
#include "core/json.h"
#include "core/log.h"
#include "crypto/random.h"
#include "frontends/aws/json_writer.h"
#include "frontends/aws/request_path.h"

namespace arca::frontends::aws {

ErrorShape ShapeOf(Code code) {
  switch (code) {
    case Code::kValidation: return {"ValidationException", 400};
    case Code::kInvalidParameter: return {"InvalidParameterException", 400};
    case Code::kInvalidRequest: return {"InvalidRequestException", 400};
    case Code::kMissingParameter: return {"InvalidParameterException", 400};
    case Code::kSerialization: return {"SerializationException", 400};
    case Code::kUnknownOperation: return {"UnknownOperationException", 400};
    case Code::kInvalidNextToken: return {"InvalidNextTokenException", 400};
    case Code::kNotFound: return {"ResourceNotFoundException", 400};
    case Code::kAlreadyExists: return {"ResourceExistsException", 400};
    case Code::kLimitExceeded: return {"LimitExceededException", 400};
    case Code::kMalformedPolicy: return {"MalformedPolicyDocumentException", 400};
    case Code::kPublicPolicy: return {"PublicPolicyException", 400};
    case Code::kPreconditionNotMet: return {"PreconditionNotMetException", 400};
    case Code::kPayloadTooLarge: return {"RequestEntityTooLargeException", 413};
    case Code::kMissingAuthentication: return {"MissingAuthenticationTokenException", 403};
    case Code::kIncompleteSignature: return {"IncompleteSignatureException", 400};
    case Code::kInvalidSignature: return {"InvalidSignatureException", 400};
    case Code::kUnrecognizedClient: return {"UnrecognizedClientException", 400};
    case Code::kExpiredToken: return {"ExpiredTokenException", 400};
    case Code::kAccessDenied: return {"AccessDeniedException", 400};
    case Code::kInvalidIdentityToken: return {"InvalidIdentityTokenException", 400};
    case Code::kExpiredIdentityToken: return {"ExpiredTokenException", 400};
    case Code::kIdpRejectedClaim: return {"IDPRejectedClaimException", 403};
    case Code::kDecryptionFailure: return {"DecryptionFailure", 400};
    case Code::kEncryptionFailure: return {"EncryptionFailure", 400};
    case Code::kUnavailable: return {"ServiceUnavailable", 503};
    case Code::kOk:
    case Code::kInternal: break;
  }
  return {"InternalServiceError", 500};
}

Error WithGenericNames(Error e, const GenericErrorNames& names) {
  if (!e.wire_type().empty()) return e;
  std::string_view name;
  switch (e.code()) {
    case Code::kValidation:
    case Code::kMissingParameter:
    case Code::kInvalidParameter:
    case Code::kInvalidRequest: name = names.validation; break;
    case Code::kInvalidNextToken: name = names.invalid_next_token; break;
    case Code::kNotFound: name = names.not_found; break;
    case Code::kAlreadyExists: name = names.already_exists; break;
    case Code::kInternal:
    case Code::kDecryptionFailure:
    case Code::kEncryptionFailure: name = names.internal; break;
    case Code::kUnavailable: name = names.unavailable; break;
    default: break;
  }
  if (name.empty()) return e;
  return std::move(e).WithWireType(std::string(name));
}

http::Response ErrorResponse(std::string_view type, int status, std::string_view message,
                             std::string_view request_id, std::string_view coral_namespace) {
  JsonWriter w(64 + type.size() + message.size());
  w.BeginObject().Member("__type", type).Member("message", message).EndObject();
  http::Response r;
  r.status = status;
  r.body = w.Take();
  r.SetHeader("Content-Type", std::string(kJsonContentType));
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  r.SetHeader("x-amzn-ErrorType", std::string(type) + ":http://internal.amazon.com/coral/" +
                                      std::string(coral_namespace) + "/");
  return r;
}

http::Response ErrorResponse(const Error& error, std::string_view request_id,
                             std::string_view coral_namespace) {
  ErrorShape shape = ShapeOf(error.code());
  std::string_view message = error.message();
  if (shape.status == 500) message = kInternalErrorMessage;
  if (!error.wire_type().empty()) shape.type = error.wire_type();
  return ErrorResponse(shape.type, shape.status, message, request_id, coral_namespace);
}

http::Response OkResponse(std::string body, std::string_view request_id) {
  http::Response r;
  r.status = 200;
  r.body = std::move(body);
  r.SetHeader("Content-Type", std::string(kJsonContentType));
  r.SetHeader("x-amzn-RequestId", std::string(request_id));
  return r;
}

std::string_view TargetOperation(const http::Request& request, std::string_view prefix) {
  std::optional<std::string_view> target = request.Header("x-amz-target");
  if (!target.has_value()) return {};
  std::string_view t = *target;
  if (t.size() <= prefix.size() + 1 || t.substr(0, prefix.size()) != prefix || t[prefix.size()] != '.') {
    return {};
  }
  return t.substr(prefix.size() + 1);
}

std::string NewRequestId() { return arca::NewRequestUuid(); }

void LogRequest(std::string_view operation, int status, std::string_view error_type, double ms,
                std::string_view request_id, std::string_view access_key_id, std::string_view region) {
  // Successful requests are logged at debug level: the audit log (not this log) is the record of
  // access, and a line per request costs a locked write on the hot path. Failures stay visible.
  const log::Level level = status >= 500 ? log::Level::kWarn
                           : status >= 400 ? log::Level::kInfo
                                           : log::Level::kDebug;
  if (!log::Enabled(level)) return;
  log::Write(level, "request",
             {{"op", operation},
              {"status", status},
              {"error", error_type},
              {"us", static_cast<std::int64_t>(ms * 1000.0)},  // integer: Boost.JSON prints doubles as 2.7E-1
              {"request_id", request_id},
              {"access_key_id", access_key_id},
              {"region", region}});
}

JsonProtocol::JsonProtocol(SigV4Verifier& verifier, const RequestHooks& hooks)
    : verifier_(verifier), hooks_(hooks) {}

namespace {

// Runs everything after authentication; returns the response body or the error. `input` receives
// the parsed body (what is left of it after the service took the secret values out).
Result<std::string> Run(const http::Request& request, JsonService& service, const OperationContext& ctx,
                        boost::json::object& input) {
  if (!service.HasOperation(ctx.operation)) {
    return Error(Code::kUnknownOperation, "The operation " + ctx.operation + " is not supported.");
  }
  // An empty body means no parameters.
  std::string_view body = request.body;
  bool blank = true;
  for (char c : body) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      blank = false;
      break;
    }
  }
  if (!blank) {
    ARCA_ASSIGN_OR_RETURN(boost::json::value parsed, json::Parse(body));
    if (!parsed.is_object()) {
      return Error(Code::kSerialization, "The request body must be a JSON object.");
    }
    input = std::move(parsed.get_object());
  }
  return service.Invoke(ctx, input);
}

}  // namespace

http::Response JsonProtocol::Handle(const http::Request& request, JsonService& service) {
  auto start = std::chrono::steady_clock::now();
  OperationContext ctx;
  ctx.request_id = NewRequestId();
  // Echoed in errors and logged: an operation name longer than any real one is cut short.
  ctx.operation = std::string(TargetOperation(request, service.target_prefix()).substr(0, 128));
  ctx.source_ip = request.remote_addr;
  ctx.user_agent = std::string(request.Header("user-agent").value_or(""));
  ctx.secure_transport = request.tls;
  std::string access_key_id;
  std::optional<RequestScope> scope;
  const std::string event_source = std::string(service.signing_name()) + ".amazonaws.com";
  boost::json::object input;

  Result<std::string> result = [&]() -> Result<std::string> {
    if (request.method != "POST") {
      return Error(Code::kUnknownOperation, "The AWS JSON protocol accepts POST requests only, not " +
                                                request.method + ".");
    }
    ARCA_ASSIGN_OR_RETURN(Authenticated auth,
                          verifier_.Verify(request, service.signing_name(), &access_key_id));
    ctx.region = std::move(auth.region);
    ctx.caller = std::move(auth.caller);
    scope.emplace(hooks_, ctx, service.signing_name(), event_source);
    ARCA_RETURN_IF_ERROR(scope->Admit());
    return Run(request, service, ctx, input);
  }();

  http::Response response;
  std::string_view error_type;
  std::string_view error_message;
  if (result.ok()) {
    response = OkResponse(std::move(result).value(), ctx.request_id);
  } else {
    const Error& err = result.error();
    response = ErrorResponse(err, ctx.request_id, service.coral_namespace());
    error_type = err.wire_type().empty() ? ShapeOf(err.code()).type : std::string_view(err.wire_type());
    error_message = response.status >= 500 ? kInternalErrorMessage : std::string_view(err.message());
    if (response.status >= 500) {
      log::Error("request failed", {{"op", ctx.operation},
                                    {"request_id", ctx.request_id},
                                    {"error", err.ToLogString()}});
    }
  }
  if (scope.has_value()) {
    scope->Finish(response, true, &input, error_type, error_message, start,
                  [request_id = ctx.request_id, ns = std::string(service.coral_namespace())] {
                    return ErrorResponse(Error(Code::kUnavailable,
                                               "The request could not be recorded in the audit log."),
                                         request_id, ns);
                  });
  } else {
    RecordUnauthenticated(hooks_, service.signing_name(), ctx.operation, response.status, start);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  LogRequest(ctx.operation, response.status, error_type, ms, ctx.request_id, access_key_id, ctx.region);
  return response;
}

}  // namespace arca::frontends::aws
