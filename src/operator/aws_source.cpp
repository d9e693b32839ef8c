#include "operator/aws_source.h"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "core/json.h"
#include "crypto/hash.h"
#include "operator/go_regexp.h"

namespace arca::op {

namespace bj = boost::json;

namespace {

// Overwrites a JSON string member that held a secret value, then removes it.
void WipeMember(bj::object& o, std::string_view key) {
  if (auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    bj::string& s = v->get_string();
    SecureWipe(s.data(), s.size());
  }
  o.erase(key);
}

// The value of a GetSecretValue answer or BatchGetSecretValue entry: SecretString, else the
// SecretBinary's bytes. nullopt when neither is there. Wipes them from `o`.
std::optional<SecretBytes> TakeValue(bj::object& o) {
  std::optional<SecretBytes> out;
  if (auto* s = o.if_contains("SecretString"); s != nullptr && s->is_string()) {
    out = SecretBytes::CopyOf(std::string_view(s->get_string()));
  } else if (auto* b = o.if_contains("SecretBinary"); b != nullptr && b->is_string()) {
    out = crypto::Base64DecodeSecret(std::string_view(b->get_string()));
  }
  WipeMember(o, "SecretString");
  WipeMember(o, "SecretBinary");
  return out;
}

std::optional<GoRegexp> Matcher(const FindQuery& q, Error* err) {
  if (!q.name_regexp) return std::nullopt;
  auto re = GoRegexp::Compile(*q.name_regexp);
  if (!re.ok()) {
    *err = re.error();
    return std::nullopt;
  }
  return std::move(re).value();
}

Error Annotate(const Error& e, const std::string& what) {
  Error out(e.code(), what + ": " + e.message(), e.detail());
  if (!e.wire_type().empty()) return std::move(out).WithWireType(e.wire_type());
  return out;
}

// ---- Secrets Manager -----------------------------------------------------------------------------

// Thread-safety: not thread-safe (one sync at a time), as SecretSource says.
class SecretsManagerSource final : public SecretSource {
 public:
  SecretsManagerSource(JsonCall call, std::string prefix, std::string description)
      : call_(std::move(call)), prefix_(std::move(prefix)), description_(std::move(description)) {}

  Result<SecretBytes> GetValue(const std::string& key, const std::string& version) override {
    const std::string id = prefix_ + key;
    if (version.empty() || version == "AWSCURRENT") {
      if (auto it = prefetched_.find(id); it != prefetched_.end()) {
        SecretBytes v = std::move(it->second);
        prefetched_.erase(it);
        return v;
      }
    }
    return Fetch(id, version);
  }

  // ESO polls with one GetSecretValue per key; a sync that reads several keys here asks once per 20.
  void Prefetch(const std::vector<std::string>& keys) override {
    constexpr std::size_t kBatch = 20;  // BatchGetSecretValue's SecretIdList limit
    for (std::size_t i = 0; i < keys.size(); i += kBatch) {
      bj::array ids;
      for (std::size_t j = i; j < std::min(keys.size(), i + kBatch); ++j) ids.push_back(bj::value(prefix_ + keys[j]));
      const std::size_t asked = ids.size();
      bj::object req;
      req["SecretIdList"] = std::move(ids);
      auto r = call_("BatchGetSecretValue", req);
      if (!r.ok()) return;  // not allowed or not there: GetValue reads one by one
      if (auto* list = r->if_contains("SecretValues"); list != nullptr && list->is_array()) {
        for (auto& e : list->get_array()) {
          if (!e.is_object()) continue;
          const std::string name = json::StringMember(e.get_object(), "Name");
          const std::string arn = json::StringMember(e.get_object(), "ARN");
          auto v = TakeValue(e.get_object());
          if (!v) continue;
          for (std::size_t j = i; j < std::min(keys.size(), i + asked); ++j) {
            const std::string id = prefix_ + keys[j];
            if (id == name || id == arn) prefetched_[id] = v->Clone();
          }
        }
      }
    }
  }

