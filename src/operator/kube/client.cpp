#include "operator/kube/client.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

#include "core/json.h"
#include "core/secret_bytes.h"
#include "crypto/hash.h"
#include "http/client.h"

namespace arca::op::kube {

namespace bj = boost::json;

namespace {

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string DirOf(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// A kubeconfig field that is either inline base64 (`NAME-data`) or a file (`NAME`, relative to the
// kubeconfig's directory).
Result<std::string> DataOrFile(const YAML::Node& node, const std::string& name, const std::string& path,
                               const std::string& where) {
  if (node[name + "-data"]) {
    auto decoded = crypto::Base64Decode(node[name + "-data"].as<std::string>());
    if (!decoded) return Error(Code::kInvalidParameter, path + ": " + where + "." + name + "-data is not base64");
    return *decoded;
  }
  if (node[name]) {
    std::string file = node[name].as<std::string>();
    if (!file.starts_with("/")) file = DirOf(path) + "/" + file;
    auto content = ReadFile(file);
    if (!content) return Error(Code::kInvalidParameter, path + ": cannot read " + where + "." + name + " " + file);
    return *content;
  }
  return std::string();
}

YAML::Node Named(const YAML::Node& list, const std::string& name) {
  if (!list || !list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) return item;
  }
  return YAML::Node();
}

Result<KubeConfig> InCluster(const client::EnvLookup& env, const std::string& dir) {
  auto host = env("KUBERNETES_SERVICE_HOST");
  auto port = env("KUBERNETES_SERVICE_PORT");
  if (!host || !port || host->empty()) return Error(Code::kNotFound, "not in a cluster");
  KubeConfig c;
  const bool v6 = host->find(':') != std::string::npos;
  c.server = "https://" + (v6 ? "[" + *host + "]" : *host) + ":" + *port;
  c.token_file = dir + "/token";
  if (!ReadFile(c.token_file)) {
    return Error(Code::kInvalidParameter, "in a cluster, but " + c.token_file + " cannot be read");
  }
  c.ca_pem = ReadFile(dir + "/ca.crt").value_or("");
  c.namespace_ = Trim(ReadFile(dir + "/namespace").value_or("default"));
  c.source = "in-cluster service account";
  return c;
}

Error StatusError(int status, std::string_view body, std::string_view method, const std::string& path) {
  std::string message;
  std::string reason;
  auto parsed = json::Parse(body);
  if (parsed.ok() && parsed->is_object()) {
    const bj::object& o = parsed->get_object();
    if (const bj::value* m = o.if_contains("message"); m != nullptr && m->is_string()) message = m->get_string();
    if (const bj::value* r = o.if_contains("reason"); r != nullptr && r->is_string()) reason = r->get_string();
  }
  if (message.empty()) {
    message = std::string(method) + " " + path + ": HTTP " + std::to_string(status);
  }
  Code code = Code::kUnavailable;
  switch (status) {
    case 400:
    case 422: code = Code::kInvalidParameter; break;
    case 401: code = Code::kMissingAuthentication; break;
    case 403: code = Code::kAccessDenied; break;
    case 404: code = Code::kNotFound; break;
    case 409: code = reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kPreconditionNotMet; break;
    case 410:
      code = Code::kPreconditionNotMet;
      if (reason.empty()) reason = "Expired";
      break;
    default: code = Code::kUnavailable; break;
  }
  if (reason.empty()) reason = "HTTP" + std::to_string(status);
  return Error(code, message).WithWireType(reason);
}

http::PostOptions Options(const KubeConfig& c, std::chrono::milliseconds timeout) {
  http::PostOptions o;
  o.timeout = timeout;
  o.connect_timeout = std::chrono::milliseconds(5000);
  o.ca_pem = c.ca_pem;
  o.client_cert_pem = c.client_cert_pem;
  o.client_key_pem = c.client_key_pem;
  o.insecure_skip_verify = c.insecure;
  o.max_body_bytes = std::size_t{64} << 20;  // a large list
  return o;
}

}  // namespace

Result<KubeConfig> ParseKubeConfig(std::string_view yaml, const std::string& context, const std::string& path) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidParameter, path + ": not YAML: " + e.what());
  }
  try {
    std::string ctx_name = context;
    if (ctx_name.empty() && doc["current-context"]) ctx_name = doc["current-context"].as<std::string>();
    if (ctx_name.empty()) return Error(Code::kInvalidParameter, path + ": no current-context");
    YAML::Node ctx = Named(doc["contexts"], ctx_name);
    if (!ctx || !ctx["context"]) return Error(Code::kInvalidParameter, path + ": no context named " + ctx_name);
    const YAML::Node& cc = ctx["context"];
    const std::string cluster_name = cc["cluster"] ? cc["cluster"].as<std::string>() : "";
    const std::string user_name = cc["user"] ? cc["user"].as<std::string>() : "";
    YAML::Node cluster = Named(doc["clusters"], cluster_name);
    if (!cluster || !cluster["cluster"]) {
      return Error(Code::kInvalidParameter, path + ": context " + ctx_name + " names cluster " + cluster_name +
                                                ", which is not in clusters");
    }
    const YAML::Node& cl = cluster["cluster"];
    KubeConfig c;
    if (!cl["server"]) return Error(Code::kInvalidParameter, path + ": cluster " + cluster_name + " has no server");
    c.server = cl["server"].as<std::string>();
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    ARCA_ASSIGN_OR_RETURN(c.ca_pem, DataOrFile(cl, "certificate-authority", path, "cluster " + cluster_name));
    c.insecure = cl["insecure-skip-tls-verify"] && cl["insecure-skip-tls-verify"].as<bool>();
    YAML::Node user = Named(doc["users"], user_name);
    if (user && user["user"]) {
      const YAML::Node& u = user["user"];
      if (u["token"]) c.token = u["token"].as<std::string>();
      if (u["tokenFile"]) c.token_file = u["tokenFile"].as<std::string>();
      ARCA_ASSIGN_OR_RETURN(c.client_cert_pem, DataOrFile(u, "client-certificate", path, "user " + user_name));
      ARCA_ASSIGN_OR_RETURN(c.client_key_pem, DataOrFile(u, "client-key", path, "user " + user_name));
      if (u["exec"] || u["auth-provider"]) {
        return Error(Code::kInvalidParameter, path + ": user " + user_name +
                                                  " uses an exec or auth-provider plugin, which arca operator "
                                                  "does not run; give it a token, tokenFile or client certificate");
      }
    }
    c.namespace_ = cc["namespace"] ? cc["namespace"].as<std::string>() : "default";
    c.source = "kubeconfig " + path + " (context " + ctx_name + ")";
    return c;
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidParameter, path + ": " + e.what());
  }
}

