#include "frontends/aws/kms.h"

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
using kms::Context;
using kms::KmsService;

// ---- decoding -----------------------------------------------------------------------------------

// KMS answers a missing required member with the model validation message.
constexpr JsonDecoder kDecode(MissingStyle::kValueNull);

// EncryptionContext: a map of strings.
Result<kms::EncryptionContext> EncContext(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(const bj::object* m, json::GetObject(o, key));
  kms::EncryptionContext out;
  if (m == nullptr) return out;
  for (const auto& member : *m) {
    if (!member.value().is_string()) return BadType(key, "a map of strings");
    out.emplace_back(std::string(member.key()), std::string(member.value().get_string()));
  }
  return out;
}

Result<kms::Tag> TagOf(const bj::object& t) {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> k, json::GetString(t, "TagKey"));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, json::GetString(t, "TagValue"));
  return kms::Tag{k.value_or(""), v.value_or("")};
}

Result<kms::Page> PageOf(const bj::object& o) {
  kms::Page p;
  ARCA_ASSIGN_OR_RETURN(p.limit, json::GetInt(o, "Limit"));
  ARCA_ASSIGN_OR_RETURN(p.marker, json::GetString(o, "Marker"));
  return p;
}

// A blob member (base64): decoded, and removed from the parsed request (CloudTrail does not show
// ciphertexts). nullopt when absent.
Result<std::optional<std::string>> TakeBlob(bj::object& o, std::string_view key) {
  bj::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return BadType(key, "a base64-encoded blob");
  std::optional<std::string> decoded = crypto::Base64Decode(std::string_view(v->get_string()));
  o.erase(key);
  if (!decoded) return Error(Code::kSerialization, std::string(key) + " must be a valid base64-encoded blob.");
  return decoded;
}

// The request's Plaintext: decoded into SecretBytes; the parsed copy is wiped and removed, so the
// audit record never holds it. Required.
Result<SecretBytes> TakePlaintext(bj::object& o) {
  bj::value* v = o.if_contains("Plaintext");
  if (v == nullptr || v->is_null()) return kDecode.Missing("Plaintext");
  if (!v->is_string()) {
    o.erase("Plaintext");
    return BadType("Plaintext", "a base64-encoded blob");
  }
  bj::string& text = v->get_string();
  std::optional<SecretBytes> decoded = crypto::Base64DecodeSecret(std::string_view(text.data(), text.size()));
  SecureWipe(text.data(), text.size());
  o.erase("Plaintext");
  if (!decoded) return Error(Code::kSerialization, "Plaintext must be a valid base64-encoded blob.");
  return std::move(*decoded);
}

// Nitro Enclaves' Recipient: not something this server can honour.
Status NoRecipient(const bj::object& o) {
  if (const bj::value* v = o.if_contains("Recipient"); v != nullptr && !v->is_null()) {
    return Error(Code::kInvalidRequest, "Recipient (attested enclaves) is not supported by this server.")
        .WithWireType("UnsupportedOperationException");
  }
  return OkStatus();
}

// ---- encoding -----------------------------------------------------------------------------------

// A blob as base64; `secret` blobs are wiped from the writer's input after use.
void WriteBlob(JsonWriter& w, std::string_view key, std::string_view bytes, bool secret) {
  std::string b64 = crypto::Base64Encode(bytes);
  w.Member(key, b64);
  if (secret) SecureWipe(b64);
}

void WriteKeyMetadata(JsonWriter& w, const kms::KeyMetadata& m) {
  w.Key("KeyMetadata").BeginObject();
  w.Member("AWSAccountId", m.aws_account_id).Member("KeyId", m.key_id).Member("Arn", m.arn);
  w.TimestampMember("CreationDate", m.creation_date);
  w.Member("Enabled", m.enabled).Member("Description", m.description).Member("KeyUsage", m.key_usage);
  w.Member("KeyState", m.key_state);
  if (m.deletion_date) w.TimestampMember("DeletionDate", *m.deletion_date);
  w.Member("Origin", m.origin).Member("KeyManager", m.key_manager);
  w.Member("CustomerMasterKeySpec", m.key_spec).Member("KeySpec", m.key_spec);
  w.StringList("EncryptionAlgorithms", m.encryption_algorithms);
  w.Member("MultiRegion", m.multi_region);
  if (m.pending_deletion_window_in_days) w.Member("PendingDeletionWindowInDays", *m.pending_deletion_window_in_days);
  w.Member("CurrentKeyMaterialId", m.current_key_material_id);
  w.EndObject();
}

