#pragma once
// The Secrets Manager front-end (AWS JSON 1.1, X-Amz-Target "secretsmanager.<Operation>"): decodes the
// 23 operations of the 2017-10-17 API into secrets/types.h, calls secrets::SecretsService, and encodes
// the outputs with the API's member names. Translation only: every rule lives in the domain.
//
// Secret values: SecretString/SecretBinary are taken out of the parsed request into SecretBytes and
// the parsed copies are wiped; outputs are escaped straight into the response buffer (JsonWriter).
//
// Thread-safety: Invoke may be called concurrently (the service is thread-safe; nothing here mutates).

#include <string_view>

#include "frontends/aws/json_protocol.h"
#include "secrets/service.h"

namespace arca::frontends::aws {

class SecretsManagerFrontend final : public JsonService {
 public:
  explicit SecretsManagerFrontend(secrets::SecretsService& service);

  std::string_view target_prefix() const override { return "secretsmanager"; }
  std::string_view signing_name() const override { return "secretsmanager"; }
  std::string_view coral_namespace() const override { return "com.amazonaws.secretsmanager"; }
  bool HasOperation(std::string_view operation) const override;
  Result<std::string> Invoke(const OperationContext& ctx, boost::json::object& input) override;

 private:
  secrets::SecretsService& service_;
};

}  // namespace arca::frontends::aws
