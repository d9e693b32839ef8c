"""Every Secrets Manager operation through boto3 against a real `arca server`.

The expectations are AWS's documented behaviour (the API reference and botocore's secretsmanager
2017-10-17 model); where AWS's behaviour is known only from its real responses, a comment says so.
Every error check asserts the error code and the presence of x-amzn-RequestId (assertAwsError).
"""

import base64
import datetime
import json
import string
import time
import unittest
import uuid

from arca_harness import (DEFAULT_ACCOUNT, DEFAULT_REGION, ArcaTestCase, arn_pattern, new_token,
                          unique, utcnow)

POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
          '"Principal":{"AWS":"arn:aws:iam::000000000000:root"},'
          '"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}')
PUBLIC_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
                 '"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}')
LAMBDA_ARN = "arn:aws:lambda:us-east-1:000000000000:function:arca-test-rotator"


def stages_of(describe, version_id):
    return sorted(describe.get("VersionIdsToStages", {}).get(version_id, []))


class SecretsManagerBoto3Base(ArcaTestCase):

    def create(self, name=None, value="v1", client=None, **kw):
        name = name or unique("sec")
        c = client or self.sm
        if value is not None:
            if isinstance(value, bytes):
                kw["SecretBinary"] = value
            else:
                kw["SecretString"] = value
        out = c.create_secret(Name=name, **kw)
        return name, out

    def describe(self, secret_id, client=None):
        return (client or self.sm).describe_secret(SecretId=secret_id)

    def value(self, secret_id, client=None, **kw):
        return (client or self.sm).get_secret_value(SecretId=secret_id, **kw)

    def batch_get(self, **params):
        """BatchGetSecretValue via boto3 when the installed botocore has it, else a raw signed call
        (Debian's botocore 1.29 predates the operation). Both return the wire shape."""
        return self.api("BatchGetSecretValue", **params)


