#pragma once
// Typed inputs and outputs of the KMS API (botocore's kms 2014-11-01 model) as the domain sees
// them: no JSON, no base64. Blobs (CiphertextBlob) are raw bytes in std::string; plaintexts are
// SecretBytes. An absent optional means "not given" (input) or "not shown" (output). Key ids in
// outputs are what AWS returns there (the key ARN for most operations, the bare id where AWS
// answers with it).
//
// Thread-safety: value types.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/secret_bytes.h"

namespace arca::kms {

// Key/value pairs; order does not matter (KMS compares them as a map). Also declared in service.h.
using EncryptionContext = std::vector<std::pair<std::string, std::string>>;

struct Tag {
  std::string key;    // TagKey
  std::string value;  // TagValue
};

// KeyMetadata (CreateKey, DescribeKey).
struct KeyMetadata {
  std::string aws_account_id;
  std::string key_id;
  std::string arn;
  TimePoint creation_date;
  bool enabled = false;
  std::string description;
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_state;  // Enabled | Disabled | PendingDeletion
  std::optional<TimePoint> deletion_date;
  std::string origin = "AWS_KMS";
  std::string key_manager;  // AWS | CUSTOMER
  std::string key_spec = "SYMMETRIC_DEFAULT";  // also CustomerMasterKeySpec
  std::vector<std::string> encryption_algorithms{"SYMMETRIC_DEFAULT"};
  bool multi_region = false;
  std::optional<std::int64_t> pending_deletion_window_in_days;
  std::string current_key_material_id;  // 64 hex digits
};

// ---- operations -------------------------------------------------------------------------------

struct KeyIdInput {
  std::string key_id;  // key id, key ARN, alias name or alias ARN (as the operation allows)
};

struct CreateKeyInput {
  std::optional<std::string> policy;
  std::optional<std::string> description;
  std::optional<std::string> key_usage;
  std::optional<std::string> customer_master_key_spec;
  std::optional<std::string> key_spec;
  std::optional<std::string> origin;
  std::optional<std::string> custom_key_store_id;
  std::optional<std::string> xks_key_id;
  bool bypass_policy_lockout_safety_check = false;
  std::vector<Tag> tags;
  std::optional<bool> multi_region;
};

// Paging of the List* operations: Limit and Marker.
struct Page {
  std::optional<std::int64_t> limit;
  std::optional<std::string> marker;
};

struct KeyListEntry {
  std::string key_id;
  std::string key_arn;
};
struct ListKeysOutput {
  std::vector<KeyListEntry> keys;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

struct AliasListEntry {
  std::string alias_name;
  std::string alias_arn;
  std::optional<std::string> target_key_id;  // absent: a predefined AWS alias with no key yet
  std::optional<TimePoint> creation_date;
  std::optional<TimePoint> last_updated_date;
};
struct ListAliasesInput {
  std::optional<std::string> key_id;
  Page page;
};
struct ListAliasesOutput {
  std::vector<AliasListEntry> aliases;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

// CreateAlias and UpdateAlias.
struct AliasInput {
  std::string alias_name;
  std::string target_key_id;
};
struct DeleteAliasInput {
  std::string alias_name;
};

struct ScheduleKeyDeletionInput {
  std::string key_id;
  std::optional<std::int64_t> pending_window_in_days;
};
struct ScheduleKeyDeletionOutput {
  std::string key_id;  // the key ARN
  TimePoint deletion_date;
  std::string key_state;
  std::int64_t pending_window_in_days = 30;
};

struct EnableKeyRotationInput {
  std::string key_id;
  std::optional<std::int64_t> rotation_period_in_days;
};
struct KeyRotationStatus {
  std::string key_id;  // the key ARN
  bool key_rotation_enabled = false;
  std::optional<std::int64_t> rotation_period_in_days;
  std::optional<TimePoint> next_rotation_date;
  std::optional<TimePoint> on_demand_rotation_start_date;
};

struct ListKeyRotationsInput {
  std::string key_id;
  std::optional<std::string> include_key_material;  // ALL_KEY_MATERIAL | ROTATIONS_ONLY
  Page page;
};
struct RotationsListEntry {
  std::string key_id;
  std::string key_material_id;
  std::string key_material_state;  // CURRENT | NON_CURRENT
  std::optional<TimePoint> rotation_date;
  std::optional<std::string> rotation_type;  // AUTOMATIC | ON_DEMAND; absent for the first material
};
struct ListKeyRotationsOutput {
  std::vector<RotationsListEntry> rotations;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

struct EncryptInput {
  std::string key_id;
  SecretBytes plaintext;
  EncryptionContext encryption_context;
  std::optional<std::string> encryption_algorithm;
  std::vector<std::string> grant_tokens;
  bool dry_run = false;
};
struct EncryptOutput {
  std::string ciphertext_blob;  // raw bytes
  std::string key_id;           // the key ARN
  std::string encryption_algorithm = "SYMMETRIC_DEFAULT";
};

struct DecryptInput {
  std::string ciphertext_blob;  // raw bytes
  EncryptionContext encryption_context;
  std::optional<std::string> key_id;
  std::optional<std::string> encryption_algorithm;
  std::vector<std::string> grant_tokens;
  bool dry_run = false;
};
struct DecryptOutput {
  std::string key_id;  // the key ARN
  SecretBytes plaintext;
  std::string encryption_algorithm = "SYMMETRIC_DEFAULT";
  std::string key_material_id;
};

struct ReEncryptInput {
  std::string ciphertext_blob;
  EncryptionContext source_encryption_context;
  std::optional<std::string> source_key_id;
  std::string destination_key_id;
  EncryptionContext destination_encryption_context;
  std::optional<std::string> source_encryption_algorithm;
  std::optional<std::string> destination_encryption_algorithm;
  std::vector<std::string> grant_tokens;
  bool dry_run = false;
};
struct ReEncryptOutput {
  std::string ciphertext_blob;
  std::string source_key_id;  // ARN
  std::string key_id;         // ARN of the destination key
  std::string source_encryption_algorithm = "SYMMETRIC_DEFAULT";
  std::string destination_encryption_algorithm = "SYMMETRIC_DEFAULT";
  std::string source_key_material_id;
  std::string destination_key_material_id;
};

// GenerateDataKey and GenerateDataKeyWithoutPlaintext.
struct GenerateDataKeyInput {
  std::string key_id;
  EncryptionContext encryption_context;
  std::optional<std::int64_t> number_of_bytes;
  std::optional<std::string> key_spec;  // AES_256 | AES_128
  std::vector<std::string> grant_tokens;
  bool dry_run = false;
};
struct GenerateDataKeyOutput {
  std::string ciphertext_blob;
  SecretBytes plaintext;  // empty for GenerateDataKeyWithoutPlaintext
  std::string key_id;     // ARN
  std::string key_material_id;
};

struct GenerateRandomInput {
  std::optional<std::int64_t> number_of_bytes;
  std::optional<std::string> custom_key_store_id;
};

struct TagResourceInput {
  std::string key_id;
  std::vector<Tag> tags;
};
struct UntagResourceInput {
  std::string key_id;
  std::vector<std::string> tag_keys;
};
struct ListResourceTagsInput {
  std::string key_id;
  Page page;
};
struct ListResourceTagsOutput {
  std::vector<Tag> tags;
  std::optional<std::string> next_marker;
  bool truncated = false;
};

struct UpdateKeyDescriptionInput {
  std::string key_id;
  std::string description;
};

struct GetKeyPolicyInput {
  std::string key_id;
  std::optional<std::string> policy_name;
};
struct GetKeyPolicyOutput {
  std::string policy;
  std::string policy_name = "default";
};
struct PutKeyPolicyInput {
  std::string key_id;
  std::optional<std::string> policy_name;
  std::string policy;
  bool bypass_policy_lockout_safety_check = false;
};
struct ListKeyPoliciesInput {
  std::string key_id;
  Page page;
};
struct ListKeyPoliciesOutput {
  std::vector<std::string> policy_names;
  bool truncated = false;
};

}  // namespace arca::kms