void WritePaging(JsonWriter& w, const std::optional<std::string>& next_marker, bool truncated) {
  if (next_marker) w.Member("NextMarker", *next_marker);
  w.Member("Truncated", truncated);
}

std::string Empty() { return std::string(); }

Result<kms::KeyIdInput> KeyId(const bj::object& in) {
  kms::KeyIdInput out;
  ARCA_ASSIGN_OR_RETURN(out.key_id, kDecode.RequiredString(in, "KeyId"));
  return out;
}

// ---- operations ---------------------------------------------------------------------------------

Result<std::string> CreateKey(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::CreateKeyInput req;
  ARCA_ASSIGN_OR_RETURN(req.policy, json::GetString(in, "Policy"));
  ARCA_ASSIGN_OR_RETURN(req.description, json::GetString(in, "Description"));
  ARCA_ASSIGN_OR_RETURN(req.key_usage, json::GetString(in, "KeyUsage"));
  ARCA_ASSIGN_OR_RETURN(req.customer_master_key_spec, json::GetString(in, "CustomerMasterKeySpec"));
  ARCA_ASSIGN_OR_RETURN(req.key_spec, json::GetString(in, "KeySpec"));
  ARCA_ASSIGN_OR_RETURN(req.origin, json::GetString(in, "Origin"));
  ARCA_ASSIGN_OR_RETURN(req.custom_key_store_id, json::GetString(in, "CustomKeyStoreId"));
  ARCA_ASSIGN_OR_RETURN(req.xks_key_id, json::GetString(in, "XksKeyId"));
  ARCA_ASSIGN_OR_RETURN(req.bypass_policy_lockout_safety_check, FlagOrFalse(in, "BypassPolicyLockoutSafetyCheck"));
  ARCA_ASSIGN_OR_RETURN(req.tags, StructListOrEmpty(in, "Tags", TagOf));
  ARCA_ASSIGN_OR_RETURN(req.multi_region, json::GetBool(in, "MultiRegion"));
  ARCA_ASSIGN_OR_RETURN(kms::KeyMetadata out, svc.CreateKey(ctx, req));
  JsonWriter w(1024);
  w.BeginObject();
  WriteKeyMetadata(w, out);
  w.EndObject();
  return w.Take();
}

Result<std::string> DescribeKey(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> grants, StringListOrEmpty(in, "GrantTokens"));
  (void)grants;  // no grants on this server
  ARCA_ASSIGN_OR_RETURN(kms::KeyMetadata out, svc.DescribeKey(ctx, req));
  JsonWriter w(1024);
  w.BeginObject();
  WriteKeyMetadata(w, out);
  w.EndObject();
  return w.Take();
}

Result<std::string> ListKeys(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::Page req, PageOf(in));
  ARCA_ASSIGN_OR_RETURN(kms::ListKeysOutput out, svc.ListKeys(ctx, req));
  JsonWriter w(128 + out.keys.size() * 160);
  w.BeginObject().Key("Keys").BeginArray();
  for (const auto& k : out.keys) w.BeginObject().Member("KeyId", k.key_id).Member("KeyArn", k.key_arn).EndObject();
  w.EndArray();
  WritePaging(w, out.next_marker, out.truncated);
  w.EndObject();
  return w.Take();
}

Result<std::string> UpdateKeyDescription(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::UpdateKeyDescriptionInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.description, kDecode.RequiredString(in, "Description"));
  ARCA_RETURN_IF_ERROR(svc.UpdateKeyDescription(ctx, req));
  return Empty();
}

Result<kms::AliasInput> AliasOf(const bj::object& in) {
  kms::AliasInput req;
  ARCA_ASSIGN_OR_RETURN(req.alias_name, kDecode.RequiredString(in, "AliasName"));
  ARCA_ASSIGN_OR_RETURN(req.target_key_id, kDecode.RequiredString(in, "TargetKeyId"));
  return req;
}

Result<std::string> CreateAlias(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::AliasInput req, AliasOf(in));
  ARCA_RETURN_IF_ERROR(svc.CreateAlias(ctx, req));
  return Empty();
}

Result<std::string> UpdateAlias(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::AliasInput req, AliasOf(in));
  ARCA_RETURN_IF_ERROR(svc.UpdateAlias(ctx, req));
  return Empty();
}

