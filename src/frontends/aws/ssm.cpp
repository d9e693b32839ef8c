#include "frontends/aws/ssm.h"

#include <boost/json/string.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "core/secret_bytes.h"
#include "frontends/aws/json_decode.h"
#include "frontends/aws/json_writer.h"

namespace arca::frontends::aws {

namespace {

namespace bj = boost::json;
using params::Context;
using params::ParamsService;

// ---- decoding -----------------------------------------------------------------------------------

constexpr JsonDecoder kDecode(MissingStyle::kValueNull);

Result<params::Tag> TagOf(const bj::object& t) {
  params::Tag tag;
  ARCA_ASSIGN_OR_RETURN(tag.key, kDecode.RequiredString(t, "Key"));
  ARCA_ASSIGN_OR_RETURN(tag.value, kDecode.RequiredString(t, "Value"));
  return tag;
}

Result<std::vector<params::StringFilter>> StringFilters(const bj::object& o) {
  return StructListOrEmpty(o, "ParameterFilters", [](const bj::object& f) -> Result<params::StringFilter> {
    params::StringFilter filter;
    ARCA_ASSIGN_OR_RETURN(filter.key, kDecode.RequiredString(f, "Key"));
    ARCA_ASSIGN_OR_RETURN(filter.option, json::GetString(f, "Option"));
    ARCA_ASSIGN_OR_RETURN(filter.values, OptStringList(f, "Values"));
    return filter;
  });
}

Result<std::vector<params::LegacyFilter>> LegacyFilters(const bj::object& o) {
  return StructListOrEmpty(o, "Filters", [](const bj::object& f) -> Result<params::LegacyFilter> {
    params::LegacyFilter filter;
    ARCA_ASSIGN_OR_RETURN(filter.key, kDecode.RequiredString(f, "Key"));
    ARCA_ASSIGN_OR_RETURN(filter.values, kDecode.RequiredStringList(f, "Values"));
    return filter;
  });
}

// Takes PutParameter's Value out of the parsed request into SecretBytes, wipes the parsed copy and
// removes the member, so the audit record (built from what is left) never holds it.
Result<SecretBytes> TakeValue(bj::object& o) {
  bj::value* v = o.if_contains("Value");
  if (v == nullptr || v->is_null()) {
    o.erase("Value");
    return kDecode.Missing("Value");
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
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.description, json::GetString(in, "Description"));
  ARCA_ASSIGN_OR_RETURN(req.type, json::GetString(in, "Type"));
  ARCA_ASSIGN_OR_RETURN(req.key_id, json::GetString(in, "KeyId"));
  ARCA_ASSIGN_OR_RETURN(req.overwrite, json::GetBool(in, "Overwrite"));
  ARCA_ASSIGN_OR_RETURN(req.allowed_pattern, json::GetString(in, "AllowedPattern"));
  ARCA_ASSIGN_OR_RETURN(req.tags, OptStructList(in, "Tags", TagOf));
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
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.with_decryption, FlagOrFalse(in, "WithDecryption"));
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
  ARCA_ASSIGN_OR_RETURN(req.names, kDecode.RequiredStringList(in, "Names"));
  ARCA_ASSIGN_OR_RETURN(req.with_decryption, FlagOrFalse(in, "WithDecryption"));
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
  ARCA_ASSIGN_OR_RETURN(req.path, kDecode.RequiredString(in, "Path"));
  ARCA_ASSIGN_OR_RETURN(req.recursive, FlagOrFalse(in, "Recursive"));
  ARCA_ASSIGN_OR_RETURN(req.filters, StringFilters(in));
  ARCA_ASSIGN_OR_RETURN(req.with_decryption, FlagOrFalse(in, "WithDecryption"));
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
  ARCA_ASSIGN_OR_RETURN(std::string name, kDecode.RequiredString(in, "Name"));
  ARCA_RETURN_IF_ERROR(svc.DeleteParameter(ctx, name));
  return std::string("{}");
}

Result<std::string> DeleteParameters(ParamsService& svc, const Context& ctx, bj::object& in) {
  ARCA_ASSIGN_OR_RETURN(std::vector<std::string> names, kDecode.RequiredStringList(in, "Names"));
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
  ARCA_ASSIGN_OR_RETURN(req.shared, FlagOrFalse(in, "Shared"));
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
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.with_decryption, FlagOrFalse(in, "WithDecryption"));
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
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.parameter_version, json::GetInt(in, "ParameterVersion"));
  ARCA_ASSIGN_OR_RETURN(req.labels, kDecode.RequiredStringList(in, "Labels"));
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
  ARCA_ASSIGN_OR_RETURN(req.name, kDecode.RequiredString(in, "Name"));
  ARCA_ASSIGN_OR_RETURN(req.parameter_version, json::GetInt(in, "ParameterVersion"));
  ARCA_ASSIGN_OR_RETURN(req.labels, kDecode.RequiredStringList(in, "Labels"));
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
  ARCA_ASSIGN_OR_RETURN(req.resource_type, kDecode.RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, kDecode.RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(req.tags, kDecode.RequiredStructList(in, "Tags", TagOf));
  ARCA_RETURN_IF_ERROR(svc.AddTagsToResource(ctx, req));
  return std::string("{}");
}

Result<std::string> RemoveTagsFromResource(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::RemoveTagsInput req;
  ARCA_ASSIGN_OR_RETURN(req.resource_type, kDecode.RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, kDecode.RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(req.tag_keys, kDecode.RequiredStringList(in, "TagKeys"));
  ARCA_RETURN_IF_ERROR(svc.RemoveTagsFromResource(ctx, req));
  return std::string("{}");
}

Result<std::string> ListTagsForResource(ParamsService& svc, const Context& ctx, bj::object& in) {
  params::ResourceInput req;
  ARCA_ASSIGN_OR_RETURN(req.resource_type, kDecode.RequiredString(in, "ResourceType"));
  ARCA_ASSIGN_OR_RETURN(req.resource_id, kDecode.RequiredString(in, "ResourceId"));
  ARCA_ASSIGN_OR_RETURN(std::vector<params::Tag> tags, svc.ListTagsForResource(ctx, req));
  JsonWriter w;
  w.BeginObject();
  WriteTags(w, "TagList", tags);
  w.EndObject();
  return w.Take();
}

const OperationTable<ParamsService, Context>& Operations() {
  static const auto* table = new OperationTable<ParamsService, Context>{
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
constexpr GenericErrorNames kSsmNames{"ValidationException",    "InvalidNextToken",    "ParameterNotFound",
                                      "ParameterAlreadyExists", "InternalServerError", ""};

}  // namespace

SsmFrontend::SsmFrontend(params::ParamsService& service) : service_(service) {}

bool SsmFrontend::HasOperation(std::string_view operation) const { return Operations().contains(operation); }

Result<std::string> SsmFrontend::Invoke(const OperationContext& ctx, boost::json::object& input) {
  if (!HasOperation(ctx.operation)) {
    // PutParameter's value must not survive in the parsed request even when nothing runs.
    if (bj::value* v = input.if_contains("Value"); v != nullptr && v->is_string()) {
      SecureWipe(v->get_string().data(), v->get_string().size());
    }
  }
  Result<std::string> out = RunOperation(Operations(), service_, ctx, input);
  if (!out.ok()) return WithGenericNames(std::move(out).error(), kSsmNames);
  return out;
}

}  // namespace arca::frontends::aws
