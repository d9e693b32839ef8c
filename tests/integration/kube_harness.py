"""A real Kubernetes control plane for the operator's tests, and a small API client.

The control plane is ../shared/k8s (kube-apiserver v1.26 + Debian's etcd + kube-controller-manager
for garbage collection), found through ARCA_TEST_KUBE_ASSETS the way controller-runtime's envtest
finds its assets. Tests that need it are SKIPPED, saying so, when it is absent. The client talks to
the API server directly (urllib, the cluster's CA and admin token), so no kubectl is needed.
"""

import base64
import json
import os
import shlex
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
KUBE_ASSETS = os.path.abspath(
    os.environ.get("ARCA_TEST_KUBE_ASSETS") or os.path.join(HERE, "..", "..", "..", "shared", "k8s"))


def skip_reason():
    if not os.path.isfile(os.path.join(KUBE_ASSETS, "start-cluster.sh")) or not os.access(
            os.path.join(KUBE_ASSETS, "bin", "kube-apiserver"), os.X_OK):
        return (f"SKIPPED: no Kubernetes test assets at {KUBE_ASSETS} (start-cluster.sh and "
                "bin/kube-apiserver); set ARCA_TEST_KUBE_ASSETS to run the Kubernetes tests")
    return None


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class Cluster:
    """One control plane (etcd, kube-apiserver, kube-controller-manager) in a temp dir."""

    def __init__(self):
        out = subprocess.run([os.path.join(KUBE_ASSETS, "start-cluster.sh")], check=True,
                             capture_output=True, text=True, timeout=180)
        last = out.stdout.strip().splitlines()[-1]
        info = dict(kv.split("=", 1) for kv in shlex.split(last))
        self.dir = info["K8S_DIR"]
        self.kubeconfig = info["KUBECONFIG"]
        env = {}
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                if "=" in line:
                    k, v = line.rstrip("\n").split("=", 1)
                    env[k] = v.strip('"')
        self.api = env["K8S_API"]
        self.token = env["ADMIN_TOKEN"]
        self.ca = env["K8S_CA"]
        self.issuer = env["SA_ISSUER"]
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def stop(self):
        subprocess.run([os.path.join(KUBE_ASSETS, "stop-cluster.sh"), self.dir], capture_output=True,
                       timeout=60, check=False)

    # ---- the API ------------------------------------------------------------------------------------

    def request(self, method, path, body=None, content_type="application/json", raw=False,
                accept="application/json"):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        req = urllib.request.Request(self.api + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + self.token)
        req.add_header("Accept", accept)
        if data is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, context=self.ssl, timeout=30) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, e.read().decode()) from None
        if raw:
            return text
        return json.loads(text) if text else {}

    def get(self, path):
        return self.request("GET", path)

    def find(self, path):
        """The object, or None when it does not exist."""
        try:
            return self.get(path)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def create(self, path, obj):
        return self.request("POST", path, obj)

    def apply(self, path, obj):
        """Create, or replace what is there (keeping its resourceVersion)."""
        name = obj["metadata"]["name"]
        existing = self.find(f"{path}/{name}")
        if existing is None:
            return self.create(path, obj)
        obj = dict(obj)
        obj["metadata"] = dict(obj["metadata"], resourceVersion=existing["metadata"]["resourceVersion"])
        return self.request("PUT", f"{path}/{name}", obj)

    def patch(self, path, patch, kind="merge"):
        ctype = {"merge": "application/merge-patch+json",
                 "strategic": "application/strategic-merge-patch+json"}[kind]
        return self.request("PATCH", path, patch, content_type=ctype)

    def delete(self, path):
        try:
            return self.request("DELETE", path)
        except ApiError as e:
            if e.status != 404:
                raise
            return None

    def namespace(self, name, labels=None):
        if self.find(f"/api/v1/namespaces/{name}") is None:
            self.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": name, "labels": labels or {}}})

    def apply_yaml_stream(self, text):
        """`kubectl apply -f -` for what `arca operator manifests` prints (JSON-able YAML)."""
        import yaml  # python3-yaml, installed by scripts/deps.sh --test
        for doc in yaml.safe_load_all(text):
            if not doc:
                continue
            self.apply(collection_path(doc), doc)

    def wait_crds(self, names, timeout=60):
        deadline = time.time() + timeout
        for n in names:
            while True:
                crd = self.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{n}")
                conds = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
                if conds.get("Established") == "True":
                    break
                if time.time() > deadline:
                    raise AssertionError(f"CRD {n} not established")
                time.sleep(0.2)

    def service_account_kubeconfig(self, namespace, name, path):
        """A kubeconfig that authenticates as ServiceAccount NAMESPACE/NAME (a TokenRequest token),
        so a test runs the operator with exactly the rights its RBAC gives it."""
        token = self.create(f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 86400}})["status"]["token"]
        with open(self.ca, "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": "test", "cluster": {"server": self.api, "certificate-authority-data": ca}}],
                  "users": [{"name": name, "user": {"token": token}}],
                  "contexts": [{"name": "sa", "context": {"cluster": "test", "user": name}}],
                  "current-context": "sa"}
        with open(path, "w") as f:
            json.dump(config, f)
        os.chmod(path, 0o600)
        return path

    # ---- the API server process (restarts) --------------------------------------------------------

    def apiserver_pid(self):
        with open(os.path.join(self.dir, "kube-apiserver.pid")) as f:
            return int(f.read().strip())

    def restart_apiserver(self, down_seconds=1.0):
        """Stops kube-apiserver and starts it again with the same command line."""
        pid = self.apiserver_pid()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 30
        while time.time() < deadline and os.path.exists(f"/proc/{pid}"):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
            except OSError:
                break
            time.sleep(0.1)
        time.sleep(down_seconds)
        log = open(os.path.join(self.dir, "kube-apiserver.log"), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        with open(os.path.join(self.dir, "kube-apiserver.pid"), "w") as f:
            f.write(str(proc.pid))
        with open(os.path.join(self.dir, "pids")) as f:
            pids = f.read().split()
        with open(os.path.join(self.dir, "pids"), "w") as f:
            f.write(" ".join(str(proc.pid) if p == str(pid) else p for p in pids))
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                self.request("GET", "/readyz", raw=True)
                return
            except (OSError, ApiError):
                time.sleep(0.2)
        raise AssertionError("kube-apiserver did not come back")


def collection_path(obj):
    api = obj["apiVersion"]
    group, version = (api.split("/", 1) if "/" in api else ("", api))
    plural = PLURALS[obj["kind"]]
    prefix = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    ns = obj.get("metadata", {}).get("namespace")
    return f"{prefix}/namespaces/{ns}/{plural}" if ns and obj["kind"] not in CLUSTER_SCOPED else f"{prefix}/{plural}"


PLURALS = {
    "Namespace": "namespaces", "Secret": "secrets", "ConfigMap": "configmaps", "ServiceAccount": "serviceaccounts",
    "Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets",
    "ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings", "Role": "roles",
    "RoleBinding": "rolebindings", "CustomResourceDefinition": "customresourcedefinitions",
    "ExternalSecret": "externalsecrets", "SecretStore": "secretstores", "ClusterSecretStore": "clustersecretstores",
    "ClusterExternalSecret": "clusterexternalsecrets", "Lease": "leases", "Event": "events",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "ClusterSecretStore", "ClusterExternalSecret"}


def es_path(ns, name=""):
    p = f"/apis/external-secrets.io/v1/namespaces/{ns}/externalsecrets"
    return f"{p}/{name}" if name else p


def secret_path(ns, name=""):
    p = f"/api/v1/namespaces/{ns}/secrets"
    return f"{p}/{name}" if name else p
