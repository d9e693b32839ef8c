#pragma once
// The audit event: one CloudTrail record (eventVersion 1.09, "AwsApiCall") per API call, allowed,
// denied or failed. The caller (the front-end's gate) fills an EventInput with plain strings; this
// module does not know iam/ or HTTP.
//
// Redaction: requestParameters and responseElements are built from the request/response JSON with
// RedactMembers(). Member names become CloudTrail's camelCase ("SecretId" -> "secretId"). What AWS
// drops for Secrets Manager (SecretString, SecretBinary: CloudTrail shows PutSecretValue as
// {"secretId": ..., "clientRequestToken": ...}) is dropped here too; other sensitive members may
// instead be kept with the value "HIDDEN_DUE_TO_SECURITY_REASONS" (CloudTrail's marker) so a reader
// sees the member was sent. GetSecretValue's and GetRandomPassword's responseElements are null, as
// in CloudTrail: never pass those response bodies.
//
// Thread-safety: free functions over values; call from any thread.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"

namespace arca::audit {

inline constexpr std::string_view kEventVersion = "1.09";
inline constexpr std::string_view kHiddenValue = "HIDDEN_DUE_TO_SECURITY_REASONS";

// userIdentity.type. Web-identity sessions are kAssumedRole with `web_identity` set, as CloudTrail
// shows sessions made by AssumeRoleWithWebIdentity.
// kWebIdentityUser: the caller of AssumeRoleWithWebIdentity, known only by its verified token
// (`web_identity`).
enum class IdentityType { kRoot, kIamUser, kAssumedRole, kWebIdentityUser, kUnknown };

// What AssumeRoleWithWebIdentity verified (mirrors iam::WebIdentity).
struct WebIdentityInput {
  std::string provider_arn;            // webIdFederationData.federatedProvider
  std::string issuer;                  // provider URL without https:// (the attribute key prefix)
  std::string subject;                 // system:serviceaccount:NS:NAME
  std::vector<std::string> audiences;  // the token's aud
};

// The caller (mirrors iam::Caller field by field; kUnknown when authentication failed).
struct IdentityInput {
  IdentityType type = IdentityType::kUnknown;
  std::string account;  // accountId
  std::string arn;
  std::string user_id;  // principalId: account id (root), AIDA... (user), AROA...:SESSION (role)
  std::string access_key_id;
  std::string principal;  // "root", the user name or the role name
  // Role sessions only.
  std::string role_arn;
  std::string role_id;
  std::string session_name;
  std::int64_t session_issued_ms = 0;
  std::optional<WebIdentityInput> web_identity;
};

// resources[]: what the call touched ({"ARN", "accountId", "type"} in the record).
struct ResourceInput {
  std::string arn;
  std::string account;
  std::string type;  // "AWS::SecretsManager::Secret"
};

struct EventInput {
  IdentityInput identity;
  TimePoint event_time;
  std::string event_source;  // "secretsmanager.amazonaws.com"
  std::string event_name;    // "GetSecretValue"
  std::string region;
  std::string source_ip;
  std::string user_agent;
  // Already redacted (RedactMembers); JSON null when absent, as CloudTrail writes it.
  boost::json::value request_parameters;
  boost::json::value response_elements;
  std::string request_id;
  std::string event_id;  // empty: a new UUID
  bool read_only = false;
  std::vector<ResourceInput> resources;
  std::string recipient_account;  // empty: identity.account
  // Set for failed calls (denied or an error): the error's type ("AccessDenied",
  // "ResourceNotFoundException") and message.
  std::string error_code;
  std::string error_message;
};

// The CloudTrail record, members in CloudTrail's order: eventVersion, userIdentity, eventTime,
// eventSource, eventName, awsRegion, sourceIPAddress, userAgent, [errorCode, errorMessage,]
// requestParameters, responseElements, requestID, eventID, readOnly, [resources,] eventType,
// managementEvent, recipientAccountId, eventCategory.
boost::json::object BuildRecord(const EventInput& in);

// The same record as JSON text, written directly (no value tree): byte for byte
// boost::json::serialize(BuildRecord(in)) with the same event_id, at a fraction of the cost. For
// Log::AppendSerialized on the request path.
std::string SerializeRecord(const EventInput& in);

// userIdentity alone.
boost::json::object BuildUserIdentity(const IdentityInput& id);

// How RedactMembers treats a member, matched by its API name (case-insensitive, at any depth).
struct Redaction {
  std::vector<std::string> drop;  // left out entirely (AWS's behaviour for SecretString)
  std::vector<std::string> hide;  // kept, value replaced by kHiddenValue
};

// The sensitive members of the APIs Arca speaks, for callers that have nothing more specific:
// drops SecretString, SecretBinary, RandomPassword, SecretAccessKey, SessionToken,
// WebIdentityToken, Password, NewPassword, OldPassword, PrivateKey; hides nothing.
const Redaction& DefaultRedaction();

// A copy of `body` (a request or response object) for requestParameters/responseElements: member
// names camelCased at every depth, members named in `redaction` dropped or hidden at every depth
// (also the members named in DefaultRedaction(): they can never be kept). Strings are copied as
// they are; nothing else is changed.
boost::json::object RedactMembers(const boost::json::object& body, const Redaction& redaction);

// CloudTrail's member name: a leading run of capitals lower-cased, except the last one when a
// lower-case letter follows it ("SecretId" -> "secretId", "ARN" -> "arn", "KMSKeyId" ->
// "kmsKeyId").
std::string CamelCaseMember(std::string_view name);

}  // namespace arca::audit
