#include "operator/external_secret.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <exception>
#include <initializer_list>
#include <limits>
#include <set>
#include <utility>

#include "crypto/hash.h"
#include "operator/go_regexp.h"
#include "operator/go_text.h"
#include "operator/template.h"

namespace arca::op {

std::string_view Name(CreationPolicy p) {
  switch (p) {
    case CreationPolicy::kOwner:
      return "Owner";
    case CreationPolicy::kOrphan:
      return "Orphan";
    case CreationPolicy::kMerge:
      return "Merge";
    case CreationPolicy::kNone:
      return "None";
    case CreationPolicy::kCreateOrMerge:
      return "CreateOrMerge";
  }
  return "?";
}

std::string_view Name(DeletionPolicy p) {
  switch (p) {
    case DeletionPolicy::kRetain:
      return "Retain";
    case DeletionPolicy::kDelete:
      return "Delete";
    case DeletionPolicy::kMerge:
      return "Merge";
  }
  return "?";
}

namespace {

using Node = YAML::Node;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// RFC 1123 subdomain (object names) and label (namespaces).
bool IsDnsLabel(std::string_view s, std::size_t max = 63) {
  if (s.empty() || s.size() > max) return false;
  if (!IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  for (char c : s) {
    if (!IsLowerAlnum(c) && c != '-') return false;
  }
  return true;
}
bool IsDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  std::size_t start = 0;
  for (;;) {
    const std::size_t dot = s.find('.', start);
    if (!IsDnsLabel(s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start), 253)) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

constexpr const char* kSubdomainRule =
    "must be a lowercase RFC 1123 subdomain: lower case alphanumeric characters, '-' or '.', "
    "starting and ending with an alphanumeric character";

// Collects a document's problems with the path of each field.
// Thread-safety: one instance per parse; not shared.
class Ctx {
 public:
  std::vector<std::string> errors;
  std::vector<std::string>* warnings = nullptr;

  void Fail(const std::string& path, const std::string& msg) {
    errors.push_back(path.empty() ? msg : path + ": " + msg);
  }
  void Required(const std::string& path) { errors.push_back(path + " is required"); }
  void Warn(const std::string& msg) {
    if (warnings != nullptr) warnings->push_back(msg);
  }

  // Warns about keys of `n` that are not in `known` (Kubernetes prunes unknown fields).
  void Known(const Node& n, const std::string& path, std::initializer_list<std::string_view> known) {
    if (!n.IsMap()) return;
    for (const auto& kv : n) {
      const std::string key = kv.first.Scalar();
      bool found = false;
      for (auto k : known) {
        if (k == key) {
          found = true;
          break;
        }
      }
      if (!found) Warn(Join(path, key) + ": unknown field (ignored)");
    }
  }

  static std::string Join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
};

bool Present(const Node& n) { return n.IsDefined() && !n.IsNull(); }

Node Child(const Node& n, std::string_view key) {
  if (!n.IsMap()) return Node(YAML::NodeType::Undefined);
  return n[std::string(key)];
}

// A scalar field: nullopt when absent (or null). An error when it is not a scalar.
std::optional<std::string> Str(Ctx& ctx, const Node& parent, std::string_view key, const std::string& path,
                               bool required = false) {
  const Node n = Child(parent, key);
  const std::string p = Ctx::Join(path, key);
  if (!Present(n)) {
    if (required) ctx.Required(p);
    return std::nullopt;
  }
  if (!n.IsScalar()) {
    ctx.Fail(p, "must be a string");
    return std::nullopt;
  }
  if (required && n.Scalar().empty()) {
    ctx.Fail(p, "must not be empty");
    return std::nullopt;
  }
  return n.Scalar();
}

std::optional<bool> Bool(Ctx& ctx, const Node& parent, std::string_view key, const std::string& path) {
  auto s = Str(ctx, parent, key, path);
  if (!s) return std::nullopt;
  if (*s == "true") return true;
  if (*s == "false") return false;
  ctx.Fail(Ctx::Join(path, key), "must be true or false");
  return std::nullopt;
}

std::map<std::string, std::string> StrMap(Ctx& ctx, const Node& parent, std::string_view key,
                                          const std::string& path) {
  std::map<std::string, std::string> out;
  const Node n = Child(parent, key);
  const std::string p = Ctx::Join(path, key);
  if (!Present(n)) return out;
  if (!n.IsMap()) {
    ctx.Fail(p, "must be a map of strings");
    return out;
  }
  for (const auto& kv : n) {
    const std::string k = kv.first.Scalar();
    if (!kv.second.IsScalar() && !kv.second.IsNull()) {
      ctx.Fail(p + "." + k, "must be a string");
      continue;
    }
    out[k] = kv.second.IsNull() ? "" : kv.second.Scalar();
  }
  return out;
}

// An enum field: the index of its value in `values`, `def` when absent.
template <typename E>
E Enum(Ctx& ctx, const Node& parent, std::string_view key, const std::string& path,
       std::initializer_list<std::pair<std::string_view, E>> values, E def) {
  auto s = Str(ctx, parent, key, path);
  if (!s) return def;
  std::string supported;
  for (const auto& [name, v] : values) {
    if (name == *s) return v;
    if (!supported.empty()) supported += ", ";
    supported += "\"" + std::string(name) + "\"";
  }
  ctx.Fail(Ctx::Join(path, key), "unsupported value \"" + *s + "\": supported values: " + supported);
  return def;
}

std::optional<Node> List(Ctx& ctx, const Node& parent, std::string_view key, const std::string& path) {
  const Node n = Child(parent, key);
  if (!Present(n)) return std::nullopt;
  if (!n.IsSequence()) {
    ctx.Fail(Ctx::Join(path, key), "must be a list");
    return std::nullopt;
  }
  return n;
}

std::optional<Node> Map(Ctx& ctx, const Node& parent, std::string_view key, const std::string& path) {
  const Node n = Child(parent, key);
  if (!Present(n)) return std::nullopt;
  if (!n.IsMap()) {
    ctx.Fail(Ctx::Join(path, key), "must be an object");
    return std::nullopt;
  }
  return n;
}

DecodingStrategy Decoding(Ctx& ctx, const Node& n, const std::string& path) {
  return Enum<DecodingStrategy>(ctx, n, "decodingStrategy", path,
                                {{"Auto", DecodingStrategy::kAuto},
                                 {"Base64", DecodingStrategy::kBase64},
                                 {"Base64URL", DecodingStrategy::kBase64Url},
                                 {"None", DecodingStrategy::kNone}},
                                DecodingStrategy::kNone);
}
ConversionStrategy Conversion(Ctx& ctx, const Node& n, const std::string& path) {
  return Enum<ConversionStrategy>(ctx, n, "conversionStrategy", path,
                                  {{"Default", ConversionStrategy::kDefault},
                                   {"Unicode", ConversionStrategy::kUnicode}},
                                  ConversionStrategy::kDefault);
}
NullBytePolicy NullBytes(Ctx& ctx, const Node& n, const std::string& path) {
  return Enum<NullBytePolicy>(ctx, n, "nullBytePolicy", path,
                              {{"Ignore", NullBytePolicy::kIgnore}, {"Fail", NullBytePolicy::kFail}},
                              NullBytePolicy::kIgnore);
}

// remoteRef / extract.
RemoteRef ParseRemoteRef(Ctx& ctx, const Node& n, const std::string& path) {
  ctx.Known(n, path,
            {"key", "property", "version", "decodingStrategy", "conversionStrategy", "metadataPolicy",
             "nullBytePolicy"});
  RemoteRef r;
  r.key = Str(ctx, n, "key", path, true).value_or("");
  r.property = Str(ctx, n, "property", path).value_or("");
  r.version = Str(ctx, n, "version", path).value_or("");
  r.decoding = Decoding(ctx, n, path);
  r.conversion = Conversion(ctx, n, path);
  r.metadata = Enum<MetadataPolicy>(ctx, n, "metadataPolicy", path,
                                    {{"None", MetadataPolicy::kNone}, {"Fetch", MetadataPolicy::kFetch}},
                                    MetadataPolicy::kNone);
  r.null_bytes = NullBytes(ctx, n, path);
  return r;
}

std::optional<StoreRef> ParseStoreRef(Ctx& ctx, const Node& n, const std::string& path, bool name_required) {
  ctx.Known(n, path, {"kind", "name"});
  StoreRef r;
  r.kind = Enum<std::string>(ctx, n, "kind", path,
                             {{"SecretStore", "SecretStore"}, {"ClusterSecretStore", "ClusterSecretStore"}},
                             "SecretStore");
  auto name = Str(ctx, n, "name", path, name_required);
  if (name && !IsDnsSubdomain(*name)) ctx.Fail(Ctx::Join(path, "name"), kSubdomainRule);
  if (!name) return std::nullopt;
  r.name = *name;
  return r;
}

// sourceRef: storeRef is supported; generatorRef is not.
std::optional<StoreRef> ParseSourceRef(Ctx& ctx, const Node& parent, const std::string& path, bool data_from) {
  auto n = Map(ctx, parent, "sourceRef", path);
  if (!n) return std::nullopt;
  const std::string p = path + ".sourceRef";
  ctx.Known(*n, p, {"storeRef", "generatorRef"});
  const bool has_store = Present(Child(*n, "storeRef"));
  const bool has_gen = Present(Child(*n, "generatorRef"));
  if (has_gen) {
    ctx.Fail(p + ".generatorRef", "generators are not supported by Arca");
    return std::nullopt;
  }
  if (!has_store) {
    ctx.Fail(p, data_from ? "generatorRef or storeRef must be set when using sourceRef in dataFrom"
                          : "storeRef must be set when using sourceRef");
    return std::nullopt;
  }
  auto store = Map(ctx, *n, "storeRef", p);
  if (!store) return std::nullopt;
  return ParseStoreRef(ctx, *store, p + ".storeRef", true);
}

void CheckTemplate(Ctx& ctx, const std::string& path, const std::string& name, const std::string& text) {
  auto t = tmpl::Template::Parse(name, text);
  if (!t.ok()) ctx.Fail(path, t.error().message());
}

std::optional<TemplateSpec> ParseTemplate(Ctx& ctx, const Node& n, const std::string& path) {
  ctx.Known(n, path, {"engineVersion", "type", "mergePolicy", "data", "metadata", "templateFrom"});
  TemplateSpec t;
  if (auto v = Str(ctx, n, "engineVersion", path); v && *v != "v2") {
    ctx.Fail(path + ".engineVersion",
             "unsupported value \"" + *v + "\": only \"v2\" is supported (ESO's v1 engine is deprecated)");
  }
  t.type = Str(ctx, n, "type", path).value_or("");
  t.merge = Enum<TemplateMergePolicy>(ctx, n, "mergePolicy", path,
                                      {{"Replace", TemplateMergePolicy::kReplace},
                                       {"Merge", TemplateMergePolicy::kMerge}},
                                      TemplateMergePolicy::kReplace);
  t.data = StrMap(ctx, n, "data", path);
  for (const auto& [k, v] : t.data) CheckTemplate(ctx, path + ".data." + k, k, v);
  if (auto meta = Map(ctx, n, "metadata", path)) {
    const std::string mp = path + ".metadata";
    ctx.Known(*meta, mp, {"labels", "annotations", "finalizers"});
    t.labels = StrMap(ctx, *meta, "labels", mp);
    t.annotations = StrMap(ctx, *meta, "annotations", mp);
    for (const auto& [k, v] : t.labels) CheckTemplate(ctx, mp + ".labels." + k, k, v);
    for (const auto& [k, v] : t.annotations) CheckTemplate(ctx, mp + ".annotations." + k, k, v);
  }
  if (Present(Child(n, "templateFrom"))) {
    ctx.Fail(path + ".templateFrom",
             "templateFrom is not supported yet: put the templates in template.data");
  }
  return t;
}

void ParseTarget(Ctx& ctx, const Node& n, const std::string& path, TargetSpec* t) {
  ctx.Known(n, path, {"name", "creationPolicy", "deletionPolicy", "immutable", "template", "manifest"});
  if (auto name = Str(ctx, n, "name", path)) {
    if (!IsDnsSubdomain(*name)) ctx.Fail(path + ".name", kSubdomainRule);
    t->name = *name;
  }
  t->creation = Enum<CreationPolicy>(ctx, n, "creationPolicy", path,
                                     {{"Owner", CreationPolicy::kOwner},
                                      {"Orphan", CreationPolicy::kOrphan},
                                      {"Merge", CreationPolicy::kMerge},
                                      {"None", CreationPolicy::kNone},
                                      {"CreateOrMerge", CreationPolicy::kCreateOrMerge}},
                                     CreationPolicy::kOwner);
  t->deletion = Enum<DeletionPolicy>(ctx, n, "deletionPolicy", path,
                                     {{"Delete", DeletionPolicy::kDelete},
                                      {"Merge", DeletionPolicy::kMerge},
                                      {"Retain", DeletionPolicy::kRetain}},
                                     DeletionPolicy::kRetain);
  t->immutable = Bool(ctx, n, "immutable", path).value_or(false);
  if (auto tn = Map(ctx, n, "template", path)) t->templ = ParseTemplate(ctx, *tn, path + ".template");
  if (Present(Child(n, "manifest"))) {
    ctx.Fail(path + ".manifest", "writing resources other than Secrets is not supported");
  }
}

void ParseRewrites(Ctx& ctx, const Node& list, const std::string& path, std::vector<Rewrite>* out) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string p = path + "[" + std::to_string(i) + "]";
    const Node n = list[i];
    if (!n.IsMap()) {
      ctx.Fail(p, "must be an object");
      continue;
    }
    ctx.Known(n, p, {"regexp", "transform", "merge"});
    const int set = static_cast<int>(Present(Child(n, "regexp"))) +
                    static_cast<int>(Present(Child(n, "transform"))) +
                    static_cast<int>(Present(Child(n, "merge")));
    if (Present(Child(n, "merge"))) {
      ctx.Fail(p + ".merge", "the merge rewrite is not supported yet");
      continue;
    }
    if (set != 1) {
      ctx.Fail(p, "exactly one of regexp, transform must be set");
      continue;
    }
    Rewrite r;
    if (auto re = Map(ctx, n, "regexp", p)) {
      const std::string rp = p + ".regexp";
      ctx.Known(*re, rp, {"source", "target"});
      r.kind = Rewrite::Kind::kRegexp;
      r.source = Str(ctx, *re, "source", rp, true).value_or("");
      // target may be "" (delete the match) but must be given.
      if (!Present(Child(*re, "target"))) ctx.Required(rp + ".target");
      r.target = Str(ctx, *re, "target", rp).value_or("");
      if (!r.source.empty()) {
        auto compiled = GoRegexp::Compile(r.source);
        if (!compiled.ok()) ctx.Fail(rp + ".source", compiled.error().message());
      }
    } else if (auto tr = Map(ctx, n, "transform", p)) {
      const std::string tp = p + ".transform";
      ctx.Known(*tr, tp, {"template"});
      r.kind = Rewrite::Kind::kTransform;
      r.templ = Str(ctx, *tr, "template", tp, true).value_or("");
      if (!r.templ.empty()) CheckTemplate(ctx, tp + ".template", "transform", r.templ);
    }
    out->push_back(std::move(r));
  }
}

void ParseDataFrom(Ctx& ctx, const Node& n, const std::string& p, DataFromEntry* e) {
  ctx.Known(n, p, {"extract", "find", "rewrite", "sourceRef"});
  const bool has_extract = Present(Child(n, "extract"));
  const bool has_find = Present(Child(n, "find"));
  const Node source = Child(n, "sourceRef");
  if (Present(source) && source.IsMap() && Present(Child(source, "generatorRef"))) {
    ctx.Fail(p + ".sourceRef.generatorRef", "generators are not supported by Arca");
    return;
  }
  if (has_extract == has_find) {
    ctx.Fail(p, "exactly one of extract, find must be set");
    return;
  }
  e->store = ParseSourceRef(ctx, n, p, true);
  if (auto ex = Map(ctx, n, "extract", p)) e->extract = ParseRemoteRef(ctx, *ex, p + ".extract");
  if (auto fn = Map(ctx, n, "find", p)) {
    const std::string fp = p + ".find";
    ctx.Known(*fn, fp, {"path", "name", "tags", "decodingStrategy", "conversionStrategy", "nullBytePolicy"});
    FindSpec f;
    f.path = Str(ctx, *fn, "path", fp);
    if (auto name = Map(ctx, *fn, "name", fp)) {
      ctx.Known(*name, fp + ".name", {"regexp"});
      f.name_regexp = Str(ctx, *name, "regexp", fp + ".name");
      if (f.name_regexp) {
        auto compiled = GoRegexp::Compile(*f.name_regexp);
        if (!compiled.ok()) ctx.Fail(fp + ".name.regexp", compiled.error().message());
      }
    }
    f.tags = StrMap(ctx, *fn, "tags", fp);
    f.decoding = Decoding(ctx, *fn, fp);
    f.conversion = Conversion(ctx, *fn, fp);
    f.null_bytes = NullBytes(ctx, *fn, fp);
    if (!f.name_regexp && f.tags.empty()) {
      ctx.Fail(fp, "set name.regexp or tags (path alone selects nothing: ESO's \"unexpected find operator\")");
    }
    e->find = std::move(f);
  }
  if (auto rw = List(ctx, n, "rewrite", p)) ParseRewrites(ctx, *rw, p + ".rewrite", &e->rewrite);
}

void ParseMetadata(Ctx& ctx, const Node& doc, std::string* name, std::string* ns,
                   std::map<std::string, std::string>* labels, std::map<std::string, std::string>* annotations) {
  auto meta = Map(ctx, doc, "metadata", "");
  if (!meta) {
    ctx.Required("metadata.name");
    return;
  }
  *name = Str(ctx, *meta, "name", "metadata", true).value_or("");
  if (!name->empty() && !IsDnsSubdomain(*name)) ctx.Fail("metadata.name", kSubdomainRule);
  *ns = Str(ctx, *meta, "namespace", "metadata").value_or("");
  if (!ns->empty() && !IsDnsLabel(*ns)) {
    ctx.Fail("metadata.namespace", "must be a lowercase RFC 1123 label (at most 63 characters)");
  }
  if (labels != nullptr) *labels = StrMap(ctx, *meta, "labels", "metadata");
  if (annotations != nullptr) *annotations = StrMap(ctx, *meta, "annotations", "metadata");
}

std::string ApiVersionProblem(const std::string& api_version) {
  if (api_version == "external-secrets.io/v1" || api_version == "external-secrets.io/v1beta1") return "";
  if (api_version == "external-secrets.io/v1alpha1") {
    return "external-secrets.io/v1alpha1 is not supported: use external-secrets.io/v1beta1 or /v1";
  }
  return "must be external-secrets.io/v1 or external-secrets.io/v1beta1, not \"" + api_version + "\"";
}

ExternalSecret DoParseExternalSecret(Ctx& ctx, const Node& doc) {
  ExternalSecret es;
  ctx.Known(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  es.api_version = Str(ctx, doc, "apiVersion", "", true).value_or("");
  if (!es.api_version.empty()) {
    if (auto p = ApiVersionProblem(es.api_version); !p.empty()) ctx.Fail("apiVersion", p);
  }
  ParseMetadata(ctx, doc, &es.name, &es.namespace_, &es.labels, &es.annotations);
  const Node spec_node = Child(doc, "spec");
  const Node spec = spec_node.IsMap() ? spec_node : Node(YAML::NodeType::Map);
  if (Present(spec_node) && !spec_node.IsMap()) ctx.Fail("spec", "must be an object");
  ctx.Known(spec, "spec",
            {"secretStoreRef", "refreshInterval", "refreshPolicy", "target", "data", "dataFrom", "syncWindows"});
  if (auto ref = Map(ctx, spec, "secretStoreRef", "spec")) {
    es.store = ParseStoreRef(ctx, *ref, "spec.secretStoreRef", true);
  }
  if (auto ri = Str(ctx, spec, "refreshInterval", "spec")) {
    auto d = ParseGoDuration(*ri);
    if (!d.ok()) {
      ctx.Fail("spec.refreshInterval", d.error().message() + " (write a Go duration such as 1h, 15m, 30s or 0)");
    } else if (d->count() < 0) {
      ctx.Fail("spec.refreshInterval", "must not be negative");
    } else {
      es.refresh_interval = *d;
    }
  }
  es.refresh_policy = Enum<RefreshPolicy>(ctx, spec, "refreshPolicy", "spec",
                                          {{"CreatedOnce", RefreshPolicy::kCreatedOnce},
                                           {"Periodic", RefreshPolicy::kPeriodic},
                                           {"OnChange", RefreshPolicy::kOnChange}},
                                          RefreshPolicy::kPeriodic);
  if (auto target = Map(ctx, spec, "target", "spec")) ParseTarget(ctx, *target, "spec.target", &es.target);
  if (es.target.name.empty()) es.target.name = es.name;
  if (Present(Child(spec, "syncWindows"))) {
    ctx.Warn("spec.syncWindows: not supported by Arca (ignored: syncs are not restricted to windows)");
  }
  if (auto data = List(ctx, spec, "data", "spec")) {
    for (std::size_t i = 0; i < data->size(); ++i) {
      const std::string p = "spec.data[" + std::to_string(i) + "]";
      const Node n = (*data)[i];
      if (!n.IsMap()) {
        ctx.Fail(p, "must be an object");
        continue;
      }
      ctx.Known(n, p, {"secretKey", "remoteRef", "sourceRef"});
      DataEntry e;
      e.secret_key = Str(ctx, n, "secretKey", p, true).value_or("");
      if (!e.secret_key.empty()) {
        if (auto why = SecretKeyProblem(e.secret_key); !why.empty()) ctx.Fail(p + ".secretKey", why);
      }
      if (auto rr = Map(ctx, n, "remoteRef", p)) {
        e.remote_ref = ParseRemoteRef(ctx, *rr, p + ".remoteRef");
      } else if (!Present(Child(n, "remoteRef"))) {
        ctx.Required(p + ".remoteRef.key");
      }
      e.store = ParseSourceRef(ctx, n, p, false);
      es.data.push_back(std::move(e));
    }
  }
  if (auto data_from = List(ctx, spec, "dataFrom", "spec")) {
    for (std::size_t i = 0; i < data_from->size(); ++i) {
      const std::string p = "spec.dataFrom[" + std::to_string(i) + "]";
      const Node n = (*data_from)[i];
      if (!n.IsMap()) {
        ctx.Fail(p, "must be an object");
        continue;
      }
      DataFromEntry e;
      ParseDataFrom(ctx, n, p, &e);
      es.data_from.push_back(std::move(e));
    }
  }
  // ESO's admission rules (apis/externalsecrets/v1/externalsecret_validator.go).
  const auto creation = es.target.creation;
  const auto deletion = es.target.deletion;
  if (deletion == DeletionPolicy::kDelete &&
      (creation == CreationPolicy::kMerge || creation == CreationPolicy::kNone)) {
    ctx.Fail("spec.target",
             "deletionPolicy=Delete must not be used when the controller doesn't own the secret. "
             "Please set creationPolicy=Owner");
  }
  if (deletion == DeletionPolicy::kMerge && creation == CreationPolicy::kNone) {
    ctx.Fail("spec.target",
             "deletionPolicy=Merge must not be used with creationPolicy=None. There is no Secret to merge with");
  }
  if (es.data.empty() && es.data_from.empty() && !Present(Child(spec, "data")) &&
      !Present(Child(spec, "dataFrom"))) {
    ctx.Fail("spec", "either data or dataFrom should be specified");
  }
  if (deletion == DeletionPolicy::kRetain) {
    std::set<std::string> seen;
    for (std::size_t i = 0; i < es.data.size(); ++i) {
      const auto& key = es.data[i].secret_key;
      if (key.empty()) continue;
      if (!seen.insert(key).second) {
        ctx.Fail("spec.data[" + std::to_string(i) + "].secretKey", "duplicate secretKey found: " + key);
      }
    }
  }
  if (!es.store) {
    for (std::size_t i = 0; i < es.data.size(); ++i) {
      if (!es.data[i].store) {
        ctx.Fail("spec.secretStoreRef",
                 "is required (spec.data[" + std::to_string(i) + "] has no sourceRef.storeRef)");
        break;
      }
    }
  }
  return es;
}

void ParseAuth(Ctx& ctx, const Node& n, const std::string& path, StoreAuth* auth) {
  ctx.Known(n, path, {"secretRef", "jwt"});
  if (auto ref = Map(ctx, n, "secretRef", path)) {
    const std::string rp = path + ".secretRef";
    ctx.Known(*ref, rp, {"accessKeyIDSecretRef", "secretAccessKeySecretRef", "sessionTokenSecretRef"});
    auto selector = [&](std::string_view key) -> std::optional<SecretKeyRef> {
      auto s = Map(ctx, *ref, key, rp);
      if (!s) return std::nullopt;
      const std::string sp = rp + "." + std::string(key);
      ctx.Known(*s, sp, {"name", "key", "namespace"});
      SecretKeyRef r;
      r.name = Str(ctx, *s, "name", sp, true).value_or("");
      r.key = Str(ctx, *s, "key", sp, true).value_or("");
      r.namespace_ = Str(ctx, *s, "namespace", sp).value_or("");
      return r;
    };
    auth->access_key_id = selector("accessKeyIDSecretRef");
    auth->secret_access_key = selector("secretAccessKeySecretRef");
    auth->session_token = selector("sessionTokenSecretRef");
    if (auth->access_key_id.has_value() != auth->secret_access_key.has_value()) {
      ctx.Fail(rp, "set both accessKeyIDSecretRef and secretAccessKeySecretRef");
    }
  }
  if (auto jwt = Map(ctx, n, "jwt", path)) {
    const std::string jp = path + ".jwt";
    ctx.Known(*jwt, jp, {"serviceAccountRef"});
    if (auto sa = Map(ctx, *jwt, "serviceAccountRef", jp)) {
      const std::string sp = jp + ".serviceAccountRef";
      ctx.Known(*sa, sp, {"name", "namespace", "audiences"});
      auth->service_account = Str(ctx, *sa, "name", sp, true);
      auth->service_account_namespace = Str(ctx, *sa, "namespace", sp).value_or("");
      if (auto aud = List(ctx, *sa, "audiences", sp)) {
        for (const auto& a : *aud) {
          if (a.IsScalar()) auth->audiences.push_back(a.Scalar());
        }
      }
    } else {
      ctx.Required(jp + ".serviceAccountRef.name");
    }
  }
}

SecretStore DoParseSecretStore(Ctx& ctx, const Node& doc) {
  SecretStore s;
  ctx.Known(doc, "", {"apiVersion", "kind", "metadata", "spec", "status"});
  const std::string api = Str(ctx, doc, "apiVersion", "", true).value_or("");
  if (!api.empty()) {
    if (auto p = ApiVersionProblem(api); !p.empty()) ctx.Fail("apiVersion", p);
  }
  s.kind = Str(ctx, doc, "kind", "", true).value_or("");
  if (!s.kind.empty() && s.kind != "SecretStore" && s.kind != "ClusterSecretStore") {
    ctx.Fail("kind", "must be SecretStore or ClusterSecretStore");
  }
  ParseMetadata(ctx, doc, &s.name, &s.namespace_, nullptr, nullptr);
  auto spec = Map(ctx, doc, "spec", "");
  if (!spec) {
    ctx.Required("spec.provider");
    return s;
  }
  ctx.Known(*spec, "spec", {"controller", "refreshInterval", "retrySettings", "conditions", "provider"});
  auto provider = Map(ctx, *spec, "provider", "spec");
  if (!provider) {
    ctx.Required("spec.provider");
    return s;
  }
  if (provider->size() != 1) {
    ctx.Fail("spec.provider", "must name exactly one provider");
    return s;
  }
  const auto entry = *provider->begin();
  s.provider = entry.first.Scalar();
  const Node p = entry.second;
  const std::string pp = "spec.provider." + s.provider;
  if (s.provider != "aws" && s.provider != "arca") return s;  // kept as written
  if (!p.IsMap()) {
    ctx.Fail(pp, "must be an object");
    return s;
  }
  if (s.provider == "aws") {
    ctx.Known(p, pp,
              {"service", "region", "role", "additionalRoles", "externalID", "prefix", "sessionTags",
               "sessionTagsPolicy", "customSessionTags", "transitiveTagKeys", "secretsManager", "auth"});
    s.service = Str(ctx, p, "service", pp, true).value_or("");
    if (!s.service.empty() && s.service != "SecretsManager" && s.service != "ParameterStore") {
      ctx.Fail(pp + ".service", s.service == "CertificateManager"
                                    ? "CertificateManager is not supported by Arca"
                                    : "unsupported value \"" + s.service +
                                          "\": supported values: \"SecretsManager\", \"ParameterStore\"");
    }
    s.region = Str(ctx, p, "region", pp, true).value_or("");
    s.external_id = Str(ctx, p, "externalID", pp).value_or("");
    if (auto roles = List(ctx, p, "additionalRoles", pp); roles && roles->size() > 0) {
      ctx.Fail(pp + ".additionalRoles", "role chaining is not supported by Arca");
    }
  } else {
    ctx.Known(p, pp, {"server", "region", "role", "prefix", "caBundle", "caProvider", "auth"});
    s.service = "SecretsManager";
    s.server = Str(ctx, p, "server", pp, true).value_or("");
    if (!s.server.empty() && !s.server.starts_with("http://") && !s.server.starts_with("https://")) {
      ctx.Fail(pp + ".server", "must be an http:// or https:// URL");
    }
    s.region = Str(ctx, p, "region", pp).value_or("us-east-1");
    if (auto ca = Str(ctx, p, "caBundle", pp)) {
      auto pem = GoBase64Decode(*ca, false);
      if (!pem) {
        ctx.Fail(pp + ".caBundle", "must be base64 (of PEM certificates)");
      } else {
        s.ca_bundle = std::move(*pem);
      }
    }
    if (auto cp = Map(ctx, p, "caProvider", pp)) {
      const std::string cpp = pp + ".caProvider";
      ctx.Known(*cp, cpp, {"type", "name", "key", "namespace"});
      CaProvider c;
      c.type = Enum<std::string>(ctx, *cp, "type", cpp, {{"Secret", "Secret"}, {"ConfigMap", "ConfigMap"}}, "");
      if (!Present(Child(*cp, "type"))) ctx.Required(cpp + ".type");
      c.name = Str(ctx, *cp, "name", cpp, true).value_or("");
      c.key = Str(ctx, *cp, "key", cpp).value_or("ca.crt");
      c.namespace_ = Str(ctx, *cp, "namespace", cpp).value_or("");
      s.ca_provider = std::move(c);
    }
    if (Present(Child(p, "caBundle")) && Present(Child(p, "caProvider"))) {
      ctx.Fail(pp, "set at most one of caBundle and caProvider");
    }
  }
  s.role = Str(ctx, p, "role", pp).value_or("");
  s.prefix = Str(ctx, p, "prefix", pp).value_or("");
  if (auto auth = Map(ctx, p, "auth", pp)) ParseAuth(ctx, *auth, pp + ".auth", &s.auth);
  return s;
}

std::string Describe(const std::string& kind, const std::string& ns, const std::string& name) {
  std::string out = kind.empty() ? "object" : kind;
  if (!name.empty()) out += " " + (ns.empty() ? name : ns + "/" + name);
  return out;
}

std::optional<std::string> ScalarAt(const Node& n, std::string_view key) {
  const Node c = Child(n, key);
  if (c.IsDefined() && c.IsScalar()) return c.Scalar();
  return std::nullopt;
}

void ParseKubeObject(Ctx& ctx, const Node& doc, const std::string& kind, KubeObject* obj) {
  obj->kind = kind;
  ParseMetadata(ctx, doc, &obj->name, &obj->namespace_, nullptr, nullptr);
  const Node data = Child(doc, "data");
  if (Present(data)) {
    if (!data.IsMap()) {
      ctx.Fail("data", "must be a map");
    } else {
      for (const auto& kv : data) {
        const std::string k = kv.first.Scalar();
        const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
        if (kind == "Secret") {
          auto decoded = crypto::Base64DecodeSecret(v);
          if (!decoded) {
            ctx.Fail("data." + k, "must be base64");
            continue;
          }
          obj->data[k] = std::move(*decoded);
        } else {
          obj->data[k] = SecretBytes::CopyOf(v);
        }
      }
    }
  }
  const Node more = Child(doc, kind == "Secret" ? "stringData" : "binaryData");
  if (Present(more) && more.IsMap()) {
    for (const auto& kv : more) {
      const std::string k = kv.first.Scalar();
      const std::string v = kv.second.IsScalar() ? kv.second.Scalar() : "";
      if (kind == "Secret") {
        obj->data[k] = SecretBytes::CopyOf(v);
      } else {
        auto decoded = crypto::Base64DecodeSecret(v);
        if (decoded) obj->data[k] = std::move(*decoded);
      }
    }
  }
}

void ParseDocument(const Node& doc, std::size_t index, Manifests* out) {
  if (!Present(doc)) return;
  const std::string where = "document " + std::to_string(index);
  if (!doc.IsMap()) {
    out->errors.push_back(where + ": not a Kubernetes object (expected a mapping)");
    return;
  }
  const std::string kind = ScalarAt(doc, "kind").value_or("");
  const std::string api = ScalarAt(doc, "apiVersion").value_or("");
  const Node meta = Child(doc, "metadata");
  const std::string name = ScalarAt(meta, "name").value_or("");
  const std::string ns = ScalarAt(meta, "namespace").value_or("");
  const std::string label = where + " (" + Describe(kind, ns, name) + ")";
  if (kind == "List") {
    const Node items = Child(doc, "items");
    if (items.IsSequence()) {
      for (std::size_t i = 0; i < items.size(); ++i) ParseDocument(items[i], index, out);
    }
    return;
  }
  const bool eso_group = api.starts_with(std::string(kGroup) + "/");
  Ctx ctx;
  std::vector<std::string> warnings;
  ctx.warnings = &warnings;
  auto finish = [&]() -> bool {
    for (const auto& w : warnings) out->warnings.push_back(label + ": " + w);
    if (ctx.errors.empty()) return true;
    std::string msg = label + ": ";
    for (std::size_t i = 0; i < ctx.errors.size(); ++i) {
      if (i > 0) msg += "; ";
      msg += ctx.errors[i];
    }
    out->errors.push_back(std::move(msg));
    return false;
  };
  if (eso_group && kind == "ExternalSecret") {
    ExternalSecret es = DoParseExternalSecret(ctx, doc);
    if (finish()) out->external_secrets.push_back(std::move(es));
  } else if (eso_group && (kind == "SecretStore" || kind == "ClusterSecretStore")) {
    SecretStore s = DoParseSecretStore(ctx, doc);
    if (finish()) out->stores.push_back(std::move(s));
  } else if (eso_group && kind == "ClusterExternalSecret") {
    out->errors.push_back(label +
                          ": ClusterExternalSecret is not supported here (it selects namespaces); write "
                          "an ExternalSecret");
  } else if (api == "v1" && (kind == "Secret" || kind == "ConfigMap")) {
    KubeObject obj;
    ParseKubeObject(ctx, doc, kind, &obj);
    if (finish()) out->objects.push_back(std::move(obj));
  } else {
    out->ignored.push_back(label);
  }
}

std::string GoQuoteDuration(std::string_view s) { return GoQuote(s); }

}  // namespace

Result<Manifests> ParseManifests(std::string_view yaml) {
  Manifests out;
  std::vector<Node> docs;
  try {
    docs = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidParameter, "invalid YAML: " + std::string(e.what()));
  }
  try {
    for (std::size_t i = 0; i < docs.size(); ++i) ParseDocument(docs[i], i + 1, &out);
  } catch (const std::exception& e) {
    return Error(Code::kInvalidParameter, "invalid manifest: " + std::string(e.what()));
  }
  return out;
}

