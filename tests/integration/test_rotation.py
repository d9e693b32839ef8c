"""Rotation with the built-in arca-random rotator, through boto3 against a real `arca server`.

RotateSecret starts a rotation that the server's engine runs in the background (createSecret,
setSecret, testSecret, finishSecret); the tests poll until it finishes. The state of a rotation is
persisted, so a server killed with SIGKILL right after RotateSecret finishes it after a restart.
"""

import json
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, ArcaTestCase, audit_records, unique, wait_rotated

RANDOM_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-random"
TEMPLATE = json.dumps({"JWT_SECRET": {"random": {"bytes": 32, "encoding": "base64"}}},
                      separators=(",", ":"))
OLD = json.dumps({"JWT_SECRET": "old-secret", "issuer": "arca"}, separators=(",", ":"))


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
        d = wait_rotated(self.sm, self.server, name, token)
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
            names = [e.get("eventName") for e in audit_records(self.server)
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
            failed = [e for e in audit_records(self.server) if e.get("eventName") == "RotationFailed"
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
            d = wait_rotated(sm, server, name, token)
            self.assertIn("LastRotatedDate", d)
            self.assertNotEqual(sm.get_secret_value(SecretId=name)["SecretString"], "plain-old-value")
            self.assertEqual(sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"],
                             "plain-old-value")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
