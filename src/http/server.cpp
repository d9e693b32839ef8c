// The HTTP/1.1 server: Boost.Beast, sessions and the accept loop as C++20 coroutines. Every
// Beast/Asio include stays in this file (and other .cpp files under src/http/).
//
// Threads: one single-threaded io_context per thread. The accept loop hands each new connection to
// the next io_context in turn, so a connection's coroutine, its timers and its socket all run on one
// thread: no strand is needed and no operation of a connection wakes another thread.
//
// Shape of a connection (one coroutine on its io_context's thread):
//   [TLS handshake] -> loop { wait for the first byte (idle) -> read the request (read_timeout)
//                             -> handler -> write the response -> keep-alive or close }
// Stop(): sets `stopping_`, closes the acceptor, closes every connection that is idle (waiting for its
// next request or its handshake), and polls until the remaining connections have written their
// response and gone, or drain_timeout passed; then it stops the io_contexts, so Run() returns.

#include "http/server.h"

#include <openssl/ssl.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/log.h"

namespace arca::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kFirstReadBytes = 4096;
// After an error response the peer may still be sending (a body we refused): read and discard up to
// this much, for up to this long, before closing, so the close does not turn into a RST that makes the
// client lose the response.
constexpr std::size_t kLingerMaxBytes = 1 << 20;
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::chrono::seconds kTlsShutdownTimeout{1};
constexpr std::chrono::milliseconds kDrainPoll{10};
constexpr std::chrono::milliseconds kAcceptBackoff{50};

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// A live connection as the registry sees it. `executor` is fixed at construction; `stream` and `idle`
// are touched only on the connection's io_context thread.
struct Conn {
  asio::any_io_executor executor;
  beast::tcp_stream* stream = nullptr;  // the lowest layer; null once the session has ended
  bool idle = false;                    // waiting for a handshake or the next request's first byte
};

// Errors from the HTTP parser (as opposed to the socket, TLS or a timeout).
bool IsHttpParseError(const error_code& ec) {
  static const boost::system::error_category& kCategory =
      bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == kCategory;
}

// Ends of a connection that are routine and not worth a log line.
bool IsQuietClose(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::operation_aborted ||
         ec == bhttp::error::end_of_stream || ec == ssl::error::stream_truncated ||
         ec == asio::error::bad_descriptor;
}

void LogConnError(std::string_view what, const error_code& ec, const std::string& remote) {
  if (IsQuietClose(ec)) return;
  log::Debug("http connection error", {{"stage", what}, {"error", ec.message()}, {"remote", remote}});
}

Response PlainResponse(int status, std::string body) {
  Response r;
  r.status = status;
  r.SetHeader("Content-Type", "text/plain; charset=utf-8");
  r.body = std::move(body);
  return r;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// Builds the wire response. Content-Length and Connection are the server's to set.
bhttp::response<bhttp::string_body> BuildWireResponse(Response r, unsigned version, bool keep_alive,
                                                      bool head) {
  bhttp::response<bhttp::string_body> res;
  res.version(version == 10 ? 10 : 11);
  unsigned status = r.status >= 100 && r.status <= 999 ? static_cast<unsigned>(r.status) : 500u;
  res.result(status);
  for (auto& [name, value] : r.headers) {
    if (IEquals(name, "Content-Length") || IEquals(name, "Transfer-Encoding") || IEquals(name, "Connection")) {
      continue;
    }
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) {
      log::Debug("http response header dropped: line break in name or value", {{"header", name}});
      continue;
    }
    res.insert(name, value);
  }
  res.keep_alive(keep_alive);
  bool no_body = status < 200 || status == 204 || status == 304;
  if (no_body) {
    res.content_length(boost::none);
  } else if (head) {
    res.content_length(r.body.size());
  } else {
    res.body() = std::move(r.body);
    res.prepare_payload();
  }
  return res;
}

class ServerImpl;

