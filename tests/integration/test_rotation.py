"""Rotation with the built-in arca-random rotator, through boto3 against a real `arca server`.

RotateSecret starts a rotation that the server's engine runs in the background (createSecret,
setSecret, testSecret, finishSecret); the tests poll until it finishes. The state of a rotation is
persisted, so a server killed with SIGKILL right after RotateSecret finishes it after a restart.
"""

import json
import os
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, ArcaTestCase, read_json_lines, unique

RANDOM_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-random"
TEMPLATE = json.dumps({"JWT_SECRET": {"random": {"bytes": 32, "encoding": "base64"}}},
                      separators=(",", ":"))
OLD = json.dumps({"JWT_SECRET": "old-secret", "issuer": "arca"}, separators=(",", ":"))


def wait_rotated(sm, name, version_id, timeout=15.0):
    """Waits until AWSCURRENT is `version_id`; returns DescribeSecret."""
    deadline = time.monotonic() + timeout
    while True:
        d = sm.describe_secret(SecretId=name)
        if "AWSCURRENT" in d.get("VersionIdsToStages", {}).get(version_id, []):
            return d
        if time.monotonic() > deadline:
            raise AssertionError(f"rotation of {name} did not finish: {d.get('VersionIdsToStages')}")
        time.sleep(0.1)


class RandomRotationTest(ArcaTestCase):

    def create(self):
        name = unique("rot")
        self.sm.create_secret(Name=name, SecretString=OLD,
                              Tags=[{"Key": "arca:rotation:template", "Value": TEMPLATE}])
        return name

    def test_rotate_now_changes_the_value_and_keeps_the_previous_one(self):
        name = self.create()
        r = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=RANDOM_ARN)
        token = r["VersionId"]
        d = wait_rotated(self.sm, name, token)
        current = json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertNotEqual(current["JWT_SECRET"], "old-secret")
        self.assertEqual(len(current["JWT_SECRET"]), 44)
        self.assertEqual(current["issuer"], "arca")
        prev = self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
        self.assertEqual(prev["SecretString"], OLD)
        self.assertIn("LastRotatedDate", d)
        self.assertTrue(d["RotationEnabled"])
        for stages in d["VersionIdsToStages"].values():
            self.assertNotIn("AWSPENDING", stages)
        # The audit log has the service's own events, as CloudTrail shows them.
        names = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            names = [e.get("eventName") for e in self.audit_records()
                     if e.get("eventType") == "AwsServiceEvent"
                     and any(res.get("ARN") == r["ARN"] for res in e.get("resources", []))]
            if "RotationSucceeded" in names:
                break
            time.sleep(0.1)
        self.assertEqual(names, ["RotationStarted", "RotationSucceeded"])

    def test_a_failed_rotation_keeps_awscurrent(self):
        name = unique("rot")
        self.sm.create_secret(Name=name, SecretString='{"k":"v"}')  # JSON without a template
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=RANDOM_ARN)
        deadline = time.monotonic() + 10
        failed = []
        while time.monotonic() < deadline and not failed:
            failed = [e for e in self.audit_records() if e.get("eventName") == "RotationFailed"
                      and e["additionalEventData"]["SecretId"].split(":")[-1].startswith(name)]
            time.sleep(0.1)
        self.assertTrue(failed)
        self.assertIn("arca:rotation:template", failed[0]["errorMessage"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], '{"k":"v"}')
        # The failed rotation is still in progress (it is retried with backoff): a second one is
        # refused with AWS's message.
        with self.assertRaises(self.sm.exceptions.InvalidRequestException) as cm:
            self.sm.rotate_secret(SecretId=name)
        self.assertIn("A previous rotation isn't complete. That rotation will be reattempted.",
                      str(cm.exception))
        self.sm.cancel_rotate_secret(SecretId=name)
        self.assertFalse(self.sm.describe_secret(SecretId=name)["RotationEnabled"])

    def audit_records(self):
        out = []
        audit_dir = os.path.join(self.server.data_dir, "audit")
        for f in sorted(os.listdir(audit_dir)):
            if f.endswith(".jsonl"):
                with open(os.path.join(audit_dir, f), encoding="utf-8") as fh:
                    out += read_json_lines(fh.read())
        return out


class RotationSurvivesKill9Test(unittest.TestCase):

    def test_killed_right_after_rotate_secret_then_restarted(self):
        server = ArcaServer()
        try:
            server.start()
            sm = server.client()
            name = unique("rot")
            sm.create_secret(Name=name, SecretString="plain-old-value")
            token = sm.rotate_secret(SecretId=name, RotationLambdaARN=RANDOM_ARN)["VersionId"]
            server.kill9()
            server.start()
            sm = server.client()
            d = wait_rotated(sm, name, token)
            self.assertIn("LastRotatedDate", d)
            self.assertNotEqual(sm.get_secret_value(SecretId=name)["SecretString"], "plain-old-value")
            self.assertEqual(sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"],
                             "plain-old-value")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