Result<std::string> DeleteAlias(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::DeleteAliasInput req;
  ARCA_ASSIGN_OR_RETURN(req.alias_name, kDecode.RequiredString(in, "AliasName"));
  ARCA_RETURN_IF_ERROR(svc.DeleteAlias(ctx, req));
  return Empty();
}

Result<std::string> ListAliases(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ListAliasesInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, json::GetString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.page, PageOf(in));
  ARCA_ASSIGN_OR_RETURN(kms::ListAliasesOutput out, svc.ListAliases(ctx, req));
  JsonWriter w(128 + out.aliases.size() * 256);
  w.BeginObject().Key("Aliases").BeginArray();
  for (const auto& a : out.aliases) {
    w.BeginObject().Member("AliasName", a.alias_name).Member("AliasArn", a.alias_arn);
    if (a.target_key_id) w.Member("TargetKeyId", *a.target_key_id);
    if (a.creation_date) w.TimestampMember("CreationDate", *a.creation_date);
    if (a.last_updated_date) w.TimestampMember("LastUpdatedDate", *a.last_updated_date);
    w.EndObject();
  }
  w.EndArray();
  WritePaging(w, out.next_marker, out.truncated);
  w.EndObject();
  return w.Take();
}

Result<std::string> EnableKey(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_RETURN_IF_ERROR(svc.EnableKey(ctx, req));
  return Empty();
}

Result<std::string> DisableKey(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_RETURN_IF_ERROR(svc.DisableKey(ctx, req));
  return Empty();
}

Result<std::string> ScheduleKeyDeletion(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ScheduleKeyDeletionInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.pending_window_in_days, json::GetInt(in, "PendingWindowInDays"));
  ARCA_ASSIGN_OR_RETURN(kms::ScheduleKeyDeletionOutput out, svc.ScheduleKeyDeletion(ctx, req));
  JsonWriter w;
  w.BeginObject().Member("KeyId", out.key_id).TimestampMember("DeletionDate", out.deletion_date);
  w.Member("KeyState", out.key_state).Member("PendingWindowInDays", out.pending_window_in_days).EndObject();
  return w.Take();
}

Result<std::string> KeyIdOnly(const std::string& key_id) {
  JsonWriter w;
  w.BeginObject().Member("KeyId", key_id).EndObject();
  return w.Take();
}

Result<std::string> CancelKeyDeletion(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_ASSIGN_OR_RETURN(std::string arn, svc.CancelKeyDeletion(ctx, req));
  return KeyIdOnly(arn);
}

Result<std::string> EnableKeyRotation(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::EnableKeyRotationInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.rotation_period_in_days, json::GetInt(in, "RotationPeriodInDays"));
  ARCA_RETURN_IF_ERROR(svc.EnableKeyRotation(ctx, req));
  return Empty();
}

Result<std::string> DisableKeyRotation(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_RETURN_IF_ERROR(svc.DisableKeyRotation(ctx, req));
  return Empty();
}

Result<std::string> GetKeyRotationStatus(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_ASSIGN_OR_RETURN(kms::KeyRotationStatus out, svc.GetKeyRotationStatus(ctx, req));
  JsonWriter w;
  w.BeginObject().Member("KeyRotationEnabled", out.key_rotation_enabled).Member("KeyId", out.key_id);
  if (out.rotation_period_in_days) w.Member("RotationPeriodInDays", *out.rotation_period_in_days);
  if (out.next_rotation_date) w.TimestampMember("NextRotationDate", *out.next_rotation_date);
  if (out.on_demand_rotation_start_date) {
    w.TimestampMember("OnDemandRotationStartDate", *out.on_demand_rotation_start_date);
  }
  w.EndObject();
  return w.Take();
}

Result<std::string> RotateKeyOnDemand(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::KeyIdInput req, KeyId(in));
  ARCA_ASSIGN_OR_RETURN(std::string arn, svc.RotateKeyOnDemand(ctx, req));
  return KeyIdOnly(arn);
}

