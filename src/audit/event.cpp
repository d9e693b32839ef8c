#include "audit/event.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <utility>

#include "core/ids.h"

namespace arca::audit {

namespace bj = boost::json;

namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (LowerAscii(a[i]) != LowerAscii(b[i])) return false;
  }
  return true;
}

bool Listed(const std::vector<std::string>& names, std::string_view name) {
  for (const std::string& n : names) {
    if (EqualsIgnoreCase(n, name)) return true;
  }
  return false;
}

enum class Treatment { kKeep, kDrop, kHide };

Treatment TreatmentOf(std::string_view name, const Redaction& redaction) {
  if (Listed(redaction.hide, name)) return Treatment::kHide;
  if (Listed(redaction.drop, name) || Listed(DefaultRedaction().drop, name))
    return Treatment::kDrop;
  return Treatment::kKeep;
}

bj::value RedactValue(const bj::value& v, const Redaction& redaction);

bj::array RedactArray(const bj::array& a, const Redaction& redaction) {
  bj::array out;
  out.reserve(a.size());
  for (const bj::value& item : a) out.push_back(RedactValue(item, redaction));
  return out;
}

bj::value RedactValue(const bj::value& v, const Redaction& redaction) {
  if (v.is_object()) return RedactMembers(v.get_object(), redaction);
  if (v.is_array()) return RedactArray(v.get_array(), redaction);
  return v;
}

std::string IsoTime(std::int64_t unix_ms) { return FormatIso8601(FromUnixMillis(unix_ms)); }

// ---- direct serialization (SerializeRecord)
// ------------------------------------------------------ Escapes exactly as boost::json::serialize
// does, so both forms of a record are the same bytes.

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  std::size_t run = 0;  // start of the current run of bytes that need no escape
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 0xf];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

// An object being written into `out`; members are added in call order.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ObjectWriter& Key(std::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    AppendEscaped(out_, key);
    out_ += ':';
    return *this;
  }
  ObjectWriter& Str(std::string_view key, std::string_view value) {
    Key(key);
    AppendEscaped(out_, value);
    return *this;
  }
  ObjectWriter& StrIf(std::string_view key, const std::string& value) {
    if (!value.empty()) Str(key, value);
    return *this;
  }
  ObjectWriter& Bool(std::string_view key, bool value) {
    Key(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  ObjectWriter& Value(std::string_view key, const bj::value& value) {
    Key(key);
    out_ += bj::serialize(value);
    return *this;
  }
  void End() { out_ += '}'; }
  std::string& out() { return out_; }

 private:
  std::string& out_;
  bool first_ = true;
};

void WriteUserIdentity(std::string& out, const IdentityInput& id) {
  ObjectWriter u(out);
  switch (id.type) {
    case IdentityType::kRoot:
      u.Str("type", "Root").Str("principalId", id.user_id.empty() ? id.account : id.user_id);
      u.Str("arn", id.arn).Str("accountId", id.account).StrIf("accessKeyId", id.access_key_id);
      break;
    case IdentityType::kIamUser:
      u.Str("type", "IAMUser")
          .Str("principalId", id.user_id)
          .Str("arn", id.arn)
          .Str("accountId", id.account);
      u.StrIf("accessKeyId", id.access_key_id).Str("userName", id.principal);
      break;
    case IdentityType::kAssumedRole: {
      u.Str("type", "AssumedRole")
          .Str("principalId", id.user_id)
          .Str("arn", id.arn)
          .Str("accountId", id.account);
      u.StrIf("accessKeyId", id.access_key_id);
      u.Key("sessionContext");
      ObjectWriter ctx(out);
      ctx.Key("sessionIssuer");
      ObjectWriter issuer(out);
      issuer.Str("type", "Role").Str("principalId", id.role_id).Str("arn", id.role_arn);
      issuer.Str("accountId", id.account).Str("userName", id.principal).End();
      if (id.web_identity.has_value()) {
        const WebIdentityInput& w = *id.web_identity;
        ctx.Key("webIdFederationData");
        ObjectWriter fed(out);
        fed.Str("federatedProvider", w.provider_arn).Key("attributes");
        ObjectWriter attrs(out);
        if (!w.issuer.empty()) {
          if (!w.subject.empty()) attrs.Str(w.issuer + ":sub", w.subject);
          if (w.audiences.size() == 1) {
            attrs.Str(w.issuer + ":aud", w.audiences.front());
          } else if (!w.audiences.empty()) {
            attrs.Key(w.issuer + ":aud");
            out += '[';
            for (std::size_t i = 0; i < w.audiences.size(); ++i) {
              if (i > 0) out += ',';
              AppendEscaped(out, w.audiences[i]);
            }
            out += ']';
          }
        }
        attrs.End();
        fed.End();
      }
      ctx.Key("attributes");
      ObjectWriter attributes(out);
      attributes.Str("creationDate", IsoTime(id.session_issued_ms))
          .Str("mfaAuthenticated", "false")
          .End();
      ctx.End();
      break;
    }
    case IdentityType::kWebIdentityUser: {
      const WebIdentityInput w = id.web_identity.value_or(WebIdentityInput{});
      const std::string aud = w.audiences.empty() ? std::string() : w.audiences.front();
      u.Str("type", "WebIdentityUser").Str("principalId", w.provider_arn + ":" + aud + ":" + w.subject);
      u.Str("userName", w.subject).Str("identityProvider", w.provider_arn);
      break;
    }
    case IdentityType::kUnknown:
      u.Str("type", "Unknown").StrIf("principalId", id.user_id).StrIf("arn", id.arn);
      u.StrIf("accountId", id.account).StrIf("accessKeyId", id.access_key_id);
      break;
  }
  u.End();
}

}  // namespace

