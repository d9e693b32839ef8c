#include "params/service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/regex.hpp>
#include <set>
#include <utility>

#include "core/json.h"
#include "core/log.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "params/filters.h"
#include "params/meta.h"
#include "params/names.h"
#include "params/policies.h"

namespace arca::params {

std::string ParameterArn(const ServiceOptions& options, const std::string& region,
                         const std::string& name) {
  std::string_view tail = name;
  if (!tail.empty() && tail.front() == '/') tail.remove_prefix(1);
  return "arn:" + options.partition + ":ssm:" + region + ":" + options.account_id + ":parameter/" +
         std::string(tail);
}

namespace {

namespace bj = boost::json;
using store::ParameterRow;
using store::ParameterVersionRow;
using store::Transaction;
using store::TxnMode;

constexpr std::size_t kStandardMaxValue = 4096;
constexpr std::size_t kAdvancedMaxValue = 8192;
constexpr std::size_t kMaxVersions = 100;
constexpr std::size_t kMaxLabelsPerVersion = 10;
constexpr std::size_t kMaxTags = 50;
constexpr std::string_view kDefaultKey = "alias/aws/ssm";
constexpr std::string_view kStandard = "Standard";
constexpr std::string_view kAdvanced = "Advanced";
constexpr std::string_view kSecureString = "SecureString";
// The index of parameters with an Expiration policy: a JSON object "REGION\nNAME" -> unix ms.
constexpr const char* kExpirationsSetting = "params.expirations";

// ---- errors ----------------------------------------------------------------------------------

Error ModelViolation(std::string_view member, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value at '" + std::string(member) +
                                      "' failed to satisfy constraint: Member must " +
                                      std::string(constraint));
}

Error ParameterNotFound(const std::string& name) {
  return Error(Code::kNotFound, "Parameter " + name + " not found.").WithWireType("ParameterNotFound");
}

Error VersionNotFound(std::int64_t version, const std::string& name) {
  return Error(Code::kNotFound, "Systems Manager could not find version " + std::to_string(version) +
                                    " of " + name + ". Verify the version and try again.")
      .WithWireType("ParameterVersionNotFound");
}

Error TooManyUpdates() {
  return Error(Code::kPreconditionNotMet,
               "There are concurrent updates for a resource that supports one update at a time.")
      .WithWireType("TooManyUpdates");
}

Error InvalidResourceId() {
  return Error(Code::kInvalidParameter, "The resource ID isn't valid. Verify that you entered the "
                                        "correct ID and try again.")
      .WithWireType("InvalidResourceId");
}

Error TooManyTags() {
  return Error(Code::kLimitExceeded, "A parameter can have at most 50 tags.").WithWireType("TooManyTagsError");
}

Error InvalidNextToken() {
  return Error(Code::kInvalidNextToken, "The specified token isn't valid.").WithWireType("InvalidNextToken");
}

bool IsNotFound(const Error& e) {
  return e.wire_type() == "ParameterNotFound" || e.wire_type() == "ParameterVersionNotFound";
}

// KMS's errors as SSM reports them: a key that is unknown, disabled or pending deletion is
// InvalidKeyId, with KMS's own message and error code appended as SSM does.
Error FromKms(Error e, const std::string& request_id) {
  std::string wire = e.wire_type();
  if (wire.empty() && e.code() == Code::kNotFound) wire = "NotFoundException";
  if (wire == "NotFoundException" || wire == "DisabledException" || wire == "KMSInvalidStateException" ||
      wire == "KeyUnavailableException" || wire == "InvalidKeyUsageException") {
    return Error(Code::kInvalidParameter, e.message() + " (Service: AWSKMS; Status Code: 400; Error Code: " +
                                              wire + "; Request ID: " + request_id + "; Proxy: null)",
                 e.detail())
        .WithWireType("InvalidKeyId");
  }
  if (e.code() == Code::kAccessDenied) return e;
  if (wire == "InvalidCiphertextException" || wire == "IncorrectKeyException") {
    return Error(Code::kInternal, "a stored SecureString could not be decrypted", e.ToLogString());
  }
  return e;
}

// ---- small checks ----------------------------------------------------------------------------

bool ValidType(std::string_view t) { return t == "String" || t == "StringList" || t == kSecureString; }

bool ValidKeyIdChars(std::string_view k) {
  return std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
           c == '/' || c == '_' || c == '-';
  });
}

bool TagChar(unsigned char c) {
  if (c >= 0x80) return true;  // \p{L}, \p{Z}, \p{N} beyond ASCII: not checked byte-wise
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view(" _.:/=+-@").find(static_cast<char>(c)) != std::string_view::npos;
}

