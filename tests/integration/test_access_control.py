"""Access control with real clients: IAM principals and policies, STS, and pod-style web identity.

- Least privilege with the real `aws` CLI (issue 4, item 6): managed policies secrets-read-infra
  (database/*, redis/*, jwt/*), secrets-read-llm (openai, anthropic) and secrets-read-integrations
  (oauth/*, email/*) attached to three roles; a deployer user assumes each role with
  `aws sts assume-role`, and each session reads exactly its own secrets and is denied the rest.
- A pod's identity (IRSA): a service-account JWT signed here (RS256 with an `openssl` key; no Python
  crypto package), written to a token file; a child Python process with only AWS_ROLE_ARN +
  AWS_WEB_IDENTITY_TOKEN_FILE (plus where the endpoint is) reads its secret through boto3's default
  credential chain, and is refused with a wrong sub, a wrong audience, an expired token or a bad
  signature. ES256 tokens are checked too.
- The policy engine end to end: explicit deny, resource policies, policy variables, principal tags,
  IAM and CloudTrail actions gated like Secrets Manager's, inactive and deleted keys refused.

Every principal except the account root (the key in DATA_DIR/credentials) starts with no rights.
"""

import base64
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
import uuid

import boto3
import botocore
import botocore.config
import botocore.exceptions

from arca_harness import (DEFAULT_ACCOUNT, DEFAULT_REGION, ArcaTestCase, aws_cli, clean_env,
                          unique)

ACCOUNT = DEFAULT_ACCOUNT
ISSUER_HOST = "oidc.example.test/cluster"
ISSUER = "https://" + ISSUER_HOST
PROVIDER_ARN = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"
STS_AUDIENCE = "sts.amazonaws.com"
THUMBPRINT = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280"


def policy_doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resources, **extra):
    st = {"Effect": "Allow", "Action": actions, "Resource": resources}
    st.update(extra)
    return st


def deny(actions, resources, **extra):
    st = {"Effect": "Deny", "Action": actions, "Resource": resources}
    st.update(extra)
    return st


def secret_arn_pattern(name_pattern):
    return f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:{name_pattern}"


def random_value(tag="v"):
    return f"{tag}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def error_code(exc):
    return exc.response.get("Error", {}).get("Code")


# ---- IAM helpers (root boto3 clients) ------------------------------------------------------------

def make_user(iam, name, inline_policy=None, tags=None):
    """Creates an IAM user with one access key; returns (access key id, secret access key, arn)."""
    kw = {"UserName": name}
    if tags:
        kw["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    arn = iam.create_user(**kw)["User"]["Arn"]
    if inline_policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=inline_policy)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"], arn


def trust_for_user(user_name):
    return policy_doc({"Effect": "Allow",
                       "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{user_name}"},
                       "Action": "sts:AssumeRole"})


# ---- JWTs signed with openssl ---------------------------------------------------------------------

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_b64url(n, length=None):
    length = length or (n.bit_length() + 7) // 8
    return b64url(n.to_bytes(length, "big"))


def _openssl(*args, data=None):
    p = subprocess.run(["openssl"] + list(args), input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {p.stderr.decode(errors='replace')}")
    return p.stdout


def _der_ecdsa_to_raw(der, size=32):
    """ECDSA-Sig-Value (DER SEQUENCE of two INTEGERs) to JWS's fixed-width r||s."""
    def read_len(buf, i):
        n = buf[i]
        if n < 0x80:
            return n, i + 1
        k = n & 0x7F
        return int.from_bytes(buf[i + 1:i + 1 + k], "big"), i + 1 + k
    assert der[0] == 0x30, der
    _, i = read_len(der, 1)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02, der
        n, i = read_len(der, i + 1)
        out += int.from_bytes(der[i:i + n], "big").to_bytes(size, "big")
        i += n
    return out


class RsaKey:
    """An RSA key made by `openssl genrsa`; its JWK and RS256 signatures."""

    alg = "RS256"

    def __init__(self, directory, kid):
        self.kid = kid
        self.path = os.path.join(directory, f"rsa-{kid}-{uuid.uuid4().hex[:8]}.pem")
        _openssl("genrsa", "-out", self.path, "2048")
        modulus = _openssl("rsa", "-in", self.path, "-noout", "-modulus").decode()
        self.n = int(modulus.strip().split("=", 1)[1], 16)
        text = _openssl("rsa", "-in", self.path, "-noout", "-text").decode()
        self.e = int(re.search(r"publicExponent: (\d+)", text).group(1))

    def jwk(self):
        return {"kty": "RSA", "kid": self.kid, "use": "sig", "alg": "RS256",
                "n": int_b64url(self.n), "e": int_b64url(self.e)}

    def sign(self, data):
        return _openssl("dgst", "-sha256", "-sign", self.path, data=data)


class EcKey:
    """A P-256 key made by `openssl ecparam`; its JWK and ES256 (raw r||s) signatures."""

    alg = "ES256"

    def __init__(self, directory, kid):
        self.kid = kid
        self.path = os.path.join(directory, f"ec-{kid}-{uuid.uuid4().hex[:8]}.pem")
        _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.path)
        text = _openssl("ec", "-in", self.path, "-noout", "-text").decode()
        pub_hex = re.search(r"pub:\s*\n((?:\s+[0-9a-f:]+\n)+)", text).group(1)
        pub = bytes.fromhex(re.sub(r"[\s:]", "", pub_hex))
        assert pub[0] == 4 and len(pub) == 65, pub.hex()
        self.x, self.y = pub[1:33], pub[33:]

    def jwk(self):
        return {"kty": "EC", "kid": self.kid, "use": "sig", "alg": "ES256", "crv": "P-256",
                "x": b64url(self.x), "y": b64url(self.y)}

    def sign(self, data):
        return _der_ecdsa_to_raw(_openssl("dgst", "-sha256", "-sign", self.path, data=data))


