#pragma once
// KmsService: the KMS domain. Symmetric customer managed keys and the AWS managed keys
// (`alias/aws/secretsmanager`, `alias/aws/ssm`, created in a region on first use), aliases, key
// states (Enabled, Disabled, PendingDeletion), scheduled deletion, rotation (old material kept for
// decryption), tags, key policies, and the cryptographic operations with the encryption context
// bound as AAD. Key material is stored only sealed by the master keyring.
//
// Two kinds of callers:
// - the KMS API front-end (frontends/aws/kms.cpp, X-Amz-Target "TrentService.<Operation>"): one
//   method per operation, types in kms/types.h;
// - other domains (secrets/, params/) that encrypt under a key a client named: the `...For`
//   methods. They authorize the KMS action (kms:GenerateDataKey, kms:Decrypt, kms:Encrypt) on the
//   key with kms:ViaService = "<service>.<region>.amazonaws.com" and kms:EncryptionContext:<k>
//   keys, as KMS does when a service calls it for a client; AWS managed keys need no KMS permission
//   (the service's own permission is the check).
//
// Errors carry KMS's names as wire types (NotFoundException, DisabledException,
// KMSInvalidStateException, InvalidCiphertextException, IncorrectKeyException, ...) on the closest
// arca::Code; another domain maps them to its own API's errors.
//
// Thread-safety: all methods may be called concurrently; each runs in its own store transaction.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/result.h"
#include "core/secret_bytes.h"
#include "crypto/keyring.h"
#include "kms/types.h"
#include "store/store.h"

namespace arca::kms {

struct Context {
  std::string region;
  std::string request_id;
  std::string principal_arn;
  access::Gate* gate = &access::AllowAll::Instance();
};

// Key/value pairs; order does not matter (KMS compares them as a map).
using EncryptionContext = std::vector<std::pair<std::string, std::string>>;

struct ServiceOptions {
  std::string partition = "aws";
  std::string account_id = "000000000000";
  // The policy engine's check of key policies (CreateKey, PutKeyPolicy); nullptr: only JSON
  // well-formedness is checked (tests of other rules).
  const access::PolicyValidator* policy_validator = nullptr;
};

// A new data key: the plaintext (256 bits) and the KMS ciphertext blob that decrypts to it.
struct DataKey {
  SecretBytes plaintext;
  std::string blob;
  std::string key_arn;
};

class KmsService {
 public:
  KmsService(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
             ServiceOptions options);
  ~KmsService();

  // ---- for other domains ----
  //
  // Each of these takes an optional `txn`: when given, their reads (and ResolveKeyArn's creation of
  // an AWS managed key) happen in that transaction instead of a new one. A caller that is inside its
  // own write transaction MUST pass it (a second write transaction would wait for the first).

  // The ARN of the key that `key_ref` names in ctx.region: a key id, key ARN, alias name
  // ("alias/x") or alias ARN. An empty key_ref names `default_alias` ("alias/aws/secretsmanager"),
  // an AWS managed key that is created here on first use. kNotFound (NotFoundException) when
  // nothing matches. Does not check the key's state.
  Result<std::string> ResolveKeyArn(const Context& ctx, std::string_view key_ref,
                                    std::string_view default_alias,
                                    store::Transaction* txn = nullptr);
  // True for the AWS managed keys (alias/aws/...).
  Result<bool> IsAwsManaged(const std::string& key_arn, store::Transaction* txn = nullptr);

  // A new data key under `key_arn` (which must be Enabled), its blob bound to `ec`.
  // `via_service` is "secretsmanager" or "ssm".
  Result<DataKey> GenerateDataKeyFor(const Context& ctx, const std::string& key_arn,
                                     const EncryptionContext& ec, std::string_view via_service,
                                     store::Transaction* txn = nullptr);
  // Encrypts `plaintext` (any size) under `key_arn`; the blob is what Decrypt accepts.
  Result<std::string> EncryptFor(const Context& ctx, const std::string& key_arn,
                                 std::string_view plaintext, const EncryptionContext& ec,
                                 std::string_view via_service, store::Transaction* txn = nullptr);
  // Decrypts a blob made by this service (any key, any material version) with the same context.
  Result<SecretBytes> DecryptFor(const Context& ctx, std::string_view blob,
                                 const EncryptionContext& ec, std::string_view via_service,
                                 store::Transaction* txn = nullptr);
  // The ARN of the key a blob was made under, without decrypting; InvalidCiphertextException when
  // `blob` is not one of ours.
  Result<std::string> KeyArnOfBlob(std::string_view blob) const;