Status ValidateTagKey(const std::string& key, std::size_t index, std::string_view list) {
  const std::string at = std::string(list) + "." + std::to_string(index + 1) + ".member";
  if (key.empty() || key.size() > 128) return ModelViolation(at + ".key", "have length between 1 and 128");
  if (!std::all_of(key.begin(), key.end(), [](char c) { return TagChar(static_cast<unsigned char>(c)); })) {
    return ModelViolation(at + ".key",
                          "satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
  }
  if (key.rfind("aws:", 0) == 0) {
    return Error(Code::kValidation, "Tag keys starting with \"aws:\" are reserved for AWS use.");
  }
  return OkStatus();
}

Status ValidateTags(const std::vector<Tag>& tags) {
  for (std::size_t i = 0; i < tags.size(); ++i) {
    ARCA_RETURN_IF_ERROR(ValidateTagKey(tags[i].key, i, "tags"));
    const std::string& v = tags[i].value;
    if (v.size() > 256) {
      return ModelViolation("tags." + std::to_string(i + 1) + ".member.value",
                            "have length less than or equal to 256");
    }
    if (!std::all_of(v.begin(), v.end(), [](char c) { return TagChar(static_cast<unsigned char>(c)); })) {
      return ModelViolation("tags." + std::to_string(i + 1) + ".member.value",
                            "satisfy regular expression pattern: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$");
    }
  }
  return OkStatus();
}

void AddRequestTagKeys(const std::vector<Tag>& tags, access::ContextKeys& keys) {
  std::vector<std::string> names;
  for (const Tag& t : tags) {
    keys.Set("aws:RequestTag/" + t.key, t.value);
    names.push_back(t.key);
  }
  if (!names.empty()) keys.Set("aws:TagKeys", std::move(names));
}

// LabelParameterVersion's rules for one label (its length is the model's, checked before).
bool ValidLabel(std::string_view label) {
  const std::string lower = AsciiLower(label);
  if (lower.starts_with("aws") || lower.starts_with("ssm")) return false;
  if (label.front() >= '0' && label.front() <= '9') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

// `limit_count`: more than 10 labels is the model's violation (UnlabelParameterVersion); for
// LabelParameterVersion it is the version's limit, checked later (ParameterVersionLabelLimitExceeded).
Status ValidateLabelList(const std::vector<std::string>& labels, bool limit_count) {
  if (labels.empty()) return ModelViolation("labels", "have length greater than or equal to 1");
  if (limit_count && labels.size() > kMaxLabelsPerVersion) {
    return ModelViolation("labels", "have length less than or equal to 10");
  }
  for (const std::string& l : labels) {
    if (l.empty() || l.size() > 100) {
      return Error(Code::kValidation,
                   "1 validation error detected: Value '[" + l +
                       "]' at 'labels' failed to satisfy constraint: Member must satisfy constraint: "
                       "[Member must have length less than or equal to 100, Member must have length "
                       "greater than or equal to 1]");
    }
  }
  return OkStatus();
}

std::vector<std::string> Unique(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const std::string& s : in) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

bool HasLabel(const ParameterVersionRow& v, std::string_view label) {
  return std::find(v.labels.begin(), v.labels.end(), label) != v.labels.end();
}

// Page sizes: AWS's constraint messages for maxResults.
Result<std::size_t> PageSize(const std::optional<std::int64_t>& max, std::int64_t limit, std::int64_t dflt) {
  if (!max) return static_cast<std::size_t>(dflt);
  if (*max < 1) {
    return Error(Code::kValidation, "1 validation error detected: Value '" + std::to_string(*max) +
                                        "' at 'maxResults' failed to satisfy constraint: Member must "
                                        "have value greater than or equal to 1.");
  }
  if (*max > limit) {
    return Error(Code::kValidation, "1 validation error detected: Value '" + std::to_string(*max) +
                                        "' at 'maxResults' failed to satisfy constraint: Member must "
                                        "have value less than or equal to " + std::to_string(limit) + ".");
  }
  return static_cast<std::size_t>(*max);
}

// Paging tokens: base64 of a kind and a cursor (the last name or version returned). Opaque to the
// client; a token of another operation is invalid.
std::string EncodeToken(std::string_view kind, std::string_view cursor) {
  return crypto::Base64Encode("arca-ssm:" + std::string(kind) + ":" + std::string(cursor));
}

Result<std::optional<std::string>> DecodeToken(const std::optional<std::string>& token, std::string_view kind) {
  if (!token) return std::optional<std::string>();
  if (token->empty() || token->size() > 4096) return InvalidNextToken();
  auto raw = crypto::Base64Decode(*token);
  const std::string prefix = "arca-ssm:" + std::string(kind) + ":";
  if (!raw || raw->rfind(prefix, 0) != 0 || raw->size() == prefix.size()) return InvalidNextToken();
  return std::optional<std::string>(raw->substr(prefix.size()));
}

// A compiled AllowedPattern; InvalidAllowedPatternException when it is not a regular expression.
Result<boost::regex> CompilePattern(const std::string& pattern) {
  try {
    return boost::regex(pattern, boost::regex::perl);
  } catch (const std::exception& e) {
    return Error(Code::kInvalidParameter, "The AllowedPattern is not a valid regular expression.", e.what())
        .WithWireType("InvalidAllowedPatternException");
  }
}

Status CheckPattern(const std::string& pattern, std::string_view value) {
  ARCA_ASSIGN_OR_RETURN(boost::regex re, CompilePattern(pattern));
  bool matched = false;
  try {
    matched = boost::regex_match(value.begin(), value.end(), re);
  } catch (const std::exception&) {
    matched = false;  // too complex to decide: not validated
  }
  if (!matched) {
    return Error(Code::kInvalidParameter,
                 "Parameter value, cannot be validated against allowedPattern: " + pattern)
        .WithWireType("ParameterPatternMismatchException");
  }
  return OkStatus();
}

bool LooksLikeAmiId(std::string_view v) {
  if (!v.starts_with("ami-")) return false;
  std::string_view id = v.substr(4);
  return id.size() >= 8 && id.size() <= 17 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

bj::value EpochSeconds(TimePoint t) {
  const std::int64_t ms = ToUnixMillis(t);
  if (ms % 1000 == 0) return bj::value(ms / 1000);
  return bj::value(static_cast<double>(ms) / 1000.0);
}

// DescribeSecret's output in its API shape: the SourceResult of a Secrets Manager reference.
std::string DescribeSecretJson(const secrets::SecretDescription& d) {
  bj::object o;
  o["ARN"] = d.arn;
  o["Name"] = d.name;
  if (d.description) o["Description"] = *d.description;
  if (d.kms_key_id) o["KmsKeyId"] = *d.kms_key_id;
  if (d.rotation_enabled) o["RotationEnabled"] = *d.rotation_enabled;
  if (d.rotation_lambda_arn) o["RotationLambdaARN"] = *d.rotation_lambda_arn;
  if (d.rotation_rules) {
    bj::object r;
    if (d.rotation_rules->automatically_after_days) {
      r["AutomaticallyAfterDays"] = *d.rotation_rules->automatically_after_days;
    }
    if (d.rotation_rules->duration) r["Duration"] = *d.rotation_rules->duration;
    if (d.rotation_rules->schedule_expression) r["ScheduleExpression"] = *d.rotation_rules->schedule_expression;
    o["RotationRules"] = std::move(r);
  }
  if (d.last_rotated_date) o["LastRotatedDate"] = EpochSeconds(*d.last_rotated_date);
  if (d.last_changed_date) o["LastChangedDate"] = EpochSeconds(*d.last_changed_date);
  if (d.last_accessed_date) o["LastAccessedDate"] = EpochSeconds(*d.last_accessed_date);
  if (d.next_rotation_date) o["NextRotationDate"] = EpochSeconds(*d.next_rotation_date);
  bj::array tags;
  for (const auto& t : d.tags) tags.push_back(bj::object{{"Key", t.key}, {"Value", t.value}});
  o["Tags"] = std::move(tags);
  bj::object stages;
  for (const auto& [version, labels] : d.version_ids_to_stages) {
    bj::array a;
    for (const auto& l : labels) a.push_back(bj::value(l));
    stages[version] = std::move(a);
  }
  o["VersionIdsToStages"] = std::move(stages);
  if (d.owning_service) o["OwningService"] = *d.owning_service;
  o["CreatedDate"] = EpochSeconds(d.created_date);
  if (d.primary_region) o["PrimaryRegion"] = *d.primary_region;
  return bj::serialize(o);
}

std::vector<PolicyInfo> PolicyInfos(const VersionMeta& vm) {
  std::vector<PolicyInfo> out;
  for (const StoredPolicy& p : vm.policies) out.push_back(PolicyInfo{p.text, p.type, "Pending"});
  return out;
}

// A parameter loaded for an operation.
struct Loaded {
  ParameterRow row;
  ParamMeta meta;
};

// A version chosen by a read, with what its output needs; values are made after the transaction.
struct Found {
  std::string name;  // as created
  std::string arn;
  ParameterVersionRow version;
  VersionMeta vmeta;
  std::optional<std::string> selector;
};

}  // namespace

class ParamsService::Impl {
 public:
  Impl(store::Store& store, kms::KmsService& kms, secrets::SecretsService* secrets, const Clock& clock,
       ServiceOptions opts)
      : store_(store), kms_(kms), secrets_(secrets), clock_(clock), opts_(std::move(opts)) {}

  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  std::string ArnPrefix(const std::string& region) const {
    return "arn:" + opts_.partition + ":ssm:" + region + ":" + opts_.account_id + ":parameter/";
  }
  std::string Arn(const std::string& region, const std::string& name) const {
    return ParameterArn(opts_, region, name);
  }

  static kms::Context KmsContext(const Context& ctx) {
    return kms::Context{ctx.region, ctx.request_id, ctx.principal_arn, ctx.gate};
  }

  // The parameter `canonical` of `region`; nullopt when absent or past its Expiration policy (it is
  // deleted as far as clients can tell). `expired` reports the second case.
  Result<std::optional<Loaded>> Load(Transaction& txn, const std::string& region,
                                     const std::string& canonical, bool* expired = nullptr) const {
    if (expired != nullptr) *expired = false;
    ARCA_ASSIGN_OR_RETURN(std::optional<ParameterRow> row, txn.GetParameter(region, canonical));
    if (!row) return std::optional<Loaded>();
    ARCA_ASSIGN_OR_RETURN(ParamMeta meta, ParamMeta::FromJson(row->meta));
    if (meta.expires_ms && *meta.expires_ms <= NowMs()) {
      if (expired != nullptr) *expired = true;
      return std::optional<Loaded>();
    }
    return std::optional<Loaded>(Loaded{std::move(*row), std::move(meta)});
  }

  // What the gate is told about a parameter (meta null: it does not exist).
  access::Resource ResourceOf(const std::string& region, const std::string& canonical,
                              const ParamMeta* meta) const {
    access::Resource r;
    r.arn = Arn(region, canonical);
    r.display = r.arn;
    if (meta != nullptr) {
      for (const Tag& t : meta->tags) {
        r.keys.Set("aws:ResourceTag/" + t.key, t.value);
        r.keys.Set("ssm:resourceTag/" + t.key, t.value);
      }
    }
    return r;
  }

  Status Authorize(const Context& ctx, std::string_view action, const std::string& canonical,
                   const ParamMeta* meta, const access::ContextKeys* keys = nullptr) const {
    return ctx.gate->Authorize(action, ResourceOf(ctx.region, canonical, meta), keys);
  }

  // Loads and authorizes; a parameter that does not exist is `missing` only for a caller the gate
  // would have let act on it.
  Result<Loaded> LoadAuthorized(Transaction& txn, const Context& ctx, std::string_view action,
                                const std::string& canonical, const Error& missing,
                                const access::ContextKeys* keys = nullptr) const {
    ARCA_ASSIGN_OR_RETURN(std::optional<Loaded> loaded, Load(txn, ctx.region, canonical));
    if (!loaded) {
      ARCA_RETURN_IF_ERROR(Authorize(ctx, action, canonical, nullptr, keys));
      return missing;
    }
    ARCA_RETURN_IF_ERROR(Authorize(ctx, action, canonical, &loaded->meta, keys));
    return std::move(*loaded);
  }

  static Status SaveMeta(Transaction& txn, Loaded& p) {
    p.row.meta = p.meta.ToJson();
    return txn.UpdateParameter(p.row);
  }

  // Records (or clears) a parameter's expiration in the index PurgeExpired reads.
  static Status SetExpiry(Transaction& txn, const std::string& region, const std::string& name,
                          std::optional<std::int64_t> ms) {
    ARCA_ASSIGN_OR_RETURN(std::optional<std::string> text, txn.GetSetting(kExpirationsSetting));
    bj::object index;
    if (text) {
      auto parsed = json::Parse(*text);
      if (parsed.ok() && parsed->is_object()) index = std::move(parsed->get_object());
    }
    const std::string key = region + "\n" + name;
    const bj::value* current = index.if_contains(key);
    if (ms) {
      if (current != nullptr && current->is_int64() && current->get_int64() == *ms) return OkStatus();
      index[key] = *ms;
    } else {
      if (current == nullptr) return OkStatus();
      index.erase(key);
    }
    return txn.PutSetting(kExpirationsSetting, bj::serialize(index));
  }

  // A version's value as a read returns it: the plaintext, or for a SecureString read without
  // decryption the base64 of its ciphertext.
  Result<SecretBytes> ReadValue(const Context& ctx, const Found& f, bool decrypt) {
    if (f.vmeta.type != kSecureString) return SecretBytes::CopyOf(f.version.value);
    if (!decrypt) return SecretBytes::FromString(crypto::Base64Encode(f.version.value));
    auto plain = kms_.DecryptFor(KmsContext(ctx), f.version.value, {{"PARAMETER_ARN", f.arn}}, "ssm");
    if (!plain.ok()) {
      Error e = FromKms(std::move(plain).error(), ctx.request_id);
      if (e.code() == Code::kInternal) {
        log::Error("parameter value could not be decrypted",
                   {{"arn", f.arn}, {"version", f.version.version}, {"error", e.ToLogString()}});
      }
      return e;
    }
    return std::move(plain).value();
  }

  Result<Parameter> ToParameter(const Context& ctx, const Found& f, bool decrypt) {
    Parameter p;
    p.name = f.name;
    p.type = f.vmeta.type;
    ARCA_ASSIGN_OR_RETURN(p.value, ReadValue(ctx, f, decrypt));
    p.version = f.version.version;
    p.selector = f.selector;
    p.last_modified_date = FromUnixMillis(f.version.created_ms);
    p.arn = f.arn;
    p.data_type = f.vmeta.data_type;
    return p;
  }

  // Resolves a read's name (name or ARN, with an optional selector) to one version, authorizing
  // `action` on the parameter. ParameterNotFound / ParameterVersionNotFound as AWS reports them.
  Result<Found> FindForRead(Transaction& txn, const Context& ctx, const std::string& name,
                            std::string_view action) const {
    NameRef ref;
    switch (ParseNameRef(name, ArnPrefix(ctx.region), &ref)) {
      case RefProblem::kInvalid: return InvalidNameError();
      case RefProblem::kNotFound: return ParameterNotFound(name);
      case RefProblem::kNone: break;
    }
    ARCA_ASSIGN_OR_RETURN(Loaded p, LoadAuthorized(txn, ctx, action, ref.canonical, ParameterNotFound(name)));
    Found f;
    f.name = p.meta.name;
    f.arn = Arn(ctx.region, ref.canonical);
    f.selector = ref.selector;
    if (ref.label) {
      ARCA_ASSIGN_OR_RETURN(auto versions, txn.ListParameterVersions(ctx.region, ref.canonical));
      auto it = std::find_if(versions.begin(), versions.end(),
                             [&](const ParameterVersionRow& v) { return HasLabel(v, *ref.label); });
      if (it == versions.end()) return ParameterNotFound(name);
      f.version = std::move(*it);
    } else {
      const std::int64_t wanted = ref.version.value_or(p.row.version);
      ARCA_ASSIGN_OR_RETURN(auto version, txn.GetParameterVersion(ctx.region, ref.canonical, wanted));
      if (!version) return VersionNotFound(wanted, ref.base);
      f.version = std::move(*version);
    }
    ARCA_ASSIGN_OR_RETURN(f.vmeta, VersionMeta::FromJson(f.version.meta));
    return f;
  }

  // "/aws/reference/secretsmanager/NAME[:VERSION_ID|:LABEL]": the Secrets Manager secret, read with
  // the caller's rights (the gate sees secretsmanager:GetSecretValue on the secret).
  Result<Parameter> ReadSecretReference(const Context& ctx, const std::string& name, bool decrypt,
                                        std::string_view action) {
    if (!decrypt) {
      return Error(Code::kValidation,
                   "WithDecryption flag must be True for retrieving a Secret Manager secret.");
    }
    const std::size_t colon = name.find(':');
    const std::string base = name.substr(0, colon);
    std::optional<std::string> selector;
    if (colon != std::string::npos) selector = name.substr(colon + 1);
    const std::string secret_id = base.substr(kSecretsReferencePrefix.size());
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, ResourceOf(ctx.region, base, nullptr)));
    const Error not_found =
        Error(Code::kNotFound, "An error occurred (ParameterNotFound) when referencing Secrets Manager: "
                               "Secret " + name + " not found.")
            .WithWireType("ParameterNotFound");
    if (secrets_ == nullptr || secret_id.empty() || (selector && selector->empty())) return not_found;

    secrets::Context sctx{ctx.region, ctx.request_id, ctx.principal_arn, ctx.gate};
    secrets::GetSecretValueInput in;
    in.secret_id = secret_id;
    in.version_id = selector;
    auto value = secrets_->GetSecretValue(sctx, in);
    if (!value.ok() && value.error().code() == Code::kNotFound && selector) {
      in.version_id.reset();  // not a version id: a staging label
      in.version_stage = selector;
      value = secrets_->GetSecretValue(sctx, in);
    }
    if (!value.ok()) {
      if (value.error().code() == Code::kNotFound) return not_found;
      return std::move(value).error();
    }
    // The secret's description rides along as SourceResult; reading the value already required
    // more than its metadata, so it is read for the caller without a second check.
    secrets::Context describe_ctx{ctx.region, ctx.request_id, ctx.principal_arn,
                                  &access::AllowAll::Instance()};
    auto description = secrets_->DescribeSecret(describe_ctx, secrets::SecretIdInput{secret_id});

    Parameter p;
    p.name = base;
    p.type = std::string(kSecureString);
    if (value->secret_string) {
      p.value = std::move(*value->secret_string);
    } else if (value->secret_binary) {
      p.value = SecretBytes::FromString(crypto::Base64Encode(value->secret_binary->view()));
    }
    p.version = 0;
    p.selector = selector ? std::optional<std::string>(":" + *selector) : std::nullopt;
    p.last_modified_date = value->created_date;
    if (description.ok()) {
      p.source_result = DescribeSecretJson(*description);
      if (description->last_changed_date) p.last_modified_date = *description->last_changed_date;
    }
    p.arn = value->arn;
    p.data_type = "text";
    return p;
  }

  store::Store& store_;
  kms::KmsService& kms_;
  secrets::SecretsService* secrets_;
  const Clock& clock_;
  ServiceOptions opts_;
};

