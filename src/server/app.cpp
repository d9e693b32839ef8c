#include "server/app.h"

#include <pthread.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigwait, pthread_sigmask
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "audit/event.h"
#include "audit/log.h"
#include "audit/postgres_storage.h"
#include "audit/query.h"
#include "audit/storage.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/random.h"
#include "frontends/router.h"
#include "http/server.h"
#include "iam/access_keys.h"
#include "iam/authorizer.h"
#include "iam/directory.h"
#include "iam/sessions.h"
#include "iam/sts.h"
#include "kms/service.h"
#include "params/service.h"
#include "rotation/engine.h"
#include "rotation/exec_rotator.h"
#include "rotation/rotator.h"
#include "rotation/webhook_rotator.h"
#include "secrets/service.h"
#include "server/alerts.h"
#include "server/files.h"
#include "server/leases.h"
#include "store/open.h"

#ifndef ARCA_VERSION
#define ARCA_VERSION "0.0.0"
#endif

namespace arca::server {

namespace {

constexpr std::string_view kMismatch = "the master key does not match this data directory";
// The change stream's log keeps a day of changes and at least the newest 10,000 rows; a follower
// that was away longer is told to re-read everything (Reset).
constexpr std::chrono::milliseconds kChangeLogRetention = std::chrono::hours(24);
constexpr std::int64_t kChangeLogMinRows = 10000;

http::Response Json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.SetHeader("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

http::Response InternalError() {
  return Json(500, R"({"__type":"InternalServiceError","message":"An internal error occurred."})");
}

void ApplyLogLevel(const Config& config) {
  log::Level level = log::Level::kInfo;
  if (log::ParseLevel(config.log_level, &level)) log::SetLevel(level);
}

// Loads the keyring: ARCA_MASTER_KEY text when set, else the key file (created on first start when
// `create` is true). The text is wiped from `config` afterwards.
Result<std::unique_ptr<crypto::Keyring>> LoadKeyring(Config& config, bool create) {
  if (config.master_key.has_value()) {
    auto k = crypto::Keyring::FromText(config.master_key->view());
    config.master_key.reset();
    if (k.ok()) log::Info("master key loaded", {{"source", "ARCA_MASTER_KEY"}, {"version", (*k)->current_version()}});
    return k;
  }
  auto k = crypto::Keyring::FromFile(config.master_key_file, create);
  if (k.ok()) {
    log::Info("master key loaded",
              {{"source", "file"}, {"path", config.master_key_file}, {"version", (*k)->current_version()}});
  }
  return k;
}

// Writes the new root key's credentials file and logs where (never the secret).
Status PublishRootKey(const Config& config, const iam::NewAccessKey& key) {
  const std::string path = config.data_dir + "/credentials";
  ARCA_RETURN_IF_ERROR(WriteCredentialsFile(path, key.access_key_id, key.secret_access_key));
  log::Info("admin credentials written",
            {{"path", path}, {"profile", "arca"}, {"access_key_id", key.access_key_id}});
  return OkStatus();
}

// Runs the background jobs (each returns how many things it did: secrets and parameters purged,
// KMS keys deleted or rotated) now and every `interval` until Stop().
// Thread-safety: Stop() may be called from any thread; the destructor joins.
class PurgeLoop {
 public:
  struct Job {
    std::string what;  // "purged deleted secrets"
    std::function<Result<int>()> run;
  };
  // `gate`: a pass runs only while it returns true (the holder of the store's "purge" lease).
  PurgeLoop(std::vector<Job> jobs, std::chrono::seconds interval, std::function<bool()> gate)
      : jobs_(std::move(jobs)), interval_(interval), gate_(std::move(gate)), thread_([this] { Loop(); }) {}
  PurgeLoop(const PurgeLoop&) = delete;
  PurgeLoop& operator=(const PurgeLoop&) = delete;
  ~PurgeLoop() {
    Stop();
    thread_.join();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      lock.unlock();
      for (const Job& job : jobs_) {
        if (gate_()) RunOnce(job);
      }
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stopping_; });
    }
  }

