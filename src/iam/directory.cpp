#include "iam/directory.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <utility>

#include "core/ids.h"
#include "core/strings.h"
#include "crypto/random.h"
#include "iam/access_keys.h"
#include "iam/policy.h"

namespace arca::iam {

namespace {

// AWS's unique ids: a four-letter prefix and 17 characters of base32 (A-Z, 2-7).
constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::size_t kIdRandomChars = 17;

// IAM's quotas.
constexpr std::size_t kMaxTags = 50;
constexpr std::size_t kMaxPolicyVersions = 5;
constexpr std::size_t kMaxAttachedPolicies = 10;
constexpr std::size_t kMaxAccessKeys = 2;
constexpr std::size_t kMaxUserInlineChars =
    2048;  // all of a user's inline policies, without whitespace
constexpr std::size_t kMaxRoleInlineChars =
    10240;  // all of a role's inline policies, without whitespace
constexpr std::size_t kMaxManagedPolicyChars = 6144;
constexpr std::size_t kMaxTrustPolicyChars = 2048;  // ACLSizePerRole
constexpr std::int64_t kMinSessionDuration = 3600;
constexpr std::int64_t kMaxSessionDuration = 43200;
constexpr std::size_t kMaxClientIds = 100;
constexpr std::size_t kMaxThumbprints = 5;
constexpr std::size_t kMaxDocumentBytes = 131072;  // the API model's policyDocumentType
constexpr std::int64_t kDefaultMaxItems = 100;
constexpr std::int64_t kMaxMaxItems = 1000;

// The tag that points an OIDC provider at a JWKS file on the server.
constexpr std::string_view kJwksFileTag = "arca:jwks-file";
constexpr std::string_view kRootPrincipal = "root";

constexpr std::string_view kNamePattern = "[\\w+=,.@-]+";
constexpr std::string_view kPathPattern = "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)";
constexpr std::string_view kPolicyPathPattern = "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/";
constexpr std::string_view kPathPrefixPattern = "\\u002F[\\u0021-\\u007F]*";
constexpr std::string_view kTagPattern = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";

using TagPair = std::pair<std::string, std::string>;

std::string NewId(std::string_view prefix) {
  std::string id(prefix);
  for (std::size_t i = 0; i < kIdRandomChars; ++i) {
    id += kIdAlphabet[crypto::RandomBelow(static_cast<std::uint32_t>(kIdAlphabet.size()))];
  }
  return id;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && AsciiLower(a) == AsciiLower(b);
}

// ---- errors
// ---------------------------------------------------------------------------------------

// The API model's constraint violations, in AWS's words.
Error Invalid(std::string_view member, std::string_view value, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value '" + std::string(value) +
                                      "' at '" + std::string(member) +
                                      "' failed to satisfy constraint: " + std::string(constraint));
}

Error InvalidNoValue(std::string_view member, std::string_view constraint) {
  return Error(Code::kValidation, "1 validation error detected: Value at '" + std::string(member) +
                                      "' failed to satisfy constraint: " + std::string(constraint));
}

Error InvalidInput(std::string message) {
  return Error(Code::kInvalidParameter, std::move(message));
}
Error NoSuchEntity(std::string message) { return Error(Code::kNotFound, std::move(message)); }
Error AlreadyExists(std::string message) { return Error(Code::kAlreadyExists, std::move(message)); }
Error DeleteConflict(std::string message) {
  return Error(Code::kInvalidRequest, std::move(message));
}
Error LimitExceeded(std::string message) { return Error(Code::kLimitExceeded, std::move(message)); }

Error NoSuchUser(std::string_view name) {
  return NoSuchEntity("The user with name " + std::string(name) + " cannot be found.");
}
Error NoSuchRole(std::string_view name) {
  return NoSuchEntity("The role with name " + std::string(name) + " cannot be found.");
}
Error NoSuchPolicy(std::string_view arn) {
  return NoSuchEntity("Policy " + std::string(arn) + " was not found.");
}
Error NotAttachable(std::string_view arn) {
  return NoSuchEntity("Policy " + std::string(arn) + " does not exist or is not attachable.");
}
Error NoSuchProvider(std::string_view arn) {
  return NoSuchEntity("OpenIDConnect Provider not found for arn " + std::string(arn));
}
Error NonUserCredentials() {
  return Error(Code::kValidation, "Must specify userName when calling with non-User credentials");
}

// ---- validation
// -----------------------------------------------------------------------------------

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}

Status CheckLength(std::string_view member, std::string_view value, std::size_t min,
                   std::size_t max, bool echo = true) {
  std::string_view shown = echo ? value : std::string_view();
  if (value.size() < min) {
    std::string constraint =
        "Member must have length greater than or equal to " + std::to_string(min);
    return echo ? Invalid(member, shown, constraint) : InvalidNoValue(member, constraint);
  }
  if (value.size() > max) {
    std::string constraint = "Member must have length less than or equal to " + std::to_string(max);
    return echo ? Invalid(member, shown, constraint) : InvalidNoValue(member, constraint);
  }
  return OkStatus();
}

// User, role and policy names: [\w+=,.@-]{1,max}.
Status CheckName(std::string_view member, std::string_view name, std::size_t max) {
  ARCA_RETURN_IF_ERROR(CheckLength(member, name, 1, max));
  for (char c : name) {
    if (!IsNameChar(c)) {
      return Invalid(
          member, name,
          "Member must satisfy regular expression pattern: " + std::string(kNamePattern));
    }
  }
  return OkStatus();
}

// Paths of users and roles: "/" or "/" + printable ASCII + "/".
Result<std::string> CheckPath(const std::optional<std::string>& path) {
  if (!path.has_value()) return std::string("/");
  ARCA_RETURN_IF_ERROR(CheckLength("path", *path, 1, 512));
  bool ok = path->front() == '/' && path->back() == '/';
  for (char c : *path) ok = ok && c >= 0x21 && c <= 0x7e;
  if (!ok)
    return Invalid("path", *path,
                   "Member must satisfy regular expression pattern: " + std::string(kPathPattern));
  return *path;
}

// Paths of managed policies: ((/[A-Za-z0-9.,+@=_-]+)*)/
Status CheckPolicyPathValue(std::string_view member, std::string_view path) {
  ARCA_RETURN_IF_ERROR(CheckLength(member, path, 1, 512));
  bool ok = path.front() == '/' && path.back() == '/' && path.find("//") == std::string_view::npos;
  for (char c : path) {
    ok = ok &&
         (c == '/' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '.' || c == ',' || c == '+' || c == '@' || c == '=' || c == '_' || c == '-');
  }
  if (!ok) {
    return Invalid(
        member, path,
        "Member must satisfy regular expression pattern: " + std::string(kPolicyPathPattern));
  }
  return OkStatus();
}

Result<std::string> CheckPathPrefix(const std::optional<std::string>& prefix) {
  if (!prefix.has_value()) return std::string("/");
  ARCA_RETURN_IF_ERROR(CheckLength("pathPrefix", *prefix, 1, 512));
  bool ok = prefix->front() == '/';
  for (char c : *prefix)
    ok = ok && static_cast<unsigned char>(c) >= 0x21 && static_cast<unsigned char>(c) <= 0x7f;
  if (!ok) {
    return Invalid(
        "pathPrefix", *prefix,
        "Member must satisfy regular expression pattern: " + std::string(kPathPrefixPattern));
  }
  return *prefix;
}

// A policy document as the API model allows it (length, characters); its grammar is the policy
// engine's to check.
Status CheckDocument(std::string_view member, std::string_view document) {
  ARCA_RETURN_IF_ERROR(CheckLength(member, document, 1, kMaxDocumentBytes, /*echo=*/false));
  for (char c : document) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      return InvalidNoValue(member,
                            "Member must satisfy regular expression pattern: "
                            "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
    }
  }
  return OkStatus();
}

// IAM counts a policy's size without whitespace.
std::size_t SizeWithoutWhitespace(std::string_view document) {
  return static_cast<std::size_t>(
      std::count_if(document.begin(), document.end(), [](char c) { return !IsAsciiSpace(c); }));
}

Status CheckIdentityPolicy(std::string_view member, std::string_view document) {
  ARCA_RETURN_IF_ERROR(CheckDocument(member, document));
  ARCA_RETURN_IF_ERROR(CompilePolicy(document, PolicyKind::kIdentity));
  return OkStatus();
}

Status CheckTrustPolicy(std::string_view member, std::string_view document) {
  ARCA_RETURN_IF_ERROR(CheckDocument(member, document));
  ARCA_RETURN_IF_ERROR(CompilePolicy(document, PolicyKind::kTrust));
  if (SizeWithoutWhitespace(document) > kMaxTrustPolicyChars) {
    return LimitExceeded("Cannot exceed quota for ACLSizePerRole: " +
                         std::to_string(kMaxTrustPolicyChars));
  }
  return OkStatus();
}

Status CheckDescription(std::string_view member, const std::optional<std::string>& description) {
  if (!description.has_value()) return OkStatus();
  return CheckLength(member, *description, 0, 1000, /*echo=*/false);
}

Status CheckSessionDuration(std::optional<std::int64_t> seconds) {
  if (!seconds.has_value()) return OkStatus();
  if (*seconds < kMinSessionDuration) {
    return Invalid(
        "maxSessionDuration", std::to_string(*seconds),
        "Member must have value greater than or equal to " + std::to_string(kMinSessionDuration));
  }
  if (*seconds > kMaxSessionDuration) {
    return Invalid(
        "maxSessionDuration", std::to_string(*seconds),
        "Member must have value less than or equal to " + std::to_string(kMaxSessionDuration));
  }
  return OkStatus();
}

bool IsTagChar(unsigned char c) {
  if (c >= 0x80) return true;  // letters, spaces and digits of other scripts (UTF-8)
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' ||
         c == '_' || c == '.' || c == ':' || c == '/' || c == '=' || c == '+' || c == '-' ||
         c == '@';
}

