// Tests for http::Server over real loopback sockets (port 0). Plain HTTP is driven with POSIX sockets so
// malformed and half-closed traffic can be sent byte by byte; HTTPS uses a Beast ssl_stream.

#include "http/server.h"
#include "fakes/tls_cert.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace arca::http {
namespace {

using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string Get(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A blocking loopback client with a 5 s receive timeout, so a broken server fails the test instead of
// hanging it.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  void ShutdownWrite() { ::shutdown(fd_, SHUT_WR); }

  // Reads one response (Content-Length framed; no body when !with_body, as for HEAD). nullopt on EOF,
  // error or timeout.
  std::optional<RawResponse> ReadResponse(bool with_body = true) {
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    RawResponse r;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    std::size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return std::nullopt;
    r.status = std::atoi(status_line.substr(9, 3).c_str());
    std::size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      std::size_t next = head.find("\r\n", pos);
      if (next == std::string::npos) next = head.size();
      std::string line = head.substr(pos, next - pos);
      std::size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[Lower(line.substr(0, colon))] = value;
      }
      pos = next + 2;
    }
    std::size_t length =
        with_body ? static_cast<std::size_t>(std::atoll(r.Get("content-length").c_str())) : 0;
    while (buf_.size() < length) {
      if (!Fill()) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) before sending anything more.
  bool ReadEof() {
    if (!buf_.empty()) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, 0);
    return n == 0 || (n < 0 && errno == ECONNRESET);
  }

 private:
  bool Fill() {
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string Get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

std::string Post(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Echoes "METHOD target body"; reports the peer and TLS in headers. /throw throws.
Response Echo(const Request& req) {
  if (req.Path() == "/throw") throw std::runtime_error("boom");
  Response r;
  if (req.Path() == "/nocontent") {
    r.status = 204;
    r.body = "dropped";
    return r;
  }
  r.SetHeader("Content-Type", "text/plain");
  r.SetHeader("X-Remote", req.remote_addr);
  r.SetHeader("X-Tls", req.tls ? "yes" : "no");
  r.SetHeader("X-Header-Count", std::to_string(req.headers.size()));
  r.body = req.method + " " + req.target + " " + req.body;
  return r;
}

Response ErrorShape(const Request& partial, int status, const std::string& why) {
  Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/x-test-error");
  r.body = "test-error " + std::to_string(status) + " [" + partial.method + "] " + why;
  return r;
}

ServerOptions TestOptions() {
  ServerOptions o;
  o.port = 0;
  o.threads = 2;
  o.idle_timeout = 2s;
  o.read_timeout = 2s;
  o.drain_timeout = 5s;
  return o;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options = TestOptions(), Handler handler = Echo) {
    auto created = Server::Create(std::move(options), std::move(handler), ErrorShape);
    ASSERT_TRUE(created.ok()) << created.error().ToLogString();
    server_ = std::move(*created);
    ASSERT_NE(server_->port(), 0);
    std::promise<void> done;
    run_done_ = done.get_future();
    thread_ = std::thread([this, d = std::move(done)]() mutable {
      server_->Run();
      d.set_value();
    });
  }

  // Stops the server and checks that Run() returns in time.
  void StopAndJoin(std::chrono::milliseconds limit = 5000ms) {
    server_->Stop();
    ASSERT_EQ(run_done_.wait_for(limit), std::future_status::ready) << "Run() did not return after Stop()";
    thread_.join();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const { return server_->port(); }

  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::future<void> run_done_;
};

TEST_F(ServerTest, TwoRequestsOnOneKeepAliveConnection) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(Get("/first?x=1", "X-A: 1\r\nX-B: 2\r\n")));
  auto r1 = c.ReadResponse();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->status, 200);
  EXPECT_EQ(r1->body, "GET /first?x=1 ");
  EXPECT_EQ(r1->Get("x-remote"), "127.0.0.1");
  EXPECT_EQ(r1->Get("x-tls"), "no");
  EXPECT_EQ(r1->Get("x-header-count"), "3");
  EXPECT_EQ(r1->Get("content-length"), std::to_string(r1->body.size()));
  EXPECT_NE(Lower(r1->Get("connection")), "close");

  ASSERT_TRUE(c.Send(Post("/second", "hello body")));
  auto r2 = c.ReadResponse();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 200);
  EXPECT_EQ(r2->body, "POST /second hello body");
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send(Get("/a") + Get("/b")));
  auto r1 = c.ReadResponse();
  auto r2 = c.ReadResponse();
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(r1->body, "GET /a ");
  EXPECT_EQ(r2->body, "GET /b ");
}

