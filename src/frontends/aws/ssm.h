#pragma once
// The SSM Parameter Store front-end (AWS JSON 1.1, X-Amz-Target "AmazonSSM.<Operation>"): decodes
// the parameter operations of the 2014-11-06 API into params/types.h, calls params::ParamsService,
// and encodes the outputs with the API's member names. Translation only: every rule lives in the
// domain.
//
// Values: PutParameter's Value is taken out of the parsed request into SecretBytes and the parsed
// copy wiped and removed (the audit record is built from what is left); outputs are escaped straight
// into the response buffer (JsonWriter).
//
// Errors the domain names (ParameterNotFound, ...) keep their names; the generic ones get SSM's
// (ValidationException, InternalServerError, ...).
//
// Thread-safety: Invoke may be called concurrently (the service is thread-safe; nothing here mutates).

#include <string_view>

#include "frontends/aws/json_protocol.h"
#include "params/service.h"

namespace arca::frontends::aws {

class SsmFrontend final : public JsonService {
 public:
  explicit SsmFrontend(params::ParamsService& service);

  std::string_view target_prefix() const override { return "AmazonSSM"; }
  std::string_view signing_name() const override { return "ssm"; }
  std::string_view coral_namespace() const override { return "com.amazonaws.ssm"; }
  bool HasOperation(std::string_view operation) const override;
  Result<std::string> Invoke(const OperationContext& ctx, boost::json::object& input) override;

 private:
  params::ParamsService& service_;
};

}  // namespace arca::frontends::aws
