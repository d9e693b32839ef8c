"""`arca export` and `arca import` (issue 7, items 4-5) against a real server started by the test.

The dotenv output must read back identically with python-dotenv (the real package, interpolation on)
and with docker compose's env-file rules. Compose is not installed here, so ComposeDotenv below is a
line-for-line port of compose-go's dotenv/parser.go and the substitution pattern of
template/template.go (github.com/compose-spec/compose-go); any interpolation it would perform is
reported as a failure, since arca's output must never rely on one.

Run: ARCA_BIN=build/arca python3 -m unittest -v test_cli_export   (from tests/integration)
Needs python-dotenv and PyYAML (Debian: python3-dotenv, python3-yaml).
"""

import base64
import io
import json
import os
import re
import stat
import subprocess
import unittest

import dotenv
import yaml

from arca_harness import ArcaTestCase, clean_env, unique

# Values that have broken dotenv writers before. Each must come back byte for byte.
NASTY = {
    "plain": "abc-123",
    "empty": "",
    "spaces": "  with  spaces  ",
    "hash": "pass # not a comment",
    "hash_start": "#start",
    "dollar_alone": "costs 5$ or $5",
    "dollar_name": "$HOME and $PATH",
    "dollar_dollar": "$$double",
    "single": "it's",
    "double": 'say "hi"',
    "both": "it's \"both\"",
    "backslash": "back\\slash \\n not a newline",
    "double_backslash": "two \\\\ backslashes",
    "trailing_backslash": "C:\\dir\\",
    "newline": "line1\nline2\n",
    "crlf": "line1\r\nline2",
    "tab": "a\tb",
    "unicode": "héllo wörld ✓ 日本語 🎉",
    "equals": "a=b==c",
    "pem": "-----BEGIN FAKE TEST BLOCK-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END FAKE TEST BLOCK-----\n",
    "name_and_newline": "multi\nline with $NAME",
    "name_and_quote": "it's $HOME",
    "json": '{"nested": [1, "two"]}',
    "odd_braces": "${:not-expanded} {x}",
    "controls": "bell\a ff\f vt\v",
}
# Values no dotenv file reads back the same with both parsers; export refuses them.
UNREPRESENTABLE = {
    "braced": "${X}",
    "braced_default": "pre ${X:-d} post",
    "name_and_double_backslash": "$HOME \\\\ x",
}


# ---- compose-go's dotenv rules (the oracle) -----------------------------------------------------

class Interpolated(Exception):
    pass


class ComposeDotenv:
    ESCAPES = re.compile(r'(\\(?:[abcfnrtv$"\\]|0\d{0,3}))')
    TEMPLATE = re.compile(r"\$(?i:(?P<escaped>\$)|(?P<named>[_a-z][_a-z0-9]*)|\{(?:(?P<braced>"
                          r"[_a-z][_a-z0-9]*(?::?[-+?](.*))?)\}|(?P<invalid>)))")
    SPACE = "\t\v\f\r \x85\xa0"  # parser.go's isSpace

    @classmethod
    def substitute(cls, value):
        def rep(m):
            if m.group("escaped"):
                return "$"
            raise Interpolated(f"compose would interpolate {m.group(0)!r}")
        return cls.TEMPLATE.sub(rep, value)

    @classmethod
    def expand_escapes(cls, s):
        table = {"\\a": "\a", "\\b": "\b", "\\c": "\\c", "\\f": "\f", "\\n": "\n", "\\r": "\r",
                 "\\t": "\t", "\\v": "\v", '\\"': '"', "\\\\": "\\"}

        def rep(m):
            t = m.group(0)
            if t == "\\$":
                return "$$"
            if t.startswith("\\0"):
                t = t.replace("\\0", "\\", 1)
                return chr(int(t[1:], 8)) if re.fullmatch(r"\\[0-7]{3}", t) else t
            return table[t]
        return cls.ESCAPES.sub(rep, s)

    @classmethod
    def parse(cls, src):
        if src.startswith("\ufeff"):
            src = src[1:]
        out = {}
        while True:
            while True:  # getStatementStart
                i = 0
                while i < len(src) and src[i].isspace():
                    i += 1
                if i == len(src):
                    return out
                src = src[i:]
                if src[0] != "#":
                    break
                j = src.find("\n")
                if j < 0:
                    return out
                src = src[j:]
            if re.match(r"export\s+", src):
                src = src[len("export"):].lstrip(cls.SPACE)
            key, offset, inherited = None, 0, False
            for i, ch in enumerate(src):  # locateKeyName
                if ch in cls.SPACE:
                    continue
                if ch in "=:\n":
                    key, offset, inherited = src[:i], i + 1, ch == "\n"
                    break
                if ch in "_.-[]" or ch.isalnum():
                    continue
                raise ValueError(f"unexpected character {ch!r} in variable name")
            if key is None:
                raise ValueError("zero length string")
            key = key.rstrip()
            rest = src[offset:].lstrip(cls.SPACE)
            if " " in key:
                raise ValueError("key cannot contain a space")
            if inherited:
                src = rest
                continue
            if not rest or rest[0] not in "'\"":  # extractVarValue, unquoted
                value, _, src = rest.partition("\n")
                value = value.split(" #", 1)[0].rstrip()
                out[key] = cls.substitute(value)
                continue
            quote, chars, escaped, done = rest[0], [], False, False
            for i in range(1, len(rest)):
                c = rest[i]
                if c != quote:
                    if not escaped and c == "\\":
                        escaped = True
                        continue
                    if escaped:
                        escaped = False
                        chars.append("\\")
                    chars.append(c)
                    continue
                if escaped:
                    escaped = False
                    chars.append(c)
                    continue
                value = "".join(chars)
                if quote == '"':
                    value = cls.substitute(cls.expand_escapes(value))
                out[key] = value
                src = rest[i + 1:]
                done = True
                break
            if not done:
                raise ValueError("unterminated quoted value")