  static void RunOnce(const Job& job) {
    try {
      auto done = job.run();
      if (!done.ok()) {
        log::Error("background job failed", {{"job", job.what}, {"error", done.error().ToLogString()}});
      } else if (*done > 0) {
        log::Info(job.what, {{"count", *done}});
      } else {
        log::Debug(job.what, {{"count", 0}});
      }
    } catch (const std::exception& e) {
      log::Error("background job failed", {{"job", job.what}, {"error", e.what()}});
    }
  }

  const std::vector<Job> jobs_;
  const std::chrono::seconds interval_;
  const std::function<bool()> gate_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;     // last: starts after the members above exist
};

// The audit record of a rotation event, shaped as CloudTrail's RotationStarted /
// RotationSucceeded / RotationFailed (eventType AwsServiceEvent, invoked by the service itself).
boost::json::object RotationRecord(const rotation::RotationEvent& e, const std::string& account_id) {
  audit::EventInput in;
  in.event_time = e.time;
  in.event_source = "secretsmanager.amazonaws.com";
  switch (e.kind) {
    case rotation::RotationEventKind::kStarted: in.event_name = "RotationStarted"; break;
    case rotation::RotationEventKind::kSucceeded: in.event_name = "RotationSucceeded"; break;
    case rotation::RotationEventKind::kFailed: in.event_name = "RotationFailed"; break;
  }
  in.region = e.region;
  in.source_ip = "secretsmanager.amazonaws.com";
  in.user_agent = "secretsmanager.amazonaws.com";
  in.request_parameters = nullptr;
  in.response_elements = nullptr;
  in.request_id = crypto::NewUuid();
  in.identity.account = account_id;
  in.recipient_account = account_id;
  in.resources.push_back({e.arn, account_id, "AWS::SecretsManager::Secret"});
  if (e.kind == rotation::RotationEventKind::kFailed) {
    in.error_code = "RotationFailed";
    in.error_message = e.error;
  }
  boost::json::object record = audit::BuildRecord(in);
  record["userIdentity"] = boost::json::object{{"accountId", account_id},
                                               {"invokedBy", "secretsmanager.amazonaws.com"}};
  record["eventType"] = "AwsServiceEvent";
  boost::json::object data{{"SecretId", e.arn}, {"ClientRequestToken", e.token},
                           {"RotationLambdaARN", e.lambda_arn}};
  if (e.kind == rotation::RotationEventKind::kFailed) {
    data["Step"] = e.step;
    data["Attempts"] = e.attempts;
    if (e.next_attempt) data["NextAttempt"] = FormatIso8601(*e.next_attempt);
  }
  record["additionalEventData"] = std::move(data);
  record["serviceEventDetails"] = boost::json::object{{"secretId", e.arn}};
  return record;
}

// The lease each server renews while it runs (+ its owner string), and how long the server doing
// the background work must have held it without a gap before it seals others' audit chains.
constexpr std::string_view kAliveLease = "alive:";
constexpr auto kSealAfterHolding = std::chrono::seconds(6);

// The rotation engine's lease owner: stable across restarts of this server (so it resumes its own
// rotations at once), different between servers on different hosts or data directories.
// The same string names this server's audit chain (audit::DefaultChainId).
std::string RotationOwner(const Config& config) { return audit::DefaultChainId(config.data_dir); }

// Where the audit log lives: with a PostgreSQL store, in PostgreSQL too (one chain per replica, the
// signing key sealed with the master key), so losing a replica's disk loses no record; otherwise
// in DATA_DIR/audit.
Result<std::shared_ptr<audit::Storage>> OpenAuditStorage(const Config& config,
                                                         const crypto::Keyring& keyring) {
  const std::string url = StoreUrl(config);
  if (store::IsPostgresUrl(url)) {
    audit::PostgresStorageOptions o;
    o.url = url;
    o.keyring = &keyring;
    ARCA_ASSIGN_OR_RETURN(std::unique_ptr<audit::PostgresStorage> s,
                          audit::PostgresStorage::Open(std::move(o)));
    return std::shared_ptr<audit::Storage>(std::move(s));
  }
  const audit::LogOptions o = audit::DefaultLogOptions(config.data_dir);
  ARCA_ASSIGN_OR_RETURN(std::unique_ptr<audit::FileStorage> s,
                        audit::FileStorage::Open({o.dir, o.key_path, o.public_key_path}));
  return std::shared_ptr<audit::Storage>(std::move(s));
}