def make_jwt(key, claims, alg=None, kid=None, header=None):
    h = {"alg": alg or key.alg, "typ": "JWT", "kid": kid if kid is not None else key.kid}
    h.update(header or {})
    signing_input = (b64url(json.dumps(h, separators=(",", ":")).encode()) + "." +
                     b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + b64url(key.sign(signing_input.encode()))


def sa_claims(namespace, name, audience=STS_AUDIENCE, issuer=ISSUER, lifetime=3600, issued=None):
    """The claims of a Kubernetes projected service-account token."""
    now = int(time.time()) if issued is None else issued
    return {
        "iss": issuer,
        "sub": f"system:serviceaccount:{namespace}:{name}",
        "aud": [audience] if isinstance(audience, str) else audience,
        "iat": now, "nbf": now, "exp": now + lifetime,
        "kubernetes.io": {"namespace": namespace,
                          "serviceaccount": {"name": name, "uid": str(uuid.uuid4())}},
    }


# The program a pod runs: nothing but boto3's defaults. Credentials come from the default chain
# (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as IRSA sets them), and where the endpoints are from
# the environment (see PodIdentityTest.pod_env).
POD_PROGRAM = textwrap.dedent("""\
    import json, sys
    import boto3, botocore.exceptions
    out = {"botocore": __import__("botocore").__version__}
    try:
        session = boto3.Session()
        sm = session.client("secretsmanager")
        out["value"] = sm.get_secret_value(SecretId=sys.argv[1])["SecretString"]
        out["identity"] = session.client("sts").get_caller_identity()["Arn"]
        creds = session.get_credentials().get_frozen_credentials()
        out["access_key_prefix"] = creds.access_key[:4]
        out["has_token"] = bool(creds.token)
        try:
            sm.get_secret_value(SecretId=sys.argv[2])
            out["other"] = "read"
        except botocore.exceptions.ClientError as e:
            out["other"] = e.response["Error"]["Code"]
            out["other_message"] = e.response["Error"].get("Message", "")
    except botocore.exceptions.ClientError as e:
        out["error"] = e.response["Error"]["Code"]
        out["error_message"] = e.response["Error"].get("Message", "")
        out["operation"] = e.operation_name
    except Exception as e:  # noqa: BLE001 - reported to the test
        out["error"] = type(e).__name__
        out["error_message"] = str(e)
    print(json.dumps(out))
""")


def botocore_has_endpoint_env():
    """botocore 1.31 added AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> ("service-specific
    endpoints"); Debian's 1.29 predates them."""
    parts = tuple(int(p) for p in botocore.__version__.split(".")[:2])
    return parts >= (1, 31)


# =================================================================================================
# Least privilege with the real aws CLI
# =================================================================================================

INFRA_SECRETS = ["database/postgres", "database/mysql", "redis/cache", "jwt/signing-key"]
LLM_SECRETS = ["openai", "anthropic"]
INTEGRATION_SECRETS = ["oauth/google", "email/smtp"]
# Look-alikes no role may read: "database/*" must not match "database-backup", and
# "openai-??????" (the exact name plus AWS's six-character suffix) must not match "openai-legacy".
DECOY_SECRETS = ["database-backup", "openai-legacy"]

ROLE_POLICIES = {
    "secrets-read-infra": [secret_arn_pattern("database/*"), secret_arn_pattern("redis/*"),
                           secret_arn_pattern("jwt/*")],
    "secrets-read-llm": [secret_arn_pattern("openai-??????"),
                         secret_arn_pattern("anthropic-??????")],
    "secrets-read-integrations": [secret_arn_pattern("oauth/*"), secret_arn_pattern("email/*")],
}
ROLES = {  # role name -> (managed policy, the secrets it may read)
    "secrets-infra": ("secrets-read-infra", INFRA_SECRETS),
    "secrets-llm": ("secrets-read-llm", LLM_SECRETS),
    "secrets-integrations": ("secrets-read-integrations", INTEGRATION_SECRETS),
}
ALL_SECRETS = INFRA_SECRETS + LLM_SECRETS + INTEGRATION_SECRETS + DECOY_SECRETS


@unittest.skipUnless(aws_cli(), "no aws CLI on PATH")
class LeastPrivilegeCliTest(ArcaTestCase):
    """Three roles, three managed policies, one deployer; everything through `aws ...`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.values = {name: random_value("lp") for name in ALL_SECRETS}
        for name, value in cls.values.items():
            cls.sm.create_secret(Name=name, SecretString=value)
        cls.policy_arns = {}
        for policy, resources in ROLE_POLICIES.items():
            doc = policy_doc(allow(["secretsmanager:GetSecretValue",
                                    "secretsmanager:DescribeSecret"], resources))
            out = cls.cli_ok("iam", "create-policy", "--policy-name", policy,
                             "--policy-document", doc, "--description", f"{policy} (it)")
            cls.policy_arns[policy] = out["Policy"]["Arn"]
        cls.role_arns = {}
        for role, (policy, _) in ROLES.items():
            out = cls.cli_ok("iam", "create-role", "--role-name", role,
                             "--assume-role-policy-document", trust_for_user("deployer"))
            cls.role_arns[role] = out["Role"]["Arn"]
            cls.cli_ok("iam", "attach-role-policy", "--role-name", role,
                       "--policy-arn", cls.policy_arns[policy], parse=False)
        cls.cli_ok("iam", "create-user", "--user-name", "deployer")
        cls.cli_ok("iam", "put-user-policy", "--user-name", "deployer",
                   "--policy-name", "assume-secrets-roles", "--policy-document",
                   policy_doc(allow("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/secrets-*")),
                   parse=False)
        key = cls.cli_ok("iam", "create-access-key", "--user-name", "deployer")["AccessKey"]
        cls.deployer = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"],
                        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        cls.sessions = {}

    # ---- CLI plumbing ---------------------------------------------------------------------------

    @classmethod
    def cli(cls, *args, creds=None):
        """`aws ARGS` as root, or with `creds` (env AWS_ACCESS_KEY_ID/... which the CLI's credential
        chain takes before the shared credentials file)."""
        env = {}
        if creds is not None:
            env = dict(creds)
            # The harness names profile [arca]; here it holds a key the server does not know, so
            # a CLI that ignored the environment's key would be refused, not act as root.
            env["AWS_SHARED_CREDENTIALS_FILE"] = cls.decoy_credentials()
        return cls.server.aws(*args, env=env)

    @classmethod
    def decoy_credentials(cls):
        path = os.path.join(cls.server.log_dir, "decoy-credentials")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write("[arca]\naws_access_key_id = AKIA-FAKE-DECOY-KEY\n"
                        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        return path

    @classmethod
    def cli_ok(cls, *args, creds=None, parse=True):
        rc, out, err = cls.cli(*args, creds=creds)
        if rc != 0:
            raise AssertionError(f"aws {' '.join(args)} failed (rc={rc}): {err}")
        if parse and out is None:
            raise AssertionError(f"aws {' '.join(args)} printed no JSON")
        return out

    def assert_cli_denied(self, args, creds, caller_arn=None, action=None):
        rc, out, err = self.cli(*args, creds=creds)
        # CLI v2 exits 254 on a service error, v1 exits 255.
        self.assertIn(rc, (254, 255), f"aws {' '.join(args)}: expected a refusal, rc={rc} out={out}")
        self.assertIn("(AccessDeniedException)", err, err)
        if caller_arn is not None:
            self.assertIn(f"User: {caller_arn} is not authorized to perform: ", err)
        if action is not None:
            self.assertIn(f"is not authorized to perform: {action} on resource: ", err)
        self.assertIsNone(out)
        return err

    def session(self, role):
        """Temporary credentials for `role`, from `aws sts assume-role` run with the deployer's key."""
        if role not in self.sessions:
            out = self.cli_ok("sts", "assume-role", "--role-arn", self.role_arns[role],
                              "--role-session-name", f"{role}-ci", creds=self.deployer)
            c = out["Credentials"]
            self.sessions[role] = ({"AWS_ACCESS_KEY_ID": c["AccessKeyId"],
                                    "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"],
                                    "AWS_SESSION_TOKEN": c["SessionToken"]},
                                   out["AssumedRoleUser"]["Arn"], out)
        return self.sessions[role]

    # ---- tests ----------------------------------------------------------------------------------

    def test_assume_role_answers_temporary_credentials(self):
        creds, arn, out = self.session("secrets-infra")
        c = out["Credentials"]
        self.assertRegex(c["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertGreaterEqual(len(c["SecretAccessKey"]), 40)
        self.assertTrue(c["SessionToken"])
        self.assertTrue(c["Expiration"])
        self.assertEqual(arn, f"arn:aws:sts::{ACCOUNT}:assumed-role/secrets-infra/secrets-infra-ci")
        self.assertRegex(out["AssumedRoleUser"]["AssumedRoleId"], r"^AROA[A-Z0-9]+:secrets-infra-ci$")
        who = self.cli_ok("sts", "get-caller-identity", creds=creds)
        self.assertEqual(who["Arn"], arn)
        self.assertEqual(who["Account"], ACCOUNT)
        self.assertEqual(who["UserId"], out["AssumedRoleUser"]["AssumedRoleId"])

    def test_each_role_reads_only_its_own_secrets(self):
        sessions = {role: self.session(role) for role in ROLES}
        cases = [(role, name) for role in ROLES for name in ALL_SECRETS]

        def read(case):
            role, name = case
            return self.cli("secretsmanager", "get-secret-value", "--secret-id", name,
                            creds=sessions[role][0])

        # Three CLI processes at a time: the matrix is 30 runs of a slow-starting program.
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            results = dict(zip(cases, pool.map(read, cases)))
        for (role, name), (rc, out, err) in results.items():
            own = ROLES[role][1]
            arn = sessions[role][1]
            with self.subTest(role=role, secret=name):
                if name in own:
                    self.assertEqual(rc, 0, err)
                    self.assertEqual(out["SecretString"], self.values[name])
                    self.assertEqual(out["Name"], name)
                else:
                    # CLI v2 exits 254 on a service error, v1 exits 255.
                    self.assertIn(rc, (254, 255), f"{role} read {name}: {out}")
                    self.assertIsNone(out)
                    self.assertIn("(AccessDeniedException)", err)
                    self.assertIn(f"User: {arn} is not authorized to perform: "
                                  "secretsmanager:GetSecretValue on resource: ", err)
                    self.assertNotIn(self.values[name], err)

    def test_read_only_policies_do_not_allow_writes_or_listing(self):
        creds, arn, _ = self.session("secrets-infra")
        self.assert_cli_denied(("secretsmanager", "put-secret-value", "--secret-id",
                                "database/postgres", "--secret-string", "overwritten"), creds,
                               caller_arn=arn, action="secretsmanager:PutSecretValue")
        err = self.assert_cli_denied(("secretsmanager", "list-secrets"), creds, caller_arn=arn)
        # ListSecrets acts on no particular secret: AWS's message has no "on resource".
        self.assertIn("is not authorized to perform: secretsmanager:ListSecrets", err)
        self.assert_cli_denied(("secretsmanager", "delete-secret", "--secret-id", "redis/cache",
                                "--force-delete-without-recovery"), creds, caller_arn=arn,
                               action="secretsmanager:DeleteSecret")
        # DescribeSecret is in the policy; the value is untouched.
        d = self.cli_ok("secretsmanager", "describe-secret", "--secret-id", "jwt/signing-key",
                        creds=creds)
        self.assertEqual(d["Name"], "jwt/signing-key")
        got = self.cli_ok("secretsmanager", "get-secret-value", "--secret-id", "database/postgres")
        self.assertEqual(got["SecretString"], self.values["database/postgres"])

    def test_full_arn_is_checked_like_the_name(self):
        creds, arn, _ = self.session("secrets-llm")
        full = self.sm.describe_secret(SecretId="openai")["ARN"]
        out = self.cli_ok("secretsmanager", "get-secret-value", "--secret-id", full, creds=creds)
        self.assertEqual(out["SecretString"], self.values["openai"])
        other = self.sm.describe_secret(SecretId="database/postgres")["ARN"]
        self.assert_cli_denied(("secretsmanager", "get-secret-value", "--secret-id", other), creds,
                               caller_arn=arn, action="secretsmanager:GetSecretValue")

    def test_deployer_itself_reads_nothing(self):
        arn = f"arn:aws:iam::{ACCOUNT}:user/deployer"
        who = self.cli_ok("sts", "get-caller-identity", creds=self.deployer)
        self.assertEqual(who["Arn"], arn)
        self.assertRegex(who["UserId"], r"^AIDA[A-Z0-9]+$")
        self.assert_cli_denied(("secretsmanager", "get-secret-value", "--secret-id",
                                "database/postgres"), self.deployer, caller_arn=arn,
                               action="secretsmanager:GetSecretValue")
        # Its policy names only the secrets-* roles. (A trust policy naming the user's own ARN
        # would admit it without that policy, as in AWS; this one trusts the account, which
        # leaves the decision to the user's identity policies.)
        account_trust = policy_doc({"Effect": "Allow",
                                    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                    "Action": "sts:AssumeRole"})
        other_role = self.cli_ok("iam", "create-role", "--role-name", unique("not-secrets"),
                                 "--assume-role-policy-document", account_trust)["Role"]["Arn"]
        rc, out, err = self.cli("sts", "assume-role", "--role-arn", other_role,
                                "--role-session-name", "xy", creds=self.deployer)
        self.assertIn(rc, (254, 255), out)
        self.assertIn("(AccessDenied)", err)

    def test_trust_policy_decides_who_may_assume(self):
        # A second user with the same sts:AssumeRole rights, but not named in the trust policies.
        akid, secret, _ = make_user(self.server.client(service="iam"), "intruder",
                                    policy_doc(allow("sts:AssumeRole", "*")))
        intruder = {"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret}
        rc, out, err = self.cli("sts", "assume-role", "--role-arn",
                                self.role_arns["secrets-infra"], "--role-session-name", "intruder-ci",
                                creds=intruder)
        self.assertIn(rc, (254, 255), out)
        self.assertIn("(AccessDenied)", err)
        self.assertIn(f"arn:aws:iam::{ACCOUNT}:user/intruder", err)

    def test_root_cannot_assume_roles(self):
        rc, out, err = self.cli("sts", "assume-role", "--role-arn",
                                self.role_arns["secrets-llm"], "--role-session-name", "root")
        self.assertIn(rc, (254, 255), out)
        self.assertIn("(AccessDenied)", err)

    def test_iam_shows_the_setup(self):
        out = self.cli_ok("iam", "list-attached-role-policies", "--role-name", "secrets-llm")
        self.assertEqual([p["PolicyName"] for p in out["AttachedPolicies"]], ["secrets-read-llm"])
        self.assertEqual(out["AttachedPolicies"][0]["PolicyArn"],
                         f"arn:aws:iam::{ACCOUNT}:policy/secrets-read-llm")
        pol = self.cli_ok("iam", "get-policy", "--policy-arn",
                          self.policy_arns["secrets-read-infra"])["Policy"]
        self.assertEqual(pol["DefaultVersionId"], "v1")
        self.assertGreaterEqual(pol["AttachmentCount"], 1)
        ver = self.cli_ok("iam", "get-policy-version", "--policy-arn",
                          self.policy_arns["secrets-read-infra"], "--version-id", "v1")
        doc = ver["PolicyVersion"]["Document"]
        if isinstance(doc, str):  # URL-encoded JSON on the wire; the CLI decodes it
            doc = json.loads(doc)
        self.assertEqual(sorted(doc["Statement"][0]["Resource"]),
                         sorted(ROLE_POLICIES["secrets-read-infra"]))
        role = self.cli_ok("iam", "get-role", "--role-name", "secrets-integrations")["Role"]
        self.assertEqual(role["Arn"], self.role_arns["secrets-integrations"])
        trust = role["AssumeRolePolicyDocument"]
        if isinstance(trust, str):
            trust = json.loads(trust)
        self.assertEqual(trust["Statement"][0]["Principal"]["AWS"],
                         f"arn:aws:iam::{ACCOUNT}:user/deployer")
        names = [p["PolicyName"] for p in self.cli_ok(
            "iam", "list-policies", "--scope", "Local")["Policies"]]
        for policy in ROLE_POLICIES:
            self.assertIn(policy, names)

    def test_policy_versions_and_detach_apply_to_live_sessions(self):
        # boto3 here (the CLI's part is above); a role of its own, so other tests keep their rights.
        iam = self.server.client(service="iam")
        role = "secrets-versioned"
        policy_arn = iam.create_policy(
            PolicyName="secrets-read-versioned",
            PolicyDocument=policy_doc(allow("secretsmanager:GetSecretValue",
                                            secret_arn_pattern("redis/*"))))["Policy"]["Arn"]
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust_for_user(
            "deployer"))["Role"]["Arn"]
        iam.attach_role_policy(RoleName=role, PolicyArn=policy_arn)
        sts = self.server.client(service="sts", credentials=(
            self.deployer["AWS_ACCESS_KEY_ID"], self.deployer["AWS_SECRET_ACCESS_KEY"]))
        c = sts.assume_role(RoleArn=role_arn, RoleSessionName="versioned")["Credentials"]
        sm = boto3.session.Session().client(
            "secretsmanager", region_name=DEFAULT_REGION, endpoint_url=self.server.endpoint,
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
            config=botocore.config.Config(retries={"total_max_attempts": 1}))
        self.assertEqual(sm.get_secret_value(SecretId="redis/cache")["SecretString"],
                         self.values["redis/cache"])

        # v2 (made the default) moves the grant to jwt/*: the live session follows it.
        v2 = iam.create_policy_version(
            PolicyArn=policy_arn, SetAsDefault=True,
            PolicyDocument=policy_doc(allow("secretsmanager:GetSecretValue",
                                            secret_arn_pattern("jwt/*"))))["PolicyVersion"]
        self.assertEqual(v2["VersionId"], "v2")
        self.assertTrue(v2["IsDefaultVersion"])
        self.assert_eventually(sm, "redis/cache", allowed=False)
        self.assertEqual(sm.get_secret_value(SecretId="jwt/signing-key")["SecretString"],
                         self.values["jwt/signing-key"])
        versions = iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]
        self.assertEqual(sorted((v["VersionId"], v["IsDefaultVersion"]) for v in versions),
                         [("v1", False), ("v2", True)])

        # Back to v1, then detached: nothing left.
        iam.set_default_policy_version(PolicyArn=policy_arn, VersionId="v1")
        self.assert_eventually(sm, "redis/cache", allowed=True)
        iam.detach_role_policy(RoleName=role, PolicyArn=policy_arn)
        self.assert_eventually(sm, "redis/cache", allowed=False)
        self.assertEqual(iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"], [])

    def assert_eventually(self, sm, secret_id, allowed, within=3.0):
        # IAM changes reach existing sessions (AWS calls this eventually consistent); Arca should
        # be quick about it.
        deadline = time.monotonic() + within
        while True:
            try:
                sm.get_secret_value(SecretId=secret_id)
                if allowed:
                    return
                state = "allowed"
            except botocore.exceptions.ClientError as e:
                if not allowed and error_code(e) == "AccessDeniedException":
                    return
                state = error_code(e)
            if time.monotonic() > deadline:
                self.fail(f"{secret_id}: still {state} {within}s after the policy change")
            time.sleep(0.1)

    def test_tampered_session_token_is_refused(self):
        creds, _, _ = self.session("secrets-llm")
        bad = dict(creds)
        token = bad["AWS_SESSION_TOKEN"]
        bad["AWS_SESSION_TOKEN"] = token[:-6] + ("AAAAAA" if not token.endswith("AAAAAA") else "BBBBBB")
        rc, out, err = self.cli("secretsmanager", "get-secret-value", "--secret-id", "openai",
                                creds=bad)
        self.assertIn(rc, (254, 255), out)
        self.assertRegex(err, r"\((UnrecognizedClientException|InvalidClientTokenId|"
                              r"ExpiredTokenException|InvalidSignatureException)\)")
        self.assertNotIn(self.values["openai"], err)
        no_token = dict(creds)
        del no_token["AWS_SESSION_TOKEN"]
        rc, out, err = self.cli("secretsmanager", "get-secret-value", "--secret-id", "openai",
                                creds=no_token)
        self.assertIn(rc, (254, 255), out)
        self.assertRegex(err, r"\((UnrecognizedClientException|InvalidClientTokenId|"
                              r"InvalidSignatureException)\)")


# =================================================================================================
# Workload identity: a Kubernetes service-account token through boto3's default chain
# =================================================================================================

class PodIdentityTest(ArcaTestCase):
    """IRSA against Arca: an OIDC provider whose JWKS is a file, a role trusting one service account."""

    NAMESPACE = "payments"
    SERVICE_ACCOUNT = "api"
    ROLE = "payments-api"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-oidc-")
        cls.rsa = RsaKey(cls.tmp, "rsa-1")
        cls.ec = EcKey(cls.tmp, "ec-1")
        cls.stranger = RsaKey(cls.tmp, "rsa-1")  # same kid, another key: a forger's
        cls.jwks_path = os.path.join(cls.tmp, "jwks.json")
        with open(cls.jwks_path, "w") as f:
            json.dump({"keys": [cls.rsa.jwk(), cls.ec.jwk()]}, f)
        cls.iam = cls.server.client(service="iam")
        cls.sts = cls.server.client(service="sts")
        out = cls.iam.create_open_id_connect_provider(
            Url=ISSUER, ClientIDList=[STS_AUDIENCE, "vault"], ThumbprintList=[THUMBPRINT],
            Tags=[{"Key": "arca:jwks-file", "Value": cls.jwks_path}])
        cls.provider_arn = out["OpenIDConnectProviderArn"]
        trust = policy_doc({
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{ISSUER_HOST}:sub": f"system:serviceaccount:{cls.NAMESPACE}:{cls.SERVICE_ACCOUNT}",
                f"{ISSUER_HOST}:aud": STS_AUDIENCE}}})
        cls.role_arn = cls.iam.create_role(RoleName=cls.ROLE,
                                           AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        cls.iam.put_role_policy(
            RoleName=cls.ROLE, PolicyName="read-own",
            PolicyDocument=policy_doc(allow("secretsmanager:GetSecretValue",
                                            secret_arn_pattern("payments/api/*"))))
        cls.value = random_value("pod")
        cls.sm.create_secret(Name="payments/api/db", SecretString=cls.value)
        cls.sm.create_secret(Name="billing/db", SecretString=random_value("other"))
        cls.program = os.path.join(cls.tmp, "pod.py")
        with open(cls.program, "w") as f:
            f.write(POD_PROGRAM)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)
        super().tearDownClass()

    # ---- the pod --------------------------------------------------------------------------------

    def token(self, key=None, **kw):
        claims = sa_claims(self.NAMESPACE, self.SERVICE_ACCOUNT)
        overrides = kw.pop("claims", {})
        claims.update(overrides)
        return make_jwt(key or self.rsa, claims, **kw)

    def pod_env(self, token_file):
        """What a pod has: IRSA's two variables, a region, and where the AWS endpoints are.

        The endpoints: botocore >= 1.31 reads AWS_ENDPOINT_URL (documented "service-specific
        endpoints"), so the default chain's web-identity STS call and the Secrets Manager client
        both reach Arca with no code change. Older botocore (Debian's 1.29) has no endpoint setting
        at all; there the same effect comes from AWS_DATA_PATH, botocore's documented extra data
        directory, holding a one-rule endpoint rule set for `sts` and `secretsmanager` that names
        Arca. Either way the program is boto3's defaults, unchanged."""
        env = clean_env({
            "AWS_ROLE_ARN": self.role_arn,
            "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
            "AWS_DEFAULT_REGION": DEFAULT_REGION,
            "AWS_REGION": DEFAULT_REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "HOME": self.tmp,
        })
        if botocore_has_endpoint_env():
            env["AWS_ENDPOINT_URL"] = self.server.endpoint
        else:
            env["AWS_DATA_PATH"] = self.endpoint_overlay()
        return env

    def endpoint_overlay(self):
        root = os.path.join(self.tmp, "botocore-data")
        rule_set = {
            "version": "1.0",
            "parameters": {"Region": {"builtIn": "AWS::Region", "required": False,
                                      "documentation": "The region.", "type": "String"}},
            "rules": [{"conditions": [], "type": "endpoint",
                       "endpoint": {"url": self.server.endpoint, "properties": {},
                                    "headers": {}}}],
        }
        for service, version in (("sts", "2011-06-15"), ("secretsmanager", "2017-10-17")):
            d = os.path.join(root, service, version)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "endpoint-rule-set-1.json"), "w") as f:
                json.dump(rule_set, f)
        return root

    def run_pod(self, token, secret="payments/api/db", other="billing/db"):
        token_file = os.path.join(self.tmp, f"token-{uuid.uuid4().hex[:8]}")
        with open(token_file, "w") as f:
            f.write(token)
        p = subprocess.run([sys.executable, self.program, secret, other], capture_output=True,
                           env=self.pod_env(token_file), timeout=120, cwd=self.tmp)
        text = p.stdout.decode(errors="replace").strip()
        self.assertEqual(p.returncode, 0, f"pod program crashed: {p.stderr.decode(errors='replace')}")
        return json.loads(text.splitlines()[-1])

    def assert_pod_refused(self, token, codes):
        out = self.run_pod(token)
        self.assertNotIn("value", out, out)
        codes = (codes,) if isinstance(codes, str) else tuple(codes)
        self.assertIn(out.get("error"), codes, out)
        self.assertEqual(out.get("operation"), "AssumeRoleWithWebIdentity", out)
        return out

    # ---- tests ----------------------------------------------------------------------------------

    def test_pod_reads_its_secret_through_the_default_chain(self):
        out = self.run_pod(self.token())
        self.assertNotIn("error", out, out)
        self.assertEqual(out["value"], self.value)
        self.assertRegex(out["identity"],
                         rf"^arn:aws:sts::{ACCOUNT}:assumed-role/{self.ROLE}/[\w+=,.@-]+$")
        self.assertEqual(out["access_key_prefix"], "ASIA")
        self.assertTrue(out["has_token"])
        # Its role's policy names payments/api/* only.
        self.assertEqual(out["other"], "AccessDeniedException", out)
        self.assertIn(f"User: {out['identity']} is not authorized to perform: "
                      "secretsmanager:GetSecretValue on resource: ", out["other_message"])

    def test_refused_with_wrong_subject(self):
        out = self.assert_pod_refused(
            self.token(claims={"sub": f"system:serviceaccount:{self.NAMESPACE}:intruder"}),
            "AccessDenied")
        self.assertIn("Not authorized to perform sts:AssumeRoleWithWebIdentity",
                      out["error_message"])
        self.assert_pod_refused(
            self.token(claims={"sub": f"system:serviceaccount:other:{self.SERVICE_ACCOUNT}"}),
            "AccessDenied")

    def test_refused_with_wrong_audience(self):
        # An audience the provider does not know.
        self.assert_pod_refused(self.token(claims={"aud": ["https://kubernetes.default.svc"]}),
                                "InvalidIdentityToken")
        # An audience the provider knows ("vault") but the role's trust policy does not accept.
        self.assert_pod_refused(self.token(claims={"aud": ["vault"]}), "AccessDenied")

    def test_refused_with_expired_token(self):
        past = int(time.time()) - 7200
        self.assert_pod_refused(self.token(claims={"iat": past, "nbf": past, "exp": past + 600}),
                                "ExpiredTokenException")

    def test_refused_with_bad_signature(self):
        good = self.token()
        head, payload, sig = good.split(".")
        raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
        raw[len(raw) // 2] ^= 0x01
        self.assert_pod_refused(f"{head}.{payload}.{b64url(bytes(raw))}", "InvalidIdentityToken")
        # Signed by another key under the provider's kid.
        self.assert_pod_refused(self.token(key=self.stranger), "InvalidIdentityToken")
        # The claims changed after signing.
        forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        forged["sub"] = f"system:serviceaccount:{self.NAMESPACE}:{self.SERVICE_ACCOUNT}-admin"
        self.assert_pod_refused(f"{head}.{b64url(json.dumps(forged).encode())}.{sig}",
                                "InvalidIdentityToken")
        # "alg": "none" is never accepted.
        unsigned = (b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + payload + ".")
        self.assert_pod_refused(unsigned, "InvalidIdentityToken")

    def test_refused_from_unregistered_issuer(self):
        self.assert_pod_refused(self.token(claims={"iss": "https://evil.example.test/cluster"}),
                                "InvalidIdentityToken")

    def test_refused_before_not_before(self):
        future = int(time.time()) + 3600
        self.assert_pod_refused(self.token(claims={"nbf": future, "iat": future,
                                                   "exp": future + 3600}),
                                ("IDPRejectedClaim", "InvalidIdentityToken"))

    def test_es256_token(self):
        out = self.sts.assume_role_with_web_identity(
            RoleArn=self.role_arn, RoleSessionName="es256-pod",
            WebIdentityToken=self.token(key=self.ec))
        self.assertEqual(out["SubjectFromWebIdentityToken"],
                         f"system:serviceaccount:{self.NAMESPACE}:{self.SERVICE_ACCOUNT}")
        self.assertEqual(out["Audience"], STS_AUDIENCE)
        self.assertEqual(out["Provider"], self.provider_arn)
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.ROLE}/es256-pod")
        c = out["Credentials"]
        sm = self.session_client(c)
        self.assertEqual(sm.get_secret_value(SecretId="payments/api/db")["SecretString"], self.value)
        # An ES256 token with a flipped signature bit is refused.
        head, payload, sig = self.token(key=self.ec).split(".")
        raw = bytearray(base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4)))
        raw[5] ^= 0x80
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role_with_web_identity(
                RoleArn=self.role_arn, RoleSessionName="es256-bad",
                WebIdentityToken=f"{head}.{payload}.{b64url(bytes(raw))}")
        self.assertEqual(error_code(cm.exception), "InvalidIdentityToken")

    def session_client(self, c, service="secretsmanager"):
        return boto3.session.Session().client(
            service, region_name=DEFAULT_REGION, endpoint_url=self.server.endpoint,
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
            aws_session_token=c["SessionToken"],
            config=botocore.config.Config(retries={"total_max_attempts": 1}))

    def test_web_identity_credentials_shape_and_limits(self):
        out = self.sts.assume_role_with_web_identity(
            RoleArn=self.role_arn, RoleSessionName="shape", WebIdentityToken=self.token(),
            DurationSeconds=900)
        c = out["Credentials"]
        self.assertRegex(c["AccessKeyId"], r"^ASIA[A-Z0-9]{16}$")
        self.assertTrue(c["SessionToken"])
        left = (c["Expiration"].timestamp() - time.time())
        self.assertTrue(850 <= left <= 910, left)
        # Duration beyond the role's MaxSessionDuration (3600 by default) is a validation error.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role_with_web_identity(
                RoleArn=self.role_arn, RoleSessionName="long", WebIdentityToken=self.token(),
                DurationSeconds=7200)
        self.assertEqual(error_code(cm.exception), "ValidationError")
        # The session's identity; and the session has only the role's rights (no IAM).
        sts = self.session_client(c, service="sts")
        self.assertEqual(sts.get_caller_identity()["Arn"],
                         f"arn:aws:sts::{ACCOUNT}:assumed-role/{self.ROLE}/shape")
        iam = self.session_client(c, service="iam")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.create_user(UserName=unique("escalate"))
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        # Without its session token the temporary key is not a credential.
        bare = boto3.session.Session().client(
            "secretsmanager", region_name=DEFAULT_REGION, endpoint_url=self.server.endpoint,
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            bare.get_secret_value(SecretId="payments/api/db")
        self.assertIn(error_code(cm.exception),
                      ("UnrecognizedClientException", "InvalidClientTokenId",
                       "InvalidSignatureException"))

    def test_provider_is_listed(self):
        arns = [p["Arn"] for p in self.iam.list_open_id_connect_providers()
                ["OpenIDConnectProviderList"]]
        self.assertIn(self.provider_arn, arns)
        got = self.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=self.provider_arn)
        self.assertEqual(sorted(got["ClientIDList"]), sorted([STS_AUDIENCE, "vault"]))
        self.assertEqual(got["ThumbprintList"], [THUMBPRINT])
        self.assertIn(ISSUER_HOST, got["Url"])


