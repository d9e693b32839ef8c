#include "secrets/service.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/ids.h"
#include "core/log.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "secrets/filters.h"
#include "secrets/meta.h"
#include "secrets/password.h"
#include "secrets/policy.h"
#include "secrets/schedule.h"

namespace arca::secrets {

std::string ValueAad(const store::SecretRow& secret, const store::VersionRow& version) {
  return "arca-secret-value:" + secret.arn + ":" + version.version_id;
}

namespace {

using store::SecretRow;
using store::Transaction;
using store::TxnMode;
using store::VersionRow;

constexpr std::string_view kCurrent = "AWSCURRENT";
constexpr std::string_view kPrevious = "AWSPREVIOUS";
constexpr std::string_view kPending = "AWSPENDING";
constexpr std::size_t kMaxValueBytes = 65536;
constexpr std::size_t kMaxVersionsKept = 100;
constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::size_t kMaxLabelsPerVersion = 20;
constexpr std::size_t kMaxTags = 50;

// A violation of a constraint in the API model (length, range, pattern). AWS's request validation
// answers these with ValidationException before the service logic runs, in this wording.
Error ModelViolation(std::string_view member, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value at '" + std::string(member) +
                                      "' failed to satisfy constraint: Member must " +
                                      std::string(constraint));
}

Error SecretNotFound() {
  return Error(Code::kNotFound, "Secrets Manager can't find the specified secret.");
}
Error MarkedForDeletion() {
  return Error(Code::kInvalidRequest,
               "You can't perform this operation on the secret because it was marked for deletion.");
}
Error ReplicaIsReadOnly() {
  return Error(Code::kInvalidRequest,
               "Operation is not permitted on a replica secret. Call must be made in primary "
               "secret's region.");
}

bool HasLabel(const VersionRow& v, std::string_view label) {
  return std::find(v.labels.begin(), v.labels.end(), label) != v.labels.end();
}
void RemoveLabel(VersionRow& v, std::string_view label) {
  std::erase_if(v.labels, [&](const std::string& l) { return l == label; });
}

// RegionType: 1..128 characters matching ^([a-z]+-)+\d+$ (e.g. "eu-west-1").
Status ValidateRegionName(const std::string& region) {
  bool ok = !region.empty() && region.size() <= 128 && std::isdigit(static_cast<unsigned char>(region.back()));
  std::size_t i = 0;
  int groups = 0;
  while (ok && i < region.size() && std::islower(static_cast<unsigned char>(region[i]))) {
    std::size_t start = i;
    while (i < region.size() && std::islower(static_cast<unsigned char>(region[i]))) ++i;
    ok = i > start && i < region.size() && region[i] == '-';
    ++i;
    ++groups;
  }
  ok = ok && groups > 0 && i < region.size();
  for (; ok && i < region.size(); ++i) ok = std::isdigit(static_cast<unsigned char>(region[i])) != 0;
  if (!ok) return ModelViolation("region", "satisfy regular expression pattern: ^([a-z]+-)+\\d+$");
  return OkStatus();
}

bool ValidSecretName(const std::string& name) {
  if (name.empty() || name.size() > 512) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("/_+=.@-").find(c) != std::string_view::npos;
  });
}

Status ValidateToken(const std::optional<std::string>& token) {
  if (token && (token->size() < 32 || token->size() > 64)) {
    return ModelViolation("clientRequestToken", "have length between 32 and 64");
  }
  return OkStatus();
}

Status ValidateLabel(const std::string& label) {
  if (label.empty() || label.size() > 256) {
    return ModelViolation("versionStage", "have length between 1 and 256");
  }
  return OkStatus();
}

Status ValidateDescription(const std::optional<std::string>& d) {
  if (d && d->size() > 2048) {
    return ModelViolation("description", "have length less than or equal to 2048");
  }
  return OkStatus();
}

Status ValidateTags(const std::vector<Tag>& tags) {
  for (const auto& t : tags) {
    if (t.key.empty() || t.key.size() > 128) {
      return ModelViolation("tags.member.key", "have length between 1 and 128");
    }
    if (t.value.size() > 256) {
      return ModelViolation("tags.member.value", "have length less than or equal to 256");
    }
    if (t.key.rfind("aws:", 0) == 0) {
      return Error(Code::kInvalidParameter, "Tag keys starting with \"aws:\" are reserved for AWS use.");
    }
  }
  return OkStatus();
}

// Exactly one of SecretString / SecretBinary, within the size limit. `required` when the operation
// must create a version.
Status ValidateValue(const SecretValue& v, bool required) {
  if (v.string && v.binary) {
    return Error(Code::kInvalidParameter,
                 "You can't specify both a binary secret value and a string secret value in the same "
                 "secret.");
  }
  if (required && !v.string && !v.binary) {
    return Error(Code::kInvalidParameter, "You must provide either SecretString or SecretBinary.");
  }
  if (v.string && (v.string->empty() || v.string->size() > kMaxValueBytes)) {
    return ModelViolation("secretString", "have length between 1 and 65536");
  }
  if (v.binary && (v.binary->empty() || v.binary->size() > kMaxValueBytes)) {
    return ModelViolation("secretBinary", "have length between 1 and 65536");
  }
  return OkStatus();
}

// aws:RequestTag/K for each tag the request sets, and aws:TagKeys listing them.
void AddRequestTagKeys(const std::vector<Tag>& tags, access::ContextKeys& keys) {
  std::vector<std::string> names;
  names.reserve(tags.size());
  for (const Tag& t : tags) {
    keys.Set("aws:RequestTag/" + t.key, t.value);
    names.push_back(t.key);
  }
  if (!names.empty()) keys.Set("aws:TagKeys", std::move(names));
}

std::string RandomSuffix() {
  static constexpr std::string_view kChars =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s(6, ' ');
  for (char& c : s) c = kChars[crypto::RandomBelow(static_cast<std::uint32_t>(kChars.size()))];
  return s;
}

std::int64_t DayOf(std::int64_t ms) { return ms - (ms % kDayMs); }

std::string EncodeToken(std::size_t offset) {
  return crypto::Base64Encode("arca-page:" + std::to_string(offset));
}
Result<std::size_t> DecodeToken(const std::optional<std::string>& token) {
  if (!token) return std::size_t{0};
  auto raw = crypto::Base64Decode(*token);
  constexpr std::string_view kPrefix = "arca-page:";
  if (!raw || raw->rfind(kPrefix, 0) != 0 || raw->size() == kPrefix.size() || raw->size() > 30) {
    return Error(Code::kInvalidNextToken, "The NextToken value is invalid.");
  }
  std::size_t offset = 0;
  for (char c : raw->substr(kPrefix.size())) {
    if (c < '0' || c > '9') return Error(Code::kInvalidNextToken, "The NextToken value is invalid.");
    offset = offset * 10 + static_cast<std::size_t>(c - '0');
  }
  return offset;
}

Result<std::size_t> PageSize(const std::optional<std::int64_t>& max, std::int64_t limit,
                             std::int64_t dflt) {
  if (!max) return static_cast<std::size_t>(dflt);
  if (*max < 1 || *max > limit) {
    return ModelViolation("maxResults", "have value between 1 and " + std::to_string(limit));
  }
  return static_cast<std::size_t>(*max);
}

// A secret loaded for an operation.
struct Loaded {
  SecretRow row;
  SecretMeta meta;
  bool deleted() const { return row.deleted_ms.has_value(); }
  bool is_replica() const { return meta.primary_region.has_value(); }
};

}  // namespace

class SecretsService::Impl {
 public:
  Impl(store::Store& store, const crypto::Keyring& keyring, const Clock& clock, ServiceOptions opts)
      : store_(store), keyring_(keyring), clock_(clock), opts_(std::move(opts)) {}

  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  std::string MakeArn(const std::string& region, const std::string& name_with_suffix) const {
    Arn arn;
    arn.partition = opts_.partition;
    arn.service = "secretsmanager";
    arn.region = region;
    arn.account = opts_.account_id;
    arn.resource = "secret:" + name_with_suffix;
    return arn.ToString();
  }

  // What the gate is told about a secret: its ARN, resource policy and resource keys.
  access::Resource ResourceOf(const Loaded& s, const std::string& id_as_given) const {
    access::Resource r;
    r.arn = s.row.arn;
    r.display = id_as_given;
    if (s.meta.resource_policy.has_value()) r.policy = *s.meta.resource_policy;
    r.keys.Set("secretsmanager:SecretId", s.row.arn);
    r.keys.Set("secretsmanager:SecretPrimaryRegion", s.meta.primary_region.value_or(s.row.region));
    if (s.meta.rotation.lambda_arn.has_value()) {
      r.keys.Set("secretsmanager:resource/AllowRotationLambdaArn", *s.meta.rotation.lambda_arn);
    }
    for (const Tag& t : s.meta.tags) {
      r.keys.Set("secretsmanager:ResourceTag/" + t.key, t.value);
      r.keys.Set("aws:ResourceTag/" + t.key, t.value);
    }
    return r;
  }

  // The resource a denial names when the secret does not exist: AWS still authorizes first, so a
  // caller without rights learns nothing about which names exist.
  access::Resource MissingResource(const Context& ctx, const std::string& id) const {
    access::Resource r;
    r.arn = id.rfind("arn:", 0) == 0 ? id : MakeArn(ctx.region, id);
    r.display = id;
    r.keys.Set("secretsmanager:SecretId", r.arn);
    return r;
  }

