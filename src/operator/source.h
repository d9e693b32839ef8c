#pragma once
// SecretSource: what the ExternalSecret mapping (mapping.h) reads remote values through, one
// provider behind one SecretStore. aws_source.h implements it over the AWS Secrets Manager and SSM
// Parameter Store APIs (an Arca server speaks both); tests use an in-memory fake.
//
// Errors: kNotFound when the secret or the version does not exist (ESO's NoSecretErr, which
// deletionPolicy Delete and Merge skip); otherwise the provider's own (kAccessDenied,
// kUnavailable, ...). Messages name the key, never a value.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/secret_bytes.h"

namespace arca::op {

// dataFrom[].find: the secrets to list (at least one of name_regexp and tags is set).
struct FindQuery {
  std::optional<std::string> name_regexp;  // Go regexp, unanchored (find.name.regexp)
  std::map<std::string, std::string> tags;
  std::optional<std::string> path;
};

// Thread-safety: an instance serves one sync at a time (no internal synchronisation).
class SecretSource {
 public:
  virtual ~SecretSource() = default;

  // The value of `key` at `version` ("" the current one). Secrets Manager reads "uuid/<id>" as a
  // version id and anything else as a staging label (AWSCURRENT by default), as ESO's AWS provider
  // does; Parameter Store reads it as a version number or label ("name:version"). A binary secret
  // gives its bytes.
  virtual Result<SecretBytes> GetValue(const std::string& key, const std::string& version) = 0;

  // The secret's tags (remoteRef.metadataPolicy: Fetch).
  virtual Result<std::map<std::string, std::string>> GetTags(const std::string& key,
                                                             const std::string& version) = 0;

  // dataFrom[].find: each matching secret's name (as the provider spells it: "shop/prod/db",
  // "/shop/prod/db") and current value.
  virtual Result<std::map<std::string, SecretBytes>> Find(const FindQuery& query) = 0;

  // A hint that the current values of `keys` are about to be read (a sync's data and dataFrom.extract
  // entries): a source that can read several secrets in one call (Secrets Manager's
  // BatchGetSecretValue) does so here and serves the following GetValue calls from what it got.
  // Failures are not reported: the GetValue that follows reads on its own and says what is wrong.
  virtual void Prefetch(const std::vector<std::string>& keys) { (void)keys; }

  // For messages: "aws SecretsManager at http://127.0.0.1:8200 (us-east-1)".
  virtual std::string Describe() const = 0;
};

}  // namespace arca::op
