#include "kms/key_meta.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace arca::kms {

namespace bj = boost::json;

namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;

Error Corrupt(std::string what) {
  return Error(Code::kInternal, "internal", "stored KMS key metadata is malformed: " + what);
}

}  // namespace

std::int64_t KeyMeta::NextRotationMs() const {
  return rotation_anchor_ms + rotation_period_days * kDayMs;
}

int KeyMeta::OnDemandRotations() const {
  int n = 0;
  for (const RotationRecord& r : rotations) n += r.type == "ON_DEMAND" ? 1 : 0;
  return n;
}

std::string KeyMeta::ToJson() const {
  bj::object o;
  o["state"] = state;
  o["description"] = description;
  o["aws_managed"] = aws_managed;
  o["policy"] = policy;
  bj::array tag_array;
  for (const Tag& t : tags) tag_array.push_back(bj::array{bj::string(t.key), bj::string(t.value)});
  o["tags"] = std::move(tag_array);
  o["rotation_enabled"] = rotation_enabled;
  o["rotation_period_days"] = rotation_period_days;
  o["rotation_anchor_ms"] = rotation_anchor_ms;
  o["current_version"] = current_version;
  bj::array rot;
  for (const RotationRecord& r : rotations) {
    rot.push_back(bj::object{{"version", r.version}, {"type", r.type}, {"at_ms", r.at_ms}});
  }
  o["rotations"] = std::move(rot);
  if (deletion_ms) o["deletion_ms"] = *deletion_ms;
  if (pending_window_days) o["pending_window_days"] = *pending_window_days;
  return bj::serialize(o);
}

Result<KeyMeta> KeyMeta::FromJson(std::string_view text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return Corrupt("not a JSON object");
  const bj::object& o = parsed->get_object();
  KeyMeta m;
  auto str = [&](std::string_view key, std::string& out) -> Status {
    auto v = json::GetString(o, key);
    if (!v.ok()) return Corrupt(std::string(key));
    if (v->has_value()) out = std::move(**v);
    return OkStatus();
  };
  auto num = [&](std::string_view key, std::int64_t& out) -> Status {
    auto v = json::GetInt(o, key);
    if (!v.ok()) return Corrupt(std::string(key));
    if (v->has_value()) out = **v;
    return OkStatus();
  };
  auto boolean = [&](std::string_view key, bool& out) -> Status {
    auto v = json::GetBool(o, key);
    if (!v.ok()) return Corrupt(std::string(key));
    if (v->has_value()) out = **v;
    return OkStatus();
  };
  ARCA_RETURN_IF_ERROR(str("state", m.state));
  ARCA_RETURN_IF_ERROR(str("description", m.description));
  ARCA_RETURN_IF_ERROR(boolean("aws_managed", m.aws_managed));
  ARCA_RETURN_IF_ERROR(str("policy", m.policy));
  ARCA_RETURN_IF_ERROR(boolean("rotation_enabled", m.rotation_enabled));
  ARCA_RETURN_IF_ERROR(num("rotation_period_days", m.rotation_period_days));
  ARCA_RETURN_IF_ERROR(num("rotation_anchor_ms", m.rotation_anchor_ms));
  ARCA_RETURN_IF_ERROR(num("current_version", m.current_version));
  if (o.contains("deletion_ms")) {
    std::int64_t v = 0;
    ARCA_RETURN_IF_ERROR(num("deletion_ms", v));
    m.deletion_ms = v;
  }
  if (o.contains("pending_window_days")) {
    std::int64_t v = 0;
    ARCA_RETURN_IF_ERROR(num("pending_window_days", v));
    m.pending_window_days = v;
  }
  auto tags = json::GetArray(o, "tags");
  if (!tags.ok()) return Corrupt("tags");
  if (*tags != nullptr) {
    for (const bj::value& t : **tags) {
      if (!t.is_array() || t.get_array().size() != 2 || !t.get_array()[0].is_string() ||
          !t.get_array()[1].is_string()) {
        return Corrupt("tags");
      }
      m.tags.push_back(Tag{std::string(t.get_array()[0].get_string()),
                           std::string(t.get_array()[1].get_string())});
    }
  }
  auto rotations = json::GetArray(o, "rotations");
  if (!rotations.ok()) return Corrupt("rotations");
  if (*rotations != nullptr) {
    for (const bj::value& r : **rotations) {
      if (!r.is_object()) return Corrupt("rotations");
      const bj::object& ro = r.get_object();
      auto version = json::GetInt(ro, "version");
      auto type = json::GetString(ro, "type");
      auto at = json::GetInt(ro, "at_ms");
      if (!version.ok() || !type.ok() || !at.ok() || !version->has_value() || !type->has_value() ||
          !at->has_value()) {
        return Corrupt("rotations");
      }
      m.rotations.push_back(RotationRecord{**version, std::move(**type), **at});
    }
  }
  return m;
}

}  // namespace arca::kms
