"""The console's costs, each against its peer in the same run:

- start-up: `cloudlet start` to healthy with the console listening vs CLOUDLET_CONSOLE_PORT=0
  (the console must not slow the start: its code loads on the first request);
- idle memory: the server's RSS after start, with vs without the console;
- one call: iam:ListRoles through the console (/api/call, session cookie) vs the same
  operation as a SigV4-signed API request (signed beforehand), sequential, p50.

Usage: python bench/bench_console.py [--starts 5] [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import REPO, free_port, start_cloudlet  # noqa: E402
from goals import goal_line  # noqa: E402

sys.path.insert(0, str(REPO / "src"))
from cloudlet.cli import terminate_tree  # noqa: E402
from cloudlet.config import Config  # noqa: E402


def goal(name: str, value: float, unit: str, peer: str, peer_value: float, op: str, target: float) -> None:
    print(goal_line(name, value, unit, peer, peer_value, op, target, "x"), flush=True)


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def starts(tmp: Path, n: int) -> None:
    times: dict[str, list[float]] = {"on": [], "off": []}
    rss: dict[str, list[float]] = {"on": [], "off": []}
    for i in range(n):
        for mode in ("on", "off"):  # interleaved, so load changes hit both alike
            port = str(free_port()) if mode == "on" else "0"
            proc, _, secs = start_cloudlet(tmp / f"{mode}{i}", CLOUDLET_CONSOLE_PORT=port, CLOUDLET_PERSIST="0")
            time.sleep(0.5)
            times[mode].append(secs)
            rss[mode].append(rss_mib(proc.pid))
            terminate_tree(proc.pid, timeout=10)
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    print(f"start to healthy, median of {n}: console {on:.3f} s, no console {off:.3f} s")
    goal("console: start-up with the console listening", on, "s", "CLOUDLET_CONSOLE_PORT=0", off, "<=", 1.10)
    on_m, off_m = statistics.median(rss["on"]), statistics.median(rss["off"])
    print(f"idle RSS, median of {n}: console {on_m:.1f} MiB, no console {off_m:.1f} MiB")
    goal("console: idle memory with the console listening", on_m, "MiB", "CLOUDLET_CONSOLE_PORT=0", off_m, "<=", 1.05)


async def calls(tmp: Path, n: int) -> None:
    import aiohttp

    console_port = free_port()
    proc, endpoint, _ = start_cloudlet(tmp / "calls", CLOUDLET_CONSOLE_PORT=str(console_port), CLOUDLET_PERSIST="0")
    try:
        origin = f"http://127.0.0.1:{console_port}"
        secret = (tmp / "calls" / "console" / "secret").read_text().strip()
        cfg = Config()
        body = b"Action=ListRoles&Version=2010-05-08"
        signed = []
        for _ in range(n):
            req = AWSRequest("POST", endpoint + "/", data=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
            SigV4Auth(Credentials(cfg.access_key_id, cfg.secret_access_key), "iam", "us-east-1").add_auth(req)
            p = req.prepare()
            signed.append({k: str(v) for k, v in p.headers.items()})
            # unsafe=True: keep cookies of an IP-address host (127.0.0.1), as browsers do.
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(origin + "/api/signin", json={"secret": secret}, headers={"Origin": origin}) as r:
                csrf = (await r.json())["csrf"]
            call = json.dumps({"service": "iam", "operation": "ListRoles", "input": {}})
            headers = {"Origin": origin, "X-Console-Csrf": csrf, "Content-Type": "application/json"}
            console_ms, api_ms = [], []
            for i in range(n + 20):  # the first 20 warm both paths up
                t0 = time.perf_counter()
                async with s.post(origin + "/api/call", data=call, headers=headers) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
                t1 = time.perf_counter()
                async with s.post(endpoint + "/", data=body, headers=signed[i % n]) as r:
                    assert r.status == 200, await r.text()
                    await r.read()
                t2 = time.perf_counter()
                if i >= 20:
                    console_ms.append((t1 - t0) * 1000)
                    api_ms.append((t2 - t1) * 1000)
        c50, a50 = statistics.median(console_ms), statistics.median(api_ms)
        print(f"iam ListRoles, {n} sequential calls: console p50 {c50:.2f} ms, signed API p50 {a50:.2f} ms")
        goal("console: one API call through the console (p50)", c50, "ms", "the same call SigV4-signed", a50, "<=", 1.5)
    finally:
        terminate_tree(proc.pid, timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--calls", type=int, default=300)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    try:
        starts(tmp, args.starts)
        asyncio.run(calls(tmp, args.calls))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
