#include "operator/controller.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "operator/changes.h"
#include "operator/go_regexp.h"
#include "operator/kube/informer.h"
#include "operator/mapping.h"
#include "operator/metrics.h"
#include "operator/stores.h"
#include "operator/workqueue.h"

namespace arca::op {

namespace bj = boost::json;
using kube::EventType;

namespace {

constexpr std::string_view kEsApi = "external-secrets.io/v1";
constexpr std::string_view kManagedLabel = "reconcile.external-secrets.io/managed";
constexpr std::string_view kDataHashAnnotation = "reconcile.external-secrets.io/data-hash";
constexpr std::string_view kOwnerAnnotation = "arca.dev/external-secret";
constexpr std::string_view kReloadHashAnnotation = "arca.dev/secrets-hash";
constexpr std::string_view kEndpointAnnotation = "arca.dev/endpoint";

// ---- JSON access -----------------------------------------------------------------------------------

std::string Meta(const bj::object& o, std::string_view k) {
  const bj::object* m = json::ObjectMember(o, "metadata");
  return m == nullptr ? "" : json::StringMember(*m, k);
}

std::map<std::string, std::string> StringMap(const bj::object* o) {
  std::map<std::string, std::string> out;
  if (o == nullptr) return out;
  for (const auto& kv : *o) {
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().get_string());
  }
  return out;
}

std::map<std::string, std::string> MetaMap(const bj::object& o, std::string_view k) {
  const bj::object* m = json::ObjectMember(o, "metadata");
  return m == nullptr ? std::map<std::string, std::string>{} : StringMap(json::ObjectMember(*m, k));
}

bj::object ToJson(const std::map<std::string, std::string>& m) {
  bj::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

std::string NowRfc3339() { return FormatIso8601(std::chrono::system_clock::now()); }

// ESO's getResourceVersion: the generation and a hash of the labels and annotations, so that a spec
// change or any annotation change (force-sync) makes the ExternalSecret sync again.
std::string VersionKey(const bj::object& es) {
  std::int64_t generation = 0;
  if (const bj::object* m = json::ObjectMember(es, "metadata")) {
    if (const bj::value* g = m->if_contains("generation"); g != nullptr && g->is_int64()) generation = g->get_int64();
  }
  const std::string meta = bj::serialize(ToJson(MetaMap(es, "labels"))) + bj::serialize(ToJson(MetaMap(es, "annotations")));
  return std::to_string(generation) + "-" + crypto::Sha256Hex(meta).substr(0, 32);
}

// A hash of a Secret's data (base64 values as the API has them), the same for the data-hash
// annotation and for rolling restarts.
std::string DataHash(const bj::object* data) {
  std::map<std::string, std::string> m = StringMap(data);
  std::string buf;
  for (const auto& [k, v] : m) {
    buf += k;
    buf += '\0';
    buf += v;
    buf += '\0';
  }
  std::string h = crypto::Sha256Hex(buf);
  SecureWipe(buf);
  for (auto& [k, v] : m) SecureWipe(v);
  return h;
}

bool HasControllerOwner(const bj::object& obj, std::string_view uid, std::string* other) {
  const bj::object* m = json::ObjectMember(obj, "metadata");
  const bj::array* refs = m == nullptr ? nullptr : json::ArrayMember(*m, "ownerReferences");
  if (refs == nullptr) return false;
  for (const auto& r : *refs) {
    if (!r.is_object()) continue;
    const bj::object& ro = r.get_object();
    const bj::value* c = ro.if_contains("controller");
    if (c == nullptr || !c->is_bool() || !c->get_bool()) continue;
    if (json::StringMember(ro, "uid") == uid) return true;
    if (other != nullptr) *other = json::StringMember(ro, "kind") + " " + json::StringMember(ro, "name");
  }
  return false;
}

bj::object OwnerRef(std::string_view api_version, std::string_view kind, const bj::object& owner) {
  return bj::object{{"apiVersion", api_version},
                    {"kind", kind},
                    {"name", Meta(owner, "name")},
                    {"uid", Meta(owner, "uid")},
                    {"controller", true},
                    {"blockOwnerDeletion", true}};
}

// ---- label selectors (ClusterExternalSecret) --------------------------------------------------------

bool SelectorMatches(const bj::object& selector, const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : StringMap(json::ObjectMember(selector, "matchLabels"))) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  if (const bj::array* exprs = json::ArrayMember(selector, "matchExpressions")) {
    for (const auto& e : *exprs) {
      if (!e.is_object()) return false;
      const bj::object& eo = e.get_object();
      const std::string key = json::StringMember(eo, "key");
      const std::string op = json::StringMember(eo, "operator");
      std::set<std::string> values;
      if (const bj::array* vs = json::ArrayMember(eo, "values")) {
        for (const auto& v : *vs) {
          if (v.is_string()) values.insert(std::string(v.get_string()));
        }
      }
      auto it = labels.find(key);
      if (op == "In" && (it == labels.end() || !values.contains(it->second))) return false;
      if (op == "NotIn" && it != labels.end() && values.contains(it->second)) return false;
      if (op == "Exists" && it == labels.end()) return false;
      if (op == "DoesNotExist" && it != labels.end()) return false;
    }
  }
  return true;
}

// ESO's ClusterSecretStore spec.conditions: when there are any, a namespace may use the store only
// if one of them selects it (namespaces, namespaceRegexes or namespaceSelector).
bool StoreAllowsNamespace(const bj::object& store, const std::string& ns,
                          const std::map<std::string, std::string>& ns_labels) {
  const bj::object* spec = json::ObjectMember(store, "spec");
  const bj::array* conditions = spec == nullptr ? nullptr : json::ArrayMember(*spec, "conditions");
  if (conditions == nullptr || conditions->empty()) return true;
  for (const auto& c : *conditions) {
    if (!c.is_object()) continue;
    const bj::object& co = c.get_object();
    if (const bj::array* names = json::ArrayMember(co, "namespaces")) {
      for (const auto& n : *names) {
        if (n.is_string() && n.get_string() == ns) return true;
      }
    }
    if (const bj::array* regexes = json::ArrayMember(co, "namespaceRegexes")) {
      for (const auto& r : *regexes) {
        if (!r.is_string()) continue;
        auto re = GoRegexp::Compile(std::string_view(r.get_string()));
        if (re.ok() && re->MatchString(ns)) return true;
      }
    }
    if (const bj::object* sel = json::ObjectMember(co, "namespaceSelector")) {
      if (SelectorMatches(*sel, ns_labels)) return true;
    }
  }
  return false;
}

// ---- secret names a pod template uses (rolling restarts) ----------------------------------------

void SecretsInContainers(const bj::array* containers, std::set<std::string>& out) {
  if (containers == nullptr) return;
  for (const auto& c : *containers) {
    if (!c.is_object()) continue;
    if (const bj::array* from = json::ArrayMember(c.get_object(), "envFrom")) {
      for (const auto& f : *from) {
        if (!f.is_object()) continue;
        if (const bj::object* ref = json::ObjectMember(f.get_object(), "secretRef")) out.insert(json::StringMember(*ref, "name"));
      }
    }
    if (const bj::array* env = json::ArrayMember(c.get_object(), "env")) {
      for (const auto& e : *env) {
        if (!e.is_object()) continue;
        const bj::object* vf = json::ObjectMember(e.get_object(), "valueFrom");
        if (vf == nullptr) continue;
        if (const bj::object* ref = json::ObjectMember(*vf, "secretKeyRef")) out.insert(json::StringMember(*ref, "name"));
      }
    }
  }
}

std::set<std::string> SecretsUsed(const bj::object& pod_spec) {
  std::set<std::string> out;
  SecretsInContainers(json::ArrayMember(pod_spec, "containers"), out);
  SecretsInContainers(json::ArrayMember(pod_spec, "initContainers"), out);
  if (const bj::array* vols = json::ArrayMember(pod_spec, "volumes")) {
    for (const auto& v : *vols) {
      if (!v.is_object()) continue;
      if (const bj::object* s = json::ObjectMember(v.get_object(), "secret")) out.insert(json::StringMember(*s, "secretName"));
      if (const bj::object* p = json::ObjectMember(v.get_object(), "projected")) {
        if (const bj::array* sources = json::ArrayMember(*p, "sources")) {
          for (const auto& src : *sources) {
            if (!src.is_object()) continue;
            if (const bj::object* s = json::ObjectMember(src.get_object(), "secret")) out.insert(json::StringMember(*s, "name"));
          }
        }
      }
    }
  }
  out.erase("");
  return out;
}

// Overwrites the values of a Secret object's data (Boost.JSON does not wipe what it frees).
void WipeSecretData(bj::object& secret) {
  if (bj::value* d = secret.if_contains("data"); d != nullptr && d->is_object()) {
    for (auto& kv : d->get_object()) {
      if (kv.value().is_string()) SecureWipe(kv.value().get_string().data(), kv.value().get_string().size());
    }
  }
}

// ---- a store's references, read from the cluster ---------------------------------------------------

// Thread-safety: used by one reconcile at a time.
class ClusterStoreContext : public StoreContext {
 public:
  ClusterStoreContext(const kube::KubeClient& kc, const ControllerOptions& o, std::string endpoint_override)
      : kc_(kc), o_(o), endpoint_override_(std::move(endpoint_override)) {}

