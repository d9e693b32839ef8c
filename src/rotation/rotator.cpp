#include "rotation/rotator.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/access.h"
#include "rotation/postgres_rotator.h"
#include "rotation/random_rotator.h"
#include "rotation/redis_rotator.h"

namespace arca::rotation {

SecretsApi::SecretsApi(secrets::SecretsService& service, std::string region) : service_(service) {
  ctx_.region = std::move(region);
  ctx_.request_id = "arca-rotation";
  ctx_.principal_arn = "secretsmanager.amazonaws.com";
  ctx_.gate = &access::AllowAll::Instance();
}

Result<secrets::SecretDescription> SecretsApi::DescribeSecret(const std::string& secret_id) {
  return service_.DescribeSecret(ctx_, {secret_id});
}

Result<secrets::SecretValueOutput> SecretsApi::GetSecretValue(
    const std::string& secret_id, std::optional<std::string> version_id,
    std::optional<std::string> version_stage) {
  return service_.GetSecretValue(ctx_,
                                 {secret_id, std::move(version_id), std::move(version_stage)});
}

Result<secrets::PutSecretValueOutput> SecretsApi::PutSecretValue(const std::string& secret_id,
                                                                 const std::string& token,
                                                                 secrets::SecretValue value,
                                                                 std::vector<std::string> stages) {
  secrets::PutSecretValueInput in;
  in.secret_id = secret_id;
  in.client_request_token = token;
  in.value = std::move(value);
  in.version_stages = std::move(stages);
  return service_.PutSecretValue(ctx_, std::move(in));
}

Status SecretsApi::UpdateSecretVersionStage(const secrets::UpdateSecretVersionStageInput& in) {
  auto out = service_.UpdateSecretVersionStage(ctx_, in);
  if (!out.ok()) return std::move(out).error();
  return OkStatus();
}

Result<SecretBytes> SecretsApi::GetSecretString(const std::string& secret_id,
                                                std::optional<std::string> version_id,
                                                std::string_view version_stage) {
  ARCA_ASSIGN_OR_RETURN(
      auto v, GetSecretValue(secret_id, std::move(version_id), std::string(version_stage)));
  if (!v.secret_string) {
    return Error(Code::kInvalidParameter, "the " + std::string(version_stage) + " version of " +
                                              secret_id + " has no SecretString");
  }
  return std::move(*v.secret_string);
}

namespace {

bool Holds(const std::vector<std::string>& stages, std::string_view stage) {
  return std::find(stages.begin(), stages.end(), stage) != stages.end();
}

}  // namespace

Result<StepCheck> CheckStep(SecretsApi& api, const StepRequest& request) {
  const std::string& arn = request.secret_id;
  StepCheck check;
  ARCA_ASSIGN_OR_RETURN(check.description, api.DescribeSecret(arn));
  if (check.description.rotation_enabled && !*check.description.rotation_enabled) {
    return Error(Code::kInvalidRequest, "Secret " + arn + " is not enabled for rotation");
  }
  const std::vector<std::string>* stages = nullptr;
  for (const auto& [id, s] : check.description.version_ids_to_stages) {
    if (id == request.token) stages = &s;
  }
  if (stages == nullptr) {
    return Error(Code::kInvalidRequest, "Secret version " + request.token +
                                            " has no stage for rotation of secret " + arn + ".");
  }
  if (Holds(*stages, kCurrentStage)) {
    check.token_is_current = true;
  } else if (!Holds(*stages, kPendingStage)) {
    return Error(Code::kInvalidRequest, "Secret version " + request.token +
                                            " not set as AWSPENDING for rotation of secret " + arn +
                                            ".");
  }
  return check;
}

Status MoveCurrentToToken(SecretsApi& api, const StepRequest& request,
                          const secrets::SecretDescription& description) {
  std::optional<std::string> current_version;
  for (const auto& [id, stages] : description.version_ids_to_stages) {
    if (Holds(stages, kCurrentStage)) current_version = id;
  }
  if (current_version == request.token) return OkStatus();
  secrets::UpdateSecretVersionStageInput in;
  in.secret_id = request.secret_id;
  in.version_stage = std::string(kCurrentStage);
  in.move_to_version_id = request.token;
  in.remove_from_version_id = current_version;
  return api.UpdateSecretVersionStage(in);
}

std::optional<std::string> LambdaFunctionName(std::string_view arn) {
  // arn : partition : lambda : region : account : function : name [: qualifier]
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = arn.find(':', start);
    parts.push_back(arn.substr(start, colon == std::string_view::npos ? arn.npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if ((parts.size() != 7 && parts.size() != 8) || parts[0] != "arn" || parts[2] != "lambda" ||
      parts[5] != "function" || parts[6].empty()) {
    return std::nullopt;
  }
  return std::string(parts[6]);
}

std::unique_ptr<RotatorRegistry> RotatorRegistry::WithBuiltins() {
  auto r = std::make_unique<RotatorRegistry>();
  r->Register(std::string(kRandomRotatorName), std::make_shared<RandomRotator>());
  r->Register(std::string(kPostgresSingleUserRotatorName),
              std::make_shared<PostgresRotator>(PostgresRotator::Scheme::kSingleUser));
  r->Register(std::string(kPostgresAlternatingUsersRotatorName),
              std::make_shared<PostgresRotator>(PostgresRotator::Scheme::kAlternatingUsers));
  r->Register(std::string(kRedisRotatorName), std::make_shared<RedisRotator>());
  return r;
}

void RotatorRegistry::Register(std::string name, std::shared_ptr<Rotator> rotator) {
  rotators_[std::move(name)] = std::move(rotator);
}

Result<std::shared_ptr<Rotator>> RotatorRegistry::Find(std::string_view lambda_arn) const {
  auto name = LambdaFunctionName(lambda_arn);
  if (!name) {
    return Error(
        Code::kInvalidParameter,
        "RotationLambdaARN " + std::string(lambda_arn) +
            " is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME).");
  }
  auto it = rotators_.find(*name);
  if (it == rotators_.end()) {
    std::string known;
    for (const auto& [n, r] : rotators_) known += (known.empty() ? "" : ", ") + n;
    return Error(Code::kInvalidParameter,
                 "No rotator named " + *name + " (from RotationLambdaARN " +
                     std::string(lambda_arn) + "); known rotators: " + known + ".");
  }
  return it->second;
}

Status ReadCredentialFields(boost::json::object& obj, std::string_view kind, std::string& engine,
                            std::string& host, std::string& username, SecretBytes& password) {
  auto field_error = [kind](const std::string& what) {
    return Error(Code::kInvalidParameter,
                 "the secret's value is not a " + std::string(kind) + " secret: " + what);
  };
  auto required = [&](std::string_view key) -> Result<const boost::json::string*> {
    auto it = obj.find(key);
    if (it == obj.end() || it->value().is_null()) return field_error(std::string(key) + " key is missing");
    if (!it->value().is_string()) return field_error(std::string(key) + " must be a string");
    return &it->value().get_string();
  };
  ARCA_ASSIGN_OR_RETURN(const boost::json::string* e, required("engine"));
  engine = std::string(*e);
  ARCA_ASSIGN_OR_RETURN(const boost::json::string* h, required("host"));
  host = std::string(*h);
  ARCA_ASSIGN_OR_RETURN(const boost::json::string* u, required("username"));
  username = std::string(*u);
  ARCA_ASSIGN_OR_RETURN(const boost::json::string* pw, required("password"));
  password = SecretBytes::CopyOf(std::string_view(pw->data(), pw->size()));
  WipeJsonString(obj, "password");
  return OkStatus();
}

void WipeJsonString(boost::json::object& obj, std::string_view key) {
  auto it = obj.find(key);
  if (it != obj.end() && it->value().is_string()) {
    boost::json::string& s = it->value().get_string();
    SecureWipe(s.data(), s.size());
  }
}

}  // namespace arca::rotation
