#pragma once
// Shared by the SQL stores (sqlite/, postgres/): how each row type maps to columns, and the JSON
// encodings of list columns. Read* and Bind* are templates over the store's statement type, which
// provides ColumnText/ColumnBlob/ColumnInt/ColumnOptionalInt (0-based) and
// BindText/BindBlob/BindInt/BindOptionalInt (1-based); both dialects' SQL select and bind the
// columns in the orders written here.
//
// Thread-safety: free functions without shared state.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace arca::store::sql {

inline Error Unavailable(std::string detail) {
  return Error(Code::kUnavailable, "The database is unavailable; try again later",
               std::move(detail));
}

inline Error Corrupt(std::string detail) {
  return Error(Code::kInternal, "Internal database error", std::move(detail));
}

// A list of strings as a JSON array (version labels, an OIDC provider's client ids).
inline std::string EncodeLabels(const std::vector<std::string>& labels) {
  boost::json::array a;
  a.reserve(labels.size());
  for (const std::string& label : labels) a.emplace_back(label);
  return boost::json::serialize(a);
}

inline Result<std::vector<std::string>> DecodeLabels(std::string_view text,
                                              std::string_view column = "versions.labels") {
  std::vector<std::string> labels;
  if (text == "[]") return labels;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return Corrupt(std::string(column) + " is not a JSON array");
  const boost::json::array& a = v.get_array();
  labels.reserve(a.size());
  for (const boost::json::value& e : a) {
    if (!e.is_string()) return Corrupt(std::string(column) + " holds a non-string");
    labels.emplace_back(e.get_string());
  }
  return labels;
}

// Column order: id, region, name, arn, created_ms, deleted_ms, purge_ms, meta.
template <typename St>
SecretRow ReadSecret(const St& st) {
  SecretRow row;
  row.id = st.ColumnText(0);
  row.region = st.ColumnText(1);
  row.name = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.created_ms = st.ColumnInt(4);
  row.deleted_ms = st.ColumnOptionalInt(5);
  row.purge_ms = st.ColumnOptionalInt(6);
  row.meta = st.ColumnText(7);
  return row;
}

template <typename St>
void BindSecret(St& st, const SecretRow& row) {
  st.BindText(1, row.id);
  st.BindText(2, row.region);
  st.BindText(3, row.name);
  st.BindText(4, row.arn);
  st.BindInt(5, row.created_ms);
  st.BindOptionalInt(6, row.deleted_ms);
  st.BindOptionalInt(7, row.purge_ms);
  st.BindText(8, row.meta);
}

// Column order: secret_id, version_id, created_ms, last_accessed_ms, labels, is_binary,
// key_version, wrapped_key, ciphertext, kms_key_arn.
template <typename St>
Result<VersionRow> ReadVersion(const St& st) {
  VersionRow row;
  row.secret_id = st.ColumnText(0);
  row.version_id = st.ColumnText(1);
  row.created_ms = st.ColumnInt(2);
  row.last_accessed_ms = st.ColumnOptionalInt(3);
  ARCA_ASSIGN_OR_RETURN(row.labels, DecodeLabels(st.ColumnText(4)));
  row.binary = st.ColumnInt(5) != 0;
  row.sealed.key_version = static_cast<std::uint32_t>(st.ColumnInt(6));
  row.sealed.wrapped_key = st.ColumnBlob(7);
  row.sealed.ciphertext = st.ColumnBlob(8);
  row.kms_key_arn = st.ColumnText(9);
  return row;
}

// Column order: access_key_id, principal, status, created_ms, key_version, wrapped_key, ciphertext.
template <typename St>
AccessKeyRow ReadAccessKey(const St& st) {
  AccessKeyRow row;
  row.access_key_id = st.ColumnText(0);
  row.principal = st.ColumnText(1);
  row.status = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.secret.key_version = static_cast<std::uint32_t>(st.ColumnInt(4));
  row.secret.wrapped_key = st.ColumnBlob(5);
  row.secret.ciphertext = st.ColumnBlob(6);
  return row;
}

// Column order: user_id, name, path, arn, created_ms.
template <typename St>
IamUserRow ReadIamUser(const St& st) {
  IamUserRow row;
  row.user_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.created_ms = st.ColumnInt(4);
  return row;
}

// Column order: role_id, name, path, arn, assume_role_policy, description, max_session_duration,
// created_ms.
template <typename St>
IamRoleRow ReadIamRole(const St& st) {
  IamRoleRow row;
  row.role_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.assume_role_policy = st.ColumnText(4);
  row.description = st.ColumnText(5);
  row.max_session_duration = st.ColumnInt(6);
  row.created_ms = st.ColumnInt(7);
  return row;
}