# ---- the tests ----------------------------------------------------------------------------------

class ExportImportTest(ArcaTestCase):

    def cli_ok(self, *args, **kw):
        p = self.server.cli(*args, **kw)
        self.assertEqual(p.returncode, 0, f"arca {' '.join(args)}: {p.stderr}")
        return p

    def put(self, name, value):
        self.sm.create_secret(Name=name, SecretString=value if isinstance(value, str) else json.dumps(value))
        return name

    def sh_env(self, script):
        """Runs `script` with /bin/sh in an empty environment and returns the variables it ends with."""
        p = subprocess.run(["/bin/sh", "-c", script + "\nenv -0"], capture_output=True, env={}, check=True)
        out = {}
        for item in p.stdout.split(b"\0"):
            if item:
                k, _, v = item.decode().partition("=")
                out[k] = v
        return out

    def test_dotenv_reads_back_identically_with_python_dotenv_and_compose(self):
        name = self.put(unique("exp/dotenv"), NASTY)
        p = self.cli_ok("export", "--format", "dotenv", "--keep-case", name)
        self.assertEqual(p.stderr, "")
        got = dict(dotenv.dotenv_values(stream=io.StringIO(p.stdout)))
        self.assertEqual(got, NASTY, p.stdout)
        self.assertEqual(ComposeDotenv.parse(p.stdout), NASTY, p.stdout)
        # Read from a file as well (Python's text files translate newlines).
        path = os.path.join(self.server.log_dir, "nasty.env")
        self.cli_ok("export", "--format", "dotenv", "--keep-case", "-o", path, name)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(dict(dotenv.dotenv_values(path)), NASTY)
        with open(path, "rb") as f:
            self.assertEqual(ComposeDotenv.parse(f.read().decode()), NASTY)

    def test_dotenv_names_are_upper_cased_and_later_secrets_win_with_a_warning(self):
        a = self.put(unique("exp/a"), {"db-host": "first-value", "port": 5432, "tls": True})
        b = self.put(unique("exp/b"), {"DB_HOST": "two s3cr3t"})
        p = self.cli_ok("export", "--format", "dotenv", a, b)
        got = dict(dotenv.dotenv_values(stream=io.StringIO(p.stdout)))
        self.assertEqual(got, {"DB_HOST": "two s3cr3t", "PORT": "5432", "TLS": "true"})
        self.assertIn("DB_HOST", p.stderr)
        self.assertIn(b, p.stderr)
        self.assertNotIn("first-value", p.stderr)
        self.assertNotIn("s3cr3t", p.stderr)
        # A secret that is not a JSON object is one variable named after the secret.
        plain = self.put(unique("exp/plain-text"), "just a token")
        p = self.cli_ok("export", "--format", "dotenv", plain)
        env_name = re.sub(r"[^A-Za-z0-9_]", "_", plain).upper()
        self.assertEqual(dict(dotenv.dotenv_values(stream=io.StringIO(p.stdout))), {env_name: "just a token"})

    def test_dotenv_refuses_values_no_file_can_hold_for_both(self):
        for key, value in UNREPRESENTABLE.items():
            name = self.put(unique("exp/bad"), {key: value})
            p = self.server.cli("export", "--format", "dotenv", "--keep-case", name)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(p.stdout, "")
            self.assertIn(key, p.stderr)
            self.assertNotIn(value, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            # json and shell hold them.
            p = self.cli_ok("export", "--format", "json", "--keep-case", name)
            self.assertEqual(json.loads(p.stdout), {key: value})

    def test_shell_output_evaluated_by_sh(self):
        # Through a file: the harness reads stdout as text, which would turn "\r\n" into "\n".
        path = os.path.join(self.server.log_dir, "exports.sh")
        name = self.put(unique("exp/shell"), NASTY)
        self.cli_ok("export", "--format", "shell", "--keep-case", "-o", path, name)
        env = self.sh_env(f'eval "$(cat {path})"')
        for k, v in NASTY.items():
            self.assertEqual(env.get(k), v, k)
        unrep = self.put(unique("exp/shell2"), UNREPRESENTABLE)
        self.cli_ok("export", "--format", "shell", "--keep-case", "-o", path, unrep)
        env = self.sh_env(f". {path}")
        for k, v in UNREPRESENTABLE.items():
            self.assertEqual(env.get(k), v, k)

    def test_json_output(self):
        a = self.put(unique("exp/json-a"), NASTY)
        b = self.put(unique("exp/json-b"), {"plain": "override", "extra-key": "x"})
        p = self.cli_ok("export", "--format", "json", "--keep-case", a, b)
        want = dict(NASTY, plain="override", extra_key="x")
        self.assertEqual(json.loads(p.stdout), want)

    def test_k8s_secret_parsed_and_decoded(self):
        data = dict(NASTY)
        data["db-host.internal_Key"] = "v"
        data["true"] = "yes"
        data["123"] = "456"
        a = self.put(unique("exp/K8s_A"), data)
        b = self.put(unique("exp/k8s-b"), "a plain token")
        p = self.cli_ok("export", "--format", "k8s-secret", "--namespace", "shop", "--label", "team=pay",
                        "--label", "tier=db", a, b)
        docs = [d for d in yaml.safe_load_all(p.stdout) if d is not None]
        self.assertEqual(len(docs), 2, p.stdout)
        arn_a = self.sm.describe_secret(SecretId=a)["ARN"]
        for doc in docs:
            self.assertEqual(doc["apiVersion"], "v1")
            self.assertEqual(doc["kind"], "Secret")
            self.assertEqual(doc["type"], "Opaque")
            self.assertEqual(doc["metadata"]["namespace"], "shop")
            self.assertEqual(doc["metadata"]["labels"],
                             {"app.kubernetes.io/managed-by": "arca", "team": "pay", "tier": "db"})
            self.assertRegex(doc["metadata"]["name"], r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
        self.assertEqual(docs[0]["metadata"]["name"], a.lower().replace("/", "-").replace("_", "-"))
        self.assertEqual(docs[0]["metadata"]["annotations"], {"arca.dev/secret-arn": arn_a})
        decoded = {k: base64.b64decode(v, validate=True).decode() for k, v in docs[0]["data"].items()}
        self.assertEqual(decoded, data)
        for k in docs[0]["data"]:
            self.assertIsInstance(k, str)
        self.assertEqual({k: base64.b64decode(v).decode() for k, v in docs[1]["data"].items()},
                         {b.rsplit("/", 1)[1]: "a plain token"})
        # --name for a single secret; refused with several.
        p = self.cli_ok("export", "--format", "k8s-secret", "--name", "db-creds", a)
        self.assertEqual(yaml.safe_load(p.stdout)["metadata"]["name"], "db-creds")
        p = self.server.cli("export", "--format", "k8s-secret", "--name", "x", a, b)
        self.assertEqual(p.returncode, 2)
        p = self.server.cli("export", "--format", "k8s-secret", "--label", "bad label=x", a)
        self.assertEqual(p.returncode, 2)
        p = self.server.cli("export", "--format", "dotenv", "--namespace", "x", a)
        self.assertEqual(p.returncode, 2)

    def test_import_dotenv(self):
        path = os.path.join(self.server.log_dir, "import.env")
        text = ("# comment\nexport DB_HOST=db.internal\nDB_PASSWORD='s3cr3t # kept'\n"
                              "MULTI=\"a\\nb\"\nlower_key=x\n")
        with open(path, "w") as f:
            f.write(text)
        name = unique("imp/env")
        p = self.cli_ok("import", "-f", path, "--name", name, "--description", "from a file")
        self.assertEqual(p.stdout, f"{name}: created\n")
        want = {"DB_HOST": "db.internal", "DB_PASSWORD": "s3cr3t # kept", "MULTI": "a\nb", "lower_key": "x"}
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=name)["SecretString"]), want)
        self.assertEqual(self.sm.describe_secret(SecretId=name)["Description"], "from a file")
        # Again, from stdin: unchanged, no new version.
        p = self.cli_ok("import", "-f", "-", "--name", name, input=text)
        self.assertEqual(p.stdout, f"{name}: unchanged\n")
        self.assertEqual(len(self.sm.list_secret_version_ids(SecretId=name)["Versions"]), 1)
        p = self.cli_ok("import", "-f", "-", "--name", name, "--format", "dotenv", input="DB_HOST=other\n")
        self.assertEqual(p.stdout, f"{name}: updated\n")
        # An export read back by import gives the same object.
        src = self.put(unique("imp/src"), NASTY)
        exported = self.cli_ok("export", "--format", "dotenv", "--keep-case", src).stdout
        dst = unique("imp/dst")
        self.cli_ok("import", "-f", "-", "--name", dst, input=exported)
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=dst)["SecretString"]), NASTY)

    def test_import_k8s_manifest_with_several_documents(self):
        prefix = unique("imp") + "/"
        password_b64 = base64.b64encode("p@ss wörd\n".encode()).decode()
        manifest = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"
            "type: Opaque\ndata:\n"
            f"  password: {password_b64}\n"
            f"  user: {base64.b64encode(b'app').decode()}\n"
            "---\n"
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: jwt\n"
            "stringData:\n  key: \"$ecret ${X}\"\n"
        )
        p = self.cli_ok("import", "-f", "-", "--prefix", prefix, input=manifest)
        self.assertEqual(p.stdout, f"{prefix}shop/db: created\n{prefix}jwt: created\n")
        self.assertIn("[2/2]", p.stderr)
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=prefix + "shop/db")["SecretString"]),
                         {"password": "p@ss wörd\n", "user": "app"})
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=prefix + "jwt")["SecretString"]),
                         {"key": "$ecret ${X}"})
        p = self.cli_ok("import", "-f", "-", "--prefix", prefix, "--output", "json", input=manifest)
        self.assertEqual([r["Result"] for r in json.loads(p.stdout)], ["unchanged", "unchanged"])
        # Round trip: export as a Secret, import under another name.
        src = self.put(unique("imp/k8s-src"), NASTY)
        exported = self.cli_ok("export", "--format", "k8s-secret", src).stdout
        dst = unique("imp/k8s-dst")
        p = self.cli_ok("import", "-f", "-", "--name", dst, input=exported)
        self.assertEqual(p.stdout, f"{dst}: created\n")
        self.assertEqual(json.loads(self.sm.get_secret_value(SecretId=dst)["SecretString"]), NASTY)
        # --name with several documents is refused.
        p = self.server.cli("import", "-f", "-", "--name", "x", input=manifest)
        self.assertEqual(p.returncode, 2)

    def test_error_paths(self):
        missing = unique("exp/missing")
        p = self.server.cli("export", "--format", "dotenv", missing)
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertEqual(p.stdout, "")
        lines = p.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, p.stderr)
        self.assertTrue(lines[0].startswith("arca: ResourceNotFoundException: "), p.stderr)

        p = self.server.cli("import", "-f", os.path.join(self.server.log_dir, "no-such-file"), "--name", "x")
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertTrue(p.stderr.startswith("arca: "), p.stderr)
        for bad, args in [
            ("A=1\nB='unterminated\n", ["--name", "x"]),            # malformed dotenv
            ("A=1\n", []),                                            # dotenv without --name
            ("kind: Secret\napiVersion: v1\ndata: {k: '!!'}\n", []),  # bad base64
            ("kind: Secret\napiVersion: v1\nmetadata: [unclosed\n", []),  # bad YAML
            ("apiVersion: v1\nkind: ConfigMap\n", ["--format", "k8s-secret"]),
        ]:
            p = self.server.cli("import", "-f", "-", *args, input=bad)
            self.assertEqual(p.returncode, 2, f"{bad!r}: {p.stderr}")
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
        p = self.server.cli("export", "--format", "yaml", "x")
        self.assertEqual(p.returncode, 2)

    def test_help_has_examples(self):
        for cmd in ("export", "import"):
            p = self.cli_ok(cmd, "--help")
            self.assertIn("Examples:", p.stdout)
            self.assertIn(f"arca {cmd} ", p.stdout)


if __name__ == "__main__":
    unittest.main()
