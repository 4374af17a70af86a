"""Node.js Lambda runtime speed: cold start and warm invoke for nodejs20.x vs python3.12 on
the same cloudlet, and vs a bare `node` (and `python`) spawn that loads the same handler,
all in one run; prints p50/p99 and the ratios.

    python3 bench/bench_nodejs.py [-n 200] [--cold 5]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

from bench_invoke import TRUST, start_cloudlet, summary

PY_SRC = "def handler(event, context):\n    return {'ok': True, 'echo': event}\n"
NODE_SRC = "exports.handler = async (event, context) => ({ok: true, echo: event});\n"
RUNTIMES = {"python3.12": ("app.handler", "app.py", PY_SRC), "nodejs20.x": ("index.handler", "index.js", NODE_SRC)}


def _zip(name: str, src: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(name, src)
    return buf.getvalue()


def bench_cloudlet(url: str, n: int, cold_n: int) -> dict[str, tuple[list[float], list[float]]]:
    import boto3
    from botocore.config import Config as BotoConfig

    kw: dict[str, Any] = dict(
        endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        config=BotoConfig(retries={"max_attempts": 0}, read_timeout=300))
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role_name = "bench-" + uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    results: dict[str, tuple[list[float], list[float]]] = {}
    for runtime, (handler, filename, src) in RUNTIMES.items():
        cold: list[float] = []
        names = []
        for _ in range(cold_n):
            name = f"bench-{uuid.uuid4().hex[:8]}"
            names.append(name)
            lam.create_function(FunctionName=name, Role=role, Runtime=runtime, Handler=handler,
                                Code={"ZipFile": _zip(filename, src)})
            lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                      WaiterConfig={"Delay": 0.05, "MaxAttempts": 6000})
            t = time.perf_counter()
            r = lam.invoke(FunctionName=name, Payload=b"{}")
            body = r["Payload"].read()
            cold.append((time.perf_counter() - t) * 1000)
            assert "FunctionError" not in r, body
        warm: list[float] = []
        for _ in range(20):
            lam.invoke(FunctionName=names[0], Payload=b"{}")["Payload"].read()
        for _ in range(n):
            t = time.perf_counter()
            lam.invoke(FunctionName=names[0], Payload=b'{"k": 1}')["Payload"].read()
            warm.append((time.perf_counter() - t) * 1000)
        for name in names:
            lam.delete_function(FunctionName=name)
        results[runtime] = (cold, warm)
    iam.delete_role(RoleName=role_name)
    return results


def bench_spawn(argv: list[str], filename: str, src: str, n: int) -> list[float]:
    d = tempfile.mkdtemp()
    Path(d, filename).write_text(src)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, cwd=d, stdout=subprocess.DEVNULL, check=True)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="warm invokes per runtime")
    ap.add_argument("--cold", type=int, default=5, help="cold starts per runtime")
    args = ap.parse_args()
    node = shutil.which("node")
    if node is None:
        print("no node on this machine: skipped")
        return 0
    proc, url = start_cloudlet()
    try:
        res = bench_cloudlet(url, args.n, args.cold)
    finally:
        proc.terminate()
        proc.wait(10)
    spawns = max(10, args.cold * 2)
    node_spawn = bench_spawn([node, "-e", "require('./index.js').handler({}).then((r) => console.log(JSON.stringify(r)))"],
                             "index.js", NODE_SRC, spawns)
    py_spawn = bench_spawn([sys.executable, "-c", "import app; print(app.handler({}, None))"], "app.py", PY_SRC, spawns)
    (nc, nw), (pc, pw) = res["nodejs20.x"], res["python3.12"]
    rows = [summary("nodejs20.x cold invoke (boto3)", nc), summary("python3.12 cold invoke (boto3)", pc),
            summary("nodejs20.x warm invoke (boto3)", nw), summary("python3.12 warm invoke (boto3)", pw),
            summary("bare node spawn per call", node_spawn), summary("bare python spawn per call", py_spawn)]
    print(f"{'':34s} {'p50 ms':>10s} {'p99 ms':>10s}")
    for name, p50, p99 in rows:
        print(f"{name:34s} {p50:10.3f} {p99:10.3f}")
    med = statistics.median
    print(f"\nnode cold / bare node spawn    {med(nc) / med(node_spawn):8.2f}x")
    print(f"node cold / python cold        {med(nc) / med(pc):8.2f}x")
    print(f"node warm / python warm        {med(nw) / med(pw):8.2f}x")
    print(f"bare node / bare python spawn  {med(node_spawn) / med(py_spawn):8.2f}x")
    print(json.dumps({"node_cold_p50_ms": round(med(nc), 1), "node_warm_p50_ms": round(med(nw), 2)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
