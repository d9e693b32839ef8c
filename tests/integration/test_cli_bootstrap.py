"""`arca bootstrap` (issue 7, item 3) against a real server started by the test: first run creates,
re-runs change nothing (no new versions), one changed literal makes exactly one new version, generated
values are kept unless --regenerate names them, --dry-run writes nothing, --outputs files, the
examples/bootstrap manifest for staging and production, and the error paths.

Run: ARCA_BIN=build/arca python3 -m unittest -v test_cli_bootstrap   (from tests/integration)
"""

import json
import os
import re
import shutil
import string
import tempfile
import unittest

from arca_harness import ArcaTestCase, unique

try:
    import yaml  # PyYAML: present for both the image's python3 and Debian's python3-yaml
except ImportError:  # pragma: no cover - the YAML output is then checked as text
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(REPO, "examples", "bootstrap", "environment.yaml")

CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfakefakefake\n-----END CERTIFICATE-----\n"
ENV_SECRET = "env-value-that-must-not-be-printed"
LITERAL_SECRET = "literal-value-that-must-not-be-printed"

MANIFEST = """
variables:
  app: {app}
  env: staging
defaults:
  tags: {{app: "{{app}}", env: "{{env}}"}}
secrets:
  - name: "{{app}}/{{env}}/database"
    description: PostgreSQL for {{app}} ({{env}})
    fields:
      engine: postgres
      host: {host}
      port: 5432
      username: "{{app}}"
      token: {literal}
      api_key: {{fromEnv: BS_API_KEY}}
      ca: {{fromFile: certs/ca.pem}}
      password: {{password: {{length: 32, excludePunctuation: true}}}}
    tags: {{category: database}}
    rotation: {{lambdaArn: "arn:aws:lambda:us-east-1:000000000000:function:arca-random",
               schedule: "rate(30 days)", duration: 3h}}
    policy: {{fromFile: policy.json}}
    output: database
  - name: "{{app}}/{{env}}/jwt"
    fields:
      JWT_SECRET: {{random: {{bytes: 32, encoding: base64}}}}
      JWT_HEX: {{random: {{bytes: 16, encoding: hex}}}}
  - name: "{{app}}/{{env}}/license"
    value: {{fromFile: license.txt}}
"""

POLICY = """{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::000000000000:role/{app}-reader"},
  "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}"""


