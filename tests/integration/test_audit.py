"""The audit log, CloudTrail LookupEvents, metrics and alerts against a real `arca server`.

- Every API call (allowed, denied or failed) leaves one CloudTrail-format record in
  DATA_DIR/audit/*.jsonl, on disk before the response arrives; no secret value, password or secret
  key appears anywhere under DATA_DIR (audit files, database, WAL) or in the server's log.
- Tampering with a stopped server's log (an edited field, a deleted line, two lines swapped, a line
  cut short, a forged digest signature, history rewritten with recomputed hashes) makes
  `arca audit verify --data-dir` exit non-zero naming the right record; an untouched copy is OK.
- `aws cloudtrail lookup-events` with each lookup attribute, time ranges and paging.
- GET /metrics in Prometheus text format; an alert rule POSTs a JSON alert to a webhook (a local
  http.server in the test) after N denials.
"""

import base64
import datetime
import hashlib
import http.server
import json
import os
import queue
import re
import shutil
import tempfile
import threading
import time
import unittest

import boto3
import botocore.config
import botocore.exceptions

from arca_harness import (DEFAULT_ACCOUNT, DEFAULT_REGION, ArcaTestCase, aws_cli, run_arca,
                          unique, utcnow)
from test_access_control import (ISSUER, ISSUER_HOST, PROVIDER_ARN, STS_AUDIENCE, THUMBPRINT,
                                 RsaKey, allow, make_jwt, make_user, policy_doc, random_value,
                                 sa_claims, secret_arn_pattern, trust_for_user)

ACCOUNT = DEFAULT_ACCOUNT
CLOUDTRAIL_KEYS = ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName",
                   "awsRegion", "sourceIPAddress", "userAgent", "requestParameters",
                   "responseElements", "requestID", "eventID", "readOnly", "eventType",
                   "managementEvent", "recipientAccountId"]


def audit_dir(data_dir):
    return os.path.join(data_dir, "audit")


def audit_files(data_dir):
    d = audit_dir(data_dir)
    return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".jsonl"))


def audit_lines(data_dir):
    """Every line of the log, in order: (file name, 1-based line number, text)."""
    out = []
    for path in audit_files(data_dir):
        with open(path, "rb") as f:
            for i, raw in enumerate(f.read().split(b"\n")[:-1], start=1):
                out.append((os.path.basename(path), i, raw.decode("utf-8")))
    return out


def audit_events(data_dir):
    """The event records (no digests or recoveries), parsed."""
    events = []
    for _, _, text in audit_lines(data_dir):
        rec = json.loads(text)
        if "arcaRecordType" in rec:
            continue
        # The log's own chain members (format.h) follow the CloudTrail record's.
        rec.pop("arcaSequence", None)
        rec.pop("arcaPreviousHash", None)
        events.append(rec)
    return events


def request_id(resp):
    return resp["ResponseMetadata"]["RequestId"]


def error_request_id(exc):
    meta = exc.response.get("ResponseMetadata", {})
    return meta.get("RequestId") or meta.get("HTTPHeaders", {}).get("x-amzn-requestid")


def session_client(server, creds, service="secretsmanager"):
    return boto3.session.Session().client(
        service, region_name=DEFAULT_REGION, endpoint_url=server.endpoint,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        config=botocore.config.Config(retries={"total_max_attempts": 1}))


def all_files_under(root):
    for dirpath, _, files in os.walk(root):
        for fn in files:
            yield os.path.join(dirpath, fn)


# =================================================================================================
# Records
# =================================================================================================