class CreateAndGetTest(SecretsManagerBoto3Base):

    def test_create_string_returns_arn_name_version(self):
        name = unique("create")
        token = new_token()
        out = self.sm.create_secret(Name=name, SecretString="hello", ClientRequestToken=token)
        self.assertRegex(out["ARN"], arn_pattern(name))
        self.assertEqual(out["Name"], name)
        self.assertEqual(out["VersionId"], token)
        self.assertTrue(out["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid"))
        got = self.value(name)
        self.assertEqual(got["SecretString"], "hello")
        self.assertNotIn("SecretBinary", got)
        self.assertEqual(got["ARN"], out["ARN"])
        self.assertEqual(got["Name"], name)
        self.assertEqual(got["VersionId"], token)
        self.assertEqual(got["VersionStages"], ["AWSCURRENT"])
        self.assertIsInstance(got["CreatedDate"], datetime.datetime)

    def test_create_binary_round_trip(self):
        blob = bytes(range(256)) * 4
        name, out = self.create(value=blob)
        got = self.value(name)
        self.assertEqual(got["SecretBinary"], blob)
        self.assertNotIn("SecretString", got)
        self.assertEqual(got["VersionId"], out["VersionId"])

    def test_create_with_description_and_tags(self):
        tags = [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "platform"}]
        name, out = self.create(Description="database password", Tags=tags)
        d = self.describe(name)
        self.assertEqual(d["ARN"], out["ARN"])
        self.assertEqual(d["Name"], name)
        self.assertEqual(d["Description"], "database password")
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in d["Tags"]),
                         [("env", "prod"), ("team", "platform")])
        self.assertEqual(stages_of(d, out["VersionId"]), ["AWSCURRENT"])
        self.assertIsInstance(d["CreatedDate"], datetime.datetime)
        self.assertIsInstance(d["LastChangedDate"], datetime.datetime)

    def test_create_without_value_has_no_version(self):
        name, out = self.create(value=None, Description="empty for now")
        self.assertNotIn("VersionId", out)
        d = self.describe(name)
        self.assertFalse(d.get("VersionIdsToStages"))
        # AWS: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(name)
        # The first PutSecretValue makes the first AWSCURRENT.
        put = self.sm.put_secret_value(SecretId=name, SecretString="later")
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(self.value(name)["SecretString"], "later")

    def test_create_duplicate_name_is_resource_exists(self):
        name, _ = self.create()
        with self.assertAwsError("ResourceExistsException"):
            self.sm.create_secret(Name=name, SecretString="other")
        self.assertEqual(self.value(name)["SecretString"], "v1")

    def test_create_with_both_string_and_binary_is_invalid(self):
        with self.assertAwsError("InvalidParameterException"):
            self.sm.create_secret(Name=unique("both"), SecretString="s", SecretBinary=b"b")

    def test_create_bad_name_characters(self):
        # AWS answers a name outside [A-Za-z0-9/_+=.@-] with ValidationException "Invalid name. Must
        # be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!"
        # (seen in real responses: smithy-lang/smithy-typescript#1546, terraform-provider-aws#39406).
        for bad in ["has space", "hash#tag", "star*", "dollar$", "quote'", "semi;colon"]:
            with self.subTest(name=bad):
                with self.assertAwsError("ValidationException"):
                    self.sm.create_secret(Name=bad + uuid.uuid4().hex[:6], SecretString="x")

    def test_create_name_too_long(self):
        # NameType: max 512 (botocore does not check maxima client-side; the server must).
        with self.assertAwsError("ValidationException"):
            self.sm.create_secret(Name="a" * 513, SecretString="x")
        name = "b" * 500 + uuid.uuid4().hex[:12]
        self.assertEqual(len(name), 512)
        self.create(name=name)
        self.assertEqual(self.value(name)["Name"], name)

    def test_names_with_allowed_punctuation(self):
        name = unique("app/db_1+x=y.z@host")
        _, out = self.create(name=name)
        self.assertRegex(out["ARN"], arn_pattern(name))
        self.assertEqual(self.value(name)["SecretString"], "v1")

    def test_get_by_full_arn_and_partial_arn(self):
        name, out = self.create(value="by-arn")
        arn = out["ARN"]
        self.assertEqual(self.value(arn)["SecretString"], "by-arn")
        partial = arn[:-7]  # without "-XXXXXX"
        self.assertEqual(partial, f"arn:aws:secretsmanager:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:secret:{name}")
        got = self.value(partial)
        self.assertEqual(got["SecretString"], "by-arn")
        self.assertEqual(got["ARN"], arn)
        self.assertEqual(self.describe(partial)["ARN"], arn)

    def test_get_missing_secret(self):
        with self.assertAwsError("ResourceNotFoundException", status=400):
            self.value(unique("missing"))
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(f"arn:aws:secretsmanager:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:secret:nope-AbCdEf")
        with self.assertAwsError("ResourceNotFoundException"):
            self.describe(unique("missing"))

    def test_get_missing_version_or_stage(self):
        name, _ = self.create()
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(name, VersionId=new_token())
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(name, VersionStage="AWSPENDING")

    def test_regions_are_separate_namespaces(self):
        name = unique("shared")
        west = self.server.client(region="eu-west-3")
        _, east_out = self.create(name=name, value="east")
        _, west_out = self.create(name=name, value="west", client=west)
        self.assertRegex(east_out["ARN"], arn_pattern(name, region=DEFAULT_REGION))
        self.assertRegex(west_out["ARN"], arn_pattern(name, region="eu-west-3"))
        self.assertEqual(self.value(name)["SecretString"], "east")
        self.assertEqual(self.value(name, client=west)["SecretString"], "west")
        only_here = unique("only-east")
        self.create(name=only_here)
        with self.assertAwsError("ResourceNotFoundException", client=west):
            self.value(only_here, client=west)
        west_names = [s["Name"] for s in west.list_secrets(
            Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
        self.assertEqual(west_names, [name])

    def test_secret_string_size_limit(self):
        # SecretStringType: 1..65536. AWS rejects larger values with ValidationException ("1 validation
        # error detected: Value at 'secretString' failed to satisfy constraint: Member must have length
        # less than or equal to 65536"), as in kubernetes-sigs/cluster-api-provider-aws#1531.
        exact = "x" * 65536
        name, _ = self.create(value=exact)
        self.assertEqual(self.value(name)["SecretString"], exact)
        with self.assertAwsError("ValidationException"):
            self.sm.put_secret_value(SecretId=name, SecretString="y" * 65537)
        with self.assertAwsError("ValidationException"):
            self.sm.create_secret(Name=unique("big"), SecretString="z" * 65537)
        self.assertEqual(self.value(name)["SecretString"], exact)

    def test_secret_binary_size_limit(self):
        name, _ = self.create(value=b"\x01" * 65536)
        self.assertEqual(len(self.value(name)["SecretBinary"]), 65536)
        with self.assertAwsError("ValidationException"):
            self.sm.put_secret_value(SecretId=name, SecretBinary=b"\x02" * 65537)

    def test_unicode_string_round_trip(self):
        text = "pässwörd ✓ 秘密 \U0001F511 \"quoted\" \\ \n\t"
        name, _ = self.create(value=text)
        self.assertEqual(self.value(name)["SecretString"], text)


class PutSecretValueTest(SecretsManagerBoto3Base):

    def test_put_moves_current_and_previous(self):
        name, first = self.create(value="one")
        v1 = first["VersionId"]
        put = self.sm.put_secret_value(SecretId=name, SecretString="two")
        v2 = put["VersionId"]
        self.assertNotEqual(v1, v2)
        self.assertEqual(put["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(put["Name"], name)
        self.assertEqual(put["ARN"], first["ARN"])
        d = self.describe(name)
        self.assertEqual(stages_of(d, v2), ["AWSCURRENT"])
        self.assertEqual(stages_of(d, v1), ["AWSPREVIOUS"])
        self.assertEqual(self.value(name)["SecretString"], "two")
        prev = self.value(name, VersionStage="AWSPREVIOUS")
        self.assertEqual(prev["SecretString"], "one")
        self.assertEqual(prev["VersionId"], v1)
        self.assertEqual(prev["VersionStages"], ["AWSPREVIOUS"])
        self.assertEqual(self.value(name, VersionId=v1)["SecretString"], "one")

        v3 = self.sm.put_secret_value(SecretId=name, SecretString="three")["VersionId"]
        d = self.describe(name)
        self.assertEqual(stages_of(d, v3), ["AWSCURRENT"])
        self.assertEqual(stages_of(d, v2), ["AWSPREVIOUS"])
        # v1 lost its last label: deprecated, not shown among labelled versions.
        self.assertEqual(stages_of(d, v1), [])
        # ... but still readable by id.
        self.assertEqual(self.value(name, VersionId=v1)["SecretString"], "one")

    def test_put_pending_leaves_current_alone(self):
        name, first = self.create(value="current")
        put = self.sm.put_secret_value(SecretId=name, SecretString="pending",
                                       VersionStages=["AWSPENDING"])
        self.assertEqual(put["VersionStages"], ["AWSPENDING"])
        d = self.describe(name)
        self.assertEqual(stages_of(d, first["VersionId"]), ["AWSCURRENT"])
        self.assertEqual(stages_of(d, put["VersionId"]), ["AWSPENDING"])
        self.assertEqual(self.value(name)["SecretString"], "current")
        self.assertEqual(self.value(name, VersionStage="AWSPENDING")["SecretString"], "pending")
        # A second AWSPENDING put moves the label (PutSecretValue moves labels it is given).
        put2 = self.sm.put_secret_value(SecretId=name, SecretString="pending2",
                                        VersionStages=["AWSPENDING"])
        d = self.describe(name)
        self.assertEqual(stages_of(d, put2["VersionId"]), ["AWSPENDING"])
        self.assertEqual(stages_of(d, put["VersionId"]), [])
        self.assertEqual(stages_of(d, first["VersionId"]), ["AWSCURRENT"])

    def test_client_request_token_idempotency(self):
        name, _ = self.create(value="base")
        token = new_token()
        a = self.sm.put_secret_value(SecretId=name, SecretString="same", ClientRequestToken=token)
        self.assertEqual(a["VersionId"], token)
        before = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        b = self.sm.put_secret_value(SecretId=name, SecretString="same", ClientRequestToken=token)
        self.assertEqual(b["VersionId"], token)
        after = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        self.assertEqual(len(before), len(after), "an idempotent retry must not add a version")
        self.assertEqual(self.value(name)["SecretString"], "same")
        with self.assertAwsError("ResourceExistsException"):
            self.sm.put_secret_value(SecretId=name, SecretString="different",
                                     ClientRequestToken=token)
        self.assertEqual(self.value(name, VersionId=token)["SecretString"], "same")

    def test_put_binary_then_string(self):
        name, _ = self.create(value="text")
        self.sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\xffbin")
        got = self.value(name)
        self.assertEqual(got["SecretBinary"], b"\x00\xffbin")
        self.assertNotIn("SecretString", got)
        self.assertEqual(self.value(name, VersionStage="AWSPREVIOUS")["SecretString"], "text")

    def test_put_custom_label_moves(self):
        name, first = self.create(value="c")
        a = self.sm.put_secret_value(SecretId=name, SecretString="a", VersionStages=["blue"])
        self.assertEqual(a["VersionStages"], ["blue"])
        b = self.sm.put_secret_value(SecretId=name, SecretString="b", VersionStages=["blue"])
        d = self.describe(name)
        self.assertEqual(stages_of(d, b["VersionId"]), ["blue"])
        self.assertEqual(stages_of(d, a["VersionId"]), [])
        self.assertEqual(stages_of(d, first["VersionId"]), ["AWSCURRENT"])
        self.assertEqual(self.value(name, VersionStage="blue")["SecretString"], "b")

    def test_put_missing_secret(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.put_secret_value(SecretId=unique("nope"), SecretString="x")


class VersionStageTest(SecretsManagerBoto3Base):

    def setUp(self):
        self.name, first = self.create(value="one")
        self.v1 = first["VersionId"]
        self.v2 = self.sm.put_secret_value(SecretId=self.name, SecretString="two")["VersionId"]
        self.v3 = self.sm.put_secret_value(SecretId=self.name, SecretString="three",
                                           VersionStages=["AWSPENDING"])["VersionId"]

    def test_move_current_requires_remove_from(self):
        # AWSCURRENT is on v2: moving it without RemoveFromVersionId is InvalidParameterException.
        with self.assertAwsError("InvalidParameterException"):
            self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="AWSCURRENT",
                                                MoveToVersionId=self.v3)
        d = self.describe(self.name)
        self.assertEqual(stages_of(d, self.v2), ["AWSCURRENT"])

    def test_move_current_makes_old_current_previous(self):
        out = self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="AWSCURRENT",
                                                  MoveToVersionId=self.v3,
                                                  RemoveFromVersionId=self.v2)
        self.assertEqual(out["Name"], self.name)
        self.assertRegex(out["ARN"], arn_pattern(self.name))
        d = self.describe(self.name)
        self.assertIn("AWSCURRENT", stages_of(d, self.v3))
        self.assertEqual(stages_of(d, self.v2), ["AWSPREVIOUS"])
        self.assertNotIn("AWSPREVIOUS", stages_of(d, self.v1))
        self.assertEqual(self.value(self.name)["SecretString"], "three")
        self.assertEqual(self.value(self.name, VersionStage="AWSPREVIOUS")["SecretString"], "two")

    def test_custom_label_attach_move_remove(self):
        # Attach a new label (attached nowhere): no RemoveFromVersionId needed.
        self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="green",
                                            MoveToVersionId=self.v1)
        self.assertEqual(self.value(self.name, VersionStage="green")["SecretString"], "one")
        # Now attached to v1: moving it without naming v1 fails.
        with self.assertAwsError("InvalidParameterException"):
            self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="green",
                                                MoveToVersionId=self.v2)
        self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="green",
                                            MoveToVersionId=self.v2, RemoveFromVersionId=self.v1)
        d = self.describe(self.name)
        self.assertEqual(stages_of(d, self.v2), ["AWSCURRENT", "green"])
        self.assertNotIn("green", stages_of(d, self.v1))
        # Remove only.
        self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="green",
                                            RemoveFromVersionId=self.v2)
        d = self.describe(self.name)
        self.assertEqual(stages_of(d, self.v2), ["AWSCURRENT"])
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(self.name, VersionStage="green")

    def test_move_to_unknown_version(self):
        # AWS documents no single code for an unknown MoveToVersionId; InvalidParameterException and
        # ResourceNotFoundException are both in the operation's model. Either way nothing changes.
        with self.assertAwsError(("InvalidParameterException", "ResourceNotFoundException")):
            self.sm.update_secret_version_stage(SecretId=self.name, VersionStage="blue",
                                                MoveToVersionId=new_token())
        d = self.describe(self.name)
        self.assertEqual(stages_of(d, self.v2), ["AWSCURRENT"])

    def test_list_secret_version_ids(self):
        out = self.sm.list_secret_version_ids(SecretId=self.name)
        self.assertEqual(out["Name"], self.name)
        self.assertRegex(out["ARN"], arn_pattern(self.name))
        by_id = {v["VersionId"]: sorted(v["VersionStages"]) for v in out["Versions"]}
        self.assertEqual(by_id, {self.v1: ["AWSPREVIOUS"], self.v2: ["AWSCURRENT"],
                                 self.v3: ["AWSPENDING"]})
        for v in out["Versions"]:
            self.assertIsInstance(v["CreatedDate"], datetime.datetime)
        # Deprecate v1: a new AWSCURRENT makes v2 AWSPREVIOUS and leaves v1 without labels.
        v4 = self.sm.put_secret_value(SecretId=self.name, SecretString="four")["VersionId"]
        out = self.sm.list_secret_version_ids(SecretId=self.name)
        self.assertEqual(sorted(v["VersionId"] for v in out["Versions"]),
                         sorted([self.v2, self.v3, v4]))
        out = self.sm.list_secret_version_ids(SecretId=self.name, IncludeDeprecated=True)
        all_ids = {v["VersionId"]: v["VersionStages"] for v in out["Versions"]}
        self.assertEqual(sorted(all_ids), sorted([self.v1, self.v2, self.v3, v4]))
        self.assertEqual(all_ids[self.v1], [])

    def test_list_secret_version_ids_paging(self):
        seen = []
        token = None
        pages = 0
        while True:
            kw = {"SecretId": self.name, "MaxResults": 1, "IncludeDeprecated": True}
            if token:
                kw["NextToken"] = token
            out = self.sm.list_secret_version_ids(**kw)
            pages += 1
            self.assertLessEqual(len(out["Versions"]), 1)
            seen += [v["VersionId"] for v in out["Versions"]]
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10)
        self.assertEqual(sorted(seen), sorted([self.v1, self.v2, self.v3]))
        self.assertGreaterEqual(pages, 3)

    def test_list_secret_version_ids_bad_token(self):
        with self.assertAwsError("InvalidNextTokenException"):
            self.sm.list_secret_version_ids(SecretId=self.name, NextToken="not-a-token")


