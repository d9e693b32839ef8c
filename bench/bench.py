#!/usr/bin/env python3
"""Arca's benchmark: GetSecretValue of a 1 KiB secret under keep-alive load, beside a trivial
reference HTTP server measured in the same run; start-to-ready time; resident memory idle and after
N secrets. Figures are reported as ratios to the reference, because the machines are shared and noisy.

Load comes from wrk replaying one pre-signed request (a SigV4 signature stays valid for minutes).
"""
import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
from botocore.config import Config



def start_arca(binary, data_dir, extra_env=None):
    env = dict(os.environ, **(extra_env or {}))
    log = open(data_dir.rstrip("/") + ".log", "w+")
    t0 = time.perf_counter()
    # Default settings, request log included (to a file, as a service manager would keep it).
    proc = subprocess.Popen([binary, "server", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
                            stderr=log, stdout=subprocess.DEVNULL, env=env)
    port = None
    deadline = time.time() + 15
    while port is None and time.time() < deadline:
        log.seek(0)
        for line in log:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "listening":
                port = rec["port"]
        if port is None:
            time.sleep(0.0005)
    if port is None:
        proc.kill()
        raise RuntimeError("arca did not start")
    # Ready = /readyz answers 200.
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.0005)
    ready_ms = (time.perf_counter() - t0) * 1000
    return proc, port, ready_ms


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_credentials(data_dir):
    creds = {}
    with open(os.path.join(data_dir, "credentials")) as f:
        for line in f:
            if "=" in line:
                k, v = line.split("=", 1)
                creds[k.strip()] = v.strip()
    return creds["aws_access_key_id"], creds["aws_secret_access_key"]


def client(port, key, secret):
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                 region_name="us-east-1").client(
        "secretsmanager", endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1}))


def presigned_get(port, key, secret, secret_id):
    body = json.dumps({"SecretId": secret_id})
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=f"http://127.0.0.1:{port}/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.1",
                 "X-Amz-Target": "secretsmanager.GetSecretValue"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "secretsmanager",
                            "us-east-1").add_auth(req)
    return body, dict(req.headers.items())


