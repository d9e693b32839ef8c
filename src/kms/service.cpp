#include "kms/service.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <set>

#include "core/ids.h"
#include "core/json.h"
#include "core/log.h"
#include "core/strings.h"
#include "crypto/aead.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "kms/blob.h"
#include "kms/key_meta.h"

namespace arca::kms {

namespace {

using store::KmsAliasRow;
using store::KmsKeyRow;
using store::KmsMaterialRow;
using store::Transaction;
using store::TxnMode;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::size_t kMaterialSize = 32;
constexpr std::size_t kMaxPlaintext = 4096;
constexpr std::size_t kMaxCiphertext = 6144;
constexpr std::size_t kMaxDescription = 8192;
constexpr std::size_t kMaxPolicy = 131072;
constexpr std::size_t kMaxTags = 50;
constexpr int kMaxOnDemandRotations = 10;
constexpr std::int64_t kDefaultRotationDays = 365;
constexpr std::int64_t kDefaultPendingWindowDays = 30;
constexpr std::string_view kAliasPrefix = "alias/";
constexpr std::string_view kReservedAliasPrefix = "alias/aws/";
constexpr std::string_view kSymmetricDefault = "SYMMETRIC_DEFAULT";

// The AWS managed keys this server creates on first use, and how AWS describes them.
struct ManagedKeyKind {
  std::string_view alias;
  std::string_view service;  // the kms:ViaService prefix
  std::string_view description;
  std::string_view policy_id;
  std::string_view sid;
};
constexpr ManagedKeyKind kManagedKeys[] = {
    {"alias/aws/secretsmanager", "secretsmanager",
     "Default key that protects my Secrets Manager data when no other key is defined",
     "auto-secretsmanager-2",
     "Allow access through AWS Secrets Manager for all principals in the account that are "
     "authorized to use AWS Secrets Manager"},
    {"alias/aws/ssm", "ssm", "Default key that protects my SSM parameters when no other key is defined",
     "auto-ssm-1",
     "Allow access through Systems Manager for all principals in the account that are authorized "
     "to use Systems Manager"},
};

const ManagedKeyKind* ManagedKind(std::string_view alias) {
  for (const ManagedKeyKind& k : kManagedKeys) {
    if (k.alias == alias) return &k;
  }
  return nullptr;
}

// ---- errors (KMS's names as wire types) ----

Error NotFound(std::string message) {
  return Error(Code::kNotFound, std::move(message)).WithWireType("NotFoundException");
}
Error KeyDoesNotExist(const std::string& arn) { return NotFound("Key '" + arn + "' does not exist"); }
Error InvalidKeyId(std::string_view id) { return NotFound("Invalid keyId '" + std::string(id) + "'"); }
Error AliasNotFound(const std::string& alias_arn) {
  return NotFound("Alias " + alias_arn + " is not found.");
}
Error Disabled(const std::string& arn) {
  return Error(Code::kInvalidRequest, arn + " is disabled.").WithWireType("DisabledException");
}
Error InvalidState(std::string message) {
  return Error(Code::kInvalidRequest, std::move(message)).WithWireType("KMSInvalidStateException");
}
Error PendingDeletion(const std::string& arn) { return InvalidState(arn + " is pending deletion."); }
Error InvalidCiphertext(std::string detail) {
  return Error(Code::kDecryptionFailure, "", std::move(detail)).WithWireType("InvalidCiphertextException");
}
Error IncorrectKey() {
  return Error(Code::kInvalidParameter,
               "The key ID in the request does not identify a CMK that can perform this operation.")
      .WithWireType("IncorrectKeyException");
}
Error Validation(std::string message) {
  return Error(Code::kValidation, std::move(message)).WithWireType("ValidationException");
}
Error TagError(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message)).WithWireType("TagException");
}
Error Unsupported(std::string message) {
  return Error(Code::kInvalidRequest, std::move(message)).WithWireType("UnsupportedOperationException");
}
Error Internal(std::string detail) {
  return Error(Code::kInternal, "An internal error occurred.", std::move(detail))
      .WithWireType("KMSInternalException");
}
Error AliasExists(const std::string& alias_arn) {
  return Error(Code::kAlreadyExists, "An alias with the name " + alias_arn + " already exists")
      .WithWireType("AlreadyExistsException");
}
// What a request with DryRun set answers once every check has passed.
Error DryRunSucceeded() {
  return Error(Code::kPreconditionNotMet, "The request would have succeeded, but the DryRun option is set.")
      .WithWireType("DryRunOperationException");
}

// "1 validation error detected: Value 'V' at 'member' failed to satisfy constraint: Member must ..."
Error ModelViolation(std::string_view member, std::optional<std::string_view> value,
                     std::string_view constraint) {
  std::string m = "1 validation error detected: Value ";
  if (value) m += "'" + std::string(*value) + "' ";
  m += "at '" + std::string(member) + "' failed to satisfy constraint: Member must " +
       std::string(constraint);
  return Validation(std::move(m));
}

Status CheckEnum(std::string_view member, const std::optional<std::string>& value,
                 std::initializer_list<std::string_view> allowed) {
  if (!value) return OkStatus();
  if (std::find(allowed.begin(), allowed.end(), *value) != allowed.end()) return OkStatus();
  std::string set = "[";
  bool first = true;
  for (std::string_view a : allowed) {
    if (!first) set += ", ";
    set += a;
    first = false;
  }
  set += "]";
  return ModelViolation(member, *value, "satisfy enum value set: " + set);
}

Status CheckRange(std::string_view member, const std::optional<std::int64_t>& v, std::int64_t lo,
                  std::int64_t hi) {
  if (!v) return OkStatus();
  if (*v < lo) {
    return ModelViolation(member, std::to_string(*v),
                          "have value greater than or equal to " + std::to_string(lo));
  }
  if (*v > hi) {
    return ModelViolation(member, std::to_string(*v),
                          "have value less than or equal to " + std::to_string(hi));
  }
  return OkStatus();
}

Status CheckCiphertextLength(const std::string& blob) {
  if (blob.empty()) return ModelViolation("ciphertextBlob", std::nullopt, "have length greater than or equal to 1");
  if (blob.size() > kMaxCiphertext) {
    return ModelViolation("ciphertextBlob", std::nullopt, "have length less than or equal to 6144");
  }
  return OkStatus();
}

Status CheckKeyIdLength(std::string_view member, const std::string& id) {
  if (id.empty()) return ModelViolation(member, id, "have length greater than or equal to 1");
  if (id.size() > 2048) return ModelViolation(member, std::nullopt, "have length less than or equal to 2048");
  return OkStatus();
}

const std::initializer_list<std::string_view> kEncryptionAlgorithms = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};

// EncryptionAlgorithm: in the model's enum, and SYMMETRIC_DEFAULT for the keys this server has.
Status CheckAlgorithm(std::string_view member, const std::optional<std::string>& alg) {
  ARCA_RETURN_IF_ERROR(CheckEnum(member, alg, kEncryptionAlgorithms));
  if (alg && *alg != kSymmetricDefault) {
    return Error(Code::kInvalidParameter,
                 "Algorithm " + *alg + " is incompatible with key spec SYMMETRIC_DEFAULT.")
        .WithWireType("InvalidKeyUsageException");
  }
  return OkStatus();
}

Status ValidateTags(const std::vector<Tag>& tags) {
  std::set<std::string> keys;
  for (const Tag& t : tags) {
    if (!keys.insert(t.key).second) return TagError("Duplicate tag keys");
  }
  if (tags.size() > kMaxTags) return TagError("Too many tags");
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const Tag& t = tags[i];
    const std::string pos = "tags." + std::to_string(i + 1) + ".member.";
    if (t.key.empty()) return ModelViolation(pos + "tagKey", t.key, "have length greater than or equal to 1");
    if (t.key.size() > 128) return ModelViolation(pos + "tagKey", t.key, "have length less than or equal to 128");
    if (t.value.size() > 256) {
      return ModelViolation(pos + "tagValue", t.value, "have length less than or equal to 256");
    }
    if (AsciiLower(t.key).rfind("aws:", 0) == 0) return TagError("Tags beginning with aws: are reserved");
  }
  return OkStatus();
}

Status ValidateDescription(const std::string& d) {
  if (d.size() > kMaxDescription) {
    return ModelViolation("description", std::nullopt, "have length less than or equal to 8192");
  }
  return OkStatus();
}

// The policy's model constraints, and a JSON object at least; the engine's own check when wired.
Status ValidatePolicy(const std::string& policy, const access::PolicyValidator* validator) {
  if (policy.empty()) return ModelViolation("policy", std::nullopt, "have length greater than or equal to 1");
  if (policy.size() > kMaxPolicy) {
    return ModelViolation("policy", std::nullopt, "have length less than or equal to 131072");
  }
  for (char c : policy) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && u != '\t' && u != '\n' && u != '\r') {
      return ModelViolation("policy", std::nullopt,
                            "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    }
  }
  auto parsed = json::Parse(policy);
  if (!parsed.ok() || !parsed->is_object()) {
    return Error(Code::kMalformedPolicy, "Policy contains a statement with one or more invalid principals.")
        .WithWireType("MalformedPolicyDocumentException");
  }
  if (validator != nullptr) {
    Status s = validator->ValidateResourcePolicy(policy);
    if (!s.ok()) {
      return Error(Code::kMalformedPolicy, s.error().message()).WithWireType("MalformedPolicyDocumentException");
    }
  }
  return OkStatus();
}

