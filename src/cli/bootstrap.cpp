// `arca bootstrap`: an environment's secrets from a manifest (docs/bootstrap.md). Reads each
// secret's current state, prints the plan, then applies it: one new version per secret whose value
// changed, metadata calls only for what differs. The manifest, the plan and generation live in
// manifest.cpp.
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/manifest.h"
#include "core/json.h"
#include "core/secret_bytes.h"
#include "crypto/random.h"

namespace arca::cli {

namespace bj = boost::json;

namespace {

using bootstrap::Action;
using bootstrap::CurrentState;
using bootstrap::Plan;
using bootstrap::SecretPlan;

constexpr const char* kFooter = R"(Examples:
  arca bootstrap -f environment.yaml --dry-run
  arca bootstrap -f environment.yaml --var env=production --outputs arca-secrets.yaml
  arca bootstrap -f environment.yaml --regenerate shop/staging/jwt.JWT_SECRET

The manifest format is described in docs/bootstrap.md.)";

struct BootstrapArgs {
  std::string file;
  std::vector<std::string> vars;
  bool dry_run = false;
  std::vector<std::string> outputs;
  std::vector<std::string> regenerate;
};

enum class OutputKind { kJson, kYaml };

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Wipes a SecretString the request held once the call is done.
void WipeMember(bj::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    SecureWipe(v->get_string().data(), v->get_string().size());
  }
}

// DescribeSecret, AWSCURRENT and (when the manifest sets one) the resource policy.
Result<CurrentState> ReadState(Context& ctx, const bootstrap::SecretSpec& spec) {
  bj::object req;
  req["SecretId"] = spec.name;
  auto described = ctx.Sm("DescribeSecret", req);
  if (!described.ok()) {
    if (described.error().code() == Code::kNotFound) return CurrentState{};
    return std::move(described).error();
  }
  CurrentState state = bootstrap::StateFromDescribe(*described);
  if (state.scheduled_for_deletion) {
    return Error(Code::kInvalidRequest,
                 "secret " + spec.name +
                     " is scheduled for deletion; restore it first with `arca secret "
                     "restore " +
                     spec.name + "`")
        .WithWireType("InvalidRequestException");
  }
  auto value = GetSecretString(ctx, spec.name, "AWSCURRENT");
  if (value.ok()) {
    state.value = SecretBytes::FromString(std::move(*value));
  } else if (value.error().code() != Code::kNotFound &&
             value.error().code() != Code::kInvalidParameter) {
    // kNotFound: no AWSCURRENT version yet; kInvalidParameter: binary only. Both get a new string
    // value.
    return std::move(value).error();
  }
  if (spec.policy) {
    ARCA_ASSIGN_OR_RETURN(bj::object pol, ctx.Sm("GetResourcePolicy", req));
    std::string text = json::StringMember(pol, "ResourcePolicy");
    if (!text.empty()) state.policy = std::move(text);
  }
  return state;
}

Result<SecretBytes> ServerPassword(Context& ctx, const bootstrap::PasswordSpec& spec) {
  ARCA_ASSIGN_OR_RETURN(bj::object r,
                        ctx.Sm("GetRandomPassword", bootstrap::PasswordRequest(spec)));
  auto* p = r.if_contains("RandomPassword");
  if (p == nullptr || !p->is_string())
    return Error(Code::kInternal, "GetRandomPassword returned no password");
  SecretBytes out = SecretBytes::CopyOf(p->get_string());
  WipeMember(r, "RandomPassword");
  return out;
}

bj::array TagList(const std::map<std::string, std::string>& tags,
                  const std::vector<std::string>* only) {
  bj::array out;
  for (const auto& [k, v] : tags) {
    if (only != nullptr && std::find(only->begin(), only->end(), k) == only->end()) continue;
    bj::object t;
    t["Key"] = k;
    t["Value"] = v;
    out.push_back(std::move(t));
  }
  return out;
}

Status ApplyRotation(Context& ctx, const SecretPlan& p) {
  const bootstrap::RotationSpec& r = *p.spec->rotation;
  bj::object req;
  req["SecretId"] = p.spec->name;
  if (r.lambda_arn) req["RotationLambdaARN"] = *r.lambda_arn;
  bj::object rules;
  if (r.automatically_after_days) rules["AutomaticallyAfterDays"] = *r.automatically_after_days;
  if (r.schedule_expression) rules["ScheduleExpression"] = *r.schedule_expression;
  if (r.duration) rules["Duration"] = *r.duration;
  req["RotationRules"] = std::move(rules);
  req["RotateImmediately"] = false;
  ARCA_ASSIGN_OR_RETURN(bj::object ignored, ctx.Sm("RotateSecret", req));
  (void)ignored;
  return OkStatus();
}

