// `arca secret ...`: one command per everyday Secrets Manager task. Each is a thin sequence of API
// calls; the rules (labels, deletion windows, limits) stay in the server.
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/formats.h"
#include "core/json.h"
#include "core/secret_bytes.h"
#include "crypto/hash.h"

namespace arca::cli {

namespace bj = boost::json;

namespace {

std::string Date(const bj::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr) return "";
  if (v->is_double()) return FormatTimestamp(v->get_double());
  if (v->is_int64()) return FormatTimestamp(static_cast<double>(v->get_int64()));
  if (v->is_uint64()) return FormatTimestamp(static_cast<double>(v->get_uint64()));
  return "";
}

std::vector<std::string> Stages(const bj::value* v) {
  std::vector<std::string> out;
  if (v == nullptr || !v->is_array()) return out;
  for (const auto& s : v->get_array()) {
    if (s.is_string()) out.emplace_back(s.get_string());
  }
  return out;
}

std::string JoinStrings(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.append(sep);
    out += s;
  }
  return out;
}

// "KEY=VALUE" -> (KEY, VALUE); nullopt without '=' or with an empty key.
std::optional<std::pair<std::string, std::string>> SplitAssignment(const std::string& s) {
  const auto eq = s.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  return std::make_pair(s.substr(0, eq), s.substr(eq + 1));
}

Result<std::string> ReadFileOrStdin(const std::string& path) {
  std::string data;
  if (path == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Code::kInvalidParameter, "cannot read " + path);
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return data;
}

bj::array TagList(const std::vector<std::string>& tags, std::string* bad) {
  bj::array out;
  for (const auto& t : tags) {
    auto kv = SplitAssignment(t);
    if (!kv) {
      *bad = t;
      return {};
    }
    bj::object tag;
    tag["Key"] = kv->first;
    tag["Value"] = kv->second;
    out.push_back(std::move(tag));
  }
  return out;
}

const char* kPutFooter = R"(Examples:
  arca secret put shop/prod/db --from-literal username=app --from-literal password="$PW"
  arca secret put shop/prod/tls --from-file server.pem
  arca secret put shop/dev/app --from-env-file .env
  printf %s "$TOKEN" | arca secret put shop/prod/api-token)";

struct PutArgs {
  std::string name;
  std::vector<std::string> literals;
  std::string file;
  std::string env_file;
  std::string description;
  std::vector<std::string> tags;
  std::string kms_key_id;
  bool always = false;
};

