"""Cost that grows with work: list pages as resources grow, and memory per idle cache.

One cloudlet (the real front door, served by aiohttp on a loopback port) runs in a
thread of this process, ephemeral, so the bench can add records to its state directly.

Pages: boto3 (over HTTP, signed, through every front-door step) asks for one page of 50
of ListRoles (MaxItems=50) and DescribeServerlessCaches (MaxResults=50) of three cloudlets
holding 1, 100 and 1,000 roles and caches, in turns. Roles are made with CreateRole through the API. Starting
1,000 valkeys does not fit a test machine, so the caches are records added to the
ElastiCache provider's state (status available, no process): the listing reads nothing
else. The goal compares the page at 1,000 with the page at 100 (both full pages of 50).

Memory per idle cache: one real cache made with CreateServerlessCache (its valkey primary
and read replica), the resident memory of its processes after it went idle, against one
bare `valkey-server` started on a unix socket with the same persistence (appendonly yes).

    python bench/bench_scaling.py [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import psutil
from aiohttp import web
from botocore.config import Config as BotoConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from bench_api import free_port  # noqa: E402
from goals import goal_missing, report  # noqa: E402

from cloudlet.config import Config  # noqa: E402
from cloudlet.server import FrontDoor, make_app  # noqa: E402
from cloudlet.services.elasticache.provider import ElastiCacheProvider  # noqa: E402
from cloudlet.services.elasticache.state import ServerlessCache  # noqa: E402
from cloudlet.services.registry import build_world  # noqa: E402

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
SIZES = (1, 100, 1000)


class InProcessCloudlet:
    """The front door on a loopback port, its event loop in a thread of this process."""

    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.config = Config.from_env({}, data_dir=data, port=self.port, persist=False, cache_net="127.83")
        self.world = build_world(self.config)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(60)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(make_app(FrontDoor(self.world)), access_log=None)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()

    def call(self, fn: Any) -> Any:
        """FN() run on the server's loop (its state is the loop's alone)."""
        async def run() -> Any:
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(60)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def client(port: int, service: str) -> Any:
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
                        config=BotoConfig(retries={"max_attempts": 0}))


def add_cache_records(server: InProcessCloudlet, upto: int) -> None:
    def add() -> None:
        ec = server.world.provider_of(ElastiCacheProvider)
        st = ec.store.get(server.config.account_id, "us-east-1")
        for i in range(len(st.caches), upto):
            name = f"page-{i:04d}"
            st.caches[name] = ServerlessCache(
                name=name, arn=f"arn:aws:elasticache:us-east-1:{server.config.account_id}:serverlesscache:{name}",
                engine="valkey", major_version="8", full_version="8.0", hostname=f"{name}.serverless.local",
                address="127.83.0.1", workdir=server.config.data_dir / name, socket=server.config.data_dir / name,
                backend_secret=b"x" * 32, status="available",
                create_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC) + datetime.timedelta(seconds=i),
            )
    server.call(add)


def pages(data: Path, n: int) -> None:
    # One cloudlet per size, all in this process, timed in turns: machine load falls on each alike.
    servers = {size: InProcessCloudlet(data / f"pages-{size}") for size in SIZES}
    try:
        clients = {size: (client(s.port, "iam"), client(s.port, "elasticache")) for size, s in servers.items()}
        for size, (iam, ec) in clients.items():
            for i in range(size):
                iam.create_role(RoleName=f"page-{i:04d}", AssumeRolePolicyDocument=TRUST)
            add_cache_records(servers[size], size)
            assert len(iam.list_roles(MaxItems=50)["Roles"]) == min(size, 50)
            assert len(ec.describe_serverless_caches(MaxResults=50)["ServerlessCaches"]) == min(size, 50)
        roles: dict[int, list[float]] = {size: [] for size in SIZES}
        caches: dict[int, list[float]] = {size: [] for size in SIZES}
        for i in range(n + 10):  # the first 10 rounds warm up
            for size in SIZES if i % 2 == 0 else SIZES[::-1]:
                iam, ec = clients[size]
                t0 = time.perf_counter()
                iam.list_roles(MaxItems=50)
                t1 = time.perf_counter()
                ec.describe_serverless_caches(MaxResults=50)
                t2 = time.perf_counter()
                if i >= 10:
                    roles[size].append((t1 - t0) * 1000)
                    caches[size].append((t2 - t1) * 1000)
    finally:
        for s in servers.values():
            s.stop()
    med = {what: {size: statistics.median(xs[size]) for size in SIZES} for what, xs in
           (("ListRoles", roles), ("DescribeServerlessCaches", caches))}
    for what, m in med.items():
        print(f"{what:26s} page of 50, p50 ms: " + ", ".join(f"{s} -> {m[s]:.2f}" for s in SIZES))
    report("ListRoles page of 50, 1,000 roles vs 100", med["ListRoles"][1000], "ms", "same at 100 roles",
           med["ListRoles"][100], "<=", 1.25, "x")
    report("DescribeServerlessCaches page of 50, 1,000 caches vs 100", med["DescribeServerlessCaches"][1000], "ms",
           "same at 100 caches", med["DescribeServerlessCaches"][100], "<=", 1.25, "x")


def tree_rss(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def bare_valkey_rss(binary: str, idle: float) -> int:
    d = Path(tempfile.mkdtemp(prefix="bench-bare-valkey-"))
    proc = subprocess.Popen([binary, "--port", "0", "--unixsocket", str(d / "v.sock"), "--dir", str(d),
                             "--appendonly", "yes", "--save", ""],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not (d / "v.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(idle)
        return tree_rss([proc.pid])
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


def cache_memory(server: InProcessCloudlet, idle: float) -> None:
    goal = "memory per idle cache"
    binary = shutil.which(server.config.valkey_server)
    if binary is None:
        print(goal_missing(goal, "bare valkey-server", f"{server.config.valkey_server} not found"))
        return
    ec = client(server.port, "elasticache")
    ec.create_serverless_cache(ServerlessCacheName="mem-idle", Engine="valkey")
    deadline = time.monotonic() + 60
    while ec.describe_serverless_caches(ServerlessCacheName="mem-idle")["ServerlessCaches"][0]["Status"] != "available":
        if time.monotonic() > deadline:
            print(goal_missing(goal, "bare valkey-server", "the cache did not become available in 60 s"))
            return
        time.sleep(0.05)
    time.sleep(idle)

    def pids() -> list[int]:
        ecp = server.world.provider_of(ElastiCacheProvider)
        cache = ecp.store.get(server.config.account_id, "us-east-1").caches["mem-idle"]
        assert cache.process is not None
        return [p.pid for p in cache.process.processes() if p.pid]
    cache_pids = server.call(pids)
    cloudlet_side = tree_rss(cache_pids)
    bare = bare_valkey_rss(binary, idle)
    print(f"idle cache: {len(cache_pids)} valkey processes (primary + read replica), {cloudlet_side / 2**20:.1f} MiB; "
          f"one bare valkey-server {bare / 2**20:.1f} MiB")
    report(goal, cloudlet_side / 2**20, "MiB", "bare valkey-server", bare / 2**20, "<=", 1.0, "x")
    ec.delete_serverless_cache(ServerlessCacheName="mem-idle")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="timed pages per size")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds a cache idles before its memory is read")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    try:
        server = InProcessCloudlet(data / "memory")
        try:
            cache_memory(server, args.idle)
        finally:
            server.stop()
        pages(data, args.n)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