// The URL a rotator running on this host reaches this server at (AWS_ENDPOINT_URL of exec rotators).
std::string SelfUrl(const Config& config, std::uint16_t port) {
  std::string host = config.listen.host;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(config.tls() ? "https://" : "http://") + host + ":" + std::to_string(port);
}

// Registers config.rotators (webhook and exec) in `registry`. kInvalidParameter when a name is a
// built-in rotator's or a key file is unusable. Returns the longest configured step timeout.
Result<std::chrono::milliseconds> RegisterConfiguredRotators(const Config& config, const std::string& self_url,
                                                             const Clock& clock,
                                                             rotation::RotatorRegistry& registry) {
  std::chrono::milliseconds longest{0};
  for (const auto& r : config.rotators) {
    if (registry.Find("arn:aws:lambda:us-east-1:000000000000:function:" + r.name).ok()) {
      return Error(Code::kInvalidParameter,
                   "the configured rotator " + r.name + " has the name of a built-in rotator; rename it");
    }
    const std::chrono::milliseconds timeout = std::chrono::seconds(r.timeout_seconds);
    longest = std::max(longest, timeout);
    if (r.type == "webhook") {
      rotation::WebhookOptions o;
      o.name = r.name;
      o.url = r.url;
      o.timeout = timeout;
      o.ca_file = r.ca_file;
      if (!r.hmac_key_file.empty()) {
        auto key = rotation::LoadHmacKeyFile(r.hmac_key_file);
        if (!key.ok()) return Error(Code::kInvalidParameter, "rotator " + r.name + ": " + key.error().message());
        o.hmac_key = std::move(key).value();
      }
      registry.Register(r.name, std::make_shared<rotation::WebhookRotator>(std::move(o), clock));
    } else {
      rotation::ExecOptions o;
      o.name = r.name;
      o.command = r.command;
      o.env = r.env;
      o.endpoint_url = self_url;
      o.timeout = timeout;
      registry.Register(r.name, std::make_shared<rotation::ExecRotator>(std::move(o)));
    }
    log::Info("rotator configured", {{"name", r.name}, {"type", r.type},
                                     {"timeout_seconds", r.timeout_seconds},
                                     {"signed", !r.hmac_key_file.empty()}});
  }
  return longest;
}

// Waits for SIGTERM/SIGINT (blocked in every thread) and stops the server gracefully; a second signal
// exits at once. Finish() ends the thread when the server stopped on its own.
// Thread-safety: constructed and finished on the main thread.
class SignalWatcher {
 public:
  // `before_stop` runs first on a stop signal (it ends the change stream's long-polls, so the
  // drain is not held up by them).
  SignalWatcher(const sigset_t& set, http::Server& server, std::function<void()> before_stop)
      : set_(set), server_(server), before_stop_(std::move(before_stop)), thread_([this] { Loop(); }) {}
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher() {
    finished_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
  }

 private:
  void Loop() {
    int received = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      if (finished_) return;
      const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      if (++received == 1) {
        log::Info("shutting down", {{"signal", name}});
        if (before_stop_) before_stop_();
        server_.Stop();
      } else {
        log::Warn("second signal: exiting without waiting for requests to finish", {{"signal", name}});
        std::_Exit(kExitFailure);
      }
    }
  }

  const sigset_t set_;
  http::Server& server_;
  const std::function<void()> before_stop_;
  std::atomic<bool> finished_{false};
  std::thread thread_;  // last
};

}  // namespace

std::string MasterKeyCheckSetting(std::uint32_t version) {
  return "master_key_check:" + std::to_string(version);
}

