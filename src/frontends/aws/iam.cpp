#include "frontends/aws/iam.h"

#include <charconv>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"

namespace arca::frontends::aws {

namespace {

using iam::Directory;
using iam::RequestContext;

// ---- decoding -----------------------------------------------------------------------------------

// The model's name of a member in validation messages: "UserName" -> "userName".
std::string ModelName(std::string_view member) {
  std::string out(member);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z')
    out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

Error MissingMember(std::string_view member) {
  return Error(Code::kValidation, "1 validation error detected: Value null at '" +
                                      ModelName(member) +
                                      "' failed to satisfy constraint: Member must not be null");
}

std::optional<std::string> Optional(const QueryParams& params, std::string_view name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return std::nullopt;
  return std::string(*v);
}

Result<std::string> Required(const QueryParams& params, std::string_view name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return MissingMember(name);
  return std::string(*v);
}

Result<std::optional<std::int64_t>> IntMember(const QueryParams& params, std::string_view name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return std::optional<std::int64_t>();
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size()) {
    return Error(Code::kValidation,
                 "1 validation error detected: Value '" + std::string(*v) + "' at '" +
                     ModelName(name) + "' failed to satisfy constraint: Member must be an integer");
  }
  return std::optional<std::int64_t>(n);
}

Result<std::optional<bool>> BoolMember(const QueryParams& params, std::string_view name) {
  std::optional<std::string_view> v = params.Find(name);
  if (!v.has_value()) return std::optional<bool>();
  if (*v == "true" || *v == "True" || *v == "TRUE") return std::optional<bool>(true);
  if (*v == "false" || *v == "False" || *v == "FALSE") return std::optional<bool>(false);
  return Error(Code::kValidation, "1 validation error detected: Value '" + std::string(*v) +
                                      "' at '" + ModelName(name) +
                                      "' failed to satisfy constraint: Member must be a boolean");
}

bool HasList(const QueryParams& params, std::string_view name) {
  if (params.Find(name).has_value()) return true;  // an empty list is sent as "Name="
  const std::string prefix = std::string(name) + ".member.";
  for (const auto& [k, v] : params.entries()) {
    if (k.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

Result<std::vector<std::string>> RequiredList(const QueryParams& params, std::string_view name) {
  if (!HasList(params, name)) return MissingMember(name);
  return params.List(name);
}

iam::Tags TagsOf(const QueryParams& params, std::string_view name = "Tags") {
  iam::Tags tags;
  for (const auto& fields : params.StructList(name)) {
    std::string key;
    std::string value;
    for (const auto& [field, v] : fields) {
      if (field == "Key") key = v;
      if (field == "Value") value = v;
    }
    tags.emplace_back(std::move(key), std::move(value));
  }
  return tags;
}

Result<iam::Tags> RequiredTags(const QueryParams& params) {
  if (!HasList(params, "Tags")) return MissingMember("Tags");
  return TagsOf(params);
}

Result<iam::PageInput> PageOf(const QueryParams& params) {
  iam::PageInput page;
  page.marker = Optional(params, "Marker");
  ARCA_ASSIGN_OR_RETURN(page.max_items, IntMember(params, "MaxItems"));
  return page;
}

// Arca has no permissions boundaries: refuse rather than pretend one applies.
Status RefusePermissionsBoundary(const QueryParams& params) {
  if (params.Find("PermissionsBoundary").has_value()) {
    return Error(Code::kInvalidParameter,
                 "Arca does not support permissions boundaries (PermissionsBoundary).");
  }
  return OkStatus();
}

// ---- encoding -----------------------------------------------------------------------------------

std::string Date(std::int64_t ms) { return FormatIso8601(FromUnixMillis(ms)); }
std::string_view Bool(bool b) { return b ? "true" : "false"; }

void WriteTags(XmlWriter& w, const iam::Tags& tags, bool always = false) {
  if (tags.empty() && !always) return;
  w.Open("Tags");
  for (const auto& [key, value] : tags) {
    w.Open("member").Element("Key", key).Element("Value", value).Close("member");
  }
  w.Close("Tags");
}

template <typename T>
void WritePaging(XmlWriter& w, const iam::Page<T>& page) {
  w.Element("IsTruncated", Bool(page.is_truncated));
  if (page.is_truncated) w.Element("Marker", page.marker);
}

void WriteUserFields(XmlWriter& w, const iam::User& u) {
  if (!u.path.empty()) w.Element("Path", u.path);
  if (!u.name.empty()) w.Element("UserName", u.name);
  w.Element("UserId", u.user_id).Element("Arn", u.arn).Element("CreateDate", Date(u.created_ms));
  WriteTags(w, u.tags);
}

void WriteRoleFields(XmlWriter& w, const iam::Role& r) {
  w.Element("Path", r.path)
      .Element("RoleName", r.name)
      .Element("RoleId", r.role_id)
      .Element("Arn", r.arn)
      .Element("CreateDate", Date(r.created_ms))
      .Element("AssumeRolePolicyDocument", UrlEncodeDocument(r.assume_role_policy));
  if (!r.description.empty()) w.Element("Description", r.description);
  w.Element("MaxSessionDuration", std::to_string(r.max_session_duration));
  WriteTags(w, r.tags);
}

void WritePolicyFields(XmlWriter& w, const iam::ManagedPolicy& p) {
  w.Element("PolicyName", p.name)
      .Element("PolicyId", p.policy_id)
      .Element("Arn", p.arn)
      .Element("Path", p.path)
      .Element("DefaultVersionId", p.default_version_id)
      .Element("AttachmentCount", std::to_string(p.attachment_count))
      .Element("PermissionsBoundaryUsageCount", "0")
      .Element("IsAttachable", "true");
  if (!p.description.empty()) w.Element("Description", p.description);
  w.Element("CreateDate", Date(p.created_ms)).Element("UpdateDate", Date(p.updated_ms));
  WriteTags(w, p.tags);
}

void WriteVersionFields(XmlWriter& w, const iam::PolicyVersion& v) {
  if (!v.document.empty()) w.Element("Document", UrlEncodeDocument(v.document));
  w.Element("VersionId", v.version_id)
      .Element("IsDefaultVersion", Bool(v.is_default))
      .Element("CreateDate", Date(v.created_ms));
}

void WriteStringList(XmlWriter& w, std::string_view name, const std::vector<std::string>& items) {
  w.Open(name);
  for (const auto& item : items) w.Element("member", item);
  w.Close(name);
}

// ---- operations ---------------------------------------------------------------------------------

using Operation = Result<std::string> (*)(Directory&, const RequestContext&, const QueryParams&);

std::string TagsPage(const iam::Page<std::pair<std::string, std::string>>& page) {
  XmlWriter w;
  WriteTags(w, page.items, /*always=*/true);
  WritePaging(w, page);
  return w.Take();
}

// Users.

Result<std::string> CreateUser(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_RETURN_IF_ERROR(RefusePermissionsBoundary(p));
  iam::CreateUserInput in;
  ARCA_ASSIGN_OR_RETURN(in.user_name, Required(p, "UserName"));
  in.path = Optional(p, "Path");
  in.tags = TagsOf(p);
  ARCA_ASSIGN_OR_RETURN(iam::User user, d.CreateUser(ctx, in));
  XmlWriter w;
  w.Open("User");
  WriteUserFields(w, user);
  w.Close("User");
  return w.Take();
}

Result<std::string> GetUser(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(iam::User user, d.GetUser(ctx, Optional(p, "UserName")));
  XmlWriter w;
  w.Open("User");
  WriteUserFields(w, user);
  w.Close("User");
  return w.Take();
}

Result<std::string> ListUsers(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListUsers(ctx, Optional(p, "PathPrefix"), page));
  XmlWriter w;
  w.Open("Users");
  for (const auto& u : out.items) {
    w.Open("member");
    WriteUserFields(w, u);
    w.Close("member");
  }
  w.Close("Users");
  WritePaging(w, out);
  return w.Take();
}

Result<std::string> DeleteUser(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_RETURN_IF_ERROR(d.DeleteUser(ctx, name));
  return std::string();
}

Result<std::string> TagUser(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(iam::Tags tags, RequiredTags(p));
  ARCA_RETURN_IF_ERROR(d.TagUser(ctx, name, tags));
  return std::string();
}

Result<std::string> UntagUser(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(auto keys, RequiredList(p, "TagKeys"));
  ARCA_RETURN_IF_ERROR(d.UntagUser(ctx, name, keys));
  return std::string();
}

Result<std::string> ListUserTags(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListUserTags(ctx, name, page));
  return TagsPage(out);
}

// Access keys.

Result<std::string> CreateAccessKey(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(iam::CreatedAccessKey out, d.CreateAccessKey(ctx, Optional(p, "UserName")));
  XmlWriter w;
  w.Open("AccessKey");
  if (!out.key.user_name.empty()) w.Element("UserName", out.key.user_name);
  w.Element("AccessKeyId", out.key.access_key_id)
      .Element("Status", out.key.status)
      // The secret's alphabet (base64) needs no escaping; Raw avoids an unwiped escaped copy.
      .Open("SecretAccessKey")
      .Raw(out.secret_access_key.view())
      .Close("SecretAccessKey")
      .Element("CreateDate", Date(out.key.created_ms))
      .Close("AccessKey");
  return w.Take();
}

Result<std::string> ListAccessKeys(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListAccessKeys(ctx, Optional(p, "UserName"), page));
  XmlWriter w;
  w.Open("AccessKeyMetadata");
  for (const auto& k : out.items) {
    w.Open("member");
    if (!k.user_name.empty()) w.Element("UserName", k.user_name);
    w.Element("AccessKeyId", k.access_key_id)
        .Element("Status", k.status)
        .Element("CreateDate", Date(k.created_ms))
        .Close("member");
  }
  w.Close("AccessKeyMetadata");
  WritePaging(w, out);
  return w.Take();
}

Result<std::string> UpdateAccessKey(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string id, Required(p, "AccessKeyId"));
  ARCA_ASSIGN_OR_RETURN(std::string status, Required(p, "Status"));
  ARCA_RETURN_IF_ERROR(d.UpdateAccessKey(ctx, Optional(p, "UserName"), id, status));
  return std::string();
}

Result<std::string> DeleteAccessKey(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string id, Required(p, "AccessKeyId"));
  ARCA_RETURN_IF_ERROR(d.DeleteAccessKey(ctx, Optional(p, "UserName"), id));
  return std::string();
}

