"""Configured rotators (webhook, exec) and rotation notifications against a real `arca server`.

The server is started with a YAML config file (--config) holding:
- `hook` and `slowhook`: webhook rotators pointing at an HTTP server in this test, which checks the
  HMAC signature (X-Arca-Timestamp + X-Arca-Signature) and performs each step through boto3 against
  Arca as a rotation Lambda would, or answers 500 / too late for failure injection;
- `lambda-py3` and `lambda-usr-bin-py3`: exec rotators running examples/rotation/lambda_wrapper.py
  with examples/rotation/sample_rotation_lambda.py under `python3` and under `/usr/bin/python3`
  (Debian's boto3 1.26, which does not read AWS_ENDPOINT_URL by itself);
- rotation_notify_urls: the same test server, signed with another key;
- rotation_retry_seconds: 1, so a failed step is retried within a second.
"""

import hashlib
import hmac
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, unique

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = os.path.abspath(os.path.join(HERE, "..", "..", "examples", "rotation"))
sys.path.insert(0, EXAMPLES)
import sample_rotation_lambda  # noqa: E402 - the same step functions the exec rotator runs

HOOK_KEY = b"hook-hmac-key-for-tests"
NOTIFY_KEY = b"notify-hmac-key-for-tests"


def lambda_arn(name):
    return f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:{name}"


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def signature_ok(key, headers, body):
    ts = headers.get("X-Arca-Timestamp", "")
    sig = headers.get("X-Arca-Signature", "")
    if not ts.isdigit() or abs(time.time() - int(ts)) > 300 or not sig.startswith("sha256="):
        return False
    want = hmac.new(key, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig[len("sha256="):], want)