Status CheckMasterKey(store::Store& store, const crypto::Keyring& keyring) {
  ARCA_ASSIGN_OR_RETURN(auto txn, store.Begin(store::TxnMode::kWrite));
  bool wrote = false;
  const std::uint32_t current = keyring.current_version();
  for (std::uint32_t v = 1; v <= current && v != 0; ++v) {
    if (!keyring.HasVersion(v)) continue;
    ARCA_ASSIGN_OR_RETURN(auto existing, txn->GetSetting(MasterKeyCheckSetting(v)));
    if (!existing.has_value()) {
      ARCA_ASSIGN_OR_RETURN(std::string check, keyring.MakeCheckValue(v));
      ARCA_RETURN_IF_ERROR(txn->PutSetting(MasterKeyCheckSetting(v), check));
      wrote = true;
      log::Info("master key check value stored", {{"version", v}});
    } else if (!keyring.VerifyCheckValue(v, *existing).ok()) {
      return Error(Code::kPreconditionNotMet, std::string(kMismatch),
                   "master key version " + std::to_string(v) + " differs from the one this data was written with");
    }
  }
  if (current != UINT32_MAX) {
    ARCA_ASSIGN_OR_RETURN(auto newer, txn->GetSetting(MasterKeyCheckSetting(current + 1)));
    if (newer.has_value()) {
      return Error(Code::kPreconditionNotMet, std::string(kMismatch),
                   "the data directory uses master key version " + std::to_string(current + 1) +
                       " but the master key has only versions up to " + std::to_string(current));
    }
  }
  if (wrote) ARCA_RETURN_IF_ERROR(txn->Commit());
  return OkStatus();
}

