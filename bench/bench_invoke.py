"""Lambda invoke latency: cloudlet through boto3 vs bare baselines, in one run.

Measures, for the same trivial handler:
  cold    first invoke of a new function (new environment)   -- cloudlet, boto3
          (and on a second cloudlet with CLOUDLET_LAMBDA_PREWARM=0, for contrast)
  warm    invoke on a warm environment                        -- cloudlet, boto3
  spawn   `python -c 'import app; app.handler({}, None)'` per call (a bare cold start,
          one before each cloudlet cold start, so both see the same machine)
  inproc  calling the handler in a warm in-process loop
  echo    an aiohttp echo server through a keep-alive urllib3 pool (the HTTP floor)
  floor   boto3's Invoke answered at once by an aiohttp server (boto3's own share)
and prints p50/p99 and the ratios. Needs a running cloudlet (AWS_ENDPOINT_URL,
root credentials in the environment) or starts one with --start.

    python3 bench/bench_invoke.py [--start] [-n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from goals import report  # noqa: E402

SRC = "def handler(event, context):\n    return {'ok': True, 'echo': event}\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


SETTLE_S = 0.5  # between cold starts: longer than a launcher takes to start (50-80 ms here)


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(name: str, xs: list[float]) -> tuple[str, float, float]:
    return name, statistics.median(xs), pct(xs, 99)


def start_cloudlet(src: str | None = None, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
    """A private cloudlet from the source tree SRC (this checkout's by default), with EXTRA variables."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tempfile.mkdtemp(prefix="cloudlet-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = src or str(Path(__file__).resolve().parent.parent / "src")
    env["CLOUDLET_EXIT_WITH_PARENT"] = "1"  # a bench killed from outside leaves no server behind
    env.update(extra)
    proc = subprocess.Popen([sys.executable, "-m", "cloudlet", "start", "--port", str(port), "--data-dir", data],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    import urllib.request
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_cloudlet/health", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"cloudlet from {env['PYTHONPATH']} did not start")


def bench_cloudlet(url: str, n: int, cold_n: int, warm_up: int = 50,
                   peer: Callable[[], float] | None = None) -> tuple[list[float], list[float], list[float]]:
    """(cold, warm, peer) latencies in ms. With `peer`, one peer sample is taken right before each
    cold start, so the cold starts and their peer see the same machine (a shared VM drifts by the
    minute; a first process after an idle pause here takes up to twice as long as the next one).
    Cold starts are SETTLE_S apart, so cloudlet's background work after the previous one (refilling
    its launcher pool) is done and neither a cold start nor the peer's sample runs beside it."""
    import boto3
    from botocore.config import Config as BotoConfig

    kw = dict(endpoint_url=url, region_name="us-east-1",
              aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE"),
              aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
              config=BotoConfig(retries={"max_attempts": 0}))
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role_name = "bench-" + uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", SRC)
    cold: list[float] = []
    peer_samples: list[float] = []
    names = []
    for _ in range(cold_n):
        time.sleep(SETTLE_S)
        name = f"bench-{uuid.uuid4().hex[:8]}"
        names.append(name)
        lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                            Code={"ZipFile": buf.getvalue()})
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05, "MaxAttempts": 600})
        if peer is not None:  # right before the cold start: a first process after an idle pause is slower
            peer_samples.append(peer())
        t = time.perf_counter()
        r = lam.invoke(FunctionName=name, Payload=b"{}")
        r["Payload"].read()
        cold.append((time.perf_counter() - t) * 1000)
    warm: list[float] = []
    for _ in range(warm_up):
        lam.invoke(FunctionName=names[0], Payload=b"{}")["Payload"].read()
    for _ in range(n):
        t = time.perf_counter()
        r = lam.invoke(FunctionName=names[0], Payload=b'{"k": 1}')
        r["Payload"].read()
        warm.append((time.perf_counter() - t) * 1000)
    for name in names:
        lam.delete_function(FunctionName=name)
    iam.delete_role(RoleName=role_name)
    return cold, warm, peer_samples


def spawner() -> Callable[[], float]:
    """One bare cold start of the same handler per call: a fresh interpreter importing it (ms)."""
    d = tempfile.mkdtemp()
    Path(d, "app.py").write_text(SRC)

    def once() -> float:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import app; print(app.handler({}, None))"], cwd=d,
                       stdout=subprocess.DEVNULL, check=True)
        return (time.perf_counter() - t) * 1000

    return once