std::string SerializeRecord(const EventInput& in) {
  std::string out;
  out.reserve(768 + in.user_agent.size() + in.error_message.size());
  ObjectWriter r(out);
  r.Str("eventVersion", kEventVersion).Key("userIdentity");
  WriteUserIdentity(out, in.identity);
  r.Str("eventTime", FormatIso8601(in.event_time)).Str("eventSource", in.event_source);
  r.Str("eventName", in.event_name)
      .Str("awsRegion", in.region)
      .Str("sourceIPAddress", in.source_ip);
  r.Str("userAgent", in.user_agent);
  if (!in.error_code.empty())
    r.Str("errorCode", in.error_code).Str("errorMessage", in.error_message);
  r.Value("requestParameters", in.request_parameters)
      .Value("responseElements", in.response_elements);
  r.Str("requestID", in.request_id)
      .Str("eventID", in.event_id.empty() ? NewRequestUuid() : in.event_id);
  r.Bool("readOnly", in.read_only);
  if (!in.resources.empty()) {
    r.Key("resources");
    out += '[';
    for (std::size_t i = 0; i < in.resources.size(); ++i) {
      if (i > 0) out += ',';
      const ResourceInput& res = in.resources[i];
      ObjectWriter o(out);
      o.Str("accountId", res.account.empty() ? in.identity.account : res.account)
          .Str("type", res.type);
      o.Str("ARN", res.arn).End();
    }
    out += ']';
  }
  r.Str("eventType", "AwsApiCall").Bool("managementEvent", true);
  r.Str("recipientAccountId",
        in.recipient_account.empty() ? in.identity.account : in.recipient_account);
  r.Str("eventCategory", "Management").End();
  return out;
}

std::string CamelCaseMember(std::string_view name) {
  std::string out(name);
  std::size_t run = 0;
  while (run < out.size() && IsUpper(out[run])) ++run;
  if (run == 0) return out;
  // "KMSKeyId": the run is "KMSK"; its last capital starts the next word ("Key").
  std::size_t lower_upto = run;
  if (run > 1 && run < out.size() && IsLower(out[run])) lower_upto = run - 1;
  for (std::size_t i = 0; i < lower_upto; ++i) out[i] = LowerAscii(out[i]);
  return out;
}

const Redaction& DefaultRedaction() {
  static const Redaction* r = new Redaction{
      {"SecretString", "SecretBinary", "RandomPassword", "SecretAccessKey", "SessionToken",
       "WebIdentityToken", "Password", "NewPassword", "OldPassword", "PrivateKey"},
      {}};
  return *r;
}

bj::object RedactMembers(const bj::object& body, const Redaction& redaction) {
  bj::object out;
  out.reserve(body.size());
  for (const auto& member : body) {
    const std::string_view key = member.key();
    switch (TreatmentOf(key, redaction)) {
      case Treatment::kDrop:
        break;
      case Treatment::kHide:
        out.emplace(CamelCaseMember(key), kHiddenValue);
        break;
      case Treatment::kKeep:
        out.emplace(CamelCaseMember(key), RedactValue(member.value(), redaction));
        break;
    }
  }
  return out;
}

