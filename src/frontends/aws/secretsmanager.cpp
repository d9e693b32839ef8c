#include "frontends/aws/secretsmanager.h"

#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/secret_bytes.h"
#include "crypto/hash.h"
#include "frontends/aws/json_decode.h"
#include "frontends/aws/json_writer.h"

namespace arca::frontends::aws {

namespace {

namespace bj = boost::json;
using secrets::Context;
using secrets::SecretsService;

// ---- decoding -----------------------------------------------------------------------------------

constexpr JsonDecoder kDecode(MissingStyle::kProvideValue);

std::string OrEmpty(std::optional<std::string> s) { return s.has_value() ? std::move(*s) : std::string(); }

// A {"Key", "Value"} structure (Tag, ExternalRotationMetadataItem); absent members are empty.
template <typename T>
Result<T> KeyValueOf(const bj::object& o) {
  T item;
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> k, json::GetString(o, "Key"));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, json::GetString(o, "Value"));
  item.key = OrEmpty(std::move(k));
  item.value = OrEmpty(std::move(v));
  return item;
}

Result<std::vector<secrets::Filter>> Filters(const bj::object& o) {
  return StructListOrEmpty(o, "Filters", [](const bj::object& f) -> Result<secrets::Filter> {
    secrets::Filter filter;
    ARCA_ASSIGN_OR_RETURN(std::optional<std::string> k, json::GetString(f, "Key"));
    filter.key = OrEmpty(std::move(k));
    ARCA_ASSIGN_OR_RETURN(filter.values, StringListOrEmpty(f, "Values"));
    return filter;
  });
}

Result<secrets::ReplicaRegionInput> ReplicaRegionOf(const bj::object& r) {
  secrets::ReplicaRegionInput region;
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> name, json::GetString(r, "Region"));
  ARCA_ASSIGN_OR_RETURN(region.kms_key_id, json::GetString(r, "KmsKeyId"));
  region.region = OrEmpty(std::move(name));
  return region;
}

Result<std::optional<secrets::RotationRules>> OptRotationRules(const bj::object& o) {
  ARCA_ASSIGN_OR_RETURN(const bj::object* r, json::GetObject(o, "RotationRules"));
  if (r == nullptr) return std::optional<secrets::RotationRules>();
  secrets::RotationRules rules;
  ARCA_ASSIGN_OR_RETURN(rules.automatically_after_days, json::GetInt(*r, "AutomaticallyAfterDays"));
  ARCA_ASSIGN_OR_RETURN(rules.duration, json::GetString(*r, "Duration"));
  ARCA_ASSIGN_OR_RETURN(rules.schedule_expression, json::GetString(*r, "ScheduleExpression"));
  return std::optional<secrets::RotationRules>(std::move(rules));
}

// Takes SecretString / SecretBinary out of the parsed request into SecretBytes and wipes the parsed
// copies, so the only plaintext left is in the SecretValue (and the raw request body).
Result<secrets::SecretValue> TakeSecretValue(bj::object& o) {
  secrets::SecretValue value;
  Status status = OkStatus();
  if (bj::value* s = o.if_contains("SecretString"); s != nullptr && !s->is_null()) {
    if (!s->is_string()) {
      status = BadType("SecretString", "a string");
    } else {
      bj::string& text = s->get_string();
      value.string = SecretBytes(text.data(), text.size());
      SecureWipe(text.data(), text.size());
    }
  }
  if (bj::value* b = o.if_contains("SecretBinary"); b != nullptr && !b->is_null()) {
    if (!b->is_string()) {
      if (status.ok()) status = BadType("SecretBinary", "a base64-encoded string");
    } else {
      bj::string& text = b->get_string();
      std::optional<SecretBytes> decoded =
          crypto::Base64DecodeSecret(std::string_view(text.data(), text.size()));
      SecureWipe(text.data(), text.size());
      if (!decoded.has_value()) {
        if (status.ok()) {
          status = Error(Code::kSerialization, "SecretBinary must be a valid base64-encoded blob.");
        }
      } else {
        value.binary = std::move(*decoded);
      }
    }
  }
  if (!status.ok()) return std::move(status).error();
  return value;
}

// ---- encoding -----------------------------------------------------------------------------------