ParamsService::ParamsService(store::Store& store, kms::KmsService& kms, secrets::SecretsService* secrets,
                             const Clock& clock, ServiceOptions options)
    : impl_(std::make_shared<Impl>(store, kms, secrets, clock, std::move(options))) {}

// ---- PutParameter ----

Result<PutParameterOutput> ParamsService::PutParameter(const Context& ctx, PutParameterInput in) {
  Impl& s = *impl_;
  const std::string name(TrimName(in.name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  ARCA_RETURN_IF_ERROR(ValidateNameShape(name));
  ARCA_RETURN_IF_ERROR(ValidateNewName(name, s.ArnPrefix(ctx.region)));
  if (in.value.empty()) {
    return Error(Code::kValidation,
                 "1 validation error detected: Value '' at 'value' failed to satisfy constraint: "
                 "Member must have length greater than or equal to 1.");
  }
  if (in.description && in.description->size() > 1024) {
    return ModelViolation("description", "have length less than or equal to 1024");
  }
  if (in.allowed_pattern && in.allowed_pattern->size() > 1024) {
    return ModelViolation("allowedPattern", "have length less than or equal to 1024");
  }
  if (in.key_id) {
    if (in.key_id->empty() || in.key_id->size() > 256) {
      return ModelViolation("keyId", "have length between 1 and 256");
    }
    if (!ValidKeyIdChars(*in.key_id)) {
      return ModelViolation("keyId", "satisfy regular expression pattern: ^([a-zA-Z0-9:/_-]+)$");
    }
  }
  if (in.type && !ValidType(*in.type)) {
    return Error(Code::kValidation, "1 validation error detected: Value '" + *in.type +
                                        "' at 'type' failed to satisfy constraint: Member must satisfy "
                                        "enum value set: [SecureString, StringList, String]");
  }
  if (in.tier && *in.tier != kStandard && *in.tier != kAdvanced && *in.tier != "Intelligent-Tiering") {
    return Error(Code::kValidation, "1 validation error detected: Value '" + *in.tier +
                                        "' at 'tier' failed to satisfy constraint: Member must satisfy "
                                        "enum value set: [Standard, Advanced, Intelligent-Tiering]");
  }
  if (in.data_type) {
    if (in.data_type->size() > 128) return ModelViolation("dataType", "have length less than or equal to 128");
    if (*in.data_type != "text" && *in.data_type != "aws:ec2:image") {
      return Error(Code::kValidation, "The following data type is not supported: " + *in.data_type +
                                          " (Data type names are all lowercase.)");
    }
  }
  if (in.policies && (in.policies->empty() || in.policies->size() > 4096)) {
    return ModelViolation("policies", "have length between 1 and 4096");
  }
  if (in.tags) {
    ARCA_RETURN_IF_ERROR(ValidateTags(*in.tags));
    if (in.tags->size() > kMaxTags) return TooManyTags();
  }
  const bool overwrite = in.overwrite.value_or(false);
  if (overwrite && in.tags && !in.tags->empty()) {
    return Error(Code::kValidation,
                 "Invalid request: tags and overwrite can't be used together. To create a parameter "
                 "with tags, please remove overwrite flag. To update tags for an existing parameter, "
                 "please use AddTagsToResource or RemoveTagsFromResource.");
  }
  if (in.allowed_pattern && !in.allowed_pattern->empty()) {
    ARCA_RETURN_IF_ERROR(CompilePattern(*in.allowed_pattern));
  }
  std::optional<ParsedPolicies> policies;
  if (in.policies) {
    ARCA_ASSIGN_OR_RETURN(policies, ParsePolicies(*in.policies, s.clock_.Now()));
  }

  const std::string canonical = CanonicalName(name);
  const std::string arn = s.Arn(ctx.region, canonical);

  // 1. The current state, and the gate (KMS and the write come after this transaction ends: KMS
  // runs its own transactions).
  std::optional<Loaded> current;
  VersionMeta latest;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(current, s.Load(*txn, ctx.region, canonical));
    access::ContextKeys keys;
    if (in.tags) AddRequestTagKeys(*in.tags, keys);
    keys.Set("ssm:Overwrite", overwrite ? std::string("true") : std::string("false"));
    if (in.policies) keys.Set("ssm:Policies", *in.policies);
    ARCA_RETURN_IF_ERROR(s.Authorize(ctx, "ssm:PutParameter", canonical,
                                     current ? &current->meta : nullptr, &keys));
    if (current) {
      ARCA_ASSIGN_OR_RETURN(auto row, txn->GetParameterVersion(ctx.region, canonical, current->row.version));
      if (!row) return Error(Code::kInternal, "a parameter's latest version is missing", arn);
      ARCA_ASSIGN_OR_RETURN(latest, VersionMeta::FromJson(row->meta));
    }
  }
  if (current && !overwrite) {
    return Error(Code::kAlreadyExists,
                 "The parameter already exists. To overwrite this value, set the overwrite option in "
                 "the request to true.")
        .WithWireType("ParameterAlreadyExists");
  }
  if (!current && !in.type) {
    return Error(Code::kValidation, "A parameter type is required when you create a parameter.");
  }

  VersionMeta vm;
  vm.type = in.type ? *in.type : latest.type;
  if (in.description) {
    if (!in.description->empty()) vm.description = *in.description;
  } else if (current) {
    vm.description = latest.description;
  }
  if (in.allowed_pattern) {
    if (!in.allowed_pattern->empty()) vm.allowed_pattern = *in.allowed_pattern;
  } else if (current) {
    vm.allowed_pattern = latest.allowed_pattern;
  }
  vm.data_type = in.data_type ? *in.data_type : (current ? latest.data_type : std::string("text"));
  if (vm.data_type == "aws:ec2:image") {
    if (vm.type != "String") {
      return Error(Code::kValidation, "The data type aws:ec2:image is only supported for String parameters.");
    }
    if (!LooksLikeAmiId(in.value.view())) {
      return Error(Code::kValidation,
                   "The parameter value isn't a valid Amazon Machine Image ID for the data type "
                   "aws:ec2:image.");
    }
  }
  if (vm.type == kSecureString) {
    if (in.key_id) {
      vm.key_id = *in.key_id;
    } else if (current && latest.type == kSecureString && latest.key_id) {
      vm.key_id = latest.key_id;
    } else {
      vm.key_id = std::string(kDefaultKey);
    }
  } else if (in.key_id) {
    return Error(Code::kValidation, "KeyId is only supported for parameters of type SecureString.");
  }
  vm.user = ctx.principal_arn;
  if (vm.allowed_pattern) ARCA_RETURN_IF_ERROR(CheckPattern(*vm.allowed_pattern, in.value.view()));

  vm.policies = policies ? policies->policies : (current ? latest.policies : std::vector<StoredPolicy>{});
  const std::optional<std::int64_t> expires_ms =
      policies ? policies->expires_ms : (current ? current->meta.expires_ms : std::nullopt);

  // 2. The tier and its size limit.
  const std::string previous_tier = current ? latest.tier : std::string();
  const bool large = in.value.size() > kStandardMaxValue;
  const std::string requested = in.tier.value_or("");
  if (requested == kAdvanced) {
    vm.tier = std::string(kAdvanced);
  } else if (requested == "Intelligent-Tiering") {
    vm.tier = std::string(previous_tier == kAdvanced || large || !vm.policies.empty() ? kAdvanced : kStandard);
  } else if (requested == kStandard) {
    if (previous_tier == kAdvanced) {
      return Error(Code::kValidation,
                   "This parameter uses the advanced-parameter tier. You can't downgrade a parameter "
                   "from the advanced-parameter tier to the standard-parameter tier. If necessary, you "
                   "can delete the advanced parameter and recreate it as a standard parameter.");
    }
    vm.tier = std::string(kStandard);
  } else {
    vm.tier = previous_tier.empty() ? std::string(kStandard) : previous_tier;
  }
  if (vm.tier == kStandard) {
    if (large) {
      return Error(Code::kValidation,
                   "Standard tier parameters support a maximum parameter value of 4096 characters. To "
                   "create a larger parameter value, upgrade the parameter to use the "
                   "advanced-parameter tier.");
    }
    if (!vm.policies.empty()) {
      return Error(Code::kInvalidRequest,
                   "Parameter policies are supported only for parameters in the advanced-parameter "
                   "tier. Use the Advanced or Intelligent-Tiering tier.")
          .WithWireType("IncompatiblePolicyException");
    }
  }
  if (in.value.size() > kAdvancedMaxValue) {
    return Error(Code::kValidation,
                 "Advanced tier parameters support a maximum parameter value of 8192 characters.");
  }

  // 3. A SecureString's value is encrypted under the key the client named.
  std::string stored;
  if (vm.type == kSecureString) {
    auto kctx = Impl::KmsContext(ctx);
    auto key_arn = s.kms_.ResolveKeyArn(kctx, *vm.key_id, kDefaultKey);
    if (!key_arn.ok()) return FromKms(std::move(key_arn).error(), ctx.request_id);
    auto blob = s.kms_.EncryptFor(kctx, *key_arn, in.value.view(), {{"PARAMETER_ARN", arn}}, "ssm");
    if (!blob.ok()) return FromKms(std::move(blob).error(), ctx.request_id);
    vm.key_arn = *key_arn;
    stored = std::move(blob).value();
  } else {
    stored = std::string(in.value.view());
  }

  // 4. The write, if nothing changed meanwhile.
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  bool expired = false;
  ARCA_ASSIGN_OR_RETURN(std::optional<Loaded> now_current, s.Load(*txn, ctx.region, canonical, &expired));
  if (now_current && !current && !overwrite) {  // created meanwhile by another writer
    return Error(Code::kAlreadyExists,
                 "The parameter already exists. To overwrite this value, set the overwrite option in "
                 "the request to true.")
        .WithWireType("ParameterAlreadyExists");
  }
  if (now_current.has_value() != current.has_value() ||
      (current && now_current->row.version != current->row.version)) {
    return TooManyUpdates();
  }
  if (expired) {
    ARCA_RETURN_IF_ERROR(txn->DeleteParameter(ctx.region, canonical));
    ARCA_RETURN_IF_ERROR(Impl::SetExpiry(*txn, ctx.region, canonical, std::nullopt));
  }
  std::int64_t version = 1;
  Loaded p;
  if (now_current) {
    p = std::move(*now_current);
    version = p.row.version + 1;
    ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListParameterVersions(ctx.region, canonical));
    if (versions.size() >= kMaxVersions) {
      const ParameterVersionRow& oldest = versions.front();
      if (!oldest.labels.empty()) {
        return Error(Code::kLimitExceeded,
                     "You attempted to create a new version of " + name +
                         " by calling the PutParameter API with the overwrite flag. Version " +
                         std::to_string(oldest.version) +
                         ", the oldest version, can't be deleted because it has a label associated "
                         "with it. Move the label to another version of the parameter, and try again.")
            .WithWireType("ParameterMaxVersionLimitExceeded");
      }
      ARCA_RETURN_IF_ERROR(txn->DeleteParameterVersion(ctx.region, canonical, oldest.version));
    }
  } else {
    p.row.region = ctx.region;
    p.row.name = canonical;
    p.meta.name = name;
    if (in.tags) {
      for (const Tag& t : *in.tags) {
        auto it = std::find_if(p.meta.tags.begin(), p.meta.tags.end(), [&](const Tag& x) { return x.key == t.key; });
        if (it != p.meta.tags.end()) {
          it->value = t.value;
        } else {
          p.meta.tags.push_back(t);
        }
      }
    }
  }
  const std::optional<std::int64_t> previous_expiry = p.meta.expires_ms;
  p.meta.expires_ms = expires_ms;
  p.row.version = version;
  p.row.meta = p.meta.ToJson();
  if (version == 1) {
    ARCA_RETURN_IF_ERROR(txn->InsertParameter(p.row));
  } else {
    ARCA_RETURN_IF_ERROR(txn->UpdateParameter(p.row));
  }
  ParameterVersionRow row;
  row.region = ctx.region;
  row.name = canonical;
  row.version = version;
  row.created_ms = s.NowMs();
  row.meta = vm.ToJson();
  row.value = std::move(stored);
  Status inserted = txn->InsertParameterVersion(row);
  SecureWipe(row.value);
  ARCA_RETURN_IF_ERROR(inserted);
  if (expires_ms != previous_expiry || expired) {
    ARCA_RETURN_IF_ERROR(Impl::SetExpiry(*txn, ctx.region, canonical, expires_ms));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return PutParameterOutput{version, vm.tier};
}

// ---- reads ----

Result<Parameter> ParamsService::GetParameter(const Context& ctx, const GetParameterInput& in) {
  const std::string name(TrimName(in.name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  if (name.starts_with(kSecretsReferencePrefix)) {
    return impl_->ReadSecretReference(ctx, name, in.with_decryption, "ssm:GetParameter");
  }
  Found found;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(found, impl_->FindForRead(*txn, ctx, name, "ssm:GetParameter"));
  }
  return impl_->ToParameter(ctx, found, in.with_decryption);
}

Result<GetParametersOutput> ParamsService::GetParameters(const Context& ctx, const GetParametersInput& in) {
  if (in.names.empty()) return ModelViolation("names", "have length greater than or equal to 1");
  if (in.names.size() > 10) {
    std::string all;
    for (std::size_t i = 0; i < in.names.size(); ++i) all += (i > 0 ? ", " : "") + in.names[i];
    return Error(Code::kValidation, "1 validation error detected: Value '[" + all +
                                        "]' at 'names' failed to satisfy constraint: Member must have "
                                        "length less than or equal to 10.");
  }
  std::vector<std::string> names;
  for (const std::string& raw : in.names) names.emplace_back(TrimName(raw));
  names = Unique(names);
  for (const std::string& n : names) {
    ARCA_RETURN_IF_ERROR(ValidateNameLength(n, "names"));
    if (n.starts_with(kSecretsReferencePrefix) && !in.with_decryption) {
      return Error(Code::kValidation,
                   "WithDecryption flag must be True for retrieving a Secret Manager secret.");
    }
  }
  // Parameter Store's own names in one transaction; references afterwards (they read Secrets Manager).
  std::vector<std::optional<Found>> found(names.size());
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].starts_with(kSecretsReferencePrefix)) continue;
      auto f = impl_->FindForRead(*txn, ctx, names[i], "ssm:GetParameters");
      if (f.ok()) {
        found[i] = std::move(f).value();
      } else if (!IsNotFound(f.error())) {
        return std::move(f).error();
      }
    }
  }
  GetParametersOutput out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].starts_with(kSecretsReferencePrefix)) {
      auto p = impl_->ReadSecretReference(ctx, names[i], true, "ssm:GetParameters");
      if (p.ok()) {
        out.parameters.push_back(std::move(p).value());
      } else if (IsNotFound(p.error())) {
        out.invalid_parameters.push_back(names[i]);
      } else {
        return std::move(p).error();
      }
      continue;
    }
    if (!found[i]) {
      out.invalid_parameters.push_back(names[i]);
      continue;
    }
    ARCA_ASSIGN_OR_RETURN(Parameter p, impl_->ToParameter(ctx, *found[i], in.with_decryption));
    out.parameters.push_back(std::move(p));
  }
  std::stable_sort(out.parameters.begin(), out.parameters.end(),
                   [](const Parameter& a, const Parameter& b) { return a.name < b.name; });
  return out;
}