int RunPut(Context& ctx, const PutArgs& a) {
  int sources =
      (a.literals.empty() ? 0 : 1) + (a.file.empty() ? 0 : 1) + (a.env_file.empty() ? 0 : 1);
  if (sources > 1)
    return ctx.Usage("give one of --from-literal, --from-file, --from-env-file or stdin");
  std::string value;
  if (!a.literals.empty()) {
    bj::object o;
    for (const auto& l : a.literals) {
      auto kv = SplitAssignment(l);
      if (!kv) return ctx.Usage("--from-literal wants KEY=VALUE, got a value without '=' or key");
      o[kv->first] = kv->second;
      SecureWipe(kv->second);
    }
    value = bj::serialize(o);
  } else if (!a.file.empty()) {
    auto data = ReadFileOrStdin(a.file);
    if (!data.ok()) return ctx.Usage(data.error().message());
    value = std::move(data).value();
  } else if (!a.env_file.empty()) {
    auto data = ReadFileOrStdin(a.env_file);
    if (!data.ok()) return ctx.Usage(data.error().message());
    auto entries = ParseDotenv(*data);
    SecureWipe(*data);
    if (!entries.ok()) return ctx.Usage(a.env_file + ": " + entries.error().message());
    bj::object o;
    for (auto& [k, v] : *entries) {
      o[k] = v;
      SecureWipe(v);
    }
    value = bj::serialize(o);
  } else {
    if (isatty(STDIN_FILENO) == 1) {
      return ctx.Usage(
          "no value: give --from-literal, --from-file or --from-env-file, or pipe it on stdin");
    }
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (value.empty()) return ctx.Usage("the value is empty");

  bj::object extras;
  if (!a.description.empty()) extras["Description"] = a.description;
  if (!a.kms_key_id.empty()) extras["KmsKeyId"] = a.kms_key_id;
  if (!a.tags.empty()) {
    std::string bad;
    bj::array tags = TagList(a.tags, &bad);
    if (!bad.empty()) return ctx.Usage("--tag wants KEY=VALUE, got '" + bad + "'");
    extras["Tags"] = std::move(tags);
  }
  auto outcome = PutSecretString(ctx, a.name, value, extras, !a.always);
  SecureWipe(value);
  if (!outcome.ok()) return ctx.Fail(outcome.error());
  const char* what = outcome->created ? "created" : outcome->unchanged ? "unchanged" : "updated";
  if (ctx.json_output()) {
    bj::object o;
    o["ARN"] = outcome->arn;
    o["Name"] = a.name;
    o["VersionId"] = outcome->version_id;
    o["Result"] = what;
    PrintJson(ctx.out(), o);
  } else if (outcome->unchanged) {
    ctx.out() << "unchanged " << a.name << " (the value is already current)\n";
  } else {
    ctx.out() << what << " " << a.name << " (version " << outcome->version_id << ")\n";
  }
  return kExitOk;
}

struct GetArgs {
  std::string name;
  std::string field;
  std::string stage;
  std::string version_id;
};

int RunGet(Context& ctx, const GetArgs& a) {
  bj::object req;
  req["SecretId"] = a.name;
  if (!a.stage.empty()) req["VersionStage"] = a.stage;
  if (!a.version_id.empty()) req["VersionId"] = a.version_id;
  auto r = ctx.Sm("GetSecretValue", req);
  if (!r.ok()) return ctx.Fail(r.error());
  if (ctx.json_output() && a.field.empty()) {
    PrintJson(ctx.out(), *r);
    return kExitOk;
  }
  auto* s = r->if_contains("SecretString");
  if (s == nullptr || !s->is_string()) {
    if (!a.field.empty())
      return ctx.Usage("--field needs a JSON SecretString; " + a.name + " is binary");
    // SecretBinary is base64 on the wire; the raw bytes go to stdout.
    auto bytes = crypto::Base64DecodeSecret(json::StringMember(*r, "SecretBinary"));
    if (!bytes)
      return ctx.Fail(Error(Code::kInternal, "the server sent SecretBinary that is not base64"));
    ctx.out().write(bytes->view().data(), static_cast<std::streamsize>(bytes->size()));
    return kExitOk;
  }
  std::string value(s->get_string());
  SecureWipe(s->get_string().data(), s->get_string().size());
  if (!a.field.empty()) {
    auto field = ExtractProperty(value, a.field);
    SecureWipe(value);
    if (!field.ok()) {
      if (field.error().code() == Code::kNotFound) {
        ctx.err() << "arca: " << a.name << " has no field " << a.field << "\n";
        return kExitNotFound;
      }
      return ctx.Fail(field.error());
    }
    ctx.out() << *field << "\n";
    SecureWipe(*field);
    return kExitOk;
  }
  ctx.out() << value << "\n";
  SecureWipe(value);
  return kExitOk;
}

int RunList(Context& ctx, const std::string& prefix, bool include_deleted) {
  bj::array all;
  std::string token;
  do {
    bj::object req;
    req["MaxResults"] = 100;
    if (!token.empty()) req["NextToken"] = token;
    if (include_deleted) req["IncludePlannedDeletion"] = true;
    if (!prefix.empty()) {
      bj::object f;
      f["Key"] = "name";
      f["Values"] = bj::array{bj::value(prefix)};
      req["Filters"] = bj::array{f};
    }
    auto r = ctx.Sm("ListSecrets", req);
    if (!r.ok()) return ctx.Fail(r.error());
    if (auto* list = r->if_contains("SecretList"); list && list->is_array()) {
      for (auto& s : list->get_array()) {
        // The name filter matches prefixes of any '/'-separated word; keep true prefixes only.
        if (!prefix.empty() && s.is_object() && !json::StringMember(s.get_object(), "Name").starts_with(prefix))
          continue;
        all.push_back(s);
      }
    }
    token = json::StringMember(*r, "NextToken");
  } while (!token.empty());
  if (ctx.json_output()) {
    bj::object o;
    o["SecretList"] = std::move(all);
    PrintJson(ctx.out(), o);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : all) {
    const auto& s = v.get_object();
    std::string rotation = "-";
    if (auto* e = s.if_contains("RotationEnabled"); e && e->is_bool() && e->get_bool())
      rotation = "on";
    std::string changed = Date(s, "LastChangedDate");
    if (s.contains("DeletedDate")) changed = "deleted " + Date(s, "DeletedDate");
    rows.push_back({json::StringMember(s, "Name"), changed, rotation, json::StringMember(s, "Description")});
  }
  std::sort(rows.begin(), rows.end());
  PrintTable(ctx.out(), {"NAME", "LAST CHANGED", "ROTATION", "DESCRIPTION"}, rows);
  return kExitOk;
}

int RunDescribe(Context& ctx, const std::string& name) {
  bj::object req;
  req["SecretId"] = name;
  auto r = ctx.Sm("DescribeSecret", req);
  if (!r.ok()) return ctx.Fail(r.error());
  if (ctx.json_output()) {
    PrintJson(ctx.out(), *r);
    return kExitOk;
  }
  const bj::object& d = *r;
  std::vector<std::vector<std::string>> rows;
  auto add = [&](std::string k, std::string v) {
    if (!v.empty()) rows.push_back({std::move(k), std::move(v)});
  };
  add("Name:", json::StringMember(d, "Name"));
  add("ARN:", json::StringMember(d, "ARN"));
  add("Description:", json::StringMember(d, "Description"));
  add("KMS key:", json::StringMember(d, "KmsKeyId"));
  add("Created:", Date(d, "CreatedDate"));
  add("Last changed:", Date(d, "LastChangedDate"));
  add("Last accessed:", Date(d, "LastAccessedDate"));
  add("Deleted:", Date(d, "DeletedDate"));
  bool rotation = false;
  if (auto* e = d.if_contains("RotationEnabled"); e && e->is_bool()) rotation = e->get_bool();
  add("Rotation:", rotation ? "enabled" : "disabled");
  add("Rotation function:", json::StringMember(d, "RotationLambdaARN"));
  if (auto* rules = d.if_contains("RotationRules"); rules && rules->is_object()) {
    const auto& rr = rules->get_object();
    std::string text = json::StringMember(rr, "ScheduleExpression");
    if (auto* days = rr.if_contains("AutomaticallyAfterDays");
        days && days->is_number() && text.empty()) {
      text = "every " + bj::serialize(*days) + " days";
    }
    if (!json::StringMember(rr, "Duration").empty()) text += " (window " + json::StringMember(rr, "Duration") + ")";
    add("Rotation schedule:", text);
  }
  add("Last rotated:", Date(d, "LastRotatedDate"));
  add("Next rotation:", Date(d, "NextRotationDate"));
  if (auto* tags = d.if_contains("Tags"); tags && tags->is_array()) {
    std::vector<std::string> t;
    for (const auto& tag : tags->get_array()) {
      if (tag.is_object())
        t.push_back(json::StringMember(tag.get_object(), "Key") + "=" + json::StringMember(tag.get_object(), "Value"));
    }
    add("Tags:", JoinStrings(t, ", "));
  }
  if (auto* versions = d.if_contains("VersionIdsToStages"); versions && versions->is_object()) {
    for (const auto& [id, stages] : versions->get_object()) {
      add("Version:", std::string(id) + " " + JoinStrings(Stages(&stages), ","));
    }
  }
  if (auto* repl = d.if_contains("ReplicationStatus"); repl && repl->is_array()) {
    for (const auto& r2 : repl->get_array()) {
      if (r2.is_object())
        add("Replica:", json::StringMember(r2.get_object(), "Region") + " " + json::StringMember(r2.get_object(), "Status"));
    }
  }
  for (const auto& row : rows) {
    ctx.out() << row[0] << std::string(20 - std::min<std::size_t>(row[0].size(), 19), ' ') << row[1]
              << "\n";
  }
  return kExitOk;
}

// Every version of a secret (deprecated ones too), newest first.
Result<bj::array> AllVersions(Context& ctx, const std::string& name) {
  bj::array out;
  std::string token;
  do {
    bj::object req;
    req["SecretId"] = name;
    req["IncludeDeprecated"] = true;
    req["MaxResults"] = 100;
    if (!token.empty()) req["NextToken"] = token;
    ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("ListSecretVersionIds", req));
    if (auto* v = r.if_contains("Versions"); v && v->is_array()) {
      for (auto& e : v->get_array()) out.push_back(e);
    }
    token = json::StringMember(r, "NextToken");
  } while (!token.empty());
  std::stable_sort(out.begin(), out.end(), [](const bj::value& a, const bj::value& b) {
    auto created = [](const bj::value& v) {
      const auto* c = v.get_object().if_contains("CreatedDate");
      return c != nullptr && c->is_number() ? c->to_number<double>() : 0.0;
    };
    return created(a) > created(b);
  });
  return out;
}