def bench_inproc(n: int) -> list[float]:
    ns: dict[str, object] = {}
    exec(SRC, ns)
    handler = ns["handler"]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        json.dumps(handler(json.loads(b'{"k": 1}'), None))  # type: ignore[operator]
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_echo(n: int) -> list[float]:
    import urllib3
    from aiohttp import web

    ready = threading.Event()
    port_box: list[int] = []

    def serve() -> None:
        async def echo(request: web.Request) -> web.Response:
            return web.Response(body=await request.read())

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/", echo)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port_box.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    ready.wait()
    pool = urllib3.HTTPConnectionPool("127.0.0.1", port_box[0], maxsize=1)
    out = []
    for _ in range(n):
        t = time.perf_counter()
        _ = pool.request("POST", "/", body=b'{"k": 1}').data  # read the whole body
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_boto3_floor(n: int) -> list[float]:
    """boto3's own share: the same Invoke call answered at once by an aiohttp server with a
    canned 200 (no auth, no function): what any server behind boto3 costs at the least."""
    import boto3
    from aiohttp import web
    from botocore.config import Config as BotoConfig

    ready = threading.Event()
    port_box: list[int] = []

    def serve() -> None:
        async def answer(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=b'{"ok": true}', headers={"Content-Type": "application/json",
                                                               "X-Amz-Executed-Version": "$LATEST"})

        async def main() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", answer)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port_box.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            ready.set()
            await asyncio.Event().wait()

        asyncio.run(main())

    threading.Thread(target=serve, daemon=True).start()
    ready.wait()
    lam = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port_box[0]}", region_name="us-east-1",
                       aws_access_key_id="AKIAIOSFODNN7EXAMPLE", aws_secret_access_key="x",
                       config=BotoConfig(retries={"max_attempts": 0}))
    out = []
    for i in range(n + 50):
        t = time.perf_counter()
        lam.invoke(FunctionName="f", Payload=b'{"k": 1}')["Payload"].read()
        if i >= 50:
            out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--start", action="store_true", help="start a private cloudlet for the run")
    ap.add_argument("-n", type=int, default=500, help="warm invokes")
    ap.add_argument("--cold", type=int, default=10, help="cold starts")
    args = ap.parse_args()
    proc = None
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    if args.start or not url:
        proc, url = start_cloudlet()
    try:
        spawn_once = spawner()
        spawn_once()  # the interpreter's files in the page cache, as they are for cloudlet's launchers
        cold, warm, spawn = bench_cloudlet(url, args.n, args.cold, peer=spawn_once)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
    # The same cold starts without pre-started launchers, for contrast (not a goal).
    unpooled_proc, unpooled_url = start_cloudlet(CLOUDLET_LAMBDA_PREWARM="0")
    try:
        unpooled, _, _ = bench_cloudlet(unpooled_url, 0, args.cold, warm_up=0)
    finally:
        unpooled_proc.terminate()
        unpooled_proc.wait(10)
    inproc = bench_inproc(args.n)
    echo = bench_echo(args.n)
    floor = bench_boto3_floor(args.n)
    rows = [summary("cloudlet cold invoke (boto3)", cold),
            summary("  without pre-started launchers", unpooled),
            summary("cloudlet warm invoke (boto3)", warm),
            summary("bare spawn python per call", spawn), summary("in-process warm loop", inproc),
            summary("aiohttp echo (urllib3)", echo), summary("boto3 to a canned answer", floor)]
    print(f"{'':34s} {'p50 ms':>10s} {'p99 ms':>10s}")
    for name, p50, p99 in rows:
        print(f"{name:34s} {p50:10.3f} {p99:10.3f}")
    w50, c50 = statistics.median(warm), statistics.median(cold)
    print(f"\nwarm / echo            {w50 / statistics.median(echo):8.1f}x")
    print(f"warm / in-process      {w50 / max(statistics.median(inproc), 1e-6):8.0f}x")
    print(f"warm - boto3 floor     {w50 - statistics.median(floor):8.3f} ms (cloudlet's and the function's share)")
    print(f"cold / bare spawn      {c50 / statistics.median(spawn):8.2f}x")
    report("warm invoke p50 (boto3)", w50, "ms", "aiohttp echo, urllib3", statistics.median(echo), "<=", 2)
    report("cold start vs bare python spawn", c50, "ms", "bare python spawn", statistics.median(spawn), "<=", 1.5, "x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
