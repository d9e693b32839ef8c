#include "secrets/meta.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace arca::secrets {

namespace bj = boost::json;

namespace {

void PutOpt(bj::object& o, const char* key, const std::optional<std::string>& v) {
  if (v) o[key] = *v;
}
void PutOpt(bj::object& o, const char* key, const std::optional<std::int64_t>& v) {
  if (v) o[key] = *v;
}

std::optional<std::string> OptString(const bj::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return std::nullopt;
  return std::string(it->value().get_string());
}
std::optional<std::int64_t> OptInt(const bj::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_int64()) return std::nullopt;
  return it->value().get_int64();
}

bj::array PairsToJson(const std::vector<Tag>& tags) {
  bj::array a;
  for (const auto& t : tags) a.push_back(bj::array{bj::string(t.key), bj::string(t.value)});
  return a;
}
std::vector<Tag> PairsFromJson(const bj::object& o, const char* key) {
  std::vector<Tag> out;
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_array()) return out;
  for (const auto& p : it->value().get_array()) {
    if (p.is_array() && p.get_array().size() == 2 && p.get_array()[0].is_string() &&
        p.get_array()[1].is_string()) {
      out.push_back({std::string(p.get_array()[0].get_string()),
                     std::string(p.get_array()[1].get_string())});
    }
  }
  return out;
}

}  // namespace

std::string SecretMeta::ToJson() const {
  bj::object o;
  PutOpt(o, "description", description);
  PutOpt(o, "kms_key_id", kms_key_id);
  PutOpt(o, "type", type);
  PutOpt(o, "owning_service", owning_service);
  o["tags"] = PairsToJson(tags);
  o["last_changed_ms"] = last_changed_ms;
  PutOpt(o, "last_accessed_ms", last_accessed_ms);
  bj::object r;
  r["enabled"] = rotation.enabled;
  PutOpt(r, "lambda_arn", rotation.lambda_arn);
  if (rotation.rules) {
    bj::object rules;
    PutOpt(rules, "automatically_after_days", rotation.rules->automatically_after_days);
    PutOpt(rules, "duration", rotation.rules->duration);
    PutOpt(rules, "schedule_expression", rotation.rules->schedule_expression);
    r["rules"] = std::move(rules);
  }
  {
    std::vector<Tag> pairs;
    for (const auto& m : rotation.external_metadata) pairs.push_back({m.key, m.value});
    r["external_metadata"] = PairsToJson(pairs);
  }
  PutOpt(r, "role_arn", rotation.role_arn);
  PutOpt(r, "last_rotated_ms", rotation.last_rotated_ms);
  if (rotation.in_progress) {
    const RotationInProgress& p = *rotation.in_progress;
    bj::object x;
    x["token"] = p.token;
    x["step"] = p.step;
    x["started_ms"] = p.started_ms;
    x["attempts"] = p.attempts;
    x["next_attempt_ms"] = p.next_attempt_ms;
    PutOpt(x, "last_error", p.last_error);
    PutOpt(x, "lease_owner", p.lease_owner);
    x["lease_expires_ms"] = p.lease_expires_ms;
    r["in_progress"] = std::move(x);
  }
  o["rotation"] = std::move(r);
  PutOpt(o, "resource_policy", resource_policy);
  PutOpt(o, "primary_region", primary_region);
  bj::array reps;
  for (const auto& rep : replicas) {
    bj::object x;
    x["region"] = rep.region;
    PutOpt(x, "kms_key_id", rep.kms_key_id);
    x["status"] = rep.status;
    x["status_message"] = rep.status_message;
    reps.push_back(std::move(x));
  }
  o["replicas"] = std::move(reps);
  return bj::serialize(o);
}

Result<SecretMeta> SecretMeta::FromJson(const std::string& text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) {
    return Error(Code::kInternal, "stored secret metadata is corrupt", "meta is not a JSON object");
  }
  const bj::object& o = parsed->get_object();
  SecretMeta m;
  m.description = OptString(o, "description");
  m.kms_key_id = OptString(o, "kms_key_id");
  m.type = OptString(o, "type");
  m.owning_service = OptString(o, "owning_service");
  m.tags = PairsFromJson(o, "tags");
  m.last_changed_ms = OptInt(o, "last_changed_ms").value_or(0);
  m.last_accessed_ms = OptInt(o, "last_accessed_ms");
  if (auto it = o.find("rotation"); it != o.end() && it->value().is_object()) {
    const bj::object& r = it->value().get_object();
    if (auto e = r.find("enabled"); e != r.end() && e->value().is_bool()) {
      m.rotation.enabled = e->value().get_bool();
    }
    m.rotation.lambda_arn = OptString(r, "lambda_arn");
    if (auto rl = r.find("rules"); rl != r.end() && rl->value().is_object()) {
      const bj::object& rules = rl->value().get_object();
      RotationRules rr;
      rr.automatically_after_days = OptInt(rules, "automatically_after_days");
      rr.duration = OptString(rules, "duration");
      rr.schedule_expression = OptString(rules, "schedule_expression");
      m.rotation.rules = rr;
    }
    for (auto& p : PairsFromJson(r, "external_metadata")) {
      m.rotation.external_metadata.push_back({p.key, p.value});
    }
    m.rotation.role_arn = OptString(r, "role_arn");
    m.rotation.last_rotated_ms = OptInt(r, "last_rotated_ms");
    if (auto ip = r.find("in_progress"); ip != r.end() && ip->value().is_object()) {
      const bj::object& x = ip->value().get_object();
      RotationInProgress p;
      p.token = OptString(x, "token").value_or("");
      p.step = OptString(x, "step").value_or("createSecret");
      p.started_ms = OptInt(x, "started_ms").value_or(0);
      p.attempts = OptInt(x, "attempts").value_or(0);
      p.next_attempt_ms = OptInt(x, "next_attempt_ms").value_or(0);
      p.last_error = OptString(x, "last_error");
      p.lease_owner = OptString(x, "lease_owner");
      p.lease_expires_ms = OptInt(x, "lease_expires_ms").value_or(0);
      if (!p.token.empty()) m.rotation.in_progress = std::move(p);
    }
  }
  m.resource_policy = OptString(o, "resource_policy");
  m.primary_region = OptString(o, "primary_region");
  if (auto it = o.find("replicas"); it != o.end() && it->value().is_array()) {
    for (const auto& v : it->value().get_array()) {
      if (!v.is_object()) continue;
      const bj::object& x = v.get_object();
      ReplicaMeta rep;
      rep.region = OptString(x, "region").value_or("");
      rep.kms_key_id = OptString(x, "kms_key_id");
      rep.status = OptString(x, "status").value_or("InSync");
      rep.status_message = OptString(x, "status_message").value_or("");
      m.replicas.push_back(std::move(rep));
    }
  }
  return m;
}

}  // namespace arca::secrets
