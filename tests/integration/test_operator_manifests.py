"""`arca operator manifests` against a real Kubernetes API server (v1.26 from ../shared/k8s).

Applies the printed CRDs, RBAC and Deployment, then checks that ESO-style manifests in both
external-secrets.io versions are accepted (and read back unchanged in the other version), that
invalid ones get the API server's validation error, that the operator's ServiceAccount has exactly
the access it needs, and that the status subresource works. The API server is spoken to directly
(kube_harness.py), so no kubectl is needed.

Environment:
  ARCA_TEST_KUBE_ASSETS  folder with start-cluster.sh and bin/kube-apiserver (default
                         ../../../shared/k8s from here); the test is SKIPPED when it is absent.
"""

import json
import shutil
import subprocess
import tempfile
import unittest

import kube_harness
from kube_harness import ApiError, collection_path
from arca_harness import arca_bin, clean_env

GROUP = "external-secrets.io"
CRDS = ["externalsecrets", "secretstores", "clustersecretstores", "clusterexternalsecrets"]
OPERATOR_SA = "system:serviceaccount:arca-system:arca-operator"
NS = "team-a"
SKIP = kube_harness.skip_reason()


def external_secret(api_version, name, creation_policy="Owner"):
    return {
        "apiVersion": f"{GROUP}/{api_version}",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "refreshInterval": "15m",
            "refreshPolicy": "Periodic",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "arca-aws"},
            "target": {
                "name": f"{name}-secret",
                "creationPolicy": creation_policy,
                "deletionPolicy": "Delete",
                "template": {
                    "engineVersion": "v2",
                    "type": "Opaque",
                    "metadata": {"labels": {"app": "api"}, "annotations": {"team": "a"}},
                    "data": {"DATABASE_URL": "postgres://{{ .user }}:{{ .password }}@db/app"},
                    "templateFrom": [{"configMap": {"name": "tpl", "items": [{"key": "config.yaml"}]}},
                                     {"target": "Labels", "literal": "x: y"}],
                },
            },
            "data": [
                {"secretKey": "user", "remoteRef": {"key": "prod/db", "property": "user"}},
                {"secretKey": "password",
                 "remoteRef": {"key": "prod/db", "property": "auth.password", "version": "AWSCURRENT",
                               "decodingStrategy": "None", "conversionStrategy": "Default",
                               "metadataPolicy": "None"}},
            ],
            "dataFrom": [
                {"extract": {"key": "prod/app-config", "decodingStrategy": "Auto"},
                 "rewrite": [{"regexp": {"source": "^(.*)$", "target": "APP_$1"}}]},
                {"find": {"path": "prod/", "name": {"regexp": "^prod/llm-.*"}, "tags": {"team": "a"}},
                 "rewrite": [{"transform": {"template": "{{ .value | upper }}"}}]},
            ],
        },
    }