// Roles.

Result<std::string> CreateRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_RETURN_IF_ERROR(RefusePermissionsBoundary(p));
  iam::CreateRoleInput in;
  ARCA_ASSIGN_OR_RETURN(in.role_name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(in.assume_role_policy_document, Required(p, "AssumeRolePolicyDocument"));
  in.path = Optional(p, "Path");
  in.description = Optional(p, "Description");
  ARCA_ASSIGN_OR_RETURN(in.max_session_duration, IntMember(p, "MaxSessionDuration"));
  in.tags = TagsOf(p);
  ARCA_ASSIGN_OR_RETURN(iam::Role role, d.CreateRole(ctx, in));
  XmlWriter w;
  w.Open("Role");
  WriteRoleFields(w, role);
  w.Close("Role");
  return w.Take();
}

Result<std::string> GetRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(iam::Role role, d.GetRole(ctx, name));
  XmlWriter w;
  w.Open("Role");
  WriteRoleFields(w, role);
  w.Open("RoleLastUsed").Close("RoleLastUsed");
  w.Close("Role");
  return w.Take();
}

Result<std::string> ListRoles(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListRoles(ctx, Optional(p, "PathPrefix"), page));
  XmlWriter w;
  w.Open("Roles");
  for (const auto& r : out.items) {
    w.Open("member");
    WriteRoleFields(w, r);
    w.Close("member");
  }
  w.Close("Roles");
  WritePaging(w, out);
  return w.Take();
}