Result<GetParametersByPathOutput> ParamsService::GetParametersByPath(const Context& ctx,
                                                                     const GetParametersByPathInput& in) {
  Impl& s = *impl_;
  const std::string_view raw_path = TrimName(in.path);
  ARCA_RETURN_IF_ERROR(ValidateNameLength(raw_path, "path"));
  ARCA_RETURN_IF_ERROR(ValidatePath(raw_path));
  const std::string path = NormalizePath(raw_path);
  const bool root = path == "/";
  if (in.max_results && *in.max_results > 10) {
    return Error(Code::kValidation, "1 validation error detected: Value " + std::to_string(*in.max_results) +
                                        " at 'maxResults' failed to satisfy constraint: Member must have "
                                        "value less than or equal to 10");
  }
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 10, 10));
  ARCA_RETURN_IF_ERROR(ValidateStringFilters(in.filters, FilterScope::kGetParametersByPath));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> cursor, DecodeToken(in.next_token, "path"));

  {
    access::ContextKeys keys;
    keys.Set("ssm:Recursive", in.recursive ? std::string("true") : std::string("false"));
    ARCA_RETURN_IF_ERROR(s.Authorize(ctx, "ssm:GetParametersByPath", path, nullptr, &keys));
  }
  const StringFilter* label_filter = nullptr;
  for (const StringFilter& f : in.filters) {
    if (f.key == "Label") label_filter = &f;
  }

  std::vector<Found> found;
  bool more = false;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListParameters(ctx.region, root ? std::string() : path + "/"));
    for (ParameterRow& row : rows) {
      if (cursor && row.name <= *cursor) continue;
      const std::string h = HierarchyName(row.name);
      if (!root && !h.starts_with(path + "/")) continue;
      if (!in.recursive) {
        const std::string_view rest = std::string_view(h).substr(root ? 1 : path.size() + 1);
        if (rest.find('/') != std::string_view::npos) continue;
      }
      ARCA_ASSIGN_OR_RETURN(ParamMeta meta, ParamMeta::FromJson(row.meta));
      if (meta.expires_ms && *meta.expires_ms <= s.NowMs()) continue;
      Found f;
      if (label_filter != nullptr) {
        ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListParameterVersions(ctx.region, row.name));
        for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
          if (std::any_of(label_filter->values->begin(), label_filter->values->end(),
                          [&](const std::string& l) { return HasLabel(*it, l); })) {
            f.version = std::move(*it);
            break;
          }
        }
        if (f.version.version == 0) continue;
      } else {
        ARCA_ASSIGN_OR_RETURN(auto version, txn->GetParameterVersion(ctx.region, row.name, row.version));
        if (!version) continue;
        f.version = std::move(*version);
      }
      ARCA_ASSIGN_OR_RETURN(f.vmeta, VersionMeta::FromJson(f.version.meta));
      FilterSubject subject{h, f.vmeta.type, f.vmeta.key_id, f.vmeta.tier, f.vmeta.data_type, &meta.tags};
      bool match = true;
      for (const StringFilter& filter : in.filters) {
        if (filter.key != "Label" && !MatchesStringFilter(filter, subject)) match = false;
      }
      if (!match) continue;
      if (found.size() == page) {
        more = true;
        break;
      }
      f.name = meta.name;
      f.arn = s.Arn(ctx.region, row.name);
      found.push_back(std::move(f));
    }
  }
  GetParametersByPathOutput out;
  for (const Found& f : found) {
    ARCA_ASSIGN_OR_RETURN(Parameter p, s.ToParameter(ctx, f, in.with_decryption));
    out.parameters.push_back(std::move(p));
  }
  if (more && !found.empty()) out.next_token = EncodeToken("path", found.back().version.name);
  return out;
}