int RunHistory(Context& ctx, const std::string& name) {
  auto versions = AllVersions(ctx, name);
  if (!versions.ok()) return ctx.Fail(versions.error());
  if (ctx.json_output()) {
    bj::object o;
    o["Name"] = name;
    o["Versions"] = *versions;
    PrintJson(ctx.out(), o);
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : *versions) {
    const auto& o = v.get_object();
    auto stages = Stages(o.if_contains("VersionStages"));
    rows.push_back({json::StringMember(o, "VersionId"), stages.empty() ? "-" : JoinStrings(stages, ","),
                    Date(o, "CreatedDate"), Date(o, "LastAccessedDate")});
  }
  PrintTable(ctx.out(), {"VERSION ID", "LABELS", "CREATED", "LAST ACCESSED"}, rows);
  return kExitOk;
}

// The version holding `stage`, or "".
std::string VersionWithStage(const bj::array& versions, std::string_view stage) {
  for (const auto& v : versions) {
    for (const auto& s : Stages(v.get_object().if_contains("VersionStages"))) {
      if (s == stage) return json::StringMember(v.get_object(), "VersionId");
    }
  }
  return "";
}

int RunRollback(Context& ctx, const std::string& name, const std::string& to_version) {
  auto versions = AllVersions(ctx, name);
  if (!versions.ok()) return ctx.Fail(versions.error());
  const std::string current = VersionWithStage(*versions, "AWSCURRENT");
  std::string target = to_version;
  if (target.empty()) target = VersionWithStage(*versions, "AWSPREVIOUS");
  if (target.empty()) {
    ctx.err() << "arca: " << name << " has no AWSPREVIOUS version to roll back to\n";
    return kExitNotFound;
  }
  if (target == current) {
    ctx.err() << "arca: version " << target << " of " << name << " is already AWSCURRENT\n";
    return kExitConflict;
  }
  // AWS's documented rollback: move AWSCURRENT to the earlier version; Secrets Manager then puts
  // AWSPREVIOUS on the version that was current.
  bj::object req;
  req["SecretId"] = name;
  req["VersionStage"] = "AWSCURRENT";
  req["MoveToVersionId"] = target;
  if (!current.empty()) req["RemoveFromVersionId"] = current;
  auto r = ctx.Sm("UpdateSecretVersionStage", req);
  if (!r.ok()) return ctx.Fail(r.error());
  if (ctx.json_output()) {
    bj::object o;
    o["Name"] = name;
    o["ARN"] = json::StringMember(*r, "ARN");
    o["CurrentVersionId"] = target;
    o["PreviousVersionId"] = current;
    PrintJson(ctx.out(), o);
  } else {
    ctx.out() << "rolled back " << name << ": AWSCURRENT is now version " << target << " (was "
              << current << ")\n";
  }
  return kExitOk;
}

