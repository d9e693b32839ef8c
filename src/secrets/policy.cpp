#include "secrets/policy.h"

#include <boost/json.hpp>

#include "core/json.h"

namespace arca::secrets {

namespace bj = boost::json;

namespace {

bool IsStringOrStringList(const bj::value& v) {
  if (v.is_string()) return true;
  if (!v.is_array() || v.get_array().empty()) return false;
  for (const auto& x : v.get_array()) {
    if (!x.is_string()) return false;
  }
  return true;
}

void CheckStatement(const bj::value& sv, std::size_t index, std::vector<ValidationError>* errors) {
  const std::string where = "Statement " + std::to_string(index + 1) + ": ";
  auto add = [&](std::string msg) { errors->push_back({"SYNTAX_CHECK", where + msg}); };
  if (!sv.is_object()) {
    add("a statement must be a JSON object.");
    return;
  }
  const bj::object& s = sv.get_object();
  static const char* kKnown[] = {"Sid",      "Effect",   "Principal", "NotPrincipal", "Action",
                                 "NotAction", "Resource", "NotResource", "Condition"};
  for (const auto& kv : s) {
    bool known = false;
    for (const char* k : kKnown) known = known || kv.key() == k;
    if (!known) add("unknown element \"" + std::string(kv.key()) + "\".");
  }
  auto effect = s.find("Effect");
  if (effect == s.end() || !effect->value().is_string() ||
      (effect->value().get_string() != "Allow" && effect->value().get_string() != "Deny")) {
    add("Effect must be \"Allow\" or \"Deny\".");
  }
  const bool action = s.contains("Action"), not_action = s.contains("NotAction");
  if (action == not_action) add("exactly one of Action or NotAction is required.");
  for (const char* k : {"Action", "NotAction", "Resource", "NotResource"}) {
    if (auto it = s.find(k); it != s.end() && !IsStringOrStringList(it->value())) {
      add(std::string(k) + " must be a string or a list of strings.");
    }
  }
  const bool principal = s.contains("Principal"), not_principal = s.contains("NotPrincipal");
  if (principal == not_principal) {
    add("a resource policy statement needs exactly one of Principal or NotPrincipal.");
  }
  for (const char* k : {"Principal", "NotPrincipal"}) {
    auto it = s.find(k);
    if (it == s.end()) continue;
    const bj::value& p = it->value();
    if (p.is_string()) {
      if (p.get_string() != "*") add(std::string(k) + " as a string must be \"*\".");
    } else if (p.is_object()) {
      for (const auto& kv : p.get_object()) {
        if (kv.key() != "AWS" && kv.key() != "Service" && kv.key() != "Federated" &&
            kv.key() != "CanonicalUser") {
          add(std::string(k) + " has an unknown key \"" + std::string(kv.key()) + "\".");
        } else if (!IsStringOrStringList(kv.value())) {
          add(std::string(k) + "." + std::string(kv.key()) + " must be a string or a list of strings.");
        }
      }
    } else {
      add(std::string(k) + " must be \"*\" or an object.");
    }
  }
  if (auto it = s.find("Condition"); it != s.end()) {
    if (!it->value().is_object()) {
      add("Condition must be an object.");
    } else {
      for (const auto& op : it->value().get_object()) {
        if (!op.value().is_object()) {
          add("Condition operator \"" + std::string(op.key()) + "\" must map to an object.");
        }
      }
    }
  }
}

}  // namespace

Result<std::vector<ValidationError>> ValidatePolicyDocument(const std::string& text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) {
    return Error(Code::kMalformedPolicy, "This resource policy contains a syntax error.");
  }
  std::vector<ValidationError> errors;
  const bj::object& doc = parsed->get_object();
  for (const auto& kv : doc) {
    if (kv.key() != "Version" && kv.key() != "Id" && kv.key() != "Statement") {
      errors.push_back({"SYNTAX_CHECK", "unknown top-level element \"" + std::string(kv.key()) + "\"."});
    }
  }
  if (auto v = doc.find("Version"); v != doc.end()) {
    if (!v->value().is_string() ||
        (v->value().get_string() != "2012-10-17" && v->value().get_string() != "2008-10-17")) {
      errors.push_back({"SYNTAX_CHECK", "Version must be \"2012-10-17\" or \"2008-10-17\"."});
    }
  }
  auto st = doc.find("Statement");
  if (st == doc.end()) {
    errors.push_back({"SYNTAX_CHECK", "the policy has no Statement."});
  } else if (st->value().is_array()) {
    if (st->value().get_array().empty()) {
      errors.push_back({"SYNTAX_CHECK", "Statement must not be empty."});
    }
    std::size_t i = 0;
    for (const auto& s : st->value().get_array()) CheckStatement(s, i++, &errors);
  } else {
    CheckStatement(st->value(), 0, &errors);
  }
  return errors;
}

bool PolicyIsPublic(const std::string& text) {
  auto parsed = json::Parse(text);
  if (!parsed.ok() || !parsed->is_object()) return false;
  auto st = parsed->get_object().find("Statement");
  if (st == parsed->get_object().end()) return false;
  std::vector<const bj::value*> statements;
  if (st->value().is_array()) {
    for (const auto& s : st->value().get_array()) statements.push_back(&s);
  } else {
    statements.push_back(&st->value());
  }
  auto is_star = [](const bj::value& v) {
    if (v.is_string()) return v.get_string() == "*";
    if (v.is_array()) {
      for (const auto& x : v.get_array()) {
        if (x.is_string() && x.get_string() == "*") return true;
      }
    }
    return false;
  };
  for (const bj::value* sv : statements) {
    if (!sv->is_object()) continue;
    const bj::object& s = sv->get_object();
    auto effect = s.find("Effect");
    if (effect == s.end() || !effect->value().is_string() || effect->value().get_string() != "Allow") {
      continue;
    }
    if (s.contains("Condition")) continue;
    if (s.contains("NotPrincipal")) return true;
    auto p = s.find("Principal");
    if (p == s.end()) continue;
    if (is_star(p->value())) return true;
    if (p->value().is_object()) {
      auto aws = p->value().get_object().find("AWS");
      if (aws != p->value().get_object().end() && is_star(aws->value())) return true;
    }
  }
  return false;
}

}  // namespace arca::secrets
