"""The `arca` client commands (issue 7): `arca secret ...`, `arca run`, credentials and endpoints,
exit statuses, help and completion, against a real server started by the test.

Run: ARCA_BIN=build/arca python3 -m unittest -v test_cli   (from tests/integration)
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from arca_harness import ArcaTestCase, arca_bin, clean_env, unique
from test_access_control import ACCOUNT, RsaKey, make_jwt, policy_doc, sa_claims

NASTY = "p@ss w0rd \"quoted\" 'single' $HOME ${X} `cmd` \\ back\nnew line ünïcødé #hash"


def parse_json(p):
    return json.loads(p.stdout)


class SecretCommandsTest(ArcaTestCase):
    """Every `arca secret` subcommand and its error paths."""

    def cli_ok(self, *args, **kw):
        p = self.server.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, f"arca {' '.join(args)}: {p.stderr}")
        return p

    def test_put_creates_then_adds_versions_only_when_the_value_changes(self):
        name = unique("cli/put")
        p = self.cli_ok("secret", "put", name, "--from-literal", "username=app",
                        "--from-literal", "password=" + NASTY, "--description", "db", "--tag", "team=a")
        self.assertIn("created " + name, p.stdout)
        self.assertNotIn(NASTY, p.stdout + p.stderr)
        got = json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertEqual(got, {"username": "app", "password": NASTY})
        d = self.sm.describe_secret(SecretId=name)
        self.assertEqual(d["Description"], "db")
        self.assertEqual(d["Tags"], [{"Key": "team", "Value": "a"}])

        p = self.cli_ok("secret", "put", name, "--from-literal", "username=app",
                        "--from-literal", "password=" + NASTY)
        self.assertIn("unchanged", p.stdout)
        self.assertEqual(len(self.sm.list_secret_version_ids(SecretId=name)["Versions"]), 1)

        p = self.cli_ok("secret", "put", name, "--from-literal", "username=app2",
                        "--from-literal", "password=x", "--output", "json")
        out = json.loads(p.stdout)
        self.assertEqual(out["Result"], "updated")
        self.assertEqual(len(self.sm.list_secret_version_ids(SecretId=name)["Versions"]), 2)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["VersionId"], out["VersionId"])

    def test_put_from_stdin_file_and_env_file(self):
        name = unique("cli/stdin")
        self.cli_ok("secret", "put", name, input=NASTY)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], NASTY)

        path = os.path.join(self.server.log_dir, "value.pem")
        with open(path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n")
        self.cli_ok("secret", "put", name, "--from-file", path)
        self.assertTrue(self.sm.get_secret_value(SecretId=name)["SecretString"].startswith("-----BEGIN CERT"))

        env_path = os.path.join(self.server.log_dir, "app.env")
        with open(env_path, "w") as f:
            f.write("# comment\nexport DB_HOST=db.internal\nDB_PASSWORD='s3cr3t # not a comment'\n")
        self.cli_ok("secret", "put", name, "--from-env-file", env_path)
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"]),
                         {"DB_HOST": "db.internal", "DB_PASSWORD": "s3cr3t # not a comment"})

    def test_get_field_stage_version_and_binary(self):
        name = unique("cli/get")
        v1 = self.sm.create_secret(Name=name, SecretString=json.dumps(
            {"user": "a", "password": "one", "nested": {"k": "deep"}, "port": 5432}))["VersionId"]
        self.sm.put_secret_value(SecretId=name, SecretString=json.dumps({"user": "a", "password": "two"}))
        self.assertEqual(self.cli_ok("secret", "get", name, "--field", "password").stdout, "two\n")
        self.assertEqual(self.cli_ok("secret", "get", name, "--field", "password",
                                     "--version-stage", "AWSPREVIOUS").stdout, "one\n")
        self.assertEqual(self.cli_ok("secret", "get", name, "--field", "nested.k",
                                     "--version-id", v1).stdout, "deep\n")
        self.assertEqual(self.cli_ok("secret", "get", name, "--field", "port",
                                     "--version-id", v1).stdout, "5432\n")
        whole = self.cli_ok("secret", "get", name).stdout
        self.assertEqual(json.loads(whole), {"user": "a", "password": "two"})
        out = json.loads(self.cli_ok("secret", "get", name, "--output", "json").stdout)
        self.assertEqual(out["Name"], name)
        self.assertIn("AWSCURRENT", out["VersionStages"])

        p = self.server.cli("secret", "get", name, "--field", "nope")
        self.assertEqual(p.returncode, 3, p.stderr)

        binary = unique("cli/bin")
        blob = bytes(range(256))
        self.sm.create_secret(Name=binary, SecretBinary=blob)
        p = subprocess.run([arca_bin(), "secret", "get", binary], capture_output=True,
                           env=clean_env({"ARCA_ENDPOINT": self.server.endpoint,
                                          "ARCA_DATA_DIR": self.server.data_dir}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, blob)

    def test_list_with_prefix_and_paging(self):
        prefix = unique("cli-list") + "/"
        names = [prefix + f"s{i:03d}" for i in range(105)]  # more than one page of 100
        for n in names:
            self.sm.create_secret(Name=n, SecretString="x", Description="d " + n[-4:])
        self.sm.create_secret(Name="other-" + prefix + "zzz", SecretString="x")
        out = json.loads(self.cli_ok("secret", "list", "--prefix", prefix, "--output", "json").stdout)
        self.assertEqual(sorted(s["Name"] for s in out["SecretList"]), names)
        table = self.cli_ok("secret", "list", "--prefix", prefix).stdout.splitlines()
        self.assertTrue(table[0].startswith("NAME"))
        self.assertEqual(len(table), 1 + len(names))
        self.assertTrue(table[1].startswith(names[0]))

    def test_describe_and_history_never_print_values(self):
        name = unique("cli/desc")
        self.sm.create_secret(Name=name, SecretString="first-" + NASTY, Description="the db",
                              Tags=[{"Key": "env", "Value": "prod"}])
        self.sm.put_secret_value(SecretId=name, SecretString="second-" + NASTY)
        d = self.cli_ok("secret", "describe", name).stdout
        self.assertIn("the db", d)
        self.assertIn("env=prod", d)
        self.assertIn("AWSCURRENT", d)
        self.assertNotIn(NASTY.splitlines()[0], d)
        h = self.cli_ok("secret", "history", name).stdout.splitlines()
        self.assertTrue(h[0].startswith("VERSION ID"))
        self.assertEqual(len(h), 3)
        self.assertIn("AWSCURRENT", h[1])
        self.assertIn("AWSPREVIOUS", h[2])
        self.assertNotIn("second-", "\n".join(h))
        j = json.loads(self.cli_ok("secret", "describe", name, "--output", "json").stdout)
        self.assertEqual(j["Name"], name)

    def test_rollback_moves_awscurrent_back(self):
        name = unique("cli/rb")
        v1 = self.sm.create_secret(Name=name, SecretString="one")["VersionId"]
        v2 = self.sm.put_secret_value(SecretId=name, SecretString="two")["VersionId"]
        p = self.cli_ok("secret", "rollback", name)
        self.assertIn(v1, p.stdout)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "one")
        self.assertEqual(self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["VersionId"], v2)
        # Rolling back again returns to "two": the rollback is itself undoable.
        self.cli_ok("secret", "rollback", name)
        self.assertEqual(self.sm.get_secret_value(SecretId=name)["SecretString"], "two")
        lone = unique("cli/rb-lone")
        self.sm.create_secret(Name=lone, SecretString="x")
        p = self.server.cli("secret", "rollback", lone)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("AWSPREVIOUS", p.stderr)

    def test_diff_hides_values_unless_asked(self):
        name = unique("cli/diff")
        self.sm.create_secret(Name=name, SecretString=json.dumps({"a": "same", "b": "old-b", "gone": "g"}))
        self.sm.put_secret_value(SecretId=name, SecretString=json.dumps({"a": "same", "b": "new-b", "c": "c1"}))
        out = self.cli_ok("secret", "diff", name).stdout
        self.assertIn("+ c (added)", out)
        self.assertIn("- gone (removed)", out)
        self.assertIn("~ b (changed)", out)
        self.assertNotIn("a (", out)
        for secret in ("old-b", "new-b", "c1"):
            self.assertNotIn(secret, out)
        shown = self.cli_ok("secret", "diff", name, "AWSPREVIOUS", "AWSCURRENT", "--show-values").stdout
        self.assertIn("~ b: old-b -> new-b", shown)
        j = json.loads(self.cli_ok("secret", "diff", name, "--output", "json").stdout)
        self.assertEqual((j["Added"], j["Removed"], j["Changed"]), (["c"], ["gone"], ["b"]))
        self.assertNotIn("Values", j)
        versions = self.sm.list_secret_version_ids(SecretId=name)["Versions"]
        ids = {tuple(v["VersionStages"])[0]: v["VersionId"] for v in versions}
        j = json.loads(self.cli_ok("secret", "diff", name, ids["AWSCURRENT"], ids["AWSPREVIOUS"],
                                   "--output", "json").stdout)
        self.assertEqual((j["Added"], j["Removed"]), (["gone"], ["c"]))

    def test_delete_restore_force(self):
        name = unique("cli/del")
        self.sm.create_secret(Name=name, SecretString="x")
        p = self.cli_ok("secret", "delete", name, "--recovery-days", "7")
        self.assertIn("scheduled", p.stdout)
        p = self.server.cli("secret", "get", name)
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertTrue(p.stderr.startswith("arca: InvalidRequestException: "), p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        self.cli_ok("secret", "restore", name)
        self.assertEqual(self.cli_ok("secret", "get", name).stdout, "x\n")
        self.cli_ok("secret", "delete", name, "--force")
        p = self.server.cli("secret", "get", name)
        self.assertEqual(p.returncode, 3)
        p = self.server.cli("secret", "delete", name, "--recovery-days", "3")
        self.assertNotEqual(p.returncode, 0)
        p = self.server.cli("secret", "delete", name, "--recovery-days", "7", "--force")
        self.assertEqual(p.returncode, 2)

    def test_rotate_tag_untag(self):
        name = unique("cli/rot")
        self.sm.create_secret(Name=name, SecretString="x")
        lam = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:arca-random"
        self.cli_ok("secret", "rotate", name, "--lambda-arn", lam, "--schedule", "rate(10 days)",
                    "--no-rotate-now")
        d = self.sm.describe_secret(SecretId=name)
        self.assertTrue(d["RotationEnabled"])
        self.assertEqual(d["RotationLambdaARN"], lam)
        self.assertEqual(d["RotationRules"]["ScheduleExpression"], "rate(10 days)")
        self.cli_ok("secret", "tag", name, "team=payments", "tier=1")
        self.cli_ok("secret", "untag", name, "tier")
        self.assertEqual(self.sm.describe_secret(SecretId=name)["Tags"], [{"Key": "team", "Value": "payments"}])
        p = self.server.cli("secret", "tag", name, "novalue")
        self.assertEqual(p.returncode, 2)

    def test_errors_are_one_line_with_the_servers_code_and_a_documented_status(self):
        p = self.server.cli("secret", "get", unique("cli/missing"))
        self.assertEqual(p.returncode, 3)
        self.assertRegex(p.stderr, r"^arca: ResourceNotFoundException: .+\n$")
        p = self.server.cli("secret", "get", "x", env={"ARCA_ENDPOINT": "http://127.0.0.1:1"})
        self.assertEqual(p.returncode, 6, p.stderr)
        self.assertIn("127.0.0.1:1", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1)
        p = self.server.cli("secret", "get", "x", env={"AWS_ACCESS_KEY_ID": "AKIA-FAKE-EXAMPLE-ID",
                                                         "AWS_SECRET_ACCESS_KEY": "not-the-secret"})
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertRegex(p.stderr, r"^arca: UnrecognizedClientException: ")
        p = self.server.cli("secret", "get", "x", env={"ARCA_DATA_DIR": "/nonexistent"})
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("credentials", p.stderr)
        p = self.server.cli("secret", "frobnicate")
        self.assertEqual(p.returncode, 2)
        p = self.server.cli("secret", "put", unique("cli/none"), "--from-literal", "novalue")
        self.assertEqual(p.returncode, 2)

    def test_credentials_from_shared_file_profile_and_environment(self):
        akid, secret = self.server.credentials()
        home = tempfile.mkdtemp(prefix="arca-it-home-", dir=self.server.log_dir)
        os.makedirs(os.path.join(home, ".aws"))
        with open(os.path.join(home, ".aws", "credentials"), "w") as f:
            f.write(f"[default]\naws_access_key_id = AKIA-FAKE-EXAMPLE-ID\naws_secret_access_key = nope\n\n"
                    f"[work]\naws_access_key_id = {akid}\naws_secret_access_key = {secret}\n")
        with open(os.path.join(home, ".aws", "config"), "w") as f:
            f.write("[profile work]\nregion = eu-west-1\n")
        name = unique("cli/profile")
        self.server.client(region="eu-west-1").create_secret(Name=name, SecretString="eu")
        # The default profile wins over the local fallback, and its key is unknown.
        p = self.server.cli("secret", "get", name, home=home)
        self.assertEqual(p.returncode, 4, p.stderr)
        # --profile picks the key and the profile's region from the config file.
        p = self.server.cli("secret", "get", name, "--profile", "work", home=home)
        self.assertEqual((p.returncode, p.stdout), (0, "eu\n"), p.stderr)
        p = self.server.cli("secret", "get", name, home=home, env={"AWS_PROFILE": "work"})
        self.assertEqual(p.stdout, "eu\n", p.stderr)
        # --region beats the profile's region: the secret is not in us-east-1.
        p = self.server.cli("secret", "get", name, "--profile", "work", "--region", "us-east-1", home=home)
        self.assertEqual(p.returncode, 3, p.stderr)
        # Environment keys come first of all.
        p = self.server.cli("secret", "get", name, "--region", "eu-west-1", home=home,
                            env={"AWS_ACCESS_KEY_ID": akid, "AWS_SECRET_ACCESS_KEY": secret})
        self.assertEqual(p.stdout, "eu\n", p.stderr)
        # AWS_ENDPOINT_URL is honoured when ARCA_ENDPOINT is not set.
        p = self.server.cli("secret", "get", name, "--region", "eu-west-1",
                            env={"ARCA_ENDPOINT": "", "AWS_ENDPOINT_URL": self.server.endpoint})
        self.assertEqual(p.stdout, "eu\n", p.stderr)

    def test_a_fresh_local_server_needs_no_set_up(self):
        # Run from a directory holding the server's data directory as ./arca-data, with no
        # ARCA_DATA_DIR and no AWS_* settings: the client finds the admin key there.
        cwd = tempfile.mkdtemp(prefix="arca-it-cwd-", dir=self.server.log_dir)
        os.symlink(self.server.data_dir, os.path.join(cwd, "arca-data"))
        name = unique("cli/local")
        self.sm.create_secret(Name=name, SecretString="local")
        p = self.server.cli("secret", "get", name, cwd=cwd, env={"ARCA_DATA_DIR": ""})
        self.assertEqual((p.returncode, p.stdout), (0, "local\n"), p.stderr)

    def test_help_of_every_command_has_an_example(self):
        commands = [["secret", c] for c in ("put", "get", "list", "describe", "history", "rollback", "diff",
                                            "delete", "restore", "rotate", "tag", "untag")]
        commands += [["bootstrap"], ["run"], ["export"], ["import"], ["completion"]]
        for c in commands:
            p = self.server.cli(*c, "--help")
            self.assertEqual(p.returncode, 0, c)
            self.assertIn("Example", p.stdout, c)
        top = self.server.cli("--help").stdout
        for c in ("server", "secret", "bootstrap", "run", "export", "import", "completion", "audit"):
            self.assertIn(c, top)

    def test_bash_completion(self):
        script = self.server.cli("completion", "bash").stdout
        path = os.path.join(self.server.log_dir, "arca-completion.bash")
        with open(path, "w") as f:
            f.write(script)

        def complete(*words):
            cmd = (f"source {path}; COMP_WORDS=(arca {' '.join(words)}); COMP_CWORD={len(words)}; "
                   "_arca; printf '%s\\n' \"${COMPREPLY[@]}\"")
            p = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout.split()

        self.assertIn("secret", complete("se"))
        self.assertEqual(complete("secret", "ro"), ["rollback", "rotate"])
        self.assertIn("--field", complete("secret", "get", "name", "--fi"))
        self.assertIn("--region", complete("secret", "get", "--re"))
        self.assertIn("--dry-run", complete("bootstrap", "--dr"))
        zsh = self.server.cli("completion", "zsh").stdout
        self.assertIn("bashcompinit", zsh)
        zpath = os.path.join(self.server.log_dir, "arca-completion.zsh")
        with open(zpath, "w") as f:
            f.write(zsh)
        zsh_bin = shutil.which("zsh")
        self.assertIsNotNone(zsh_bin, "zsh is needed (scripts/deps.sh --test installs it)")
        p = subprocess.run([zsh_bin, "-f", "-c", f"source {zpath} && print -r -- ${{_comps[arca]}}"],
                           capture_output=True, text=True, env=clean_env({"HOME": self.server.log_dir}))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("_arca", p.stdout)


CHILD = r"""
import json, os, sys, time, signal
out = sys.argv[1]
names = sys.argv[2].split(",")
with open(f"/proc/{os.getpid()}/cmdline", "rb") as f:
    cmdline = f.read().decode("utf-8", "replace")