Status CheckTagKey(std::string_view member, std::string_view key) {
  ARCA_RETURN_IF_ERROR(CheckLength(member, key, 1, 128));
  for (char c : key) {
    if (!IsTagChar(static_cast<unsigned char>(c))) {
      return Invalid(member, key,
                     "Member must satisfy regular expression pattern: " + std::string(kTagPattern));
    }
  }
  return OkStatus();
}

// Tags given to a Create* or Tag* call.
Status CheckTags(const Tags& tags) {
  if (tags.size() > kMaxTags) {
    return InvalidNoValue(
        "tags", "Member must have length less than or equal to " + std::to_string(kMaxTags));
  }
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const auto& [key, value] = tags[i];
    const std::string n = std::to_string(i + 1);
    ARCA_RETURN_IF_ERROR(CheckTagKey("tags." + n + ".member.key", key));
    ARCA_RETURN_IF_ERROR(CheckLength("tags." + n + ".member.value", value, 0, 256));
    for (char c : value) {
      if (!IsTagChar(static_cast<unsigned char>(c))) {
        return Invalid(
            "tags." + n + ".member.value", value,
            "Member must satisfy regular expression pattern: " + std::string(kTagPattern));
      }
    }
    if (AsciiLower(key).starts_with("aws:")) {
      return InvalidInput(
          "User-defined tag keys can't start with \"aws:\" because it's a reserved prefix.");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (IEquals(tags[j].first, key)) {
        return InvalidInput(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.");
      }
    }
  }
  return OkStatus();
}

Status CheckTagKeys(const std::vector<std::string>& keys) {
  if (keys.size() > kMaxTags) {
    return InvalidNoValue(
        "tagKeys", "Member must have length less than or equal to " + std::to_string(kMaxTags));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ARCA_RETURN_IF_ERROR(CheckTagKey("tagKeys." + std::to_string(i + 1) + ".member", keys[i]));
  }
  return OkStatus();
}

// Adds or replaces (keys compare ignoring case) and enforces the 50-tag quota.
Result<Tags> MergeTags(Tags existing, const Tags& added) {
  for (const auto& [key, value] : added) {
    auto it = std::find_if(existing.begin(), existing.end(),
                           [&](const TagPair& t) { return IEquals(t.first, key); });
    if (it != existing.end()) {
      *it = TagPair(key, value);
    } else {
      existing.emplace_back(key, value);
    }
  }
  if (existing.size() > kMaxTags)
    return LimitExceeded("The number of tags has reached the maximum limit.");
  return existing;
}

Tags RemoveTags(Tags existing, const std::vector<std::string>& keys) {
  std::erase_if(existing, [&](const TagPair& t) {
    return std::any_of(keys.begin(), keys.end(),
                       [&](const std::string& k) { return IEquals(k, t.first); });
  });
  return existing;
}

// The request condition keys of a call that sets tags.
access::ContextKeys RequestTagKeys(const Tags& tags) {
  access::ContextKeys keys;
  if (tags.empty()) return keys;
  std::vector<std::string> names;
  for (const auto& [key, value] : tags) {
    keys.Set("aws:RequestTag/" + key, value);
    names.push_back(key);
  }
  keys.Set("aws:TagKeys", std::move(names));
  return keys;
}

access::ContextKeys TagKeysKey(const std::vector<std::string>& tag_keys) {
  access::ContextKeys keys;
  keys.Set("aws:TagKeys", tag_keys);
  return keys;
}

Status CheckAccessKeyId(std::string_view id) {
  ARCA_RETURN_IF_ERROR(CheckLength("accessKeyId", id, 16, 128));
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return Invalid("accessKeyId", id, "Member must satisfy regular expression pattern: [\\w]+");
    }
  }
  return OkStatus();
}

Status CheckVersionId(std::string_view id) {
  // v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
  bool ok = id.size() >= 2 && id[0] == 'v' && id[1] >= '1' && id[1] <= '9';
  std::size_t i = 2;
  while (ok && i < id.size() && id[i] >= '0' && id[i] <= '9') ++i;
  if (ok && i < id.size()) {
    ok = id[i] == '.';
    for (++i; ok && i < id.size(); ++i) {
      char c = id[i];
      ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    }
  }
  if (!ok) {
    return Invalid(
        "versionId", id,
        "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?");
  }
  return OkStatus();
}

// The number of "vN" (0 when it is not one of ours).
std::int64_t VersionNumber(std::string_view id) {
  if (id.size() < 2 || id[0] != 'v') return 0;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), n);
  if (ec != std::errc() || end != id.data() + id.size()) return 0;
  return n;
}

template <typename T>
Result<Page<T>> Paginate(std::vector<T> all, const PageInput& in) {
  const std::int64_t max = in.max_items.value_or(kDefaultMaxItems);
  if (max < 1) {
    return Invalid("maxItems", std::to_string(max),
                   "Member must have value greater than or equal to 1");
  }
  if (max > kMaxMaxItems) {
    return Invalid("maxItems", std::to_string(max),
                   "Member must have value less than or equal to " + std::to_string(kMaxMaxItems));
  }
  std::size_t offset = 0;
  if (in.marker.has_value()) {
    const std::string& m = *in.marker;
    auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), offset);
    if (m.empty() || ec != std::errc() || end != m.data() + m.size() || offset > all.size()) {
      return InvalidInput("Invalid Marker.");
    }
  }
  Page<T> page;
  const std::size_t stop = std::min(all.size(), offset + static_cast<std::size_t>(max));
  page.items.reserve(stop - offset);
  for (std::size_t i = offset; i < stop; ++i) page.items.push_back(std::move(all[i]));
  if (stop < all.size()) {
    page.is_truncated = true;
    page.marker = std::to_string(stop);
  }
  return page;
}

// "https://host/path/" -> "host/path"; InvalidInput unless https with a host.
Result<std::string> NormalizeProviderUrl(std::string_view url) {
  ARCA_RETURN_IF_ERROR(CheckLength("url", url, 1, 255));
  constexpr std::string_view kScheme = "https://";
  if (url.size() <= kScheme.size() || AsciiLower(url.substr(0, kScheme.size())) != kScheme) {
    return InvalidInput("Invalid URL: the URL must begin with https://");
  }
  std::string rest(url.substr(kScheme.size()));
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.front() == '/' || rest.find_first_of("?#") != std::string::npos ||
      std::any_of(rest.begin(), rest.end(), [](char c) { return c <= 0x20 || c == 0x7f; })) {
    return InvalidInput("Invalid URL: " + std::string(url));
  }
  // The host compares without case; the path as given.
  std::size_t slash = rest.find('/');
  std::string host = AsciiLower(rest.substr(0, slash));
  return slash == std::string::npos ? host : host + rest.substr(slash);
}

std::string TagValue(const Tags& tags, std::string_view key) {
  for (const auto& [k, v] : tags) {
    if (IEquals(k, key)) return v;
  }
  return {};
}

User ToUser(const store::IamUserRow& row, Tags tags) {
  User u;
  u.name = row.name;
  u.path = row.path;
  u.user_id = row.user_id;
  u.arn = row.arn;
  u.created_ms = row.created_ms;
  u.tags = std::move(tags);
  return u;
}

Role ToRole(const store::IamRoleRow& row, Tags tags) {
  Role r;
  r.name = row.name;
  r.path = row.path;
  r.role_id = row.role_id;
  r.arn = row.arn;
  r.assume_role_policy = row.assume_role_policy;
  r.description = row.description;
  r.max_session_duration = row.max_session_duration;
  r.created_ms = row.created_ms;
  r.tags = std::move(tags);
  return r;
}

ManagedPolicy ToPolicy(const store::IamPolicyRow& row, std::int64_t attachments, Tags tags) {
  ManagedPolicy p;
  p.name = row.name;
  p.path = row.path;
  p.policy_id = row.policy_id;
  p.arn = row.arn;
  p.description = row.description;
  p.default_version_id = row.default_version_id;
  p.attachment_count = attachments;
  p.created_ms = row.created_ms;
  p.updated_ms = row.updated_ms;
  p.tags = std::move(tags);
  return p;
}

OidcProvider ToProvider(const store::IamOidcProviderRow& row, Tags tags) {
  OidcProvider p;
  p.arn = row.arn;
  p.url = row.url;
  p.client_ids = row.client_ids;
  p.thumbprints = row.thumbprints;
  p.jwks = row.jwks;
  p.jwks_file = row.jwks_file.empty() ? TagValue(tags, kJwksFileTag) : row.jwks_file;
  p.created_ms = row.created_ms;
  p.tags = std::move(tags);
  return p;
}

// A user or role as the attachment and inline-policy calls see it.
struct Owner {
  std::string id;
  std::string name;
  std::string arn;
  Tags tags;
};

}  // namespace

// ---- state
// ----------------------------------------------------------------------------------------

// The directory's state and the API calls users and roles share. Thread-safety: immutable after
// construction; every call runs in its own store transaction.
class Directory::Impl {
 public:
  Impl(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
       DirectoryOptions options)
      : store_(store), keyring_(keyring), clock_(clock), options_(std::move(options)) {}

  store::Store& store_;
  const crypto::Keyring& keyring_;
  const Clock& clock_;
  DirectoryOptions options_;

  std::int64_t NowMs() const { return ToUnixMillis(clock_.Now()); }

  std::string ArnPrefix() const {
    return "arn:" + options_.partition + ":iam::" + options_.account_id + ":";
  }
  std::string RootArn() const { return ArnPrefix() + "root"; }
  // kind/PATH/NAME with the path's leading '/' dropped: "user/eng/bob".
  std::string EntityArn(std::string_view kind, std::string_view path, std::string_view name) const {
    return ArnPrefix() + std::string(kind) + std::string(path) + std::string(name);
  }
  std::string ProviderArn(std::string_view normalized_url) const {
    return ArnPrefix() + "oidc-provider/" + std::string(normalized_url);
  }

  // Asks the request's gate: `action` on `arn`, with the entity's tags as resource keys and the
  // call's own keys.
  Status Ask(const RequestContext& ctx, std::string_view action, const std::string& arn,
             const Tags* tags, const access::ContextKeys* request_keys,
             std::string display = {}) const {
    if (ctx.gate == nullptr) {
      return Error(Code::kInternal, "An error occurred on the server side.",
                   "IAM request without a gate");
    }
    access::Resource resource;
    resource.arn = arn;
    resource.display = std::move(display);
    if (tags != nullptr) {
      for (const auto& [key, value] : *tags) {
        resource.keys.Set("aws:ResourceTag/" + key, value);
        resource.keys.Set("iam:ResourceTag/" + key, value);
      }
    }
    return ctx.gate->Authorize(action, resource, request_keys);
  }

