"""Cost that grows with work: list pages as resources grow, and memory per idle cache.

One cloudlet (the real front door, served by aiohttp on a loopback port) runs in a
thread of this process, ephemeral, so the bench can add records to its state directly.

Pages: boto3 (over HTTP, signed, through every front-door step) asks for one page of 50
of ListRoles (MaxItems=50) and DescribeServerlessCaches (MaxResults=50) of three cloudlets
holding 1, 100 and 1,000 roles and caches, in turns. Roles are made with CreateRole through the API. Starting
1,000 valkeys does not fit a test machine, so the caches are records added to the
ElastiCache provider's state (status available, no process): the listing reads nothing
else. The goal compares the page at 1,000 with the page at 100 (both full pages of 50).

Memory per idle cache: a cloudlet started as users start it (`python -m cloudlet start`), the
resident memory (RSS) of its whole process tree (cloudlet and every valkey) with no cache, then
after each of CACHES real caches made with CreateServerlessCache went idle, then after one
reader connection (READONLY, one GET) to the first cache, which starts its read replica. A
cache's cost is what the tree grew by, from after the ElastiCache API's first call (its
botocore model, printed apart): the first cache's growth includes the data plane's one-time
loads (its modules, the scanner's compiled pattern, TLS). Both the mean growth per further cache and the first
cache's growth are goals, against one bare `valkey-server` on a unix socket with the same
persistence (appendonly yes); the cache after a reader connection (two valkeys) is printed
beside them with its ratio.
RSS counts the pages valkeys share (binary, libraries) in each, as the bare valkey's does;
USS (memory no other process shares) is printed beside it. A bare valkey with the engine
settings AWS fixes for serverless caches (serverless_config: cluster mode, maxclients
65000) is printed too: what a cache costs over it is cloudlet's own.

    python bench/bench_scaling.py [-n 200]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import psutil
from aiohttp import web
from botocore.config import Config as BotoConfig

sys.path.insert(0, str(Path(__file__).resolve().parent))
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from bench_api import free_port  # noqa: E402
from goals import goal_missing, report  # noqa: E402

from cloudlet.config import Config  # noqa: E402
from cloudlet.server import FrontDoor, make_app  # noqa: E402
from cloudlet.services.elasticache import serverless_config  # noqa: E402
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


def tree_memory(pid: int) -> tuple[int, int, int]:
    """(RSS of PID alone, RSS of its whole process tree, USS of the tree) in bytes. RSS counts
    pages shared between processes (the valkey binary, libraries) in each; USS (memory no
    other process shares) is what a further process costs the machine at the least."""
    root = psutil.Process(pid)
    own = total = unique = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            mem = p.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        total += mem.rss
        unique += mem.uss
        if p.pid == pid:
            own = mem.rss
    return own, total, unique


def bare_valkey_memory(binary: str, idle: float, engine_config: bool) -> tuple[int, int]:
    """(RSS, USS) of one bare valkey-server on a unix socket with AOF; with engine_config, also the
    engine settings AWS fixes for serverless caches that cloudlet applies (cluster mode, maxclients)."""
    d = Path(tempfile.mkdtemp(prefix="bench-bare-valkey-"))
    lines = ["port 0", f"unixsocket {d / 'v.sock'}", f"dir {d}", "appendonly yes", 'save ""']
    if engine_config:
        lines += [f"cluster-port {free_port()}", f"cluster-config-file {d / 'nodes.conf'}",
                  *serverless_config.config_lines()]
    (d / "valkey.conf").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([binary, str(d / "valkey.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not (d / "v.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(idle)
        _, rss, uss = tree_memory(proc.pid)
        return rss, uss
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(d, ignore_errors=True)


class CloudletProcess:
    """cloudlet as users start it (`python -m cloudlet start`), so its whole process tree is measured."""

    def __init__(self, data: Path, cache_home: Path) -> None:
        self.port = free_port()
        self.data = data
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
        # Its own service index (XDG_CACHE_HOME): one that another checkout left in the user's
        # cache would be rebuilt at start, loading every botocore model into the baseline.
        env.update(PYTHONPATH=str(REPO / "src"), CLOUDLET_LOG_LEVEL="WARNING", CLOUDLET_CONSOLE_PORT="0",
                   CLOUDLET_CACHE_NET="127.84", XDG_CACHE_HOME=str(cache_home))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cloudlet", "start", "--port", str(self.port), "--data-dir", str(data)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_cloudlet/health", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("cloudlet did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_available(ec: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        cache: dict[str, Any] = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]
        if cache["Status"] == "available":
            return cache
        if time.monotonic() > deadline:
            raise RuntimeError(f"cache {name} did not become available in 60 s")
        time.sleep(0.05)


def cache_address(server: CloudletProcess, hostname: str) -> str:
    return next(line.split()[0] for line in (server.data / "hosts").read_text().splitlines()
                if line.split()[1:2] == [hostname])


def valkey_count(pid: int) -> int:
    """The cloudlet's long-lived valkeys (not the short-lived forks a valkey makes to save or sync)."""
    n = 0
    for p in psutil.Process(pid).children(recursive=True):
        try:
            parent = p.parent()
            n += p.name() == "valkey-server" and parent is not None and parent.name() != "valkey-server"
        except psutil.NoSuchProcess:
            pass
    return n


