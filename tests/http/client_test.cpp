// Tests for the outbound client (http::Send, http::Post) against a loopback fake server.

#include "http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "fakes/http_server.h"
#include "fakes/tls_cert.h"
#include "http/server.h"

namespace arca::http {
namespace {

using arca::testing::FakeHttpServer;
using arca::testing::FakeRequest;
using arca::testing::FakeResponse;
using namespace std::chrono_literals;
using arca::testing::WriteSelfSigned;

// A loopback port nothing listens on: bound, then closed.
std::uint16_t ClosedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(HttpClientTest, SendsMethodHeadersAndBodyAndCollectsLowerCasedHeaders) {
  FakeHttpServer server([](const FakeRequest& r) {
    FakeResponse out;
    out.status = 201;
    out.headers = {{"X-Echo-Method", r.method}, {"X-Amzn-RequestId", "rid-1"}};
    out.body = "got:" + r.body;
    return out;
  });
  ClientRequest req;
  req.method = "PUT";
  req.url = server.url() + "/path?q=1";
  req.headers = {{"X-Custom", "v1"}, {"Content-Type", "text/plain"}};
  req.body = "hello";
  auto r = Send(req, PostOptions{});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "got:hello");
  EXPECT_EQ(r->Header("x-echo-method"), "PUT");
  EXPECT_EQ(r->Header("x-amzn-requestid"), "rid-1");
  EXPECT_EQ(r->Header("content-length"), "9");
  EXPECT_EQ(r->Header("absent"), "");
  for (const auto& [name, value] : r->headers) {
    for (char c : name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << name;
  }

  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].target, "/path?q=1");
  EXPECT_EQ(seen[0].Header("x-custom"), "v1");
  EXPECT_EQ(seen[0].Header("content-type"), "text/plain");
  EXPECT_EQ(seen[0].Header("expect"), "");
  EXPECT_EQ(seen[0].body, "hello");
}

TEST(HttpClientTest, GetWithoutBodyAndErrorStatusesAreResults) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.status = 404;
    out.body = "nope";
    return out;
  });
  ClientRequest req;
  req.method = "GET";
  req.url = server.url() + "/";
  auto r = Send(req, PostOptions{});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "nope");
  ASSERT_EQ(server.count(), 1u);
  EXPECT_EQ(server.requests()[0].method, "GET");
}

TEST(HttpClientTest, LargeBodyIsSentWhole) {
  FakeHttpServer server([](const FakeRequest& r) {
    FakeResponse out;
    out.body = std::to_string(r.body.size());
    return out;
  });
  ClientRequest req;
  req.url = server.url() + "/";
  req.body.assign(200000, 'x');
  auto r = Send(req, PostOptions{});
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->body, "200000");
}

TEST(HttpClientTest, ConnectionRefusedNamesTheUrlAndTheReason) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  ClientRequest req;
  req.url = url;
  auto r = Send(req, PostOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_EQ(r.error().message(), "could not reach " + url + ": Connection refused");
}

TEST(HttpClientTest, BodyOverTheLimitIsAnError) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.body.assign(5000, 'y');
    return out;
  });
  ClientRequest req;
  req.url = server.url() + "/";
  PostOptions options;
  options.max_body_bytes = 1000;
  auto r = Send(req, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find("larger than 1000 bytes"), std::string::npos)
      << r.error().message();

  options.max_body_bytes = 5000;  // exactly at the limit is fine
  auto ok = Send(req, options);
  ASSERT_TRUE(ok.ok()) << ok.error().ToLogString();
  EXPECT_EQ(ok->body.size(), 5000u);
}

TEST(HttpClientTest, SlowServerTimesOut) {
  FakeHttpServer server([](const FakeRequest&) {
    std::this_thread::sleep_for(300ms);
    return FakeResponse{};
  });
  ClientRequest req;
  req.url = server.url() + "/";
  PostOptions options;
  options.timeout = 100ms;
  auto r = Send(req, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find("timed out"), std::string::npos) << r.error().message();
}

TEST(HttpClientTest, HttpsToAPlainServerFailsAsUnavailable) {
  FakeHttpServer server([](const FakeRequest&) { return FakeResponse{}; });
  ClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
  PostOptions options;
  options.timeout = 20000ms;  // fails fast; the margin is for slow runs (valgrind)
  auto r = Send(req, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
  EXPECT_NE(r.error().message().find("could not reach https://127.0.0.1:"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("TLS"), std::string::npos) << r.error().message();
}

TEST(HttpClientTest, OtherSchemesAreRefused) {
  ClientRequest req;
  req.url = "file:///etc/passwd";
  auto r = Send(req, PostOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable);
}

TEST(HttpClientTest, PostSendsBodyAndOptionHeaders) {
  FakeHttpServer server([](const FakeRequest&) {
    FakeResponse out;
    out.status = 204;
    return out;
  });
  PostOptions options;
  options.headers = {{"Content-Type", "application/json"}};
  auto r = Post(server.url() + "/hook", R"({"a":1})", options);
  ASSERT_TRUE(r.ok()) << r.error().ToLogString();
  EXPECT_EQ(r->status, 204);
  auto seen = server.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].target, "/hook");
  EXPECT_EQ(seen[0].Header("content-type"), "application/json");
  EXPECT_EQ(seen[0].body, R"({"a":1})");
}

// --- TLS against the real http::Server ---


TEST(HttpClientTlsTest, VerifiesTheServerCertificate) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "arca-http-client-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const std::string cert = tmpl + "/cert.pem";
  const std::string key = tmpl + "/key.pem";
  ASSERT_TRUE(WriteSelfSigned(cert, key));

  ServerOptions options;
  options.port = 0;
  options.threads = 1;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  auto created = Server::Create(
      options,
      [](const Request& r) {
        Response out;
        out.body = "secure " + r.method;
        return out;
      },
      [](const Request&, int status, const std::string&) {
        Response out;
        out.status = status;
        return out;
      });
  ASSERT_TRUE(created.ok()) << created.error().ToLogString();
  std::unique_ptr<Server> server = std::move(*created);
  std::thread runner([&server] { server->Run(); });

  ClientRequest req;
  req.url = "https://127.0.0.1:" + std::to_string(server->port()) + "/";
  req.body = "x";
  PostOptions post;
  post.timeout = 5000ms;

  // Not trusted by the system's bundle: refused.
  auto untrusted = Send(req, post);
  ASSERT_FALSE(untrusted.ok());
  EXPECT_EQ(untrusted.error().code(), Code::kUnavailable);
  EXPECT_NE(untrusted.error().message().find("TLS verification failed"), std::string::npos)
      << untrusted.error().message();

  // Trusted through the CA bundle option.
  post.ca_file = cert;
  auto trusted = Send(req, post);
  ASSERT_TRUE(trusted.ok()) << trusted.error().ToLogString();
  EXPECT_EQ(trusted->status, 200);
  EXPECT_EQ(trusted->body, "secure POST");

  // A missing bundle file is an error too, never a silent fallback to no verification.
  post.ca_file = tmpl + "/missing.pem";
  auto missing = Send(req, post);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kUnavailable);

  server->Stop();
  runner.join();
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace arca::http