  Result<std::unique_ptr<store::Transaction>> Read() { return store_.Begin(store::TxnMode::kRead); }
  Result<std::unique_ptr<store::Transaction>> Write() {
    return store_.Begin(store::TxnMode::kWrite);
  }

  static Result<std::optional<User>> LoadUser(store::Transaction& txn, const std::string& name) {
    ARCA_ASSIGN_OR_RETURN(auto row, txn.GetIamUser(name));
    if (!row.has_value()) return std::optional<User>();
    ARCA_ASSIGN_OR_RETURN(Tags tags, txn.GetIamTags(row->user_id));
    return std::optional<User>(ToUser(*row, std::move(tags)));
  }

  static Result<std::optional<Role>> LoadRole(store::Transaction& txn, const std::string& name) {
    ARCA_ASSIGN_OR_RETURN(auto row, txn.GetIamRole(name));
    if (!row.has_value()) return std::optional<Role>();
    ARCA_ASSIGN_OR_RETURN(Tags tags, txn.GetIamTags(row->role_id));
    return std::optional<Role>(ToRole(*row, std::move(tags)));
  }

  // What the tag operations need of a user or a role.
  struct Taggable {
    std::string id;
    std::string arn;
    Tags tags;
  };
  enum class EntityKind { kUser, kRole };
  // The entity named `name` (nullopt when absent) and the ARN to authorize against either way.
  Result<std::pair<std::optional<Taggable>, std::string>> LoadTaggable(
      store::Transaction& txn, EntityKind kind, const std::string& name) const {
    std::optional<Taggable> t;
    if (kind == EntityKind::kUser) {
      ARCA_ASSIGN_OR_RETURN(std::optional<User> user, LoadUser(txn, name));
      if (user) t = Taggable{user->user_id, user->arn, std::move(user->tags)};
    } else {
      ARCA_ASSIGN_OR_RETURN(std::optional<Role> role, LoadRole(txn, name));
      if (role) t = Taggable{role->role_id, role->arn, std::move(role->tags)};
    }
    std::string arn =
        t ? t->arn : EntityArn(kind == EntityKind::kUser ? "user" : "role", "/", name);
    return std::make_pair(std::move(t), std::move(arn));
  }
  static Status CheckEntityName(EntityKind kind, const std::string& name) {
    return kind == EntityKind::kUser ? CheckName("userName", name, 128)
                                     : CheckName("roleName", name, 64);
  }
  static Error NoSuchEntityOf(EntityKind kind, const std::string& name) {
    return kind == EntityKind::kUser ? NoSuchUser(name) : NoSuchRole(name);
  }

  // TagUser/TagRole, UntagUser/UntagRole, ListUserTags/ListRoleTags: one rule for both kinds.
  Status TagEntity(const RequestContext& ctx, EntityKind kind, std::string_view action,
                   const std::string& name, const Tags& tags) {
    ARCA_RETURN_IF_ERROR(CheckEntityName(kind, name));
    ARCA_RETURN_IF_ERROR(CheckTags(tags));
    access::ContextKeys keys = RequestTagKeys(tags);
    ARCA_ASSIGN_OR_RETURN(auto txn, Write());
    ARCA_ASSIGN_OR_RETURN(auto found, LoadTaggable(*txn, kind, name));
    auto& [entity, arn] = found;
    ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, entity ? &entity->tags : nullptr, &keys));
    if (!entity.has_value()) return NoSuchEntityOf(kind, name);
    ARCA_ASSIGN_OR_RETURN(Tags merged, MergeTags(entity->tags, tags));
    ARCA_RETURN_IF_ERROR(txn->PutIamTags(entity->id, merged));
    return txn->Commit();
  }
  Status UntagEntity(const RequestContext& ctx, EntityKind kind, std::string_view action,
                     const std::string& name, const std::vector<std::string>& tag_keys) {
    ARCA_RETURN_IF_ERROR(CheckEntityName(kind, name));
    ARCA_RETURN_IF_ERROR(CheckTagKeys(tag_keys));
    access::ContextKeys keys = TagKeysKey(tag_keys);
    ARCA_ASSIGN_OR_RETURN(auto txn, Write());
    ARCA_ASSIGN_OR_RETURN(auto found, LoadTaggable(*txn, kind, name));
    auto& [entity, arn] = found;
    ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, entity ? &entity->tags : nullptr, &keys));
    if (!entity.has_value()) return NoSuchEntityOf(kind, name);
    ARCA_RETURN_IF_ERROR(txn->PutIamTags(entity->id, RemoveTags(entity->tags, tag_keys)));
    return txn->Commit();
  }
  Result<Page<std::pair<std::string, std::string>>> ListEntityTags(const RequestContext& ctx,
                                                                   EntityKind kind,
                                                                   std::string_view action,
                                                                   const std::string& name,
                                                                   const PageInput& page) {
    ARCA_RETURN_IF_ERROR(CheckEntityName(kind, name));
    ARCA_ASSIGN_OR_RETURN(auto txn, Read());
    ARCA_ASSIGN_OR_RETURN(auto found, LoadTaggable(*txn, kind, name));
    ARCA_RETURN_IF_ERROR(txn->Commit());
    auto& [entity, arn] = found;
    ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, entity ? &entity->tags : nullptr, nullptr));
    if (!entity.has_value()) return NoSuchEntityOf(kind, name);
    return Paginate(std::move(entity->tags), page);
  }

  static Result<std::optional<store::IamPolicyRow>> LoadPolicyRow(store::Transaction& txn,
                                                                  const std::string& arn) {
    return txn.GetIamPolicyByArn(arn);
  }

  static Result<std::optional<OidcProvider>> LoadProvider(store::Transaction& txn,
                                                          const std::string& arn) {
    ARCA_ASSIGN_OR_RETURN(auto row, txn.GetIamOidcProvider(arn));
    if (!row.has_value()) return std::optional<OidcProvider>();
    ARCA_ASSIGN_OR_RETURN(Tags tags, txn.GetIamTags(row->arn));
    return std::optional<OidcProvider>(ToProvider(*row, std::move(tags)));
  }

  // Checks a managed policy ARN's shape: InvalidInput when it is not an IAM policy ARN,
  // NoSuchEntity
  // (`missing`) when it names another account's (or AWS's) policy, which Arca never has.
  Status CheckPolicyArn(const std::string& arn, bool attach) const {
    ARCA_RETURN_IF_ERROR(CheckLength("policyArn", arn, 20, 2048));
    std::optional<Arn> parsed = Arn::Parse(arn);
    if (!parsed.has_value() || parsed->service != "iam" || !parsed->region.empty() ||
        !parsed->resource.starts_with("policy/") || parsed->resource.size() <= 7) {
      return InvalidInput("ARN " + arn + " is not valid.");
    }
    if (parsed->account != options_.account_id || parsed->partition != options_.partition) {
      return attach ? NotAttachable(arn) : NoSuchPolicy(arn);
    }
    return OkStatus();
  }

  Status CheckProviderArn(const std::string& arn) const {
    ARCA_RETURN_IF_ERROR(CheckLength("openIDConnectProviderArn", arn, 20, 2048));
    std::optional<Arn> parsed = Arn::Parse(arn);
    if (!parsed.has_value() || parsed->service != "iam" || !parsed->region.empty() ||
        !parsed->resource.starts_with("oidc-provider/")) {
      return InvalidInput("ARN " + arn + " is not valid.");
    }
    return OkStatus();
  }

  void ForgetKey(const std::string& access_key_id) const {
    if (options_.access_keys != nullptr) options_.access_keys->Forget(access_key_id);
  }

  // Whose keys an access-key call is about: a named user, or the caller's own (user or root).
  struct KeyOwner {
    std::string principal;  // the store's AccessKeyRow::principal: a user id or "root"
    std::string user_name;  // empty for the root
    std::string arn;
    Tags tags;
  };

  Result<KeyOwner> ResolveKeyOwner(const RequestContext& ctx, store::Transaction& txn,
                                   const std::optional<std::string>& user_name,
                                   std::string_view action) {
    std::string name;
    if (user_name.has_value()) {
      ARCA_RETURN_IF_ERROR(CheckName("userName", *user_name, 128));
      name = *user_name;
    } else {
      if (ctx.caller == nullptr || ctx.caller->type == PrincipalType::kAssumedRole)
        return NonUserCredentials();
      if (ctx.caller->is_root()) {
        KeyOwner owner{std::string(kRootPrincipal), "", RootArn(), {}};
        ARCA_RETURN_IF_ERROR(Ask(ctx, action, owner.arn, nullptr, nullptr));
        return owner;
      }
      name = ctx.caller->principal;
    }
    ARCA_ASSIGN_OR_RETURN(std::optional<User> user, LoadUser(txn, name));
    const std::string arn = user ? user->arn : EntityArn("user", "/", name);
    ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, user ? &user->tags : nullptr, nullptr));
    if (!user.has_value()) return NoSuchUser(name);
    return KeyOwner{user->user_id, user->name, user->arn, std::move(user->tags)};
  }

  // The identity policies and tags of a user or role; none for an unknown one (so everything is
  // denied). Callers cache (the authorizer keeps them, compiled, until the store changes).
  Result<PrincipalPolicies> PoliciesOf(bool role, const std::string& name) {
    ARCA_ASSIGN_OR_RETURN(auto txn, Read());
    PrincipalPolicies out;
    std::string owner_id;
    if (role) {
      ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamRole(name));
      if (row.has_value()) owner_id = row->role_id;
    } else {
      ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamUser(name));
      if (row.has_value()) owner_id = row->user_id;
    }
    if (!owner_id.empty()) {
      ARCA_ASSIGN_OR_RETURN(auto attached, txn->ListIamAttachedPolicies(owner_id));
      for (const auto& policy : attached) {
        ARCA_ASSIGN_OR_RETURN(
            auto version, txn->GetIamPolicyVersion(policy.policy_id, policy.default_version_id));
        if (!version.has_value()) {
          return Error(
              Code::kInternal, "An error occurred on the server side.",
              "policy " + policy.arn + " has no default version " + policy.default_version_id);
        }
        out.policies.push_back({policy.arn, std::move(version->document)});
      }
      ARCA_ASSIGN_OR_RETURN(auto inline_policies, txn->ListIamInlinePolicies(owner_id));
      for (auto& p : inline_policies)
        out.policies.push_back({"inline:" + p.name, std::move(p.document)});
      ARCA_ASSIGN_OR_RETURN(out.tags, txn->GetIamTags(owner_id));
    }
    ARCA_RETURN_IF_ERROR(txn->Commit());
    return out;
  }

  // The API calls shared by users and roles (role = true for a role).
  Result<Owner> LoadOwner(const RequestContext& ctx, store::Transaction& txn, bool role,
                          const std::string& name, std::string_view action,
                          const access::ContextKeys* request_keys);
  Status Attach(const RequestContext& ctx, bool role, const std::string& name,
                const std::string& policy_arn);
  Status Detach(const RequestContext& ctx, bool role, const std::string& name,
                const std::string& policy_arn);
  Result<Page<AttachedPolicy>> ListAttached(const RequestContext& ctx, bool role,
                                            const std::string& name,
                                            const std::optional<std::string>& path_prefix,
                                            const PageInput& page);
  Status PutInline(const RequestContext& ctx, bool role, const std::string& name,
                   const std::string& policy_name, const std::string& document);
  Result<InlinePolicy> GetInline(const RequestContext& ctx, bool role, const std::string& name,
                                 const std::string& policy_name);
  Result<Page<std::string>> ListInline(const RequestContext& ctx, bool role,
                                       const std::string& name, const PageInput& page);
  Status DeleteInline(const RequestContext& ctx, bool role, const std::string& name,
                      const std::string& policy_name);
  Result<OidcProvider> LoadProviderFor(const RequestContext& ctx, store::Transaction& txn,
                                       const std::string& arn, std::string_view action,
                                       const access::ContextKeys* request_keys);
};

