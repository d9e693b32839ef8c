"""The built-in Redis rotator (arca-redis) against a real Redis 7 the test starts itself.

Each Redis runs from Debian's redis-server in a temporary directory on a free loopback port,
without persistence (--save '' --appendonly no) and with an ACL file holding the initial users, so
a restarted server has them again. Logins are checked with redis-cli, as an application would.

Skipped when redis-server or redis-cli is missing (scripts/deps.sh --test installs them: Debian's
redis-server).
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, audit_records, unique, wait_rotated

REDIS_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-redis"
RETRY_ENV = {"ARCA_ROTATION_RETRY_SECONDS": "1"}
ADMIN, ADMIN_PW = "admin", "Admin-pass-4321"


def have_redis():
    return bool(shutil.which("redis-server") and shutil.which("redis-cli"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server in a temporary directory, on its own port."""

    def __init__(self, acl_lines):
        self.root = tempfile.mkdtemp(prefix="arca-it-redis-")
        self.port = free_port()
        self.aclfile = os.path.join(self.root, "users.acl")
        with open(self.aclfile, "w", encoding="utf-8") as f:
            f.write("user default on nopass ~* &* +@all\n")
            f.write(f"user {ADMIN} on >{ADMIN_PW} ~* &* +@all\n")
            for line in acl_lines:
                f.write(line + "\n")
        self.proc = None
        self.log = None

    def start(self):
        self.log = open(os.path.join(self.root, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.root,
             "--save", "", "--appendonly", "no", "--aclfile", self.aclfile, "--daemonize", "no"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.cli(ADMIN, ADMIN_PW, "PING") == "PONG":
                return self
            if self.proc.poll() is not None:
                raise AssertionError("redis-server exited at start")
            time.sleep(0.1)
        raise AssertionError("redis-server did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def cleanup(self):
        self.stop()
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def cli(self, user, password, *command):
        """redis-cli's output for `command` run as `user` (AUTH failures show in the output)."""
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--user", user,
                            "--pass", password, "--no-auth-warning"] + list(command),
                           capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip()

    def admin(self, *command):
        return self.cli(ADMIN, ADMIN_PW, *command)

    def logs_in(self, user, password):
        return self.cli(user, password, "PING") == "PONG"

    def password_count(self, user):
        out = self.admin("ACL", "GETUSER", user).splitlines()
        i = out.index("passwords")
        n = 0
        for line in out[i + 1:]:
            if line in ("commands", "keys", "channels", "selectors"):
                break
            n += 1
        return n


def redis_secret(server, username, password, **extra):
    d = {"engine": "redis", "host": "127.0.0.1", "port": server.port, "username": username,
         "password": password}
    d.update(extra)
    return json.dumps(d)


def failures(server, arn):
    return [e for e in audit_records(server) if e.get("eventName") == "RotationFailed"
            and any(r.get("ARN") == arn for r in e.get("resources", []))]


def value(sm, name, stage="AWSCURRENT"):
    return json.loads(sm.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"])


def all_output(server):
    data = server.all_logs_bytes()
    audit_dir = os.path.join(server.data_dir, "audit")
    for f in os.listdir(audit_dir):
        with open(os.path.join(audit_dir, f), "rb") as fh:
            data += fh.read()
    return data


@unittest.skipUnless(have_redis(), "redis-server or redis-cli not installed")
class RedisRotationTest(unittest.TestCase):
    redis = None
    server = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer([
            # May not run ACL SETUSER: rotated by the master.
            "user app on >App-old-pass-1 ~app:* +@read +@write +ping",
            # May change its own password (and nothing else of the ACL).
            "user selfie on >Self-old-pass-1 ~* +@read +@write +ping +acl|setuser",
            # Neither: rotation without masterarn must fail, AWSCURRENT intact.
            "user plain on >Plain-old-pass-1 ~* +@read +ping",
        ])
        try:
            cls.redis.start()
            cls.server = ArcaServer(env=RETRY_ENV)
            cls.server.start()
        except BaseException:
            cls.redis.cleanup()
            if cls.server:
                cls.server.cleanup()
            raise
        cls.sm = cls.server.client()
        cls.master_arn = cls.sm.create_secret(
            Name=unique("redis-master"),
            SecretString=redis_secret(cls.redis, ADMIN, ADMIN_PW))["ARN"]

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.cleanup()
        if cls.redis:
            cls.redis.cleanup()
        super().tearDownClass()

    def assert_no_password_in_logs(self, *passwords):
        data = all_output(self.server)
        for pw in passwords:
            self.assertNotIn(pw.encode(), data)

    def test_with_masterarn(self):
        old = "App-old-pass-1"
        self.assertTrue(self.redis.logs_in("app", old))
        name = unique("redis-master-mode")
        self.sm.create_secret(Name=name, SecretString=redis_secret(
            self.redis, "app", old, masterarn=self.master_arn))
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)["VersionId"]
        d = wait_rotated(self.sm, self.server, name, token)
        self.assertIn("LastRotatedDate", d)

        current = value(self.sm, name)
        previous = value(self.sm, name, "AWSPREVIOUS")
        self.assertEqual(previous["password"], old)
        self.assertNotEqual(current["password"], old)
        self.assertEqual(len(current["password"]), 32)
        self.assertFalse(set(current["password"]) & set(':/@"\'\\%#?&'), "excluded characters")
        for k in ("engine", "host", "port", "username", "masterarn"):
            self.assertEqual(current[k], previous[k])
        self.assertTrue(self.redis.logs_in("app", current["password"]))
        self.assertFalse(self.redis.logs_in("app", old), "the replaced password still works")
        self.assertEqual(self.redis.password_count("app"), 1)
        # The app's own permissions are unchanged.
        self.assertEqual(self.redis.cli("app", current["password"], "SET", "app:k", "v"), "OK")
        self.assertIn("NOPERM", self.redis.cli("app", current["password"], "SET", "other", "v"))

        # A second rotation starts from the new AWSCURRENT.
        token2 = self.sm.rotate_secret(SecretId=name)["VersionId"]
        wait_rotated(self.sm, self.server, name, token2)
        newest = value(self.sm, name)
        self.assertTrue(self.redis.logs_in("app", newest["password"]))
        self.assertFalse(self.redis.logs_in("app", current["password"]))
        self.assertEqual(self.redis.password_count("app"), 1)
        self.assert_no_password_in_logs(old, ADMIN_PW, current["password"], newest["password"])

    def test_without_masterarn_the_user_changes_its_own_password(self):
        old = "Self-old-pass-1"
        name = unique("redis-self")
        self.sm.create_secret(Name=name, SecretString=redis_secret(self.redis, "selfie", old))
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)["VersionId"]
        wait_rotated(self.sm, self.server, name, token)
        current = value(self.sm, name)
        self.assertTrue(self.redis.logs_in("selfie", current["password"]))
        self.assertFalse(self.redis.logs_in("selfie", old))
        self.assertEqual(self.redis.password_count("selfie"), 1)
        self.assert_no_password_in_logs(old, current["password"])

    def test_without_masterarn_or_permission_fails_and_keeps_awscurrent(self):
        old = "Plain-old-pass-1"
        name = unique("redis-plain")
        secret = redis_secret(self.redis, "plain", old)
        arn = self.sm.create_secret(Name=name, SecretString=secret)["ARN"]
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)
        failed = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not failed:
            failed = failures(self.server, arn)
            time.sleep(0.2)
        self.assertTrue(failed)
        self.assertEqual(failed[0]["additionalEventData"]["Step"], "setSecret")
        self.assertIn("ACL SETUSER", failed[0]["errorMessage"])
        self.assertIn("NOPERM", failed[0]["errorMessage"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], secret)
        self.assertTrue(self.redis.logs_in("plain", old))
        pending = value(self.sm, name, "AWSPENDING")
        self.sm.cancel_rotate_secret(SecretId=name)
        self.assert_no_password_in_logs(old, pending["password"])

    def test_a_secret_that_is_not_redis_fails(self):
        name = unique("redis-bad")
        bad = json.dumps({"engine": "postgres", "host": "127.0.0.1", "username": "u",
                          "password": "Not-A-Redis-Pass-7"})
        arn = self.sm.create_secret(Name=name, SecretString=bad)["ARN"]
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)
        failed = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not failed:
            failed = failures(self.server, arn)
            time.sleep(0.2)
        self.assertTrue(failed)
        self.assertIn("engine must be redis", failed[0]["errorMessage"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], bad)
        self.sm.cancel_rotate_secret(SecretId=name)
        self.assert_no_password_in_logs("Not-A-Redis-Pass-7")

    def test_tls_is_refused_clearly(self):
        name = unique("redis-tls")
        secret = redis_secret(self.redis, "app", "App-old-pass-1", masterarn=self.master_arn,
                              tls=True)
        arn = self.sm.create_secret(Name=name, SecretString=secret)["ARN"]
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)
        failed = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not failed:
            failed = failures(self.server, arn)
            time.sleep(0.2)
        self.assertTrue(failed)
        self.assertIn("TLS", failed[0]["errorMessage"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], secret)
        # Refused before anything was sent to Redis: no password was added.
        pending = value(self.sm, name, "AWSPENDING")
        self.assertFalse(self.redis.logs_in("app", pending["password"]))
        self.sm.cancel_rotate_secret(SecretId=name)


