#!/usr/bin/env python3
"""Arca on PostgreSQL vs SQLite, with one and two replicas (issue 9, item 8).

In one run, beside the reference HTTP server (bench.py's `arca_bench_ref_server`):
- GetSecretValue of a 1 KiB secret and PutSecretValue of a 1 KiB value, each under keep-alive load
  from wrk replaying one pre-signed request (a PutSecretValue without ClientRequestToken makes a
  new version each time), on: SQLite (one server), PostgreSQL with one replica, PostgreSQL with
  two replicas (two wrk at once, half the connections each, figures summed);
- the staleness across replicas: a PutSecretValue through replica A, then GetSecretValue through
  replica B polled until it returns the new value; the delay from A's acknowledgement, over many
  writes.

PostgreSQL runs with fsync on (every commit durable, as in production) on the same machine.
Figures are ratios to the reference measured in the same run. See docs/performance.md.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))

import botocore.auth  # noqa: E402
import botocore.awsrequest  # noqa: E402
import botocore.credentials  # noqa: E402

import bench  # noqa: E402
from pg_harness import PostgresCluster  # noqa: E402

MASTER_KEY = "arca-master-key v1 1 " + base64.b64encode(os.urandom(32)).decode() + "\n"


def start_server(binary, data_dir, store=None):
    args = [binary, "server", "--data-dir", data_dir, "--listen", "127.0.0.1:0"]
    if store:
        args += ["--store", store]
    log = open(data_dir.rstrip("/") + ".log", "w+")
    env = dict(os.environ, ARCA_MASTER_KEY=MASTER_KEY)
    proc = subprocess.Popen(args, stderr=log, stdout=subprocess.DEVNULL, env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        log.seek(0)
        for line in log:
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if rec.get("msg") == "listening":
                return proc, rec["port"]
        time.sleep(0.01)
    proc.kill()
    raise RuntimeError("arca did not start: " + open(log.name).read())


def signed(port, key, secret, target, payload):
    body = json.dumps(payload)
    req = botocore.awsrequest.AWSRequest(
        method="POST", url=f"http://127.0.0.1:{port}/", data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "secretsmanager",
                            "us-east-1").add_auth(req)
    return body, dict(req.headers.items())


def scripts_for(work, tag, port, key, secret, name):
    out = {}
    for op, target, payload in (
            ("get", "secretsmanager.GetSecretValue", {"SecretId": name}),
            ("put", "secretsmanager.PutSecretValue", {"SecretId": name, "SecretString": "p" * 1024})):
        body, headers = signed(port, key, secret, target, payload)
        path = os.path.join(work, f"{tag}-{op}.lua")
        bench.wrk_script(path, body, headers)
        out[op] = path
    return out


def load(ports_scripts, duration, connections):
    """wrk against every (port, script) at once, connections split; summed req/s, worst p99."""
    results = [None] * len(ports_scripts)
    per = max(1, connections // len(ports_scripts))

    def one(i, port, script):
        results[i] = bench.run_wrk(f"http://127.0.0.1:{port}/", script, duration, per, 1)

    threads = [threading.Thread(target=one, args=(i, p, s)) for i, (p, s) in enumerate(ports_scripts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"rps": sum(r["rps"] for r in results), "p50_ms": max(r["p50_ms"] for r in results),
            "p99_ms": max(r["p99_ms"] for r in results), "non2xx": sum(r["non2xx"] for r in results)}


def staleness(a, b, name, writes):
    delays = []
    for n in range(writes):
        value = f"stale-{n}"
        a.put_secret_value(SecretId=name, SecretString=value)
        acked = time.perf_counter()
        while b.get_secret_value(SecretId=name)["SecretString"] != value:
            pass
        delays.append((time.perf_counter() - acked) * 1000)
    delays.sort()
    return {"writes": writes, "p50_ms": delays[len(delays) // 2],
            "p99_ms": delays[min(len(delays) - 1, int(len(delays) * 0.99))], "max_ms": delays[-1]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--stale-writes", type=int, default=200)
    args = ap.parse_args()
    arca = os.path.abspath(os.path.join(args.build_dir, "arca"))
    ref = os.path.abspath(os.path.join(args.build_dir, "bench", "arca_bench_ref_server"))
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="arca-bench-ha-")
    pg = PostgresCluster().init().start(durable=True)
    procs = []
    results = {}
    try:
        pg.create_database("arca")
        url = pg.url("arca")
        sqlite_proc, sqlite_port = start_server(arca, os.path.join(work, "sqlite"))
        procs.append(sqlite_proc)
        pg_a, port_a = start_server(arca, os.path.join(work, "pg-a"), url)
        procs.append(pg_a)
        pg_b, port_b = start_server(arca, os.path.join(work, "pg-b"), url)
        procs.append(pg_b)
        creds_dir = next(d for d in ("pg-a", "pg-b")
                         if os.path.exists(os.path.join(work, d, "credentials")))
        sq_key = bench.read_credentials(os.path.join(work, "sqlite"))
        pg_key = bench.read_credentials(os.path.join(work, creds_dir))
        bench.client(sqlite_port, *sq_key).create_secret(Name="bench/1k", SecretString="v" * 1024)
        a = bench.client(port_a, *pg_key)
        b = bench.client(port_b, *pg_key)
        a.create_secret(Name="bench/1k", SecretString="v" * 1024)
        a.create_secret(Name="bench/stale", SecretString="start")
        sq = scripts_for(work, "sqlite", sqlite_port, *sq_key, "bench/1k")
        sa = scripts_for(work, "pg-a", port_a, *pg_key, "bench/1k")
        sb = scripts_for(work, "pg-b", port_b, *pg_key, "bench/1k")

        ref_proc = subprocess.Popen([ref, "0"], stdout=subprocess.PIPE, text=True)
        ref_port = int(ref_proc.stdout.readline().split()[1])
        try:
            c, d = args.connections, args.duration
            load([(ref_port, None)], 2, c)  # warm-up
            cases = {
                "reference": [(ref_port, None)],
                "sqlite_get": [(sqlite_port, sq["get"])],
                "postgres_1_get": [(port_a, sa["get"])],
                "postgres_2_get": [(port_a, sa["get"]), (port_b, sb["get"])],
                "sqlite_put": [(sqlite_port, sq["put"])],
                "postgres_1_put": [(port_a, sa["put"])],
                "postgres_2_put": [(port_a, sa["put"]), (port_b, sb["put"])],
            }
            for name, targets in cases.items():
                results[name] = load(targets, d, c)
        finally:
            ref_proc.terminate()
            ref_proc.wait()
        results["staleness_across_replicas"] = staleness(a, b, "bench/stale", args.stale_writes)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        pg.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    r = results["reference"]["rps"]
    print(json.dumps(results, indent=2))
    print()
    print(f"{args.connections} keep-alive connections, {args.duration} s per case, "
          f"PostgreSQL with fsync on, same machine:")
    for name, res in results.items():
        if name == "staleness_across_replicas":
            continue
        print(f"  {name:16s}: {res['rps']:9.0f} req/s ({res['rps'] / r:6.1%} of the reference)  "
              f"p50 {res['p50_ms']:.2f} ms  p99 {res['p99_ms']:.2f} ms  non-2xx {res['non2xx']}")
    s = results["staleness_across_replicas"]
    print(f"  staleness A->B : p50 {s['p50_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  "
          f"max {s['max_ms']:.2f} ms over {s['writes']} writes")


if __name__ == "__main__":
    main()