TEST_F(ServerTest, BodyOverLimitGetsErrorRespondersResponseAndServerStillServes) {
  auto options = TestOptions();
  options.max_body_bytes = 1024;
  Start(options);
  {
    Client c(port());
    ASSERT_TRUE(c.Send(Post("/big", std::string(4096, 'x'))));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->Get("content-type"), "application/x-test-error");
    EXPECT_EQ(r->body.rfind("test-error 413 [POST]", 0), 0u) << r->body;
    EXPECT_EQ(Lower(r->Get("connection")), "close");
    EXPECT_TRUE(c.ReadEof());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.Send(Post("/small", std::string(1024, 'y'))));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(ServerTest, ChunkedBodyOverLimitGets413) {
  auto options = TestOptions();
  options.max_body_bytes = 1024;
  Start(options);
  Client c(port());
  std::string chunk(800, 'z');
  std::string req = "POST /chunked HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n";
  req += "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n";
  ASSERT_TRUE(c.Send(req));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST_F(ServerTest, GarbageGets400AndServerStillServes) {
  Start();
  {
    Client c(port());
    ASSERT_TRUE(c.Send(std::string("\x00\x01 hello\r\n\r\n", 12)));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->body.rfind("test-error 400", 0), 0u) << r->body;
    EXPECT_TRUE(c.ReadEof());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.Send(Get("/after")));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(ServerTest, OversizedHeadersGet431) {
  auto options = TestOptions();
  options.max_header_bytes = 1024;
  Start(options);
  {
    Client c(port());
    ASSERT_TRUE(c.Send(Get("/", "X-Big: " + std::string(4096, 'h') + "\r\n")));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 431);
    EXPECT_TRUE(c.ReadEof());
  }
  Client c(port());
  ASSERT_TRUE(c.Send(Get("/", "X-Small: " + std::string(100, 'h') + "\r\n")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, HalfClosedClientStillGetsResponse) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send(Post("/half", "abc")));
  c.ShutdownWrite();
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /half abc");
  EXPECT_TRUE(c.ReadEof());
}

TEST_F(ServerTest, ConnectionCloseAndHttp10AreHonoured) {
  Start();
  {
    Client c(port());
    ASSERT_TRUE(c.Send(Get("/", "Connection: close\r\n")));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(Lower(r->Get("connection")), "close");
    EXPECT_TRUE(c.ReadEof());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.Send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(c.ReadEof());
  }
  {
    Client c(port());
    ASSERT_TRUE(c.Send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(Lower(r->Get("connection")), "keep-alive");
    ASSERT_TRUE(c.Send("GET /again HTTP/1.0\r\n\r\n"));
    r = c.ReadResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /again ");
  }
}

TEST_F(ServerTest, HandlerExceptionGives500AndConnectionSurvives) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send(Get("/throw")));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body.find("boom"), std::string::npos);
  ASSERT_TRUE(c.Send(Get("/fine")));
  r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, HeadAndNoContentResponsesCarryNoBody) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n" + Get("/nocontent") + Get("/next")));
  auto head = c.ReadResponse(/*with_body=*/false);
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Get("content-length"), "8");  // the size of "HEAD /h ", which is not sent
  auto none = c.ReadResponse();
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 204);
  EXPECT_EQ(none->body, "");
  // Had either carried body bytes, this response would not parse.
  auto next = c.ReadResponse();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  EXPECT_EQ(next->body, "GET /next ");
}