Result<KubeConfig> LoadKubeConfig(const std::string& kubeconfig_path, const client::EnvLookup& env,
                                  const std::string& service_account_dir) {
  auto from_file = [](const std::string& path) -> Result<KubeConfig> {
    auto text = ReadFile(path);
    if (!text) return Error(Code::kInvalidParameter, "cannot read kubeconfig " + path);
    auto c = ParseKubeConfig(*text, "", path);
    SecureWipe(*text);
    return c;
  };
  if (!kubeconfig_path.empty()) return from_file(kubeconfig_path);
  if (auto kc = env("KUBECONFIG"); kc && !kc->empty()) {
    const std::string first = kc->substr(0, kc->find(':'));
    return from_file(first);
  }
  auto in_cluster = InCluster(env, service_account_dir);
  if (in_cluster.ok() || in_cluster.error().code() != Code::kNotFound) return in_cluster;
  if (auto home = env("HOME"); home && !home->empty()) {
    const std::string path = *home + "/.kube/config";
    if (ReadFile(path)) return from_file(path);
  }
  return Error(Code::kNotFound,
               "no Kubernetes API server: not in a cluster, no --kubeconfig, no KUBECONFIG and no ~/.kube/config");
}

KubeClient::KubeClient(KubeConfig config) : config_(std::move(config)) {}

std::string KubeClient::Token() const {
  if (!config_.token_file.empty()) {
    if (auto t = ReadFile(config_.token_file)) return Trim(*t);
  }
  return config_.token;
}

Result<bj::object> KubeClient::Call(std::string_view method, const std::string& path, const std::string& body,
                                    std::string_view content_type) const {
  http::ClientRequest req;
  req.method = std::string(method);
  req.url = config_.server + path;
  req.body = body;
  req.headers.emplace_back("Accept", "application/json");
  if (!body.empty()) req.headers.emplace_back("Content-Type", std::string(content_type));
  const std::string token = Token();
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  req.headers.emplace_back("User-Agent", "arca-operator");
  auto resp = http::Send(req, Options(config_, std::chrono::milliseconds(30000)));
  SecureWipe(req.body);  // a Secret's data
  if (!resp.ok()) return resp.error();
  if (resp->status < 200 || resp->status >= 300) return StatusError(resp->status, resp->body, method, path);
  if (resp->body.empty()) return bj::object();
  auto parsed = json::Parse(resp->body);
  if (!parsed.ok() || !parsed->is_object()) {
    return Error(Code::kUnavailable, std::string(method) + " " + path + ": the API server's answer is not a JSON object");
  }
  return std::move(parsed->get_object());
}