class UpdateSecretTest(SecretsManagerBoto3Base):

    def test_description_only_makes_no_version(self):
        name, first = self.create(value="keep", Description="old")
        out = self.sm.update_secret(SecretId=name, Description="new")
        self.assertNotIn("VersionId", out)
        self.assertEqual(out["Name"], name)
        self.assertEqual(out["ARN"], first["ARN"])
        d = self.describe(name)
        self.assertEqual(d["Description"], "new")
        self.assertEqual(list(d["VersionIdsToStages"]), [first["VersionId"]])
        self.assertEqual(self.value(name)["SecretString"], "keep")

    def test_value_makes_new_current_version(self):
        name, first = self.create(value="old")
        token = new_token()
        out = self.sm.update_secret(SecretId=name, SecretString="new", ClientRequestToken=token)
        self.assertEqual(out["VersionId"], token)
        d = self.describe(name)
        self.assertEqual(stages_of(d, token), ["AWSCURRENT"])
        self.assertEqual(stages_of(d, first["VersionId"]), ["AWSPREVIOUS"])
        self.assertEqual(self.value(name)["SecretString"], "new")
        # Same token, same value: idempotent.
        again = self.sm.update_secret(SecretId=name, SecretString="new", ClientRequestToken=token)
        self.assertEqual(again["VersionId"], token)
        self.assertEqual(len(self.describe(name)["VersionIdsToStages"]), 2)

    def test_update_binary(self):
        name, _ = self.create(value="s")
        self.sm.update_secret(SecretId=name, SecretBinary=b"\x10\x20")
        self.assertEqual(self.value(name)["SecretBinary"], b"\x10\x20")

    def test_update_missing(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.update_secret(SecretId=unique("nope"), Description="x")


class DeleteRestoreTest(SecretsManagerBoto3Base):

    def test_default_window_is_30_days(self):
        name, out = self.create()
        before = utcnow()
        d = self.sm.delete_secret(SecretId=name)
        self.assertEqual(d["Name"], name)
        self.assertEqual(d["ARN"], out["ARN"])
        delta = d["DeletionDate"] - before
        self.assertAlmostEqual(delta.total_seconds(), 30 * 86400, delta=300)

    def test_window_bounds(self):
        name, _ = self.create()
        for bad in (6, 31, 0, -1):
            with self.subTest(days=bad):
                with self.assertAwsError("InvalidParameterException"):
                    self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=bad)
        self.assertEqual(self.value(name)["SecretString"], "v1")
        before = utcnow()
        d = self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self.assertAlmostEqual((d["DeletionDate"] - before).total_seconds(), 7 * 86400, delta=300)
        other, _ = self.create()
        d = self.sm.delete_secret(SecretId=other, RecoveryWindowInDays=30)
        self.assertAlmostEqual((d["DeletionDate"] - before).total_seconds(), 30 * 86400, delta=300)

    def test_recovery_and_force_together_is_invalid(self):
        name, _ = self.create()
        with self.assertAwsError("InvalidParameterException"):
            self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7,
                                  ForceDeleteWithoutRecovery=True)
        self.assertEqual(self.value(name)["SecretString"], "v1")

    def test_marked_for_deletion_then_restore(self):
        name, out = self.create(value="restore-me")
        self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        with self.assertAwsError(
                "InvalidRequestException",
                message="You can't perform this operation on the secret because it was marked for deletion."):
            self.value(name)
        with self.assertAwsError("InvalidRequestException"):
            self.sm.put_secret_value(SecretId=name, SecretString="no")
        d = self.describe(name)
        self.assertIsInstance(d["DeletedDate"], datetime.datetime)
        # AWS's reference is ambiguous: DescribeSecret's DeletedDate is "the date the secret is
        # scheduled for deletion", SecretListEntry's "the date and time the deletion of the secret
        # occurred". Accept the time of the DeleteSecret call or the end of the recovery window.
        offset = (d["DeletedDate"] - utcnow()).total_seconds()
        self.assertTrue(abs(offset) < 300 or abs(offset - 7 * 86400) < 300, d["DeletedDate"])
        # Hidden from ListSecrets unless IncludePlannedDeletion.
        flt = [{"Key": "name", "Values": [name]}]
        self.assertEqual(self.sm.list_secrets(Filters=flt)["SecretList"], [])
        listed = self.api("ListSecrets", Filters=flt, IncludePlannedDeletion=True)["SecretList"]
        self.assertEqual([s["Name"] for s in listed], [name])
        self.assertIn("DeletedDate", listed[0])

        r = self.sm.restore_secret(SecretId=name)
        self.assertEqual(r["Name"], name)
        self.assertEqual(r["ARN"], out["ARN"])
        self.assertEqual(self.value(name)["SecretString"], "restore-me")
        self.assertNotIn("DeletedDate", self.describe(name))
        self.assertEqual([s["Name"] for s in self.sm.list_secrets(Filters=flt)["SecretList"]],
                         [name])

    def test_force_delete_removes_at_once(self):
        name, out = self.create()
        d = self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.assertEqual(d["ARN"], out["ARN"])
        self.assertIsInstance(d["DeletionDate"], datetime.datetime)
        with self.assertAwsError("ResourceNotFoundException"):
            self.describe(name)
        with self.assertAwsError("ResourceNotFoundException"):
            self.value(name)
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.restore_secret(SecretId=name)

    def test_delete_missing(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.delete_secret(SecretId=unique("nope"))

    def test_restore_missing(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.restore_secret(SecretId=unique("nope"))


class ListSecretsTest(SecretsManagerBoto3Base):
    """Runs in its own region so the listing holds only what these tests create."""

    REGION = "ap-south-1"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.c = cls.server.client(region=cls.REGION)
        cls.names = {}
        specs = [
            ("alpha", "Primary Database credentials", [("env", "prod"), ("Owner", "dbteam")]),
            ("Alpha-upper", "mixed CASE description", [("env", "dev")]),
            ("beta", "cache password", [("tier", "Gold")]),
            ("gamma/nested", None, []),
            ("delta", "other", [("env", "prod")]),
        ]
        for key, desc, tags in specs:
            kw = {"Name": key, "SecretString": "x-" + key}
            if desc:
                kw["Description"] = desc
            if tags:
                kw["Tags"] = [{"Key": k, "Value": v} for k, v in tags]
            cls.c.create_secret(**kw)
            cls.names[key] = key
            time.sleep(0.02)  # distinct CreatedDate values for the sort tests
        cls.c.create_secret(Name="deleted-one", SecretString="d")
        cls.c.delete_secret(SecretId="deleted-one", RecoveryWindowInDays=7)

    def list_names(self, **kw):
        names = []
        token = None
        while True:
            args = dict(kw)
            if token:
                args["NextToken"] = token
            out = self.api("ListSecrets", client=self.c, **args)
            names += [s["Name"] for s in out["SecretList"]]
            token = out.get("NextToken")
            if not token:
                return names

    def filtered(self, key, *values):
        return sorted(self.list_names(Filters=[{"Key": key, "Values": list(values)}]))

    def test_lists_all_but_deleted(self):
        self.assertEqual(sorted(self.list_names()),
                         sorted(["alpha", "Alpha-upper", "beta", "gamma/nested", "delta"]))
        self.assertIn("deleted-one", self.list_names(IncludePlannedDeletion=True))

    def test_entry_shape(self):
        entry = [s for s in self.c.list_secrets()["SecretList"] if s["Name"] == "alpha"][0]
        self.assertRegex(entry["ARN"], arn_pattern("alpha", region=self.REGION))
        self.assertEqual(entry["Description"], "Primary Database credentials")
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in entry["Tags"]),
                         [("Owner", "dbteam"), ("env", "prod")])
        stages = list(entry["SecretVersionsToStages"].values())
        self.assertEqual(stages, [["AWSCURRENT"]])
        self.assertIsInstance(entry["CreatedDate"], datetime.datetime)
        self.assertNotIn("SecretString", entry)

    def test_filter_name_prefix_case_sensitive(self):
        # name: prefix match, case-sensitive (API reference, Filter).
        self.assertEqual(self.filtered("name", "alph"), ["alpha"])
        self.assertEqual(self.filtered("name", "Alph"), ["Alpha-upper"])
        self.assertEqual(self.filtered("name", "gamma/"), ["gamma/nested"])
        self.assertEqual(self.filtered("name", "nested"), [])
        # Several values: any of them.
        self.assertEqual(self.filtered("name", "alph", "bet"), ["alpha", "beta"])

    def test_filter_description_case_insensitive(self):
        # description: prefix match, not case-sensitive.
        self.assertEqual(self.filtered("description", "primary"), ["alpha"])
        self.assertEqual(self.filtered("description", "MIXED"), ["Alpha-upper"])
        self.assertEqual(self.filtered("description", "zzz"), [])

    def test_filter_tag_key_and_value(self):
        self.assertEqual(self.filtered("tag-key", "env"), ["Alpha-upper", "alpha", "delta"])
        self.assertEqual(self.filtered("tag-key", "Own"), ["alpha"])
        self.assertEqual(self.filtered("tag-key", "own"), [])  # case-sensitive
        self.assertEqual(self.filtered("tag-value", "prod"), ["alpha", "delta"])
        self.assertEqual(self.filtered("tag-value", "Gol"), ["beta"])
        self.assertEqual(self.filtered("tag-value", "gold"), [])  # case-sensitive

    def test_filter_all_case_insensitive(self):
        # all: words of the value against every attribute, not case-sensitive.
        self.assertIn("beta", self.filtered("all", "GOLD"))
        self.assertIn("alpha", self.filtered("all", "DBTEAM"))
        self.assertIn("beta", self.filtered("all", "cache"))
        self.assertEqual(self.filtered("all", "nothingmatches"), [])

    def test_filter_owning_service_and_primary_region(self):
        self.assertEqual(self.filtered("owning-service", "rds"), [])
        # None of these is a replica of a secret in another region.
        self.assertEqual(self.filtered("primary-region", "eu-central-1"), [])

    def test_negation(self):
        # "!" negates: everything whose name does not start with "alph".
        self.assertEqual(self.filtered("name", "!alph"),
                         sorted(["Alpha-upper", "beta", "gamma/nested", "delta"]))
        self.assertEqual(self.filtered("tag-key", "!env"), ["beta", "gamma/nested"])

    def test_filters_combine_with_and(self):
        names = sorted(self.list_names(Filters=[{"Key": "tag-value", "Values": ["prod"]},
                                                {"Key": "name", "Values": ["del"]}]))
        self.assertEqual(names, ["delta"])

    def test_paging(self):
        pages = []
        token = None
        while True:
            kw = {"MaxResults": 2}
            if token:
                kw["NextToken"] = token
            out = self.c.list_secrets(**kw)
            self.assertLessEqual(len(out["SecretList"]), 2)
            pages.append([s["Name"] for s in out["SecretList"]])
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(len(pages), 10)
        flat = [n for p in pages for n in p]
        self.assertEqual(len(flat), len(set(flat)), f"duplicates across pages: {pages}")
        self.assertEqual(sorted(flat), sorted(["alpha", "Alpha-upper", "beta", "gamma/nested",
                                               "delta"]))
        self.assertGreaterEqual(len(pages), 3)

    def test_bad_next_token(self):
        with self.assertAwsError("InvalidNextTokenException", client=self.c):
            self.c.list_secrets(NextToken="garbage-token")

    def test_sort_order(self):
        created = ["alpha", "Alpha-upper", "beta", "gamma/nested", "delta"]
        self.assertEqual(self.list_names(SortOrder="asc"), created)
        self.assertEqual(self.list_names(SortOrder="desc"), list(reversed(created)))

    def test_bad_filter_key(self):
        # botocore validates enums only in the model, not client-side; send a raw call.
        # AWS: a value outside the model's enum is a ValidationException; InvalidParameterException
        # is accepted too (the operation's modeled "bad parameter" error).
        with self.assertAwsError(("ValidationException", "InvalidParameterException"),
                                 client=self.c):
            self.server.call("ListSecrets", {"Filters": [{"Key": "colour", "Values": ["x"]}]},
                             region=self.REGION)


