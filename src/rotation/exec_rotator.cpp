#include "rotation/exec_rotator.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>  // NOLINT(modernize-deprecated-headers): sigset_t, kill
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "core/log.h"
#include "rotation/webhook_rotator.h"

extern char** environ;  // NOLINT(readability-redundant-declaration)

namespace arca::rotation {

namespace {

// Closes a descriptor once.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Close(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// The region of "arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME"; empty if none.
std::string RegionOf(std::string_view arn) {
  std::size_t pos = 0;
  for (int i = 0; i < 3; ++i) {
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  const std::size_t end = arn.find(':', pos);
  if (end == std::string_view::npos) return {};
  return std::string(arn.substr(pos, end - pos));
}

void SetNonBlocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Reads what is available; false at EOF or on an error.
bool Drain(int fd, std::string& into, std::size_t max) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      const std::size_t room = into.size() < max ? max - into.size() : 0;
      into.append(buf, std::min(room, static_cast<std::size_t>(n)));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

Error SysError(const std::string& what) {
  const int err = errno;
  return Error(Code::kInternal, what + ": " + std::strerror(err));  // NOLINT(concurrency-mt-unsafe)
}

}  // namespace

ExecRotator::ExecRotator(ExecOptions options) : options_(std::move(options)) {}

Result<ExecResult> ExecRotator::Run(const std::string& input, const std::string& region) const {
  if (options_.command.empty())
    return Error(Code::kInvalidParameter, "exec rotator " + options_.name + ": no command");

  // The environment: the server's, then ours, then the configured one (which wins).
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  if (!region.empty()) {
    env["AWS_REGION"] = region;
    env["AWS_DEFAULT_REGION"] = region;
  }
  if (!options_.endpoint_url.empty()) env["AWS_ENDPOINT_URL"] = options_.endpoint_url;
  for (const auto& [k, v] : options_.env) env[k] = v;
  std::vector<std::string> env_storage;
  env_storage.reserve(env.size());
  for (const auto& [k, v] : env) env_storage.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argv_storage = options_.command;
  std::vector<char*> argv;
  for (auto& s : argv_storage) argv.push_back(s.data());
  argv.push_back(nullptr);

  int in_pair[2];
  int out_pipe[2];
  int err_pipe[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_pair) != 0)
    return SysError("socketpair");
  Fd in_parent(in_pair[0]);
  Fd in_child(in_pair[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return SysError("pipe");
  Fd out_parent(out_pipe[0]);
  Fd out_child(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return SysError("pipe");
  Fd err_parent(err_pipe[0]);
  Fd err_child(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_child.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_child.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_child.get(), 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(
      &attr,
      static_cast<short>(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP));
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (auto& s : env_storage) SecureWipe(s.data(), s.size());
  if (rc != 0) {
    return Error(Code::kUnavailable, "exec rotator " + options_.name + ": cannot run " +
                                         options_.command[0] + ": " + std::strerror(rc));  // NOLINT
  }
  in_child.Close();
  out_child.Close();
  err_child.Close();
  SetNonBlocking(in_parent.get());
  SetNonBlocking(out_parent.get());
  SetNonBlocking(err_parent.get());

  ExecResult result;
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  std::size_t written = 0;
  int status = 0;
  bool exited = false;
  for (;;) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) break;
    pollfd fds[3];
    nfds_t n = 0;
    if (out_parent.open()) fds[n++] = {out_parent.get(), POLLIN, 0};
    if (err_parent.open()) fds[n++] = {err_parent.get(), POLLIN, 0};
    if (in_parent.open()) fds[n++] = {in_parent.get(), POLLOUT, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    const int wait_ms = static_cast<int>(std::min<std::int64_t>(left, 50));
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms > 10 ? 10 : wait_ms));
      continue;
    }
    if (::poll(fds, n, wait_ms) < 0 && errno != EINTR) break;
    if (out_parent.open() && !Drain(out_parent.get(), result.out, options_.max_log_bytes)) {
      out_parent.Close();
    }
    if (err_parent.open() && !Drain(err_parent.get(), result.err, options_.max_log_bytes)) {
      err_parent.Close();
    }
    if (in_parent.open()) {
      while (written < input.size()) {
        const ssize_t w = ::send(in_parent.get(), input.data() + written, input.size() - written,
                                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
          written += static_cast<std::size_t>(w);
        } else if (w < 0 && errno == EINTR) {
          continue;
        } else {
          break;
        }
      }
      if (written >= input.size() || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        ::shutdown(in_parent.get(), SHUT_WR);
        in_parent.Close();
      }
    }
  }
  if (!exited) {
    result.timed_out = true;
    ::kill(-pid, SIGKILL);
    ::kill(pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (out_parent.open()) Drain(out_parent.get(), result.out, options_.max_log_bytes);
  if (err_parent.open()) Drain(err_parent.get(), result.err, options_.max_log_bytes);
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

Status ExecRotator::RunStep(SecretsApi& /*api*/, const StepRequest& request) {
  const std::string what = "exec rotator " + options_.name + ", step " + request.step;
  ARCA_ASSIGN_OR_RETURN(ExecResult r,
                        Run(LambdaEventJson(request) + "\n", RegionOf(request.secret_id)));
  log::Debug("exec rotator output", {{"rotator", options_.name},
                                     {"arn", request.secret_id},
                                     {"step", request.step},
                                     {"exit_code", r.exit_code},
                                     {"stdout", r.out},
                                     {"stderr", r.err}});
  if (r.timed_out) {
    return Error(Code::kUnavailable, what + ": the program did not finish within " +
                                         std::to_string(options_.timeout.count() / 1000) +
                                         " s and was killed");
  }
  if (r.signal != 0) {
    return Error(Code::kUnavailable,
                 what + ": the program was killed by signal " + std::to_string(r.signal));
  }
  if (r.exit_code != 0) {
    return Error(Code::kUnavailable, what + ": the program exited with status " +
                                         std::to_string(r.exit_code) +
                                         " (its output is in the server log at debug level)");
  }
  return OkStatus();
}

}  // namespace arca::rotation