// Alias names: the model's pattern and length, the "alias/" prefix, the reserved "alias/aws/".
Status ValidateAliasName(const std::string& name) {
  if (name.empty() || name.size() > 256) {
    return ModelViolation("aliasName", name, "have length between 1 and 256");
  }
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '/' || c == '_' || c == '-')) {
      return ModelViolation("aliasName", name, "satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
    }
  }
  if (name.rfind(kAliasPrefix, 0) != 0) {
    return Validation(
        "Alias must start with the prefix \"alias/\". Please see "
        "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  }
  if (name.find(':') != std::string::npos) {
    return Validation(name + " contains invalid characters for an alias");
  }
  if (name.size() == kAliasPrefix.size()) {
    return Error(Code::kInvalidParameter, "Alias name must not be empty after \"alias/\".")
        .WithWireType("InvalidAliasNameException");
  }
  if (name.rfind(kReservedAliasPrefix, 0) == 0) {
    return Error(Code::kAccessDenied, "The alias/aws/ prefix is reserved for AWS managed keys.")
        .WithWireType("NotAuthorizedException");
  }
  return OkStatus();
}

std::string MaterialAad(const std::string& key_arn, std::int64_t version) {
  return "arca-kms-material:" + key_arn + ":" + std::to_string(version);
}

// KMS's key material ids are 64 hex digits; ours name (key, version) without revealing anything.
std::string MaterialId(const std::string& key_id, std::int64_t version) {
  return crypto::Sha256Hex("arca-kms-material-id:" + key_id + ":" + std::to_string(version));
}

// Paging markers: an opaque offset.
std::string EncodeMarker(std::size_t offset) {
  return crypto::Base64Encode("arca-kms-page:" + std::to_string(offset));
}
Result<std::size_t> DecodeMarker(const std::optional<std::string>& marker) {
  if (!marker) return std::size_t{0};
  Error bad = Error(Code::kInvalidNextToken, "Invalid marker.").WithWireType("InvalidMarkerException");
  auto raw = crypto::Base64Decode(*marker);
  constexpr std::string_view kPrefix = "arca-kms-page:";
  if (!raw || raw->rfind(kPrefix, 0) != 0 || raw->size() == kPrefix.size() || raw->size() > 32) return bad;
  std::size_t offset = 0;
  for (char c : raw->substr(kPrefix.size())) {
    if (c < '0' || c > '9') return bad;
    offset = offset * 10 + static_cast<std::size_t>(c - '0');
  }
  return offset;
}

// The slice [offset, offset+limit) of `all` and the marker of what follows.
template <typename T>
Result<std::vector<T>> PageOf(std::vector<T> all, const Page& page, std::int64_t default_limit,
                              std::optional<std::string>* next_marker, bool* truncated) {
  ARCA_RETURN_IF_ERROR(CheckRange("limit", page.limit, 1, 1000));
  ARCA_ASSIGN_OR_RETURN(std::size_t offset, DecodeMarker(page.marker));
  const auto limit = static_cast<std::size_t>(page.limit.value_or(default_limit));
  std::vector<T> out;
  for (std::size_t i = offset; i < all.size() && out.size() < limit; ++i) out.push_back(std::move(all[i]));
  *truncated = offset + out.size() < all.size();
  if (*truncated) *next_marker = EncodeMarker(offset + out.size());
  return out;
}

// The account of a principal ARN (kms:CallerAccount).
std::string AccountOf(const std::string& principal_arn, const std::string& fallback) {
  auto arn = Arn::Parse(principal_arn);
  if (arn && !arn->account.empty()) return arn->account;
  return fallback;
}

// The default key policy, as AWS writes it for CreateKey without a Policy.
std::string DefaultKeyPolicy(const std::string& partition, const std::string& account) {
  return "{\n"
         "  \"Version\" : \"2012-10-17\",\n"
         "  \"Id\" : \"key-default-1\",\n"
         "  \"Statement\" : [ {\n"
         "    \"Sid\" : \"Enable IAM User Permissions\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"arn:" + partition + ":iam::" + account + ":root\"\n"
         "    },\n"
         "    \"Action\" : \"kms:*\",\n"
         "    \"Resource\" : \"*\"\n"
         "  } ]\n"
         "}";
}

// The key policy AWS gives an AWS managed key: use through the service by principals of the
// account, metadata reads directly.
std::string ManagedKeyPolicy(const ManagedKeyKind& kind, const std::string& partition,
                             const std::string& account, const std::string& region) {
  const std::string via = std::string(kind.service) + "." + region + ".amazonaws.com";
  return "{\n"
         "  \"Version\" : \"2012-10-17\",\n"
         "  \"Id\" : \"" + std::string(kind.policy_id) + "\",\n"
         "  \"Statement\" : [ {\n"
         "    \"Sid\" : \"" + std::string(kind.sid) + "\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"*\"\n"
         "    },\n"
         "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", \"kms:GenerateDataKey*\", "
         "\"kms:CreateGrant\", \"kms:DescribeKey\" ],\n"
         "    \"Resource\" : \"*\",\n"
         "    \"Condition\" : {\n"
         "      \"StringEquals\" : {\n"
         "        \"kms:CallerAccount\" : \"" + account + "\",\n"
         "        \"kms:ViaService\" : \"" + via + "\"\n"
         "      }\n"
         "    }\n"
         "  }, {\n"
         "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n"
         "    \"Effect\" : \"Allow\",\n"
         "    \"Principal\" : {\n"
         "      \"AWS\" : \"arn:" + partition + ":iam::" + account + ":root\"\n"
         "    },\n"
         "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\", \"kms:RevokeGrant\" ],\n"
         "    \"Resource\" : \"*\"\n"
         "  } ]\n"
         "}";
}

// aws:RequestTag/<key> and aws:TagKeys for the tags a request sets.
void SetRequestTagKeys(access::ContextKeys& keys, const std::vector<Tag>& tags) {
  std::vector<std::string> names;
  for (const Tag& t : tags) {
    keys.Set("aws:RequestTag/" + t.key, t.value);
    names.push_back(t.key);
  }
  if (!names.empty()) keys.Set("aws:TagKeys", std::move(names));
}

Result<std::size_t> DataKeySize(const GenerateDataKeyInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("numberOfBytes", in.number_of_bytes, 1, 1024));
  ARCA_RETURN_IF_ERROR(CheckEnum("keySpec", in.key_spec, {"AES_256", "AES_128"}));
  if (in.number_of_bytes.has_value() == in.key_spec.has_value()) {
    return Validation("Please specify either number of bytes or key spec.");
  }
  if (in.key_spec) return std::size_t{*in.key_spec == "AES_128" ? 16u : 32u};
  return static_cast<std::size_t>(*in.number_of_bytes);
}

// What a key reference (KeyId, TargetKeyId, ...) names.
struct KeyRef {
  enum class Kind { kKeyId, kKeyArn, kAliasName, kAliasArn };
  Kind kind = Kind::kKeyId;
  std::string key_id;      // kKeyId, kKeyArn
  std::string alias_name;  // kAliasName, kAliasArn ("alias/...")
  std::string arn;         // the key or alias ARN this reference stands for (in the caller's region)
  bool is_alias() const { return kind == Kind::kAliasName || kind == Kind::kAliasArn; }
};

// A key loaded for an operation.
struct Key {
  KmsKeyRow row;
  KeyMeta meta;
  std::vector<std::string> aliases;  // names, for kms:ResourceAliases (filled by Resolve)
};

}  // namespace

// ---------------------------------------------------------------------------------------------

// Thread-safety: immutable after construction; each call works in its own transaction (or the
// caller's), so calls may run concurrently.
class KmsService::Impl {
 public:
  Impl(store::Store& store, const crypto::Keyring& keyring, const Clock& clock, ServiceOptions opts)
      : store_(store), keyring_(keyring), clock_(clock), opts_(std::move(opts)) {}

  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  std::string KeyArn(const std::string& region, const std::string& key_id) const {
    return Arn{opts_.partition, "kms", region, opts_.account_id, "key/" + key_id}.ToString();
  }
  std::string AliasArn(const std::string& region, const std::string& alias_name) const {
    return Arn{opts_.partition, "kms", region, opts_.account_id, alias_name}.ToString();
  }

  // ---- references ----

  // Parses a key reference in ctx's region. `allow_alias`: the operation accepts aliases.
  Result<KeyRef> ParseRef(const Context& ctx, const std::string& ref, bool allow_alias,
                          std::string_view member = "keyId") const {
    ARCA_RETURN_IF_ERROR(CheckKeyIdLength(member, ref));
    KeyRef out;
    if (ref.rfind("arn:", 0) == 0) {
      auto arn = Arn::Parse(ref);
      if (!arn || arn->service != "kms") return InvalidKeyId(ref);
      if (arn->resource.rfind("key/", 0) == 0) {
        out.kind = KeyRef::Kind::kKeyArn;
        out.key_id = AsciiLowerCopy(arn->resource.substr(4));
      } else if (arn->resource.rfind(kAliasPrefix, 0) == 0 && allow_alias) {
        out.kind = KeyRef::Kind::kAliasArn;
        out.alias_name = arn->resource;
      } else {
        return InvalidKeyId(ref);
      }
      if (arn->region != ctx.region) return NotFound("Invalid arn " + arn->region);
      if (arn->partition != opts_.partition || arn->account != opts_.account_id) {
        return out.is_alias() ? AliasNotFound(ref) : KeyDoesNotExist(ref);
      }
      out.arn = ref;
      if (!out.is_alias() && !LooksLikeUuid(out.key_id)) return InvalidKeyId(out.key_id);
      return out;
    }
    if (ref.rfind(kAliasPrefix, 0) == 0) {
      if (!allow_alias) return InvalidKeyId(ref);
      out.kind = KeyRef::Kind::kAliasName;
      out.alias_name = ref;
      out.arn = AliasArn(ctx.region, ref);
      return out;
    }
    if (!LooksLikeUuid(ref)) return InvalidKeyId(ref);
    out.kind = KeyRef::Kind::kKeyId;
    out.key_id = AsciiLowerCopy(ref);
    out.arn = KeyArn(ctx.region, out.key_id);
    return out;
  }