Result<std::string> DeleteRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_RETURN_IF_ERROR(d.DeleteRole(ctx, name));
  return std::string();
}

Result<std::string> UpdateRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  iam::UpdateRoleInput in;
  ARCA_ASSIGN_OR_RETURN(in.role_name, Required(p, "RoleName"));
  in.description = Optional(p, "Description");
  ARCA_ASSIGN_OR_RETURN(in.max_session_duration, IntMember(p, "MaxSessionDuration"));
  ARCA_RETURN_IF_ERROR(d.UpdateRole(ctx, in));
  // UpdateRole's output is an empty structure that botocore still expects wrapped in an
  // <UpdateRoleResult> element; the protocol writes that element only around a non-empty result.
  return std::string(" ");
}

Result<std::string> UpdateAssumeRolePolicy(Directory& d, const RequestContext& ctx,
                                           const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string document, Required(p, "PolicyDocument"));
  ARCA_RETURN_IF_ERROR(d.UpdateAssumeRolePolicy(ctx, name, document));
  return std::string();
}

Result<std::string> TagRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(iam::Tags tags, RequiredTags(p));
  ARCA_RETURN_IF_ERROR(d.TagRole(ctx, name, tags));
  return std::string();
}

Result<std::string> UntagRole(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(auto keys, RequiredList(p, "TagKeys"));
  ARCA_RETURN_IF_ERROR(d.UntagRole(ctx, name, keys));
  return std::string();
}

