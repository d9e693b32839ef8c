#include "operator/stores.h"

#include <ctime>

#include "operator/aws_source.h"

namespace arca::op {

namespace {

std::optional<std::string> XmlText(std::string_view xml, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const std::size_t a = xml.find(open);
  if (a == std::string_view::npos) return std::nullopt;
  const std::size_t b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return std::nullopt;
  return std::string(xml.substr(a + open.size(), b - a - open.size()));
}

std::string SessionName(std::string_view prefix) {
  return std::string(prefix) + "-" + std::to_string(std::time(nullptr));
}

// auth.jwt: a TokenRequest for the service account, exchanged with STS for its role (the
// eks.amazonaws.com/role-arn annotation, else the store's role); with both, the store's role is
// then assumed from the annotation's (ESO's chaining). Sets *role_done when the store's role was used.
Result<client::Credentials> WebIdentity(const SecretStore& s, const std::string& ns, StoreContext& ctx,
                                        const client::ClientOptions& sts, std::string_view session_prefix,
                                        bool* role_done) {
  std::vector<std::string> audiences = s.auth.audiences;
  if (audiences.empty()) audiences.push_back("sts.amazonaws.com");
  ARCA_ASSIGN_OR_RETURN(ServiceAccountToken t, ctx.Token(ns, *s.auth.service_account, audiences));
  std::string role = t.role_arn;
  if (role.empty()) {
    role = s.role;
    *role_done = true;
  }
  if (role.empty()) {
    return Error(Code::kMissingAuthentication,
                 s.kind + " " + s.name + ": auth.jwt: service account " + ns + "/" + *s.auth.service_account +
                     " has no eks.amazonaws.com/role-arn annotation and the store names no role");
  }
  return client::AssumeRoleWithWebIdentity(sts, role, SessionName(session_prefix), std::string(t.token.view()));
}

}  // namespace

std::string ReferenceNamespace(const SecretStore& store, const std::string& named, const std::string& es_namespace) {
  if (store.kind == "ClusterSecretStore") return named.empty() ? es_namespace : named;
  return store.namespace_.empty() ? es_namespace : store.namespace_;
}

Result<client::Credentials> AssumeRole(const client::ClientOptions& sts, client::Credentials base,
                                       const std::string& role, const std::string& external_id,
                                       std::string_view session_prefix) {
  client::AwsClient c(sts, std::move(base));
  std::vector<std::pair<std::string, std::string>> params = {{"RoleArn", role},
                                                             {"RoleSessionName", SessionName(session_prefix)}};
  if (!external_id.empty()) params.emplace_back("ExternalId", external_id);
  ARCA_ASSIGN_OR_RETURN(std::string xml, c.CallQuery("sts", "AssumeRole", "2011-06-15", params));
  client::Credentials out;
  auto id = XmlText(xml, "AccessKeyId");
  auto secret = XmlText(xml, "SecretAccessKey");
  auto token = XmlText(xml, "SessionToken");
  SecureWipe(xml);
  if (!id || !secret) {
    if (secret) SecureWipe(*secret);
    return Error(Code::kInternal, "the AssumeRole answer for " + role + " has no credentials");
  }
  out.access_key_id = *id;
  out.secret_access_key = SecretBytes::FromString(std::move(*secret));
  out.session_token = token.value_or("");
  out.source = "AssumeRole (" + role + ")";
  return out;
}

Result<StoreClient> ClientForStore(const SecretStore& s, const std::string& es_namespace, StoreContext& ctx,
                                   std::string_view session_prefix) {
  const std::string name = s.kind + " " + s.name;
  if (s.provider != "aws" && s.provider != "arca") {
    return Error(Code::kInvalidParameter,
                 name + " uses the " + s.provider + " provider, which Arca does not support (aws, arca)");
  }
  const bool ssm = s.provider == "aws" && s.service == "ParameterStore";
  client::ClientOptions o = ctx.BaseOptions(ssm ? "SSM" : "SECRETS_MANAGER");
  client::ClientOptions sts = ctx.BaseOptions("STS");
  if (!s.region.empty()) o.region = sts.region = s.region;
  if (s.provider == "arca") {
    o.endpoint = s.server;
    while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
    sts.endpoint = o.endpoint;
    if (!s.ca_bundle.empty()) {
      o.ca_pem = s.ca_bundle;
    } else if (s.ca_provider) {
      ARCA_ASSIGN_OR_RETURN(o.ca_pem, ctx.CaBundle(*s.ca_provider,
                                                   ReferenceNamespace(s, s.ca_provider->namespace_, es_namespace), name));
    }
    sts.ca_pem = o.ca_pem;
    sts.ca_bundle = o.ca_bundle;
  }
  client::Credentials creds;
  bool role_done = false;
  if (s.auth.access_key_id && s.auth.secret_access_key) {
    auto key = [&](const SecretKeyRef& ref, const std::string& field) {
      return ctx.SecretKey(ReferenceNamespace(s, ref.namespace_, es_namespace), ref.name, ref.key, field);
    };
    ARCA_ASSIGN_OR_RETURN(SecretBytes id, key(*s.auth.access_key_id, "auth.secretRef.accessKeyIDSecretRef"));
    ARCA_ASSIGN_OR_RETURN(creds.secret_access_key,
                          key(*s.auth.secret_access_key, "auth.secretRef.secretAccessKeySecretRef"));
    creds.access_key_id = std::string(id.view());
    if (s.auth.session_token) {
      ARCA_ASSIGN_OR_RETURN(SecretBytes token, key(*s.auth.session_token, "auth.secretRef.sessionTokenSecretRef"));
      creds.session_token = std::string(token.view());
    }
    creds.source = name + " auth.secretRef";
  } else if (s.auth.service_account) {
    ARCA_ASSIGN_OR_RETURN(creds, WebIdentity(s, ReferenceNamespace(s, s.auth.service_account_namespace, es_namespace),
                                             ctx, sts, session_prefix, &role_done));
  } else {
    ARCA_ASSIGN_OR_RETURN(creds, ctx.DefaultCredentials(sts));
  }
  if (!s.role.empty() && !role_done) {
    ARCA_ASSIGN_OR_RETURN(creds, AssumeRole(sts, std::move(creds), s.role, s.external_id, session_prefix));
  }
  const std::string desc = std::string(ssm ? "Parameter Store" : "Secrets Manager") + " at " + o.endpoint + " (" +
                           o.region + ", " + name + ")";
  StoreClient out;
  out.client = std::make_shared<const client::AwsClient>(std::move(o), std::move(creds));
  out.parameter_store = ssm;
  out.description = desc;
  return out;
}

std::unique_ptr<SecretSource> SourceForClient(const StoreClient& c, const std::string& prefix) {
  if (c.parameter_store) return NewParameterStoreSource(ClientCall(c.client, "ssm", "AmazonSSM"), prefix, c.description);
  return NewSecretsManagerSource(ClientCall(c.client, "secretsmanager", "secretsmanager"), prefix, c.description);
}

Result<std::unique_ptr<SecretSource>> SourceForStore(const SecretStore& s, const std::string& es_namespace,
                                                     StoreContext& ctx, std::string_view session_prefix) {
  ARCA_ASSIGN_OR_RETURN(StoreClient c, ClientForStore(s, es_namespace, ctx, session_prefix));
  return SourceForClient(c, s.prefix);
}

}  // namespace arca::op