# =================================================================================================
# The policy engine, end to end through boto3
# =================================================================================================

class ConfiguredIssuerTest(ArcaTestCase):
    """An issuer registered from the server's settings (--oidc-issuer), its JWKS given inline
    (--oidc-jwks): no IAM call and no file needed, as for a cluster whose issuer the server cannot
    reach."""

    ISSUER_HOST = "k8s.example.test/id/inline"
    ISSUER = "https://" + ISSUER_HOST

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-oidc-inline-")
        cls.rsa = RsaKey(cls.tmp, "inline-1")
        jwks = json.dumps({"keys": [cls.rsa.jwk()]})
        cls.server_kwargs = {"extra_args": ("--oidc-issuer", cls.ISSUER, "--oidc-jwks", jwks)}
        super().setUpClass()
        cls.iam = cls.server.client(service="iam")
        cls.sts = cls.server.client(service="sts")
        provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{cls.ISSUER_HOST}"
        trust = policy_doc({
            "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{cls.ISSUER_HOST}:sub": "system:serviceaccount:ops:runner"}}})
        cls.role_arn = cls.iam.create_role(RoleName="ops-runner",
                                           AssumeRolePolicyDocument=trust)["Role"]["Arn"]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)
        super().tearDownClass()

    def test_provider_from_settings_verifies_tokens(self):
        listed = [p["Arn"] for p in self.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
        self.assertIn(f"arn:aws:iam::{ACCOUNT}:oidc-provider/{self.ISSUER_HOST}", listed)
        token = make_jwt(self.rsa, sa_claims("ops", "runner", issuer=self.ISSUER))
        out = self.sts.assume_role_with_web_identity(RoleArn=self.role_arn, RoleSessionName="inline",
                                                     WebIdentityToken=token)
        self.assertTrue(out["Credentials"]["AccessKeyId"].startswith("ASIA"))
        other = make_jwt(self.rsa, sa_claims("ops", "intruder", issuer=self.ISSUER))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sts.assume_role_with_web_identity(RoleArn=self.role_arn, RoleSessionName="xx",
                                                   WebIdentityToken=other)
        self.assertEqual(error_code(cm.exception), "AccessDenied")


class PolicyEngineTest(ArcaTestCase):
    """Identity and resource policies, variables and conditions as the front-ends apply them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.server.client(service="iam")
        cls.values = {}
        for name in ("prod/db", "prod/api", "dev/db", "users/alice/token", "users/bob/token",
                     "team/blue/key", "team/red/key", "shared/by-policy"):
            cls.values[name] = random_value("pe")
            cls.sm.create_secret(Name=name, SecretString=cls.values[name])

    def user_client(self, name, inline_policy=None, tags=None, service="secretsmanager"):
        akid, secret, arn = make_user(self.iam, name, inline_policy, tags)
        return self.server.client(credentials=(akid, secret), service=service), arn, (akid, secret)

    def assert_denied(self, fn, caller_arn=None, action=None, code="AccessDeniedException", **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(**kw)
        self.assertEqual(error_code(cm.exception), code, cm.exception.response)
        msg = cm.exception.response["Error"].get("Message", "")
        if caller_arn:
            self.assertIn(f"User: {caller_arn} is not authorized to perform: ", msg)
        if action:
            # AWS's forms: "... perform: ACTION on resource: R because no identity-based policy
            # allows ..." or "... with an explicit deny in a(n) ... policy"; actions on no
            # particular resource (ListSecrets) leave out "on resource: R".
            self.assertRegex(msg, rf"is not authorized to perform: {re.escape(action)}"
                                  rf"( on resource: \S+)? (because |with an explicit deny in )")
        return msg

    def test_new_user_has_no_rights(self):
        sm, arn, _ = self.user_client(unique("nobody"))
        msg = self.assert_denied(sm.get_secret_value, arn, "secretsmanager:GetSecretValue",
                                 SecretId="prod/db")
        self.assertIn("no identity-based policy allows", msg)
        self.assert_denied(sm.list_secrets, arn, "secretsmanager:ListSecrets")
        self.assert_denied(sm.create_secret, arn, "secretsmanager:CreateSecret",
                           Name=unique("nope"), SecretString="x")

    def test_explicit_deny_wins(self):
        name = unique("denied")
        sm, arn, _ = self.user_client(name, policy_doc(
            allow("secretsmanager:*", "*"),
            deny("secretsmanager:GetSecretValue", secret_arn_pattern("prod/*"))))
        self.assertEqual(sm.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])
        msg = self.assert_denied(sm.get_secret_value, arn, "secretsmanager:GetSecretValue",
                                 SecretId="prod/db")
        self.assertIn("explicit deny", msg)
        # Other actions on the same secret are still allowed.
        self.assertEqual(sm.describe_secret(SecretId="prod/db")["Name"], "prod/db")

    def test_not_action_and_not_resource(self):
        sm, arn, _ = self.user_client(unique("notaction"), policy_doc(
            {"Effect": "Allow", "NotAction": ["secretsmanager:DeleteSecret",
                                              "secretsmanager:PutSecretValue"],
             "NotResource": secret_arn_pattern("prod/*")}))
        self.assertEqual(sm.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])
        self.assert_denied(sm.get_secret_value, arn, "secretsmanager:GetSecretValue",
                           SecretId="prod/api")
        self.assert_denied(sm.put_secret_value, arn, "secretsmanager:PutSecretValue",
                           SecretId="dev/db", SecretString="x")

    def test_username_variable(self):
        doc = policy_doc(allow("secretsmanager:GetSecretValue",
                               secret_arn_pattern("users/${aws:username}/*")))
        alice, _, _ = self.user_client("alice", doc)
        bob, bob_arn, _ = self.user_client("bob", doc)
        self.assertEqual(alice.get_secret_value(SecretId="users/alice/token")["SecretString"],
                         self.values["users/alice/token"])
        self.assertEqual(bob.get_secret_value(SecretId="users/bob/token")["SecretString"],
                         self.values["users/bob/token"])
        self.assert_denied(bob.get_secret_value, bob_arn, "secretsmanager:GetSecretValue",
                           SecretId="users/alice/token")

    def test_principal_tag_variable_and_condition(self):
        doc = policy_doc(
            allow("secretsmanager:GetSecretValue",
                  secret_arn_pattern("team/${aws:PrincipalTag/team}/*")),
            deny("secretsmanager:*", "*",
                 Condition={"StringNotEqualsIfExists": {"aws:PrincipalTag/clearance": "ok"}}))
        blue, _, _ = self.user_client(unique("blue"), doc, tags={"team": "blue", "clearance": "ok"})
        red, red_arn, _ = self.user_client(unique("red"), doc, tags={"team": "red",
                                                                     "clearance": "revoked"})
        self.assertEqual(blue.get_secret_value(SecretId="team/blue/key")["SecretString"],
                         self.values["team/blue/key"])
        self.assert_denied(blue.get_secret_value, SecretId="team/red/key")
        msg = self.assert_denied(red.get_secret_value, red_arn, "secretsmanager:GetSecretValue",
                                 SecretId="team/red/key")
        self.assertIn("explicit deny", msg)

    def test_source_ip_condition(self):
        sm, arn, _ = self.user_client(unique("ip"), policy_doc(
            allow("secretsmanager:GetSecretValue", "*",
                  Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
        self.assert_denied(sm.get_secret_value, arn, "secretsmanager:GetSecretValue",
                           SecretId="dev/db")
        sm2, _, _ = self.user_client(unique("ip-ok"), policy_doc(
            allow("secretsmanager:GetSecretValue", "*",
                  Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
                             "Bool": {"aws:SecureTransport": "false"}})))
        self.assertEqual(sm2.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])

    def test_resource_tag_condition(self):
        tagged = unique("tagged")
        self.sm.create_secret(Name=tagged, SecretString="t", Tags=[{"Key": "env", "Value": "dev"}])
        sm, arn, _ = self.user_client(unique("rtag"), policy_doc(
            allow("secretsmanager:GetSecretValue", "*",
                  Condition={"StringEquals": {"secretsmanager:ResourceTag/env": "dev"}})))
        self.assertEqual(sm.get_secret_value(SecretId=tagged)["SecretString"], "t")
        self.assert_denied(sm.get_secret_value, arn, "secretsmanager:GetSecretValue",
                           SecretId="prod/db")

    def test_resource_policy_grants_a_user_without_identity_policy(self):
        name = unique("rp-user")
        sm, arn, _ = self.user_client(name)
        self.assert_denied(sm.get_secret_value, arn, SecretId="shared/by-policy")
        self.sm.put_resource_policy(SecretId="shared/by-policy", ResourcePolicy=policy_doc({
            "Effect": "Allow", "Principal": {"AWS": arn},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
        self.assertEqual(sm.get_secret_value(SecretId="shared/by-policy")["SecretString"],
                         self.values["shared/by-policy"])
        # Another secret is not covered by that resource policy.
        self.assert_denied(sm.get_secret_value, arn, SecretId="prod/db")
        # A resource-policy Deny beats an identity Allow.
        name2 = unique("rp-denied")
        sm2, arn2, _ = self.user_client(name2, policy_doc(allow("secretsmanager:*", "*")))
        self.sm.put_resource_policy(SecretId="prod/api", ResourcePolicy=policy_doc({
            "Effect": "Deny", "Principal": {"AWS": arn2},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
        self.assert_denied(sm2.get_secret_value, arn2, "secretsmanager:GetSecretValue",
                           SecretId="prod/api")
        self.assertEqual(sm2.get_secret_value(SecretId="prod/db")["SecretString"],
                         self.values["prod/db"])

    def test_another_accounts_principal_is_refused_by_resource_policy(self):
        name = unique("foreign")
        self.sm.create_secret(Name=name, SecretString="f")
        # Granting another account's principal is fine to store (cross-account sharing) ...
        self.sm.put_resource_policy(SecretId=name, ResourcePolicy=policy_doc({
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
        # ... but does not admit this account's users.
        sm, arn, _ = self.user_client(unique("local"))
        self.assert_denied(sm.get_secret_value, arn, SecretId=name)

    def test_block_public_policy(self):
        name = unique("public")
        self.sm.create_secret(Name=name, SecretString="p")
        public = policy_doc({"Effect": "Allow", "Principal": "*",
                             "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sm.put_resource_policy(SecretId=name, ResourcePolicy=public,
                                        BlockPublicPolicy=True)
        self.assertEqual(error_code(cm.exception), "PublicPolicyException")
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=name))

    def test_iam_and_cloudtrail_actions_are_gated_too(self):
        name = unique("limited")
        akid, secret, arn = make_user(self.iam, name)
        iam = self.server.client(credentials=(akid, secret), service="iam")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.create_user(UserName=unique("escalation"))
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        self.assertIn(f"User: {arn} is not authorized to perform: iam:CreateUser",
                      cm.exception.response["Error"]["Message"])
        admin = self.iam.create_policy(PolicyName=unique("admin"), PolicyDocument=policy_doc(
            allow("*", "*")))["Policy"]["Arn"]
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.attach_user_policy(UserName=name, PolicyArn=admin)
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.put_user_policy(UserName=name, PolicyName="escalate",
                                PolicyDocument=policy_doc(allow("*", "*")))
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        ct = self.server.client(credentials=(akid, secret), service="cloudtrail")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            ct.lookup_events(MaxResults=1)
        self.assertEqual(error_code(cm.exception), "AccessDeniedException")
        self.assertIn("cloudtrail:LookupEvents", cm.exception.response["Error"]["Message"])
        # GetCallerIdentity needs no permission (AWS's rule).
        sts = self.server.client(credentials=(akid, secret), service="sts")
        self.assertEqual(sts.get_caller_identity()["Arn"], arn)
        # A self-service policy with ${aws:username} lets it manage its own keys only.
        self.iam.put_user_policy(UserName=name, PolicyName="own-keys", PolicyDocument=policy_doc(
            allow(["iam:ListAccessKeys", "iam:CreateAccessKey"],
                  f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}")))
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([k["AccessKeyId"] for k in keys], [akid])
        other = unique("other")
        self.iam.create_user(UserName=other)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.list_access_keys(UserName=other)
        self.assertEqual(error_code(cm.exception), "AccessDenied")

    def test_unauthorized_caller_learns_nothing_about_entities(self):
        # Authorization comes before the lookup (AWS's order): a caller without the right gets
        # AccessDenied whether or not the user or policy it names exists.
        name = unique("prober")
        akid, secret, _ = make_user(self.iam, name)
        iam = self.server.client(credentials=(akid, secret), service="iam")
        calls = [
            ("ListAccessKeys", lambda: iam.list_access_keys(UserName=unique("no-such-user"))),
            ("GetUser", lambda: iam.get_user(UserName=unique("no-such-user"))),
            ("AttachUserPolicy (no such local policy)", lambda: iam.attach_user_policy(
                UserName=name, PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/{unique('none')}")),
            ("AttachUserPolicy (AWS-managed ARN)", lambda: iam.attach_user_policy(
                UserName=name, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")),
            ("GetRole", lambda: iam.get_role(RoleName=unique("no-such-role"))),
        ]
        for label, call in calls:
            with self.subTest(call=label):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    call()
                self.assertEqual(error_code(cm.exception), "AccessDenied")

    def test_inactive_and_deleted_keys_are_refused(self):
        name = unique("keys")
        sm, arn, (akid, _) = self.user_client(name, policy_doc(
            allow("secretsmanager:GetSecretValue", "*")))
        self.assertEqual(sm.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])
        self.iam.update_access_key(UserName=name, AccessKeyId=akid, Status="Inactive")
        listed = self.iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([(k["AccessKeyId"], k["Status"]) for k in listed], [(akid, "Inactive")])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sm.get_secret_value(SecretId="dev/db")
        self.assertIn(error_code(cm.exception),
                      ("UnrecognizedClientException", "InvalidClientTokenId"))
        self.iam.update_access_key(UserName=name, AccessKeyId=akid, Status="Active")
        self.assertEqual(sm.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])
        self.iam.delete_access_key(UserName=name, AccessKeyId=akid)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sm.get_secret_value(SecretId="dev/db")
        self.assertIn(error_code(cm.exception),
                      ("UnrecognizedClientException", "InvalidClientTokenId"))

    def test_managed_policy_on_a_user(self):
        name = unique("managed")
        sm, arn, _ = self.user_client(name)
        pol = self.iam.create_policy(PolicyName=unique("dev-read"), PolicyDocument=policy_doc(
            allow("secretsmanager:GetSecretValue", secret_arn_pattern("dev/*"))))["Policy"]
        self.iam.attach_user_policy(UserName=name, PolicyArn=pol["Arn"])
        self.assertEqual(sm.get_secret_value(SecretId="dev/db")["SecretString"],
                         self.values["dev/db"])
        self.assert_denied(sm.get_secret_value, arn, SecretId="prod/db")
        attached = self.iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
        self.assertEqual([p["PolicyArn"] for p in attached], [pol["Arn"]])
        # An attached policy cannot be deleted (AWS: DeleteConflict).
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.delete_policy(PolicyArn=pol["Arn"])
        self.assertEqual(error_code(cm.exception), "DeleteConflict")
        self.iam.detach_user_policy(UserName=name, PolicyArn=pol["Arn"])
        self.assert_denied(sm.get_secret_value, arn, SecretId="dev/db")

    def test_malformed_policy_is_rejected(self):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.iam.create_policy(PolicyName=unique("bad"),
                                   PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":'
                                                  '"Maybe","Action":"*","Resource":"*"}]}')
        self.assertEqual(error_code(cm.exception), "MalformedPolicyDocument")


if __name__ == "__main__":
    unittest.main()