// The audit chains of servers that stopped: a chain is sealed only when its server's alive lease
// can be taken (it was not renewed for the lease's TTL), and that lease is held while sealing so
// the server, coming back, waits for the seal to finish.
Result<int> SealStoppedServersChains(store::Store& store, const Config& config,
                                     const crypto::Keyring& keyring, const Clock& clock) {
  const std::string me = "sealer:" + RotationOwner(config);
  std::vector<std::string> taken;
  auto gone = [&](const std::string& chain) {
    auto txn = store.Begin(store::TxnMode::kWrite);
    if (!txn.ok()) return false;
    auto claimed = (*txn)->ClaimLease(std::string(kAliveLease) + chain, me,
                                      ToUnixMillis(clock.Now()), 60'000);
    if (!claimed.ok() || !*claimed || !(*txn)->Commit().ok()) return false;
    taken.push_back(std::string(kAliveLease) + chain);
    return true;
  };
  auto sealed = audit::Log::SealAbandonedChains(
      [&] { return OpenAuditStorage(config, keyring); }, audit::DefaultLogOptions(config.data_dir),
      RotationOwner(config), gone);
  if (!taken.empty()) {
    if (auto txn = store.Begin(store::TxnMode::kWrite); txn.ok()) {
      for (const auto& name : taken) (void)(*txn)->ReleaseLease(name, me);
      (void)(*txn)->Commit();
    }
  }
  return sealed;
}

int RunServer(Config config) {
  ApplyLogLevel(config);
  // Everything the server creates (database, WAL, key file, credentials) is private to its user.
  ::umask(077);
  std::signal(SIGPIPE, SIG_IGN);
  // Block the stop signals before any thread exists, so every thread inherits the mask and only the
  // signal watcher receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  log::Info("starting", {{"version", ARCA_VERSION}, {"data_dir", config.data_dir}});
  if (auto s = EnsureDataDir(config.data_dir); !s.ok()) {
    log::Error("cannot prepare the data directory", {{"error", s.error().ToLogString()}});
    return kExitFailure;
  }

  auto keyring = LoadKeyring(config, /*create=*/true);
  if (!keyring.ok()) {
    log::Error("cannot load the master key", {{"error", keyring.error().ToLogString()}});
    return kExitFailure;
  }
  const std::string store_url = StoreUrl(config);
  auto store = store::OpenStoreUrl(store_url);
  if (!store.ok()) {
    log::Error("cannot open the store", {{"store", store::DescribeStoreUrl(store_url)},
                                         {"error", store.error().ToLogString()}});
    return kExitFailure;
  }
  log::Info("store opened", {{"store", store::DescribeStoreUrl(store_url)}});
  if (auto s = CheckMasterKey(**store, **keyring); !s.ok()) {
    log::Error(s.error().code() == Code::kPreconditionNotMet ? kMismatch : "cannot check the master key",
               {{"error", s.error().ToLogString()}, {"data_dir", config.data_dir}});
    return kExitFailure;
  }

  const Clock& clock = SystemClock::Instance();
  iam::AccessKeys access_keys(**store, **keyring, "aws", config.account_id);
  {
    auto root = access_keys.EnsureRootKey();
    if (!root.ok()) {
      log::Error("cannot create the admin access key", {{"error", root.error().ToLogString()}});
      return kExitFailure;
    }
    if (root->has_value()) {
      if (auto s = PublishRootKey(config, **root); !s.ok()) {
        log::Error("cannot write the admin credentials file", {{"error", s.error().ToLogString()}});
        return kExitFailure;
      }
    }
  }  // the new key's secret (SecretBytes) is wiped here

  // The audit log: every call is recorded durably before its response goes out.
  auto audit_storage = OpenAuditStorage(config, **keyring);
  auto audit_log = audit_storage.ok()
                       ? audit::Log::Open(*audit_storage, audit::DefaultLogOptions(config.data_dir))
                       : Result<std::unique_ptr<audit::Log>>(audit_storage.error());
  // With replicas, the one doing the background work may be sealing this chain (it found the
  // chain's writer gone while this server was down): wait for it briefly.
  for (int i = 0; i < 50 && store::IsPostgresUrl(store_url) && !audit_log.ok() &&
                  audit_log.error().code() == Code::kPreconditionNotMet;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    audit_log = audit::Log::Open(*audit_storage, audit::DefaultLogOptions(config.data_dir));
  }
  if (!audit_log.ok()) {
    log::Error("cannot open the audit log", {{"error", audit_log.error().ToLogString()}});
    return kExitFailure;
  }
  audit::EventQuery audit_query(*audit_storage);

  metrics::Registry metrics;
  metrics.AddCollector([log = audit_log->get()](std::string& out) {
    audit::LogStats st = log->stats();
    out += "# HELP arca_audit_batches_total Audit batches made durable (one fdatasync each).\n";
    out += "# TYPE arca_audit_batches_total counter\narca_audit_batches_total " + std::to_string(st.batches) + "\n";
    out += "# HELP arca_audit_records_total Audit records made durable.\n";
    out += "# TYPE arca_audit_records_total counter\narca_audit_records_total " + std::to_string(st.records) + "\n";
    out += "# HELP arca_audit_bytes_total Bytes written to the audit log.\n";
    out += "# TYPE arca_audit_bytes_total counter\narca_audit_bytes_total " + std::to_string(st.bytes) + "\n";
    out += "# HELP arca_audit_failures_total Audit batches that could not be written.\n";
    out += "# TYPE arca_audit_failures_total counter\narca_audit_failures_total " + std::to_string(st.failures) + "\n";
    out += "# HELP arca_audit_healthy 1 while audit records can be written.\n";
    out += "# TYPE arca_audit_healthy gauge\narca_audit_healthy " + std::string(log->Health().ok() ? "1" : "0") + "\n";
  });

  metrics.AddCollector([st = store->get()](std::string& out) {
    out += "# HELP arca_store_errors_total Store operations that failed (I/O, busy, corruption).\n";
    out += "# TYPE arca_store_errors_total counter\narca_store_errors_total " +
           std::to_string(st->ErrorCount()) + "\n";
  });

  iam::DirectoryOptions directory_options;
  directory_options.account_id = config.account_id;
  directory_options.access_keys = &access_keys;
  iam::Directory directory(**store, **keyring, clock, directory_options);
  if (!config.oidc_issuer.empty()) {
    auto provider = directory.EnsureOidcProvider(config.oidc_issuer, config.oidc_audiences, config.oidc_jwks,
                                                 config.oidc_jwks_file);
    if (!provider.ok()) {
      log::Error("cannot register the OIDC provider", {{"issuer", config.oidc_issuer},
                                                       {"error", provider.error().ToLogString()}});
      return kExitFailure;
    }
    log::Info("OIDC provider registered", {{"arn", provider->arn}});
  }
  iam::SessionTokens sessions(**keyring, clock);
  iam::DirectorySource sts_source(directory);
  iam::PolicyCache sts_policies;
  iam::StsOptions sts_options;
  sts_options.account_id = config.account_id;
  iam::StsService sts(sts_source, sessions, sts_policies, clock, sts_options);
  iam::Authorizer authorizer(directory, **store, clock, "aws", config.account_id);

  std::unique_ptr<Alerter> alerter;
  if (!config.alert_webhook_url.empty()) {
    AlertOptions alert_options;
    alert_options.webhook_url = config.alert_webhook_url;
    alert_options.rules = *ParseAlertRules(config.alert_rules);  // validated with the config
    alert_options.account_id = config.account_id;
    alerter = std::make_unique<Alerter>(std::move(alert_options), clock);
  }

  iam::EngineValidator policy_validator;
  kms::ServiceOptions kms_options;
  kms_options.account_id = config.account_id;
  kms_options.policy_validator = &policy_validator;
  kms::KmsService kms_service(**store, **keyring, clock, kms_options);
  secrets::ServiceOptions service_options;
  service_options.account_id = config.account_id;
  service_options.policy_validator = &policy_validator;
  service_options.kms = &kms_service;
  secrets::SecretsService secrets_service(**store, **keyring, clock, service_options);
  params::ServiceOptions params_options;
  params_options.account_id = config.account_id;
  params::ParamsService params_service(**store, kms_service, &secrets_service, clock, params_options);
  frontends::Services services;
  services.secrets = &secrets_service;
  services.kms = &kms_service;
  services.params = &params_service;
  services.access_keys = &access_keys;
  services.clock = &clock;
  services.sessions = &sessions;
  services.directory = &directory;
  services.sts = &sts;
  services.audit_query = &audit_query;
  services.hooks.authorizer = &authorizer;
  services.hooks.account_id = config.account_id;
  services.hooks.audit = audit_log->get();
  services.hooks.metrics = &metrics;
  if (alerter) {
    services.hooks.on_denied = [a = alerter.get()](std::string_view principal, std::string_view action,
                                                   std::string_view resource) {
      a->OnDenied(principal, action, resource);
    };
  }
  frontends::Router router(std::move(services));

  store::Store& store_ref = **store;
  audit::Log& audit_ref = **audit_log;
  http::Handler handler = [&router, &store_ref, &audit_ref, &metrics](const http::Request& req) -> http::Response {
    try {
      if (req.method == "GET") {
        const std::string_view path = req.Path();
        if (path == "/healthz") return Json(200, R"({"status":"ok"})");
        if (path == "/readyz") {
          auto ping = store_ref.Ping();
          if (!ping.ok()) {
            log::Warn("not ready", {{"error", ping.error().ToLogString()}});
            return Json(503, R"({"status":"unavailable","reason":"the store cannot be reached"})");
          }
          auto audit_health = audit_ref.Health();
          if (!audit_health.ok()) {
            log::Warn("not ready", {{"error", audit_health.error().ToLogString()}});
            return Json(503, R"({"status":"unavailable","reason":"the audit log cannot be written"})");
          }
          return Json(200, R"({"status":"ready"})");
        }
        if (path == "/metrics") {
          http::Response r;
          r.status = 200;
          r.SetHeader("Content-Type", "text/plain; version=0.0.4");
          r.body = metrics.Render();
          return r;
        }
      }
      return router.Handle(req);
    } catch (const std::exception& e) {
      log::Error("request handler failed", {{"error", e.what()}});
      return InternalError();
    }
  };
  http::ErrorResponder error_responder = [&router](const http::Request& partial, int status,
                                                   const std::string& why) -> http::Response {
    try {
      return router.HandleError(partial, status, why);
    } catch (const std::exception& e) {
      log::Error("error responder failed", {{"error", e.what()}});
      return InternalError();
    }
  };

  http::ServerOptions options;
  options.host = config.listen.host;
  options.port = config.listen.port;
  options.threads = config.threads;
  options.max_body_bytes = config.max_body_bytes;
  options.max_header_bytes = config.max_header_bytes;
  options.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  auto server = http::Server::Create(std::move(options), handler, error_responder);
  if (!server.ok()) {
    log::Error("cannot listen", {{"address", config.listen.host},
                                 {"port", static_cast<int>(config.listen.port)},
                                 {"error", server.error().ToLogString()}});
    return kExitFailure;
  }
  log::Info("listening", {{"address", config.listen.host},
                          {"port", static_cast<int>((*server)->port())},
                          {"tls", config.tls()},
                          {"account_id", config.account_id}});

  // Rotation: the built-in rotators and the configured ones; the engine acts with the service's
  // own identity.
  auto rotators = rotation::RotatorRegistry::WithBuiltins();
  auto configured = RegisterConfiguredRotators(config, SelfUrl(config, (*server)->port()), clock, *rotators);
  if (!configured.ok()) {
    log::Error("invalid rotator configuration", {{"error", configured.error().ToLogString()}});
    return kExitUsage;
  }
  std::unique_ptr<rotation::RotationNotifier> notifier;
  if (!config.rotation_notify_urls.empty()) {
    rotation::NotifierOptions notify_options;
    notify_options.urls = config.rotation_notify_urls;
    if (!config.rotation_notify_hmac_key_file.empty()) {
      auto key = rotation::LoadHmacKeyFile(config.rotation_notify_hmac_key_file);
      if (!key.ok()) {
        log::Error("invalid rotation_notify_hmac_key_file", {{"error", key.error().ToLogString()}});
        return kExitUsage;
      }
      notify_options.hmac_key = std::move(key).value();
    }
    notifier = std::make_unique<rotation::RotationNotifier>(std::move(notify_options), clock);
    log::Info("rotation notifications enabled",
              {{"urls", static_cast<std::int64_t>(config.rotation_notify_urls.size())},
               {"signed", !config.rotation_notify_hmac_key_file.empty()}});
  }
  rotation::EngineOptions rotation_options;
  rotation_options.owner = RotationOwner(config);
  // Several servers on one store: one of them runs the purge and the rotations at a time.
  // "alive:OWNER" says this server is running (its audit chain is not to be sealed by another).
  LeaseKeeper leases(**store, rotation_options.owner,
                     {"purge", "rotation", std::string(kAliveLease) + rotation_options.owner}, clock);
  rotation_options.gate = [&leases] { return leases.Held("rotation"); };
  rotation_options.retry_backoff = std::chrono::seconds(config.rotation_retry_seconds);
  // A step may run as long as its rotator's timeout: the lease must outlast it.
  rotation_options.lease = std::max(rotation_options.lease, *configured + std::chrono::seconds(30));
  rotation::Engine rotation_engine(
      secrets_service, *rotators, clock, rotation_options,
      [log = audit_log->get(), account = config.account_id,
       notify = notifier.get()](const rotation::RotationEvent& e) {
        log->Append(RotationRecord(e, account), [name = e.arn](Status st) {
          if (!st.ok()) {
            log::Error("audit record of a rotation not written",
                       {{"arn", name}, {"error", st.error().ToLogString()}});
          }
        });
        if (notify != nullptr) notify->Notify(e);
      });

  {
    PurgeLoop purge({{"purged deleted secrets", [&] { return secrets_service.PurgeExpired(); }},
                     {"deleted expired parameters", [&] { return params_service.PurgeExpired(); }},
                     {"deleted KMS keys past their deletion date", [&] { return kms_service.PurgeDeletedKeys(); }},
                     {"rotated KMS keys", [&] { return kms_service.RotateDueKeys(); }},
                     {"pruned the change log",
                      [&] { return secrets_service.PruneChanges(kChangeLogRetention, kChangeLogMinRows); }},
                     {"sealed the audit chains of stopped servers",
                      [&]() -> Result<int> {
                        if (!store::IsPostgresUrl(store_url)) return 0;  // one chain, this server's
                        // Only after holding the work long enough that every live server has
                        // renewed its alive lease since the store was last out of reach.
                        if (leases.HeldFor("purge") < kSealAfterHolding) return 0;
                        return SealStoppedServersChains(**store, config, **keyring, clock);
                      }}},
                    std::chrono::seconds(config.purge_interval_seconds),
                    [&leases] { return leases.Held("purge"); });
    rotation_engine.Start();
    SignalWatcher signals(stop_signals, **server, [&router] { router.Shutdown(); });
    (*server)->Run();
    rotation_engine.Stop();  // a step in flight finishes; the rest resumes at the next start
  }  // stops and joins the purge and signal threads
  leases.Stop();  // another server takes the background work over at once
  (*audit_log)->Stop();  // after the last request: a final digest closes the chain
  log::Info("stopped");
  return kExitOk;
}

}  // namespace arca::server