class BatchGetSecretValueTest(SecretsManagerBoto3Base):

    def test_by_id_list_with_errors(self):
        a, _ = self.create(value="A")
        b, bout = self.create(value=b"B-bin")
        missing = unique("missing")
        out = self.batch_get(SecretIdList=[a, bout["ARN"], missing])
        values = {v["Name"]: v for v in out["SecretValues"]}
        self.assertEqual(sorted(values), sorted([a, b]))
        self.assertEqual(values[a]["SecretString"], "A")
        binary = values[b]["SecretBinary"]
        if isinstance(binary, str):  # the raw call returns the wire's base64
            binary = base64.b64decode(binary)
        self.assertEqual(binary, b"B-bin")
        self.assertEqual(values[a]["VersionStages"], ["AWSCURRENT"])
        self.assertEqual(len(out["Errors"]), 1)
        err = out["Errors"][0]
        self.assertEqual(err["SecretId"], missing)
        self.assertEqual(err["ErrorCode"], "ResourceNotFoundException")
        self.assertTrue(err.get("Message"))

    def test_by_filters_with_paging(self):
        prefix = unique("batch")
        names = [f"{prefix}/{i}" for i in range(5)]
        for i, n in enumerate(names):
            self.create(name=n, value=f"val-{i}")
        got = {}
        token = None
        pages = 0
        while True:
            params = {"Filters": [{"Key": "name", "Values": [prefix]}], "MaxResults": 2}
            if token:
                params["NextToken"] = token
            out = self.batch_get(**params)
            pages += 1
            self.assertLessEqual(len(out["SecretValues"]), 2)
            for v in out["SecretValues"]:
                got[v["Name"]] = v["SecretString"]
            token = out.get("NextToken")
            if not token:
                break
            self.assertLess(pages, 10)
        self.assertEqual(got, {n: f"val-{i}" for i, n in enumerate(names)})
        self.assertGreaterEqual(pages, 3)

    def test_id_list_and_filters_together_is_invalid(self):
        a, _ = self.create()
        with self.assertAwsError("InvalidParameterException"):
            self.batch_get(SecretIdList=[a], Filters=[{"Key": "name", "Values": [a]}])

    def test_deleted_secret_reported_as_error(self):
        a, _ = self.create()
        self.sm.delete_secret(SecretId=a, RecoveryWindowInDays=7)
        out = self.batch_get(SecretIdList=[a])
        self.assertEqual(out["SecretValues"], [])
        self.assertEqual(len(out["Errors"]), 1)
        self.assertEqual(out["Errors"][0]["SecretId"], a)
        self.assertIn(out["Errors"][0]["ErrorCode"],
                      ("InvalidRequestException", "ResourceNotFoundException"))


