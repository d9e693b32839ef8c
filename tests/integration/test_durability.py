"""Durability and the storage's secrecy: kill -9 under writes, no plaintext on disk or in logs,
tampered ciphertext, the wrong master key, and a graceful SIGTERM.

Each test starts its own server (the tests stop, kill and restart it).
"""

import base64
import os
import random
import signal
import sqlite3
import threading
import time
import unittest
import uuid

import botocore.exceptions

from arca_harness import ArcaServer, ArcaTestCase, make_master_key_text, new_token, unique


class DurabilityTestBase(ArcaTestCase):
    """A fresh server per test."""

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()

    @classmethod
    def tearDownClass(cls):
        unittest.TestCase.tearDownClass()

    def setUp(self):
        self.server = ArcaServer()
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.sm = self.server.client()

    def reconnect(self):
        self.sm = self.server.client()
        return self.sm


class KillNineTest(DurabilityTestBase):
    VERSIONS_PER_SECRET = 40  # stay well under AWS's 100-versions-per-secret limit

    def writer(self, wid, stop, acked, inflight, errors):
        """Writes until stopped or the server dies. `acked` gets (name, version id, value) once the
        server answered; `inflight[wid]` holds the one write that was sent but not answered."""
        c = self.server.client()
        n = 0
        name = None
        try:
            while not stop.is_set():
                token = new_token()
                if n % self.VERSIONS_PER_SECRET == 0:
                    name = f"dur-{wid}-{n // self.VERSIONS_PER_SECRET}-{uuid.uuid4().hex[:8]}"
                    value = f"{name}:create:{uuid.uuid4().hex}"
                    inflight[wid] = (name, token, value)
                    out = c.create_secret(Name=name, SecretString=value, ClientRequestToken=token)
                else:
                    value = f"{name}:{n}:{uuid.uuid4().hex}"
                    inflight[wid] = (name, token, value)
                    out = c.put_secret_value(SecretId=name, SecretString=value,
                                             ClientRequestToken=token)
                if out["VersionId"] != token:
                    errors.append(f"VersionId {out['VersionId']} is not the token {token}")
                acked.append((name, out["VersionId"], value))
                inflight.pop(wid, None)
                n += 1
        except (botocore.exceptions.EndpointConnectionError,
                botocore.exceptions.ConnectionClosedError,
                botocore.exceptions.ReadTimeoutError, ConnectionError):
            pass  # the server was killed under us: this write was not acknowledged
        except Exception as e:  # noqa: BLE001 - reported by the test
            if not stop.is_set():
                errors.append(repr(e))

    def run_round(self, rnd):
        stop = threading.Event()
        acked, errors, inflight = [], [], {}
        threads = [threading.Thread(target=self.writer,
                                    args=(f"{rnd}{w}", stop, acked, inflight, errors))
                   for w in range(3)]
        for t in threads:
            t.start()
        # Let some writes land first (a loaded machine may be slow), then kill at a random moment.
        deadline = time.monotonic() + 10
        while len(acked) < 6 and time.monotonic() < deadline and not errors:
            time.sleep(0.01)
        time.sleep(random.uniform(0.0, 1.0))
        self.server.kill9()
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [], self.server.log()[-3000:])
        self.assertGreater(len(acked), 5, "the writers made almost no progress")
        return list(acked), dict(inflight)

    def test_acknowledged_writes_survive_kill_9(self):
        all_acked = []
        all_inflight = {}
        for rnd in range(2):
            acked, inflight = self.run_round(rnd)
            all_acked += acked
            for name, token, value in inflight.values():
                all_inflight[name] = (token, value)
            self.server.start()
            c = self.reconnect()
            missing = []
            for name, version_id, value in all_acked:
                try:
                    got = c.get_secret_value(SecretId=name, VersionId=version_id)
                except botocore.exceptions.ClientError as e:
                    missing.append((name, version_id, e.response["Error"]["Code"]))
                    continue
                if got.get("SecretString") != value:
                    missing.append((name, version_id, "wrong value"))
            self.assertEqual(missing, [], f"round {rnd}: {len(missing)} of {len(all_acked)} "
                                          f"acknowledged versions lost")
        # Each secret's AWSCURRENT is its last acknowledged write, or the one write that was in
        # flight at the kill (committed, but the answer never arrived): whole, never torn.
        last = {}
        for name, version_id, value in all_acked:
            last[name] = (version_id, value)
        for name, (version_id, value) in last.items():
            got = c.get_secret_value(SecretId=name)
            allowed = [(version_id, value)]
            if name in all_inflight:
                allowed.append(all_inflight[name])
            self.assertIn((got["VersionId"], got["SecretString"]), allowed)
        # And the store is still writable.
        c.put_secret_value(SecretId=next(iter(last)), SecretString="after-recovery")


