#pragma once
// The IAM front-end (query protocol, API 2010-05-08, signing name "iam"): decodes the operations on
// users, access keys, roles, managed policies and their versions, attachments, inline policies,
// tags and OpenID Connect providers into iam::Directory's inputs, and encodes the outputs with
// botocore's iam shapes (lists as <member> elements, dates in ISO 8601, policy documents
// URL-encoded as IAM sends them). Translation only: every rule lives in the domain
// (iam/directory.h).
//
// Members Arca does not implement (PermissionsBoundary) are refused with InvalidInput rather than
// ignored, so no one believes a boundary limits a principal when it does not.
//
// Thread-safety: Invoke may be called concurrently (the directory is thread-safe; nothing here
// mutates).

#include <string>
#include <string_view>

#include "frontends/aws/query_protocol.h"
#include "iam/directory.h"

namespace arca::frontends::aws {

inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

class IamFrontend final : public QueryService {
 public:
  explicit IamFrontend(iam::Directory& directory);

  std::string_view signing_name() const override { return "iam"; }
  std::string_view xml_namespace() const override { return kIamNamespace; }
  std::string_view api_version() const override { return "2010-05-08"; }
  bool HasOperation(std::string_view action) const override;
  // NoSuchEntity 404, EntityAlreadyExists / DeleteConflict / LimitExceeded 409,
  // MalformedPolicyDocument / ValidationError / InvalidInput 400, AccessDenied 403, as botocore's
  // iam model gives them.
  QueryErrorShape ErrorShapeOf(const Error& error) const override;
  Result<std::string> Invoke(const OperationContext& ctx, const QueryParams& params) override;

 private:
  iam::Directory& directory_;
};

// A policy document as IAM returns it: percent-encoded (RFC 3986 unreserved characters kept, so
// a space is "%20"), which botocore and the aws CLI decode.
std::string UrlEncodeDocument(std::string_view document);

}  // namespace arca::frontends::aws
