#pragma once
// A real request path for front-end tests: a SQLite store in a temp dir, a test keyring, a fake clock,
// the root access key, the Secrets Manager service and the Router; plus helpers that build and sign
// requests with the client's own SigV4 code (crypto::sigv4::SignRequest).

#include <gtest/gtest.h>

#include <strings.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/ids.h"
#include "crypto/hash.h"
#include "crypto/keyring.h"
#include "crypto/random.h"
#include "crypto/sigv4.h"
#include "frontends/router.h"
#include "http/message.h"
#include "iam/access_keys.h"
#include "secrets/service.h"
#include "store/sqlite/sqlite_store.h"

namespace arca::frontends::testing {

struct SignOptions {
  std::string region = "us-east-1";
  std::string service = "secretsmanager";
  std::string access_key_id;        // empty: the root key
  const SecretBytes* secret = nullptr;  // null: the root key's secret
};

class FrontendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("arca-frontends-test-" + crypto::NewUuid());
    std::filesystem::create_directories(dir_);
    auto store = store::OpenSqliteStore((dir_ / "arca.db").string());
    ASSERT_TRUE(store.ok()) << store.error().ToLogString();
    store_ = std::move(store).value();
    keyring_ = crypto::Keyring::ForTest(1, crypto::RandomSecret(32));
    access_keys_ = std::make_unique<iam::AccessKeys>(*store_, *keyring_, "aws", "000000000000");
    auto root = access_keys_->EnsureRootKey();
    ASSERT_TRUE(root.ok() && root->has_value());
    root_ = std::move(**root);
    service_ = std::make_unique<secrets::SecretsService>(*store_, *keyring_, clock_,
                                                         secrets::ServiceOptions{});
    router_ = std::make_unique<Router>(Services{service_.get(), access_keys_.get(), &clock_});
  }

  void TearDown() override {
    router_.reset();
    service_.reset();
    access_keys_.reset();
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string AmzDate() const { return FormatAmzDate(clock_.Now()); }

  // An unsigned JSON 1.1 request (Host and X-Amz-Date set, no Authorization).
  http::Request MakeRequest(std::string_view operation, std::string body,
                            std::string_view prefix = "secretsmanager") const {
    http::Request r;
    r.method = "POST";
    r.target = "/";
    r.headers = {{"Host", "localhost:8200"},
                 {"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Date", AmzDate()}};
    if (!operation.empty()) {
      r.headers.emplace_back("X-Amz-Target", std::string(prefix) + "." + std::string(operation));
    }
    r.body = std::move(body);
    r.remote_addr = "127.0.0.1";
    return r;
  }

  // Adds an Authorization header signing every header the request has now.
  void Sign(http::Request& r, const SignOptions& opt = {}) const {
    crypto::sigv4::CanonicalInput in;
    in.method = r.method;
    in.path = std::string(r.Path());
    in.query = std::string(r.Query());
    for (const auto& [k, v] : r.headers) in.headers.push_back({k, v});
    in.payload_hash = crypto::Sha256Hex(r.body);
    std::string amz_date(r.Header("x-amz-date").value_or(AmzDate()));
    const SecretBytes& secret = opt.secret != nullptr ? *opt.secret : root_.secret_access_key;
    std::string akid = opt.access_key_id.empty() ? root_.access_key_id : opt.access_key_id;
    r.headers.emplace_back("Authorization", crypto::sigv4::SignRequest(secret, akid, opt.region, opt.service,
                                                                       amz_date, in));
  }

  http::Request Signed(std::string_view operation, std::string body, const SignOptions& opt = {}) const {
    http::Request r = MakeRequest(operation, std::move(body));
    Sign(r, opt);
    return r;
  }

  // Signs and sends `body` (a JSON value) to `operation` through the Router.
  http::Response Call(std::string_view operation, const boost::json::value& body,
                      const SignOptions& opt = {}) {
    return router_->Handle(Signed(operation, boost::json::serialize(body), opt));
  }

  static boost::json::object BodyOf(const http::Response& r) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(r.body, ec);
    EXPECT_FALSE(ec) << r.body;
    if (ec || !v.is_object()) return {};
    return v.get_object();
  }

  static std::string Header(const http::Response& r, std::string_view name) {
    for (const auto& [k, v] : r.headers) {
      if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
    }
    return {};
  }

  // Asserts an AWS JSON error response of `type` and returns its message.
  static std::string ExpectError(const http::Response& r, std::string_view type, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    boost::json::object body = BodyOf(r);
    EXPECT_EQ(body["__type"], boost::json::value(type)) << r.body;
    EXPECT_EQ(Header(r, "x-amzn-ErrorType"),
              std::string(type) + ":http://internal.amazon.com/coral/com.amazonaws.secretsmanager/");
    EXPECT_EQ(Header(r, "Content-Type"), "application/x-amz-json-1.1");
    EXPECT_TRUE(LooksLikeUuid(Header(r, "x-amzn-RequestId"))) << Header(r, "x-amzn-RequestId");
    return body.contains("message") && body["message"].is_string()
               ? std::string(body["message"].get_string())
               : std::string();
  }

  std::filesystem::path dir_;
  FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<crypto::Keyring> keyring_;
  std::unique_ptr<iam::AccessKeys> access_keys_;
  iam::NewAccessKey root_;
  std::unique_ptr<secrets::SecretsService> service_;
  std::unique_ptr<Router> router_;
};

}  // namespace arca::frontends::testing