class PlaintextTest(DurabilityTestBase):

    def files_to_scan(self):
        paths = []
        for fn in os.listdir(self.server.data_dir):
            if fn.startswith("arca.db"):
                paths.append(os.path.join(self.server.data_dir, fn))
        return paths

    def assert_absent(self, needles, where):
        for path in self.files_to_scan():
            with open(path, "rb") as f:
                data = f.read()
            for n in needles:
                self.assertNotIn(n, data, f"{where}: {n[:40]!r} found in {path}")
        logs = self.server.all_logs_bytes()
        for n in needles:
            self.assertNotIn(n, logs, f"{where}: {n[:40]!r} found in the server's log")

    def test_values_never_stored_or_logged_in_clear(self):
        canary = "ARCA-CANARY-" + uuid.uuid4().hex + uuid.uuid4().hex
        binary = b"\x89BINCANARY" + os.urandom(8) + uuid.uuid4().bytes
        name = unique("canary")
        self.sm.create_secret(Name=name, SecretString=canary)
        for i in range(5):
            self.sm.put_secret_value(SecretId=name, SecretString=f"{canary}-{i}")
        self.sm.update_secret(SecretId=name, SecretString=canary + "-upd")
        self.sm.create_secret(Name=unique("canary-bin"), SecretBinary=binary)
        # A failing request carrying the value must not log it either.
        try:
            self.sm.put_secret_value(SecretId=unique("absent"), SecretString=canary)
        except botocore.exceptions.ClientError:
            pass
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], canary + "-upd")

        needles = [canary.encode(), base64.b64encode(canary.encode()),
                   base64.b64encode(canary.encode())[:40], canary.encode("utf-16-le"),
                   binary, base64.b64encode(binary)]
        _, secret_key = self.server.credentials()
        needles.append(secret_key.encode())
        with open(os.path.join(self.server.data_dir, "master.key"), "rb") as f:
            for line in f.read().splitlines():
                if line.startswith(b"arca-master-key "):
                    master_b64 = line.split()[-1]
                    needles += [master_b64, base64.b64decode(master_b64)]
        self.assertGreater(len(needles), 8, "no key line in master.key")
        self.assert_absent(needles, "while running")
        self.assertEqual(self.server.stop(), 0)
        self.assert_absent(needles, "after stop")


def find_ciphertext(db_path, version_id):
    """(table, column, rowid, value) of the stored ciphertext of one version, found by inspecting
    the schema: a column whose name contains 'cipher' in the row that holds the version id."""
    con = sqlite3.connect(db_path)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for table in tables:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            cipher_cols = [c for c in cols if "cipher" in c.lower()]
            if not cipher_cols:
                continue
            for row in con.execute(f'SELECT rowid, * FROM "{table}"'):
                rowid, values = row[0], row[1:]
                texts = [v.decode("latin-1") if isinstance(v, bytes) else str(v) for v in values]
                if version_id in texts:
                    col = cipher_cols[0]
                    return table, col, rowid, values[cols.index(col)]
        raise AssertionError(f"no ciphertext column found for version {version_id}; tables: {tables}")
    finally:
        con.close()


