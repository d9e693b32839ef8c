#include "client/aws_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <ctime>
#include <exception>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>

#include "core/clock.h"
#include "core/secret_bytes.h"
#include "core/strings.h"
#include "crypto/hash.h"
#include "crypto/sigv4.h"
#include "http/client.h"

namespace arca::client {
namespace {

constexpr std::chrono::milliseconds kMaxBackoff{20000};
constexpr std::size_t kMaxResponseBytes = 16u << 20;  // a GetSecretValue answer is at most ~64 KiB

enum class Protocol { kJson, kQuery };

// One call's fixed parts; the signed headers are rebuilt for every attempt.
struct Call {
  std::string_view service;
  Protocol protocol = Protocol::kJson;
  std::string_view target;  // X-Amz-Target (JSON only)
  std::string body;
  std::string method = "POST";
  std::string path = "/";
  std::string query;  // already SigV4-encoded, without '?'
};

// The endpoint's "scheme://authority" pieces.
struct Endpoint {
  std::string url;   // scheme://authority/
  std::string host;  // authority, lower-cased, for the Host header
};

Result<Endpoint> ParseEndpoint(const std::string& endpoint) {
  const std::size_t scheme_end = endpoint.find("://");
  const std::string scheme =
      scheme_end == std::string::npos ? "" : AsciiLower(endpoint.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") {
    return Error(Code::kInvalidParameter,
                 "the endpoint " + endpoint + " must start with http:// or https://");
  }
  std::string_view rest = std::string_view(endpoint).substr(scheme_end + 3);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return Error(Code::kInvalidParameter,
                 "the endpoint " + endpoint + " needs a host (scheme://host[:port])");
  }
  Endpoint e;
  e.host = AsciiLower(authority);
  e.url = scheme + "://" + e.host + "/";
  return e;
}

bool IsThrottling(std::string_view name) {
  return name == "ThrottlingException" || name == "TooManyRequestsException" ||
         name == "RequestLimitExceeded" || name == "Throttling" || name == "ThrottledException" ||
         name == "SlowDown";
}

// "aws.protocols#ResourceNotFoundException" and "ResourceNotFoundException:http://..." (the
// x-amzn-ErrorType form) are both "ResourceNotFoundException".
std::string BareErrorName(std::string_view name) {
  name = TrimSpace(name);
  if (std::size_t hash = name.rfind('#'); hash != std::string_view::npos)
    name = name.substr(hash + 1);
  if (std::size_t colon = name.find(':'); colon != std::string_view::npos)
    name = name.substr(0, colon);
  return std::string(name);
}

struct ServerError {
  std::string name;
  std::string message;
};

ServerError ParseJsonError(const http::ClientResponse& r) {
  ServerError e;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(r.body, ec);
  if (!ec && v.is_object()) {
    const boost::json::object& o = v.as_object();
    if (const auto* t = o.if_contains("__type"); t != nullptr && t->is_string()) {
      e.name = BareErrorName(t->as_string());
    } else if (const auto* c = o.if_contains("code"); c != nullptr && c->is_string()) {
      e.name = BareErrorName(c->as_string());
    }
    for (const char* key : {"message", "Message", "errorMessage"}) {
      if (const auto* m = o.if_contains(key); m != nullptr && m->is_string()) {
        e.message = std::string(m->as_string());
        break;
      }
    }
  }
  if (e.name.empty()) e.name = BareErrorName(r.Header("x-amzn-errortype"));
  return e;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    const std::size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out.push_back('&');
      continue;
    }
    std::string_view entity = s.substr(i + 1, semi - i - 1);
    static const std::unordered_map<std::string_view, char> kNamed = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    if (auto it = kNamed.find(entity); it != kNamed.end()) {
      out.push_back(it->second);
    } else if (entity.size() > 1 && entity[0] == '#') {
      unsigned long cp = 0;
      bool ok = true;
      const bool hex = entity[1] == 'x' || entity[1] == 'X';
      for (char c : entity.substr(hex ? 2 : 1)) {
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (hex && c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (hex && c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d < 0 || cp > 0x10FFFF) {
          ok = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(d);
      }
      if (!ok || cp > 0x10FFFF) {
        out.append(s.substr(i, semi - i + 1));
      } else {
        AppendUtf8(out, static_cast<std::uint32_t>(cp));
      }
    } else {
      out.append(s.substr(i, semi - i + 1));
    }
    i = semi;
  }
  return out;
}

// The raw text of the first <tag>...</tag> in `xml` (attributes on the opening tag allowed), or
// nullopt. Enough for the flat answers of STS and IAM; not a general XML parser.
std::optional<std::string_view> XmlElementRaw(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag);
  const std::string close = "</" + std::string(tag) + ">";
  std::size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    const std::size_t after = pos + open.size();
    if (after < xml.size() &&
        (xml[after] == '>' || IsAsciiSpace(xml[after]) || xml[after] == '/')) {
      const std::size_t gt = xml.find('>', after);
      if (gt == std::string_view::npos) return std::nullopt;
      if (xml[gt - 1] == '/') return std::string_view();  // <Tag/>
      const std::size_t end = xml.find(close, gt + 1);
      if (end == std::string_view::npos) return std::nullopt;
      return xml.substr(gt + 1, end - gt - 1);
    }
    pos = after;
  }
  return std::nullopt;
}