Result<ExternalSecret> ParseExternalSecret(std::string_view text, std::vector<std::string>* warnings) {
  try {
    const Node doc = YAML::Load(std::string(text));
    if (!doc.IsMap()) return Error(Code::kInvalidParameter, "an ExternalSecret must be an object");
    Ctx ctx;
    ctx.warnings = warnings;
    if (auto kind = ScalarAt(doc, "kind"); kind && *kind != "ExternalSecret") {
      ctx.Fail("kind", "must be ExternalSecret, not \"" + *kind + "\"");
    }
    ExternalSecret es = DoParseExternalSecret(ctx, doc);
    if (!ctx.errors.empty()) {
      std::string msg;
      for (std::size_t i = 0; i < ctx.errors.size(); ++i) msg += (i > 0 ? "; " : "") + ctx.errors[i];
      return Error(Code::kInvalidParameter, msg);
    }
    return es;
  } catch (const std::exception& e) {
    return Error(Code::kInvalidParameter, "invalid YAML: " + std::string(e.what()));
  }
}

Result<SecretStore> ParseSecretStore(std::string_view text, std::vector<std::string>* warnings) {
  try {
    const Node doc = YAML::Load(std::string(text));
    if (!doc.IsMap()) return Error(Code::kInvalidParameter, "a SecretStore must be an object");
    Ctx ctx;
    ctx.warnings = warnings;
    SecretStore s = DoParseSecretStore(ctx, doc);
    if (!ctx.errors.empty()) {
      std::string msg;
      for (std::size_t i = 0; i < ctx.errors.size(); ++i) msg += (i > 0 ? "; " : "") + ctx.errors[i];
      return Error(Code::kInvalidParameter, msg);
    }
    return s;
  } catch (const std::exception& e) {
    return Error(Code::kInvalidParameter, "invalid YAML: " + std::string(e.what()));
  }
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s) {
  const std::string orig(s);
  auto invalid = [&] { return Error(Code::kInvalidParameter, "time: invalid duration " + GoQuoteDuration(orig)); };
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return invalid();
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(1) << 63;
  std::uint64_t total = 0;
  while (!s.empty()) {
    if (!(s.front() == '.' || (s.front() >= '0' && s.front() <= '9'))) return invalid();
    std::uint64_t v = 0;
    bool pre = false;
    while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
      if (v > (kMax - 9) / 10) return invalid();
      v = v * 10 + static_cast<std::uint64_t>(s.front() - '0');
      s.remove_prefix(1);
      pre = true;
    }
    std::uint64_t frac = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      while (!s.empty() && s.front() >= '0' && s.front() <= '9') {
        post = true;
        if (!overflow && frac <= (kMax - 9) / 10) {
          frac = frac * 10 + static_cast<std::uint64_t>(s.front() - '0');
          scale *= 10;
        } else {
          overflow = true;
        }
        s.remove_prefix(1);
      }
    }
    if (!pre && !post) return invalid();
    std::size_t u = 0;
    while (u < s.size() && s[u] != '.' && !(s[u] >= '0' && s[u] <= '9')) ++u;
    if (u == 0) {
      return Error(Code::kInvalidParameter, "time: missing unit in duration " + GoQuoteDuration(orig));
    }
    const std::string_view unit = s.substr(0, u);
    s.remove_prefix(u);
    std::uint64_t mult = 0;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      mult = 1000;
    } else if (unit == "ms") {
      mult = 1000000;
    } else if (unit == "s") {
      mult = 1000000000ULL;
    } else if (unit == "m") {
      mult = 60ULL * 1000000000ULL;
    } else if (unit == "h") {
      mult = 3600ULL * 1000000000ULL;
    } else {
      return Error(Code::kInvalidParameter, "time: unknown unit " + GoQuoteDuration(unit) + " in duration " +
                                                GoQuoteDuration(orig));
    }
    if (v > kMax / mult) return invalid();
    v *= mult;
    if (frac > 0) {
      v += static_cast<std::uint64_t>(static_cast<double>(frac) * (static_cast<double>(mult) / scale));
      if (v > kMax) return invalid();
    }
    total += v;
    if (total > kMax) return invalid();
  }
  if (total == kMax && !neg) return invalid();
  const auto signed_total = total == kMax ? std::numeric_limits<std::int64_t>::min()
                                          : static_cast<std::int64_t>(total);
  return std::chrono::nanoseconds(neg && total != kMax ? -signed_total : signed_total);
}

