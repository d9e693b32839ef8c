"""`arca operator` against a real Kubernetes API server (v1.26 from ../shared/k8s) and a real
`arca server`: ExternalSecrets become Secrets by ESO's rules, and stay fresh.

One control plane and one Arca server for the class; each test uses its own namespace. The operator
runs as a process of the test (outside the cluster, with the cluster's kubeconfig), as
`arca operator` does on a developer's machine; in a cluster it would use its service account.

Environment: ARCA_TEST_KUBE_ASSETS (see kube_harness.py); SKIPPED, saying so, when it is absent.
"""

import base64
import datetime
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import boto3

import kube_harness
from kube_harness import es_path, secret_path
from arca_harness import ArcaServer, arca_bin, clean_env, unique

GROUP = "external-secrets.io"
CRDS = [f"{p}.{GROUP}" for p in ("externalsecrets", "secretstores", "clustersecretstores", "clusterexternalsecrets")]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


def unb64(s):
    return base64.b64decode(s).decode()


class Operator:
    """One `arca operator` process."""

    def __init__(self, cluster, endpoint, name, extra=(), kubeconfig=None):
        self.name = name
        self.log_file = tempfile.NamedTemporaryFile(prefix=f"arca-operator-{name}-", suffix=".log", delete=False)
        env = clean_env({"AWS_ENDPOINT_URL": endpoint, "POD_NAME": name})
        self.proc = subprocess.Popen(
            [arca_bin(), "operator", "--kubeconfig", kubeconfig or cluster.kubeconfig, "--metrics-addr", "127.0.0.1:0",
             "--leader-election-namespace", "default", "--lease-duration", "3", "--renew-deadline", "2",
             "--retry-period", "300", "--watch-timeout", "30", *extra],
            stdout=self.log_file, stderr=self.log_file, env=env)
        self.port = None
        deadline = time.time() + 20
        while self.port is None and time.time() < deadline:
            for rec in self.entries():
                if rec.get("msg") == "listening":
                    self.port = rec["port"]
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            raise AssertionError(f"the operator did not start:\n{self.log()[-3000:]}")

    def log(self):
        with open(self.log_file.name, errors="replace") as f:
            return f.read()

    def entries(self):
        out = []
        for line in self.log().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def http(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
            return r.status, r.read().decode()

    def metrics(self):
        return self.http("/metrics")[1]

    def leader(self):
        return "arca_operator_leader 1" in self.metrics().splitlines()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


SKIP = kube_harness.skip_reason()


class ClusterTestCase(unittest.TestCase):
    """One control plane and one Arca server (on a fixed port, so it can be restarted) per class,
    with the operator's CRDs, RBAC and Deployment applied."""

    @classmethod
    def setUpClass(cls):
        cls.cluster = kube_harness.Cluster()
        cls.port = free_port()
        cls.server = ArcaServer(listen=f"127.0.0.1:{cls.port}")
        try:
            cls.server.start()
            manifests = subprocess.run([arca_bin(), "operator", "manifests"], check=True, capture_output=True,
                                       text=True, timeout=30).stdout
            cls.cluster.apply_yaml_stream(manifests)
            cls.cluster.wait_crds(CRDS)
            cls.sm = cls.server.client()
            cls.key_id, cls.key_secret = cls.server.credentials()
            cls.start_operators()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_operators(cls):
        pass

    @classmethod
    def tearDownClass(cls):
        for op in cls.operators():
            op.stop()
        cls.server.cleanup()
        cls.cluster.stop()

    @classmethod
    def operators(cls):
        return []

    # ---- helpers ----------------------------------------------------------------------------------------

    def namespace_with_store(self, kind="SecretStore", **aws):
        ns = unique("ns").lower().replace("_", "-")
        self.cluster.namespace(ns)
        self.cluster.create(secret_path(ns), {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "arca-creds"},
            "data": {"id": b64(self.key_id), "secret": b64(self.key_secret)}})
        provider = {"aws": {"service": "SecretsManager", "region": "us-east-1", "auth": {"secretRef": {
            "accessKeyIDSecretRef": {"name": "arca-creds", "key": "id"},
            "secretAccessKeySecretRef": {"name": "arca-creds", "key": "secret"}}}, **aws}}
        self.cluster.create(f"/apis/{GROUP}/v1/namespaces/{ns}/secretstores", {
            "apiVersion": f"{GROUP}/v1", "kind": "SecretStore", "metadata": {"name": "arca"},
            "spec": {"provider": provider}})
        return ns

    def external_secret(self, ns, name, spec, api="v1", annotations=None):
        spec = dict(spec)
        spec.setdefault("secretStoreRef", {"kind": "SecretStore", "name": "arca"})
        obj = {"apiVersion": f"{GROUP}/{api}", "kind": "ExternalSecret",
               "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}}, "spec": spec}
        return self.cluster.create(f"/apis/{GROUP}/{api}/namespaces/{ns}/externalsecrets", obj)

    def wait_for(self, what, fn, timeout=15, interval=0.1):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        logs = "\n".join(op.log()[-2000:] for op in self.operators() + getattr(self, "ops", []))
        self.fail(f"timed out waiting for {what} (last: {last!r})\noperator logs:\n{logs}")
        return None

    def secret_data(self, ns, name):
        s = self.cluster.find(secret_path(ns, name))
        if s is None:
            return None
        return {k: unb64(v) for k, v in (s.get("data") or {}).items()}

    def wait_data(self, ns, name, expected, timeout=15):
        return self.wait_for(f"Secret {ns}/{name} = {expected}",
                             lambda: self.secret_data(ns, name) == expected or None, timeout=timeout)

    def ready(self, ns, name):
        es = self.cluster.find(es_path(ns, name))
        for c in (es or {}).get("status", {}).get("conditions", []):
            if c["type"] == "Ready":
                return c
        return None

    def wait_ready(self, ns, name, status="True", timeout=15):
        return self.wait_for(f"ExternalSecret {ns}/{name} Ready={status}",
                             lambda: (c := self.ready(ns, name)) and c["status"] == status and c, timeout=timeout)

    def events(self, ns, name):
        items = self.cluster.get(f"/api/v1/namespaces/{ns}/events")["items"]
        return [e for e in items if e["involvedObject"]["name"] == name]



@unittest.skipIf(SKIP, SKIP)
class OperatorTest(ClusterTestCase):

    @classmethod
    def start_operators(cls):
        # The operator runs as its own ServiceAccount: its ClusterRole must be enough.
        cls.operator_kubeconfig = cls.cluster.service_account_kubeconfig(
            "arca-system", "arca-operator", os.path.join(cls.server.data_dir, "operator.kubeconfig"))
        cls.operator = Operator(cls.cluster, cls.server.endpoint, "op-a", kubeconfig=cls.operator_kubeconfig)

    @classmethod
    def operators(cls):
        return [cls.operator] if getattr(cls, "operator", None) else []

    def tearDown(self):
        if self.operator.proc.poll() is not None:
            self.fail(f"the operator died:\n{self.operator.log()[-4000:]}")

    # ---- the seeds' manifests ------------------------------------------------------------------------

    def test_seed_manifests_produce_the_expected_secrets(self):
        ns = self.namespace_with_store()
        p = unique("seed")
        self.sm.create_secret(Name=f"{p}/database", SecretString=json.dumps(
            {"username": "app", "password": "s3cr3t", "host": "db.internal", "port": 5432, "dbname": "shop"}))
        self.sm.create_secret(Name=f"{p}/redis", SecretString=json.dumps({"REDIS_HOST": "redis", "REDIS_PASSWORD": "r3d"}))
        self.sm.create_secret(Name=f"{p}/jwt", SecretString="jwt-signing-key")
        self.sm.create_secret(Name=f"{p}/llm", SecretString=json.dumps({"openai": "sk-o", "anthropic": "sk-a"}))
        self.sm.create_secret(Name=f"{p}/oauth", SecretString=json.dumps(
            {"google": {"client_id": "gid", "client_secret": "gsec"}}))
        self.external_secret(ns, "database", {
            "refreshInterval": "1h",
            "target": {"name": "database", "template": {"engineVersion": "v2", "data": {
                "DATABASE_URL": "postgres://{{ .username }}:{{ .password }}@{{ .host }}:{{ .port }}/{{ .dbname }}"}}},
            "dataFrom": [{"extract": {"key": f"{p}/database"}}]})
        self.external_secret(ns, "redis", {"target": {"name": "redis"}, "dataFrom": [{"extract": {"key": f"{p}/redis"}}]})
        self.external_secret(ns, "jwt", {"target": {"name": "jwt"},
                                         "data": [{"secretKey": "JWT_SECRET", "remoteRef": {"key": f"{p}/jwt"}}]})
        self.external_secret(ns, "llm", {"target": {"name": "llm"}, "data": [
            {"secretKey": "OPENAI_API_KEY", "remoteRef": {"key": f"{p}/llm", "property": "openai"}},
            {"secretKey": "ANTHROPIC_API_KEY", "remoteRef": {"key": f"{p}/llm", "property": "anthropic"}}]})
        self.external_secret(ns, "oauth", {"target": {"name": "oauth", "template": {"type": "Opaque", "data": {
            "client.json": '{"id":"{{ .id }}","secret":"{{ .secret | b64enc }}"}'}}}, "data": [
            {"secretKey": "id", "remoteRef": {"key": f"{p}/oauth", "property": "google.client_id"}},
            {"secretKey": "secret", "remoteRef": {"key": f"{p}/oauth", "property": "google.client_secret"}}]},
            api="v1beta1")
        self.wait_data(ns, "database", {"DATABASE_URL": "postgres://app:s3cr3t@db.internal:5432/shop"})
        self.wait_data(ns, "redis", {"REDIS_HOST": "redis", "REDIS_PASSWORD": "r3d"})
        self.wait_data(ns, "jwt", {"JWT_SECRET": "jwt-signing-key"})
        self.wait_data(ns, "llm", {"OPENAI_API_KEY": "sk-o", "ANTHROPIC_API_KEY": "sk-a"})
        self.wait_data(ns, "oauth", {"client.json": '{"id":"gid","secret":"' + b64("gsec") + '"}'})
        cond = self.wait_ready(ns, "database")
        self.assertEqual(cond["reason"], "SecretSynced")
        es = self.cluster.get(es_path(ns, "database"))
        self.assertEqual(es["status"]["binding"], {"name": "database"})
        self.assertTrue(es["status"]["refreshTime"])
        self.assertTrue(es["status"]["syncedResourceVersion"].startswith("1-"))
        secret = self.cluster.get(secret_path(ns, "database"))
        owner = secret["metadata"]["ownerReferences"][0]
        self.assertEqual((owner["kind"], owner["name"], owner["controller"]), ("ExternalSecret", "database", True))
        self.assertEqual(secret["metadata"]["labels"]["reconcile.external-secrets.io/managed"], "true")
        self.assertIn("Updated", [e["reason"] for e in self.events(ns, "database")])
        # No value in the operator's log.
        self.assertNotIn("s3cr3t", self.operator.log())
        self.assertNotIn("sk-o", self.operator.log())
        metrics = self.operator.metrics()
        self.assertIn(f'externalsecret_sync_calls_total{{name="database",namespace="{ns}"}}', metrics)
        self.assertIn(f'externalsecret_status_condition{{name="database",namespace="{ns}",condition="Ready",'
                      f'status="True"}} 1', metrics)

    def test_parameter_store_provider(self):
        ns = self.namespace_with_store()
        path = "/" + unique("shop") + "/prod/app"
        ssm = self.server.client(service="ssm")
        ssm.put_parameter(Name=path, Type="SecureString", Value=json.dumps({"DATABASE_URL": "postgres://x", "API_KEY": "k"}))
        ssm.put_parameter(Name=path + "-flag", Type="String", Value="on")
        self.cluster.create(f"/apis/{GROUP}/v1/namespaces/{ns}/secretstores", {
            "apiVersion": f"{GROUP}/v1", "kind": "SecretStore", "metadata": {"name": "params"},
            "spec": {"provider": {"aws": {"service": "ParameterStore", "region": "us-east-1", "auth": {"secretRef": {
                "accessKeyIDSecretRef": {"name": "arca-creds", "key": "id"},
                "secretAccessKeySecretRef": {"name": "arca-creds", "key": "secret"}}}}}}})
        self.external_secret(ns, "app", {"secretStoreRef": {"kind": "SecretStore", "name": "params"},
                                         "target": {"name": "app"},
                                         "dataFrom": [{"extract": {"key": path}}],
                                         "data": [{"secretKey": "FLAG", "remoteRef": {"key": path + "-flag"}}]})
        self.wait_data(ns, "app", {"DATABASE_URL": "postgres://x", "API_KEY": "k", "FLAG": "on"})

    # ---- freshness ----------------------------------------------------------------------------------

    def test_refresh_interval_picks_up_a_new_value(self):
        ns = self.namespace_with_store()
        name = unique("refresh")
        self.sm.create_secret(Name=name, SecretString="v1")
        self.external_secret(ns, "app", {"refreshInterval": "2s", "target": {"name": "app"},
                                         "data": [{"secretKey": "value", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "app", {"value": "v1"})
        self.sm.put_secret_value(SecretId=name, SecretString="v2")
        self.wait_data(ns, "app", {"value": "v2"}, timeout=10)

    def test_force_sync_annotation_syncs_now(self):
        ns = self.namespace_with_store()
        name = unique("force")
        self.sm.create_secret(Name=name, SecretString="before")
        self.external_secret(ns, "app", {"refreshInterval": "1h", "target": {"name": "app"},
                                         "data": [{"secretKey": "value", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "app", {"value": "before"})
        self.sm.put_secret_value(SecretId=name, SecretString="after")
        time.sleep(1.5)
        self.assertEqual(self.secret_data(ns, "app"), {"value": "before"})  # 1h: not yet
        self.cluster.patch(es_path(ns, "app"), {"metadata": {"annotations": {"force-sync": str(time.time())}}})
        self.wait_data(ns, "app", {"value": "after"}, timeout=5)

    def test_refresh_interval_zero_syncs_once(self):
        ns = self.namespace_with_store()
        name = unique("once")
        self.sm.create_secret(Name=name, SecretString="first")
        self.external_secret(ns, "app", {"refreshInterval": "0", "target": {"name": "app"},
                                         "data": [{"secretKey": "value", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "app", {"value": "first"})
        self.sm.put_secret_value(SecretId=name, SecretString="second")
        time.sleep(2)
        self.assertEqual(self.secret_data(ns, "app"), {"value": "first"})

    # ---- policies ------------------------------------------------------------------------------------

    def test_owner_secret_goes_with_its_external_secret_and_a_deleted_secret_comes_back(self):
        ns = self.namespace_with_store()
        name = unique("owned")
        self.sm.create_secret(Name=name, SecretString="x")
        self.external_secret(ns, "owned", {"target": {"name": "owned"},
                                           "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "owned", {"v": "x"})
        self.cluster.delete(secret_path(ns, "owned"))
        self.wait_data(ns, "owned", {"v": "x"}, timeout=10)  # recreated
        # Edited by hand: restored.
        self.cluster.patch(secret_path(ns, "owned"), {"data": {"v": b64("tampered")}})
        self.wait_data(ns, "owned", {"v": "x"}, timeout=10)
        self.cluster.delete(es_path(ns, "owned"))
        self.wait_for("garbage collection of the owned Secret",
                      lambda: self.cluster.find(secret_path(ns, "owned")) is None, timeout=30)

    def test_creation_policies_orphan_merge_none(self):
        ns = self.namespace_with_store()
        name = unique("policies")
        self.sm.create_secret(Name=name, SecretString="val")
        self.external_secret(ns, "orphan", {"target": {"name": "orphan", "creationPolicy": "Orphan"},
                                            "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "orphan", {"v": "val"})
        self.assertNotIn("ownerReferences", self.cluster.get(secret_path(ns, "orphan"))["metadata"])
        # Merge needs an existing Secret and keeps its other keys.
        self.external_secret(ns, "merge", {"target": {"name": "existing", "creationPolicy": "Merge"},
                                           "data": [{"secretKey": "added", "remoteRef": {"key": name}}]})
        cond = self.wait_ready(ns, "merge", "False")
        self.assertEqual(cond["reason"], "SecretSyncedError")
        self.assertIn("does not exist", cond["message"])
        self.cluster.create(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "existing"},
                                              "data": {"kept": b64("mine")}})
        self.wait_data(ns, "existing", {"kept": "mine", "added": "val"}, timeout=20)
        self.external_secret(ns, "none", {"target": {"name": "none-target", "creationPolicy": "None"},
                                          "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        self.wait_ready(ns, "none")
        self.assertIsNone(self.cluster.find(secret_path(ns, "none-target")))
        self.cluster.delete(es_path(ns, "orphan"))
        time.sleep(2)
        self.assertIsNotNone(self.cluster.find(secret_path(ns, "orphan")))  # orphaned, not collected

    def test_deletion_policy_delete_and_retain(self):
        ns = self.namespace_with_store()
        gone, kept = unique("gone"), unique("kept")
        self.sm.create_secret(Name=gone, SecretString="g")
        self.sm.create_secret(Name=kept, SecretString="k")
        self.external_secret(ns, "delete", {"refreshInterval": "1s",
                                            "target": {"name": "delete", "deletionPolicy": "Delete"},
                                            "data": [{"secretKey": "v", "remoteRef": {"key": gone}}]})
        self.external_secret(ns, "retain", {"refreshInterval": "1s", "target": {"name": "retain"},
                                            "data": [{"secretKey": "v", "remoteRef": {"key": kept}}]})
        self.wait_data(ns, "delete", {"v": "g"})
        self.wait_data(ns, "retain", {"v": "k"})
        self.sm.delete_secret(SecretId=gone, ForceDeleteWithoutRecovery=True)
        self.sm.delete_secret(SecretId=kept, ForceDeleteWithoutRecovery=True)
        self.wait_for("the Secret removed (deletionPolicy Delete)",
                      lambda: self.cluster.find(secret_path(ns, "delete")) is None, timeout=15)
        cond = self.wait_ready(ns, "retain", "False")
        self.assertEqual(cond["reason"], "SecretSyncedError")
        self.assertEqual(self.secret_data(ns, "retain"), {"v": "k"})  # Retain keeps the last value
        self.assertIn("UpdateFailed", [e["reason"] for e in self.events(ns, "retain")])

    def test_invalid_spec_gets_a_status_message(self):
        ns = self.namespace_with_store()
        self.external_secret(ns, "bad", {"target": {"name": "bad", "template": {"data": {"x": "{{ nosuchfn . }}"}}},
                                         "data": [{"secretKey": "v", "remoteRef": {"key": "whatever"}}]})
        cond = self.wait_ready(ns, "bad", "False")
        self.assertIn("nosuchfn", cond["message"])
        self.external_secret(ns, "nostore", {"secretStoreRef": {"kind": "SecretStore", "name": "missing"},
                                             "target": {"name": "nostore"},
                                             "data": [{"secretKey": "v", "remoteRef": {"key": "whatever"}}]})
        cond = self.wait_ready(ns, "nostore", "False")
        self.assertIn("SecretStore missing does not exist", cond["message"])

    # ---- pod identity -------------------------------------------------------------------------------

    def test_service_account_web_identity(self):
        c = self.cluster
        jwks = c.request("GET", "/openid/v1/jwks", raw=True, accept="application/jwk-set+json")
        jwks_file = os.path.join(self.server.data_dir, "cluster-jwks.json")
        with open(jwks_file, "w") as f:
            f.write(jwks)
        iam = self.server.client(service="iam")
        issuer_host = c.issuer.replace("https://", "")
        try:
            iam.create_open_id_connect_provider(Url=c.issuer, ClientIDList=["sts.amazonaws.com"],
                                                ThumbprintList=["0" * 40],
                                                Tags=[{"Key": "arca:jwks-file", "Value": jwks_file}])
        except iam.exceptions.EntityAlreadyExistsException:
            pass
        ns = unique("pod").lower()
        c.namespace(ns)
        role = unique("reader")
        provider_arn = f"arn:aws:iam::000000000000:oidc-provider/{issuer_host}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{issuer_host}:sub": f"system:serviceaccount:{ns}:app-reader",
                                           f"{issuer_host}:aud": "sts.amazonaws.com"}}}]}
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        name = unique("pod-secret")
        arn = self.sm.create_secret(Name=name, SecretString="for the pod")["ARN"]
        iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]}))
        c.create(f"/api/v1/namespaces/{ns}/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "app-reader", "annotations": {"eks.amazonaws.com/role-arn": role_arn}}})
        c.create(f"/apis/{GROUP}/v1/namespaces/{ns}/secretstores", {
            "apiVersion": f"{GROUP}/v1", "kind": "SecretStore", "metadata": {"name": "arca"},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1",
                                          "auth": {"jwt": {"serviceAccountRef": {"name": "app-reader"}}}}}}})
        self.external_secret(ns, "pod", {"target": {"name": "pod"},
                                         "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "pod", {"v": "for the pod"})
        # Another secret, not in the role's policy: denied.
        other = unique("not-for-pod")
        self.sm.create_secret(Name=other, SecretString="no")
        self.external_secret(ns, "denied", {"target": {"name": "denied"},
                                            "data": [{"secretKey": "v", "remoteRef": {"key": other}}]})
        cond = self.wait_ready(ns, "denied", "False")
        self.assertIn("not authorized", cond["message"])
        events = self.server.client(service="cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "EventName", "AttributeValue": "AssumeRoleWithWebIdentity"}])["Events"]
        self.assertTrue(events)

    # ---- rolling restarts ---------------------------------------------------------------------------

    def test_rolling_restart_once_per_data_change(self):
        ns = self.namespace_with_store()
        name = unique("reload")
        self.sm.create_secret(Name=name, SecretString="one")
        self.external_secret(ns, "app", {"refreshInterval": "1s", "target": {"name": "app-env"},
                                         "data": [{"secretKey": "TOKEN", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "app-env", {"TOKEN": "one"})

        def deployment(dname, annotations, uses=True):
            container = {"name": "c", "image": "busybox"}
            if uses:
                container["envFrom"] = [{"secretRef": {"name": "app-env"}}]
            return {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": dname, "annotations": annotations},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": dname}},
                             "template": {"metadata": {"labels": {"app": dname}},
                                          "spec": {"containers": [container]}}}}

        path = f"/apis/apps/v1/namespaces/{ns}/deployments"
        self.cluster.create(path, deployment("web", {"arca.dev/reload": "true"}))
        self.cluster.create(path, deployment("worker", {"secret.reloader.stakater.com/reload": "app-env"}, uses=False))
        self.cluster.create(path, deployment("plain", {}))
        sts = deployment("db", {"reloader.stakater.com/auto": "true"})
        sts["kind"] = "StatefulSet"
        sts["spec"]["serviceName"] = "db"
        sts["spec"]["template"]["spec"]["volumes"] = [{"name": "s", "secret": {"secretName": "app-env"}}]
        del sts["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        sts_path = f"/apis/apps/v1/namespaces/{ns}/statefulsets"
        self.cluster.create(sts_path, sts)

        def template_hash(dname):
            d = self.cluster.get(f"{path}/{dname}")
            return (d["spec"]["template"]["metadata"].get("annotations") or {}).get("arca.dev/secrets-hash")

        def generation(dname):
            return self.cluster.get(f"{path}/{dname}")["metadata"]["generation"]

        time.sleep(2.5)  # two no-op syncs
        self.assertIsNone(template_hash("web"))
        self.assertEqual(generation("web"), 1)
        self.sm.put_secret_value(SecretId=name, SecretString="two")
        self.wait_data(ns, "app-env", {"TOKEN": "two"})
        first = self.wait_for("web's pod template annotated", lambda: template_hash("web"))
        self.wait_for("worker's pod template annotated", lambda: template_hash("worker"))
        self.wait_for("the StatefulSet's pod template annotated", lambda: (
            self.cluster.get(f"{sts_path}/db")["spec"]["template"]["metadata"].get("annotations") or {})
            .get("arca.dev/secrets-hash"))
        time.sleep(2.5)  # more no-op syncs change nothing
        self.assertEqual(template_hash("web"), first)
        self.assertEqual(generation("web"), 2)
        self.assertIsNone(template_hash("plain"))
        self.sm.put_secret_value(SecretId=name, SecretString="three")
        self.wait_for("a second rollout", lambda: template_hash("web") not in (None, first))
        time.sleep(2.5)
        self.assertEqual(generation("web"), 3)

    # ---- push sync ----------------------------------------------------------------------------------

    def arca_store_namespace(self):
        ns = unique("push").lower()
        self.cluster.namespace(ns)
        self.cluster.create(secret_path(ns), {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "arca-creds"},
            "data": {"id": b64(self.key_id), "secret": b64(self.key_secret)}})
        self.cluster.create(f"/apis/{GROUP}/v1/namespaces/{ns}/secretstores", {
            "apiVersion": f"{GROUP}/v1", "kind": "SecretStore", "metadata": {"name": "arca"},
            "spec": {"provider": {"arca": {"server": self.server.endpoint, "region": "us-east-1", "auth": {
                "secretRef": {"accessKeyIDSecretRef": {"name": "arca-creds", "key": "id"},
                              "secretAccessKeySecretRef": {"name": "arca-creds", "key": "secret"}}}}}}})
        return ns

    def reads_of(self, name, since):
        """GetSecretValue / BatchGetSecretValue calls naming secret `name` since `since`, from the
        audit log (every page)."""
        ct = self.server.client(service="cloudtrail")
        n = 0
        for event_name in ("GetSecretValue", "BatchGetSecretValue"):
            kw = {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": event_name}],
                  "StartTime": since}
            while True:
                page = ct.lookup_events(**kw)
                n += sum(1 for e in page["Events"] if name in e["CloudTrailEvent"])
                if not page.get("NextToken"):
                    break
                kw["NextToken"] = page["NextToken"]
        return n

    def test_push_sync_within_a_second_and_no_reads_of_unchanged_secrets(self):
        ns = self.arca_store_namespace()
        changed, quiet = unique("pushed"), unique("quiet")
        self.sm.create_secret(Name=changed, SecretString="v1")
        self.sm.create_secret(Name=quiet, SecretString="q")
        self.external_secret(ns, "changed", {"refreshInterval": "1h", "target": {"name": "changed"},
                                             "data": [{"secretKey": "v", "remoteRef": {"key": changed}}]})
        self.external_secret(ns, "quiet", {"refreshInterval": "1h", "target": {"name": "quiet"},
                                           "data": [{"secretKey": "v", "remoteRef": {"key": quiet}}]})
        self.wait_data(ns, "changed", {"v": "v1"})
        self.wait_data(ns, "quiet", {"v": "q"})
        time.sleep(1.5)  # the follower has started and caught up
        since = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(self.reads_of(changed, since), 0)
        for value in ("v2", "v3"):
            t0 = time.time()
            self.sm.put_secret_value(SecretId=changed, SecretString=value)
            self.wait_data(ns, "changed", {"v": value}, timeout=5)
            self.assertLess(time.time() - t0, 1.0, "a PutSecretValue reached the Secret later than 1 s")
        # A label move (what a rotation's finishSecret does) is pushed too.
        versions = self.sm.list_secret_version_ids(SecretId=changed)["Versions"]
        previous = next(v["VersionId"] for v in versions if "AWSPREVIOUS" in v["VersionStages"])
        current = next(v["VersionId"] for v in versions if "AWSCURRENT" in v["VersionStages"])
        t0 = time.time()
        self.sm.update_secret_version_stage(SecretId=changed, VersionStage="AWSCURRENT",
                                            MoveToVersionId=previous, RemoveFromVersionId=current)
        self.wait_data(ns, "changed", {"v": "v2"}, timeout=5)
        self.assertLess(time.time() - t0, 1.0, "a label move reached the Secret later than 1 s")
        time.sleep(1)
        self.assertEqual(self.reads_of(quiet, since), 0, "the unchanged secret was read again")
        self.assertGreaterEqual(self.reads_of(changed, since), 3)  # the count sees the reads there are
        metrics = self.operator.metrics()
        self.assertRegex(metrics, r"arca_operator_sync_latency_seconds_count [1-9]")

    def test_arca_provider_over_tls_with_its_ca(self):
        d = tempfile.mkdtemp(prefix="arca-it-optls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        tls = ArcaServer(extra_args=("--tls-cert", cert, "--tls-key", key))
        tls.start()
        self.addCleanup(tls.cleanup)
        url = f"https://127.0.0.1:{tls.port}"
        with open(cert) as f:
            pem = f.read()
        akid, secret = tls.credentials()
        sm = boto3.session.Session().client("secretsmanager", region_name="us-east-1", endpoint_url=url, verify=cert,
                                            aws_access_key_id=akid, aws_secret_access_key=secret)
        name = unique("tls")
        sm.create_secret(Name=name, SecretString="over tls")
        ns = unique("tls").lower()
        c = self.cluster
        c.namespace(ns)
        c.create(secret_path(ns), {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
                                   "data": {"id": b64(akid), "secret": b64(secret)}})
        c.create(f"/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                         "metadata": {"name": "arca-ca"}, "data": {"ca.crt": pem}})
        auth = {"secretRef": {"accessKeyIDSecretRef": {"name": "creds", "key": "id"},
                              "secretAccessKeySecretRef": {"name": "creds", "key": "secret"}}}
        stores = {"bundle": {"caBundle": b64(pem)},
                  "provider": {"caProvider": {"type": "ConfigMap", "name": "arca-ca", "key": "ca.crt"}},
                  "noca": {}}
        for store, ca in stores.items():
            c.create(f"/apis/{GROUP}/v1/namespaces/{ns}/secretstores", {
                "apiVersion": f"{GROUP}/v1", "kind": "SecretStore", "metadata": {"name": store},
                "spec": {"provider": {"arca": {"server": url, "auth": auth, **ca}}}})
            self.external_secret(ns, store, {"secretStoreRef": {"kind": "SecretStore", "name": store},
                                             "refreshInterval": "1h", "target": {"name": store},
                                             "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        self.wait_data(ns, "bundle", {"v": "over tls"})
        self.wait_data(ns, "provider", {"v": "over tls"})
        cond = self.wait_ready(ns, "noca", "False")
        self.assertIn("TLS verification failed", cond["message"])
        # Push works over TLS too.
        time.sleep(1.5)
        t0 = time.time()
        sm.put_secret_value(SecretId=name, SecretString="pushed over tls")
        self.wait_data(ns, "bundle", {"v": "pushed over tls"}, timeout=5)
        self.assertLess(time.time() - t0, 1.5)

    # ---- ClusterExternalSecret ---------------------------------------------------------------------

    def test_cluster_external_secret_stamps_namespaces(self):
        name = unique("shared")
        self.sm.create_secret(Name=name, SecretString="everywhere")
        c = self.cluster
        c.create(secret_path("default"), {"apiVersion": "v1", "kind": "Secret",
                                          "metadata": {"name": f"{name}-creds"},
                                          "data": {"id": b64(self.key_id), "secret": b64(self.key_secret)}})
        c.create(f"/apis/{GROUP}/v1/clustersecretstores", {
            "apiVersion": f"{GROUP}/v1", "kind": "ClusterSecretStore", "metadata": {"name": name},
            "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "us-east-1", "auth": {"secretRef": {
                "accessKeyIDSecretRef": {"name": f"{name}-creds", "key": "id", "namespace": "default"},
                "secretAccessKeySecretRef": {"name": f"{name}-creds", "key": "secret", "namespace": "default"}}}}}}})
        team_a, team_b, other = (unique(x).lower() for x in ("team-a", "team-b", "other"))
        c.namespace(team_a, {"team": name})
        c.namespace(team_b, {"team": name})
        c.namespace(other, {})
        c.create(f"/apis/{GROUP}/v1/clusterexternalsecrets", {
            "apiVersion": f"{GROUP}/v1", "kind": "ClusterExternalSecret", "metadata": {"name": name},
            "spec": {"externalSecretName": "shared", "namespaceSelector": {"matchLabels": {"team": name}},
                     "refreshTime": "1s",
                     "externalSecretSpec": {"secretStoreRef": {"kind": "ClusterSecretStore", "name": name},
                                            "target": {"name": "shared"},
                                            "data": [{"secretKey": "v", "remoteRef": {"key": name}}]}}})
        self.wait_data(team_a, "shared", {"v": "everywhere"}, timeout=20)
        self.wait_data(team_b, "shared", {"v": "everywhere"}, timeout=20)
        self.assertIsNone(c.find(es_path(other, "shared")))
        # The store's spec.conditions decide which namespaces may use it.
        c.patch(f"/apis/{GROUP}/v1/clustersecretstores/{name}",
                {"spec": {"conditions": [{"namespaces": [team_a]}]}})
        self.external_secret(other, "sneaky", {"secretStoreRef": {"kind": "ClusterSecretStore", "name": name},
                                               "target": {"name": "sneaky"},
                                               "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
        cond = self.wait_ready(other, "sneaky", "False")
        self.assertIn("denied by spec.conditions", cond["message"])
        self.assertIsNone(c.find(secret_path(other, "sneaky")))
        c.patch(f"/apis/{GROUP}/v1/clustersecretstores/{name}", {"spec": {"conditions": None}})
        ces = self.wait_for("the ClusterExternalSecret's status", lambda: (
            (x := c.get(f"/apis/{GROUP}/v1/clusterexternalsecrets/{name}")).get("status", {})
            .get("provisionedNamespaces") and x))
        self.assertEqual(sorted(ces["status"]["provisionedNamespaces"]), sorted([team_a, team_b]))
        # A namespace that stops matching loses its ExternalSecret.
        c.patch(f"/api/v1/namespaces/{team_b}", {"metadata": {"labels": {"team": None}}})
        self.wait_for("the ExternalSecret removed from the deselected namespace",
                      lambda: c.find(es_path(team_b, "shared")) is None, timeout=20)

    # ---- operation ----------------------------------------------------------------------------------

    def test_health_and_readiness(self):
        self.assertEqual(self.operator.http("/healthz")[0], 200)
        self.assertEqual(self.operator.http("/readyz")[0], 200)


@unittest.skipIf(SKIP, SKIP)
class OperatorResilienceTest(ClusterTestCase):
    """Failures: a second replica, the API server restarted, the Arca server down. Its own cluster;
    each test starts the operators it needs."""

    setup_store = ClusterTestCase.namespace_with_store

    def test_two_replicas_one_leader_and_failover(self):
        a = Operator(self.cluster, self.server.endpoint, "replica-a")
        b = None
        try:
            self.wait_for("replica a to lead", a.leader)
            b = Operator(self.cluster, self.server.endpoint, "replica-b")
            self.ops = [a, b]
            time.sleep(1.5)
            self.assertTrue(a.leader())
            self.assertFalse(b.leader())
            lease = self.cluster.get("/apis/coordination.k8s.io/v1/namespaces/default/leases/arca-operator")
            self.assertEqual(lease["spec"]["holderIdentity"], "replica-a")
            ns = self.setup_store()
            name = unique("failover")
            self.sm.create_secret(Name=name, SecretString="v1")
            self.external_secret(ns, "app", {"refreshInterval": "1s", "target": {"name": "app"},
                                             "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
            self.wait_data(ns, "app", {"v": "v1"})
            self.assertEqual(sum(1 for e in b.entries() if e.get("msg") == "ExternalSecret synced"), 0)
            # The leader dies without giving the lease up: b takes over after the lease expires.
            a.stop(signal.SIGKILL)
            self.wait_for("replica b to lead", b.leader, timeout=15)
            self.sm.put_secret_value(SecretId=name, SecretString="v2")
            self.wait_data(ns, "app", {"v": "v2"}, timeout=15)
        finally:
            a.stop()
            if b is not None:
                b.stop()

    def test_api_server_restart_and_arca_down_then_back(self):
        op = Operator(self.cluster, self.server.endpoint, "resilient")
        self.ops = [op]
        try:
            self.wait_for("the operator to lead", op.leader)
            ns = self.setup_store()
            name = unique("resilient")
            self.sm.create_secret(Name=name, SecretString="v1")
            self.external_secret(ns, "app", {"refreshInterval": "1s", "target": {"name": "app"},
                                             "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
            self.wait_data(ns, "app", {"v": "v1"})
            # The API server goes away mid-watch and comes back: watches resume by themselves.
            self.cluster.restart_apiserver(down_seconds=2)
            self.sm.put_secret_value(SecretId=name, SecretString="v2")
            self.wait_data(ns, "app", {"v": "v2"}, timeout=40)
            self.external_secret(ns, "after", {"target": {"name": "after"},
                                               "data": [{"secretKey": "v", "remoteRef": {"key": name}}]})
            self.wait_data(ns, "after", {"v": "v2"}, timeout=40)
            # Arca unreachable: the status says so, the Secret keeps its last value.
            self.server.stop()
            cond = self.wait_for("Ready=False while Arca is down",
                                 lambda: (c := self.ready(ns, "app")) and c["status"] == "False" and c, timeout=20)
            self.assertIn("could not reach", cond["message"])
            self.assertEqual(self.secret_data(ns, "app"), {"v": "v2"})
            self.server.start()
            type(self).sm = self.server.client()
            self.sm.put_secret_value(SecretId=name, SecretString="v3")
            # Backoff is 5 s doubling: the sync resumes within the next retries.
            self.wait_data(ns, "app", {"v": "v3"}, timeout=45)
            self.wait_for("Ready=True again", lambda: (c := self.ready(ns, "app")) and c["status"] == "True")
        finally:
            op.stop()


if __name__ == "__main__":
    unittest.main()