  Result<SecretBytes> SecretKey(const std::string& ns, const std::string& name, const std::string& key,
                                const std::string& field) override {
    auto secret = kc_.Get(kube::ResourcePath("", "v1", "secrets", ns, name));
    if (!secret.ok()) {
      if (secret.error().code() == Code::kNotFound) {
        return Error(Code::kMissingAuthentication, field + " names Secret " + ns + "/" + name + ", which does not exist");
      }
      return secret.error();
    }
    const bj::object* data = json::ObjectMember(*secret, "data");
    const std::string b64 = data == nullptr ? "" : json::StringMember(*data, key);
    WipeSecretData(*secret);
    if (b64.empty()) return Error(Code::kMissingAuthentication, field + ": Secret " + ns + "/" + name + " has no key " + key);
    auto decoded = crypto::Base64DecodeSecret(b64);
    if (!decoded) return Error(Code::kMissingAuthentication, field + ": Secret " + ns + "/" + name + " key " + key + " is not base64");
    return std::move(*decoded);
  }

  Result<std::string> CaBundle(const CaProvider& p, const std::string& ns, const std::string& store) override {
    const bool secret = p.type == "Secret";
    auto obj = kc_.Get(kube::ResourcePath("", "v1", secret ? "secrets" : "configmaps", ns, p.name));
    if (!obj.ok()) {
      return Error(Code::kInvalidParameter, store + ": caProvider " + p.type + " " + ns + "/" + p.name + ": " +
                                                obj.error().message());
    }
    const bj::object* data = json::ObjectMember(*obj, "data");
    std::string value = data == nullptr ? "" : json::StringMember(*data, p.key);
    if (value.empty()) {
      return Error(Code::kInvalidParameter, store + ": caProvider " + p.type + " " + ns + "/" + p.name + " has no key " + p.key);
    }
    if (secret) {
      auto decoded = crypto::Base64Decode(value);
      if (!decoded) return Error(Code::kInvalidParameter, store + ": caProvider key " + p.key + " is not base64");
      value = *decoded;
    }
    return value;
  }

  Result<ServiceAccountToken> Token(const std::string& ns, const std::string& name,
                                    const std::vector<std::string>& audiences) override {
    const std::string sa_path = kube::ResourcePath("", "v1", "serviceaccounts", ns, name);
    auto sa = kc_.Get(sa_path);
    if (!sa.ok()) {
      return Error(Code::kMissingAuthentication, "auth.jwt: service account " + ns + "/" + name + ": " + sa.error().message());
    }
    ServiceAccountToken out;
    out.role_arn = MetaMap(*sa, "annotations")["eks.amazonaws.com/role-arn"];
    bj::array auds;
    for (const auto& a : audiences) auds.push_back(bj::value(a));
    bj::object req{{"apiVersion", "authentication.k8s.io/v1"},
                   {"kind", "TokenRequest"},
                   {"spec", bj::object{{"audiences", std::move(auds)}, {"expirationSeconds", 600}}}};
    auto tr = kc_.Create(sa_path + "/token", req);
    if (!tr.ok()) {
      return Error(Code::kMissingAuthentication,
                   "auth.jwt: TokenRequest for service account " + ns + "/" + name + ": " + tr.error().message());
    }
    const bj::object* status = json::ObjectMember(*tr, "status");
    std::string token = status == nullptr ? "" : json::StringMember(*status, "token");
    if (token.empty()) return Error(Code::kMissingAuthentication, "auth.jwt: the TokenRequest answer has no token");
    out.token = SecretBytes::FromString(std::move(token));
    return out;
  }

