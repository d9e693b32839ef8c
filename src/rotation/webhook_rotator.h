#pragma once
// Configured rotators and notifications that speak HTTP:
//
// - WebhookRotator (`type: webhook` in the server config): each step POSTs the event a rotation
//   Lambda gets, {"SecretId": ARN, "ClientRequestToken": token, "Step": step}, to a URL. A 2xx
//   answer is success; any other status, a connection failure or a timeout fails the step (the
//   message names the rotator, the step and the status, never a body).
// - RotationNotifier (`rotation_notify_urls`): POSTs RotationSucceeded / RotationFailed events to
//   each URL from its own thread; failures are logged, never block a rotation.
//
// Both sign their requests when a key is configured (SignatureHeaders):
//   X-Arca-Timestamp: UNIX_SECONDS
//   X-Arca-Signature: sha256=HEX(HMAC-SHA256(key, UNIX_SECONDS + "." + BODY))
// The timestamp is inside the MAC, so a receiver that rejects stale timestamps (say older than
// 5 minutes) cannot be fed a recorded request again.
//
// Thread-safety: WebhookRotator is immutable after construction (RunStep may run on any thread);
// RotationNotifier::Notify may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "rotation/engine.h"
#include "rotation/rotator.h"

namespace arca::rotation {

inline constexpr std::string_view kTimestampHeader = "X-Arca-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-Arca-Signature";

// The two signature headers for `body` sent at `now`.
std::vector<std::pair<std::string, std::string>> SignatureHeaders(const SecretBytes& key,
                                                                  std::string_view body,
                                                                  TimePoint now);

// The JSON a rotation Lambda receives for one step.
std::string LambdaEventJson(const StepRequest& request);

// Reads an HMAC key file: its bytes without trailing whitespace. kInvalidParameter when it cannot
// be read, is empty, or can be read or written by group or others (it must be mode 0600 or 0400).
Result<SecretBytes> LoadHmacKeyFile(const std::string& path);

struct WebhookOptions {
  std::string name;  // the rotator's name, for messages
  std::string url;
  std::optional<SecretBytes> hmac_key;  // none: unsigned
  std::chrono::milliseconds timeout{30000};
  std::string ca_file;  // extra CA bundle for https URLs
};

class WebhookRotator final : public Rotator {
 public:
  WebhookRotator(WebhookOptions options, const Clock& clock);
  Status RunStep(SecretsApi& api, const StepRequest& request) override;

 private:
  const WebhookOptions options_;
  const Clock& clock_;
};

struct NotifierOptions {
  std::vector<std::string> urls;
  std::optional<SecretBytes> hmac_key;
  std::chrono::milliseconds timeout{10000};
  std::size_t max_queue = 1000;  // events beyond this are dropped (and logged)
};

// The JSON body of a notification (exposed for tests): {"event", "arn", "name", "region", "token",
// "step", "rotator", "time", and for failures "error", "attempts", "nextAttempt"}.
std::string NotificationJson(const RotationEvent& event);

class RotationNotifier {
 public:
  RotationNotifier(NotifierOptions options, const Clock& clock);
  ~RotationNotifier();  // sends what is queued (each POST bounded by the timeout), then stops
  RotationNotifier(const RotationNotifier&) = delete;
  RotationNotifier& operator=(const RotationNotifier&) = delete;

  // Queues the event for every URL (kStarted events are not sent). Never blocks on the network.
  void Notify(const RotationEvent& event);

  std::uint64_t sent() const;
  std::uint64_t failed() const;

 private:
  void Run();

  const NotifierOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> outbox_;  // GUARDED_BY(mu_): JSON bodies
  bool stopping_ = false;           // GUARDED_BY(mu_)
  std::uint64_t sent_ = 0;          // GUARDED_BY(mu_)
  std::uint64_t failed_ = 0;        // GUARDED_BY(mu_)
  std::thread worker_;              // last
};

}  // namespace arca::rotation