Result<DescribeParametersOutput> ParamsService::DescribeParameters(const Context& ctx,
                                                                   const DescribeParametersInput& in) {
  Impl& s = *impl_;
  if (!in.filters.empty() && !in.parameter_filters.empty()) {
    return Error(Code::kValidation, "You can use either Filters or ParameterFilters in a single request.");
  }
  ARCA_RETURN_IF_ERROR(ValidateLegacyFilters(in.filters));
  ARCA_RETURN_IF_ERROR(ValidateStringFilters(in.parameter_filters, FilterScope::kDescribeParameters));
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 50, 10));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> cursor, DecodeToken(in.next_token, "describe"));
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("ssm:DescribeParameters", access::Resource{}));
  DescribeParametersOutput out;
  if (in.shared) return out;  // nothing is shared with this account

  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListParameters(ctx.region, ""));
  std::string last;
  for (ParameterRow& row : rows) {
    if (cursor && row.name <= *cursor) continue;
    ARCA_ASSIGN_OR_RETURN(ParamMeta meta, ParamMeta::FromJson(row.meta));
    if (meta.expires_ms && *meta.expires_ms <= s.NowMs()) continue;
    ARCA_ASSIGN_OR_RETURN(auto version, txn->GetParameterVersion(ctx.region, row.name, row.version));
    if (!version) continue;
    ARCA_ASSIGN_OR_RETURN(VersionMeta vm, VersionMeta::FromJson(version->meta));
    FilterSubject subject{HierarchyName(row.name), vm.type, vm.key_id, vm.tier, vm.data_type, &meta.tags};
    const bool match =
        std::all_of(in.filters.begin(), in.filters.end(),
                    [&](const LegacyFilter& f) { return MatchesLegacyFilter(f, subject); }) &&
        std::all_of(in.parameter_filters.begin(), in.parameter_filters.end(),
                    [&](const StringFilter& f) { return MatchesStringFilter(f, subject); });
    if (!match) continue;
    if (out.parameters.size() == page) {
      out.next_token = EncodeToken("describe", last);
      break;
    }
    ParameterMetadata m;
    m.name = meta.name;
    m.arn = s.Arn(ctx.region, row.name);
    m.type = vm.type;
    m.key_id = vm.key_id;
    m.last_modified_date = FromUnixMillis(version->created_ms);
    m.last_modified_user = vm.user;
    m.description = vm.description;
    m.allowed_pattern = vm.allowed_pattern;
    m.version = version->version;
    m.tier = vm.tier;
    m.policies = PolicyInfos(vm);
    m.data_type = vm.data_type;
    out.parameters.push_back(std::move(m));
    last = row.name;
  }
  return out;
}

