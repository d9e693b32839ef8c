"""Configuration: ARCA_* environment variables, the YAML --config file, --account-id, the files the
server writes (and their modes), ARCA_MASTER_KEY, and `arca server rekey` under a running server.
"""

import os
import shutil
import sqlite3
import stat
import subprocess
import tempfile
import unittest

import boto3
import botocore.config

from arca_harness import (ArcaServer, arn_pattern, make_master_key_text, run_arca, unique)


class ConfigTest(unittest.TestCase):

    def server(self, **kw):
        srv = ArcaServer(**kw)
        self.addCleanup(srv.cleanup)
        return srv

    def tempdir(self, prefix):
        d = tempfile.mkdtemp(prefix=f"arca-it-{prefix}-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def roundtrip(self, srv, account="000000000000", region="us-east-1"):
        c = srv.client(region=region)
        name = unique("cfg")
        out = c.create_secret(Name=name, SecretString="cfg-value")
        self.assertRegex(out["ARN"], arn_pattern(name, region=region, account=account))
        self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], "cfg-value")
        return name

    def test_tls_with_boto3_the_aws_cli_and_the_arca_client(self):
        openssl = shutil.which("openssl")
        self.assertIsNotNone(openssl, "openssl is needed (scripts/deps.sh --test installs it)")
        d = self.tempdir("tls")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        srv = self.server(extra_args=["--tls-cert", cert, "--tls-key", key])
        srv.start()
        listening = [e for e in srv.log_entries() if e.get("msg") == "listening"]
        self.assertTrue(listening and listening[0].get("tls") is True, listening)
        url = f"https://127.0.0.1:{srv.port}"
        akid, secret = srv.credentials()
        c = boto3.session.Session().client(
            "secretsmanager", region_name="us-east-1", endpoint_url=url, verify=cert,
            aws_access_key_id=akid, aws_secret_access_key=secret,
            config=botocore.config.Config(retries={"total_max_attempts": 1}))
        name = unique("tls")
        c.create_secret(Name=name, SecretString="over-tls")
        self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], "over-tls")
        rc, out, err = srv.aws("--endpoint-url", url, "--ca-bundle", cert, "secretsmanager",
                               "get-secret-value", "--secret-id", name, endpoint=False)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["SecretString"], "over-tls")
        # The arca client: verified with --ca-bundle (or AWS_CA_BUNDLE), refused without it.
        p = srv.cli("secret", "get", name, "--endpoint", url, "--ca-bundle", cert)
        self.assertEqual((p.returncode, p.stdout), (0, "over-tls\n"), p.stderr)
        p = srv.cli("secret", "get", name, "--endpoint", url, env={"AWS_CA_BUNDLE": cert})
        self.assertEqual((p.returncode, p.stdout), (0, "over-tls\n"), p.stderr)
        p = srv.cli("secret", "get", name, "--endpoint", url)
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        # Plain HTTP to the TLS port gets no answer in HTTP.
        with self.assertRaises(Exception):
            srv.get("/healthz")
        self.assertEqual(srv.stop(), 0)

    def test_environment_variables(self):
        data = self.tempdir("env")
        srv = self.server(data_dir=data, args=["server"],
                          env={"ARCA_DATA_DIR": data, "ARCA_LISTEN": "127.0.0.1:0"})
        srv.start()
        self.assertTrue(os.path.exists(os.path.join(data, "credentials")))
        self.assertTrue(os.path.exists(os.path.join(data, "arca.db")))
        self.roundtrip(srv)
        self.assertEqual(srv.stop(), 0)

    def test_yaml_config_file(self):
        data = self.tempdir("yaml")
        cfg = os.path.join(self.tempdir("cfg"), "arca.yaml")
        with open(cfg, "w") as f:
            f.write("# Arca test configuration\n"
                    f"data_dir: {data}\n"
                    "listen: 127.0.0.1:0\n"
                    "account_id: \"123456789012\"\n")
        srv = self.server(data_dir=data, args=["server", "--config", cfg])
        srv.start()
        self.assertTrue(os.path.exists(os.path.join(data, "credentials")))
        self.roundtrip(srv, account="123456789012")
        self.roundtrip(srv, account="123456789012", region="eu-central-1")

    def test_account_id_flag(self):
        srv = self.server(extra_args=["--account-id", "210987654321"])
        srv.start()
        self.roundtrip(srv, account="210987654321")

    def test_account_id_environment(self):
        srv = self.server(env={"ARCA_ACCOUNT_ID": "111122223333"})
        srv.start()
        self.roundtrip(srv, account="111122223333")

    def test_flag_overrides_environment(self):
        data = self.tempdir("flag")
        elsewhere = self.tempdir("elsewhere")
        srv = self.server(data_dir=data, env={"ARCA_DATA_DIR": elsewhere})
        srv.start()
        self.assertTrue(os.path.exists(os.path.join(data, "credentials")))
        self.assertFalse(os.path.exists(os.path.join(elsewhere, "credentials")))

    def test_bad_config_fails_clearly(self):
        cfg_dir = self.tempdir("badcfg")
        cfg = os.path.join(cfg_dir, "bad.yaml")
        with open(cfg, "w") as f:
            f.write("listen: [unterminated\n")
        rc, out, err = run_arca("server", "--config", cfg, timeout=20)
        self.assertNotEqual(rc, 0)
        self.assertIn("bad.yaml", out + err)
        rc, out, err = run_arca("server", "--config", os.path.join(cfg_dir, "absent.yaml"),
                                timeout=20)
        self.assertNotEqual(rc, 0)

    def test_bad_listen_address_fails(self):
        srv = self.server(listen="not-an-address")
        srv.spawn()
        rc, log = srv.wait_exit()
        self.assertNotEqual(rc, 0, log)

    def test_file_modes(self):
        srv = self.server()
        srv.start()
        self.roundtrip(srv)
        for fn in ("credentials", "master.key", "arca.db"):
            path = os.path.join(srv.data_dir, fn)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o600, f"{fn} has mode {oct(mode)}")
        with open(os.path.join(srv.data_dir, "master.key")) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip() and not ln.startswith("#")]
        self.assertEqual(len(lines), 1)
        self.assertRegex(lines[0], r"^arca-master-key v1 1 [A-Za-z0-9+/]{43}=$")
        # The credentials survive a restart (the key is made once).
        before = srv.credentials()
        srv.restart()
        self.assertEqual(srv.credentials(), before)
        self.roundtrip(srv)

    def test_master_key_from_environment(self):
        key = make_master_key_text(1).strip()
        srv = self.server(env={"ARCA_MASTER_KEY": key})
        srv.start()
        name = self.roundtrip(srv)
        srv.restart()
        self.assertEqual(srv.client().get_secret_value(SecretId=name)["SecretString"], "cfg-value")

    def test_rekey_while_running(self):
        srv = self.server()
        srv.start()
        c = srv.client()
        values = {}
        for i in range(5):
            name = unique("rekey")
            c.create_secret(Name=name, SecretString=f"before-{i}")
            c.put_secret_value(SecretId=name, SecretString=f"before-{i}-v2")
            values[name] = f"before-{i}-v2"
        west = srv.client(region="eu-west-2")
        wname = unique("rekey-west")
        west.create_secret(Name=wname, SecretBinary=b"\x00west")
        # KMS key material is sealed by the master key too: rekey re-wraps it.
        kms = srv.client(service="kms")
        key = kms.create_key(Description="rekey")["KeyMetadata"]["KeyId"]
        cmk_name = unique("rekey-cmk")
        c.create_secret(Name=cmk_name, SecretString="under a cmk", KmsKeyId=key)
        blob = kms.encrypt(KeyId=key, Plaintext=b"kms blob")["CiphertextBlob"]

        rc, out, err = run_arca("server", "rekey", "--data-dir", srv.data_dir, timeout=60)
        self.assertEqual(rc, 0, out + err)
        with open(os.path.join(srv.data_dir, "master.key")) as f:
            versions = [ln.split()[2] for ln in f.read().splitlines()
                        if ln.strip() and not ln.startswith("#")]
        self.assertEqual(versions[-1], "2", versions)
        mode = stat.S_IMODE(os.stat(os.path.join(srv.data_dir, "master.key")).st_mode)
        self.assertEqual(mode, 0o600)

        # The running server reads every secret, old versions included, and writes new ones.
        for name, want in values.items():
            self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], want)
            prev = c.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"]
            self.assertEqual(prev, want[:-3])
        self.assertEqual(west.get_secret_value(SecretId=wname)["SecretBinary"], b"\x00west")
        after = unique("after-rekey")
        c.create_secret(Name=after, SecretString="after")

        # And so does a fresh start.
        self.assertEqual(srv.stop(), 0)
        srv.start()
        c = srv.client()
        for name, want in values.items():
            self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], want)
        self.assertEqual(c.get_secret_value(SecretId=after)["SecretString"], "after")
        self.assertEqual(srv.client(region="eu-west-2").get_secret_value(SecretId=wname)
                         ["SecretBinary"], b"\x00west")

        # A second rekey; then version 1 can be retired (docs/security.md): nothing needs it.
        rc, out, err = run_arca("server", "rekey", "--data-dir", srv.data_dir, timeout=60)
        self.assertEqual(rc, 0, out + err)
        for name, want in values.items():
            self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], want)
        self.assertEqual(srv.stop(), 0)
        key_path = os.path.join(srv.data_dir, "master.key")
        with open(key_path) as f:
            lines = f.read().splitlines()
        with open(key_path, "w") as f:
            f.write("\n".join(ln for ln in lines if not ln.startswith("arca-master-key v1 1 ")) + "\n")
        srv.start()
        c = srv.client()
        for name, want in values.items():
            self.assertEqual(c.get_secret_value(SecretId=name)["SecretString"], want)
        self.assertEqual(srv.client(region="eu-west-2").get_secret_value(SecretId=wname)
                         ["SecretBinary"], b"\x00west")
        self.assertEqual(c.get_secret_value(SecretId=cmk_name)["SecretString"], "under a cmk")
        self.assertEqual(srv.client(service="kms").decrypt(CiphertextBlob=blob)["Plaintext"], b"kms blob")

    def test_running_server_wraps_new_values_with_the_new_version_after_rekey(self):
        # After `rekey` finishes, "every data key is wrapped with the new version" should stay true:
        # a value the running server writes afterwards must not be wrapped with the old version
        # (else retiring the old version, docs/security.md, loses it).
        srv = self.server()
        srv.start()
        c = srv.client()
        c.create_secret(Name=unique("pre"), SecretString="pre")
        rc, out, err = run_arca("server", "rekey", "--data-dir", srv.data_dir, timeout=60)
        self.assertEqual(rc, 0, out + err)
        name = unique("post")
        vid = c.create_secret(Name=name, SecretString="written-after-rekey")["VersionId"]
        con = sqlite3.connect(f"file:{os.path.join(srv.data_dir, 'arca.db')}?mode=ro", uri=True)
        try:
            cols = [r[1] for r in con.execute("PRAGMA table_info(versions)")]
            if "key_version" not in cols or "version_id" not in cols:
                self.skipTest(f"unexpected schema of versions: {cols}")
            (key_version,) = con.execute("SELECT key_version FROM versions WHERE version_id = ?",
                                         (vid,)).fetchone()
        finally:
            con.close()
        self.assertEqual(key_version, 2, "a value written after rekey is wrapped with master key "
                                         "version 1")


if __name__ == "__main__":
    unittest.main()