  static std::string AsciiLowerCopy(const std::string& s) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  // Finds the key a parsed reference names (no authorization, any state).
  Result<Key> Find(Transaction& txn, const Context& ctx, const KeyRef& ref) const {
    std::string key_id = ref.key_id;
    if (ref.is_alias()) {
      ARCA_ASSIGN_OR_RETURN(auto alias, txn.GetKmsAlias(ctx.region, ref.alias_name));
      if (!alias) return AliasNotFound(AliasArn(ctx.region, ref.alias_name));
      key_id = alias->target_key_id;
    }
    ARCA_ASSIGN_OR_RETURN(Key key, FindById(txn, ctx.region, key_id));
    if (key.row.region != ctx.region) return KeyDoesNotExist(KeyArn(ctx.region, key_id));
    return key;
  }

  // The key with this id, any region; a missing one is named by its ARN in `region`.
  Result<Key> FindById(Transaction& txn, const std::string& region, const std::string& key_id) const {
    ARCA_ASSIGN_OR_RETURN(auto row, txn.GetKmsKey(key_id));
    if (!row) return KeyDoesNotExist(KeyArn(region, key_id));
    return KeyOfRow(std::move(*row));
  }

  static Result<Key> KeyOfRow(KmsKeyRow row) {
    auto meta = KeyMeta::FromJson(row.meta);
    if (!meta.ok()) return Internal(meta.error().detail() + " (" + row.arn + ")");
    return Key{std::move(row), std::move(meta).value(), {}};
  }

  // The key of a key ARN made by this service (the ...For calls).
  Result<Key> FindByArn(Transaction& txn, const std::string& key_arn) const {
    auto arn = Arn::Parse(key_arn);
    if (!arn || arn->service != "kms" || arn->resource.rfind("key/", 0) != 0) {
      return InvalidKeyId(key_arn);
    }
    ARCA_ASSIGN_OR_RETURN(auto row, txn.GetKmsKey(arn->resource.substr(4)));
    if (!row || row->arn != key_arn) return KeyDoesNotExist(key_arn);
    return KeyOfRow(std::move(*row));
  }

  // What the gate is told about a key: its ARN, key policy and resource keys.
  access::Resource ResourceOf(const Key& k) const {
    access::Resource r;
    r.arn = k.row.arn;
    r.policy = k.meta.policy;
    for (const Tag& t : k.meta.tags) r.keys.Set("aws:ResourceTag/" + t.key, t.value);
    r.keys.Set("kms:KeyOrigin", std::string("AWS_KMS"));
    r.keys.Set("kms:KeySpec", std::string(kSymmetricDefault));
    r.keys.Set("kms:KeyUsage", std::string("ENCRYPT_DECRYPT"));
    r.keys.Set("kms:MultiRegion", std::string("false"));
    if (!k.aliases.empty()) r.keys.Set("kms:ResourceAliases", k.aliases);
    return r;
  }

  // The keys of a cryptographic call: caller account, algorithm, encryption context, the service
  // it comes through, the alias it named the key by.
  access::ContextKeys CryptoKeys(const Context& ctx, const EncryptionContext& ec,
                                 std::string_view via_service, const KeyRef* ref) const {
    access::ContextKeys keys;
    keys.Set("kms:CallerAccount", AccountOf(ctx.principal_arn, opts_.account_id));
    keys.Set("kms:EncryptionAlgorithm", std::string(kSymmetricDefault));
    std::vector<std::string> names;
    for (const auto& [k, v] : ec) {
      keys.Set("kms:EncryptionContext:" + k, v);
      names.push_back(k);
    }
    if (!names.empty()) keys.Set("kms:EncryptionContextKeys", std::move(names));
    if (!via_service.empty()) {
      keys.Set("kms:ViaService", std::string(via_service) + "." + ctx.region + ".amazonaws.com");
    }
    if (ref != nullptr && ref->is_alias()) keys.Set("kms:RequestAlias", ref->alias_name);
    return keys;
  }

  Result<std::vector<std::string>> AliasesOf(Transaction& txn, const Key& k) const {
    ARCA_ASSIGN_OR_RETURN(auto all, txn.ListKmsAliases(k.row.region));
    std::vector<std::string> names;
    for (const KmsAliasRow& a : all) {
      if (a.target_key_id == k.row.key_id) names.push_back(a.name);
    }
    return names;
  }

