#include "server/cli.h"

#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "audit/postgres_storage.h"
#include "audit/verify.h"
#include "core/clock.h"
#include "server/app.h"
#include "server/backup.h"
#include "server/config.h"
#include "store/open.h"

namespace arca::server {

namespace {

const std::map<std::string_view, std::string_view>& FlagHelp() {
  static const std::map<std::string_view, std::string_view> help = {
      {"config", "YAML config file (env ARCA_CONFIG)"},
      {"data_dir", "data directory (env ARCA_DATA_DIR; default ./arca-data)"},
      {"store",
       "where state is kept: sqlite:PATH, or postgres://USER@HOST:PORT/DB?sslmode=... shared by "
       "several replicas (env ARCA_STORE_URL; default sqlite:DATA_DIR/arca.db)"},
      {"listen",
       "HOST:PORT or [IPV6]:PORT to listen on; port 0 picks a free port (env ARCA_LISTEN; "
       "default 127.0.0.1:8200)"},
      {"tls_cert", "PEM certificate chain; serves HTTPS with --tls-key (env ARCA_TLS_CERT)"},
      {"tls_key", "PEM private key (env ARCA_TLS_KEY)"},
      {"master_key_file",
       "master key file (env ARCA_MASTER_KEY_FILE; default DATA_DIR/master.key). "
       "ARCA_MASTER_KEY may hold the key text instead"},
      {"account_id",
       "12-digit AWS account id used in ARNs (env ARCA_ACCOUNT_ID; default 000000000000)"},
      {"log_level", "debug, info, warn or error (env ARCA_LOG_LEVEL; default info)"},
      {"max_body_bytes", "largest request body (env ARCA_MAX_BODY_BYTES; default 1048576)"},
      {"max_header_bytes",
       "largest request header block (env ARCA_MAX_HEADER_BYTES; default 16384)"},
      {"idle_timeout_seconds", "close idle keep-alive connections after this (default 60)"},
      {"threads", "request threads; 0 is one per core (env ARCA_THREADS; default 0)"},
      {"purge_interval_seconds",
       "how often deleted secrets past their recovery window are removed "
       "(default 60)"},
      {"alert_webhook_url",
       "POST a JSON alert here when an alert rule fires (env ARCA_ALERT_WEBHOOK_URL)"},
      {"oidc_issuer",
       "register this https:// OpenID Connect issuer (e.g. a cluster's service-account "
       "issuer) as an IAM OIDC provider at start (env ARCA_OIDC_ISSUER)"},
      {"oidc_audiences",
       "comma-separated client ids (audiences) for oidc_issuer (default "
       "sts.amazonaws.com)"},
      {"oidc_jwks", "the issuer's JWKS, inline JSON (env ARCA_OIDC_JWKS)"},
      {"oidc_jwks_file",
       "a file holding the issuer's JWKS, re-read when it changes "
       "(env ARCA_OIDC_JWKS_FILE)"},
      {"alert_rules",
       "denied-request alert rules, e.g. \"5/60s per-principal, 100/60s\" "
       "(env ARCA_ALERT_RULES; default \"10/60s per-principal\" when a webhook is set)"},
      {"rotation_retry_seconds",
       "wait before the first retry of a failed rotation step, doubling per failure "
       "(env ARCA_ROTATION_RETRY_SECONDS; default 30)"},
      {"rotation_notify_urls",
       "comma-separated URLs that receive RotationSucceeded/RotationFailed events "
       "(env ARCA_ROTATION_NOTIFY_URLS)"},
      {"rotation_notify_hmac_key_file",
       "file with the HMAC key that signs rotation notifications "
       "(env ARCA_ROTATION_NOTIFY_HMAC_KEY_FILE)"},
  };
  return help;
}

std::string_view TypeName(std::string_view key) {
  if (key == "data_dir") return "DIR";
  if (key == "store") return "URL";
  if (key == "listen") return "HOST:PORT";
  if (key == "account_id") return "ID";
  if (key == "log_level") return "LEVEL";
  if (key == "alert_webhook_url") return "URL";
  if (key == "alert_rules") return "RULES";
  if (key == "oidc_issuer") return "URL";
  if (key == "oidc_audiences") return "IDS";
  if (key == "oidc_jwks") return "JSON";
  if (key == "oidc_jwks_file") return "FILE";
  if (key == "rotation_notify_urls") return "URLS";
  if (key == "rotation_notify_hmac_key_file") return "FILE";
  if (key == "config" || key == "tls_cert" || key == "tls_key" || key == "master_key_file")
    return "FILE";
  return "N";
}

// Flags bound to strings; values are validated by ResolveConfig() so errors name the flag.
struct FlagSet {
  std::map<std::string, std::string> values;
  std::map<std::string, CLI::Option*> options;

