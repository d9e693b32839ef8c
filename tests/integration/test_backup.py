"""`arca backup` and `arca restore`: an online snapshot of the SQLite store taken while boto3 keeps
writing, restored into a new data directory with the same master key and served again; restore into
a running server's directory is refused; a restored database with another master key is refused at
start.

Each test starts its own servers.
"""

import os
import shutil
import stat
import tempfile
import threading
import time
import unittest
import uuid

from arca_harness import ArcaServer, make_master_key_text, run_arca, unique

MISMATCH = "the master key does not match this data directory"


class BackupRestoreTest(unittest.TestCase):

    def setUp(self):
        self.server = ArcaServer()
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.sm = self.server.client()
        self.work = tempfile.mkdtemp(prefix="arca-it-backup-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def new_data_dir(self, with_master_key=True):
        d = tempfile.mkdtemp(prefix="arca-it-restore-")
        self.addCleanup(shutil.rmtree, d, True)
        if with_master_key:
            dst = os.path.join(d, "master.key")
            shutil.copyfile(os.path.join(self.server.data_dir, "master.key"), dst)
            os.chmod(dst, 0o600)
        return d

    def seed(self):
        """Secrets with several versions and labels; returns {name: {version id: (value, stages)}}."""
        expected = {}
        for i in range(6):
            name = unique("bk")
            self.sm.create_secret(Name=name, SecretString=f"{name}:v1:{uuid.uuid4().hex}")
            self.sm.put_secret_value(SecretId=name, SecretString=f"{name}:v2:{uuid.uuid4().hex}")
            if i % 2 == 0:
                out = self.sm.put_secret_value(SecretId=name,
                                               SecretString=f"{name}:staged:{uuid.uuid4().hex}",
                                               VersionStages=["canary"])
                self.assertEqual(out["VersionStages"], ["canary"])
            expected[name] = self.read_versions(self.sm, name)
        return expected

    @staticmethod
    def read_versions(sm, name):
        out = {}
        ids = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        for v in ids:
            value = sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"]
            out[v["VersionId"]] = (value, sorted(v.get("VersionStages", [])))
        return out

    def writer(self, stop, acked, errors):
        """Creates secrets and adds versions until stopped; `acked` gets (name, value) of every write
        the server answered."""
        c = self.server.client()
        n = 0
        try:
            while not stop.is_set():
                name = f"bk-writer-{n}-{uuid.uuid4().hex[:8]}"
                value = f"{name}:{uuid.uuid4().hex}"
                c.create_secret(Name=name, SecretString=value)
                acked.append((name, value))
                value2 = f"{name}:second:{uuid.uuid4().hex}"
                c.put_secret_value(SecretId=name, SecretString=value2)
                acked.append((name, value2))
                n += 1
        except Exception as e:  # noqa: BLE001 - reported by the test
            errors.append(e)

    def test_online_backup_restores_into_a_new_data_dir_with_the_same_master_key(self):
        expected = self.seed()
        stop = threading.Event()
        acked, errors = [], []
        t = threading.Thread(target=self.writer, args=(stop, acked, errors), daemon=True)
        t.start()
        try:
            deadline = time.monotonic() + 30
            while len(acked) < 20 and not errors and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertFalse(errors, errors)
            self.assertGreaterEqual(len(acked), 20, "the writer made no progress")
            acked_before = list(acked)  # every write answered before the backup began

            out = os.path.join(self.work, "arca-backup.db")
            rc, stdout, stderr = run_arca("backup", "--data-dir", self.server.data_dir,
                                          "--out", out)
            acked_during = len(acked)
        finally:
            stop.set()
            t.join(30)
        self.assertFalse(errors, errors)
        self.assertEqual(rc, 0, stdout + stderr)
        self.assertIn("master key is NOT in the backup", stdout)
        self.assertIn(os.path.join(self.server.data_dir, "master.key"), stdout)
        self.assertRegex(stdout, r"secrets:\s+\d+")
        self.assertGreaterEqual(acked_during, len(acked_before))

        st = os.stat(out)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(out, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"SQLite format 3\0"))
        # Values stay sealed in the backup.
        for name, versions in expected.items():
            for value, _ in versions.values():
                self.assertNotIn(value.encode(), data)
        for _, value in acked_before[:10]:
            self.assertNotIn(value.encode(), data)

        # A second backup never overwrites the first.
        rc, stdout2, stderr2 = run_arca("backup", "--data-dir", self.server.data_dir, "--out", out)
        self.assertNotEqual(rc, 0, stdout2)
        self.assertIn("already exists", stderr2)

        # Restoring into the directory of the running server is refused; it keeps serving.
        rc, so, se = run_arca("restore", "--data-dir", self.server.data_dir, "--from", out,
                              "--force")
        self.assertNotEqual(rc, 0, so + se)
        self.assertIn("running", se)
        name0 = next(iter(expected))
        self.sm.get_secret_value(SecretId=name0)
        self.assertTrue(self.server.running())

        # Restore into a new data directory holding the same master key.
        new_dir = self.new_data_dir()
        rc, so, se = run_arca("restore", "--data-dir", new_dir, "--from", out)
        self.assertEqual(rc, 0, so + se)
        self.assertIn("master key", so)
        db = os.path.join(new_dir, "arca.db")
        self.assertEqual(stat.S_IMODE(os.stat(db).st_mode), 0o600)
        # Without --force an existing database is not replaced.
        rc, so2, se2 = run_arca("restore", "--data-dir", new_dir, "--from", out)
        self.assertNotEqual(rc, 0, so2 + se2)
        self.assertIn("--force", se2)

        restored = ArcaServer(data_dir=new_dir)
        self.addCleanup(restored.cleanup)
        restored.start()
        sm2 = restored.client(credentials=self.server.credentials())
        for name, versions in expected.items():
            self.assertEqual(self.read_versions(sm2, name), versions, name)
        for name, value in acked_before:
            ids = sm2.list_secret_version_ids(SecretId=name)["Versions"]
            values = [sm2.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"]
                      for v in ids]
            self.assertIn(value, values, name)
        # The restored server takes new writes.
        sm2.put_secret_value(SecretId=name0, SecretString="after-restore")
        self.assertEqual(sm2.get_secret_value(SecretId=name0)["SecretString"], "after-restore")
        self.assertEqual(restored.stop(), 0)

    def test_restored_database_with_another_master_key_is_refused_at_start(self):
        self.seed()
        out = os.path.join(self.work, "b.db")
        rc, so, se = run_arca("backup", "--data-dir", self.server.data_dir, "--out", out)
        self.assertEqual(rc, 0, so + se)

        new_dir = self.new_data_dir(with_master_key=False)
        rc, so, se = run_arca("restore", "--data-dir", new_dir, "--from", out)
        self.assertEqual(rc, 0, so + se)
        self.assertIn("no master key at", so)
        key = os.path.join(new_dir, "master.key")
        with open(key, "w") as f:
            f.write(make_master_key_text(1))
        os.chmod(key, 0o600)
        other = ArcaServer(data_dir=new_dir)
        self.addCleanup(other.cleanup)
        other.spawn()
        rc, log = other.wait_exit()
        self.assertNotEqual(rc, 0, log)
        self.assertIn(MISMATCH, log)
        self.assertNotIn('"msg":"listening"', log.replace(" ", ""))

    def test_restore_refuses_files_that_are_not_arca_backups(self):
        new_dir = self.new_data_dir()
        junk = os.path.join(self.work, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"not a database" * 100)
        rc, so, se = run_arca("restore", "--data-dir", new_dir, "--from", junk)
        self.assertNotEqual(rc, 0, so + se)
        self.assertIn("not an SQLite database", se)
        rc, so, se = run_arca("restore", "--data-dir", new_dir, "--from",
                              os.path.join(self.work, "missing.db"))
        self.assertNotEqual(rc, 0, so + se)
        self.assertIn("no backup file", se)
        self.assertFalse(os.path.exists(os.path.join(new_dir, "arca.db")))
        # --out and --from are required.
        rc, _, _ = run_arca("backup", "--data-dir", new_dir)
        self.assertEqual(rc, 2)
        rc, _, _ = run_arca("restore", "--data-dir", new_dir)
        self.assertEqual(rc, 2)


if __name__ == "__main__":
    unittest.main()