Status ApplyPolicy(Context& ctx, const SecretPlan& p) {
  bj::object req;
  req["SecretId"] = p.spec->name;
  req["ResourcePolicy"] = *p.spec->policy;
  ARCA_ASSIGN_OR_RETURN(bj::object ignored, ctx.Sm("PutResourcePolicy", req));
  (void)ignored;
  return OkStatus();
}

// Applies one secret's plan.
Status Apply(Context& ctx, SecretPlan& p) {
  const bootstrap::SecretSpec& s = *p.spec;
  ARCA_RETURN_IF_ERROR(bootstrap::GenerateValues(
      p, [&ctx](const bootstrap::PasswordSpec& spec) { return ServerPassword(ctx, spec); }));
  if (p.action == Action::kCreate) {
    SecretBytes value = bootstrap::DesiredSecretString(p);
    bj::object req;
    req["Name"] = s.name;
    req["ClientRequestToken"] = crypto::NewUuid();  // retries of this call stay one version
    req["SecretString"] = bj::string(value.view());
    if (s.description) req["Description"] = *s.description;
    if (s.kms_key_id) req["KmsKeyId"] = *s.kms_key_id;
    if (!s.tags.empty()) req["Tags"] = TagList(s.tags, nullptr);
    auto r = ctx.Sm("CreateSecret", req);
    WipeMember(req, "SecretString");
    if (!r.ok()) return std::move(r).error();
    p.arn = json::StringMember(*r, "ARN");
    if (s.rotation) ARCA_RETURN_IF_ERROR(ApplyRotation(ctx, p));
    if (s.policy) ARCA_RETURN_IF_ERROR(ApplyPolicy(ctx, p));
    return OkStatus();
  }
  if (p.description_changed || p.kms_key_changed) {
    bj::object req;
    req["SecretId"] = s.name;
    if (p.description_changed) req["Description"] = *s.description;
    if (p.kms_key_changed) req["KmsKeyId"] = *s.kms_key_id;
    ARCA_ASSIGN_OR_RETURN(bj::object ignored, ctx.Sm("UpdateSecret", req));
    (void)ignored;
  }
  if (p.value_changed) {
    SecretBytes value = bootstrap::DesiredSecretString(p);
    bj::object req;
    req["SecretId"] = s.name;
    req["ClientRequestToken"] = crypto::NewUuid();
    req["SecretString"] = bj::string(value.view());
    auto r = ctx.Sm("PutSecretValue", req);
    WipeMember(req, "SecretString");
    if (!r.ok()) return std::move(r).error();
  }
  if (!p.tags_changed.empty()) {
    bj::object req;
    req["SecretId"] = s.name;
    req["Tags"] = TagList(s.tags, &p.tags_changed);
    ARCA_ASSIGN_OR_RETURN(bj::object ignored, ctx.Sm("TagResource", req));
    (void)ignored;
  }
  if (p.rotation_changed) ARCA_RETURN_IF_ERROR(ApplyRotation(ctx, p));
  if (p.policy_changed) ARCA_RETURN_IF_ERROR(ApplyPolicy(ctx, p));
  return OkStatus();
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out.empty() ? "none" : out;
}

