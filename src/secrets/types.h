#pragma once
// Typed inputs and outputs of the Secrets Manager domain. They mirror the API's shapes (botocore's
// secretsmanager 2017-10-17 model) but know nothing of JSON or HTTP: front-ends translate.
// An absent optional means "not given" (input) or "not shown" (output).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/secret_bytes.h"
#include "store/store.h"

namespace arca::secrets {

// Who is asking, and where: every operation runs in one region of one account.
struct Context {
  std::string region;        // from the request's SigV4 credential scope
  std::string request_id;
  std::string principal_arn;  // for records
  // Asked before each action on each secret. NOTE(lead): allow-all until the authorizer is wired.
  access::Gate* gate = &access::AllowAll::Instance();
};

struct Tag {
  std::string key;
  std::string value;
};

struct RotationRules {
  std::optional<std::int64_t> automatically_after_days;
  std::optional<std::string> duration;
  std::optional<std::string> schedule_expression;
};

struct ExternalRotationMetadataItem {
  std::string key;
  std::string value;
};

struct ReplicaRegionInput {
  std::string region;
  std::optional<std::string> kms_key_id;
};

struct ReplicationStatus {
  std::string region;
  std::optional<std::string> kms_key_id;
  std::string status;  // InSync | Failed | InProgress
  std::optional<std::string> status_message;
  std::optional<TimePoint> last_accessed_date;
};

// A caller-supplied value: exactly one of the two, or neither when the operation allows it.
struct SecretValue {
  std::optional<SecretBytes> string;  // SecretString (UTF-8 text)
  std::optional<SecretBytes> binary;  // SecretBinary, already base64-decoded
};

struct Filter {
  std::string key;  // description | name | tag-key | tag-value | primary-region | owning-service | all
  std::vector<std::string> values;
};

// ---- operations -------------------------------------------------------------------------------

struct CreateSecretInput {
  std::string name;
  std::optional<std::string> client_request_token;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  SecretValue value;
  std::optional<std::vector<Tag>> tags;
  std::vector<ReplicaRegionInput> add_replica_regions;
  bool force_overwrite_replica_secret = false;
  std::optional<std::string> type;
};
struct CreateSecretOutput {
  std::string arn;
  std::string name;
  std::optional<std::string> version_id;
  std::vector<ReplicationStatus> replication_status;
};

struct SecretIdInput {
  std::string secret_id;  // name, full ARN or partial ARN
};
struct ArnNameOutput {
  std::string arn;
  std::string name;
};

struct GetSecretValueInput {
  std::string secret_id;
  std::optional<std::string> version_id;
  std::optional<std::string> version_stage;
};
struct SecretValueOutput {
  std::string arn;
  std::string name;
  std::string version_id;
  std::optional<SecretBytes> secret_string;
  std::optional<SecretBytes> secret_binary;
  std::vector<std::string> version_stages;
  TimePoint created_date;
};

struct PutSecretValueInput {
  std::string secret_id;
  std::optional<std::string> client_request_token;
  SecretValue value;
  std::optional<std::vector<std::string>> version_stages;
  std::optional<std::string> rotation_token;
};
struct PutSecretValueOutput {
  std::string arn;
  std::string name;
  std::string version_id;
  std::vector<std::string> version_stages;
};

struct UpdateSecretInput {
  std::string secret_id;
  std::optional<std::string> client_request_token;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  SecretValue value;
  std::optional<std::string> type;
};
struct UpdateSecretOutput {
  std::string arn;
  std::string name;
  std::optional<std::string> version_id;  // only when a new version was made
};

struct UpdateSecretVersionStageInput {
  std::string secret_id;
  std::string version_stage;
  std::optional<std::string> remove_from_version_id;
  std::optional<std::string> move_to_version_id;
};

struct DeleteSecretInput {
  std::string secret_id;
  std::optional<std::int64_t> recovery_window_in_days;
  std::optional<bool> force_delete_without_recovery;
};
struct DeleteSecretOutput {
  std::string arn;
  std::string name;
  TimePoint deletion_date;
};

// DescribeSecret's output and ListSecrets' entries.
struct SecretDescription {
  std::string arn;
  std::string name;
  std::optional<std::string> type;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;
  std::optional<bool> rotation_enabled;
  std::optional<std::string> rotation_lambda_arn;
  std::optional<RotationRules> rotation_rules;
  std::vector<ExternalRotationMetadataItem> external_rotation_metadata;
  std::optional<std::string> external_rotation_role_arn;
  std::optional<TimePoint> last_rotated_date;
  std::optional<TimePoint> last_changed_date;
  std::optional<TimePoint> last_accessed_date;
  std::optional<TimePoint> deleted_date;
  std::optional<TimePoint> next_rotation_date;
  std::vector<Tag> tags;
  // version id -> labels; in DescribeSecret "VersionIdsToStages", in ListSecrets
  // "SecretVersionsToStages".
  std::vector<std::pair<std::string, std::vector<std::string>>> version_ids_to_stages;
  std::optional<std::string> owning_service;
  TimePoint created_date;
  std::optional<std::string> primary_region;
  std::vector<ReplicationStatus> replication_status;
};

struct ListSecretsInput {
  std::optional<bool> include_planned_deletion;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
  std::vector<Filter> filters;
  std::optional<std::string> sort_order;  // asc | desc
  std::optional<std::string> sort_by;     // created-date | last-accessed-date | last-changed-date | name
};
struct ListSecretsOutput {
  std::vector<SecretDescription> secrets;
  std::optional<std::string> next_token;
};

struct ListSecretVersionIdsInput {
  std::string secret_id;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
  std::optional<bool> include_deprecated;
};
struct SecretVersionEntry {
  std::string version_id;
  std::vector<std::string> version_stages;
  std::optional<TimePoint> last_accessed_date;
  TimePoint created_date;
  std::vector<std::string> kms_key_ids;
};
struct ListSecretVersionIdsOutput {
  std::string arn;
  std::string name;
  std::vector<SecretVersionEntry> versions;
  std::optional<std::string> next_token;
};

struct BatchGetSecretValueInput {
  std::optional<std::vector<std::string>> secret_id_list;
  std::vector<Filter> filters;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
};
struct BatchGetError {
  std::string secret_id;
  std::string error_code;  // the API's exception name, e.g. "ResourceNotFoundException"
  std::string message;
};
struct BatchGetSecretValueOutput {
  std::vector<SecretValueOutput> secret_values;
  std::vector<BatchGetError> errors;
  std::optional<std::string> next_token;
};

struct GetRandomPasswordInput {
  std::optional<std::int64_t> password_length;
  std::optional<std::string> exclude_characters;
  std::optional<bool> exclude_numbers;
  std::optional<bool> exclude_punctuation;
  std::optional<bool> exclude_uppercase;
  std::optional<bool> exclude_lowercase;
  std::optional<bool> include_space;
  std::optional<bool> require_each_included_type;
};

struct TagResourceInput {
  std::string secret_id;
  std::vector<Tag> tags;
};
struct UntagResourceInput {
  std::string secret_id;
  std::vector<std::string> tag_keys;
};

struct PutResourcePolicyInput {
  std::string secret_id;
  std::string resource_policy;
  std::optional<bool> block_public_policy;
};
struct GetResourcePolicyOutput {
  std::string arn;
  std::string name;
  std::optional<std::string> resource_policy;
};
struct ValidateResourcePolicyInput {
  std::optional<std::string> secret_id;
  std::string resource_policy;
};
struct ValidationError {
  std::string check_name;
  std::string error_message;
};
struct ValidateResourcePolicyOutput {
  bool passed = true;
  std::vector<ValidationError> errors;
};

struct RotateSecretInput {
  std::string secret_id;
  std::optional<std::string> client_request_token;
  std::optional<std::string> rotation_lambda_arn;
  std::optional<RotationRules> rotation_rules;
  std::optional<std::vector<ExternalRotationMetadataItem>> external_rotation_metadata;
  std::optional<std::string> external_rotation_role_arn;
  std::optional<bool> rotate_immediately;
};
struct RotateSecretOutput {
  std::string arn;
  std::string name;
  std::optional<std::string> version_id;
};
struct CancelRotateSecretOutput {
  std::string arn;
  std::string name;
  std::optional<std::string> version_id;
};

struct ReplicateSecretToRegionsInput {
  std::string secret_id;
  std::vector<ReplicaRegionInput> add_replica_regions;
  bool force_overwrite_replica_secret = false;
};
struct RemoveRegionsFromReplicationInput {
  std::string secret_id;
  std::vector<std::string> remove_replica_regions;
};
struct ReplicationOutput {
  std::string arn;
  std::vector<ReplicationStatus> replication_status;
};
struct StopReplicationToReplicaOutput {
  std::string arn;
};

// ---- the change stream ----
struct ListChangesInput {
  std::optional<std::uint64_t> after;  // absent: start following from now
  std::size_t limit = 100;             // changes returned at most (1..1000)
};
struct ListChangesOutput {
  std::vector<store::ChangeRow> changes;  // oldest first
  std::uint64_t next_sequence = 0;        // the last sequence examined: the next call's `after`
  bool reset = false;  // `after` is older than the log keeps (or newer than it has): re-read all
  bool more = false;   // rows after next_sequence were not examined yet (ask again at once)
};

}  // namespace arca::secrets
