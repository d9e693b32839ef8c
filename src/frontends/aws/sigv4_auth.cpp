#include "frontends/aws/sigv4_auth.h"

#include <boost/url/parse_query.hpp>
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/strings.h"
#include "crypto/hash.h"
#include "crypto/sigv4.h"

namespace arca::frontends::aws {

namespace {

namespace sigv4 = crypto::sigv4;

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr std::size_t kMaxCachedSigningKeys = 4096;


Error Incomplete(std::string message) { return Error(Code::kIncompleteSignature, std::move(message)); }
Error Invalid(std::string message) { return Error(Code::kInvalidSignature, std::move(message)); }

// Regions become namespaces and parts of ARNs: accept any name of AWS's shape, nothing else.
bool ValidRegion(std::string_view r) {
  if (r.empty() || r.size() > 64) return false;
  for (char c : r) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return r.front() != '-' && r.back() != '-';
}

// "Sun, 30 Aug 2015 12:36:00 GMT" (RFC 7231 IMF-fixdate), the Date header's form.
bool ParseHttpDate(std::string_view s, TimePoint* out) {
  std::string text(s);
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return false;
  *out = std::chrono::system_clock::from_time_t(timegm(&tm));
  return true;
}

std::string BadDateMessage(std::string_view got) {
  return "Date must be in ISO-8601 'basic format'. Got '" + std::string(got) +
         "'. See http://en.wikipedia.org/wiki/ISO_8601";
}

// Everything a signature check needs, from either form of the request.
struct Parsed {
  bool presigned = false;
  std::string access_key_id;
  std::string scope_date;
  std::string region;
  std::string service;
  std::string terminator;
  std::vector<std::string> signed_headers;
  std::string signature;
  std::string amz_date;        // the request's instant, "YYYYMMDDTHHMMSSZ"
  TimePoint time;
  std::optional<std::int64_t> expires_seconds;  // presigned only
  std::string canonical_query;  // the query as signed (without X-Amz-Signature)
  std::optional<std::string> security_token;  // X-Amz-Security-Token (header or query parameter)
};

bool HasSigned(const std::vector<std::string>& signed_headers, std::string_view name) {
  for (const auto& h : signed_headers) {
    if (h == name) return true;
  }
  return false;
}

Status ParseCredential(std::string_view credential, Parsed* p) {
  std::vector<std::string_view> parts = SplitOn(credential, '/');
  if (parts.size() != 5) {
    return Incomplete(
        "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, "
        "got '" + std::string(credential) + "'");
  }
  p->access_key_id = std::string(parts[0]);
  p->scope_date = std::string(parts[1]);
  p->region = std::string(parts[2]);
  p->service = std::string(parts[3]);
  p->terminator = std::string(parts[4]);
  return OkStatus();
}

void ParseSignedHeaders(std::string_view list, Parsed* p) {
  for (std::string_view h : SplitOn(list, ';')) {
    h = TrimSpace(h);
    if (!h.empty()) p->signed_headers.push_back(AsciiLower(h));
  }
}

// The Authorization header form.
Status ParseHeaderAuth(const http::Request& req, std::string_view header, Parsed* p,
                       std::string* access_key_id) {
  std::string_view h = TrimSpace(header);
  std::size_t sp = h.find(' ');
  std::string_view algorithm = h.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : h.substr(sp + 1);

  std::optional<std::string_view> amz_date = req.Header("x-amz-date");
  std::optional<std::string_view> http_date = req.Header("date");

  std::string_view credential, signed_headers, signature;
  if (algorithm == kAlgorithm) {
    for (std::string_view part : SplitOn(rest, ',')) {
      part = TrimSpace(part);
      if (part.empty()) continue;
      std::size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        return Incomplete("'" + std::string(part) +
                          "' not a valid key=value pair (missing equal-sign) in Authorization header: '" +
                          std::string(h) + "'.");
      }
      std::string_view key = TrimSpace(part.substr(0, eq));
      std::string_view value = TrimSpace(part.substr(eq + 1));
      if (key == "Credential") credential = value;
      else if (key == "SignedHeaders") signed_headers = value;
      else if (key == "Signature") signature = value;
    }
  }

