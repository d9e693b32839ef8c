"""`arca sync`: ExternalSecret manifests (external-secrets.io v1 / v1beta1) turned into files without
Kubernetes, against a real `arca server` holding the shop's secrets (examples/bootstrap's seed: a
database, redis, jwt, llm API keys, an OAuth client), created with boto3.

Checks the files (one per key, 0600 in a 0700 directory), the .env next to them (read back by the
`arca` dotenv reader and, when installed, python-dotenv), that a second run changes nothing, that a
PutSecretValue is picked up by the next run, --watch with SIGHUP, exit statuses, and Parameter Store.

Run: ARCA_BIN=build/arca python3 -m unittest -v test_sync   (from tests/integration)
"""

import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import textwrap
import time
import unittest

from arca_harness import ArcaTestCase, arca_bin, clean_env, unique

try:  # optional: a second, independent dotenv reader
    import dotenv  # type: ignore
except ImportError:  # pragma: no cover - depends on the machine
    dotenv = None

NASTY = "p@ss w0rd'\"$HOME #x\\y"


class SyncTest(ArcaTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.prefix = unique("shop")
        p = cls.prefix
        cls.names = {
            "database": f"{p}/prod/database",
            "redis": f"{p}/prod/redis",
            "jwt": f"{p}/prod/jwt",
            "llm": f"{p}/prod/llm",
            "oauth": f"{p}/prod/oauth",
        }
        cls.values = {
            "database": {"engine": "postgres", "host": "db.internal", "port": 5432, "dbname": "shop",
                         "username": "shop_app", "password": NASTY, "sslmode": "require",
                         "ca": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
            "redis": {"host": "redis.internal", "port": 6379, "tls": True, "password": "r3d1s-pw"},
            "jwt": {"JWT_SECRET": "c2lnbmluZy1rZXk=", "JWT_ISSUER": "https://shop.example.com",
                    "JWT_TTL_SECONDS": 3600},
            "llm": {"OPENAI_API_KEY": "sk-openai-123", "ANTHROPIC_API_KEY": "sk-ant-456",
                    "LLM_DEFAULT_MODEL": "gpt-4o-mini"},
            "oauth": {"client_id": "shop-prod", "client_secret": "oauth-s3cret",
                      "issuer": "https://login.example.com/", "redirect_uri": "https://shop/auth/callback"},
        }
        for k, name in cls.names.items():
            cls.sm.create_secret(Name=name, SecretString=json.dumps(cls.values[k]),
                                 Tags=[{"Key": "app", "Value": p}, {"Key": "category", "Value": k}])

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="arca-it-sync-")
        self.out = os.path.join(self.work, "out")

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    # ---- helpers ---------------------------------------------------------------------------------

    def manifest(self, text, name="es.yaml"):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        return path

    def sync(self, path, *extra, expect=0):
        p = self.server.cli("sync", "-f", path, "--out-dir", self.out, *extra)
        self.assertEqual(p.returncode, expect, f"arca sync: rc {p.returncode}\n{p.stdout}\n{p.stderr}")
        return p

    def read(self, *parts):
        with open(os.path.join(self.out, *parts), "rb") as f:
            return f.read().decode()

    def mode(self, *parts):
        return stat.S_IMODE(os.lstat(os.path.join(self.out, *parts)).st_mode)

    def dotenv_of(self, target):
        """The .env read back by arca's own dotenv reader (python-dotenv's rules) through a secret."""
        name = unique(f"{self.prefix}/envcheck")
        path = os.path.join(self.out, target + ".env")
        p = self.server.cli("secret", "put", name, "--from-env-file", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        got = json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"])
        if dotenv is not None:
            self.assertEqual(dict(dotenv.dotenv_values(path)), got)
        return got

    def seed_manifest(self):
        """The shop's app secrets: an arca store in the file (its keys in a v1 Secret), and one
        ExternalSecret per kind of use."""
        akid, secret = self.server.credentials()
        n = self.names
        return self.manifest(f"""\
            apiVersion: v1
            kind: Secret
            metadata: {{name: arca-credentials, namespace: shop}}
            stringData:
              access-key-id: {akid}
              secret-access-key: {secret}
            ---
            apiVersion: external-secrets.io/v1
            kind: SecretStore
            metadata: {{name: arca, namespace: shop}}
            spec:
              provider:
                arca:
                  server: {self.server.endpoint}
                  auth:
                    secretRef:
                      accessKeyIDSecretRef: {{name: arca-credentials, key: access-key-id}}
                      secretAccessKeySecretRef: {{name: arca-credentials, key: secret-access-key}}
            ---
            # The database URL built with a template from the JSON secret's properties.
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: shop-database, namespace: shop}}
            spec:
              refreshInterval: 1h
              secretStoreRef: {{kind: SecretStore, name: arca}}
              target:
                name: database
                template:
                  engineVersion: v2
                  data:
                    DATABASE_URL: "postgresql://{{{{ .user }}}}:{{{{ .password | urlquery }}}}@{{{{ .host }}}}:{{{{ .port }}}}/{{{{ .dbname }}}}?sslmode={{{{ .sslmode }}}}"
                    PGPASSWORD: "{{{{ .password }}}}"
                    ca.crt: "{{{{ .ca }}}}"
              data:
                - {{secretKey: user, remoteRef: {{key: {n['database']}, property: username}}}}
                - {{secretKey: password, remoteRef: {{key: {n['database']}, property: password}}}}
                - {{secretKey: host, remoteRef: {{key: {n['database']}, property: host}}}}
                - {{secretKey: port, remoteRef: {{key: {n['database']}, property: port}}}}
                - {{secretKey: dbname, remoteRef: {{key: {n['database']}, property: dbname}}}}
                - {{secretKey: sslmode, remoteRef: {{key: {n['database']}, property: sslmode}}}}
                - {{secretKey: ca, remoteRef: {{key: {n['database']}, property: ca}}}}
            ---
            # Redis: every key of the JSON secret, plus a URL (mergePolicy Merge keeps the keys).
            apiVersion: external-secrets.io/v1beta1
            kind: ExternalSecret
            metadata: {{name: shop-redis, namespace: shop}}
            spec:
              secretStoreRef: {{name: arca}}
              target:
                name: redis
                template:
                  mergePolicy: Merge
                  data:
                    REDIS_URL: "rediss://:{{{{ .password }}}}@{{{{ .host }}}}:{{{{ .port }}}}/0"
              dataFrom:
                - extract: {{key: {n['redis']}}}
            ---
            # JWT: dataFrom extract, the keys as the secret names them.
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: shop-jwt, namespace: shop}}
            spec:
              secretStoreRef: {{name: arca}}
              target: {{name: jwt}}
              dataFrom:
                - extract: {{key: {n['jwt']}}}
            ---
            # LLM API keys, each by property; no store in the file: the credential chain.
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: shop-llm, namespace: shop}}
            spec:
              secretStoreRef: {{kind: ClusterSecretStore, name: not-in-this-file}}
              target: {{name: llm}}
              data:
                - {{secretKey: OPENAI_API_KEY, remoteRef: {{key: {n['llm']}, property: OPENAI_API_KEY}}}}
                - {{secretKey: ANTHROPIC_API_KEY, remoteRef: {{key: {n['llm']}, property: ANTHROPIC_API_KEY}}}}
            ---
            # OAuth client with property, renamed for the app.
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: oauth, namespace: shop}}
            spec:
              secretStoreRef: {{name: arca}}
              data:
                - {{secretKey: OAUTH_CLIENT_ID, remoteRef: {{key: {n['oauth']}, property: client_id}}}}
                - {{secretKey: OAUTH_CLIENT_SECRET, remoteRef: {{key: {n['oauth']}, property: client_secret}}}}
                - {{secretKey: OAUTH_ISSUER, remoteRef: {{key: {n['oauth']}, property: issuer}}}}
            """)

    # ---- tests -----------------------------------------------------------------------------------

    def test_seed_manifests_files_modes_and_dotenv(self):
        path = self.seed_manifest()
        p = self.sync(path)
        for secret in (NASTY, "r3d1s-pw", "sk-openai-123", "oauth-s3cret", "c2lnbmluZy1rZXk="):
            self.assertNotIn(secret, p.stdout + p.stderr)
        self.assertIn("shop/shop-database: " + os.path.join(self.out, "database") + " written", p.stdout)
        self.assertIn("ClusterSecretStore not-in-this-file is not in", p.stderr)

        db = self.values["database"]
        self.assertEqual(self.read("database", "DATABASE_URL"),
                         "postgresql://shop_app:p%40ss+w0rd%27%22%24HOME+%23x%5Cy@db.internal:5432/shop"
                         "?sslmode=require")
        self.assertEqual(self.read("database", "PGPASSWORD"), NASTY)
        self.assertEqual(self.read("database", "ca.crt"), db["ca"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.out, "database"))),
                         ["DATABASE_URL", "PGPASSWORD", "ca.crt"])

        redis = {k: self.read("redis", k) for k in os.listdir(os.path.join(self.out, "redis"))}
        self.assertEqual(redis, {"host": "redis.internal", "port": "6379", "tls": "true",
                                 "password": "r3d1s-pw",
                                 "REDIS_URL": "rediss://:r3d1s-pw@redis.internal:6379/0"})
        self.assertEqual(self.read("jwt", "JWT_SECRET"), "c2lnbmluZy1rZXk=")
        self.assertEqual(self.read("jwt", "JWT_TTL_SECONDS"), "3600")
        self.assertEqual(self.read("llm", "OPENAI_API_KEY"), "sk-openai-123")
        self.assertEqual(self.read("oauth", "OAUTH_CLIENT_SECRET"), "oauth-s3cret")

        self.assertEqual(self.mode(), 0o700)
        for target in ("database", "redis", "jwt", "llm", "oauth"):
            self.assertEqual(self.mode(target), 0o700, target)
            self.assertEqual(self.mode(target + ".env"), 0o600, target)
            self.assertEqual(self.mode(target + ".meta.json"), 0o600, target)
            for key in os.listdir(os.path.join(self.out, target)):
                self.assertEqual(self.mode(target, key), 0o600, key)

        env = self.dotenv_of("database")
        self.assertEqual(env, {"DATABASE_URL": self.read("database", "DATABASE_URL"), "PGPASSWORD": NASTY})
        self.assertIn("ca.crt", p.stderr)  # left out of database.env, and said so
        self.assertEqual(self.dotenv_of("jwt"), {"JWT_SECRET": "c2lnbmluZy1rZXk=",
                                                 "JWT_ISSUER": "https://shop.example.com",
                                                 "JWT_TTL_SECONDS": "3600"})
        self.assertEqual(self.dotenv_of("oauth")["OAUTH_CLIENT_ID"], "shop-prod")

        meta = json.loads(self.read("database.meta.json"))
        self.assertEqual(meta["externalSecret"], "shop/shop-database")
        self.assertEqual(meta["type"], "Opaque")
        self.assertEqual(meta["keys"], ["DATABASE_URL", "PGPASSWORD", "ca.crt"])
        self.assertNotIn(NASTY, self.read("database.meta.json"))

    def test_second_run_changes_nothing_and_updates_are_picked_up(self):
        path = self.seed_manifest()
        self.sync(path)
        before = {}
        for root, _, files in os.walk(self.out):
            for f in files:
                st = os.lstat(os.path.join(root, f))
                before[os.path.join(root, f)] = (st.st_ino, st.st_mtime_ns)
        time.sleep(0.05)
        p = self.sync(path)
        self.assertNotIn("written", p.stdout)
        self.assertEqual(p.stdout.count("unchanged"), 5, p.stdout)
        after = {}
        for root, _, files in os.walk(self.out):
            for f in files:
                st = os.lstat(os.path.join(root, f))
                after[os.path.join(root, f)] = (st.st_ino, st.st_mtime_ns)
        self.assertEqual(before, after)

        redis = dict(self.values["redis"], password="n3w-r3d1s")
        self.sm.put_secret_value(SecretId=self.names["redis"], SecretString=json.dumps(redis))
        p = self.sync(path)
        self.assertIn("shop/shop-redis: " + os.path.join(self.out, "redis") + " written", p.stdout)
        self.assertIn("changed: REDIS_URL, password", p.stdout)
        self.assertEqual(p.stdout.count("unchanged"), 4, p.stdout)
        self.assertEqual(self.read("redis", "password"), "n3w-r3d1s")
        self.assertEqual(self.read("redis", "REDIS_URL"), "rediss://:n3w-r3d1s@redis.internal:6379/0")
        self.assertEqual(self.dotenv_of("redis")["password"], "n3w-r3d1s")
        self.assertNotIn("n3w-r3d1s", p.stdout + p.stderr)
        self.sm.put_secret_value(SecretId=self.names["redis"], SecretString=json.dumps(self.values["redis"]))

    def test_find_rewrite_versions_and_tags(self):
        n = self.names
        prev = self.sm.put_secret_value(SecretId=n["oauth"], SecretString=json.dumps(
            dict(self.values["oauth"], client_secret="rotated")))["VersionId"]
        path = self.manifest(f"""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: everything}}
            spec:
              refreshInterval: "0"
              secretStoreRef: {{name: default}}
              data:
                - {{secretKey: previous, remoteRef: {{key: {n['oauth']}, property: client_secret, version: AWSPREVIOUS}}}}
                - {{secretKey: current, remoteRef: {{key: {n['oauth']}, property: client_secret, version: uuid/{prev}}}}}
                - {{secretKey: category, remoteRef: {{key: {n['oauth']}, metadataPolicy: Fetch, property: category}}}}
              dataFrom:
                - find:
                    path: {self.prefix}/prod/
                    name: {{regexp: "(llm|jwt)$"}}
                  rewrite:
                    - regexp: {{source: "^{self.prefix}/prod/(.*)$", target: "app-$1"}}
                - find:
                    tags: {{app: {self.prefix}, category: redis}}
            """)
        self.sync(path)
        files = sorted(os.listdir(os.path.join(self.out, "everything")))
        redis_key = n["redis"].replace("/", "_")
        self.assertEqual(files, sorted(["previous", "current", "category", "app-llm", "app-jwt", redis_key]))
        self.assertEqual(self.read("everything", "previous"), "oauth-s3cret")
        self.assertEqual(self.read("everything", "current"), "rotated")
        self.assertEqual(self.read("everything", "category"), "oauth")
        self.assertEqual(json.loads(self.read("everything", "app-llm")), self.values["llm"])
        self.sm.put_secret_value(SecretId=n["oauth"], SecretString=json.dumps(self.values["oauth"]))

    def test_invalid_specs_and_missing_secrets(self):
        bad = self.manifest("""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {name: bad}
            spec:
              secretStoreRef: {name: s}
              refreshInterval: 1x
              data:
                - {secretKey: a, remoteRef: {key: x}}
                - {secretKey: b, remoteRef: {key: y}}
                - {secretKey: c, remoteRef: {property: z}}
              dataFrom:
                - rewrite: []
            """)
        p = self.sync(bad, expect=2)
        self.assertIn("document 1 (ExternalSecret bad): ", p.stderr)
        self.assertIn("spec.refreshInterval: time: unknown unit \"x\" in duration \"1x\"", p.stderr)
        self.assertIn("spec.data[2].remoteRef.key is required", p.stderr)
        self.assertIn("spec.dataFrom[0]: exactly one of extract, find must be set", p.stderr)
        self.assertFalse(os.path.exists(self.out))

        template = self.manifest(f"""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: tpl}}
            spec:
              secretStoreRef: {{name: s}}
              target: {{template: {{data: {{url: "{{{{ .missing }}}}"}}}}}}
              data: [{{secretKey: a, remoteRef: {{key: {self.names['llm']}, property: OPENAI_API_KEY}}}}]
            """)
        p = self.sync(template, expect=2)
        self.assertIn('map has no entry for key "missing"', p.stderr)
        self.assertNotIn("sk-openai", p.stderr)

        missing = self.manifest("""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {name: missing}
            spec:
              secretStoreRef: {name: s}
              data: [{secretKey: a, remoteRef: {key: no/such/secret}}]
            """)
        p = self.sync(missing, expect=3)
        self.assertIn("spec.data[0] (key no/such/secret): secret no/such/secret not found", p.stderr)
        prop = self.manifest(f"""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: prop}}
            spec:
              secretStoreRef: {{name: s}}
              data: [{{secretKey: a, remoteRef: {{key: {self.names['llm']}, property: NOPE}}}}]
            """)
        p = self.sync(prop, expect=3)
        self.assertIn("key NOPE does not exist in secret", p.stderr)

        env = clean_env({"HOME": self.work, "ARCA_ENDPOINT": self.server.endpoint,
                         "AWS_ACCESS_KEY_ID": "ARCAUNKNOWNKEY000000", "AWS_SECRET_ACCESS_KEY": "x" * 40})
        r = subprocess.run([arca_bin(), "sync", "-f", missing, "--out-dir", self.out], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 4, r.stderr)
        r = subprocess.run([arca_bin(), "sync", "-f", missing, "--out-dir", self.out,
                            "--endpoint", "http://127.0.0.1:9"], env=env, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 6, r.stderr)

    def test_parameter_store(self):
        ssm = self.server.client(service="ssm")
        base = f"/{self.prefix}/prod"
        try:
            ssm.put_parameter(Name=f"{base}/db/password", Value="pg-secret", Type="SecureString")
        except Exception as e:  # noqa: BLE001 - a server without the SSM API
            self.skipTest(f"no SSM Parameter Store in this server: {e}")
        ssm.put_parameter(Name=f"{base}/db/host", Value="db.internal", Type="String")
        ssm.put_parameter(Name=f"{base}/config", Value=json.dumps({"a": {"b": "nested"}}), Type="String")
        ssm.put_parameter(Name=f"{base}/db/password", Value="pg-secret-2", Type="SecureString", Overwrite=True)
        akid, secret = self.server.credentials()
        path = self.manifest(f"""\
            apiVersion: v1
            kind: Secret
            metadata: {{name: aws-keys}}
            data:
              id: {__import__('base64').b64encode(akid.encode()).decode()}
              secret: {__import__('base64').b64encode(secret.encode()).decode()}
            ---
            apiVersion: external-secrets.io/v1
            kind: ClusterSecretStore
            metadata: {{name: ssm}}
            spec:
              provider:
                aws:
                  service: ParameterStore
                  region: us-east-1
                  prefix: {base}/
                  auth:
                    secretRef:
                      accessKeyIDSecretRef: {{name: aws-keys, key: id}}
                      secretAccessKeySecretRef: {{name: aws-keys, key: secret}}
            ---
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: params}}
            spec:
              secretStoreRef: {{kind: ClusterSecretStore, name: ssm}}
              data:
                - {{secretKey: PGPASSWORD, remoteRef: {{key: db/password}}}}
                - {{secretKey: PGPASSWORD_V1, remoteRef: {{key: db/password, version: "1"}}}}
                - {{secretKey: nested, remoteRef: {{key: config, property: a.b}}}}
              dataFrom:
                - find: {{path: {base}/db, name: {{regexp: "host$"}}}}
            """)
        p = self.sync(path, "--endpoint", self.server.endpoint)
        self.assertIn(os.path.join(self.out, "params") + " written", p.stdout)
        self.assertEqual(self.read("params", "PGPASSWORD"), "pg-secret-2")
        self.assertEqual(self.read("params", "PGPASSWORD_V1"), "pg-secret")
        self.assertEqual(self.read("params", "nested"), "nested")
        self.assertEqual(self.read("params", "_" + f"{base}/db/host".strip("/").replace("/", "_")),
                         "db.internal")

    def test_watch_resyncs_on_sighup_and_stops_on_sigterm(self):
        name = unique(f"{self.prefix}/watch")
        self.sm.create_secret(Name=name, SecretString=json.dumps({"TOKEN": "one"}))
        path = self.manifest(f"""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: watched}}
            spec:
              refreshInterval: 1h
              secretStoreRef: {{name: s}}
              dataFrom: [{{extract: {{key: {name}}}}}]
            """)
        env = clean_env({"ARCA_ENDPOINT": self.server.endpoint, "ARCA_DATA_DIR": self.server.data_dir,
                         "HOME": self.work})
        log_path = os.path.join(self.work, "watch.log")
        with open(log_path, "wb") as log:
            proc = subprocess.Popen([arca_bin(), "sync", "-f", path, "--out-dir", self.out, "--watch"],
                                    stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            def wait_for(text, count=1, timeout=20):
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    with open(log_path) as f:
                        content = f.read()
                    if content.count(text) >= count:
                        return content
                    time.sleep(0.1)
                self.fail(f"{text!r} x{count} not in the log:\n{content}")

            wait_for(" written")
            self.assertEqual(self.read("watched", "TOKEN"), "one")
            self.sm.put_secret_value(SecretId=name, SecretString=json.dumps({"TOKEN": "two"}))
            proc.send_signal(signal.SIGHUP)
            wait_for(" written", count=2)
            self.assertEqual(self.read("watched", "TOKEN"), "two")
            proc.send_signal(signal.SIGHUP)
            content = wait_for(" unchanged")
            self.assertNotIn("two", content.replace("TOKEN", ""))
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_watch_refreshes_every_refresh_interval(self):
        name = unique(f"{self.prefix}/periodic")
        self.sm.create_secret(Name=name, SecretString="first")
        path = self.manifest(f"""\
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: periodic}}
            spec:
              refreshInterval: 1s
              secretStoreRef: {{name: s}}
              data: [{{secretKey: VALUE, remoteRef: {{key: {name}}}}}]
            ---
            apiVersion: external-secrets.io/v1
            kind: ExternalSecret
            metadata: {{name: once}}
            spec:
              refreshInterval: "0"
              secretStoreRef: {{name: s}}
              data: [{{secretKey: VALUE, remoteRef: {{key: {name}}}}}]
            """)
        env = clean_env({"ARCA_ENDPOINT": self.server.endpoint, "ARCA_DATA_DIR": self.server.data_dir,
                         "HOME": self.work})
        proc = subprocess.Popen([arca_bin(), "sync", "-f", path, "--out-dir", self.out, "--watch"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not os.path.exists(os.path.join(self.out, "once", "VALUE")):
                time.sleep(0.1)
            self.assertEqual(self.read("periodic", "VALUE"), "first")
            self.sm.put_secret_value(SecretId=name, SecretString="second")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.read("periodic", "VALUE") != "second":
                time.sleep(0.1)
            self.assertEqual(self.read("periodic", "VALUE"), "second")
            self.assertEqual(self.read("once", "VALUE"), "first")  # refreshInterval 0: synced once
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    unittest.main()