TEST_F(ServerTest, ExpectContinueGets100ThenResponse) {
  Start();
  Client c(port());
  ASSERT_TRUE(c.Send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n"));
  auto cont = c.ReadResponse();
  ASSERT_TRUE(cont);
  EXPECT_EQ(cont->status, 100);
  ASSERT_TRUE(c.Send("xyz"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /e xyz");
}

TEST_F(ServerTest, SilentAndSlowClientsDoNotBlockOthersAndAreTimedOut) {
  auto options = TestOptions();
  options.threads = 1;
  options.idle_timeout = 1s;
  options.read_timeout = 1s;
  Start(options);
  Client silent(port());
  Client partial(port());
  ASSERT_TRUE(partial.Send("GET /never-finished HTTP/1.1\r\nHost: x\r\n"));

  auto t0 = std::chrono::steady_clock::now();
  Client other(port());
  ASSERT_TRUE(other.Send(Get("/other")));
  auto r = other.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 900ms);  // not held up by the 1 s timeouts

  // Both are cut off by the server (no response for the unfinished request) well before the
  // client's own 5 s receive timeout.
  EXPECT_TRUE(silent.ReadEof());
  EXPECT_TRUE(partial.ReadEof());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST_F(ServerTest, SixteenConcurrentClients) {
  Start();
  constexpr int kClients = 16;
  constexpr int kRequests = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      Client c(port());
      if (!c.connected()) return;
      for (int j = 0; j < kRequests; ++j) {
        std::string body = "client" + std::to_string(i) + "-" + std::to_string(j);
        if (!c.Send(Post("/c", body))) return;
        auto r = c.ReadResponse();
        if (r && r->status == 200 && r->body == "POST /c " + body) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kClients * kRequests);
}

TEST_F(ServerTest, StopLetsInFlightRequestFinishAndClosesIdleConnections) {
  std::atomic<bool> entered{false};
  Start(TestOptions(), [&](const Request& req) {
    if (req.Path() == "/slow") {
      entered = true;
      std::this_thread::sleep_for(300ms);
    }
    return Echo(req);
  });
  Client idle(port());
  ASSERT_TRUE(idle.Send(Get("/warm")));
  ASSERT_TRUE(idle.ReadResponse());

  Client slow(port());
  ASSERT_TRUE(slow.Send(Get("/slow")));
  for (int i = 0; i < 200 && !entered; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(entered);

  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([this] { server_->Stop(); });
  stopper.join();
  server_->Stop();  // idempotent

  auto r = slow.ReadResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /slow ");
  EXPECT_EQ(Lower(r->Get("connection")), "close");
  EXPECT_TRUE(idle.ReadEof());

  ASSERT_EQ(run_done_.wait_for(3s), std::future_status::ready);
  thread_.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);

  Client late(port());
  EXPECT_FALSE(late.connected());
}

TEST_F(ServerTest, StopBeforeRunReturnsPromptly) {
  auto created = Server::Create(TestOptions(), Echo, ErrorShape);
  ASSERT_TRUE(created.ok());
  auto server = std::move(*created);
  server->Stop();
  auto done = std::async(std::launch::async, [&] { server->Run(); });
  EXPECT_EQ(done.wait_for(3s), std::future_status::ready);
}

TEST_F(ServerTest, CreateReportsAddressInUseAndBadHost) {
  Start();
  auto options = TestOptions();
  options.port = port();
  auto again = Server::Create(options, Echo, ErrorShape);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().ToLogString().find("in use"), std::string::npos) << again.error().ToLogString();

  // An address this machine does not have (TEST-NET-1; binding sends nothing).
  options = TestOptions();
  options.host = "192.0.2.1";
  auto bad = Server::Create(options, Echo, ErrorShape);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("192.0.2.1"), std::string::npos) << bad.error().message();

  // Names resolve (from /etc/hosts, no DNS needed).
  options = TestOptions();
  options.host = "localhost";
  auto named = Server::Create(options, Echo, ErrorShape);
  EXPECT_TRUE(named.ok()) << named.error().ToLogString();
}

// --- TLS ---

class TempDir {
 public:
  TempDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "arca-http-test-XXXXXX").string();
    path_ = ::mkdtemp(templ.data()) ? templ : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using arca::testing::WriteSelfSigned;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// One HTTPS GET with certificate verification off. Returns the status, or -1 on any failure.
int HttpsGet(std::uint16_t port, const std::string& target, std::string* body, int max_tls_version = 0) {
  try {
    asio::io_context ioc;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    if (max_tls_version != 0) SSL_CTX_set_max_proto_version(ctx.native_handle(), max_tls_version);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    beast::get_lowest_layer(stream).connect(
        asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream.handshake(asio::ssl::stream_base::client);
    bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
    req.set(bhttp::field::host, "localhost");
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    if (body) *body = res.body();
    return static_cast<int>(res.result_int());
  } catch (const std::exception&) {
    return -1;
  }
}

TEST_F(ServerTest, ServesHttpsWithSelfSignedCertificate) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  std::string cert = dir.path() + "/cert.pem";
  std::string key = dir.path() + "/key.pem";
  ASSERT_TRUE(WriteSelfSigned(cert, key));
  auto options = TestOptions();
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  Start(options);

  std::string body;
  EXPECT_EQ(HttpsGet(port(), "/secure", &body), 200);
  EXPECT_EQ(body, "GET /secure ");
  // TLS 1.1 and older are refused.
  EXPECT_EQ(HttpsGet(port(), "/old", nullptr, TLS1_1_VERSION), -1);
  // Plain HTTP to the TLS port gets no HTTP response.
  Client c(port());
  ASSERT_TRUE(c.Send(Get("/plain")));
  EXPECT_FALSE(c.ReadResponse());
}

TEST_F(ServerTest, CreateWithMissingCertificateFails) {
  TempDir dir;
  auto options = TestOptions();
  options.tls_cert_file = dir.path() + "/missing-cert.pem";
  options.tls_key_file = dir.path() + "/missing-key.pem";
  auto created = Server::Create(options, Echo, ErrorShape);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message().find("missing-cert.pem"), std::string::npos) << created.error().message();

  options.tls_key_file.reset();
  created = Server::Create(options, Echo, ErrorShape);
  EXPECT_FALSE(created.ok());
}

