"""Warm invoke, two (or more) cloudlet source trees side by side: each tree's server up at once,
batches of warm invokes alternated between them, so a shared, noisy machine weighs on both alike.
Prints each tree's p50/p90 and the CPU its server and function spend per invoke (from /proc), and
the server process's own share (its threads, not the function's sandbox).

    python3 bench/ab_invoke.py OLD/src,NEW/src [batches] [invokes_per_batch] [root|user]

"user" invokes as an IAM user allowed by an inline policy (the policy engine on the path), as a
real caller would; the default is the account's root, which needs no policy evaluation.

A tree is a directory holding the `cloudlet` package (e.g. a `git archive` of another commit's
src). Not part of `make bench`: a tool for deciding whether a change to the invoke path helps.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_invoke import start_cloudlet  # noqa: E402

SRC = "def handler(event, context):\n    return {'ok': True, 'echo': event}\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
HZ = os.sysconf("SC_CLK_TCK")


def start(tree: str) -> tuple[subprocess.Popen[bytes], str]:
    return start_cloudlet(src=tree)


def warm_function(url: str, as_user: bool = False) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    kw: dict[str, Any] = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                              aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                              config=BotoConfig(retries={"max_attempts": 0}))
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role = iam.create_role(RoleName="ab-" + uuid.uuid4().hex[:8], AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", SRC)
    lam.create_function(FunctionName="ab", Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    lam.get_waiter("function_active_v2").wait(FunctionName="ab", WaiterConfig={"Delay": 0.05, "MaxAttempts": 600})
    if as_user:
        name = "ab-user-" + uuid.uuid4().hex[:8]
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="invoke", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:*:*:function:ab"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        kw.update(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
        lam = boto3.client("lambda", **kw)
    for _ in range(50):
        lam.invoke(FunctionName="ab", Payload=b"{}")["Payload"].read()
    return lam


def tree_pids(pid: int) -> list[int]:
    out = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                for child in f.read().split():
                    out += tree_pids(int(child))
    except OSError:
        pass
    return out


def cpu_s(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / HZ
        except OSError:
            pass
    return total


def main() -> int:
    trees = sys.argv[1].split(",")
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    as_user = len(sys.argv) > 4 and sys.argv[4] == "user"
    servers = {t: start(t) for t in trees}
    try:
        clients = {t: warm_function(url, as_user) for t, (_, url) in servers.items()}
        lat: dict[str, list[float]] = {t: [] for t in trees}
        cpu: dict[str, float] = {t: 0.0 for t in trees}
        own: dict[str, float] = {t: 0.0 for t in trees}
        for b in range(batches):
            for t in trees if b % 2 == 0 else trees[::-1]:
                pids = tree_pids(servers[t][0].pid)
                c0, s0 = cpu_s(pids), cpu_s(pids[:1])
                for _ in range(per):
                    t0 = time.perf_counter()
                    clients[t].invoke(FunctionName="ab", Payload=b'{"k": 1}')["Payload"].read()
                    lat[t].append((time.perf_counter() - t0) * 1000)
                cpu[t] += cpu_s(pids) - c0
                own[t] += cpu_s(pids[:1]) - s0
        for t in trees:
            xs = sorted(lat[t])
            print(f"{t}: warm p50 {statistics.median(xs):.3f} ms  p90 {xs[int(len(xs) * 0.9)]:.3f} ms  "
                  f"server+function CPU {cpu[t] / len(xs) * 1000:.3f} ms/invoke, server alone "
                  f"{own[t] / len(xs) * 1000:.3f}  (n={len(xs)})")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
