"""`arca migrate --from sqlite:PATH --to postgresql://...` (issue 9, item 6).

A server on the embedded SQLite store is filled through the real APIs (secrets with several
versions and staging labels, a binary secret, one scheduled for deletion, an IAM user with an
access key and policies, a role, a KMS key with an alias, SSM parameters including a SecureString),
stopped, migrated into a PostgreSQL 15 database the test starts, and a server on PostgreSQL with
the same master key then answers everything alike: values decrypt (ciphertext was copied as is),
the user's access key still signs, labels and deletion dates are unchanged. Migrating into a
database that already holds Arca data is refused, and so are malformed arguments.
"""

import json
import os
import shutil
import tempfile
import unittest

import types

from arca_harness import ArcaServer, make_master_key_text, run_arca as _run_arca, unique


def run_arca(*args):
    rc, out, err = _run_arca(*args)
    return types.SimpleNamespace(returncode=rc, stdout=out, stderr=err)
from pg_harness import PostgresCluster

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})


class MigrateTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-migrate-")
        cls.pg = PostgresCluster().init().start()
        cls.master_key = make_master_key_text()
        cls.env = {"ARCA_MASTER_KEY": cls.master_key}

    @classmethod
    def tearDownClass(cls):
        cls.pg.cleanup()
        if os.environ.get("ARCA_IT_KEEP") != "1":
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def fill(self, server):
        sm = server.client()
        app = unique("mig/app")
        sm.create_secret(Name=app, SecretString="v1")
        sm.put_secret_value(SecretId=app, SecretString="v2")
        sm.put_secret_value(SecretId=app, SecretString="v3", VersionStages=["CUSTOM"])
        sm.tag_resource(SecretId=app, Tags=[{"Key": "team", "Value": "infra"}])
        binary = unique("mig/bin")
        sm.create_secret(Name=binary, SecretBinary=b"\x00\x01\xfe\xff")
        doomed = unique("mig/doomed")
        sm.create_secret(Name=doomed, SecretString="bye")
        sm.delete_secret(SecretId=doomed, RecoveryWindowInDays=7)
        deletion = sm.describe_secret(SecretId=doomed)["DeletedDate"]
        iam = server.client(service="iam")
        iam.create_user(UserName="alice", Tags=[{"Key": "dept", "Value": "ops"}])
        arn = iam.create_policy(PolicyName="read", PolicyDocument=POLICY)["Policy"]["Arn"]
        iam.attach_user_policy(UserName="alice", PolicyArn=arn)
        iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=POLICY)
        key = iam.create_access_key(UserName="alice")["AccessKey"]
        iam.create_role(RoleName="app-role", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                                                     "Action": "sts:AssumeRole"}]}))
        kms = server.client(service="kms")
        key_id = kms.create_key(Description="mig")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/mig", TargetKeyId=key_id)
        ssm = server.client(service="ssm")
        ssm.put_parameter(Name="/mig/plain", Value="hello", Type="String")
        ssm.put_parameter(Name="/mig/secure", Value="s3cret", Type="SecureString", KeyId="alias/mig")
        ssm.put_parameter(Name="/mig/plain", Value="hello2", Type="String", Overwrite=True)
        return {"app": app, "binary": binary, "doomed": doomed, "deletion": deletion,
                "user_key": (key["AccessKeyId"], key["SecretAccessKey"]), "policy": arn,
                "stages": {v["VersionId"]: sorted(v["VersionStages"]) for v in
                           sm.list_secret_version_ids(SecretId=app)["Versions"]}}

    def test_migrate_copies_everything_and_a_postgres_server_answers_alike(self):
        sqlite_server = ArcaServer(env=self.env)
        sqlite_server.start()
        try:
            facts = self.fill(sqlite_server)
            creds = sqlite_server.credentials()
        finally:
            sqlite_server.stop()
        self.pg.create_database("migrated")
        url = self.pg.url("migrated")
        db = os.path.join(sqlite_server.data_dir, "arca.db")
        p = run_arca("migrate", "--from", "sqlite:" + db, "--to", url)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("Verified", p.stdout)
        for table in ("secrets: ", "versions: ", "access_keys: ", "iam_users: ", "kms_keys: ",
                      "parameter_versions: ", "changes: "):
            self.assertIn(table, p.stdout)
        self.assertNotIn("s3cret", p.stdout + p.stderr)

        pg_server = ArcaServer(extra_args=["--store", url], env=self.env)
        pg_server.start()
        try:
            sm = pg_server.client(credentials=creds)
            self.assertEqual(sm.get_secret_value(SecretId=facts["app"])["SecretString"], "v2")
            self.assertEqual(sm.get_secret_value(SecretId=facts["app"],
                                                 VersionStage="CUSTOM")["SecretString"], "v3")
            self.assertEqual(sm.get_secret_value(SecretId=facts["app"],
                                                 VersionStage="AWSPREVIOUS")["SecretString"], "v1")
            self.assertEqual({v["VersionId"]: sorted(v["VersionStages"]) for v in
                              sm.list_secret_version_ids(SecretId=facts["app"])["Versions"]},
                             facts["stages"])
            self.assertEqual(sm.describe_secret(SecretId=facts["app"])["Tags"],
                             [{"Key": "team", "Value": "infra"}])
            self.assertEqual(sm.get_secret_value(SecretId=facts["binary"])["SecretBinary"],
                             b"\x00\x01\xfe\xff")
            self.assertEqual(sm.describe_secret(SecretId=facts["doomed"])["DeletedDate"],
                             facts["deletion"])
            # The user's access key (its secret sealed under the master key) still signs.
            as_alice = pg_server.client(credentials=facts["user_key"])
            self.assertEqual(as_alice.get_secret_value(SecretId=facts["app"])["SecretString"], "v2")
            iam = pg_server.client(service="iam", credentials=creds)
            self.assertEqual([p["PolicyArn"] for p in
                              iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]],
                             [facts["policy"]])
            self.assertEqual(iam.list_user_policies(UserName="alice")["PolicyNames"], ["inline"])
            self.assertEqual(iam.list_user_tags(UserName="alice")["Tags"],
                             [{"Key": "dept", "Value": "ops"}])
            self.assertEqual(iam.get_role(RoleName="app-role")["Role"]["RoleName"], "app-role")
            ssm = pg_server.client(service="ssm", credentials=creds)
            self.assertEqual(ssm.get_parameter(Name="/mig/secure", WithDecryption=True)
                             ["Parameter"]["Value"], "s3cret")
            self.assertEqual(ssm.get_parameter(Name="/mig/plain")["Parameter"]["Version"], 2)
            kms = pg_server.client(service="kms", credentials=creds)
            self.assertIn("alias/mig", [a["AliasName"] for a in kms.list_aliases()["Aliases"]])
            # It keeps working as a store: a write after the migration.
            sm.put_secret_value(SecretId=facts["app"], SecretString="v4")
            self.assertEqual(sm.get_secret_value(SecretId=facts["app"])["SecretString"], "v4")
        finally:
            pg_server.cleanup()

        # Into a database that holds Arca data: refused, nothing changed.
        again = run_arca("migrate", "--from", "sqlite:" + db, "--to", url)
        self.assertEqual(again.returncode, 1)
        self.assertIn("already holds Arca data", again.stderr)
        sqlite_server.cleanup()

    def test_bad_arguments_are_refused(self):
        p = run_arca("migrate", "--from", "/no/scheme.db", "--to", self.pg.url("postgres"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("sqlite:PATH", p.stderr)
        p = run_arca("migrate", "--from", "sqlite:/x.db", "--to", "mysql://nope")
        self.assertEqual(p.returncode, 2)
        p = run_arca("migrate", "--from", "sqlite:/does/not/exist.db", "--to", self.pg.url("postgres"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("no SQLite database", p.stderr)
        p = run_arca("migrate", "--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("Example", p.stdout)


if __name__ == "__main__":
    unittest.main()