// A version reference for diff: a label known on the secret, else a version id.
void AddVersionRef(bj::object* req, const bj::array& versions, const std::string& ref) {
  for (const auto& v : versions) {
    for (const auto& s : Stages(v.get_object().if_contains("VersionStages"))) {
      if (s == ref) {
        (*req)["VersionStage"] = ref;
        return;
      }
    }
  }
  (*req)["VersionId"] = ref;
}

int RunDiff(Context& ctx, const std::string& name, std::string from, std::string to,
            bool show_values) {
  auto versions = AllVersions(ctx, name);
  if (!versions.ok()) return ctx.Fail(versions.error());
  if (from.empty()) from = "AWSPREVIOUS";
  if (to.empty()) to = "AWSCURRENT";
  auto fetch = [&](const std::string& ref) -> Result<std::string> {
    bj::object req;
    req["SecretId"] = name;
    AddVersionRef(&req, *versions, ref);
    ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("GetSecretValue", req));
    auto* s = r.if_contains("SecretString");
    if (s == nullptr || !s->is_string()) {
      return Error(Code::kInvalidParameter,
                   "version " + ref + " of " + name + " is binary; diff compares text");
    }
    std::string out(s->get_string());
    SecureWipe(s->get_string().data(), s->get_string().size());
    return out;
  };
  auto a = fetch(from);
  if (!a.ok()) return ctx.Fail(a.error());
  auto b = fetch(to);
  if (!b.ok()) return ctx.Fail(b.error());

  auto as_object = [](const std::string& text) -> std::optional<bj::object> {
    auto v = json::Parse(text);
    if (!v.ok() || !v->is_object()) return std::nullopt;
    return v->get_object();
  };
  auto oa = as_object(*a);
  auto ob = as_object(*b);
  auto render = [](const bj::value& v) {
    return v.is_string() ? std::string(v.get_string()) : bj::serialize(v);
  };
  std::vector<std::string> added, removed, changed;
  std::vector<std::tuple<char, std::string, std::string, std::string>> lines;  // op, key, old, new
  if (oa && ob) {
    std::set<std::string> keys;
    for (const auto& m : *oa) keys.insert(std::string(m.key()));
    for (const auto& m : *ob) keys.insert(std::string(m.key()));
    for (const auto& k : keys) {
      const bj::value* va = oa->if_contains(k);
      const bj::value* vb = ob->if_contains(k);
      if (va == nullptr) {
        added.push_back(k);
        lines.emplace_back('+', k, "", render(*vb));
      } else if (vb == nullptr) {
        removed.push_back(k);
        lines.emplace_back('-', k, render(*va), "");
      } else if (*va != *vb) {
        changed.push_back(k);
        lines.emplace_back('~', k, render(*va), render(*vb));
      }
    }
  } else if (*a != *b) {
    changed.push_back("(value)");
    lines.emplace_back('~', "(value)", *a, *b);
  }
  SecureWipe(*a);
  SecureWipe(*b);
  if (ctx.json_output()) {
    bj::object o;
    o["Name"] = name;
    o["From"] = from;
    o["To"] = to;
    auto arr = [](const std::vector<std::string>& v) {
      bj::array x;
      for (const auto& s : v) x.emplace_back(s);
      return x;
    };
    o["Added"] = arr(added);
    o["Removed"] = arr(removed);
    o["Changed"] = arr(changed);
    if (show_values) {
      bj::object values;
      for (const auto& [op, key, old_v, new_v] : lines) {
        bj::object pair;
        if (op != '+') pair["From"] = old_v;
        if (op != '-') pair["To"] = new_v;
        values[key] = std::move(pair);
      }
      o["Values"] = std::move(values);
    }
    PrintJson(ctx.out(), o);
  } else if (lines.empty()) {
    ctx.out() << "no differences between " << from << " and " << to << " of " << name << "\n";
  } else {
    ctx.out() << "--- " << name << " " << from << "\n+++ " << name << " " << to << "\n";
    for (auto& [op, key, old_v, new_v] : lines) {
      ctx.out() << op << " " << key;
      if (show_values) {
        if (op == '+') ctx.out() << ": " << new_v;
        if (op == '-') ctx.out() << ": " << old_v;
        if (op == '~') ctx.out() << ": " << old_v << " -> " << new_v;
      } else {
        ctx.out() << (op == '+' ? " (added)" : op == '-' ? " (removed)" : " (changed)");
      }
      ctx.out() << "\n";
      SecureWipe(old_v);
      SecureWipe(new_v);
    }
  }
  return kExitOk;
}

}  // namespace

