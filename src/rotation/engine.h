#pragma once
// The rotation engine: a background thread that, every `interval`, asks the Secrets Manager domain
// for due rotations (SecretsService::FindDueRotations: manual ones started by RotateSecret and
// scheduled ones whose window opened), takes a lease on each (ClaimRotation) and runs its remaining
// steps in order with the rotator its RotationLambdaARN names, persisting each step
// (CompleteRotationStep). A failed step leaves AWSCURRENT alone, keeps AWSPENDING, is recorded with
// a backoff (FailRotationStep) and retried later. Because every step is persisted and leased, a
// server killed mid-rotation (or a second server on the same store) resumes it where it stopped,
// and only one engine runs a given rotation at a time.
//
// The engine never blocks request threads: it runs on its own thread, and RunOnce() lets tests
// drive it with an injected clock.
//
// Thread-safety: Start/Stop/RunOnce may be called from any thread; RunOnce must not run on two
// threads at once for the same Engine (the engine thread is its only caller once started).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.h"
#include "core/result.h"
#include "rotation/rotator.h"
#include "secrets/service.h"

namespace arca::rotation {

enum class RotationEventKind { kStarted, kSucceeded, kFailed };

// What the engine reports (the server turns these into audit records: RotationStarted,
// RotationSucceeded, RotationFailed). Never holds a value.
struct RotationEvent {
  RotationEventKind kind = RotationEventKind::kStarted;
  std::string arn;
  std::string region;
  std::string name;
  std::string lambda_arn;
  std::string token;
  std::string step;                       // kFailed: the step that failed
  std::string error;                      // kFailed: the message
  std::int64_t attempts = 0;              // kFailed: failures of this step so far
  std::optional<TimePoint> next_attempt;  // kFailed
  TimePoint time;
};
using EventSink = std::function<void(const RotationEvent&)>;

struct EngineOptions {
  // Who holds leases. Must differ between servers sharing a store and stay the same across
  // restarts of one server (so a restarted server resumes its own rotations at once).
  std::string owner = "arca";
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds lease{60000};
  std::size_t batch = 16;  // rotations looked at per pass
  // When set, a pass runs only while it returns true (several servers on one store: the holder
  // of the store's "rotation" lease), and that engine takes over rotations whose lease another
  // owner still holds: that owner lost the store lease, so it stopped or cannot reach the store.
  std::function<bool()> gate;
  // The wait before the first retry of a failed step; it doubles at each failure up to 1 h.
  std::chrono::milliseconds retry_backoff{30000};
};

class Engine {
 public:
  Engine(secrets::SecretsService& service, const RotatorRegistry& rotators, const Clock& clock,
         EngineOptions options, EventSink sink = {});
  ~Engine();  // Stop()
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the background thread (RunOnce every `interval`).
  void Start();
  // Stops the thread: a step in flight finishes and is recorded; the lease is given back, so the
  // rotation resumes at the next start. Idempotent.
  void Stop();

  // One pass: finds due work and runs it. Returns how many rotations finished; an error only when
  // the store could not be asked what is due.
  Result<int> RunOnce();

 private:
  // Runs the remaining steps of one claimed rotation; true when it finished.
  bool Run(const secrets::RotationWork& claimed);
  Status RunStep(Rotator& rotator, const secrets::RotationWork& work);
  void Fail(const secrets::RotationWork& work, const std::string& error);
  void Emit(RotationEvent event, const secrets::RotationWork& work);
  void Loop();

  secrets::SecretsService& service_;
  const RotatorRegistry& rotators_;
  const Clock& clock_;
  const EngineOptions options_;
  const EventSink sink_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace arca::rotation
