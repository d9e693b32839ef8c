#pragma once
// ParamsService: the SSM Parameter Store domain. Every rule of the API lives here once (names and
// hierarchies, types, tiers and their size limits, versions and their 100-version history, labels,
// selectors, allowed patterns, parameter policies, tags, filters and paging); front-ends only
// translate to and from it.
//
// SecureString values are encrypted through kms/ (KmsService::EncryptFor under the key the client
// named, alias/aws/ssm by default, with the encryption context {"PARAMETER_ARN": arn} as SSM uses);
// only the KMS ciphertext blob is stored. String and StringList values are not secret and are stored
// as given.
//
// "/aws/reference/secretsmanager/NAME[:VERSION_ID|:LABEL]" with WithDecryption reads that Secrets
// Manager secret through the SecretsService (when one was given), as Parameter Store does.
//
// Errors use arca::Code with SSM's own error names as wire types (ParameterNotFound, ...) and the
// message AWS sends for the same case.
//
// Thread-safety: all methods may be called concurrently; each runs in its own store transaction.

#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "kms/service.h"
#include "params/types.h"
#include "secrets/service.h"
#include "store/store.h"

namespace arca::params {

struct ServiceOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
};

// The ARN of parameter `name` (the leading slash is not doubled):
// arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME.
std::string ParameterArn(const ServiceOptions& options, const std::string& region,
                         const std::string& name);

class ParamsService {
 public:
  // `secrets` may be null: then /aws/reference/secretsmanager/... names are ParameterNotFound.
  ParamsService(store::Store& store, kms::KmsService& kms, secrets::SecretsService* secrets,
                const Clock& clock, ServiceOptions options);

  Result<PutParameterOutput> PutParameter(const Context& ctx, PutParameterInput in);
  Result<Parameter> GetParameter(const Context& ctx, const GetParameterInput& in);
  Result<GetParametersOutput> GetParameters(const Context& ctx, const GetParametersInput& in);
  Result<GetParametersByPathOutput> GetParametersByPath(const Context& ctx,
                                                        const GetParametersByPathInput& in);
  Status DeleteParameter(const Context& ctx, const std::string& name);
  Result<DeleteParametersOutput> DeleteParameters(const Context& ctx,
                                                  const std::vector<std::string>& names);
  Result<DescribeParametersOutput> DescribeParameters(const Context& ctx,
                                                      const DescribeParametersInput& in);
  Result<GetParameterHistoryOutput> GetParameterHistory(const Context& ctx,
                                                        const GetParameterHistoryInput& in);
  Result<LabelParameterVersionOutput> LabelParameterVersion(const Context& ctx,
                                                            const LabelParameterVersionInput& in);
  Result<UnlabelParameterVersionOutput> UnlabelParameterVersion(
      const Context& ctx, const UnlabelParameterVersionInput& in);
  Status AddTagsToResource(const Context& ctx, const AddTagsInput& in);
  Status RemoveTagsFromResource(const Context& ctx, const RemoveTagsInput& in);
  Result<std::vector<Tag>> ListTagsForResource(const Context& ctx, const ResourceInput& in);

  // Background work: deletes the parameters whose Expiration policy has passed (in every region).
  // Returns how many. (Reads already treat an expired parameter as deleted.)
  Result<int> PurgeExpired();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace arca::params