void WriteReplicationStatus(JsonWriter& w, std::string_view key,
                            const std::vector<secrets::ReplicationStatus>& list) {
  w.Key(key).BeginArray();
  for (const auto& r : list) {
    w.BeginObject().Member("Region", r.region);
    if (r.kms_key_id) w.Member("KmsKeyId", *r.kms_key_id);
    w.Member("Status", r.status);
    if (r.status_message) w.Member("StatusMessage", *r.status_message);
    if (r.last_accessed_date) w.TimestampMember("LastAccessedDate", *r.last_accessed_date);
    w.EndObject();
  }
  w.EndArray();
}

// DescribeSecret's output (list_entry = false) or a ListSecrets entry (true).
void WriteDescription(JsonWriter& w, const secrets::SecretDescription& d, bool list_entry) {
  w.BeginObject();
  w.Member("ARN", d.arn).Member("Name", d.name);
  if (d.type) w.Member("Type", *d.type);
  if (d.description) w.Member("Description", *d.description);
  if (d.kms_key_id) w.Member("KmsKeyId", *d.kms_key_id);
  if (d.rotation_enabled) w.Member("RotationEnabled", *d.rotation_enabled);
  if (d.rotation_lambda_arn) w.Member("RotationLambdaARN", *d.rotation_lambda_arn);
  if (d.rotation_rules) {
    w.Key("RotationRules").BeginObject();
    if (d.rotation_rules->automatically_after_days) {
      w.Member("AutomaticallyAfterDays", *d.rotation_rules->automatically_after_days);
    }
    if (d.rotation_rules->duration) w.Member("Duration", *d.rotation_rules->duration);
    if (d.rotation_rules->schedule_expression) {
      w.Member("ScheduleExpression", *d.rotation_rules->schedule_expression);
    }
    w.EndObject();
  }
  if (!d.external_rotation_metadata.empty()) {
    w.Key("ExternalSecretRotationMetadata").BeginArray();
    for (const auto& m : d.external_rotation_metadata) {
      w.BeginObject().Member("Key", m.key).Member("Value", m.value).EndObject();
    }
    w.EndArray();
  }
  if (d.external_rotation_role_arn) w.Member("ExternalSecretRotationRoleArn", *d.external_rotation_role_arn);
  if (d.last_rotated_date) w.TimestampMember("LastRotatedDate", *d.last_rotated_date);
  if (d.last_changed_date) w.TimestampMember("LastChangedDate", *d.last_changed_date);
  if (d.last_accessed_date) w.TimestampMember("LastAccessedDate", *d.last_accessed_date);
  if (d.deleted_date) w.TimestampMember("DeletedDate", *d.deleted_date);
  if (d.next_rotation_date) w.TimestampMember("NextRotationDate", *d.next_rotation_date);
  if (!d.tags.empty()) {
    w.Key("Tags").BeginArray();
    for (const auto& t : d.tags) {
      w.BeginObject().Member("Key", t.key).Member("Value", t.value).EndObject();
    }
    w.EndArray();
  }
  if (!d.version_ids_to_stages.empty()) {
    w.Key(list_entry ? "SecretVersionsToStages" : "VersionIdsToStages").BeginObject();
    for (const auto& [version, stages] : d.version_ids_to_stages) w.StringList(version, stages);
    w.EndObject();
  }
  if (d.owning_service) w.Member("OwningService", *d.owning_service);
  w.TimestampMember("CreatedDate", d.created_date);
  if (d.primary_region) w.Member("PrimaryRegion", *d.primary_region);
  if (!list_entry && !d.replication_status.empty()) {
    WriteReplicationStatus(w, "ReplicationStatus", d.replication_status);
  }
  w.EndObject();
}

// The members of a secret value (GetSecretValue's output, a BatchGetSecretValue entry). The value is
// escaped straight from its SecretBytes into the writer; the base64 text of a binary is wiped.
void WriteSecretValue(JsonWriter& w, const secrets::SecretValueOutput& v) {
  w.BeginObject();
  w.Member("ARN", v.arn).Member("Name", v.name).Member("VersionId", v.version_id);
  if (v.secret_binary) {
    std::string b64 = crypto::Base64Encode(v.secret_binary->view());
    w.Member("SecretBinary", b64);
    SecureWipe(b64);
  }
  if (v.secret_string) w.Member("SecretString", v.secret_string->view());
  w.StringList("VersionStages", v.version_stages);
  w.TimestampMember("CreatedDate", v.created_date);
  w.EndObject();
}