class GetRandomPasswordTest(SecretsManagerBoto3Base):
    PUNCT = set(string.punctuation)  # AWS's set: !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~

    def pw(self, **kw):
        return self.sm.get_random_password(**kw)["RandomPassword"]

    def test_default_is_32_chars_of_every_type(self):
        p = self.pw()
        self.assertEqual(len(p), 32)
        self.assertTrue(any(c.islower() for c in p))
        self.assertTrue(any(c.isupper() for c in p))
        self.assertTrue(any(c.isdigit() for c in p))
        self.assertTrue(any(c in self.PUNCT for c in p))
        self.assertNotIn(" ", p)
        self.assertNotEqual(p, self.pw())

    def test_lengths(self):
        for n in (4, 17, 4096):
            self.assertEqual(len(self.pw(PasswordLength=n)), n)
        self.assertEqual(len(self.pw(PasswordLength=1, RequireEachIncludedType=False)), 1)

    def test_excludes(self):
        p = self.pw(PasswordLength=2000, ExcludeNumbers=True)
        self.assertFalse(any(c.isdigit() for c in p))
        p = self.pw(PasswordLength=2000, ExcludePunctuation=True)
        self.assertFalse(any(c in self.PUNCT for c in p))
        self.assertTrue(p.isalnum())
        p = self.pw(PasswordLength=2000, ExcludeUppercase=True)
        self.assertFalse(any(c.isupper() for c in p))
        p = self.pw(PasswordLength=2000, ExcludeLowercase=True)
        self.assertFalse(any(c.islower() for c in p))
        p = self.pw(PasswordLength=2000, ExcludeCharacters="abcXYZ019!@#")
        self.assertFalse(set(p) & set("abcXYZ019!@#"))
        p = self.pw(PasswordLength=500, ExcludeLowercase=True, ExcludeUppercase=True,
                    ExcludePunctuation=True)
        self.assertTrue(p.isdigit(), p)

    def test_include_space(self):
        self.assertIn(" ", self.pw(PasswordLength=4096, IncludeSpace=True))
        self.assertNotIn(" ", self.pw(PasswordLength=4096))

    def test_require_each_included_type(self):
        for _ in range(20):
            p = self.pw(PasswordLength=4, RequireEachIncludedType=True)
            self.assertTrue(any(c.islower() for c in p), p)
            self.assertTrue(any(c.isupper() for c in p), p)
            self.assertTrue(any(c.isdigit() for c in p), p)
            self.assertTrue(any(c in self.PUNCT for c in p), p)
        self.assertEqual(len(self.pw(PasswordLength=3, RequireEachIncludedType=False)), 3)

    def test_too_short_for_required_types(self):
        # AWS: InvalidParameterException "Password length is too short based on the required types."
        with self.assertAwsError("InvalidParameterException"):
            self.pw(PasswordLength=3, RequireEachIncludedType=True)

    def test_too_long(self):
        # PasswordLengthType: 1..4096; AWS: ValidationException ("1 validation error detected: Value
        # '4097' at 'passwordLength' failed to satisfy constraint: Member must have value less than or
        # equal to 4096"). botocore checks only the minimum client-side.
        with self.assertAwsError("ValidationException"):
            self.pw(PasswordLength=4097)

    def test_zero_length_raw(self):
        # botocore refuses 0 client-side, so send it raw.
        r = self.server.raw("secretsmanager.GetRandomPassword", {"PasswordLength": 0})
        self.assertEqual(r.status, 400, r)
        self.assertIn(r.error_type, ("ValidationException", "InvalidParameterException"), r)
        self.assertTrue(r.request_id)