bj::object BuildUserIdentity(const IdentityInput& id) {
  bj::object u;
  u.reserve(8);
  auto put_if = [&u](std::string_view key, const std::string& value) {
    if (!value.empty()) u.emplace(key, value);
  };
  switch (id.type) {
    case IdentityType::kRoot:
      u.emplace("type", "Root");
      u.emplace("principalId", id.user_id.empty() ? id.account : id.user_id);
      u.emplace("arn", id.arn);
      u.emplace("accountId", id.account);
      put_if("accessKeyId", id.access_key_id);
      break;
    case IdentityType::kIamUser:
      u.emplace("type", "IAMUser");
      u.emplace("principalId", id.user_id);
      u.emplace("arn", id.arn);
      u.emplace("accountId", id.account);
      put_if("accessKeyId", id.access_key_id);
      u.emplace("userName", id.principal);
      break;
    case IdentityType::kAssumedRole: {
      u.emplace("type", "AssumedRole");
      u.emplace("principalId", id.user_id);
      u.emplace("arn", id.arn);
      u.emplace("accountId", id.account);
      put_if("accessKeyId", id.access_key_id);
      bj::object ctx;
      bj::object issuer;
      issuer.emplace("type", "Role");
      issuer.emplace("principalId", id.role_id);
      issuer.emplace("arn", id.role_arn);
      issuer.emplace("accountId", id.account);
      issuer.emplace("userName", id.principal);
      ctx.emplace("sessionIssuer", std::move(issuer));
      if (id.web_identity.has_value()) {
        const WebIdentityInput& w = *id.web_identity;
        bj::object fed;
        fed.emplace("federatedProvider", w.provider_arn);
        bj::object attrs;
        if (!w.issuer.empty()) {
          if (!w.subject.empty()) attrs.emplace(w.issuer + ":sub", w.subject);
          if (w.audiences.size() == 1) {
            attrs.emplace(w.issuer + ":aud", w.audiences.front());
          } else if (!w.audiences.empty()) {
            bj::array aud;
            for (const std::string& a : w.audiences) aud.emplace_back(a);
            attrs.emplace(w.issuer + ":aud", std::move(aud));
          }
        }
        fed.emplace("attributes", std::move(attrs));
        ctx.emplace("webIdFederationData", std::move(fed));
      }
      bj::object attributes;
      attributes.emplace("creationDate", IsoTime(id.session_issued_ms));
      attributes.emplace("mfaAuthenticated", "false");
      ctx.emplace("attributes", std::move(attributes));
      u.emplace("sessionContext", std::move(ctx));
      break;
    }
    case IdentityType::kWebIdentityUser: {
      // As CloudTrail shows an OIDC caller: principalId PROVIDER:AUD:SUB, userName SUB.
      u.emplace("type", "WebIdentityUser");
      const WebIdentityInput w = id.web_identity.value_or(WebIdentityInput{});
      const std::string aud = w.audiences.empty() ? std::string() : w.audiences.front();
      u.emplace("principalId", w.provider_arn + ":" + aud + ":" + w.subject);
      u.emplace("userName", w.subject);
      u.emplace("identityProvider", w.provider_arn);
      break;
    }
    case IdentityType::kUnknown:
      u.emplace("type", "Unknown");
      put_if("principalId", id.user_id);
      put_if("arn", id.arn);
      put_if("accountId", id.account);
      put_if("accessKeyId", id.access_key_id);
      break;
  }
  return u;
}

bj::object BuildRecord(const EventInput& in) {
  bj::object r;
  r.reserve(22);
  r.emplace("eventVersion", kEventVersion);
  r.emplace("userIdentity", BuildUserIdentity(in.identity));
  r.emplace("eventTime", FormatIso8601(in.event_time));
  r.emplace("eventSource", in.event_source);
  r.emplace("eventName", in.event_name);
  r.emplace("awsRegion", in.region);
  r.emplace("sourceIPAddress", in.source_ip);
  r.emplace("userAgent", in.user_agent);
  if (!in.error_code.empty()) {
    r.emplace("errorCode", in.error_code);
    r.emplace("errorMessage", in.error_message);
  }
  r.emplace("requestParameters", in.request_parameters);
  r.emplace("responseElements", in.response_elements);
  r.emplace("requestID", in.request_id);
  r.emplace("eventID", in.event_id.empty() ? NewRequestUuid() : in.event_id);
  r.emplace("readOnly", in.read_only);
  if (!in.resources.empty()) {
    bj::array resources;
    resources.reserve(in.resources.size());
    for (const ResourceInput& res : in.resources) {
      bj::object o;
      o.emplace("accountId", res.account.empty() ? in.identity.account : res.account);
      o.emplace("type", res.type);
      o.emplace("ARN", res.arn);
      resources.emplace_back(std::move(o));
    }
    r.emplace("resources", std::move(resources));
  }
  r.emplace("eventType", "AwsApiCall");
  r.emplace("managementEvent", true);
  r.emplace("recipientAccountId",
            in.recipient_account.empty() ? in.identity.account : in.recipient_account);
  r.emplace("eventCategory", "Management");
  return r;
}

}  // namespace arca::audit
