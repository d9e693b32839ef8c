// The Kubernetes client's configuration (kubeconfig and in-cluster) and its paths. Requests
// themselves are tested against a real API server (tests/integration/test_operator.py).
#include "operator/kube/client.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "crypto/hash.h"
#include "operator/kube/informer.h"

namespace arca::op::kube {
namespace {

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: Q0EtUEVN
- name: dev
  cluster:
    server: https://dev:6443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: tok-123
- name: ops
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: plugin
  user:
    exec: {command: aws}
contexts:
- name: prod-admin
  context: {cluster: prod, user: admin, namespace: shop}
- name: dev-ops
  context: {cluster: dev, user: ops}
- name: plugin
  context: {cluster: dev, user: plugin}
current-context: prod-admin
)";

TEST(KubeConfigTest, CurrentContextWithTokenAndInlineCa) {
  auto c = ParseKubeConfig(kConfig, "", "/home/me/.kube/config");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server, "https://10.0.0.1:6443");
  EXPECT_EQ(c->ca_pem, "CA-PEM");
  EXPECT_EQ(c->token, "tok-123");
  EXPECT_EQ(c->namespace_, "shop");
  EXPECT_FALSE(c->insecure);
  EXPECT_EQ(c->source, "kubeconfig /home/me/.kube/config (context prod-admin)");
}

TEST(KubeConfigTest, ClientCertificatesInsecureAndErrors) {
  auto c = ParseKubeConfig(kConfig, "dev-ops", "cfg");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->client_cert_pem, "CERT");
  EXPECT_EQ(c->client_key_pem, "KEY");
  EXPECT_TRUE(c->insecure);
  EXPECT_EQ(c->namespace_, "default");
  auto plugin = ParseKubeConfig(kConfig, "plugin", "cfg");
  ASSERT_FALSE(plugin.ok());
  EXPECT_NE(plugin.error().message().find("exec or auth-provider plugin"), std::string::npos);
  auto missing = ParseKubeConfig(kConfig, "nope", "cfg");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "cfg: no context named nope");
  EXPECT_FALSE(ParseKubeConfig("[not: a config", "", "cfg").ok());
}

TEST(KubeConfigTest, ExplicitFileWinsThenKubeconfigVariable) {
  const auto dir = std::filesystem::temp_directory_path() / "arca-kubeconfig-test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "config").string();
  {
    std::ofstream(path) << kConfig;
  }
  auto env = [&](std::string_view name) -> std::optional<std::string> {
    if (name == "KUBECONFIG") return path + ":/other";
    return std::nullopt;
  };
  auto c = LoadKubeConfig("", env);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->token, "tok-123");
  auto none = LoadKubeConfig("", [](std::string_view) -> std::optional<std::string> { return std::nullopt; });
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code(), Code::kNotFound);
  auto bad = LoadKubeConfig((dir / "absent").string(), env);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kInvalidParameter);
  std::filesystem::remove_all(dir);
}

TEST(KubeConfigTest, InClusterServiceAccount) {
  const auto dir = std::filesystem::temp_directory_path() / "arca-kube-sa-test";
  std::filesystem::create_directories(dir);
  {
    std::ofstream(dir / "token") << "pod-token\n";
    std::ofstream(dir / "ca.crt") << "CLUSTER-CA";
    std::ofstream(dir / "namespace") << "arca-system";
  }
  auto env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "KUBERNETES_SERVICE_HOST") return "10.96.0.1";
    if (name == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto c = LoadKubeConfig("", env, dir.string());
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->server, "https://10.96.0.1:443");
  EXPECT_EQ(c->ca_pem, "CLUSTER-CA");
  EXPECT_EQ(c->token_file, (dir / "token").string());  // re-read on each request: bound tokens rotate
  EXPECT_EQ(c->namespace_, "arca-system");
  EXPECT_EQ(c->source, "in-cluster service account");
  auto v6 = LoadKubeConfig("", [](std::string_view name) -> std::optional<std::string> {
    if (name == "KUBERNETES_SERVICE_HOST") return "fd00::1";
    if (name == "KUBERNETES_SERVICE_PORT") return "6443";
    return std::nullopt;
  }, dir.string());
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->server, "https://[fd00::1]:6443");
  std::filesystem::remove(dir / "token");
  auto no_token = LoadKubeConfig("", env, dir.string());
  ASSERT_FALSE(no_token.ok());
  EXPECT_EQ(no_token.error().code(), Code::kInvalidParameter);
  std::filesystem::remove_all(dir);
}

TEST(KubePathsTest, ResourcePathsAndKeys) {
  EXPECT_EQ(ResourcePath("", "v1", "secrets", "apps", "db"), "/api/v1/namespaces/apps/secrets/db");
  EXPECT_EQ(ResourcePath("external-secrets.io", "v1", "clustersecretstores", "", "x"),
            "/apis/external-secrets.io/v1/clustersecretstores/x");
  EXPECT_EQ(ResourcePath("apps", "v1", "deployments", "ns"), "/apis/apps/v1/namespaces/ns/deployments");
  EXPECT_EQ(QueryEscape("reconcile.external-secrets.io/managed=true"),
            "reconcile.external-secrets.io%2Fmanaged%3Dtrue");
  boost::json::object o{{"metadata", boost::json::object{{"name", "db"}, {"namespace", "apps"}}}};
  EXPECT_EQ(KeyOf(o), "apps/db");
  o["metadata"].get_object().erase("namespace");
  EXPECT_EQ(KeyOf(o), "db");
}

}  // namespace
}  // namespace arca::op::kube