Result<std::string> ListRoleTags(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListRoleTags(ctx, name, page));
  return TagsPage(out);
}

// Managed policies.

Result<std::string> CreatePolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  iam::CreatePolicyInput in;
  ARCA_ASSIGN_OR_RETURN(in.policy_name, Required(p, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(in.policy_document, Required(p, "PolicyDocument"));
  in.path = Optional(p, "Path");
  in.description = Optional(p, "Description");
  in.tags = TagsOf(p);
  ARCA_ASSIGN_OR_RETURN(iam::ManagedPolicy policy, d.CreatePolicy(ctx, in));
  XmlWriter w;
  w.Open("Policy");
  WritePolicyFields(w, policy);
  w.Close("Policy");
  return w.Take();
}

Result<std::string> GetPolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(iam::ManagedPolicy policy, d.GetPolicy(ctx, arn));
  XmlWriter w;
  w.Open("Policy");
  WritePolicyFields(w, policy);
  w.Close("Policy");
  return w.Take();
}

Result<std::string> ListPolicies(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  iam::ListPoliciesInput in;
  in.scope = Optional(p, "Scope");
  ARCA_ASSIGN_OR_RETURN(auto only_attached, BoolMember(p, "OnlyAttached"));
  in.only_attached = only_attached.value_or(false);
  in.path_prefix = Optional(p, "PathPrefix");
  in.policy_usage_filter = Optional(p, "PolicyUsageFilter");
  ARCA_ASSIGN_OR_RETURN(in.page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListPolicies(ctx, in));
  XmlWriter w;
  w.Open("Policies");
  for (const auto& policy : out.items) {
    w.Open("member");
    WritePolicyFields(w, policy);
    w.Close("member");
  }
  w.Close("Policies");
  WritePaging(w, out);
  return w.Take();
}

Result<std::string> DeletePolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_RETURN_IF_ERROR(d.DeletePolicy(ctx, arn));
  return std::string();
}

Result<std::string> CreatePolicyVersion(Directory& d, const RequestContext& ctx,
                                        const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(std::string document, Required(p, "PolicyDocument"));
  ARCA_ASSIGN_OR_RETURN(auto set_as_default, BoolMember(p, "SetAsDefault"));
  ARCA_ASSIGN_OR_RETURN(iam::PolicyVersion version,
                        d.CreatePolicyVersion(ctx, arn, document, set_as_default.value_or(false)));
  version.document.clear();  // IAM does not echo the document here
  XmlWriter w;
  w.Open("PolicyVersion");
  WriteVersionFields(w, version);
  w.Close("PolicyVersion");
  return w.Take();
}

Result<std::string> GetPolicyVersion(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(std::string version_id, Required(p, "VersionId"));
  ARCA_ASSIGN_OR_RETURN(iam::PolicyVersion version, d.GetPolicyVersion(ctx, arn, version_id));
  XmlWriter w;
  w.Open("PolicyVersion");
  WriteVersionFields(w, version);
  w.Close("PolicyVersion");
  return w.Take();
}

Result<std::string> ListPolicyVersions(Directory& d, const RequestContext& ctx,
                                       const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListPolicyVersions(ctx, arn, page));
  XmlWriter w;
  w.Open("Versions");
  for (const auto& v : out.items) {
    w.Open("member");
    WriteVersionFields(w, v);
    w.Close("member");
  }
  w.Close("Versions");
  WritePaging(w, out);
  return w.Take();
}

Result<std::string> DeletePolicyVersion(Directory& d, const RequestContext& ctx,
                                        const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(std::string version_id, Required(p, "VersionId"));
  ARCA_RETURN_IF_ERROR(d.DeletePolicyVersion(ctx, arn, version_id));
  return std::string();
}

Result<std::string> SetDefaultPolicyVersion(Directory& d, const RequestContext& ctx,
                                            const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_ASSIGN_OR_RETURN(std::string version_id, Required(p, "VersionId"));
  ARCA_RETURN_IF_ERROR(d.SetDefaultPolicyVersion(ctx, arn, version_id));
  return std::string();
}

// Attachments.