// Adds a connection to the server's registry for the life of its session.
class ConnRegistration {
 public:
  ConnRegistration(ServerImpl* server, std::shared_ptr<Conn> conn);
  ~ConnRegistration();
  ConnRegistration(const ConnRegistration&) = delete;
  ConnRegistration& operator=(const ConnRegistration&) = delete;

 private:
  ServerImpl* server_;
  std::shared_ptr<Conn> conn_;
};

// Thread-safety: Run() on one thread; Stop() from any thread; the rest runs on the io_context.
class ServerImpl final : public Server {
 public:
  ServerImpl(ServerOptions options, Handler handler, ErrorResponder error_responder)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        error_responder_(std::move(error_responder)),
        threads_(ThreadCount(options_.threads)),
        iocs_(MakeContexts(threads_)),
        acceptor_strand_(asio::make_strand(*iocs_[0])),
        acceptor_(acceptor_strand_) {}

  ~ServerImpl() override = default;

  Status Open();

  std::uint16_t port() const override { return port_; }
  void Run() override;
  void Stop() override;

 private:
  friend class ConnRegistration;

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int n) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (int i = 0; i < n; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }
  asio::io_context& NextContext() {
    return *iocs_[next_context_.fetch_add(1, std::memory_order_relaxed) % iocs_.size()];
  }

  static int ThreadCount(int requested) {
    if (requested > 0) return requested;
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  Status SetUpTls();
  Status Listen();
  static void RunLoop(asio::io_context& ioc);
  void BeginStop();
  std::size_t ActiveConnections() {
    std::lock_guard<std::mutex> lock(mu_);
    return conns_.size();
  }

  asio::awaitable<void> AcceptLoop();
  asio::awaitable<void> Drain();
  template <class Stream>
  asio::awaitable<void> Session(Stream stream, std::string remote);
  template <class Stream>
  asio::awaitable<bool> Write(Stream& stream, bhttp::response<bhttp::string_body> res, const std::string& remote);
  template <class Stream>
  asio::awaitable<void> CloseAfterResponse(Stream& stream);
  asio::awaitable<void> LingeringClose(beast::tcp_stream& lowest);

  Request ToRequest(bhttp::request_parser<bhttp::string_body>& parser, const std::string& remote, bool tls,
                    bool with_body) const;
  Response Invoke(const Request& request) const;
  Response RespondError(const Request& partial, int status, const std::string& why) const;

  const ServerOptions options_;
  const Handler handler_;
  const ErrorResponder error_responder_;
  const int threads_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};

  // Declared before iocs_: sessions still pending when the io_contexts are destroyed unregister
  // themselves from conns_, and TLS streams refer to ssl_ctx_.
  std::optional<ssl::context> ssl_ctx_;
  std::mutex mu_;
  std::unordered_set<std::shared_ptr<Conn>> conns_;  // guarded by mu_

  std::vector<std::unique_ptr<asio::io_context>> iocs_;  // one per thread; [0] also runs the acceptor
  std::atomic<std::size_t> next_context_{0};
  asio::strand<asio::io_context::executor_type> acceptor_strand_;  // the accept loop, Stop, Drain
  tcp::acceptor acceptor_;
};

ConnRegistration::ConnRegistration(ServerImpl* server, std::shared_ptr<Conn> conn)
    : server_(server), conn_(std::move(conn)) {
  std::lock_guard<std::mutex> lock(server_->mu_);
  server_->conns_.insert(conn_);
}

ConnRegistration::~ConnRegistration() {
  conn_->stream = nullptr;
  std::lock_guard<std::mutex> lock(server_->mu_);
  server_->conns_.erase(conn_);
}

Status ServerImpl::Open() {
  if (options_.tls_cert_file.has_value() != options_.tls_key_file.has_value()) {
    return Error(Code::kInvalidParameter, "TLS needs both a certificate file and a key file");
  }
  if (options_.tls_cert_file) {
    ARCA_RETURN_IF_ERROR(SetUpTls());
  }
  return Listen();
}

Status CheckReadable(const std::string& what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    int err = errno;
    return Error(Code::kInvalidParameter, "cannot read " + what + " '" + path + "': " + std::strerror(err));
  }
  std::fclose(f);
  return OkStatus();
}

