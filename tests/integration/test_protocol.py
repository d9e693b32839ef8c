"""The wire protocol: SigV4 authentication, JSON 1.1 errors, limits, robustness, health endpoints and
the binary's own flags.

Status codes follow AWS's common errors where AWS is consistent (403 MissingAuthenticationToken,
400 for JSON decoding and unknown operations, 413 for a body over the limit); for signature errors
AWS's JSON services answer 400 or 403 depending on the service, so both are accepted there.
"""

import datetime
import http.client
import json
import socket
import threading
import time
import unittest

from arca_harness import ArcaTestCase, RawResponse, run_arca, unique, utcnow

AUTH_STATUSES = (400, 403)


class AuthTest(ArcaTestCase):

    def test_unsigned_request(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", sign=False)
        self.assertRawError(r, "MissingAuthenticationTokenException", statuses=(403,))

    def test_wrong_secret_key(self):
        akid, secret = self.server.credentials()
        wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", credentials=(akid, wrong))
        self.assertRawError(r, "InvalidSignatureException", statuses=AUTH_STATUSES)
        self.assertNotIn(secret, r.body.decode("utf-8", "replace"))
        # The same through boto3.
        bad = self.server.client(credentials=(akid, wrong))
        with self.assertAwsError("InvalidSignatureException", client=bad):
            bad.list_secrets()

    def test_unknown_access_key(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}",
                            credentials=("AKIA-FAKE-EXAMPLE-ID", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        self.assertRawError(r, "UnrecognizedClientException", statuses=AUTH_STATUSES)
        bad = self.server.client(credentials=("AKIA-FAKE-EXAMPLE-ID", "x" * 40))
        with self.assertAwsError("UnrecognizedClientException", client=bad):
            bad.get_secret_value(SecretId="anything")

    def test_expired_signature(self):
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10)
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", when=old)
        self.assertRawError(r, "InvalidSignatureException", statuses=AUTH_STATUSES)
        self.assertIn("Signature expired", r.message)

    def test_signature_from_the_future(self):
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=10)
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", when=future)
        self.assertRawError(r, "InvalidSignatureException", statuses=AUTH_STATUSES)
        self.assertIn("Signature not yet current", r.message)

    def test_slight_clock_skew_is_fine(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}",
                            when=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=3))
        self.assertEqual(r.status, 200, r)

    def test_tampered_body(self):
        headers, body = self.server.signed_request("secretsmanager.ListSecrets", b'{"MaxResults": 5}')
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            conn.request("POST", "/", body=b'{"MaxResults": 6}', headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        r = RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        self.assertRawError(r, "InvalidSignatureException", statuses=AUTH_STATUSES)

    def test_incomplete_authorization_header(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", sign=False,
                            headers={"Authorization": "AWS4-HMAC-SHA256 garbage",
                                     "X-Amz-Date": utcnow().strftime("%Y%m%dT%H%M%SZ")})
        self.assertRawError(r, "IncompleteSignatureException", statuses=AUTH_STATUSES)

    def test_valid_request_shape(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.request_id)
        self.assertTrue(r.headers.get("content-type", "").startswith("application/x-amz-json-1.1"),
                        r.headers)
        self.assertIn("SecretList", r.json)


class JsonProtocolTest(ArcaTestCase):

    def test_malformed_json(self):
        for body in (b"{not json", b"[1,2", b"\xff\xfe", b'{"SecretId": "a"'):
            with self.subTest(body=body):
                r = self.server.raw("secretsmanager.GetSecretValue", body)
                self.assertRawError(r, "SerializationException")

    def test_wrong_member_type(self):
        # AWS's JSON services answer a value of the wrong type with SerializationException.
        r = self.server.raw("secretsmanager.GetSecretValue", b'{"SecretId": 5}')
        self.assertRawError(r, "SerializationException")

    def test_unknown_operation(self):
        r = self.server.raw("secretsmanager.NoSuchOperation", b"{}")
        self.assertRawError(r, "UnknownOperationException")
        r = self.server.raw("otherservice.ListSecrets", b"{}")
        self.assertEqual(r.status // 100, 4, r)
        self.assertTrue(r.request_id)

    def test_empty_body_is_empty_object(self):
        # An empty body where every member is optional is like "{}" for AWS's JSON services.
        r = self.server.raw("secretsmanager.ListSecrets", b"")
        self.assertIn(r.status, (200, 400), r)
        self.assertTrue(r.request_id)
        if r.status == 400:
            self.assertEqual(r.error_type, "SerializationException", r)

    def test_error_bodies_are_aws_shaped(self):
        r = self.server.raw("secretsmanager.GetSecretValue", {"SecretId": unique("none")})
        self.assertRawError(r, "ResourceNotFoundException")
        self.assertTrue(r.headers.get("content-type", "").startswith("application/x-amz-json-1.1"))
        self.assertIn("__type", r.json)
        self.assertTrue(r.message)

    def test_body_over_one_mib(self):
        big = json.dumps({"Name": unique("big"), "SecretString": "x" * (1 << 20)}).encode()
        self.assertGreater(len(big), 1 << 20)
        headers, body = self.server.signed_request("secretsmanager.CreateSecret", big)
        s = self.server.connect(timeout=15)
        try:
            head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            s.sendall(head.encode())
            try:
                s.sendall(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading it all
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except ConnectionResetError:
                pass
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:300])
        head, _, payload = data.partition(b"\r\n\r\n")
        self.assertIn(b"x-amzn-requestid", head.lower())
        doc = json.loads(payload.decode() or "null") if b"chunked" not in head.lower() else None
        if doc is not None:
            self.assertIn("__type", doc)
            self.assertTrue(doc.get("message") or doc.get("Message"))
        # And the server still serves.
        self.assertEqual(self.server.raw("secretsmanager.ListSecrets", b"{}").status, 200)

    def test_request_id_on_success_and_error(self):
        ok = self.sm.list_secrets()
        self.assertTrue(ok["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid"))
        ids = {self.server.raw("secretsmanager.ListSecrets", b"{}").request_id for _ in range(5)}
        self.assertEqual(len(ids), 5, "request ids must differ")


class RobustnessTest(ArcaTestCase):

    def assert_served(self):
        r = self.server.raw("secretsmanager.ListSecrets", b"{}", timeout=5)
        self.assertEqual(r.status, 200, r)

    def read_until_close(self, s, timeout=10):
        s.settimeout(timeout)
        data = b""
        start = time.monotonic()
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            except socket.timeout:
                self.fail(f"the server kept the connection open for {timeout}s; got {data[:200]!r}")
            if not chunk:
                break
            data += chunk
            if time.monotonic() - start > timeout:
                self.fail("the server kept talking")
        return data

    def test_garbage_bytes(self):
        for garbage in (b"\x00\x01\x02\xff\xfe garbage\r\n\r\n", b"NOT HTTP AT ALL\r\n\r\n",
                        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"):
            with self.subTest(garbage=garbage):
                s = self.server.connect()
                try:
                    s.sendall(garbage)
                    try:
                        s.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    data = self.read_until_close(s)
                finally:
                    s.close()
                if data:
                    self.assertTrue(data.startswith(b"HTTP/1.1 4") or data.startswith(b"HTTP/1.0 4"),
                                    data[:200])
                self.assert_served()

    def test_header_too_large(self):
        s = self.server.connect()
        try:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (64 << 10) + b"\r\n\r\n")
            data = self.read_until_close(s)
        except (BrokenPipeError, ConnectionResetError):
            data = b""
        finally:
            s.close()
        if data:
            self.assertRegex(data[:12], rb"HTTP/1.[01] 4\d\d")
        self.assert_served()

    def test_half_closed_and_idle_sockets_do_not_block_others(self):
        idle = [self.server.connect() for _ in range(5)]
        partial = self.server.connect()
        partial.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":")
        half = self.server.connect()
        half.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Le")
        half.shutdown(socket.SHUT_WR)
        try:
            for _ in range(10):
                self.assert_served()
            # The half-closed one gets an error or a close, not silence until the idle timeout.
            data = self.read_until_close(half, timeout=10)
            if data:
                self.assertRegex(data[:12], rb"HTTP/1.[01] 4\d\d")
            partial.shutdown(socket.SHUT_WR)
            data = self.read_until_close(partial, timeout=10)
            if data:
                self.assertRegex(data[:12], rb"HTTP/1.[01] 4\d\d")
        finally:
            for s in idle + [partial, half]:
                s.close()
        self.assert_served()

    def test_concurrent_clients(self):
        errors = []

        def worker(i):
            try:
                c = self.server.client()
                name = unique(f"conc{i}")
                c.create_secret(Name=name, SecretString=f"v{i}")
                for j in range(10):
                    c.put_secret_value(SecretId=name, SecretString=f"v{i}-{j}")
                    if c.get_secret_value(SecretId=name)["SecretString"] != f"v{i}-{j}":
                        errors.append(f"{name}: read-your-write failed at {j}")
            except Exception as e:  # noqa: BLE001 - collected and reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])

    def test_keep_alive(self):
        conn = http.client.HTTPConnection(self.server.host, self.server.port, timeout=10)
        try:
            for _ in range(5):
                headers, body = self.server.signed_request("secretsmanager.ListSecrets", b"{}")
                conn.request("POST", "/", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                self.assertEqual(resp.status, 200)
        finally:
            conn.close()


class HealthAndBinaryTest(ArcaTestCase):

    def test_healthz_and_readyz(self):
        for path in ("/healthz", "/readyz"):
            with self.subTest(path=path):
                r = self.server.get(path)
                self.assertEqual(r.status, 200, r)

    def test_version(self):
        rc, out, err = run_arca("--version")
        self.assertEqual(rc, 0, err)
        self.assertRegex(out + err, r"\d+\.\d+\.\d+")

    def test_help(self):
        rc, out, err = run_arca("--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("server", out + err)
        rc, out, err = run_arca("server", "--help")
        self.assertEqual(rc, 0, err)
        text = out + err
        for flag in ("--data-dir", "--listen", "--config", "--account-id"):
            self.assertIn(flag, text)

    def test_unknown_subcommand_fails(self):
        rc, out, err = run_arca("no-such-command")
        self.assertNotEqual(rc, 0)

    def test_listening_line_and_json_logs(self):
        entries = self.server.log_entries()
        listening = [e for e in entries if e.get("msg") == "listening"]
        self.assertEqual(len(listening), 1, self.server.log())
        self.assertEqual(int(listening[0]["port"]), self.server.port)
        self.assertIn("address", listening[0])
        # Every non-empty stderr line is one JSON object.
        for line in self.server.log().splitlines():
            if line.strip():
                self.assertIsInstance(json.loads(line), dict, line)

    def test_credentials_file_shape(self):
        akid, secret = self.server.credentials()
        self.assertRegex(akid, r"^AKIA[A-Z0-9]{16}$")
        self.assertEqual(len(secret), 40)
        # The secret access key is never logged.
        self.assertNotIn(secret.encode(), self.server.all_logs_bytes())


if __name__ == "__main__":
    unittest.main()