  client::ClientOptions BaseOptions(std::string_view service_env) const override {
    client::ClientOptions c;
    c.endpoint = endpoint_override_.empty() ? client::ResolveEndpoint(o_.endpoint, service_env, o_.env) : endpoint_override_;
    while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
    c.region = client::ResolveRegion(o_.region, "", o_.env);
    c.ca_bundle = client::ResolveCaBundle(o_.ca_bundle, "", o_.env);
    c.user_agent = "arca-operator";
    c.max_attempts = 2;
    c.timeout = std::chrono::milliseconds(10000);
    return c;
  }

  Result<client::Credentials> DefaultCredentials(const client::ClientOptions& sts) override {
    return client::ResolveCredentials(client::ChainOptions{}, o_.env, client::WebIdentityVia(sts));
  }

 private:
  const kube::KubeClient& kc_;
  const ControllerOptions& o_;
  std::string endpoint_override_;
};

// What writing the target did.
struct ApplyOutcome {
  bool written = false;       // created or updated
  bool data_changed = false;  // the data differ from before (rolling restarts)
  bool deleted = false;
  std::string skipped;        // why nothing was written
};

}  // namespace

class Controller::Impl {
 public:
  Impl(const kube::KubeClient& kc, ControllerOptions options, OperatorMetrics& metrics)
      : kc_(kc), o_(std::move(options)), metrics_(metrics) {
    es_ = std::make_unique<kube::Informer>(kc_, "/apis/external-secrets.io/v1/externalsecrets", "",
                                           [this](EventType t, const bj::object& o) { OnExternalSecret(t, o); });
    ces_ = std::make_unique<kube::Informer>(kc_, "/apis/external-secrets.io/v1/clusterexternalsecrets", "",
                                            [this](EventType, const bj::object& o) { Enqueue("ces/" + Meta(o, "name")); });
    stores_ = std::make_unique<kube::Informer>(kc_, "/apis/external-secrets.io/v1/secretstores", "",
                                               [this](EventType, const bj::object& o) { OnStore("SecretStore", o); });
    cstores_ = std::make_unique<kube::Informer>(kc_, "/apis/external-secrets.io/v1/clustersecretstores", "",
                                                [this](EventType, const bj::object& o) { OnStore("ClusterSecretStore", o); });
    namespaces_ = std::make_unique<kube::Informer>(kc_, "/api/v1/namespaces", "", [this](EventType, const bj::object&) {
      for (const auto& c : ces_->List()) Enqueue("ces/" + Meta(c, "name"));
    });
    // Managed Secrets: to restore one that was deleted or edited. Values are not kept, only their hash.
    secrets_ = std::make_unique<kube::Informer>(
        kc_, "/api/v1/secrets", std::string(kManagedLabel) + "=true",
        [this](EventType t, const bj::object& o) { OnManagedSecret(t, o); },
        [](bj::object& o) {
          const std::string h = DataHash(json::ObjectMember(o, "data"));
          WipeSecretData(o);
          o.erase("data");
          o.erase("stringData");
          o["arcaDataHash"] = h;
        });
    for (kube::Informer* inf : Informers()) inf->watch_timeout = o_.watch_timeout;
    if (o_.push) {
      followers_ = std::make_unique<ChangeFollowers>(
          [this](const std::string& server, const std::string& region, const std::string& key) {
            Notify(server, region, key);
          },
          o_.push_wait);
    }
  }

  std::vector<kube::Informer*> Informers() const {
    return {es_.get(), ces_.get(), stores_.get(), cstores_.get(), namespaces_.get(), secrets_.get()};
  }

  void Run(const std::atomic<bool>& stop) {
    std::vector<std::thread> threads;
    for (kube::Informer* inf : Informers()) {
      threads.emplace_back([inf, &stop] { inf->Run(stop); });
    }
    std::thread worker([this] { Work(); });
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    queue_.Shutdown();
    worker.join();
    if (followers_) followers_->Stop();
    for (auto& t : threads) t.join();
  }

  void SetLeader(bool leader) {
    leader_ = leader;
    metrics_.SetLeader(leader);
    if (leader) {
      for (const auto& e : es_->List()) Enqueue("es/" + kube::KeyOf(e));
      for (const auto& c : ces_->List()) Enqueue("ces/" + Meta(c, "name"));
    }
  }

  bool Synced() const {
    for (kube::Informer* inf : Informers()) {
      if (!inf->Synced()) return false;
    }
    return true;
  }