  // Finds a key without authorizing it, but a key that does not exist is NotFoundException only
  // for a caller the gate would have let act on the ARN the reference names.
  Result<Key> FindOrDeny(Transaction& txn, const Context& ctx, const KeyRef& ref, std::string_view action,
                         const access::ContextKeys* action_keys) const {
    auto found = Find(txn, ctx, ref);
    if (!found.ok() && found.error().code() == Code::kNotFound) {
      access::Resource missing;
      missing.arn = ref.arn;
      ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, missing, action_keys));
    }
    return found;
  }

  // Resolves a key reference and asks the gate for `action` on the key. A key that does not exist
  // is NotFoundException only for a caller the gate would have let act on the ARN it names.
  Result<Key> Resolve(Transaction& txn, const Context& ctx, const KeyRef& ref, std::string_view action,
                      const access::ContextKeys* action_keys = nullptr) const {
    ARCA_ASSIGN_OR_RETURN(Key k, FindOrDeny(txn, ctx, ref, action, action_keys));
    ARCA_RETURN_IF_ERROR(AuthorizeDirect(txn, ctx, k, action, action_keys));
    return k;
  }

  // Asks the gate for `action` on a key a client's call names (its aliases loaded for
  // kms:ResourceAliases); AWS managed keys allow such calls only to read metadata.
  Status AuthorizeDirect(Transaction& txn, const Context& ctx, Key& k, std::string_view action,
                         const access::ContextKeys* action_keys) const {
    ARCA_ASSIGN_OR_RETURN(k.aliases, AliasesOf(txn, k));
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, ResourceOf(k), action_keys));
    return DirectUseOfManagedKey(ctx, k, action);
  }

  // The check of a ...For call: the action on a customer managed key, with kms:ViaService and the
  // encryption context; none for AWS managed keys (the calling service's own permission is the
  // check, as their key policy says).
  Status AuthorizeFor(Transaction& txn, const Context& ctx, Key& k, std::string_view action,
                      const EncryptionContext& ec, std::string_view via_service) const {
    if (k.meta.aws_managed) return OkStatus();
    ARCA_ASSIGN_OR_RETURN(k.aliases, AliasesOf(txn, k));
    access::ContextKeys keys = CryptoKeys(ctx, ec, via_service, nullptr);
    return ctx.gate->Authorize(action, ResourceOf(k), &keys);
  }

  // AWS managed keys: their key policy allows a client's direct calls only to read metadata.
  static Status DirectUseOfManagedKey(const Context& ctx, const Key& k, std::string_view action) {
    if (!k.meta.aws_managed) return OkStatus();
    std::string_view op = action.substr(action.find(':') + 1);
    if (op.rfind("Describe", 0) == 0 || op.rfind("Get", 0) == 0 || op.rfind("List", 0) == 0) {
      return OkStatus();
    }
    return Error(Code::kAccessDenied, "User: " + ctx.principal_arn + " is not authorized to perform: " +
                                          std::string(action) + " on resource: " + k.row.arn +
                                          " because no resource-based policy allows the " +
                                          std::string(action) + " action");
  }

  static Status RequireEnabled(const Key& k) {
    if (k.meta.state == kStateDisabled) return Disabled(k.row.arn);
    if (k.meta.state == kStatePendingDeletion) return PendingDeletion(k.row.arn);
    return OkStatus();
  }
  static Status RequireNotPendingDeletion(const Key& k) {
    if (k.meta.state == kStatePendingDeletion) return PendingDeletion(k.row.arn);
    return OkStatus();
  }

  Status Save(Transaction& txn, Key& k) const {
    k.row.meta = k.meta.ToJson();
    return txn.UpdateKmsKey(k.row);
  }

  // ---- aliases ----

  // CreateAlias and UpdateAlias: the alias name checked, the target key reference parsed.
  Result<KeyRef> ParseAliasTarget(const Context& ctx, const AliasInput& in) const {
    ARCA_RETURN_IF_ERROR(ValidateAliasName(in.alias_name));
    ARCA_RETURN_IF_ERROR(CheckKeyIdLength("targetKeyId", in.target_key_id));
    if (in.target_key_id.rfind(kAliasPrefix, 0) == 0 ||
        (in.target_key_id.rfind("arn:", 0) == 0 && in.target_key_id.find(":alias/") != std::string::npos)) {
      return Validation("Aliases must refer to keys. Not aliases");
    }
    return ParseRef(ctx, in.target_key_id, /*allow_alias=*/false, "targetKeyId");
  }

  // Asks the gate for `action` on the alias itself; its ARN in ctx's region.
  Result<std::string> AuthorizeAlias(const Context& ctx, const std::string& alias_name,
                                     std::string_view action) const {
    access::Resource alias;
    alias.arn = AliasArn(ctx.region, alias_name);
    ARCA_RETURN_IF_ERROR(ctx.gate->Authorize(action, alias));
    return alias.arn;
  }

  // Asks the gate for `action` on the key an alias points to now, when that key still exists (in
  // any state): changing an alias needs the permission on the key it leaves too.
  Status AuthorizeCurrentTarget(Transaction& txn, const Context& ctx, const KmsAliasRow& alias,
                                std::string_view action) const {
    KeyRef ref;
    ref.key_id = alias.target_key_id;
    ref.arn = KeyArn(ctx.region, alias.target_key_id);
    auto key = Find(txn, ctx, ref);
    if (!key.ok()) return OkStatus();
    ARCA_ASSIGN_OR_RETURN(key->aliases, AliasesOf(txn, *key));
    return ctx.gate->Authorize(action, ResourceOf(*key));
  }

  // ---- AWS managed keys ----

  // Parses a key reference that may be an alias; when it names one of the AWS managed aliases this
  // server provides, makes sure its key exists in ctx's region (created on first use, in its own
  // transaction).
  Result<KeyRef> ParseAndPrepareRef(const Context& ctx, const std::string& key_ref,
                                    std::string_view member = "keyId") {
    ARCA_ASSIGN_OR_RETURN(KeyRef ref, ParseRef(ctx, key_ref, /*allow_alias=*/true, member));
    const ManagedKeyKind* kind = ref.is_alias() ? ManagedKind(ref.alias_name) : nullptr;
    if (kind != nullptr) ARCA_RETURN_IF_ERROR(EnsureManagedKey(ctx.region, *kind));
    return ref;
  }

  Status EnsureManagedKey(const std::string& region, const ManagedKeyKind& kind) {
    {
      ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(TxnMode::kRead));
      ARCA_ASSIGN_OR_RETURN(auto alias, txn->GetKmsAlias(region, std::string(kind.alias)));
      if (alias) return OkStatus();
    }
    ARCA_ASSIGN_OR_RETURN(auto txn, store_.Begin(TxnMode::kWrite));
    ARCA_RETURN_IF_ERROR(EnsureManagedKeyIn(*txn, region, kind));  // another request may have made it
    return txn->Commit();
  }

  // The same inside the caller's (write) transaction.
  Status EnsureManagedKeyIn(Transaction& txn, const std::string& region, const ManagedKeyKind& kind) {
    ARCA_ASSIGN_OR_RETURN(auto alias, txn.GetKmsAlias(region, std::string(kind.alias)));
    if (alias) return OkStatus();
    KeyMeta meta;
    meta.aws_managed = true;
    meta.description = std::string(kind.description);
    meta.policy = ManagedKeyPolicy(kind, opts_.partition, opts_.account_id, region);
    meta.rotation_enabled = true;
    meta.rotation_period_days = kDefaultRotationDays;
    ARCA_ASSIGN_OR_RETURN(Key key, InsertKey(txn, region, std::move(meta)));
    KmsAliasRow row;
    row.region = region;
    row.name = std::string(kind.alias);
    row.target_key_id = key.row.key_id;
    row.created_ms = row.updated_ms = NowMs();
    ARCA_RETURN_IF_ERROR(txn.InsertKmsAlias(row));
    log::Info("AWS managed KMS key created", {{"alias", kind.alias}, {"region", region}, {"arn", key.row.arn}});
    return OkStatus();
  }

  // ---- keys and materials ----

  Result<Key> InsertKey(Transaction& txn, const std::string& region, KeyMeta meta) {
    Key k;
    k.row.key_id = crypto::NewUuid();
    k.row.region = region;
    k.row.arn = KeyArn(region, k.row.key_id);
    k.row.created_ms = NowMs();
    meta.current_version = 1;
    if (meta.rotation_enabled) meta.rotation_anchor_ms = k.row.created_ms;
    k.meta = std::move(meta);
    k.row.meta = k.meta.ToJson();
    ARCA_RETURN_IF_ERROR(txn.InsertKmsKey(k.row));
    ARCA_RETURN_IF_ERROR(AddMaterial(txn, k, 1));
    return k;
  }

  Status AddMaterial(Transaction& txn, const Key& k, std::int64_t version) const {
    SecretBytes material = crypto::RandomSecret(kMaterialSize);
    auto sealed = keyring_.Seal(material.view(), MaterialAad(k.row.arn, version));
    if (!sealed.ok()) return Internal("sealing KMS key material: " + sealed.error().ToLogString());
    KmsMaterialRow row;
    row.key_id = k.row.key_id;
    row.version = version;
    row.created_ms = NowMs();
    row.sealed = std::move(sealed).value();
    return txn.InsertKmsMaterial(row);
  }

  // A new material version, current from now on.
  Status Rotate(Transaction& txn, Key& k, std::string_view type) const {
    const std::int64_t version = k.meta.current_version + 1;
    ARCA_RETURN_IF_ERROR(AddMaterial(txn, k, version));
    k.meta.current_version = version;
    k.meta.rotations.push_back(RotationRecord{version, std::string(type), NowMs()});
    return Save(txn, k);
  }

  Result<SecretBytes> OpenMaterial(Transaction& txn, const Key& k, std::int64_t version) const {
    ARCA_ASSIGN_OR_RETURN(auto materials, txn.ListKmsMaterials(k.row.key_id));
    for (const KmsMaterialRow& m : materials) {
      if (m.version != version) continue;
      auto opened = keyring_.Open(m.sealed, MaterialAad(k.row.arn, version));
      if (!opened.ok() || opened->size() != kMaterialSize) {
        log::Error("KMS key material could not be unsealed",
                   {{"arn", k.row.arn}, {"version", version},
                    {"error", opened.ok() ? std::string("bad size") : opened.error().ToLogString()}});
        return Internal("KMS key material of " + k.row.arn + " could not be unsealed");
      }
      return std::move(opened).value();
    }
    return InvalidCiphertext("no material version " + std::to_string(version) + " for " + k.row.arn);
  }

  // A blob under the key's current material, bound to `ec`.
  Result<std::string> SealBlob(Transaction& txn, const Key& k, std::string_view plaintext,
                               const EncryptionContext& ec) const {
    const std::int64_t version = k.meta.current_version;
    ARCA_ASSIGN_OR_RETURN(SecretBytes material, OpenMaterial(txn, k, version));
    ARCA_ASSIGN_OR_RETURN(std::string header,
                          EncodeBlobHeader({k.row.key_id, static_cast<std::uint32_t>(version), k.row.region}));
    auto sealed = crypto::AeadSeal(material, plaintext, BlobAad(header, k.row.arn, ec));
    if (!sealed.ok()) return Internal("KMS encryption: " + sealed.error().ToLogString());
    return header + *sealed;
  }

  Result<SecretBytes> OpenBlob(Transaction& txn, const Key& k, const ParsedBlob& blob,
                               const EncryptionContext& ec) const {
    ARCA_ASSIGN_OR_RETURN(SecretBytes material, OpenMaterial(txn, k, blob.header.material_version));
    auto opened = crypto::AeadOpen(material, blob.sealed, BlobAad(blob.header_bytes, k.row.arn, ec));
    if (!opened.ok()) return InvalidCiphertext("the blob does not open under " + k.row.arn + " with this context");
    return std::move(opened).value();
  }

  // The key a blob names, in ctx's region.
  Result<Key> KeyOfBlob(Transaction& txn, const Context& ctx, const ParsedBlob& blob) const {
    if (blob.header.region != ctx.region) {
      return InvalidCiphertext("the blob was made in region " + blob.header.region);
    }
    ARCA_ASSIGN_OR_RETURN(Key key, FindById(txn, ctx.region, blob.header.key_id));
    if (key.row.region != ctx.region) return InvalidCiphertext("the blob's key is in another region");
    return key;
  }

  KeyMetadata MetadataOf(const Key& k) const {
    KeyMetadata m;
    m.aws_account_id = opts_.account_id;
    m.key_id = k.row.key_id;
    m.arn = k.row.arn;
    m.creation_date = FromUnixMillis(k.row.created_ms);
    m.enabled = k.meta.state == kStateEnabled;
    m.description = k.meta.description;
    m.key_state = k.meta.state;
    if (k.meta.state == kStatePendingDeletion && k.meta.deletion_ms) {
      m.deletion_date = FromUnixMillis(*k.meta.deletion_ms);
      m.pending_deletion_window_in_days = k.meta.pending_window_days;
    }
    m.key_manager = k.meta.aws_managed ? "AWS" : "CUSTOMER";
    m.current_key_material_id = MaterialId(k.row.key_id, k.meta.current_version);
    return m;
  }

  // ---- operations that share their body ----

  // GenerateDataKey (`with_plaintext`) and GenerateDataKeyWithoutPlaintext.
  Result<GenerateDataKeyOutput> GenerateDataKey(const Context& ctx, const GenerateDataKeyInput& in,
                                                std::string_view action, bool with_plaintext) {
    ARCA_ASSIGN_OR_RETURN(std::size_t size, DataKeySize(in));
    ARCA_ASSIGN_OR_RETURN(KeyRef ref, ParseAndPrepareRef(ctx, in.key_id));
    const access::ContextKeys keys = CryptoKeys(ctx, in.encryption_context, "", &ref);
    return InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<GenerateDataKeyOutput> {
      ARCA_ASSIGN_OR_RETURN(Key k, Resolve(txn, ctx, ref, action, &keys));
      ARCA_RETURN_IF_ERROR(RequireEnabled(k));
      if (in.dry_run) return DryRunSucceeded();
      SecretBytes data_key = crypto::RandomSecret(size);
      GenerateDataKeyOutput out;
      ARCA_ASSIGN_OR_RETURN(out.ciphertext_blob, SealBlob(txn, k, data_key.view(), in.encryption_context));
      if (with_plaintext) out.plaintext = std::move(data_key);
      out.key_id = k.row.arn;
      out.key_material_id = MaterialId(k.row.key_id, k.meta.current_version);
      return out;
    });
  }

  // EnableKey and DisableKey.
  Status SetKeyState(const Context& ctx, const std::string& key_id, std::string_view action,
                     std::string_view state) {
    return OnKey(ctx, key_id, action, TxnMode::kWrite, [&](Transaction& txn, Key& k) -> Status {
      ARCA_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
      k.meta.state = std::string(state);
      return Save(txn, k);
    });
  }

  // Runs `fn` in a transaction; commits write transactions when `fn` succeeds.
  template <typename Fn>
  auto InTxn(TxnMode mode, Fn&& fn) -> decltype(fn(std::declval<Transaction&>())) {
    auto txn = store_.Begin(mode);
    if (!txn.ok()) return std::move(txn).error();
    auto result = fn(**txn);
    if (!result.ok()) return result;
    if (mode == TxnMode::kWrite) {
      Status committed = (*txn)->Commit();
      if (!committed.ok()) return std::move(committed).error();
    }
    return result;
  }

  // Runs `fn` in the caller's transaction when given (no commit: the caller's), else in a new one.
  template <typename Fn>
  auto InTxnOr(Transaction* txn, TxnMode mode, Fn&& fn) -> decltype(fn(std::declval<Transaction&>())) {
    if (txn != nullptr) return fn(*txn);
    return InTxn(mode, std::forward<Fn>(fn));
  }

  // The common shape of an operation on one key named by id or ARN: parse, resolve, authorize.
  template <typename Fn>
  auto OnKey(const Context& ctx, const std::string& key_ref, std::string_view action, TxnMode mode,
             Fn&& fn) -> decltype(fn(std::declval<Transaction&>(), std::declval<Key&>())) {
    ARCA_ASSIGN_OR_RETURN(KeyRef ref, ParseRef(ctx, key_ref, /*allow_alias=*/false));
    return InTxn(mode, [&](Transaction& txn) -> decltype(fn(txn, std::declval<Key&>())) {
      ARCA_ASSIGN_OR_RETURN(Key k, Resolve(txn, ctx, ref, action));
      return fn(txn, k);
    });
  }

  store::Store& store_;
  const crypto::Keyring& keyring_;
  const Clock& clock_;
  ServiceOptions opts_;
};