  Result<std::map<std::string, std::string>> GetTags(const std::string& key, const std::string&) override {
    const std::string id = prefix_ + key;
    bj::object req;
    req["SecretId"] = id;
    auto r = call_("DescribeSecret", req);
    if (!r.ok()) {
      if (r.error().code() == Code::kNotFound) return Error(Code::kNotFound, "secret " + id + " not found");
      return Annotate(r.error(), "describing secret " + id);
    }
    std::map<std::string, std::string> tags;
    if (auto* t = r->if_contains("Tags"); t != nullptr && t->is_array()) {
      for (const auto& tag : t->get_array()) {
        if (tag.is_object()) tags[json::StringMember(tag.get_object(), "Key")] = json::StringMember(tag.get_object(), "Value");
      }
    }
    return tags;
  }

  Result<std::map<std::string, SecretBytes>> Find(const FindQuery& q) override {
    Error err(Code::kOk, "");
    auto matcher = Matcher(q, &err);
    if (err.code() != Code::kOk) return err;
    const bool has_name = q.name_regexp.has_value();
    const bool has_tags = !q.tags.empty();
    if (!has_name && !has_tags) return Error(Code::kInvalidParameter, "unexpected find operator");
    bj::array filters;
    if (has_tags) {
      for (const auto& [k, v] : q.tags) {
        filters.push_back(bj::object{{"Key", "tag-key"}, {"Values", bj::array{bj::value(k)}}});
        filters.push_back(bj::object{{"Key", "tag-value"}, {"Values", bj::array{bj::value(v)}}});
      }
    }
    if (q.path) filters.push_back(bj::object{{"Key", "name"}, {"Values", bj::array{bj::value(*q.path)}}});
    // ESO batches when it can: with tags alone, or a name and a path.
    if (!has_name || q.path) return FetchWithBatch(filters, matcher ? &*matcher : nullptr);
    std::map<std::string, SecretBytes> out;
    std::string token;
    do {
      bj::object req;
      if (!filters.empty()) req["Filters"] = filters;
      if (!token.empty()) req["NextToken"] = token;
      auto r = call_("ListSecrets", req);
      if (!r.ok()) return Annotate(r.error(), "listing secrets");
      if (auto* list = r->if_contains("SecretList"); list != nullptr && list->is_array()) {
        for (const auto& s : list->get_array()) {
          if (!s.is_object()) continue;
          const std::string name = json::StringMember(s.get_object(), "Name");
          if (name.empty() || !matcher->MatchString(name)) continue;
          auto v = Fetch(name, "");
          if (!v.ok()) return std::move(v).error();
          out[name] = std::move(v).value();
        }
      }
      token = json::StringMember(*r, "NextToken");
    } while (!token.empty());
    return out;
  }

  std::string Describe() const override { return description_; }

 private:
  std::map<std::string, SecretBytes> prefetched_;  // by the id asked for

  Result<SecretBytes> Fetch(const std::string& id, const std::string& version) {
    bj::object req;
    req["SecretId"] = id;
    const std::string ver = version.empty() ? "AWSCURRENT" : version;
    if (ver.starts_with("uuid/")) {
      req["VersionId"] = ver.substr(5);
    } else {
      req["VersionStage"] = ver;
    }
    auto r = call_("GetSecretValue", req);
    if (!r.ok()) {
      const Error& e = r.error();
      const bool deleted = (e.code() == Code::kInvalidRequest || e.code() == Code::kInvalidParameter) &&
                           e.message().find("marked for deletion") != std::string::npos;
      if (e.code() == Code::kNotFound || deleted) {
        std::string msg = "secret " + id + " not found";
        if (!version.empty()) msg = "secret " + id + " has no version " + version;
        if (deleted) msg = "secret " + id + " is scheduled for deletion";
        return Error(Code::kNotFound, msg);
      }
      return Annotate(e, "reading secret " + id);
    }
    auto v = TakeValue(*r);
    if (!v) {
      return Error(Code::kInvalidParameter,
                   "invalid secret received. no secret string nor binary for key: " + id);
    }
    return std::move(*v);
  }