ppid = os.getppid()
with open(f"/proc/{ppid}/cmdline", "rb") as f:
    parent_cmdline = f.read().decode("utf-8", "replace")
tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump({"pid": os.getpid(), "env": {n: os.environ.get(n) for n in names},
               "cmdline": cmdline, "parent_cmdline": parent_cmdline}, f)
os.rename(tmp, out)
if len(sys.argv) > 3:
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    time.sleep(120)
"""


class RunCommandTest(ArcaTestCase):
    """`arca run`: variables from secrets, nothing on command lines, --watch restarts."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="arca-it-run-", dir=self.server.log_dir)
        self.child = os.path.join(self.tmp, "child.py")
        with open(self.child, "w") as f:
            f.write(CHILD)

    def wait_for(self, path, timeout=20, pred=lambda d: True):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if os.path.exists(path):
                with open(path) as f:
                    d = json.load(f)
                if pred(d):
                    return d
            time.sleep(0.05)
        self.fail(f"nothing at {path} after {timeout}s")

    def test_child_sees_its_variables_and_no_value_on_any_command_line(self):
        prefix = unique("cli-run") + "/"
        self.sm.create_secret(Name=prefix + "db", SecretString=json.dumps(
            {"host": "db.internal", "password": NASTY, "db-name": "shop", "port": 5432}))
        self.sm.create_secret(Name=prefix + "api-token", SecretString="tok-" + unique("v"))
        token = self.sm.get_secret_value(SecretId=prefix + "api-token")["SecretString"]
        out = os.path.join(self.tmp, "env.json")
        names = "HOST,PASSWORD,DB_NAME,PORT,API_TOKEN,URL,JWT"
        p = self.server.cli("run", "--secret", prefix + "db", "--secret", prefix + "api-token", "--",
                            sys.executable, self.child, out, names)
        self.assertEqual(p.returncode, 0, p.stderr)
        d = self.wait_for(out)
        self.assertEqual(d["env"]["HOST"], "db.internal")
        self.assertEqual(d["env"]["PASSWORD"], NASTY)
        self.assertEqual(d["env"]["DB_NAME"], "shop")
        self.assertEqual(d["env"]["PORT"], "5432")
        self.assertEqual(d["env"]["API_TOKEN"], token)
        for value in ("db.internal", NASTY, token):
            self.assertNotIn(value, d["cmdline"])
            self.assertNotIn(value, d["parent_cmdline"])
        self.assertNotIn(NASTY, p.stdout + p.stderr)

        # --prefix takes every secret under it; --map renames like an ExternalSecret's data list.
        mp = os.path.join(self.tmp, "map.yaml")
        with open(mp, "w") as f:
            f.write(f"data:\n  - secretKey: URL\n    remoteRef: {{key: {prefix}db, property: host}}\n"
                    f"dataFrom:\n  - extract: {{key: {prefix}api-token}}\n")
        os.remove(out)
        p = self.server.cli("run", "--map", mp, "--", sys.executable, self.child, out, names)
        self.assertEqual(p.returncode, 0, p.stderr)
        d = self.wait_for(out)
        self.assertEqual(d["env"]["URL"], "db.internal")
        self.assertEqual(d["env"]["API_TOKEN"], token)
        self.assertIsNone(d["env"]["PASSWORD"])
        os.remove(out)
        p = self.server.cli("run", "--prefix", prefix, "--", sys.executable, self.child, out, names)
        self.assertEqual(p.returncode, 0, p.stderr)
        d = self.wait_for(out)
        self.assertEqual((d["env"]["HOST"], d["env"]["API_TOKEN"]), ("db.internal", token))

    def test_exit_status_and_errors(self):
        name = unique("cli-run/x")
        self.sm.create_secret(Name=name, SecretString="v")
        p = self.server.cli("run", "--secret", name, "--", "sh", "-c", "exit 7")
        self.assertEqual(p.returncode, 7)
        p = self.server.cli("run", "--secret", name, "--", "/nonexistent/program")
        self.assertEqual(p.returncode, 127)
        p = self.server.cli("run", "--secret", unique("cli-run/missing"), "--", "true")
        self.assertEqual(p.returncode, 3, p.stderr)
        p = self.server.cli("run", "--", "true")
        self.assertEqual(p.returncode, 2)
        p = self.server.cli("run", "--secret", name)
        self.assertEqual(p.returncode, 2)

    def test_watch_restarts_the_program_when_a_secret_changes(self):
        name = unique("cli-run/watch")
        self.sm.create_secret(Name=name, SecretString=json.dumps({"password": "first"}))
        out = os.path.join(self.tmp, "watch.json")
        proc = subprocess.Popen(
            [arca_bin(), "run", "--watch", "--interval", "0.3", "--grace", "5", "--secret", name, "--",
             sys.executable, self.child, out, "PASSWORD", "wait"],
            env=clean_env({"ARCA_ENDPOINT": self.server.endpoint, "ARCA_DATA_DIR": self.server.data_dir}),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = self.wait_for(out, pred=lambda d: d["env"]["PASSWORD"] == "first")
            self.assertNotIn("first", first["parent_cmdline"])
            self.sm.put_secret_value(SecretId=name, SecretString=json.dumps({"password": "second"}))
            second = self.wait_for(out, pred=lambda d: d["env"]["PASSWORD"] == "second")
            self.assertNotEqual(first["pid"], second["pid"])
            # The old program is gone.
            with self.assertRaises(ProcessLookupError):
                os.kill(first["pid"], 0)
            # SIGTERM to arca reaches the program, and arca exits with its status.
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _, err = proc.communicate()
        self.assertIn("restarting", err)
        self.assertNotIn("second", err)


    def test_watch_ctrl_c_reaches_the_program_once(self):
        # On a terminal, Ctrl-C reaches the whole foreground process group: arca must not pass it on
        # a second time.
        import pty
        name = unique("cli-run/tty")
        self.sm.create_secret(Name=name, SecretString="v")
        out = os.path.join(self.tmp, "sigint.txt")
        ready = os.path.join(self.tmp, "ready")
        program = (
            "import signal, sys, time\n"
            f"out, ready = {out!r}, {ready!r}\n"
            "count = []\n"
            "signal.signal(signal.SIGINT, lambda *a: count.append(1))\n"
            "open(ready, 'w').close()\n"
            "deadline = time.time() + 3\n"
            "while time.time() < deadline: time.sleep(0.05)\n"
            "open(out, 'w').write(str(len(count)))\n")
        env = clean_env({"ARCA_ENDPOINT": self.server.endpoint, "ARCA_DATA_DIR": self.server.data_dir})
        pid, master = pty.fork()
        if pid == 0:
            os.execve(arca_bin(), [arca_bin(), "run", "--watch", "--interval", "5", "--secret", name, "--",
                                   sys.executable, "-c", program], env)
        try:
            deadline = time.time() + 20
            while not os.path.exists(ready) and time.time() < deadline:
                time.sleep(0.05)
            self.assertTrue(os.path.exists(ready), "the program did not start")
            os.write(master, b"\x03")  # Ctrl-C, through the terminal driver
            deadline = time.time() + 20
            while not os.path.exists(out) and time.time() < deadline:
                time.sleep(0.05)
            with open(out) as f:
                self.assertEqual(f.read(), "1")
            _, status = os.waitpid(pid, 0)
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(master)


class WebIdentityCredentialsTest(ArcaTestCase):
    """AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE, as IRSA sets them, work for the client commands."""

    ISSUER_HOST = "k8s.example.test/id/cli"
    ISSUER = "https://" + ISSUER_HOST

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="arca-it-cli-oidc-")
        cls.rsa = RsaKey(cls.tmp, "cli-1")
        jwks = json.dumps({"keys": [cls.rsa.jwk()]})
        cls.server_kwargs = {"extra_args": ("--oidc-issuer", cls.ISSUER, "--oidc-jwks", jwks)}
        super().setUpClass()
        iam = cls.server.client(service="iam")
        provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{cls.ISSUER_HOST}"
        trust = policy_doc({
            "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{cls.ISSUER_HOST}:sub": "system:serviceaccount:shop:api"}}})
        cls.role_arn = iam.create_role(RoleName="shop-api", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
        iam.put_role_policy(RoleName="shop-api", PolicyName="read", PolicyDocument=policy_doc({
            "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": f"arn:aws:secretsmanager:*:{ACCOUNT}:secret:shop/*"}))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(getattr(cls, "tmp", ""), ignore_errors=True)
        super().tearDownClass()

    def test_role_from_a_service_account_token(self):
        self.sm.create_secret(Name="shop/web-id", SecretString="for-the-pod")
        self.sm.create_secret(Name="other/web-id", SecretString="not-for-the-pod")
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write(make_jwt(self.rsa, sa_claims("shop", "api", issuer=self.ISSUER)))
        env = {"AWS_ROLE_ARN": self.role_arn, "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
               "ARCA_DATA_DIR": "/nonexistent"}
        p = self.server.cli("secret", "get", "shop/web-id", env=env)
        self.assertEqual((p.returncode, p.stdout), (0, "for-the-pod\n"), p.stderr)
        p = self.server.cli("secret", "get", "other/web-id", env=env)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertRegex(p.stderr, r"^arca: AccessDeniedException: ")
        with open(token_file, "w") as f:
            f.write(make_jwt(self.rsa, sa_claims("shop", "intruder", issuer=self.ISSUER)))
        p = self.server.cli("secret", "get", "shop/web-id", env=env)
        self.assertEqual(p.returncode, 4, p.stderr)


if __name__ == "__main__":
    unittest.main()