// ---------------------------------------------------------------------------------------------

KmsService::KmsService(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
                       ServiceOptions options)
    : impl_(std::make_shared<Impl>(store, keyring, clock, std::move(options))) {}

KmsService::~KmsService() = default;

// ---- for other domains ----

Result<std::string> KmsService::ResolveKeyArn(const Context& ctx, std::string_view key_ref,
                                              std::string_view default_alias, store::Transaction* txn) {
  const std::string ref_text(key_ref.empty() ? default_alias : key_ref);
  ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseRef(ctx, ref_text, /*allow_alias=*/true));
  const ManagedKeyKind* managed = ref.is_alias() ? ManagedKind(ref.alias_name) : nullptr;
  if (txn == nullptr && managed != nullptr) ARCA_RETURN_IF_ERROR(impl_->EnsureManagedKey(ctx.region, *managed));
  return impl_->InTxnOr(txn, TxnMode::kRead, [&](Transaction& t) -> Result<std::string> {
    if (txn != nullptr && managed != nullptr) ARCA_RETURN_IF_ERROR(impl_->EnsureManagedKeyIn(t, ctx.region, *managed));
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Find(t, ctx, ref));
    return k.row.arn;
  });
}

Result<bool> KmsService::IsAwsManaged(const std::string& key_arn, store::Transaction* txn) {
  return impl_->InTxnOr(txn, TxnMode::kRead, [&](Transaction& t) -> Result<bool> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->FindByArn(t, key_arn));
    return k.meta.aws_managed;
  });
}

Result<DataKey> KmsService::GenerateDataKeyFor(const Context& ctx, const std::string& key_arn,
                                               const EncryptionContext& ec, std::string_view via_service,
                                               store::Transaction* txn) {
  return impl_->InTxnOr(txn, TxnMode::kRead, [&](Transaction& t) -> Result<DataKey> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->FindByArn(t, key_arn));
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeFor(t, ctx, k, "kms:GenerateDataKey", ec, via_service));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
    DataKey out;
    out.plaintext = crypto::RandomSecret(32);
    ARCA_ASSIGN_OR_RETURN(out.blob, impl_->SealBlob(t, k, out.plaintext.view(), ec));
    out.key_arn = k.row.arn;
    return out;
  });
}

Result<std::string> KmsService::EncryptFor(const Context& ctx, const std::string& key_arn,
                                           std::string_view plaintext, const EncryptionContext& ec,
                                           std::string_view via_service, store::Transaction* txn) {
  return impl_->InTxnOr(txn, TxnMode::kRead, [&](Transaction& t) -> Result<std::string> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->FindByArn(t, key_arn));
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeFor(t, ctx, k, "kms:Encrypt", ec, via_service));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
    return impl_->SealBlob(t, k, plaintext, ec);
  });
}

Result<SecretBytes> KmsService::DecryptFor(const Context& ctx, std::string_view blob,
                                           const EncryptionContext& ec, std::string_view via_service,
                                           store::Transaction* txn) {
  ARCA_ASSIGN_OR_RETURN(ParsedBlob parsed, ParseBlob(blob));
  return impl_->InTxnOr(txn, TxnMode::kRead, [&](Transaction& t) -> Result<SecretBytes> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->KeyOfBlob(t, ctx, parsed));
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeFor(t, ctx, k, "kms:Decrypt", ec, via_service));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
    return impl_->OpenBlob(t, k, parsed, ec);
  });
}

Result<std::string> KmsService::KeyArnOfBlob(std::string_view blob) const {
  ARCA_ASSIGN_OR_RETURN(ParsedBlob parsed, ParseBlob(blob));
  return impl_->KeyArn(parsed.header.region, parsed.header.key_id);
}

// ---- background and maintenance ----

Result<int> KmsService::PurgeDeletedKeys() {
  const std::int64_t now = impl_->NowMs();
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Result<int> {
    ARCA_ASSIGN_OR_RETURN(auto rows, txn.ListKmsKeys(""));
    int purged = 0;
    for (const KmsKeyRow& row : rows) {
      auto meta = KeyMeta::FromJson(row.meta);
      if (!meta.ok()) {
        log::Error("KMS key metadata unreadable; not purged", {{"arn", row.arn}});
        continue;
      }
      if (meta->state != kStatePendingDeletion || !meta->deletion_ms || *meta->deletion_ms > now) continue;
      ARCA_RETURN_IF_ERROR(txn.DeleteKmsKey(row.key_id));
      log::Info("KMS key deleted at the end of its waiting period", {{"arn", row.arn}});
      ++purged;
    }
    return purged;
  });
}

Result<int> KmsService::RotateDueKeys() {
  const std::int64_t now = impl_->NowMs();
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Result<int> {
    ARCA_ASSIGN_OR_RETURN(auto rows, txn.ListKmsKeys(""));
    int rotated = 0;
    for (KmsKeyRow& row : rows) {
      auto meta = KeyMeta::FromJson(row.meta);
      if (!meta.ok()) continue;
      Key k{std::move(row), std::move(meta).value(), {}};
      if (!k.meta.rotation_enabled || k.meta.state != kStateEnabled) continue;
      if (k.meta.NextRotationMs() > now) continue;
      k.meta.rotation_anchor_ms = now;
      ARCA_RETURN_IF_ERROR(impl_->Rotate(txn, k, "AUTOMATIC"));
      log::Info("KMS key rotated", {{"arn", k.row.arn}, {"version", k.meta.current_version}});
      ++rotated;
    }
    return rotated;
  });
}

Result<int> KmsService::RewrapMaterials() {
  ARCA_ASSIGN_OR_RETURN(auto rows, impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) {
    return txn.ListKmsKeys("");
  }));
  int rewrapped = 0;
  for (const KmsKeyRow& row : rows) {
    ARCA_ASSIGN_OR_RETURN(int n, impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Result<int> {
      ARCA_ASSIGN_OR_RETURN(auto materials, txn.ListKmsMaterials(row.key_id));
      int count = 0;
      for (KmsMaterialRow& m : materials) {
        if (m.sealed.key_version == impl_->keyring_.current_version()) continue;
        auto sealed = impl_->keyring_.Rewrap(m.sealed, MaterialAad(row.arn, m.version));
        if (!sealed.ok()) {
          return Error(sealed.error().code(), "KMS key material of " + row.arn + " could not be rewrapped",
                       sealed.error().ToLogString());
        }
        m.sealed = std::move(sealed).value();
        ARCA_RETURN_IF_ERROR(txn.UpdateKmsMaterial(m));
        ++count;
      }
      return count;
    }));
    rewrapped += n;
  }
  return rewrapped;
}

// ---- the KMS API ----