  void Notify(const std::string& server, const std::string& region, const std::string& key) {
    const std::string base = server + "\x1f" + region + "\x1f";
    const std::string exact = base + key;
    const std::string any = base + "*";
    std::vector<std::string> hit;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [es, reads] : reads_) {
        bool match = reads.contains(exact) || reads.contains(any);
        if (key.empty()) {
          auto it = reads.lower_bound(base);
          match = it != reads.end() && it->starts_with(base);
        }
        if (match) hit.push_back(es);
      }
      for (const auto& es : hit) {
        dirty_.insert(es);
        pushed_at_.emplace(es, std::chrono::steady_clock::now());
      }
    }
    for (const auto& es : hit) queue_.Add("es/" + es);
  }

 private:
  void Enqueue(const std::string& key, std::chrono::steady_clock::duration delay = {}) { queue_.Add(key, delay); }

  void OnExternalSecret(EventType t, const bj::object& o) {
    const std::string key = kube::KeyOf(o);
    if (t == EventType::kDeleted) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.erase(key);
        reads_.erase(key);
        backoff_.erase(key);
        dirty_.erase(key);
      }
      metrics_.Forget(Meta(o, "namespace"), Meta(o, "name"));
      // Recreated by its ClusterExternalSecret, if one owns it.
      std::string owner;
      if (const bj::object* m = json::ObjectMember(o, "metadata")) {
        if (const bj::array* refs = json::ArrayMember(*m, "ownerReferences")) {
          for (const auto& r : *refs) {
            if (r.is_object() && json::StringMember(r.get_object(), "kind") == "ClusterExternalSecret") {
              Enqueue("ces/" + json::StringMember(r.get_object(), "name"));
            }
          }
        }
      }
      return;
    }
    const std::string version = VersionKey(o);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = seen_.find(key);
      if (it != seen_.end() && it->second == version) return;  // our own status write, or a no-op
      seen_[key] = version;
    }
    Enqueue("es/" + key);
  }

  void OnStore(const std::string& kind, const bj::object& store) {
    const std::string name = Meta(store, "name");
    const std::string ns = Meta(store, "namespace");
    for (const auto& e : es_->List()) {
      const bj::object* spec = json::ObjectMember(e, "spec");
      const bj::object* ref = spec == nullptr ? nullptr : json::ObjectMember(*spec, "secretStoreRef");
      if (ref == nullptr) continue;
      const std::string rkind = json::StringMember(*ref, "kind").empty() ? "SecretStore" : json::StringMember(*ref, "kind");
      if (rkind == kind && json::StringMember(*ref, "name") == name && (kind == "ClusterSecretStore" || Meta(e, "namespace") == ns)) {
        {
          std::lock_guard<std::mutex> lock(mu_);
          dirty_.insert(kube::KeyOf(e));
        }
        Enqueue("es/" + kube::KeyOf(e));
      }
    }
  }

  void OnManagedSecret(EventType t, const bj::object& o) {
    std::string es_name = MetaMap(o, "annotations")[std::string(kOwnerAnnotation)];
    if (es_name.empty()) return;
    const std::string es_key = Meta(o, "namespace") + "/" + es_name;
    const bool drifted =
        t == EventType::kDeleted || MetaMap(o, "annotations")[std::string(kDataHashAnnotation)] != json::StringMember(o, "arcaDataHash");
    if (!drifted) return;
    Enqueue("es/" + es_key, std::chrono::milliseconds(200));
  }

  void Work() {
    while (auto key = queue_.Next()) {
      if (!leader_.load() || !Synced()) {
        queue_.Done(*key);
        if (leader_.load()) queue_.Add(*key, std::chrono::milliseconds(200));
        continue;
      }
      if (key->starts_with("es/")) {
        ReconcileExternalSecret(key->substr(3));
      } else if (key->starts_with("ces/")) {
        ReconcileClusterExternalSecret(key->substr(4));
      }
      queue_.Done(*key);
    }
  }

  // ---- ExternalSecret ------------------------------------------------------------------------------

  void ReconcileExternalSecret(const std::string& key) {
    auto obj = es_->Get(key);
    if (!obj) return;
    if (!Meta(*obj, "deletionTimestamp").empty()) return;
    const auto started = std::chrono::steady_clock::now();
    const std::string ns = Meta(*obj, "namespace");
    const std::string name = Meta(*obj, "name");
    const std::string version = VersionKey(*obj);
    const bj::object* status = json::ObjectMember(*obj, "status");
    const std::string synced_version = status == nullptr ? "" : json::StringMember(*status, "syncedResourceVersion");
    TimePoint refreshed{};
    const bool have_refresh = status != nullptr && ParseIso8601(json::StringMember(*status, "refreshTime"), &refreshed);

    std::vector<std::string> warnings;
    auto parsed = ParseExternalSecret(bj::serialize(*obj), &warnings);
    if (!parsed.ok()) {
      Fail(*obj, "invalid ExternalSecret: " + OneLine(parsed.error().message()), started, false);
      return;
    }
    ExternalSecret es = std::move(parsed).value();
    if (es.namespace_.empty()) es.namespace_ = ns;
    bool force = false;
    std::optional<std::chrono::steady_clock::time_point> pushed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      force = dirty_.erase(key) > 0;
      if (auto it = pushed_at_.find(key); it != pushed_at_.end()) {
        pushed = it->second;
        pushed_at_.erase(it);
      }
    }
    // The target as it is: missing or edited by hand means it must be written again.
    const std::string target_path = kube::ResourcePath("", "v1", "secrets", ns, es.target.name);
    auto target = kc_.Get(target_path);
    if (!target.ok() && target.error().code() != Code::kNotFound) {
      Fail(*obj, "cannot read Secret " + ns + "/" + es.target.name + ": " + target.error().message(), started, true);
      return;
    }
    const bool exists = target.ok();
    const bool valid = exists && MetaMap(*target, "annotations")[std::string(kDataHashAnnotation)] ==
                                     DataHash(json::ObjectMember(*target, "data"));
    if (target.ok()) WipeSecretData(*target);
    const bool manages_target = es.target.creation != CreationPolicy::kNone;

    const auto interval = es.refresh_interval;
    const auto now = std::chrono::system_clock::now();
    bool need = force || synced_version != version || (manages_target && !valid);
    if (es.refresh_policy == RefreshPolicy::kCreatedOnce && !synced_version.empty() && (exists || !manages_target)) {
      need = false;
    } else if (!need && es.refresh_policy == RefreshPolicy::kPeriodic && interval.count() > 0) {
      if (!have_refresh || refreshed + std::chrono::duration_cast<std::chrono::system_clock::duration>(interval) <= now) {
        need = true;
      } else {
        Enqueue("es/" + key, refreshed + std::chrono::duration_cast<std::chrono::system_clock::duration>(interval) - now);
      }
    }
    if (!need) return;

    // Compute the Secret through the stores.
    std::map<std::string, std::unique_ptr<SecretSource>> sources;
    std::set<std::string> reads;
    std::string store_error;
    auto resolver = [&](const std::optional<StoreRef>& entry) -> Result<SecretSource*> {
      const std::optional<StoreRef>& ref = entry ? entry : es.store;
      if (!ref) return Error(Code::kInvalidParameter, "spec.secretStoreRef is required");
      const std::string store_key = ref->kind == "ClusterSecretStore" ? ref->name : ns + "/" + ref->name;
      if (auto it = sources.find(ref->kind + "/" + store_key); it != sources.end()) return it->second.get();
      auto store_obj = (ref->kind == "ClusterSecretStore" ? cstores_ : stores_)->Get(store_key);
      if (!store_obj) {
        return Error(Code::kNotFound, ref->kind + " " + ref->name + " does not exist" +
                                          (ref->kind == "ClusterSecretStore" ? "" : " in namespace " + ns));
      }
      if (ref->kind == "ClusterSecretStore") {
        auto ns_obj = namespaces_->Get(ns);
        if (!StoreAllowsNamespace(*store_obj, ns, ns_obj ? MetaMap(*ns_obj, "labels") : std::map<std::string, std::string>{})) {
          return Error(Code::kAccessDenied, "using ClusterSecretStore " + ref->name + " is not allowed from namespace " +
                                                ns + ": denied by spec.conditions");
        }
      }
      ARCA_ASSIGN_OR_RETURN(SecretStore store, ParseSecretStore(bj::serialize(*store_obj)));
      if (store.kind == "SecretStore" && store.namespace_.empty()) store.namespace_ = ns;
      ClusterStoreContext ctx(kc_, o_, MetaMap(*store_obj, "annotations")[std::string(kEndpointAnnotation)]);
      ARCA_ASSIGN_OR_RETURN(StoreClient client, ClientForStore(store, ns, ctx, "arca-operator"));
      std::unique_ptr<SecretSource> src = SourceForClient(client, store.prefix);
      if (store.provider == "arca" && followers_) {
        const std::string& server = client.client->options().endpoint;
        const std::string& region = client.client->options().region;
        RecordReads(es, *ref, store.prefix, server + "\x1f" + region + "\x1f", reads);
        followers_->Ensure(ref->kind + "/" + store_key, server, region, client.client);
      }
      SecretSource* raw = src.get();
      sources[ref->kind + "/" + store_key] = std::move(src);
      return raw;
    };
    auto desired = ComputeSecret(es, resolver);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reads.empty()) {
        reads_.erase(key);
      } else {
        reads_[key] = reads;
      }
    }
    if (!desired.ok()) {
      Fail(*obj, OneLine(desired.error().message()), started, true);
      return;
    }
    auto applied = Apply(*obj, es, *desired, target.ok() ? &*target : nullptr);
    if (!applied.ok()) {
      Fail(*obj, OneLine(applied.error().message()), started, true);
      return;
    }
    if (applied->data_changed) Reload(ns, es.target.name);
    if (applied->written) Event(*obj, "Normal", "Updated", "Updated Secret");
    if (applied->deleted) Event(*obj, "Normal", "Deleted", "secret deleted because the provider's secrets are gone (deletionPolicy Delete)");
    SetStatus(*obj, true, "SecretSynced", "Secret was synced", es.target.name, version);
    if (pushed) {
      metrics_.PushLatency(std::chrono::duration<double>(std::chrono::steady_clock::now() - *pushed).count());
    }
    metrics_.Synced(ns, name, true, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    metrics_.Condition(ns, name, true);
    {
      std::lock_guard<std::mutex> lock(mu_);
      backoff_.erase(key);
    }
    if (es.refresh_policy == RefreshPolicy::kPeriodic && interval.count() > 0) Enqueue("es/" + key, interval);
    log::Info("ExternalSecret synced", {{"externalsecret", key},
                                        {"secret", es.target.name},
                                        {"written", applied->written},
                                        {"skipped", applied->skipped}});
  }

  // The keys an ExternalSecret reads through an arca store, for Notify: "server|region|key", or
  // "server|region|*" for dataFrom.find.
  static void RecordReads(const ExternalSecret& es, const StoreRef& ref, const std::string& prefix,
                          const std::string& base, std::set<std::string>& reads) {
    auto uses = [&](const std::optional<StoreRef>& entry) {
      const StoreRef& r = entry ? *entry : es.store.value_or(StoreRef{});
      return r.kind == ref.kind && r.name == ref.name;
    };
    for (const auto& d : es.data) {
      if (uses(d.store)) reads.insert(base + prefix + d.remote_ref.key);
    }
    for (const auto& d : es.data_from) {
      if (!uses(d.store)) continue;
      if (d.extract) reads.insert(base + prefix + d.extract->key);
      if (d.find) reads.insert(base + "*");
    }
  }

  Result<ApplyOutcome> Apply(const bj::object& es_obj, const ExternalSecret& es, const DesiredSecret& d,
                             const bj::object* existing_meta) {
    ApplyOutcome out;
    const std::string ns = Meta(es_obj, "namespace");
    const std::string path = kube::ResourcePath("", "v1", "secrets", ns, es.target.name);
    if (es.target.creation == CreationPolicy::kNone) {
      out.skipped = "creationPolicy None";
      return out;
    }
    if (d.all_sources_gone && es.target.deletion == DeletionPolicy::kDelete) {
      if (existing_meta != nullptr && MetaMap(*existing_meta, "labels")[std::string(kManagedLabel)] == "true") {
        Status s = kc_.Delete(path);
        if (!s.ok() && s.error().code() != Code::kNotFound) return s.error();
        out.deleted = true;
      }
      return out;
    }
    for (int attempt = 0;; ++attempt) {
      auto current = kc_.Get(path);
      if (!current.ok() && current.error().code() != Code::kNotFound) return current.error();
      const bool exists = current.ok();
      const bool merge = es.target.creation == CreationPolicy::kMerge || es.target.creation == CreationPolicy::kCreateOrMerge;
      if (!exists && es.target.creation == CreationPolicy::kMerge) {
        return Error(Code::kNotFound, "Secret " + ns + "/" + es.target.name +
                                          " does not exist (creationPolicy Merge only adds keys to an existing Secret)");
      }
      bj::object secret = exists ? std::move(*current) : bj::object{{"apiVersion", "v1"}, {"kind", "Secret"}};
      bj::object& meta = secret["metadata"].is_object() ? secret["metadata"].get_object()
                                                          : secret["metadata"].emplace_object();
      if (!exists) {
        meta["name"] = es.target.name;
        meta["namespace"] = ns;
      }
      if (exists) {
        if (const bj::value* imm = secret.if_contains("immutable"); imm != nullptr && imm->is_bool() && imm->get_bool()) {
          WipeSecretData(secret);
          out.skipped = "the Secret is immutable";
          return out;
        }
        std::string other;
        if (es.target.creation == CreationPolicy::kOwner && !HasControllerOwner(secret, Meta(es_obj, "uid"), &other) &&
            !other.empty()) {
          WipeSecretData(secret);
          return Error(Code::kInvalidRequest,
                       "Secret " + ns + "/" + es.target.name + " is owned by another controller (" + other + ")");
        }
        if (!d.type.empty() && json::StringMember(secret, "type") != d.type) {
          WipeSecretData(secret);
          return Error(Code::kInvalidRequest, "Secret " + ns + "/" + es.target.name + " has type " + json::StringMember(secret, "type") +
                                                  " and the template asks for " + d.type +
                                                  "; a Secret's type cannot change: delete it to let it be recreated");
        }
      } else {
        secret["type"] = d.type.empty() ? "Opaque" : d.type;
      }
      // Data: ours (over the existing keys with Merge).
      bj::object data;
      if (merge && exists) {
        if (const bj::object* old = json::ObjectMember(secret, "data")) data = *old;
      }
      for (const auto& [k, v] : d.data) data[k] = crypto::Base64Encode(v.view());
      const std::string old_hash = exists ? DataHash(json::ObjectMember(secret, "data")) : "";
      const std::string new_hash = DataHash(&data);
      // Metadata: ours over what is there.
      auto labels = StringMap(json::ObjectMember(meta, "labels"));
      auto annotations = StringMap(json::ObjectMember(meta, "annotations"));
      const auto before_labels = labels;
      const auto before_annotations = annotations;
      for (const auto& [k, v] : d.labels) labels[k] = v;
      for (const auto& [k, v] : d.annotations) annotations[k] = v;
      labels[std::string(kManagedLabel)] = "true";
      annotations[std::string(kDataHashAnnotation)] = new_hash;
      annotations[std::string(kOwnerAnnotation)] = es.name;
      bool owner_changed = false;
      if (es.target.creation == CreationPolicy::kOwner && !HasControllerOwner(secret, Meta(es_obj, "uid"), nullptr)) {
        bj::array refs;
        if (const bj::array* old = json::ArrayMember(meta, "ownerReferences")) refs = *old;
        refs.push_back(OwnerRef(kEsApi, "ExternalSecret", es_obj));
        meta["ownerReferences"] = std::move(refs);
        owner_changed = true;
      }
      const bool same = exists && old_hash == new_hash && labels == before_labels && annotations == before_annotations &&
                        !owner_changed;
      if (same) {
        WipeSecretData(secret);
        for (auto& kv : data) {
          if (kv.value().is_string()) SecureWipe(kv.value().get_string().data(), kv.value().get_string().size());
        }
        return out;
      }
      meta["labels"] = ToJson(labels);
      meta["annotations"] = ToJson(annotations);
      WipeSecretData(secret);
      secret["data"] = std::move(data);
      secret.erase("stringData");
      if (es.target.immutable) secret["immutable"] = true;
      auto written = exists ? kc_.Update(path, secret)
                            : kc_.Create(kube::ResourcePath("", "v1", "secrets", ns), secret);
      WipeSecretData(secret);
      if (!written.ok()) {
        // Someone else wrote it meanwhile (409): read it again and retry once.
        if (attempt == 0 && (written.error().code() == Code::kPreconditionNotMet ||
                             written.error().code() == Code::kAlreadyExists)) {
          continue;
        }
        return written.error();
      }
      WipeSecretData(*written);
      out.written = true;
      out.data_changed = old_hash != new_hash;
      return out;
    }
  }

  void Fail(const bj::object& es_obj, const std::string& message, std::chrono::steady_clock::time_point started,
            bool retry) {
    const std::string ns = Meta(es_obj, "namespace");
    const std::string name = Meta(es_obj, "name");
    const std::string key = kube::KeyOf(es_obj);
    log::Warn("ExternalSecret sync failed", {{"externalsecret", key}, {"error", message}});
    SetStatus(es_obj, false, "SecretSyncedError", message, "", "");
    Event(es_obj, "Warning", "UpdateFailed", message);
    metrics_.Synced(ns, name, false, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count());
    metrics_.Condition(ns, name, false);
    if (!retry) return;
    std::chrono::milliseconds wait;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& b = backoff_[key];
      b = b.count() == 0 ? o_.first_backoff : std::min(b * 2, o_.max_backoff);
      wait = b;
      dirty_.insert(key);  // retry the sync even though the spec has not changed
    }
    Enqueue("es/" + key, wait);
  }

  void SetStatus(const bj::object& es_obj, bool ready, const std::string& reason, const std::string& message,
                 const std::string& binding, const std::string& version) {
    const bj::object* old = json::ObjectMember(es_obj, "status");
    std::string transition = NowRfc3339();
    const std::string want = ready ? "True" : "False";
    if (old != nullptr) {
      if (const bj::array* conds = json::ArrayMember(*old, "conditions")) {
        for (const auto& c : *conds) {
          if (c.is_object() && json::StringMember(c.get_object(), "type") == "Ready" && json::StringMember(c.get_object(), "status") == want &&
              !json::StringMember(c.get_object(), "lastTransitionTime").empty()) {
            transition = json::StringMember(c.get_object(), "lastTransitionTime");
          }
        }
      }
    }
    bj::object cond{{"type", "Ready"}, {"status", want}, {"reason", reason}, {"message", message},
                    {"lastTransitionTime", transition}};
    bj::object st{{"conditions", bj::array{cond}}};
    if (ready) {
      st["refreshTime"] = NowRfc3339();
      st["syncedResourceVersion"] = version;
      st["binding"] = bj::object{{"name", binding}};
    }
    const std::string path = kube::ResourcePath("external-secrets.io", "v1", "externalsecrets", Meta(es_obj, "namespace"),
                                                Meta(es_obj, "name")) + "/status";
    auto r = kc_.Patch(path, bj::object{{"status", std::move(st)}});
    if (!r.ok() && r.error().code() != Code::kNotFound) {
      log::Warn("cannot write ExternalSecret status", {{"externalsecret", kube::KeyOf(es_obj)}, {"error", r.error().message()}});
    }
  }

  void Event(const bj::object& obj, const std::string& type, const std::string& reason, const std::string& message) {
    const std::string key = json::StringMember(obj, "kind") + "/" + kube::KeyOf(obj);
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& last = last_event_[key];
      // The same warning again and again (a retried failure) is said once per 10 minutes.
      if (type == "Warning" && last.reason == reason && last.message == message &&
          now - last.at < std::chrono::minutes(10)) {
        return;
      }
      last = {reason, message, now};
    }
    const std::string ns = Meta(obj, "namespace").empty() ? "default" : Meta(obj, "namespace");
    const std::string ts = NowRfc3339();
    bj::object ev{{"apiVersion", "v1"},
                  {"kind", "Event"},
                  {"metadata", bj::object{{"generateName", Meta(obj, "name") + "."}, {"namespace", ns}}},
                  {"involvedObject", bj::object{{"apiVersion", json::StringMember(obj, "apiVersion")},
                                                {"kind", json::StringMember(obj, "kind")},
                                                {"name", Meta(obj, "name")},
                                                {"namespace", Meta(obj, "namespace")},
                                                {"uid", Meta(obj, "uid")},
                                                {"resourceVersion", Meta(obj, "resourceVersion")}}},
                  {"reason", reason},
                  {"message", message.substr(0, 1024)},
                  {"type", type},
                  {"source", bj::object{{"component", "arca-operator"}}},
                  {"reportingComponent", "arca-operator"},
                  {"reportingInstance", o_.identity},
                  {"firstTimestamp", ts},
                  {"lastTimestamp", ts},
                  {"count", 1}};
    auto r = kc_.Create(kube::ResourcePath("", "v1", "events", ns), ev);
    if (!r.ok()) log::Warn("cannot record an Event", {{"object", key}, {"error", r.error().message()}});
  }

  // ---- rolling restarts ------------------------------------------------------------------------------

  void Reload(const std::string& ns, const std::string& secret_name) {
    for (const char* kind : {"deployments", "statefulsets", "daemonsets"}) {
      auto list = kc_.Get(kube::ResourcePath("apps", "v1", kind, ns));
      if (!list.ok()) {
        log::Warn("rolling restart: cannot list workloads", {{"namespace", ns}, {"kind", kind}, {"error", list.error().message()}});
        continue;
      }
      const bj::array* items = json::ArrayMember(*list, "items");
      if (items == nullptr) continue;
      for (const auto& item : *items) {
        if (!item.is_object()) continue;
        const bj::object& w = item.get_object();
        auto ann = MetaMap(w, "annotations");
        const bool automatic = ann["arca.dev/reload"] == "true" || ann["reloader.stakater.com/auto"] == "true";
        std::set<std::string> named;  // Reloader's list: "a, b,c"
        for (std::string_view n : SplitOn(ann["secret.reloader.stakater.com/reload"], ',')) {
          if (!TrimSpace(n).empty()) named.insert(std::string(TrimSpace(n)));
        }
        const bj::object* spec = json::ObjectMember(w, "spec");
        const bj::object* tmpl = spec == nullptr ? nullptr : json::ObjectMember(*spec, "template");
        const bj::object* pod = tmpl == nullptr ? nullptr : json::ObjectMember(*tmpl, "spec");
        if (pod == nullptr) continue;
        std::set<std::string> used = SecretsUsed(*pod);
        const bool wants = (automatic && used.contains(secret_name)) || named.contains(secret_name);
        if (!wants) continue;
        used.insert(named.begin(), named.end());
        std::string combined;
        for (const auto& s : used) {
          auto sec = kc_.Get(kube::ResourcePath("", "v1", "secrets", ns, s));
          combined += s + "=" + (sec.ok() ? DataHash(json::ObjectMember(*sec, "data")) : std::string("-")) + ";";
          if (sec.ok()) WipeSecretData(*sec);
        }
        const std::string hash = crypto::Sha256Hex(combined);
        const bj::object* tmeta = json::ObjectMember(*tmpl, "metadata");
        if (tmeta != nullptr && StringMap(json::ObjectMember(*tmeta, "annotations"))[std::string(kReloadHashAnnotation)] == hash) continue;
        bj::object patch{{"spec", bj::object{{"template", bj::object{{"metadata", bj::object{{"annotations", bj::object{
                                                                          {kReloadHashAnnotation, hash}}}}}}}}}};
        auto r = kc_.Patch(kube::ResourcePath("apps", "v1", kind, ns, Meta(w, "name")), patch, kube::PatchType::kStrategicMerge);
        if (r.ok()) {
          log::Info("rolling restart", {{"namespace", ns}, {"kind", kind}, {"name", Meta(w, "name")}, {"secret", secret_name}});
          bj::object involved = w;
          involved["kind"] = std::string(kind) == "deployments" ? "Deployment" : std::string(kind) == "statefulsets" ? "StatefulSet" : "DaemonSet";
          involved["apiVersion"] = "apps/v1";
          Event(involved, "Normal", "Reloaded", "Secret " + secret_name + " changed: rolling restart");
        } else {
          log::Warn("rolling restart failed", {{"namespace", ns}, {"name", Meta(w, "name")}, {"error", r.error().message()}});
        }
      }
    }
  }

  // ---- ClusterExternalSecret -------------------------------------------------------------------------

  void ReconcileClusterExternalSecret(const std::string& name) {
    auto obj = ces_->Get(name);
    if (!obj || !Meta(*obj, "deletionTimestamp").empty()) return;
    const bj::object* spec = json::ObjectMember(*obj, "spec");
    if (spec == nullptr) return;
    std::string es_name = json::StringMember(*spec, "externalSecretName");
    if (es_name.empty()) es_name = name;
    const bj::object* es_spec = json::ObjectMember(*spec, "externalSecretSpec");
    std::set<std::string> wanted;
    std::set<std::string> listed;
    if (const bj::array* nss = json::ArrayMember(*spec, "namespaces")) {
      for (const auto& n : *nss) {
        if (n.is_string()) listed.insert(std::string(n.get_string()));
      }
    }
    std::vector<const bj::object*> selectors;
    if (const bj::object* s = json::ObjectMember(*spec, "namespaceSelector")) selectors.push_back(s);
    if (const bj::array* ss = json::ArrayMember(*spec, "namespaceSelectors")) {
      for (const auto& s : *ss) {
        if (s.is_object()) selectors.push_back(&s.get_object());
      }
    }
    for (const auto& n : namespaces_->List()) {
      const std::string ns = Meta(n, "name");
      if (!Meta(n, "deletionTimestamp").empty()) continue;
      bool pick = listed.contains(ns);
      for (const bj::object* s : selectors) pick = pick || SelectorMatches(*s, MetaMap(n, "labels"));
      if (pick) wanted.insert(ns);
    }
    std::vector<std::string> provisioned;
    bj::array failed;
    const bj::object* es_meta = json::ObjectMember(*spec, "externalSecretMetadata");
    for (const auto& ns : wanted) {
      bj::object desired{{"apiVersion", kEsApi},
                         {"kind", "ExternalSecret"},
                         {"metadata", bj::object{{"name", es_name},
                                                 {"namespace", ns},
                                                 {"labels", ToJson(es_meta == nullptr ? std::map<std::string, std::string>{}
                                                                                     : StringMap(json::ObjectMember(*es_meta, "labels")))},
                                                 {"annotations", ToJson(es_meta == nullptr ? std::map<std::string, std::string>{}
                                                                                          : StringMap(json::ObjectMember(*es_meta, "annotations")))},
                                                 {"ownerReferences", bj::array{OwnerRef(kEsApi, "ClusterExternalSecret", *obj)}}}},
                         {"spec", es_spec == nullptr ? bj::object{} : *es_spec}};
      const std::string path = kube::ResourcePath("external-secrets.io", "v1", "externalsecrets", ns, es_name);
      auto existing = kc_.Get(path);
      Status s = OkStatus();
      if (!existing.ok() && existing.error().code() == Code::kNotFound) {
        auto r = kc_.Create(kube::ResourcePath("external-secrets.io", "v1", "externalsecrets", ns), desired);
        if (!r.ok()) s = r.error();
      } else if (!existing.ok()) {
        s = existing.error();
      } else if (!HasControllerOwner(*existing, Meta(*obj, "uid"), nullptr)) {
        s = Error(Code::kAlreadyExists, "an ExternalSecret named " + es_name + " exists and is not owned by ClusterExternalSecret " + name);
      } else {
        const bj::value* old_spec = existing->if_contains("spec");
        const bool same = old_spec != nullptr && *old_spec == desired["spec"] &&
                          MetaMap(*existing, "labels") == StringMap(&desired["metadata"].get_object()["labels"].get_object()) &&
                          MetaMap(*existing, "annotations") == StringMap(&desired["metadata"].get_object()["annotations"].get_object());
        if (!same) {
          bj::object updated = *existing;
          updated["spec"] = desired["spec"];
          updated["metadata"].get_object()["labels"] = desired["metadata"].get_object()["labels"];
          updated["metadata"].get_object()["annotations"] = desired["metadata"].get_object()["annotations"];
          auto r = kc_.Update(path, updated);
          if (!r.ok()) s = r.error();
        }
      }
      if (s.ok()) {
        provisioned.push_back(ns);
      } else {
        failed.push_back(bj::object{{"namespace", ns}, {"reason", s.error().message()}});
      }
    }
    // ExternalSecrets it made in namespaces no longer selected.
    for (const auto& e : es_->List()) {
      if (Meta(e, "name") != es_name || wanted.contains(Meta(e, "namespace"))) continue;
      if (!HasControllerOwner(e, Meta(*obj, "uid"), nullptr)) continue;
      (void)kc_.Delete(kube::ResourcePath("external-secrets.io", "v1", "externalsecrets", Meta(e, "namespace"), es_name));
    }
    bj::array prov;
    for (const auto& p : provisioned) prov.push_back(bj::value(p));
    const bool ok = failed.empty();
    bj::object st{{"externalSecretName", es_name},
                  {"provisionedNamespaces", std::move(prov)},
                  {"conditions", bj::array{bj::object{{"type", "Ready"},
                                                      {"status", ok ? "True" : "False"},
                                                      {"message", ok ? "ExternalSecrets are provisioned" : "one or more namespaces failed"},
                                                      {"lastTransitionTime", NowRfc3339()}}}}};
    if (!failed.empty()) st["failedNamespaces"] = std::move(failed);
    bj::value* old_status = obj->if_contains("status");
    bool changed = true;
    if (old_status != nullptr && old_status->is_object()) {
      bj::object cmp = old_status->get_object();
      bj::object mine = st;
      for (bj::object* o : {&cmp, &mine}) {
        if (bj::value* c = o->if_contains("conditions"); c != nullptr && c->is_array()) {
          for (auto& x : c->get_array()) {
            if (x.is_object()) x.get_object().erase("lastTransitionTime");
          }
        }
      }
      changed = cmp != mine;
    }
    if (changed) {
      auto r = kc_.Patch(kube::ResourcePath("external-secrets.io", "v1", "clusterexternalsecrets", "", name) + "/status",
                         bj::object{{"status", std::move(st)}});
      if (!r.ok()) log::Warn("cannot write ClusterExternalSecret status", {{"name", name}, {"error", r.error().message()}});
    }
    // Namespaces come and go: look again after refreshTime (default 1m).
    std::chrono::nanoseconds again = std::chrono::minutes(1);
    if (auto d = ParseGoDuration(json::StringMember(*spec, "refreshTime")); d.ok() && d->count() > 0) again = *d;
    Enqueue("ces/" + name, again);
  }

  struct LastEvent {
    std::string reason;
    std::string message;
    std::chrono::steady_clock::time_point at;
  };

  const kube::KubeClient& kc_;
  const ControllerOptions o_;
  OperatorMetrics& metrics_;
  WorkQueue queue_;
  std::unique_ptr<kube::Informer> es_, ces_, stores_, cstores_, namespaces_, secrets_;
  std::unique_ptr<ChangeFollowers> followers_;  // push sync; null when off
  std::atomic<bool> leader_{false};
  std::mutex mu_;
  std::map<std::string, std::string> seen_;                     // GUARDED_BY(mu_): ES key -> VersionKey
  std::map<std::string, std::chrono::milliseconds> backoff_;    // GUARDED_BY(mu_)
  std::map<std::string, std::set<std::string>> reads_;          // GUARDED_BY(mu_)
  std::set<std::string> dirty_;                                 // GUARDED_BY(mu_): sync even if not due
  std::map<std::string, std::chrono::steady_clock::time_point> pushed_at_;  // GUARDED_BY(mu_)
  std::map<std::string, LastEvent> last_event_;                 // GUARDED_BY(mu_)
};

Controller::Controller(const kube::KubeClient& client, ControllerOptions options, OperatorMetrics& metrics)
    : impl_(std::make_unique<Impl>(client, std::move(options), metrics)) {}
Controller::~Controller() = default;
void Controller::Run(const std::atomic<bool>& stop) { impl_->Run(stop); }
void Controller::SetLeader(bool leader) { impl_->SetLeader(leader); }
void Controller::Notify(const std::string& server, const std::string& region, const std::string& key) {
  impl_->Notify(server, region, key);
}
bool Controller::Synced() const { return impl_->Synced(); }

}  // namespace arca::op
