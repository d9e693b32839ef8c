// `arca export` (secrets as a dotenv file, JSON, shell exports or Kubernetes Secrets) and
// `arca import` (a dotenv file or Kubernetes Secret manifests into secrets). The formats themselves
// are in formats.cpp.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/formats.h"
#include "core/secret_bytes.h"
#include "core/strings.h"

namespace arca::cli {

namespace {

namespace bj = boost::json;

const char* kExportFooter = R"EX(Examples:
  arca export --format dotenv shop/prod/db shop/prod/jwt > .env
  eval "$(arca export --format shell shop/dev/app)"
  arca export --format k8s-secret --namespace shop shop/prod/db | kubectl apply -f -
  arca export --format json -o app.json shop/prod/app)EX";

const char* kImportFooter = R"(Examples:
  arca import -f .env --name shop/dev/app
  kubectl get secret db -n shop -o yaml | arca import -f - --name shop/prod/db
  arca import -f secrets.yaml --prefix shop/          # one secret per Secret: shop/NAMESPACE/NAME)";

struct ExportArgs {
  std::vector<std::string> names;
  std::string format;
  bool keep_case = false;
  std::string k8s_name;
  std::string k8s_namespace;
  std::vector<std::string> labels;
  std::string version_stage;
  std::string out_file;
};

struct ImportArgs {
  std::string file;
  std::string format;
  std::string name;
  std::string prefix;
  std::string description;
};

void WipeEntries(Entries& entries) {
  for (auto& [k, v] : entries) SecureWipe(v);
}

// Writes `text` to `path` created (or truncated) with mode 0600; an existing file is made 0600 too.
Status WriteOwnerOnly(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return Error(Code::kInvalidParameter, "cannot write " + path + ": " + std::strerror(errno));
  Status status;
  if (::fchmod(fd, 0600) != 0) {
    status =
        Error(Code::kInvalidParameter, "cannot make " + path + " private: " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (status.ok() && done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      status = Error(Code::kInvalidParameter, "cannot write " + path + ": " + std::strerror(errno));
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Error(Code::kInvalidParameter, "cannot write " + path + ": " + std::strerror(errno));
  }
  return status;
}

// For a secret that is not a JSON object, its Kubernetes key: the last part of its name, with
// characters a Secret key cannot hold turned into '_'.
std::string K8sWholeKey(const std::string& secret_name) {
  std::string last = secret_name.substr(secret_name.rfind('/') + 1);
  for (char& c : last) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) c = '_';
  }
  if (last.empty() || last == "." || last == "..") last = "value";
  return last;
}

int RunExport(Context& ctx, const ExportArgs& a) {
  const bool k8s = a.format == "k8s-secret";
  if (!k8s && (!a.k8s_name.empty() || !a.k8s_namespace.empty() || !a.labels.empty())) {
    return ctx.Usage("--name, --namespace and --label apply to --format k8s-secret");
  }
  if (!a.k8s_name.empty() && a.names.size() != 1) {
    return ctx.Usage("--name names the Secret of a single exported secret; give one NAME");
  }
  std::vector<std::pair<std::string, std::string>> labels = {
      {"app.kubernetes.io/managed-by", "arca"}};
  for (const auto& l : a.labels) {
    auto eq = l.find('=');
    if (eq == std::string::npos || eq == 0)
      return ctx.Usage("--label wants KEY=VALUE, got '" + l + "'");
    std::string key = l.substr(0, eq);
    std::string value = l.substr(eq + 1);
    bool replaced = false;
    for (auto& [k, v] : labels) {
      if (k == key) {
        v = value;
        replaced = true;
      }
    }
    if (!replaced) labels.emplace_back(std::move(key), std::move(value));
  }

  std::string out;
  Entries merged;
  std::vector<std::string> from;  // which secret each merged entry came from
  for (const std::string& name : a.names) {
    if (k8s) {
      bj::object get;
      get["SecretId"] = name;
      if (!a.version_stage.empty()) get["VersionStage"] = a.version_stage;
      auto r = ctx.Sm("GetSecretValue", get);
      if (!r.ok()) return ctx.Fail(r.error());
      auto* s = r->if_contains("SecretString");
      if (s == nullptr || !s->is_string()) {
        return ctx.Fail(Error(Code::kInvalidParameter,
                              "secret " + name + " holds binary data (SecretBinary), not text"));
      }
      std::string arn;
      if (auto* v = r->if_contains("ARN"); v && v->is_string()) arn = std::string(v->get_string());
      Entries data = EntriesFromSecret(s->get_string(), K8sWholeKey(name), true, /*raw_keys=*/true);
      SecureWipe(s->get_string().data(), s->get_string().size());
      K8sSecretMeta meta;
      meta.name = a.k8s_name.empty() ? K8sName(name) : a.k8s_name;
      meta.namespace_ = a.k8s_namespace;
      meta.labels = labels;
      if (!arn.empty()) meta.annotations.emplace_back("arca.dev/secret-arn", arn);
      auto doc = FormatK8sSecret(data, meta);
      WipeEntries(data);
      if (!doc.ok()) return ctx.Usage("secret " + name + ": " + doc.error().message());
      if (!out.empty()) out += "---\n";
      out += *doc;
      SecureWipe(*doc);
      continue;
    }
    auto value = GetSecretString(ctx, name, a.version_stage);
    if (!value.ok()) return ctx.Fail(value.error());
    Entries entries = EntriesFromSecret(*value, name, a.keep_case);
    SecureWipe(*value);
    for (auto& [k, v] : entries) {
      bool found = false;
      for (std::size_t i = 0; i < merged.size(); ++i) {
        if (merged[i].first != k) continue;
        ctx.err() << "arca: warning: " << k << " from " << name << " overrides the one from "
                  << from[i] << "\n";
        SecureWipe(merged[i].second);
        merged[i].second = std::move(v);
        from[i] = name;
        found = true;
        break;
      }
      if (!found) {
        merged.emplace_back(k, std::move(v));
        from.push_back(name);
      }
    }
    WipeEntries(entries);
  }

  if (!k8s) {
    if (a.format == "json") {
      out = FormatJsonObject(merged);
    } else {
      auto text = a.format == "shell" ? FormatShell(merged) : FormatDotenv(merged);
      if (!text.ok()) {
        WipeEntries(merged);
        return ctx.Usage(text.error().message());
      }
      out = std::move(text).value();
    }
    WipeEntries(merged);
  }

  int rc = kExitOk;
  if (a.out_file.empty()) {
    ctx.out() << out << std::flush;
  } else if (auto st = WriteOwnerOnly(a.out_file, out); !st.ok()) {
    ctx.err() << "arca: " << st.error().message() << "\n";
    rc = kExitError;
  }
  SecureWipe(out);
  return rc;
}

Result<std::string> ReadInput(const std::string& path) {
  std::string data;
  if (path == "-") {
    data.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    return data;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error(Code::kInvalidParameter, "cannot read " + path + ": " + std::strerror(errno));
  data.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return Error(Code::kInvalidParameter, "cannot read " + path);
  return data;
}

// Whether the text holds a Kubernetes Secret: a line `kind: Secret` (or `- kind: Secret` in a
// list), quoted or not.
bool LooksLikeK8sSecret(std::string_view text) {
  for (std::string_view line : SplitOn(text, '\n')) {
    std::string_view l = TrimSpace(line);
    if (l.starts_with("- ")) l = TrimSpace(l.substr(2));
    if (!l.starts_with("kind:")) continue;
    std::string_view v = TrimSpace(l.substr(5));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    if (v == "Secret") return true;
  }
  return false;
}

bool IsValidUtf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xe  ? 3
                    : (c >> 3) == 0x1e ? 4
                                       : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

struct ImportItem {
  std::string name;
  std::string value;  // the SecretString: a JSON object
};

int RunImport(Context& ctx, const ImportArgs& a) {
  auto data = ReadInput(a.file);
  if (!data.ok()) return ctx.Usage(data.error().message());
  std::string format = a.format;
  if (format.empty()) format = LooksLikeK8sSecret(*data) ? "k8s-secret" : "dotenv";
  const std::string source = a.file == "-" ? "stdin" : a.file;

  std::vector<ImportItem> items;
  if (format == "dotenv") {
    if (a.name.empty())
      return ctx.Usage("importing a dotenv file needs --name, the secret to write");
    if (!a.prefix.empty())
      return ctx.Usage("--prefix applies to Kubernetes Secret manifests; use --name");
    auto entries = ParseDotenv(*data);
    SecureWipe(*data);
    if (!entries.ok()) return ctx.Usage(source + ": " + entries.error().message());
    bj::object o;
    for (auto& [k, v] : *entries) {
      o[k] = v;
      SecureWipe(v);
    }
    items.push_back({a.name, bj::serialize(o)});
  } else {
    auto secrets = ParseK8sSecrets(*data);
    SecureWipe(*data);
    if (!secrets.ok()) return ctx.Usage(source + ": " + secrets.error().message());
    if (secrets->empty()) return ctx.Usage(source + ": no Kubernetes Secret found");
    if (!a.name.empty() && secrets->size() != 1) {
      return ctx.Usage(source + " holds " + std::to_string(secrets->size()) +
                       " Secrets; --name names a single one (use --prefix to name several)");
    }
    for (auto& s : *secrets) {
      ImportItem item;
      if (!a.name.empty()) {
        item.name = a.name;
      } else {
        if (s.name.empty())
          return ctx.Usage(source + ": a Secret without metadata.name (give --name)");
        item.name = a.prefix + (s.namespace_.empty() ? "" : s.namespace_ + "/") + s.name;
      }
      bj::object o;
      for (auto& [k, v] : s.data) {
        if (!IsValidUtf8(v)) {
          return ctx.Usage(source + ": Secret " + s.name + ": the value of " + k +
                           " is binary (not UTF-8 text), which a JSON SecretString cannot hold");
        }
        o[k] = v;
        SecureWipe(v);
      }
      item.value = bj::serialize(o);
      items.push_back(std::move(item));
    }
  }

  bj::object extras;
  if (!a.description.empty()) extras["Description"] = a.description;
  std::unique_ptr<Progress> progress;
  if (items.size() > 1) progress = std::make_unique<Progress>(ctx.err(), items.size());
  bj::array results;
  int rc = kExitOk;
  for (auto& item : items) {
    auto outcome = PutSecretString(ctx, item.name, item.value, extras, /*skip_if_unchanged=*/true);
    SecureWipe(item.value);
    if (!outcome.ok()) {
      progress.reset();
      rc = ctx.Fail(outcome.error());
      break;
    }
    const char* what = outcome->created ? "created" : outcome->unchanged ? "unchanged" : "updated";
    if (progress) progress->Step(item.name + ": " + what);
    if (ctx.json_output()) {
      bj::object r;
      r["Name"] = item.name;
      r["ARN"] = outcome->arn;
      r["VersionId"] = outcome->version_id;
      r["Result"] = what;
      results.push_back(std::move(r));
    } else {
      ctx.out() << item.name << ": " << what << "\n";
    }
  }
  for (auto& item : items) SecureWipe(item.value);
  if (ctx.json_output() && rc == kExitOk) PrintJson(ctx.out(), results);
  return rc;
}

}  // namespace

void AddExportImportCommands(CLI::App* app, Context* ctx) {
  {
    auto a = std::make_shared<ExportArgs>();
    CLI::App* cmd = app->add_subcommand(
        "export",
        "Print secrets as a dotenv file, JSON, shell exports or Kubernetes Secrets. JSON keys become "
        "variables (upper-cased, other characters '_'); with several secrets, later ones win");
    cmd->footer(kExportFooter);
    ctx->AddGlobalOptions(cmd);
    cmd->add_option("names", a->names, "the secrets to export")->required()->type_name("NAME");
    cmd->add_option("--format", a->format, "dotenv, json, shell or k8s-secret")
        ->required()
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"dotenv", "json", "shell", "k8s-secret"}));
    cmd->add_flag("--keep-case", a->keep_case, "keep the JSON keys' case in variable names");
    cmd->add_option("--name", a->k8s_name,
                    "k8s-secret: the Secret's name (default: from the secret's name)")
        ->type_name("NAME");
    cmd->add_option("--namespace", a->k8s_namespace, "k8s-secret: the Secret's namespace")
        ->type_name("NS");
    cmd->add_option("--label", a->labels, "k8s-secret: add a label (repeatable)")
        ->type_name("KEY=VALUE")
        ->allow_extra_args(false);
    cmd->add_option("--version-stage", a->version_stage,
                    "the version to export (default AWSCURRENT)")
        ->type_name("STAGE");
    cmd->add_option("-o,--out", a->out_file,
                    "write to FILE (created with mode 0600) instead of stdout")
        ->type_name("FILE");
    ctx->On(cmd, [ctx, a] { return RunExport(*ctx, *a); });
  }
  {
    auto a = std::make_shared<ImportArgs>();
    CLI::App* cmd =
        app->add_subcommand("import",
                            "Write a dotenv file (as one secret, a JSON object of its variables) "
                            "or Kubernetes Secret manifests "
                            "(one secret each) into secrets; unchanged values add no version");
    cmd->footer(kImportFooter);
    ctx->AddGlobalOptions(cmd);
    cmd->add_option("-f,--file", a->file, "the file to import ('-': stdin)")
        ->required()
        ->type_name("FILE");
    cmd->add_option("--format", a->format,
                    "dotenv or k8s-secret (default: k8s-secret when the file holds a "
                    "`kind: Secret`, else dotenv)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({"dotenv", "k8s-secret"}));
    cmd->add_option("--name", a->name,
                    "the secret to write (required for dotenv; for a single Secret)")
        ->type_name("NAME");
    cmd->add_option("--prefix", a->prefix, "k8s-secret: secrets are named PREFIX[NAMESPACE/]NAME")
        ->type_name("PREFIX");
    cmd->add_option("--description", a->description, "the description of secrets created")
        ->type_name("TEXT");
    ctx->On(cmd, [ctx, a] { return RunImport(*ctx, *a); });
  }
}

}  // namespace arca::cli
