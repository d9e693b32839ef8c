#pragma once
// The outbound HTTP client (libcurl): alert webhooks, the `arca` client commands and, later, the
// operator and rotation webhooks. Blocking: call it from a background thread, never from a request
// thread of the server.
//
// Thread-safety: Send and Post may be called concurrently (one curl handle per call).

#include <chrono>
#include <cstddef>
#include <string>
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
  std::size_t max_body_bytes = 1u << 20;  // a longer body is an error (kUnavailable)
};

// Sends one request. kUnavailable when the peer cannot be reached, the connection fails or times
// out, or TLS verification fails (the message says which); any HTTP status is a result, not an error.
Result<ClientResponse> Send(const ClientRequest& request, const PostOptions& options);

// POSTs `body` to `url` with options.headers.
Result<ClientResponse> Post(const std::string& url, const std::string& body, const PostOptions& options);

}  // namespace arca::http
