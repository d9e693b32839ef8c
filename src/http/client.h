#pragma once
// The outbound HTTP client (libcurl): alert webhooks, the `arca` client commands and, later, the
// operator and rotation webhooks. Blocking: call it from a background thread, never from a request
// thread of the server.
//
// Thread-safety: Send and Post may be called concurrently (one curl handle per call).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace arca::http {

// A response. `body` may hold a secret value (a GetSecretValue answer): it is wiped when the
// response is destroyed.
struct ClientResponse {
  ClientResponse() = default;
  ClientResponse(const ClientResponse&) = delete;
  ClientResponse& operator=(const ClientResponse&) = delete;
  ClientResponse(ClientResponse&&) noexcept = default;
  ClientResponse& operator=(ClientResponse&&) noexcept = default;
  ~ClientResponse();

  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order received
  std::string body;

  // The first header with this (lower-case) name, or "" when absent.
  std::string_view Header(std::string_view lower_name) const;
};

struct ClientRequest {
  std::string method = "POST";
  std::string url;                                           // http:// or https://
  std::vector<std::pair<std::string, std::string>> headers;  // sent as given
  std::string body;
};

struct PostOptions {
  std::vector<std::pair<std::string, std::string>> headers;  // Post only
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds connect_timeout{5000};
  std::string ca_file;  // extra CA bundle for https URLs; the system's when empty
  std::string ca_pem;   // the same as PEM text (a kubeconfig's certificate-authority-data); wins over ca_file
  // A TLS client certificate and its key, as PEM text (a kubeconfig's client-certificate-data).
  std::string client_cert_pem;
  std::string client_key_pem;
  bool insecure_skip_verify = false;      // a kubeconfig's insecure-skip-tls-verify
  std::size_t max_body_bytes = 1u << 20;  // a longer body is an error (kUnavailable)
};

// Sends one request. kUnavailable when the peer cannot be reached, the connection fails or times
// out, or TLS verification fails (the message says which); any HTTP status is a result, not an error.
Result<ClientResponse> Send(const ClientRequest& request, const PostOptions& options);

// A streamed response (a Kubernetes watch): `on_data` gets the body's bytes as they arrive, in
// chunks of any size, and returns false to end the transfer; so does `cancel` turning true (checked
// about every 100 ms, also while nothing arrives). options.max_body_bytes does not apply; options.timeout
// bounds the whole transfer. `head` receives the status and headers. OK when the server ended the
// body, `on_data` returned false or `cancel` was set; kUnavailable as Send.
using StreamSink = std::function<bool(std::string_view chunk)>;
Status Stream(const ClientRequest& request, const PostOptions& options, const StreamSink& on_data,
              const std::atomic<bool>* cancel, ClientResponse* head);

// POSTs `body` to `url` with options.headers.
Result<ClientResponse> Post(const std::string& url, const std::string& body, const PostOptions& options);

}  // namespace arca::http
