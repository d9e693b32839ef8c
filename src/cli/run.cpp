// `arca run`: a program started with its secrets in its environment (never on its command line),
// and with --watch restarted when one of them changes.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/formats.h"
#include "core/json.h"
#include "core/secret_bytes.h"

extern char** environ;

namespace arca::cli {

namespace bj = boost::json;

namespace {

struct RunArgs {
  std::vector<std::string> secrets;
  std::string prefix;
  std::string map_file;
  bool keep_case = false;
  bool watch = false;
  double interval = 10;
  double grace = 10;
  std::vector<std::string> command;
};

// The last '/'-separated part of a secret name: the variable name of a non-JSON secret.
std::string LastSegment(const std::string& name) {
  const auto slash = name.find_last_of('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

// Secret names under a prefix (every page, true prefixes only), with their AWSCURRENT version.
Result<std::map<std::string, std::string>> ListUnder(Context& ctx, const std::string& prefix) {
  std::map<std::string, std::string> out;
  std::string token;
  do {
    bj::object req;
    req["MaxResults"] = 100;
    if (!token.empty()) req["NextToken"] = token;
    bj::object f;
    f["Key"] = "name";
    f["Values"] = bj::array{bj::value(prefix)};
    req["Filters"] = bj::array{f};
    ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("ListSecrets", req));
    if (auto* list = r.if_contains("SecretList"); list && list->is_array()) {
      for (const auto& s : list->get_array()) {
        if (!s.is_object()) continue;
        const std::string name = json::StringMember(s.get_object(), "Name");
        if (!name.starts_with(prefix)) continue;
        std::string current;
        if (auto* v = s.get_object().if_contains("SecretVersionsToStages"); v && v->is_object()) {
          for (const auto& [id, stages] : v->get_object()) {
            if (!stages.is_array()) continue;
            for (const auto& st : stages.get_array()) {
              if (st.is_string() && st.get_string() == "AWSCURRENT") current = std::string(id);
            }
          }
        }
        out[name] = current;
      }
    }
    token = json::StringMember(r, "NextToken");
  } while (!token.empty());
  return out;
}

Result<std::string> CurrentVersion(Context& ctx, const std::string& name) {
  bj::object req;
  req["SecretId"] = name;
  ARCA_ASSIGN_OR_RETURN(bj::object r, ctx.Sm("DescribeSecret", req));
  if (auto* v = r.if_contains("VersionIdsToStages"); v && v->is_object()) {
    for (const auto& [id, stages] : v->get_object()) {
      if (!stages.is_array()) continue;
      for (const auto& st : stages.get_array()) {
        if (st.is_string() && st.get_string() == "AWSCURRENT") return std::string(id);
      }
    }
  }
  return std::string();
}

// What the program's environment is made of, resolved to names.
struct Plan {
  std::vector<std::string> names;  // --secret and --prefix secrets, whole, in order
  std::vector<MapEntry> mapped;    // --map entries
};

Result<Plan> Resolve(Context& ctx, const RunArgs& a, std::map<std::string, std::string>* versions) {
  Plan plan;
  plan.names = a.secrets;
  if (!a.prefix.empty()) {
    ARCA_ASSIGN_OR_RETURN(auto under, ListUnder(ctx, a.prefix));
    for (const auto& [name, version] : under) {
      plan.names.push_back(name);
      (*versions)[name] = version;
    }
  }
  if (!a.map_file.empty()) {
    std::ifstream in(a.map_file);
    if (!in) return Error(Code::kInvalidParameter, "cannot read " + a.map_file);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto mapped = ParseMapFile(text);
    if (!mapped.ok())
      return Error(Code::kInvalidParameter, a.map_file + ": " + mapped.error().message());
    plan.mapped = std::move(mapped).value();
  }
  return plan;
}

// The variables the program gets, in order; later ones win (a warning names the variable).
Result<Entries> Fetch(Context& ctx, const RunArgs& a, const Plan& plan) {
  std::map<std::pair<std::string, std::string>, std::string> cache;  // (name, stage) -> value
  auto value_of = [&](const std::string& name,
                      const std::string& stage) -> Result<const std::string*> {
    auto key = std::make_pair(name, stage);
    auto it = cache.find(key);
    if (it == cache.end()) {
      ARCA_ASSIGN_OR_RETURN(std::string v,
                            GetSecretString(ctx, name, stage == "AWSCURRENT" ? "" : stage));
      it = cache.emplace(key, std::move(v)).first;
    }
    return &it->second;
  };
  Entries env;
  auto add = [&](Entries more) {
    for (auto& e : more) env.push_back(std::move(e));
  };
  for (const auto& name : plan.names) {
    ARCA_ASSIGN_OR_RETURN(const std::string* v, value_of(name, "AWSCURRENT"));
    add(EntriesFromSecret(*v, LastSegment(name), a.keep_case));
  }
  for (const auto& m : plan.mapped) {
    const std::string stage = m.version_stage.empty() ? "AWSCURRENT" : m.version_stage;
    ARCA_ASSIGN_OR_RETURN(const std::string* v, value_of(m.secret, stage));
    if (m.env_name.empty()) {
      add(EntriesFromSecret(*v, LastSegment(m.secret), a.keep_case));
    } else if (m.property.empty()) {
      env.emplace_back(m.env_name, *v);
    } else {
      auto p = ExtractProperty(*v, m.property);
      if (!p.ok()) {
        return Error(p.error().code(), "secret " + m.secret + " has no property " + m.property +
                                           " (for " + m.env_name + ")");
      }
      env.emplace_back(m.env_name, std::move(p).value());
    }
  }
  for (auto& [k, v] : cache) SecureWipe(v);
  // Later entries win; warn once per overridden name.
  std::map<std::string, std::size_t> last;
  for (std::size_t i = 0; i < env.size(); ++i) {
    if (last.contains(env[i].first))
      ctx.err() << "arca: warning: " << env[i].first
                << " is set by more than one secret; the last wins\n";
    last[env[i].first] = i;
  }
  Entries out;
  for (std::size_t i = 0; i < env.size(); ++i) {
    if (last[env[i].first] == i) {
      out.push_back(std::move(env[i]));
    } else {
      SecureWipe(env[i].second);
    }
  }
  return out;
}

// The names and AWSCURRENT versions the program depends on: a change in any restarts it.
Result<std::map<std::string, std::string>> Fingerprint(Context& ctx, const RunArgs& a,
                                                       const Plan& plan) {
  std::map<std::string, std::string> out;
  if (!a.prefix.empty()) {
    ARCA_ASSIGN_OR_RETURN(out, ListUnder(ctx, a.prefix));
  }
  std::set<std::string> names(a.secrets.begin(), a.secrets.end());
  for (const auto& m : plan.mapped) names.insert(m.secret);
  for (const auto& n : names) {
    ARCA_ASSIGN_OR_RETURN(out[n], CurrentVersion(ctx, n));
  }
  return out;
}

// environ with the entries set (replacing variables of the same name). The strings are wiped by
// the caller through `storage`.
std::vector<char*> BuildEnvp(const Entries& entries, std::vector<std::string>* storage) {
  std::set<std::string> names;
  for (const auto& [k, v] : entries) names.insert(k);
  storage->clear();
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && names.contains(std::string(kv.substr(0, eq)))) continue;
    storage->emplace_back(kv);
  }
  for (const auto& [k, v] : entries) storage->push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : *storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  return envp;
}

std::vector<char*> Argv(std::vector<std::string>& command) {
  std::vector<char*> argv;
  for (auto& s : command) argv.push_back(s.data());
  argv.push_back(nullptr);
  return argv;
}

[[noreturn]] void ExecOrDie(std::vector<std::string>& command, std::vector<char*>& envp) {
  auto argv = Argv(command);
  execvpe(argv[0], argv.data(), envp.data());
  const int err = errno;
  std::fprintf(stderr, "arca: cannot run %s: %s\n", argv[0], std::strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

std::vector<std::string>& ProgramArgs() {
  static std::vector<std::string> args;
  return args;
}

volatile sig_atomic_t g_signal = 0;
// A signal another process sent to arca is passed on to the program. One the terminal sent
// (Ctrl-C, hangup: si_code SI_KERNEL) already reached the program too, since it shares arca's
// foreground process group; passing it on would deliver it twice.
void OnSignal(int sig, siginfo_t* info, void* /*context*/) {
  if (info == nullptr || info->si_code != SI_KERNEL) g_signal = sig;
}

int ExitStatusOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

pid_t Start(std::vector<std::string>& command, const Entries& env) {
  std::vector<std::string> storage;
  auto envp = BuildEnvp(env, &storage);
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    ExecOrDie(command, envp);
  }
  for (auto& s : storage) SecureWipe(s);
  return pid;
}

// Sends SIGTERM, waits up to `grace`, then SIGKILL. Returns the child's wait status.
int Stop(pid_t pid, double grace) {
  kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(grace);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return status;
}

int RunCommand(Context& ctx, RunArgs& a) {
  a.command.insert(a.command.end(), ProgramArgs().begin(), ProgramArgs().end());
  if (a.command.empty())
    return ctx.Usage("give the program to run after --, e.g. arca run --secret NAME -- ./app");
  if (a.secrets.empty() && a.prefix.empty() && a.map_file.empty()) {
    return ctx.Usage("name the secrets with --secret, --prefix or --map");
  }
  if (a.interval <= 0 || a.grace < 0)
    return ctx.Usage("--interval must be positive and --grace not negative");
  std::map<std::string, std::string> unused;
  auto plan = Resolve(ctx, a, &unused);
  if (!plan.ok()) {
    if (plan.error().code() == Code::kInvalidParameter) return ctx.Usage(plan.error().message());
    return ctx.Fail(plan.error());
  }
  std::map<std::string, std::string> seen;
  if (a.watch) {
    auto fp = Fingerprint(ctx, a, *plan);
    if (!fp.ok()) return ctx.Fail(fp.error());
    seen = std::move(fp).value();
  }
  auto env = Fetch(ctx, a, *plan);
  if (!env.ok()) return ctx.Fail(env.error());

  if (!a.watch) {
    std::vector<std::string> storage;
    auto envp = BuildEnvp(*env, &storage);
    for (auto& [k, v] : *env) SecureWipe(v);
    ExecOrDie(a.command, envp);
  }

  struct sigaction sa {};
  sa.sa_sigaction = OnSignal;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);

  pid_t child = Start(a.command, *env);
  for (auto& [k, v] : *env) SecureWipe(v);
  if (child < 0) {
    ctx.err() << "arca: fork failed: " << std::strerror(errno) << "\n";
    return kExitError;
  }
  auto next_poll = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.interval);
  for (;;) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) return ExitStatusOf(status);
    if (g_signal != 0) {
      const int sig = g_signal;
      kill(child, sig);
      g_signal = 0;
    }
    if (std::chrono::steady_clock::now() >= next_poll) {
      next_poll = std::chrono::steady_clock::now() + std::chrono::duration<double>(a.interval);
      auto fp = Fingerprint(ctx, a, *plan);
      if (!fp.ok()) {
        ctx.err() << "arca: warning: cannot check for changes: " << fp.error().message() << "\n";
        continue;
      }
      if (*fp == seen) continue;
      auto fresh_plan = Resolve(ctx, a, &unused);
      if (!fresh_plan.ok()) {
        ctx.err() << "arca: warning: cannot reload: " << fresh_plan.error().message() << "\n";
        continue;
      }
      auto fresh = Fetch(ctx, a, *fresh_plan);
      if (!fresh.ok()) {
        ctx.err() << "arca: warning: cannot reload: " << fresh.error().message() << "\n";
        continue;
      }
      ctx.err() << "arca: a secret changed; restarting " << a.command.front() << "\n";
      Stop(child, a.grace);
      seen = std::move(fp).value();
      plan = std::move(fresh_plan);
      child = Start(a.command, *fresh);
      for (auto& [k, v] : *fresh) SecureWipe(v);
      if (child < 0) {
        ctx.err() << "arca: fork failed: " << std::strerror(errno) << "\n";
        return kExitError;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

void SetProgramArgs(std::vector<std::string> args) { ProgramArgs() = std::move(args); }

void AddRunCommand(CLI::App* app, Context* ctx) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* c = app->add_subcommand("run",
                                    "Run a program with secrets in its environment: each JSON key "
                                    "becomes a variable (upper-cased; a "
                                    "non-JSON secret is one variable named after the last part of "
                                    "its name). Values never appear on a "
                                    "command line");
  ctx->AddGlobalOptions(c);
  c->footer(
      "Examples:\n"
      "  arca run --secret shop/dev/db --secret shop/dev/jwt -- ./server --port 8080\n"
      "  arca run --prefix shop/dev/ -- npm start\n"
      "  arca run --map env-map.yaml --watch -- ./worker\n"
      "A --map file is an ExternalSecret-like list:\n"
      "  data:\n"
      "    - secretKey: DATABASE_URL\n"
      "      remoteRef: {key: shop/dev/db, property: url}\n"
      "  dataFrom:\n"
      "    - extract: {key: shop/dev/jwt}");
  c->add_option("--secret", a->secrets, "a secret whose keys become variables (repeatable)")
      ->type_name("NAME");
  c->add_option("--prefix", a->prefix, "every secret whose name starts with this")->type_name("P");
  c->add_option("--map", a->map_file, "a file naming each variable's secret and property")
      ->type_name("FILE");
  c->add_flag("--keep-case", a->keep_case, "keep JSON keys' case in variable names");
  c->add_flag("--watch", a->watch,
              "restart the program (SIGTERM, grace, start) when one of its secrets changes");
  c->add_option("--interval", a->interval, "with --watch: seconds between checks (default 10)")
      ->type_name("S");
  c->add_option("--grace", a->grace,
                "with --watch: seconds between SIGTERM and SIGKILL (default 10)")
      ->type_name("S");
  c->add_option("command", a->command, "the program and its arguments, after --")
      ->type_name("-- CMD ARGS");
  ctx->On(c, [ctx, a] { return RunCommand(*ctx, *a); });
}

}  // namespace arca::cli
