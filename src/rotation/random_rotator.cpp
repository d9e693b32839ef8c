#include "rotation/random_rotator.h"

#include <boost/json.hpp>

#include "core/json.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "secrets/password.h"

namespace arca::rotation {

namespace bj = boost::json;

namespace {

constexpr std::size_t kDefaultBytes = 32;

Error TemplateError(const std::string& what) {
  return Error(Code::kInvalidParameter,
               "the " + std::string(kTemplateTag) + " tag is invalid: " + what);
}

std::string Encode(std::string_view bytes, std::string_view encoding) {
  if (encoding == "hex") return crypto::HexEncode(bytes);
  std::string b64 = crypto::Base64Encode(bytes);
  if (encoding == "base64url") {
    for (char& c : b64) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    while (!b64.empty() && b64.back() == '=') b64.pop_back();
  }
  return b64;
}

Result<std::string> RandomField(const std::string& field, const bj::object& opts) {
  std::int64_t bytes = static_cast<std::int64_t>(kDefaultBytes);
  std::string encoding = "base64";
  for (const auto& [k, v] : opts) {
    if (k == "bytes" && v.is_int64()) {
      bytes = v.get_int64();
    } else if (k == "encoding" && v.is_string()) {
      encoding = std::string(v.get_string());
    } else {
      return TemplateError("field " + field + ": unknown or mistyped random option " +
                           std::string(k));
    }
  }
  if (bytes < 1 || bytes > 4096) return TemplateError("field " + field + ": bytes must be 1..4096");
  if (encoding != "base64" && encoding != "base64url" && encoding != "hex") {
    return TemplateError("field " + field + ": encoding must be base64, base64url or hex");
  }
  SecretBytes raw = crypto::RandomSecret(static_cast<std::size_t>(bytes));
  return Encode(raw.view(), encoding);
}

Result<std::string> PasswordField(const std::string& field, const bj::object& opts) {
  secrets::GetRandomPasswordInput in;
  for (const auto& [k, v] : opts) {
    auto flag = [&](std::optional<bool>& out) -> bool {
      if (!v.is_bool()) return false;
      out = v.get_bool();
      return true;
    };
    bool ok = true;
    if (k == "length" && v.is_int64()) {
      in.password_length = v.get_int64();
    } else if (k == "excludeCharacters" && v.is_string()) {
      in.exclude_characters = std::string(v.get_string());
    } else if (k == "excludeNumbers") {
      ok = flag(in.exclude_numbers);
    } else if (k == "excludePunctuation") {
      ok = flag(in.exclude_punctuation);
    } else if (k == "excludeUppercase") {
      ok = flag(in.exclude_uppercase);
    } else if (k == "excludeLowercase") {
      ok = flag(in.exclude_lowercase);
    } else if (k == "includeSpace") {
      ok = flag(in.include_space);
    } else if (k == "requireEachIncludedType") {
      ok = flag(in.require_each_included_type);
    } else {
      ok = false;
    }
    if (!ok)
      return TemplateError("field " + field + ": unknown or mistyped password option " +
                           std::string(k));
  }
  auto pw = secrets::GenerateRandomPassword(in);
  if (!pw.ok()) return TemplateError("field " + field + ": " + pw.error().message());
  return std::string(pw->view());
}

}  // namespace

Result<secrets::SecretValue> GenerateFromTemplate(std::string_view template_json,
                                                  const secrets::SecretValueOutput& current) {
  secrets::SecretValue out;
  if (template_json.empty()) {
    if (current.secret_binary) {
      out.binary = crypto::RandomSecret(kDefaultBytes);
      return out;
    }
    auto parsed = json::Parse(current.secret_string ? current.secret_string->view() : "");
    if (parsed.ok() && parsed->is_object()) {
      return Error(Code::kInvalidParameter, "the secret's value is a JSON object but it has no " +
                                                std::string(kTemplateTag) +
                                                " tag naming the fields to generate");
    }
    SecretBytes raw = crypto::RandomSecret(kDefaultBytes);
    out.string = SecretBytes::CopyOf(crypto::Base64Encode(raw.view()));
    return out;
  }
  auto tmpl = json::Parse(template_json);
  if (!tmpl.ok() || !tmpl->is_object() || tmpl->get_object().empty()) {
    return TemplateError("it must be a non-empty JSON object mapping fields to generators");
  }
  if (!current.secret_string) {
    return Error(Code::kInvalidParameter,
                 "a rotation template needs a SecretString holding a JSON object");
  }
  auto value = json::Parse(current.secret_string->view());
  if (!value.ok() || !value->is_object()) {
    return Error(
        Code::kInvalidParameter,
        "the AWSCURRENT value is not a JSON object, so the template's fields cannot be set");
  }
  bj::object obj = std::move(value->get_object());
  for (const auto& [field_name, generator] : tmpl->get_object()) {
    const std::string field(field_name);
    if (!generator.is_object() || generator.get_object().size() != 1) {
      return TemplateError("field " + field +
                           ": a generator is {\"random\":{...}} or {\"password\":{...}}");
    }
    const auto& [kind, opts] = *generator.get_object().begin();
    if (!opts.is_object())
      return TemplateError("field " + field + ": the generator's options must be an object");
    Result<std::string> generated =
        kind == "random"     ? RandomField(field, opts.get_object())
        : kind == "password" ? PasswordField(field, opts.get_object())
                             : Result<std::string>(TemplateError(
                                   "field " + field + ": unknown generator " + std::string(kind)));
    if (!generated.ok()) return std::move(generated).error();
    obj[field_name] = std::move(*generated);
  }
  out.string = SecretBytes::CopyOf(bj::serialize(obj));
  return out;
}

Status RandomRotator::RunStep(SecretsApi& api, const StepRequest& request) {
  if (request.step == "setSecret" || request.step == "testSecret") return OkStatus();
  ARCA_ASSIGN_OR_RETURN(auto description, api.DescribeSecret(request.secret_id));
  if (request.step == "createSecret") {
    ARCA_ASSIGN_OR_RETURN(auto current, api.GetSecretValue(request.secret_id, std::nullopt,
                                                           std::string(kCurrentStage)));
    auto pending = api.GetSecretValue(request.secret_id, request.token, std::string(kPendingStage));
    if (pending.ok()) return OkStatus();  // made by an earlier attempt
    if (pending.error().code() != Code::kNotFound) return std::move(pending).error();
    std::string template_json;
    for (const auto& t : description.tags) {
      if (t.key == kTemplateTag) template_json = t.value;
    }
    ARCA_ASSIGN_OR_RETURN(auto value, GenerateFromTemplate(template_json, current));
    auto put = api.PutSecretValue(request.secret_id, request.token, std::move(value),
                                  {std::string(kPendingStage)});
    if (!put.ok()) return std::move(put).error();
    return OkStatus();
  }
  if (request.step == "finishSecret") return MoveCurrentToToken(api, request, description);
  return Error(Code::kInvalidParameter, "unknown rotation step " + request.step);
}

}  // namespace arca::rotation