std::optional<std::string> XmlElement(std::string_view xml, std::string_view tag) {
  auto raw = XmlElementRaw(xml, tag);
  if (!raw) return std::nullopt;
  return XmlUnescape(TrimSpace(*raw));
}

ServerError ParseXmlError(const http::ClientResponse& r) {
  ServerError e;
  std::string_view scope = r.body;
  if (auto error = XmlElementRaw(scope, "Error")) scope = *error;
  e.name = BareErrorName(XmlElement(scope, "Code").value_or(""));
  e.message = XmlElement(scope, "Message").value_or("");
  if (e.name.empty()) e.name = BareErrorName(r.Header("x-amzn-errortype"));
  return e;
}

std::chrono::milliseconds Backoff(const ClientOptions& options, int failed_attempts) {
  // Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(n-1))].
  std::chrono::milliseconds ceiling = options.base_backoff;
  for (int i = 1; i < failed_attempts && ceiling < kMaxBackoff; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, kMaxBackoff);
  if (ceiling.count() <= 0) return std::chrono::milliseconds(0);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<std::int64_t> pick(0, ceiling.count());
  return std::chrono::milliseconds(pick(rng));
}

// Signs (when `credentials` is set) and sends `call`, retrying what is worth retrying. Returns the
// 2xx response, or the error the last attempt ended with.
Result<http::ClientResponse> Perform(const ClientOptions& options, const Credentials* credentials,
                                     const Call& call) {
  ARCA_ASSIGN_OR_RETURN(Endpoint endpoint, ParseEndpoint(options.endpoint));
  const std::string content_type = call.protocol == Protocol::kJson
                                       ? "application/x-amz-json-1.1"
                                       : "application/x-www-form-urlencoded; charset=utf-8";
  const std::string payload_hash = crypto::Sha256Hex(call.body);
  http::PostOptions post;
  post.timeout = options.timeout;
  post.connect_timeout = std::min(options.timeout, std::chrono::milliseconds(10000));
  post.ca_file = options.ca_bundle;
  post.ca_pem = options.ca_pem;
  post.max_body_bytes = kMaxResponseBytes;

  http::ClientRequest request;
  request.method = call.method;
  request.url = endpoint.url + call.path.substr(call.path.starts_with("/") ? 1 : 0) +
                (call.query.empty() ? "" : "?" + call.query);
  request.body = call.body;
  struct Wiper {
    std::string& s;
    ~Wiper() { SecureWipe(s); }
  } wipe_body{request.body};

  const int attempts = std::max(1, options.max_attempts);
  for (int attempt = 1;; ++attempt) {
    const bool last = attempt >= attempts;
    std::vector<crypto::sigv4::Header> signed_headers = {
        {"Host", endpoint.host},
        {"Content-Type", content_type},
    };
    if (call.protocol == Protocol::kJson && !call.target.empty()) {
      signed_headers.push_back({"X-Amz-Target", std::string(call.target)});
    }
    request.headers.clear();
    if (credentials != nullptr) {
      const std::string amz_date = FormatAmzDate(SystemClock::Instance().Now());
      signed_headers.push_back({"X-Amz-Date", amz_date});
      if (!credentials->session_token.empty()) {
        signed_headers.push_back({"X-Amz-Security-Token", credentials->session_token});
      }
      crypto::sigv4::CanonicalInput in;
      in.method = request.method;
      in.path = call.path;
      in.query = call.query;
      in.headers = signed_headers;
      in.payload_hash = payload_hash;
      request.headers.emplace_back(
          "Authorization",
          crypto::sigv4::SignRequest(credentials->secret_access_key, credentials->access_key_id,
                                     options.region, call.service, amz_date, in));
    }
    for (auto& h : signed_headers)
      request.headers.emplace_back(std::move(h.name), std::move(h.value));
    request.headers.emplace_back("User-Agent", options.user_agent);

    Result<http::ClientResponse> sent = http::Send(request, post);
    if (!sent.ok()) {
      if (last || sent.error().code() != Code::kUnavailable) return std::move(sent).error();
      std::this_thread::sleep_for(Backoff(options, attempt));
      continue;
    }
    http::ClientResponse response = std::move(sent).value();
    if (response.status >= 200 && response.status < 300) return response;

    ServerError e =
        call.protocol == Protocol::kJson ? ParseJsonError(response) : ParseXmlError(response);
    const bool retryable = response.status >= 500 || response.status == 429 || IsThrottling(e.name);
    if (retryable && !last) {
      std::this_thread::sleep_for(Backoff(options, attempt));
      continue;
    }
    if (e.message.empty()) {
      e.message =
          "the server at " + options.endpoint + " answered HTTP " + std::to_string(response.status);
    }
    Error error(CodeForAwsError(e.name, response.status), e.message,
                "HTTP " + std::to_string(response.status) + " after " + std::to_string(attempt) +
                    " attempt(s)");
    return std::move(error).WithWireType(e.name);
  }
}