Result<GetParameterHistoryOutput> ParamsService::GetParameterHistory(const Context& ctx,
                                                                     const GetParameterHistoryInput& in) {
  Impl& s = *impl_;
  const std::string name(TrimName(in.name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 50, 50));
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> cursor, DecodeToken(in.next_token, "history"));
  std::int64_t after = 0;
  if (cursor) {
    if (cursor->empty() || cursor->size() > 18 ||
        !std::all_of(cursor->begin(), cursor->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return InvalidNextToken();
    }
    after = std::stoll(*cursor);
  }
  NameRef ref;
  switch (ParseNameRef(name, s.ArnPrefix(ctx.region), &ref)) {
    case RefProblem::kInvalid: return InvalidNameError();
    case RefProblem::kNotFound: return ParameterNotFound(name);
    case RefProblem::kNone: break;
  }
  if (ref.selector) return ParameterNotFound(name);

  std::vector<Found> found;
  GetParameterHistoryOutput out;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:GetParameterHistory", ref.canonical,
                                                     ParameterNotFound(name)));
    ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListParameterVersions(ctx.region, ref.canonical));
    for (ParameterVersionRow& v : versions) {
      if (v.version <= after) continue;
      if (found.size() == page) {
        out.next_token = EncodeToken("history", std::to_string(found.back().version.version));
        break;
      }
      Found f;
      f.name = p.meta.name;
      f.arn = s.Arn(ctx.region, ref.canonical);
      f.version = std::move(v);
      ARCA_ASSIGN_OR_RETURN(f.vmeta, VersionMeta::FromJson(f.version.meta));
      found.push_back(std::move(f));
    }
  }
  for (const Found& f : found) {
    ParameterHistoryEntry e;
    e.name = f.name;
    e.type = f.vmeta.type;
    e.key_id = f.vmeta.key_id;
    e.last_modified_date = FromUnixMillis(f.version.created_ms);
    e.last_modified_user = f.vmeta.user;
    e.description = f.vmeta.description;
    ARCA_ASSIGN_OR_RETURN(e.value, s.ReadValue(ctx, f, in.with_decryption));
    e.allowed_pattern = f.vmeta.allowed_pattern;
    e.version = f.version.version;
    e.labels = f.version.labels;
    e.tier = f.vmeta.tier;
    e.policies = PolicyInfos(f.vmeta);
    e.data_type = f.vmeta.data_type;
    out.parameters.push_back(std::move(e));
  }
  return out;
}

