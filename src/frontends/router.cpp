#include "frontends/router.h"

#include <chrono>
#include <exception>
#include <string_view>

#include "core/log.h"
#include "core/strings.h"
#include "frontends/aws/cloudtrail.h"
#include "frontends/aws/iam.h"
#include "frontends/aws/kms.h"
#include "frontends/aws/json_protocol.h"
#include "frontends/aws/query_protocol.h"
#include "frontends/aws/secretsmanager.h"
#include "frontends/aws/sigv4_auth.h"
#include "frontends/aws/ssm.h"
#include "frontends/aws/sts.h"
#include "frontends/change_stream.h"

namespace arca::frontends {

namespace {

constexpr std::string_view kSecretsManagerPrefix = "secretsmanager.";
constexpr std::string_view kKmsPrefix = "TrentService.";
constexpr std::string_view kSsmPrefix = "AmazonSSM.";
constexpr std::string_view kCloudTrailPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
// The namespace AWS JSON errors name when no service could be picked.
constexpr std::string_view kDefaultCoralNamespace = "com.amazonaws.secretsmanager";

constexpr std::size_t kMaxEchoedTarget = 128;

// A form-encoded query-protocol request: POST with a form body, or GET with Action in the query.
bool IsQueryProtocol(const http::Request& request) {
  if (request.Header("x-amz-target").has_value()) return false;
  if (request.method == "POST") {
    std::string content_type = AsciiLower(request.Header("content-type").value_or(""));
    return content_type.starts_with(aws::kFormContentType);
  }
  if (request.method == "GET") {
    std::string_view q = request.Query();
    return q.starts_with("Action=") || q.find("&Action=") != std::string_view::npos;
  }
  return false;
}

// The service of the SigV4 credential scope (".../REGION/SERVICE/aws4_request"), empty if unsigned.
std::string_view ScopeService(const http::Request& request, const aws::QueryParams& params) {
  std::string_view credential;
  std::string_view auth = request.Header("authorization").value_or("");
  if (auto at = auth.find("Credential="); at != std::string_view::npos) {
    credential = auth.substr(at + 11);
    credential = credential.substr(0, credential.find_first_of(", "));
  } else if (auto c = params.Find("X-Amz-Credential"); c.has_value()) {
    credential = *c;
  }
  auto end = credential.rfind("/aws4_request");
  if (end == std::string_view::npos) return {};
  credential = credential.substr(0, end);
  auto slash = credential.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : credential.substr(slash + 1);
}

}  // namespace

// Thread-safety: immutable after construction except the verifier's internal caches (synchronised).
class Router::Impl {
 public:
  explicit Impl(Services services)
      : clock_(services.clock != nullptr ? *services.clock : SystemClock::Instance()),
        hooks_(std::move(services.hooks)) {
    if (services.access_keys != nullptr) {
      verifier_ = std::make_unique<aws::SigV4Verifier>(*services.access_keys, clock_, services.sessions);
      json_ = std::make_unique<aws::JsonProtocol>(*verifier_, hooks_);
      query_ = std::make_unique<aws::QueryProtocol>(*verifier_, hooks_);
      if (services.secrets != nullptr) {
        secretsmanager_ = std::make_unique<aws::SecretsManagerFrontend>(*services.secrets);
        changes_ = std::make_unique<ChangeStream>(*services.secrets, *verifier_, hooks_);
      }
      if (services.kms != nullptr) kms_ = std::make_unique<aws::KmsFrontend>(*services.kms);
      if (services.params != nullptr) ssm_ = std::make_unique<aws::SsmFrontend>(*services.params);
      if (services.audit_query != nullptr) {
        cloudtrail_ = std::make_unique<aws::CloudTrailFrontend>(*services.audit_query);
      }
      if (services.directory != nullptr) iam_ = std::make_unique<aws::IamFrontend>(*services.directory);
      if (services.sts != nullptr) sts_ = std::make_unique<aws::StsFrontend>(*services.sts);
    }
  }

  http::Response Handle(const http::Request& request) {
    if (changes_ != nullptr && ChangeStream::Matches(request)) return changes_->Handle(request);
    std::string_view target = request.Header("x-amz-target").value_or(std::string_view());
    if (target.starts_with(kSecretsManagerPrefix)) {
      if (secretsmanager_ != nullptr) return json_->Handle(request, *secretsmanager_);
      std::string request_id = aws::NewRequestId();
      log::Error("request failed", {{"request_id", request_id}, {"error", "secretsmanager is not wired"}});
      return aws::ErrorResponse(Error(Code::kUnavailable, "The service is not available."), request_id,
                                kDefaultCoralNamespace);
    }
    if (target.starts_with(kKmsPrefix) && kms_ != nullptr) return json_->Handle(request, *kms_);
    if (target.starts_with(kSsmPrefix) && ssm_ != nullptr) return json_->Handle(request, *ssm_);
    if (target.starts_with(kCloudTrailPrefix) && cloudtrail_ != nullptr) {
      return json_->Handle(request, *cloudtrail_);
    }
    if (query_ != nullptr && IsQueryProtocol(request)) return HandleQuery(request);
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

  void Shutdown() {
    if (changes_ != nullptr) changes_->Shutdown();
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
  http::Response HandleQuery(const http::Request& request) {
    auto params = aws::QueryParams::Parse(request.method == "POST" ? std::string_view(request.body)
                                                                    : request.Query());
    aws::QueryService* service = nullptr;
    std::string_view scope = params.ok() ? ScopeService(request, *params) : std::string_view();
    if (scope == "sts") {
      service = sts_.get();
    } else if (scope == "iam") {
      service = iam_.get();
    } else if (params.ok() && sts_ != nullptr && sts_->HasOperation(params->Find("Action").value_or(""))) {
      service = sts_.get();  // unsigned STS (AssumeRoleWithWebIdentity) or an unknown scope
    } else {
      service = iam_ != nullptr ? static_cast<aws::QueryService*>(iam_.get()) : sts_.get();
    }
    if (service == nullptr || !params.ok()) {
      std::string request_id = aws::NewRequestId();
      Error err = params.ok() ? Error(Code::kUnavailable, "The service is not available.") : params.error();
      http::Response r = aws::ErrorResponse(err, request_id, kDefaultCoralNamespace);
      aws::LogRequest("", r.status, aws::ShapeOf(err.code()).type, 0.0, request_id, "", "");
      return r;
    }
    return query_->Handle(request, *params, *service);
  }

  const Clock& clock_;
  const aws::RequestHooks hooks_;
  std::unique_ptr<aws::SigV4Verifier> verifier_;
  std::unique_ptr<aws::JsonProtocol> json_;
  std::unique_ptr<aws::QueryProtocol> query_;
  std::unique_ptr<aws::SecretsManagerFrontend> secretsmanager_;
  std::unique_ptr<aws::CloudTrailFrontend> cloudtrail_;
  std::unique_ptr<aws::KmsFrontend> kms_;
  std::unique_ptr<aws::SsmFrontend> ssm_;
  std::unique_ptr<aws::IamFrontend> iam_;
  std::unique_ptr<aws::StsFrontend> sts_;
  std::unique_ptr<ChangeStream> changes_;  // last: refers to verifier_ and hooks_
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

void Router::Shutdown() { impl_->Shutdown(); }

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