std::string FormatGoDuration(std::chrono::nanoseconds d) {
  std::int64_t n = d.count();
  if (n == 0) return "0s";
  const bool neg = n < 0;
  std::uint64_t u = neg ? static_cast<std::uint64_t>(0) - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  // Go's fmtFrac: the fraction of u below 10^prec without trailing zeros.
  auto frac = [](std::uint64_t value, int prec, std::string* out) {
    std::string digits;
    bool print = false;
    for (int i = 0; i < prec; ++i) {
      const auto digit = static_cast<char>('0' + value % 10);
      print = print || digit != '0';
      if (print) digits.insert(digits.begin(), digit);
      value /= 10;
    }
    if (print) *out = "." + digits;
    return value;
  };
  std::string out;
  if (u < 1000000000ULL) {
    std::string unit;
    int prec = 0;
    if (u < 1000) {
      unit = "ns";
    } else if (u < 1000000) {
      unit = "\xC2\xB5s";
      prec = 3;
    } else {
      unit = "ms";
      prec = 6;
    }
    std::string f;
    const std::uint64_t whole = frac(u, prec, &f);
    out = std::to_string(whole) + f + unit;
  } else {
    std::string f;
    std::uint64_t secs = frac(u, 9, &f);
    out = std::to_string(secs % 60) + f + "s";
    secs /= 60;
    if (secs > 0) {
      out = std::to_string(secs % 60) + "m" + out;
      secs /= 60;
      if (secs > 0) out = std::to_string(secs) + "h" + out;
    }
  }
  return neg ? "-" + out : out;
}

std::string SecretKeyProblem(std::string_view key) {
  if (key.empty()) return "a Secret key must not be empty";
  if (key.size() > 253) return "a Secret key must be no more than 253 characters";
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) {
      return "a valid Secret key must consist of alphanumeric characters, '-', '_' or '.' (\"" +
             std::string(key) + "\" is not)";
    }
  }
  if (key == ".") return "a Secret key must not be '.'";
  if (key == "..") return "a Secret key must not be '..'";
  if (key.starts_with("..")) return "a Secret key must not start with '..'";
  return "";
}

}  // namespace arca::op
