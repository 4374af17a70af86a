"""What the VPC path costs a function's cache round trip: SET then GET over one TLS connection,
timed inside a sandboxed function in the cache's VPC (through the environment's egress relay and
its security-group decision) vs the same client code on the host against the same endpoint,
in one run. Samples alternate between the two sides; prints p50/p99 and the ratio function / host.

    python3 bench/bench_vpc.py [-n 2000]
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

# One client for both sides: RESP over TLS, a connection opened once, round trips timed.
CLIENT = r'''
import socket, ssl, time

def _reply(conn, buf):
    while b"\r\n" not in buf:
        buf += conn.recv(65536)
    line, rest = buf.split(b"\r\n", 1)
    if line[:1] == b"$" and int(line[1:]) >= 0:
        need = int(line[1:]) + 2
        while len(rest) < need:
            rest += conn.recv(65536)
        return rest[need:]
    return rest

def round_trips(host, port, n):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    conn = ctx.wrap_socket(socket.create_connection((host, port), timeout=10), server_hostname=host)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    took, buf = [], b""
    for i in range(n):
        t = time.perf_counter()
        conn.sendall(b"*3\r\n$3\r\nSET\r\n$5\r\nbench\r\n$5\r\nvalue\r\n")
        buf = _reply(conn, buf)
        conn.sendall(b"*2\r\n$3\r\nGET\r\n$5\r\nbench\r\n")
        buf = _reply(conn, buf)
        took.append((time.perf_counter() - t) * 1000)
    conn.close()
    return took

def handler(event, context):
    return round_trips(event["host"], 6379, event["n"])
'''
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
VPC_ROLE = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def main() -> int:
    import boto3
    from botocore.config import Config as BotoConfig

    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=2000, help="round trips per side")
    args = ap.parse_args()
    data = tempfile.mkdtemp(prefix="cloudlet-bench-vpc-")
    proc, url, _ = start_cloudlet(Path(data), CLOUDLET_LAMBDA_ISOLATION="on")
    try:
        kw: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": KEY,
                              "aws_secret_access_key": SECRET,
                              "config": BotoConfig(retries={"max_attempts": 0}, read_timeout=300)}
        ec, ec2, iam, lam = (boto3.client(s, **kw) for s in ("elasticache", "ec2", "iam", "lambda"))
        ec.create_serverless_cache(ServerlessCacheName="bench-vpc", Engine="valkey")
        while True:
            cache = ec.describe_serverless_caches(ServerlessCacheName="bench-vpc")["ServerlessCaches"][0]
            if cache["Status"] == "available":
                break
            time.sleep(0.1)
        address = cache["Endpoint"]["Address"]
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                   {"Name": "group-name", "Values": ["default"]}])
        role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        iam.attach_role_policy(RoleName="bench", PolicyArn=VPC_ROLE)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", CLIENT)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                            Code={"ZipFile": buf.getvalue()}, Timeout=300, MemorySize=256,
                            VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg["SecurityGroups"][0]["GroupId"]]})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600})
        host_ns: dict[str, Any] = {}
        exec(CLIENT, host_ns)  # the same client code, on the host, straight to the endpoint's address
        ip = next(line.split()[0] for line in (Path(data) / "hosts").read_text().splitlines() if address in line)

        def in_function(n: int) -> list[float]:
            r = lam.invoke(FunctionName=name, Payload=json.dumps({"host": address, "n": n}).encode())
            body = json.loads(r["Payload"].read())
            if "FunctionError" in r:
                raise SystemExit(f"function failed: {body}")
            return list(body)

        sides: dict[str, list[float]] = {"function": [], "host": []}
        in_function(50)  # warm-up: the environment, TLS, the relay
        host_ns["round_trips"](ip, 6379, 50)
        batch = 100
        for i in range(max(1, args.n // batch)):
            order = ("function", "host") if i % 2 == 0 else ("host", "function")
            for side in order:
                got = in_function(batch) if side == "function" else host_ns["round_trips"](ip, 6379, batch)
                sides[side] += got[1:]  # the first of each batch includes the connection's set-up
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(f"{'SET+GET round trip':36s} {'p50 ms':>9s} {'p99 ms':>9s}")
    for side, xs in sides.items():
        print(f"{side:36s} {statistics.median(xs):9.3f} {pct(xs, 99):9.3f}")
    a, b = statistics.median(sides["function"]), statistics.median(sides["host"])
    print(f"\nfunction in a VPC / host client  {a / b:6.2f}x   ({a - b:+.3f} ms at p50; goal under 1.2x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