  void Add(CLI::App* app, std::string_view key) {
    for (const auto& k : ConfigKeys()) {
      if (k.key != key) continue;
      const std::string name(k.key);
      options[name] =
          app->add_option(std::string(k.flag), values[name], std::string(FlagHelp().at(k.key)))
              ->type_name(std::string(TypeName(k.key)));
    }
  }

  // The flags that were given, as Settings.
  void Collect(Settings* out) const {
    for (const auto& [key, opt] : options) {
      if (opt->count() == 0) continue;
      std::string flag;
      for (const auto& k : ConfigKeys()) {
        if (k.key == key) flag = std::string(k.flag);
      }
      (*out)[key] = Setting{values.at(key), flag};
    }
  }
};

int ConfigError(const Error& e) {
  std::cerr << "arca: " << e.message() << "\n";
  return kExitUsage;
}

// `arca audit verify`: prints audit::FormatReport; exit 0 only when the log checks out. With a
// PostgreSQL store, every replica's chain in PostgreSQL, each reported on its own (no master key
// needed: the public key is stored in clear).
int RunAuditVerify(const Config& config, const std::string& since, const std::string& public_key) {
  std::optional<TimePoint> since_time;
  if (!since.empty()) {
    auto t = audit::ParseSince(since, SystemClock::Instance().Now());
    if (!t.ok()) return ConfigError(t.error());
    since_time = *t;
  }
  const std::string url = StoreUrl(config);
  if (store::IsPostgresUrl(url)) {
    audit::PostgresStorageOptions o;
    o.url = url;
    o.create_schema = false;  // verify only reads
    auto storage = audit::PostgresStorage::Open(std::move(o));
    auto reports = storage.ok() ? audit::VerifyStorage(**storage, since_time, public_key)
                                : Result<std::vector<audit::VerifyReport>>(storage.error());
    if (!reports.ok()) {
      std::cerr << "arca audit verify: " << reports.error().message() << "\n";
      return kExitFailure;
    }
    std::cout << audit::FormatReports(*reports);
    for (const audit::VerifyReport& r : *reports) {
      if (!r.ok()) return kExitFailure;
    }
    return kExitOk;
  }
  audit::VerifyOptions options = audit::DefaultVerifyOptions(config.data_dir);
  if (!public_key.empty()) options.public_key_path = public_key;
  options.since = since_time;
  auto report = audit::Verify(options);
  if (!report.ok()) {
    std::cerr << "arca audit verify: " << report.error().message() << "\n";
    return kExitFailure;
  }
  std::cout << audit::FormatReport(*report);
  return report->ok() ? kExitOk : kExitFailure;
}

struct Commands {
  CLI::App* server = nullptr;
  CLI::App* rekey = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* backup = nullptr;
  CLI::App* restore = nullptr;
  CLI::App* migrate = nullptr;
  std::string migrate_from;
  std::string migrate_to;
  FlagSet server_flags;
  FlagSet rekey_flags;
  FlagSet verify_flags;
  std::string verify_since;
  std::string verify_public_key;
  FlagSet backup_flags;
  FlagSet restore_flags;
  std::string backup_out;
  std::string restore_from;
  bool restore_force = false;