Result<std::string> ListKeyRotations(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ListKeyRotationsInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.include_key_material, json::GetString(in, "IncludeKeyMaterial"));
  ARCA_ASSIGN_OR_RETURN(req.page, PageOf(in));
  ARCA_ASSIGN_OR_RETURN(kms::ListKeyRotationsOutput out, svc.ListKeyRotations(ctx, req));
  JsonWriter w(128 + out.rotations.size() * 256);
  w.BeginObject().Key("Rotations").BeginArray();
  for (const auto& r : out.rotations) {
    w.BeginObject().Member("KeyId", r.key_id).Member("KeyMaterialId", r.key_material_id);
    w.Member("KeyMaterialState", r.key_material_state);
    if (r.rotation_date) w.TimestampMember("RotationDate", *r.rotation_date);
    if (r.rotation_type) w.Member("RotationType", *r.rotation_type);
    w.EndObject();
  }
  w.EndArray();
  WritePaging(w, out.next_marker, out.truncated);
  w.EndObject();
  return w.Take();
}

Result<std::string> Encrypt(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::EncryptInput req;
  // First, so the parsed copy of the plaintext is wiped whatever fails next.
  ARCA_ASSIGN_OR_RETURN(req.plaintext, TakePlaintext(in));
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.encryption_context, EncContext(in, "EncryptionContext"));
  ARCA_ASSIGN_OR_RETURN(req.encryption_algorithm, json::GetString(in, "EncryptionAlgorithm"));
  ARCA_ASSIGN_OR_RETURN(req.grant_tokens, StringListOrEmpty(in, "GrantTokens"));
  ARCA_ASSIGN_OR_RETURN(req.dry_run, FlagOrFalse(in, "DryRun"));
  ARCA_ASSIGN_OR_RETURN(kms::EncryptOutput out, svc.Encrypt(ctx, req));
  JsonWriter w(256 + out.ciphertext_blob.size() * 4 / 3);
  w.BeginObject();
  WriteBlob(w, "CiphertextBlob", out.ciphertext_blob, /*secret=*/false);
  w.Member("KeyId", out.key_id).Member("EncryptionAlgorithm", out.encryption_algorithm).EndObject();
  return w.Take();
}

Result<std::string> Decrypt(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::DecryptInput req;
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> blob, TakeBlob(in, "CiphertextBlob"));
  if (!blob) return kDecode.Missing("CiphertextBlob");
  req.ciphertext_blob = std::move(*blob);
  ARCA_RETURN_IF_ERROR(NoRecipient(in));
  ARCA_ASSIGN_OR_RETURN(req.key_id, json::GetString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.encryption_context, EncContext(in, "EncryptionContext"));
  ARCA_ASSIGN_OR_RETURN(req.encryption_algorithm, json::GetString(in, "EncryptionAlgorithm"));
  ARCA_ASSIGN_OR_RETURN(req.grant_tokens, StringListOrEmpty(in, "GrantTokens"));
  ARCA_ASSIGN_OR_RETURN(req.dry_run, FlagOrFalse(in, "DryRun"));
  ARCA_ASSIGN_OR_RETURN(kms::DecryptOutput out, svc.Decrypt(ctx, req));
  JsonWriter w(256 + out.plaintext.size() * 4 / 3);
  w.BeginObject().Member("KeyId", out.key_id);
  WriteBlob(w, "Plaintext", out.plaintext.view(), /*secret=*/true);
  w.Member("EncryptionAlgorithm", out.encryption_algorithm).Member("KeyMaterialId", out.key_material_id);
  w.EndObject();
  return w.Take();
}

Result<std::string> ReEncrypt(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ReEncryptInput req;
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> blob, TakeBlob(in, "CiphertextBlob"));
  if (!blob) return kDecode.Missing("CiphertextBlob");
  req.ciphertext_blob = std::move(*blob);
  ARCA_ASSIGN_OR_RETURN(req.source_encryption_context, EncContext(in, "SourceEncryptionContext"));
  ARCA_ASSIGN_OR_RETURN(req.source_key_id, json::GetString(in, "SourceKeyId"));
  ARCA_ASSIGN_OR_RETURN(req.destination_key_id, kDecode.RequiredString(in, "DestinationKeyId"));
  ARCA_ASSIGN_OR_RETURN(req.destination_encryption_context, EncContext(in, "DestinationEncryptionContext"));
  ARCA_ASSIGN_OR_RETURN(req.source_encryption_algorithm, json::GetString(in, "SourceEncryptionAlgorithm"));
  ARCA_ASSIGN_OR_RETURN(req.destination_encryption_algorithm,
                        json::GetString(in, "DestinationEncryptionAlgorithm"));
  ARCA_ASSIGN_OR_RETURN(req.grant_tokens, StringListOrEmpty(in, "GrantTokens"));
  ARCA_ASSIGN_OR_RETURN(req.dry_run, FlagOrFalse(in, "DryRun"));
  ARCA_ASSIGN_OR_RETURN(kms::ReEncryptOutput out, svc.ReEncrypt(ctx, req));
  JsonWriter w(512 + out.ciphertext_blob.size() * 4 / 3);
  w.BeginObject();
  WriteBlob(w, "CiphertextBlob", out.ciphertext_blob, /*secret=*/false);
  w.Member("SourceKeyId", out.source_key_id).Member("KeyId", out.key_id);
  w.Member("SourceEncryptionAlgorithm", out.source_encryption_algorithm);
  w.Member("DestinationEncryptionAlgorithm", out.destination_encryption_algorithm);
  w.Member("SourceKeyMaterialId", out.source_key_material_id);
  w.Member("DestinationKeyMaterialId", out.destination_key_material_id);
  w.EndObject();
  return w.Take();
}

