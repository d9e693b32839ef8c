#pragma once
// Protocol-neutral HTTP messages, so front-ends never include Beast or Asio.

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

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void SetHeader(std::string name, std::string value);
};

}  // namespace arca::http