  // Resolves a SecretId and asks the request's gate for `action` on it. A secret that does not
  // exist is ResourceNotFound only for a caller the gate would have let act on it.
  Result<Loaded> Resolve(Transaction& txn, const Context& ctx, const std::string& secret_id,
                         std::string_view action, const access::ContextKeys* action_keys = nullptr) {
    auto loaded = Find(txn, ctx, secret_id);
    if (!loaded.ok()) {
      if (loaded.error().code() == Code::kNotFound) {
        ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, MissingResource(ctx, secret_id), action_keys));
      }
      return loaded;
    }
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, ResourceOf(*loaded, secret_id), action_keys));
    return loaded;
  }

  // Resolves a SecretId (name, full ARN or partial ARN) in the caller's region.
  Result<Loaded> Find(Transaction& txn, const Context& ctx, const std::string& secret_id) {
    if (secret_id.empty() || secret_id.size() > 2048) {
      return ModelViolation("secretId", "have length between 1 and 2048");
    }
    std::optional<SecretRow> row;
    if (secret_id.rfind("arn:", 0) == 0) {
      auto arn = Arn::Parse(secret_id);
      if (!arn || arn->service != "secretsmanager" || arn->resource.rfind("secret:", 0) != 0) {
        return Error(Code::kInvalidParameter, "The ARN " + secret_id + " is not a valid secret ARN.");
      }
      if (arn->region != ctx.region || arn->account != opts_.account_id ||
          arn->partition != opts_.partition) {
        return SecretNotFound();
      }
      ARCA_ASSIGN_OR_RETURN(row, txn.GetSecretByArn(secret_id));
      if (!row) {
        // A partial ARN: the ARN without the 6-character suffix AWS appends.
        ARCA_ASSIGN_OR_RETURN(row, txn.GetSecretByName(ctx.region, arn->resource.substr(7)));
      }
    } else {
      ARCA_ASSIGN_OR_RETURN(row, txn.GetSecretByName(ctx.region, secret_id));
    }
    if (!row) return SecretNotFound();
    ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
    return Loaded{std::move(*row), std::move(meta)};
  }

  // Resolve + the checks every mutating operation shares.
  Result<Loaded> ResolveWritable(Transaction& txn, const Context& ctx, const std::string& id,
                                 std::string_view action, const access::ContextKeys* action_keys = nullptr) {
    ARCA_ASSIGN_OR_RETURN(Loaded s, Resolve(txn, ctx, id, action, action_keys));
    if (s.deleted()) return MarkedForDeletion();
    if (s.is_replica()) return ReplicaIsReadOnly();
    return s;
  }

  Status Save(Transaction& txn, Loaded& s) {
    s.row.meta = s.meta.ToJson();
    return txn.UpdateSecret(s.row);
  }

  static kms::Context KmsContext(const SecretRow& row, access::Gate& gate) {
    kms::Context k;
    k.region = row.region;
    k.gate = &gate;
    return k;
  }

  static kms::EncryptionContext ValueContext(const SecretRow& row, const VersionRow& v) {
    return {{"SecretARN", row.arn}, {"SecretVersionId", v.version_id}};
  }

  // A KMS failure as Secrets Manager reports it: a denial of the KMS action is AccessDenied, the
  // rest is the operation's Decryption/EncryptionFailure (the KMS detail goes to the log).
  static Error KmsFailure(const Error& e, Code failure, std::string_view message) {
    if (e.code() == Code::kAccessDenied) return Error(Code::kAccessDenied, "Access to KMS is not allowed");
    return Error(failure, std::string(message), e.ToLogString());
  }

  static constexpr std::string_view kCannotDecrypt =
      "Secrets Manager can't decrypt the protected secret text using the provided KMS key.";

  // A version's ciphertext that did not open: the cause goes to the log, the client gets
  // DecryptionFailure.
  static Error ValueNotOpened(const SecretRow& row, const VersionRow& v, const Error& cause) {
    log::Error("secret value could not be decrypted",
               {{"arn", row.arn}, {"version_id", v.version_id}, {"error", cause.ToLogString()}});
    return Error(Code::kDecryptionFailure, std::string(kCannotDecrypt));
  }

  // `gate` is asked for the KMS action when the version is under a customer managed key; `txn`
  // is the caller's open transaction, if any.
  Result<SecretBytes> OpenValue(const SecretRow& row, const VersionRow& v, access::Gate& gate,
                                Transaction* txn) const {
    if (!v.kms_key_arn.empty()) {
      if (opts_.kms == nullptr) {
        return Error(Code::kDecryptionFailure, std::string(kCannotDecrypt),
                     "the version is under a KMS key and no KMS service is configured");
      }
      auto data_key = opts_.kms->DecryptFor(KmsContext(row, gate), v.sealed.wrapped_key,
                                           ValueContext(row, v), "secretsmanager", txn);
      if (!data_key.ok()) {
        log::Warn("secret value's data key could not be decrypted",
                  {{"arn", row.arn}, {"version_id", v.version_id}, {"error", data_key.error().ToLogString()}});
        return KmsFailure(data_key.error(), Code::kDecryptionFailure,
                          "Secrets Manager can't decrypt the protected secret text using the provided "
                          "KMS key. Check that the KMS key is available, enabled, and not in an invalid state.");
      }
      auto value = crypto::AeadOpen(*data_key, v.sealed.ciphertext, ValueAad(row, v));
      if (!value.ok()) return ValueNotOpened(row, v, value.error());
      return std::move(value).value();
    }
    auto value = keyring_.Open(v.sealed, ValueAad(row, v));
    if (!value.ok()) return ValueNotOpened(row, v, value.error());
    return std::move(value).value();
  }

  // The customer managed key `kms_key_id` names in the secret's region, or "" for the default
  // (master keyring) envelope: no key named, the AWS managed key, or no KMS service.
  Result<std::string> CustomerKeyArn(const SecretRow& row, const std::optional<std::string>& kms_key_id,
                                     access::Gate& gate, Transaction* txn) const {
    if (opts_.kms == nullptr || !kms_key_id.has_value() || kms_key_id->empty()) return std::string();
    auto arn = opts_.kms->ResolveKeyArn(KmsContext(row, gate), *kms_key_id, "alias/aws/secretsmanager", txn);
    if (!arn.ok()) {
      if (arn.error().code() == Code::kNotFound) {
        return Error(Code::kEncryptionFailure, "Secrets Manager can't find the specified encryption key.",
                     arn.error().ToLogString());
      }
      return KmsFailure(arn.error(), Code::kEncryptionFailure, "Secrets Manager can't encrypt the secret value.");
    }
    ARCA_ASSIGN_OR_RETURN(bool aws_managed, opts_.kms->IsAwsManaged(*arn, txn));
    if (aws_managed) return std::string();
    return std::move(arn).value();
  }

  // Seals `plaintext` into v.sealed (and v.kms_key_arn) under the key the secret's meta names.
  Status SealValue(const SecretRow& row, const SecretMeta& meta, VersionRow& v, std::string_view plaintext,
                   access::Gate& gate, Transaction* txn) const {
    ARCA_ASSIGN_OR_RETURN(std::string key_arn, CustomerKeyArn(row, meta.kms_key_id, gate, txn));
    v.kms_key_arn = key_arn;
    if (!key_arn.empty()) {
      auto data_key = opts_.kms->GenerateDataKeyFor(KmsContext(row, gate), key_arn, ValueContext(row, v),
                                                   "secretsmanager", txn);
      if (!data_key.ok()) {
        log::Warn("no data key for a secret value",
                  {{"arn", row.arn}, {"key", key_arn}, {"error", data_key.error().ToLogString()}});
        return KmsFailure(data_key.error(), Code::kEncryptionFailure,
                          "Secrets Manager can't encrypt the protected secret text using the provided "
                          "KMS key. Check that the KMS key is available, enabled, and not in an invalid state.");
      }
      auto ciphertext = crypto::AeadSeal(data_key->plaintext, plaintext, ValueAad(row, v));
      if (!ciphertext.ok()) {
        log::Error("secret value could not be encrypted", {{"arn", row.arn}, {"error", ciphertext.error().ToLogString()}});
        return Error(Code::kEncryptionFailure, "Secrets Manager can't encrypt the secret value.");
      }
      v.sealed.key_version = 0;
      v.sealed.wrapped_key = std::move(data_key->blob);
      v.sealed.ciphertext = std::move(ciphertext).value();
      return OkStatus();
    }
    auto sealed = keyring_.Seal(plaintext, ValueAad(row, v));
    if (!sealed.ok()) {
      log::Error("secret value could not be encrypted", {{"arn", row.arn}, {"error", sealed.error().ToLogString()}});
      return Error(Code::kEncryptionFailure, "Secrets Manager can't encrypt the secret value.");
    }
    v.sealed = std::move(sealed).value();
    return OkStatus();
  }

  // After a KmsKeyId change: re-encrypts the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions under
  // the new key, as Secrets Manager does. A caller without permission to use the new key leaves
  // them under the old one (AWS does the same); new versions use the new key either way.
  Status ReencryptLabelled(Transaction& txn, Loaded& s, access::Gate& gate) {
    ARCA_ASSIGN_OR_RETURN(std::vector<VersionRow> versions, txn.ListVersions(s.row.id));
    for (VersionRow& v : versions) {
      if (!HasLabel(v, kCurrent) && !HasLabel(v, kPrevious) && !HasLabel(v, kPending)) continue;
      Status moved = [&]() -> Status {
        ARCA_ASSIGN_OR_RETURN(SecretBytes plaintext, OpenValue(s.row, v, gate, &txn));
        return SealValue(s.row, s.meta, v, plaintext.view(), gate, &txn);
      }();
      if (!moved.ok()) {
        if (moved.error().code() != Code::kAccessDenied) return moved;
        log::Info("a secret version stays under its old key: no permission to use both keys",
                  {{"arn", s.row.arn}, {"version_id", v.version_id}});
        continue;
      }
      ARCA_RETURN_IF_ERROR(txn.UpdateVersion(v));
    }
    return OkStatus();
  }

  // Whether `version` holds exactly `value` (same kind, same bytes, compared in constant time): the
  // test behind ClientRequestToken idempotency.
  Result<bool> HoldsValue(const SecretRow& secret, const VersionRow& version,
                          const SecretValue& value, access::Gate& gate, Transaction* txn) const {
    const bool binary = value.binary.has_value();
    const SecretBytes& plaintext = binary ? *value.binary : *value.string;
    ARCA_ASSIGN_OR_RETURN(SecretBytes old, OpenValue(secret, version, gate, txn));
    return version.binary == binary && crypto::ConstantTimeEquals(old.view(), plaintext.view());
  }

  // The secrets of a region that match `filters`, deleted ones only when asked for.
  Result<std::vector<Loaded>> MatchingSecrets(Transaction& txn, const std::string& region,
                                              const std::vector<Filter>& filters,
                                              bool include_deleted) const {
    ARCA_ASSIGN_OR_RETURN(auto rows, txn.ListSecrets(region));
    std::vector<Loaded> matched;
    for (auto& row : rows) {
      if (row.deleted_ms && !include_deleted) continue;
      ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row.meta));
      Loaded s{std::move(row), std::move(meta)};
      if (MatchesFilters(filters, SubjectOf(s))) matched.push_back(std::move(s));
    }
    return matched;
  }

  struct NewVersionResult {
    std::string version_id;
    std::vector<std::string> labels;
    bool created = false;
  };

  // Adds a version with `value` and moves labels the way AWS does. Idempotent on the token.
  Result<NewVersionResult> AddVersion(Transaction& txn, Loaded& s,
                                      const std::optional<std::string>& token, SecretValue& value,
                                      std::optional<std::vector<std::string>> stages, access::Gate& gate) {
    const std::string version_id = token ? *token : crypto::NewUuid();
    const bool binary = value.binary.has_value();
    const SecretBytes& plaintext = binary ? *value.binary : *value.string;

    ARCA_ASSIGN_OR_RETURN(auto existing, txn.GetVersion(s.row.id, version_id));
    if (existing) {
      ARCA_ASSIGN_OR_RETURN(bool same, HoldsValue(s.row, *existing, value, gate, &txn));
      if (same) return NewVersionResult{version_id, existing->labels, false};
      return Error(Code::kAlreadyExists,
                   "You can't modify an existing version, you can only create a new version.");
    }

    std::vector<std::string> labels;
    if (stages) {
      for (const auto& l : *stages) {
        ARCA_RETURN_IF_ERROR(ValidateLabel(l));
        if (std::find(labels.begin(), labels.end(), l) == labels.end()) labels.push_back(l);
      }
    } else {
      labels.emplace_back(kCurrent);
    }
    if (labels.size() > kMaxLabelsPerVersion) {
      return Error(Code::kLimitExceeded, "A version can have at most 20 staging labels.");
    }

    ARCA_ASSIGN_OR_RETURN(std::vector<VersionRow> versions, txn.ListVersions(s.row.id));
    const bool has_current = std::any_of(versions.begin(), versions.end(),
                                         [](const VersionRow& v) { return HasLabel(v, kCurrent); });
    if (!has_current && std::find(labels.begin(), labels.end(), kCurrent) == labels.end()) {
      labels.emplace_back(kCurrent);  // the first version is always current
    }

    VersionRow row;
    row.secret_id = s.row.id;
    row.version_id = version_id;
    row.created_ms = NowMs();
    row.labels = labels;
    row.binary = binary;
    ARCA_RETURN_IF_ERROR(SealValue(s.row, s.meta, row, plaintext.view(), gate, &txn));

    ARCA_RETURN_IF_ERROR(MoveLabels(txn, versions, labels, version_id));
    ARCA_RETURN_IF_ERROR(txn.InsertVersion(row));
    versions.push_back(row);
    ARCA_RETURN_IF_ERROR(PruneVersions(txn, versions));
    s.meta.last_changed_ms = NowMs();
    return NewVersionResult{version_id, labels, true};
  }

  // Takes `labels` off every other version. When AWSCURRENT moves, the version that had it gets
  // AWSPREVIOUS (taken off whichever version had that).
  Status MoveLabels(Transaction& txn, std::vector<VersionRow>& versions,
                    const std::vector<std::string>& labels, const std::string& target_version) {
    const bool moving_current = std::find(labels.begin(), labels.end(), kCurrent) != labels.end();
    std::string old_current;
    for (auto& v : versions) {
      if (v.version_id != target_version && HasLabel(v, kCurrent)) old_current = v.version_id;
    }
    for (auto& v : versions) {
      if (v.version_id == target_version) continue;
      bool changed = false;
      for (const auto& l : labels) {
        if (HasLabel(v, l)) {
          RemoveLabel(v, l);
          changed = true;
        }
      }
      if (moving_current && !old_current.empty()) {
        if (v.version_id == old_current) {
          if (!HasLabel(v, kPrevious)) {
            v.labels.emplace_back(kPrevious);
            changed = true;
          }
        } else if (HasLabel(v, kPrevious)) {
          RemoveLabel(v, kPrevious);
          changed = true;
        }
      }
      if (changed) ARCA_RETURN_IF_ERROR(txn.UpdateVersion(v));
    }
    return OkStatus();
  }

  // AWS keeps at most 100 versions, removing unlabelled ones, oldest first, but never one created in
  // the last 24 hours.
  Status PruneVersions(Transaction& txn, std::vector<VersionRow>& versions) {
    if (versions.size() <= kMaxVersionsKept) return OkStatus();
    std::sort(versions.begin(), versions.end(), [](const VersionRow& a, const VersionRow& b) {
      return std::tie(a.created_ms, a.version_id) < std::tie(b.created_ms, b.version_id);
    });
    const std::int64_t cutoff = NowMs() - kDayMs;
    std::size_t count = versions.size();
    for (const auto& v : versions) {
      if (count <= kMaxVersionsKept) break;
      if (v.labels.empty() && v.created_ms < cutoff) {
        ARCA_RETURN_IF_ERROR(txn.DeleteVersion(v.secret_id, v.version_id));
        --count;
      }
    }
    return OkStatus();
  }

  // ---- replicas ----

  // Makes (or refreshes) the replica of `primary` in `region` inside txn.
  Status WriteReplica(Transaction& txn, const Loaded& primary, const ReplicaMeta& rep,
                      std::optional<SecretRow> existing) {
    Loaded replica;
    if (existing) {
      replica.row = std::move(*existing);
      ARCA_ASSIGN_OR_RETURN(replica.meta, SecretMeta::FromJson(replica.row.meta));
    } else {
      replica.row.id = crypto::NewUuid();
      replica.row.region = rep.region;
      replica.row.name = primary.row.name;
      Arn arn = *Arn::Parse(primary.row.arn);
      arn.region = rep.region;
      replica.row.arn = arn.ToString();
      replica.row.created_ms = NowMs();
    }
    replica.meta.description = primary.meta.description;
    replica.meta.kms_key_id = rep.kms_key_id;
    replica.meta.type = primary.meta.type;
    replica.meta.tags = primary.meta.tags;
    replica.meta.last_changed_ms = primary.meta.last_changed_ms;
    replica.meta.rotation = primary.meta.rotation;
    replica.meta.primary_region = primary.row.region;
    replica.meta.replicas.clear();
    replica.row.meta = replica.meta.ToJson();
    if (existing) {
      ARCA_RETURN_IF_ERROR(txn.UpdateSecret(replica.row));
    } else {
      ARCA_RETURN_IF_ERROR(txn.InsertSecret(replica.row));
    }

    // Versions: same ids and labels, values sealed for the replica's ARN.
    ARCA_ASSIGN_OR_RETURN(auto source, txn.ListVersions(primary.row.id));
    ARCA_ASSIGN_OR_RETURN(auto mirror, txn.ListVersions(replica.row.id));
    for (const auto& m : mirror) {
      bool keep = std::any_of(source.begin(), source.end(),
                              [&](const VersionRow& v) { return v.version_id == m.version_id; });
      if (!keep) ARCA_RETURN_IF_ERROR(txn.DeleteVersion(m.secret_id, m.version_id));
    }
    for (const auto& v : source) {
      auto it = std::find_if(mirror.begin(), mirror.end(),
                             [&](const VersionRow& m) { return m.version_id == v.version_id; });
      if (it != mirror.end()) {
        if (it->labels != v.labels) {
          VersionRow updated = *it;
          updated.labels = v.labels;
          ARCA_RETURN_IF_ERROR(txn.UpdateVersion(updated));
        }
        continue;
      }
      // The service copies values for itself: the caller was authorized for the change that
      // brought the replica along.
      access::Gate& self = access::AllowAll::Instance();
      ARCA_ASSIGN_OR_RETURN(SecretBytes plaintext, OpenValue(primary.row, v, self, &txn));
      VersionRow copy = v;
      copy.secret_id = replica.row.id;
      copy.last_accessed_ms.reset();
      ARCA_RETURN_IF_ERROR(SealValue(replica.row, replica.meta, copy, plaintext.view(), self, &txn));
      ARCA_RETURN_IF_ERROR(txn.InsertVersion(copy));
    }
    return OkStatus();
  }

  // Keeps every in-sync replica in step with its primary; called after each change to a primary.
  Status SyncReplicas(Transaction& txn, const Loaded& primary) {
    for (const auto& rep : primary.meta.replicas) {
      if (rep.status != "InSync") continue;
      ARCA_ASSIGN_OR_RETURN(auto row, txn.GetSecretByName(rep.region, primary.row.name));
      if (!row) continue;
      ARCA_RETURN_IF_ERROR(WriteReplica(txn, primary, rep, std::move(row)));
    }
    return OkStatus();
  }

  // Saves a changed primary and brings its replicas along.
  Status SaveAndSync(Transaction& txn, Loaded& s) {
    ARCA_RETURN_IF_ERROR(Save(txn, s));
    return SyncReplicas(txn, s);
  }

  Result<std::vector<ReplicationStatus>> AddReplicas(Transaction& txn, Loaded& primary,
                                                     const std::vector<ReplicaRegionInput>& regions,
                                                     bool force) {
    std::set<std::string> seen;
    for (const auto& r : regions) {
      ARCA_RETURN_IF_ERROR(ValidateRegionName(r.region));
      if (r.region == primary.row.region) {
        return Error(Code::kInvalidParameter,
                     "You can't replicate a secret to the Region it is already in: " + r.region + ".");
      }
      if (!seen.insert(r.region).second) {
        return Error(Code::kInvalidParameter, "The Region " + r.region + " is listed more than once.");
      }
      for (const auto& existing : primary.meta.replicas) {
        if (existing.region == r.region && existing.status != "Failed") {
          return Error(Code::kInvalidParameter,
                       "The secret is already replicated to " + r.region + ".");
        }
      }
    }
    for (const auto& r : regions) {
      std::erase_if(primary.meta.replicas, [&](const ReplicaMeta& m) { return m.region == r.region; });
      ReplicaMeta rep;
      rep.region = r.region;
      rep.kms_key_id = r.kms_key_id;
      ARCA_ASSIGN_OR_RETURN(auto clash, txn.GetSecretByName(r.region, primary.row.name));
      if (clash && !force) {
        rep.status = "Failed";
        rep.status_message =
            "Replication failed: Secret name already exists in the destination Region.";
        primary.meta.replicas.push_back(rep);
        continue;
      }
      if (clash) ARCA_RETURN_IF_ERROR(txn.DeleteSecret(clash->id));
      ARCA_RETURN_IF_ERROR(WriteReplica(txn, primary, rep, std::nullopt));
      primary.meta.replicas.push_back(rep);
    }
    return ReplicationStatuses(primary.meta);
  }

  static std::vector<ReplicationStatus> ReplicationStatuses(const SecretMeta& meta) {
    std::vector<ReplicationStatus> out;
    for (const auto& r : meta.replicas) {
      ReplicationStatus st;
      st.region = r.region;
      st.kms_key_id = r.kms_key_id.value_or("alias/aws/secretsmanager");
      st.status = r.status;
      st.status_message = r.status_message;
      out.push_back(std::move(st));
    }
    return out;
  }

  // ---- descriptions ----

  SecretDescription Describe(const Loaded& s, const std::vector<VersionRow>& versions) const {
    SecretDescription d;
    d.arn = s.row.arn;
    d.name = s.row.name;
    d.type = s.meta.type;
    d.description = s.meta.description;
    d.kms_key_id = s.meta.kms_key_id;
    d.rotation_enabled = s.meta.rotation.enabled;
    d.rotation_lambda_arn = s.meta.rotation.lambda_arn;
    d.rotation_rules = s.meta.rotation.rules;
    d.external_rotation_metadata = s.meta.rotation.external_metadata;
    d.external_rotation_role_arn = s.meta.rotation.role_arn;
    if (s.meta.rotation.last_rotated_ms) d.last_rotated_date = FromUnixMillis(*s.meta.rotation.last_rotated_ms);
    d.last_changed_date = FromUnixMillis(s.meta.last_changed_ms);
    if (s.meta.last_accessed_ms) d.last_accessed_date = FromUnixMillis(*s.meta.last_accessed_ms);
    if (s.row.deleted_ms) d.deleted_date = FromUnixMillis(*s.row.deleted_ms);  // when it was deleted
    d.next_rotation_date = NextRotation(s);
    d.tags = s.meta.tags;
    // While a rotation runs, AWS already lists its token as the AWSPENDING version before the
    // rotation function's createSecret has stored a value under it; AWS's rotation templates
    // refuse to run otherwise ("Secret version ... has no stage for rotation").
    static const std::string kPendingLabel = "AWSPENDING";
    const auto& rotating = s.meta.rotation.in_progress;
    const bool placeholder =
        rotating.has_value() && std::none_of(versions.begin(), versions.end(), [&](const VersionRow& v) {
          return v.version_id == rotating->token;
        });
    for (const auto& v : versions) {
      std::vector<std::string> labels = v.labels;
      if (placeholder) std::erase(labels, kPendingLabel);
      if (!labels.empty()) d.version_ids_to_stages.emplace_back(v.version_id, std::move(labels));
    }
    if (placeholder) d.version_ids_to_stages.emplace_back(rotating->token, std::vector<std::string>{kPendingLabel});
    d.owning_service = s.meta.owning_service;
    d.created_date = FromUnixMillis(s.row.created_ms);
    if (s.meta.primary_region) {
      d.primary_region = s.meta.primary_region;
    } else if (!s.meta.replicas.empty()) {
      d.primary_region = s.row.region;
      d.replication_status = ReplicationStatuses(s.meta);
    }
    return d;
  }

  std::optional<TimePoint> NextRotation(const Loaded& s) const {
    const auto& rot = s.meta.rotation;
    if (!rot.enabled || !rot.rules) return std::nullopt;
    auto schedule = RotationSchedule::Parse(*rot.rules);
    if (!schedule.ok() || !schedule->has_value()) return std::nullopt;  // no (valid) schedule stored
    const TimePoint last = FromUnixMillis(rot.last_rotated_ms.value_or(s.row.created_ms));
    return (*schedule)->NextRotationDate(last, clock_.Now());
  }

  FilterSubject SubjectOf(const Loaded& s) const {
    FilterSubject f;
    f.name = s.row.name;
    f.description = s.meta.description.value_or("");
    f.tags = s.meta.tags;
    if (s.meta.primary_region) {
      f.primary_region = *s.meta.primary_region;
    } else if (!s.meta.replicas.empty()) {
      f.primary_region = s.row.region;
    }
    f.owning_service = s.meta.owning_service.value_or("");
    return f;
  }

  Result<SecretValueOutput> ReadValue(const Loaded& s, const std::vector<VersionRow>& versions,
                                      const std::optional<std::string>& version_id,
                                      const std::optional<std::string>& version_stage,
                                      const VersionRow** read_version, access::Gate& gate) {
    if (s.deleted()) return MarkedForDeletion();
    const VersionRow* version = nullptr;
    if (version_id) {
      for (const auto& v : versions) {
        if (v.version_id == *version_id) version = &v;
      }
      if (version == nullptr || (version_stage && !HasLabel(*version, *version_stage))) {
        return Error(Code::kNotFound,
                     "Secrets Manager can't find the specified secret value for VersionId: " +
                         *version_id);
      }
    } else {
      const std::string stage = version_stage.value_or(std::string(kCurrent));
      for (const auto& v : versions) {
        if (HasLabel(v, stage)) {
          version = &v;
          break;
        }
      }
      if (version == nullptr) {
        return Error(Code::kNotFound,
                     "Secrets Manager can't find the specified secret value for staging label: " + stage);
      }
    }
    ARCA_ASSIGN_OR_RETURN(SecretBytes plaintext, OpenValue(s.row, *version, gate, nullptr));
    SecretValueOutput out;
    out.arn = s.row.arn;
    out.name = s.row.name;
    out.version_id = version->version_id;
    if (version->binary) {
      out.secret_binary = std::move(plaintext);
    } else {
      out.secret_string = std::move(plaintext);
    }
    out.version_stages = version->labels;
    out.created_date = FromUnixMillis(version->created_ms);
    *read_version = version;
    return out;
  }

  // ---- the read cache ----
  //
  // GetSecretValue is the hot path. Its metadata (the secret row and its version rows: ciphertexts
  // and wrapped keys, never a plaintext or a data key) is cached for as long as the store's change
  // sequence stays the same; any committed write in this process empties the cache. The only
  // other writer of a SQLite store is `arca server rekey`, which re-wraps data keys: a cached row
  // with the previous wrapping still opens, because rekey keeps the old master key version.
  struct Snapshot {
    Loaded secret;
    std::vector<VersionRow> versions;
    access::Resource resource;  // what the gate is told, built once per snapshot
  };

  Result<std::shared_ptr<const Snapshot>> LoadForRead(const Context& ctx, const std::string& id) {
    std::string key = ctx.region;
    key += '\n';
    key += id;
    const std::uint64_t seq = store_.ChangeSequence();
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      if (cache_seq_ != seq) {
        cache_.clear();
        cache_bytes_ = 0;
        cache_seq_ = seq;
      }
      if (auto it = cache_.find(key); it != cache_.end()) return it->second;
    }
    // Read after taking `seq`: the snapshot is at least as new as the sequence it is filed under.
    ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(TxnMode::kRead));
    auto found = Find(*txn, ctx, id);
    if (!found.ok()) {
      if (found.error().code() == Code::kNotFound) {
        ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:GetSecretValue", MissingResource(ctx, id)));
      }
      return std::move(found).error();
    }
    Loaded s = std::move(found).value();
    ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
    std::size_t bytes = key.size() + s.row.meta.size() + s.row.arn.size() + 256;
    for (const auto& v : versions) {
      bytes += v.sealed.ciphertext.size() + v.sealed.wrapped_key.size() + v.version_id.size() + 128;
    }
    access::Resource resource = ResourceOf(s, id);
    auto snap = std::make_shared<const Snapshot>(Snapshot{std::move(s), std::move(versions), std::move(resource)});
    std::lock_guard<std::mutex> lock(cache_mu_);
    if (cache_seq_ == seq && bytes <= kCacheBudgetBytes) {
      if (cache_bytes_ + bytes > kCacheBudgetBytes) {
        cache_.clear();
        cache_bytes_ = 0;
      }
      if (cache_.emplace(std::move(key), snap).second) cache_bytes_ += bytes;
    }
    return std::shared_ptr<const Snapshot>(std::move(snap));
  }

  // What the cache may hold, roughly (ciphertexts dominate): when full it starts over.
  static constexpr std::size_t kCacheBudgetBytes = 64u << 20;
  std::mutex cache_mu_;
  std::uint64_t cache_seq_ = 0;  // GUARDED_BY(cache_mu_)
  std::size_t cache_bytes_ = 0;  // GUARDED_BY(cache_mu_)
  std::unordered_map<std::string, std::shared_ptr<const Snapshot>> cache_;  // GUARDED_BY(cache_mu_)

  // Records the day of last access (AWS keeps only the date) on the secret and the version. At most
  // one write per secret per day, so reads stay reads.
  void TouchAccessed(const SecretRow& secret, const SecretMeta& meta, const VersionRow& version) {
    const std::int64_t today = DayOf(NowMs());
    if (meta.last_accessed_ms == today && version.last_accessed_ms == today) return;
    auto touch = [&]() -> Status {
      ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(TxnMode::kWrite));
      txn->OmitFromChangeLog();  // a read is no change for the change stream's followers
      ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretById(secret.id));
      if (!row) return OkStatus();
      ARCA_ASSIGN_OR_RETURN(SecretMeta m, SecretMeta::FromJson(row->meta));
      if (m.last_accessed_ms != today) {
        m.last_accessed_ms = today;
        row->meta = m.ToJson();
        ARCA_RETURN_IF_ERROR(txn->UpdateSecret(*row));
      }
      ARCA_ASSIGN_OR_RETURN(auto v, txn->GetVersion(secret.id, version.version_id));
      if (v && v->last_accessed_ms != today) {
        v->last_accessed_ms = today;
        ARCA_RETURN_IF_ERROR(txn->UpdateVersion(*v));
      }
      return txn->Commit();
    };
    if (auto st = touch(); !st.ok()) {
      log::Warn("could not record last access", {{"arn", secret.arn}, {"error", st.error().ToLogString()}});
    }
  }

  store::Store& store_;
  const crypto::Keyring& keyring_;
  const Clock& clock_;
  ServiceOptions opts_;
};

