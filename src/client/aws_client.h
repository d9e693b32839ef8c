#pragma once
// The AWS-protocol client shared by the `arca` commands and (later) the operator: signs each
// request with SigV4 through crypto::sigv4 (the code the server verifies with), sends it with
// http::Send, retries throttling, 5xx and connection failures with exponential backoff and jitter,
// and turns the server's error answers into Errors that keep the AWS error name.
//
// Thread-safety: const methods may be called concurrently.

#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/credentials.h"
#include "core/result.h"

namespace arca::client {

struct ClientOptions {
  std::string endpoint = "http://127.0.0.1:8200";  // scheme://host[:port], no path
  std::string region = "us-east-1";
  std::string ca_bundle;                  // PEM file for https endpoints; the system's when empty
  std::string ca_pem;                     // the same as PEM text (a store's caBundle); wins over ca_bundle
  std::chrono::milliseconds timeout{30000};
  int max_attempts = 4;                   // first try included
  std::chrono::milliseconds base_backoff{100};
  std::string user_agent = "arca-cli";
};

// A server's error answer becomes Error(code, message).WithWireType(aws_error_name): the code from
// CodeForAwsError below (so exit statuses can be chosen by kind), the wire type the server's own
// name (`__type` after any '#', or the XML <Code>), the message the server's message. Errors that
// never reached a server (connection refused, timeout, TLS) are kUnavailable with a message naming
// the endpoint.
Code CodeForAwsError(std::string_view aws_error_name, int http_status);

class AwsClient {
 public:
  AwsClient(ClientOptions options, Credentials credentials);

  // AWS JSON 1.1: POST / with X-Amz-Target: `target` (e.g. "secretsmanager.GetSecretValue"),
  // signed for `service` (e.g. "secretsmanager"). Returns the response object ({} for an empty body).
  Result<boost::json::object> CallJson(std::string_view service, std::string_view target,
                                       const boost::json::object& request) const;

  // A signed GET of `path` with `query` (Arca's own JSON endpoints, such as /arca/v1/changes);
  // errors as CallJson.
  Result<boost::json::object> CallGet(std::string_view service, std::string_view path,
                                      const std::vector<std::pair<std::string, std::string>>& query) const;

  // The query protocol (IAM, STS): Action, Version and `params` form-encoded; returns the XML body.
  Result<std::string> CallQuery(std::string_view service, std::string_view action, std::string_view version,
                                const std::vector<std::pair<std::string, std::string>>& params) const;

  const ClientOptions& options() const { return options_; }
  const Credentials& credentials() const { return credentials_; }

 private:
  ClientOptions options_;
  Credentials credentials_;
};

// STS AssumeRoleWithWebIdentity (unsigned, as AWS's SDKs send it) against options.endpoint.
Result<Credentials> AssumeRoleWithWebIdentity(const ClientOptions& options, const std::string& role_arn,
                                              const std::string& session_name, const std::string& token);

// The credential chain's web-identity step (credentials.h) done by AssumeRoleWithWebIdentity
// against `sts`.
WebIdentityExchange WebIdentityVia(ClientOptions sts);

}  // namespace arca::client
