"""SSM Parameter Store against a real `arca server`, with the real aws CLI and boto3: the JSON
SecureString workflow, paths and recursion, versions and labels, history, policies, limits, errors,
access control, and no SecureString value in plaintext on disk.
"""

import base64
import datetime
import glob
import json
import os
import time
import unittest

from arca_harness import DEFAULT_ACCOUNT, ArcaTestCase, aws_cli, unique

ACCOUNT = DEFAULT_ACCOUNT


def param_arn(name, region="us-east-1"):
    return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{name.lstrip('/')}"


class SsmTest(ArcaTestCase):
    server_kwargs = {"extra_args": ("--purge-interval-seconds", "1")}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ssm = cls.server.client(service="ssm")
        cls.kms = cls.server.client(service="kms")

    def err(self, code):
        return self.assertAwsError(code, client=self.ssm)

    # ---- the SecureString workflow ---------------------------------------------------------------

    def test_secure_string_round_trip(self):
        name = f"/{unique('shop')}/prod/app"
        value = json.dumps({"db": "postgres://u:p@db/shop", "marker": "c0ffee-9912"})
        out = self.ssm.put_parameter(Name=name, Value=value, Type="SecureString")
        self.assertEqual(out["Version"], 1)
        self.assertEqual(out["Tier"], "Standard")
        got = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], value)
        self.assertEqual(got["Type"], "SecureString")
        self.assertEqual(got["Version"], 1)
        self.assertEqual(got["ARN"], param_arn(name))
        self.assertEqual(got["DataType"], "text")
        hidden = self.ssm.get_parameter(Name=name)["Parameter"]["Value"]
        self.assertNotEqual(hidden, value)
        self.assertNotIn("c0ffee-9912", hidden)
        # What SSM returns undecrypted is the KMS ciphertext, bound to the parameter's ARN. The AWS
        # managed key aws/ssm may be used only through SSM (its key policy says kms:ViaService), as
        # in AWS; under a customer managed key the owner can decrypt it with KMS directly.
        ctx = {"PARAMETER_ARN": param_arn(name)}
        with self.assertAwsError("AccessDeniedException", client=self.kms):
            self.kms.decrypt(CiphertextBlob=base64.b64decode(hidden), EncryptionContext=ctx)
        key = self.kms.create_key(Description="ssm direct")["KeyMetadata"]["KeyId"]
        cmk_name = name + "-cmk"
        self.ssm.put_parameter(Name=cmk_name, Value=value, Type="SecureString", KeyId=key)
        blob = base64.b64decode(self.ssm.get_parameter(Name=cmk_name)["Parameter"]["Value"])
        plain = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={"PARAMETER_ARN": param_arn(cmk_name)})
        self.assertEqual(plain["Plaintext"].decode(), value)
        with self.err("ParameterAlreadyExists"):
            self.ssm.put_parameter(Name=name, Value="x", Type="SecureString")
        out = self.ssm.put_parameter(Name=name, Value="v2", Type="SecureString", Overwrite=True)
        self.assertEqual(out["Version"], 2)
        self.assertEqual(self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"], "v2")

    def test_no_secure_value_in_plaintext_on_disk(self):
        marker = "plaintext-marker-" + unique("p")
        name = f"/{unique('disk')}/secret"
        self.ssm.put_parameter(Name=name, Value=marker, Type="SecureString")
        self.ssm.put_parameter(Name=name + "-adv", Value=marker + "x" * 5000, Type="SecureString",
                               Tier="Advanced")
        self.ssm.get_parameter(Name=name, WithDecryption=True)
        self.ssm.get_parameter_history(Name=name, WithDecryption=True)
        for path in glob.glob(os.path.join(self.server.data_dir, "**", "*"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    self.assertNotIn(marker.encode(), f.read(), path)
        self.assertNotIn(marker.encode(), self.server.all_logs_bytes())

    def test_customer_key_and_disabled_key(self):
        key = self.kms.create_key(Description="params")["KeyMetadata"]
        name = f"/{unique('cmk')}/token"
        self.ssm.put_parameter(Name=name, Value="under cmk", Type="SecureString", KeyId=key["KeyId"])
        described = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
        self.assertEqual(len(described), 1)
        self.assertIn(key["KeyId"], described[0]["KeyId"])
        self.kms.disable_key(KeyId=key["KeyId"])
        try:
            with self.err("InvalidKeyId"):
                self.ssm.get_parameter(Name=name, WithDecryption=True)
            with self.err("InvalidKeyId"):
                self.ssm.put_parameter(Name=name, Value="x", Type="SecureString", KeyId=key["KeyId"],
                                       Overwrite=True)
        finally:
            self.kms.enable_key(KeyId=key["KeyId"])
        self.assertEqual(self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"],
                         "under cmk")
        with self.err("InvalidKeyId"):
            self.ssm.put_parameter(Name=name + "2", Value="x", Type="SecureString", KeyId="alias/nope")

    def test_key_pending_deletion_makes_the_value_unreadable_until_cancelled(self):
        key = self.kms.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
        name = f"/{unique('doomed')}/token"
        self.ssm.put_parameter(Name=name, Value="under a doomed key", Type="SecureString", KeyId=key)
        self.kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        with self.err("InvalidKeyId"):
            self.ssm.get_parameter(Name=name, WithDecryption=True)
        # Without decryption the ciphertext is still there to read.
        self.assertNotEqual(self.ssm.get_parameter(Name=name)["Parameter"]["Value"], "under a doomed key")
        self.kms.cancel_key_deletion(KeyId=key)
        with self.err("InvalidKeyId"):  # a cancelled deletion leaves the key disabled, as in AWS
            self.ssm.get_parameter(Name=name, WithDecryption=True)
        self.kms.enable_key(KeyId=key)
        self.assertEqual(self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"],
                         "under a doomed key")

    # ---- paths -----------------------------------------------------------------------------------

    def test_paths_and_recursion(self):
        root = "/" + unique("app")
        names = [f"{root}/prod/db/url", f"{root}/prod/db/user", f"{root}/prod/api",
                 f"{root}/staging/db/url"]
        for n in names:
            self.ssm.put_parameter(Name=n, Value="v:" + n, Type="String")
        one = self.ssm.get_parameters_by_path(Path=f"{root}/prod")["Parameters"]
        self.assertEqual([p["Name"] for p in one], [f"{root}/prod/api"])
        found, token = [], None
        while True:
            kw = {"Path": f"{root}/prod", "Recursive": True, "MaxResults": 2}
            if token:
                kw["NextToken"] = token
            out = self.ssm.get_parameters_by_path(**kw)
            self.assertLessEqual(len(out["Parameters"]), 2)
            found += [p["Name"] for p in out["Parameters"]]
            token = out.get("NextToken")
            if not token:
                break
        self.assertEqual(sorted(found), sorted(names[:3]))
        filtered = self.ssm.get_parameters_by_path(
            Path=root, Recursive=True,
            ParameterFilters=[{"Key": "Type", "Option": "Equals", "Values": ["String"]}])["Parameters"]
        self.assertEqual(len(filtered), 4)
        with self.assertAwsError(("ValidationException", "InvalidFilterKey"), client=self.ssm):
            self.ssm.get_parameters_by_path(Path="no-slash")

    def test_get_parameters_and_delete_parameters(self):
        a, b = "/" + unique("ga"), "/" + unique("gb")
        self.ssm.put_parameter(Name=a, Value="A", Type="String")
        self.ssm.put_parameter(Name=b, Value="x,y,z", Type="StringList")
        out = self.ssm.get_parameters(Names=[a, b, "/missing/one"])
        self.assertEqual(sorted(p["Name"] for p in out["Parameters"]), sorted([a, b]))
        self.assertEqual(out["InvalidParameters"], ["/missing/one"])
        with self.assertAwsError("ValidationException", client=self.ssm):
            self.ssm.get_parameters(Names=[f"/n{i}" for i in range(11)])
        out = self.ssm.delete_parameters(Names=[a, "/missing/two"])
        self.assertEqual(out["DeletedParameters"], [a])
        self.assertEqual(out["InvalidParameters"], ["/missing/two"])
        self.ssm.delete_parameter(Name=b)
        with self.err("ParameterNotFound"):
            self.ssm.get_parameter(Name=b)
        with self.err("ParameterNotFound"):
            self.ssm.delete_parameter(Name=b)

    # ---- versions, labels, history ---------------------------------------------------------------

    def test_versions_labels_and_history(self):
        name = "/" + unique("ver")
        for i in range(1, 4):
            self.ssm.put_parameter(Name=name, Value=f"value {i}", Type="SecureString", Overwrite=True,
                                   Description=f"d{i}")
        self.assertEqual(self.ssm.get_parameter(Name=f"{name}:1", WithDecryption=True)["Parameter"]["Value"],
                         "value 1")
        out = self.ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["stable"])
        self.assertEqual(out["InvalidLabels"], [])
        got = self.ssm.get_parameter(Name=f"{name}:stable", WithDecryption=True)["Parameter"]
        self.assertEqual((got["Value"], got["Version"], got["Selector"]), ("value 2", 2, ":stable"))
        # A label moves to the version it is attached to next.
        self.ssm.label_parameter_version(Name=name, ParameterVersion=3, Labels=["stable"])
        self.assertEqual(self.ssm.get_parameter(Name=f"{name}:stable")["Parameter"]["Version"], 3)
        out = self.ssm.label_parameter_version(Name=name, ParameterVersion=1,
                                               Labels=["aws-nope", "1abc", "ok_label"])
        self.assertEqual(sorted(out["InvalidLabels"]), ["1abc", "aws-nope"])
        with self.err("ParameterVersionNotFound"):
            self.ssm.get_parameter(Name=f"{name}:9")
        with self.assertAwsError(("ParameterVersionLabelLimitExceeded",), client=self.ssm):
            self.ssm.label_parameter_version(Name=name, ParameterVersion=1,
                                             Labels=[f"l{i}" for i in range(11)])
        history = self.ssm.get_parameter_history(Name=name, WithDecryption=True)["Parameters"]
        self.assertEqual([h["Version"] for h in history], [1, 2, 3])
        self.assertEqual([h["Value"] for h in history], ["value 1", "value 2", "value 3"])
        self.assertEqual(history[2]["Labels"], ["stable"])
        self.assertEqual(history[0]["Description"], "d1")
        hidden = self.ssm.get_parameter_history(Name=name)["Parameters"]
        self.assertNotIn("value 1", [h["Value"] for h in hidden])
        out = self.ssm.unlabel_parameter_version(Name=name, ParameterVersion=3, Labels=["stable", "never"])
        self.assertEqual(out["RemovedLabels"], ["stable"])
        self.assertEqual(out["InvalidLabels"], ["never"])

    def test_hundred_version_limit(self):
        name = "/" + unique("many")
        for i in range(101):
            self.ssm.put_parameter(Name=name, Value=str(i), Type="String", Overwrite=True)
        history, token = [], None
        while True:
            kw = {"Name": name, "MaxResults": 50}
            if token:
                kw["NextToken"] = token
            out = self.ssm.get_parameter_history(**kw)
            history += out["Parameters"]
            token = out.get("NextToken")
            if not token:
                break
        self.assertEqual(len(history), 100)
        self.assertEqual(history[0]["Version"], 2)
        self.assertEqual(history[-1]["Version"], 101)
        self.ssm.label_parameter_version(Name=name, ParameterVersion=2, Labels=["pinned"])
        with self.err("ParameterMaxVersionLimitExceeded"):
            self.ssm.put_parameter(Name=name, Value="more", Type="String", Overwrite=True)

    # ---- limits and rules ------------------------------------------------------------------------

    def test_limits_and_name_rules(self):
        base = "/" + unique("lim")
        with self.assertAwsError("ValidationException", client=self.ssm):
            self.ssm.put_parameter(Name=base + "/big", Value="x" * 4097, Type="String")
        out = self.ssm.put_parameter(Name=base + "/big", Value="x" * 8000, Type="String", Tier="Advanced")
        self.assertEqual(out["Tier"], "Advanced")
        deep = base + "".join(f"/l{i}" for i in range(15))
        with self.err("HierarchyLevelLimitExceededException"):
            self.ssm.put_parameter(Name=deep, Value="x", Type="String")
        with self.assertAwsError("ValidationException", client=self.ssm):
            self.ssm.put_parameter(Name="/aws/mine", Value="x", Type="String")
        with self.assertAwsError("ValidationException", client=self.ssm):
            self.ssm.put_parameter(Name=base + "/bad name!", Value="x", Type="String")
        self.ssm.put_parameter(Name=base + "/pat", Value="123", Type="String", AllowedPattern=r"^\d+$")
        with self.err("ParameterPatternMismatchException"):
            self.ssm.put_parameter(Name=base + "/pat", Value="abc", Type="String", AllowedPattern=r"^\d+$",
                                   Overwrite=True)

    def test_policies(self):
        name = "/" + unique("pol")
        expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3))
        policies = json.dumps([{"Type": "Expiration", "Version": "1.0",
                                "Attributes": {"Timestamp": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")}}])
        with self.assertAwsError("IncompatiblePolicyException", client=self.ssm):
            self.ssm.put_parameter(Name=name, Value="x", Type="String", Tier="Standard", Policies=policies)
        self.ssm.put_parameter(Name=name, Value="x", Type="String", Tier="Advanced", Policies=policies)
        described = self.ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"][0]
        self.assertEqual(described["Policies"][0]["PolicyType"], "Expiration")
        with self.assertAwsError("InvalidPolicyTypeException", client=self.ssm):
            self.ssm.put_parameter(Name=name + "b", Value="x", Type="String", Tier="Advanced",
                                   Policies=json.dumps([{"Type": "Nope", "Version": "1.0", "Attributes": {}}]))
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                self.ssm.get_parameter(Name=name)
            except self.ssm.exceptions.ParameterNotFound:
                return
            time.sleep(0.5)
        self.fail("the expired parameter was not deleted")

    def test_tags_and_describe_filters(self):
        root = "/" + unique("tag")
        self.ssm.put_parameter(Name=root + "/a", Value="a", Type="String",
                               Tags=[{"Key": "team", "Value": "shop"}])
        self.ssm.put_parameter(Name=root + "/b", Value="b", Type="SecureString")
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=root + "/b",
                                      Tags=[{"Key": "team", "Value": "ops"}, {"Key": "x", "Value": "1"}])
        self.ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=root + "/b", TagKeys=["x"])
        self.assertEqual(self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=root + "/b")
                         ["TagList"], [{"Key": "team", "Value": "ops"}])
        by_tag = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "tag:team", "Values": ["shop"]}, {"Key": "Path", "Option": "Recursive", "Values": [root]}])
        self.assertEqual([p["Name"] for p in by_tag["Parameters"]], [root + "/a"])
        secure = self.ssm.describe_parameters(ParameterFilters=[
            {"Key": "Type", "Values": ["SecureString"]},
            {"Key": "Name", "Option": "BeginsWith", "Values": [root]}])["Parameters"]
        self.assertEqual([p["Name"] for p in secure], [root + "/b"])
        self.assertNotIn("Value", secure[0])
        with self.assertAwsError(("InvalidResourceId",), client=self.ssm):
            self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId="/no/such/param")

    def test_secrets_manager_reference(self):
        sm_name = unique("ref")
        self.sm.create_secret(Name=sm_name, SecretString='{"password":"from-sm"}')
        got = self.ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{sm_name}",
                                     WithDecryption=True)["Parameter"]
        self.assertEqual(got["Value"], '{"password":"from-sm"}')
        self.assertEqual(got["Type"], "SecureString")
        self.assertIn("SourceResult", got)
        with self.assertAwsError(("ValidationException", "InvalidParameterException"), client=self.ssm):
            self.ssm.get_parameter(Name=f"/aws/reference/secretsmanager/{sm_name}")
        with self.err("ParameterNotFound"):
            self.ssm.get_parameter(Name="/aws/reference/secretsmanager/no-such-secret", WithDecryption=True)

    def test_access_control(self):
        iam = self.server.client(service="iam")
        root = "/" + unique("acl")
        self.ssm.put_parameter(Name=root + "/prod/key", Value="prod", Type="SecureString")
        self.ssm.put_parameter(Name=root + "/dev/key", Value="dev", Type="SecureString")
        user = unique("ssmuser")
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
                           "Resource": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{root}/dev*"}]}))
        k = iam.create_access_key(UserName=user)["AccessKey"]
        ssm = self.server.client(service="ssm", credentials=(k["AccessKeyId"], k["SecretAccessKey"]))
        self.assertEqual(ssm.get_parameter(Name=root + "/dev/key", WithDecryption=True)["Parameter"]["Value"],
                         "dev")
        with self.assertAwsError("AccessDeniedException", client=ssm):
            ssm.get_parameter(Name=root + "/prod/key", WithDecryption=True)
        with self.assertAwsError("AccessDeniedException", client=ssm):
            ssm.put_parameter(Name=root + "/dev/key", Value="x", Type="SecureString", Overwrite=True)
        ct = self.server.client(service="cloudtrail")
        events = ct.lookup_events(LookupAttributes=[{"AttributeKey": "EventSource",
                                                     "AttributeValue": "ssm.amazonaws.com"}])["Events"]
        names = {e["EventName"] for e in events}
        self.assertIn("PutParameter", names)
        self.assertIn("GetParameter", names)
        for e in events:
            self.assertNotIn('"prod"', e["CloudTrailEvent"])


@unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
class SsmCliTest(ArcaTestCase):

    def ok(self, *args):
        rc, out, err = self.server.aws(*args)
        self.assertEqual(rc, 0, f"aws {' '.join(args)} failed: {err}")
        return out

    def test_json_secure_string_workflow(self):
        name = "/myapp/prod/app"
        value = json.dumps({"DATABASE_URL": "postgres://app:pw@db:5432/app", "API_KEY": "k-123"})
        self.ok("ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", value,
                "--overwrite")
        rc, out, err = self.server.aws("ssm", "get-parameter", "--name", name, "--with-decryption",
                                       "--query", "Parameter.Value")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out) if isinstance(out, str) else out, json.loads(value))
        self.ok("ssm", "put-parameter", "--name", name, "--type", "SecureString",
                "--value", json.dumps({"DATABASE_URL": "changed"}), "--overwrite")
        hist = self.ok("ssm", "get-parameter-history", "--name", name)["Parameters"]
        self.assertEqual([h["Version"] for h in hist], [1, 2])
        by_path = self.ok("ssm", "get-parameters-by-path", "--path", "/myapp", "--recursive",
                          "--with-decryption")["Parameters"]
        self.assertEqual([p["Name"] for p in by_path], [name])
        rc, _, err = self.server.aws("ssm", "get-parameter", "--name", "/myapp/none")
        self.assertIn(rc, (254, 255))
        self.assertIn("(ParameterNotFound)", err)

    def test_versions_labels_and_policies(self):
        name = "/" + unique("cli") + "/db/password"
        for value in ("one", "two", "three"):
            self.ok("ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value", value,
                    "--overwrite")
        out = self.ok("ssm", "label-parameter-version", "--name", name, "--parameter-version", "2",
                      "--labels", "stable", "Release_1")
        self.assertEqual(out["InvalidLabels"], [])
        self.assertEqual(out.get("ParameterVersion", 2), 2)
        got = self.ok("ssm", "get-parameter", "--name", name + ":stable", "--with-decryption")["Parameter"]
        self.assertEqual((got["Value"], got["Version"]), ("two", 2))
        got = self.ok("ssm", "get-parameter", "--name", name + ":1", "--with-decryption")["Parameter"]
        self.assertEqual(got["Value"], "one")
        out = self.ok("ssm", "label-parameter-version", "--name", name, "--labels", "aws-no", "1bad")
        self.assertEqual(sorted(out["InvalidLabels"]), ["1bad", "aws-no"])
        hist = self.ok("ssm", "get-parameter-history", "--name", name, "--with-decryption")["Parameters"]
        self.assertEqual([(h["Version"], h["Value"], sorted(h["Labels"])) for h in hist],
                         [(1, "one", []), (2, "two", ["Release_1", "stable"]), (3, "three", [])])
        self.ok("ssm", "unlabel-parameter-version", "--name", name, "--parameter-version", "2",
                "--labels", "stable")
        rc, _, err = self.server.aws("ssm", "get-parameter", "--name", name + ":stable")
        self.assertIn(rc, (254, 255))
        self.assertIn("(ParameterNotFound)", err)  # an unknown label, as AWS answers it
        rc, _, err = self.server.aws("ssm", "get-parameter", "--name", name + ":9")
        self.assertIn(rc, (254, 255))
        self.assertIn("(ParameterVersionNotFound)", err)
        # Policies need the Advanced tier.
        policies = json.dumps([{"Type": "Expiration", "Version": "1.0",
                                "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}])
        rc, _, err = self.server.aws("ssm", "put-parameter", "--name", name + "-exp", "--type", "String",
                                     "--value", "v", "--policies", policies)
        self.assertIn(rc, (254, 255))
        self.assertIn("(IncompatiblePolicyException)", err)
        out = self.ok("ssm", "put-parameter", "--name", name + "-exp", "--type", "String", "--value", "v",
                      "--tier", "Advanced", "--policies", policies)
        self.assertEqual(out["Tier"], "Advanced")
        described = self.ok("ssm", "describe-parameters", "--parameter-filters",
                            f"Key=Name,Values={name}-exp")["Parameters"]
        self.assertEqual(described[0]["Policies"][0]["PolicyType"], "Expiration")
        # A value over the Standard tier's 4 KB.
        rc, _, err = self.server.aws("ssm", "put-parameter", "--name", name + "-big", "--type", "String",
                                     "--value", "x" * 4097)
        self.assertIn(rc, (254, 255))
        self.assertIn("(ValidationException)", err)


if __name__ == "__main__":
    unittest.main()