Directory::Directory(store::Store& store, const crypto::Keyring& keyring, const Clock& clock,
                     DirectoryOptions options)
    : impl_(std::make_unique<Impl>(store, keyring, clock, std::move(options))) {}

Directory::~Directory() = default;

// ---- read side
// ------------------------------------------------------------------------------------

Result<std::optional<User>> Directory::FindUser(const std::string& name) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto user, Impl::LoadUser(*txn, name));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return user;
}

Result<std::optional<Role>> Directory::FindRole(const std::string& name) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto role, Impl::LoadRole(*txn, name));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return role;
}

Result<std::optional<Role>> Directory::FindRoleByArn(const std::string& arn) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamRoleByArn(arn));
  std::optional<Role> role;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(Tags tags, txn->GetIamTags(row->role_id));
    role = ToRole(*row, std::move(tags));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return role;
}

Result<std::optional<OidcProvider>> Directory::FindOidcProviderByArn(const std::string& arn) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto provider, Impl::LoadProvider(*txn, arn));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return provider;
}

Result<std::optional<OidcProvider>> Directory::FindOidcProviderByUrl(const std::string& url) {
  std::string_view u = url;
  std::string with_scheme;
  if (!AsciiLower(u.substr(0, 8)).starts_with("https://")) {
    with_scheme = "https://" + url;
    u = with_scheme;
  }
  Result<std::string> normalized = NormalizeProviderUrl(u);
  if (!normalized.ok()) return std::optional<OidcProvider>();
  return FindOidcProviderByArn(impl_->ProviderArn(*normalized));
}

Result<PrincipalPolicies> Directory::PoliciesOfUser(const std::string& name) {
  return impl_->PoliciesOf(/*role=*/false, name);
}

Result<PrincipalPolicies> Directory::PoliciesOfRole(const std::string& name) {
  return impl_->PoliciesOf(/*role=*/true, name);
}

Result<OidcProvider> Directory::EnsureOidcProvider(const std::string& url,
                                                   const std::vector<std::string>& client_ids,
                                                   const std::string& jwks,
                                                   const std::string& jwks_file) {
  ARCA_ASSIGN_OR_RETURN(std::string normalized, NormalizeProviderUrl(url));
  const std::string arn = impl_->ProviderArn(normalized);
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamOidcProvider(arn));
  std::vector<std::string> ids;
  for (const auto& id : client_ids) {
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
  if (row.has_value()) {
    row->client_ids = std::move(ids);
    row->jwks = jwks;
    row->jwks_file = jwks_file;
    ARCA_RETURN_IF_ERROR(txn->UpdateIamOidcProvider(*row));
  } else {
    row = store::IamOidcProviderRow{arn,  normalized, std::move(ids), {},
                                    jwks, jwks_file,  impl_->NowMs()};
    ARCA_RETURN_IF_ERROR(txn->InsertIamOidcProvider(*row));
  }
  ARCA_ASSIGN_OR_RETURN(Tags tags, txn->GetIamTags(arn));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ToProvider(*row, std::move(tags));
}

// ---- users
// ----------------------------------------------------------------------------------------

Result<User> Directory::CreateUser(const RequestContext& ctx, const CreateUserInput& in) {
  ARCA_RETURN_IF_ERROR(CheckName("userName", in.user_name, 64));
  ARCA_ASSIGN_OR_RETURN(std::string path, CheckPath(in.path));
  ARCA_RETURN_IF_ERROR(CheckTags(in.tags));
  store::IamUserRow row{NewId("AIDA"), in.user_name, path,
                        impl_->EntityArn("user", path, in.user_name), impl_->NowMs()};
  access::ContextKeys keys = RequestTagKeys(in.tags);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:CreateUser", row.arn, nullptr, &keys));

  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->GetIamUser(in.user_name));
  if (existing.has_value())
    return AlreadyExists("User with name " + in.user_name + " already exists.");
  Status inserted = txn->InsertIamUser(row);
  if (!inserted.ok()) {
    if (inserted.error().code() == Code::kAlreadyExists) {
      return AlreadyExists("User with name " + in.user_name + " already exists.");
    }
    return std::move(inserted).error();
  }
  if (!in.tags.empty()) ARCA_RETURN_IF_ERROR(txn->PutIamTags(row.user_id, in.tags));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ToUser(row, in.tags);
}

Result<User> Directory::GetUser(const RequestContext& ctx,
                                const std::optional<std::string>& user_name) {
  std::string name;
  if (user_name.has_value()) {
    ARCA_RETURN_IF_ERROR(CheckName("userName", *user_name, 128));
    name = *user_name;
  } else {
    if (ctx.caller == nullptr || ctx.caller->type == PrincipalType::kAssumedRole)
      return NonUserCredentials();
    if (ctx.caller->is_root()) {
      User root;
      root.path = "";
      root.user_id = impl_->options_.account_id;
      root.arn = impl_->RootArn();
      ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:GetUser", root.arn, nullptr, nullptr));
      ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
      ARCA_ASSIGN_OR_RETURN(auto keys, txn->ListAccessKeysOf(std::string(kRootPrincipal)));
      ARCA_RETURN_IF_ERROR(txn->Commit());
      if (!keys.empty()) root.created_ms = keys.front().created_ms;
      return root;
    }
    name = ctx.caller->principal;
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(std::optional<User> user, Impl::LoadUser(*txn, name));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  const std::string arn = user ? user->arn : impl_->EntityArn("user", "/", name);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:GetUser", arn, user ? &user->tags : nullptr, nullptr));
  if (!user.has_value()) return NoSuchUser(name);
  return std::move(*user);
}

Result<Page<User>> Directory::ListUsers(const RequestContext& ctx,
                                        const std::optional<std::string>& path_prefix,
                                        const PageInput& page) {
  ARCA_ASSIGN_OR_RETURN(std::string prefix, CheckPathPrefix(path_prefix));
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:ListUsers", impl_->EntityArn("user", prefix, ""), nullptr, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamUsers());
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<User> users;
  for (const auto& row : rows) {
    if (row.path.starts_with(prefix)) users.push_back(ToUser(row, {}));
  }
  return Paginate(std::move(users), page);
}

Status Directory::DeleteUser(const RequestContext& ctx, const std::string& user_name) {
  ARCA_RETURN_IF_ERROR(CheckName("userName", user_name, 128));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(std::optional<User> user, Impl::LoadUser(*txn, user_name));
  const std::string arn = user ? user->arn : impl_->EntityArn("user", "/", user_name);
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:DeleteUser", arn, user ? &user->tags : nullptr, nullptr));
  if (!user.has_value()) return NoSuchUser(user_name);
  ARCA_ASSIGN_OR_RETURN(auto keys, txn->ListAccessKeysOf(user->user_id));
  if (!keys.empty()) return DeleteConflict("Cannot delete entity, must delete access keys first.");
  ARCA_ASSIGN_OR_RETURN(auto inline_policies, txn->ListIamInlinePolicies(user->user_id));
  if (!inline_policies.empty())
    return DeleteConflict("Cannot delete entity, must delete policies first.");
  ARCA_ASSIGN_OR_RETURN(auto attached, txn->ListIamAttachedPolicies(user->user_id));
  if (!attached.empty())
    return DeleteConflict("Cannot delete entity, must detach all policies first.");
  ARCA_RETURN_IF_ERROR(txn->DeleteIamUser(user->user_id));
  return txn->Commit();
}

Status Directory::TagUser(const RequestContext& ctx, const std::string& user_name,
                          const Tags& tags) {
  return impl_->TagEntity(ctx, Impl::EntityKind::kUser, "iam:TagUser", user_name, tags);
}

Status Directory::UntagUser(const RequestContext& ctx, const std::string& user_name,
                            const std::vector<std::string>& tag_keys) {
  return impl_->UntagEntity(ctx, Impl::EntityKind::kUser, "iam:UntagUser", user_name, tag_keys);
}

Result<Page<std::pair<std::string, std::string>>> Directory::ListUserTags(
    const RequestContext& ctx, const std::string& user_name, const PageInput& page) {
  return impl_->ListEntityTags(ctx, Impl::EntityKind::kUser, "iam:ListUserTags", user_name, page);
}

// ---- access keys
// ----------------------------------------------------------------------------------

Result<CreatedAccessKey> Directory::CreateAccessKey(const RequestContext& ctx,
                                                    const std::optional<std::string>& user_name) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(Impl::KeyOwner owner,
                        impl_->ResolveKeyOwner(ctx, *txn, user_name, "iam:CreateAccessKey"));
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->ListAccessKeysOf(owner.principal));
  if (existing.size() >= kMaxAccessKeys) {
    return LimitExceeded("Cannot exceed quota for AccessKeysPerUser: " +
                         std::to_string(kMaxAccessKeys));
  }
  NewAccessKey key = GenerateAccessKey();
  // 80 random bits make a clash all but impossible; a clash must still never replace another key.
  for (int attempt = 0;; ++attempt) {
    ARCA_ASSIGN_OR_RETURN(auto clash, txn->GetAccessKey(key.access_key_id));
    if (!clash.has_value()) break;
    if (attempt >= 3) {
      return Error(Code::kInternal, "An error occurred on the server side.",
                   "access key id clashes repeatedly");
    }
    key = GenerateAccessKey();
  }
  store::AccessKeyRow row;
  row.access_key_id = key.access_key_id;
  row.principal = owner.principal;
  row.status = "Active";
  row.created_ms = impl_->NowMs();
  ARCA_ASSIGN_OR_RETURN(row.secret,
                        impl_->keyring_.Seal(key.secret_access_key.view(), key.access_key_id));
  ARCA_RETURN_IF_ERROR(txn->PutAccessKey(row));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  CreatedAccessKey out;
  out.key = AccessKeyInfo{owner.user_name, row.access_key_id, row.status, row.created_ms};
  out.secret_access_key = std::move(key.secret_access_key);
  return out;
}

