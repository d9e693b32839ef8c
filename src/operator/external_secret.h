#pragma once
// ESO's ExternalSecret, SecretStore and ClusterSecretStore (API group external-secrets.io, versions
// v1beta1 and v1) as plain structs, parsed from YAML or JSON and validated with messages that name
// the field ("spec.data[2].remoteRef.key is required"): what the operator puts in an invalid
// ExternalSecret's status and what `arca sync` prints. The field names are those of
// deploy/crds/*.yaml; absent enums mean ESO's defaults.
//
// Thread-safety: plain values; the free functions have no shared state.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::op {

inline constexpr std::string_view kGroup = "external-secrets.io";

enum class DecodingStrategy { kNone, kBase64, kBase64Url, kAuto };
enum class ConversionStrategy { kDefault, kUnicode };
enum class MetadataPolicy { kNone, kFetch };
enum class NullBytePolicy { kIgnore, kFail };
enum class CreationPolicy { kOwner, kOrphan, kMerge, kNone, kCreateOrMerge };
enum class DeletionPolicy { kRetain, kDelete, kMerge };
enum class TemplateMergePolicy { kReplace, kMerge };
enum class RefreshPolicy { kPeriodic, kCreatedOnce, kOnChange };

std::string_view Name(CreationPolicy p);
std::string_view Name(DeletionPolicy p);

// spec.secretStoreRef, or a data entry's sourceRef.storeRef.
struct StoreRef {
  std::string kind = "SecretStore";  // or ClusterSecretStore
  std::string name;
  bool operator==(const StoreRef&) const = default;
};

// remoteRef (spec.data[]) and dataFrom[].extract share this shape.
struct RemoteRef {
  std::string key;
  std::string property;
  std::string version;
  DecodingStrategy decoding = DecodingStrategy::kNone;
  ConversionStrategy conversion = ConversionStrategy::kDefault;
  MetadataPolicy metadata = MetadataPolicy::kNone;
  NullBytePolicy null_bytes = NullBytePolicy::kIgnore;
};

struct DataEntry {
  std::string secret_key;
  RemoteRef remote_ref;
  std::optional<StoreRef> store;  // sourceRef.storeRef
};

struct FindSpec {
  std::optional<std::string> path;
  std::optional<std::string> name_regexp;  // find.name.regexp
  std::map<std::string, std::string> tags;
  DecodingStrategy decoding = DecodingStrategy::kNone;
  ConversionStrategy conversion = ConversionStrategy::kDefault;
  NullBytePolicy null_bytes = NullBytePolicy::kIgnore;
};

struct Rewrite {
  enum class Kind { kRegexp, kTransform };
  Kind kind = Kind::kRegexp;
  std::string source;  // regexp.source
  std::string target;  // regexp.target
  std::string templ;   // transform.template
};

struct DataFromEntry {
  std::optional<RemoteRef> extract;
  std::optional<FindSpec> find;
  std::vector<Rewrite> rewrite;
  std::optional<StoreRef> store;  // sourceRef.storeRef
};

struct TemplateSpec {
  std::string type;  // empty: the Secret keeps its type (Opaque when created)
  TemplateMergePolicy merge = TemplateMergePolicy::kReplace;
  std::map<std::string, std::string> data;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct TargetSpec {
  std::string name;  // defaults to the ExternalSecret's name
  CreationPolicy creation = CreationPolicy::kOwner;
  DeletionPolicy deletion = DeletionPolicy::kRetain;
  bool immutable = false;
  std::optional<TemplateSpec> templ;
};

struct ExternalSecret {
  std::string api_version;
  std::string name;
  std::string namespace_;  // empty when the manifest has none
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<StoreRef> store;  // spec.secretStoreRef
  std::chrono::nanoseconds refresh_interval = std::chrono::hours(1);  // 0: sync once
  RefreshPolicy refresh_policy = RefreshPolicy::kPeriodic;
  TargetSpec target;
  std::vector<DataEntry> data;
  std::vector<DataFromEntry> data_from;
};

// A Kubernetes SecretKeySelector (name, key, namespace).
struct SecretKeyRef {
  std::string name;
  std::string key;
  std::string namespace_;
};

struct StoreAuth {
  std::optional<SecretKeyRef> access_key_id;      // auth.secretRef.accessKeyIDSecretRef
  std::optional<SecretKeyRef> secret_access_key;  // auth.secretRef.secretAccessKeySecretRef
  std::optional<SecretKeyRef> session_token;      // auth.secretRef.sessionTokenSecretRef
  std::optional<std::string> service_account;     // auth.jwt.serviceAccountRef.name
  std::string service_account_namespace;
  std::vector<std::string> audiences;
};

struct CaProvider {
  std::string type;  // Secret or ConfigMap
  std::string name;
  std::string key;
  std::string namespace_;
};

struct SecretStore {
  std::string kind;  // SecretStore or ClusterSecretStore
  std::string name;
  std::string namespace_;
  // The provider: "aws" or "arca"; another ESO provider's name is kept so that using it can say so.
  std::string provider;
  std::string service;  // aws: SecretsManager or ParameterStore; arca: SecretsManager
  std::string region;
  std::string role;
  std::string external_id;
  std::string prefix;
  std::string server;     // arca: the server's URL
  std::string ca_bundle;  // arca: PEM (decoded from caBundle's base64)
  std::optional<CaProvider> ca_provider;
  StoreAuth auth;
};

// A v1 Secret or ConfigMap in the same file: where `arca sync` finds a store's access keys
// (auth.secretRef) and CA (caProvider) without Kubernetes.
struct KubeObject {
  std::string kind;  // Secret or ConfigMap
  std::string name;
  std::string namespace_;
  std::map<std::string, SecretBytes> data;  // Secret: data (base64-decoded) then stringData
};

// Every object of a multi-document file. Documents of other kinds are listed in `ignored`.
struct Manifests {
  std::vector<ExternalSecret> external_secrets;
  std::vector<SecretStore> stores;
  std::vector<KubeObject> objects;
  std::vector<std::string> ignored;   // "document 3: Deployment shop/web"
  std::vector<std::string> errors;    // one line per invalid document, naming it and the field
  std::vector<std::string> warnings;  // unknown fields (ignored, as Kubernetes prunes them)
};

// Parses a YAML (or JSON) stream of `---`-separated documents (`kind: List` items too).
// kInvalidParameter only when the YAML itself is malformed; an invalid object is reported in
// Manifests::errors and left out.
Result<Manifests> ParseManifests(std::string_view yaml);

// One ExternalSecret document (YAML or JSON, e.g. the API server's object). kInvalidParameter with
// the first problem found; `warnings` (when given) receives unknown fields.
Result<ExternalSecret> ParseExternalSecret(std::string_view text,
                                           std::vector<std::string>* warnings = nullptr);
// One SecretStore or ClusterSecretStore document.
Result<SecretStore> ParseSecretStore(std::string_view text,
                                     std::vector<std::string>* warnings = nullptr);

// Go's time.ParseDuration ("1h30m", "15m", "0.5s", "0"); kInvalidParameter otherwise.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view s);
// Go's Duration.String() ("1h0m0s", "15m0s", "500ms", "0s").
std::string FormatGoDuration(std::chrono::nanoseconds d);

// Kubernetes' Secret key rule: [-._a-zA-Z0-9]+, at most 253, not "." or "..", not starting "..".
// Empty when valid, else why not.
std::string SecretKeyProblem(std::string_view key);

}  // namespace arca::op