std::size_t ValueSize(const secrets::SecretValueOutput& v) {
  std::size_t n = 0;
  if (v.secret_string) n += v.secret_string->size();
  if (v.secret_binary) n += v.secret_binary->size() * 4 / 3 + 4;
  return n;
}

std::string ArnName(const secrets::ArnNameOutput& out) {
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn).Member("Name", out.name).EndObject();
  return w.Take();
}

std::string ArnNameVersion(const std::string& arn, const std::string& name,
                           const std::optional<std::string>& version_id) {
  JsonWriter w;
  w.BeginObject().Member("ARN", arn).Member("Name", name);
  if (version_id) w.Member("VersionId", *version_id);
  w.EndObject();
  return w.Take();
}

std::string Replication(const secrets::ReplicationOutput& out) {
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn);
  WriteReplicationStatus(w, "ReplicationStatus", out.replication_status);
  w.EndObject();
  return w.Take();
}

Result<secrets::SecretIdInput> SecretId(const bj::object& in) {
  secrets::SecretIdInput out;
  ARCA_ASSIGN_OR_RETURN(out.secret_id, kDecode.RequiredString(in, "SecretId"));
  return out;
}

// ---- operations ---------------------------------------------------------------------------------

Result<std::string> CreateSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::CreateSecretInput req;
  // First, so the parsed copy of the value is wiped whatever fails next.
  ARCA_ASSIGN_OR_RETURN(req.value, TakeSecretValue(in));
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.client_request_token, json::GetString(in, "ClientRequestToken"));
  ARCA_ASSIGN_OR_RETURN(req.description, json::GetString(in, "Description"));
  ARCA_ASSIGN_OR_RETURN(req.kms_key_id, json::GetString(in, "KmsKeyId"));
  ARCA_ASSIGN_OR_RETURN(req.tags, OptStructList(in, "Tags", KeyValueOf<secrets::Tag>));
  ARCA_ASSIGN_OR_RETURN(req.add_replica_regions, StructListOrEmpty(in, "AddReplicaRegions", ReplicaRegionOf));
  ARCA_ASSIGN_OR_RETURN(req.force_overwrite_replica_secret, FlagOrFalse(in, "ForceOverwriteReplicaSecret"));
  ARCA_ASSIGN_OR_RETURN(req.type, json::GetString(in, "Type"));

  ARCA_ASSIGN_OR_RETURN(secrets::CreateSecretOutput out, svc.CreateSecret(ctx, std::move(req)));
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn).Member("Name", out.name);
  if (out.version_id) w.Member("VersionId", *out.version_id);
  if (!out.replication_status.empty()) WriteReplicationStatus(w, "ReplicationStatus", out.replication_status);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetSecretValue(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::GetSecretValueInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.version_id, json::GetString(in, "VersionId"));
  ARCA_ASSIGN_OR_RETURN(req.version_stage, json::GetString(in, "VersionStage"));
  ARCA_ASSIGN_OR_RETURN(secrets::SecretValueOutput out, svc.GetSecretValue(ctx, req));
  JsonWriter w(256 + out.arn.size() + ValueSize(out) * 9 / 8);
  WriteSecretValue(w, out);
  return w.Take();
}

Result<std::string> PutSecretValue(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::PutSecretValueInput req;
  // First, so the parsed copy of the value is wiped whatever fails next.
  ARCA_ASSIGN_OR_RETURN(req.value, TakeSecretValue(in));
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.client_request_token, json::GetString(in, "ClientRequestToken"));
  ARCA_ASSIGN_OR_RETURN(req.version_stages, OptStringList(in, "VersionStages"));
  ARCA_ASSIGN_OR_RETURN(req.rotation_token, json::GetString(in, "RotationToken"));
  ARCA_ASSIGN_OR_RETURN(secrets::PutSecretValueOutput out, svc.PutSecretValue(ctx, std::move(req)));
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn).Member("Name", out.name).Member("VersionId", out.version_id);
  w.StringList("VersionStages", out.version_stages).EndObject();
  return w.Take();
}

Result<std::string> UpdateSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::UpdateSecretInput req;
  // First, so the parsed copy of the value is wiped whatever fails next.
  ARCA_ASSIGN_OR_RETURN(req.value, TakeSecretValue(in));
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.client_request_token, json::GetString(in, "ClientRequestToken"));
  ARCA_ASSIGN_OR_RETURN(req.description, json::GetString(in, "Description"));
  ARCA_ASSIGN_OR_RETURN(req.kms_key_id, json::GetString(in, "KmsKeyId"));
  ARCA_ASSIGN_OR_RETURN(req.type, json::GetString(in, "Type"));
  ARCA_ASSIGN_OR_RETURN(secrets::UpdateSecretOutput out, svc.UpdateSecret(ctx, std::move(req)));
  return ArnNameVersion(out.arn, out.name, out.version_id);
}