  Result<std::map<std::string, SecretBytes>> FetchWithBatch(const bj::array& filters, const GoRegexp* matcher) {
    std::map<std::string, SecretBytes> out;
    std::string token;
    do {
      bj::object req;
      req["Filters"] = filters;
      if (!token.empty()) req["NextToken"] = token;
      auto r = call_("BatchGetSecretValue", req);
      if (!r.ok()) return Annotate(r.error(), "reading secrets in a batch");
      if (auto* list = r->if_contains("SecretValues"); list != nullptr && list->is_array()) {
        for (auto& s : list->get_array()) {
          if (!s.is_object()) continue;
          bj::object& entry = s.get_object();
          const std::string name = json::StringMember(entry, "Name");
          auto v = TakeValue(entry);
          if (name.empty() || !v || (matcher != nullptr && !matcher->MatchString(name))) continue;
          out[name] = std::move(*v);
        }
      }
      token = json::StringMember(*r, "NextToken");
    } while (!token.empty());
    return out;
  }

  JsonCall call_;
  std::string prefix_;
  std::string description_;
};

// ---- Parameter Store -----------------------------------------------------------------------------

bool IsParameterMissing(const Error& e) {
  return e.code() == Code::kNotFound || e.wire_type() == "ParameterNotFound" ||
         e.wire_type() == "ParameterVersionNotFound" || e.wire_type() == "InvalidResourceId";
}

// Thread-safety: not thread-safe (one sync at a time), as SecretSource says.
class ParameterStoreSource final : public SecretSource {
 public:
  ParameterStoreSource(JsonCall call, std::string prefix, std::string description)
      : call_(std::move(call)), prefix_(std::move(prefix)), description_(std::move(description)) {}

  Result<SecretBytes> GetValue(const std::string& key, const std::string& version) override {
    std::string name = prefix_ + key;
    if (!version.empty()) name += ":" + version;
    return Fetch(name);
  }

  Result<std::map<std::string, std::string>> GetTags(const std::string& key, const std::string&) override {
    const std::string name = prefix_ + key;
    bj::object req;
    req["ResourceType"] = "Parameter";
    req["ResourceId"] = name;
    auto r = call_("ListTagsForResource", req);
    if (!r.ok()) {
      if (IsParameterMissing(r.error())) return Error(Code::kNotFound, "parameter " + name + " not found");
      return Annotate(r.error(), "listing the tags of parameter " + name);
    }
    std::map<std::string, std::string> tags;
    if (auto* t = r->if_contains("TagList"); t != nullptr && t->is_array()) {
      for (const auto& tag : t->get_array()) {
        if (tag.is_object()) tags[json::StringMember(tag.get_object(), "Key")] = json::StringMember(tag.get_object(), "Value");
      }
    }
    return tags;
  }

  Result<std::map<std::string, SecretBytes>> Find(const FindQuery& q) override {
    Error err(Code::kOk, "");
    auto matcher = Matcher(q, &err);
    if (err.code() != Code::kOk) return err;
    if (matcher) return FindByName(q, *matcher);
    if (!q.tags.empty()) return FindByTags(q);
    return Error(Code::kInvalidParameter, "unexpected find operator");
  }

  std::string Describe() const override { return description_; }

 private:
  Result<SecretBytes> Fetch(const std::string& name) {
    bj::object req;
    req["Name"] = name;
    req["WithDecryption"] = true;
    auto r = call_("GetParameter", req);
    if (!r.ok()) {
      if (IsParameterMissing(r.error())) return Error(Code::kNotFound, "parameter " + name + " not found");
      return Annotate(r.error(), "reading parameter " + name);
    }
    auto* p = r->if_contains("Parameter");
    if (p == nullptr || !p->is_object()) {
      return Error(Code::kInvalidParameter, "invalid secret received. parameter value is nil for key: " + name);
    }
    bj::object& param = p->get_object();
    auto* v = param.if_contains("Value");
    if (v == nullptr || !v->is_string()) {
      return Error(Code::kInvalidParameter, "invalid secret received. parameter value is nil for key: " + name);
    }
    SecretBytes out = SecretBytes::CopyOf(std::string_view(v->get_string()));
    WipeMember(param, "Value");
    return out;
  }