std::string AttachedPage(const iam::Page<iam::AttachedPolicy>& page) {
  XmlWriter w;
  w.Open("AttachedPolicies");
  for (const auto& a : page.items) {
    w.Open("member")
        .Element("PolicyName", a.policy_name)
        .Element("PolicyArn", a.policy_arn)
        .Close("member");
  }
  w.Close("AttachedPolicies");
  WritePaging(w, page);
  return w.Take();
}

Result<std::string> AttachUserPolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_RETURN_IF_ERROR(d.AttachUserPolicy(ctx, name, arn));
  return std::string();
}

Result<std::string> DetachUserPolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_RETURN_IF_ERROR(d.DetachUserPolicy(ctx, name, arn));
  return std::string();
}

Result<std::string> ListAttachedUserPolicies(Directory& d, const RequestContext& ctx,
                                             const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out,
                        d.ListAttachedUserPolicies(ctx, name, Optional(p, "PathPrefix"), page));
  return AttachedPage(out);
}

Result<std::string> AttachRolePolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_RETURN_IF_ERROR(d.AttachRolePolicy(ctx, name, arn));
  return std::string();
}

Result<std::string> DetachRolePolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "PolicyArn"));
  ARCA_RETURN_IF_ERROR(d.DetachRolePolicy(ctx, name, arn));
  return std::string();
}

Result<std::string> ListAttachedRolePolicies(Directory& d, const RequestContext& ctx,
                                             const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out,
                        d.ListAttachedRolePolicies(ctx, name, Optional(p, "PathPrefix"), page));
  return AttachedPage(out);
}

// Inline policies.

std::string NamesPage(const iam::Page<std::string>& page) {
  XmlWriter w;
  WriteStringList(w, "PolicyNames", page.items);
  WritePaging(w, page);
  return w.Take();
}

Result<std::string> PutUserPolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(std::string document, Required(p, "PolicyDocument"));
  ARCA_RETURN_IF_ERROR(d.PutUserPolicy(ctx, name, policy_name, document));
  return std::string();
}

Result<std::string> GetUserPolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(iam::InlinePolicy out, d.GetUserPolicy(ctx, name, policy_name));
  XmlWriter w;
  w.Element("UserName", out.owner_name)
      .Element("PolicyName", out.policy_name)
      .Element("PolicyDocument", UrlEncodeDocument(out.document));
  return w.Take();
}

Result<std::string> ListUserPolicies(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListUserPolicies(ctx, name, page));
  return NamesPage(out);
}

Result<std::string> DeleteUserPolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "UserName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_RETURN_IF_ERROR(d.DeleteUserPolicy(ctx, name, policy_name));
  return std::string();
}

Result<std::string> PutRolePolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(std::string document, Required(p, "PolicyDocument"));
  ARCA_RETURN_IF_ERROR(d.PutRolePolicy(ctx, name, policy_name, document));
  return std::string();
}

Result<std::string> GetRolePolicy(Directory& d, const RequestContext& ctx, const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_ASSIGN_OR_RETURN(iam::InlinePolicy out, d.GetRolePolicy(ctx, name, policy_name));
  XmlWriter w;
  w.Element("RoleName", out.owner_name)
      .Element("PolicyName", out.policy_name)
      .Element("PolicyDocument", UrlEncodeDocument(out.document));
  return w.Take();
}

Result<std::string> ListRolePolicies(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListRolePolicies(ctx, name, page));
  return NamesPage(out);
}

Result<std::string> DeleteRolePolicy(Directory& d, const RequestContext& ctx,
                                     const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string name, Required(p, "RoleName"));
  ARCA_ASSIGN_OR_RETURN(std::string policy_name, Required(p, "PolicyName"));
  ARCA_RETURN_IF_ERROR(d.DeleteRolePolicy(ctx, name, policy_name));
  return std::string();
}

// OpenID Connect providers.

Result<std::string> CreateOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                                const QueryParams& p) {
  iam::CreateOidcProviderInput in;
  ARCA_ASSIGN_OR_RETURN(in.url, Required(p, "Url"));
  in.client_ids = p.List("ClientIDList");
  in.thumbprints = p.List("ThumbprintList");
  in.tags = TagsOf(p);
  ARCA_ASSIGN_OR_RETURN(iam::OidcProvider out, d.CreateOpenIDConnectProvider(ctx, in));
  XmlWriter w;
  w.Element("OpenIDConnectProviderArn", out.arn);
  WriteTags(w, out.tags);
  return w.Take();
}