  std::optional<int> Run() {
    if (migrate->parsed()) return RunMigrate(migrate_from, migrate_to);
    if (backup->parsed() || restore->parsed()) {
      Settings settings;
      (backup->parsed() ? backup_flags : restore_flags).Collect(&settings);
      auto config = LoadConfig(settings, ProcessEnv());
      ScrubMasterKeyFromEnvironment();
      if (!config.ok()) return ConfigError(config.error());
      return backup->parsed() ? RunBackup(std::move(config).value(), backup_out)
                              : RunRestore(std::move(config).value(), restore_from, restore_force);
    }
    if (verify->parsed()) {
      Settings verify_settings;
      verify_flags.Collect(&verify_settings);
      auto config = LoadConfig(verify_settings, ProcessEnv());
      ScrubMasterKeyFromEnvironment();
      if (!config.ok()) return ConfigError(config.error());
      return RunAuditVerify(*config, verify_since, verify_public_key);
    }
    if (!server->parsed()) return std::nullopt;
    Settings flags;
    server_flags.Collect(&flags);
    const bool is_rekey = rekey->parsed();
    if (is_rekey) rekey_flags.Collect(&flags);

    auto config = LoadConfig(flags, ProcessEnv());
    ScrubMasterKeyFromEnvironment();  // the text now lives only in config->master_key
    if (!config.ok()) return ConfigError(config.error());
    return is_rekey ? RunRekey(std::move(config).value()) : RunServer(std::move(config).value());
  }
};

}  // namespace

std::function<std::optional<int>()> AddCommands(CLI::App* app) {
  auto c = std::make_shared<Commands>();
  c->server = app->add_subcommand(
      "server",
      "Run the Arca server (settings: flags > ARCA_* environment > --config file > defaults)");
  c->server->require_subcommand(0, 1);
  for (const auto& k : ConfigKeys()) c->server_flags.Add(c->server, k.key);

  c->rekey = c->server->add_subcommand("rekey",
                                       "Add a new master key version to the key file and re-wrap "
                                       "every data key with it; a running server "
                                       "keeps serving and picks the new version up by itself");
  for (std::string_view key : {"data_dir", "store", "master_key_file", "config", "log_level"}) {
    c->rekey_flags.Add(c->rekey, key);
  }

  CLI::App* audit = app->add_subcommand("audit", "Inspect the audit log");
  audit->require_subcommand(1);
  c->verify = audit->add_subcommand("verify",
                                    "Check the audit log's hash chain, sequence numbers and digest "
                                    "signatures; report the first edited, "
                                    "missing, reordered or truncated record and exit 1. With a "
                                    "PostgreSQL --store, every replica's chain");
  for (std::string_view key : {"data_dir", "store", "config", "log_level"})
    c->verify_flags.Add(c->verify, key);
  c->verify
      ->add_option("--since", c->verify_since,
                   "check the records from this time on: 2026-11-25T10:00:00Z, 2026-11-25, or an "
                   "age (24h, 7d)")
      ->type_name("TIME");
  c->verify
      ->add_option("--public-key", c->verify_public_key,
                   "the audit public key (default DATA_DIR/audit.pub; with a PostgreSQL store, "
                   "the one stored there)")
      ->type_name("FILE");

  c->backup = app->add_subcommand(
      "backup",
      "Write a consistent snapshot of the SQLite store (DATA_DIR/arca.db) to a file while a server "
      "keeps serving; values stay encrypted and the master key is NOT included");
  for (std::string_view key : {"data_dir", "store", "config", "master_key_file"}) {
    c->backup_flags.Add(c->backup, key);
  }
  c->backup
      ->add_option("--out", c->backup_out,
                   "the backup file to create (mode 0600; an existing file is never overwritten)")
      ->type_name("FILE")
      ->required();

  c->restore = app->add_subcommand(
      "restore",
      "Put a backup made by `arca backup` in place of DATA_DIR/arca.db; the server must be "
      "stopped, and must then be started with the master key the backup was made with");
  for (std::string_view key : {"data_dir", "store", "config", "master_key_file"}) {
    c->restore_flags.Add(c->restore, key);
  }
  c->restore->add_option("--from", c->restore_from, "the backup file")
      ->type_name("FILE")
      ->required();
  c->restore->add_flag("--force", c->restore_force, "replace an existing DATA_DIR/arca.db");

  c->migrate = app->add_subcommand(
      "migrate",
      "Copy an SQLite store into an empty PostgreSQL database (values stay encrypted, the master "
      "key is not needed) and verify every table's row count and checksum afterwards");
  c->migrate->add_option("--from", c->migrate_from, "the source: sqlite:PATH")
      ->type_name("sqlite:PATH")
      ->required();
  c->migrate->add_option("--to", c->migrate_to, "the target: postgres://... or postgresql://...")
      ->type_name("URL")
      ->required();
  c->migrate->footer(
      "Example:\n  arca migrate --from sqlite:/var/lib/arca/arca.db \\\n"
      "    --to 'postgresql://arca@pg.internal:5432/arca?sslmode=verify-full'\n"
      "Then start every replica with --store and the same master key (docs/high-availability.md).");
  return [c] { return c->Run(); };
}

}  // namespace arca::server