Result<KeyMetadata> KmsService::CreateKey(const Context& ctx, const CreateKeyInput& in) {
  ARCA_RETURN_IF_ERROR(CheckEnum("keyUsage", in.key_usage,
                                 {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"}));
  ARCA_RETURN_IF_ERROR(CheckEnum("customerMasterKeySpec", in.customer_master_key_spec,
                                 {"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                                  "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
                                  "HMAC_256", "HMAC_384", "HMAC_512", "SM2"}));
  ARCA_RETURN_IF_ERROR(CheckEnum("keySpec", in.key_spec,
                                 {"RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384",
                                  "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224",
                                  "HMAC_256", "HMAC_384", "HMAC_512", "SM2", "ML_DSA_44", "ML_DSA_65",
                                  "ML_DSA_87", "ECC_NIST_EDWARDS25519"}));
  ARCA_RETURN_IF_ERROR(
      CheckEnum("origin", in.origin, {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"}));
  if (in.description) ARCA_RETURN_IF_ERROR(ValidateDescription(*in.description));
  if (in.key_spec && in.customer_master_key_spec) {
    return Validation(
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
        "CustomerMasterKeySpec is deprecated.");
  }
  const std::string spec = in.key_spec.value_or(in.customer_master_key_spec.value_or(std::string(kSymmetricDefault)));
  const std::string usage = in.key_usage.value_or("ENCRYPT_DECRYPT");
  if (spec != kSymmetricDefault) {
    return Unsupported("KeySpec " + spec + " is not supported: this server holds symmetric encryption keys only.");
  }
  if (usage != "ENCRYPT_DECRYPT") {
    return Validation("KeyUsage " + usage + " is not compatible with KeySpec " + spec);
  }
  if (in.origin && *in.origin != "AWS_KMS") {
    return Unsupported("Origin " + *in.origin + " is not supported: this server generates key material itself.");
  }
  if (in.custom_key_store_id) {
    return Error(Code::kNotFound, "Custom key store " + *in.custom_key_store_id + " does not exist.")
        .WithWireType("CustomKeyStoreNotFoundException");
  }
  if (in.xks_key_id) return Unsupported("XksKeyId requires an external key store, which this server does not have.");
  if (in.multi_region.value_or(false)) return Unsupported("Multi-Region keys are not supported.");
  ARCA_RETURN_IF_ERROR(ValidateTags(in.tags));
  if (in.policy) ARCA_RETURN_IF_ERROR(ValidatePolicy(*in.policy, impl_->opts_.policy_validator));

  access::ContextKeys keys;
  keys.Set("kms:KeySpec", spec);
  keys.Set("kms:KeyUsage", usage);
  keys.Set("kms:KeyOrigin", std::string("AWS_KMS"));
  keys.Set("kms:MultiRegion", std::string("false"));
  keys.Set("kms:BypassPolicyLockoutSafetyCheck",
           std::string(in.bypass_policy_lockout_safety_check ? "true" : "false"));
  SetRequestTagKeys(keys, in.tags);
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("kms:CreateKey", access::Resource{}, &keys));

  KeyMeta meta;
  meta.description = in.description.value_or("");
  meta.policy = in.policy ? *in.policy : DefaultKeyPolicy(impl_->opts_.partition, impl_->opts_.account_id);
  meta.tags = in.tags;
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Result<KeyMetadata> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->InsertKey(txn, ctx.region, std::move(meta)));
    return impl_->MetadataOf(k);
  });
}

Result<KeyMetadata> KmsService::DescribeKey(const Context& ctx, const KeyIdInput& in) {
  ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseAndPrepareRef(ctx, in.key_id));
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<KeyMetadata> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, ref, "kms:DescribeKey"));
    return impl_->MetadataOf(k);
  });
}

Result<ListKeysOutput> KmsService::ListKeys(const Context& ctx, const Page& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("limit", in.limit, 1, 1000));
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("kms:ListKeys", access::Resource{}));
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<ListKeysOutput> {
    ARCA_ASSIGN_OR_RETURN(auto rows, txn.ListKmsKeys(ctx.region));
    std::vector<KeyListEntry> all;
    all.reserve(rows.size());
    for (KmsKeyRow& r : rows) all.push_back(KeyListEntry{std::move(r.key_id), std::move(r.arn)});
    ListKeysOutput out;
    ARCA_ASSIGN_OR_RETURN(out.keys, PageOf(std::move(all), in, 100, &out.next_marker, &out.truncated));
    return out;
  });
}

Status KmsService::UpdateKeyDescription(const Context& ctx, const UpdateKeyDescriptionInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateDescription(in.description));
  return impl_->OnKey(ctx, in.key_id, "kms:UpdateKeyDescription", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Status {
                        ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
                        k.meta.description = in.description;
                        return impl_->Save(txn, k);
                      });
}

// ---- aliases ----

Status KmsService::CreateAlias(const Context& ctx, const AliasInput& in) {
  ARCA_ASSIGN_OR_RETURN(KeyRef target, impl_->ParseAliasTarget(ctx, in));
  ARCA_ASSIGN_OR_RETURN(const std::string alias_arn, impl_->AuthorizeAlias(ctx, in.alias_name, "kms:CreateAlias"));
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Status {
    ARCA_ASSIGN_OR_RETURN(auto existing, txn.GetKmsAlias(ctx.region, in.alias_name));
    if (existing) return AliasExists(alias_arn);
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, target, "kms:CreateAlias"));
    ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
    KmsAliasRow row;
    row.region = ctx.region;
    row.name = in.alias_name;
    row.target_key_id = k.row.key_id;
    row.created_ms = row.updated_ms = impl_->NowMs();
    Status inserted = txn.InsertKmsAlias(row);
    if (!inserted.ok() && inserted.error().code() == Code::kAlreadyExists) return AliasExists(alias_arn);
    return inserted;
  });
}

Status KmsService::UpdateAlias(const Context& ctx, const AliasInput& in) {
  ARCA_ASSIGN_OR_RETURN(KeyRef target, impl_->ParseAliasTarget(ctx, in));
  ARCA_ASSIGN_OR_RETURN(const std::string alias_arn, impl_->AuthorizeAlias(ctx, in.alias_name, "kms:UpdateAlias"));
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Status {
    ARCA_ASSIGN_OR_RETURN(auto alias, txn.GetKmsAlias(ctx.region, in.alias_name));
    if (!alias) return AliasNotFound(alias_arn);
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeCurrentTarget(txn, ctx, *alias, "kms:UpdateAlias"));
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, target, "kms:UpdateAlias"));
    ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
    alias->target_key_id = k.row.key_id;
    alias->updated_ms = impl_->NowMs();
    return txn.UpdateKmsAlias(*alias);
  });
}

Status KmsService::DeleteAlias(const Context& ctx, const DeleteAliasInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateAliasName(in.alias_name));
  ARCA_ASSIGN_OR_RETURN(const std::string alias_arn, impl_->AuthorizeAlias(ctx, in.alias_name, "kms:DeleteAlias"));
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Status {
    ARCA_ASSIGN_OR_RETURN(auto alias, txn.GetKmsAlias(ctx.region, in.alias_name));
    if (!alias) return AliasNotFound(alias_arn);
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeCurrentTarget(txn, ctx, *alias, "kms:DeleteAlias"));
    return txn.DeleteKmsAlias(ctx.region, in.alias_name);
  });
}

Result<ListAliasesOutput> KmsService::ListAliases(const Context& ctx, const ListAliasesInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("limit", in.page.limit, 1, 1000));
  std::optional<KeyRef> filter;
  if (in.key_id) {
    ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseRef(ctx, *in.key_id, /*allow_alias=*/false));
    filter = std::move(ref);
  }
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("kms:ListAliases", access::Resource{}));
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<ListAliasesOutput> {
    std::optional<std::string> key_id;
    if (filter) {
      ARCA_ASSIGN_OR_RETURN(Key k, impl_->Find(txn, ctx, *filter));
      key_id = k.row.key_id;
    }
    ARCA_ASSIGN_OR_RETURN(auto rows, txn.ListKmsAliases(ctx.region));
    std::vector<AliasListEntry> all;
    for (const KmsAliasRow& a : rows) {
      if (key_id && a.target_key_id != *key_id) continue;
      all.push_back(AliasListEntry{a.name, impl_->AliasArn(ctx.region, a.name), a.target_key_id,
                                   FromUnixMillis(a.created_ms), FromUnixMillis(a.updated_ms)});
    }
    if (!key_id) {
      // The predefined AWS aliases whose key this region has not needed yet, as AWS lists them.
      for (const ManagedKeyKind& kind : kManagedKeys) {
        const bool present = std::any_of(rows.begin(), rows.end(),
                                         [&](const KmsAliasRow& a) { return a.name == kind.alias; });
        if (!present) {
          all.push_back(AliasListEntry{std::string(kind.alias), impl_->AliasArn(ctx.region, std::string(kind.alias)),
                                       std::nullopt, std::nullopt, std::nullopt});
        }
      }
      std::sort(all.begin(), all.end(),
                [](const AliasListEntry& a, const AliasListEntry& b) { return a.alias_name < b.alias_name; });
    }
    ListAliasesOutput out;
    ARCA_ASSIGN_OR_RETURN(out.aliases, PageOf(std::move(all), in.page, 50, &out.next_marker, &out.truncated));
    return out;
  });
}

// ---- key state ----

Status KmsService::EnableKey(const Context& ctx, const KeyIdInput& in) {
  return impl_->SetKeyState(ctx, in.key_id, "kms:EnableKey", kStateEnabled);
}