SecretsService::SecretsService(store::Store& store, const crypto::Keyring& keyring,
                               const Clock& clock, ServiceOptions options)
    : impl_(std::make_shared<Impl>(store, keyring, clock, std::move(options))) {}

// ---- CreateSecret ----

Result<CreateSecretOutput> SecretsService::CreateSecret(const Context& ctx, CreateSecretInput in) {
  if (in.name.empty() || in.name.size() > 512) {
    return ModelViolation("name", "have length between 1 and 512");
  }
  if (!ValidSecretName(in.name)) {
    return Error(Code::kValidation,
                 "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
                 "the following: -/_+=.@!");
  }
  ARCA_RETURN_IF_ERROR(ValidateToken(in.client_request_token));
  ARCA_RETURN_IF_ERROR(ValidateDescription(in.description));
  ARCA_RETURN_IF_ERROR(ValidateValue(in.value, false));
  if (in.tags) {
    ARCA_RETURN_IF_ERROR(ValidateTags(*in.tags));
    if (in.tags->size() > kMaxTags) {
      return Error(Code::kInvalidParameter, "A secret can have at most 50 tags.");
    }
  }
  const bool has_value = in.value.string || in.value.binary;

  // Authorized against the ARN the secret will have, with the request's name, tags and key.
  const std::string arn = impl_->MakeArn(ctx.region, in.name + "-" + RandomSuffix());
  {
    access::Resource resource;
    resource.arn = arn;
    resource.display = arn;
    access::ContextKeys keys;
    keys.Set("secretsmanager:Name", in.name);
    if (in.description) keys.Set("secretsmanager:Description", *in.description);
    if (in.kms_key_id) keys.Set("secretsmanager:KmsKeyId", *in.kms_key_id);
    AddRequestTagKeys(in.tags ? *in.tags : std::vector<Tag>{}, keys);
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:CreateSecret", resource, &keys));
  }

  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->GetSecretByName(ctx.region, in.name));
  if (existing) {
    if (existing->deleted_ms) {
      return Error(Code::kInvalidRequest,
                   "You can't create this secret because a secret with this name is already "
                   "scheduled for deletion.");
    }
    // A retried CreateSecret (same token, same value) succeeds again without a change.
    if (in.client_request_token && has_value) {
      ARCA_ASSIGN_OR_RETURN(auto v, txn->GetVersion(existing->id, *in.client_request_token));
      if (v) {
        ARCA_ASSIGN_OR_RETURN(bool same, impl_->HoldsValue(*existing, *v, in.value, *ctx.gate, txn.get()));
        if (same) {
          ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(existing->meta));
          return CreateSecretOutput{existing->arn, existing->name, v->version_id,
                                    Impl::ReplicationStatuses(meta)};
        }
      }
    }
    return Error(Code::kAlreadyExists,
                 "The operation failed because the secret " + in.name + " already exists.");
  }

  Loaded s;
  s.row.id = crypto::NewUuid();
  s.row.region = ctx.region;
  s.row.name = in.name;
  s.row.arn = arn;
  s.row.created_ms = impl_->NowMs();
  s.meta.description = in.description;
  if (in.kms_key_id && !in.kms_key_id->empty()) s.meta.kms_key_id = in.kms_key_id;
  s.meta.type = in.type;
  if (in.tags) s.meta.tags = *in.tags;
  s.meta.last_changed_ms = s.row.created_ms;
  s.row.meta = s.meta.ToJson();
  ARCA_RETURN_IF_ERROR(txn->InsertSecret(s.row));

  CreateSecretOutput out;
  out.arn = s.row.arn;
  out.name = s.row.name;
  if (has_value) {
    ARCA_ASSIGN_OR_RETURN(auto added,
                          impl_->AddVersion(*txn, s, in.client_request_token, in.value, std::nullopt, *ctx.gate));
    out.version_id = added.version_id;
  }
  if (!in.add_replica_regions.empty()) {
    ARCA_ASSIGN_OR_RETURN(out.replication_status,
                          impl_->AddReplicas(*txn, s, in.add_replica_regions,
                                             in.force_overwrite_replica_secret));
  }
  ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return out;
}

