#include "rotation/engine.h"

#include <exception>

#include "core/log.h"

namespace arca::rotation {

Engine::Engine(secrets::SecretsService& service, const RotatorRegistry& rotators,
               const Clock& clock, EngineOptions options, EventSink sink)
    : service_(service),
      rotators_(rotators),
      clock_(clock),
      options_(std::move(options)),
      sink_(std::move(sink)) {}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  log::Info("rotation engine started",
            {{"owner", options_.owner},
             {"interval_ms", static_cast<std::int64_t>(options_.interval.count())}});
}

void Engine::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

void Engine::Loop() {
  while (!stopping_) {
    try {
      auto done = RunOnce();
      if (!done.ok()) log::Error("rotation pass failed", {{"error", done.error().ToLogString()}});
    } catch (const std::exception& e) {
      log::Error("rotation pass failed", {{"error", e.what()}});
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.interval, [this] { return stopping_.load(); });
  }
}

Result<int> Engine::RunOnce() {
  const bool gated = static_cast<bool>(options_.gate);
  if (gated && !options_.gate()) return 0;
  ARCA_ASSIGN_OR_RETURN(auto due, service_.FindDueRotations(options_.batch, gated));
  int finished = 0;
  for (const auto& candidate : due) {
    if (stopping_) break;
    if (gated && !options_.gate()) break;
    auto claimed = service_.ClaimRotation(candidate.arn, options_.owner, options_.lease, gated);
    if (!claimed.ok()) {
      log::Warn("could not claim a rotation",
                {{"arn", candidate.arn}, {"error", claimed.error().ToLogString()}});
      continue;
    }
    if (!claimed->has_value()) continue;  // another engine has it, or it is no longer due
    if (Run(**claimed)) ++finished;
  }
  return finished;
}

bool Engine::Run(const secrets::RotationWork& claimed) {
  secrets::RotationWork work = claimed;
  if (work.fresh) {
    log::Info("rotation started", {{"arn", work.arn}, {"token", work.token}});
    Emit({RotationEventKind::kStarted}, work);
  }
  auto rotator = rotators_.Find(work.lambda_arn);
  if (!rotator.ok()) {
    Fail(work, rotator.error().message());
    return false;
  }
  for (;;) {
    if (auto st = RunStep(**rotator, work); !st.ok()) {
      Fail(work, st.error().message());
      return false;
    }
    auto done = service_.CompleteRotationStep(work, options_.owner, options_.lease);
    if (!done.ok()) {
      if (done.error().code() == Code::kPreconditionNotMet) {
        log::Warn("rotation taken over or cancelled", {{"arn", work.arn}, {"token", work.token}});
        return false;
      }
      Fail(work, done.error().message());
      return false;
    }
    log::Info("rotation step done",
              {{"arn", work.arn}, {"token", work.token}, {"step", work.step}});
    if (*done) {
      log::Info("rotation succeeded", {{"arn", work.arn}, {"token", work.token}});
      Emit({RotationEventKind::kSucceeded}, work);
      return true;
    }
    for (std::size_t i = 0; i + 1 < std::size(secrets::kRotationSteps); ++i) {
      if (work.step == secrets::kRotationSteps[i]) {
        work.step = secrets::kRotationSteps[i + 1];
        break;
      }
    }
    work.attempts = 0;
    if (stopping_) {
      // Resumable: the steps done are recorded; give the lease back so the next start continues.
      if (auto st = service_.ReleaseRotation(work, options_.owner); !st.ok()) {
        log::Warn("could not release a rotation lease",
                  {{"arn", work.arn}, {"error", st.error().ToLogString()}});
      }
      return false;
    }
  }
}

Status Engine::RunStep(Rotator& rotator, const secrets::RotationWork& work) {
  SecretsApi api(service_, work.region);
  try {
    return rotator.RunStep(api, StepRequest{work.arn, work.token, work.step});
  } catch (const std::exception& e) {
    return Error(Code::kInternal, "the rotator failed unexpectedly", e.what());
  }
}

void Engine::Fail(const secrets::RotationWork& work, const std::string& error) {
  auto next = service_.FailRotationStep(work, options_.owner, error, options_.retry_backoff);
  RotationEvent event{RotationEventKind::kFailed};
  event.error = error;
  event.attempts = work.attempts + 1;
  if (next.ok()) event.next_attempt = *next;
  log::Warn("rotation step failed",
            {{"arn", work.arn},
             {"token", work.token},
             {"step", work.step},
             {"attempts", event.attempts},
             {"error", error},
             {"next_attempt", next.ok() ? FormatIso8601(*next) : std::string("unknown")}});
  if (!next.ok()) {
    log::Error("could not record a failed rotation step",
               {{"arn", work.arn}, {"error", next.error().ToLogString()}});
  }
  Emit(std::move(event), work);
}

void Engine::Emit(RotationEvent event, const secrets::RotationWork& work) {
  if (!sink_) return;
  event.arn = work.arn;
  event.region = work.region;
  event.name = work.name;
  event.lambda_arn = work.lambda_arn;
  event.token = work.token;
  event.step = work.step;
  event.time = clock_.Now();
  try {
    sink_(event);
  } catch (const std::exception& e) {
    log::Error("rotation event sink failed", {{"error", e.what()}});
  }
}

}  // namespace arca::rotation