Status KmsService::DisableKey(const Context& ctx, const KeyIdInput& in) {
  return impl_->SetKeyState(ctx, in.key_id, "kms:DisableKey", kStateDisabled);
}

Result<ScheduleKeyDeletionOutput> KmsService::ScheduleKeyDeletion(const Context& ctx,
                                                                  const ScheduleKeyDeletionInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("pendingWindowInDays", in.pending_window_in_days, 1, 365));
  const std::int64_t days = in.pending_window_in_days.value_or(kDefaultPendingWindowDays);
  if (days < 7 || days > 30) {
    return Validation("PendingWindowInDays should be between 7 and 30, but it is " + std::to_string(days));
  }
  return impl_->OnKey(ctx, in.key_id, "kms:ScheduleKeyDeletion", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Result<ScheduleKeyDeletionOutput> {
                        ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
                        k.meta.state = std::string(kStatePendingDeletion);
                        k.meta.deletion_ms = impl_->NowMs() + days * kDayMs;
                        k.meta.pending_window_days = days;
                        ARCA_RETURN_IF_ERROR(impl_->Save(txn, k));
                        return ScheduleKeyDeletionOutput{k.row.arn, FromUnixMillis(*k.meta.deletion_ms),
                                                         k.meta.state, days};
                      });
}

Result<std::string> KmsService::CancelKeyDeletion(const Context& ctx, const KeyIdInput& in) {
  return impl_->OnKey(ctx, in.key_id, "kms:CancelKeyDeletion", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Result<std::string> {
                        if (k.meta.state != kStatePendingDeletion) {
                          return InvalidState(k.row.arn + " is not pending deletion.");
                        }
                        k.meta.state = std::string(kStateDisabled);
                        k.meta.deletion_ms.reset();
                        k.meta.pending_window_days.reset();
                        ARCA_RETURN_IF_ERROR(impl_->Save(txn, k));
                        return k.row.arn;
                      });
}

// ---- rotation ----

Status KmsService::EnableKeyRotation(const Context& ctx, const EnableKeyRotationInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("rotationPeriodInDays", in.rotation_period_in_days, 90, 2560));
  return impl_->OnKey(ctx, in.key_id, "kms:EnableKeyRotation", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Status {
                        ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
                        if (!k.meta.rotation_enabled) {
                          k.meta.rotation_enabled = true;
                          k.meta.rotation_anchor_ms = impl_->NowMs();
                        }
                        k.meta.rotation_period_days = in.rotation_period_in_days.value_or(kDefaultRotationDays);
                        return impl_->Save(txn, k);
                      });
}

Status KmsService::DisableKeyRotation(const Context& ctx, const KeyIdInput& in) {
  return impl_->OnKey(ctx, in.key_id, "kms:DisableKeyRotation", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Status {
                        ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
                        k.meta.rotation_enabled = false;
                        return impl_->Save(txn, k);
                      });
}

Result<KeyRotationStatus> KmsService::GetKeyRotationStatus(const Context& ctx, const KeyIdInput& in) {
  return impl_->OnKey(ctx, in.key_id, "kms:GetKeyRotationStatus", TxnMode::kRead,
                      [&](Transaction&, Key& k) -> Result<KeyRotationStatus> {
                        KeyRotationStatus out;
                        out.key_id = k.row.arn;
                        out.key_rotation_enabled = k.meta.rotation_enabled;
                        if (k.meta.rotation_enabled) {
                          out.rotation_period_in_days = k.meta.rotation_period_days;
                          out.next_rotation_date = FromUnixMillis(k.meta.NextRotationMs());
                        }
                        return out;
                      });
}

Result<std::string> KmsService::RotateKeyOnDemand(const Context& ctx, const KeyIdInput& in) {
  return impl_->OnKey(ctx, in.key_id, "kms:RotateKeyOnDemand", TxnMode::kWrite,
                      [&](Transaction& txn, Key& k) -> Result<std::string> {
                        ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
                        if (k.meta.OnDemandRotations() >= kMaxOnDemandRotations) {
                          return Error(Code::kLimitExceeded,
                                       "The on-demand rotations limit has been reached for the given keyId. "
                                       "No more on-demand rotations can be performed for this key: " +
                                           k.row.arn)
                              .WithWireType("LimitExceededException");
                        }
                        ARCA_RETURN_IF_ERROR(impl_->Rotate(txn, k, "ON_DEMAND"));
                        return k.row.arn;
                      });
}

Result<ListKeyRotationsOutput> KmsService::ListKeyRotations(const Context& ctx, const ListKeyRotationsInput& in) {
  ARCA_RETURN_IF_ERROR(CheckEnum("includeKeyMaterial", in.include_key_material,
                                 {"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"}));
  ARCA_RETURN_IF_ERROR(CheckRange("limit", in.page.limit, 1, 1000));
  const bool all_material = in.include_key_material.value_or("ROTATIONS_ONLY") == "ALL_KEY_MATERIAL";
  return impl_->OnKey(ctx, in.key_id, "kms:ListKeyRotations", TxnMode::kRead,
                      [&](Transaction&, Key& k) -> Result<ListKeyRotationsOutput> {
                        std::vector<RotationsListEntry> all;
                        auto state = [&](std::int64_t v) {
                          return std::string(v == k.meta.current_version ? "CURRENT" : "NON_CURRENT");
                        };
                        if (all_material) {
                          all.push_back(RotationsListEntry{k.row.key_id, MaterialId(k.row.key_id, 1), state(1),
                                                           std::nullopt, std::nullopt});
                        }
                        for (const RotationRecord& r : k.meta.rotations) {
                          all.push_back(RotationsListEntry{k.row.key_id, MaterialId(k.row.key_id, r.version),
                                                           state(r.version), FromUnixMillis(r.at_ms), r.type});
                        }
                        ListKeyRotationsOutput out;
                        ARCA_ASSIGN_OR_RETURN(out.rotations,
                                              PageOf(std::move(all), in.page, 100, &out.next_marker, &out.truncated));
                        return out;
                      });
}

// ---- cryptographic operations ----

Result<EncryptOutput> KmsService::Encrypt(const Context& ctx, const EncryptInput& in) {
  if (in.plaintext.empty()) {
    return ModelViolation("plaintext", std::nullopt, "have length greater than or equal to 1");
  }
  if (in.plaintext.size() > kMaxPlaintext) {
    return ModelViolation("plaintext", std::nullopt, "have length less than or equal to 4096");
  }
  ARCA_RETURN_IF_ERROR(CheckEnum("encryptionAlgorithm", in.encryption_algorithm, kEncryptionAlgorithms));
  ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseAndPrepareRef(ctx, in.key_id));
  const access::ContextKeys keys = impl_->CryptoKeys(ctx, in.encryption_context, "", &ref);
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<EncryptOutput> {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, ref, "kms:Encrypt", &keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
    ARCA_RETURN_IF_ERROR(CheckAlgorithm("encryptionAlgorithm", in.encryption_algorithm));
    if (in.dry_run) return DryRunSucceeded();
    EncryptOutput out;
    ARCA_ASSIGN_OR_RETURN(out.ciphertext_blob, impl_->SealBlob(txn, k, in.plaintext.view(), in.encryption_context));
    out.key_id = k.row.arn;
    return out;
  });
}

Result<DecryptOutput> KmsService::Decrypt(const Context& ctx, const DecryptInput& in) {
  ARCA_RETURN_IF_ERROR(CheckCiphertextLength(in.ciphertext_blob));
  ARCA_RETURN_IF_ERROR(CheckEnum("encryptionAlgorithm", in.encryption_algorithm, kEncryptionAlgorithms));
  std::optional<KeyRef> named;
  if (in.key_id) {
    ARCA_ASSIGN_OR_RETURN(named, impl_->ParseAndPrepareRef(ctx, *in.key_id));
  }
  ARCA_ASSIGN_OR_RETURN(ParsedBlob parsed, ParseBlob(in.ciphertext_blob));
  const access::ContextKeys keys = impl_->CryptoKeys(ctx, in.encryption_context, "", named ? &*named : nullptr);
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<DecryptOutput> {
    if (named) {
      ARCA_ASSIGN_OR_RETURN(Key want, impl_->FindOrDeny(txn, ctx, *named, "kms:Decrypt", &keys));
      if (want.row.key_id != parsed.header.key_id) return IncorrectKey();
    }
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->KeyOfBlob(txn, ctx, parsed));
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeDirect(txn, ctx, k, "kms:Decrypt", &keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(k));
    ARCA_RETURN_IF_ERROR(CheckAlgorithm("encryptionAlgorithm", in.encryption_algorithm));
    ARCA_ASSIGN_OR_RETURN(SecretBytes plaintext, impl_->OpenBlob(txn, k, parsed, in.encryption_context));
    if (in.dry_run) return DryRunSucceeded();
    DecryptOutput out;
    out.key_id = k.row.arn;
    out.plaintext = std::move(plaintext);
    out.key_material_id = MaterialId(k.row.key_id, parsed.header.material_version);
    return out;
  });
}