class BootstrapTest(ArcaTestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="arca-bootstrap-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "certs"))
        self.write("certs/ca.pem", CA_PEM)
        self.write("license.txt", "LICENSE-0001\n")
        self.write("policy.json", POLICY)
        self.app = unique("bs")
        self.names = [f"{self.app}/staging/{s}" for s in ("database", "jwt", "license")]

    # ---- helpers ----------------------------------------------------------------------------------

    def write(self, rel, text):
        path = os.path.join(self.dir, rel)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def manifest(self, host="db1.internal", literal=LITERAL_SECRET, name="env.yaml"):
        return self.write(name, MANIFEST.format(app=self.app, host=host, literal=literal))

    def bootstrap(self, *args, env=None, expect=0):
        e = {"BS_API_KEY": ENV_SECRET}
        e.update(env or {})
        p = self.server.cli("bootstrap", *args, env=e, cwd=self.dir)
        if expect is not None:
            self.assertEqual(p.returncode, expect, f"arca bootstrap {' '.join(args)}\n{p.stdout}\n{p.stderr}")
        for secret in (ENV_SECRET, LITERAL_SECRET, "LICENSE-0001", "MIIBfake"):
            self.assertNotIn(secret, p.stdout + p.stderr)
        return p

    def versions(self, name):
        return len(self.sm.list_secret_version_ids(SecretId=name)["Versions"])

    def value(self, name):
        return self.sm.get_secret_value(SecretId=name)["SecretString"]

    def values(self):
        return {n: self.value(n) for n in self.names}

    def assertPlan(self, stdout, create=0, update=0, unchanged=0):
        self.assertIn(f"Plan: {create} to create, {update} to update, {unchanged} unchanged.", stdout)

    def exists(self, name):
        try:
            self.sm.describe_secret(SecretId=name)
            return True
        except self.sm.exceptions.ResourceNotFoundException:
            return False

    # ---- tests ------------------------------------------------------------------------------------

    def test_first_run_creates_everything_and_the_second_changes_nothing(self):
        path = self.manifest()
        p = self.bootstrap("-f", path)
        db, jwt, lic = self.names
        self.assertIn(f"create {db} (fields: engine, host, port, username, token, api_key, ca, password "
                      f"[generated: password])", p.stdout)
        self.assertIn(f"create {jwt} (fields: JWT_SECRET, JWT_HEX [generated: JWT_SECRET, JWT_HEX])", p.stdout)
        self.assertIn(f"create {lic} (value)", p.stdout)
        self.assertPlan(p.stdout, create=3)
        # Progress on stderr, one line per secret (stderr is not a terminal here).
        self.assertIn(f"[3/3] {lic}: created", p.stderr)

        got = json.loads(self.value(db))
        self.assertEqual(list(got), ["engine", "host", "port", "username", "token", "api_key", "ca", "password"])
        self.assertEqual(got["engine"], "postgres")
        self.assertEqual(got["host"], "db1.internal")
        self.assertEqual(got["port"], "5432")
        self.assertEqual(got["username"], self.app)
        self.assertEqual(got["token"], LITERAL_SECRET)
        self.assertEqual(got["api_key"], ENV_SECRET)
        self.assertEqual(got["ca"], CA_PEM)
        self.assertEqual(len(got["password"]), 32)
        self.assertFalse(set(got["password"]) & set(string.punctuation), "excludePunctuation")
        j = json.loads(self.value(jwt))
        self.assertEqual(len(j["JWT_SECRET"]), 44)
        self.assertRegex(j["JWT_HEX"], r"^[0-9a-f]{32}$")
        self.assertEqual(self.value(lic), "LICENSE-0001\n")

        d = self.sm.describe_secret(SecretId=db)
        self.assertEqual(d["Description"], f"PostgreSQL for {self.app} (staging)")
        self.assertEqual({t["Key"]: t["Value"] for t in d["Tags"]},
                         {"app": self.app, "env": "staging", "category": "database"})
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationLambdaARN"], "arn:aws:lambda:us-east-1:000000000000:function:arca-random")
        self.assertEqual(d["RotationRules"].get("ScheduleExpression"), "rate(30 days)")
        self.assertEqual(d["RotationRules"].get("Duration"), "3h")
        policy = json.loads(self.sm.get_resource_policy(SecretId=db)["ResourcePolicy"])
        self.assertEqual(policy["Statement"][0]["Principal"]["AWS"], "arn:aws:iam::000000000000:role/" + self.app + "-reader")
        before = self.values()
        for n in self.names:
            self.assertEqual(self.versions(n), 1, n)

        # Second run: nothing to do, no new version anywhere, generated values untouched.
        p = self.bootstrap("-f", path)
        for n in self.names:
            self.assertIn(f"unchanged {n}\n", p.stdout)
            self.assertEqual(self.versions(n), 1, n)
        self.assertPlan(p.stdout, unchanged=3)
        self.assertNotIn("Applied", p.stdout)
        self.assertEqual(p.stderr, "")
        self.assertEqual(self.values(), before)

    def test_one_changed_literal_makes_exactly_one_new_version(self):
        self.bootstrap("-f", self.manifest())
        before = self.values()
        p = self.bootstrap("-f", self.manifest(host="db2.internal"))
        db = self.names[0]
        self.assertIn(f"update {db} (value: changed host)", p.stdout)
        self.assertPlan(p.stdout, update=1, unchanged=2)
        self.assertEqual(self.versions(db), 2)
        for n in self.names[1:]:
            self.assertEqual(self.versions(n), 1, n)
            self.assertEqual(self.value(n), before[n])
        old, new = json.loads(before[db]), json.loads(self.value(db))
        self.assertEqual(new["host"], "db2.internal")
        self.assertEqual(new["password"], old["password"], "a generated field is never regenerated")
        self.assertEqual({k: v for k, v in new.items() if k != "host"}, {k: v for k, v in old.items() if k != "host"})
        # And the run after that is quiet again.
        p = self.bootstrap("-f", self.manifest(host="db2.internal"))
        self.assertPlan(p.stdout, unchanged=3)
        self.assertEqual(self.versions(db), 2)

    def test_regenerate_changes_only_that_field(self):
        path = self.manifest()
        self.bootstrap("-f", path)
        before = self.values()
        db, jwt, _ = self.names
        p = self.bootstrap("-f", path, "--regenerate", f"{jwt}.JWT_SECRET")
        self.assertIn(f"update {jwt} (value: changed JWT_SECRET [generated: JWT_SECRET])", p.stdout)
        self.assertPlan(p.stdout, update=1, unchanged=2)
        old, new = json.loads(before[jwt]), json.loads(self.value(jwt))
        self.assertNotEqual(new["JWT_SECRET"], old["JWT_SECRET"])
        self.assertEqual(new["JWT_HEX"], old["JWT_HEX"])
        self.assertEqual(self.versions(jwt), 2)
        self.assertEqual(self.value(db), before[db])
        self.assertEqual(self.versions(db), 1)

        # A field that is not generated, or that does not exist: a usage error, nothing written.
        p = self.bootstrap("-f", path, "--regenerate", f"{db}.host", expect=2)
        self.assertIn("not generated", p.stderr)
        p = self.bootstrap("-f", path, "--regenerate", f"{db}.nope", expect=2)
        self.assertIn(f"{db}.nope", p.stderr)
        self.assertEqual(self.versions(jwt), 2)

    def test_dry_run_changes_nothing(self):
        path = self.manifest()
        out_json = os.path.join(self.dir, "out.json")
        p = self.bootstrap("-f", path, "--dry-run", "--outputs", out_json)
        self.assertPlan(p.stdout, create=3)
        self.assertIn(f"create {self.names[0]} (fields:", p.stdout)
        for n in self.names:
            self.assertFalse(self.exists(n), n)
        self.assertFalse(os.path.exists(out_json), "--dry-run writes no outputs")

        self.bootstrap("-f", path)
        before = self.values()
        changed = self.manifest(host="db9.internal", literal="another-literal", name="changed.yaml")
        p = self.bootstrap("-f", changed, "--dry-run", "--regenerate", f"{self.names[1]}.JWT_HEX")
        self.assertIn(f"update {self.names[0]} (value: changed host, token)", p.stdout)
        self.assertIn(f"update {self.names[1]} (value: changed JWT_HEX [generated: JWT_HEX])", p.stdout)
        self.assertPlan(p.stdout, update=2, unchanged=1)
        self.assertEqual(self.values(), before)
        for n in self.names:
            self.assertEqual(self.versions(n), 1, n)

        p = self.bootstrap("-f", changed, "--dry-run", "--output", "json")
        plan = json.loads(p.stdout)
        self.assertTrue(plan["dryRun"])
        self.assertEqual((plan["create"], plan["update"], plan["unchanged"]), (0, 1, 2))
        entry = plan["secrets"][0]
        self.assertEqual(entry["action"], "update")
        self.assertEqual(entry["changed"], ["host", "token"])
        self.assertTrue(entry["arn"].startswith("arn:aws:secretsmanager:"))

    def test_outputs_json_and_yaml(self):
        out_json = os.path.join(self.dir, "outputs.json")
        out_yaml = os.path.join(self.dir, "values-arca.yaml")
        self.bootstrap("-f", self.manifest(), "--outputs", out_json, "--outputs", out_yaml)
        arns = {n: self.sm.describe_secret(SecretId=n)["ARN"] for n in self.names}
        with open(out_json, encoding="utf-8") as f:
            self.assertEqual(json.load(f), arns)
        with open(out_yaml, encoding="utf-8") as f:
            text = f.read()
        keys = {"database": self.names[0], "jwt": self.names[1], "license": self.names[2]}
        if yaml is not None:
            doc = yaml.safe_load(text)
            self.assertEqual(doc, {"arcaSecrets": {k: {"name": n, "arn": arns[n]} for k, n in keys.items()}})
        else:
            for k, n in keys.items():
                self.assertIn(f"  {k}:\n    name: {n}\n    arn: {arns[n]}\n", text)
        # A re-run with nothing to change still writes them (the ARNs of existing secrets).
        os.remove(out_json)
        self.bootstrap("-f", self.manifest(), "--outputs", out_json)
        with open(out_json, encoding="utf-8") as f:
            self.assertEqual(json.load(f), arns)

        p = self.bootstrap("-f", self.manifest(), "--outputs", os.path.join(self.dir, "x.txt"), expect=2)
        self.assertIn(".json, .yaml or .yml", p.stderr)

    def test_metadata_changes_make_no_new_version(self):
        path = self.manifest()
        self.bootstrap("-f", path)
        db = self.names[0]
        self.sm.tag_resource(SecretId=db, Tags=[{"Key": "owner", "Value": "someone"}])
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = text.replace("description: PostgreSQL for", "description: Postgres for")
        text = text.replace("tags: {category: database}", "tags: {category: db, tier: gold}")
        text = text.replace('schedule: "rate(30 days)"', 'schedule: "rate(7 days)"')
        self.write("meta.yaml", text)
        p = self.bootstrap("-f", os.path.join(self.dir, "meta.yaml"))
        self.assertIn(f"update {db} (description; tags: category, tier; rotation)", p.stdout)
        self.assertEqual(self.versions(db), 1)
        d = self.sm.describe_secret(SecretId=db)
        self.assertEqual(d["Description"], f"Postgres for {self.app} (staging)")
        tags = {t["Key"]: t["Value"] for t in d["Tags"]}
        self.assertEqual(tags["category"], "db")
        self.assertEqual(tags["tier"], "gold")
        self.assertEqual(tags["owner"], "someone", "tags not in the manifest are left alone")
        self.assertEqual(d["RotationRules"]["ScheduleExpression"], "rate(7 days)")
        p = self.bootstrap("-f", os.path.join(self.dir, "meta.yaml"))
        self.assertPlan(p.stdout, unchanged=3)

    def test_example_manifest_for_staging_and_production(self):
        app = unique("shop")
        env = {"OPENAI_API_KEY": "sk-fake-openai", "ANTHROPIC_API_KEY": "sk-ant-fake",
               "OAUTH_CLIENT_SECRET": "fake-oauth-secret", "SMTP_PASSWORD": "fake-smtp-password"}
        kinds = ["database", "redis", "jwt", "llm", "oauth", "smtp", "webhook-signing"]
        for stage in ("staging", "production"):
            outputs = os.path.join(self.dir, f"values-{stage}.yaml")
            args = ["-f", EXAMPLE, "--var", f"app={app}", "--outputs", outputs]
            if stage == "production":
                args += ["--var", "env=production"]
            p = self.bootstrap(*args, env=env)
            self.assertPlan(p.stdout, create=len(kinds))
            for k in kinds:
                name = f"{app}/{stage}/{k}"
                self.assertEqual(self.versions(name), 1, name)
            db = json.loads(self.value(f"{app}/{stage}/database"))
            self.assertEqual(db["host"], f"postgres.{stage}.svc.cluster.local")
            self.assertIn("BEGIN CERTIFICATE", db["ca"])
            oauth = json.loads(self.value(f"{app}/{stage}/oauth"))
            self.assertEqual(oauth["redirect_uri"], f"https://{stage}.shop.example.com/auth/callback")
            self.assertEqual(oauth["client_secret"], "fake-oauth-secret")
            smtp = json.loads(self.value(f"{app}/{stage}/smtp"))
            self.assertEqual(smtp["username"], f"{app}-{stage}@mail.example.com")
            self.assertRegex(self.value(f"{app}/{stage}/webhook-signing"), r"^[0-9a-f]{64}$")
            policy = json.loads(self.sm.get_resource_policy(SecretId=f"{app}/{stage}/llm")["ResourcePolicy"])
            self.assertEqual(policy["Statement"][0]["Principal"]["AWS"],
                             f"arn:aws:iam::000000000000:role/{app}-{stage}-app")
            with open(outputs, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("arcaSecrets:", text)
            self.assertIn(f"name: {app}/{stage}/smtp", text)
            self.assertIn("  email:", text)
            # Idempotent.
            p = self.bootstrap(*args, env=env)
            self.assertPlan(p.stdout, unchanged=len(kinds))
            for k in kinds:
                self.assertEqual(self.versions(f"{app}/{stage}/{k}"), 1)

    def test_errors(self):
        # Unknown variable: exit 2, named with its place; nothing is created.
        bad = self.write("unknown.yaml", 'secrets:\n  - name: "{app}/x"\n    value: "{nope}"\n')
        p = self.bootstrap("-f", bad, expect=2)
        self.assertRegex(p.stderr, r"^arca: .*unknown variable \{app\}")
        p = self.bootstrap("-f", bad, "--var", f"app={self.app}", expect=2)
        self.assertIn("unknown variable {nope}", p.stderr)
        self.assertIn(f"{self.app}/x", p.stderr)
        self.assertFalse(self.exists(f"{self.app}/x"))

        # A missing environment variable.
        missing = self.write("missing.yaml", f"secrets:\n  - name: {self.app}/m\n    fields:\n"
                                             "      k: {fromEnv: BS_NOT_SET_ANYWHERE}\n")
        p = self.bootstrap("-f", missing, expect=2)
        self.assertIn("environment variable BS_NOT_SET_ANYWHERE is not set", p.stderr)
        self.assertIn(f"{self.app}/m", p.stderr)
        self.assertFalse(self.exists(f"{self.app}/m"))

        # Bad YAML, a missing file, a missing manifest.
        p = self.bootstrap("-f", self.write("bad.yaml", "secrets: [ {name: a\n"), expect=2)
        self.assertIn("invalid YAML at line", p.stderr)
        p = self.bootstrap("-f", self.write("nofile.yaml", f"secrets:\n  - name: {self.app}/f\n    value: {{fromFile: nope.txt}}\n"),
                           expect=2)
        self.assertIn("cannot read file nope.txt", p.stderr)
        p = self.bootstrap("-f", os.path.join(self.dir, "does-not-exist.yaml"), expect=2)
        self.assertIn("cannot read manifest", p.stderr)
        p = self.bootstrap(expect=2)
        self.assertIn("--file", p.stderr)
        p = self.bootstrap("-f", self.manifest(), "--var", "no-equals-sign", expect=2)
        self.assertIn("NAME=VALUE", p.stderr)

        # A secret scheduled for deletion is not silently restored.
        self.bootstrap("-f", self.manifest())
        self.sm.delete_secret(SecretId=self.names[2], RecoveryWindowInDays=7)
        p = self.bootstrap("-f", self.manifest(), expect=5)
        self.assertIn("scheduled for deletion", p.stderr)
        self.assertIn(f"arca secret restore {self.names[2]}", p.stderr)

    def test_failure_midway_reports_what_was_applied(self):
        bad_policy = '{"Version": "2012-10-17", "Statement": "not a statement"}'
        path = self.write("midway.yaml", f"""
secrets:
  - name: {self.app}/one
    value: first
  - name: {self.app}/two
    value: second
    policy: '{bad_policy}'
  - name: {self.app}/three
    value: third
""")
        p = self.bootstrap("-f", path, expect=None)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(f"bootstrap stopped at {self.app}/two (applied before it: {self.app}/one; "
                      f"not reached: {self.app}/three", p.stderr)
        self.assertRegex(p.stderr, r"arca: MalformedPolicyDocumentException: ")
        self.assertTrue(self.exists(f"{self.app}/one"))
        self.assertFalse(self.exists(f"{self.app}/three"))


if __name__ == "__main__":
    unittest.main()
