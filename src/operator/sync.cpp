#include "operator/sync.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <set>
#include <thread>

#include "cli/common.h"
#include "cli/formats.h"
#include "client/aws_client.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "operator/aws_source.h"
#include "operator/stores.h"

namespace arca::op {

namespace bj = boost::json;

namespace {

// ---- files ---------------------------------------------------------------------------------------

constexpr std::string_view kTmpMarker = ".arca-tmp-";

Error IoError(const std::string& what, const std::string& path, int err) {
  return Error(Code::kInternal, what + " " + path + ": " + std::strerror(err));
}

std::string Join(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Creates `path` (0700) when missing; an error when it exists and is not a directory (a symlink
// is refused: the target directory must be ours).
Result<bool> EnsureDir(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return Error(Code::kInvalidParameter, path + " exists and is not a directory");
    }
    return false;
  }
  if (errno != ENOENT) return IoError("cannot inspect", path, errno);
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return IoError("cannot create", path, errno);
  return true;
}

// EnsureDir for `path` and its missing parents (mkdir -p, each created 0700).
Status EnsureDirs(const std::string& path) {
  for (std::size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
    const std::string parent = path.substr(0, pos);
    struct stat st {};
    if (stat(parent.c_str(), &st) == 0) continue;  // an existing parent may be a symlink
    ARCA_RETURN_IF_ERROR(EnsureDir(parent));
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return OkStatus();  // --out-dir may be a symlink
  ARCA_RETURN_IF_ERROR(EnsureDir(path));
  return OkStatus();
}

Status FsyncDir(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open", dir, errno);
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return IoError("cannot fsync", dir, err);
  return OkStatus();
}

// The content of a regular file, nullopt when there is none (a symlink or other kind counts as none
// and is replaced).
Result<std::optional<SecretBytes>> ReadIfExists(const std::string& path, mode_t* mode = nullptr) {
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ELOOP) return std::optional<SecretBytes>();
    return IoError("cannot read", path, errno);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return std::optional<SecretBytes>();
  }
  if (mode != nullptr) *mode = st.st_mode & 07777;
  SecretBytes out;
  char buf[8192];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      SecureWipe(buf, sizeof buf);
      return IoError("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  SecureWipe(buf, sizeof buf);
  close(fd);
  return std::optional<SecretBytes>(std::move(out));
}

// Writes `content` to dir/name atomically: a 0600 temporary file in `dir`, fsync, rename.
Status WriteAtomic(const std::string& dir, const std::string& name, std::string_view content) {
  std::string tmpl = Join(dir, "." + name.substr(0, 100) + std::string(kTmpMarker) + "XXXXXX");
  std::vector<char> path(tmpl.begin(), tmpl.end());
  path.push_back('\0');
  const int fd = mkstemp(path.data());
  if (fd < 0) return IoError("cannot create a temporary file in", dir, errno);
  const std::string tmp(path.data());
  auto fail = [&](const std::string& what) {
    const int err = errno;
    close(fd);
    unlink(tmp.c_str());
    return IoError(what, tmp, err);
  };
  if (fchmod(fd, 0600) != 0) return fail("cannot chmod");
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write");
    }
    off += static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) return fail("cannot fsync");
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return IoError("cannot close", tmp, err);
  }
  const std::string final_path = Join(dir, name);
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return IoError("cannot rename to", final_path, err);
  }
  return OkStatus();
}

// Writes dir/name when its content differs (or its mode is not 0600). True when written.
Result<bool> WriteIfChanged(const std::string& dir, const std::string& name, std::string_view content) {
  mode_t mode = 0;
  ARCA_ASSIGN_OR_RETURN(std::optional<SecretBytes> existing, ReadIfExists(Join(dir, name), &mode));
  if (existing && crypto::ConstantTimeEquals(existing->view(), content)) {
    if (mode != 0600 && chmod(Join(dir, name).c_str(), 0600) != 0) {
      return IoError("cannot chmod", Join(dir, name), errno);
    }
    return false;
  }
  ARCA_RETURN_IF_ERROR(WriteAtomic(dir, name, content));
  return true;
}