// ---- deletes ----

Status ParamsService::DeleteParameter(const Context& ctx, const std::string& raw_name) {
  Impl& s = *impl_;
  const std::string name(TrimName(raw_name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  ARCA_RETURN_IF_ERROR(ValidateNameShape(name));
  const std::string canonical = CanonicalName(name);
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:DeleteParameter", canonical,
                                                   ParameterNotFound(name)));
  ARCA_RETURN_IF_ERROR(txn->DeleteParameter(ctx.region, canonical));
  if (p.meta.expires_ms) ARCA_RETURN_IF_ERROR(Impl::SetExpiry(*txn, ctx.region, canonical, std::nullopt));
  return txn->Commit();
}

Result<DeleteParametersOutput> ParamsService::DeleteParameters(const Context& ctx,
                                                               const std::vector<std::string>& raw_names) {
  Impl& s = *impl_;
  if (raw_names.empty()) return ModelViolation("names", "have length greater than or equal to 1");
  if (raw_names.size() > 10) return ModelViolation("names", "have length less than or equal to 10");
  std::vector<std::string> names;
  for (const std::string& n : raw_names) names.emplace_back(TrimName(n));
  names = Unique(names);
  DeleteParametersOutput out;
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  for (const std::string& name : names) {
    ARCA_RETURN_IF_ERROR(ValidateNameLength(name, "names"));
    if (!ValidateNameShape(name).ok()) {
      out.invalid_parameters.push_back(name);
      continue;
    }
    const std::string canonical = CanonicalName(name);
    auto p = s.LoadAuthorized(*txn, ctx, "ssm:DeleteParameters", canonical, ParameterNotFound(name));
    if (!p.ok()) {
      if (!IsNotFound(p.error())) return std::move(p).error();
      out.invalid_parameters.push_back(name);
      continue;
    }
    ARCA_RETURN_IF_ERROR(txn->DeleteParameter(ctx.region, canonical));
    if (p->meta.expires_ms) ARCA_RETURN_IF_ERROR(Impl::SetExpiry(*txn, ctx.region, canonical, std::nullopt));
    out.deleted_parameters.push_back(name);
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return out;
}

// ---- labels ----

Result<LabelParameterVersionOutput> ParamsService::LabelParameterVersion(const Context& ctx,
                                                                         const LabelParameterVersionInput& in) {
  Impl& s = *impl_;
  const std::string name(TrimName(in.name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  ARCA_RETURN_IF_ERROR(ValidateNameShape(name));
  ARCA_RETURN_IF_ERROR(ValidateLabelList(in.labels, false));
  if (in.parameter_version && *in.parameter_version < 1) {
    return ModelViolation("parameterVersion", "have value greater than or equal to 1");
  }
  const std::string canonical = CanonicalName(name);
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:LabelParameterVersion", canonical,
                                                   ParameterNotFound(name)));
  const std::int64_t target_version = in.parameter_version.value_or(p.row.version);
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListParameterVersions(ctx.region, canonical));
  auto target = std::find_if(versions.begin(), versions.end(),
                             [&](const ParameterVersionRow& v) { return v.version == target_version; });
  if (target == versions.end()) return VersionNotFound(target_version, name);

  LabelParameterVersionOutput out;
  out.parameter_version = target_version;
  std::vector<std::string> adding;
  for (const std::string& label : Unique(in.labels)) {
    if (!ValidLabel(label)) {
      out.invalid_labels.push_back(label);
    } else if (!HasLabel(*target, label)) {
      adding.push_back(label);
    }
  }
  if (target->labels.size() + adding.size() > kMaxLabelsPerVersion) {
    return Error(Code::kLimitExceeded,
                 "A parameter version can have maximum 10 labels. Move one or more labels to another "
                 "version and try again.")
        .WithWireType("ParameterVersionLabelLimitExceeded");
  }
  if (adding.empty()) return out;
  // A label names one version: attaching it moves it.
  for (ParameterVersionRow& v : versions) {
    if (v.version == target_version) continue;
    const std::size_t before = v.labels.size();
    std::erase_if(v.labels, [&](const std::string& l) {
      return std::find(adding.begin(), adding.end(), l) != adding.end();
    });
    if (v.labels.size() != before) ARCA_RETURN_IF_ERROR(txn->UpdateParameterVersion(v));
  }
  target->labels.insert(target->labels.end(), adding.begin(), adding.end());
  ARCA_RETURN_IF_ERROR(txn->UpdateParameterVersion(*target));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return out;
}