// ---- values ----

Result<SecretValueOutput> SecretsService::GetSecretValue(const Context& ctx,
                                                         const GetSecretValueInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto snap, impl_->LoadForRead(ctx, in.secret_id));
  if (in.version_id.has_value() || in.version_stage.has_value()) {
    access::ContextKeys keys;
    if (in.version_id.has_value()) keys.Set("secretsmanager:VersionId", *in.version_id);
    if (in.version_stage.has_value()) keys.Set("secretsmanager:VersionStage", *in.version_stage);
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:GetSecretValue", snap->resource, &keys));
  } else {
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:GetSecretValue", snap->resource));
  }
  const VersionRow* version = nullptr;
  auto out = impl_->ReadValue(snap->secret, snap->versions, in.version_id, in.version_stage, &version,
                              *ctx.gate);
  if (out.ok()) impl_->TouchAccessed(snap->secret.row, snap->secret.meta, *version);
  return out;
}

Result<PutSecretValueOutput> SecretsService::PutSecretValue(const Context& ctx,
                                                            PutSecretValueInput in) {
  ARCA_RETURN_IF_ERROR(ValidateToken(in.client_request_token));
  ARCA_RETURN_IF_ERROR(ValidateValue(in.value, true));
  if (in.version_stages && in.version_stages->empty()) {
    return ModelViolation("versionStages", "have length between 1 and 20");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:PutSecretValue"));
  ARCA_ASSIGN_OR_RETURN(auto added, impl_->AddVersion(*txn, s, in.client_request_token, in.value,
                                                      in.version_stages, *ctx.gate));
  if (added.created) {
    ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return PutSecretValueOutput{s.row.arn, s.row.name, added.version_id, added.labels};
}

Result<UpdateSecretOutput> SecretsService::UpdateSecret(const Context& ctx, UpdateSecretInput in) {
  ARCA_RETURN_IF_ERROR(ValidateToken(in.client_request_token));
  ARCA_RETURN_IF_ERROR(ValidateDescription(in.description));
  ARCA_RETURN_IF_ERROR(ValidateValue(in.value, false));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:UpdateSecret"));
  UpdateSecretOutput out{s.row.arn, s.row.name, std::nullopt};
  bool changed = false;
  if (in.description) {
    s.meta.description = in.description;
    changed = true;
  }
  if (in.kms_key_id) {
    // "" names the AWS managed key, the same as no key.
    std::optional<std::string> key;
    if (!in.kms_key_id->empty()) key = in.kms_key_id;
    if (key != s.meta.kms_key_id) {
      s.meta.kms_key_id = key;
      ARCA_RETURN_IF_ERROR(impl_->ReencryptLabelled(*txn, s, *ctx.gate));
    }
    changed = true;
  }
  if (in.type) {
    s.meta.type = in.type;
    changed = true;
  }
  if (in.value.string || in.value.binary) {
    ARCA_ASSIGN_OR_RETURN(auto added, impl_->AddVersion(*txn, s, in.client_request_token, in.value,
                                                        std::nullopt, *ctx.gate));
    out.version_id = added.version_id;
    changed = changed || added.created;
  }
  if (changed) {
    s.meta.last_changed_ms = impl_->NowMs();
    ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return out;
}

Result<ArnNameOutput> SecretsService::UpdateSecretVersionStage(
    const Context& ctx, const UpdateSecretVersionStageInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateLabel(in.version_stage));
  if (!in.remove_from_version_id && !in.move_to_version_id) {
    return Error(Code::kInvalidParameter,
                 "You must specify RemoveFromVersionId, MoveToVersionId, or both.");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:UpdateSecretVersionStage"));
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
  auto find = [&](const std::string& id) -> VersionRow* {
    for (auto& v : versions) {
      if (v.version_id == id) return &v;
    }
    return nullptr;
  };
  VersionRow* holder = nullptr;
  for (auto& v : versions) {
    if (HasLabel(v, in.version_stage)) holder = &v;
  }
  if (in.remove_from_version_id) {
    if (find(*in.remove_from_version_id) == nullptr) {
      return Error(Code::kInvalidParameter,
                   "The version " + *in.remove_from_version_id + " does not exist for this secret.");
    }
    if (holder == nullptr || holder->version_id != *in.remove_from_version_id) {
      return Error(Code::kInvalidParameter,
                   "The parameter RemoveFromVersionId doesn't match the version that currently has "
                   "the staging label " + in.version_stage + ".");
    }
  }
  VersionRow* target = nullptr;
  if (in.move_to_version_id) {
    target = find(*in.move_to_version_id);
    if (target == nullptr) {
      return Error(Code::kInvalidParameter,
                   "The version " + *in.move_to_version_id + " does not exist for this secret.");
    }
    if (holder != nullptr && holder != target && !in.remove_from_version_id) {
      return Error(Code::kInvalidParameter,
                   "The staging label " + in.version_stage + " is currently attached to version " +
                       holder->version_id +
                       ", so you must explicitly reference that version in RemoveFromVersionId.");
    }
  } else if (in.version_stage == kCurrent) {
    return Error(Code::kInvalidParameter,
                 "You can't remove the staging label AWSCURRENT from a version; move it to another "
                 "version instead.");
  }

  if (target != nullptr) {
    if (!HasLabel(*target, in.version_stage)) {
      if (target->labels.size() >= kMaxLabelsPerVersion) {
        return Error(Code::kLimitExceeded, "A version can have at most 20 staging labels.");
      }
      ARCA_RETURN_IF_ERROR(impl_->MoveLabels(*txn, versions, {in.version_stage}, target->version_id));
      target->labels.push_back(in.version_stage);
      if (in.version_stage == kCurrent) RemoveLabel(*target, kPrevious);
      ARCA_RETURN_IF_ERROR(txn->UpdateVersion(*target));
    }
  } else if (holder != nullptr) {
    RemoveLabel(*holder, in.version_stage);
    ARCA_RETURN_IF_ERROR(txn->UpdateVersion(*holder));
  }
  ARCA_RETURN_IF_ERROR(impl_->PruneVersions(*txn, versions));
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ArnNameOutput{s.row.arn, s.row.name};
}

// ---- reading metadata ----

Result<SecretDescription> SecretsService::DescribeSecret(const Context& ctx, const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:DescribeSecret"));
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
  return impl_->Describe(s, versions);
}

Result<ListSecretsOutput> SecretsService::ListSecrets(const Context& ctx, const ListSecretsInput& in) {
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 100, 100));
  ARCA_ASSIGN_OR_RETURN(std::size_t offset, DecodeToken(in.next_token));
  ARCA_RETURN_IF_ERROR(ValidateFilters(in.filters));
  const std::string order = in.sort_order.value_or("desc");
  if (order != "asc" && order != "desc") {
    return Error(Code::kInvalidParameter, "SortOrder must be asc or desc.");
  }
  const std::string sort_by = in.sort_by.value_or("created-date");
  if (sort_by != "created-date" && sort_by != "last-accessed-date" &&
      sort_by != "last-changed-date" && sort_by != "name") {
    return Error(Code::kInvalidParameter,
                 "SortBy must be created-date, last-accessed-date, last-changed-date or name.");
  }

  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:ListSecrets", access::Resource{}));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(std::vector<Loaded> matched,
                        impl_->MatchingSecrets(*txn, ctx.region, in.filters,
                                               in.include_planned_deletion.value_or(false)));
  auto key = [&](const Loaded& s) -> std::int64_t {
    if (sort_by == "last-accessed-date") return s.meta.last_accessed_ms.value_or(0);
    if (sort_by == "last-changed-date") return s.meta.last_changed_ms;
    return s.row.created_ms;
  };
  std::stable_sort(matched.begin(), matched.end(), [&](const Loaded& a, const Loaded& b) {
    if (sort_by == "name") {
      return order == "asc" ? a.row.name < b.row.name : a.row.name > b.row.name;
    }
    auto ka = std::make_tuple(key(a), a.row.id), kb = std::make_tuple(key(b), b.row.id);
    return order == "asc" ? ka < kb : ka > kb;
  });
  if (offset > matched.size()) return Error(Code::kInvalidNextToken, "The NextToken value is invalid.");

  ListSecretsOutput out;
  const std::size_t end = std::min(matched.size(), offset + page);
  for (std::size_t i = offset; i < end; ++i) {
    ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(matched[i].row.id));
    out.secrets.push_back(impl_->Describe(matched[i], versions));
  }
  if (end < matched.size()) out.next_token = EncodeToken(end);
  return out;
}

