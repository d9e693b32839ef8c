#include "frontends/aws/ssm.h"

#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/secret_bytes.h"
#include "frontends/aws/json_writer.h"

namespace arca::frontends::aws {

namespace {

namespace bj = boost::json;
using params::Context;
using params::ParamsService;

// ---- decoding -----------------------------------------------------------------------------------

// "Name" -> "name": how AWS's validation messages name members.
std::string MemberName(std::string_view member) {
  std::string out(member);
  if (!out.empty() && out[0] >= 'A' && out[0] <= 'Z') out[0] = static_cast<char>(out[0] - 'A' + 'a');
  return out;
}

Error Missing(std::string_view member) {
  return Error(Code::kValidation, "1 validation error detected: Value null at '" + MemberName(member) +
                                      "' failed to satisfy constraint: Member must not be null");
}

Error BadType(std::string_view member, std::string_view want) {
  return Error(Code::kSerialization,
               "Unexpected value type for " + std::string(member) + ": expected " + std::string(want) + ".");
}

Result<std::string> RequiredString(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::string> v, json::GetString(o, key));
  if (!v.has_value()) return Missing(key);
  return std::move(*v);
}

Result<std::optional<std::vector<std::string>>> OptStringList(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(const bj::array* a, json::GetArray(o, key));
  if (a == nullptr) return std::optional<std::vector<std::string>>();
  std::vector<std::string> out;
  out.reserve(a->size());
  for (const bj::value& v : *a) {
    if (!v.is_string()) return BadType(key, "a list of strings");
    out.emplace_back(v.get_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::vector<std::string>> RequiredStringList(const bj::object& o, std::string_view key) {
  ARCA_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> v, OptStringList(o, key));
  if (!v.has_value()) return Missing(key);
  return std::move(*v);
}

bool Flag(const std::optional<bool>& b) { return b.value_or(false); }

template <typename Fn>
Result<bool> ForEachStruct(const bj::object& o, std::string_view key, Fn one) {
  ARCA_ASSIGN_OR_RETURN(const bj::array* a, json::GetArray(o, key));
  if (a == nullptr) return false;
  for (const bj::value& v : *a) {
    if (!v.is_object()) return BadType(key, "a list of structures");
    ARCA_RETURN_IF_ERROR(one(v.get_object()));
  }
  return true;
}

Result<std::optional<std::vector<params::Tag>>> OptTags(const bj::object& o, std::string_view key) {
  std::vector<params::Tag> tags;
  ARCA_ASSIGN_OR_RETURN(bool present, ForEachStruct(o, key, [&](const bj::object& t) -> Status {
    params::Tag tag;
    ARCA_ASSIGN_OR_RETURN(tag.key, RequiredString(t, "Key"));
    ARCA_ASSIGN_OR_RETURN(tag.value, RequiredString(t, "Value"));
    tags.push_back(std::move(tag));
    return OkStatus();
  }));
  if (!present) return std::optional<std::vector<params::Tag>>();
  return std::optional<std::vector<params::Tag>>(std::move(tags));
}

Result<std::vector<params::StringFilter>> StringFilters(const bj::object& o) {
  std::vector<params::StringFilter> filters;
  ARCA_ASSIGN_OR_RETURN(bool present, ForEachStruct(o, "ParameterFilters", [&](const bj::object& f) -> Status {
    params::StringFilter filter;
    ARCA_ASSIGN_OR_RETURN(filter.key, RequiredString(f, "Key"));
    ARCA_ASSIGN_OR_RETURN(filter.option, json::GetString(f, "Option"));
    ARCA_ASSIGN_OR_RETURN(filter.values, OptStringList(f, "Values"));
    filters.push_back(std::move(filter));
    return OkStatus();
  }));
  (void)present;
  return filters;
}

Result<std::vector<params::LegacyFilter>> LegacyFilters(const bj::object& o) {
  std::vector<params::LegacyFilter> filters;
  ARCA_ASSIGN_OR_RETURN(bool present, ForEachStruct(o, "Filters", [&](const bj::object& f) -> Status {
    params::LegacyFilter filter;
    ARCA_ASSIGN_OR_RETURN(filter.key, RequiredString(f, "Key"));
    ARCA_ASSIGN_OR_RETURN(filter.values, RequiredStringList(f, "Values"));
    filters.push_back(std::move(filter));
    return OkStatus();
  }));
  (void)present;
  return filters;
}

// Takes PutParameter's Value out of the parsed request into SecretBytes, wipes the parsed copy and
// removes the member, so the audit record (built from what is left) never holds it.
Result<SecretBytes> TakeValue(bj::object& o) {
  bj::value* v = o.if_contains("Value");
  if (v == nullptr || v->is_null()) {
    o.erase("Value");
    return Missing("Value");
  }
  if (!v->is_string()) {
    o.erase("Value");
    return BadType("Value", "a string");
  }
  bj::string& text = v->get_string();
  SecretBytes value(text.data(), text.size());
  SecureWipe(text.data(), text.size());
  o.erase("Value");
  return value;
}

// ---- encoding -----------------------------------------------------------------------------------

void WriteParameter(JsonWriter& w, const params::Parameter& p) {
  w.BeginObject();
  w.Member("Name", p.name).Member("Type", p.type);
  w.Member("Value", p.value.view());
  w.Member("Version", p.version);
  if (p.selector) w.Member("Selector", *p.selector);
  if (p.source_result) w.Member("SourceResult", *p.source_result);
  w.TimestampMember("LastModifiedDate", p.last_modified_date);
  w.Member("ARN", p.arn).Member("DataType", p.data_type);
  w.EndObject();
}

std::size_t ParametersSize(const std::vector<params::Parameter>& list) {
  std::size_t n = 256;
  for (const auto& p : list) {
    n += 256 + p.name.size() + p.arn.size() + p.value.size() * 9 / 8 +
         (p.source_result ? p.source_result->size() * 9 / 8 : 0);
  }
  return n;
}

void WritePolicies(JsonWriter& w, const std::vector<params::PolicyInfo>& policies) {
  w.Key("Policies").BeginArray();
  for (const auto& p : policies) {
    w.BeginObject()
        .Member("PolicyText", p.text)
        .Member("PolicyType", p.type)
        .Member("PolicyStatus", p.status)
        .EndObject();
  }
  w.EndArray();
}

void WriteTags(JsonWriter& w, std::string_view key, const std::vector<params::Tag>& tags) {
  w.Key(key).BeginArray();
  for (const auto& t : tags) w.BeginObject().Member("Key", t.key).Member("Value", t.value).EndObject();
  w.EndArray();
}

// ---- operations ---------------------------------------------------------------------------------

Result<std::string> PutParameter(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::PutParameterInput req;
  // First, so the parsed copy of the value is wiped whatever fails next.
  ARCA_ASSIGN_OR_RETURN(req.value, TakeValue(in));
  ARCA_ASSIGN_OR_RETURN(req.name, RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.description, json::GetString(in, "Description"));
  ARCA_ASSIGN_OR_RETURN(req.type, json::GetString(in, "Type"));
  ARCA_ASSIGN_OR_RETURN(req.key_id, json::GetString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.overwrite, json::GetBool(in, "Overwrite"));
  ARCA_ASSIGN_OR_RETURN(req.allowed_pattern, json::GetString(in, "AllowedPattern"));
  ARCA_ASSIGN_OR_RETURN(req.tags, OptTags(in, "Tags"));
  ARCA_ASSIGN_OR_RETURN(req.tier, json::GetString(in, "Tier"));
  ARCA_ASSIGN_OR_RETURN(req.policies, json::GetString(in, "Policies"));
  ARCA_ASSIGN_OR_RETURN(req.data_type, json::GetString(in, "DataType"));
  ARCA_ASSIGN_OR_RETURN(params::PutParameterOutput out, svc.PutParameter(ctx, std::move(req)));
  JsonWriter w;
  w.BeginObject().Member("Version", out.version).Member("Tier", out.tier).EndObject();
  return w.Take();
}

Result<std::string> GetParameter(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::GetParameterInput req;
  ARCA_ASSIGN_OR_RETURN(req.name, RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(auto decrypt, json::GetBool(in, "WithDecryption"));
  req.with_decryption = Flag(decrypt);
  ARCA_ASSIGN_OR_RETURN(params::Parameter p, svc.GetParameter(ctx, req));
  JsonWriter w(256 + p.name.size() + p.arn.size() + p.value.size() * 9 / 8 +
               (p.source_result ? p.source_result->size() * 9 / 8 : 0));
  w.BeginObject().Key("Parameter");
  WriteParameter(w, p);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetParameters(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::GetParametersInput req;
  ARCA_ASSIGN_OR_RETURN(req.names, RequiredStringList(in, "Names"));
  ARCA_ASSIGN_OR_RETURN(auto decrypt, json::GetBool(in, "WithDecryption"));
  req.with_decryption = Flag(decrypt);
  ARCA_ASSIGN_OR_RETURN(params::GetParametersOutput out, svc.GetParameters(ctx, req));
  JsonWriter w(ParametersSize(out.parameters));
  w.BeginObject().Key("Parameters").BeginArray();
  for (const auto& p : out.parameters) WriteParameter(w, p);
  w.EndArray();
  w.StringList("InvalidParameters", out.invalid_parameters).EndObject();
  return w.Take();
}

Result<std::string> GetParametersByPath(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::GetParametersByPathInput req;
  ARCA_ASSIGN_OR_RETURN(req.path, RequiredString(in, "Path"));
  ARCA_ASSIGN_OR_RETURN(auto recursive, json::GetBool(in, "Recursive"));
  req.recursive = Flag(recursive);
  ARCA_ASSIGN_OR_RETURN(req.filters, StringFilters(in));
  ARCA_ASSIGN_OR_RETURN(auto decrypt, json::GetBool(in, "WithDecryption"));
  req.with_decryption = Flag(decrypt);
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(params::GetParametersByPathOutput out, svc.GetParametersByPath(ctx, req));
  JsonWriter w(ParametersSize(out.parameters));
  w.BeginObject().Key("Parameters").BeginArray();
  for (const auto& p : out.parameters) WriteParameter(w, p);
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> DeleteParameter(ParamsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(std::string name, RequiredString(in, "Name"));
  ARCA_RETURN_IF_ERROR(svc.DeleteParameter(ctx, name));
  return std::string("{}");
}

Result<std::string> DeleteParameters(ParamsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> names, RequiredStringList(in, "Names"));
  ARCA_ASSIGN_OR_RETURN(params::DeleteParametersOutput out, svc.DeleteParameters(ctx, names));
  JsonWriter w;
  w.BeginObject()
      .StringList("DeletedParameters", out.deleted_parameters)
      .StringList("InvalidParameters", out.invalid_parameters)
      .EndObject();
  return w.Take();
}

Result<std::string> DescribeParameters(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::DescribeParametersInput req;
  ARCA_ASSIGN_OR_RETURN(req.filters, LegacyFilters(in));
  ARCA_ASSIGN_OR_RETURN(req.parameter_filters, StringFilters(in));
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(auto shared, json::GetBool(in, "Shared"));
  req.shared = Flag(shared);
  ARCA_ASSIGN_OR_RETURN(params::DescribeParametersOutput out, svc.DescribeParameters(ctx, req));
  JsonWriter w(256 + out.parameters.size() * 512);
  w.BeginObject().Key("Parameters").BeginArray();
  for (const auto& m : out.parameters) {
    w.BeginObject().Member("Name", m.name).Member("ARN", m.arn).Member("Type", m.type);
    if (m.key_id) w.Member("KeyId", *m.key_id);
    w.TimestampMember("LastModifiedDate", m.last_modified_date);
    w.Member("LastModifiedUser", m.last_modified_user);
    if (m.description) w.Member("Description", *m.description);
    if (m.allowed_pattern) w.Member("AllowedPattern", *m.allowed_pattern);
    w.Member("Version", m.version).Member("Tier", m.tier);
    WritePolicies(w, m.policies);
    w.Member("DataType", m.data_type).EndObject();
  }
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> GetParameterHistory(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::GetParameterHistoryInput req;
  ARCA_ASSIGN_OR_RETURN(req.name, RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(auto decrypt, json::GetBool(in, "WithDecryption"));
  req.with_decryption = Flag(decrypt);
  ARCA_ASSIGN_OR_RETURN(req.max_results, json::GetInt(in, "MaxResults"));
  ARCA_ASSIGN_OR_RETURN(req.next_token, json::GetString(in, "NextToken"));
  ARCA_ASSIGN_OR_RETURN(params::GetParameterHistoryOutput out, svc.GetParameterHistory(ctx, req));
  std::size_t size = 256;
  for (const auto& e : out.parameters) size += 512 + e.value.size() * 9 / 8;
  JsonWriter w(size);
  w.BeginObject().Key("Parameters").BeginArray();
  for (const auto& e : out.parameters) {
    w.BeginObject().Member("Name", e.name).Member("Type", e.type);
    if (e.key_id) w.Member("KeyId", *e.key_id);
    w.TimestampMember("LastModifiedDate", e.last_modified_date);
    w.Member("LastModifiedUser", e.last_modified_user);
    if (e.description) w.Member("Description", *e.description);
    w.Member("Value", e.value.view());
    if (e.allowed_pattern) w.Member("AllowedPattern", *e.allowed_pattern);
    w.Member("Version", e.version);
    w.StringList("Labels", e.labels);
    w.Member("Tier", e.tier);
    WritePolicies(w, e.policies);
    w.Member("DataType", e.data_type).EndObject();
  }
  w.EndArray();
  if (out.next_token) w.Member("NextToken", *out.next_token);
  w.EndObject();
  return w.Take();
}

Result<std::string> LabelParameterVersion(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::LabelParameterVersionInput req;
  ARCA_ASSIGN_OR_RETURN(req.name, RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.parameter_version, json::GetInt(in, "ParameterVersion"));
  ARCA_ASSIGN_OR_RETURN(req.labels, RequiredStringList(in, "Labels"));
  ARCA_ASSIGN_OR_RETURN(params::LabelParameterVersionOutput out, svc.LabelParameterVersion(ctx, req));
  JsonWriter w;
  w.BeginObject()
      .StringList("InvalidLabels", out.invalid_labels)
      .Member("ParameterVersion", out.parameter_version)
      .EndObject();
  return w.Take();
}

Result<std::string> UnlabelParameterVersion(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::UnlabelParameterVersionInput req;
  ARCA_ASSIGN_OR_RETURN(req.name, RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.parameter_version, json::GetInt(in, "ParameterVersion"));
  ARCA_ASSIGN_OR_RETURN(req.labels, RequiredStringList(in, "Labels"));
  ARCA_ASSIGN_OR_RETURN(params::UnlabelParameterVersionOutput out, svc.UnlabelParameterVersion(ctx, req));
  JsonWriter w;
  w.BeginObject()
      .StringList("RemovedLabels", out.removed_labels)
      .StringList("InvalidLabels", out.invalid_labels)
      .EndObject();
  return w.Take();
}

Result<std::string> AddTagsToResource(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::AddTagsInput req;
  ARCA_ASSIGN_OR_RETURN(req.resource_type, RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(auto tags, OptTags(in, "Tags"));
  if (!tags) return Missing("Tags");
  req.tags = std::move(*tags);
  ARCA_RETURN_IF_ERROR(svc.AddTagsToResource(ctx, req));
  return std::string("{}");
}

Result<std::string> RemoveTagsFromResource(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::RemoveTagsInput req;
  ARCA_ASSIGN_OR_RETURN(req.resource_type, RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(req.tag_keys, RequiredStringList(in, "TagKeys"));
  ARCA_RETURN_IF_ERROR(svc.RemoveTagsFromResource(ctx, req));
  return std::string("{}");
}

Result<std::string> ListTagsForResource(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::ResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.resource_type, RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(std::vector<params::Tag> tags, svc.ListTagsForResource(ctx, req));
  JsonWriter w;
  w.BeginObject();
  WriteTags(w, "TagList", tags);
  w.EndObject();
  return w.Take();
}

using Operation = Result<std::string> (*)(ParamsService&, const Context&, bj::object&);

const std::unordered_map<std::string_view, Operation>& Operations() {
  static const auto* table = new std::unordered_map<std::string_view, Operation>{
      {"AddTagsToResource", &AddTagsToResource},
      {"DeleteParameter", &DeleteParameter},
      {"DeleteParameters", &DeleteParameters},
      {"DescribeParameters", &DescribeParameters},
      {"GetParameter", &GetParameter},
      {"GetParameterHistory", &GetParameterHistory},
      {"GetParameters", &GetParameters},
      {"GetParametersByPath", &GetParametersByPath},
      {"LabelParameterVersion", &LabelParameterVersion},
      {"ListTagsForResource", &ListTagsForResource},
      {"PutParameter", &PutParameter},
      {"RemoveTagsFromResource", &RemoveTagsFromResource},
      {"UnlabelParameterVersion", &UnlabelParameterVersion},
  };
  return *table;
}

// SSM's names for the errors the domain leaves generic (Secrets Manager's names are the default).
Error WithSsmName(Error e) {
  if (!e.wire_type().empty()) return e;
  switch (e.code()) {
    case Code::kValidation:
    case Code::kMissingParameter:
    case Code::kInvalidParameter:
    case Code::kInvalidRequest:
      return std::move(e).WithWireType("ValidationException");
    case Code::kInvalidNextToken:
      return std::move(e).WithWireType("InvalidNextToken");
    case Code::kNotFound:
      return std::move(e).WithWireType("ParameterNotFound");
    case Code::kAlreadyExists:
      return std::move(e).WithWireType("ParameterAlreadyExists");
    case Code::kInternal:
    case Code::kDecryptionFailure:
    case Code::kEncryptionFailure:
      return std::move(e).WithWireType("InternalServerError");
    default:
      return e;
  }
}

}  // namespace

SsmFrontend::SsmFrontend(params::ParamsService& service) : service_(service) {}

bool SsmFrontend::HasOperation(std::string_view operation) const { return Operations().contains(operation); }

Result<std::string> SsmFrontend::Invoke(const OperationContext& ctx, boost::json::object& input) {
  auto it = Operations().find(ctx.operation);
  if (it == Operations().end()) {
    // PutParameter's value must not survive in the parsed request even when nothing runs.
    if (bj::value* v = input.if_contains("Value"); v != nullptr && v->is_string()) {
      SecureWipe(v->get_string().data(), v->get_string().size());
    }
    return Error(Code::kUnknownOperation, "The operation " + ctx.operation + " is not supported.");
  }
  Context domain_ctx{ctx.region, ctx.request_id, ctx.caller.arn, ctx.gate};
  Result<std::string> out = it->second(service_, domain_ctx, input);
  if (!out.ok()) return WithSsmName(std::move(out).error());
  return out;
}

}  // namespace arca::frontends::aws