// Form encoding with SigV4's rules (what the server canonicalises, so nothing is encoded twice).
void AppendParam(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out.push_back('&');
  out.append(crypto::sigv4::UriEncode(name, true));
  out.push_back('=');
  out.append(crypto::sigv4::UriEncode(value, true));
}


}  // namespace

Code CodeForAwsError(std::string_view name, int http_status) {
  static const std::unordered_map<std::string_view, Code> kByName = {
      {"ResourceNotFoundException", Code::kNotFound},
      {"NoSuchEntity", Code::kNotFound},
      {"AccessDeniedException", Code::kAccessDenied},
      {"AccessDenied", Code::kAccessDenied},
      {"UnrecognizedClientException", Code::kUnrecognizedClient},
      {"InvalidClientTokenId", Code::kUnrecognizedClient},
      {"InvalidSignatureException", Code::kInvalidSignature},
      {"SignatureDoesNotMatch", Code::kInvalidSignature},
      {"IncompleteSignature", Code::kIncompleteSignature},
      {"IncompleteSignatureException", Code::kIncompleteSignature},
      {"MissingAuthenticationToken", Code::kMissingAuthentication},
      {"MissingAuthenticationTokenException", Code::kMissingAuthentication},
      {"ExpiredTokenException", Code::kExpiredToken},
      {"ExpiredToken", Code::kExpiredToken},
      {"ResourceExistsException", Code::kAlreadyExists},
      {"EntityAlreadyExists", Code::kAlreadyExists},
      {"InvalidRequestException", Code::kInvalidRequest},
      {"InvalidParameterException", Code::kInvalidParameter},
      {"InvalidParameterValue", Code::kInvalidParameter},
      {"InvalidInput", Code::kInvalidParameter},
      {"ValidationException", Code::kValidation},
      {"ValidationError", Code::kValidation},
      {"MissingParameter", Code::kMissingParameter},
      {"SerializationException", Code::kSerialization},
      {"UnknownOperationException", Code::kUnknownOperation},
      {"InvalidAction", Code::kUnknownOperation},
      {"InvalidNextTokenException", Code::kInvalidNextToken},
      {"LimitExceededException", Code::kLimitExceeded},
      {"LimitExceeded", Code::kLimitExceeded},
      {"MalformedPolicyDocumentException", Code::kMalformedPolicy},
      {"MalformedPolicyDocument", Code::kMalformedPolicy},
      {"PublicPolicyException", Code::kPublicPolicy},
      {"PreconditionNotMetException", Code::kPreconditionNotMet},
      {"RequestEntityTooLargeException", Code::kPayloadTooLarge},
      {"RequestEntityTooLarge", Code::kPayloadTooLarge},
      {"InvalidIdentityToken", Code::kInvalidIdentityToken},
      {"InvalidIdentityTokenException", Code::kInvalidIdentityToken},
      {"IDPRejectedClaim", Code::kIdpRejectedClaim},
      {"IDPRejectedClaimException", Code::kIdpRejectedClaim},
      {"DecryptionFailure", Code::kDecryptionFailure},
      {"EncryptionFailure", Code::kEncryptionFailure},
      {"InternalServiceError", Code::kInternal},
      {"InternalFailure", Code::kInternal},
      {"InternalServiceErrorException", Code::kInternal},
      {"ServiceFailure", Code::kInternal},
      {"ServiceUnavailable", Code::kUnavailable},
      {"ServiceUnavailableException", Code::kUnavailable},
  };
  if (auto it = kByName.find(name); it != kByName.end()) return it->second;
  if (IsThrottling(name) || http_status == 429 || http_status == 503) return Code::kUnavailable;
  if (http_status >= 500) return Code::kInternal;
  return Code::kInvalidRequest;
}