Result<Page<AccessKeyInfo>> Directory::ListAccessKeys(const RequestContext& ctx,
                                                      const std::optional<std::string>& user_name,
                                                      const PageInput& page) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(Impl::KeyOwner owner,
                        impl_->ResolveKeyOwner(ctx, *txn, user_name, "iam:ListAccessKeys"));
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListAccessKeysOf(owner.principal));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<AccessKeyInfo> keys;
  keys.reserve(rows.size());
  for (const auto& row : rows)
    keys.push_back({owner.user_name, row.access_key_id, row.status, row.created_ms});
  return Paginate(std::move(keys), page);
}

Status Directory::UpdateAccessKey(const RequestContext& ctx,
                                  const std::optional<std::string>& user_name,
                                  const std::string& access_key_id, const std::string& status) {
  ARCA_RETURN_IF_ERROR(CheckAccessKeyId(access_key_id));
  if (status != "Active" && status != "Inactive") {
    return Invalid("status", status, "Member must satisfy enum value set: [Active, Inactive]");
  }
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(Impl::KeyOwner owner,
                        impl_->ResolveKeyOwner(ctx, *txn, user_name, "iam:UpdateAccessKey"));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetAccessKey(access_key_id));
  if (!row.has_value() || row->principal != owner.principal) {
    return NoSuchEntity("The Access Key with id " + access_key_id + " cannot be found.");
  }
  if (row->status != status) {
    row->status = status;
    ARCA_RETURN_IF_ERROR(txn->PutAccessKey(*row));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  impl_->ForgetKey(access_key_id);
  return OkStatus();
}

Status Directory::DeleteAccessKey(const RequestContext& ctx,
                                  const std::optional<std::string>& user_name,
                                  const std::string& access_key_id) {
  ARCA_RETURN_IF_ERROR(CheckAccessKeyId(access_key_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(Impl::KeyOwner owner,
                        impl_->ResolveKeyOwner(ctx, *txn, user_name, "iam:DeleteAccessKey"));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetAccessKey(access_key_id));
  if (!row.has_value() || row->principal != owner.principal) {
    return NoSuchEntity("The Access Key with id " + access_key_id + " cannot be found.");
  }
  ARCA_RETURN_IF_ERROR(txn->DeleteAccessKey(access_key_id));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  impl_->ForgetKey(access_key_id);
  return OkStatus();
}

// ---- roles
// ----------------------------------------------------------------------------------------

Result<Role> Directory::CreateRole(const RequestContext& ctx, const CreateRoleInput& in) {
  ARCA_RETURN_IF_ERROR(CheckName("roleName", in.role_name, 64));
  ARCA_ASSIGN_OR_RETURN(std::string path, CheckPath(in.path));
  ARCA_RETURN_IF_ERROR(CheckDescription("description", in.description));
  ARCA_RETURN_IF_ERROR(CheckSessionDuration(in.max_session_duration));
  ARCA_RETURN_IF_ERROR(CheckTags(in.tags));
  ARCA_RETURN_IF_ERROR(CheckDocument("assumeRolePolicyDocument", in.assume_role_policy_document));
  store::IamRoleRow row{NewId("AROA"),
                        in.role_name,
                        path,
                        impl_->EntityArn("role", path, in.role_name),
                        in.assume_role_policy_document,
                        in.description.value_or(""),
                        in.max_session_duration.value_or(kMinSessionDuration),
                        impl_->NowMs()};
  access::ContextKeys keys = RequestTagKeys(in.tags);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:CreateRole", row.arn, nullptr, &keys));
  ARCA_RETURN_IF_ERROR(
      CheckTrustPolicy("assumeRolePolicyDocument", in.assume_role_policy_document));

  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->GetIamRole(in.role_name));
  if (existing.has_value())
    return AlreadyExists("Role with name " + in.role_name + " already exists.");
  Status inserted = txn->InsertIamRole(row);
  if (!inserted.ok()) {
    if (inserted.error().code() == Code::kAlreadyExists) {
      return AlreadyExists("Role with name " + in.role_name + " already exists.");
    }
    return std::move(inserted).error();
  }
  if (!in.tags.empty()) ARCA_RETURN_IF_ERROR(txn->PutIamTags(row.role_id, in.tags));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ToRole(row, in.tags);
}

Result<Role> Directory::GetRole(const RequestContext& ctx, const std::string& role_name) {
  ARCA_RETURN_IF_ERROR(CheckName("roleName", role_name, 64));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(std::optional<Role> role, Impl::LoadRole(*txn, role_name));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  const std::string arn = role ? role->arn : impl_->EntityArn("role", "/", role_name);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:GetRole", arn, role ? &role->tags : nullptr, nullptr));
  if (!role.has_value()) return NoSuchRole(role_name);
  return std::move(*role);
}

Result<Page<Role>> Directory::ListRoles(const RequestContext& ctx,
                                        const std::optional<std::string>& path_prefix,
                                        const PageInput& page) {
  ARCA_ASSIGN_OR_RETURN(std::string prefix, CheckPathPrefix(path_prefix));
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:ListRoles", impl_->EntityArn("role", prefix, ""), nullptr, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamRoles());
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<Role> roles;
  for (const auto& row : rows) {
    if (row.path.starts_with(prefix)) roles.push_back(ToRole(row, {}));
  }
  return Paginate(std::move(roles), page);
}

Status Directory::DeleteRole(const RequestContext& ctx, const std::string& role_name) {
  ARCA_RETURN_IF_ERROR(CheckName("roleName", role_name, 64));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(std::optional<Role> role, Impl::LoadRole(*txn, role_name));
  const std::string arn = role ? role->arn : impl_->EntityArn("role", "/", role_name);
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:DeleteRole", arn, role ? &role->tags : nullptr, nullptr));
  if (!role.has_value()) return NoSuchRole(role_name);
  ARCA_ASSIGN_OR_RETURN(auto inline_policies, txn->ListIamInlinePolicies(role->role_id));
  if (!inline_policies.empty())
    return DeleteConflict("Cannot delete entity, must delete policies first.");
  ARCA_ASSIGN_OR_RETURN(auto attached, txn->ListIamAttachedPolicies(role->role_id));
  if (!attached.empty())
    return DeleteConflict("Cannot delete entity, must detach all policies first.");
  ARCA_RETURN_IF_ERROR(txn->DeleteIamRole(role->role_id));
  return txn->Commit();
}

Status Directory::UpdateRole(const RequestContext& ctx, const UpdateRoleInput& in) {
  ARCA_RETURN_IF_ERROR(CheckName("roleName", in.role_name, 64));
  ARCA_RETURN_IF_ERROR(CheckDescription("description", in.description));
  ARCA_RETURN_IF_ERROR(CheckSessionDuration(in.max_session_duration));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamRole(in.role_name));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->role_id));
  }
  const std::string arn = row ? row->arn : impl_->EntityArn("role", "/", in.role_name);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:UpdateRole", arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchRole(in.role_name);
  if (in.description.has_value()) row->description = *in.description;
  if (in.max_session_duration.has_value()) row->max_session_duration = *in.max_session_duration;
  ARCA_RETURN_IF_ERROR(txn->UpdateIamRole(*row));
  return txn->Commit();
}

Status Directory::UpdateAssumeRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                         const std::string& policy_document) {
  ARCA_RETURN_IF_ERROR(CheckName("roleName", role_name, 64));
  ARCA_RETURN_IF_ERROR(CheckDocument("policyDocument", policy_document));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamRole(role_name));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->role_id));
  }
  const std::string arn = row ? row->arn : impl_->EntityArn("role", "/", role_name);
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:UpdateAssumeRolePolicy", arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchRole(role_name);
  ARCA_RETURN_IF_ERROR(CheckTrustPolicy("policyDocument", policy_document));
  row->assume_role_policy = policy_document;
  ARCA_RETURN_IF_ERROR(txn->UpdateIamRole(*row));
  return txn->Commit();
}

Status Directory::TagRole(const RequestContext& ctx, const std::string& role_name,
                          const Tags& tags) {
  return impl_->TagEntity(ctx, Impl::EntityKind::kRole, "iam:TagRole", role_name, tags);
}

