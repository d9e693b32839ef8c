"""Shared helpers for Arca's integration tests.

Starts a real `arca server` on a free loopback port with a fresh data directory, and talks to it with
the real clients: boto3, the `aws` CLI (v1 from pip or v2 from Debian's awscli), and raw SigV4-signed
HTTP requests (botocore's signer) for protocol-level tests.

Only the standard library and boto3/botocore are used, so the tests run both with the image's python3
(pip boto3 + aws CLI v1) and with Debian's /usr/bin/python3 (python3-boto3, aws CLI v2).

Environment:
  ARCA_BIN      path of the built binary (CTest sets it); default ../../build/arca
  ARCA_AWS_CLI  path of the `aws` program to drive (default: the first `aws` on PATH)
  ARCA_IT_KEEP  set to 1 to keep the temporary data and log directories
"""

import atexit
import base64
import configparser
import contextlib
import ctypes
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

import boto3
import botocore
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"
LISTEN_TIMEOUT = 15.0
JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

_live_processes = []
_live_lock = threading.Lock()


def _kill_leftovers():
    with _live_lock:
        for p in list(_live_processes):
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(5)
                except Exception:  # noqa: BLE001 - best effort at interpreter exit
                    pass


atexit.register(_kill_leftovers)


def _die_with_parent():
    """preexec_fn: the server gets SIGKILL if the test process dies (PR_SET_PDEATHSIG)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not fatal; atexit still cleans up
        pass


def arca_bin():
    path = os.environ.get("ARCA_BIN") or os.path.join(HERE, "..", "..", "build", "arca")
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        raise RuntimeError(
            f"arca binary not found at {path}; build it (scripts/build.sh) or set ARCA_BIN")
    return path


def aws_cli():
    """The `aws` program to drive, or None when there is none."""
    explicit = os.environ.get("ARCA_AWS_CLI")
    if explicit:
        return explicit
    return shutil.which("aws")


def clean_env(overrides=None):
    """os.environ without real AWS credentials/config and without outer ARCA_* settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("ARCA_")}
    env.update(overrides or {})
    return env


def unique(prefix="it"):
    # Twelve hex characters: never looks like AWS's "-XXXXXX" six-character ARN suffix.
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_token():
    return str(uuid.uuid4())


def make_master_key_text(version=1, key=None):
    """A master key in Arca's file format (crypto/keyring.h)."""
    key = key if key is not None else os.urandom(32)
    return f"arca-master-key v1 {version} {base64.b64encode(key).decode()}\n"