Result<ListSecretVersionIdsOutput> SecretsService::ListSecretVersionIds(
    const Context& ctx, const ListSecretVersionIdsInput& in) {
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 100, 100));
  ARCA_ASSIGN_OR_RETURN(std::size_t offset, DecodeToken(in.next_token));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:ListSecretVersionIds"));
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
  std::vector<VersionRow> shown;
  for (auto it = versions.rbegin(); it != versions.rend(); ++it) {  // newest first
    if (!it->labels.empty() || in.include_deprecated.value_or(false)) shown.push_back(*it);
  }
  if (offset > shown.size()) return Error(Code::kInvalidNextToken, "The NextToken value is invalid.");
  ListSecretVersionIdsOutput out;
  out.arn = s.row.arn;
  out.name = s.row.name;
  const std::size_t end = std::min(shown.size(), offset + page);
  for (std::size_t i = offset; i < end; ++i) {
    SecretVersionEntry e;
    e.version_id = shown[i].version_id;
    e.version_stages = shown[i].labels;
    if (shown[i].last_accessed_ms) e.last_accessed_date = FromUnixMillis(*shown[i].last_accessed_ms);
    e.created_date = FromUnixMillis(shown[i].created_ms);
    e.kms_key_ids.push_back(shown[i].kms_key_arn.empty() ? std::string("DefaultEncryptionKey")
                                                         : shown[i].kms_key_arn);
    out.versions.push_back(std::move(e));
  }
  if (end < shown.size()) out.next_token = EncodeToken(end);
  return out;
}

