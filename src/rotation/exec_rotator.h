#pragma once
// ExecRotator (`type: exec` in the server config): each step runs a program (fork/exec through
// posix_spawn, no shell) with the event a rotation Lambda gets on its stdin,
// {"SecretId": ARN, "ClientRequestToken": token, "Step": step}, followed by a newline and EOF.
// Exit status 0 is success; any other status, a signal, or running past the timeout (the program's
// process group is then killed with SIGKILL) fails the step. The program's stdout and stderr go to
// the server log at debug level, truncated; failure messages never include them (they could hold a
// value).
//
// The environment is the server's (ARCA_MASTER_KEY is scrubbed at start), plus AWS_REGION and
// AWS_DEFAULT_REGION (the secret's region), plus AWS_ENDPOINT_URL (the server's own URL), plus the
// configured `env`, which wins. The program's other file descriptors are closed and its signal mask
// and dispositions reset, so it does not inherit the server's listening socket or blocked signals.
//
// Thread-safety: immutable after construction; RunStep may run on any thread.

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "rotation/rotator.h"

namespace arca::rotation {

struct ExecOptions {
  std::string name;                  // the rotator's name, for messages
  std::vector<std::string> command;  // argv; command[0] is looked up in PATH if it has no '/'
  std::vector<std::pair<std::string, std::string>> env;  // extra environment
  std::string endpoint_url;                              // AWS_ENDPOINT_URL; none when empty
  std::chrono::milliseconds timeout{60000};
  std::size_t max_log_bytes = 4096;  // of stdout and of stderr, logged at debug
};

// What one run of the program did (exposed for tests).
struct ExecResult {
  bool timed_out = false;
  int exit_code = -1;  // when it exited
  int signal = 0;      // when a signal ended it
  std::string out;     // stdout, truncated to max_log_bytes
  std::string err;     // stderr, likewise
};

class ExecRotator final : public Rotator {
 public:
  explicit ExecRotator(ExecOptions options);
  Status RunStep(SecretsApi& api, const StepRequest& request) override;

  // Runs the program once with `input` on stdin. An error only when it cannot be started.
  Result<ExecResult> Run(const std::string& input, const std::string& region) const;

 private:
  const ExecOptions options_;
};

}  // namespace arca::rotation
