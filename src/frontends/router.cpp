#include "frontends/router.h"

#include <chrono>
#include <exception>
#include <string_view>

#include "core/log.h"
#include "frontends/aws/json_protocol.h"
#include "frontends/aws/secretsmanager.h"
#include "frontends/aws/sigv4_auth.h"

namespace arca::frontends {

namespace {

constexpr std::string_view kSecretsManagerPrefix = "secretsmanager.";
// The namespace AWS JSON errors name when no service could be picked.
constexpr std::string_view kDefaultCoralNamespace = "com.amazonaws.secretsmanager";

constexpr std::size_t kMaxEchoedTarget = 128;

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

}  // namespace

// Thread-safety: immutable after construction except the verifier's internal caches (synchronised).
class Router::Impl {
 public:
  explicit Impl(Services services)
      : clock_(services.clock != nullptr ? *services.clock : SystemClock::Instance()) {
    if (services.access_keys != nullptr) {
      verifier_ = std::make_unique<aws::SigV4Verifier>(*services.access_keys, clock_);
      json_ = std::make_unique<aws::JsonProtocol>(*verifier_);
      if (services.secrets != nullptr) {
        secretsmanager_ = std::make_unique<aws::SecretsManagerFrontend>(*services.secrets);
      }
    }
  }

  http::Response Handle(const http::Request& request) {
    std::string_view target = request.Header("x-amz-target").value_or(std::string_view());
    if (StartsWith(target, kSecretsManagerPrefix)) {
      if (secretsmanager_ != nullptr) return json_->Handle(request, *secretsmanager_);
      std::string request_id = aws::NewRequestId();
      log::Error("request failed", {{"request_id", request_id}, {"error", "secretsmanager is not wired"}});
      return aws::ErrorResponse(Error(Code::kUnavailable, "The service is not available."), request_id,
                                kDefaultCoralNamespace);
    }
    auto start = std::chrono::steady_clock::now();
    std::string request_id = aws::NewRequestId();
    target = target.substr(0, kMaxEchoedTarget);  // it is echoed and logged: keep it short
    std::string message = target.empty()
                              ? std::string("Missing X-Amz-Target header: no operation was named.")
                              : "The operation " + std::string(target) + " is not supported.";
    http::Response r = aws::ErrorResponse(Error(Code::kUnknownOperation, message), request_id,
                                          kDefaultCoralNamespace);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    aws::LogRequest(target, r.status, "UnknownOperationException", ms, request_id, "", "");
    return r;
  }

  http::Response HandleError(const http::Request& partial, int status, const std::string& why) {
    std::string request_id = aws::NewRequestId();
    http::Response r;
    std::string_view type;
    if (status == 413) {
      Error err(Code::kPayloadTooLarge, why.empty() ? std::string("Request entity too large") : why);
      type = aws::ShapeOf(err.code()).type;
      r = aws::ErrorResponse(err, request_id, kDefaultCoralNamespace);
    } else {
      type = aws::ShapeOf(Code::kSerialization).type;
      r = aws::ErrorResponse(type, status, why, request_id, kDefaultCoralNamespace);
    }
    std::string_view target = partial.Header("x-amz-target").value_or(std::string_view());
    aws::LogRequest(target.substr(0, kMaxEchoedTarget), r.status, type, 0.0, request_id, "", "");
    return r;
  }

 private:
  const Clock& clock_;
  std::unique_ptr<aws::SigV4Verifier> verifier_;
  std::unique_ptr<aws::JsonProtocol> json_;
  std::unique_ptr<aws::SecretsManagerFrontend> secretsmanager_;
};

Router::Router(Services services) : impl_(std::make_unique<Impl>(services)) {}

Router::~Router() = default;

http::Response Router::Handle(const http::Request& request) {
  try {
    return impl_->Handle(request);
  } catch (const std::exception& e) {
    // Nothing below should throw; if something does, answer like AWS and keep the detail in the log.
    std::string request_id = aws::NewRequestId();
    log::Error("request failed", {{"request_id", request_id}, {"exception", e.what()}});
    return aws::ErrorResponse(Error(Code::kInternal, "internal"), request_id, kDefaultCoralNamespace);
  }
}

http::Response Router::HandleError(const http::Request& partial, int status, const std::string& why) {
  try {
    return impl_->HandleError(partial, status, why);
  } catch (const std::exception&) {
    http::Response r;
    r.status = status;
    return r;
  }
}

}  // namespace arca::frontends
