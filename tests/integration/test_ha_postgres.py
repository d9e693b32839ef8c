"""Several `arca server` replicas on one PostgreSQL 15 (issue 9, item 7).

The test starts its own PostgreSQL from Debian's packages (own initdb in a temporary directory, own
port; pg_harness.PostgresCluster) and three `arca server` processes with `--store postgresql://...`
and one master key (ARCA_MASTER_KEY), all started at the same moment on the empty database, then
drives them concurrently with boto3:

- the replicas migrate the schema once and create one admin key between them;
- the same ClientRequestToken sent to all three at once makes one version;
- concurrent PutSecretValue calls through every replica lose and duplicate nothing, and leave one
  AWSCURRENT and one AWSPREVIOUS that every replica reports alike;
- a change committed through one replica reaches another replica's change stream and its read
  cache within 1 s;
- kill -9 of a replica during writes: every acknowledged version is there afterwards;
- PostgreSQL stopped under load: clients get retryable 503 ServiceUnavailable errors and /readyz
  says so, and the servers recover by themselves when it is back;
- the purge and the rotation engine run on the replica holding the store's lease; when it is
  killed, another replica takes the work over within seconds and finishes a half-done rotation.
"""

import concurrent.futures
import hashlib
import hmac
import http.server
import json
import os
import shutil
import tempfile
import threading
import time
import unittest

import botocore.exceptions

from arca_harness import (DEFAULT_ACCOUNT, ArcaServer, make_master_key_text, new_token, run_arca,
                          unique)
from pg_harness import PostgresCluster
from test_change_stream import get_changes

HOOK_KEY = b"ha-hook-hmac-key"
REPLICAS = 3