Result<std::string> GetOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                             const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(iam::OidcProvider out, d.GetOpenIDConnectProvider(ctx, arn));
  XmlWriter w;
  w.Element("Url", out.url);
  WriteStringList(w, "ClientIDList", out.client_ids);
  WriteStringList(w, "ThumbprintList", out.thumbprints);
  w.Element("CreateDate", Date(out.created_ms));
  WriteTags(w, out.tags);
  return w.Take();
}

Result<std::string> ListOpenIDConnectProviders(Directory& d, const RequestContext& ctx,
                                               const QueryParams&) {
  ARCA_ASSIGN_OR_RETURN(auto arns, d.ListOpenIDConnectProviders(ctx));
  XmlWriter w;
  w.Open("OpenIDConnectProviderList");
  for (const auto& arn : arns) w.Open("member").Element("Arn", arn).Close("member");
  w.Close("OpenIDConnectProviderList");
  return w.Take();
}

Result<std::string> DeleteOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                                const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_RETURN_IF_ERROR(d.DeleteOpenIDConnectProvider(ctx, arn));
  return std::string();
}

Result<std::string> AddClientIDToOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                                       const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(std::string client_id, Required(p, "ClientID"));
  ARCA_RETURN_IF_ERROR(d.AddClientIDToOpenIDConnectProvider(ctx, arn, client_id));
  return std::string();
}

Result<std::string> RemoveClientIDFromOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                                            const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(std::string client_id, Required(p, "ClientID"));
  ARCA_RETURN_IF_ERROR(d.RemoveClientIDFromOpenIDConnectProvider(ctx, arn, client_id));
  return std::string();
}

Result<std::string> UpdateOpenIDConnectProviderThumbprint(Directory& d, const RequestContext& ctx,
                                                          const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(auto thumbprints, RequiredList(p, "ThumbprintList"));
  ARCA_RETURN_IF_ERROR(d.UpdateOpenIDConnectProviderThumbprint(ctx, arn, thumbprints));
  return std::string();
}

Result<std::string> TagOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                             const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(iam::Tags tags, RequiredTags(p));
  ARCA_RETURN_IF_ERROR(d.TagOpenIDConnectProvider(ctx, arn, tags));
  return std::string();
}

Result<std::string> UntagOpenIDConnectProvider(Directory& d, const RequestContext& ctx,
                                               const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(auto keys, RequiredList(p, "TagKeys"));
  ARCA_RETURN_IF_ERROR(d.UntagOpenIDConnectProvider(ctx, arn, keys));
  return std::string();
}

Result<std::string> ListOpenIDConnectProviderTags(Directory& d, const RequestContext& ctx,
                                                  const QueryParams& p) {
  ARCA_ASSIGN_OR_RETURN(std::string arn, Required(p, "OpenIDConnectProviderArn"));
  ARCA_ASSIGN_OR_RETURN(iam::PageInput page, PageOf(p));
  ARCA_ASSIGN_OR_RETURN(auto out, d.ListOpenIDConnectProviderTags(ctx, arn, page));
  return TagsPage(out);
}