void AddSecretCommands(CLI::App* app, Context* ctx) {
  CLI::App* secret =
      app->add_subcommand("secret", "Create, read, version, roll back and delete secrets");
  secret->require_subcommand(1);
  ctx->AddGlobalOptions(secret);
  auto sub = [secret](const std::string& name, const std::string& help, const std::string& footer) {
    CLI::App* c = secret->add_subcommand(name, help);
    c->fallthrough();
    c->footer(footer);
    return c;
  };

  {
    auto a = std::make_shared<PutArgs>();
    CLI::App* c = sub(
        "put",
        "Create the secret, or add a version that becomes AWSCURRENT (nothing when the value is "
        "unchanged). The value comes from --from-literal (repeat: a JSON object), --from-file, "
        "--from-env-file or stdin",
        kPutFooter);
    c->add_option("name", a->name, "the secret's name")->required();
    c->add_option("--from-literal", a->literals, "KEY=VALUE, one JSON key (repeatable)")
        ->type_name("KEY=VALUE");
    c->add_option("--from-file", a->file, "the value is this file's content ('-': stdin)")
        ->type_name("FILE");
    c->add_option("--from-env-file", a->env_file,
                  "a dotenv file; its variables become the JSON keys")
        ->type_name("FILE");
    c->add_option("--description", a->description, "description (when creating)");
    c->add_option("--tag", a->tags, "KEY=VALUE tag (when creating; repeatable)")
        ->type_name("KEY=VALUE");
    c->add_option("--kms-key-id", a->kms_key_id, "KMS key (when creating)")->type_name("KEY");
    c->add_flag("--always", a->always, "add a version even when the value is unchanged");
    ctx->On(c, [ctx, a] { return RunPut(*ctx, *a); });
  }
  {
    auto a = std::make_shared<GetArgs>();
    CLI::App* c =
        sub("get", "Print a secret's value (AWSCURRENT unless a stage or version is named)",
            "Examples:\n  arca secret get shop/prod/db\n  arca secret get shop/prod/db --field "
            "password\n"
            "  arca secret get shop/prod/db --version-stage AWSPREVIOUS");
    c->add_option("name", a->name, "the secret's name or ARN")->required();
    c->add_option("--field", a->field, "print only this JSON key (a.b for nested keys)")
        ->type_name("KEY");
    auto* stage = c->add_option("--version-stage", a->stage, "a staging label, e.g. AWSPREVIOUS")
                      ->type_name("LABEL");
    auto* vid = c->add_option("--version-id", a->version_id, "a version id")->type_name("ID");
    stage->excludes(vid);
    ctx->On(c, [ctx, a] { return RunGet(*ctx, *a); });
  }
  {
    auto prefix = std::make_shared<std::string>();
    auto deleted = std::make_shared<bool>(false);
    CLI::App* c =
        sub("list", "List secrets (all pages), sorted by name",
            "Examples:\n  arca secret list\n  arca secret list --prefix shop/prod/ --output json");
    c->add_option("--prefix", *prefix, "only names starting with this")->type_name("P");
    c->add_flag("--include-deleted", *deleted, "also secrets scheduled for deletion");
    ctx->On(c, [ctx, prefix, deleted] { return RunList(*ctx, *prefix, *deleted); });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* c =
        sub("describe",
            "Show a secret's metadata: ARN, dates, rotation, tags, versions (never the value)",
            "Example:\n  arca secret describe shop/prod/db");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    ctx->On(c, [ctx, name] { return RunDescribe(*ctx, *name); });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* c =
        sub("history", "List a secret's versions with their labels and dates, newest first",
            "Example:\n  arca secret history shop/prod/db");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    ctx->On(c, [ctx, name] { return RunHistory(*ctx, *name); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    CLI::App* c =
        sub("rollback",
            "Move AWSCURRENT back to the previous version (AWSPREVIOUS), as AWS documents with "
            "UpdateSecretVersionStage; the version it leaves becomes AWSPREVIOUS",
            "Examples:\n  arca secret rollback shop/prod/db\n"
            "  arca secret rollback shop/prod/db --to-version 3f2a...");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    c->add_option("--to-version", *to, "roll back to this version id instead of AWSPREVIOUS")
        ->type_name("ID");
    ctx->On(c, [ctx, name, to] { return RunRollback(*ctx, *name, *to); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    auto show = std::make_shared<bool>(false);
    CLI::App* c = sub(
        "diff",
        "Show which JSON keys were added, removed or changed between two versions (labels or "
        "version ids; default AWSPREVIOUS and AWSCURRENT). Values stay hidden unless --show-values",
        "Examples:\n  arca secret diff shop/prod/db\n  arca secret diff shop/prod/db AWSPREVIOUS "
        "AWSCURRENT --show-values");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    c->add_option("from", *from, "older version: a label or version id (default AWSPREVIOUS)");
    c->add_option("to", *to, "newer version: a label or version id (default AWSCURRENT)");
    c->add_flag("--show-values", *show, "print the old and new values of changed keys");
    ctx->On(c, [ctx, name, from, to, show] { return RunDiff(*ctx, *name, *from, *to, *show); });
  }
  {
    auto name = std::make_shared<std::string>();
    auto days = std::make_shared<int>(0);
    auto force = std::make_shared<bool>(false);
    CLI::App* c = sub(
        "delete",
        "Schedule a secret for deletion after a recovery window (7-30 days, default 30), or delete "
        "it at once with --force",
        "Examples:\n  arca secret delete shop/dev/db --recovery-days 7\n"
        "  arca secret delete shop/dev/tmp --force");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    auto* d =
        c->add_option("--recovery-days", *days, "days before it is gone (7-30)")->type_name("N");
    auto* f = c->add_flag("--force", *force, "delete now, without recovery");
    d->excludes(f);
    ctx->On(c, [ctx, name, days, force] {
      bj::object req;
      req["SecretId"] = *name;
      if (*force) req["ForceDeleteWithoutRecovery"] = true;
      if (*days != 0) req["RecoveryWindowInDays"] = *days;
      auto r = ctx->Sm("DeleteSecret", req);
      if (!r.ok()) return ctx->Fail(r.error());
      if (ctx->json_output()) {
        PrintJson(ctx->out(), *r);
      } else if (*force) {
        ctx->out() << "deleted " << *name << "\n";
      } else {
        ctx->out() << "scheduled " << *name << " for deletion on " << Date(*r, "DeletionDate")
                   << " (undo with: arca secret restore " << *name << ")\n";
      }
      return kExitOk;
    });
  }
  {
    auto name = std::make_shared<std::string>();
    CLI::App* c = sub("restore", "Cancel a scheduled deletion",
                      "Example:\n  arca secret restore shop/dev/db");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    ctx->On(c, [ctx, name] {
      bj::object req;
      req["SecretId"] = *name;
      auto r = ctx->Sm("RestoreSecret", req);
      if (!r.ok()) return ctx->Fail(r.error());
      if (ctx->json_output()) {
        PrintJson(ctx->out(), *r);
      } else {
        ctx->out() << "restored " << *name << "\n";
      }
      return kExitOk;
    });
  }
  {
    struct RotateArgs {
      std::string name, lambda, schedule, duration;
      int days = 0;
      bool no_immediately = false;
    };
    auto a = std::make_shared<RotateArgs>();
    CLI::App* c = sub(
        "rotate", "Rotate a secret now, or set its rotation function and schedule (RotateSecret)",
        "Examples:\n  arca secret rotate shop/prod/db\n"
        "  arca secret rotate shop/prod/jwt --lambda-arn "
        "arn:aws:lambda:us-east-1:000000000000:function:arca-random --schedule 'rate(30 days)'");
    c->add_option("name", a->name, "the secret's name or ARN")->required();
    c->add_option("--lambda-arn", a->lambda, "the rotation function (RotationLambdaARN)")
        ->type_name("ARN");
    auto* s = c->add_option("--schedule", a->schedule, "rate(N days|hours) or cron(...)")
                  ->type_name("EXPR");
    auto* d = c->add_option("--days", a->days, "rotate every N days (AutomaticallyAfterDays)")
                  ->type_name("N");
    s->excludes(d);
    c->add_option("--duration", a->duration, "rotation window, e.g. 3h")->type_name("D");
    c->add_flag("--no-rotate-now", a->no_immediately,
                "only set the schedule; the first rotation waits for it");
    ctx->On(c, [ctx, a] {
      bj::object req;
      req["SecretId"] = a->name;
      if (!a->lambda.empty()) req["RotationLambdaARN"] = a->lambda;
      bj::object rules;
      if (!a->schedule.empty()) rules["ScheduleExpression"] = a->schedule;
      if (a->days != 0) rules["AutomaticallyAfterDays"] = a->days;
      if (!a->duration.empty()) rules["Duration"] = a->duration;
      if (!rules.empty()) req["RotationRules"] = std::move(rules);
      if (a->no_immediately) req["RotateImmediately"] = false;
      auto r = ctx->Sm("RotateSecret", req);
      if (!r.ok()) return ctx->Fail(r.error());
      if (ctx->json_output()) {
        PrintJson(ctx->out(), *r);
      } else if (a->no_immediately) {
        ctx->out() << "rotation of " << a->name << " scheduled\n";
      } else {
        ctx->out() << "rotation of " << a->name << " started (version " << json::StringMember(*r, "VersionId")
                   << ")\n";
      }
      return kExitOk;
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto tags = std::make_shared<std::vector<std::string>>();
    CLI::App* c = sub("tag", "Add or change tags",
                      "Example:\n  arca secret tag shop/prod/db team=payments tier=1");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    c->add_option("tags", *tags, "KEY=VALUE ...")->required()->type_name("KEY=VALUE");
    ctx->On(c, [ctx, name, tags] {
      std::string bad;
      bj::array list = TagList(*tags, &bad);
      if (!bad.empty()) return ctx->Usage("tags are KEY=VALUE, got '" + bad + "'");
      bj::object req;
      req["SecretId"] = *name;
      req["Tags"] = std::move(list);
      auto r = ctx->Sm("TagResource", req);
      if (!r.ok()) return ctx->Fail(r.error());
      if (!ctx->json_output()) ctx->out() << "tagged " << *name << "\n";
      return kExitOk;
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto keys = std::make_shared<std::vector<std::string>>();
    CLI::App* c = sub("untag", "Remove tags", "Example:\n  arca secret untag shop/prod/db tier");
    c->add_option("name", *name, "the secret's name or ARN")->required();
    c->add_option("keys", *keys, "tag keys")->required()->type_name("KEY");
    ctx->On(c, [ctx, name, keys] {
      bj::object req;
      req["SecretId"] = *name;
      bj::array k;
      for (const auto& key : *keys) k.emplace_back(key);
      req["TagKeys"] = std::move(k);
      auto r = ctx->Sm("UntagResource", req);
      if (!r.ok()) return ctx->Fail(r.error());
      if (!ctx->json_output()) ctx->out() << "untagged " << *name << "\n";
      return kExitOk;
    });
  }
}

}  // namespace arca::cli