def reader_user(port, key, secret):
    """An IAM user whose only right is an attached policy allowing GetSecretValue on bench/*."""
    iam = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                region_name="us-east-1").client(
        "iam", endpoint_url=f"http://127.0.0.1:{port}", config=Config(retries={"max_attempts": 1}))
    iam.create_user(UserName="bench-reader")
    doc = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
        "Resource": "arn:aws:secretsmanager:*:*:secret:bench/*"}]}
    arn = iam.create_policy(PolicyName="bench-read", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="bench-reader", PolicyArn=arn)
    k = iam.create_access_key(UserName="bench-reader")["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def wrk_script(path, body, headers):
    def lua(s):
        return "[==[" + s + "]==]"
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write(f"wrk.body = {lua(body)}\n")
        for k, v in headers.items():
            if k.lower() in ("host", "content-length"):
                continue
            f.write(f"wrk.headers[ {lua(k)} ] = {lua(v)}\n")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(url, script, duration, connections, threads):
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", url]
    if script:
        cmd[1:1] = ["-s", script]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", out)
        lat[pct] = float(m.group(1)) * UNITS[m.group(2)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"],
            "non2xx": int(errors.group(1)) if errors else 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--secrets", type=int, default=10000)
    ap.add_argument("--starts", type=int, default=5)
    args = ap.parse_args()
    arca = os.path.abspath(os.path.join(args.build_dir, "arca"))
    ref = os.path.abspath(os.path.join(args.build_dir, "bench", "arca_bench_ref_server"))
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="arca-bench-")
    results = {}
    try:
        # Start-to-ready: first start (creates keys) and restarts of the same data dir.
        first_dir = os.path.join(work, "start")
        proc, port, first_ms = start_arca(arca, first_dir)
        proc.send_signal(signal.SIGTERM)
        proc.wait()
        restarts = []
        for _ in range(args.starts):
            proc, port, ms = start_arca(arca, first_dir)
            restarts.append(ms)
            proc.send_signal(signal.SIGTERM)
            proc.wait()
        results["start_first_ms"] = first_ms
        results["start_restart_ms_median"] = sorted(restarts)[len(restarts) // 2]

        data = os.path.join(work, "data")
        proc, port, _ = start_arca(arca, data)
        time.sleep(0.5)
        results["rss_idle_mib"] = rss_kib(proc.pid) / 1024
        key, secret = read_credentials(data)
        sm = client(port, key, secret)
        sm.create_secret(Name="bench/1k", SecretString="v" * 1024)
        body, headers = presigned_get(port, key, secret, "bench/1k")
        script = os.path.join(work, "get.lua")
        wrk_script(script, body, headers)
        # The same read by a non-root principal whose access comes from an attached policy (every
        # call is audited either way).
        ukey, usecret = reader_user(port, key, secret)
        ubody, uheaders = presigned_get(port, ukey, usecret, "bench/1k")
        user_script = os.path.join(work, "get-user.lua")
        wrk_script(user_script, ubody, uheaders)

        ref_proc = subprocess.Popen([ref, "0"], stdout=subprocess.PIPE, text=True)
        ref_port = int(ref_proc.stdout.readline().split()[1])
        try:
            threads = 2
            # Warm both, then measure reference and Arca alternately, twice, and keep the best.
            run_wrk(f"http://127.0.0.1:{ref_port}/", None, 2, args.connections, threads)
            run_wrk(f"http://127.0.0.1:{port}/", script, 2, args.connections, threads)
            run_wrk(f"http://127.0.0.1:{port}/", user_script, 2, args.connections, threads)
            ref_runs, arca_runs, user_runs = [], [], []
            for _ in range(2):
                ref_runs.append(run_wrk(f"http://127.0.0.1:{ref_port}/", None, args.duration,
                                        args.connections, threads))
                arca_runs.append(run_wrk(f"http://127.0.0.1:{port}/", script, args.duration,
                                         args.connections, threads))
                user_runs.append(run_wrk(f"http://127.0.0.1:{port}/", user_script, args.duration,
                                         args.connections, threads))
            results["reference"] = max(ref_runs, key=lambda r: r["rps"])
            results["arca_get_secret_value"] = max(arca_runs, key=lambda r: r["rps"])
            results["arca_get_secret_value_policy_user"] = max(user_runs, key=lambda r: r["rps"])
        finally:
            ref_proc.terminate()
            ref_proc.wait()

        # Memory after N secrets.
        def create(i):
            sm.create_secret(Name=f"bench/many/{i:05d}", SecretString=f"value-{i}-" + "x" * 64)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(create, range(args.secrets)))
        time.sleep(0.5)
        results["secrets_created"] = args.secrets
        results["rss_after_secrets_mib"] = rss_kib(proc.pid) / 1024
        proc.send_signal(signal.SIGTERM)
        proc.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    a, r = results["arca_get_secret_value"], results["reference"]
    u = results["arca_get_secret_value_policy_user"]
    results["rps_ratio_to_reference"] = a["rps"] / r["rps"]
    results["policy_user_rps_ratio_to_reference"] = u["rps"] / r["rps"]
    print(json.dumps(results, indent=2))
    print()
    print(f"GetSecretValue 1 KiB, {args.connections} connections, keep-alive:")
    print(f"  reference : {r['rps']:10.0f} req/s  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms")
    print(f"  arca      : {a['rps']:10.0f} req/s  p50 {a['p50_ms']:.3f} ms  p99 {a['p99_ms']:.3f} ms"
          f"  (non-2xx: {a['non2xx']})")
    print(f"  arca user : {u['rps']:10.0f} req/s  p50 {u['p50_ms']:.3f} ms  p99 {u['p99_ms']:.3f} ms"
          f"  (non-2xx: {u['non2xx']}; an IAM user allowed by an attached policy)")
    print(f"  ratio     : root {results['rps_ratio_to_reference']:.0%}, policy user "
          f"{results['policy_user_rps_ratio_to_reference']:.0%} of the reference (goal >= 40%), "
          f"p99 goal < 2 ms; every call durably audited")
    print(f"start to ready: first start {results['start_first_ms']:.1f} ms, restart median "
          f"{results['start_restart_ms_median']:.1f} ms (goal < 100 ms)")
    print(f"resident memory: idle {results['rss_idle_mib']:.1f} MiB (goal < 50 MiB), after "
          f"{args.secrets} secrets {results['rss_after_secrets_mib']:.1f} MiB")


if __name__ == "__main__":
    main()