def cache_memory(data: Path, idle: float, caches: int) -> None:
    """What a cache adds to cloudlet's whole process tree (its valkeys and cloudlet's own growth),
    idle and after a reader connection, against one bare valkey-server."""
    import redis

    goal = "memory per idle cache"
    binary = shutil.which(Config.from_env({}).valkey_server)
    if binary is None:
        print(goal_missing(goal, "bare valkey-server", "valkey-server not found"))
        return
    cache_home = data / "xdg-cache"
    CloudletProcess(data / "warm-up", cache_home).stop()  # writes the service index the measured one reads
    server = CloudletProcess(data / "measured", cache_home)
    try:
        ec = client(server.port, "elasticache")
        time.sleep(idle)
        no_api = tree_memory(server.proc.pid)
        # The ElastiCache API's first call loads its botocore model: a cost of the API, not of a cache.
        ec.describe_serverless_caches()
        time.sleep(idle)
        samples = [tree_memory(server.proc.pid)]  # (own RSS, tree RSS, tree USS) after 0, 1, ... caches
        endpoints = []
        for i in range(caches):
            ec.create_serverless_cache(ServerlessCacheName=f"mem-{i}", Engine="valkey")
            endpoints.append(wait_available(ec, f"mem-{i}")["ReaderEndpoint"])
            time.sleep(idle)
            samples.append(tree_memory(server.proc.pid))
        idle_valkeys = valkey_count(server.proc.pid)
        # A reader connection (READONLY, one read) to the first cache, closed again.
        r = redis.Redis(host=cache_address(server, endpoints[0]["Address"]), port=endpoints[0]["Port"], ssl=True,
                        ssl_ca_certs=str(server.data / "ca" / "ca.pem"), ssl_check_hostname=False, socket_timeout=20)
        r.execute_command("READONLY")
        r.get("k")
        r.close()
        time.sleep(idle)
        reader = tree_memory(server.proc.pid)
        reader_valkeys = valkey_count(server.proc.pid)
        for i in range(caches):
            ec.delete_serverless_cache(ServerlessCacheName=f"mem-{i}")
    finally:
        server.stop()
    bare, bare_uss = (m / 2**20 for m in bare_valkey_memory(binary, idle, engine_config=False))
    engine, engine_uss = (m / 2**20 for m in bare_valkey_memory(binary, idle, engine_config=True))
    own_mib, mib, uss = ([x[k] / 2**20 for x in samples] for k in range(3))
    first = mib[1] - mib[0]
    per_cache = (mib[-1] - mib[1]) / (caches - 1)
    per_cache_own = (own_mib[-1] - own_mib[1]) / (caches - 1)
    per_cache_uss = (uss[-1] - uss[1]) / (caches - 1)
    after_reader = reader[1] / 2**20 - mib[-1]
    after_reader_uss = reader[2] / 2**20 - uss[-1]
    print(f"cloudlet process tree: {no_api[1] / 2**20:.1f} MiB idle; after the ElastiCache API's first call "
          f"(its model): {mib[0]:.1f} MiB")
    print(f"cloudlet process tree: {mib[0]:.1f} MiB with no cache; {caches} idle caches: {idle_valkeys} valkeys "
          f"(one per cache); after a reader connection to one: {reader_valkeys}")
    print(f"first idle cache: +{first:.1f} MiB (valkey +{first - (own_mib[1] - own_mib[0]):.1f}, cloudlet "
          f"+{own_mib[1] - own_mib[0]:.1f}, with the data plane's one-time loads)")
    print(f"each further idle cache: +{per_cache:.1f} MiB RSS (cloudlet's own growth +{per_cache_own:.2f} of it), "
          f"+{per_cache_uss:.1f} MiB USS, mean of caches 2-{caches}")
    print(f"cache after a reader connection (its read replica started): +{per_cache + after_reader:.1f} MiB RSS "
          f"(the replica and cloudlet's growth +{after_reader:.1f}), +{per_cache_uss + after_reader_uss:.1f} MiB USS; "
          f"ratio to a bare valkey {(per_cache + after_reader) / bare:.2f}")
    print(f"one bare valkey-server (unix socket, appendonly yes): {bare:.1f} MiB RSS, {bare_uss:.1f} MiB USS")
    print(f"the same with the engine settings AWS fixes (cluster mode, maxclients 65000, ...): {engine:.1f} MiB RSS, "
          f"{engine_uss:.1f} MiB USS; a further idle cache / this: {per_cache / engine:.2f}")
    report(goal, per_cache, "MiB", "bare valkey-server", bare, "<=", 1.0, "x")
    report(f"{goal}, the first (with the data plane's one-time loads)", first, "MiB", "bare valkey-server", bare,
           "<=", 1.0, "x")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="timed pages per size")
    ap.add_argument("--idle", type=float, default=2.0, help="seconds a cache idles before its memory is read")
    ap.add_argument("--caches", type=int, default=4, help="idle caches made for the memory figures (at least 2)")
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="bench-scaling-"))
    try:
        cache_memory(data / "memory", args.idle, max(args.caches, 2))
        pages(data, args.n)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