Result<std::string> UpdateSecretVersionStage(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::UpdateSecretVersionStageInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.version_stage, kDecode.RequiredString(in, "VersionStage"));
  ARCA_ASSIGN_OR_RETURN(req.remove_from_version_id, json::GetString(in, "RemoveFromVersionId"));
  ARCA_ASSIGN_OR_RETURN(req.move_to_version_id, json::GetString(in, "MoveToVersionId"));
  ARCA_ASSIGN_OR_RETURN(secrets::ArnNameOutput out, svc.UpdateSecretVersionStage(ctx, req));
  return ArnName(out);
}

Result<std::string> DescribeSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::SecretDescription out, svc.DescribeSecret(ctx, req));
  JsonWriter w(1024);
  WriteDescription(w, out, /*list_entry=*/false);
  return w.Take();
}

Result<std::string> ListSecrets(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::ListSecretsInput req;
  ARCA_ASSIGN_OR_RETURN(req.include_planned_deletion, json::GetBool(in, "IncludePlannedDeletion"));
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(req.filters, Filters(in));
  ARCA_ASSIGN_OR_RETURN(req.sort_order, json::GetString(in, "SortOrder"));
  ARCA_ASSIGN_OR_RETURN(req.sort_by, json::GetString(in, "SortBy"));
  ARCA_ASSIGN_OR_RETURN(secrets::ListSecretsOutput out, svc.ListSecrets(ctx, req));
  JsonWriter w(256 + out.secrets.size() * 512);
  w.BeginObject().Key("SecretList").BeginArray();
  for (const auto& d : out.secrets) WriteDescription(w, d, /*list_entry=*/true);
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> ListSecretVersionIds(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::ListSecretVersionIdsInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(req.include_deprecated, json::GetBool(in, "IncludeDeprecated"));
  ARCA_ASSIGN_OR_RETURN(secrets::ListSecretVersionIdsOutput out, svc.ListSecretVersionIds(ctx, req));
  JsonWriter w(256 + out.versions.size() * 160);
  w.BeginObject().Key("Versions").BeginArray();
  for (const auto& v : out.versions) {
    w.BeginObject().Member("VersionId", v.version_id).StringList("VersionStages", v.version_stages);
    if (v.last_accessed_date) w.TimestampMember("LastAccessedDate", *v.last_accessed_date);
    w.TimestampMember("CreatedDate", v.created_date);
    if (!v.kms_key_ids.empty()) w.StringList("KmsKeyIds", v.kms_key_ids);
    w.EndObject();
  }
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.Member("ARN", out.arn).Member("Name", out.name).EndObject();
  return w.Take();
}

Result<std::string> BatchGetSecretValue(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::BatchGetSecretValueInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id_list, OptStringList(in, "SecretIdList"));
  ARCA_ASSIGN_OR_RETURN(req.filters, Filters(in));
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(secrets::BatchGetSecretValueOutput out, svc.BatchGetSecretValue(ctx, req));
  std::size_t size = 256;
  for (const auto& v : out.secret_values) size += 256 + v.arn.size() + ValueSize(v) * 9 / 8;
  JsonWriter w(size);
  w.BeginObject().Key("SecretValues").BeginArray();
  for (const auto& v : out.secret_values) WriteSecretValue(w, v);
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.Key("Errors").BeginArray();
  for (const auto& e : out.errors) {
    w.BeginObject()
        .Member("SecretId", e.secret_id)
        .Member("ErrorCode", e.error_code)
        .Member("Message", e.message)
        .EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::string> DeleteSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::DeleteSecretInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.recovery_window_in_days, json::GetInt(in, "RecoveryWindowInDays"));
  ARCA_ASSIGN_OR_RETURN(req.force_delete_without_recovery, json::GetBool(in, "ForceDeleteWithoutRecovery"));
  ARCA_ASSIGN_OR_RETURN(secrets::DeleteSecretOutput out, svc.DeleteSecret(ctx, req));
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn).Member("Name", out.name);
  w.TimestampMember("DeletionDate", out.deletion_date).EndObject();
  return w.Take();
}