Result<kms::GenerateDataKeyInput> DataKeyInput(bj::object& in) {
  kms::GenerateDataKeyInput req;
  ARCA_RETURN_IF_ERROR(NoRecipient(in));
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.encryption_context, EncContext(in, "EncryptionContext"));
  ARCA_ASSIGN_OR_RETURN(req.number_of_bytes, json::GetInt(in, "NumberOfBytes"));
  ARCA_ASSIGN_OR_RETURN(req.key_spec, json::GetString(in, "KeySpec"));
  ARCA_ASSIGN_OR_RETURN(req.grant_tokens, StringListOrEmpty(in, "GrantTokens"));
  ARCA_ASSIGN_OR_RETURN(req.dry_run, FlagOrFalse(in, "DryRun"));
  return req;
}

Result<std::string> GenerateDataKey(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::GenerateDataKeyInput req, DataKeyInput(in));
  ARCA_ASSIGN_OR_RETURN(kms::GenerateDataKeyOutput out, svc.GenerateDataKey(ctx, req));
  JsonWriter w(512 + (out.ciphertext_blob.size() + out.plaintext.size()) * 4 / 3);
  w.BeginObject();
  WriteBlob(w, "CiphertextBlob", out.ciphertext_blob, /*secret=*/false);
  WriteBlob(w, "Plaintext", out.plaintext.view(), /*secret=*/true);
  w.Member("KeyId", out.key_id).Member("KeyMaterialId", out.key_material_id).EndObject();
  return w.Take();
}

Result<std::string> GenerateDataKeyWithoutPlaintext(KmsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(kms::GenerateDataKeyInput req, DataKeyInput(in));
  ARCA_ASSIGN_OR_RETURN(kms::GenerateDataKeyOutput out, svc.GenerateDataKeyWithoutPlaintext(ctx, req));
  JsonWriter w(512 + out.ciphertext_blob.size() * 4 / 3);
  w.BeginObject();
  WriteBlob(w, "CiphertextBlob", out.ciphertext_blob, /*secret=*/false);
  w.Member("KeyId", out.key_id).Member("KeyMaterialId", out.key_material_id).EndObject();
  return w.Take();
}

Result<std::string> GenerateRandom(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::GenerateRandomInput req;
  ARCA_RETURN_IF_ERROR(NoRecipient(in));
  ARCA_ASSIGN_OR_RETURN(req.number_of_bytes, json::GetInt(in, "NumberOfBytes"));
  ARCA_ASSIGN_OR_RETURN(req.custom_key_store_id, json::GetString(in, "CustomKeyStoreId"));
  ARCA_ASSIGN_OR_RETURN(SecretBytes random, svc.GenerateRandom(ctx, req));
  JsonWriter w(64 + random.size() * 4 / 3);
  w.BeginObject();
  WriteBlob(w, "Plaintext", random.view(), /*secret=*/true);
  w.EndObject();
  return w.Take();
}

Result<std::string> TagResource(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::TagResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.tags, kDecode.RequiredStructList(in, "Tags", TagOf));
  ARCA_RETURN_IF_ERROR(svc.TagResource(ctx, req));
  return Empty();
}

Result<std::string> UntagResource(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::UntagResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.tag_keys, kDecode.RequiredStringList(in, "TagKeys"));
  ARCA_RETURN_IF_ERROR(svc.UntagResource(ctx, req));
  return Empty();
}

