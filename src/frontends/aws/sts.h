#pragma once
// The STS front-end (query protocol, API 2011-06-15): GetCallerIdentity, AssumeRole and
// AssumeRoleWithWebIdentity (which AWS serves unsigned: the web identity token is the credential),
// decoded into iam::StsService's inputs and encoded with botocore's sts shapes. Translation only:
// every rule lives in the domain (iam/sts.h).
//
// Thread-safety: Invoke may be called concurrently (the service is thread-safe; nothing here mutates).

#include <string_view>

#include "frontends/aws/query_protocol.h"
#include "iam/sts.h"

namespace arca::frontends::aws {

inline constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";

class StsFrontend final : public QueryService {
 public:
  explicit StsFrontend(iam::StsService& service);

  std::string_view signing_name() const override { return "sts"; }
  std::string_view xml_namespace() const override { return kStsNamespace; }
  std::string_view api_version() const override { return "2011-06-15"; }
  bool HasOperation(std::string_view action) const override;
  bool IsUnsigned(std::string_view action) const override;
  QueryErrorShape ErrorShapeOf(const Error& error) const override;
  Result<std::string> Invoke(const OperationContext& ctx, const QueryParams& params) override;

 private:
  iam::StsService& service_;
};

}  // namespace arca::frontends::aws
