"""The Secrets Manager API driven by the real `aws` CLI (v1 from pip or v2 from Debian's awscli).

The CLI reads the server's credentials file (profile [arca]) through AWS_SHARED_CREDENTIALS_FILE, as
a user following the README would. Set ARCA_AWS_CLI to pick a particular `aws` program.
"""

import base64
import json
import os
import re
import tempfile
import unittest

from arca_harness import ArcaTestCase, arn_pattern, aws_cli, new_token, unique


@unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
class AwsCliTest(ArcaTestCase):

    def aws(self, *args, **kw):
        return self.server.aws("secretsmanager", *args, **kw)

    def ok(self, *args, **kw):
        rc, out, err = self.aws(*args, **kw)
        self.assertEqual(rc, 0, f"aws {' '.join(args)} failed: {err}")
        return out

    def fails(self, code, *args, **kw):
        rc, out, err = self.aws(*args, **kw)
        # CLI v2 exits 254 on a service error, v1 exits 255.
        self.assertIn(rc, (254, 255), f"expected a service error, rc={rc} out={out} err={err}")
        self.assertIn(f"({code})", err)
        return err

    def test_version_banner(self):
        rc, _, err = self.server.aws("--version", endpoint=False)
        self.assertEqual(rc, 0, err)

    def test_create_get_describe(self):
        name = unique("cli")
        tags = json.dumps([{"Key": "env", "Value": "cli"}])
        out = self.ok("create-secret", "--name", name, "--secret-string", "s3cr3t",
                      "--description", "made by the CLI", "--tags", tags)
        self.assertRegex(out["ARN"], arn_pattern(name))
        self.assertEqual(out["Name"], name)
        got = self.ok("get-secret-value", "--secret-id", name)
        self.assertEqual(got["SecretString"], "s3cr3t")
        self.assertEqual(got["VersionId"], out["VersionId"])
        self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
        got = self.ok("get-secret-value", "--secret-id", out["ARN"])
        self.assertEqual(got["SecretString"], "s3cr3t")
        d = self.ok("describe-secret", "--secret-id", name)
        self.assertEqual(d["Description"], "made by the CLI")
        self.assertEqual(d["Tags"], [{"Key": "env", "Value": "cli"}])
        self.assertEqual(d["VersionIdsToStages"], {out["VersionId"]: ["AWSCURRENT"]})

    def test_binary_from_file(self):
        name = unique("cli-bin")
        blob = bytes(range(256))
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(blob)
        try:
            self.ok("create-secret", "--name", name, "--secret-binary", f"fileb://{f.name}")
        finally:
            os.unlink(f.name)
        got = self.ok("get-secret-value", "--secret-id", name)
        # The CLI prints blobs base64-encoded.
        self.assertEqual(base64.b64decode(got["SecretBinary"]), blob)

    def test_put_with_client_request_token(self):
        name = unique("cli-put")
        self.ok("create-secret", "--name", name, "--secret-string", "one")
        token = new_token()
        put = self.ok("put-secret-value", "--secret-id", name, "--secret-string", "two",
                      "--client-request-token", token)
        self.assertEqual(put["VersionId"], token)
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        again = self.ok("put-secret-value", "--secret-id", name, "--secret-string", "two",
                        "--client-request-token", token)
        self.assertEqual(again["VersionId"], token)
        self.fails("ResourceExistsException", "put-secret-value", "--secret-id", name,
                   "--secret-string", "three", "--client-request-token", token)
        versions = self.ok("list-secret-version-ids", "--secret-id", name)["Versions"]
        self.assertEqual(len(versions), 2)
        prev = self.ok("get-secret-value", "--secret-id", name, "--version-stage", "AWSPREVIOUS")
        self.assertEqual(prev["SecretString"], "one")

    def test_list_with_filters(self):
        prefix = unique("cli-list")
        for suffix in ("a", "b"):
            self.ok("create-secret", "--name", f"{prefix}/{suffix}", "--secret-string", "x",
                    "--tags", json.dumps([{"Key": "group", "Value": prefix}]))
        self.ok("create-secret", "--name", unique("cli-other"), "--secret-string", "x")
        out = self.ok("list-secrets", "--filters",
                      json.dumps([{"Key": "name", "Values": [prefix]}]))
        self.assertEqual(sorted(s["Name"] for s in out["SecretList"]),
                         [f"{prefix}/a", f"{prefix}/b"])
        out = self.ok("list-secrets", "--filters", f"Key=tag-value,Values={prefix}")
        self.assertEqual(sorted(s["Name"] for s in out["SecretList"]),
                         [f"{prefix}/a", f"{prefix}/b"])
        # The CLI pages on its own; a small page size must still give everything.
        out = self.ok("list-secrets", "--filters",
                      json.dumps([{"Key": "name", "Values": [prefix]}]), "--page-size", "1")
        self.assertEqual(len(out["SecretList"]), 2)

    def test_update_secret_version_stage(self):
        name = unique("cli-stage")
        v1 = self.ok("create-secret", "--name", name, "--secret-string", "one")["VersionId"]
        v2 = self.ok("put-secret-value", "--secret-id", name, "--secret-string", "two")["VersionId"]
        self.fails("InvalidParameterException", "update-secret-version-stage", "--secret-id", name,
                   "--version-stage", "AWSCURRENT", "--move-to-version-id", v1)
        out = self.ok("update-secret-version-stage", "--secret-id", name,
                      "--version-stage", "AWSCURRENT", "--move-to-version-id", v1,
                      "--remove-from-version-id", v2)
        self.assertEqual(out["Name"], name)
        d = self.ok("describe-secret", "--secret-id", name)
        self.assertEqual(d["VersionIdsToStages"][v1], ["AWSCURRENT"])
        self.assertEqual(d["VersionIdsToStages"][v2], ["AWSPREVIOUS"])
        self.assertEqual(self.ok("get-secret-value", "--secret-id", name)["SecretString"], "one")

    def test_delete_and_restore(self):
        name = unique("cli-del")
        self.ok("create-secret", "--name", name, "--secret-string", "keep")
        out = self.ok("delete-secret", "--secret-id", name, "--recovery-window-in-days", "7")
        self.assertEqual(out["Name"], name)
        self.assertIn("DeletionDate", out)
        err = self.fails("InvalidRequestException", "get-secret-value", "--secret-id", name)
        self.assertIn("marked for deletion", err)
        self.fails("InvalidParameterException", "delete-secret", "--secret-id", name,
                   "--recovery-window-in-days", "7", "--force-delete-without-recovery")
        self.ok("restore-secret", "--secret-id", name)
        self.assertEqual(self.ok("get-secret-value", "--secret-id", name)["SecretString"], "keep")
        self.ok("delete-secret", "--secret-id", name, "--force-delete-without-recovery")
        self.fails("ResourceNotFoundException", "describe-secret", "--secret-id", name)

    def test_tag_untag(self):
        name = unique("cli-tag")
        self.ok("create-secret", "--name", name, "--secret-string", "x")
        rc, out, err = self.aws("tag-resource", "--secret-id", name, "--tags",
                                json.dumps([{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]))
        self.assertEqual(rc, 0, err)
        self.assertIsNone(out)  # no output on success
        d = self.ok("describe-secret", "--secret-id", name)
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in d["Tags"]), [("a", "1"), ("b", "2")])
        rc, _, err = self.aws("untag-resource", "--secret-id", name, "--tag-keys", "a")
        self.assertEqual(rc, 0, err)
        d = self.ok("describe-secret", "--secret-id", name)
        self.assertEqual(d["Tags"], [{"Key": "b", "Value": "2"}])

    def test_get_random_password(self):
        out = self.ok("get-random-password", "--password-length", "40", "--exclude-punctuation")
        p = out["RandomPassword"]
        self.assertEqual(len(p), 40)
        self.assertTrue(p.isalnum(), p)
        out = self.ok("get-random-password", "--password-length", "12", "--exclude-characters",
                      "abcdefghijklmnopqrstuvwxyz", "--no-require-each-included-type")
        self.assertFalse(re.search("[a-z]", out["RandomPassword"]))

    def test_batch_get_secret_value(self):
        a, b = unique("cli-batch"), unique("cli-batch")
        self.ok("create-secret", "--name", a, "--secret-string", "A")
        self.ok("create-secret", "--name", b, "--secret-string", "B")
        missing = unique("cli-missing")
        rc, out, err = self.aws("batch-get-secret-value", "--secret-id-list", a, b, missing)
        if rc != 0 and ("Invalid choice" in err or "invalid choice" in err):
            self.skipTest("this aws CLI predates BatchGetSecretValue")
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted((v["Name"], v["SecretString"]) for v in out["SecretValues"]),
                         sorted([(a, "A"), (b, "B")]))
        self.assertEqual([(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]],
                         [(missing, "ResourceNotFoundException")])

    def test_error_path(self):
        err = self.fails("ResourceNotFoundException", "get-secret-value", "--secret-id",
                         unique("cli-none"))
        self.assertIn("GetSecretValue", err)
        err = self.fails("ResourceExistsException", "create-secret", "--name",
                         self._existing(), "--secret-string", "x")
        self.assertIn("CreateSecret", err)

    def test_wrong_credentials(self):
        cred = os.path.join(self.server.log_dir, "bad-credentials")
        akid, _ = self.server.credentials()
        with open(cred, "w") as f:
            f.write(f"[arca]\naws_access_key_id = {akid}\n"
                    f"aws_secret_access_key = {'x' * 40}\n")
        rc, _, err = self.server.aws("secretsmanager", "list-secrets",
                                     env={"AWS_SHARED_CREDENTIALS_FILE": cred})
        self.assertIn(rc, (254, 255), err)
        self.assertIn("InvalidSignatureException", err)

    def _existing(self):
        name = unique("cli-exists")
        self.ok("create-secret", "--name", name, "--secret-string", "x")
        return name


if __name__ == "__main__":
    unittest.main()
