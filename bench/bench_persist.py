"""Persistence cost: the same writes against a persisted cloudlet and an --ephemeral one.

Three cloudlets in one run: persisted with CLOUDLET_PERSIST_SYNC=normal (the default:
written before the response, fsynced at checkpoints), persisted with =full (fsync
per acknowledged write), and ephemeral (the peer).
Each gets N CreateRole+DeleteRole pairs and N PutLogEvents (10 events each), sent
round-robin across the three so machine noise hits all alike; requests are SigV4-
signed before the clock starts, so only the HTTP round trip is timed. Prints p50/p99
and the ratio to ephemeral. Then fills a persisted data dir with 1,000 roles and
10,000 log events, stops it, and times start-to-healthy against an empty start.

Usage: python bench/bench_persist.py [--requests 500]
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from bench_api import free_port, wait_http

from cloudlet.cli import terminate_tree
from cloudlet.config import Config

CREDS = Credentials(Config.access_key_id, Config.secret_access_key)
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


class Server:
    def __init__(self, name: str, data_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.data_dir = data_dir
        self.env = env
        self.conn: http.client.HTTPConnection | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        import os

        env = dict(os.environ, PYTHONPATH=str(REPO / "src"), CLOUDLET_EXIT_WITH_PARENT="1", **self.env)
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloudlet", "start", "--port", str(self.port), "--data-dir", str(self.data_dir)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_http(f"http://127.0.0.1:{self.port}/_cloudlet/health", timeout=60)
        took = time.monotonic() - t0
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)
        return took

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.proc is not None:
            terminate_tree(self.proc.pid, timeout=15)
            self.proc.wait()

    def signed(self, service: str, body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
        url = f"http://127.0.0.1:{self.port}/"
        req = AWSRequest(method="POST", url=url, data=body, headers=headers)
        SigV4Auth(CREDS, service, "us-east-1").add_auth(req)
        return body, dict(req.headers.items())

    def send(self, body: bytes, headers: dict[str, str]) -> tuple[float, int, bytes]:
        assert self.conn is not None
        t0 = time.perf_counter()
        self.conn.request("POST", "/", body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        return time.perf_counter() - t0, resp.status, data


def iam_call(server: Server, action: str, **params: str) -> tuple[bytes, dict[str, str]]:
    from urllib.parse import urlencode

    body = urlencode({"Action": action, "Version": "2010-05-08", **params}).encode()
    return server.signed("iam", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})


def logs_call(server: Server, target: str, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return server.signed("logs", json.dumps(payload).encode(), {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{target}",
    })


def ok(server: Server, req: tuple[bytes, dict[str, str]]) -> float:
    took, status, data = server.send(*req)
    if status != 200:
        raise RuntimeError(f"{server.name}: HTTP {status}: {data[:300]!r}")
    return took


def pct(xs: list[float], p: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * p))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cloudlet-bench-persist-"))
    servers = [
        Server("persist (sync=normal)", tmp / "normal", {"CLOUDLET_PERSIST_SYNC": "normal"}),
        Server("persist (sync=full)", tmp / "full", {"CLOUDLET_PERSIST_SYNC": "full"}),
        Server("ephemeral", tmp / "eph", {"CLOUDLET_PERSIST": "0"}),
    ]
    try:
        for s in servers:
            s.start()
            ok(s, logs_call(s, "CreateLogGroup", {"logGroupName": "bench"}))
            ok(s, logs_call(s, "CreateLogStream", {"logGroupName": "bench", "logStreamName": "s"}))
            for i in range(20):  # warm up every path
                ok(s, iam_call(s, "CreateRole", RoleName=f"warm{i}", AssumeRolePolicyDocument=TRUST))
                ok(s, iam_call(s, "DeleteRole", RoleName=f"warm{i}"))
        times: dict[str, dict[str, list[float]]] = {s.name: {"role": [], "logs": []} for s in servers}
        base = int(time.time() * 1000)
        for i in range(args.requests):
            # Rotate who goes first: the first of a round meets a quieter machine.
            for s in servers[i % 3:] + servers[:i % 3]:
                create = iam_call(s, "CreateRole", RoleName=f"r{i}", AssumeRolePolicyDocument=TRUST)
                delete = iam_call(s, "DeleteRole", RoleName=f"r{i}")
                put = logs_call(s, "PutLogEvents", {
                    "logGroupName": "bench", "logStreamName": "s",
                    "logEvents": [{"timestamp": base + i, "message": f"event {i}.{j} " + "x" * 80} for j in range(10)],
                })
                times[s.name]["role"].append(ok(s, create) + ok(s, delete))
                times[s.name]["logs"].append(ok(s, put))
        eph = times["ephemeral"]
        print(f"{args.requests} CreateRole+DeleteRole pairs and PutLogEvents (10 events) per server, round-robin")
        for what, label in (("role", "CreateRole+DeleteRole"), ("logs", "PutLogEvents")):
            peer = statistics.median(eph[what])
            for s in servers:
                xs = times[s.name][what]
                print(f"  {label:22s} {s.name:22s} p50 {pct(xs, 0.5):6.2f} ms  p99 {pct(xs, 0.99):6.2f} ms"
                      f"  ratio p50 {statistics.median(xs) / peer:4.2f}x")
        for s in servers:
            s.stop()

        # Start-to-healthy with 1,000 roles and 10,000 log events in the state file.
        big = Server("filled", tmp / "filled", {})
        big.start()
        for i in range(1000):
            ok(big, iam_call(big, "CreateRole", RoleName=f"role{i}", AssumeRolePolicyDocument=TRUST))
        ok(big, logs_call(big, "CreateLogGroup", {"logGroupName": "big"}))
        ok(big, logs_call(big, "CreateLogStream", {"logGroupName": "big", "logStreamName": "s"}))
        base = int(time.time() * 1000)
        for b in range(10):
            ok(big, logs_call(big, "PutLogEvents", {
                "logGroupName": "big", "logStreamName": "s",
                "logEvents": [{"timestamp": base + b * 1000 + j, "message": f"event {b}.{j} " + "y" * 80}
                              for j in range(1000)],
            }))
        big.stop()
        empty_times, filled_times = [], []
        for _ in range(3):
            e = Server("empty", tmp / f"empty{_}", {})
            empty_times.append(e.start())
            e.stop()
            f = Server("filled", tmp / "filled", {})
            filled_times.append(f.start())
            events, token = 0, None
            while True:  # pages of at most 1 MB
                req: dict[str, Any] = {"logGroupName": "big", "logStreamName": "s", "startFromHead": True}
                if token:
                    req["nextToken"] = token
                got = json.loads(f.send(*logs_call(f, "GetLogEvents", req))[2])
                events += len(got["events"])
                if not got["events"] or got["nextForwardToken"] == token:
                    break
                token = got["nextForwardToken"]
            roles = 0
            marker = None
            while True:
                extra = {"Marker": marker} if marker else {}
                page = f.send(*iam_call(f, "ListRoles", MaxItems="1000", **extra))[2].decode()
                roles += page.count("<RoleName>")
                if "<IsTruncated>true</IsTruncated>" not in page:
                    break
                marker = page.split("<Marker>")[1].split("</Marker>")[0]
            f.stop()
            assert events == 10000 and roles == 1000, (events, roles)
        print("start-to-healthy (median of 3; 1,000 roles + 10,000 log events restored vs an empty data dir)")
        print(f"  empty  {statistics.median(empty_times):.3f} s")
        print(f"  filled {statistics.median(filled_times):.3f} s"
              f"  ratio {statistics.median(filled_times) / statistics.median(empty_times):4.2f}x")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