template <typename St>
void BindIamRole(St& st, const IamRoleRow& row) {
  st.BindText(1, row.role_id);
  st.BindText(2, row.name);
  st.BindText(3, row.path);
  st.BindText(4, row.arn);
  st.BindText(5, row.assume_role_policy);
  st.BindText(6, row.description);
  st.BindInt(7, row.max_session_duration);
  st.BindInt(8, row.created_ms);
}

// Column order: policy_id, name, path, arn, description, default_version_id, next_version,
// created_ms, updated_ms.
template <typename St>
IamPolicyRow ReadIamPolicy(const St& st) {
  IamPolicyRow row;
  row.policy_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.path = st.ColumnText(2);
  row.arn = st.ColumnText(3);
  row.description = st.ColumnText(4);
  row.default_version_id = st.ColumnText(5);
  row.next_version = st.ColumnInt(6);
  row.created_ms = st.ColumnInt(7);
  row.updated_ms = st.ColumnInt(8);
  return row;
}

template <typename St>
void BindIamPolicy(St& st, const IamPolicyRow& row) {
  st.BindText(1, row.policy_id);
  st.BindText(2, row.name);
  st.BindText(3, row.path);
  st.BindText(4, row.arn);
  st.BindText(5, row.description);
  st.BindText(6, row.default_version_id);
  st.BindInt(7, row.next_version);
  st.BindInt(8, row.created_ms);
  st.BindInt(9, row.updated_ms);
}

// Column order: policy_id, version_id, document, created_ms.
template <typename St>
IamPolicyVersionRow ReadIamPolicyVersion(const St& st) {
  IamPolicyVersionRow row;
  row.policy_id = st.ColumnText(0);
  row.version_id = st.ColumnText(1);
  row.document = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  return row;
}

// Column order: owner_id, name, document.
template <typename St>
IamInlinePolicyRow ReadIamInlinePolicy(const St& st) {
  IamInlinePolicyRow row;
  row.owner_id = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.document = st.ColumnText(2);
  return row;
}

// Column order: arn, url, client_ids, thumbprints, jwks, jwks_file, created_ms.
template <typename St>
Result<IamOidcProviderRow> ReadIamOidcProvider(const St& st) {
  IamOidcProviderRow row;
  row.arn = st.ColumnText(0);
  row.url = st.ColumnText(1);
  ARCA_ASSIGN_OR_RETURN(row.client_ids,
                        DecodeLabels(st.ColumnText(2), "iam_oidc_providers.client_ids"));
  ARCA_ASSIGN_OR_RETURN(row.thumbprints,
                        DecodeLabels(st.ColumnText(3), "iam_oidc_providers.thumbprints"));
  row.jwks = st.ColumnText(4);
  row.jwks_file = st.ColumnText(5);
  row.created_ms = st.ColumnInt(6);
  return row;
}

// Column order: key_id, region, arn, created_ms, meta.
template <typename St>
KmsKeyRow ReadKmsKey(const St& st) {
  KmsKeyRow row;
  row.key_id = st.ColumnText(0);
  row.region = st.ColumnText(1);
  row.arn = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.meta = st.ColumnText(4);
  return row;
}

template <typename St>
void BindKmsKey(St& st, const KmsKeyRow& row) {
  st.BindText(1, row.key_id);
  st.BindText(2, row.region);
  st.BindText(3, row.arn);
  st.BindInt(4, row.created_ms);
  st.BindText(5, row.meta);
}

// Column order: key_id, version, created_ms, key_version, wrapped_key, ciphertext.
template <typename St>
KmsMaterialRow ReadKmsMaterial(const St& st) {
  KmsMaterialRow row;
  row.key_id = st.ColumnText(0);
  row.version = st.ColumnInt(1);
  row.created_ms = st.ColumnInt(2);
  row.sealed.key_version = static_cast<std::uint32_t>(st.ColumnInt(3));
  row.sealed.wrapped_key = st.ColumnBlob(4);
  row.sealed.ciphertext = st.ColumnBlob(5);
  return row;
}

template <typename St>
void BindKmsMaterial(St& st, const KmsMaterialRow& row) {
  st.BindText(1, row.key_id);
  st.BindInt(2, row.version);
  st.BindInt(3, row.created_ms);
  st.BindInt(4, row.sealed.key_version);
  st.BindBlob(5, row.sealed.wrapped_key);
  st.BindBlob(6, row.sealed.ciphertext);
}

// Column order: region, name, target_key_id, created_ms, updated_ms.
template <typename St>
KmsAliasRow ReadKmsAlias(const St& st) {
  KmsAliasRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.target_key_id = st.ColumnText(2);
  row.created_ms = st.ColumnInt(3);
  row.updated_ms = st.ColumnInt(4);
  return row;
}

template <typename St>
void BindKmsAlias(St& st, const KmsAliasRow& row) {
  st.BindText(1, row.region);
  st.BindText(2, row.name);
  st.BindText(3, row.target_key_id);
  st.BindInt(4, row.created_ms);
  st.BindInt(5, row.updated_ms);
}

