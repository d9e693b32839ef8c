#pragma once
// What every client command shares: the global options, the lazily built AWS client, exit statuses,
// error lines and tables.
//
// Thread-safety: none; one command runs per process.

#include <boost/json/object.hpp>

#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/aws_client.h"
#include "core/result.h"

namespace CLI {
class App;
}

namespace arca::cli {

// Exit statuses (docs/cli.md lists them). `arca run` exits with its program's status instead.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;     // the server refused the request (validation, state, ...)
inline constexpr int kExitUsage = 2;     // bad flags, arguments, manifest or input file
inline constexpr int kExitNotFound = 3;  // the secret (or version, field) does not exist
inline constexpr int kExitAccess = 4;  // no credentials, bad signature, unknown key, access denied
inline constexpr int kExitConflict =
    5;  // already exists, scheduled for deletion, rotation in progress
inline constexpr int kExitUnavailable = 6;  // the server could not be reached or failed (5xx)

int ExitCodeFor(const Error& e);

struct GlobalOptions {
  std::string endpoint;
  std::string region;
  std::string profile;
  std::string ca_bundle;
  std::string output = "table";  // table | json
};

class Context {
 public:
  Context(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

  GlobalOptions options;
  client::EnvLookup env = client::ProcessEnv();

  // Adds --endpoint, --region, --profile, --ca-bundle and --output to `cmd` (each command group
  // calls it once; its subcommands fall through to it).
  void AddGlobalOptions(CLI::App* cmd);

  // Registers what runs when `cmd` is the command chosen.
  void On(CLI::App* cmd, std::function<int()> run);
  // Runs the chosen command; nullopt when none of the registered commands was parsed.
  std::optional<int> RunChosen();

  // The client, built on first use from the options and the credential chain.
  Result<const client::AwsClient*> Client();

  // A Secrets Manager call: "GetSecretValue" with its request object.
  Result<boost::json::object> Sm(std::string_view operation, const boost::json::object& request);

  // Prints "arca: <AwsErrorName>: <message>" (one line) and returns ExitCodeFor(e).
  int Fail(const Error& e);
  // Prints "arca: <message>" and returns kExitUsage.
  int Usage(std::string_view message);

  bool json_output() const { return options.output == "json"; }
  std::ostream& out() { return out_; }
  std::ostream& err() { return err_; }

 private:
  std::ostream& out_;
  std::ostream& err_;
  std::unique_ptr<client::AwsClient> client_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> commands_;
};

// A plain text table: a header row, then rows; columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

// Seconds since the epoch (what the JSON protocol returns for dates) as "2026-11-25T10:00:00Z".
std::string FormatTimestamp(double epoch_seconds);

// Writes `v` pretty-printed (two-space indent) and a newline.
void PrintJson(std::ostream& out, const boost::json::value& v);

// Progress on long operations: "[3/10] shop/prod/db: created" on stderr, rewritten in place when
// stderr is a terminal, one line each otherwise.
class Progress {
 public:
  Progress(std::ostream& err, std::size_t total);
  ~Progress();
  void Step(std::string_view what);

 private:
  std::ostream& err_;
  std::size_t total_;
  std::size_t done_ = 0;
  bool tty_;
};

}  // namespace arca::cli

namespace arca::cli {

// Writes `value` as the secret's SecretString: CreateSecret when the secret does not exist (with
// `create_extras` merged into the request: Description, Tags, KmsKeyId, ...), else PutSecretValue
// (AWSCURRENT moves to the new version). When skip_if_unchanged and the current value is already
// byte-for-byte equal, nothing is written. A secret scheduled for deletion is an error
// (kInvalidRequest, the server's), never silently restored.
struct PutOutcome {
  std::string arn;
  std::string version_id;  // the new version, or the current one when unchanged
  bool created = false;
  bool unchanged = false;
};
Result<PutOutcome> PutSecretString(Context& ctx, const std::string& name, std::string_view value,
                                   const boost::json::object& create_extras,
                                   bool skip_if_unchanged);

// The AWSCURRENT (or the given stage / version id) SecretString; kNotFound when the secret or
// version does not exist, kInvalidParameter when it holds SecretBinary only.
Result<std::string> GetSecretString(Context& ctx, const std::string& name,
                                    const std::string& version_stage = "",
                                    const std::string& version_id = "");

}  // namespace arca::cli
