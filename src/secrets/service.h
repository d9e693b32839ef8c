#pragma once
// SecretsService: the Secrets Manager domain. Every rule of the API (names and ids, versions and
// staging labels, idempotency, limits, soft deletion, replicas, tags, resource policies, rotation
// configuration) lives here once; front-ends only translate to and from it.
//
// Errors use arca::Code; the message is the one AWS sends for the same case.
//
// Thread-safety: all methods may be called concurrently; each runs in its own store transaction.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "crypto/keyring.h"
#include "kms/service.h"
#include "secrets/types.h"
#include "store/store.h"

namespace arca::secrets {

// The additional authenticated data that binds a version's sealed value to its secret's ARN and its
// version id: a ciphertext moved to another row does not open. `arca server rekey` uses it too.
std::string ValueAad(const store::SecretRow& secret, const store::VersionRow& version);

// One rotation as the rotation engine sees it (src/rotation/): which secret, which rotator, which
// version, which step runs next. Metadata only.
struct RotationWork {
  std::string arn;
  std::string region;
  std::string name;
  std::string lambda_arn;  // RotationLambdaARN: names the rotator
  std::string token;       // ClientRequestToken = the new version's id
  std::string step;        // createSecret | setSecret | testSecret | finishSecret
  std::int64_t attempts = 0;
  bool fresh = false;      // no step has run or failed yet (the engine announces RotationStarted)
};

// The steps of a rotation, in order (AWS's rotation function protocol).
inline constexpr const char* kRotationSteps[] = {"createSecret", "setSecret", "testSecret",
                                                 "finishSecret"};

struct ServiceOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
  // The policy engine's check of resource policies (Put/ValidateResourcePolicy); nullptr only in
  // tests of other rules.
  const access::PolicyValidator* policy_validator = nullptr;
  // Customer managed keys: a secret whose KmsKeyId names a key other than the AWS managed
  // aws/secretsmanager has each version's data key generated and wrapped by that KMS key (encryption
  // context SecretARN + SecretVersionId, as Secrets Manager uses). The default key, and every key
  // when this is nullptr (tests of other rules), is the master keyring's envelope.
  kms::KmsService* kms = nullptr;
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

  // The change stream: changes after in.after to secrets of ctx.region that the caller may
  // describe (secretsmanager:DescribeSecret on the secret as it is now, asked with
  // Gate::CheckQuietly, so a filtered-out change is no denial), oldest first. The call authorizes
  // no action of its own: any authenticated caller may follow the changes it may see. Examines at
  // most a few thousand rows per call (`more` says when it stopped early).
  Result<ListChangesOutput> ListChanges(const Context& ctx, const ListChangesInput& in);
  // The newest change sequence (cheap; the long-poll's wake-up check).
  std::uint64_t LatestChange() const;
  // Subscribes to commits that wrote change rows (store::Store::OnCommit, same rules).
  std::uint64_t OnChange(store::CommitListener listener);
  void RemoveOnChange(std::uint64_t id);

  // Background work: removes secrets whose recovery window has ended. Returns how many.
  Result<int> PurgeExpired();
  // Background work: removes change rows older than `max_age`, keeping at least the newest
  // `keep_at_least`. Returns how many went.
  Result<int> PruneChanges(std::chrono::milliseconds max_age, std::int64_t keep_at_least);

  // ---- the rotation engine's operations (src/rotation/engine.h); time from the Clock ----
  //
  // The rotations that may run now: in progress, next attempt due, lease free or expired. An
  // enabled schedule whose window has opened (RotationSchedule::NextWindow from the last rotation,
  // or the creation) starts a new rotation here first. At most `limit` entries.
  // `take_over`: leases held by other owners count as free (the caller runs rotations for every
  // replica sharing the store and holds the store lease that says so; see server/leases.h).
  Result<std::vector<RotationWork>> FindDueRotations(std::size_t limit, bool take_over = false);
  // Takes the lease on the rotation of `arn` for `owner` until now + `lease` (compare-and-set in
  // one write transaction). nullopt when another owner holds an unexpired lease, when nothing is in
  // progress or when its next attempt is not due. The owner that holds the lease may renew it.
  Result<std::optional<RotationWork>> ClaimRotation(const std::string& arn, const std::string& owner,
                                                    std::chrono::milliseconds lease,
                                                    bool take_over = false);
  // Records that `work.step` succeeded and moves to the next step, renewing the lease. After
  // finishSecret: checks AWSCURRENT is on the token's version (kInvalidRequest otherwise), removes
  // AWSPENDING, sets LastRotatedDate and clears the rotation. Returns true when the rotation is
  // finished. kPreconditionNotMet when `owner` no longer holds this rotation (cancelled, or the
  // lease expired and another engine took it).
  Result<bool> CompleteRotationStep(const RotationWork& work, const std::string& owner,
                                    std::chrono::milliseconds lease);
  // Records a failed step: the error (a message, never a value), one more attempt, the next one
  // after a backoff of `first_backoff` (30 s by default) doubling to at most 1 h (or
  // `first_backoff` when longer); releases the lease. Returns the next attempt.
  Result<TimePoint> FailRotationStep(const RotationWork& work, const std::string& owner,
                                     const std::string& error,
                                     std::chrono::milliseconds first_backoff =
                                         std::chrono::milliseconds(30'000));
  // Gives the lease back without recording anything (the engine stops between steps).
  Status ReleaseRotation(const RotationWork& work, const std::string& owner);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace arca::secrets
