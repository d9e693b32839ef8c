"""The audit log in PostgreSQL: two `arca server` replicas with `--store postgresql://...` on one
database (a real PostgreSQL 15 the test starts, as in test_rotation_postgres.py).

- Each replica's records are rows of the database (one hash chain per replica), not files under
  its data directory: deleting a replica's data directory loses no record.
- CloudTrail LookupEvents on either replica returns both replicas' records, newest first, and its
  pages cover every record once.
- `arca audit verify --store URL` (no master key) checks every chain and names each; an UPDATE of
  one record's row is reported at that record and chain, and verify exits 1.

Skipped when PostgreSQL 15 (initdb) or psql is missing.
"""

import json
import re
import os
import shutil
import unittest

from arca_harness import ArcaServer, make_master_key_text, run_arca, unique
from pg_harness import PostgresCluster, have_postgres


@unittest.skipUnless(have_postgres(), "PostgreSQL 15 (initdb) or psql not installed")
class AuditInPostgresTest(unittest.TestCase):
    cluster = None
    servers = []

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = PostgresCluster()
        try:
            cls.cluster.init().start()
            cls.password = "pw-" + unique("a")
            cls.cluster.sql(f"CREATE ROLE arca LOGIN PASSWORD '{cls.password}'")
            cls.cluster.sql("CREATE DATABASE arca OWNER arca")
            cls.url = (f"postgresql://arca:{cls.password}@127.0.0.1:{cls.cluster.port}/arca"
                       "?sslmode=disable")
            # Replicas share the master key (it seals the deployment's audit signing key).
            cls.env = {"ARCA_MASTER_KEY": make_master_key_text()}
            cls.servers = [ArcaServer(extra_args=["--store", cls.url], env=cls.env)
                           for _ in range(2)]
            for s in cls.servers:
                s.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.cleanup()
        if cls.cluster is not None:
            cls.cluster.cleanup()
        super().tearDownClass()

    def credentials(self, server):
        # With a shared store only the first replica writes the admin credentials file.
        for s in [server] + self.servers:
            if os.path.exists(s.credentials_path):
                return s.credentials()
        raise AssertionError("no credentials file")

    def client(self, server, service):
        return server.client(service=service, credentials=self.credentials(server))

    def verify(self, *extra):
        return run_arca("audit", "verify", "--store", self.url, *extra)

    def test_records_of_every_replica_are_in_postgres_and_verify(self):
        a, b = self.servers
        names = {}
        for i, s in enumerate(self.servers):
            sm = self.client(s, "secretsmanager")
            for j in range(3):
                name = unique(f"replica{i}-{j}")
                sm.create_secret(Name=name, SecretString="v")
                names[name] = i
        # Nothing under the data directories: the records are rows.
        for s in self.servers:
            audit_dir = os.path.join(s.data_dir, "audit")
            files = os.listdir(audit_dir) if os.path.isdir(audit_dir) else []
            self.assertEqual([f for f in files if f.endswith(".jsonl")], [], s.data_dir)
        chains = self.cluster.sql("SELECT DISTINCT chain FROM audit_chunks ORDER BY 1",
                                  dbname="arca").splitlines()
        self.assertEqual(len(chains), 2, chains)
        for s in self.servers:
            self.assertTrue(any(c.endswith(":" + s.data_dir) for c in chains), chains)

        # LookupEvents on either replica: both replicas' CreateSecret records, newest first, and
        # pages that cover each exactly once.
        for s in (a, b):
            ct = self.client(s, "cloudtrail")
            seen, token = [], None
            while True:
                kw = {"LookupAttributes": [{"AttributeKey": "EventName",
                                            "AttributeValue": "CreateSecret"}],
                      "MaxResults": 2}
                if token:
                    kw["NextToken"] = token
                page = ct.lookup_events(**kw)
                seen += page["Events"]
                token = page.get("NextToken")
                if not token:
                    break
            got = [json.loads(e["CloudTrailEvent"])["requestParameters"]["name"] for e in seen]
            self.assertEqual(sorted(got), sorted(names), got)
            times = [e["EventTime"] for e in seen]
            self.assertEqual(times, sorted(times, reverse=True))

        for s in self.servers:
            s.stop()
        try:
            # No master key needed: the public key is stored in clear.
            rc, out, err = self.verify()
            self.assertEqual(rc, 0, out + err)
            self.assertIn("2 audit chains: OK", out)
            for s in self.servers:
                self.assertIn(":" + s.data_dir + ": OK", out)
                self.assertIn("clean-shutdown digest", out)
            self.assertNotIn(self.password, out + err)

            # Losing a replica's disk loses no record.
            shutil.rmtree(a.data_dir, ignore_errors=True)
            rc, out, err = self.verify()
            self.assertEqual(rc, 0, out + err)

            # An edited record is reported at its record and chain.
            victim = next(n for n, i in names.items() if i == 1)
            self.cluster.sql(
                "UPDATE audit_chunks SET data = convert_to(replace(convert_from(data, 'UTF8'), "
                f"'{victim}', '{victim[:-1]}X'), 'UTF8') "
                f"WHERE position('{victim}'::bytea IN data) > 0", dbname="arca")
            rc, out, err = self.verify()
            self.assertEqual(rc, 1, out + err)
            self.assertIn("2 audit chains: 1 FAILED", out)
            self.assertRegex(out, r"chain [^\n]*" + re.escape(b.data_dir) + r": FAILED: edited record")
        finally:
            os.makedirs(a.data_dir, exist_ok=True)


if __name__ == "__main__":
    unittest.main()