def tamper(value):
    if isinstance(value, bytes):
        b = bytearray(value)
        b[len(b) // 2] ^= 0x01
        return bytes(b)
    s = list(value)
    i = len(s) // 2
    s[i] = "A" if s[i] != "A" else "B"  # still valid base64/hex-ish text, different bytes
    return "".join(s)


class TamperTest(DurabilityTestBase):

    def test_flipped_ciphertext_byte_is_an_error_not_a_crash(self):
        victim = unique("victim")
        vid = self.sm.create_secret(Name=victim, SecretString="tamper-me")["VersionId"]
        bystander = unique("bystander")
        self.sm.create_secret(Name=bystander, SecretString="fine")
        self.assertEqual(self.server.stop(), 0)

        db = os.path.join(self.server.data_dir, "arca.db")
        table, col, rowid, value = find_ciphertext(db, vid)
        con = sqlite3.connect(db)
        con.execute(f'UPDATE "{table}" SET "{col}" = ? WHERE rowid = ?', (tamper(value), rowid))
        con.commit()
        con.close()

        self.server.start()
        sm = self.reconnect()
        with self.assertAwsError(("DecryptionFailure", "InternalServiceError"), client=sm):
            sm.get_secret_value(SecretId=victim)
        self.assertTrue(self.server.running(), self.server.log()[-3000:])
        self.assertEqual(sm.get_secret_value(SecretId=bystander)["SecretString"], "fine")
        # Metadata still reads; the server keeps serving.
        self.assertEqual(sm.describe_secret(SecretId=victim)["Name"], victim)
        sm.put_secret_value(SecretId=victim, SecretString="repaired")
        self.assertEqual(sm.get_secret_value(SecretId=victim)["SecretString"], "repaired")
        # The failure was not logged with the plaintext.
        self.assertNotIn(b"tamper-me", self.server.all_logs_bytes())


class WrongMasterKeyTest(DurabilityTestBase):

    def seed(self):
        self.sm.create_secret(Name=unique("mk"), SecretString="under-the-right-key")
        self.assertEqual(self.server.stop(), 0)

    def assert_refuses(self, env=None):
        self.server.spawn(env=env)
        rc, log = self.server.wait_exit()
        self.assertNotEqual(rc, 0, log)
        self.assertIn("master key", log.lower(), log)
        self.assertNotIn('"msg":"listening"', log.replace(" ", ""))

    def test_replaced_master_key_file(self):
        self.seed()
        path = os.path.join(self.server.data_dir, "master.key")
        with open(path, "w") as f:
            f.write(make_master_key_text(1))
        os.chmod(path, 0o600)
        self.assert_refuses()

    def test_other_key_in_environment(self):
        self.seed()
        self.assert_refuses(env={"ARCA_MASTER_KEY": make_master_key_text(1).strip()})

    def test_master_key_readable_by_others_is_refused(self):
        self.seed()
        path = os.path.join(self.server.data_dir, "master.key")
        os.chmod(path, 0o644)
        self.server.spawn()
        rc, log = self.server.wait_exit()
        self.assertNotEqual(rc, 0, log)
        self.assertIn("master", log.lower())
        os.chmod(path, 0o600)
        self.server.start()


class SigtermTest(DurabilityTestBase):

    def test_in_flight_request_finishes_and_exit_is_zero(self):
        name = unique("term")
        self.sm.create_secret(Name=name, SecretString="before")
        body = ('{"SecretId": "%s", "SecretString": "during-shutdown", "ClientRequestToken": "%s"}'
                % (name, new_token())).encode()
        headers, body = self.server.signed_request("secretsmanager.PutSecretValue", body)
        s = self.server.connect(timeout=20)
        try:
            head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\n\r\n"
            # Headers and half the body arrive, then SIGTERM, then the rest of the body.
            s.sendall(head.encode() + body[:10])
            time.sleep(0.3)
            self.server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            s.sendall(body[10:])
            data = b""
            while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:500])
        rc = self.server.proc.wait(30)
        self.assertEqual(rc, 0, self.server.log()[-3000:])
        self.server.start()
        got = self.server.client().get_secret_value(SecretId=name)
        self.assertEqual(got["SecretString"], "during-shutdown")

    def test_sigterm_under_load(self):
        stop = threading.Event()
        bad = []
        done = [0]

        def worker(i):
            c = self.server.client()
            name = unique(f"load{i}")
            try:
                c.create_secret(Name=name, SecretString="0")
            except Exception as e:  # noqa: BLE001
                bad.append(repr(e))
                return
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    c.put_secret_value(SecretId=name, SecretString=str(n))
                    done[0] += 1
                except (botocore.exceptions.EndpointConnectionError,
                        botocore.exceptions.ConnectionClosedError, ConnectionError):
                    return  # refused or closed after the drain: acceptable
                except botocore.exceptions.ClientError as e:
                    bad.append(f"{e.response['Error']['Code']}: {e}")  # a 5xx mid-shutdown
                    return
                except Exception as e:  # noqa: BLE001
                    bad.append(repr(e))
                    return

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while done[0] < 8 and time.monotonic() < deadline and not bad:
            time.sleep(0.01)
        time.sleep(0.2)
        t0 = time.monotonic()
        self.server.proc.send_signal(signal.SIGTERM)
        rc = self.server.proc.wait(30)
        elapsed = time.monotonic() - t0
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual(rc, 0, self.server.log()[-3000:])
        self.assertLess(elapsed, 10, "shutdown took too long")
        self.assertEqual(bad, [])
        self.assertGreater(done[0], 0)
        log = self.server.log().lower()
        self.assertTrue("stop" in log or "shut" in log, "no shutdown line in the log")


if __name__ == "__main__":
    unittest.main()