Result<std::string> RestoreSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::ArnNameOutput out, svc.RestoreSecret(ctx, req));
  return ArnName(out);
}

Result<std::string> GetRandomPassword(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::GetRandomPasswordInput req;
  ARCA_ASSIGN_OR_RETURN(req.password_length, json::GetInt(in, "PasswordLength"));
  ARCA_ASSIGN_OR_RETURN(req.exclude_characters, json::GetString(in, "ExcludeCharacters"));
  ARCA_ASSIGN_OR_RETURN(req.exclude_numbers, json::GetBool(in, "ExcludeNumbers"));
  ARCA_ASSIGN_OR_RETURN(req.exclude_punctuation, json::GetBool(in, "ExcludePunctuation"));
  ARCA_ASSIGN_OR_RETURN(req.exclude_uppercase, json::GetBool(in, "ExcludeUppercase"));
  ARCA_ASSIGN_OR_RETURN(req.exclude_lowercase, json::GetBool(in, "ExcludeLowercase"));
  ARCA_ASSIGN_OR_RETURN(req.include_space, json::GetBool(in, "IncludeSpace"));
  ARCA_ASSIGN_OR_RETURN(req.require_each_included_type, json::GetBool(in, "RequireEachIncludedType"));
  ARCA_ASSIGN_OR_RETURN(std::string password, svc.GetRandomPassword(ctx, req));
  JsonWriter w(64 + password.size() * 2);
  w.BeginObject().Member("RandomPassword", password).EndObject();
  SecureWipe(password);
  return w.Take();
}

Result<std::string> TagResource(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::TagResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.tags, kDecode.RequiredStructList(in, "Tags", KeyValueOf<secrets::Tag>));
  ARCA_RETURN_IF_ERROR(svc.TagResource(ctx, req));
  return std::string("{}");
}

Result<std::string> UntagResource(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::UntagResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.tag_keys, kDecode.RequiredStringList(in, "TagKeys"));
  ARCA_RETURN_IF_ERROR(svc.UntagResource(ctx, req));
  return std::string("{}");
}

Result<std::string> PutResourcePolicy(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::PutResourcePolicyInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.resource_policy, kDecode.RequiredString(in, "ResourcePolicy"));
  ARCA_ASSIGN_OR_RETURN(req.block_public_policy, json::GetBool(in, "BlockPublicPolicy"));
  ARCA_ASSIGN_OR_RETURN(secrets::ArnNameOutput out, svc.PutResourcePolicy(ctx, req));
  return ArnName(out);
}

Result<std::string> GetResourcePolicy(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::GetResourcePolicyOutput out, svc.GetResourcePolicy(ctx, req));
  JsonWriter w(256 + (out.resource_policy ? out.resource_policy->size() * 9 / 8 : 0));
  w.BeginObject().Member("ARN", out.arn).Member("Name", out.name);
  if (out.resource_policy) w.Member("ResourcePolicy", *out.resource_policy);
  w.EndObject();
  return w.Take();
}

Result<std::string> DeleteResourcePolicy(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::ArnNameOutput out, svc.DeleteResourcePolicy(ctx, req));
  return ArnName(out);
}

Result<std::string> ValidateResourcePolicy(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::ValidateResourcePolicyInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, json::GetString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.resource_policy, kDecode.RequiredString(in, "ResourcePolicy"));
  ARCA_ASSIGN_OR_RETURN(secrets::ValidateResourcePolicyOutput out, svc.ValidateResourcePolicy(ctx, req));
  JsonWriter w;
  w.BeginObject().Member("PolicyValidationPassed", out.passed).Key("ValidationErrors").BeginArray();
  for (const auto& e : out.errors) {
    w.BeginObject().Member("CheckName", e.check_name).Member("ErrorMessage", e.error_message).EndObject();
  }
  w.EndArray().EndObject();
  return w.Take();
}