Status Directory::UntagRole(const RequestContext& ctx, const std::string& role_name,
                            const std::vector<std::string>& tag_keys) {
  return impl_->UntagEntity(ctx, Impl::EntityKind::kRole, "iam:UntagRole", role_name, tag_keys);
}

Result<Page<std::pair<std::string, std::string>>> Directory::ListRoleTags(
    const RequestContext& ctx, const std::string& role_name, const PageInput& page) {
  return impl_->ListEntityTags(ctx, Impl::EntityKind::kRole, "iam:ListRoleTags", role_name, page);
}

// ---- managed policies
// -----------------------------------------------------------------------------

namespace {

Status CheckManagedPolicy(std::string_view document) {
  ARCA_RETURN_IF_ERROR(CheckIdentityPolicy("policyDocument", document));
  if (SizeWithoutWhitespace(document) > kMaxManagedPolicyChars) {
    return LimitExceeded("Cannot exceed quota for PolicySize: " +
                         std::to_string(kMaxManagedPolicyChars));
  }
  return OkStatus();
}

}  // namespace

Result<ManagedPolicy> Directory::CreatePolicy(const RequestContext& ctx,
                                              const CreatePolicyInput& in) {
  ARCA_RETURN_IF_ERROR(CheckName("policyName", in.policy_name, 128));
  std::string path = in.path.value_or("/");
  ARCA_RETURN_IF_ERROR(CheckPolicyPathValue("path", path));
  ARCA_RETURN_IF_ERROR(CheckDescription("description", in.description));
  ARCA_RETURN_IF_ERROR(CheckTags(in.tags));
  ARCA_RETURN_IF_ERROR(CheckDocument("policyDocument", in.policy_document));
  const std::int64_t now = impl_->NowMs();
  store::IamPolicyRow row{NewId("ANPA"),
                          in.policy_name,
                          path,
                          impl_->EntityArn("policy", path, in.policy_name),
                          in.description.value_or(""),
                          "v1",
                          2,
                          now,
                          now};
  access::ContextKeys keys = RequestTagKeys(in.tags);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:CreatePolicy", row.arn, nullptr, &keys));
  ARCA_RETURN_IF_ERROR(CheckManagedPolicy(in.policy_document));

  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  Status inserted = txn->InsertIamPolicy(row);
  if (!inserted.ok()) {
    if (inserted.error().code() == Code::kAlreadyExists) {
      return AlreadyExists("A policy called " + in.policy_name +
                           " already exists. Duplicate names are not allowed.");
    }
    return std::move(inserted).error();
  }
  ARCA_RETURN_IF_ERROR(txn->InsertIamPolicyVersion({row.policy_id, "v1", in.policy_document, now}));
  if (!in.tags.empty()) ARCA_RETURN_IF_ERROR(txn->PutIamTags(row.policy_id, in.tags));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ToPolicy(row, 0, in.tags);
}

Result<ManagedPolicy> Directory::GetPolicy(const RequestContext& ctx,
                                           const std::string& policy_arn) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  std::int64_t attachments = 0;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
    ARCA_ASSIGN_OR_RETURN(attachments, txn->CountIamPolicyAttachments(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:GetPolicy", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  return ToPolicy(*row, attachments, std::move(tags));
}

Result<Page<ManagedPolicy>> Directory::ListPolicies(const RequestContext& ctx,
                                                    const ListPoliciesInput& in) {
  const std::string scope = in.scope.value_or("All");
  if (scope != "All" && scope != "AWS" && scope != "Local") {
    return Invalid("scope", scope, "Member must satisfy enum value set: [All, AWS, Local]");
  }
  const std::string usage = in.policy_usage_filter.value_or("PermissionsPolicy");
  if (usage != "PermissionsPolicy" && usage != "PermissionsBoundary") {
    return Invalid("policyUsageFilter", usage,
                   "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]");
  }
  const std::string prefix = in.path_prefix.value_or("/");
  ARCA_RETURN_IF_ERROR(CheckPolicyPathValue("pathPrefix", prefix));
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:ListPolicies", impl_->EntityArn("policy", prefix, ""),
                                  nullptr, nullptr, "policy path " + prefix));
  std::vector<ManagedPolicy> policies;
  // Arca has no AWS managed policies and no permissions boundaries.
  if (scope != "AWS" && in.policy_usage_filter.value_or("") != "PermissionsBoundary") {
    ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
    ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamPolicies());
    for (const auto& row : rows) {
      if (!row.path.starts_with(prefix)) continue;
      ARCA_ASSIGN_OR_RETURN(std::int64_t attachments,
                            txn->CountIamPolicyAttachments(row.policy_id));
      if (in.only_attached && attachments == 0) continue;
      policies.push_back(ToPolicy(row, attachments, {}));
    }
    ARCA_RETURN_IF_ERROR(txn->Commit());
  }
  return Paginate(std::move(policies), in.page);
}

Status Directory::DeletePolicy(const RequestContext& ctx, const std::string& policy_arn) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:DeletePolicy", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  ARCA_ASSIGN_OR_RETURN(std::int64_t attachments, txn->CountIamPolicyAttachments(row->policy_id));
  if (attachments > 0) return DeleteConflict("Cannot delete a policy attached to entities.");
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListIamPolicyVersions(row->policy_id));
  if (versions.size() > 1) {
    return DeleteConflict(
        "This policy has more than one version. Before you delete a policy, you must delete the "
        "policy's "
        "versions. The default version is deleted with the policy.");
  }
  ARCA_RETURN_IF_ERROR(txn->DeleteIamPolicy(row->policy_id));
  return txn->Commit();
}

Result<PolicyVersion> Directory::CreatePolicyVersion(const RequestContext& ctx,
                                                     const std::string& policy_arn,
                                                     const std::string& policy_document,
                                                     bool set_as_default) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_RETURN_IF_ERROR(CheckDocument("policyDocument", policy_document));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:CreatePolicyVersion", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  ARCA_RETURN_IF_ERROR(CheckManagedPolicy(policy_document));
  ARCA_ASSIGN_OR_RETURN(auto versions, txn->ListIamPolicyVersions(row->policy_id));
  if (versions.size() >= kMaxPolicyVersions) {
    return LimitExceeded(
        "A managed policy can have up to " + std::to_string(kMaxPolicyVersions) +
        " versions. Before you create a new version, you must delete an existing version.");
  }
  const std::int64_t now = impl_->NowMs();
  PolicyVersion version{"v" + std::to_string(row->next_version), policy_document, set_as_default,
                        now};
  ARCA_RETURN_IF_ERROR(
      txn->InsertIamPolicyVersion({row->policy_id, version.version_id, policy_document, now}));
  row->next_version += 1;
  if (set_as_default) {
    row->default_version_id = version.version_id;
    row->updated_ms = now;
  }
  ARCA_RETURN_IF_ERROR(txn->UpdateIamPolicy(*row));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return version;
}

Result<PolicyVersion> Directory::GetPolicyVersion(const RequestContext& ctx,
                                                  const std::string& policy_arn,
                                                  const std::string& version_id) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_RETURN_IF_ERROR(CheckVersionId(version_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  std::optional<store::IamPolicyVersionRow> version;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
    ARCA_ASSIGN_OR_RETURN(version, txn->GetIamPolicyVersion(row->policy_id, version_id));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:GetPolicyVersion", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  if (!version.has_value()) {
    return NoSuchEntity("Policy " + policy_arn + " version " + version_id + " does not exist.");
  }
  return PolicyVersion{version->version_id, std::move(version->document),
                       version->version_id == row->default_version_id, version->created_ms};
}

Result<Page<PolicyVersion>> Directory::ListPolicyVersions(const RequestContext& ctx,
                                                          const std::string& policy_arn,
                                                          const PageInput& page) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  std::vector<store::IamPolicyVersionRow> rows;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
    ARCA_ASSIGN_OR_RETURN(rows, txn->ListIamPolicyVersions(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(txn->Commit());
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:ListPolicyVersions", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return VersionNumber(a.version_id) > VersionNumber(b.version_id);
  });
  std::vector<PolicyVersion> versions;
  for (const auto& v : rows) {
    versions.push_back({v.version_id, "", v.version_id == row->default_version_id, v.created_ms});
  }
  return Paginate(std::move(versions), page);
}