Result<BatchGetSecretValueOutput> SecretsService::BatchGetSecretValue(
    const Context& ctx, const BatchGetSecretValueInput& in) {
  const bool by_ids = in.secret_id_list.has_value();
  if (by_ids == !in.filters.empty()) {
    return Error(Code::kInvalidParameter,
                 "Either SecretIdList or Filters must be provided, but not both.");
  }
  if (by_ids && (in.secret_id_list->empty() || in.secret_id_list->size() > 20)) {
    return ModelViolation("secretIdList", "have length between 1 and 20");
  }
  if (by_ids && in.max_results) {
    return Error(Code::kInvalidParameter, "MaxResults can be used only with Filters.");
  }
  ARCA_RETURN_IF_ERROR(ValidateFilters(in.filters));
  ARCA_ASSIGN_OR_RETURN(std::size_t page, PageSize(in.max_results, 20, 20));
  ARCA_ASSIGN_OR_RETURN(std::size_t offset, DecodeToken(in.next_token));

  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:BatchGetSecretValue", access::Resource{}));
  if (!by_ids) {
    // Filters list secrets: AWS asks for ListSecrets too.
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:ListSecrets", access::Resource{}));
  }
  BatchGetSecretValueOutput out;
  std::vector<std::pair<Loaded, VersionRow>> touched;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
    auto read = [&](const std::string& id, Loaded s) -> Status {
      if (auto allowed = ctx.gate->Authorize("secretsmanager:GetSecretValue", impl_->ResourceOf(s, id));
          !allowed.ok()) {
        if (allowed.error().code() != Code::kAccessDenied) return std::move(allowed).error();
        out.errors.push_back({id, "AccessDeniedException", allowed.error().message()});
        return OkStatus();
      }
      ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
      const VersionRow* version = nullptr;
      auto value = impl_->ReadValue(s, versions, std::nullopt, std::nullopt, &version, *ctx.gate);
      if (value.ok()) {
        out.secret_values.push_back(std::move(value).value());
        touched.emplace_back(std::move(s), *version);
      } else {
        out.errors.push_back({id, "", value.error().message()});
        switch (value.error().code()) {
          case Code::kNotFound: out.errors.back().error_code = "ResourceNotFoundException"; break;
          case Code::kInvalidRequest: out.errors.back().error_code = "InvalidRequestException"; break;
          case Code::kDecryptionFailure: out.errors.back().error_code = "DecryptionFailure"; break;
          case Code::kAccessDenied: out.errors.back().error_code = "AccessDeniedException"; break;
          default: out.errors.back().error_code = "InternalServiceError"; break;
        }
      }
      return OkStatus();
    };
    if (by_ids) {
      for (const auto& id : *in.secret_id_list) {
        auto s = impl_->Find(*txn, ctx, id);
        if (!s.ok() && s.error().code() == Code::kNotFound) {
          // As for a single read: a caller without rights learns nothing about the name.
          if (auto allowed = ctx.gate->Authorize("secretsmanager:GetSecretValue",
                                                 impl_->MissingResource(ctx, id));
              !allowed.ok()) {
            if (allowed.error().code() != Code::kAccessDenied) return std::move(allowed).error();
            out.errors.push_back({id, "AccessDeniedException", allowed.error().message()});
            continue;
          }
        }
        if (!s.ok()) {
          if (s.error().code() != Code::kNotFound && s.error().code() != Code::kInvalidParameter) {
            return std::move(s).error();
          }
          out.errors.push_back({id,
                                s.error().code() == Code::kNotFound ? "ResourceNotFoundException"
                                                                    : "InvalidParameterException",
                                s.error().message()});
          continue;
        }
        ARCA_RETURN_IF_ERROR(read(id, std::move(s).value()));
      }
    } else {
      ARCA_ASSIGN_OR_RETURN(std::vector<Loaded> matched,
                            impl_->MatchingSecrets(*txn, ctx.region, in.filters, false));
      if (offset > matched.size()) {
        return Error(Code::kInvalidNextToken, "The NextToken value is invalid.");
      }
      const std::size_t end = std::min(matched.size(), offset + page);
      for (std::size_t i = offset; i < end; ++i) {
        std::string name = matched[i].row.name;
        ARCA_RETURN_IF_ERROR(read(name, std::move(matched[i])));
      }
      if (end < matched.size()) out.next_token = EncodeToken(end);
    }
  }
  for (const auto& [s, v] : touched) impl_->TouchAccessed(s.row, s.meta, v);
  return out;
}

// ---- deletion ----

Result<DeleteSecretOutput> SecretsService::DeleteSecret(const Context& ctx,
                                                        const DeleteSecretInput& in) {
  const bool force = in.force_delete_without_recovery.value_or(false);
  if (force && in.recovery_window_in_days) {
    return Error(Code::kInvalidParameter,
                 "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  const std::int64_t days = in.recovery_window_in_days.value_or(30);
  if (days < 7 || days > 30) {
    return Error(Code::kInvalidParameter,
                 "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:DeleteSecret"));
  if (s.is_replica()) return ReplicaIsReadOnly();
  if (!s.meta.replicas.empty()) {
    return Error(Code::kInvalidRequest,
                 "You can't delete secret " + s.row.name +
                     " because it's replicated to other Regions. First remove the replica Regions "
                     "with RemoveRegionsFromReplication.");
  }
  const std::int64_t now = impl_->NowMs();
  if (force) {
    ARCA_RETURN_IF_ERROR(txn->DeleteSecret(s.row.id));
    ARCA_RETURN_IF_ERROR(txn->Commit());
    return DeleteSecretOutput{s.row.arn, s.row.name, FromUnixMillis(now)};
  }
  if (s.deleted()) return MarkedForDeletion();
  s.row.deleted_ms = now;
  s.row.purge_ms = now + days * kDayMs;
  ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return DeleteSecretOutput{s.row.arn, s.row.name, FromUnixMillis(*s.row.purge_ms)};
}

Result<ArnNameOutput> SecretsService::RestoreSecret(const Context& ctx, const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:RestoreSecret"));
  if (s.is_replica()) return ReplicaIsReadOnly();
  if (s.deleted()) {
    s.row.deleted_ms.reset();
    s.row.purge_ms.reset();
    ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return ArnNameOutput{s.row.arn, s.row.name};
}

Result<int> SecretsService::PurgeExpired() {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto due, txn->ListSecretsDueForPurge(impl_->NowMs()));
  for (const auto& row : due) {
    ARCA_RETURN_IF_ERROR(txn->DeleteSecret(row.id));
    log::Info("secret purged", {{"arn", row.arn}});
  }
  if (!due.empty()) ARCA_RETURN_IF_ERROR(txn->Commit());
  return static_cast<int>(due.size());
}

Result<int> SecretsService::PruneChanges(std::chrono::milliseconds max_age, std::int64_t keep_at_least) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(std::int64_t removed,
                        txn->PruneChanges(impl_->NowMs() - max_age.count(), keep_at_least));
  if (removed > 0) ARCA_RETURN_IF_ERROR(txn->Commit());
  return static_cast<int>(removed);
}

// ---- the change stream ----

std::uint64_t SecretsService::LatestChange() const { return impl_->store_.LatestChange(); }

std::uint64_t SecretsService::OnChange(store::CommitListener listener) {
  return impl_->store_.OnCommit(std::move(listener));
}

void SecretsService::RemoveOnChange(std::uint64_t id) { impl_->store_.RemoveOnCommit(id); }

Result<ListChangesOutput> SecretsService::ListChanges(const Context& ctx, const ListChangesInput& in) {
  // Rows examined per call at most, so one call over a long backlog of other regions' (or hidden)
  // changes stays short; the caller asks again from next_sequence.
  constexpr std::size_t kMaxExamined = 5000;
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(store::ChangeBounds bounds, txn->GetChangeBounds());
  ListChangesOutput out;
  out.next_sequence = bounds.latest;
  if (!in.after.has_value()) return out;
  const std::uint64_t after = *in.after;
  // Rows after `after` are all still there when the oldest kept row follows it (sequences have
  // no gaps); an `after` beyond the head comes from another history (a restored backup).
  const std::uint64_t first_kept = bounds.oldest > 0 ? bounds.oldest : bounds.latest + 1;
  if (after > bounds.latest || after + 1 < first_kept) {
    out.reset = true;
    return out;
  }
  out.next_sequence = after;
  const std::size_t limit = std::max<std::size_t>(in.limit, 1);
  std::unordered_map<std::string, bool> visible;  // by ARN, asked once per call
  std::size_t examined = 0;
  constexpr std::size_t kBatch = 200;
  while (out.changes.size() < limit && examined < kMaxExamined) {
    ARCA_ASSIGN_OR_RETURN(std::vector<store::ChangeRow> rows,
                          txn->ListChanges(out.next_sequence, std::min(kBatch, kMaxExamined - examined)));
    if (rows.empty()) break;
    for (store::ChangeRow& row : rows) {
      if (out.changes.size() == limit) break;  // next_sequence stays at the last row examined
      ++examined;
      out.next_sequence = row.sequence;
      if (row.region != ctx.region) continue;
      auto seen = visible.find(row.arn);
      if (seen == visible.end()) {
        // The secret as it is now decides (its tags and resource policy); a purged one is asked
        // about by its ARN alone.
        access::Resource resource;
        ARCA_ASSIGN_OR_RETURN(std::optional<SecretRow> secret, txn->GetSecretByArn(row.arn));
        if (secret.has_value()) {
          ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(secret->meta));
          resource = impl_->ResourceOf(Loaded{std::move(*secret), std::move(meta)}, row.arn);
        } else {
          resource.arn = row.arn;
          resource.keys.Set("secretsmanager:SecretId", row.arn);
        }
        Status allowed = ctx.gate->CheckQuietly("secretsmanager:DescribeSecret", resource);
        if (!allowed.ok() && allowed.error().code() != Code::kAccessDenied) return allowed.error();
        seen = visible.emplace(row.arn, allowed.ok()).first;
      }
      if (seen->second) out.changes.push_back(std::move(row));
    }
  }
  out.more = out.next_sequence < bounds.latest && out.changes.size() < limit;
  return out;
}