Status ServerImpl::SetUpTls() {
  const std::string& cert = *options_.tls_cert_file;
  const std::string& key = *options_.tls_key_file;
  ARCA_RETURN_IF_ERROR(CheckReadable("TLS certificate file", cert));
  ARCA_RETURN_IF_ERROR(CheckReadable("TLS key file", key));

  ssl_ctx_.emplace(ssl::context::tls_server);
  ssl_ctx_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  if (SSL_CTX_set_min_proto_version(ssl_ctx_->native_handle(), TLS1_2_VERSION) != 1) {
    return Error(Code::kInternal, "cannot require TLS 1.2 or later");
  }
  error_code ec;
  ssl_ctx_->use_certificate_chain_file(cert, ec);
  if (ec) {
    return Error(Code::kInvalidParameter, "invalid TLS certificate file '" + cert + "': " + ec.message());
  }
  ssl_ctx_->use_private_key_file(key, ssl::context::pem, ec);
  if (ec) {
    return Error(Code::kInvalidParameter, "invalid TLS key file '" + key + "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(ssl_ctx_->native_handle()) != 1) {
    return Error(Code::kInvalidParameter,
                 "TLS key file '" + key + "' does not match certificate file '" + cert + "'");
  }
  return OkStatus();
}

Status ServerImpl::Listen() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  error_code ec;
  tcp::endpoint endpoint;
  auto address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options_.port);
  } else {
    tcp::resolver resolver(*iocs_[0]);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Error(Code::kInvalidParameter, "cannot resolve listen host '" + options_.host + "'",
                   ec ? ec.message() : "no addresses");
    }
    endpoint = results.begin()->endpoint();
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(Code::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  auto local = acceptor_.local_endpoint(ec);
  if (ec) {
    return Error(Code::kUnavailable, "cannot listen on " + where + ": " + ec.message());
  }
  port_ = local.port();
  return OkStatus();
}

void ServerImpl::Run() {
  log::Info("http server listening", {{"host", options_.host}, {"port", static_cast<int>(port_)},
                                      {"tls", ssl_ctx_.has_value()}, {"threads", threads_}});
  asio::co_spawn(acceptor_strand_, AcceptLoop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::Error("http accept loop failed", {{"error", ex.what()}});
    }
  });
  // Keep every io_context running while it has no connection yet; Drain() stops them.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& ioc : iocs_) guards.push_back(asio::make_work_guard(*ioc));
  std::vector<std::thread> pool;
  pool.reserve(iocs_.size() - 1);
  for (std::size_t i = 1; i < iocs_.size(); ++i) {
    pool.emplace_back([ioc = iocs_[i].get()] { RunLoop(*ioc); });
  }
  RunLoop(*iocs_[0]);
  for (auto& t : pool) t.join();
}

void ServerImpl::RunLoop(asio::io_context& ioc) {
  for (;;) {
    try {
      ioc.run();
      return;
    } catch (const std::exception& e) {
      log::Error("http io thread caught an exception", {{"error", e.what()}});
    }
  }
}

void ServerImpl::Stop() {
  if (stopping_.exchange(true)) return;
  asio::post(acceptor_strand_, [this] { BeginStop(); });
}

void ServerImpl::BeginStop() {
  error_code ec;
  acceptor_.close(ec);
  std::vector<std::shared_ptr<Conn>> conns;
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns.assign(conns_.begin(), conns_.end());
  }
  for (auto& conn : conns) {
    asio::post(conn->executor, [conn] {
      if (conn->stream != nullptr && conn->idle) conn->stream->close();
    });
  }
  asio::co_spawn(acceptor_strand_, Drain(), asio::detached);
}

asio::awaitable<void> ServerImpl::Drain() {
  auto deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (ActiveConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(kDrainPoll);
    co_await timer.async_wait(kUseTuple);
  }
  if (std::size_t left = ActiveConnections(); left > 0) {
    log::Warn("http drain timed out; closing connections", {{"connections", left}});
  }
  for (auto& ioc : iocs_) ioc->stop();
}