def wait_for(predicate, what, timeout=20.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(interval)


class Hook:
    """A webhook rotator in the test: does each step through boto3 (against a live replica), and
    holds setSecret while `hold` is set, so a test can kill the replica in the middle of a step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.held = threading.Event()  # a setSecret call is being held
        self.calls = []                # (step, replica port that called) of every signed call
        self.sm = None                 # a function returning a boto3 client of a live replica
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                code = hook.handle(self.headers, body)
                try:
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller was killed meanwhile

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"

    def handle(self, headers, body):
        ts = headers.get("X-Arca-Timestamp", "")
        want = hmac.new(HOOK_KEY, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get("X-Arca-Signature", ""), "sha256=" + want):
            return 401
        event = json.loads(body)
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        with self.lock:
            self.calls.append(step)
        if step == "setSecret" and self.hold.is_set():
            self.held.set()
            while self.hold.is_set():
                time.sleep(0.05)
            return 500  # the caller is gone by now; fail this attempt
        sm = self.sm()
        if step == "createSecret":
            try:
                sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except botocore.exceptions.ClientError:
                sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                    SecretString="rotated-" + token[:8],
                                    VersionStages=["AWSPENDING"])
        elif step == "finishSecret":
            d = sm.describe_secret(SecretId=arn)
            current = next(v for v, s in d["VersionIdsToStages"].items() if "AWSCURRENT" in s)
            if current != token:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                               MoveToVersionId=token,
                                               RemoveFromVersionId=current)
        return 200

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class HighAvailabilityTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-ha-")
        cls.pg = PostgresCluster().init().start()
        cls.pg.create_database("arca")
        # Trust authentication ignores the password; it is there to show that no log holds it.
        cls.url = cls.pg.url("arca").replace("postgres@", "postgres:pw-never-logged@", 1)
        cls.hook = Hook()
        hook_key = os.path.join(cls.tmp, "hook.key")
        fd = os.open(hook_key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(HOOK_KEY)
        config = {
            "purge_interval_seconds": 1,
            "rotation_retry_seconds": 1,
            "rotators": [{"name": "hahook", "type": "webhook", "url": cls.hook.url,
                          "hmac_key_file": hook_key, "timeout_seconds": 60}],
        }
        cls.config_path = os.path.join(cls.tmp, "arca.yaml")
        with open(cls.config_path, "w") as f:
            json.dump(config, f)
        master_key = make_master_key_text()
        cls.servers = [ArcaServer(extra_args=["--store", cls.url, "--config", cls.config_path],
                                  env={"ARCA_MASTER_KEY": master_key})
                       for _ in range(REPLICAS)]
        # All at once on the empty database: they must migrate once and make one admin key.
        for s in cls.servers:
            s.spawn()
        for s in cls.servers:
            s.wait_listening()
        made = [s for s in cls.servers if os.path.exists(s.credentials_path)]
        cls.creds_made_by = len(made)
        cls.creds = made[0].credentials() if made else None
        cls.hook.sm = lambda: cls.client(cls.live()[0])

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.cleanup()
        cls.hook.stop()
        cls.pg.cleanup()
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def client(cls, server, **cfg):
        return server.client(credentials=cls.creds, **cfg)

    @classmethod
    def live(cls):
        return [s for s in cls.servers if s.running()]

    def setUp(self):
        # A test that killed a replica restarts it for the next.
        for s in self.servers:
            if not s.running():
                s.start()
        self.clients = [self.client(s) for s in self.servers]

    def lease_holder(self, name):
        owner = self.pg.sql(f"SELECT owner FROM leases WHERE name = '{name}' "
                            f"AND expires_ms > (extract(epoch from now()) * 1000)::bigint",
                            dbname="arca")
        for s in self.servers:
            if owner.endswith(":" + s.data_dir):
                return s
        return None

    # ---- start-up -------------------------------------------------------------------------------

    def test_replicas_starting_together_migrate_once_and_make_one_admin_key(self):
        self.assertEqual(self.creds_made_by, 1)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM schema_version", dbname="arca"), "1")
        self.assertEqual(self.pg.sql("SELECT count(*) FROM access_keys WHERE principal = 'root'",
                                     dbname="arca"), "1")
        for s in self.servers:
            self.assertEqual(s.get("/readyz").status, 200)
            self.assertIn("postgresql://postgres:***@127.0.0.1", s.log())
            self.assertNotIn("pw-never-logged", s.log() + s.stdout())

    # ---- concurrency across replicas ------------------------------------------------------------

    def test_same_token_sent_to_every_replica_at_once_makes_one_version(self):
        name = unique("ha-token")
        self.clients[0].create_secret(Name=name, SecretString="v0")
        for _ in range(5):
            token = new_token()
            barrier = threading.Barrier(REPLICAS)

            def put(c):
                barrier.wait()
                return c.put_secret_value(SecretId=name, ClientRequestToken=token,
                                          SecretString="same-" + token)["VersionId"]

            with concurrent.futures.ThreadPoolExecutor(REPLICAS) as pool:
                ids = list(pool.map(put, self.clients))
            self.assertEqual(ids, [token] * REPLICAS)
        versions = self.clients[1].list_secret_version_ids(SecretId=name,
                                                           IncludeDeprecated=True)["Versions"]
        self.assertEqual(len(versions), 6)
        self.assertEqual(len({v["VersionId"] for v in versions}), 6)

    def test_concurrent_puts_through_every_replica_lose_and_duplicate_nothing(self):
        name = unique("ha-puts")
        first = self.clients[0].create_secret(Name=name, SecretString="v0")["VersionId"]
        acked = {first}
        lock = threading.Lock()

        def writer(i):
            c = self.client(self.servers[i % REPLICAS])
            for n in range(8):
                token = new_token()
                vid = c.put_secret_value(SecretId=name, ClientRequestToken=token,
                                         SecretString=f"w{i}-{n}")["VersionId"]
                with lock:
                    acked.add(vid)

        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            list(pool.map(writer, range(6)))
        self.assertEqual(len(acked), 49)
        answers = []
        for c in self.clients:
            versions = c.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
            self.assertEqual({v["VersionId"] for v in versions}, acked)
            current = [v for v in versions if "AWSCURRENT" in v.get("VersionStages", [])]
            previous = [v for v in versions if "AWSPREVIOUS" in v.get("VersionStages", [])]
            self.assertEqual(len(current), 1)
            self.assertEqual(len(previous), 1)
            self.assertNotEqual(current[0]["VersionId"], previous[0]["VersionId"])
            self.assertGreaterEqual(current[0]["CreatedDate"], previous[0]["CreatedDate"])
            answers.append((current[0]["VersionId"], previous[0]["VersionId"],
                            c.get_secret_value(SecretId=name)["VersionId"]))
        self.assertEqual(len(set(answers)), 1, answers)
        self.assertEqual(answers[0][0], answers[0][2])

    # ---- changes everywhere ---------------------------------------------------------------------

    def test_a_change_through_one_replica_reaches_another_replicas_stream_within_a_second(self):
        name = unique("ha-watch")
        a, b = self.servers[0], self.servers[1]
        self.clients[0].create_secret(Name=name, SecretString="first")
        status, body, _, _ = get_changes(b, after="latest", credentials=self.creds)
        self.assertEqual(status, 200, body)
        head = body["NextSequence"]
        for attempt in range(3):
            result = {}

            def watch():
                result["resp"] = get_changes(b, after=head, wait=20, credentials=self.creds)
                result["at"] = time.monotonic()

            watcher = threading.Thread(target=watch)
            watcher.start()
            time.sleep(0.5)  # the long-poll is waiting on b
            token = self.clients[0].put_secret_value(SecretId=name,
                                                     SecretString=f"next-{attempt}")["VersionId"]
            acked = time.monotonic()
            watcher.join(30)
            status, body, _, _ = result["resp"]
            self.assertEqual(status, 200, body)
            self.assertIn(token, json.dumps(body))
            self.assertLess(result["at"] - acked, 1.0)
            head = body["NextSequence"]

    def test_a_replica_whose_listener_connection_broke_catches_up_after_reconnecting(self):
        name = unique("ha-catchup")
        self.clients[0].create_secret(Name=name, SecretString="before")
        b = self.clients[1]
        self.assertEqual(b.get_secret_value(SecretId=name)["SecretString"], "before")  # cached
        # Cut every replica's LISTEN connection, then write at once: the NOTIFY reaches nobody.
        killed = self.pg.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE application_name = 'arca-listener'", dbname="arca")
        self.assertEqual(killed, str(REPLICAS))
        self.clients[0].put_secret_value(SecretId=name, SecretString="after")
        acked = time.monotonic()
        # The listener reconnects and reads the heads once: b's cache empties without a notice.
        wait_for(lambda: b.get_secret_value(SecretId=name)["SecretString"] == "after",
                 "the write on the other replica after the reconnect", timeout=10, interval=0.01)
        self.assertLess(time.monotonic() - acked, 3.0)
        wait_for(lambda: self.pg.sql("SELECT count(*) FROM pg_stat_activity WHERE "
                                     "application_name = 'arca-listener'", dbname="arca")
                 == str(REPLICAS), "every listener back", timeout=10)

    def test_another_replicas_read_cache_sees_a_write_within_a_second(self):
        name = unique("ha-cache")
        self.clients[0].create_secret(Name=name, SecretString="old")
        b = self.clients[1]
        self.assertEqual(b.get_secret_value(SecretId=name)["SecretString"], "old")  # cached on b
        worst = 0.0
        for n in range(5):
            self.clients[0].put_secret_value(SecretId=name, SecretString=f"new-{n}")
            acked = time.monotonic()
            wait_for(lambda: b.get_secret_value(SecretId=name)["SecretString"] == f"new-{n}",
                     "the write on the other replica", timeout=5, interval=0.005)
            worst = max(worst, time.monotonic() - acked)
        self.assertLess(worst, 1.0)
        # Read-your-writes through one replica: at once.
        for n in range(5):
            self.clients[2].put_secret_value(SecretId=name, SecretString=f"own-{n}")
            self.assertEqual(self.clients[2].get_secret_value(SecretId=name)["SecretString"],
                             f"own-{n}")

    # ---- failures -------------------------------------------------------------------------------

    def test_kill9_of_a_replica_during_writes_loses_no_acknowledged_write(self):
        name = unique("ha-kill")
        self.clients[0].create_secret(Name=name, SecretString="v0")
        victim = self.servers[2]
        acked = []
        stop = threading.Event()

        def writer():
            c = self.client(victim)
            n = 0
            while not stop.is_set():
                try:
                    acked.append(c.put_secret_value(SecretId=name, SecretString=f"k{n}")["VersionId"])
                except Exception:  # noqa: BLE001 - the replica is gone: unacknowledged
                    return
                n += 1

        t = threading.Thread(target=writer)
        t.start()
        wait_for(lambda: len(acked) >= 20, "20 acknowledged writes", timeout=60)
        victim.kill9()
        stop.set()
        t.join(30)
        stored = {v["VersionId"] for v in self.clients[0].list_secret_version_ids(
            SecretId=name, IncludeDeprecated=True)["Versions"]}
        self.assertTrue(set(acked) <= stored, set(acked) - stored)
        # The replica doing the background work seals the dead replica's audit chain: it ends
        # with a digest (signed with the shared key), and every chain verifies.
        chain = self.pg.sql(f"SELECT DISTINCT chain FROM audit_chunks WHERE chain LIKE "
                            f"'%:{victim.data_dir}'", dbname="arca")
        self.assertTrue(chain)

        def last_line():
            data = self.pg.sql(f"SELECT convert_from(data, 'UTF8') FROM audit_chunks WHERE "
                               f"chain = '{chain}' ORDER BY file DESC, \"offset\" DESC LIMIT 1",
                               dbname="arca")
            return data.strip().splitlines()[-1]

        # (its alive lease runs out after 10 s; the sealer must hold the work for 6 s)
        wait_for(lambda: '"arcaRecordType":"Digest"' in last_line(), "the dead chain sealed",
                 timeout=45)
        rc, out, err = run_arca("audit", "verify", "--store", self.url)
        self.assertEqual(rc, 0, out + err)
        # The others went on serving; the victim comes back on the same database.
        self.assertEqual(self.servers[1].get("/readyz").status, 200)
        victim.start()
        self.assertEqual(self.client(victim).get_secret_value(SecretId=name)["VersionId"],
                         self.clients[0].get_secret_value(SecretId=name)["VersionId"])

    def test_postgres_restart_under_load_gives_retryable_errors_and_the_servers_recover(self):
        name = unique("ha-pgdown")
        self.clients[0].create_secret(Name=name, SecretString="v0")
        errors = []
        ok_after = []
        stop = threading.Event()
        restarted = threading.Event()

        def load(i):
            c = self.client(self.servers[i % REPLICAS])
            n = 0
            while not stop.is_set():
                try:
                    if n % 2:
                        c.put_secret_value(SecretId=name, SecretString=f"l{i}-{n}")
                    else:
                        c.describe_secret(SecretId=name)
                    if restarted.is_set():
                        ok_after.append(i)
                except botocore.exceptions.ClientError as e:
                    errors.append((e.response["Error"]["Code"],
                                   e.response["ResponseMetadata"]["HTTPStatusCode"]))
                    time.sleep(0.05)
                n += 1

        threads = [threading.Thread(target=load, args=(i,)) for i in range(REPLICAS)]
        for t in threads:
            t.start()
        time.sleep(1)
        self.pg.stop("fast")
        try:
            wait_for(lambda: len(errors) >= REPLICAS, "errors while PostgreSQL is down", timeout=30)
            self.assertEqual(self.servers[0].get("/readyz").status, 503)
            time.sleep(1)
        finally:
            self.pg.start()
        restarted.set()
        wait_for(lambda: {i % REPLICAS for i in ok_after} == set(range(REPLICAS)),
                 "every replica serving again", timeout=30)
        stop.set()
        for t in threads:
            t.join(30)
        self.assertTrue(errors)
        for code, status in errors:
            self.assertEqual((code, status), ("ServiceUnavailable", 503))
        for s in self.servers:
            self.assertTrue(s.running())
            wait_for(lambda: s.get("/readyz").status == 200, "ready again", timeout=10)

    # ---- background work once -------------------------------------------------------------------

    def test_purge_runs_on_the_lease_holder_and_fails_over_when_it_is_killed(self):
        holder = wait_for(lambda: self.lease_holder("purge"), "a purge lease holder")
        self.assertEqual(sum(1 for s in self.servers if self.lease_holder("purge") is s), 1)
        holder.kill9()
        killed_at = time.monotonic()
        name = unique("ha-purge")
        c = self.client(self.live()[0])
        c.create_secret(Name=name, SecretString="doomed")
        c.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        # Bring the end of the recovery window to now, as if 7 days had passed.
        self.pg.sql(f"UPDATE secrets SET purge_ms = 0 WHERE name = '{name}'", dbname="arca")

        def purged():
            try:
                c.describe_secret(SecretId=name)
                return False
            except botocore.exceptions.ClientError as e:
                return e.response["Error"]["Code"] == "ResourceNotFoundException"

        wait_for(purged, "the purge by another replica", timeout=30)
        self.assertLess(time.monotonic() - killed_at, 20)
        new_holder = self.lease_holder("purge")
        self.assertIsNotNone(new_holder)
        self.assertIsNot(new_holder, holder)

    def test_a_half_done_rotation_is_finished_by_another_replica_after_a_kill(self):
        holder = wait_for(lambda: self.lease_holder("rotation"), "a rotation lease holder")
        name = unique("ha-rot")
        c = self.client([s for s in self.servers if s is not holder][0])
        c.create_secret(Name=name, SecretString="before")
        self.hook.held.clear()
        self.hook.hold.set()
        try:
            arn = f"arn:aws:lambda:us-east-1:{DEFAULT_ACCOUNT}:function:hahook"
            token = c.rotate_secret(SecretId=name, RotationLambdaARN=arn)["VersionId"]
            self.assertTrue(self.hook.held.wait(30), "setSecret was never called")
            holder.kill9()  # in the middle of setSecret: createSecret is done, the rest is not
            killed_at = time.monotonic()
        finally:
            self.hook.hold.clear()

        def finished():
            d = c.describe_secret(SecretId=name)
            stages = d.get("VersionIdsToStages", {})
            return "AWSCURRENT" in stages.get(token, []) and \
                not any("AWSPENDING" in s for s in stages.values())

        wait_for(finished, "the rotation finished by another replica", timeout=60)
        self.assertLess(time.monotonic() - killed_at, 30)
        self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], "rotated-" + token[:8])
        self.assertEqual(c.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"],
                         "before")


if __name__ == "__main__":
    unittest.main()