// ---- passwords, tags, policies ----

Result<std::string> SecretsService::GetRandomPassword(const Context& ctx,
                                                      const GetRandomPasswordInput& in) {
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:GetRandomPassword", access::Resource{}));
  ARCA_ASSIGN_OR_RETURN(SecretBytes pw, GenerateRandomPassword(in));
  return std::string(pw.view());
}

Status SecretsService::TagResource(const Context& ctx, const TagResourceInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateTags(in.tags));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  access::ContextKeys keys;
  AddRequestTagKeys(in.tags, keys);
  ARCA_ASSIGN_OR_RETURN(Loaded s,
                        impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:TagResource", &keys));
  for (const auto& t : in.tags) {
    auto it = std::find_if(s.meta.tags.begin(), s.meta.tags.end(),
                           [&](const Tag& x) { return x.key == t.key; });
    if (it != s.meta.tags.end()) {
      it->value = t.value;
    } else {
      s.meta.tags.push_back(t);
    }
  }
  if (s.meta.tags.size() > kMaxTags) {
    return Error(Code::kInvalidParameter, "A secret can have at most 50 tags.");
  }
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  return txn->Commit();
}

Status SecretsService::UntagResource(const Context& ctx, const UntagResourceInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  access::ContextKeys keys;
  keys.Set("aws:TagKeys", in.tag_keys);
  ARCA_ASSIGN_OR_RETURN(Loaded s,
                        impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:UntagResource", &keys));
  std::erase_if(s.meta.tags, [&](const Tag& t) {
    return std::find(in.tag_keys.begin(), in.tag_keys.end(), t.key) != in.tag_keys.end();
  });
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  return txn->Commit();
}

Result<ArnNameOutput> SecretsService::PutResourcePolicy(const Context& ctx,
                                                        const PutResourcePolicyInput& in) {
  if (in.resource_policy.empty() || in.resource_policy.size() > kMaxResourcePolicySize) {
    return ModelViolation("resourcePolicy", "have length between 1 and 20480");
  }
  ARCA_ASSIGN_OR_RETURN(auto problems, ValidatePolicyDocument(in.resource_policy));
  if (!problems.empty()) {
    return Error(Code::kMalformedPolicy,
                 "This resource policy contains a syntax error: " + problems.front().error_message);
  }
  if (impl_->opts_.policy_validator != nullptr) {
    // What is stored must be what the authorizer can evaluate.
    if (auto st = impl_->opts_.policy_validator->ValidateResourcePolicy(in.resource_policy); !st.ok()) {
      return Error(Code::kMalformedPolicy,
                   "This resource policy contains a syntax error: " + st.error().message());
    }
  }
  if (in.block_public_policy.value_or(false) && PolicyIsPublic(in.resource_policy)) {
    return Error(Code::kPublicPolicy, "This resource policy will grant public access to the secret.");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:PutResourcePolicy"));
  s.meta.resource_policy = in.resource_policy;
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ArnNameOutput{s.row.arn, s.row.name};
}

Result<GetResourcePolicyOutput> SecretsService::GetResourcePolicy(const Context& ctx,
                                                                  const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:GetResourcePolicy"));
  if (s.deleted()) return MarkedForDeletion();
  return GetResourcePolicyOutput{s.row.arn, s.row.name, s.meta.resource_policy};
}

Result<ArnNameOutput> SecretsService::DeleteResourcePolicy(const Context& ctx,
                                                           const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:DeleteResourcePolicy"));
  if (s.meta.resource_policy) {
    s.meta.resource_policy.reset();
    s.meta.last_changed_ms = impl_->NowMs();
    ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return ArnNameOutput{s.row.arn, s.row.name};
}

Result<ValidateResourcePolicyOutput> SecretsService::ValidateResourcePolicy(
    const Context& ctx, const ValidateResourcePolicyInput& in) {
  if (in.resource_policy.empty() || in.resource_policy.size() > kMaxResourcePolicySize) {
    return ModelViolation("resourcePolicy", "have length between 1 and 20480");
  }
  if (in.secret_id) {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, *in.secret_id, "secretsmanager:ValidateResourcePolicy"));
    (void)s;
  } else {
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("secretsmanager:ValidateResourcePolicy", access::Resource{}));
  }
  ARCA_ASSIGN_OR_RETURN(auto problems, ValidatePolicyDocument(in.resource_policy));
  if (problems.empty() && impl_->opts_.policy_validator != nullptr) {
    if (auto st = impl_->opts_.policy_validator->ValidateResourcePolicy(in.resource_policy); !st.ok()) {
      problems.push_back({"SYNTAX_CHECK", st.error().message()});
    }
  }
  ValidateResourcePolicyOutput out;
  out.passed = problems.empty();
  out.errors = std::move(problems);
  return out;
}

// ---- rotation: configuration, and the state the rotation engine (src/rotation/) persists ----

namespace {

constexpr std::int64_t kMaxBackoffMs = 3'600'000;
constexpr std::size_t kMaxErrorChars = 1024;

RotationInProgress NewRotation(std::string token, std::int64_t now_ms) {
  RotationInProgress p;
  p.token = std::move(token);
  p.step = kRotationSteps[0];
  p.started_ms = now_ms;
  p.next_attempt_ms = now_ms;
  return p;
}

// The rotation of `s` as the engine sees it.
RotationWork WorkOf(const SecretRow& row, const SecretMeta& meta) {
  const RotationInProgress& p = *meta.rotation.in_progress;
  RotationWork w;
  w.arn = row.arn;
  w.region = row.region;
  w.name = row.name;
  w.lambda_arn = meta.rotation.lambda_arn.value_or("");
  w.token = p.token;
  w.step = p.step;
  w.attempts = p.attempts;
  w.fresh = p.attempts == 0 && p.step == kRotationSteps[0] && !p.last_error;
  return w;
}

bool LeaseFree(const RotationInProgress& p, std::int64_t now_ms, const std::string* owner) {
  if (!p.lease_owner || p.lease_expires_ms <= now_ms) return true;
  return owner != nullptr && *p.lease_owner == *owner;
}

// Whether a schedule's window is open at `now` for a secret with no rotation in progress.
bool ScheduleDue(const SecretRow& row, const SecretMeta& meta, TimePoint now) {
  const auto& rot = meta.rotation;
  if (!rot.enabled || !rot.rules || !rot.lambda_arn || rot.in_progress) return false;
  auto schedule = RotationSchedule::Parse(*rot.rules);
  if (!schedule.ok() || !schedule->has_value()) return false;
  const TimePoint last = FromUnixMillis(rot.last_rotated_ms.value_or(row.created_ms));
  const RotationWindow w = (*schedule)->NextWindow(last, now);
  return w.start <= now && now < w.end;
}

Error LeaseLost() {
  return Error(Code::kPreconditionNotMet, "the rotation is no longer held by this engine");
}

}  // namespace

Result<RotateSecretOutput> SecretsService::RotateSecret(const Context& ctx,
                                                        const RotateSecretInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateToken(in.client_request_token));
  if (in.rotation_lambda_arn) {
    auto arn = Arn::Parse(*in.rotation_lambda_arn);
    if (!arn || in.rotation_lambda_arn->size() > 2048) {
      return Error(Code::kInvalidParameter, "RotationLambdaARN must be a valid ARN.");
    }
  }
  if (in.rotation_rules) {
    // AutomaticallyAfterDays, ScheduleExpression and Duration as Secrets Manager checks them.
    ARCA_RETURN_IF_ERROR(RotationSchedule::Parse(*in.rotation_rules));
  }
  const bool immediately = in.rotate_immediately.value_or(true);
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:RotateSecret"));
  auto& rot = s.meta.rotation;
  if (immediately && rot.in_progress) {
    return Error(Code::kInvalidRequest,
                 "A previous rotation isn't complete. That rotation will be reattempted.");
  }
  if (in.rotation_lambda_arn) rot.lambda_arn = in.rotation_lambda_arn;
  if (in.rotation_rules) rot.rules = in.rotation_rules;
  if (in.external_rotation_metadata) rot.external_metadata = *in.external_rotation_metadata;
  if (in.external_rotation_role_arn) rot.role_arn = in.external_rotation_role_arn;
  if (!rot.lambda_arn && !rot.role_arn) {
    return Error(Code::kInvalidRequest,
                 "No Lambda rotation function ARN is associated with this secret.");
  }
  rot.enabled = true;
  const std::int64_t now = impl_->NowMs();
  std::optional<std::string> version_id;
  if (immediately) {
    std::string token = in.client_request_token.value_or(crypto::NewUuid());
    ARCA_ASSIGN_OR_RETURN(auto clash, txn->GetVersion(s.row.id, token));
    if (clash) {
      return Error(Code::kInvalidRequest,
                   "A version with the ClientRequestToken " + token + " already exists.");
    }
    rot.in_progress = NewRotation(token, now);
    version_id = std::move(token);
  }
  s.meta.last_changed_ms = now;
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return RotateSecretOutput{s.row.arn, s.row.name, std::move(version_id)};
}