Status Directory::DeletePolicyVersion(const RequestContext& ctx, const std::string& policy_arn,
                                      const std::string& version_id) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_RETURN_IF_ERROR(CheckVersionId(version_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:DeletePolicyVersion", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  ARCA_ASSIGN_OR_RETURN(auto version, txn->GetIamPolicyVersion(row->policy_id, version_id));
  if (!version.has_value()) {
    return NoSuchEntity("Policy " + policy_arn + " version " + version_id + " does not exist.");
  }
  if (version_id == row->default_version_id) {
    return DeleteConflict("Cannot delete the default version of a policy.");
  }
  ARCA_RETURN_IF_ERROR(txn->DeleteIamPolicyVersion(row->policy_id, version_id));
  return txn->Commit();
}

Status Directory::SetDefaultPolicyVersion(const RequestContext& ctx, const std::string& policy_arn,
                                          const std::string& version_id) {
  ARCA_RETURN_IF_ERROR(impl_->CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_RETURN_IF_ERROR(CheckVersionId(version_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(auto row, Impl::LoadPolicyRow(*txn, policy_arn));
  Tags tags;
  if (row.has_value()) {
    ARCA_ASSIGN_OR_RETURN(tags, txn->GetIamTags(row->policy_id));
  }
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:SetDefaultPolicyVersion", policy_arn, row ? &tags : nullptr, nullptr));
  if (!row.has_value()) return NoSuchPolicy(policy_arn);
  ARCA_ASSIGN_OR_RETURN(auto version, txn->GetIamPolicyVersion(row->policy_id, version_id));
  if (!version.has_value()) {
    return NoSuchEntity("Policy " + policy_arn + " version " + version_id + " does not exist.");
  }
  if (row->default_version_id != version_id) {
    row->default_version_id = version_id;
    row->updated_ms = impl_->NowMs();
    ARCA_RETURN_IF_ERROR(txn->UpdateIamPolicy(*row));
  }
  return txn->Commit();
}

// ---- attachments and inline policies (shared by users and roles)
// ----------------------------------

// Loads the user (role = false) or role named `name`, asks the gate, and answers NoSuchEntity when
// it does not exist.
Result<Owner> Directory::Impl::LoadOwner(const RequestContext& ctx, store::Transaction& txn,
                                         bool role, const std::string& name,
                                         std::string_view action,
                                         const access::ContextKeys* request_keys) {
  std::optional<Owner> owner;
  if (role) {
    ARCA_ASSIGN_OR_RETURN(std::optional<Role> r, Directory::Impl::LoadRole(txn, name));
    if (r.has_value()) owner = Owner{r->role_id, r->name, r->arn, std::move(r->tags)};
  } else {
    ARCA_ASSIGN_OR_RETURN(std::optional<User> u, Directory::Impl::LoadUser(txn, name));
    if (u.has_value()) owner = Owner{u->user_id, u->name, u->arn, std::move(u->tags)};
  }
  const std::string arn = owner ? owner->arn : EntityArn(role ? "role" : "user", "/", name);
  ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, owner ? &owner->tags : nullptr, request_keys));
  if (!owner.has_value()) return role ? NoSuchRole(name) : NoSuchUser(name);
  return std::move(*owner);
}

namespace {

std::string_view Kind(bool role) { return role ? "Role" : "User"; }

Status CheckOwnerName(bool role, const std::string& name, bool existing_user_type) {
  if (role) return CheckName("roleName", name, 64);
  return CheckName("userName", name, existing_user_type ? 128 : 64);
}

}  // namespace

Status Directory::Impl::Attach(const RequestContext& ctx, bool role, const std::string& name,
                               const std::string& policy_arn) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, false));
  access::ContextKeys keys;
  keys.Set("iam:PolicyARN", policy_arn);
  ARCA_ASSIGN_OR_RETURN(auto txn, Write());
  const std::string action = "iam:Attach" + std::string(Kind(role)) + "Policy";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, &keys));
  // After the gate: a caller without rights learns nothing about which policies exist.
  ARCA_RETURN_IF_ERROR(CheckPolicyArn(policy_arn, /*attach=*/true));
  ARCA_ASSIGN_OR_RETURN(auto policy, txn->GetIamPolicyByArn(policy_arn));
  if (!policy.has_value()) return NotAttachable(policy_arn);
  ARCA_ASSIGN_OR_RETURN(auto attached, txn->ListIamAttachedPolicies(owner.id));
  for (const auto& p : attached) {
    if (p.policy_id == policy->policy_id) return txn->Commit();  // already attached: nothing to do
  }
  if (attached.size() >= kMaxAttachedPolicies) {
    return LimitExceeded("Cannot exceed quota for PoliciesPer" + std::string(Kind(role)) + ": " +
                         std::to_string(kMaxAttachedPolicies));
  }
  ARCA_RETURN_IF_ERROR(txn->AttachIamPolicy(owner.id, policy->policy_id, NowMs()));
  return txn->Commit();
}

Status Directory::Impl::Detach(const RequestContext& ctx, bool role, const std::string& name,
                               const std::string& policy_arn) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, false));
  access::ContextKeys keys;
  keys.Set("iam:PolicyARN", policy_arn);
  ARCA_ASSIGN_OR_RETURN(auto txn, Write());
  const std::string action = "iam:Detach" + std::string(Kind(role)) + "Policy";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, &keys));
  // After the gate: a caller without rights learns nothing about which policies exist.
  ARCA_RETURN_IF_ERROR(CheckPolicyArn(policy_arn, /*attach=*/false));
  ARCA_ASSIGN_OR_RETURN(auto policy, txn->GetIamPolicyByArn(policy_arn));
  if (!policy.has_value()) return NoSuchPolicy(policy_arn);
  Status detached = txn->DetachIamPolicy(owner.id, policy->policy_id);
  if (!detached.ok()) {
    if (detached.error().code() == Code::kNotFound) return NoSuchPolicy(policy_arn);
    return std::move(detached).error();
  }
  return txn->Commit();
}

Result<Page<AttachedPolicy>> Directory::Impl::ListAttached(
    const RequestContext& ctx, bool role, const std::string& name,
    const std::optional<std::string>& path_prefix, const PageInput& page) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, false));
  const std::string prefix = path_prefix.value_or("/");
  ARCA_RETURN_IF_ERROR(CheckPolicyPathValue("pathPrefix", prefix));
  ARCA_ASSIGN_OR_RETURN(auto txn, Read());
  const std::string action = "iam:ListAttached" + std::string(Kind(role)) + "Policies";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamAttachedPolicies(owner.id));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<AttachedPolicy> out;
  for (const auto& row : rows) {
    if (row.path.starts_with(prefix)) out.push_back({row.name, row.arn});
  }
  return Paginate(std::move(out), page);
}

Status Directory::Impl::PutInline(const RequestContext& ctx, bool role, const std::string& name,
                                  const std::string& policy_name, const std::string& document) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, true));
  ARCA_RETURN_IF_ERROR(CheckName("policyName", policy_name, 128));
  ARCA_RETURN_IF_ERROR(CheckDocument("policyDocument", document));
  ARCA_ASSIGN_OR_RETURN(auto txn, Write());
  const std::string action = "iam:Put" + std::string(Kind(role)) + "Policy";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, nullptr));
  ARCA_RETURN_IF_ERROR(CompilePolicy(document, PolicyKind::kIdentity));
  // The quota covers all of the owner's inline policies together.
  ARCA_ASSIGN_OR_RETURN(auto existing, txn->ListIamInlinePolicies(owner.id));
  std::size_t total = SizeWithoutWhitespace(document);
  for (const auto& p : existing) {
    if (p.name != policy_name) total += SizeWithoutWhitespace(p.document);
  }
  const std::size_t quota = role ? kMaxRoleInlineChars : kMaxUserInlineChars;
  if (total > quota) {
    return LimitExceeded("Maximum policy size of " + std::to_string(quota) +
                         " bytes exceeded for " + (role ? "role " : "user ") + owner.name);
  }
  ARCA_RETURN_IF_ERROR(txn->PutIamInlinePolicy({owner.id, policy_name, document}));
  return txn->Commit();
}

Result<InlinePolicy> Directory::Impl::GetInline(const RequestContext& ctx, bool role,
                                                const std::string& name,
                                                const std::string& policy_name) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, true));
  ARCA_RETURN_IF_ERROR(CheckName("policyName", policy_name, 128));
  ARCA_ASSIGN_OR_RETURN(auto txn, Read());
  const std::string action = "iam:Get" + std::string(Kind(role)) + "Policy";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto row, txn->GetIamInlinePolicy(owner.id, policy_name));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  if (!row.has_value()) {
    return NoSuchEntity(std::string("The ") + (role ? "role" : "user") + " policy with name " +
                        policy_name + " cannot be found.");
  }
  return InlinePolicy{owner.name, row->name, std::move(row->document)};
}

Result<Page<std::string>> Directory::Impl::ListInline(const RequestContext& ctx, bool role,
                                                      const std::string& name,
                                                      const PageInput& page) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, true));
  ARCA_ASSIGN_OR_RETURN(auto txn, Read());
  const std::string action = "iam:List" + std::string(Kind(role)) + "Policies";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamInlinePolicies(owner.id));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<std::string> names;
  names.reserve(rows.size());
  for (auto& row : rows) names.push_back(std::move(row.name));
  return Paginate(std::move(names), page);
}

Status Directory::Impl::DeleteInline(const RequestContext& ctx, bool role, const std::string& name,
                                     const std::string& policy_name) {
  ARCA_RETURN_IF_ERROR(CheckOwnerName(role, name, true));
  ARCA_RETURN_IF_ERROR(CheckName("policyName", policy_name, 128));
  ARCA_ASSIGN_OR_RETURN(auto txn, Write());
  const std::string action = "iam:Delete" + std::string(Kind(role)) + "Policy";
  ARCA_ASSIGN_OR_RETURN(Owner owner, LoadOwner(ctx, *txn, role, name, action, nullptr));
  Status deleted = txn->DeleteIamInlinePolicy(owner.id, policy_name);
  if (!deleted.ok()) {
    if (deleted.error().code() == Code::kNotFound) {
      return NoSuchEntity(std::string("The ") + (role ? "role" : "user") + " policy with name " +
                          policy_name + " cannot be found.");
    }
    return std::move(deleted).error();
  }
  return txn->Commit();
}

Status Directory::AttachUserPolicy(const RequestContext& ctx, const std::string& user_name,
                                   const std::string& policy_arn) {
  return impl_->Attach(ctx, false, user_name, policy_arn);
}
Status Directory::DetachUserPolicy(const RequestContext& ctx, const std::string& user_name,
                                   const std::string& policy_arn) {
  return impl_->Detach(ctx, false, user_name, policy_arn);
}
Result<Page<AttachedPolicy>> Directory::ListAttachedUserPolicies(
    const RequestContext& ctx, const std::string& user_name,
    const std::optional<std::string>& path_prefix, const PageInput& page) {
  return impl_->ListAttached(ctx, false, user_name, path_prefix, page);
}
Status Directory::AttachRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                   const std::string& policy_arn) {
  return impl_->Attach(ctx, true, role_name, policy_arn);
}
Status Directory::DetachRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                   const std::string& policy_arn) {
  return impl_->Detach(ctx, true, role_name, policy_arn);
}
Result<Page<AttachedPolicy>> Directory::ListAttachedRolePolicies(
    const RequestContext& ctx, const std::string& role_name,
    const std::optional<std::string>& path_prefix, const PageInput& page) {
  return impl_->ListAttached(ctx, true, role_name, path_prefix, page);
}

