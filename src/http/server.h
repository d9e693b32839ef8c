#pragma once
// The HTTP/1.1 server (Boost.Beast behind a pimpl: this header stays free of Beast and Asio).
//
// Keep-alive, TLS when a certificate is given, limits on header size, body size and idle time, and a
// graceful stop: Stop() closes the listener, lets in-flight requests finish (up to drain_timeout), then
// closes idle connections and returns from Run().
//
// The handler is called on one of the server's threads; it must be thread-safe. It is synchronous:
// Arca's store calls are short. Protocol errors that happen before a request can reach the handler
// (body or header too large, malformed HTTP) are turned into a response by `error_responder`, so the
// client gets its protocol's error shape.
//
// Thread-safety: Run() on one thread; Stop() from any thread (including a signal-handling thread).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/result.h"
#include "http/message.h"

namespace arca::http {

using Handler = std::function<Response(const Request&)>;
// `partial` holds the method, target and headers that could be read (the body is empty).
using ErrorResponder = std::function<Response(const Request& partial, int status, const std::string& why)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8200;      // 0 picks a free port; see Server::port()
  int threads = 0;                // 0: one per core
  std::size_t max_body_bytes = 1 << 20;
  std::size_t max_header_bytes = 16 << 10;
  std::chrono::seconds idle_timeout{60};     // keep-alive connection with no request
  std::chrono::seconds read_timeout{30};     // a request must arrive whole within this
  std::chrono::seconds drain_timeout{25};    // Stop(): how long in-flight requests may take
  std::optional<std::string> tls_cert_file;  // PEM chain
  std::optional<std::string> tls_key_file;   // PEM private key
};

class Server {
 public:
  virtual ~Server() = default;
  // Binds and listens (so port() is known) but serves nothing until Run().
  static Result<std::unique_ptr<Server>> Create(ServerOptions options, Handler handler,
                                                ErrorResponder error_responder);
  virtual std::uint16_t port() const = 0;
  // Serves until Stop(); returns after the drain.
  virtual void Run() = 0;
  virtual void Stop() = 0;
};

}  // namespace arca::http