Result<std::string> ListResourceTags(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ListResourceTagsInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.page, PageOf(in));
  ARCA_ASSIGN_OR_RETURN(kms::ListResourceTagsOutput out, svc.ListResourceTags(ctx, req));
  JsonWriter w(128 + out.tags.size() * 128);
  w.BeginObject().Key("Tags").BeginArray();
  for (const auto& t : out.tags) w.BeginObject().Member("TagKey", t.key).Member("TagValue", t.value).EndObject();
  w.EndArray();
  WritePaging(w, out.next_marker, out.truncated);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetKeyPolicy(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::GetKeyPolicyInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.policy_name, json::GetString(in, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(kms::GetKeyPolicyOutput out, svc.GetKeyPolicy(ctx, req));
  JsonWriter w(64 + out.policy.size() * 9 / 8);
  w.BeginObject().Member("Policy", out.policy).Member("PolicyName", out.policy_name).EndObject();
  return w.Take();
}

Result<std::string> PutKeyPolicy(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::PutKeyPolicyInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.policy_name, json::GetString(in, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(req.policy, kDecode.RequiredString(in, "Policy"));
  ARCA_ASSIGN_OR_RETURN(req.bypass_policy_lockout_safety_check, FlagOrFalse(in, "BypassPolicyLockoutSafetyCheck"));
  ARCA_RETURN_IF_ERROR(svc.PutKeyPolicy(ctx, req));
  return Empty();
}

Result<std::string> ListKeyPolicies(KmsService& svc, const Context& ctx, bj::object& in) {
  kms::ListKeyPoliciesInput req;
  ARCA_ASSIGN_OR_RETURN(req.key_id, kDecode.RequiredString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.page, PageOf(in));
  ARCA_ASSIGN_OR_RETURN(kms::ListKeyPoliciesOutput out, svc.ListKeyPolicies(ctx, req));
  JsonWriter w;
  w.BeginObject().StringList("PolicyNames", out.policy_names).Member("Truncated", out.truncated).EndObject();
  return w.Take();
}

const OperationTable<KmsService, Context>& Operations() {
  static const auto* table = new OperationTable<KmsService, Context>{
      {"CancelKeyDeletion", &CancelKeyDeletion},
      {"CreateAlias", &CreateAlias},
      {"CreateKey", &CreateKey},
      {"Decrypt", &Decrypt},
      {"DeleteAlias", &DeleteAlias},
      {"DescribeKey", &DescribeKey},
      {"DisableKey", &DisableKey},
      {"DisableKeyRotation", &DisableKeyRotation},
      {"EnableKey", &EnableKey},
      {"EnableKeyRotation", &EnableKeyRotation},
      {"Encrypt", &Encrypt},
      {"GenerateDataKey", &GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", &GenerateDataKeyWithoutPlaintext},
      {"GenerateRandom", &GenerateRandom},
      {"GetKeyPolicy", &GetKeyPolicy},
      {"GetKeyRotationStatus", &GetKeyRotationStatus},
      {"ListAliases", &ListAliases},
      {"ListKeyPolicies", &ListKeyPolicies},
      {"ListKeyRotations", &ListKeyRotations},
      {"ListKeys", &ListKeys},
      {"ListResourceTags", &ListResourceTags},
      {"PutKeyPolicy", &PutKeyPolicy},
      {"ReEncrypt", &ReEncrypt},
      {"RotateKeyOnDemand", &RotateKeyOnDemand},
      {"ScheduleKeyDeletion", &ScheduleKeyDeletion},
      {"TagResource", &TagResource},
      {"UntagResource", &UntagResource},
      {"UpdateAlias", &UpdateAlias},
      {"UpdateKeyDescription", &UpdateKeyDescription},
  };
  return *table;
}

// KMS answers model violations with ValidationException and its own failures with
// KMSInternalException / DependencyTimeoutException.
constexpr GenericErrorNames kKmsNames{"ValidationException",  "InvalidMarkerException", "NotFoundException",
                                      "AlreadyExistsException", "KMSInternalException",  "DependencyTimeoutException"};

}  // namespace

KmsFrontend::KmsFrontend(kms::KmsService& service) : service_(service) {}

bool KmsFrontend::HasOperation(std::string_view operation) const { return Operations().contains(operation); }

Result<std::string> KmsFrontend::Invoke(const OperationContext& ctx, boost::json::object& input) {
  Result<std::string> out = RunOperation(Operations(), service_, ctx, input);
  if (!out.ok()) return WithGenericNames(std::move(out).error(), kKmsNames);
  return out;
}

}  // namespace arca::frontends::aws