Status Directory::PutUserPolicy(const RequestContext& ctx, const std::string& user_name,
                                const std::string& policy_name,
                                const std::string& policy_document) {
  return impl_->PutInline(ctx, false, user_name, policy_name, policy_document);
}
Result<InlinePolicy> Directory::GetUserPolicy(const RequestContext& ctx,
                                              const std::string& user_name,
                                              const std::string& policy_name) {
  return impl_->GetInline(ctx, false, user_name, policy_name);
}
Result<Page<std::string>> Directory::ListUserPolicies(const RequestContext& ctx,
                                                      const std::string& user_name,
                                                      const PageInput& page) {
  return impl_->ListInline(ctx, false, user_name, page);
}
Status Directory::DeleteUserPolicy(const RequestContext& ctx, const std::string& user_name,
                                   const std::string& policy_name) {
  return impl_->DeleteInline(ctx, false, user_name, policy_name);
}
Status Directory::PutRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                const std::string& policy_name,
                                const std::string& policy_document) {
  return impl_->PutInline(ctx, true, role_name, policy_name, policy_document);
}
Result<InlinePolicy> Directory::GetRolePolicy(const RequestContext& ctx,
                                              const std::string& role_name,
                                              const std::string& policy_name) {
  return impl_->GetInline(ctx, true, role_name, policy_name);
}
Result<Page<std::string>> Directory::ListRolePolicies(const RequestContext& ctx,
                                                      const std::string& role_name,
                                                      const PageInput& page) {
  return impl_->ListInline(ctx, true, role_name, page);
}
Status Directory::DeleteRolePolicy(const RequestContext& ctx, const std::string& role_name,
                                   const std::string& policy_name) {
  return impl_->DeleteInline(ctx, true, role_name, policy_name);
}

// ---- OpenID Connect providers
// ---------------------------------------------------------------------

namespace {

Status CheckClientId(std::string_view id) { return CheckLength("clientID", id, 1, 255); }

Status CheckThumbprints(const std::vector<std::string>& thumbprints) {
  for (std::size_t i = 0; i < thumbprints.size(); ++i) {
    ARCA_RETURN_IF_ERROR(
        CheckLength("thumbprintList." + std::to_string(i + 1) + ".member", thumbprints[i], 40, 40));
  }
  if (thumbprints.size() > kMaxThumbprints) {
    return LimitExceeded("Cannot exceed quota for ThumbprintsPerOpenIdConnectProvider: " +
                         std::to_string(kMaxThumbprints));
  }
  return OkStatus();
}

}  // namespace

// Loads the provider `arn`, asks the gate, answers NoSuchEntity when it does not exist.
Result<OidcProvider> Directory::Impl::LoadProviderFor(const RequestContext& ctx,
                                                      store::Transaction& txn,
                                                      const std::string& arn,
                                                      std::string_view action,
                                                      const access::ContextKeys* request_keys) {
  ARCA_RETURN_IF_ERROR(CheckProviderArn(arn));
  ARCA_ASSIGN_OR_RETURN(auto provider, Directory::Impl::LoadProvider(txn, arn));
  ARCA_RETURN_IF_ERROR(Ask(ctx, action, arn, provider ? &provider->tags : nullptr, request_keys));
  if (!provider.has_value()) return NoSuchProvider(arn);
  return std::move(*provider);
}

static store::IamOidcProviderRow ProviderRow(const OidcProvider& p) {
  // jwks_file comes back from ToProvider filled from the tag when the row has none; keep the row's.
  return store::IamOidcProviderRow{p.arn,  p.url, p.client_ids, p.thumbprints,
                                   p.jwks, {},    p.created_ms};
}

Result<OidcProvider> Directory::CreateOpenIDConnectProvider(const RequestContext& ctx,
                                                            const CreateOidcProviderInput& in) {
  ARCA_ASSIGN_OR_RETURN(std::string normalized, NormalizeProviderUrl(in.url));
  std::vector<std::string> client_ids;
  for (const auto& id : in.client_ids) {
    ARCA_RETURN_IF_ERROR(CheckClientId(id));
    if (std::find(client_ids.begin(), client_ids.end(), id) == client_ids.end())
      client_ids.push_back(id);
  }
  if (client_ids.size() > kMaxClientIds) {
    return LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: " +
                         std::to_string(kMaxClientIds));
  }
  ARCA_RETURN_IF_ERROR(CheckThumbprints(in.thumbprints));
  ARCA_RETURN_IF_ERROR(CheckTags(in.tags));
  const std::string arn = impl_->ProviderArn(normalized);
  access::ContextKeys keys = RequestTagKeys(in.tags);
  ARCA_RETURN_IF_ERROR(impl_->Ask(ctx, "iam:CreateOpenIDConnectProvider", arn, nullptr, &keys));

  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  store::IamOidcProviderRow row{arn, normalized, client_ids,    in.thumbprints,
                                "",  "",         impl_->NowMs()};
  Status inserted = txn->InsertIamOidcProvider(row);
  if (!inserted.ok()) {
    if (inserted.error().code() == Code::kAlreadyExists) {
      return AlreadyExists("Provider with url https://" + normalized + " already exists.");
    }
    return std::move(inserted).error();
  }
  if (!in.tags.empty()) ARCA_RETURN_IF_ERROR(txn->PutIamTags(arn, in.tags));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return ToProvider(row, in.tags);
}

Result<OidcProvider> Directory::GetOpenIDConnectProvider(const RequestContext& ctx,
                                                         const std::string& arn) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:GetOpenIDConnectProvider", nullptr));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return provider;
}

Result<std::vector<std::string>> Directory::ListOpenIDConnectProviders(const RequestContext& ctx) {
  ARCA_RETURN_IF_ERROR(
      impl_->Ask(ctx, "iam:ListOpenIDConnectProviders", impl_->ProviderArn(""), nullptr, nullptr));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(auto rows, txn->ListIamOidcProviders());
  ARCA_RETURN_IF_ERROR(txn->Commit());
  std::vector<std::string> arns;
  arns.reserve(rows.size());
  for (auto& row : rows) arns.push_back(std::move(row.arn));
  return arns;
}

Status Directory::DeleteOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:DeleteOpenIDConnectProvider", nullptr));
  ARCA_RETURN_IF_ERROR(txn->DeleteIamOidcProvider(provider.arn));
  return txn->Commit();
}

Status Directory::AddClientIDToOpenIDConnectProvider(const RequestContext& ctx,
                                                     const std::string& arn,
                                                     const std::string& client_id) {
  ARCA_RETURN_IF_ERROR(CheckClientId(client_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:AddClientIDToOpenIDConnectProvider", nullptr));
  store::IamOidcProviderRow row = ProviderRow(provider);
  ARCA_ASSIGN_OR_RETURN(auto stored, txn->GetIamOidcProvider(arn));
  if (stored.has_value()) row.jwks_file = stored->jwks_file;
  if (std::find(row.client_ids.begin(), row.client_ids.end(), client_id) != row.client_ids.end()) {
    return txn->Commit();
  }
  if (row.client_ids.size() >= kMaxClientIds) {
    return LimitExceeded("Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: " +
                         std::to_string(kMaxClientIds));
  }
  row.client_ids.push_back(client_id);
  ARCA_RETURN_IF_ERROR(txn->UpdateIamOidcProvider(row));
  return txn->Commit();
}

Status Directory::RemoveClientIDFromOpenIDConnectProvider(const RequestContext& ctx,
                                                          const std::string& arn,
                                                          const std::string& client_id) {
  ARCA_RETURN_IF_ERROR(CheckClientId(client_id));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:RemoveClientIDFromOpenIDConnectProvider",
                             nullptr));
  store::IamOidcProviderRow row = ProviderRow(provider);
  ARCA_ASSIGN_OR_RETURN(auto stored, txn->GetIamOidcProvider(arn));
  if (stored.has_value()) row.jwks_file = stored->jwks_file;
  std::erase(row.client_ids, client_id);
  if (row.client_ids.size() != provider.client_ids.size()) {
    ARCA_RETURN_IF_ERROR(txn->UpdateIamOidcProvider(row));
  }
  return txn->Commit();
}

Status Directory::UpdateOpenIDConnectProviderThumbprint(
    const RequestContext& ctx, const std::string& arn,
    const std::vector<std::string>& thumbprints) {
  ARCA_RETURN_IF_ERROR(CheckThumbprints(thumbprints));
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:UpdateOpenIDConnectProviderThumbprint", nullptr));
  store::IamOidcProviderRow row = ProviderRow(provider);
  ARCA_ASSIGN_OR_RETURN(auto stored, txn->GetIamOidcProvider(arn));
  if (stored.has_value()) row.jwks_file = stored->jwks_file;
  row.thumbprints = thumbprints;
  ARCA_RETURN_IF_ERROR(txn->UpdateIamOidcProvider(row));
  return txn->Commit();
}

Status Directory::TagOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                           const Tags& tags) {
  ARCA_RETURN_IF_ERROR(CheckTags(tags));
  access::ContextKeys keys = RequestTagKeys(tags);
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:TagOpenIDConnectProvider", &keys));
  ARCA_ASSIGN_OR_RETURN(Tags merged, MergeTags(provider.tags, tags));
  ARCA_RETURN_IF_ERROR(txn->PutIamTags(provider.arn, merged));
  return txn->Commit();
}

Status Directory::UntagOpenIDConnectProvider(const RequestContext& ctx, const std::string& arn,
                                             const std::vector<std::string>& tag_keys) {
  ARCA_RETURN_IF_ERROR(CheckTagKeys(tag_keys));
  access::ContextKeys keys = TagKeysKey(tag_keys);
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Write());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:UntagOpenIDConnectProvider", &keys));
  ARCA_RETURN_IF_ERROR(txn->PutIamTags(provider.arn, RemoveTags(provider.tags, tag_keys)));
  return txn->Commit();
}

Result<Page<std::pair<std::string, std::string>>> Directory::ListOpenIDConnectProviderTags(
    const RequestContext& ctx, const std::string& arn, const PageInput& page) {
  ARCA_ASSIGN_OR_RETURN(auto txn, impl_->Read());
  ARCA_ASSIGN_OR_RETURN(
      OidcProvider provider,
      impl_->LoadProviderFor(ctx, *txn, arn, "iam:ListOpenIDConnectProviderTags", nullptr));
  ARCA_RETURN_IF_ERROR(txn->Commit());
  return Paginate(std::move(provider.tags), page);
}

}  // namespace arca::iam