@unittest.skipUnless(have_redis(), "redis-server or redis-cli not installed")
class RedisDownDuringRotationTest(unittest.TestCase):

    def test_redis_stopped_then_started_again(self):
        old = "Down-old-pass-1"
        redis = RedisServer([f"user app on >{old} ~* +@all -@admin"])
        server = ArcaServer(env=RETRY_ENV)
        try:
            redis.start()
            server.start()
            sm = server.client()
            master_arn = sm.create_secret(Name=unique("redis-down-master"),
                                          SecretString=redis_secret(redis, ADMIN, ADMIN_PW))["ARN"]
            name = unique("redis-down")
            secret = redis_secret(redis, "app", old, masterarn=master_arn)
            arn = sm.create_secret(Name=name, SecretString=secret)["ARN"]

            redis.stop()
            token = sm.rotate_secret(SecretId=name, RotationLambdaARN=REDIS_ARN)["VersionId"]
            failed = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not failed:
                failed = failures(server, arn)
                time.sleep(0.2)
            self.assertTrue(failed, "no RotationFailed while Redis is down")
            self.assertEqual(failed[0]["additionalEventData"]["Step"], "setSecret")
            self.assertIn("Unable to log into Redis", failed[0]["errorMessage"])
            self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], secret)
            pending = sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
            self.assertEqual(pending["VersionId"], token)

            # Redis comes back (its users from the ACL file): the retry finishes the rotation.
            redis.start()
            wait_rotated(sm, server, name, token, timeout=75)
            current = value(sm, name)
            self.assertEqual(current["password"], json.loads(pending["SecretString"])["password"])
            self.assertTrue(redis.logs_in("app", current["password"]))
            self.assertFalse(redis.logs_in("app", old))
            data = all_output(server)
            self.assertNotIn(old.encode(), data)
            self.assertNotIn(ADMIN_PW.encode(), data)
            self.assertNotIn(current["password"].encode(), data)
        finally:
            server.cleanup()
            redis.cleanup()


if __name__ == "__main__":
    unittest.main()