def read_json_lines(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def audit_records(server):
    """Every record in `server`'s audit log files, oldest first."""
    out = []
    audit_dir = os.path.join(server.data_dir, "audit")
    for f in sorted(os.listdir(audit_dir)):
        if f.endswith(".jsonl"):
            with open(os.path.join(audit_dir, f), encoding="utf-8") as fh:
                out += read_json_lines(fh.read())
    return out


def wait_rotated(sm, server, name, version_id, timeout=60.0):
    """Waits for the rotation `version_id` of `name` to be recorded as RotationSucceeded, then
    returns DescribeSecret. The stages alone do not say that it is done: finishSecret moves
    AWSCURRENT before the engine records the end (LastRotatedDate, AWSPENDING removed)."""
    deadline = time.monotonic() + timeout
    while True:
        if any(e.get("eventName") == "RotationSucceeded"
               and e.get("additionalEventData", {}).get("ClientRequestToken") == version_id
               for e in audit_records(server)):
            return sm.describe_secret(SecretId=name)
        if time.monotonic() > deadline:
            stages = sm.describe_secret(SecretId=name).get("VersionIdsToStages")
            raise AssertionError(f"rotation of {name} did not finish: {stages}")
        time.sleep(0.2)


class RawResponse:
    """A raw HTTP response: status, lower-cased headers, body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def json(self):
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except ValueError:
            return None

    @property
    def error_type(self):
        """The AWS error code: `__type` without any "namespace#" prefix (or x-amzn-ErrorType)."""
        doc = self.json
        t = None
        if isinstance(doc, dict):
            t = doc.get("__type") or doc.get("code")
        if not t:
            t = self.headers.get("x-amzn-errortype")
        if not t:
            return None
        t = t.split(":")[0]
        return t.split("#")[-1]

    @property
    def message(self):
        doc = self.json
        if isinstance(doc, dict):
            return doc.get("message") or doc.get("Message") or ""
        return ""

    @property
    def request_id(self):
        return self.headers.get("x-amzn-requestid")

    def __repr__(self):
        return f"RawResponse({self.status}, {self.headers!r}, {self.body[:500]!r})"


class _FixedTimeSigV4Auth(botocore.auth.SigV4Auth):
    """SigV4 with a chosen timestamp (for expired / not-yet-valid signature tests)."""

    def __init__(self, credentials, service_name, region_name, when):
        super().__init__(credentials, service_name, region_name)
        self._when = when

    def add_auth(self, request):
        request.context["timestamp"] = self._when.strftime(botocore.auth.SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        signature = self.signature(string_to_sign, request)
        self._inject_signature_to_request(request, signature)


class ArcaServer:
    """One `arca server` process on a data directory.

    By default: `arca server --data-dir DIR --listen 127.0.0.1:0`, DIR a fresh temporary directory.
    stderr goes to a log file (one JSON object per line); the port comes from the "listening" line.
    """

    def __init__(self, data_dir=None, args=None, env=None, extra_args=(), listen="127.0.0.1:0"):
        self._own_data_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="arca-it-data-")
        self.log_dir = tempfile.mkdtemp(prefix="arca-it-log-")
        self._args = args
        self.extra_args = list(extra_args)
        self.listen = listen
        self.env_overrides = dict(env or {})
        self.proc = None
        self.host = "127.0.0.1"
        self.port = None
        self.log_path = None
        self.out_path = None
        self.log_paths = []
        self._starts = 0
        self._files = []

    # ---- lifecycle ------------------------------------------------------------------------------

    def command(self):
        if self._args is not None:
            return [arca_bin()] + list(self._args)
        cmd = [arca_bin(), "server", "--data-dir", self.data_dir]
        if self.listen:
            cmd += ["--listen", self.listen]
        return cmd + self.extra_args

    def spawn(self, env=None):
        """Starts the process without waiting for it to listen."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._close_files()
        self._starts += 1
        self.log_path = os.path.join(self.log_dir, f"server-{self._starts}.log")
        self.out_path = os.path.join(self.log_dir, f"server-{self._starts}.out")
        self.log_paths += [self.log_path, self.out_path]
        err = open(self.log_path, "wb")
        out = open(self.out_path, "wb")
        self._files = [err, out]
        full_env = clean_env(self.env_overrides)
        if env:
            full_env.update(env)
        self.port = None
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=err, env=full_env, cwd=self.log_dir,
                                     preexec_fn=_die_with_parent)
        with _live_lock:
            _live_processes.append(self.proc)
        return self.proc

    def start(self, env=None, timeout=LISTEN_TIMEOUT):
        self.spawn(env=env)
        self.wait_listening(timeout)
        return self

    def wait_listening(self, timeout=LISTEN_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for entry in read_json_lines(self.log()):
                if entry.get("msg") == "listening":
                    self.port = int(entry["port"])
                    addr = entry.get("address") or "127.0.0.1"
                    if addr in ("0.0.0.0", "::", "[::]", ""):
                        addr = "127.0.0.1"
                    self.host = addr.strip("[]")
                    return self.port
            rc = self.proc.poll()
            if rc is not None:
                self._close_files()
                raise AssertionError(
                    f"arca server exited with status {rc} before listening\n"
                    f"command: {self.command()}\n--- log ---\n{self.log()}{self.stdout()}")
            time.sleep(0.02)
        self.kill9()
        raise AssertionError(f"arca server did not log 'listening' within {timeout}s\n"
                             f"--- log ---\n{self.log()}")

    def wait_exit(self, timeout=LISTEN_TIMEOUT):
        """For a start that must fail: waits for the exit, returns (rc, log)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise AssertionError(f"arca server still running after {timeout}s\n{self.log()}")
        self._close_files()
        return rc, self.log() + self.stdout()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                self._close_files()
                raise AssertionError(f"arca server ignored SIGTERM for {timeout}s\n{self.log()}")
        self._close_files()
        return self.proc.returncode

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._close_files()

    def restart(self, env=None):
        self.stop()
        return self.start(env=env)

    def cleanup(self):
        try:
            self.stop()
        except AssertionError:
            pass
        if os.environ.get("ARCA_IT_KEEP") == "1":
            return
        if self._own_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def _close_files(self):
        for f in self._files:
            try:
                f.close()
            except OSError:
                pass
        self._files = []

    # ---- what it wrote -------------------------------------------------------------------------

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        if not self.out_path or not os.path.exists(self.out_path):
            return ""
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def all_logs_bytes(self):
        data = b""
        for p in self.log_paths:
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data += f.read()
        return data

    def log_entries(self):
        return read_json_lines(self.log())

    @property
    def credentials_path(self):
        return os.path.join(self.data_dir, "credentials")

    def credentials(self):
        """(access key id, secret access key) of profile [arca] in DIR/credentials."""
        cp = configparser.ConfigParser()
        with open(self.credentials_path) as f:
            cp.read_file(f)
        sec = cp["arca"]
        return sec["aws_access_key_id"].strip(), sec["aws_secret_access_key"].strip()

    @property
    def endpoint(self):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # ---- clients --------------------------------------------------------------------------------

    def client(self, region=DEFAULT_REGION, credentials=None, service="secretsmanager", **cfg):
        akid, secret = credentials or self.credentials()
        config = botocore.config.Config(retries={"total_max_attempts": 1}, connect_timeout=5,
                                        read_timeout=60, **cfg)
        session = boto3.session.Session()
        return session.client(service, region_name=region, endpoint_url=self.endpoint,
                              aws_access_key_id=akid, aws_secret_access_key=secret, config=config)

    def aws(self, *args, region=DEFAULT_REGION, env=None, timeout=60, endpoint=True):
        """Runs the aws CLI against this server: returns (rc, parsed JSON or None, stderr)."""
        exe = aws_cli()
        if not exe:
            raise unittest.SkipTest("no aws CLI on PATH")
        cfg = os.path.join(self.log_dir, "aws-config")
        if not os.path.exists(cfg):
            open(cfg, "w").close()
        e = clean_env({
            "AWS_SHARED_CREDENTIALS_FILE": self.credentials_path,
            "AWS_PROFILE": "arca",
            "AWS_CONFIG_FILE": cfg,
            "AWS_DEFAULT_REGION": region,
            "AWS_REGION": region,
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
        })
        e.update(env or {})
        cmd = [exe]
        if endpoint:
            cmd += ["--endpoint-url", self.endpoint]
        cmd += ["--output", "json"] + list(args)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, env=e,
                           timeout=timeout, cwd=self.log_dir)
        out = p.stdout.decode("utf-8", "replace").strip()
        parsed = None
        if out:
            try:
                parsed = json.loads(out)
            except ValueError:
                parsed = None
        return p.returncode, parsed, p.stderr.decode("utf-8", "replace")

    def cli(self, *args, env=None, input=None, timeout=60, cwd=None, home=None):
        """Runs the `arca` client commands against this server: returns a CompletedProcess (text).

        The client finds this server's admin key the way a local user's does: through
        ARCA_DATA_DIR/credentials (profile arca), with no AWS_* variables and an empty HOME.
        """
        home = home or os.path.join(self.log_dir, "home")
        os.makedirs(home, exist_ok=True)
        e = clean_env({
            "ARCA_ENDPOINT": self.endpoint,
            "ARCA_DATA_DIR": self.data_dir,
            "HOME": home,
        })
        e.update(env or {})
        return subprocess.run([arca_bin()] + list(args), input=input, capture_output=True, text=True,
                              env=e, timeout=timeout, cwd=cwd or self.log_dir)

    # ---- raw protocol -----------------------------------------------------------------------------

    def signed_request(self, target, body, region=DEFAULT_REGION, credentials=None, when=None,
                       headers=None, service="secretsmanager", path="/"):
        """Builds the (headers, body) of a SigV4-signed JSON 1.1 request."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        akid, secret = credentials or self.credentials()
        creds = botocore.credentials.Credentials(akid, secret)
        h = {"Content-Type": JSON_CONTENT_TYPE, "Host": f"{self.host}:{self.port}"}
        if target is not None:
            h["X-Amz-Target"] = target
        h.update(headers or {})
        req = botocore.awsrequest.AWSRequest(method="POST", url=self.endpoint + path, data=body,
                                             headers=h)
        if when is None:
            signer = botocore.auth.SigV4Auth(creds, service, region)
        else:
            signer = _FixedTimeSigV4Auth(creds, service, region, when)
        signer.add_auth(req)
        return dict(req.headers.items()), body

    def raw(self, target="secretsmanager.ListSecrets", body=b"{}", sign=True, region=DEFAULT_REGION,
            credentials=None, when=None, headers=None, method="POST", path="/", timeout=30,
            service="secretsmanager"):
        """Sends one request on a fresh connection; returns RawResponse."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        if sign:
            h, body = self.signed_request(target, body, region=region, credentials=credentials,
                                          when=when, headers=headers, path=path, service=service)
        else:
            h = {"Content-Type": JSON_CONTENT_TYPE}
            if target is not None:
                h["X-Amz-Target"] = target
            h.update(headers or {})
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body if method != "GET" else None, headers=h)
            resp = conn.getresponse()
            data = resp.read()
            return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            conn.close()

    def call(self, operation, params, region=DEFAULT_REGION, credentials=None, prefix="secretsmanager",
             service="secretsmanager"):
        """A signed JSON 1.1 call; returns the parsed body or raises botocore's ClientError.

        Used where the installed botocore lacks an operation (Debian's 1.29 has no
        BatchGetSecretValue, nor KMS's RotateKeyOnDemand), so the same assertions work either way.
        `prefix` is the X-Amz-Target prefix ("TrentService" for KMS), `service` the signing name."""
        r = self.raw(f"{prefix}.{operation}", params, region=region, credentials=credentials,
                     service=service)
        if r.status == 200:
            return r.json
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": r.error_type or "", "Message": r.message},
             "ResponseMetadata": {"HTTPStatusCode": r.status, "HTTPHeaders": r.headers,
                                  "RequestId": r.request_id}},
            operation)

    def get(self, path):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()},
                               resp.read())
        finally:
            conn.close()

    def connect(self, timeout=10):
        return socket.create_connection((self.host, self.port), timeout=timeout)


def run_arca(*args, env=None, timeout=60):
    """Runs the arca binary to completion: returns (rc, stdout, stderr) as text."""
    p = subprocess.run([arca_bin()] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                       env=clean_env(env), timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def arn_pattern(name, region=DEFAULT_REGION, account=DEFAULT_ACCOUNT):
    return re.compile(r"^arn:aws:secretsmanager:%s:%s:secret:%s-[A-Za-z0-9]{6}$"
                      % (re.escape(region), re.escape(account), re.escape(name)))


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class ArcaTestCase(unittest.TestCase):
    """Base class: one server per test class (setUpClass), a boto3 client `sm` in us-east-1."""

    server = None
    sm = None
    server_kwargs = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = ArcaServer(**cls.server_kwargs)
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise
        cls.sm = cls.server.client()

    @classmethod
    def tearDownClass(cls):
        srv = cls.server
        if srv is not None:
            alive = srv.running()
            log = srv.log()
            srv.cleanup()
            if not alive:
                raise AssertionError(f"the server died during {cls.__name__}\n{log[-4000:]}")
        super().tearDownClass()

    @contextlib.contextmanager
    def assertAwsError(self, code, status=None, message=None, client=None):
        """Expects botocore's ClientError with this error code (or one of a tuple of codes) and an
        x-amzn-RequestId header."""
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            yield cm
        resp = cm.exception.response
        got = resp.get("Error", {}).get("Code")
        codes = (code,) if isinstance(code, str) else tuple(code)
        self.assertIn(got, codes, f"expected {' or '.join(codes)}, got {got}: {resp.get('Error')}")
        meta = resp.get("ResponseMetadata", {})
        headers = meta.get("HTTPHeaders", {})
        self.assertTrue(headers.get("x-amzn-requestid"),
                        f"error response without x-amzn-RequestId: {headers}")
        if status is not None:
            self.assertEqual(meta.get("HTTPStatusCode"), status, resp)
        else:
            self.assertGreaterEqual(meta.get("HTTPStatusCode", 0), 400, resp)
        if message is not None:
            self.assertIn(message, resp["Error"].get("Message", ""), resp)
        c = client or self.sm
        modeled = getattr(c.exceptions, got, None) if c is not None and got else None
        if modeled is not None and isinstance(cm.exception, botocore.exceptions.ClientError) \
                and type(cm.exception).__name__ != "ClientError":
            self.assertIsInstance(cm.exception, modeled)

    def api(self, operation, client=None, **params):
        """Calls an operation through boto3 when the installed botocore models it with every given
        member, else as a raw signed call (Debian's botocore 1.29 lacks BatchGetSecretValue and
        ListSecrets' IncludePlannedDeletion). Raw results keep the wire shape (epoch timestamps,
        base64 blobs); errors raise ClientError either way."""
        c = client or self.sm
        model = c.meta.service_model
        if operation in model.operation_names:
            members = model.operation_model(operation).input_shape.members
            if all(k in members for k in params):
                return getattr(c, botocore.xform_name(operation))(**params)
        prefix = {"kms": "TrentService", "ssm": "AmazonSSM"}.get(model.signing_name, "secretsmanager")
        return self.server.call(operation, params, region=c.meta.region_name, prefix=prefix,
                                service=model.signing_name)

    def assertRawError(self, resp, code, statuses=(400,)):
        self.assertIn(resp.status, statuses, resp)
        self.assertEqual(resp.error_type, code, resp)
        self.assertTrue(resp.request_id, f"no x-amzn-RequestId: {resp}")
