#pragma once
// `arca sync -f FILE --out-dir DIR [--watch]`: the operator's mapping without Kubernetes. Each
// ExternalSecret in FILE becomes files under DIR, for VMs and docker compose:
//
//   DIR/                      created 0700 when missing
//     <target>/               0700; one file per Secret key, 0600, the value's bytes as they are
//       DATABASE_URL
//       tls.crt
//     <target>.env            0600; dotenv of the keys that are valid variable names
//                             ([A-Za-z_][A-Za-z0-9_]*), quoted for docker compose's env_file and
//                             python-dotenv (the quoting of `arca export`); other keys are left
//                             out with a warning naming them
//     <target>.meta.json      0600; what is not a value: the ExternalSecret, the Secret's type,
//                             labels, annotations and key names
//
// <target> is spec.target.name (default: the ExternalSecret's name). Every file is written
// atomically (a temporary file in the same directory, fsync, rename, fsync of the directory) and
// only when its content changed, so a sync that changes nothing touches nothing.
//
// creationPolicy: Owner and Orphan make DIR/<target>/ hold exactly the Secret's keys (other files
// in it are removed); Merge adds the keys to an existing DIR/<target>/ (an error when it does not
// exist) and CreateOrMerge creates it or adds to it, keeping other files; None writes nothing.
// deletionPolicy Delete removes the target's files when every remote secret is gone.
// target.immutable keeps a target once written. refreshPolicy CreatedOnce writes a target only
// when it does not exist yet.
//
// Stores: a SecretStore / ClusterSecretStore in FILE named by secretStoreRef (or a data entry's
// sourceRef.storeRef) is used: `aws` (SecretsManager or ParameterStore, its region, `role` assumed
// with STS AssumeRole, `prefix`, auth.secretRef access keys read from a v1 Secret in FILE) or `arca`
// (its server URL, caBundle or caProvider from a Secret/ConfigMap in FILE). Otherwise, or for a store
// without auth.secretRef, the `arca` commands' credential chain (client/credentials.h: environment,
// web identity, shared files and profiles, ./arca-data/credentials) and endpoint
// (--endpoint, ARCA_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER / _SSM, AWS_ENDPOINT_URL) are used.
// auth.jwt needs a Kubernetes service account: arca sync warns and uses the chain.
//
// --watch: every ExternalSecret again after its refreshInterval (default 1h; 0 and refreshPolicy
// OnChange/CreatedOnce: only at start), failures retried with backoff (5s doubling to 5 minutes),
// and on SIGHUP FILE is re-read and everything synced at once. SIGTERM / SIGINT stop it (status 0).
// One line per ExternalSecret synced, never a value.
//
// Exit statuses (without --watch; cli/common.h's): 0 ok, 2 usage or an invalid manifest / spec /
// template, 3 a remote secret, version or property not found, 4 no or rejected credentials,
// 6 the server unreachable; 1 anything else the server refused.
//
// Thread-safety: RunSync runs on the calling thread and installs signal handlers with --watch.

#include <iosfwd>
#include <string>
#include <vector>

#include "client/credentials.h"
#include "core/result.h"
#include "operator/external_secret.h"
#include "operator/mapping.h"

namespace arca::op {

struct SyncOptions {
  std::string file;
  std::string out_dir;
  bool watch = false;
  std::string endpoint;
  std::string region;
  std::string profile;
  std::string ca_bundle;
  client::EnvLookup env = client::ProcessEnv();
};

// Runs `arca sync`; returns the exit status.
int RunSync(const SyncOptions& options, std::ostream& out, std::ostream& err);

// What WriteTarget did.
struct WriteOutcome {
  enum class Kind { kWritten, kUnchanged, kSkipped, kDeleted };
  Kind kind = Kind::kUnchanged;
  std::string why;                        // kSkipped: why nothing was written
  std::vector<std::string> changed_keys;  // written because new or different
  std::vector<std::string> removed_keys;
  std::vector<std::string> env_left_out;  // keys not in the .env (not variable names, NUL bytes)
  std::size_t keys = 0;                   // keys the target holds now
};

// Writes `desired` for `es` under `out_dir` (the layout above). kNotFound for creationPolicy Merge
// without an existing target; kInternal naming the path on an I/O failure.
Result<WriteOutcome> WriteTarget(const std::string& out_dir, const ExternalSecret& es, const DesiredSecret& desired);

}  // namespace arca::op