class AuditRecordsTest(ArcaTestCase):
    """One server; a user with a narrow policy makes allowed, denied and failed calls."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.server.client(service="iam")
        cls.sts = cls.server.client(service="sts")
        cls.needles = {}  # what must never be stored: label -> bytes
        cls.user_key = make_user(cls.iam, "auditee", policy_doc(
            allow(["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                   "secretsmanager:DescribeSecret"], secret_arn_pattern("audited/*"))))
        cls.remember("auditee secret key", cls.user_key[1])
        cls.user_sm = cls.server.client(credentials=cls.user_key[:2])
        cls.value = random_value("audit-secret")
        cls.remember("create value", cls.value)
        cls.created = cls.sm.create_secret(Name="audited/db", SecretString=cls.value)
        cls.sm.create_secret(Name="private/db", SecretString=random_value("private"))

    @classmethod
    def remember(cls, label, value):
        cls.needles[label] = value.encode() if isinstance(value, str) else value

    def events_by_request(self):
        return {e["requestID"]: e for e in audit_events(self.server.data_dir)}

    def record_of(self, rid):
        # No waiting: the record is durable before the response is sent.
        rec = self.events_by_request().get(rid)
        self.assertIsNotNone(rec, f"no audit record for request {rid} right after its response")
        return rec

    def assert_cloudtrail_shape(self, rec):
        for key in CLOUDTRAIL_KEYS:
            self.assertIn(key, rec, f"record lacks {key}: {rec}")
        self.assertRegex(rec["eventVersion"], r"^1\.\d+$")
        self.assertEqual(rec["eventType"], "AwsApiCall")
        self.assertIs(rec["managementEvent"], True)
        self.assertEqual(rec["recipientAccountId"], ACCOUNT)
        self.assertEqual(rec["awsRegion"], DEFAULT_REGION)
        self.assertEqual(rec["sourceIPAddress"], "127.0.0.1")
        self.assertIsInstance(rec["userAgent"], str)
        self.assertRegex(rec["eventID"], r"^[0-9a-f-]{36}$")
        self.assertRegex(rec["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        t = datetime.datetime.strptime(rec["eventTime"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        self.assertLess(abs((utcnow() - t).total_seconds()), 300)

    def test_allowed_call(self):
        out = self.user_sm.get_secret_value(SecretId="audited/db")
        self.assertEqual(out["SecretString"], self.value)
        rec = self.record_of(request_id(out))
        self.assert_cloudtrail_shape(rec)
        self.assertEqual(rec["eventSource"], "secretsmanager.amazonaws.com")
        self.assertEqual(rec["eventName"], "GetSecretValue")
        self.assertIs(rec["readOnly"], True)
        self.assertNotIn("errorCode", rec)
        self.assertEqual(rec["requestParameters"], {"secretId": "audited/db"})
        self.assertIsNone(rec["responseElements"])
        u = rec["userIdentity"]
        self.assertEqual(u["type"], "IAMUser")
        self.assertEqual(u["arn"], f"arn:aws:iam::{ACCOUNT}:user/auditee")
        self.assertEqual(u["accountId"], ACCOUNT)
        self.assertEqual(u["accessKeyId"], self.user_key[0])
        self.assertEqual(u["userName"], "auditee")
        self.assertRegex(u["principalId"], r"^AIDA[A-Z0-9]+$")

    def test_denied_call(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.user_sm.get_secret_value(SecretId="private/db")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        rec = self.record_of(error_request_id(cm.exception))
        self.assert_cloudtrail_shape(rec)
        self.assertEqual(rec["eventName"], "GetSecretValue")
        self.assertEqual(rec["errorCode"], "AccessDeniedException")
        self.assertIn(f"User: arn:aws:iam::{ACCOUNT}:user/auditee is not authorized to perform: "
                      "secretsmanager:GetSecretValue", rec["errorMessage"])
        self.assertEqual(rec["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT}:user/auditee")
        self.assertEqual(rec["requestParameters"], {"secretId": "private/db"})

    def test_failed_call(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.user_sm.get_secret_value(SecretId="audited/missing")
        self.assertEqual(cm.exception.response["Error"]["Code"], "ResourceNotFoundException")
        rec = self.record_of(error_request_id(cm.exception))
        self.assert_cloudtrail_shape(rec)
        self.assertEqual(rec["errorCode"], "ResourceNotFoundException")
        self.assertTrue(rec["errorMessage"])
        # A failed write carrying a value: recorded, value redacted.
        leaked = random_value("failed-put")
        self.remember("failed put value", leaked)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.user_sm.put_secret_value(SecretId="audited/absent", SecretString=leaked)
        rec = self.record_of(error_request_id(cm.exception))
        self.assertEqual(rec["eventName"], "PutSecretValue")
        self.assertEqual(rec["errorCode"], "ResourceNotFoundException")
        self.assertIs(rec["readOnly"], False)
        self.assertNotIn(leaked, json.dumps(rec))
        # A validation failure.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sm.get_random_password(PasswordLength=5000)
        rec = self.record_of(error_request_id(cm.exception))
        self.assertEqual(rec["eventName"], "GetRandomPassword")
        self.assertIn(rec["errorCode"], ("InvalidParameterException", "ValidationException"))

    def test_writes_are_recorded_without_values(self):
        v2 = random_value("put")
        self.remember("put value", v2)
        out = self.user_sm.put_secret_value(SecretId="audited/db", SecretString=v2)
        rec = self.record_of(request_id(out))
        self.assertEqual(rec["eventName"], "PutSecretValue")
        self.assertIs(rec["readOnly"], False)
        self.assertEqual(rec["requestParameters"].get("secretId"), "audited/db")
        self.assertNotIn(v2, json.dumps(rec))
        rec = self.record_of(request_id(self.created))
        self.assertEqual(rec["eventName"], "CreateSecret")
        self.assertEqual(rec["userIdentity"]["type"], "Root")
        self.assertEqual(rec["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT}:root")
        self.assertEqual(rec["requestParameters"].get("name"), "audited/db")
        self.assertNotIn(self.value, json.dumps(rec))

        blob = os.urandom(24) + b"\x00binary-canary"
        self.remember("binary value", blob)
        self.remember("binary value b64", base64.b64encode(blob))
        out = self.sm.create_secret(Name=unique("audited/bin"), SecretBinary=blob)
        self.assertNotIn(base64.b64encode(blob).decode(), json.dumps(self.record_of(request_id(out))))
        v3 = random_value("update")
        self.remember("update value", v3)
        out = self.sm.update_secret(SecretId="audited/db", SecretString=v3)
        self.assertNotIn(v3, json.dumps(self.record_of(request_id(out))))
        pw = self.sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)
        self.remember("random password", pw["RandomPassword"])
        rec = self.record_of(request_id(pw))
        self.assertEqual(rec["eventName"], "GetRandomPassword")
        self.assertNotIn(pw["RandomPassword"], json.dumps(rec))

    def test_iam_and_sts_records(self):
        out = self.iam.create_user(UserName="audit-role-user")
        rec = self.record_of(request_id(out))
        self.assertEqual(rec["eventSource"], "iam.amazonaws.com")
        self.assertEqual(rec["eventName"], "CreateUser")
        self.assertEqual(rec["requestParameters"], {"userName": "audit-role-user"})
        key = self.iam.create_access_key(UserName="audit-role-user")
        self.remember("new key secret", key["AccessKey"]["SecretAccessKey"])
        rec = self.record_of(request_id(key))
        self.assertEqual(rec["eventName"], "CreateAccessKey")
        self.assertNotIn(key["AccessKey"]["SecretAccessKey"], json.dumps(rec))
        self.iam.put_user_policy(UserName="audit-role-user", PolicyName="assume",
                                 PolicyDocument=policy_doc(allow("sts:AssumeRole", "*")))
        role_arn = self.iam.create_role(
            RoleName="audit-reader", AssumeRolePolicyDocument=trust_for_user("audit-role-user"))[
            "Role"]["Arn"]
        self.iam.put_role_policy(RoleName="audit-reader", PolicyName="read",
                                 PolicyDocument=policy_doc(allow("secretsmanager:GetSecretValue",
                                                                 secret_arn_pattern("audited/*"))))
        user_sts = self.server.client(service="sts", credentials=(
            key["AccessKey"]["AccessKeyId"], key["AccessKey"]["SecretAccessKey"]))
        assumed = user_sts.assume_role(RoleArn=role_arn, RoleSessionName="audit-session")
        c = assumed["Credentials"]
        self.remember("session secret", c["SecretAccessKey"])
        rec = self.record_of(request_id(assumed))
        self.assertEqual(rec["eventSource"], "sts.amazonaws.com")
        self.assertEqual(rec["eventName"], "AssumeRole")
        self.assertEqual(rec["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT}:user/audit-role-user")
        self.assertEqual(rec["requestParameters"].get("roleArn"), role_arn)
        self.assertEqual(rec["requestParameters"].get("roleSessionName"), "audit-session")
        self.assertNotIn(c["SecretAccessKey"], json.dumps(rec))

        # A call with the session's credentials: an AssumedRole identity with its sessionContext.
        got = session_client(self.server, c).get_secret_value(SecretId="audited/db")
        rec = self.record_of(request_id(got))
        u = rec["userIdentity"]
        self.assertEqual(u["type"], "AssumedRole")
        self.assertEqual(u["arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/audit-reader/audit-session")
        self.assertEqual(u["accessKeyId"], c["AccessKeyId"])
        self.assertRegex(u["principalId"], r"^AROA[A-Z0-9]+:audit-session$")
        issuer = u["sessionContext"]["sessionIssuer"]
        self.assertEqual(issuer["type"], "Role")
        self.assertEqual(issuer["arn"], role_arn)
        self.assertEqual(issuer["userName"], "audit-reader")
        self.assertEqual(issuer["accountId"], ACCOUNT)
        self.assertIn("creationDate", u["sessionContext"]["attributes"])

    def test_web_identity_records(self):
        tmp = tempfile.mkdtemp(prefix="arca-it-audit-oidc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        key = RsaKey(tmp, "audit-1")
        jwks = os.path.join(tmp, "jwks.json")
        with open(jwks, "w") as f:
            json.dump({"keys": [key.jwk()]}, f)
        self.iam.create_open_id_connect_provider(
            Url=ISSUER, ClientIDList=[STS_AUDIENCE], ThumbprintList=[THUMBPRINT],
            Tags=[{"Key": "arca:jwks-file", "Value": jwks}])
        sub = "system:serviceaccount:audit:reader"
        role_arn = self.iam.create_role(RoleName="audit-pod", AssumeRolePolicyDocument=policy_doc({
            "Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{ISSUER_HOST}:sub": sub}}}))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName="audit-pod", PolicyName="read",
                                 PolicyDocument=policy_doc(allow("secretsmanager:GetSecretValue",
                                                                 secret_arn_pattern("audited/*"))))
        token = make_jwt(key, sa_claims("audit", "reader"))
        self.remember("web identity token signature", token.rsplit(".", 1)[1])
        out = self.sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="pod-1",
                                                     WebIdentityToken=token)
        self.remember("web identity session secret", out["Credentials"]["SecretAccessKey"])
        rec = self.record_of(request_id(out))
        self.assertEqual(rec["eventName"], "AssumeRoleWithWebIdentity")
        u = rec["userIdentity"]
        self.assertEqual(u["type"], "WebIdentityUser")
        self.assertEqual(u.get("userName"), sub)
        self.assertIn(ISSUER_HOST, u.get("identityProvider", "") + u.get("principalId", ""))
        self.assertNotIn(token, json.dumps(rec))
        # A refused token is recorded too.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role_with_web_identity(
                RoleArn=role_arn, RoleSessionName="pod-2",
                WebIdentityToken=make_jwt(key, sa_claims("audit", "intruder")))
        rec = self.record_of(error_request_id(cm.exception))
        self.assertEqual(rec["eventName"], "AssumeRoleWithWebIdentity")
        self.assertEqual(rec["errorCode"], "AccessDenied")
        # The session's calls carry the web-identity details.
        got = session_client(self.server, out["Credentials"]).get_secret_value(
            SecretId="audited/db")
        u = self.record_of(request_id(got))["userIdentity"]
        self.assertEqual(u["type"], "AssumedRole")
        self.assertEqual(u["arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/audit-pod/pod-1")
        fed = u["sessionContext"]["webIdFederationData"]
        self.assertEqual(fed["federatedProvider"], PROVIDER_ARN)
        self.assertEqual(u["sessionContext"]["sessionIssuer"]["arn"], role_arn)

    @unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
    def test_cli_call_is_recorded(self):
        rc, out, err = self.server.aws("secretsmanager", "describe-secret", "--secret-id",
                                       "audited/db")
        self.assertEqual(rc, 0, err)
        recs = [e for e in audit_events(self.server.data_dir)
                if e["eventName"] == "DescribeSecret" and e["userAgent"].startswith("aws-cli/")]
        self.assertTrue(recs, "no DescribeSecret record with the CLI's user agent")

    def test_zz_no_secret_anywhere_under_the_data_dir(self):
        # Runs last in this class (unittest orders by name), so it knows every value, password
        # and key the other tests made (when run alone, those of setUpClass).
        self.assertGreaterEqual(len(self.needles), 2, self.needles.keys())
        self.assert_nowhere(self.needles, "running")
        self.assertEqual(self.server.stop(), 0)
        self.assert_nowhere(self.needles, "stopped")
        self.server.start()  # tearDownClass expects a live server

    def assert_nowhere(self, needles, when):
        scanned = 0
        audit_bytes = 0
        for path in all_files_under(self.server.data_dir):
            with open(path, "rb") as f:
                data = f.read()
            scanned += 1
            if os.sep + "audit" + os.sep in path:
                audit_bytes += len(data)
            for label, needle in needles.items():
                self.assertNotIn(needle, data, f"{when}: the {label} is in {path}")
        self.assertGreater(audit_bytes, 1000, "the audit files hold almost nothing")
        logs = self.server.all_logs_bytes()
        for label, needle in needles.items():
            self.assertNotIn(needle, logs, f"{when}: the {label} is in the server's log")
        self.assertGreaterEqual(scanned, 3)


# =================================================================================================
# Tampering
# =================================================================================================

def verify(data_dir, *extra):
    rc, out, err = run_arca("audit", "verify", "--data-dir", data_dir, *extra)
    return rc, out + err


def chain_of(text):
    m = re.search(r',"arcaSequence":(\d+),"arcaPreviousHash":"([0-9a-f]{64})"\}$', text)
    assert m, text[-200:]
    return int(m.group(1)), m.group(2)


class AuditTamperTest(ArcaTestCase):
    """A stopped server's log, copied and damaged in each way `arca audit verify` must catch."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        iam = cls.server.client(service="iam")
        akid, secret, _ = make_user(iam, "tamper-user", policy_doc(
            allow("secretsmanager:GetSecretValue", secret_arn_pattern("t/*"))))
        user = cls.server.client(credentials=(akid, secret))
        cls.sm.create_secret(Name="t/one", SecretString=random_value("t"))
        cls.sm.create_secret(Name="x/other", SecretString=random_value("x"))
        for _ in range(6):
            user.get_secret_value(SecretId="t/one")
        try:
            user.get_secret_value(SecretId="x/other")
        except botocore.exceptions.ClientError:
            pass
        # Digests come at least every second while records arrive: let one fall mid-log.
        time.sleep(1.3)
        for _ in range(6):
            user.get_secret_value(SecretId="t/one")
        time.sleep(1.3)
        cls.sm.list_secrets()
        if cls.server.stop() != 0:
            raise AssertionError("the server did not stop cleanly")
        cls.pristine = cls.server.data_dir
        cls.lines = audit_lines(cls.pristine)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()  # stopped on purpose in setUpClass
        unittest.TestCase.tearDownClass()

    def setUp(self):
        self.copy = tempfile.mkdtemp(prefix="arca-it-tamper-")
        shutil.rmtree(self.copy)
        shutil.copytree(self.pristine, self.copy)
        self.addCleanup(shutil.rmtree, self.copy, True)

    # ---- the log's layout ---------------------------------------------------------------------

    def is_digest(self, text):
        return text.startswith('{"arcaRecordType":"Digest"')

    def event_indexes(self):
        return [i for i, (_, _, t) in enumerate(self.lines)
                if not t.startswith('{"arcaRecordType"')]

    def digest_indexes(self):
        return [i for i, (_, _, t) in enumerate(self.lines) if self.is_digest(t)]

    def middle_event(self):
        """An event that has an event after it and a digest somewhere after it."""
        evs = self.event_indexes()
        return evs[len(evs) // 3]

    def rewrite(self, new_lines, cut_last_at=None):
        """Writes `new_lines` (text) back into the copy's files, as they were split."""
        by_file = {}
        for (fname, _, _), text in zip(self.lines, new_lines):
            by_file.setdefault(fname, []).append(text)
        for fname, texts in by_file.items():
            data = "".join(t + "\n" for t in texts).encode()
            with open(os.path.join(audit_dir(self.copy), fname), "wb") as f:
                f.write(data)

    def texts(self):
        return [t for _, _, t in self.lines]

    def where(self, i):
        fname, number, _ = self.lines[i]
        return f"{fname} line {number}"

    def assert_caught(self, kind, *fragments):
        rc, out = verify(self.copy)
        self.assertNotEqual(rc, 0, f"verify passed a damaged log:\n{out}")
        first = out.splitlines()[0] if out else ""
        self.assertIn("FAILED", first, out)
        self.assertIn(kind, first, out)
        for frag in fragments:
            self.assertIn(frag, out)
        return out

    # ---- tests ----------------------------------------------------------------------------------

    def test_layout(self):
        self.assertGreaterEqual(len(self.event_indexes()), 15)
        self.assertGreaterEqual(len(self.digest_indexes()), 2)
        self.assertTrue(self.is_digest(self.lines[-1][2]))
        self.assertIn('"digestReason":"shutdown"', self.lines[-1][2])
        seqs = [chain_of(t)[0] for t in self.texts()]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        prev = "0" * 64
        for t in self.texts():
            self.assertEqual(chain_of(t)[1], prev)
            prev = hashlib.sha256(t.encode()).hexdigest()

    def test_untouched_copy_verifies(self):
        rc, out = verify(self.copy)
        self.assertEqual(rc, 0, out)
        self.assertIn(": OK", out.splitlines()[0])
        self.assertIn(f"checked: {len(self.event_indexes())} events, "
                      f"{len(self.digest_indexes())} digests", out)
        self.assertIn("clean-shutdown digest", out)
        rc, out = verify(self.copy, "--since", "1h")
        self.assertEqual(rc, 0, out)
        rc, out = verify(self.copy, "--since", "2000-01-01")
        self.assertEqual(rc, 0, out)
        rc, out = verify(self.copy, "--since", "yesterday-ish")
        self.assertNotEqual(rc, 0, out)

    def test_edited_field(self):
        i = self.middle_event()
        texts = self.texts()
        self.assertIn('"eventName":"GetSecretValue"', texts[i])
        texts[i] = texts[i].replace('"eventName":"GetSecretValue"', '"eventName":"ListSecrets"', 1)
        self.rewrite(texts)
        seq = chain_of(self.lines[i][2])[0]
        self.assert_caught("edited record", f"record {seq} ({self.where(i)})")

    def test_edited_identity(self):
        i = self.middle_event()
        texts = self.texts()
        texts[i] = texts[i].replace("user/tamper-user", "user/someone-else", 1)
        self.assertNotEqual(texts[i], self.lines[i][2])
        self.rewrite(texts)
        seq = chain_of(self.lines[i][2])[0]
        self.assert_caught("edited record", f"record {seq} ({self.where(i)})")

    def test_deleted_line(self):
        i = self.middle_event()
        seq = chain_of(self.lines[i][2])[0]
        texts = self.texts()
        del texts[i]
        lines = self.lines[:i] + self.lines[i + 1:]
        self.lines, saved = lines, self.lines
        try:
            self.rewrite(texts)
        finally:
            self.lines = saved
        self.assert_caught("missing records", f"record {seq} missing")

    def test_deleted_lines(self):
        i = self.middle_event()
        seq = chain_of(self.lines[i][2])[0]
        texts = self.texts()
        del texts[i:i + 3]
        saved = self.lines
        self.lines = self.lines[:i] + self.lines[i + 3:]
        try:
            self.rewrite(texts)
        finally:
            self.lines = saved
        self.assert_caught("missing records", f"records {seq}..{seq + 2} missing")

    def test_swapped_lines(self):
        i = self.middle_event()
        texts = self.texts()
        texts[i], texts[i + 1] = texts[i + 1], texts[i]
        self.rewrite(texts)
        seq = chain_of(self.lines[i][2])[0]
        self.assert_caught("reordered records", f"record {seq}")

    def test_truncated_mid_line_at_the_end(self):
        path = audit_files(self.copy)[-1]
        last = self.lines[-1][2]
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(size - 1 - len(last) // 2)
        seq = chain_of(last)[0]
        self.assert_caught("truncated record", f"record {seq}")

    def test_truncated_mid_line_in_the_middle(self):
        i = self.middle_event()
        fname, number, text = self.lines[i]
        path = os.path.join(audit_dir(self.copy), fname)
        with open(path, "rb") as f:
            data = f.read()
        offset = sum(len(t.encode()) + 1 for (fn, n, t) in self.lines if fn == fname and n < number)
        with open(path, "wb") as f:
            f.write(data[:offset + len(text) // 2])
        seq = chain_of(text)[0]
        self.assert_caught("truncated record", f"record {seq}", f"{fname} line {number}")

    def test_forged_digest_signature(self):
        d = self.digest_indexes()[0]
        texts = self.texts()
        m = re.search(r'"digestSignature":"([^"]+)"', texts[d])
        self.assertIsNotNone(m, texts[d])
        forged = base64.b64encode(os.urandom(64)).decode()
        texts[d] = texts[d].replace(m.group(1), forged)
        self.rewrite(texts)
        seq = chain_of(self.lines[d][2])[0]
        # The digest's own bytes changed too, so the record after it no longer holds its hash;
        # either finding names the digest.
        out = self.assert_caught("", f"record {seq}")
        self.assertRegex(out.splitlines()[0], r"invalid digest|edited record")

    def test_forged_digest_with_chain_recomputed(self):
        # The forger changes what a digest covers and recomputes every later hash, so the chain is
        # consistent; only the signature can tell.
        d = self.digest_indexes()[0]
        texts = self.texts()
        texts[d] = re.sub(r'"digestTime":"[^"]+"', '"digestTime":"2020-01-01T00:00:00.000Z"',
                          texts[d])
        texts = self.rechain(texts, d)
        self.rewrite(texts)
        seq = chain_of(self.lines[d][2])[0]
        self.assert_caught("invalid digest", f"digest record {seq}")

    def test_history_rewritten_with_chain_recomputed(self):
        # An event before the first digest is edited and every later arcaPreviousHash and
        # digestEndHash recomputed: the first digest's signature no longer fits.
        d = self.digest_indexes()[0]
        evs = [i for i in self.event_indexes() if i < d]
        i = evs[len(evs) // 2]
        texts = self.texts()
        texts[i] = texts[i].replace("user/tamper-user", "user/nobody-else", 1)
        if texts[i] == self.lines[i][2]:
            texts[i] = texts[i].replace('"readOnly":true', '"readOnly":false', 1)
        self.assertNotEqual(texts[i], self.lines[i][2])
        texts = self.rechain(texts, i)
        self.rewrite(texts)
        seq = chain_of(self.lines[d][2])[0]
        self.assert_caught("invalid digest", f"digest record {seq}")

    def rechain(self, texts, start):
        """Recomputes arcaPreviousHash (and digests' digestEndHash) after line `start`."""
        out = list(texts)
        for j in range(start + 1, len(out)):
            prev_hash = hashlib.sha256(out[j - 1].encode()).hexdigest()
            t = re.sub(r'"arcaPreviousHash":"[0-9a-f]{64}"', f'"arcaPreviousHash":"{prev_hash}"',
                       out[j])
            if self.is_digest(t):
                t = re.sub(r'"digestEndHash":"[0-9a-f]{64}"', f'"digestEndHash":"{prev_hash}"', t)
            out[j] = t
        return out

    def test_missing_public_key(self):
        os.unlink(os.path.join(self.copy, "audit.pub"))
        rc, out = verify(self.copy)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("public key", out.splitlines()[0] + out)


# =================================================================================================
# LookupEvents
# =================================================================================================

class LookupEventsTest(ArcaTestCase):
    """CloudTrail LookupEvents over the log, through the CLI and boto3."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.server.client(service="iam")
        cls.ct = cls.server.client(service="cloudtrail")
        cls.reader_key = make_user(cls.iam, "reader", policy_doc(
            allow("secretsmanager:GetSecretValue", secret_arn_pattern("lookup/*"))))
        reader = cls.server.client(credentials=cls.reader_key[:2])
        cls.secret_arn = cls.sm.create_secret(Name="lookup/a", SecretString="a")["ARN"]
        cls.sm.create_secret(Name="lookup/b", SecretString="b")
        cls.sm.create_secret(Name="elsewhere", SecretString="c")
        cls.early_ids = [request_id(reader.get_secret_value(SecretId="lookup/a"))
                         for _ in range(4)]
        cls.early_ids.append(request_id(reader.get_secret_value(SecretId="lookup/b")))
        try:
            reader.get_secret_value(SecretId="elsewhere")
        except botocore.exceptions.ClientError as e:
            cls.denied_id = error_request_id(e)
        # eventTime has whole seconds: leave a clear gap before the later events.
        time.sleep(2.1)
        cls.boundary = utcnow().replace(microsecond=0) - datetime.timedelta(seconds=1)
        cls.late_ids = [request_id(cls.sm.get_secret_value(SecretId="lookup/a"))
                        for _ in range(3)]

    def lookup_all(self, **params):
        events, token = [], None
        for _ in range(100):
            if token:
                params["NextToken"] = token
            out = self.ct.lookup_events(**params)
            events += out["Events"]
            token = out.get("NextToken")
            if not token:
                return events
        self.fail("LookupEvents paging did not end")

    @staticmethod
    def trail(event):
        return json.loads(event["CloudTrailEvent"])

    def cli(self, *args):
        rc, out, err = self.server.aws("cloudtrail", "lookup-events", *args)
        self.assertEqual(rc, 0, err)
        return out

    @unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
    def test_cli_event_name(self):
        out = self.cli("--lookup-attributes",
                       "AttributeKey=EventName,AttributeValue=GetSecretValue")
        events = out["Events"]
        self.assertTrue(all(e["EventName"] == "GetSecretValue" for e in events), events)
        ids = [self.trail(e)["requestID"] for e in events]
        for rid in self.early_ids + self.late_ids + [self.denied_id]:
            self.assertIn(rid, ids)
        # Newest first.
        times = [self.trail(e)["eventTime"] for e in events]
        self.assertEqual(times, sorted(times, reverse=True))
        e = events[ids.index(self.late_ids[-1])]
        self.assertEqual(e["EventSource"], "secretsmanager.amazonaws.com")
        self.assertEqual(e["Username"], "root")
        rec = self.trail(e)
        for key in CLOUDTRAIL_KEYS:
            self.assertIn(key, rec)
        self.assertFalse(any(k.startswith("arca") for k in rec), rec)

    @unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
    def test_cli_paging(self):
        args = ("--lookup-attributes", "AttributeKey=EventName,AttributeValue=GetSecretValue")
        everything = [self.trail(e)["eventID"] for e in self.cli(*args)["Events"]]
        self.assertGreaterEqual(len(everything), 9)
        first = self.cli(*args, "--max-items", "3")
        self.assertEqual(len(first["Events"]), 3)
        self.assertTrue(first.get("NextToken"))
        rest = self.cli(*args, "--starting-token", first["NextToken"])
        got = [self.trail(e)["eventID"] for e in first["Events"] + rest["Events"]]
        self.assertEqual(got, everything)
        # One event per request on the wire (MaxResults=1): the CLI follows NextToken.
        small = self.cli(*args, "--page-size", "1")
        self.assertEqual([self.trail(e)["eventID"] for e in small["Events"]], everything)

    @unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
    def test_cli_time_range(self):
        args = ("--lookup-attributes", "AttributeKey=EventName,AttributeValue=GetSecretValue")
        start = self.boundary.strftime("%Y-%m-%dT%H:%M:%SZ")
        late = self.cli(*args, "--start-time", start)["Events"]
        ids = {self.trail(e)["requestID"] for e in late}
        self.assertTrue(set(self.late_ids) <= ids, ids)
        self.assertFalse(ids & set(self.early_ids), ids)
        early = self.cli(*args, "--end-time", start)["Events"]
        ids = {self.trail(e)["requestID"] for e in early}
        self.assertTrue(set(self.early_ids) <= ids, ids)
        self.assertFalse(ids & set(self.late_ids), ids)

    def test_max_results_and_next_token(self):
        attrs = [{"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}]
        page = self.ct.lookup_events(LookupAttributes=attrs, MaxResults=2)
        self.assertEqual(len(page["Events"]), 2)
        self.assertIn("NextToken", page)
        nxt = self.ct.lookup_events(LookupAttributes=attrs, MaxResults=2,
                                    NextToken=page["NextToken"])
        ids = [e["EventId"] for e in page["Events"] + nxt["Events"]]
        self.assertEqual(len(set(ids)), 4)
        everything = [e["EventId"] for e in self.lookup_all(LookupAttributes=attrs, MaxResults=1)]
        self.assertEqual(ids, everything[:4])
        paginator = self.ct.get_paginator("lookup_events")
        paged = [e["EventId"] for p in paginator.paginate(
            LookupAttributes=attrs, PaginationConfig={"PageSize": 3}) for e in p["Events"]]
        self.assertEqual(paged, everything)

    def test_each_lookup_attribute(self):
        # Username
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "Username",
                                                 "AttributeValue": "reader"}])
        ids = {self.trail(e)["requestID"] for e in evs}
        self.assertTrue(set(self.early_ids) | {self.denied_id} <= ids)
        self.assertFalse(ids & set(self.late_ids))
        self.assertTrue(all(e.get("Username") == "reader" for e in evs))
        # AccessKeyId
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "AccessKeyId",
                                                 "AttributeValue": self.reader_key[0]}])
        self.assertEqual({self.trail(e)["requestID"] for e in evs},
                         set(self.early_ids) | {self.denied_id})
        # EventSource
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "EventSource",
                                                 "AttributeValue": "iam.amazonaws.com"}])
        self.assertTrue(evs)
        self.assertEqual({e["EventSource"] for e in evs}, {"iam.amazonaws.com"})
        self.assertIn("CreateUser", {e["EventName"] for e in evs})
        # ReadOnly
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "ReadOnly",
                                                 "AttributeValue": "false"}])
        names = {e["EventName"] for e in evs}
        self.assertIn("CreateSecret", names)
        self.assertNotIn("GetSecretValue", names)
        # EventId
        one = self.lookup_all(LookupAttributes=[{"AttributeKey": "EventName",
                                                 "AttributeValue": "CreateSecret"}])[0]
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "EventId",
                                                 "AttributeValue": one["EventId"]}])
        self.assertEqual([e["EventId"] for e in evs], [one["EventId"]])

    def test_resource_lookups(self):
        for value in ("lookup/a", self.secret_arn):
            evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "ResourceName",
                                                     "AttributeValue": value}])
            ids = {self.trail(e)["requestID"] for e in evs}
            with self.subTest(value=value):
                self.assertTrue(set(self.early_ids[:4]) | set(self.late_ids) <= ids, ids)
                self.assertNotIn(self.early_ids[4], ids)  # lookup/b
                for e in evs:
                    self.assertIn("AWS::SecretsManager::Secret",
                                  [r.get("ResourceType") for r in e["Resources"]])
        evs = self.lookup_all(LookupAttributes=[{"AttributeKey": "ResourceType",
                                                 "AttributeValue": "AWS::SecretsManager::Secret"}])
        ids = {self.trail(e)["requestID"] for e in evs}
        self.assertTrue(set(self.early_ids) | set(self.late_ids) <= ids)

    def test_invalid_requests(self):
        def code(**params):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.ct.lookup_events(**params)
            return cm.exception.response["Error"]["Code"]
        # The errors botocore's cloudtrail model lists for LookupEvents.
        now = utcnow()
        cases = [
            ("InvalidLookupAttributesException", {"LookupAttributes": [
                {"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"},
                {"AttributeKey": "Username", "AttributeValue": "reader"}]}),
            ("InvalidLookupAttributesException", {"LookupAttributes": [
                {"AttributeKey": "Colour", "AttributeValue": "blue"}]}),
            ("InvalidMaxResultsException", {"MaxResults": 51}),
            ("InvalidTimeRangeException", {"StartTime": now,
                                           "EndTime": now - datetime.timedelta(hours=1)}),
            ("InvalidNextTokenException", {"NextToken": "not-a-token"}),
            ("InvalidEventCategoryException", {"EventCategory": "everything"}),
        ]
        for expected, params in cases:
            with self.subTest(expected=expected, params=params):
                self.assertEqual(code(**params), expected)


# =================================================================================================
# Metrics and alerts
# =================================================================================================

class _Receiver(http.server.BaseHTTPRequestHandler):
    received = None  # queue.Queue, set per server

    def do_POST(self):  # noqa: N802 - http.server's name
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        self.server.received.put({"path": self.path, "headers": dict(self.headers.items()),
                                  "body": body})
        self.send_response(204)
        self.end_headers()

    def log_message(self, fmt, *args):
        pass


class MetricsAndAlertsTest(ArcaTestCase):
    THRESHOLD = 3

    @classmethod
    def setUpClass(cls):
        cls.receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
        cls.receiver.received = queue.Queue()
        cls.receiver_thread = threading.Thread(target=cls.receiver.serve_forever, daemon=True)
        cls.receiver_thread.start()
        url = f"http://127.0.0.1:{cls.receiver.server_address[1]}/hooks/arca"
        cls.server_kwargs = {"extra_args": ["--alert-webhook-url", url, "--alert-rules",
                                            f"{cls.THRESHOLD}/60s per-principal, 1000/60s"]}
        try:
            super().setUpClass()
        except BaseException:
            cls.receiver.shutdown()
            cls.receiver.server_close()
            raise
        cls.iam = cls.server.client(service="iam")
        cls.sm.create_secret(Name="guarded/db", SecretString=random_value("guarded"))

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.receiver.shutdown()
            cls.receiver.server_close()

    def alerts(self, wait_for=None, timeout=10.0):
        """Drains the receiver; with `wait_for` (a predicate) waits until an alert matches."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                remaining = max(0.0, deadline - time.monotonic()) if wait_for else 0.0
                item = self.receiver.received.get(timeout=remaining) if wait_for else \
                    self.receiver.received.get_nowait()
            except queue.Empty:
                return got
            item["json"] = json.loads(item["body"])
            got.append(item)
            if wait_for and wait_for(item["json"]):
                return got

    def metrics(self):
        r = self.server.get("/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        samples = {}
        for line in r.body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$", line)
            self.assertIsNotNone(m, f"not Prometheus text: {line!r}")
            samples[m.group(1)] = float(m.group(2))
        return samples, r.body.decode()

    def test_alert_after_n_denials(self):
        akid, secret, arn = make_user(self.iam, unique("prober"))
        sm = self.server.client(credentials=(akid, secret))
        for _ in range(self.THRESHOLD):
            with self.assertRaises(botocore.exceptions.ClientError):
                sm.get_secret_value(SecretId="guarded/db")
        got = self.alerts(wait_for=lambda a: a.get("principal") == arn)
        mine = [g for g in got if g["json"].get("principal") == arn]
        self.assertEqual(len(mine), 1, got)
        alert = mine[0]
        self.assertEqual(alert["path"], "/hooks/arca")
        self.assertTrue(alert["headers"].get("Content-Type", "").startswith("application/json"))
        a = alert["json"]
        self.assertEqual(a["count"], self.THRESHOLD)
        self.assertIn("alert", a)
        self.assertIn(str(self.THRESHOLD), a["alert"])
        self.assertEqual(a.get("lastAction"), "secretsmanager:GetSecretValue")

    def test_no_alert_below_the_threshold(self):
        akid, secret, arn = make_user(self.iam, unique("careful"))
        sm = self.server.client(credentials=(akid, secret))
        for _ in range(self.THRESHOLD - 1):
            with self.assertRaises(botocore.exceptions.ClientError):
                sm.get_secret_value(SecretId="guarded/db")
        # Allowed and failed calls are not denials.
        with self.assertRaises(botocore.exceptions.ClientError):
            self.sm.get_secret_value(SecretId="guarded/absent")
        got = self.alerts(wait_for=lambda a: a.get("principal") == arn, timeout=1.5)
        self.assertFalse([g for g in got if g["json"].get("principal") == arn], got)

    def test_metrics(self):
        before, _ = self.metrics()
        akid, secret, _ = make_user(self.iam, unique("counted"))
        sm = self.server.client(credentials=(akid, secret))
        with self.assertRaises(botocore.exceptions.ClientError):
            sm.get_secret_value(SecretId="guarded/db")
        self.sm.get_secret_value(SecretId="guarded/db")
        with self.assertRaises(botocore.exceptions.ClientError):
            self.sm.get_secret_value(SecretId="guarded/absent")
        after, text = self.metrics()

        def delta(name):
            return after.get(name, 0) - before.get(name, 0)
        key = 'arca_requests_total{service="secretsmanager",action="GetSecretValue",outcome="%s"}'
        self.assertEqual(delta(key % "success"), 1, text)
        self.assertEqual(delta(key % "denied"), 1, text)
        self.assertEqual(delta(key % "client_error"), 1, text)
        self.assertEqual(delta('arca_denied_requests_total{service="secretsmanager"}'), 1, text)
        self.assertIn("# TYPE arca_request_duration_seconds histogram", text)
        self.assertGreater(after.get('arca_request_duration_seconds_count{service="secretsmanager"}',
                                     0), 0)
        inf = after.get('arca_request_duration_seconds_bucket{service="secretsmanager",le="+Inf"}')
        self.assertEqual(inf, after['arca_request_duration_seconds_count{service="secretsmanager"}'])
        self.assertGreater(delta("arca_audit_batches_total"), 0)
        self.assertGreater(delta("arca_audit_bytes_total"), 0)
        self.assertGreaterEqual(delta("arca_audit_records_total"), 4)
        self.assertEqual(after.get("arca_audit_healthy"), 1)
        # Store errors are counted too (issue 4, item 5).
        self.assertTrue(re.search(r"(?m)^# TYPE arca_store_\w*error\w* counter$", text),
                        "/metrics has no arca_store_*error* counter")


if __name__ == "__main__":
    unittest.main()