asio::awaitable<void> ServerImpl::AcceptLoop() {
  while (!stopping_) {
    tcp::socket socket(NextContext());
    auto [ec] = co_await acceptor_.async_accept(socket, kUseTuple);
    if (stopping_ || !acceptor_.is_open()) co_return;
    if (ec) {
      // Such as EMFILE: back off instead of spinning.
      log::Debug("http accept failed", {{"error", ec.message()}});
      asio::steady_timer timer(acceptor_strand_);
      timer.expires_after(kAcceptBackoff);
      co_await timer.async_wait(kUseTuple);
      continue;
    }
    error_code rec;
    auto peer = socket.remote_endpoint(rec);
    std::string remote = rec ? std::string() : peer.address().to_string();
    auto executor = socket.get_executor();
    auto on_done = [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::Error("http session failed", {{"error", ex.what()}});
      }
    };
    if (ssl_ctx_) {
      asio::co_spawn(executor, Session(TlsStream(std::move(socket), *ssl_ctx_), std::move(remote)), on_done);
    } else {
      asio::co_spawn(executor, Session(beast::tcp_stream(std::move(socket)), std::move(remote)), on_done);
    }
  }
}

Request ServerImpl::ToRequest(bhttp::request_parser<bhttp::string_body>& parser, const std::string& remote,
                              bool tls, bool with_body) const {
  auto& msg = parser.get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  for (const auto& field : msg) {
    req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  if (with_body) req.body = std::move(msg.body());
  req.remote_addr = remote;
  req.tls = tls;
  return req;
}

Response ServerImpl::RespondError(const Request& partial, int status, const std::string& why) const {
  try {
    return error_responder_(partial, status, why);
  } catch (const std::exception& e) {
    log::Error("http error responder threw", {{"status", status}, {"error", e.what()}});
  } catch (...) {
    log::Error("http error responder threw", {{"status", status}});
  }
  return PlainResponse(status, why + "\n");
}

Response ServerImpl::Invoke(const Request& request) const {
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    log::Error("http handler threw", {{"method", request.method}, {"path", request.Path()}, {"error", e.what()}});
  } catch (...) {
    log::Error("http handler threw", {{"method", request.method}, {"path", request.Path()}});
  }
  return RespondError(request, 500, "internal server error");
}

// Suspends the connection's coroutine until the handler's deferred work says the response may go.
template <class Executor>
asio::awaitable<std::optional<Response>> AwaitReady(Defer& defer, Executor executor) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::optional<Response>)>(
      [&defer, executor](auto handler) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        defer([shared, executor](std::optional<Response> replacement) {
          asio::post(executor, [shared, r = std::move(replacement)]() mutable { (*shared)(std::move(r)); });
        });
      },
      asio::use_awaitable);
}

template <class Stream>
asio::awaitable<bool> ServerImpl::Write(Stream& stream, bhttp::response<bhttp::string_body> res,
                                        const std::string& remote) {
  beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, kUseTuple);
  if (ec) {
    LogConnError("write", ec, remote);
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> ServerImpl::LingeringClose(beast::tcp_stream& lowest) {
  error_code ec;
  lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> scratch;
  std::size_t total = 0;
  lowest.expires_after(kLingerTimeout);
  while (!ec && total < kLingerMaxBytes) {
    auto [rec, n] = co_await lowest.async_read_some(asio::buffer(scratch), kUseTuple);
    ec = rec;
    total += n;
  }
  lowest.close();
}

template <class Stream>
asio::awaitable<void> ServerImpl::CloseAfterResponse(Stream& stream) {
  auto& lowest = beast::get_lowest_layer(stream);
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    lowest.expires_after(kTlsShutdownTimeout);
    co_await stream.async_shutdown(kUseTuple);
  } else {
    error_code ec;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ec);
  }
  lowest.close();
}