  // ---- background and maintenance ----

  // Deletes keys whose scheduled deletion date has passed; returns how many.
  Result<int> PurgeDeletedKeys();
  // Rotates keys whose automatic rotation is due (rotation period since the last rotation).
  Result<int> RotateDueKeys();
  // `arca server rekey`: rewraps every key's material with the keyring's current master version.
  Result<int> RewrapMaterials();

  // ---- the KMS API: see kms/types.h ----
  //
  // One method per operation of the KMS API (X-Amz-Target "TrentService.<Operation>"). Each asks
  // ctx.gate for kms:<Operation> on the key it acts on (the key's policy and resource keys), or on
  // "*" for CreateKey, ListKeys, ListAliases and GenerateRandom; alias operations also on the alias
  // ARN. AWS managed keys accept only the Describe/Get/List operations from a client (their key
  // policy allows nothing else directly): anything else is AccessDeniedException. Errors carry
  // KMS's names as wire types (see the header comment).

  Result<KeyMetadata> CreateKey(const Context& ctx, const CreateKeyInput& in);
  Result<KeyMetadata> DescribeKey(const Context& ctx, const KeyIdInput& in);
  Result<ListKeysOutput> ListKeys(const Context& ctx, const Page& in);
  Status UpdateKeyDescription(const Context& ctx, const UpdateKeyDescriptionInput& in);

  Status CreateAlias(const Context& ctx, const AliasInput& in);
  Status UpdateAlias(const Context& ctx, const AliasInput& in);
  Status DeleteAlias(const Context& ctx, const DeleteAliasInput& in);
  Result<ListAliasesOutput> ListAliases(const Context& ctx, const ListAliasesInput& in);

  Status EnableKey(const Context& ctx, const KeyIdInput& in);
  Status DisableKey(const Context& ctx, const KeyIdInput& in);
  Result<ScheduleKeyDeletionOutput> ScheduleKeyDeletion(const Context& ctx,
                                                        const ScheduleKeyDeletionInput& in);
  // Returns the key ARN; the key is Disabled afterwards, as in AWS.
  Result<std::string> CancelKeyDeletion(const Context& ctx, const KeyIdInput& in);

  Status EnableKeyRotation(const Context& ctx, const EnableKeyRotationInput& in);
  Status DisableKeyRotation(const Context& ctx, const KeyIdInput& in);
  Result<KeyRotationStatus> GetKeyRotationStatus(const Context& ctx, const KeyIdInput& in);
  // Adds a material version now; returns the key ARN. At most 10 per key (LimitExceededException).
  Result<std::string> RotateKeyOnDemand(const Context& ctx, const KeyIdInput& in);
  Result<ListKeyRotationsOutput> ListKeyRotations(const Context& ctx, const ListKeyRotationsInput& in);

  Result<EncryptOutput> Encrypt(const Context& ctx, const EncryptInput& in);
  Result<DecryptOutput> Decrypt(const Context& ctx, const DecryptInput& in);
  Result<ReEncryptOutput> ReEncrypt(const Context& ctx, const ReEncryptInput& in);
  Result<GenerateDataKeyOutput> GenerateDataKey(const Context& ctx, const GenerateDataKeyInput& in);
  Result<GenerateDataKeyOutput> GenerateDataKeyWithoutPlaintext(const Context& ctx,
                                                                const GenerateDataKeyInput& in);
  Result<SecretBytes> GenerateRandom(const Context& ctx, const GenerateRandomInput& in);

  Status TagResource(const Context& ctx, const TagResourceInput& in);
  Status UntagResource(const Context& ctx, const UntagResourceInput& in);
  Result<ListResourceTagsOutput> ListResourceTags(const Context& ctx, const ListResourceTagsInput& in);

  Result<GetKeyPolicyOutput> GetKeyPolicy(const Context& ctx, const GetKeyPolicyInput& in);
  Status PutKeyPolicy(const Context& ctx, const PutKeyPolicyInput& in);
  Result<ListKeyPoliciesOutput> ListKeyPolicies(const Context& ctx, const ListKeyPoliciesInput& in);

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace arca::kms
