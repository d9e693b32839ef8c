#include "params/meta.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace arca::params {

namespace bj = boost::json;

namespace {

Error Corrupt(std::string_view what) {
  return Error(Code::kInternal, "stored parameter metadata is invalid", std::string(what));
}

Result<bj::object> ParseObject(std::string_view json, std::string_view what) {
  auto parsed = json::Parse(json);
  if (!parsed.ok() || !parsed->is_object()) return Corrupt(what);
  return std::move(parsed->get_object());
}

void PutOpt(bj::object& o, std::string_view key, const std::optional<std::string>& v) {
  if (v) o[key] = *v;
}

}  // namespace

std::string ParamMeta::ToJson() const {
  bj::object o;
  o["name"] = name;
  bj::array t;
  for (const Tag& tag : tags) t.push_back(bj::object{{"k", tag.key}, {"v", tag.value}});
  o["tags"] = std::move(t);
  if (expires_ms) o["expires_ms"] = *expires_ms;
  return bj::serialize(o);
}

Result<ParamMeta> ParamMeta::FromJson(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(bj::object o, ParseObject(text, "parameter meta"));
  ParamMeta m;
  auto name = json::GetString(o, "name");
  if (!name.ok() || !name->has_value()) return Corrupt("parameter meta: name");
  m.name = std::move(**name);
  auto tags = json::GetArray(o, "tags");
  if (!tags.ok()) return Corrupt("parameter meta: tags");
  if (*tags != nullptr) {
    for (const bj::value& v : **tags) {
      if (!v.is_object()) return Corrupt("parameter meta: tag");
      auto k = json::GetString(v.get_object(), "k");
      auto val = json::GetString(v.get_object(), "v");
      if (!k.ok() || !val.ok() || !k->has_value()) return Corrupt("parameter meta: tag");
      m.tags.push_back(Tag{std::move(**k), val->value_or("")});
    }
  }
  auto expires = json::GetInt(o, "expires_ms");
  if (!expires.ok()) return Corrupt("parameter meta: expires_ms");
  m.expires_ms = *expires;
  return m;
}

std::string VersionMeta::ToJson() const {
  bj::object o;
  o["type"] = type;
  PutOpt(o, "key_id", key_id);
  PutOpt(o, "key_arn", key_arn);
  PutOpt(o, "description", description);
  PutOpt(o, "allowed_pattern", allowed_pattern);
  o["tier"] = tier;
  if (!policies.empty()) {
    bj::array p;
    for (const StoredPolicy& sp : policies) p.push_back(bj::object{{"type", sp.type}, {"text", sp.text}});
    o["policies"] = std::move(p);
  }
  o["data_type"] = data_type;
  o["user"] = user;
  return bj::serialize(o);
}

Result<VersionMeta> VersionMeta::FromJson(std::string_view text) {
  ARCA_ASSIGN_OR_RETURN(bj::object o, ParseObject(text, "parameter version meta"));
  VersionMeta m;
  auto str = [&](std::string_view key, std::optional<std::string>* out) -> Status {
    auto v = json::GetString(o, key);
    if (!v.ok()) return Corrupt("parameter version meta: " + std::string(key));
    *out = std::move(*v);
    return OkStatus();
  };
  std::optional<std::string> type, tier, data_type, user;
  ARCA_RETURN_IF_ERROR(str("type", &type));
  ARCA_RETURN_IF_ERROR(str("key_id", &m.key_id));
  ARCA_RETURN_IF_ERROR(str("key_arn", &m.key_arn));
  ARCA_RETURN_IF_ERROR(str("description", &m.description));
  ARCA_RETURN_IF_ERROR(str("allowed_pattern", &m.allowed_pattern));
  ARCA_RETURN_IF_ERROR(str("tier", &tier));
  ARCA_RETURN_IF_ERROR(str("data_type", &data_type));
  ARCA_RETURN_IF_ERROR(str("user", &user));
  if (!type) return Corrupt("parameter version meta: type");
  m.type = std::move(*type);
  if (tier) m.tier = std::move(*tier);
  if (data_type) m.data_type = std::move(*data_type);
  if (user) m.user = std::move(*user);
  auto policies = json::GetArray(o, "policies");
  if (!policies.ok()) return Corrupt("parameter version meta: policies");
  if (*policies != nullptr) {
    for (const bj::value& v : **policies) {
      if (!v.is_object()) return Corrupt("parameter version meta: policy");
      auto t = json::GetString(v.get_object(), "type");
      auto x = json::GetString(v.get_object(), "text");
      if (!t.ok() || !x.ok() || !t->has_value() || !x->has_value()) {
        return Corrupt("parameter version meta: policy");
      }
      m.policies.push_back(StoredPolicy{std::move(**t), std::move(**x)});
    }
  }
  return m;
}

}  // namespace arca::params