// Column order: region, name, version, meta.
template <typename St>
ParameterRow ReadParameter(const St& st) {
  ParameterRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.version = st.ColumnInt(2);
  row.meta = st.ColumnText(3);
  return row;
}

template <typename St>
void BindParameter(St& st, const ParameterRow& row) {
  st.BindText(1, row.region);
  st.BindText(2, row.name);
  st.BindInt(3, row.version);
  st.BindText(4, row.meta);
}

// Column order: region, name, version, created_ms, labels, meta, value.
template <typename St>
Result<ParameterVersionRow> ReadParameterVersion(const St& st) {
  ParameterVersionRow row;
  row.region = st.ColumnText(0);
  row.name = st.ColumnText(1);
  row.version = st.ColumnInt(2);
  row.created_ms = st.ColumnInt(3);
  ARCA_ASSIGN_OR_RETURN(row.labels, DecodeLabels(st.ColumnText(4), "parameter_versions.labels"));
  row.meta = st.ColumnText(5);
  row.value = st.ColumnBlob(6);
  return row;
}

// A change row's versions as JSON text: [{"VersionId": ..., "VersionStages": [...]}].
inline std::string EncodeChangeVersions(const std::vector<ChangeVersion>& versions) {
  boost::json::array a;
  a.reserve(versions.size());
  for (const ChangeVersion& v : versions) {
    boost::json::array stages;
    for (const std::string& stage : v.stages) stages.emplace_back(stage);
    a.emplace_back(boost::json::object{{"VersionId", v.version_id}, {"VersionStages", std::move(stages)}});
  }
  return boost::json::serialize(a);
}

inline Result<std::vector<ChangeVersion>> DecodeChangeVersions(std::string_view text) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(text, ec);
  if (ec || !v.is_array()) return Corrupt("changes.versions is not a JSON array");
  std::vector<ChangeVersion> versions;
  for (const boost::json::value& e : v.get_array()) {
    const boost::json::object* o = e.if_object();
    const boost::json::value* id = o != nullptr ? o->if_contains("VersionId") : nullptr;
    const boost::json::value* stages = o != nullptr ? o->if_contains("VersionStages") : nullptr;
    if (id == nullptr || !id->is_string() || stages == nullptr || !stages->is_array()) {
      return Corrupt("changes.versions holds a malformed entry");
    }
    ChangeVersion cv;
    cv.version_id = id->get_string();
    for (const boost::json::value& stage : stages->get_array()) {
      if (!stage.is_string()) return Corrupt("changes.versions holds a non-string stage");
      cv.stages.emplace_back(stage.get_string());
    }
    versions.push_back(std::move(cv));
  }
  return versions;
}

// Column order: sequence, time_ms, kind, region, name, arn, deleted, versions.
template <typename St>
Result<ChangeRow> ReadChange(const St& st) {
  ChangeRow row;
  row.sequence = static_cast<std::uint64_t>(st.ColumnInt(0));
  row.time_ms = st.ColumnInt(1);
  row.kind = st.ColumnText(2);
  row.region = st.ColumnText(3);
  row.name = st.ColumnText(4);
  row.arn = st.ColumnText(5);
  row.deleted = st.ColumnInt(6) != 0;
  ARCA_ASSIGN_OR_RETURN(row.versions, DecodeChangeVersions(st.ColumnText(7)));
  return row;
}

// The least string greater than every string starting with `prefix` (byte-wise), or nullopt when
// there is none (the prefix is empty or all 0xFF bytes).
inline std::optional<std::string> PrefixSuccessor(std::string prefix) {
  while (!prefix.empty() && static_cast<unsigned char>(prefix.back()) == 0xFF) prefix.pop_back();
  if (prefix.empty()) return std::nullopt;
  prefix.back() = static_cast<char>(static_cast<unsigned char>(prefix.back()) + 1);
  return prefix;
}

// Every row of a statement, read with `read` (a function returning a row or a Result of one).
template <typename Row, typename St, typename ReadFn>
Result<std::vector<Row>> AllRows(St& st, ReadFn read) {
  std::vector<Row> rows;
  while (true) {
    ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
    if (!has_row) break;
    if constexpr (std::is_same_v<decltype(read(st)), Row>) {
      rows.push_back(read(st));
    } else {
      ARCA_ASSIGN_OR_RETURN(Row row, read(st));
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

// The row of a statement that returns at most one.
template <typename Row, typename St, typename ReadFn>
Result<std::optional<Row>> OneRow(St& st, ReadFn read) {
  ARCA_ASSIGN_OR_RETURN(bool has_row, st.Step());
  if (!has_row) return std::optional<Row>();
  if constexpr (std::is_same_v<decltype(read(st)), Row>) {
    return std::optional<Row>(read(st));
  } else {
    ARCA_ASSIGN_OR_RETURN(Row row, read(st));
    return std::optional<Row>(std::move(row));
  }
}

}  // namespace arca::store::sql
