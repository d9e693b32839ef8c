"""The built-in PostgreSQL rotators against a real PostgreSQL 15 the test starts itself.

The cluster (pg_harness.PostgresCluster) checks logins with psql over TCP with a password, as an
application would; roles are made over the Unix socket.

Skipped when /usr/lib/postgresql/15/bin/initdb or psql is missing (scripts/deps.sh --test installs
them: Debian's postgresql).
"""

import json
import os
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, audit_records, unique, wait_rotated
from pg_harness import PostgresCluster, have_postgres

SINGLE_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-postgres-single-user"
ALTERNATING_ARN = \
    f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-postgres-alternating-users"
# The engine's first retry comes after this many seconds where the server knows the setting
# (ARCA_ROTATION_RETRY_SECONDS); otherwise after its default of 30 s.
RETRY_ENV = {"ARCA_ROTATION_RETRY_SECONDS": "1"}


def db_secret(cluster, username, password, **extra):
    d = {"engine": "postgres", "host": "127.0.0.1", "port": cluster.port, "username": username,
         "password": password, "dbname": "postgres"}
    d.update(extra)
    return json.dumps(d)


def value(sm, name, stage="AWSCURRENT"):
    return json.loads(sm.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"])


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 (initdb) or psql not installed")
class PostgresRotationTest(unittest.TestCase):
    cluster = None
    server = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = PostgresCluster()
        try:
            cls.cluster.init().start()
            cls.server = ArcaServer(env=RETRY_ENV)
            cls.server.start()
        except BaseException:
            cls.cluster.cleanup()
            if cls.server:
                cls.server.cleanup()
            raise
        cls.sm = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        if cls.server:
            cls.server.cleanup()
        if cls.cluster:
            cls.cluster.cleanup()
        super().tearDownClass()

    def assert_no_password_in_logs(self, *passwords):
        data = self.server.all_logs_bytes()
        audit_dir = os.path.join(self.server.data_dir, "audit")
        for f in os.listdir(audit_dir):
            with open(os.path.join(audit_dir, f), "rb") as fh:
                data += fh.read()
        for pw in passwords:
            self.assertNotIn(pw.encode(), data)

    def test_single_user(self):
        user = "app_" + unique("s").replace("-", "_")
        old = "Old-pass-1234"
        self.cluster.sql(f"CREATE ROLE {user} WITH LOGIN PASSWORD '{old}'")
        self.assertEqual(self.cluster.login(user, old)[0], True)
        name = unique("pg-single")
        self.sm.create_secret(Name=name, SecretString=db_secret(self.cluster, user, old))
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=SINGLE_ARN)["VersionId"]
        d = wait_rotated(self.sm, self.server, name, token)
        self.assertIn("LastRotatedDate", d)
        for stages in d["VersionIdsToStages"].values():
            self.assertNotIn("AWSPENDING", stages)

        current = value(self.sm, name)
        previous = value(self.sm, name, "AWSPREVIOUS")
        self.assertEqual(previous["password"], old)
        self.assertEqual(current["username"], user)
        self.assertNotEqual(current["password"], old)
        self.assertEqual(len(current["password"]), 32)
        self.assertFalse(set(current["password"]) & set(':/@"\'\\'), "excluded characters")
        for k in ("engine", "host", "port", "dbname"):
            self.assertEqual(current[k], previous[k])
        ok, out = self.cluster.login(user, current["password"], "SELECT current_user")
        self.assertTrue(ok, out)
        self.assertEqual(out, user)
        ok, out = self.cluster.login(user, old)
        self.assertFalse(ok, "AWSPREVIOUS still logs in")
        self.assertIn("password authentication failed", out)
        # The server stores a verifier, never the plaintext.
        stored = self.cluster.sql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{user}'")
        self.assertTrue(stored.startswith("SCRAM-SHA-256$"))

        # A second rotation starts from the new AWSCURRENT.
        token2 = self.sm.rotate_secret(SecretId=name)["VersionId"]
        wait_rotated(self.sm, self.server, name, token2)
        newest = value(self.sm, name)
        self.assertTrue(self.cluster.login(user, newest["password"])[0])
        self.assertFalse(self.cluster.login(user, current["password"])[0])
        self.assert_no_password_in_logs(old, current["password"], newest["password"])

    def test_alternating_users(self):
        suffix = unique("a").replace("-", "_")
        user, master = "app_" + suffix, "master_" + suffix
        old, master_pw = "Old-pass-5678", "Master-pass-9012"
        self.cluster.sql(f"CREATE ROLE {master} WITH LOGIN CREATEROLE PASSWORD '{master_pw}'")
        self.cluster.sql(f"CREATE ROLE {user} WITH LOGIN PASSWORD '{old}'")
        table = f"t_{suffix}"
        self.cluster.sql(f"CREATE TABLE {table} (v int); INSERT INTO {table} VALUES (42); "
                         f"ALTER TABLE {table} OWNER TO {user}")
        master_arn = self.sm.create_secret(
            Name=unique("pg-master"),
            SecretString=db_secret(self.cluster, master, master_pw))["ARN"]
        name = unique("pg-alt")
        self.sm.create_secret(Name=name,
                              SecretString=db_secret(self.cluster, user, old, masterarn=master_arn))

        # First rotation: the clone is created with the user's grants and becomes AWSCURRENT.
        token = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=ALTERNATING_ARN)["VersionId"]
        wait_rotated(self.sm, self.server, name, token)
        first = value(self.sm, name)
        self.assertEqual(first["username"], user + "_clone")
        self.assertEqual(first["masterarn"], master_arn)
        self.assertEqual(value(self.sm, name, "AWSPREVIOUS")["username"], user)
        ok, out = self.cluster.login(first["username"], first["password"], f"SELECT v FROM {table}")
        self.assertTrue(ok, out)
        self.assertEqual(out, "42")  # the clone has the user's privileges (role membership)
        # The previous credentials stay valid: applications still holding them keep working.
        self.assertTrue(self.cluster.login(user, old)[0])

        # Second rotation: back to the original user with a new password; the clone stays valid.
        token2 = self.sm.rotate_secret(SecretId=name)["VersionId"]
        wait_rotated(self.sm, self.server, name, token2)
        second = value(self.sm, name)
        self.assertEqual(second["username"], user)
        self.assertNotEqual(second["password"], old)
        self.assertEqual(value(self.sm, name, "AWSPREVIOUS")["username"], user + "_clone")
        ok, out = self.cluster.login(user, second["password"], f"SELECT v FROM {table}")
        self.assertTrue(ok, out)
        ok, out = self.cluster.login(first["username"], first["password"])
        self.assertTrue(ok, out)
        self.assertFalse(self.cluster.login(user, old)[0], "the user's old password still works")

        # Third: the clone's password changes (ALTER, not CREATE); the user's stays valid.
        token3 = self.sm.rotate_secret(SecretId=name)["VersionId"]
        wait_rotated(self.sm, self.server, name, token3)
        third = value(self.sm, name)
        self.assertEqual(third["username"], user + "_clone")
        self.assertTrue(self.cluster.login(third["username"], third["password"])[0])
        self.assertFalse(self.cluster.login(first["username"], first["password"])[0])
        self.assertTrue(self.cluster.login(user, second["password"])[0])
        self.assert_no_password_in_logs(old, master_pw, first["password"], second["password"],
                                        third["password"])

    def test_a_secret_that_is_not_postgres_fails_and_keeps_awscurrent(self):
        name = unique("pg-bad")
        bad = json.dumps({"engine": "mysql", "host": "127.0.0.1", "username": "u",
                          "password": "Not-A-Pg-Pass-77"})
        arn = self.sm.create_secret(Name=name, SecretString=bad)["ARN"]
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=SINGLE_ARN)
        failed = []
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not failed:
            failed = [e for e in audit_records(self.server)
                      if e.get("eventName") == "RotationFailed"
                      and any(r.get("ARN") == arn for r in e.get("resources", []))]
            time.sleep(0.2)
        self.assertTrue(failed)
        self.assertIn("engine must be postgres", failed[0]["errorMessage"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], bad)
        self.sm.cancel_rotate_secret(SecretId=name)
        self.assert_no_password_in_logs("Not-A-Pg-Pass-77")


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 (initdb) or psql not installed")
class PostgresDownDuringRotationTest(unittest.TestCase):

    def test_database_stopped_then_started_again(self):
        cluster = PostgresCluster()
        server = ArcaServer(env=RETRY_ENV)
        try:
            cluster.init().start()
            server.start()
            sm = server.client()
            old = "Old-pass-3456"
            cluster.sql(f"CREATE ROLE app WITH LOGIN PASSWORD '{old}'")
            name = unique("pg-down")
            secret = db_secret(cluster, "app", old)
            arn = sm.create_secret(Name=name, SecretString=secret)["ARN"]

            cluster.stop()
            token = sm.rotate_secret(SecretId=name, RotationLambdaARN=SINGLE_ARN)["VersionId"]
            failed = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not failed:
                failed = [e for e in audit_records(server) if e.get("eventName") == "RotationFailed"
                          and any(r.get("ARN") == arn for r in e.get("resources", []))]
                time.sleep(0.2)
            self.assertTrue(failed, "no RotationFailed while the database is down")
            self.assertEqual(failed[0]["additionalEventData"]["Step"], "setSecret")
            self.assertIn("Unable to log into database", failed[0]["errorMessage"])
            # AWSCURRENT is untouched and still returned; AWSPENDING is kept for the retry.
            self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], secret)
            pending = sm.get_secret_value(SecretId=name, VersionStage="AWSPENDING")
            self.assertEqual(pending["VersionId"], token)

            # The database comes back: the retry (after the backoff) finishes the rotation.
            cluster.start()
            wait_rotated(sm, server, name, token, timeout=75)
            current = value(sm, name)
            self.assertEqual(current["password"], json.loads(pending["SecretString"])["password"])
            self.assertTrue(cluster.login("app", current["password"])[0])
            self.assertFalse(cluster.login("app", old)[0])
            data = server.all_logs_bytes()
            for f in os.listdir(os.path.join(server.data_dir, "audit")):
                with open(os.path.join(server.data_dir, "audit", f), "rb") as fh:
                    data += fh.read()
            self.assertNotIn(old.encode(), data)
            self.assertNotIn(current["password"].encode(), data)
        finally:
            server.cleanup()
            cluster.cleanup()


if __name__ == "__main__":
    unittest.main()