class Receiver:
    """The test's HTTP server: webhook rotators at /hook and /slowhook, notifications at /notify."""

    def __init__(self):
        self.lock = threading.Lock()
        self.steps = []          # (path, event) of every signed webhook call
        self.bad_signatures = 0
        self.notifications = []
        self.fail = {"/hook": False, "/slowhook": False}  # 500 (/hook) or too late (/slowhook)
        self.sm = None           # boto3 client of the Arca server, set once it runs
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                code = receiver.handle(self.path, self.headers, body)
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def handle(self, path, headers, body):
        if path == "/notify":
            if not signature_ok(NOTIFY_KEY, headers, body):
                with self.lock:
                    self.bad_signatures += 1
                return 401
            with self.lock:
                self.notifications.append(json.loads(body))
            return 204
        if not signature_ok(HOOK_KEY, headers, body):
            with self.lock:
                self.bad_signatures += 1
            return 401
        event = json.loads(body)
        with self.lock:
            self.steps.append((path, event))
            failing = self.fail.get(path, False)
        if failing and path == "/hook":
            return 500
        if failing and path == "/slowhook":
            time.sleep(2.5)  # the rotator's timeout is 1 s
            return 200
        # Do the step as a rotation Lambda would: through the Secrets Manager API of Arca.
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        fn = {"createSecret": sample_rotation_lambda.create_secret,
              "setSecret": sample_rotation_lambda.set_secret,
              "testSecret": sample_rotation_lambda.test_secret,
              "finishSecret": sample_rotation_lambda.finish_secret}[step]
        try:
            fn(self.sm, arn, token)
        except Exception:  # noqa: BLE001 - a failed step is a 500, as a Lambda error would be
            return 500
        return 200

    def notifications_for(self, arn):
        with self.lock:
            return [n for n in self.notifications if n.get("arn") == arn]

    def steps_for(self, arn):
        with self.lock:
            return [(p, e["Step"]) for p, e in self.steps if e["SecretId"] == arn]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class ExternalRotatorsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-rotext-")
        cls.receiver = Receiver()
        data_dir = os.path.join(cls.tmp, "data")
        hook_key = os.path.join(cls.tmp, "hook.key")
        notify_key = os.path.join(cls.tmp, "notify.key")
        write_private(hook_key, HOOK_KEY + b"\n")
        write_private(notify_key, NOTIFY_KEY)
        wrapper = os.path.join(EXAMPLES, "lambda_wrapper.py")
        sample = os.path.join(EXAMPLES, "sample_rotation_lambda.py")
        lambda_env = {
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(data_dir, "credentials"),
            "AWS_PROFILE": "arca",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        config = {
            "log_level": "debug",
            "rotation_retry_seconds": 1,
            "rotation_notify_urls": [cls.receiver.url + "/notify"],
            "rotation_notify_hmac_key_file": notify_key,
            "rotators": [
                {"name": "hook", "type": "webhook", "url": cls.receiver.url + "/hook",
                 "hmac_key_file": hook_key, "timeout_seconds": 10},
                {"name": "slowhook", "type": "webhook", "url": cls.receiver.url + "/slowhook",
                 "hmac_key_file": hook_key, "timeout_seconds": 1},
                {"name": "lambda-py3", "type": "exec", "command": ["python3", wrapper, sample],
                 "env": lambda_env, "timeout_seconds": 60},
                {"name": "lambda-usr-bin-py3", "type": "exec",
                 "command": ["/usr/bin/python3", wrapper, sample], "env": lambda_env,
                 "timeout_seconds": 60},
            ],
        }
        cls.config_path = os.path.join(cls.tmp, "arca.yaml")
        with open(cls.config_path, "w") as f:
            json.dump(config, f, indent=2)  # JSON is YAML
        cls.server = ArcaServer(data_dir=data_dir, extra_args=["--config", cls.config_path])
        cls.server.start()
        cls.sm = cls.server.client()
        cls.receiver.sm = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        cls.receiver.stop()
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def create(self, value):
        name = unique("rotext")
        arn = self.sm.create_secret(Name=name, SecretString=value)["ARN"]
        return name, arn

    def wait_rotated(self, name, token, timeout=60.0):
        def done():  # finishSecret moved AWSCURRENT and the engine recorded the end of the rotation
            d = self.sm.describe_secret(SecretId=name)
            stages = d.get("VersionIdsToStages", {})
            finished = "AWSCURRENT" in stages.get(token, []) and "LastRotatedDate" in d and \
                not any("AWSPENDING" in s for s in stages.values())
            return d if finished else None
        return wait_for(done, f"the rotation of {name} to finish", timeout)

    def check_rotated(self, name, old):
        new = self.sm.get_secret_value(SecretId=name)["SecretString"]
        self.assertNotEqual(new, old)
        self.assertEqual(len(new), 32)  # GetRandomPassword's default length
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"], old)

    def test_webhook_rotation_is_signed_and_notified(self):
        name, arn = self.create("webhook-old")
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn("hook"))["VersionId"]
        self.wait_rotated(name, token)
        self.check_rotated(name, "webhook-old")
        self.assertEqual(self.receiver.steps_for(arn),
                         [("/hook", s) for s in ("createSecret", "setSecret", "testSecret", "finishSecret")])
        with self.receiver.lock:
            self.assertEqual(self.receiver.bad_signatures, 0)
            events = [e for p, e in self.receiver.steps if e["SecretId"] == arn]
        self.assertEqual(set(events[0]), {"SecretId", "ClientRequestToken", "Step"})
        self.assertEqual(events[0]["ClientRequestToken"], token)
        notes = wait_for(lambda: self.receiver.notifications_for(arn), "a notification")
        self.assertEqual(notes[0]["event"], "RotationSucceeded")
        self.assertEqual(notes[0]["name"], name)
        self.assertEqual(notes[0]["token"], token)
        self.assertEqual(notes[0]["step"], "finishSecret")
        self.assertIn("time", notes[0])

    def test_webhook_500_keeps_awscurrent_and_is_retried(self):
        name, arn = self.create("flaky-old")
        self.receiver.fail["/hook"] = True
        try:
            token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn("hook"))["VersionId"]
            failed = wait_for(lambda: [n for n in self.receiver.notifications_for(arn)
                                       if n["event"] == "RotationFailed"], "RotationFailed")
            self.assertEqual(failed[0]["step"], "createSecret")
            self.assertIn("HTTP 500", failed[0]["error"])
            self.assertEqual(failed[0]["token"], token)
            # AWSCURRENT keeps working while the rotation fails.
            self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "flaky-old")
            # Retried after rotation_retry_seconds (1 s), not 30 s.
            wait_for(lambda: len(self.receiver.steps_for(arn)) >= 2, "a retry", timeout=10)
            with self.assertRaises(self.sm.exceptions.InvalidRequestException):
                self.sm.rotate_secret(SecretId=name)
        finally:
            self.receiver.fail["/hook"] = False
        self.wait_rotated(name, token)
        self.check_rotated(name, "flaky-old")
        wait_for(lambda: [n for n in self.receiver.notifications_for(arn)
                          if n["event"] == "RotationSucceeded"], "RotationSucceeded")

    def test_webhook_timeout_keeps_awscurrent_and_is_retried(self):
        name, arn = self.create("slow-old")
        self.receiver.fail["/slowhook"] = True
        try:
            token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn("slowhook"))["VersionId"]
            failed = wait_for(lambda: [n for n in self.receiver.notifications_for(arn)
                                       if n["event"] == "RotationFailed"], "RotationFailed")
            self.assertEqual(failed[0]["step"], "createSecret")
            self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "slow-old")
        finally:
            self.receiver.fail["/slowhook"] = False
        self.wait_rotated(name, token)
        self.check_rotated(name, "slow-old")

    def exec_rotation(self, rotator):
        name, arn = self.create(f"{rotator}-old")
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=lambda_arn(rotator))["VersionId"]
        d = self.wait_rotated(name, token)
        self.check_rotated(name, f"{rotator}-old")
        self.assertIn("LastRotatedDate", d)
        for stages in d["VersionIdsToStages"].values():
            self.assertNotIn("AWSPENDING", stages)
        wait_for(lambda: [n for n in self.receiver.notifications_for(arn)
                          if n["event"] == "RotationSucceeded"], "RotationSucceeded")
        # The program's output reached the server log (debug level), e.g. the template's log lines.
        outputs = [e for e in self.server.log_entries() if e.get("msg") == "exec rotator output"
                   and e.get("arn") == arn]
        self.assertEqual([e["step"] for e in outputs],
                         ["createSecret", "setSecret", "testSecret", "finishSecret"])
        self.assertTrue(all(e["exit_code"] == 0 for e in outputs))
        self.assertIn("createSecret: Successfully put secret", outputs[0]["stderr"])

    def test_exec_with_python3(self):
        self.exec_rotation("lambda-py3")

    def test_exec_with_usr_bin_python3(self):
        if not os.path.exists("/usr/bin/python3"):
            self.skipTest("no /usr/bin/python3")
        self.exec_rotation("lambda-usr-bin-py3")


class RotatorConfigErrorsTest(unittest.TestCase):

    def start_fails(self, config_text):
        tmp = tempfile.mkdtemp(prefix="arca-it-rotcfg-")
        try:
            cfg = os.path.join(tmp, "arca.yaml")
            with open(cfg, "w") as f:
                f.write(config_text)
            server = ArcaServer(extra_args=["--config", cfg])
            try:
                server.spawn()
                return server.wait_exit()
            finally:
                server.cleanup()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def test_a_name_of_a_built_in_rotator_is_refused(self):
        rc, log = self.start_fails("rotators:\n  - name: arca-random\n    type: exec\n"
                                   "    command: [/bin/true]\n")
        self.assertEqual(rc, 2)
        self.assertIn("built-in", log)

    def test_a_bad_rotator_entry_is_refused(self):
        rc, log = self.start_fails("rotators:\n  - name: x\n    type: webhook\n    url: ftp://nope\n")
        self.assertEqual(rc, 2)
        self.assertIn("rotator x", log)


if __name__ == "__main__":
    unittest.main()