  Result<std::map<std::string, SecretBytes>> FindByName(const FindQuery& q, const GoRegexp& matcher) {
    const std::string path = q.path.value_or("/");
    std::map<std::string, SecretBytes> out;
    std::string token;
    do {
      bj::object req;
      req["Path"] = path;
      req["Recursive"] = true;
      req["WithDecryption"] = true;
      if (!token.empty()) req["NextToken"] = token;
      auto r = call_("GetParametersByPath", req);
      if (!r.ok()) {
        if (r.error().code() == Code::kAccessDenied) return FallbackFindByName(path, matcher);
        return Annotate(r.error(), "fetching parameters by path " + path);
      }
      if (auto* list = r->if_contains("Parameters"); list != nullptr && list->is_array()) {
        for (auto& p : list->get_array()) {
          if (!p.is_object()) continue;
          bj::object& param = p.get_object();
          const std::string name = json::StringMember(param, "Name");
          auto* v = param.if_contains("Value");
          if (!name.empty() && v != nullptr && v->is_string() && matcher.MatchString(name)) {
            out[name] = SecretBytes::CopyOf(std::string_view(v->get_string()));
          }
          WipeMember(param, "Value");
        }
      }
      token = json::StringMember(*r, "NextToken");
    } while (!token.empty());
    return out;
  }

  Result<std::vector<std::string>> DescribeParameters(const bj::array& filters) {
    std::vector<std::string> names;
    std::string token;
    do {
      bj::object req;
      if (!filters.empty()) req["ParameterFilters"] = filters;
      if (!token.empty()) req["NextToken"] = token;
      auto r = call_("DescribeParameters", req);
      if (!r.ok()) return Annotate(r.error(), "describing parameters");
      if (auto* list = r->if_contains("Parameters"); list != nullptr && list->is_array()) {
        for (const auto& p : list->get_array()) {
          if (p.is_object()) names.push_back(json::StringMember(p.get_object(), "Name"));
        }
      }
      token = json::StringMember(*r, "NextToken");
    } while (!token.empty());
    return names;
  }

  Result<std::map<std::string, SecretBytes>> FallbackFindByName(const std::string& path, const GoRegexp& matcher) {
    bj::array filters;
    filters.push_back(bj::object{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", bj::array{bj::value(path)}}});
    ARCA_ASSIGN_OR_RETURN(auto names, DescribeParameters(filters));
    std::map<std::string, SecretBytes> out;
    for (const auto& name : names) {
      if (name.empty() || !matcher.MatchString(name)) continue;
      ARCA_ASSIGN_OR_RETURN(out[name], Fetch(name));
    }
    return out;
  }

  Result<std::map<std::string, SecretBytes>> FindByTags(const FindQuery& q) {
    bj::array filters;
    for (const auto& [k, v] : q.tags) {
      filters.push_back(bj::object{{"Key", "tag:" + k}, {"Values", bj::array{bj::value(v)}}, {"Option", "Equals"}});
    }
    if (q.path) {
      filters.push_back(
          bj::object{{"Key", "Path"}, {"Option", "Recursive"}, {"Values", bj::array{bj::value(*q.path)}}});
    }
    ARCA_ASSIGN_OR_RETURN(auto names, DescribeParameters(filters));
    std::map<std::string, SecretBytes> out;
    for (const auto& name : names) {
      if (name.empty()) continue;
      ARCA_ASSIGN_OR_RETURN(out[name], Fetch(name));
    }
    return out;
  }

  JsonCall call_;
  std::string prefix_;
  std::string description_;
};

}  // namespace

JsonCall ClientCall(std::shared_ptr<const client::AwsClient> client, std::string service, std::string target_prefix) {
  return [client = std::move(client), service = std::move(service), target_prefix = std::move(target_prefix)](
             std::string_view operation, const bj::object& request) {
    std::string target = target_prefix + ".";
    target.append(operation);
    return client->CallJson(service, target, request);
  };
}

std::unique_ptr<SecretSource> NewSecretsManagerSource(JsonCall call, std::string prefix, std::string description) {
  return std::make_unique<SecretsManagerSource>(std::move(call), std::move(prefix), std::move(description));
}

std::unique_ptr<SecretSource> NewParameterStoreSource(JsonCall call, std::string prefix, std::string description) {
  return std::make_unique<ParameterStoreSource>(std::move(call), std::move(prefix), std::move(description));
}

}  // namespace arca::op