TEST_F(ServerTest, CreateWithGarbageCertificateFails) {
  TempDir dir;
  std::string cert = dir.path() + "/cert.pem";
  std::string key = dir.path() + "/key.pem";
  for (const auto& p : {cert, key}) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("not a pem file\n", f);
    std::fclose(f);
  }
  auto options = TestOptions();
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  auto created = Server::Create(options, Echo, ErrorShape);
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message().find("cert.pem"), std::string::npos) << created.error().message();
}

}  // namespace
}  // namespace arca::http

namespace arca::http {
namespace {

// A deferred response goes out only once the handler's work says so, from another thread, while the
// connection's thread keeps serving other clients; a replacement response is sent instead.
TEST_F(ServerTest, DeferredResponsesWaitWithoutBlockingTheThread) {
  struct Pending {
    std::mutex mu;
    std::vector<std::pair<std::string, Ready>> waiting;
  };
  auto pending = std::make_shared<Pending>();
  auto options = TestOptions();
  options.threads = 1;  // one thread: a blocked thread would starve the second client
  Start(options, [pending](const Request& req) {
    Response r = Echo(req);
    if (req.Path() == "/later" || req.Path() == "/replace") {
      r.defer = [pending, path = std::string(req.Path())](Ready ready) {
        std::lock_guard<std::mutex> lock(pending->mu);
        pending->waiting.emplace_back(path, std::move(ready));
      };
    }
    return r;
  });
  Client waiting(port());
  ASSERT_TRUE(waiting.Send(Get("/later")));
  Client other(port());
  ASSERT_TRUE(other.Send(Get("/now")));
  auto now = other.ReadResponse();
  ASSERT_TRUE(now);
  EXPECT_EQ(now->body, "GET /now ");

  Client replaced(port());
  ASSERT_TRUE(replaced.Send(Get("/replace")));
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(pending->mu);
      if (pending->waiting.size() == 2) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::vector<std::pair<std::string, Ready>> ready;
  {
    std::lock_guard<std::mutex> lock(pending->mu);
    ready = std::move(pending->waiting);
  }
  ASSERT_EQ(ready.size(), 2U);
  std::thread completer([&ready] {
    for (auto& [path, done] : ready) {
      if (path == "/later") {
        done(std::nullopt);
      } else {
        Response failed;
        failed.status = 503;
        failed.body = "audit unavailable";
        done(std::move(failed));
      }
    }
  });
  completer.join();
  auto later = waiting.ReadResponse();
  ASSERT_TRUE(later);
  EXPECT_EQ(later->status, 200);
  EXPECT_EQ(later->body, "GET /later ");
  auto repl = replaced.ReadResponse();
  ASSERT_TRUE(repl);
  EXPECT_EQ(repl->status, 503);
  EXPECT_EQ(repl->body, "audit unavailable");
}

}  // namespace
}  // namespace arca::http
