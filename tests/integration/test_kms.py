"""KMS against a real `arca server`: the TrentService API through boto3 and the aws CLI, and secrets
encrypted under customer managed keys (disabled keys, rotation, deletion, IAM permissions on keys).

Debian's botocore 1.29 lacks RotateKeyOnDemand and ListKeyRotations: those go through the harness's
raw signed call (`api`), so the assertions are the same with either Python.
"""

import base64
import json
import os
import tempfile
import unittest

import botocore.exceptions

from arca_harness import DEFAULT_ACCOUNT, ArcaTestCase, aws_cli, unique

ACCOUNT = DEFAULT_ACCOUNT


def policy_doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*"):
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def b64(blob):
    """A blob from boto3 (bytes) or from a raw call (base64 text) as bytes."""
    return blob if isinstance(blob, bytes) else base64.b64decode(blob)


class KmsApiTest(ArcaTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client(service="kms")

    def new_key(self, description="test key", **kw):
        meta = self.kms.create_key(Description=description, **kw)["KeyMetadata"]
        return meta

    def test_create_and_describe(self):
        meta = self.new_key(description="orders", Tags=[{"TagKey": "team", "TagValue": "shop"}])
        self.assertRegex(meta["KeyId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual(meta["Arn"], f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{meta['KeyId']}")
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertTrue(meta["Enabled"])
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["KeyManager"], "CUSTOMER")
        self.assertEqual(meta["Origin"], "AWS_KMS")
        got = self.kms.describe_key(KeyId=meta["Arn"])["KeyMetadata"]
        self.assertEqual(got["KeyId"], meta["KeyId"])
        self.assertEqual(got["Description"], "orders")
        keys = [k["KeyId"] for k in self.kms.list_keys(Limit=1000)["Keys"]]
        self.assertIn(meta["KeyId"], keys)
        tags = self.kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"]
        self.assertEqual(tags, [{"TagKey": "team", "TagValue": "shop"}])
        with self.assertAwsError("NotFoundException", client=self.kms):
            self.kms.describe_key(KeyId="11111111-2222-3333-4444-555555555555")

    def test_aws_managed_keys(self):
        names = [a["AliasName"] for a in self.kms.list_aliases(Limit=100)["Aliases"]]
        self.assertIn("alias/aws/secretsmanager", names)
        self.assertIn("alias/aws/ssm", names)
        meta = self.kms.describe_key(KeyId="alias/aws/secretsmanager")["KeyMetadata"]
        self.assertEqual(meta["KeyManager"], "AWS")
        self.assertEqual(meta["KeyState"], "Enabled")
        with self.assertAwsError(("UnsupportedOperationException", "NotAuthorizedException",
                                  "AccessDeniedException", "KMSInvalidStateException"), client=self.kms):
            self.kms.disable_key(KeyId=meta["KeyId"])
        with self.assertAwsError(("NotAuthorizedException", "InvalidAliasNameException",
                                  "AccessDeniedException"), client=self.kms):
            self.kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=self.new_key()["KeyId"])
        # Each region has its own.
        west = self.server.client(service="kms", region="eu-west-1")
        west_meta = west.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertTrue(west_meta["Arn"].startswith("arn:aws:kms:eu-west-1:"))

    def test_encrypt_decrypt_with_and_without_context(self):
        key = self.new_key()["KeyId"]
        blob = self.kms.encrypt(KeyId=key, Plaintext=b"hello")["CiphertextBlob"]
        self.assertNotIn(b"hello", blob)
        out = self.kms.decrypt(CiphertextBlob=blob)
        self.assertEqual(out["Plaintext"], b"hello")
        self.assertTrue(out["KeyId"].endswith(key))
        ctx = {"tenant": "a", "purpose": "test"}
        blob = self.kms.encrypt(KeyId=key, Plaintext=b"bound", EncryptionContext=ctx)["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(ctx.items())))
                         ["Plaintext"], b"bound")
        with self.assertAwsError("InvalidCiphertextException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"tenant": "b", "purpose": "test"})
        with self.assertAwsError("InvalidCiphertextException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=blob)
        with self.assertAwsError("IncorrectKeyException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=self.new_key()["KeyId"])
        with self.assertAwsError("InvalidCiphertextException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=b"not a blob at all, not at all")
        with self.assertAwsError("ValidationException", client=self.kms):
            self.kms.encrypt(KeyId=key, Plaintext=b"x" * 4097)

    def test_reencrypt(self):
        a, b = self.new_key()["KeyId"], self.new_key()["KeyId"]
        blob = self.kms.encrypt(KeyId=a, Plaintext=b"moving", EncryptionContext={"k": "1"})["CiphertextBlob"]
        out = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"k": "1"},
                                  DestinationKeyId=b, DestinationEncryptionContext={"k": "2"})
        self.assertTrue(out["KeyId"].endswith(b))
        self.assertTrue(out["SourceKeyId"].endswith(a))
        got = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"k": "2"})
        self.assertEqual(got["Plaintext"], b"moving")

    def test_data_keys_and_random(self):
        key = self.new_key()["KeyId"]
        dk = self.kms.generate_data_key(KeyId=key, KeySpec="AES_256", EncryptionContext={"file": "f1"})
        self.assertEqual(len(dk["Plaintext"]), 32)
        back = self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"file": "f1"})
        self.assertEqual(back["Plaintext"], dk["Plaintext"])
        self.assertEqual(len(self.kms.generate_data_key(KeyId=key, NumberOfBytes=64)["Plaintext"]), 64)
        self.assertEqual(len(self.kms.generate_data_key(KeyId=key, KeySpec="AES_128")["Plaintext"]), 16)
        no_plain = self.kms.generate_data_key_without_plaintext(KeyId=key, KeySpec="AES_256")
        self.assertNotIn("Plaintext", no_plain)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=no_plain["CiphertextBlob"])["Plaintext"]), 32)
        with self.assertAwsError("ValidationException", client=self.kms):
            self.kms.generate_data_key(KeyId=key, NumberOfBytes=2000)
        r1 = self.kms.generate_random(NumberOfBytes=48)["Plaintext"]
        r2 = self.kms.generate_random(NumberOfBytes=48)["Plaintext"]
        self.assertEqual(len(r1), 48)
        self.assertNotEqual(r1, r2)

    def test_aliases(self):
        a, b = self.new_key()["KeyId"], self.new_key()["KeyId"]
        name = "alias/" + unique("app")
        self.kms.create_alias(AliasName=name, TargetKeyId=a)
        with self.assertAwsError("AlreadyExistsException", client=self.kms):
            self.kms.create_alias(AliasName=name, TargetKeyId=b)
        blob = self.kms.encrypt(KeyId=name, Plaintext=b"via alias")["CiphertextBlob"]
        alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:{name}"
        self.assertTrue(self.kms.encrypt(KeyId=alias_arn, Plaintext=b"x")["KeyId"].endswith(a))
        listed = self.kms.list_aliases(KeyId=a)["Aliases"]
        self.assertEqual([x["AliasName"] for x in listed], [name])
        self.assertEqual(listed[0]["AliasArn"], alias_arn)
        self.kms.update_alias(AliasName=name, TargetKeyId=b)
        self.assertTrue(self.kms.describe_key(KeyId=name)["KeyMetadata"]["Arn"].endswith(b))
        # What was encrypted under the alias's old target still decrypts (the blob names the key).
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"via alias")
        self.kms.delete_alias(AliasName=name)
        with self.assertAwsError("NotFoundException", client=self.kms):
            self.kms.describe_key(KeyId=name)
        with self.assertAwsError(("ValidationException", "InvalidAliasNameException"), client=self.kms):
            self.kms.create_alias(AliasName="no-prefix", TargetKeyId=a)

    def test_disable_enable(self):
        key = self.new_key()["KeyId"]
        blob = self.kms.encrypt(KeyId=key, Plaintext=b"p")["CiphertextBlob"]
        self.kms.disable_key(KeyId=key)
        self.assertEqual(self.kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Disabled")
        with self.assertAwsError("DisabledException", client=self.kms):
            self.kms.encrypt(KeyId=key, Plaintext=b"p")
        with self.assertAwsError("DisabledException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=blob)
        self.kms.enable_key(KeyId=key)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"p")

    def test_rotation_keeps_old_material(self):
        key = self.new_key()["KeyId"]
        old = self.kms.encrypt(KeyId=key, Plaintext=b"before rotation")["CiphertextBlob"]
        self.assertFalse(self.kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"])
        self.api("EnableKeyRotation", client=self.kms, KeyId=key, RotationPeriodInDays=90)
        status = self.api("GetKeyRotationStatus", client=self.kms, KeyId=key)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(status.get("RotationPeriodInDays", 90), 90)
        with self.assertAwsError("ValidationException", client=self.kms):
            # Below botocore's own minimum: sent raw so the server's check answers.
            self.server.call("EnableKeyRotation", {"KeyId": key, "RotationPeriodInDays": 30},
                             prefix="TrentService", service="kms")
        self.api("RotateKeyOnDemand", client=self.kms, KeyId=key)
        rotations = self.api("ListKeyRotations", client=self.kms, KeyId=key)["Rotations"]
        self.assertEqual(len(rotations), 1)
        self.assertEqual(rotations[0]["RotationType"], "ON_DEMAND")
        new = self.kms.encrypt(KeyId=key, Plaintext=b"after rotation")["CiphertextBlob"]
        self.assertNotEqual(b64(old)[:64], b64(new)[:64])
        self.assertEqual(self.kms.decrypt(CiphertextBlob=old)["Plaintext"], b"before rotation")
        self.assertEqual(self.kms.decrypt(CiphertextBlob=new)["Plaintext"], b"after rotation")

    def test_scheduled_deletion_and_cancel(self):
        meta = self.new_key()
        key = meta["KeyId"]
        with self.assertAwsError("ValidationException", client=self.kms):
            self.kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=6)
        out = self.kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(out["KeyState"], "PendingDeletion")
        self.assertEqual(out.get("PendingWindowInDays", 7), 7)
        days = (out["DeletionDate"] - meta["CreationDate"]).total_seconds() / 86400
        self.assertAlmostEqual(days, 7, delta=0.1)
        with self.assertAwsError("KMSInvalidStateException", client=self.kms):
            self.kms.encrypt(KeyId=key, Plaintext=b"x")
        self.kms.cancel_key_deletion(KeyId=key)
        self.assertEqual(self.kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"], "Disabled")
        self.kms.enable_key(KeyId=key)
        self.kms.encrypt(KeyId=key, Plaintext=b"x")

    def test_tags_and_description(self):
        key = self.new_key()["KeyId"]
        self.kms.tag_resource(KeyId=key, Tags=[{"TagKey": "a", "TagValue": "1"},
                                               {"TagKey": "b", "TagValue": "2"}])
        self.kms.untag_resource(KeyId=key, TagKeys=["a"])
        self.assertEqual(self.kms.list_resource_tags(KeyId=key)["Tags"], [{"TagKey": "b", "TagValue": "2"}])
        self.kms.update_key_description(KeyId=key, Description="renamed")
        self.assertEqual(self.kms.describe_key(KeyId=key)["KeyMetadata"]["Description"], "renamed")
        policy = json.loads(self.kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
        self.assertEqual(policy["Statement"][0]["Principal"], {"AWS": f"arn:aws:iam::{ACCOUNT}:root"})

    def test_audited(self):
        key = self.new_key()["KeyId"]
        self.kms.encrypt(KeyId=key, Plaintext=b"audited plaintext 8d1f")
        ct = self.server.client(service="cloudtrail")
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                     "AttributeValue": "kms.amazonaws.com"}])["Events"]
        names = {e["EventName"] for e in events}
        self.assertIn("Encrypt", names)
        self.assertIn("CreateKey", names)
        # CloudTrail records KMS's cryptographic operations as read-only, key changes as writes.
        read_only = {e["EventName"]: json.loads(e["CloudTrailEvent"])["readOnly"] for e in events}
        self.assertIs(read_only["Encrypt"], True)
        self.assertIs(read_only["CreateKey"], False)
        self.assertNotIn(b"audited plaintext 8d1f", self.server.all_logs_bytes())
        audit_dir = os.path.join(self.server.data_dir, "audit")
        for root, _, files in os.walk(audit_dir):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(b"audited plaintext 8d1f", fh.read())


