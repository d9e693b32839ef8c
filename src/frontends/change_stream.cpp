#include "frontends/change_stream.h"

#include <algorithm>
#include <boost/json/object.hpp>
#include <charconv>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "core/clock.h"
#include "frontends/aws/json_protocol.h"
#include "frontends/aws/json_writer.h"
#include "frontends/aws/query_protocol.h"

namespace arca::frontends {

namespace {

constexpr std::string_view kSigningName = "secretsmanager";
constexpr std::string_view kEventSource = "secretsmanager.amazonaws.com";
constexpr std::string_view kCoralNamespace = "com.amazonaws.secretsmanager";
constexpr std::string_view kContentType = "application/json";
// Domain calls per poll while the domain reports that it stopped early (a long backlog of changes
// the caller does not see); after that the caller gets NextSequence and asks again.
constexpr int kMaxPollRounds = 20;
constexpr std::size_t kMaxEchoedValue = 64;

std::optional<std::uint64_t> ParseUnsigned(std::string_view s) {
  std::uint64_t v = 0;
  if (s.empty() || s.size() > 20) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Error BadParameter(std::string_view name, std::string_view value, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value '" +
                                      std::string(value.substr(0, kMaxEchoedValue)) + "' at '" +
                                      std::string(name) + "' failed to satisfy constraint: " +
                                      std::string(constraint));
}

struct Params {
  std::optional<std::uint64_t> after;
  std::int64_t wait = ChangeStream::kDefaultWaitSeconds;
  std::int64_t limit = ChangeStream::kDefaultLimit;
  boost::json::object given;  // the audit record's requestParameters
};

// after=N|latest, wait=0..60, limit=1..1000; other parameters (a presigned URL's X-Amz-*) are
// ignored.
Result<Params> ParseParams(std::string_view query) {
  ARCA_ASSIGN_OR_RETURN(aws::QueryParams q, aws::QueryParams::Parse(query));
  Params p;
  if (auto after = q.Find("after"); after.has_value()) {
    p.given["after"] = *after;
    if (*after != "latest") {
      auto v = ParseUnsigned(*after);
      if (!v.has_value() || *v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return BadParameter("after", *after, "Member must be a sequence number or \"latest\"");
      }
      p.after = v;
    }
  }
  if (auto wait = q.Find("wait"); wait.has_value()) {
    auto v = ParseUnsigned(*wait);
    if (!v.has_value() || *v > static_cast<std::uint64_t>(ChangeStream::kMaxWaitSeconds)) {
      return BadParameter("wait", *wait, "Member must have value between 0 and 60");
    }
    p.wait = static_cast<std::int64_t>(*v);
    p.given["wait"] = p.wait;
  }
  if (auto limit = q.Find("limit"); limit.has_value()) {
    auto v = ParseUnsigned(*limit);
    if (!v.has_value() || *v < 1 || *v > static_cast<std::uint64_t>(ChangeStream::kMaxLimit)) {
      return BadParameter("limit", *limit, "Member must have value between 1 and 1000");
    }
    p.limit = static_cast<std::int64_t>(*v);
    p.given["limit"] = p.limit;
  }
  return p;
}

std::string EncodeChanges(const std::vector<store::ChangeRow>& changes, std::uint64_t next_sequence,
                          bool reset) {
  aws::JsonWriter w(128 + changes.size() * 256);
  w.BeginObject().Key("Changes").BeginArray();
  for (const store::ChangeRow& c : changes) {
    w.BeginObject()
        .Member("Sequence", static_cast<std::int64_t>(c.sequence))
        .TimestampMember("Time", FromUnixMillis(c.time_ms))
        .Member("Region", c.region)
        .Member("Name", c.name)
        .Member("ARN", c.arn)
        .Member("Deleted", c.deleted)
        .Key("Versions")
        .BeginArray();
    for (const store::ChangeVersion& v : c.versions) {
      w.BeginObject().Member("VersionId", v.version_id).StringList("VersionStages", v.stages).EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray()
      .Member("NextSequence", static_cast<std::int64_t>(next_sequence))
      .Member("Reset", reset)
      .EndObject();
  return w.Take();
}

}  // namespace

// Thread-safety: owned by Handle() until it is queued, then by the waiter thread only.
struct ChangeStream::Call {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  aws::OperationContext ctx;
  std::string access_key_id;
  std::optional<aws::RequestScope> scope;  // refers to ctx: a Call never moves
  boost::json::object parameters;
  secrets::ListChangesInput input;
  std::chrono::steady_clock::time_point deadline;
  std::uint64_t checked_head = 0;  // the store's head when the changes were last asked for
  http::Ready ready;               // set when the response was deferred
};

ChangeStream::ChangeStream(secrets::SecretsService& secrets, aws::SigV4Verifier& verifier,
                           const aws::RequestHooks& hooks)
    : secrets_(secrets), verifier_(verifier), hooks_(hooks) {
  subscription_ = secrets_.OnChange([this](std::uint64_t /*latest_change*/) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      wake_ = true;
    }
    cv_.notify_one();
  });
  thread_ = std::thread([this] { WaiterLoop(); });
}

ChangeStream::~ChangeStream() {
  secrets_.RemoveOnChange(subscription_);
  Shutdown();
  thread_.join();
}

bool ChangeStream::Matches(const http::Request& request) { return request.Path() == kPath; }

void ChangeStream::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
}

