#pragma once
// Protocol-neutral HTTP messages, so front-ends never include Beast or Asio.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arca::http {

struct Request {
  std::string method;   // "POST"
  std::string target;   // path + optional "?query", as received
  std::vector<std::pair<std::string, std::string>> headers;  // names as received, in order
  std::string body;
  std::string remote_addr;  // "127.0.0.1"
  bool tls = false;

  // First header with this name, compared case-insensitively.
  std::optional<std::string_view> Header(std::string_view name) const;
  std::string_view Path() const;   // target up to '?'
  std::string_view Query() const;  // after '?', or empty
};

struct Response;

// Called by the server with `ready` when a response may go out only after something the handler
// started completes (the request's audit record reaching disk). `ready` may be called from any
// thread, exactly once; given a response, the server sends that one instead (the audit write
// failed: fail closed). The connection's thread serves other connections meanwhile.
using Ready = std::function<void(std::optional<Response> replacement)>;
using Defer = std::function<void(Ready ready)>;

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Defer defer;  // empty: send at once

  void SetHeader(std::string name, std::string value);
};

}  // namespace arca::http
