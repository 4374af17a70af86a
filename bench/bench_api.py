"""Front-door throughput: sts:GetCallerIdentity through the whole stack vs a bare aiohttp handler.

Starts a real cloudlet (python -m cloudlet start) on a free port, measures its
start-to-healthy time, then sends N boto3-signed GetCallerIdentity requests over
keep-alive connections with concurrency C, and the same number to a bare aiohttp
server (separate process, uvloop when present) that answers with the very bytes
cloudlet answered. Prints requests/s, p50/p99 latency and the ratio.

Usage: python bench/bench_api.py [--requests 3000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from cloudlet.cli import terminate_tree  # noqa: E402
from cloudlet.config import Config  # noqa: E402

BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM = "application/x-www-form-urlencoded; charset=utf-8"

BARE_SERVER = r"""
import sys, base64
from aiohttp import web
status, ctype, body = int(sys.argv[2]), sys.argv[3], base64.b64decode(sys.argv[4])
async def handle(request):
    await request.read()
    return web.Response(status=status, body=body, headers={"Content-Type": ctype})
app = web.Application()
app.router.add_route("*", "/{tail:.*}", handle)
try:
    import uvloop
    uvloop.install()
except ImportError:
    pass
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 30) -> float:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=0.5):
                return time.monotonic() - t0
        except urllib.error.HTTPError:
            return time.monotonic() - t0
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


def start_cloudlet(data_dir: Path, **settings: str) -> tuple[subprocess.Popen[bytes], str, float]:
    """`cloudlet start` on DATA_DIR with extra CLOUDLET_* SETTINGS; (process, endpoint, seconds to healthy)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    # CLOUDLET_EXIT_WITH_PARENT: a bench killed from outside leaves no server behind.
    env.update(PYTHONPATH=str(REPO / "src"), CLOUDLET_LOG_LEVEL="WARNING", CLOUDLET_EXIT_WITH_PARENT="1")
    env.update(settings)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cloudlet", "start", "--port", str(port), "--data-dir", str(data_dir)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_http(endpoint + "/_cloudlet/health")
    return proc, endpoint, time.monotonic() - t0


def signed_requests(endpoint: str, n: int) -> list[tuple[str, dict[str, str]]]:
    cfg = Config()
    creds = Credentials(cfg.access_key_id, cfg.secret_access_key)
    out = []
    for _ in range(n):
        req = AWSRequest("POST", endpoint + "/", data=BODY, headers={"Content-Type": FORM})
        SigV4Auth(creds, "sts", "us-east-1").add_auth(req)
        p = req.prepare()
        out.append((p.url, {k: str(v) for k, v in p.headers.items()}))
    return out


async def run_load(reqs: list[tuple[str, dict[str, str]]], concurrency: int) -> tuple[float, list[float], dict[int, int]]:
    import aiohttp

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(reqs))
    conn = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=conn) as session:

        async def worker() -> None:
            while queue:
                url, headers = queue.pop()
                t = time.perf_counter()
                async with session.post(url, data=BODY, headers=headers) as r:
                    await r.read()
                    statuses[r.status] = statuses.get(r.status, 0) + 1
                latencies.append(time.perf_counter() - t)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies, statuses


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--starts", type=int, default=3, help="start-to-healthy samples")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cloudlet-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        starts = []
        for i in range(args.starts):
            proc, endpoint, secs = start_cloudlet(tmp / f"start{i}")
            starts.append(secs)
            terminate_tree(proc.pid)
        print(f"start-to-healthy: median {statistics.median(starts):.3f} s, "
              f"min {min(starts):.3f} s, max {max(starts):.3f} s over {len(starts)} starts")

        proc, endpoint, _ = start_cloudlet(tmp / "data")
        procs.append(proc)
        warm = signed_requests(endpoint, 50)
        asyncio.run(run_load(warm, args.concurrency))
        # The exact bytes cloudlet answers, for the bare server to echo.
        url, headers = signed_requests(endpoint, 1)[0]
        r = urllib.request.Request(url, data=BODY, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(r) as resp:
                status, ctype, body = resp.status, resp.headers.get("Content-Type", "text/xml"), resp.read()
        except urllib.error.HTTPError as e:
            status, ctype, body = e.code, e.headers.get("Content-Type", "text/xml"), e.read()
        if status != 200:
            print(f"note: GetCallerIdentity answered {status} (is the STS provider there?)")

        reqs = signed_requests(endpoint, args.requests)
        c_elapsed, c_lat, c_status = asyncio.run(run_load(reqs, args.concurrency))

        import base64

        bare_port = free_port()
        bare = subprocess.Popen(
            [sys.executable, "-c", BARE_SERVER, str(bare_port), str(status), ctype, base64.b64encode(body).decode()],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        procs.append(bare)
        bare_url = f"http://127.0.0.1:{bare_port}"
        wait_http(bare_url + "/")
        bare_reqs = [(bare_url + "/", h) for _, h in reqs]
        asyncio.run(run_load(bare_reqs[:50], args.concurrency))
        b_elapsed, b_lat, b_status = asyncio.run(run_load(bare_reqs, args.concurrency))

        c_rps, b_rps = len(c_lat) / c_elapsed, len(b_lat) / b_elapsed
        result = {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "cloudlet": {"rps": round(c_rps), "p50_ms": round(pct(c_lat, 50), 2), "p99_ms": round(pct(c_lat, 99), 2),
                         "statuses": c_status},
            "bare_aiohttp": {"rps": round(b_rps), "p50_ms": round(pct(b_lat, 50), 2),
                             "p99_ms": round(pct(b_lat, 99), 2)},
            "ratio_rps_cloudlet_vs_bare": round(c_rps / b_rps, 3),
            "start_to_healthy_s": round(statistics.median(starts), 3),
        }
        print(f"sts:GetCallerIdentity via cloudlet: {c_rps:.0f} req/s, p50 {pct(c_lat, 50):.2f} ms, "
              f"p99 {pct(c_lat, 99):.2f} ms  (statuses {c_status})")
        print(f"bare aiohttp, same bytes:          {b_rps:.0f} req/s, p50 {pct(b_lat, 50):.2f} ms, "
              f"p99 {pct(b_lat, 99):.2f} ms")
        print(f"ratio cloudlet/bare: {c_rps / b_rps:.2f}")
        print(json.dumps(result))
    finally:
        for p in procs:
            terminate_tree(p.pid)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
