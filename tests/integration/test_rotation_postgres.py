"""The built-in PostgreSQL rotators against a real PostgreSQL 15 the test starts itself.

Each cluster is made by Debian's initdb in a temporary directory (scram-sha-256 over TCP on
127.0.0.1, a free port, the Unix socket in the temporary directory) and started with pg_ctl.
PostgreSQL refuses to run as root: as root, initdb, pg_ctl and the server run as `nobody`, which
owns the temporary directory. Roles are made over the Unix socket (trust for local connections);
logins are checked with psql over TCP with a password, as an application would.

Skipped when /usr/lib/postgresql/15/bin/initdb or psql is missing (scripts/deps.sh --test installs
them: Debian's postgresql).
"""

import json
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaServer, audit_records, unique, wait_rotated

PG_BIN = os.environ.get("ARCA_PG_BIN", "/usr/lib/postgresql/15/bin")
SINGLE_ARN = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-postgres-single-user"
ALTERNATING_ARN = \
    f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:arca-postgres-alternating-users"
# The engine's first retry comes after this many seconds where the server knows the setting
# (ARCA_ROTATION_RETRY_SECONDS); otherwise after its default of 30 s.
RETRY_ENV = {"ARCA_ROTATION_RETRY_SECONDS": "1"}


def have_postgres():
    return os.access(os.path.join(PG_BIN, "initdb"), os.X_OK) and shutil.which("psql")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in a temporary directory, on its own port."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="arca-it-pg-")
        os.chmod(self.root, 0o755)
        self.data = os.path.join(self.root, "data")
        self.sock = os.path.join(self.root, "sock")
        self.log = os.path.join(self.root, "postgres.log")
        os.makedirs(self.sock)
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:
            # PostgreSQL will not run as root.
            self.run_as = "nobody"
            pw = pwd.getpwnam(self.run_as)
            for p in (self.root, self.sock):
                os.chown(p, pw.pw_uid, pw.pw_gid)

    def _pg(self, *args, check=True):
        cmd = [os.path.join(PG_BIN, args[0])] + list(args[1:])
        if self.run_as:
            cmd = ["runuser", "-u", self.run_as, "--"] + cmd
        return subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, check=check,
                              timeout=120)

    def init(self):
        self._pg("initdb", "-D", self.data, "-U", "postgres", "--no-sync", "--auth-local=trust",
                 "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
        with open(os.path.join(self.data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\n"
                    "host all all 127.0.0.1/32 scram-sha-256\n")
        return self

    def start(self):
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                f"-c password_encryption=scram-sha-256")
        self._pg("pg_ctl", "-D", self.data, "-l", self.log, "-o", opts, "-w", "-t", "60", "start")
        return self

    def stop(self, mode="fast"):
        self._pg("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def cleanup(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop("immediate")
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(self.root, ignore_errors=True)

    def sql(self, statement, dbname="postgres"):
        """Runs SQL as the superuser over the Unix socket; returns stdout."""
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock, "-p", str(self.port), "-U", "postgres", "-d", dbname,
                            "-c", statement],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise AssertionError(f"psql failed: {p.stderr}")
        return p.stdout.strip()

    def login(self, user, password, statement="SELECT 1"):
        """(ok, output) of a password login over TCP, as an application makes it."""
        env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
        env.pop("PGPASSFILE", None)
        p = subprocess.run(["psql", "-X", "-w", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            f"host=127.0.0.1 port={self.port} dbname=postgres user={user} "
                            "sslmode=disable", "-c", statement],
                           capture_output=True, text=True, timeout=60, env=env)
        return p.returncode == 0, (p.stdout + p.stderr).strip()


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
