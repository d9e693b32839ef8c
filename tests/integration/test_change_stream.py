"""The change stream, GET /arca/v1/changes, against a real `arca server` (issue 8, item 4).

Requests are signed with botocore's SigV4Auth (service secretsmanager), as the operator signs them.
Covered: PutSecretValue, UpdateSecretVersionStage, DeleteSecret and RotateSecret (the built-in
arca-random rotator) appear with their names, version ids and stages and never their values; a
long-poll returns within a second of the write it waited for; resuming from NextSequence gives
exactly the changes missed; after=latest; a user allowed DescribeSecret on app/* sees only those
(and is not reported as denied for the rest); another region's changes stay there; bad parameters
and unsigned requests get AWS-shaped errors; the call is audited; SIGTERM ends pending long-polls.
"""

import concurrent.futures
import http.client
import json
import os
import threading
import time
import unittest
import urllib.parse

import botocore.auth
import botocore.awsrequest
import botocore.credentials

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, ArcaTestCase, unique

PATH = "/arca/v1/changes"
RANDOM_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-random"
TEMPLATE = json.dumps({"JWT_SECRET": {"random": {"bytes": 32, "encoding": "base64"}}},
                      separators=(",", ":"))


def get_changes(server, after=None, wait=None, limit=None, region="us-east-1", credentials=None,
                sign=True, extra=None, timeout=90):
    """One signed GET of the change stream; returns (status, parsed body, headers, raw body)."""
    params = {}
    if after is not None:
        params["after"] = str(after)
    if wait is not None:
        params["wait"] = str(wait)
    if limit is not None:
        params["limit"] = str(limit)
    params.update(extra or {})
    query = urllib.parse.urlencode(params)
    target = PATH + ("?" + query if query else "")
    headers = {"Host": f"{server.host}:{server.port}"}
    if sign:
        akid, secret = credentials or server.credentials()
        req = botocore.awsrequest.AWSRequest(method="GET", url=server.endpoint + target,
                                             headers=headers)
        botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret), "secretsmanager",
                                region).add_auth(req)
        headers = dict(req.headers.items())
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout)
    try:
        conn.request("GET", target, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return resp.status, (json.loads(raw) if raw else None), hdrs, raw
    finally:
        conn.close()


def audit_events(data_dir):
    events = []
    audit = os.path.join(data_dir, "audit")
    for name in sorted(os.listdir(audit)):
        if not name.endswith(".jsonl"):
            continue
        with open(os.path.join(audit, name), encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    if "arcaRecordType" not in rec:
                        events.append(rec)
    return events


class ChangeStreamTest(ArcaTestCase):

    def head(self, **kw):
        status, body, _, raw = get_changes(self.server, after="latest", **kw)
        self.assertEqual(status, 200, raw)
        return body["NextSequence"]

    def changes_since(self, after, **kw):
        status, body, headers, raw = get_changes(self.server, after=after, wait=0, **kw)
        self.assertEqual(status, 200, raw)
        self.assertEqual(headers.get("content-type"), "application/json")
        self.assertTrue(headers.get("x-amzn-requestid"))
        return body

    def test_latest_answers_at_once_with_the_head(self):
        name = unique("app/latest")
        self.sm.create_secret(Name=name, SecretString="v1")
        start = time.monotonic()
        status, body, _, raw = get_changes(self.server, wait=30)  # no `after`: from now
        self.assertEqual(status, 200, raw)
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(body["Changes"], [])
        self.assertFalse(body["Reset"])
        head = body["NextSequence"]
        self.assertGreater(head, 0)
        self.assertEqual(self.head(), head)
        self.sm.put_secret_value(SecretId=name, SecretString="v2")
        self.assertEqual(self.head(), head + 1)

    def test_writes_appear_with_names_versions_and_stages_never_values(self):
        name = unique("app/writes")
        head = self.head()
        created = self.sm.create_secret(Name=name, SecretString="value-one-123")
        v1 = created["VersionId"]
        v2 = self.sm.put_secret_value(SecretId=name, SecretString="value-two-456")["VersionId"]
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                            MoveToVersionId=v1, RemoveFromVersionId=v2)
        self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        status, body, _, raw = get_changes(self.server, after=head, wait=0)
        self.assertEqual(status, 200, raw)
        self.assertNotIn(b"value-one-123", raw)
        self.assertNotIn(b"value-two-456", raw)
        changes = body["Changes"]
        self.assertEqual([c["Name"] for c in changes], [name] * 4, changes)
        seqs = [c["Sequence"] for c in changes]
        self.assertEqual(seqs, list(range(head + 1, head + 5)))
        self.assertEqual(body["NextSequence"], seqs[-1])
        self.assertFalse(body["Reset"])
        for c in changes:
            self.assertEqual(c["ARN"], created["ARN"])
            self.assertEqual(c["Region"], "us-east-1")
            self.assertIsInstance(c["Time"], float)
            self.assertLess(abs(c["Time"] - time.time()), 120)
        stages = [{v["VersionId"]: v["VersionStages"] for v in c["Versions"]} for c in changes]
        self.assertEqual(stages[0], {v1: ["AWSCURRENT"]})
        self.assertEqual(stages[1], {v2: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]})
        self.assertEqual(stages[2][v1], ["AWSCURRENT"])
        self.assertNotIn("AWSCURRENT", stages[2][v2])
        self.assertEqual([c["Deleted"] for c in changes], [False, False, False, True])
        # limit pages through the same changes
        body = self.changes_since(head, limit=2)
        self.assertEqual([c["Sequence"] for c in body["Changes"]], seqs[:2])
        self.assertEqual(body["NextSequence"], seqs[1])
        body = self.changes_since(body["NextSequence"], limit=2)
        self.assertEqual([c["Sequence"] for c in body["Changes"]], seqs[2:])

    def test_rotation_steps_appear(self):
        name = unique("app/rot")
        self.sm.create_secret(Name=name, SecretString=json.dumps({"JWT_SECRET": "old-secret"}),
                              Tags=[{"Key": "arca:rotation:template", "Value": TEMPLATE}])
        head = self.head()
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=RANDOM_ARN)["VersionId"]
        deadline = time.monotonic() + 20
        seen = []
        after = head
        while time.monotonic() < deadline:
            status, body, _, raw = get_changes(self.server, after=after, wait=5)
            self.assertEqual(status, 200, raw)
            self.assertNotIn(b"old-secret", raw)
            seen += [c for c in body["Changes"] if c["Name"] == name]
            after = body["NextSequence"]
            if any(v["VersionStages"] == ["AWSCURRENT"] for c in seen for v in c["Versions"]
                   if v["VersionId"] == token):
                break  # the last step: AWSPENDING removed
        pending = [c for c in seen for v in c["Versions"]
                   if v["VersionId"] == token and "AWSPENDING" in v["VersionStages"]]
        self.assertTrue(pending, seen)
        final = seen[-1]
        stages = {v["VersionId"]: v["VersionStages"] for v in final["Versions"]}
        self.assertEqual(sorted(stages[token]), ["AWSCURRENT"], seen)
        previous = [v for c in seen for v in c["Versions"]
                    if v["VersionId"] != token and "AWSPREVIOUS" in v["VersionStages"]]
        self.assertTrue(previous, seen)

    def test_a_long_poll_returns_soon_after_the_write(self):
        name = unique("app/poll")
        self.sm.create_secret(Name=name, SecretString="a")
        head = self.head()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            fut = pool.submit(get_changes, self.server, head, 30)
            time.sleep(1.5)
            self.assertFalse(fut.done(), "the long-poll answered before anything changed")
            written = time.monotonic()
            version = self.sm.put_secret_value(SecretId=name, SecretString="b")["VersionId"]
            status, body, _, raw = fut.result(timeout=35)
            answered = time.monotonic()
        self.assertEqual(status, 200, raw)
        self.assertLess(answered - written, 1.0, "the long-poll did not wake up on the commit")
        self.assertGreater(answered - started, 1.4)
        self.assertEqual(len(body["Changes"]), 1, body)
        self.assertEqual(body["Changes"][0]["Name"], name)
        self.assertIn(version, [v["VersionId"] for v in body["Changes"][0]["Versions"]])

    def test_a_long_poll_times_out_empty(self):
        head = self.head()
        started = time.monotonic()
        status, body, _, raw = get_changes(self.server, after=head, wait=1, region="ap-south-1")
        took = time.monotonic() - started
        self.assertEqual(status, 200, raw)
        self.assertEqual(body["Changes"], [])
        self.assertGreaterEqual(body["NextSequence"], head)
        self.assertGreaterEqual(took, 0.9)
        self.assertLess(took, 5)

    def test_resume_after_a_disconnect_gives_exactly_the_missed_changes(self):
        a, b = unique("app/resume-a"), unique("app/resume-b")
        self.sm.create_secret(Name=a, SecretString="1")
        body = self.changes_since(self.head() - 1)
        resume_from = body["NextSequence"]
        # "Disconnected": nobody listens while these happen.
        self.sm.put_secret_value(SecretId=a, SecretString="2")
        self.sm.create_secret(Name=b, SecretString="3")
        self.sm.tag_resource(SecretId=b, Tags=[{"Key": "k", "Value": "v"}])
        body = self.changes_since(resume_from)
        mine = [c["Name"] for c in body["Changes"] if c["Name"] in (a, b)]
        self.assertEqual(mine, [a, b, b])
        self.assertEqual(body["Changes"][0]["Sequence"], resume_from + 1)
        again = self.changes_since(body["NextSequence"])
        self.assertEqual([c for c in again["Changes"] if c["Name"] in (a, b)], [])

    def test_a_future_sequence_is_a_reset(self):
        head = self.head()
        body = self.changes_since(head + 1000)
        self.assertTrue(body["Reset"])
        self.assertEqual(body["Changes"], [])
        self.assertEqual(body["NextSequence"], head)

    def test_other_regions_changes_stay_there(self):
        name = unique("app/region")
        eu = self.server.client(region="eu-west-1")
        self.addCleanup(eu.close)
        head = self.head()
        eu.create_secret(Name=name, SecretString="x")
        body = self.changes_since(head)
        self.assertEqual([c for c in body["Changes"] if c["Name"] == name], [])
        self.assertGreaterEqual(body["NextSequence"], head + 1)  # advanced past it all the same
        eu_body = self.changes_since(head, region="eu-west-1")
        self.assertEqual([c["Name"] for c in eu_body["Changes"]], [name])
        self.assertEqual(eu_body["Changes"][0]["Region"], "eu-west-1")

    def test_a_user_sees_only_what_it_may_describe(self):
        iam = self.server.client(service="iam")
        self.addCleanup(iam.close)
        user = unique("follower")
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="describe-app", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:DescribeSecret",
                           "Resource": "arn:aws:secretsmanager:*:*:secret:app/*"}]}))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        creds = (key["AccessKeyId"], key["SecretAccessKey"])
        visible, hidden = unique("app/visible"), unique("ops/hidden")
        head = self.head()
        self.sm.create_secret(Name=hidden, SecretString="h")
        self.sm.create_secret(Name=visible, SecretString="v")
        self.sm.create_secret(Name=hidden + "-2", SecretString="h")
        deadline = time.monotonic() + 10
        body = None
        while time.monotonic() < deadline:  # a new access key may take a moment to be usable
            status, body, _, raw = get_changes(self.server, after=head, wait=0, credentials=creds)
            if status == 200:
                break
            time.sleep(0.2)
        self.assertEqual(status, 200, raw)
        self.assertEqual([c["Name"] for c in body["Changes"]], [visible])
        self.assertEqual(body["NextSequence"], head + 3)  # past the hidden changes too
        # A long-poll that only hidden changes happen during times out empty, NextSequence advanced.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(get_changes, self.server, head + 3, 2, None, "us-east-1", creds)
            time.sleep(0.5)
            self.sm.put_secret_value(SecretId=hidden, SecretString="h2")
            status, body, _, raw = fut.result(timeout=30)
        self.assertEqual(status, 200, raw)
        self.assertEqual(body["Changes"], [])
        self.assertEqual(body["NextSequence"], head + 4)
        # Filtering is no denial: nothing is recorded as AccessDenied for this user.
        time.sleep(0.2)
        mine = [e for e in audit_events(self.server.data_dir)
                if e.get("userIdentity", {}).get("userName") == user
                or e.get("userIdentity", {}).get("arn", "").endswith(":user/" + user)]
        self.assertTrue(mine)
        self.assertEqual([e for e in mine if e.get("errorCode")], [])
        self.assertTrue(all(e["eventName"] == "ListSecretChanges" for e in mine))
        self.assertTrue(all("resources" not in e or e["resources"] == [] for e in mine), mine)
        metrics = self.server.get("/metrics").body.decode()
        self.assertIn('action="ListSecretChanges",outcome="success"', metrics)
        self.assertNotIn('action="ListSecretChanges",outcome="denied"', metrics)

    def test_the_call_is_audited(self):
        head = self.head()
        status, _, headers, raw = get_changes(self.server, after=head, wait=0, limit=5)
        self.assertEqual(status, 200, raw)
        request_id = headers["x-amzn-requestid"]
        recs = [e for e in audit_events(self.server.data_dir) if e.get("requestID") == request_id]
        self.assertEqual(len(recs), 1)
        rec = recs[0]
        self.assertEqual(rec["eventSource"], "secretsmanager.amazonaws.com")
        self.assertEqual(rec["eventName"], "ListSecretChanges")
        self.assertIs(rec["readOnly"], True)
        self.assertEqual(rec["awsRegion"], "us-east-1")
        self.assertEqual(rec["requestParameters"], {"after": str(head), "wait": 0, "limit": 5})

    def test_errors_have_the_aws_shape(self):
        for params, message in (({"wait": "61"}, "wait"), ({"wait": "-1"}, "wait"),
                                ({"wait": "x"}, "wait"), ({"limit": "0"}, "limit"),
                                ({"limit": "1001"}, "limit"), ({"after": "abc"}, "after")):
            status, body, headers, raw = get_changes(self.server, extra=params)
            self.assertEqual(status, 400, (params, raw))
            self.assertEqual(body["__type"], "ValidationException", raw)
            self.assertIn(message, body["message"])
            self.assertTrue(headers.get("x-amzn-requestid"))
        status, body, headers, raw = get_changes(self.server, after=0, sign=False)
        self.assertEqual(status, 403, raw)
        self.assertEqual(body["__type"], "MissingAuthenticationTokenException", raw)
        self.assertTrue(headers.get("x-amzn-requestid"))
        status, body, _, raw = get_changes(self.server, after=0,
                                           credentials=("AKIA-FAKE-UNKNOWN-KEY", "fake-secret-not-a-key"))
        self.assertEqual(status, 400, raw)
        self.assertEqual(body["__type"], "UnrecognizedClientException", raw)


class ChangeStreamShutdownTest(unittest.TestCase):

    def test_sigterm_answers_pending_long_polls_at_once(self):
        server = ArcaServer()
        try:
            server.start()
            head = get_changes(server, after="latest")[1]["NextSequence"]
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                futs = [pool.submit(get_changes, server, head, 60) for _ in range(2)]
                time.sleep(1.0)
                stopped = time.monotonic()
                server.proc.terminate()
                results = [f.result(timeout=30) for f in futs]
                answered = time.monotonic()
            self.assertLess(answered - stopped, 5)
            for status, body, _, raw in results:
                self.assertEqual(status, 200, raw)
                self.assertEqual(body["Changes"], [])
                self.assertEqual(body["NextSequence"], head)
            server.wait_exit(timeout=20)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