template <class Stream>
asio::awaitable<void> ServerImpl::Session(Stream stream, std::string remote) {
  constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
  auto conn = std::make_shared<Conn>();
  conn->executor = lowest.get_executor();
  conn->stream = &lowest;
  ConnRegistration registration(this, conn);

  if constexpr (kTls) {
    conn->idle = true;
    if (stopping_) co_return;
    lowest.expires_after(options_.read_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    conn->idle = false;
    if (ec) {
      LogConnError("tls handshake", ec, remote);
      co_return;
    }
  }

  beast::flat_buffer buffer;
  bool first = true;
  for (;;) {
    // Wait for the first byte of the next request (bytes of a pipelined one may already be here).
    // A fresh connection gets the shorter of the two timeouts: it was opened to send a request.
    if (buffer.size() == 0) {
      conn->idle = true;
      if (stopping_) break;
      lowest.expires_after(first ? std::min(options_.idle_timeout, options_.read_timeout) : options_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(kFirstReadBytes), kUseTuple);
      conn->idle = false;
      if (ec) {
        LogConnError("idle", ec, remote);
        break;
      }
      buffer.commit(n);
    }
    first = false;

    // The whole request must arrive within read_timeout of its first byte.
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options_.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
    parser.body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
    lowest.expires_after(options_.read_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, kUseTuple);
    if (!ec && !parser.is_done()) {
      const auto& msg = parser.get();
      if (msg.version() >= 11 && IEquals(msg[bhttp::field::expect], "100-continue")) {
        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
        std::tie(ec, n) = co_await bhttp::async_write(stream, cont, kUseTuple);
      }
      if (!ec) std::tie(ec, n) = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
    }
    if (ec) {
      int status = 0;
      std::string why;
      if (ec == bhttp::error::body_limit) {
        status = 413;
        why = "request body is larger than " + std::to_string(options_.max_body_bytes) + " bytes";
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        why = "request header is larger than " + std::to_string(options_.max_header_bytes) + " bytes";
      } else if (IsHttpParseError(ec) && ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        status = 400;
        why = "malformed HTTP request";
      }
      LogConnError("read", ec, remote);
      if (status == 0) break;  // the peer went away or timed out: nobody to answer
      Request partial = ToRequest(parser, remote, kTls, /*with_body=*/false);
      auto res = BuildWireResponse(RespondError(partial, status, why), 11, /*keep_alive=*/false, /*head=*/false);
      if (co_await Write(stream, std::move(res), remote)) {
        co_await LingeringClose(lowest);
      }
      break;
    }

    auto& msg = parser.get();
    const unsigned version = msg.version();
    const bool head = msg.method() == bhttp::verb::head;
    const bool client_keep_alive = msg.keep_alive();
    Request request = ToRequest(parser, remote, kTls, /*with_body=*/true);
    Response response = Invoke(request);
    if (response.defer) {
      Defer defer = std::move(response.defer);
      response.defer = nullptr;
      std::optional<Response> replacement = co_await AwaitReady(defer, lowest.get_executor());
      if (replacement.has_value()) response = std::move(*replacement);
    }
    bool handler_close = false;
    for (const auto& [name, value] : response.headers) {
      if (IEquals(name, "Connection") && IEquals(value, "close")) handler_close = true;
    }
    const bool keep_alive = client_keep_alive && !handler_close && !stopping_;
    auto res = BuildWireResponse(std::move(response), version, keep_alive, head);
    if (!co_await Write(stream, std::move(res), remote)) break;
    if (!keep_alive) {
      co_await CloseAfterResponse(stream);
      break;
    }
  }
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(ServerOptions options, Handler handler,
                                               ErrorResponder error_responder) {
  if (!handler) return Error(Code::kInvalidParameter, "http server needs a handler");
  if (!error_responder) return Error(Code::kInvalidParameter, "http server needs an error responder");
  try {
    auto server = std::make_unique<ServerImpl>(std::move(options), std::move(handler), std::move(error_responder));
    ARCA_RETURN_IF_ERROR(server->Open());
    return std::unique_ptr<Server>(std::move(server));
  } catch (const std::exception& e) {
    return Error(Code::kInternal, "cannot set up the HTTP server", e.what());
  }
}

}  // namespace arca::http
