"""What Lambda isolation costs: two cloudlets in one run, one sandboxing its execution
environments (bubblewrap namespaces) and one not (CLOUDLET_LAMBDA_ISOLATION=off).

Samples alternate between the two so that the load of the machine falls on both alike:
  cold    first invoke of a new function (environment start, runtime init, the invoke)
  warm    invoke on a warm environment
  egress  a function's HTTP request to cloudlet's API endpoint, timed inside the function
          (through the sandbox's relay vs straight over the host's loopback)
and prints p50/p99 per side and the ratios isolated / not.

    python3 bench/bench_isolation.py [--cold 10] [-n 300]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import start_cloudlet

SRC = '''
import os, time, urllib.request
def handler(event, context):
    n = event.get("egress", 0)
    if not n:
        return {"ok": True}
    url = os.environ["AWS_ENDPOINT_URL"] + "/_cloudlet/health"
    took = []
    for _ in range(n):
        t = time.perf_counter()
        urllib.request.urlopen(url, timeout=5).read()
        took.append((time.perf_counter() - t) * 1000)
    return {"egress_ms": took}
'''
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


class Side:
    def __init__(self, label: str, isolation: str) -> None:
        import boto3
        from botocore.config import Config as BotoConfig

        self.label = label
        self.data = tempfile.mkdtemp(prefix="cloudlet-bench-iso-")
        self.proc, url, _ = start_cloudlet(Path(self.data), CLOUDLET_LAMBDA_ISOLATION=isolation)
        kw: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": KEY,
                                  "aws_secret_access_key": SECRET, "config": BotoConfig(retries={"max_attempts": 0})}
        self.lam = boto3.client("lambda", **kw)
        self.role = boto3.client("iam", **kw).create_role(
            RoleName="bench", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", SRC)
        self.zip = buf.getvalue()
        self.cold: list[float] = []
        self.warm: list[float] = []
        self.egress: list[float] = []
        self.warm_name = self.create()
        self.invoke(self.warm_name, {})

    def create(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:8]}"
        self.lam.create_function(FunctionName=name, Role=self.role, Runtime="python3.12", Handler="app.handler",
                                 Code={"ZipFile": self.zip})
        self.lam.get_waiter("function_active_v2").wait(FunctionName=name,
                                                       WaiterConfig={"Delay": 0.05, "MaxAttempts": 600})
        return name

    def invoke(self, name: str, event: dict[str, Any]) -> tuple[float, Any]:
        t = time.perf_counter()
        r = self.lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
        body = json.loads(r["Payload"].read())
        took = (time.perf_counter() - t) * 1000
        if "FunctionError" in r:
            raise SystemExit(f"{self.label}: invoke failed: {body}")
        return took, body

    def cold_sample(self) -> None:
        name = self.create()
        self.cold.append(self.invoke(name, {})[0])
        self.lam.delete_function(FunctionName=name)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=300, help="warm invokes per side")
    ap.add_argument("--cold", type=int, default=10, help="cold starts per side")
    ap.add_argument("--egress", type=int, default=200, help="egress requests per side")
    args = ap.parse_args()
    iso, plain = Side("isolated", "on"), Side("not isolated", "off")
    try:
        sides = (iso, plain)
        for _ in range(20):  # warm-up of both paths
            for s in sides:
                s.invoke(s.warm_name, {})
        for i in range(args.cold):
            for s in (sides if i % 2 == 0 else sides[::-1]):
                s.cold_sample()
        for i in range(args.n):
            for s in (sides if i % 2 == 0 else sides[::-1]):
                s.warm.append(s.invoke(s.warm_name, {"k": 1})[0])
        for i in range(max(1, args.egress // 20)):
            for s in (sides if i % 2 == 0 else sides[::-1]):
                s.egress += s.invoke(s.warm_name, {"egress": 20})[1]["egress_ms"][1:]  # first: new connection
    finally:
        iso.stop()
        plain.stop()
    print(f"{'':36s} {'p50 ms':>9s} {'p99 ms':>9s}")
    for s in (iso, plain):
        for what, xs in (("cold invoke", s.cold), ("warm invoke", s.warm), ("egress request", s.egress)):
            print(f"{what + ' (' + s.label + ')':36s} {statistics.median(xs):9.3f} {pct(xs, 99):9.3f}")
    print()
    for what in ("cold", "warm", "egress"):
        a, b = statistics.median(getattr(iso, what)), statistics.median(getattr(plain, what))
        print(f"{what + ' isolated / not':24s} {a / b:6.2f}x   ({a - b:+.2f} ms at p50)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
