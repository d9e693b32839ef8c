#include "frontends/aws/query_protocol.h"

#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse_query.hpp>
#include <chrono>
#include <cstdlib>
#include <map>

#include "core/log.h"
#include "frontends/aws/request_path.h"

namespace arca::frontends::aws {

namespace {

constexpr std::size_t kMaxEchoedAction = 128;

// "12" -> 12; 0 for anything that is not a positive decimal number without leading zeros.
std::size_t MemberIndex(std::string_view s) {
  if (s.empty() || s.size() > 6 || s[0] == '0') return 0;
  std::size_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

// Shapes every query service shares: the protocol's own errors (authentication, decoding).
std::optional<QueryErrorShape> CommonShape(Code code) {
  switch (code) {
    case Code::kMissingAuthentication: return QueryErrorShape{"MissingAuthenticationToken", "Sender", 403};
    case Code::kIncompleteSignature: return QueryErrorShape{"IncompleteSignature", "Sender", 400};
    case Code::kInvalidSignature: return QueryErrorShape{"SignatureDoesNotMatch", "Sender", 403};
    case Code::kUnrecognizedClient: return QueryErrorShape{"InvalidClientTokenId", "Sender", 403};
    case Code::kExpiredToken: return QueryErrorShape{"ExpiredToken", "Sender", 403};
    case Code::kSerialization: return QueryErrorShape{"MalformedQueryString", "Sender", 400};
    case Code::kUnknownOperation: return QueryErrorShape{"InvalidAction", "Sender", 400};
    case Code::kMissingParameter: return QueryErrorShape{"MissingParameter", "Sender", 400};
    case Code::kPayloadTooLarge: return QueryErrorShape{"RequestEntityTooLarge", "Sender", 413};
    case Code::kUnavailable: return QueryErrorShape{"ServiceUnavailable", "Receiver", 503};
    case Code::kInternal: return QueryErrorShape{"InternalFailure", "Receiver", 500};
    default: return std::nullopt;
  }
}

}  // namespace

Result<QueryParams> QueryParams::Parse(std::string_view form) {
  QueryParams out;
  if (form.empty()) return out;
  auto parsed = boost::urls::parse_query(form);
  if (!parsed) {
    return Error(Code::kSerialization, "The request's form data is not correctly encoded.");
  }
  const boost::urls::encoding_opts plus_is_space(true);
  for (auto param : *parsed) {
    if (param.key.empty() && !param.has_value) continue;  // "a=1&&b=2"
    out.entries_.emplace_back(param.key.decode(plus_is_space),
                              param.has_value ? param.value.decode(plus_is_space) : std::string());
  }
  return out;
}

std::optional<std::string_view> QueryParams::Find(std::string_view name) const {
  for (const auto& [k, v] : entries_) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<std::string> QueryParams::List(std::string_view prefix) const {
  std::string head = std::string(prefix) + ".member.";
  std::map<std::size_t, std::string> by_index;
  for (const auto& [k, v] : entries_) {
    if (!k.starts_with(head)) continue;
    std::size_t n = MemberIndex(std::string_view(k).substr(head.size()));
    if (n != 0) by_index.emplace(n, v);
  }
  std::vector<std::string> out;
  std::size_t expect = 1;
  for (auto& [n, v] : by_index) {
    if (n != expect++) break;  // the list ends at the first gap
    out.push_back(std::move(v));
  }
  return out;
}

std::vector<std::vector<std::pair<std::string, std::string>>> QueryParams::StructList(
    std::string_view prefix) const {
  std::string head = std::string(prefix) + ".member.";
  std::map<std::size_t, std::vector<std::pair<std::string, std::string>>> by_index;
  for (const auto& [k, v] : entries_) {
    if (!k.starts_with(head)) continue;
    std::string_view rest = std::string_view(k).substr(head.size());
    std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos) continue;
    std::size_t n = MemberIndex(rest.substr(0, dot));
    if (n == 0) continue;
    by_index[n].emplace_back(std::string(rest.substr(dot + 1)), v);
  }
  std::vector<std::vector<std::pair<std::string, std::string>>> out;
  std::size_t expect = 1;
  for (auto& [n, fields] : by_index) {
    if (n != expect++) break;
    out.push_back(std::move(fields));
  }
  return out;
}

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}

XmlWriter& XmlWriter::Open(std::string_view name) {
  out_ += '<';
  out_ += name;
  out_ += '>';
  return *this;
}

XmlWriter& XmlWriter::Open(std::string_view name, std::string_view xmlns) {
  out_ += '<';
  out_ += name;
  out_ += " xmlns=\"";
  out_ += XmlEscape(xmlns);
  out_ += "\">";
  return *this;
}

XmlWriter& XmlWriter::Close(std::string_view name) {
  out_ += "</";
  out_ += name;
  out_ += '>';
  return *this;
}

XmlWriter& XmlWriter::Element(std::string_view name, std::string_view text) {
  Open(name);
  out_ += XmlEscape(text);
  return Close(name);
}

XmlWriter& XmlWriter::Raw(std::string_view xml) {
  out_ += xml;
  return *this;
}

QueryProtocol::QueryProtocol(SigV4Verifier& verifier, const RequestHooks& hooks)
    : verifier_(verifier), hooks_(hooks) {}

namespace {

// requestParameters for the record: the operation's members as sent (flattened names kept), without
// the protocol's own (Action, Version, the presigned X-Amz-* members).
boost::json::object ParametersOf(const QueryParams& params) {
  boost::json::object out;
  for (const auto& [k, v] : params.entries()) {
    if (k == "Action" || k == "Version" || k.starts_with("X-Amz-")) continue;
    out[k] = v;
  }
  return out;
}

}  // namespace

http::Response QueryProtocol::Handle(const http::Request& request, const QueryParams& params,
                                     QueryService& service) {
  auto start = std::chrono::steady_clock::now();
  OperationContext ctx;
  ctx.request_id = NewRequestId();
  ctx.operation = std::string(params.Find("Action").value_or("").substr(0, kMaxEchoedAction));
  ctx.source_ip = request.remote_addr;
  ctx.user_agent = std::string(request.Header("user-agent").value_or(""));
  ctx.secure_transport = request.tls;
  std::string access_key_id;
  std::optional<RequestScope> scope;
  const std::string event_source = std::string(service.signing_name()) + ".amazonaws.com";

  Result<std::string> result = [&]() -> Result<std::string> {
    if (request.method != "POST" && request.method != "GET") {
      return Error(Code::kUnknownOperation,
                   "The query protocol accepts GET and POST requests only, not " + request.method + ".");
    }
    if (ctx.operation.empty()) {
      return Error(Code::kUnknownOperation, "Missing Action");
    }
    if (!service.HasOperation(ctx.operation)) {
      return Error(Code::kUnknownOperation, "Could not find operation " + ctx.operation +
                                                " for version " + std::string(service.api_version()));
    }
    const bool signed_request = request.Header("authorization").has_value() ||
                                request.Query().find("X-Amz-Signature") != std::string_view::npos;
    if (!service.IsUnsigned(ctx.operation) || signed_request) {
      ARCA_ASSIGN_OR_RETURN(Authenticated auth,
                            verifier_.Verify(request, service.signing_name(), &access_key_id));
      ctx.region = std::move(auth.region);
      ctx.caller = std::move(auth.caller);
    } else {
      // Unsigned (AssumeRoleWithWebIdentity): the caller is whoever the token names; the service
      // fills ctx.caller in once it has verified it.
      ctx.region = "us-east-1";
    }
    scope.emplace(hooks_, ctx, service.signing_name(), event_source);
    ARCA_RETURN_IF_ERROR(scope->Admit());
    return service.Invoke(ctx, params);
  }();

  http::Response response;
  std::string_view error_type;
  XmlWriter w;
  if (result.ok()) {
    response.status = 200;
    const std::string& action = ctx.operation;
    w.Raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.Open(action + "Response", service.xml_namespace());
    if (!result->empty()) {
      w.Open(action + "Result").Raw(*result).Close(action + "Result");
    }
    w.Open("ResponseMetadata").Element("RequestId", ctx.request_id).Close("ResponseMetadata");
    w.Close(action + "Response");
  } else {
    const Error& err = result.error();
    QueryErrorShape shape = CommonShape(err.code()).value_or(service.ErrorShapeOf(err));
    std::string_view message = err.message();
    if (shape.status >= 500) {
      message = kInternalErrorMessage;
      log::Error("request failed",
                 {{"op", ctx.operation}, {"request_id", ctx.request_id}, {"error", err.ToLogString()}});
    }
    response.status = shape.status;
    error_type = shape.code;
    w.Raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.Open("ErrorResponse", service.xml_namespace())
        .Open("Error")
        .Element("Type", shape.type)
        .Element("Code", shape.code)
        .Element("Message", message)
        .Close("Error")
        .Element("RequestId", ctx.request_id)
        .Close("ErrorResponse");
  }
  response.body = w.Take();
  response.SetHeader("Content-Type", "text/xml");
  response.SetHeader("x-amzn-RequestId", ctx.request_id);
  if (scope.has_value()) {
    boost::json::object parameters = ParametersOf(params);
    std::string message = result.ok() ? std::string()
                          : response.status >= 500 ? std::string(kInternalErrorMessage)
                                                   : result.error().message();
    scope->Finish(response, true, &parameters, error_type, message, start,
                  [request_id = ctx.request_id, ns = std::string(service.xml_namespace())] {
                    XmlWriter e;
                    e.Raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
                    e.Open("ErrorResponse", ns)
                        .Open("Error")
                        .Element("Type", "Receiver")
                        .Element("Code", "ServiceUnavailable")
                        .Element("Message", "The request could not be recorded in the audit log.")
                        .Close("Error")
                        .Element("RequestId", request_id)
                        .Close("ErrorResponse");
                    http::Response r;
                    r.status = 503;
                    r.body = e.Take();
                    r.SetHeader("Content-Type", "text/xml");
                    r.SetHeader("x-amzn-RequestId", request_id);
                    return r;
                  });
  } else {
    RecordUnauthenticated(hooks_, service.signing_name(), ctx.operation, response.status, start);
  }
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  LogRequest(ctx.operation, response.status, error_type, ms, ctx.request_id, access_key_id, ctx.region);
  return response;
}

}  // namespace arca::frontends::aws