Result<std::vector<std::string>> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return IoError("cannot list", dir, errno);
  }
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    out.push_back(name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

bool IsTmp(const std::string& name) { return name.starts_with(".") && name.find(kTmpMarker) != std::string::npos; }

bool RemoveIfExists(const std::string& path) { return unlink(path.c_str()) == 0; }

std::string Describe(const ExternalSecret& es) { return es.namespace_.empty() ? es.name : es.namespace_ + "/" + es.name; }

bool IsEnvName(const std::string& k) {
  if (k.empty() || (k[0] >= '0' && k[0] <= '9')) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string MetaJson(const ExternalSecret& es, const DesiredSecret& d, const std::vector<std::string>& keys) {
  bj::object o;
  o["externalSecret"] = Describe(es);
  o["target"] = es.target.name;
  o["type"] = d.type.empty() ? "Opaque" : d.type;
  bj::object labels;
  for (const auto& [k, v] : d.labels) labels[k] = v;
  bj::object annotations;
  for (const auto& [k, v] : d.annotations) annotations[k] = v;
  o["labels"] = std::move(labels);
  o["annotations"] = std::move(annotations);
  bj::array ks;
  for (const auto& k : keys) ks.push_back(bj::value(k));
  o["keys"] = std::move(ks);
  return bj::serialize(o) + "\n";
}

}  // namespace

Result<WriteOutcome> WriteTarget(const std::string& out_dir, const ExternalSecret& es, const DesiredSecret& desired) {
  WriteOutcome w;
  const CreationPolicy creation = es.target.creation;
  if (creation == CreationPolicy::kNone) {
    w.kind = WriteOutcome::Kind::kSkipped;
    w.why = "creationPolicy None: nothing is written";
    return w;
  }
  ARCA_RETURN_IF_ERROR(EnsureDirs(out_dir));
  const std::string& target = es.target.name;
  const std::string dir = Join(out_dir, target);
  const std::string env_name = target + ".env";
  const std::string meta_name = target + ".meta.json";
  struct stat st {};
  const bool exists = lstat(dir.c_str(), &st) == 0;
  if (exists && !S_ISDIR(st.st_mode)) return Error(Code::kInvalidParameter, dir + " exists and is not a directory");

  if (desired.all_sources_gone && es.target.deletion == DeletionPolicy::kDelete) {
    w.kind = WriteOutcome::Kind::kDeleted;
    if (exists) {
      ARCA_ASSIGN_OR_RETURN(auto files, ListFiles(dir));
      for (const auto& f : files) {
        if (RemoveIfExists(Join(dir, f)) && !IsTmp(f)) w.removed_keys.push_back(f);
      }
      if (rmdir(dir.c_str()) != 0) return IoError("cannot remove", dir, errno);
    }
    RemoveIfExists(Join(out_dir, env_name));
    RemoveIfExists(Join(out_dir, meta_name));
    ARCA_RETURN_IF_ERROR(FsyncDir(out_dir));
    return w;
  }
  if (creation == CreationPolicy::kMerge && !exists) {
    return Error(Code::kNotFound, "creationPolicy Merge: " + dir +
                                      " does not exist (Merge only adds keys to an existing Secret; use "
                                      "CreateOrMerge or Owner to create it)");
  }
  if (exists && es.target.immutable) {
    struct stat meta {};
    if (lstat(Join(out_dir, meta_name).c_str(), &meta) == 0) {
      w.kind = WriteOutcome::Kind::kSkipped;
      w.why = "immutable: written before, kept as it is";
      return w;
    }
  }
  if (!exists) {
    ARCA_RETURN_IF_ERROR(EnsureDir(dir));
  } else if ((st.st_mode & 07777) != 0700 && chmod(dir.c_str(), 0700) != 0) {
    return IoError("cannot chmod", dir, errno);
  }

  const bool merge = creation == CreationPolicy::kMerge || creation == CreationPolicy::kCreateOrMerge;
  ARCA_ASSIGN_OR_RETURN(auto files, ListFiles(dir));
  std::map<std::string, std::string> final_values;  // every key the target holds, for the .env
  bool changed = false;
  for (const auto& f : files) {
    if (desired.data.contains(f)) continue;
    if (IsTmp(f)) {
      RemoveIfExists(Join(dir, f));  // left by an interrupted sync
      continue;
    }
    if (merge) {
      ARCA_ASSIGN_OR_RETURN(auto v, ReadIfExists(Join(dir, f)));
      if (v) final_values[f] = std::string(v->view());
      continue;
    }
    if (!RemoveIfExists(Join(dir, f))) {
      // A directory or something else we cannot unlink: leave it, but say so.
      return Error(Code::kInvalidParameter, Join(dir, f) + " is not a file this sync can replace");
    }
    w.removed_keys.push_back(f);
    changed = true;
  }
  for (const auto& [k, v] : desired.data) {
    ARCA_ASSIGN_OR_RETURN(bool written, WriteIfChanged(dir, k, v.view()));
    if (written) {
      w.changed_keys.push_back(k);
      changed = true;
    }
    final_values[k] = std::string(v.view());
  }
  if (changed) ARCA_RETURN_IF_ERROR(FsyncDir(dir));

  cli::Entries entries;
  for (const auto& [k, v] : final_values) {
    if (!IsEnvName(k) || v.find('\0') != std::string::npos) {
      w.env_left_out.push_back(k);
      continue;
    }
    entries.emplace_back(k, v);
  }
  auto dotenv = cli::FormatDotenv(entries);
  for (auto& [k, v] : entries) SecureWipe(v);
  std::vector<std::string> keys;
  for (auto& [k, v] : final_values) {
    keys.push_back(k);
    SecureWipe(v);
  }
  if (!dotenv.ok()) return Error(Code::kInternal, "cannot format " + env_name + ": " + dotenv.error().message());
  ARCA_ASSIGN_OR_RETURN(bool env_written, WriteIfChanged(out_dir, env_name, *dotenv));
  SecureWipe(*dotenv);
  ARCA_ASSIGN_OR_RETURN(bool meta_written, WriteIfChanged(out_dir, meta_name, MetaJson(es, desired, keys)));
  if (env_written || meta_written || !exists) {
    changed = true;
    ARCA_RETURN_IF_ERROR(FsyncDir(out_dir));
  }
  w.keys = keys.size();
  w.kind = changed ? WriteOutcome::Kind::kWritten : WriteOutcome::Kind::kUnchanged;
  return w;
}

namespace {

// ---- stores --------------------------------------------------------------------------------------

bool NamespaceMatches(const std::string& want, const std::string& have) {
  return want.empty() || have.empty() || want == have;
}

// A store's references resolved against the manifest file: v1 Secrets and ConfigMaps in FILE, the
// `arca` commands' endpoint and credential chain.
// Thread-safety: used by RunSync's thread only.
class FileStoreContext : public StoreContext {
 public:
  FileStoreContext(const SyncOptions& options, const Manifests& manifests, std::ostream& err,
                   std::set<std::string>& said)
      : options_(options), manifests_(manifests), err_(err), said_(said) {}

  Result<SecretBytes> SecretKey(const std::string& ns, const std::string& name, const std::string& key,
                                const std::string& field) override {
    const KubeObject* obj = FindObject("Secret", name, ns);
    if (obj == nullptr) {
      return Error(Code::kMissingAuthentication,
                   field + " names Secret " + name + ", which is not in " + options_.file +
                       " (add it as a v1 Secret document)");
    }
    auto it = obj->data.find(key);
    if (it == obj->data.end()) {
      return Error(Code::kMissingAuthentication, field + ": Secret " + name + " has no key " + key);
    }
    return it->second.Clone();
  }

  Result<std::string> CaBundle(const CaProvider& p, const std::string& ns, const std::string& store) override {
    const KubeObject* obj = FindObject(p.type, p.name, ns);
    if (obj == nullptr || !obj->data.contains(p.key)) {
      return Error(Code::kInvalidParameter, store + ": caProvider names " + p.type + " " + p.name + " key " + p.key +
                                                ", which is not in " + options_.file);
    }
    return std::string(obj->data.at(p.key).view());
  }

  // Never asked: Stores::Resolve replaces auth.jwt by the credential chain before building a source.
  Result<ServiceAccountToken> Token(const std::string&, const std::string&, const std::vector<std::string>&) override {
    return Error(Code::kInvalidParameter, "auth.jwt needs a Kubernetes service account");
  }

  client::ClientOptions BaseOptions(std::string_view service_env) const override {
    client::ClientOptions o;
    o.endpoint = client::ResolveEndpoint(options_.endpoint, service_env, options_.env);
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    o.region = client::ResolveRegion(options_.region, options_.profile, options_.env);
    o.ca_bundle = client::ResolveCaBundle(options_.ca_bundle, options_.profile, options_.env);
#ifdef ARCA_VERSION
    o.user_agent = "arca-sync/" ARCA_VERSION;
#else
    o.user_agent = "arca-sync";
#endif
    return o;
  }

  Result<client::Credentials> DefaultCredentials(const client::ClientOptions& sts) override {
    client::ChainOptions chain;
    chain.profile = options_.profile;
    return client::ResolveCredentials(chain, options_.env, client::WebIdentityVia(sts));
  }

  void Note(const std::string& note) override {
    if (said_.insert(note).second) err_ << "arca sync: " << note << "\n";
  }

 private:
  const KubeObject* FindObject(const std::string& kind, const std::string& name, const std::string& ns) const {
    for (const auto& obj : manifests_.objects) {
      if (obj.kind == kind && obj.name == name && NamespaceMatches(ns, obj.namespace_)) return &obj;
    }
    return nullptr;
  }

  const SyncOptions& options_;
  const Manifests& manifests_;
  std::ostream& err_;
  std::set<std::string>& said_;
};

// Builds and caches the SecretSource of each store an ExternalSecret names.
// Thread-safety: used by RunSync's thread only.
class Stores {
 public:
  Stores(const SyncOptions& options, const Manifests& manifests, std::ostream& err, std::set<std::string>& said)
      : options_(options), manifests_(manifests), ctx_(options, manifests, err, said) {}

  Result<SecretSource*> Resolve(const ExternalSecret& es, const std::optional<StoreRef>& entry) {
    const std::optional<StoreRef>& ref = entry ? entry : es.store;
    const SecretStore* store = nullptr;
    if (ref) {
      for (const auto& s : manifests_.stores) {
        if (s.kind == ref->kind && s.name == ref->name &&
            (s.kind == "ClusterSecretStore" || NamespaceMatches(es.namespace_, s.namespace_))) {
          store = &s;
          break;
        }
      }
    }
    const std::string cache_key = store == nullptr ? "" : store->kind + "/" + store->namespace_ + "/" + store->name;
    if (auto it = sources_.find(cache_key); it != sources_.end()) return it->second.get();
    std::unique_ptr<SecretSource> src;
    if (store == nullptr) {
      ARCA_ASSIGN_OR_RETURN(src, Default());
      if (ref) {
        ctx_.Note(ref->kind + " " + ref->name + " is not in " + options_.file + ": reading from " + src->Describe() +
                  " with the AWS credential chain");
      }
    } else {
      SecretStore effective = *store;
      if (effective.auth.service_account && !(effective.auth.access_key_id && effective.auth.secret_access_key)) {
        // No cluster to ask for a token: the credential chain stands in for the service account.
        ctx_.Note(store->kind + " " + store->name +
                  ": auth.jwt needs a Kubernetes service account; arca sync uses the AWS credential chain instead "
                  "(AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE work)");
        effective.auth.service_account.reset();
      }
      ARCA_ASSIGN_OR_RETURN(src, SourceForStore(effective, es.namespace_, ctx_, "arca-sync"));
    }
    SecretSource* raw = src.get();
    sources_[cache_key] = std::move(src);
    return raw;
  }

 private:
  Result<std::unique_ptr<SecretSource>> Default() {
    client::ClientOptions o = ctx_.BaseOptions("SECRETS_MANAGER");
    ARCA_ASSIGN_OR_RETURN(client::Credentials creds, ctx_.DefaultCredentials(ctx_.BaseOptions("STS")));
    const std::string desc = "Secrets Manager at " + o.endpoint + " (" + o.region + ")";
    auto c = std::make_shared<const client::AwsClient>(std::move(o), std::move(creds));
    return NewSecretsManagerSource(ClientCall(c, "secretsmanager", "secretsmanager"), "", desc);
  }

  const SyncOptions& options_;
  const Manifests& manifests_;
  FileStoreContext ctx_;
  std::map<std::string, std::unique_ptr<SecretSource>> sources_;
};

// ---- the command ---------------------------------------------------------------------------------

int ExitFor(const Error& e) {
  // Our own mapping and spec errors have no server error name: they are the manifest's fault.
  if (e.wire_type().empty() && (e.code() == Code::kInvalidParameter || e.code() == Code::kValidation)) {
    return cli::kExitUsage;
  }
  return cli::ExitCodeFor(e);
}

std::string Now() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string JoinNames(const std::vector<std::string>& v) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i > 0 ? ", " : "") + v[i];
  return out;
}