Result<bj::object> KubeClient::Get(const std::string& path) const { return Call("GET", path, "", ""); }

Result<bj::object> KubeClient::Create(const std::string& path, const bj::object& body) const {
  std::string text = bj::serialize(body);
  auto r = Call("POST", path, text, "application/json");
  SecureWipe(text);
  return r;
}

Result<bj::object> KubeClient::Update(const std::string& path, const bj::object& body) const {
  std::string text = bj::serialize(body);
  auto r = Call("PUT", path, text, "application/json");
  SecureWipe(text);
  return r;
}

Result<bj::object> KubeClient::Patch(const std::string& path, const bj::object& body, PatchType type) const {
  std::string text = bj::serialize(body);
  auto r = Call("PATCH", path, text,
                type == PatchType::kMerge ? "application/merge-patch+json" : "application/strategic-merge-patch+json");
  SecureWipe(text);
  return r;
}

Status KubeClient::Delete(const std::string& path, std::string_view propagation) const {
  std::string body;
  if (!propagation.empty()) {
    body = bj::serialize(bj::object{{"kind", "DeleteOptions"},
                                    {"apiVersion", "v1"},
                                    {"propagationPolicy", std::string(propagation)}});
  }
  auto r = Call("DELETE", path, body, "application/json");
  if (!r.ok()) return r.error();
  return OkStatus();
}

Status KubeClient::Watch(const std::string& path, const std::function<bool(const bj::object& event)>& on_event,
                         const std::atomic<bool>* cancel, std::chrono::seconds timeout) const {
  http::ClientRequest req;
  req.method = "GET";
  req.url = config_.server + path;
  req.headers.emplace_back("Accept", "application/json");
  const std::string token = Token();
  if (!token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  req.headers.emplace_back("User-Agent", "arca-operator");
  http::ClientResponse head;
  std::string pending;  // bytes after the last newline
  std::string error_body;
  bool stopped_by_handler = false;
  Status handler_error = OkStatus();
  auto sink = [&](std::string_view chunk) -> bool {
    if (head.status != 200) {
      if (error_body.size() < 65536) error_body.append(chunk);
      return true;
    }
    pending.append(chunk);
    std::size_t start = 0;
    for (std::size_t nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
      std::string_view line(pending.data() + start, nl - start);
      start = nl + 1;
      if (line.empty()) continue;
      auto parsed = json::Parse(line);
      if (!parsed.ok() || !parsed->is_object()) {
        handler_error = Error(Code::kUnavailable, "watch " + path + ": an event is not a JSON object");
        return false;
      }
      if (!on_event(parsed->get_object())) {
        stopped_by_handler = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  };
  auto opts = Options(config_, std::chrono::duration_cast<std::chrono::milliseconds>(timeout));
  Status s = http::Stream(req, opts, sink, cancel, &head);
  SecureWipe(pending);  // events carry Secrets' data
  if (!handler_error.ok()) return handler_error;
  if (stopped_by_handler) return OkStatus();
  if (!s.ok()) {
    // The watch's own deadline is the normal end of a long watch.
    if (s.error().message().find("timed out") != std::string::npos && head.status == 200) return OkStatus();
    return s;
  }
  if (head.status != 200 && head.status != 0) return StatusError(head.status, error_body, "GET", path);
  return OkStatus();
}

std::string ApiPrefix(std::string_view group, std::string_view version) {
  if (group.empty()) return "/api/" + std::string(version);
  return "/apis/" + std::string(group) + "/" + std::string(version);
}

std::string ResourcePath(std::string_view group, std::string_view version, std::string_view plural,
                         std::string_view ns, std::string_view name) {
  std::string p = ApiPrefix(group, version);
  if (!ns.empty()) p += "/namespaces/" + std::string(ns);
  p += "/" + std::string(plural);
  if (!name.empty()) p += "/" + std::string(name);
  return p;
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace arca::op::kube
