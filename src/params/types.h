#pragma once
// Typed inputs and outputs of the SSM Parameter Store domain. They mirror the API's shapes (botocore's
// ssm 2014-11-06 model) but know nothing of JSON or HTTP: front-ends translate.
// An absent optional means "not given" (input) or "not shown" (output).
//
// Thread-safety: plain value types.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/access.h"
#include "core/clock.h"
#include "core/secret_bytes.h"

namespace arca::params {

// Who is asking, and where: every operation runs in one region of one account.
struct Context {
  std::string region;         // from the request's SigV4 credential scope
  std::string request_id;
  std::string principal_arn;  // LastModifiedUser of the versions this caller writes
  // Asked before each action on each parameter (ssm:GetParameter, ...), and handed to KMS and
  // Secrets Manager for the calls made on the caller's behalf.
  access::Gate* gate = &access::AllowAll::Instance();
};

struct Tag {
  std::string key;
  std::string value;
};

// ParameterStringFilter (DescribeParameters, GetParametersByPath).
struct StringFilter {
  std::string key;                                 // Name | Type | KeyId | Path | Tier | Label | DataType | tag:K
  std::optional<std::string> option;               // Equals | BeginsWith | Contains | Recursive | OneLevel
  std::optional<std::vector<std::string>> values;
};

// ParametersFilter (DescribeParameters' deprecated Filters).
struct LegacyFilter {
  std::string key;  // Name | Type | KeyId
  std::vector<std::string> values;
};

// ParameterInlinePolicy.
struct PolicyInfo {
  std::string text;    // the policy's JSON as stored
  std::string type;    // Expiration | ExpirationNotification | NoChangeNotification
  std::string status;  // Pending | Finished | Failed | InProgress
};

// ---- operations -------------------------------------------------------------------------------

struct PutParameterInput {
  std::string name;
  std::optional<std::string> description;
  SecretBytes value;  // the plaintext; a SecureString's is encrypted before anything is stored
  std::optional<std::string> type;
  std::optional<std::string> key_id;
  std::optional<bool> overwrite;
  std::optional<std::string> allowed_pattern;
  std::optional<std::vector<Tag>> tags;
  std::optional<std::string> tier;
  std::optional<std::string> policies;  // a JSON array, as the API takes it
  std::optional<std::string> data_type;
};
struct PutParameterOutput {
  std::int64_t version = 0;
  std::string tier;
};

// GetParameter(s) / GetParametersByPath entries.
struct Parameter {
  std::string name;
  std::string type;
  // The plaintext; for a SecureString read without WithDecryption, the base64 of its KMS ciphertext.
  SecretBytes value;
  std::int64_t version = 0;
  std::optional<std::string> selector;       // ":3" or ":label" when the name carried one
  std::optional<std::string> source_result;  // /aws/reference/secretsmanager/...: DescribeSecret's JSON
  TimePoint last_modified_date;
  std::string arn;
  std::string data_type;
};

struct GetParameterInput {
  std::string name;  // a name or ARN, optionally with ":version" or ":label"
  bool with_decryption = false;
};

struct GetParametersInput {
  std::vector<std::string> names;
  bool with_decryption = false;
};
struct GetParametersOutput {
  std::vector<Parameter> parameters;  // ordered by name, as AWS lists them
  std::vector<std::string> invalid_parameters;
};

struct GetParametersByPathInput {
  std::string path;
  bool recursive = false;
  std::vector<StringFilter> filters;
  bool with_decryption = false;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
};
struct GetParametersByPathOutput {
  std::vector<Parameter> parameters;
  std::optional<std::string> next_token;
};

struct DeleteParametersOutput {
  std::vector<std::string> deleted_parameters;
  std::vector<std::string> invalid_parameters;
};

struct DescribeParametersInput {
  std::vector<LegacyFilter> filters;
  std::vector<StringFilter> parameter_filters;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
  bool shared = false;
};
struct ParameterMetadata {
  std::string name;
  std::string arn;
  std::string type;
  std::optional<std::string> key_id;
  TimePoint last_modified_date;
  std::string last_modified_user;
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::int64_t version = 0;
  std::string tier;
  std::vector<PolicyInfo> policies;
  std::string data_type;
};
struct DescribeParametersOutput {
  std::vector<ParameterMetadata> parameters;
  std::optional<std::string> next_token;
};

struct GetParameterHistoryInput {
  std::string name;
  bool with_decryption = false;
  std::optional<std::int64_t> max_results;
  std::optional<std::string> next_token;
};
struct ParameterHistoryEntry {
  std::string name;
  std::string type;
  std::optional<std::string> key_id;
  TimePoint last_modified_date;
  std::string last_modified_user;
  std::optional<std::string> description;
  SecretBytes value;  // as in Parameter::value
  std::optional<std::string> allowed_pattern;
  std::int64_t version = 0;
  std::vector<std::string> labels;
  std::string tier;
  std::vector<PolicyInfo> policies;
  std::string data_type;
};
struct GetParameterHistoryOutput {
  std::vector<ParameterHistoryEntry> parameters;
  std::optional<std::string> next_token;
};

struct LabelParameterVersionInput {
  std::string name;
  std::optional<std::int64_t> parameter_version;  // the latest when absent
  std::vector<std::string> labels;
};
struct LabelParameterVersionOutput {
  std::vector<std::string> invalid_labels;
  std::int64_t parameter_version = 0;
};

struct UnlabelParameterVersionInput {
  std::string name;
  std::optional<std::int64_t> parameter_version;  // required: absent is a ValidationException
  std::vector<std::string> labels;
};
struct UnlabelParameterVersionOutput {
  std::vector<std::string> removed_labels;
  std::vector<std::string> invalid_labels;
};

// AddTagsToResource / RemoveTagsFromResource / ListTagsForResource: only ResourceType "Parameter"
// exists here.
struct AddTagsInput {
  std::string resource_type;
  std::string resource_id;
  std::vector<Tag> tags;
};
struct RemoveTagsInput {
  std::string resource_type;
  std::string resource_id;
  std::vector<std::string> tag_keys;
};
struct ResourceInput {
  std::string resource_type;
  std::string resource_id;
};

}  // namespace arca::params
