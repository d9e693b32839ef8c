#pragma once
// A SecretStore / ClusterSecretStore turned into the SecretSource that reads through it: the one
// place that knows what a store's fields mean (provider aws with service SecretsManager or
// ParameterStore, or arca; region, prefix, role with externalID; auth.secretRef access keys,
// auth.jwt.serviceAccountRef web identity, or the default identity; the arca provider's server and
// CA). `arca sync` resolves a store's references against the manifest file, the operator against the
// cluster: each passes its StoreContext.
//
// Namespaces of references, as ESO resolves them: a SecretStore's references are in its own
// namespace; a ClusterSecretStore's use the namespace they name, else the ExternalSecret's.
//
// Thread-safety: free functions; a StoreContext is used by one sync at a time.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "client/aws_client.h"
#include "client/credentials.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "operator/external_secret.h"
#include "operator/source.h"

namespace arca::op {

// A service account's token from the TokenRequest API, and the role its
// eks.amazonaws.com/role-arn annotation names ("" when none).
struct ServiceAccountToken {
  SecretBytes token;
  std::string role_arn;
};

class StoreContext {
 public:
  virtual ~StoreContext() = default;
  // The value of `key` in Secret `ns`/`name`. `field` names the store field for messages
  // ("auth.secretRef.accessKeyIDSecretRef"). kMissingAuthentication when it is not there.
  virtual Result<SecretBytes> SecretKey(const std::string& ns, const std::string& name, const std::string& key,
                                        const std::string& field) = 0;
  // caProvider: the PEM text in a Secret's or ConfigMap's key.
  virtual Result<std::string> CaBundle(const CaProvider& provider, const std::string& ns,
                                       const std::string& store) = 0;
  // auth.jwt.serviceAccountRef. kUnimplemented-like errors (kInvalidParameter) where there is no
  // cluster.
  virtual Result<ServiceAccountToken> Token(const std::string& ns, const std::string& name,
                                            const std::vector<std::string>& audiences) = 0;
  // Endpoint, region, CA and user agent for a service (`service_env`: "SECRETS_MANAGER", "SSM", "STS").
  virtual client::ClientOptions BaseOptions(std::string_view service_env) const = 0;
  // The identity used when a store gives no auth (the AWS credential chain).
  virtual Result<client::Credentials> DefaultCredentials(const client::ClientOptions& sts) = 0;
  // A note for the user, said once per distinct text.
  virtual void Note(const std::string& note) { (void)note; }
};

// A client signed with the store's identity, for its provider's service (Parameter Store for aws
// with service ParameterStore, Secrets Manager otherwise).
struct StoreClient {
  std::shared_ptr<const client::AwsClient> client;
  bool parameter_store = false;
  std::string description;  // "Secrets Manager at URL (REGION, SecretStore NAME)"
};

// The client for `store`, used by an ExternalSecret in `es_namespace`. kInvalidParameter for a
// provider other than aws and arca; the context's and STS's errors otherwise.
Result<StoreClient> ClientForStore(const SecretStore& store, const std::string& es_namespace, StoreContext& ctx,
                                   std::string_view session_prefix);

// The source reading through ClientForStore's client.
Result<std::unique_ptr<SecretSource>> SourceForStore(const SecretStore& store, const std::string& es_namespace,
                                                     StoreContext& ctx, std::string_view session_prefix);
std::unique_ptr<SecretSource> SourceForClient(const StoreClient& client, const std::string& prefix);

// The namespace of a reference made by `store` (see above).
std::string ReferenceNamespace(const SecretStore& store, const std::string& named, const std::string& es_namespace);

// STS AssumeRole with `base` credentials: `role` (and `external_id` when set), session
// "<session_prefix>-<unix time>".
Result<client::Credentials> AssumeRole(const client::ClientOptions& sts, client::Credentials base,
                                       const std::string& role, const std::string& external_id,
                                       std::string_view session_prefix);

}  // namespace arca::op
