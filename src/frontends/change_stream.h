#pragma once
// The change stream: GET /arca/v1/changes?after=N&wait=S&limit=L, Arca's own endpoint for readers
// that follow changes (the operator's arca provider, caches). It is signed with SigV4 like any AWS
// call (scope service "secretsmanager") and goes through the same request path (RequestScope: gate,
// fail closed, metrics, one audit record "ListSecretChanges", read-only), and answers
// application/json:
//   {"Changes": [{"Sequence", "Time", "Region", "Name", "ARN", "Deleted",
//                 "Versions": [{"VersionId", "VersionStages"}]}],
//    "NextSequence": N, "Reset": false}
// Never values. Which changes a caller sees is the domain's rule (secrets::SecretsService::
// ListChanges: the credential scope's region, secrets it may describe).
//
// `after` absent or "latest": no changes, NextSequence = the head. A long-poll (nothing visible
// yet, wait > 0) does not hold a server thread: the response is deferred (http::Response::defer)
// and a waiter thread answers it when the store's commit listener reports a change the caller can
// see, when `wait` runs out, or at once on Shutdown().
//
// Thread-safety: Handle() may be called concurrently; Shutdown() from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "frontends/aws/request_path.h"
#include "frontends/aws/sigv4_auth.h"
#include "http/message.h"
#include "secrets/service.h"

namespace arca::frontends {

class ChangeStream {
 public:
  static constexpr std::string_view kPath = "/arca/v1/changes";
  static constexpr std::string_view kOperation = "ListSecretChanges";
  static constexpr std::int64_t kDefaultWaitSeconds = 20;
  static constexpr std::int64_t kMaxWaitSeconds = 60;
  static constexpr std::int64_t kDefaultLimit = 100;
  static constexpr std::int64_t kMaxLimit = 1000;

  // `secrets`, `verifier` and `hooks` must outlive the stream. Subscribes to the secrets service's
  // commits and starts the waiter thread.
  ChangeStream(secrets::SecretsService& secrets, aws::SigV4Verifier& verifier, const aws::RequestHooks& hooks);
  ~ChangeStream();  // Shutdown(), then unsubscribes and joins the waiter thread
  ChangeStream(const ChangeStream&) = delete;
  ChangeStream& operator=(const ChangeStream&) = delete;

  // True for a request to kPath (any method: others get an error in the AWS shape).
  static bool Matches(const http::Request& request);
  http::Response Handle(const http::Request& request);

  // Pending long-polls answer now (no changes); later ones do not wait. For a graceful stop.
  void Shutdown();

 private:
  struct Call;  // one request, from the signature check to the response

  // The changes to answer `call` with, or nullopt when it should wait for more. Runs the domain
  // call (again and again while the domain says it stopped early).
  std::optional<http::Response> Poll(Call& call);
  // The response of a call that is over (its record is made durable before it goes out).
  http::Response Respond(Call& call, Result<std::string> body);
  // Hands a finished call's response to the server once its audit record is durable.
  static void Deliver(Call& call, http::Response response);
  void Wait(std::shared_ptr<Call> call);
  void WaiterLoop();

  secrets::SecretsService& secrets_;
  aws::SigV4Verifier& verifier_;
  const aws::RequestHooks& hooks_;
  std::uint64_t subscription_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                        // GUARDED_BY(mu_)
  bool wake_ = false;                            // GUARDED_BY(mu_): a commit or a new waiter
  std::vector<std::shared_ptr<Call>> waiting_;   // GUARDED_BY(mu_)
  std::thread thread_;                           // last: starts after the members above exist
};

}  // namespace arca::frontends