http::Response ChangeStream::Handle(const http::Request& request) {
  auto call = std::make_shared<Call>();
  aws::OperationContext& ctx = call->ctx;
  ctx.request_id = aws::NewRequestId();
  ctx.operation = std::string(kOperation);
  ctx.source_ip = request.remote_addr;
  ctx.user_agent = std::string(request.Header("user-agent").value_or(""));
  ctx.secure_transport = request.tls;
  std::int64_t wait_seconds = 0;
  Status admitted = [&]() -> Status {
    if (request.method != "GET") {
      return Error(Code::kInvalidRequest,
                   "The change stream accepts GET requests only, not " + request.method.substr(0, 16) + ".");
    }
    ARCA_ASSIGN_OR_RETURN(aws::Authenticated auth, verifier_.Verify(request, kSigningName, &call->access_key_id));
    ctx.region = std::move(auth.region);
    ctx.caller = std::move(auth.caller);
    call->scope.emplace(hooks_, ctx, kSigningName, kEventSource);
    ARCA_RETURN_IF_ERROR(call->scope->Admit());
    ARCA_ASSIGN_OR_RETURN(Params params, ParseParams(request.Query()));
    call->parameters = std::move(params.given);
    call->input.after = params.after;
    call->input.limit = static_cast<std::size_t>(params.limit);
    wait_seconds = params.wait;
    return OkStatus();
  }();
  if (!admitted.ok()) return Respond(*call, std::move(admitted).error());

  call->deadline = call->start + std::chrono::seconds(wait_seconds);
  call->checked_head = secrets_.LatestChange();
  const bool may_wait = wait_seconds > 0 && call->input.after.has_value();
  std::optional<http::Response> now = Poll(*call);
  if (now.has_value()) return std::move(*now);
  if (!may_wait) return Respond(*call, EncodeChanges({}, *call->input.after, false));
  http::Response pending;  // never sent: Deliver hands the server the real response
  pending.defer = [this, call](http::Ready ready) mutable {
    call->ready = std::move(ready);
    Wait(std::move(call));
  };
  return pending;
}

std::optional<http::Response> ChangeStream::Poll(Call& call) {
  const secrets::Context sctx{call.ctx.region, call.ctx.request_id, call.ctx.caller.arn, call.ctx.gate};
  for (int round = 1;; ++round) {
    Result<secrets::ListChangesOutput> out = secrets_.ListChanges(sctx, call.input);
    if (!out.ok()) return Respond(call, std::move(out).error());
    if (!out->changes.empty() || out->reset || !call.input.after.has_value() ||
        (out->more && round == kMaxPollRounds)) {
      return Respond(call, EncodeChanges(out->changes, out->next_sequence, out->reset));
    }
    call.input.after = out->next_sequence;  // past what the caller may not see
    if (!out->more) return std::nullopt;
  }
}

