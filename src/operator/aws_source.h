#pragma once
// SecretSources over the AWS JSON 1.1 APIs, with ESO's AWS provider semantics
// (providers/v1/aws/{secretsmanager,parameterstore} in external-secrets):
//
//   Secrets Manager  GetSecretValue (VersionId for "uuid/<id>", else VersionStage, default
//                    AWSCURRENT; a secret scheduled for deletion counts as absent), DescribeSecret for
//                    tags; find by name: ListSecrets then GetSecretValue per match, or with a path
//                    BatchGetSecretValue filtered by name prefix; find by tags: BatchGetSecretValue
//                    with tag-key / tag-value filters.
//   Parameter Store  GetParameter WithDecryption ("name:version"), ListTagsForResource for tags;
//                    find by name: GetParametersByPath (path, default "/", recursive, decrypted)
//                    filtered by the regexp, falling back to DescribeParameters + GetParameter when
//                    GetParametersByPath is denied; find by tags: DescribeParameters with
//                    "tag:KEY" Equals filters (and the path, recursive), then GetParameter each.
//
// A store's `prefix` is prepended to every key read by GetValue / GetTags (not to find results).
//
// Thread-safety: not thread-safe (one sync at a time), like SecretSource.

#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "client/aws_client.h"
#include "core/result.h"
#include "operator/source.h"

namespace arca::op {

// One API call: the operation ("GetSecretValue") and its request; the response object.
using JsonCall =
    std::function<Result<boost::json::object>(std::string_view operation, const boost::json::object& request)>;

// Calls through `client`: X-Amz-Target "<target_prefix>.<operation>" ("secretsmanager",
// "AmazonSSM"), signed for `service` ("secretsmanager", "ssm").
JsonCall ClientCall(std::shared_ptr<const client::AwsClient> client, std::string service,
                    std::string target_prefix);

std::unique_ptr<SecretSource> NewSecretsManagerSource(JsonCall call, std::string prefix,
                                                      std::string description);
std::unique_ptr<SecretSource> NewParameterStoreSource(JsonCall call, std::string prefix,
                                                      std::string description);

}  // namespace arca::op