int Run(Context& ctx, const BootstrapArgs& args) {
  // Everything that can be checked before talking to the server.
  std::vector<std::pair<std::string, OutputKind>> outputs;
  for (const auto& o : args.outputs) {
    if (EndsWith(o, ".json")) {
      outputs.emplace_back(o, OutputKind::kJson);
    } else if (EndsWith(o, ".yaml") || EndsWith(o, ".yml")) {
      outputs.emplace_back(o, OutputKind::kYaml);
    } else {
      return ctx.Usage("--outputs " + o + ": the file name must end in .json, .yaml or .yml");
    }
  }
  bootstrap::ManifestOptions mopts;
  mopts.env = ctx.env;
  for (const auto& v : args.vars) {
    auto kv = bootstrap::ParseVarFlag(v);
    if (!kv.ok()) return ctx.Usage(kv.error().message());
    mopts.vars.push_back(std::move(*kv));
  }
  auto manifest = bootstrap::LoadManifest(args.file, mopts);
  if (!manifest.ok()) return ctx.Usage(manifest.error().message());
  auto regenerate = bootstrap::ResolveRegenerate(*manifest, args.regenerate);
  if (!regenerate.ok()) return ctx.Usage(regenerate.error().message());

  // 1. The current state of every secret.
  std::vector<CurrentState> current;
  for (const auto& s : manifest->secrets) {
    auto state = ReadState(ctx, s);
    if (!state.ok()) return ctx.Fail(state.error());
    current.push_back(std::move(*state));
  }

  // 2-3. The plan.
  Plan plan = bootstrap::MakePlan(*manifest, current, *regenerate);
  current.clear();  // wipes the current values
  if (!ctx.json_output()) {
    for (const auto& p : plan.secrets) ctx.out() << bootstrap::PlanLine(p) << "\n";
    ctx.out() << bootstrap::PlanSummary(plan) << std::endl;
  }
  if (args.dry_run) {
    if (ctx.json_output()) {
      bj::object o = bootstrap::PlanJson(plan);
      o["dryRun"] = true;
      PrintJson(ctx.out(), o);
    }
    return kExitOk;
  }

  // 4. Apply, in manifest order.
  const std::size_t changes = plan.creates + plan.updates;
  std::unique_ptr<Progress> progress;
  if (changes > 1) progress = std::make_unique<Progress>(ctx.err(), changes);
  std::vector<std::string> applied;
  for (auto& p : plan.secrets) {
    if (p.action == Action::kUnchanged) continue;
    Status st = Apply(ctx, p);
    if (!st.ok()) {
      progress.reset();
      std::vector<std::string> rest;
      bool after = false;
      for (const auto& q : plan.secrets) {
        if (after && q.action != Action::kUnchanged) rest.push_back(q.spec->name);
        if (&q == &p) after = true;
      }
      ctx.err() << "arca: bootstrap stopped at " << p.spec->name
                << " (applied before it: " << JoinNames(applied)
                << "; not reached: " << JoinNames(rest) << "; run it again once fixed)\n";
      return ctx.Fail(st.error());
    }
    applied.push_back(p.spec->name);
    if (progress)
      progress->Step(p.spec->name + (p.action == Action::kCreate ? ": created" : ": updated"));
  }
  progress.reset();

  // 5. Outputs.
  for (const auto& [path, kind] : outputs) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << (kind == OutputKind::kJson ? bootstrap::OutputsJson(plan)
                                    : bootstrap::OutputsHelmYaml(plan));
    f.close();
    if (!f) {
      ctx.err() << "arca: cannot write " << path << ": " << std::strerror(errno) << "\n";
      return kExitError;
    }
  }

  if (ctx.json_output()) {
    bj::object o = bootstrap::PlanJson(plan);
    o["dryRun"] = false;
    PrintJson(ctx.out(), o);
  } else if (changes > 0) {
    ctx.out() << "Applied: " << plan.creates << " created, " << plan.updates << " updated.\n";
  }
  return kExitOk;
}

}  // namespace

void AddBootstrapCommand(CLI::App* app, Context* ctx) {
  auto args = std::make_shared<BootstrapArgs>();
  CLI::App* cmd = app->add_subcommand(
      "bootstrap",
      "Create or update an environment's secrets from a manifest: prints the plan (create / update / "
      "unchanged), then applies it. Re-running changes nothing; generated values are kept");
  cmd->footer(kFooter);
  ctx->AddGlobalOptions(cmd);
  cmd->add_option("-f,--file", args->file, "the manifest (YAML; '-': stdin)")
      ->required()
      ->type_name("FILE");
  cmd->add_option("--var", args->vars,
                  "NAME=VALUE: set or override a manifest variable (repeatable)")
      ->type_name("NAME=VALUE");
  cmd->add_flag("--dry-run", args->dry_run, "print the plan and change nothing");
  cmd->add_option(
         "--outputs", args->outputs,
         "after applying, write name -> ARN: FILE.json as {\"NAME\": \"ARN\"}, FILE.yaml as a Helm "
         "values fragment (repeatable)")
      ->type_name("FILE");
  cmd->add_option("--regenerate", args->regenerate,
                  "generate this field again although it has a value: SECRET.FIELD, or SECRET for "
                  "a generated "
                  "value: (repeatable)")
      ->type_name("NAME.FIELD");
  ctx->On(cmd, [ctx, args] { return Run(*ctx, *args); });
}

}  // namespace arca::cli