Result<UnlabelParameterVersionOutput> ParamsService::UnlabelParameterVersion(
    const Context& ctx, const UnlabelParameterVersionInput& in) {
  Impl& s = *impl_;
  const std::string name(TrimName(in.name));
  ARCA_RETURN_IF_ERROR(ValidateNameLength(name));
  ARCA_RETURN_IF_ERROR(ValidateNameShape(name));
  if (!in.parameter_version) {
    return Error(Code::kValidation,
                 "1 validation error detected: Value null at 'parameterVersion' failed to satisfy "
                 "constraint: Member must not be null");
  }
  ARCA_RETURN_IF_ERROR(ValidateLabelList(in.labels, true));
  const std::string canonical = CanonicalName(name);
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:UnlabelParameterVersion", canonical,
                                                   ParameterNotFound(name)));
  (void)p;
  ARCA_ASSIGN_OR_RETURN(auto version, txn->GetParameterVersion(ctx.region, canonical, *in.parameter_version));
  if (!version) return VersionNotFound(*in.parameter_version, name);
  UnlabelParameterVersionOutput out;
  for (const std::string& label : Unique(in.labels)) {
    if (HasLabel(*version, label)) {
      std::erase(version->labels, label);
      out.removed_labels.push_back(label);
    } else {
      out.invalid_labels.push_back(label);
    }
  }
  if (out.removed_labels.empty()) return out;
  ARCA_RETURN_IF_ERROR(txn->UpdateParameterVersion(*version));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return out;
}

// ---- tags ----

namespace {

// The parameter a tagging call names: ResourceType must be Parameter (the other types exist in SSM,
// but no such resource exists here).
Result<std::string> TaggedParameter(const std::string& type, const std::string& id) {
  static const std::set<std::string, std::less<>> kOtherTypes = {
      "Document", "ManagedInstance", "MaintenanceWindow", "PatchBaseline",
      "OpsItem",  "OpsMetadata",     "Automation",        "Association"};
  if (type != "Parameter") {
    if (kOtherTypes.contains(type)) return InvalidResourceId();
    return Error(Code::kInvalidParameter, "The resource type isn't valid.").WithWireType("InvalidResourceType");
  }
  const std::string name(TrimName(id));
  if (name.empty() || name.size() > kMaxNameLength || !ValidateNameShape(name).ok()) return InvalidResourceId();
  return CanonicalName(name);
}

}  // namespace

Status ParamsService::AddTagsToResource(const Context& ctx, const AddTagsInput& in) {
  Impl& s = *impl_;
  ARCA_ASSIGN_OR_RETURN(std::string canonical, TaggedParameter(in.resource_type, in.resource_id));
  ARCA_RETURN_IF_ERROR(ValidateTags(in.tags));
  if (in.tags.size() > 1000) return ModelViolation("tags", "have length less than or equal to 1000");
  access::ContextKeys keys;
  AddRequestTagKeys(in.tags, keys);
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:AddTagsToResource", canonical,
                                                   InvalidResourceId(), &keys));
  for (const Tag& t : in.tags) {
    auto it = std::find_if(p.meta.tags.begin(), p.meta.tags.end(), [&](const Tag& x) { return x.key == t.key; });
    if (it != p.meta.tags.end()) {
      it->value = t.value;
    } else {
      p.meta.tags.push_back(t);
    }
  }
  if (p.meta.tags.size() > kMaxTags) return TooManyTags();
  ARCA_RETURN_IF_ERROR(Impl::SaveMeta(*txn, p));
  return txn->Commit();
}

Status ParamsService::RemoveTagsFromResource(const Context& ctx, const RemoveTagsInput& in) {
  Impl& s = *impl_;
  ARCA_ASSIGN_OR_RETURN(std::string canonical, TaggedParameter(in.resource_type, in.resource_id));
  for (std::size_t i = 0; i < in.tag_keys.size(); ++i) {
    const std::string& k = in.tag_keys[i];
    if (k.empty() || k.size() > 128) {
      return ModelViolation("tagKeys." + std::to_string(i + 1) + ".member", "have length between 1 and 128");
    }
  }
  access::ContextKeys keys;
  if (!in.tag_keys.empty()) keys.Set("aws:TagKeys", in.tag_keys);
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:RemoveTagsFromResource", canonical,
                                                   InvalidResourceId(), &keys));
  const std::size_t before = p.meta.tags.size();
  std::erase_if(p.meta.tags, [&](const Tag& t) {
    return std::find(in.tag_keys.begin(), in.tag_keys.end(), t.key) != in.tag_keys.end();
  });
  if (p.meta.tags.size() == before) return OkStatus();
  ARCA_RETURN_IF_ERROR(Impl::SaveMeta(*txn, p));
  return txn->Commit();
}

Result<std::vector<Tag>> ParamsService::ListTagsForResource(const Context& ctx, const ResourceInput& in) {
  Impl& s = *impl_;
  ARCA_ASSIGN_OR_RETURN(std::string canonical, TaggedParameter(in.resource_type, in.resource_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(Loaded p, s.LoadAuthorized(*txn, ctx, "ssm:ListTagsForResource", canonical,
                                                   InvalidResourceId()));
  return p.meta.tags;
}

// ---- background ----

Result<int> ParamsService::PurgeExpired() {
  Impl& s = *impl_;
  const std::int64_t now = s.NowMs();
  std::vector<std::pair<std::string, std::string>> due;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(std::optional<std::string> text, txn->GetSetting(kExpirationsSetting));
    if (!text) return 0;
    auto parsed = json::Parse(*text);
    if (!parsed.ok() || !parsed->is_object()) {
      return Error(Code::kInternal, "the parameter expiration index is invalid");
    }
    for (const auto& entry : parsed->get_object()) {
      if (!entry.value().is_int64() || entry.value().get_int64() > now) continue;
      const std::string key(entry.key());
      const std::size_t nl = key.find('\n');
      if (nl == std::string::npos) continue;
      due.emplace_back(key.substr(0, nl), key.substr(nl + 1));
    }
  }
  int purged = 0;
  for (const auto& [region, name] : due) {
    ARCA_ASSIGN_OR_RETURN(auto txn, s.store_.Begin(TxnMode::kWrite));
    ARCA_ASSIGN_OR_RETURN(std::optional<ParameterRow> row, txn->GetParameter(region, name));
    std::optional<std::int64_t> keep;
    if (row) {
      ARCA_ASSIGN_OR_RETURN(ParamMeta meta, ParamMeta::FromJson(row->meta));
      if (meta.expires_ms && *meta.expires_ms <= now) {
        ARCA_RETURN_IF_ERROR(txn->DeleteParameter(region, name));
        ++purged;
        log::Info("parameter expired and was deleted", {{"arn", s.Arn(region, name)}});
      } else {
        keep = meta.expires_ms;
      }
    }
    ARCA_RETURN_IF_ERROR(Impl::SetExpiry(*txn, region, name, keep));
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return purged;
}

}  // namespace arca::params