const std::unordered_map<std::string_view, Operation>& Operations() {
  static const auto* table = new std::unordered_map<std::string_view, Operation>{
      {"AddClientIDToOpenIDConnectProvider", &AddClientIDToOpenIDConnectProvider},
      {"AttachRolePolicy", &AttachRolePolicy},
      {"AttachUserPolicy", &AttachUserPolicy},
      {"CreateAccessKey", &CreateAccessKey},
      {"CreateOpenIDConnectProvider", &CreateOpenIDConnectProvider},
      {"CreatePolicy", &CreatePolicy},
      {"CreatePolicyVersion", &CreatePolicyVersion},
      {"CreateRole", &CreateRole},
      {"CreateUser", &CreateUser},
      {"DeleteAccessKey", &DeleteAccessKey},
      {"DeleteOpenIDConnectProvider", &DeleteOpenIDConnectProvider},
      {"DeletePolicy", &DeletePolicy},
      {"DeletePolicyVersion", &DeletePolicyVersion},
      {"DeleteRole", &DeleteRole},
      {"DeleteRolePolicy", &DeleteRolePolicy},
      {"DeleteUser", &DeleteUser},
      {"DeleteUserPolicy", &DeleteUserPolicy},
      {"DetachRolePolicy", &DetachRolePolicy},
      {"DetachUserPolicy", &DetachUserPolicy},
      {"GetOpenIDConnectProvider", &GetOpenIDConnectProvider},
      {"GetPolicy", &GetPolicy},
      {"GetPolicyVersion", &GetPolicyVersion},
      {"GetRole", &GetRole},
      {"GetRolePolicy", &GetRolePolicy},
      {"GetUser", &GetUser},
      {"GetUserPolicy", &GetUserPolicy},
      {"ListAccessKeys", &ListAccessKeys},
      {"ListAttachedRolePolicies", &ListAttachedRolePolicies},
      {"ListAttachedUserPolicies", &ListAttachedUserPolicies},
      {"ListOpenIDConnectProviderTags", &ListOpenIDConnectProviderTags},
      {"ListOpenIDConnectProviders", &ListOpenIDConnectProviders},
      {"ListPolicies", &ListPolicies},
      {"ListPolicyVersions", &ListPolicyVersions},
      {"ListRolePolicies", &ListRolePolicies},
      {"ListRoleTags", &ListRoleTags},
      {"ListRoles", &ListRoles},
      {"ListUserPolicies", &ListUserPolicies},
      {"ListUserTags", &ListUserTags},
      {"ListUsers", &ListUsers},
      {"PutRolePolicy", &PutRolePolicy},
      {"PutUserPolicy", &PutUserPolicy},
      {"RemoveClientIDFromOpenIDConnectProvider", &RemoveClientIDFromOpenIDConnectProvider},
      {"SetDefaultPolicyVersion", &SetDefaultPolicyVersion},
      {"TagOpenIDConnectProvider", &TagOpenIDConnectProvider},
      {"TagRole", &TagRole},
      {"TagUser", &TagUser},
      {"UntagOpenIDConnectProvider", &UntagOpenIDConnectProvider},
      {"UntagRole", &UntagRole},
      {"UntagUser", &UntagUser},
      {"UpdateAccessKey", &UpdateAccessKey},
      {"UpdateAssumeRolePolicy", &UpdateAssumeRolePolicy},
      {"UpdateOpenIDConnectProviderThumbprint", &UpdateOpenIDConnectProviderThumbprint},
      {"UpdateRole", &UpdateRole},
  };
  return *table;
}

}  // namespace

std::string UrlEncodeDocument(std::string_view document) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(document.size() * 2);
  for (char c : document) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0f];
    }
  }
  return out;
}

IamFrontend::IamFrontend(iam::Directory& directory) : directory_(directory) {}

bool IamFrontend::HasOperation(std::string_view action) const {
  return Operations().contains(action);
}

QueryErrorShape IamFrontend::ErrorShapeOf(const Error& error) const {
  switch (error.code()) {
    case Code::kNotFound:
      return {"NoSuchEntity", "Sender", 404};
    case Code::kAlreadyExists:
      return {"EntityAlreadyExists", "Sender", 409};
    case Code::kInvalidRequest:
      return {"DeleteConflict", "Sender", 409};
    case Code::kLimitExceeded:
      return {"LimitExceeded", "Sender", 409};
    case Code::kMalformedPolicy:
      return {"MalformedPolicyDocument", "Sender", 400};
    case Code::kValidation:
      return {"ValidationError", "Sender", 400};
    case Code::kInvalidParameter:
    case Code::kInvalidNextToken:
    case Code::kPreconditionNotMet:
      return {"InvalidInput", "Sender", 400};
    case Code::kAccessDenied:
      return {"AccessDenied", "Sender", 403};
    case Code::kExpiredToken:
      return {"ExpiredToken", "Sender", 403};
    case Code::kUnrecognizedClient:
      return {"InvalidClientTokenId", "Sender", 403};
    case Code::kUnavailable:
      return {"ServiceUnavailable", "Receiver", 503};
    default:
      break;
  }
  return {"ServiceFailure", "Receiver", 500};
}

Result<std::string> IamFrontend::Invoke(const OperationContext& ctx, const QueryParams& params) {
  auto it = Operations().find(ctx.operation);
  if (it == Operations().end()) {
    return Error(Code::kUnknownOperation,
                 "Could not find operation " + ctx.operation + " for version 2010-05-08");
  }
  RequestContext request;
  request.request_id = ctx.request_id;
  request.gate = ctx.gate;
  request.caller = &ctx.caller;
  return it->second(directory_, request, params);
}

}  // namespace arca::frontends::aws