class SecretsUnderCustomerKeysTest(ArcaTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client(service="kms")
        cls.iam = cls.server.client(service="iam")

    def new_key(self):
        return self.kms.create_key(Description="secrets")["KeyMetadata"]

    def test_disabled_key_makes_the_secret_unreadable_until_enabled(self):
        key = self.new_key()
        name = unique("cmk")
        self.sm.create_secret(Name=name, SecretString="under a cmk", KmsKeyId=key["Arn"])
        self.assertEqual(self.sm.describe_secret(SecretId=name)["KmsKeyId"], key["Arn"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "under a cmk")
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        self.assertEqual(versions[0]["KmsKeyIds"], [key["Arn"]])
        self.kms.disable_key(KeyId=key["KeyId"])
        with self.assertAwsError("DecryptionFailure"):
            self.sm.get_secret_value(SecretId=name)
        with self.assertAwsError("EncryptionFailure"):
            self.sm.put_secret_value(SecretId=name, SecretString="new")
        self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "under a cmk")
        self.sm.put_secret_value(SecretId=name, SecretString="new")
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "new")

    def test_key_pending_deletion_makes_the_secret_unreadable_until_cancelled(self):
        key = self.new_key()
        name = unique("doomed")
        self.sm.create_secret(Name=name, SecretString="under a doomed key", KmsKeyId=key["KeyId"])
        self.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        with self.assertAwsError("DecryptionFailure"):
            self.sm.get_secret_value(SecretId=name)
        with self.assertAwsError("EncryptionFailure"):
            self.sm.put_secret_value(SecretId=name, SecretString="new")
        # Metadata stays readable; only the value is locked.
        self.assertEqual(self.sm.describe_secret(SecretId=name)["KmsKeyId"], key["KeyId"])
        self.kms.cancel_key_deletion(KeyId=key["KeyId"])
        self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "under a doomed key")

    def test_alias_and_unknown_key(self):
        key = self.new_key()
        alias = "alias/" + unique("secrets")
        self.kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        name = unique("alias")
        self.sm.create_secret(Name=name, SecretString="v", KmsKeyId=alias)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "v")
        with self.assertAwsError(("EncryptionFailure", "InvalidParameterException", "ResourceNotFoundException")):
            self.sm.create_secret(Name=unique("nokey"), SecretString="v", KmsKeyId="alias/does-not-exist")
        # The default key needs nothing from KMS.
        plain = unique("default")
        self.sm.create_secret(Name=plain, SecretString="d", KmsKeyId="alias/aws/secretsmanager")
        self.assertEqual(self.sm.get_secret_value(SecretId=plain)["SecretString"], "d")

    def test_update_secret_moves_labelled_versions_to_the_new_key(self):
        old, new = self.new_key(), self.new_key()
        name = unique("move")
        self.sm.create_secret(Name=name, SecretString="one", KmsKeyId=old["KeyId"])
        self.sm.put_secret_value(SecretId=name, SecretString="two")
        self.sm.update_secret(SecretId=name, KmsKeyId=new["KeyId"])
        self.kms.disable_key(KeyId=old["KeyId"])
        try:
            self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "two")
            self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
                             ["SecretString"], "one")
        finally:
            self.kms.enable_key(KeyId=old["KeyId"])

    def test_reading_needs_kms_decrypt_on_a_customer_key(self):
        key = self.new_key()
        name = unique("guarded")
        arn = self.sm.create_secret(Name=name, SecretString="guarded", KmsKeyId=key["Arn"])["ARN"]
        default_name = unique("unguarded")
        default_arn = self.sm.create_secret(Name=default_name, SecretString="open")["ARN"]
        user = unique("reader")
        self.iam.create_user(UserName=user)
        self.iam.put_user_policy(UserName=user, PolicyName="sm", PolicyDocument=policy_doc(
            allow("secretsmanager:GetSecretValue", [arn, default_arn])))
        k = self.iam.create_access_key(UserName=user)["AccessKey"]
        reader = self.server.client(credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        self.assertEqual(reader.get_secret_value(SecretId=default_arn)["SecretString"], "open")
        with self.assertAwsError("AccessDeniedException", client=reader):
            reader.get_secret_value(SecretId=arn)
        self.iam.put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=policy_doc(
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key["Arn"],
             "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}}}))
        self.assertEqual(reader.get_secret_value(SecretId=arn)["SecretString"], "guarded")
        # The same key used directly is not allowed by that condition.
        kms_reader = self.server.client(service="kms", credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        blob = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"direct")["CiphertextBlob"]
        with self.assertAwsError("AccessDeniedException", client=kms_reader):
            kms_reader.decrypt(CiphertextBlob=blob)

    def test_values_survive_a_restart(self):
        key = self.new_key()
        name = unique("restart")
        self.sm.create_secret(Name=name, SecretString="still here", KmsKeyId=key["KeyId"])
        blob = self.kms.encrypt(KeyId=key["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
        self.server.restart()
        sm = self.server.client()
        kms = self.server.client(service="kms")
        self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], "still here")
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"kept")
        type(self).sm = sm
        type(self).kms = kms
        type(self).iam = self.server.client(service="iam")


@unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
class KmsCliTest(ArcaTestCase):

    def ok(self, *args):
        rc, out, err = self.server.aws(*args)
        self.assertEqual(rc, 0, f"aws {' '.join(args)} failed: {err}")
        return out

    def test_encrypt_decrypt_files(self):
        key = self.ok("kms", "create-key", "--description", "cli")["KeyMetadata"]["KeyId"]
        self.ok("kms", "create-alias", "--alias-name", "alias/cli-key", "--target-key-id", key)
        with tempfile.TemporaryDirectory() as d:
            plain = os.path.join(d, "plain.txt")
            with open(plain, "wb") as f:
                f.write(b"file contents\n")
            out = self.ok("kms", "encrypt", "--key-id", "alias/cli-key", "--plaintext", f"fileb://{plain}",
                          "--encryption-context", "app=cli")
            blob = os.path.join(d, "blob.bin")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(out["CiphertextBlob"]))
            out = self.ok("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                          "--encryption-context", "app=cli")
            self.assertEqual(base64.b64decode(out["Plaintext"]), b"file contents\n")
            aliases = self.ok("kms", "list-aliases", "--key-id", key)["Aliases"]
            self.assertEqual([a["AliasName"] for a in aliases], ["alias/cli-key"])
            self.ok("kms", "disable-key", "--key-id", key)
            rc, _, err = self.server.aws("kms", "encrypt", "--key-id", key, "--plaintext", f"fileb://{plain}")
            self.assertIn(rc, (254, 255), err)
            self.assertIn("(DisabledException)", err)

    def test_data_keys_rotation_and_a_secret_under_a_disabled_key(self):
        key = self.ok("kms", "create-key", "--description", "cli data keys")["KeyMetadata"]["KeyId"]
        dk = self.ok("kms", "generate-data-key", "--key-id", key, "--key-spec", "AES_256",
                     "--encryption-context", "purpose=cli")
        self.assertEqual(len(base64.b64decode(dk["Plaintext"])), 32)
        with tempfile.TemporaryDirectory() as d:
            blob = os.path.join(d, "dk.bin")
            with open(blob, "wb") as f:
                f.write(base64.b64decode(dk["CiphertextBlob"]))
            out = self.ok("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                          "--encryption-context", "purpose=cli")
            self.assertEqual(out["Plaintext"], dk["Plaintext"])
            rc, _, err = self.server.aws("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}")
            self.assertIn(rc, (254, 255))
            self.assertIn("(InvalidCiphertextException)", err)
            wo = self.ok("kms", "generate-data-key-without-plaintext", "--key-id", key, "--number-of-bytes", "16")
            self.assertNotIn("Plaintext", wo)
            # Rotation keeps the old material: the data key made before it still decrypts.
            self.ok("kms", "enable-key-rotation", "--key-id", key)
            self.assertTrue(self.ok("kms", "get-key-rotation-status", "--key-id", key)["KeyRotationEnabled"])
            self.server.call("RotateKeyOnDemand", {"KeyId": key}, prefix="TrentService", service="kms")
            out = self.ok("kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}",
                          "--encryption-context", "purpose=cli")
            self.assertEqual(out["Plaintext"], dk["Plaintext"])
        name = unique("cli-cmk")
        self.ok("secretsmanager", "create-secret", "--name", name, "--secret-string", "cli value",
                "--kms-key-id", key)
        self.ok("kms", "disable-key", "--key-id", key)
        rc, _, err = self.server.aws("secretsmanager", "get-secret-value", "--secret-id", name)
        self.assertIn(rc, (254, 255))
        self.assertIn("(DecryptionFailure)", err)
        self.ok("kms", "enable-key", "--key-id", key)
        out = self.ok("secretsmanager", "get-secret-value", "--secret-id", name)
        self.assertEqual(out["SecretString"], "cli value")


if __name__ == "__main__":
    unittest.main()
