#pragma once
// The AWS JSON 1.1 protocol (awsJson1_1): POST with X-Amz-Target "<prefix>.<Operation>" and a JSON
// object body; answers 200 with application/x-amz-json-1.1, or an error body
// {"__type":"<Name>","message":"..."} with x-amzn-ErrorType. Every response carries x-amzn-RequestId.
//
// JsonProtocol runs the request path for one JsonService: authenticate (SigV4), find the operation,
// parse the body, let the service decode/call/encode, then encode errors and log one line per request.
//
// Thread-safety: JsonProtocol::Handle may be called concurrently; JsonService implementations must
// allow concurrent Invoke calls.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/access.h"
#include "core/result.h"
#include "frontends/aws/sigv4_auth.h"
#include "http/message.h"
#include "iam/access_keys.h"

namespace arca::frontends::aws {

inline constexpr std::string_view kJsonContentType = "application/x-amz-json-1.1";
// The generic message of an InternalServiceError: the detail goes to the log only.
inline constexpr std::string_view kInternalErrorMessage = "An error occurred on the server side.";

// How an arca::Code looks on the wire.
struct ErrorShape {
  std::string_view type;  // __type, without a namespace
  int status;
};
ErrorShape ShapeOf(Code code);

// An error response in the JSON 1.1 shape. `coral_namespace` is the service's, e.g.
// "com.amazonaws.secretsmanager" (used in x-amzn-ErrorType). Internal errors get a generic message.
// A service's own names for the errors the domain and the shared decoding leave generic (an error
// that already has a wire type keeps it; Secrets Manager's names are the table's default). Empty:
// keep the default.
struct GenericErrorNames {
  std::string_view validation;          // kValidation, kMissingParameter, kInvalidParameter, kInvalidRequest
  std::string_view invalid_next_token;  // kInvalidNextToken
  std::string_view not_found;           // kNotFound
  std::string_view already_exists;      // kAlreadyExists
  std::string_view internal;            // kInternal, kDecryptionFailure, kEncryptionFailure
  std::string_view unavailable;         // kUnavailable
};
Error WithGenericNames(Error e, const GenericErrorNames& names);

http::Response ErrorResponse(const Error& error, std::string_view request_id,
                             std::string_view coral_namespace);
// Same with an explicit type and status (for errors that are not an arca::Code, or a status override).
http::Response ErrorResponse(std::string_view type, int status, std::string_view message,
                             std::string_view request_id, std::string_view coral_namespace);
// A 200 response with a JSON body.
http::Response OkResponse(std::string body, std::string_view request_id);

// What a service's operation gets besides its input.
struct OperationContext {
  std::string operation;   // "GetSecretValue"
  std::string region;      // from the credential scope
  std::string request_id;
  iam::Caller caller;
  std::string source_ip;   // the peer address
  std::string user_agent;
  bool secure_transport = false;  // TLS
  // The request's authorization gate; the front-end passes it to the domain, which asks it before
  // each action. NOTE(lead): allow-all until the authorizer is wired (issue 4).
  access::Gate* gate = &access::AllowAll::Instance();
  // Set by an operation that establishes the caller itself, without a signature: the identity a
  // successful AssumeRoleWithWebIdentity verified, for the audit record's WebIdentityUser.
  mutable std::optional<iam::WebIdentity> web_identity_user;
};

// One AWS service spoken over JSON 1.1: decodes an operation's input, calls the domain, encodes the
// output. No service rules here: the domain decides.
class JsonService {
 public:
  virtual ~JsonService() = default;
  virtual std::string_view target_prefix() const = 0;    // "secretsmanager"
  virtual std::string_view signing_name() const = 0;     // SigV4 scope service, "secretsmanager"
  virtual std::string_view coral_namespace() const = 0;  // "com.amazonaws.secretsmanager"
  virtual bool HasOperation(std::string_view operation) const = 0;
  // Runs ctx.operation with `input` (the parsed body; the service may modify it, e.g. to wipe secret
  // values it took) and returns the response body.
  virtual Result<std::string> Invoke(const OperationContext& ctx, boost::json::object& input) = 0;
};

struct RequestHooks;  // request_path.h

class JsonProtocol {
 public:
  // `hooks` (authorizer, audit log, metrics, alerts) must outlive the protocol.
  JsonProtocol(SigV4Verifier& verifier, const RequestHooks& hooks);
  http::Response Handle(const http::Request& request, JsonService& service);

 private:
  SigV4Verifier& verifier_;
  const RequestHooks& hooks_;
};

// The operation named by X-Amz-Target for `prefix` ("secretsmanager.GetSecretValue" -> "GetSecretValue"),
// or empty when the header is absent or has another prefix.
std::string_view TargetOperation(const http::Request& request, std::string_view prefix);

// A new request id (a UUID).
std::string NewRequestId();

// Writes the one request log line.
void LogRequest(std::string_view operation, int status, std::string_view error_type, double ms,
                std::string_view request_id, std::string_view access_key_id, std::string_view region);

}  // namespace arca::frontends::aws
