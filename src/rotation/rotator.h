#pragma once
// Rotators: what runs the four steps of a rotation (createSecret, setSecret, testSecret,
// finishSecret) for one secret, as an AWS rotation Lambda does. A rotator sees the secret only
// through SecretsApi, the Secrets Manager operations a rotation function calls, acting with the
// service's own identity (access::AllowAll). Rotators are named by RotationLambdaARN
// (arn:aws:lambda:REGION:ACCOUNT:function:NAME) and looked up in a RotatorRegistry.
//
// Thread-safety: SecretsApi is a thin value over a thread-safe service. A Rotator's RunStep may be
// called from the engine thread for different secrets one after another; RotatorRegistry is filled
// before the engine starts and only read afterwards.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret_bytes.h"
#include "secrets/service.h"

namespace boost::json {
class object;
}

namespace arca::rotation {

// The Secrets Manager operations a rotation function uses, on secrets of one region.
class SecretsApi {
 public:
  SecretsApi(secrets::SecretsService& service, std::string region);

  Result<secrets::SecretDescription> DescribeSecret(const std::string& secret_id);
  // By stage (AWSCURRENT, AWSPENDING, ...) or by version id (optionally checked against a stage).
  Result<secrets::SecretValueOutput> GetSecretValue(const std::string& secret_id,
                                                    std::optional<std::string> version_id,
                                                    std::optional<std::string> version_stage);
  // PutSecretValue with ClientRequestToken `token` and the given stages (a rotation uses
  // {"AWSPENDING"}).
  Result<secrets::PutSecretValueOutput> PutSecretValue(const std::string& secret_id,
                                                       const std::string& token,
                                                       secrets::SecretValue value,
                                                       std::vector<std::string> stages);
  Status UpdateSecretVersionStage(const secrets::UpdateSecretVersionStageInput& in);
  // The SecretString of a version (by token and/or stage); kNotFound passes through,
  // kInvalidParameter for a binary secret.
  Result<SecretBytes> GetSecretString(const std::string& secret_id,
                                      std::optional<std::string> version_id,
                                      std::string_view version_stage);

 private:
  secrets::SecretsService& service_;
  secrets::Context ctx_;
};

inline constexpr std::string_view kCurrentStage = "AWSCURRENT";
inline constexpr std::string_view kPendingStage = "AWSPENDING";
inline constexpr std::string_view kPreviousStage = "AWSPREVIOUS";

// One step's event, as a rotation Lambda receives it.
struct StepRequest {
  std::string secret_id;  // the secret's ARN
  std::string token;      // ClientRequestToken
  std::string step;       // createSecret | setSecret | testSecret | finishSecret
};

class Rotator {
 public:
  virtual ~Rotator() = default;
  // Runs one step. Must be idempotent: after a crash the same step may run again. An error's
  // message is recorded and audited: it must never contain a secret value.
  virtual Status RunStep(SecretsApi& api, const StepRequest& request) = 0;
};

// AWS's rotation functions open every step with the same checks: rotation is enabled, and the
// token's version is staged AWSPENDING, or already AWSCURRENT (the step has nothing left to do).
struct StepCheck {
  secrets::SecretDescription description;
  bool token_is_current = false;
};
Result<StepCheck> CheckStep(SecretsApi& api, const StepRequest& request);

// finishSecret as AWS's functions do it: AWSCURRENT moves to the token's version, off the version
// that held it (AWSPREVIOUS follows). Nothing when the token's version is already AWSCURRENT.
Status MoveCurrentToToken(SecretsApi& api, const StepRequest& request,
                          const secrets::SecretDescription& description);

// The function name of a Lambda ARN ("arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]"),
// or nullopt when `arn` is not one.
std::optional<std::string> LambdaFunctionName(std::string_view arn);

class RotatorRegistry {
 public:
  // The registry with the built-in rotators (arca-random, arca-postgres-single-user,
  // arca-postgres-alternating-users, arca-redis).
  static std::unique_ptr<RotatorRegistry> WithBuiltins();

  void Register(std::string name, std::shared_ptr<Rotator> rotator);
  // The rotator the ARN names; kInvalidParameter with a clear message when there is none.
  Result<std::shared_ptr<Rotator>> Find(std::string_view lambda_arn) const;

 private:
  std::map<std::string, std::shared_ptr<Rotator>, std::less<>> rotators_;
};

// The members every database credential secret has in AWS's JSON shape, read from the parsed
// SecretString `obj`: engine, host, username and password (strings, required). The password is
// copied into `password` and wiped in `obj`. Errors are kInvalidParameter "the secret's value is not
// a KIND secret: ...".
Status ReadCredentialFields(boost::json::object& obj, std::string_view kind, std::string& engine,
                            std::string& host, std::string& username, SecretBytes& password);

// Wipes the bytes of string member `key` of `obj`, if it is one.
void WipeJsonString(boost::json::object& obj, std::string_view key);

}  // namespace arca::rotation
