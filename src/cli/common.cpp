#include "cli/common.h"

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>

#include "core/json.h"

namespace arca::cli {

namespace bj = boost::json;

int ExitCodeFor(const Error& e) {
  switch (e.code()) {
    case Code::kOk:
      return kExitOk;
    case Code::kNotFound:
      return kExitNotFound;
    case Code::kMissingAuthentication:
    case Code::kIncompleteSignature:
    case Code::kInvalidSignature:
    case Code::kUnrecognizedClient:
    case Code::kExpiredToken:
    case Code::kAccessDenied:
    case Code::kInvalidIdentityToken:
    case Code::kExpiredIdentityToken:
    case Code::kIdpRejectedClaim:
      return kExitAccess;
    case Code::kAlreadyExists:
    case Code::kPreconditionNotMet:
      return kExitConflict;
    case Code::kUnavailable:
    case Code::kInternal:
      return kExitUnavailable;
    default:
      break;
  }
  // Secrets Manager answers "scheduled for deletion" and "rotation in progress" as
  // InvalidRequestException: a conflict with the secret's state.
  if (e.code() == Code::kInvalidRequest) return kExitConflict;
  return kExitError;
}

void Context::AddGlobalOptions(CLI::App* cmd) {
  cmd->add_option("--endpoint", options.endpoint,
                  "server URL (env ARCA_ENDPOINT, AWS_ENDPOINT_URL; default http://127.0.0.1:8200)")
      ->type_name("URL");
  cmd->add_option("--region", options.region,
                  "region (env AWS_REGION, AWS_DEFAULT_REGION; default us-east-1)")
      ->type_name("REGION");
  cmd->add_option("--profile", options.profile,
                  "profile in the AWS credentials and config files (env AWS_PROFILE)")
      ->type_name("NAME");
  cmd->add_option("--ca-bundle", options.ca_bundle,
                  "PEM CA bundle to verify an https endpoint (env AWS_CA_BUNDLE)")
      ->type_name("FILE");
  cmd->add_option("--output", options.output, "table (default) or json")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json"}));
}

void Context::On(CLI::App* cmd, std::function<int()> run) {
  commands_.emplace_back(cmd, std::move(run));
}

std::optional<int> Context::RunChosen() {
  for (auto& [cmd, run] : commands_) {
    if (cmd->parsed()) return run();
  }
  // A group (e.g. `arca secret`) given without its subcommand: CLI11 already required one.
  return std::nullopt;
}

Result<const client::AwsClient*> Context::Client() {
  if (client_) return client_.get();
  client::ClientOptions copts;
  copts.endpoint = client::ResolveEndpoint(options.endpoint, "SECRETS_MANAGER", env);
  while (!copts.endpoint.empty() && copts.endpoint.back() == '/') copts.endpoint.pop_back();
  copts.region = client::ResolveRegion(options.region, options.profile, env);
  copts.ca_bundle = client::ResolveCaBundle(options.ca_bundle, options.profile, env);
#ifdef ARCA_VERSION
  copts.user_agent = "arca-cli/" ARCA_VERSION;
#endif
  client::ClientOptions sts = copts;
  sts.endpoint = client::ResolveEndpoint(options.endpoint, "STS", env);
  client::ChainOptions chain;
  chain.profile = options.profile;
  auto creds = client::ResolveCredentials(chain, env, client::WebIdentityVia(sts));
  if (!creds.ok()) return creds.error();
  client_ = std::make_unique<client::AwsClient>(std::move(copts), std::move(creds).value());
  return client_.get();
}

Result<bj::object> Context::Sm(std::string_view operation, const bj::object& request) {
  ARCA_ASSIGN_OR_RETURN(const client::AwsClient* c, Client());
  std::string target = "secretsmanager.";
  target.append(operation);
  return c->CallJson("secretsmanager", target, request);
}

int Context::Fail(const Error& e) {
  std::string name = e.wire_type();
  if (name.empty()) name = std::string(CodeName(e.code()));
  std::string message = e.message();
  std::replace(message.begin(), message.end(), '\n', ' ');
  err_ << "arca: " << name << ": " << message << "\n";
  return ExitCodeFor(e);
}

int Context::Usage(std::string_view message) {
  err_ << "arca: " << message << "\n";
  return kExitUsage;
}

void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  auto print = [&](const std::vector<std::string>& row) {
    std::string line;
    for (std::size_t i = 0; i < widths.size(); ++i) {
      const std::string cell = i < row.size() ? row[i] : "";
      line += cell;
      if (i + 1 < widths.size()) line.append(widths[i] - cell.size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print(header);
  for (const auto& r : rows) print(r);
}

std::string FormatTimestamp(double epoch_seconds) {
  const auto t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

void Pretty(std::ostream& out, const bj::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object()) {
    const auto& o = v.get_object();
    if (o.empty()) {
      out << "{}";
      return;
    }
    out << "{\n";
    bool first = true;
    for (const auto& m : o) {
      if (!first) out << ",\n";
      first = false;
      out << inner << bj::serialize(bj::string(m.key())) << ": ";
      Pretty(out, m.value(), indent + 1);
    }
    out << "\n" << pad << "}";
  } else if (v.is_array()) {
    const auto& a = v.get_array();
    if (a.empty()) {
      out << "[]";
      return;
    }
    out << "[\n";
    bool first = true;
    for (const auto& e : a) {
      if (!first) out << ",\n";
      first = false;
      out << inner;
      Pretty(out, e, indent + 1);
    }
    out << "\n" << pad << "]";
  } else {
    out << bj::serialize(v);
  }
}

}  // namespace

void PrintJson(std::ostream& out, const bj::value& v) {
  Pretty(out, v, 0);
  out << "\n";
}

Progress::Progress(std::ostream& err, std::size_t total)
    : err_(err), total_(total), tty_(&err == &std::cerr && isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() {
  if (tty_ && done_ > 0) err_ << "\n";
}

void Progress::Step(std::string_view what) {
  ++done_;
  if (tty_) {
    err_ << "\r\033[K[" << done_ << "/" << total_ << "] " << what << std::flush;
  } else {
    err_ << "[" << done_ << "/" << total_ << "] " << what << "\n";
  }
}

Result<PutOutcome> PutSecretString(Context& ctx, const std::string& name, std::string_view value,
                                   const bj::object& create_extras, bool skip_if_unchanged) {
  PutOutcome outcome;
  bj::object get;
  get["SecretId"] = name;
  auto current = ctx.Sm("GetSecretValue", get);
  if (!current.ok()) {
    const Error& e = current.error();
    // A secret without an AWSCURRENT value (created empty) answers ResourceNotFound too; only a
    // missing secret is created. DescribeSecret tells them apart.
    if (e.code() != Code::kNotFound) return e;
    bj::object describe;
    describe["SecretId"] = name;
    auto d = ctx.Sm("DescribeSecret", describe);
    if (!d.ok() && d.error().code() != Code::kNotFound) return d.error();
    if (!d.ok()) {
      bj::object create = create_extras;
      create["Name"] = name;
      create["SecretString"] = bj::string(value);
      ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("CreateSecret", create));
      if (auto* a = r.if_contains("ARN"); a && a->is_string())
        outcome.arn = std::string(a->get_string());
      if (auto* v = r.if_contains("VersionId"); v && v->is_string()) {
        outcome.version_id = std::string(v->get_string());
      }
      outcome.created = true;
      return outcome;
    }
  } else {
    auto* s = current->if_contains("SecretString");
    if (skip_if_unchanged && s != nullptr && s->is_string() && s->get_string() == value) {
      if (auto* a = current->if_contains("ARN"); a && a->is_string())
        outcome.arn = std::string(a->get_string());
      if (auto* v = current->if_contains("VersionId"); v && v->is_string()) {
        outcome.version_id = std::string(v->get_string());
      }
      outcome.unchanged = true;
      return outcome;
    }
  }
  bj::object put;
  put["SecretId"] = name;
  put["SecretString"] = bj::string(value);
  ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("PutSecretValue", put));
  if (auto* a = r.if_contains("ARN"); a && a->is_string())
    outcome.arn = std::string(a->get_string());
  if (auto* v = r.if_contains("VersionId"); v && v->is_string())
    outcome.version_id = std::string(v->get_string());
  return outcome;
}

Result<std::string> GetSecretString(Context& ctx, const std::string& name,
                                    const std::string& version_stage,
                                    const std::string& version_id) {
  bj::object get;
  get["SecretId"] = name;
  if (!version_stage.empty()) get["VersionStage"] = version_stage;
  if (!version_id.empty()) get["VersionId"] = version_id;
  ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("GetSecretValue", get));
  auto* s = r.if_contains("SecretString");
  if (s == nullptr || !s->is_string()) {
    return Error(Code::kInvalidParameter,
                 "secret " + name + " holds binary data (SecretBinary), not text");
  }
  std::string out(s->get_string());
  SecureWipe(s->get_string().data(), s->get_string().size());
  return out;
}

}  // namespace arca::cli