// Reads and checks FILE. kInvalidParameter (already printed) when it cannot be used.
Result<Manifests> Load(const SyncOptions& o, std::ostream& err) {
  std::string text;
  if (o.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      err << "arca sync: cannot read " << o.file << ": " << std::strerror(errno) << "\n";
      return Error(Code::kInvalidParameter, "unreadable");
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto m = ParseManifests(text);
  SecureWipe(text);  // Secret documents may hold access keys
  if (!m.ok()) {
    err << "arca sync: " << o.file << ": " << OneLine(m.error().message()) << "\n";
    return m.error();
  }
  for (const auto& w : m->warnings) err << "arca sync: warning: " << o.file << ": " << w << "\n";
  for (const auto& e : m->errors) err << "arca sync: " << o.file << ": " << e << "\n";
  if (!m->errors.empty()) return Error(Code::kInvalidParameter, "invalid");
  if (m->external_secrets.empty()) {
    err << "arca sync: " << o.file << " has no ExternalSecret (apiVersion external-secrets.io/v1 or v1beta1)\n";
    return Error(Code::kInvalidParameter, "empty");
  }
  std::map<std::string, std::string> targets;
  for (const auto& es : m->external_secrets) {
    auto [it, fresh] = targets.emplace(es.target.name, Describe(es));
    if (!fresh) {
      err << "arca sync: " << o.file << ": ExternalSecrets " << it->second << " and " << Describe(es)
          << " both write the target " << es.target.name << "\n";
      return Error(Code::kInvalidParameter, "duplicate target");
    }
  }
  return m;
}

// Syncs one ExternalSecret and prints its line. Returns 0 or its exit status.
int SyncOne(const SyncOptions& o, const ExternalSecret& es, Stores& stores, std::ostream& out, std::ostream& err) {
  const std::string prefix = std::string(o.watch ? Now() + " " : "") + "arca sync: " + Describe(es) + ": ";
  const std::string dir = Join(o.out_dir, es.target.name);
  if (es.refresh_policy == RefreshPolicy::kCreatedOnce) {
    struct stat st {};
    if (lstat(dir.c_str(), &st) == 0) {
      out << prefix << dir << " kept (refreshPolicy CreatedOnce)\n" << std::flush;
      return cli::kExitOk;
    }
  }
  auto desired = ComputeSecret(es, [&](const std::optional<StoreRef>& ref) { return stores.Resolve(es, ref); });
  if (!desired.ok()) {
    err << prefix << "error: " << OneLine(desired.error().message()) << "\n" << std::flush;
    return ExitFor(desired.error());
  }
  for (const auto& s : desired->skipped) {
    err << prefix << "skipped " << s << " (deletionPolicy " << Name(es.target.deletion) << ")\n";
  }
  auto w = WriteTarget(o.out_dir, es, *desired);
  if (!w.ok()) {
    err << prefix << "error: " << OneLine(w.error().message()) << "\n" << std::flush;
    return w.error().code() == Code::kInternal ? 1 : ExitFor(w.error());
  }
  if (!w->env_left_out.empty()) {
    err << prefix << "warning: left out of " << es.target.name
        << ".env (not variable names, or holding NUL bytes): " << JoinNames(w->env_left_out) << "\n";
  }
  switch (w->kind) {
    case WriteOutcome::Kind::kSkipped:
      out << prefix << "nothing written: " << w->why << "\n";
      break;
    case WriteOutcome::Kind::kDeleted:
      out << prefix << dir << " removed (every remote secret is gone; deletionPolicy Delete)\n";
      break;
    case WriteOutcome::Kind::kUnchanged:
      out << prefix << dir << " unchanged (" << w->keys << " keys)\n";
      break;
    case WriteOutcome::Kind::kWritten: {
      out << prefix << dir << " written (" << w->keys << " keys";
      if (!w->changed_keys.empty()) out << "; changed: " << JoinNames(w->changed_keys);
      if (!w->removed_keys.empty()) out << "; removed: " << JoinNames(w->removed_keys);
      out << ")\n";
      break;
    }
  }
  out << std::flush;
  return cli::kExitOk;
}

volatile sig_atomic_t g_hup = 0;
volatile sig_atomic_t g_stop = 0;
void OnHup(int) { g_hup = 1; }
void OnStop(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

struct Scheduled {
  ExternalSecret es;
  Clock::time_point due;
  bool again = false;  // periodic: synced again after refreshInterval
  std::chrono::seconds backoff{0};
};

std::vector<Scheduled> Schedule(const Manifests& m) {
  std::vector<Scheduled> out;
  for (const auto& es : m.external_secrets) {
    Scheduled s;
    s.again = es.refresh_policy == RefreshPolicy::kPeriodic && es.refresh_interval.count() > 0;
    s.es = es;
    s.due = Clock::now();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

int RunSync(const SyncOptions& o, std::ostream& out, std::ostream& err) {
  if (o.file.empty()) {
    err << "arca sync: give the manifest with -f FILE\n";
    return cli::kExitUsage;
  }
  if (o.out_dir.empty()) {
    err << "arca sync: give the output directory with --out-dir DIR\n";
    return cli::kExitUsage;
  }
  if (o.watch && o.file == "-") {
    err << "arca sync: --watch re-reads FILE on SIGHUP; it cannot be standard input\n";
    return cli::kExitUsage;
  }
  auto loaded = Load(o, err);
  if (!loaded.ok()) return cli::kExitUsage;
  Manifests current = std::move(loaded).value();
  std::set<std::string> said;

  if (!o.watch) {
    Stores stores(o, current, err, said);
    int status = cli::kExitOk;
    for (const auto& es : current.external_secrets) {
      const int rc = SyncOne(o, es, stores, out, err);
      if (status == cli::kExitOk) status = rc;
    }
    return status;
  }

  struct sigaction hup {};
  hup.sa_handler = OnHup;
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  struct sigaction stop {};
  stop.sa_handler = OnStop;
  sigemptyset(&stop.sa_mask);
  sigaction(SIGTERM, &stop, nullptr);
  sigaction(SIGINT, &stop, nullptr);

  std::vector<Scheduled> schedule = Schedule(current);
  constexpr std::chrono::seconds kFirstBackoff{5};
  constexpr std::chrono::seconds kMaxBackoff{300};
  bool announced_idle = false;
  while (g_stop == 0) {
    if (g_hup != 0) {
      g_hup = 0;
      err << Now() << " arca sync: SIGHUP: reading " << o.file << " again\n";
      auto again = Load(o, err);
      if (again.ok()) {
        current = std::move(again).value();
        schedule = Schedule(current);
      } else {
        err << Now() << " arca sync: keeping the ExternalSecrets read before\n";
        for (auto& s : schedule) s.due = Clock::now();
      }
      announced_idle = false;
    }
    const auto now = Clock::now();
    bool ran = false;
    {
      Stores stores(o, current, err, said);  // fresh clients (and credentials) every pass
      for (auto& s : schedule) {
        if (s.due > now || g_stop != 0) continue;
        ran = true;
        const int rc = SyncOne(o, s.es, stores, out, err);
        if (rc == cli::kExitOk) {
          s.backoff = std::chrono::seconds(0);
          s.due = s.again ? Clock::now() + s.es.refresh_interval : Clock::time_point::max();
        } else {
          s.backoff = s.backoff.count() == 0 ? kFirstBackoff : std::min(s.backoff * 2, kMaxBackoff);
          auto wait = std::chrono::duration_cast<Clock::duration>(s.backoff);
          if (s.again) wait = std::min(wait, std::chrono::duration_cast<Clock::duration>(s.es.refresh_interval));
          s.due = Clock::now() + wait;
        }
      }
    }
    if (ran) announced_idle = false;
    const bool any_due = std::any_of(schedule.begin(), schedule.end(),
                                     [](const Scheduled& s) { return s.due != Clock::time_point::max(); });
    if (!any_due && !announced_idle) {
      out << Now() << " arca sync: nothing refreshes periodically (refreshInterval 0 / CreatedOnce / OnChange); "
          << "waiting for SIGHUP\n"
          << std::flush;
      announced_idle = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  out << Now() << " arca sync: stopped\n" << std::flush;
  return cli::kExitOk;
}

}  // namespace arca::op
