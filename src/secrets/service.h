#pragma once
// SecretsService: the Secrets Manager domain. Every rule of the API (names and ids, versions and
// staging labels, idempotency, limits, soft deletion, replicas, tags, resource policies, rotation
// configuration) lives here once; front-ends only translate to and from it.
//
// Errors use arca::Code; the message is the one AWS sends for the same case.
//
// Thread-safety: all methods may be called concurrently; each runs in its own store transaction.

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "secrets/types.h"
#include "store/store.h"

namespace arca::secrets {

// The additional authenticated data that binds a version's sealed value to its secret's ARN and its
// version id: a ciphertext moved to another row does not open. `arca server rekey` uses it too.
std::string ValueAad(const store::SecretRow& secret, const store::VersionRow& version);

struct ServiceOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
  // The policy engine's check of resource policies (Put/ValidateResourcePolicy); nullptr only in
  // tests of other rules.
  const access::PolicyValidator* policy_validator = nullptr;
};

class SecretsService {
 public:
  SecretsService(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
                 ServiceOptions options);

  Result<CreateSecretOutput> CreateSecret(const Context& ctx, CreateSecretInput in);
  Result<SecretValueOutput> GetSecretValue(const Context& ctx, const GetSecretValueInput& in);
  Result<PutSecretValueOutput> PutSecretValue(const Context& ctx, PutSecretValueInput in);
  Result<UpdateSecretOutput> UpdateSecret(const Context& ctx, UpdateSecretInput in);
  Result<ArnNameOutput> UpdateSecretVersionStage(const Context& ctx,
                                                 const UpdateSecretVersionStageInput& in);
  Result<SecretDescription> DescribeSecret(const Context& ctx, const SecretIdInput& in);
  Result<ListSecretsOutput> ListSecrets(const Context& ctx, const ListSecretsInput& in);
  Result<ListSecretVersionIdsOutput> ListSecretVersionIds(const Context& ctx,
                                                          const ListSecretVersionIdsInput& in);
  Result<BatchGetSecretValueOutput> BatchGetSecretValue(const Context& ctx,
                                                        const BatchGetSecretValueInput& in);
  Result<DeleteSecretOutput> DeleteSecret(const Context& ctx, const DeleteSecretInput& in);
  Result<ArnNameOutput> RestoreSecret(const Context& ctx, const SecretIdInput& in);
  Result<std::string> GetRandomPassword(const Context& ctx, const GetRandomPasswordInput& in);
  Status TagResource(const Context& ctx, const TagResourceInput& in);
  Status UntagResource(const Context& ctx, const UntagResourceInput& in);
  Result<ArnNameOutput> PutResourcePolicy(const Context& ctx, const PutResourcePolicyInput& in);
  Result<GetResourcePolicyOutput> GetResourcePolicy(const Context& ctx, const SecretIdInput& in);
  Result<ArnNameOutput> DeleteResourcePolicy(const Context& ctx, const SecretIdInput& in);
  Result<ValidateResourcePolicyOutput> ValidateResourcePolicy(const Context& ctx,
                                                              const ValidateResourcePolicyInput& in);
  Result<RotateSecretOutput> RotateSecret(const Context& ctx, const RotateSecretInput& in);
  Result<CancelRotateSecretOutput> CancelRotateSecret(const Context& ctx, const SecretIdInput& in);
  Result<ReplicationOutput> ReplicateSecretToRegions(const Context& ctx,
                                                     const ReplicateSecretToRegionsInput& in);
  Result<ReplicationOutput> RemoveRegionsFromReplication(const Context& ctx,
                                                         const RemoveRegionsFromReplicationInput& in);
  Result<StopReplicationToReplicaOutput> StopReplicationToReplica(const Context& ctx,
                                                                  const SecretIdInput& in);

  // Background work: removes secrets whose recovery window has ended. Returns how many.
  Result<int> PurgeExpired();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace arca::secrets
