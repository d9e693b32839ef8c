#pragma once
// The AWS query protocol (IAM 2010-05-08, STS 2011-06-15): a form-encoded request
// (application/x-www-form-urlencoded POST body, or the GET query string) with Action=<Operation>,
// Version=<API version> and the operation's members flattened (`Tags.member.1.Key`,
// `ClientIDList.member.2`); the answer is XML:
//
//   <ActionResponse xmlns="NAMESPACE"><ActionResult>...</ActionResult>
//     <ResponseMetadata><RequestId>ID</RequestId></ResponseMetadata></ActionResponse>
//
// and errors are
//
//   <ErrorResponse xmlns="NAMESPACE"><Error><Type>Sender|Receiver</Type><Code>Name</Code>
//     <Message>...</Message></Error><RequestId>ID</RequestId></ErrorResponse>
//
// with the HTTP status of the error (x-amzn-RequestId on every response).
//
// QueryProtocol runs the request path for one QueryService (authenticate with SigV4 unless the
// operation is one AWS serves unsigned, e.g. AssumeRoleWithWebIdentity; decode; invoke; encode) and
// logs one line per request, like JsonProtocol.
//
// Thread-safety: QueryProtocol::Handle may be called concurrently; services must allow concurrent
// Invoke calls.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "frontends/aws/json_protocol.h"
#include "frontends/aws/sigv4_auth.h"
#include "http/message.h"

namespace arca::frontends::aws {

inline constexpr std::string_view kFormContentType = "application/x-www-form-urlencoded";

// The decoded form: names and values percent-decoded, in the order received.
class QueryParams {
 public:
  // Parses "a=1&b=x%20y"; kSerialization on bad percent-encoding.
  static Result<QueryParams> Parse(std::string_view form);

  std::optional<std::string_view> Find(std::string_view name) const;
  // A flattened list "Prefix.member.N" (N from 1, contiguous): its values in order.
  std::vector<std::string> List(std::string_view prefix) const;
  // A flattened list of structures "Prefix.member.N.Field": one entry per N with the fields given.
  std::vector<std::vector<std::pair<std::string, std::string>>> StructList(std::string_view prefix) const;
  const std::vector<std::pair<std::string, std::string>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, std::string>> entries_;
};

// Builds an XML document with escaping. Values go through Text(); element names are trusted.
class XmlWriter {
 public:
  XmlWriter& Open(std::string_view name);                           // <name>
  XmlWriter& Open(std::string_view name, std::string_view xmlns);   // <name xmlns="...">
  XmlWriter& Close(std::string_view name);                          // </name>
  XmlWriter& Element(std::string_view name, std::string_view text); // <name>text</name>
  XmlWriter& Raw(std::string_view xml);
  std::string Take() { return std::move(out_); }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

std::string XmlEscape(std::string_view text);

// How an arca::Code looks in a query-protocol error: the code name, Sender/Receiver, the status.
struct QueryErrorShape {
  std::string_view code;  // "NoSuchEntity", "EntityAlreadyExists", "AccessDenied", ...
  std::string_view type;  // "Sender" | "Receiver"
  int status;
};

// One AWS service spoken over the query protocol.
class QueryService {
 public:
  virtual ~QueryService() = default;
  virtual std::string_view signing_name() const = 0;   // "iam", "sts"
  virtual std::string_view xml_namespace() const = 0;  // "https://iam.amazonaws.com/doc/2010-05-08/"
  virtual std::string_view api_version() const = 0;    // "2010-05-08"
  virtual bool HasOperation(std::string_view action) const = 0;
  // True for the operations AWS accepts without a signature (STS AssumeRoleWithWebIdentity).
  virtual bool IsUnsigned(std::string_view /*action*/) const { return false; }
  // The service's error code for `error` (IAM: NoSuchEntity, EntityAlreadyExists, LimitExceeded,
  // DeleteConflict, MalformedPolicyDocument, ValidationError, InvalidInput, AccessDenied, ...).
  virtual QueryErrorShape ErrorShapeOf(const Error& error) const = 0;
  // Runs ctx.operation with `params`; returns the inner XML of <ActionResult> (may be empty for
  // operations with no output, which then answer without an <ActionResult> element).
  virtual Result<std::string> Invoke(const OperationContext& ctx, const QueryParams& params) = 0;
};

class QueryProtocol {
 public:
  // `hooks` (authorizer, audit log, metrics, alerts) must outlive the protocol.
  QueryProtocol(SigV4Verifier& verifier, const RequestHooks& hooks);
  // `params` is the already-decoded form (the router decodes it to pick the service).
  http::Response Handle(const http::Request& request, const QueryParams& params, QueryService& service);

 private:
  SigV4Verifier& verifier_;
  const RequestHooks& hooks_;
};

}  // namespace arca::frontends::aws