class TagsTest(SecretsManagerBoto3Base):

    def tags(self, name):
        return sorted((t["Key"], t["Value"]) for t in self.describe(name).get("Tags", []))

    def test_tag_untag(self):
        name, _ = self.create(Tags=[{"Key": "a", "Value": "1"}])
        self.sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"},
                                                  {"Key": "a", "Value": "one"}])
        self.assertEqual(self.tags(name), [("a", "one"), ("b", "2")])
        self.sm.untag_resource(SecretId=name, TagKeys=["a", "not-there"])
        self.assertEqual(self.tags(name), [("b", "2")])
        self.sm.untag_resource(SecretId=name, TagKeys=["b"])
        self.assertEqual(self.tags(name), [])

    def test_tag_by_arn_and_empty_value(self):
        name, out = self.create()
        self.sm.tag_resource(SecretId=out["ARN"], Tags=[{"Key": "empty", "Value": ""}])
        self.assertEqual(self.tags(name), [("empty", "")])

    def test_tag_missing_secret(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.tag_resource(SecretId=unique("nope"), Tags=[{"Key": "a", "Value": "b"}])
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.untag_resource(SecretId=unique("nope"), TagKeys=["a"])


class ResourcePolicyTest(SecretsManagerBoto3Base):

    def test_put_get_delete(self):
        name, out = self.create()
        got = self.sm.get_resource_policy(SecretId=name)
        self.assertEqual(got["Name"], name)
        self.assertNotIn("ResourcePolicy", got)
        put = self.sm.put_resource_policy(SecretId=name, ResourcePolicy=POLICY)
        self.assertEqual(put["ARN"], out["ARN"])
        self.assertEqual(put["Name"], name)
        got = self.sm.get_resource_policy(SecretId=name)
        self.assertEqual(got["ARN"], out["ARN"])
        self.assertEqual(json.loads(got["ResourcePolicy"]), json.loads(POLICY))
        d = self.sm.delete_resource_policy(SecretId=name)
        self.assertEqual(d["Name"], name)
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=name))

    def test_malformed_policy(self):
        name, _ = self.create()
        for bad in ["{not json", "[]", '{"Statement": "nope"}']:
            with self.subTest(policy=bad):
                with self.assertAwsError("MalformedPolicyDocumentException"):
                    self.sm.put_resource_policy(SecretId=name, ResourcePolicy=bad)
        with self.assertAwsError("MalformedPolicyDocumentException"):
            self.sm.validate_resource_policy(ResourcePolicy="{not json")

    def test_public_policy_blocked(self):
        name, _ = self.create()
        with self.assertAwsError("PublicPolicyException"):
            self.sm.put_resource_policy(SecretId=name, ResourcePolicy=PUBLIC_POLICY,
                                        BlockPublicPolicy=True)
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=name))

    def test_validate(self):
        out = self.sm.validate_resource_policy(ResourcePolicy=POLICY)
        self.assertTrue(out["PolicyValidationPassed"])
        self.assertEqual(out.get("ValidationErrors", []), [])
        name, _ = self.create()
        out = self.sm.validate_resource_policy(SecretId=name, ResourcePolicy=POLICY)
        self.assertTrue(out["PolicyValidationPassed"])

    def test_missing_secret(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.put_resource_policy(SecretId=unique("nope"), ResourcePolicy=POLICY)
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.get_resource_policy(SecretId=unique("nope"))
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.delete_resource_policy(SecretId=unique("nope"))


class RotationConfigTest(SecretsManagerBoto3Base):
    # Arca stores the rotation configuration; RotateImmediately=False so that no rotation function
    # has to run (Arca has no Lambda).

    def test_rotate_and_cancel(self):
        name, out = self.create()
        self.assertFalse(self.describe(name).get("RotationEnabled", False))
        r = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=LAMBDA_ARN,
                                  RotationRules={"AutomaticallyAfterDays": 30},
                                  RotateImmediately=False)
        self.assertEqual(r["ARN"], out["ARN"])
        self.assertEqual(r["Name"], name)
        d = self.describe(name)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationLambdaARN"], LAMBDA_ARN)
        self.assertEqual(d["RotationRules"]["AutomaticallyAfterDays"], 30)
        c = self.sm.cancel_rotate_secret(SecretId=name)
        self.assertEqual(c["ARN"], out["ARN"])
        self.assertEqual(c["Name"], name)
        self.assertFalse(self.describe(name)["RotationEnabled"])
        self.assertEqual(self.value(name)["SecretString"], "v1")

    def test_schedule_expression(self):
        name, _ = self.create()
        self.sm.rotate_secret(SecretId=name, RotationLambdaARN=LAMBDA_ARN,
                              RotationRules={"ScheduleExpression": "rate(10 days)",
                                             "Duration": "2h"},
                              RotateImmediately=False)
        d = self.describe(name)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationRules"]["ScheduleExpression"], "rate(10 days)")
        self.assertEqual(d["RotationRules"]["Duration"], "2h")

    def test_rotate_immediately_starts_a_rotation(self):
        # RotateImmediately defaults to true: a rotation starts at once, its token is the VersionId
        # of the version to come, and a second one is refused while it is in progress (this
        # rotator does not exist, so the rotation keeps failing and stays in progress).
        name, _ = self.create()
        token = new_token()
        r = self.sm.rotate_secret(SecretId=name, RotationLambdaARN=LAMBDA_ARN, ClientRequestToken=token)
        self.assertEqual(r["VersionId"], token)
        with self.assertAwsError("InvalidRequestException",
                                 message="A previous rotation isn't complete. That rotation will be "
                                         "reattempted."):
            self.sm.rotate_secret(SecretId=name, RotationLambdaARN=LAMBDA_ARN)
        self.assertEqual(self.value(name)["SecretString"], "v1")
        c = self.sm.cancel_rotate_secret(SecretId=name)
        self.assertEqual(c["VersionId"], token)
        self.assertFalse(self.describe(name)["RotationEnabled"])

    def test_rotate_missing(self):
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.rotate_secret(SecretId=unique("nope"), RotationLambdaARN=LAMBDA_ARN,
                                  RotationRules={"AutomaticallyAfterDays": 30},
                                  RotateImmediately=False)
        with self.assertAwsError("ResourceNotFoundException"):
            self.sm.cancel_rotate_secret(SecretId=unique("nope"))