Result<std::string> RotateSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::RotateSecretInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.client_request_token, json::GetString(in, "ClientRequestToken"));
  ARCA_ASSIGN_OR_RETURN(req.rotation_lambda_arn, json::GetString(in, "RotationLambdaARN"));
  ARCA_ASSIGN_OR_RETURN(req.rotation_rules, OptRotationRules(in));
  ARCA_ASSIGN_OR_RETURN(req.external_rotation_metadata,
                        OptStructList(in, "ExternalSecretRotationMetadata",
                                      KeyValueOf<secrets::ExternalRotationMetadataItem>));
  ARCA_ASSIGN_OR_RETURN(req.external_rotation_role_arn, json::GetString(in, "ExternalSecretRotationRoleArn"));
  ARCA_ASSIGN_OR_RETURN(req.rotate_immediately, json::GetBool(in, "RotateImmediately"));
  ARCA_ASSIGN_OR_RETURN(secrets::RotateSecretOutput out, svc.RotateSecret(ctx, req));
  return ArnNameVersion(out.arn, out.name, out.version_id);
}

Result<std::string> CancelRotateSecret(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::CancelRotateSecretOutput out, svc.CancelRotateSecret(ctx, req));
  return ArnNameVersion(out.arn, out.name, out.version_id);
}

Result<std::string> ReplicateSecretToRegions(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::ReplicateSecretToRegionsInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.add_replica_regions,
                        kDecode.RequiredStructList(in, "AddReplicaRegions", ReplicaRegionOf));
  ARCA_ASSIGN_OR_RETURN(req.force_overwrite_replica_secret, FlagOrFalse(in, "ForceOverwriteReplicaSecret"));
  ARCA_ASSIGN_OR_RETURN(secrets::ReplicationOutput out, svc.ReplicateSecretToRegions(ctx, req));
  return Replication(out);
}

Result<std::string> RemoveRegionsFromReplication(SecretsService& svc, const Context& ctx, bj::object& in) {
  secrets::RemoveRegionsFromReplicationInput req;
  ARCA_ASSIGN_OR_RETURN(req.secret_id, kDecode.RequiredString(in, "SecretId"));
  ARCA_ASSIGN_OR_RETURN(req.remove_replica_regions, kDecode.RequiredStringList(in, "RemoveReplicaRegions"));
  ARCA_ASSIGN_OR_RETURN(secrets::ReplicationOutput out, svc.RemoveRegionsFromReplication(ctx, req));
  return Replication(out);
}

Result<std::string> StopReplicationToReplica(SecretsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(secrets::SecretIdInput req, SecretId(in));
  ARCA_ASSIGN_OR_RETURN(secrets::StopReplicationToReplicaOutput out, svc.StopReplicationToReplica(ctx, req));
  JsonWriter w;
  w.BeginObject().Member("ARN", out.arn).EndObject();
  return w.Take();
}

const OperationTable<SecretsService, Context>& Operations() {
  static const auto* table = new OperationTable<SecretsService, Context>{
      {"BatchGetSecretValue", &BatchGetSecretValue},
      {"CancelRotateSecret", &CancelRotateSecret},
      {"CreateSecret", &CreateSecret},
      {"DeleteResourcePolicy", &DeleteResourcePolicy},
      {"DeleteSecret", &DeleteSecret},
      {"DescribeSecret", &DescribeSecret},
      {"GetRandomPassword", &GetRandomPassword},
      {"GetResourcePolicy", &GetResourcePolicy},
      {"GetSecretValue", &GetSecretValue},
      {"ListSecretVersionIds", &ListSecretVersionIds},
      {"ListSecrets", &ListSecrets},
      {"PutResourcePolicy", &PutResourcePolicy},
      {"PutSecretValue", &PutSecretValue},
      {"RemoveRegionsFromReplication", &RemoveRegionsFromReplication},
      {"ReplicateSecretToRegions", &ReplicateSecretToRegions},
      {"RestoreSecret", &RestoreSecret},
      {"RotateSecret", &RotateSecret},
      {"StopReplicationToReplica", &StopReplicationToReplica},
      {"TagResource", &TagResource},
      {"UntagResource", &UntagResource},
      {"UpdateSecret", &UpdateSecret},
      {"UpdateSecretVersionStage", &UpdateSecretVersionStage},
      {"ValidateResourcePolicy", &ValidateResourcePolicy},
  };
  return *table;
}

}  // namespace

SecretsManagerFrontend::SecretsManagerFrontend(secrets::SecretsService& service) : service_(service) {}

bool SecretsManagerFrontend::HasOperation(std::string_view operation) const {
  return Operations().contains(operation);
}

Result<std::string> SecretsManagerFrontend::Invoke(const OperationContext& ctx, boost::json::object& input) {
  return RunOperation(Operations(), service_, ctx, input);
}

}  // namespace arca::frontends::aws