  std::string missing;
  if (credential.empty()) missing += "Authorization header requires 'Credential' parameter. ";
  if (signature.empty()) missing += "Authorization header requires 'Signature' parameter. ";
  if (signed_headers.empty()) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!amz_date.has_value() && !http_date.has_value()) {
    missing += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (!missing.empty()) {
    if (!credential.empty() && access_key_id != nullptr) {
      *access_key_id = std::string(credential.substr(0, credential.find('/')));
    }
    return Incomplete(missing + "Authorization=" + std::string(h));
  }

  ARCA_RETURN_IF_ERROR(ParseCredential(credential, p));
  if (access_key_id != nullptr) *access_key_id = p->access_key_id;
  ParseSignedHeaders(signed_headers, p);
  p->signature = std::string(signature);
  p->canonical_query = std::string(req.Query());

  if (amz_date.has_value()) {
    std::string_view d = TrimSpace(*amz_date);
    if (!ParseAmzDate(d, &p->time)) return Incomplete(BadDateMessage(d));
    p->amz_date = std::string(d);
    if (!HasSigned(p->signed_headers, "x-amz-date")) {
      return Incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.");
    }
  } else {
    std::string_view d = TrimSpace(*http_date);
    if (!ParseHttpDate(d, &p->time)) return Incomplete(BadDateMessage(d));
    p->amz_date = FormatAmzDate(p->time);
    if (!HasSigned(p->signed_headers, "date")) {
      return Incomplete("'Date' must be a 'SignedHeader' in the AWS Authorization.");
    }
  }
  return OkStatus();
}

bool IsQueryAuthParam(std::string_view key) {
  return key == "X-Amz-Algorithm" || key == "X-Amz-Credential" || key == "X-Amz-Signature";
}

// The presigned form: returns false (and leaves *p alone) when the query carries no SigV4 parameters.
Result<bool> ParseQueryAuth(const http::Request& req, Parsed* p, std::string* access_key_id) {
  std::string_view query = req.Query();
  if (query.empty()) return false;
  auto params = boost::urls::parse_query(query);
  if (!params) return false;

  std::optional<std::string> algorithm, credential, date, signed_headers, signature, expires;
  std::string canonical;  // the raw query without X-Amz-Signature
  bool any = false;
  for (auto param : *params) {
    std::string key = param.key.decode();
    std::string value = param.has_value ? param.value.decode() : std::string();
    if (IsQueryAuthParam(key)) any = true;
    if (key == "X-Amz-Signature") {
      signature = std::move(value);
      continue;  // the signature is not part of what was signed
    }
    if (key == "X-Amz-Algorithm") algorithm = value;
    else if (key == "X-Amz-Credential") credential = value;
    else if (key == "X-Amz-Date") date = value;
    else if (key == "X-Amz-SignedHeaders") signed_headers = value;
    else if (key == "X-Amz-Expires") expires = value;
    else if (key == "X-Amz-Security-Token") p->security_token = value;
    if (!canonical.empty()) canonical += '&';
    canonical.append(param.key.data(), param.key.size());
    if (param.has_value) {
      canonical += '=';
      canonical.append(param.value.data(), param.value.size());
    }
  }
  if (!any) return false;

  std::string missing;
  auto need = [&](const std::optional<std::string>& v, std::string_view name) {
    if (!v.has_value() || v->empty()) {
      missing += "AWS query-string parameters must include '" + std::string(name) + "'. ";
    }
  };
  need(algorithm, "X-Amz-Algorithm");
  need(credential, "X-Amz-Credential");
  need(signature, "X-Amz-Signature");
  need(signed_headers, "X-Amz-SignedHeaders");
  need(date, "X-Amz-Date");
  if (!missing.empty()) {
    return Incomplete(missing + "Re-examine the query-string parameters.");
  }
  if (*algorithm != kAlgorithm) {
    return Incomplete("X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  ARCA_RETURN_IF_ERROR(ParseCredential(*credential, p));
  if (access_key_id != nullptr) *access_key_id = p->access_key_id;
  ParseSignedHeaders(*signed_headers, p);
  p->signature = std::move(*signature);
  if (!ParseAmzDate(*date, &p->time)) return Incomplete(BadDateMessage(*date));
  p->amz_date = std::move(*date);
  if (expires.has_value()) {
    std::int64_t secs = 0;
    bool ok = !expires->empty() && expires->size() <= 7;
    for (char c : *expires) {
      if (c < '0' || c > '9') ok = false;
      else secs = secs * 10 + (c - '0');
    }
    if (!ok || secs < 1 || secs > SigV4Verifier::kMaxExpiresSeconds) {
      return Incomplete("X-Amz-Expires must be a number of seconds between 1 and 604800 (a week).");
    }
    p->expires_seconds = secs;
  }
  p->presigned = true;
  p->canonical_query = std::move(canonical);
  return true;
}

Status CheckScope(const Parsed& p, std::string_view service) {
  if (!HasSigned(p.signed_headers, "host")) {
    return Incomplete("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (p.terminator != kTerminator) {
    return Invalid("Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                   p.terminator + "'.");
  }
  if (p.service != service) {
    return Invalid("Credential should be scoped to correct service: '" + std::string(service) + "'.");
  }
  if (!ValidRegion(p.region)) {
    return Invalid("Credential should be scoped to a valid region, not '" + p.region + "'.");
  }
  std::string_view request_day = std::string_view(p.amz_date).substr(0, 8);
  if (p.scope_date != request_day) {
    return Invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
                   "HTTP: '" + p.scope_date + "' != '" + std::string(request_day) + "', from '" +
                   p.amz_date + "'.");
  }
  return OkStatus();
}

Status CheckTime(const Parsed& p, TimePoint now) {
  const auto skew = std::chrono::duration_cast<std::chrono::seconds>(SigV4Verifier::kMaxSkew);
  if (p.time > now + skew) {
    return Invalid("Signature not yet current: " + p.amz_date + " is still later than " +
                   FormatAmzDate(now + skew) + " (" + FormatAmzDate(now) + " + 5 min.)");
  }
  if (p.presigned && p.expires_seconds.has_value()) {
    std::chrono::seconds window(*p.expires_seconds);
    if (p.time + window < now) {
      return Invalid("Signature expired: " + p.amz_date + " is now earlier than " +
                     FormatAmzDate(now - window) + " (" + FormatAmzDate(now) + " - " +
                     std::to_string(*p.expires_seconds) + " sec.)");
    }
    return OkStatus();
  }
  if (p.time < now - skew) {
    return Invalid("Signature expired: " + p.amz_date + " is now earlier than " +
                   FormatAmzDate(now - skew) + " (" + FormatAmzDate(now) + " - 5 min.)");
  }
  return OkStatus();
}

}  // namespace

SigV4Verifier::SigV4Verifier(iam::AccessKeys& access_keys, const Clock& clock, iam::SessionTokens* sessions)
    : access_keys_(access_keys), clock_(clock), sessions_(sessions) {}

std::shared_ptr<const SecretBytes> SigV4Verifier::SigningKey(
    const std::string& access_key_id, const std::shared_ptr<const SecretBytes>& secret,
    std::string_view date, std::string_view region, std::string_view service) {
  std::string cache_key = access_key_id;
  cache_key += '/';
  cache_key += date;
  cache_key += '/';
  cache_key += region;
  cache_key += '/';
  cache_key += service;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = signing_keys_.find(cache_key);
    if (it != signing_keys_.end() && it->second.secret == secret) {
      return it->second.signing_key;
    }
  }
  auto key = std::make_shared<const SecretBytes>(sigv4::DeriveSigningKey(*secret, date, region, service));
  std::lock_guard<std::mutex> lock(mu_);
  if (signing_keys_.size() >= kMaxCachedSigningKeys) {
    signing_keys_.clear();
  }
  signing_keys_[cache_key] = CachedKey{secret, key};
  return key;
}

Result<std::pair<iam::Caller, std::shared_ptr<const SecretBytes>>> SigV4Verifier::LookupKey(
    const std::string& access_key_id, const std::optional<std::string>& security_token) {
  // Temporary credentials: an ASIA key id or a session token means an STS session, never the key
  // store (a long-term key sent with a token is refused, as AWS does).
  const bool temporary = access_key_id.rfind("ASIA", 0) == 0 || security_token.has_value();
  if (!temporary) return access_keys_.Lookup(access_key_id);
  if (!security_token.has_value() || sessions_ == nullptr) {
    return Error(Code::kUnrecognizedClient, "The security token included in the request is invalid.",
                 security_token.has_value() ? "temporary credentials are not enabled"
                                            : "temporary credentials without a session token");
  }
  return sessions_->Resolve(access_key_id, *security_token);
}

Result<Authenticated> SigV4Verifier::Verify(const http::Request& request, std::string_view service,
                                            std::string* access_key_id) {
  Parsed p;
  if (std::optional<std::string_view> header = request.Header("authorization"); header.has_value()) {
    ARCA_RETURN_IF_ERROR(ParseHeaderAuth(request, *header, &p, access_key_id));
  } else {
    ARCA_ASSIGN_OR_RETURN(bool presigned, ParseQueryAuth(request, &p, access_key_id));
    if (!presigned) {
      return Error(Code::kMissingAuthentication, "Missing Authentication Token");
    }
  }
  ARCA_RETURN_IF_ERROR(CheckScope(p, service));
  ARCA_RETURN_IF_ERROR(CheckTime(p, clock_.Now()));

  if (!p.presigned) {
    if (std::optional<std::string_view> token = request.Header("x-amz-security-token"); token.has_value()) {
      p.security_token = std::string(TrimSpace(*token));
    }
  }
  ARCA_ASSIGN_OR_RETURN(auto found, LookupKey(p.access_key_id, p.security_token));
  auto& [caller, secret] = found;

  // The payload hash the client signed: the body's, which x-amz-content-sha256 must agree with when
  // sent. An unsigned payload is accepted on presigned requests only.
  std::string body_hash = crypto::Sha256Hex(request.body);
  std::vector<std::string> payload_hashes;
  if (std::optional<std::string_view> declared = request.Header("x-amz-content-sha256");
      declared.has_value()) {
    std::string_view d = TrimSpace(*declared);
    if (d == kUnsignedPayload) {
      if (!p.presigned) {
        return Invalid("UNSIGNED-PAYLOAD is accepted on presigned requests only; sign the payload.");
      }
      payload_hashes.emplace_back(kUnsignedPayload);
    } else if (d != body_hash) {
      return Invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
    } else {
      payload_hashes.push_back(std::move(body_hash));
    }
  } else {
    payload_hashes.push_back(std::move(body_hash));
    if (p.presigned) payload_hashes.emplace_back(kUnsignedPayload);
  }

  sigv4::CanonicalInput in;
  in.method = request.method;
  in.path = std::string(request.Path());
  in.query = p.canonical_query;
  for (const auto& [name, value] : request.headers) {
    if (HasSigned(p.signed_headers, AsciiLower(name))) in.headers.push_back({name, value});
  }
  in.signed_headers = p.signed_headers;

  std::shared_ptr<const SecretBytes> signing_key =
      SigningKey(p.access_key_id, secret, p.scope_date, p.region, p.service);
  std::string scope = sigv4::CredentialScope(p.scope_date, p.region, p.service);
  bool match = false;
  for (std::string& hash : payload_hashes) {
    in.payload_hash = std::move(hash);
    std::string string_to_sign = sigv4::StringToSign(p.amz_date, scope, sigv4::CanonicalRequest(in));
    std::string expected = sigv4::Signature(*signing_key, string_to_sign);
    if (crypto::ConstantTimeEquals(expected, p.signature)) {
      match = true;
      break;
    }
  }
  if (!match) {
    return Invalid(
        "The request signature we calculated does not match the signature you provided. Check your AWS "
        "Secret Access Key and signing method. Consult the service documentation for details.");
  }
  return Authenticated{std::move(caller), std::move(p.region)};
}

}  // namespace arca::frontends::aws