class ReplicationTest(SecretsManagerBoto3Base):
    PRIMARY = DEFAULT_REGION
    REPLICA = "eu-west-1"
    OTHER = "ap-northeast-1"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.replica_client = cls.server.client(region=cls.REPLICA)
        cls.other_client = cls.server.client(region=cls.OTHER)

    def wait_status(self, name, region, want="InSync", timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            d = self.describe(name)
            st = {s["Region"]: s for s in d.get("ReplicationStatus", [])}
            if region in st and st[region]["Status"] == want:
                return st[region]
            if time.monotonic() > deadline:
                self.fail(f"replication to {region} not {want}: {d.get('ReplicationStatus')}")
            time.sleep(0.1)

    def wait_value(self, client, name, want, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = client.get_secret_value(SecretId=name)
                if got.get("SecretString") == want:
                    return got
            except Exception:  # noqa: BLE001 - poll until the deadline
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                self.fail(f"replica of {name} did not reach {want!r}")
            time.sleep(0.1)

    def test_replica_is_readable_read_only_and_kept_in_step(self):
        name, out = self.create(value="primary-1")
        rep = self.sm.replicate_secret_to_regions(SecretId=name,
                                                  AddReplicaRegions=[{"Region": self.REPLICA}])
        self.assertEqual(rep["ARN"], out["ARN"])
        self.assertEqual([s["Region"] for s in rep["ReplicationStatus"]], [self.REPLICA])
        self.assertIn(rep["ReplicationStatus"][0]["Status"], ("InSync", "InProgress"))
        self.wait_status(name, self.REPLICA)

        got = self.wait_value(self.replica_client, name, "primary-1")
        # Same name and suffix; the replica's ARN names its own region.
        self.assertEqual(got["ARN"], out["ARN"].replace(f":{self.PRIMARY}:", f":{self.REPLICA}:"))
        self.assertEqual(got["VersionId"], out["VersionId"])
        rd = self.describe(name, client=self.replica_client)
        self.assertEqual(rd["PrimaryRegion"], self.PRIMARY)

        # Read-only in the replica's region.
        with self.assertAwsError("InvalidRequestException", client=self.replica_client):
            self.replica_client.put_secret_value(SecretId=name, SecretString="nope")
        with self.assertAwsError("InvalidRequestException", client=self.replica_client):
            self.replica_client.update_secret(SecretId=name, Description="nope")
        with self.assertAwsError("InvalidRequestException", client=self.replica_client):
            self.replica_client.delete_secret(SecretId=name)
        with self.assertAwsError("ResourceExistsException", client=self.replica_client):
            self.replica_client.create_secret(Name=name, SecretString="clash")

        # A new primary version shows in the replica.
        put = self.sm.put_secret_value(SecretId=name, SecretString="primary-2")
        got = self.wait_value(self.replica_client, name, "primary-2")
        self.assertEqual(got["VersionId"], put["VersionId"])
        prev = self.replica_client.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
        self.assertEqual(prev["SecretString"], "primary-1")

        # The primary-region filter finds the replica in its region.
        listed = self.replica_client.list_secrets(
            Filters=[{"Key": "primary-region", "Values": [self.PRIMARY]}])["SecretList"]
        self.assertIn(name, [s["Name"] for s in listed])

    def test_remove_regions_from_replication(self):
        name, _ = self.create(value="r")
        self.sm.replicate_secret_to_regions(SecretId=name,
                                            AddReplicaRegions=[{"Region": self.REPLICA},
                                                               {"Region": self.OTHER}])
        self.wait_status(name, self.REPLICA)
        self.wait_status(name, self.OTHER)
        self.wait_value(self.other_client, name, "r")
        out = self.sm.remove_regions_from_replication(SecretId=name,
                                                      RemoveReplicaRegions=[self.OTHER])
        self.assertEqual([s["Region"] for s in out.get("ReplicationStatus", [])], [self.REPLICA])
        with self.assertAwsError("ResourceNotFoundException", client=self.other_client):
            self.other_client.get_secret_value(SecretId=name)
        self.assertEqual(self.replica_client.get_secret_value(SecretId=name)["SecretString"], "r")
        self.assertEqual([s["Region"] for s in self.describe(name)["ReplicationStatus"]],
                         [self.REPLICA])

    def test_stop_replication_makes_standalone(self):
        name, out = self.create(value="s1")
        self.sm.replicate_secret_to_regions(SecretId=name,
                                            AddReplicaRegions=[{"Region": self.OTHER}])
        self.wait_status(name, self.OTHER)
        self.wait_value(self.other_client, name, "s1")
        stop = self.other_client.stop_replication_to_replica(SecretId=name)
        self.assertIn(f":{self.OTHER}:", stop["ARN"])
        # Writable now, and no longer follows the primary.
        self.other_client.put_secret_value(SecretId=name, SecretString="standalone")
        self.sm.put_secret_value(SecretId=name, SecretString="s2")
        self.assertEqual(self.other_client.get_secret_value(SecretId=name)["SecretString"],
                         "standalone")
        self.assertEqual(self.value(name)["SecretString"], "s2")
        self.assertNotIn(self.OTHER, [s["Region"] for s in
                                      self.describe(name).get("ReplicationStatus", [])])
        rd = self.describe(name, client=self.other_client)
        self.assertIn(rd.get("PrimaryRegion", self.OTHER), (self.OTHER,))

    def test_stop_replication_on_primary_is_invalid(self):
        name, _ = self.create()
        with self.assertAwsError(("InvalidRequestException", "InvalidParameterException")):
            self.sm.stop_replication_to_replica(SecretId=name)

    def test_existing_name_in_target_region_fails_unless_forced(self):
        name, _ = self.create(value="from-primary")
        self.other_client.create_secret(Name=name, SecretString="already-there")
        out = self.sm.replicate_secret_to_regions(SecretId=name,
                                                  AddReplicaRegions=[{"Region": self.OTHER}])
        # AWS reports this in the replication status (Failed), not as an error of the call.
        st = out["ReplicationStatus"][0]
        self.assertEqual(st["Region"], self.OTHER)
        if st["Status"] != "Failed":
            st = self.wait_status(name, self.OTHER, want="Failed")
        self.assertTrue(st.get("StatusMessage"))
        self.assertEqual(self.other_client.get_secret_value(SecretId=name)["SecretString"],
                         "already-there")
        # Retry: drop the failed region (this must not delete the unrelated secret there), then
        # replicate again, overwriting.
        self.sm.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=[self.OTHER])
        self.assertEqual(self.other_client.get_secret_value(SecretId=name)["SecretString"],
                         "already-there")
        self.sm.replicate_secret_to_regions(SecretId=name,
                                            AddReplicaRegions=[{"Region": self.OTHER}],
                                            ForceOverwriteReplicaSecret=True)
        self.wait_status(name, self.OTHER)
        self.wait_value(self.other_client, name, "from-primary")

    def test_create_with_replica_regions(self):
        name = unique("born-replicated")
        out = self.sm.create_secret(Name=name, SecretString="born",
                                    AddReplicaRegions=[{"Region": self.REPLICA}])
        self.assertEqual([s["Region"] for s in out["ReplicationStatus"]], [self.REPLICA])
        self.wait_value(self.replica_client, name, "born")


if __name__ == "__main__":
    unittest.main()