AwsClient::AwsClient(ClientOptions options, Credentials credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {}

Result<boost::json::object> AwsClient::CallJson(std::string_view service, std::string_view target,
                                                const boost::json::object& request) const {
  Call call;
  call.service = service;
  call.protocol = Protocol::kJson;
  call.target = target;
  try {
    call.body = boost::json::serialize(request);
  } catch (const std::exception& e) {
    return Error(Code::kInternal, "cannot encode the request", e.what());
  }
  Result<http::ClientResponse> response = Perform(options_, &credentials_, call);
  SecureWipe(call.body);
  if (!response.ok()) return std::move(response).error();
  if (TrimSpace(response->body).empty()) return boost::json::object();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(response->body, ec);
  if (ec || !v.is_object()) {
    return Error(Code::kInternal,
                 "the server at " + options_.endpoint + " sent an answer that is not a JSON object",
                 ec ? ec.message() : std::string());
  }
  return std::move(v.as_object());
}

Result<boost::json::object> AwsClient::CallGet(
    std::string_view service, std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& query) const {
  Call call;
  call.service = service;
  call.protocol = Protocol::kJson;
  call.method = "GET";
  call.path = std::string(path);
  for (const auto& [k, v] : query) AppendParam(call.query, k, v);
  Result<http::ClientResponse> response = Perform(options_, &credentials_, call);
  if (!response.ok()) return std::move(response).error();
  if (TrimSpace(response->body).empty()) return boost::json::object();
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(response->body, ec);
  if (ec || !v.is_object()) {
    return Error(Code::kInternal,
                 "the server at " + options_.endpoint + " sent an answer that is not a JSON object",
                 ec ? ec.message() : std::string());
  }
  return std::move(v.as_object());
}

Result<std::string> AwsClient::CallQuery(
    std::string_view service, std::string_view action, std::string_view version,
    const std::vector<std::pair<std::string, std::string>>& params) const {
  Call call;
  call.service = service;
  call.protocol = Protocol::kQuery;
  AppendParam(call.body, "Action", action);
  AppendParam(call.body, "Version", version);
  for (const auto& [name, value] : params) AppendParam(call.body, name, value);
  Result<http::ClientResponse> response = Perform(options_, &credentials_, call);
  SecureWipe(call.body);
  if (!response.ok()) return std::move(response).error();
  return std::string(response->body);
}

Result<Credentials> AssumeRoleWithWebIdentity(const ClientOptions& options,
                                              const std::string& role_arn,
                                              const std::string& session_name,
                                              const std::string& token) {
  Call call;
  call.service = "sts";
  call.protocol = Protocol::kQuery;
  AppendParam(call.body, "Action", "AssumeRoleWithWebIdentity");
  AppendParam(call.body, "Version", "2011-06-15");
  AppendParam(call.body, "RoleArn", role_arn);
  AppendParam(call.body, "RoleSessionName", session_name);
  AppendParam(call.body, "WebIdentityToken", token);
  Result<http::ClientResponse> response = Perform(options, nullptr, call);
  SecureWipe(call.body);
  if (!response.ok()) return std::move(response).error();

  const std::string_view body = response->body;
  std::string_view scope = body;
  if (auto c = XmlElementRaw(body, "Credentials")) scope = *c;
  std::optional<std::string> key_id = XmlElement(scope, "AccessKeyId");
  std::optional<std::string> secret = XmlElement(scope, "SecretAccessKey");
  std::optional<std::string> session_token = XmlElement(scope, "SessionToken");
  std::optional<std::string> expiration = XmlElement(scope, "Expiration");
  if (!key_id || key_id->empty() || !secret || secret->empty() || !session_token) {
    if (secret) SecureWipe(*secret);
    return Error(Code::kInternal, "the AssumeRoleWithWebIdentity answer from " + options.endpoint +
                                      " has no credentials");
  }
  Credentials out;
  out.access_key_id = std::move(*key_id);
  out.secret_access_key = SecretBytes::FromString(std::move(*secret));
  out.session_token = std::move(*session_token);
  if (expiration) {
    if (TimePoint t; ParseIso8601(*expiration, &t)) out.expiration = t;
    if (!out.expiration) {
      return Error(Code::kInternal, "the AssumeRoleWithWebIdentity answer from " +
                                        options.endpoint +
                                        " has an unreadable Expiration: " + *expiration);
    }
  }
  out.source = "web identity (" + role_arn + ")";
  return out;
}

WebIdentityExchange WebIdentityVia(ClientOptions sts) {
  return [sts = std::move(sts)](const std::string& role, const std::string& session, const std::string& token) {
    return AssumeRoleWithWebIdentity(sts, role, session, token);
  };
}

}  // namespace arca::client
