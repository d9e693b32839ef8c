#pragma once
// The outbound HTTP client (libcurl): alert webhooks today; the rotation webhooks and the client
// library later. Blocking: call it from a background thread, never from a request thread.
//
// Thread-safety: Post may be called concurrently (one curl handle per call).

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace arca::http {

struct ClientResponse {
  int status = 0;
  std::string body;
};

struct PostOptions {
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{5000};
  std::string ca_file;  // extra CA bundle for https URLs; the system's when empty
};

// POSTs `body` to `url` (http or https). kUnavailable when the peer cannot be reached or times out;
// any HTTP status is a result, not an error.
Result<ClientResponse> Post(const std::string& url, const std::string& body, const PostOptions& options);

}  // namespace arca::http
