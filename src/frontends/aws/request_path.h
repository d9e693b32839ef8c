#pragma once
// What every AWS front-end does around a call once the caller is known, whatever the protocol:
//   - the gate: an iam::RequestGate for the caller (ctx.gate), so the domain authorizes each action;
//   - fail closed: a call is refused before it runs while the audit log cannot be written;
//   - the record: one CloudTrail record per call (allowed, denied or failed), made durable before
//     the response goes out (the response is deferred until the group commit's fdatasync; if that
//     fails, the client gets an error instead);
//   - metrics by action and outcome, and denials reported to the alerter.
//
// Thread-safety: RequestHooks is shared and read-only; a RequestScope belongs to one request.

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "audit/log.h"
#include "core/metrics.h"
#include "core/result.h"
#include "frontends/aws/json_protocol.h"
#include "http/message.h"
#include "iam/authorizer.h"

namespace arca::frontends::aws {

struct RequestHooks {
  // nullptr: every authenticated call is allowed (front-end tests of translation only).
  iam::Authorizer* authorizer = nullptr;
  audit::Log* audit = nullptr;            // nullptr: no records (tests)
  metrics::Registry* metrics = nullptr;   // nullptr: not counted
  std::string account_id;  // the server's account (recipientAccountId of unsigned calls)
  // Told about each denied action (principal ARN, action, resource as shown in the message).
  std::function<void(std::string_view, std::string_view, std::string_view)> on_denied;
};

// CloudTrail's readOnly: the call only reads (Get*, List*, Describe*, BatchGet*, Lookup*, Validate*,
// and KMS's Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateRandom).
bool IsReadOnlyOperation(std::string_view operation);

// Counts a request that failed before its caller was known (no gate, no record).
void RecordUnauthenticated(const RequestHooks& hooks, std::string_view service, std::string_view operation,
                           int status, std::chrono::steady_clock::time_point start);

class RequestScope {
 public:
  // Sets ctx.gate to this request's gate. `ctx` must outlive the scope; `service` names the
  // metrics series ("secretsmanager") and `event_source` the record's ("secretsmanager.amazonaws.com").
  RequestScope(const RequestHooks& hooks, OperationContext& ctx, std::string_view service,
               std::string_view event_source);

  // Before the call: kUnavailable while the audit log cannot be written.
  Status Admit() const;

  // After the call. `authenticated`: a caller was established (unauthenticated failures are counted
  // but not recorded, as CloudTrail does not record them). `request_parameters`: the request's
  // members as the client sent them, secret values already taken out (redacted again here).
  // `error_type`: the error's name on the wire, empty on success. `fail_closed` makes the response
  // sent when the record cannot be made durable.
  void Finish(http::Response& response, bool authenticated, const boost::json::object* request_parameters,
              std::string_view error_type, std::string_view error_message,
              std::chrono::steady_clock::time_point start, std::function<http::Response()> fail_closed);

 private:
  const RequestHooks& hooks_;
  OperationContext& ctx_;
  std::string_view service_;
  std::string_view event_source_;
  iam::RequestFacts facts_;
  std::optional<iam::RequestGate> gate_;
};

}  // namespace arca::frontends::aws