Result<CancelRotateSecretOutput> SecretsService::CancelRotateSecret(const Context& ctx,
                                                                    const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:CancelRotateSecret"));
  std::optional<std::string> abandoned;
  if (s.meta.rotation.in_progress) abandoned = s.meta.rotation.in_progress->token;
  // As AWS: the rotation in progress is abandoned where it is (an AWSPENDING version stays).
  s.meta.rotation.enabled = false;
  s.meta.rotation.in_progress.reset();
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return CancelRotateSecretOutput{s.row.arn, s.row.name, std::move(abandoned)};
}

Result<std::vector<RotationWork>> SecretsService::FindDueRotations(std::size_t limit, bool take_over) {
  const TimePoint now = impl_->clock_.Now();
  const std::int64_t now_ms = ToUnixMillis(now);
  std::vector<std::string> to_start;  // secret ids whose schedule window opened
  std::vector<RotationWork> due;
  {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kRead));
    ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListAllSecrets());
    for (const auto& row : rows) {
      if (row.deleted_ms) continue;
      // Cheap filter before parsing: only secrets with rotation configured.
      if (row.meta.find("\"lambda_arn\"") == std::string::npos) continue;
      auto meta = SecretMeta::FromJson(row.meta);
      if (!meta.ok() || meta->primary_region) continue;
      const auto& p = meta->rotation.in_progress;
      if (p) {
        if (p->next_attempt_ms <= now_ms && (take_over || LeaseFree(*p, now_ms, nullptr)) &&
            due.size() < limit) {
          due.push_back(WorkOf(row, *meta));
        }
      } else if (ScheduleDue(row, *meta, now)) {
        to_start.push_back(row.id);
      }
    }
  }
  if (to_start.empty()) return due;
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  bool changed = false;
  for (const auto& id : to_start) {
    ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretById(id));
    if (!row || row->deleted_ms) continue;
    ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
    if (!ScheduleDue(*row, meta, now)) continue;  // another engine started it meanwhile
    meta.rotation.in_progress = NewRotation(crypto::NewUuid(), now_ms);
    meta.last_changed_ms = now_ms;
    Loaded s{std::move(*row), std::move(meta)};
    ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
    changed = true;
    log::Info("scheduled rotation started", {{"arn", s.row.arn}, {"token", s.meta.rotation.in_progress->token}});
    if (due.size() < limit) due.push_back(WorkOf(s.row, s.meta));
  }
  if (changed) ARCA_RETURN_IF_ERROR(txn->Commit());
  return due;
}

Result<std::optional<RotationWork>> SecretsService::ClaimRotation(const std::string& arn,
                                                                  const std::string& owner,
                                                                  std::chrono::milliseconds lease,
                                                                  bool take_over) {
  const std::int64_t now = impl_->NowMs();
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretByArn(arn));
  if (!row || row->deleted_ms) return std::optional<RotationWork>();
  ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
  auto& p = meta.rotation.in_progress;
  if (!p || p->next_attempt_ms > now || (!take_over && !LeaseFree(*p, now, &owner))) {
    return std::optional<RotationWork>();
  }
  if (take_over && p->lease_owner && *p->lease_owner != owner && p->lease_expires_ms > now) {
    log::Warn("rotation taken over from another server",
              {{"arn", row->arn}, {"token", p->token}, {"from", *p->lease_owner}});
  }
  p->lease_owner = owner;
  p->lease_expires_ms = now + lease.count();
  row->meta = meta.ToJson();
  ARCA_RETURN_IF_ERROR(txn->UpdateSecret(*row));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return std::optional<RotationWork>(WorkOf(*row, meta));
}

Result<bool> SecretsService::CompleteRotationStep(const RotationWork& work, const std::string& owner,
                                                  std::chrono::milliseconds lease) {
  const std::int64_t now = impl_->NowMs();
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretByArn(work.arn));
  if (!row || row->deleted_ms) return LeaseLost();
  ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
  auto& p = meta.rotation.in_progress;
  if (!p || p->token != work.token || p->step != work.step || p->lease_owner != owner ||
      p->lease_expires_ms <= now) {
    return LeaseLost();
  }
  Loaded s{std::move(*row), std::move(meta)};
  bool finished = false;
  if (work.step == kRotationSteps[3]) {
    ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListVersions(s.row.id));
    VersionRow* target = nullptr;
    for (auto& v : versions) {
      if (v.version_id == work.token) target = &v;
    }
    if (target == nullptr || !HasLabel(*target, kCurrent)) {
      return Error(Code::kInvalidRequest,
                   "finishSecret did not move AWSCURRENT to version " + work.token + ".");
    }
    if (HasLabel(*target, kPending)) {
      RemoveLabel(*target, kPending);
      ARCA_RETURN_IF_ERROR(txn->UpdateVersion(*target));
    }
    s.meta.rotation.last_rotated_ms = now;
    s.meta.rotation.in_progress.reset();
    s.meta.last_changed_ms = now;
    finished = true;
  } else {
    for (std::size_t i = 0; i + 1 < std::size(kRotationSteps); ++i) {
      if (work.step == kRotationSteps[i]) s.meta.rotation.in_progress->step = kRotationSteps[i + 1];
    }
    s.meta.rotation.in_progress->attempts = 0;
    s.meta.rotation.in_progress->last_error.reset();
    s.meta.rotation.in_progress->lease_expires_ms = now + lease.count();
  }
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return finished;
}

Result<TimePoint> SecretsService::FailRotationStep(const RotationWork& work, const std::string& owner,
                                                   const std::string& error,
                                                   std::chrono::milliseconds first_backoff) {
  const std::int64_t now = impl_->NowMs();
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretByArn(work.arn));
  if (!row || row->deleted_ms) return LeaseLost();
  ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
  auto& p = meta.rotation.in_progress;
  if (!p || p->token != work.token || p->lease_owner != owner) return LeaseLost();
  p->attempts += 1;
  const std::int64_t first = std::max<std::int64_t>(first_backoff.count(), 1);
  const std::int64_t max_backoff = std::max(kMaxBackoffMs, first);
  std::int64_t backoff = first;
  for (std::int64_t i = 1; i < p->attempts && backoff < max_backoff; ++i) backoff *= 2;
  backoff = std::min(backoff, max_backoff);
  p->next_attempt_ms = now + backoff;
  p->last_error = error.substr(0, kMaxErrorChars);
  p->lease_owner.reset();
  p->lease_expires_ms = 0;
  const std::int64_t next = p->next_attempt_ms;
  Loaded s{std::move(*row), std::move(meta)};
  ARCA_RETURN_IF_ERROR(impl_->SaveAndSync(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return FromUnixMillis(next);
}

Status SecretsService::ReleaseRotation(const RotationWork& work, const std::string& owner) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretByArn(work.arn));
  if (!row) return OkStatus();
  ARCA_ASSIGN_OR_RETURN(SecretMeta meta, SecretMeta::FromJson(row->meta));
  auto& p = meta.rotation.in_progress;
  if (!p || p->token != work.token || p->lease_owner != owner) return OkStatus();
  p->lease_owner.reset();
  p->lease_expires_ms = 0;
  row->meta = meta.ToJson();
  ARCA_RETURN_IF_ERROR(txn->UpdateSecret(*row));
  return txn->Commit();
}

// ---- replication ----

Result<ReplicationOutput> SecretsService::ReplicateSecretToRegions(
    const Context& ctx, const ReplicateSecretToRegionsInput& in) {
  if (in.add_replica_regions.empty()) {
    return Error(Code::kInvalidParameter, "AddReplicaRegions must name at least one Region.");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:ReplicateSecretToRegions"));
  ARCA_ASSIGN_OR_RETURN(auto statuses, impl_->AddReplicas(*txn, s, in.add_replica_regions,
                                                          in.force_overwrite_replica_secret));
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ReplicationOutput{s.row.arn, std::move(statuses)};
}

Result<ReplicationOutput> SecretsService::RemoveRegionsFromReplication(
    const Context& ctx, const RemoveRegionsFromReplicationInput& in) {
  if (in.remove_replica_regions.empty()) {
    return Error(Code::kInvalidParameter, "RemoveReplicaRegions must name at least one Region.");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->ResolveWritable(*txn, ctx, in.secret_id, "secretsmanager:RemoveRegionsFromReplication"));
  for (const auto& region : in.remove_replica_regions) ARCA_RETURN_IF_ERROR(ValidateRegionName(region));
  for (const auto& region : in.remove_replica_regions) {
    auto it = std::find_if(s.meta.replicas.begin(), s.meta.replicas.end(),
                           [&](const ReplicaMeta& r) { return r.region == region; });
    if (it == s.meta.replicas.end()) {
      return Error(Code::kInvalidParameter, "The secret is not replicated to " + region + ".");
    }
    if (it->status == "InSync") {
      ARCA_ASSIGN_OR_RETURN(auto row, txn->GetSecretByName(region, s.row.name));
      if (row) ARCA_RETURN_IF_ERROR(txn->DeleteSecret(row->id));
    }
    s.meta.replicas.erase(it);
  }
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ReplicationOutput{s.row.arn, Impl::ReplicationStatuses(s.meta)};
}

Result<StopReplicationToReplicaOutput> SecretsService::StopReplicationToReplica(
    const Context& ctx, const SecretIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->store_.Begin(TxnMode::kWrite));
  ARCA_ASSIGN_OR_RETURN(Loaded s, impl_->Resolve(*txn, ctx, in.secret_id, "secretsmanager:StopReplicationToReplica"));
  if (s.deleted()) return MarkedForDeletion();
  if (!s.is_replica()) {
    return Error(Code::kInvalidRequest,
                 "StopReplicationToReplica must be called on a replica secret, in the replica's "
                 "Region.");
  }
  const std::string primary_region = *s.meta.primary_region;
  ARCA_ASSIGN_OR_RETURN(auto primary_row, txn->GetSecretByName(primary_region, s.row.name));
  if (primary_row) {
    ARCA_ASSIGN_OR_RETURN(SecretMeta pm, SecretMeta::FromJson(primary_row->meta));
    std::erase_if(pm.replicas, [&](const ReplicaMeta& r) { return r.region == s.row.region; });
    primary_row->meta = pm.ToJson();
    ARCA_RETURN_IF_ERROR(txn->UpdateSecret(*primary_row));
  }
  s.meta.primary_region.reset();
  s.meta.last_changed_ms = impl_->NowMs();
  ARCA_RETURN_IF_ERROR(impl_->Save(*txn, s));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return StopReplicationToReplicaOutput{s.row.arn};
}

}  // namespace arca::secrets