Result<ReEncryptOutput> KmsService::ReEncrypt(const Context& ctx, const ReEncryptInput& in) {
  ARCA_RETURN_IF_ERROR(CheckCiphertextLength(in.ciphertext_blob));
  ARCA_RETURN_IF_ERROR(CheckEnum("sourceEncryptionAlgorithm", in.source_encryption_algorithm, kEncryptionAlgorithms));
  ARCA_RETURN_IF_ERROR(
      CheckEnum("destinationEncryptionAlgorithm", in.destination_encryption_algorithm, kEncryptionAlgorithms));
  std::optional<KeyRef> named_source;
  if (in.source_key_id) {
    ARCA_ASSIGN_OR_RETURN(named_source, impl_->ParseAndPrepareRef(ctx, *in.source_key_id, "sourceKeyId"));
  }
  ARCA_ASSIGN_OR_RETURN(KeyRef dest_ref, impl_->ParseAndPrepareRef(ctx, in.destination_key_id, "destinationKeyId"));
  ARCA_ASSIGN_OR_RETURN(ParsedBlob parsed, ParseBlob(in.ciphertext_blob));
  access::ContextKeys source_keys =
      impl_->CryptoKeys(ctx, in.source_encryption_context, "", named_source ? &*named_source : nullptr);
  access::ContextKeys dest_keys = impl_->CryptoKeys(ctx, in.destination_encryption_context, "", &dest_ref);
  return impl_->InTxn(TxnMode::kRead, [&](Transaction& txn) -> Result<ReEncryptOutput> {
    if (named_source) {
      ARCA_ASSIGN_OR_RETURN(Key want, impl_->FindOrDeny(txn, ctx, *named_source, "kms:ReEncryptFrom", &source_keys));
      if (want.row.key_id != parsed.header.key_id) return IncorrectKey();
    }
    ARCA_ASSIGN_OR_RETURN(Key source, impl_->KeyOfBlob(txn, ctx, parsed));
    auto dest_found = impl_->Find(txn, ctx, dest_ref);  // Resolve below reports it missing
    const std::string same = dest_found.ok() && source.row.key_id == dest_found->row.key_id ? "true" : "false";
    source_keys.Set("kms:ReEncryptOnSameKey", same);
    dest_keys.Set("kms:ReEncryptOnSameKey", same);
    ARCA_RETURN_IF_ERROR(impl_->AuthorizeDirect(txn, ctx, source, "kms:ReEncryptFrom", &source_keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(source));
    ARCA_RETURN_IF_ERROR(CheckAlgorithm("sourceEncryptionAlgorithm", in.source_encryption_algorithm));
    ARCA_ASSIGN_OR_RETURN(Key dest, impl_->Resolve(txn, ctx, dest_ref, "kms:ReEncryptTo", &dest_keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireEnabled(dest));
    ARCA_RETURN_IF_ERROR(CheckAlgorithm("destinationEncryptionAlgorithm", in.destination_encryption_algorithm));
    ARCA_ASSIGN_OR_RETURN(SecretBytes plaintext,
                          impl_->OpenBlob(txn, source, parsed, in.source_encryption_context));
    if (in.dry_run) return DryRunSucceeded();
    ReEncryptOutput out;
    ARCA_ASSIGN_OR_RETURN(out.ciphertext_blob,
                          impl_->SealBlob(txn, dest, plaintext.view(), in.destination_encryption_context));
    out.source_key_id = source.row.arn;
    out.key_id = dest.row.arn;
    out.source_key_material_id = MaterialId(source.row.key_id, parsed.header.material_version);
    out.destination_key_material_id = MaterialId(dest.row.key_id, dest.meta.current_version);
    return out;
  });
}


Result<GenerateDataKeyOutput> KmsService::GenerateDataKey(const Context& ctx, const GenerateDataKeyInput& in) {
  return impl_->GenerateDataKey(ctx, in, "kms:GenerateDataKey", /*with_plaintext=*/true);
}

Result<GenerateDataKeyOutput> KmsService::GenerateDataKeyWithoutPlaintext(const Context& ctx,
                                                                          const GenerateDataKeyInput& in) {
  return impl_->GenerateDataKey(ctx, in, "kms:GenerateDataKeyWithoutPlaintext", /*with_plaintext=*/false);
}

Result<SecretBytes> KmsService::GenerateRandom(const Context& ctx, const GenerateRandomInput& in) {
  if (!in.number_of_bytes) return Validation("NumberOfBytes is required.");
  ARCA_RETURN_IF_ERROR(CheckRange("numberOfBytes", in.number_of_bytes, 1, 1024));
  if (in.custom_key_store_id) {
    return Error(Code::kNotFound, "Custom key store " + *in.custom_key_store_id + " does not exist.")
        .WithWireType("CustomKeyStoreNotFoundException");
  }
  ARCA_RETURN_IF_ERROR(ctx.gate->Authorize("kms:GenerateRandom", access::Resource{}));
  return crypto::RandomSecret(static_cast<std::size_t>(*in.number_of_bytes));
}

// ---- tags ----

Status KmsService::TagResource(const Context& ctx, const TagResourceInput& in) {
  ARCA_RETURN_IF_ERROR(ValidateTags(in.tags));
  access::ContextKeys keys;
  SetRequestTagKeys(keys, in.tags);
  ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseRef(ctx, in.key_id, /*allow_alias=*/false));
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Status {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, ref, "kms:TagResource", &keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
    for (const Tag& t : in.tags) {
      auto it = std::find_if(k.meta.tags.begin(), k.meta.tags.end(), [&](const Tag& x) { return x.key == t.key; });
      if (it != k.meta.tags.end()) {
        it->value = t.value;
      } else {
        k.meta.tags.push_back(t);
      }
    }
    if (k.meta.tags.size() > kMaxTags) return TagError("Too many tags");
    return impl_->Save(txn, k);
  });
}

Status KmsService::UntagResource(const Context& ctx, const UntagResourceInput& in) {
  for (std::size_t i = 0; i < in.tag_keys.size(); ++i) {
    const std::string& key = in.tag_keys[i];
    if (key.empty() || key.size() > 128) {
      return ModelViolation("tagKeys." + std::to_string(i + 1) + ".member", key, "have length between 1 and 128");
    }
  }
  access::ContextKeys keys;
  if (!in.tag_keys.empty()) keys.Set("aws:TagKeys", in.tag_keys);
  ARCA_ASSIGN_OR_RETURN(KeyRef ref, impl_->ParseRef(ctx, in.key_id, /*allow_alias=*/false));
  return impl_->InTxn(TxnMode::kWrite, [&](Transaction& txn) -> Status {
    ARCA_ASSIGN_OR_RETURN(Key k, impl_->Resolve(txn, ctx, ref, "kms:UntagResource", &keys));
    ARCA_RETURN_IF_ERROR(Impl::RequireNotPendingDeletion(k));
    std::erase_if(k.meta.tags, [&](const Tag& t) {
      return std::find(in.tag_keys.begin(), in.tag_keys.end(), t.key) != in.tag_keys.end();
    });
    return impl_->Save(txn, k);
  });
}

Result<ListResourceTagsOutput> KmsService::ListResourceTags(const Context& ctx, const ListResourceTagsInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("limit", in.page.limit, 1, 1000));
  return impl_->OnKey(ctx, in.key_id, "kms:ListResourceTags", TxnMode::kRead,
                      [&](Transaction&, Key& k) -> Result<ListResourceTagsOutput> {
                        ListResourceTagsOutput out;
                        ARCA_ASSIGN_OR_RETURN(out.tags, PageOf(std::move(k.meta.tags), in.page, 50,
                                                               &out.next_marker, &out.truncated));
                        return out;
                      });
}

// ---- key policies ----

namespace {

Status CheckPolicyName(const std::optional<std::string>& name) {
  if (!name) return OkStatus();
  if (name->empty() || name->size() > 128 ||
      !std::all_of(name->begin(), name->end(),
                   [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; })) {
    return ModelViolation("policyName", *name, "satisfy regular expression pattern: [\\w]+");
  }
  return OkStatus();
}

}  // namespace

Result<GetKeyPolicyOutput> KmsService::GetKeyPolicy(const Context& ctx, const GetKeyPolicyInput& in) {
  ARCA_RETURN_IF_ERROR(CheckPolicyName(in.policy_name));
  return impl_->OnKey(ctx, in.key_id, "kms:GetKeyPolicy", TxnMode::kRead,
                      [&](Transaction&, Key& k) -> Result<GetKeyPolicyOutput> {
                        if (in.policy_name && *in.policy_name != "default") {
                          return NotFound("No such policy exists");
                        }
                        return GetKeyPolicyOutput{k.meta.policy, "default"};
                      });
}

Status KmsService::PutKeyPolicy(const Context& ctx, const PutKeyPolicyInput& in) {
  ARCA_RETURN_IF_ERROR(CheckPolicyName(in.policy_name));
  ARCA_RETURN_IF_ERROR(ValidatePolicy(in.policy, impl_->opts_.policy_validator));
  return impl_->OnKey(ctx, in.key_id, "kms:PutKeyPolicy", TxnMode::kWrite, [&](Transaction& txn, Key& k) -> Status {
    if (in.policy_name && *in.policy_name != "default") {
      return NotFound("No such policy exists");
    }
    k.meta.policy = in.policy;
    return impl_->Save(txn, k);
  });
}

Result<ListKeyPoliciesOutput> KmsService::ListKeyPolicies(const Context& ctx, const ListKeyPoliciesInput& in) {
  ARCA_RETURN_IF_ERROR(CheckRange("limit", in.page.limit, 1, 1000));
  return impl_->OnKey(ctx, in.key_id, "kms:ListKeyPolicies", TxnMode::kRead,
                      [&](Transaction&, Key&) -> Result<ListKeyPoliciesOutput> {
                        return ListKeyPoliciesOutput{{"default"}, false};
                      });
}

}  // namespace arca::kms