@unittest.skipIf(SKIP, SKIP)
class OperatorManifestsTest(unittest.TestCase):
    """One control plane for the class (~5 s to start); each test uses its own object names."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = kube_harness.Cluster()
        try:
            manifests = subprocess.run([arca_bin(), "operator", "manifests"], check=True,
                                       capture_output=True, text=True, timeout=30).stdout
            cls.cluster.apply_yaml_stream(manifests)
            cls.cluster.wait_crds([f"{c}.{GROUP}" for c in CRDS])
            cls.cluster.namespace(NS)
        except BaseException:
            cls.cluster.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def create(self, obj):
        return self.cluster.create(collection_path(obj), obj)

    def refused(self, obj):
        """Creates `obj`, which the API server must refuse; returns its message."""
        with self.assertRaises(ApiError) as ctx:
            self.create(obj)
        return json.loads(ctx.exception.body).get("message", ctx.exception.body)

    def path(self, resource, version, name, namespace=None):
        ns = f"/namespaces/{namespace}" if namespace else ""
        return f"/apis/{GROUP}/{version}{ns}/{resource}/{name}"

    def get(self, resource, version, name, namespace=None):
        return self.cluster.get(self.path(resource, version, name, namespace))

    def patch_status(self, resource, name, status, namespace=None):
        return self.cluster.patch(self.path(resource, "v1", name, namespace) + "/status", status)

    def table(self, resource, name, namespace):
        """What `kubectl get` shows: the API server's Table for the object."""
        return json.loads(self.cluster.request(
            "GET", self.path(resource, "v1", name, namespace), raw=True,
            accept="application/json;as=Table;v=v1;g=meta.k8s.io"))

    def crd(self, plural):
        return self.cluster.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}")

    def crd_schema(self, plural, version):
        crd = self.crd(plural)
        for v in crd["spec"]["versions"]:
            if v["name"] == version:
                return v["schema"]["openAPIV3Schema"]
        self.fail(f"{plural} does not serve {version}")
        return None

    # --- the CRDs themselves ---------------------------------------------------------------------

    def test_crds_serve_both_versions_with_one_schema_and_v1_storage(self):
        for plural in CRDS:
            crd = self.crd(plural)
            versions = {v["name"]: v for v in crd["spec"]["versions"]}
            self.assertEqual(set(versions), {"v1", "v1beta1"}, plural)
            self.assertTrue(all(v["served"] for v in versions.values()), plural)
            self.assertEqual([n for n, v in versions.items() if v["storage"]], ["v1"], plural)
            self.assertEqual(versions["v1"]["schema"], versions["v1beta1"]["schema"], plural)
            self.assertIn("status", versions["v1"]["subresources"], plural)
            conds = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
            self.assertEqual(conds.get("Established"), "True", plural)
            self.assertNotIn("NonStructuralSchema", conds, plural)
        # The copies that must stay in step.
        es = self.crd_schema("externalsecrets", "v1")["properties"]["spec"]
        ces = self.crd_schema("clusterexternalsecrets", "v1")["properties"]["spec"]
        self.assertEqual(ces["properties"]["externalSecretSpec"], es)
        self.assertEqual(self.crd_schema("secretstores", "v1"),
                         self.crd_schema("clustersecretstores", "v1"))

    def test_printer_columns(self):
        self.create(external_secret("v1", "columns"))
        t = self.table("externalsecrets", "columns", NS)
        header = " ".join(c["name"] for c in t["columnDefinitions"]).upper().split()
        for column in ["STORETYPE", "STORE", "REFRESH", "STATUS", "READY"]:
            self.assertIn(column, header)
        cells = [str(c) for c in t["rows"][0]["cells"]]
        self.assertIn("ClusterSecretStore", cells)
        self.assertIn("15m", cells)

    # --- ExternalSecret ----------------------------------------------------------------------------

    def test_external_secret_v1beta1_reads_back_as_v1(self):
        self.create(external_secret("v1beta1", "beta-in"))
        beta = self.get("externalsecrets", "v1beta1", "beta-in", NS)
        v1 = self.get("externalsecrets", "v1", "beta-in", NS)
        self.assertEqual(v1["apiVersion"], f"{GROUP}/v1")
        self.assertEqual(beta["spec"], v1["spec"])
        # What was written is all there, nothing pruned.
        self.assertEqual(v1["spec"]["data"], external_secret("v1beta1", "beta-in")["spec"]["data"])
        self.assertEqual(v1["spec"]["dataFrom"],
                         external_secret("v1beta1", "beta-in")["spec"]["dataFrom"])
        self.assertEqual(v1["spec"]["target"]["template"]["templateFrom"][0]["configMap"]["items"],
                         [{"key": "config.yaml", "templateAs": "Values"}])  # ESO's default

    def test_external_secret_v1_reads_back_as_v1beta1_with_defaults(self):
        obj = external_secret("v1", "v1-in")
        del obj["spec"]["target"]
        del obj["spec"]["refreshInterval"]
        obj["spec"]["dataFrom"][0]["rewrite"] = [{"merge": {"into": "config"}}]  # ESO v1 only
        self.create(obj)
        v1 = self.get("externalsecrets", "v1", "v1-in", NS)
        beta = self.get("externalsecrets", "v1beta1", "v1-in", NS)
        self.assertEqual(beta["apiVersion"], f"{GROUP}/v1beta1")
        self.assertEqual(beta["spec"], v1["spec"])
        self.assertEqual(v1["spec"]["target"], {"creationPolicy": "Owner", "deletionPolicy": "Retain"})
        self.assertEqual(v1["spec"]["refreshInterval"], "1h0m0s")

    def test_invalid_external_secret_is_rejected_by_the_api_server(self):
        message = self.refused(external_secret("v1beta1", "bogus", "Bogus"))
        self.assertIn("spec.target.creationPolicy", message)
        self.assertIn('Unsupported value: "Bogus"', message)
        obj = external_secret("v1", "nokey")
        del obj["spec"]["data"][0]["remoteRef"]["key"]
        self.assertIn("spec.data[0].remoteRef.key: Required value", self.refused(obj))
        obj = external_secret("v1", "badkey")
        obj["spec"]["data"][0]["secretKey"] = "no spaces allowed"
        self.assertIn("spec.data[0].secretKey", self.refused(obj))

    def test_status_subresource(self):
        self.create(external_secret("v1", "status"))
        status = {"status": {
            "conditions": [{"type": "Ready", "status": "True", "reason": "SecretSynced",
                            "message": "secret synced", "lastTransitionTime": "2024-01-02T03:04:05Z"}],
            "refreshTime": "2024-01-02T03:04:05Z",
            "syncedResourceVersion": "1-abc",
            "binding": {"name": "status-secret"},
        }}
        self.patch_status("externalsecrets", "status", status, NS)
        got = self.get("externalsecrets", "v1beta1", "status", NS)
        self.assertEqual(got["status"], status["status"])
        self.assertIn("SecretSynced", [str(c) for c in self.table("externalsecrets", "status", NS)["rows"][0]["cells"]])
        # A write to the main resource does not change status.
        self.cluster.patch(self.path("externalsecrets", "v1", "status", NS), {"status": {"refreshTime": None}})
        self.assertEqual(self.get("externalsecrets", "v1", "status", NS)["status"], status["status"])

    # --- stores ------------------------------------------------------------------------------------

    def test_cluster_secret_store_aws_jwt(self):
        self.create({
            "apiVersion": f"{GROUP}/v1beta1", "kind": "ClusterSecretStore",
            "metadata": {"name": "arca-aws"},
            "spec": {
                "refreshInterval": 300,  # v1beta1: integer seconds
                "conditions": [{"namespaces": [NS]}],
                "provider": {"aws": {
                    "service": "SecretsManager", "region": "us-east-1",
                    "role": "arn:aws:iam::000000000000:role/eso",
                    "auth": {"jwt": {"serviceAccountRef": {
                        "name": "eso-reader", "namespace": NS, "audiences": ["sts.amazonaws.com"]}}},
                }},
            },
        })
        got = self.get("clustersecretstores", "v1", "arca-aws")
        aws = got["spec"]["provider"]["aws"]
        self.assertEqual(aws["auth"]["jwt"]["serviceAccountRef"]["audiences"], ["sts.amazonaws.com"])
        self.assertEqual(aws["role"], "arn:aws:iam::000000000000:role/eso")
        self.assertEqual(got["spec"]["refreshInterval"], 300)

    def test_secret_store_aws_parameter_store_with_access_keys(self):
        ref = lambda key: {"name": "aws-creds", "key": key}  # noqa: E731
        self.create({
            "apiVersion": f"{GROUP}/v1", "kind": "SecretStore",
            "metadata": {"name": "ssm", "namespace": NS},
            "spec": {"refreshInterval": "5m", "provider": {"aws": {
                "service": "ParameterStore", "region": "eu-west-1",
                "auth": {"secretRef": {"accessKeyIDSecretRef": ref("id"),
                                       "secretAccessKeySecretRef": ref("secret"),
                                       "sessionTokenSecretRef": ref("token")}},
            }}},
        })
        got = self.get("secretstores", "v1beta1", "ssm", NS)
        self.assertEqual(got["spec"]["provider"]["aws"]["auth"]["secretRef"]["sessionTokenSecretRef"],
                         ref("token"))

    def test_cluster_secret_store_vault_block_is_kept_as_written(self):
        vault = {"server": "https://vault.example:8200", "path": "secret", "version": "v2",
                 "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "eso",
                                         "serviceAccountRef": {"name": "eso"}}},
                 "someFutureField": {"x": [1, 2]}}
        self.create({"apiVersion": f"{GROUP}/v1", "kind": "ClusterSecretStore",
                     "metadata": {"name": "vault"}, "spec": {"provider": {"vault": vault}}})
        self.assertEqual(self.get("clustersecretstores", "v1beta1", "vault")["spec"]["provider"]["vault"],
                         vault)

    def test_secret_store_arca_provider(self):
        arca = {"server": "https://arca.arca-system.svc:8200", "region": "us-east-1",
                "caProvider": {"type": "ConfigMap", "name": "arca-ca", "key": "ca.crt"},
                "auth": {"jwt": {"serviceAccountRef": {"name": "app", "audiences": ["sts.amazonaws.com"]}}}}
        self.create({"apiVersion": f"{GROUP}/v1beta1", "kind": "SecretStore",
                     "metadata": {"name": "arca", "namespace": NS},
                     "spec": {"provider": {"arca": arca}}})
        self.assertEqual(self.get("secretstores", "v1", "arca", NS)["spec"]["provider"]["arca"], arca)
        # caBundle and caProvider together, two providers, no provider, a non-URL: rejected.
        bad = [
            ({"arca": dict(arca, caBundle="LS0tLS1CRUdJTg==")}, "at most one of caBundle and caProvider"),
            ({"arca": arca, "aws": {"service": "SecretsManager", "region": "x"}}, "provider"),
            ({}, "provider"),
            ({"arca": dict(arca, server="arca:8200")}, "spec.provider.arca.server"),
        ]
        for i, (provider, message) in enumerate(bad):
            refused = self.refused({
                "apiVersion": f"{GROUP}/v1", "kind": "SecretStore",
                "metadata": {"name": f"bad-{i}", "namespace": NS}, "spec": {"provider": provider}})
            self.assertIn(message, refused, provider)

    def test_cluster_external_secret(self):
        es_spec = external_secret("v1", "x")["spec"]
        self.create({
            "apiVersion": f"{GROUP}/v1beta1", "kind": "ClusterExternalSecret",
            "metadata": {"name": "shared-db"},
            "spec": {"externalSecretName": "shared-db",
                     "externalSecretMetadata": {"labels": {"owner": "platform"}},
                     "namespaceSelectors": [{"matchLabels": {"team": "a"}}],
                     "refreshTime": "1m",
                     "externalSecretSpec": es_spec},
        })
        got = self.get("clusterexternalsecrets", "v1", "shared-db")
        self.assertEqual(got["spec"]["externalSecretSpec"]["data"], es_spec["data"])
        self.patch_status("clusterexternalsecrets", "shared-db",
                          {"status": {"provisionedNamespaces": [NS],
                                      "conditions": [{"type": "Ready", "status": "True"}]}})
        self.assertEqual(self.get("clusterexternalsecrets", "v1beta1", "shared-db")["status"]
                         ["provisionedNamespaces"], [NS])

    # --- RBAC and the Deployment -------------------------------------------------------------------

    def can_i(self, verb, resource, namespace=None, subresource=None, user=OPERATOR_SA):
        """`kubectl auth can-i --as USER`: a SubjectAccessReview for the service account."""
        plural, _, group = resource.partition(".")
        attrs = {"verb": verb, "resource": plural, "group": group}
        if namespace:
            attrs["namespace"] = namespace
        if subresource:
            attrs["subresource"] = subresource
        ns = user.split(":")[2]
        review = self.cluster.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                              "system:authenticated"],
                     "resourceAttributes": attrs}})
        return review["status"].get("allowed", False)

    def test_rbac_grants_what_the_operator_needs(self):
        for verb in ["get", "list", "watch", "create", "update", "patch", "delete"]:
            self.assertTrue(self.can_i(verb, "secrets", NS), verb)
        for verb in ["get", "list", "watch"]:
            self.assertTrue(self.can_i(verb, f"externalsecrets.{GROUP}"), verb)
            self.assertTrue(self.can_i(verb, f"clustersecretstores.{GROUP}"), verb)
        self.assertTrue(self.can_i("patch", f"externalsecrets.{GROUP}", NS, "status"))
        self.assertTrue(self.can_i("update", f"clusterexternalsecrets.{GROUP}", None, "status"))
        self.assertTrue(self.can_i("create", "serviceaccounts", NS, "token"))
        self.assertTrue(self.can_i("create", "events", NS))
        self.assertTrue(self.can_i("update", "leases.coordination.k8s.io", "arca-system"))
        for kind in ["deployments", "statefulsets", "daemonsets"]:
            self.assertTrue(self.can_i("patch", f"{kind}.apps", NS), kind)

    def test_rbac_denies_everything_else(self):
        self.assertFalse(self.can_i("delete", "namespaces"))
        self.assertFalse(self.can_i("create", "pods", NS))
        self.assertFalse(self.can_i("create", "serviceaccounts", NS))
        self.assertFalse(self.can_i("create", f"secretstores.{GROUP}", NS))
        self.assertFalse(self.can_i("delete", f"clustersecretstores.{GROUP}"))
        self.assertFalse(self.can_i("delete", "deployments.apps", NS))
        self.assertFalse(self.can_i("create", "clusterrolebindings.rbac.authorization.k8s.io"))
        self.assertFalse(self.can_i("get", "nodes"))
        self.assertFalse(self.can_i("*", "*"))

    def test_deployment(self):
        dep = self.cluster.get("/apis/apps/v1/namespaces/arca-system/deployments/arca-operator")
        pod = dep["spec"]["template"]["spec"]
        self.assertEqual(pod["serviceAccountName"], "arca-operator")
        self.assertTrue(pod["securityContext"]["runAsNonRoot"])
        c = pod["containers"][0]
        self.assertEqual(c["args"], ["operator"])
        self.assertTrue(c["securityContext"]["readOnlyRootFilesystem"])
        self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/readyz")
        self.assertIn("memory", c["resources"]["limits"])
        self.assertIn("ARCA_ENDPOINT", [e["name"] for e in c["env"]])

    # --- the command -------------------------------------------------------------------------------

    def test_flags_are_substituted_and_apply(self):
        out = subprocess.run(
            [arca_bin(), "operator", "manifests", "--namespace", "secrets-op", "--image",
             "registry.example.com/arca:1.2.3", "--endpoint", "https://arca.example.com:8443"],
            check=True, capture_output=True, text=True, timeout=30).stdout
        installed = out[out.index("# Source: deploy/operator.yaml"):]  # CRDs have no namespace
        self.assertFalse("arca-system" in installed, "the default namespace is left in")
        self.assertIn('image: "registry.example.com/arca:1.2.3"', out)
        self.assertIn('value: "https://arca.example.com:8443"', out)
        self.cluster.apply_yaml_stream(out)
        dep = self.cluster.get("/apis/apps/v1/namespaces/secrets-op/deployments/arca-operator")
        env = {e["name"]: e.get("value") for e in dep["spec"]["template"]["spec"]["containers"][0]["env"]}
        self.assertEqual(env["ARCA_ENDPOINT"], "https://arca.example.com:8443")
        self.assertTrue(self.can_i("create", "secrets", NS, user="system:serviceaccount:secrets-op:arca-operator"))
        # The ClusterRoleBinding is cluster-wide and was re-pointed; put it back for other tests.
        self.cluster.apply_yaml_stream(subprocess.run(
            [arca_bin(), "operator", "manifests"], check=True, capture_output=True, text=True).stdout)

    def test_bad_flags_and_bare_operator(self):
        for flags in (["--namespace", "Bad_NS"], ["--image", "x\ny: z"], ["--endpoint", 'ftp://x"']):
            r = subprocess.run([arca_bin(), "operator", "manifests"] + flags, capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 2, flags)
            self.assertEqual(r.stdout, "")
        # The controller with no API server to find: a clear message and status 2.
        r = subprocess.run([arca_bin(), "operator"], capture_output=True, text=True, timeout=30,
                           env={k: v for k, v in dict(clean_env(), HOME=self.empty_home()).items()
                                if k not in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST")})
        self.assertEqual(r.returncode, 2)
        self.assertIn("no Kubernetes API server", r.stderr)
        r = subprocess.run([arca_bin(), "operator", "--kubeconfig", "/nonexistent/kubeconfig"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot read kubeconfig /nonexistent/kubeconfig", r.stderr)
        r = subprocess.run([arca_bin(), "operator", "--help"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0)
        self.assertIn("--kubeconfig", r.stdout)
        self.assertIn("manifests", r.stdout)

    def empty_home(self):
        d = tempfile.mkdtemp(prefix="arca-it-home-")
        self.addCleanup(shutil.rmtree, d, True)
        return d


if __name__ == "__main__":
    unittest.main()
