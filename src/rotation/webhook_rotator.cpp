#include "rotation/webhook_rotator.h"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "crypto/hash.h"
#include "http/client.h"

namespace arca::rotation {

namespace bj = boost::json;

namespace {

// A URL may carry a token in its user info or query: logs show only scheme, host and port.
std::string UrlForLog(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(invalid URL)";
  std::string_view rest = url.substr(scheme_end + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) rest = rest.substr(at + 1);
  return std::string(url.substr(0, scheme_end + 3)) + std::string(rest);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> SignatureHeaders(const SecretBytes& key,
                                                                  std::string_view body,
                                                                  TimePoint now) {
  const std::string ts = std::to_string(ToUnixMillis(now) / 1000);
  std::string signed_text;
  signed_text.reserve(ts.size() + 1 + body.size());
  signed_text.append(ts).append(".").append(body);
  const auto mac = crypto::HmacSha256(key.view(), signed_text);
  return {{std::string(kTimestampHeader), ts},
          {std::string(kSignatureHeader), "sha256=" + crypto::HexEncode(crypto::AsView(mac))}};
}

std::string LambdaEventJson(const StepRequest& request) {
  return bj::serialize(bj::object{{"SecretId", request.secret_id},
                                  {"ClientRequestToken", request.token},
                                  {"Step", request.step}});
}

Result<SecretBytes> LoadHmacKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    return Error(Code::kInvalidParameter,
                 "cannot read the HMAC key file " + path + ": " + std::strerror(err));  // NOLINT
  }
  if ((st.st_mode & 077) != 0) {
    return Error(Code::kInvalidParameter,
                 "the HMAC key file " + path +
                     " is readable or writable by others; make it mode 0600 (chmod 600)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    return Error(Code::kInvalidParameter,
                 "cannot read the HMAC key file " + path + ": " + std::strerror(err));  // NOLINT
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  SecretBytes key = SecretBytes::FromString(buf.str());
  std::size_t n = key.size();
  while (n > 0 && (key.data()[n - 1] == '\n' || key.data()[n - 1] == '\r' ||
                   key.data()[n - 1] == ' ' || key.data()[n - 1] == '\t')) {
    --n;
  }
  key.resize(n);
  if (key.empty()) {
    return Error(Code::kInvalidParameter, "the HMAC key file " + path + " is empty");
  }
  return key;
}

WebhookRotator::WebhookRotator(WebhookOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Status WebhookRotator::RunStep(SecretsApi& /*api*/, const StepRequest& request) {
  http::ClientRequest req;
  req.method = "POST";
  req.url = options_.url;
  req.body = LambdaEventJson(request);
  req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "arca-rotation"}};
  if (options_.hmac_key) {
    for (auto& h : SignatureHeaders(*options_.hmac_key, req.body, clock_.Now())) {
      req.headers.push_back(std::move(h));
    }
  }
  http::PostOptions opts;
  opts.timeout = options_.timeout;
  opts.connect_timeout = std::min(options_.timeout, std::chrono::milliseconds(10000));
  opts.ca_file = options_.ca_file;
  const std::string what = "webhook rotator " + options_.name + ", step " + request.step;
  auto resp = http::Send(req, opts);
  if (!resp.ok()) {
    // The client's message says what failed (connect, timeout, TLS); it holds no body.
    return Error(Code::kUnavailable, what + ": the request failed: " + resp.error().message());
  }
  if (resp->status < 200 || resp->status > 299) {
    return Error(Code::kUnavailable,
                 what + ": the webhook answered HTTP " + std::to_string(resp->status));
  }
  log::Debug("webhook rotator step done", {{"rotator", options_.name},
                                           {"arn", request.secret_id},
                                           {"step", request.step},
                                           {"status", resp->status}});
  return OkStatus();
}

std::string NotificationJson(const RotationEvent& event) {
  bj::object o;
  o["event"] = event.kind == RotationEventKind::kSucceeded ? "RotationSucceeded"
               : event.kind == RotationEventKind::kFailed  ? "RotationFailed"
                                                           : "RotationStarted";
  o["arn"] = event.arn;
  o["name"] = event.name;
  o["region"] = event.region;
  o["token"] = event.token;
  o["step"] = event.step;
  o["rotator"] = event.lambda_arn;
  o["time"] = FormatIso8601(event.time);
  if (event.kind == RotationEventKind::kFailed) {
    o["error"] = event.error;
    o["attempts"] = event.attempts;
    if (event.next_attempt) o["nextAttempt"] = FormatIso8601(*event.next_attempt);
  }
  return bj::serialize(o);
}

RotationNotifier::RotationNotifier(NotifierOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), worker_([this] { Run(); }) {}

RotationNotifier::~RotationNotifier() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void RotationNotifier::Notify(const RotationEvent& event) {
  if (event.kind == RotationEventKind::kStarted || options_.urls.empty()) return;
  std::string body = NotificationJson(event);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (outbox_.size() >= options_.max_queue) {
      ++failed_;
      log::Warn("rotation notification dropped: too many queued",
                {{"arn", event.arn}, {"queued", static_cast<std::int64_t>(outbox_.size())}});
      return;
    }
    outbox_.push_back(std::move(body));
  }
  cv_.notify_one();
}

std::uint64_t RotationNotifier::sent() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sent_;
}

std::uint64_t RotationNotifier::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void RotationNotifier::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !outbox_.empty(); });
    if (outbox_.empty()) return;  // stopping, and everything was sent
    std::string body = std::move(outbox_.front());
    outbox_.pop_front();
    lock.unlock();
    std::uint64_t ok = 0;
    std::uint64_t bad = 0;
    for (const auto& url : options_.urls) {
      http::PostOptions opts;
      opts.timeout = options_.timeout;
      opts.connect_timeout = options_.timeout;
      opts.headers = {{"Content-Type", "application/json"}, {"User-Agent", "arca-rotation"}};
      if (options_.hmac_key) {
        for (auto& h : SignatureHeaders(*options_.hmac_key, body, clock_.Now())) {
          opts.headers.push_back(std::move(h));
        }
      }
      std::string error;
      try {
        auto resp = http::Post(url, body, opts);
        if (!resp.ok()) {
          error = resp.error().message();
        } else if (resp->status < 200 || resp->status > 299) {
          error = "HTTP " + std::to_string(resp->status);
        }
      } catch (const std::exception& e) {
        error = e.what();
      }
      if (error.empty()) {
        ++ok;
      } else {
        ++bad;
        log::Warn("rotation notification not delivered",
                  {{"url", UrlForLog(url)}, {"error", error}});
      }
    }
    lock.lock();
    sent_ += ok;
    failed_ += bad;
  }
}

}  // namespace arca::rotation