http::Response ChangeStream::Respond(Call& call, Result<std::string> body) {
  http::Response response;
  std::string_view error_type;
  std::string_view error_message;
  if (body.ok()) {
    response.status = 200;
    response.body = std::move(body).value();
    response.SetHeader("Content-Type", std::string(kContentType));
    response.SetHeader("x-amzn-RequestId", call.ctx.request_id);
  } else {
    const Error& err = body.error();
    response = aws::ErrorResponse(err, call.ctx.request_id, kCoralNamespace);
    error_type = err.wire_type().empty() ? aws::ShapeOf(err.code()).type : std::string_view(err.wire_type());
    error_message = response.status >= 500 ? aws::kInternalErrorMessage : std::string_view(err.message());
  }
  if (call.scope.has_value()) {
    call.scope->Finish(response, true, &call.parameters, error_type, error_message, call.start,
                       [request_id = call.ctx.request_id] {
                         return aws::ErrorResponse(
                             Error(Code::kUnavailable, "The request could not be recorded in the audit log."),
                             request_id, kCoralNamespace);
                       });
  } else {
    aws::RecordUnauthenticated(hooks_, kSigningName, kOperation, response.status, call.start);
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - call.start).count();
  aws::LogRequest(kOperation, response.status, error_type, ms, call.ctx.request_id, call.access_key_id,
                  call.ctx.region);
  return response;
}

void ChangeStream::Deliver(Call& call, http::Response response) {
  http::Ready ready = std::move(call.ready);
  if (!response.defer) {
    ready(std::move(response));
    return;
  }
  // The response carries its audit record's wait: pass the server the response once it is durable
  // (or the fail-closed replacement).
  http::Defer durable = std::move(response.defer);
  response.defer = nullptr;
  durable([ready = std::move(ready), response = std::move(response)](std::optional<http::Response> replacement) {
    ready(replacement.has_value() ? std::move(replacement) : std::optional<http::Response>(response));
  });
}

void ChangeStream::Wait(std::shared_ptr<Call> call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      waiting_.push_back(std::move(call));
      wake_ = true;  // the waiter thread checks it once: a commit may have come after the first poll
      cv_.notify_one();
      return;
    }
  }
  Deliver(*call, Respond(*call, EncodeChanges({}, call->input.after.value_or(0), false)));
}

void ChangeStream::WaiterLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (stopping_) {
      std::vector<std::shared_ptr<Call>> calls = std::move(waiting_);
      waiting_.clear();
      lock.unlock();
      for (const auto& call : calls) {
        Deliver(*call, Respond(*call, EncodeChanges({}, call->input.after.value_or(0), false)));
      }
      return;
    }
    wake_ = false;
    const auto now = std::chrono::steady_clock::now();
    const std::uint64_t head = secrets_.LatestChange();
    std::vector<std::shared_ptr<Call>> due;
    std::vector<std::shared_ptr<Call>> check;
    std::erase_if(waiting_, [&](const std::shared_ptr<Call>& call) {
      if (call->deadline <= now) {
        due.push_back(call);
        return true;
      }
      if (call->checked_head < head) {
        check.push_back(call);
        return true;
      }
      return false;
    });
    lock.unlock();
    for (const auto& call : due) {
      Deliver(*call, Respond(*call, EncodeChanges({}, call->input.after.value_or(0), false)));
    }
    std::vector<std::shared_ptr<Call>> still;
    for (const auto& call : check) {
      call->checked_head = head;
      std::optional<http::Response> answer = Poll(*call);
      if (answer.has_value()) {
        Deliver(*call, std::move(*answer));
      } else {
        still.push_back(call);
      }
    }
    lock.lock();
    waiting_.insert(waiting_.end(), still.begin(), still.end());
    if (stopping_ || wake_) continue;
    if (waiting_.empty()) {
      cv_.wait(lock, [this] { return stopping_ || wake_; });
    } else {
      auto earliest = std::min_element(waiting_.begin(), waiting_.end(), [](const auto& a, const auto& b) {
                        return a->deadline < b->deadline;
                      })->get()->deadline;
      cv_.wait_until(lock, earliest, [this] { return stopping_ || wake_; });
    }
  }
}

}  // namespace arca::frontends
