"""valkey-benchmark through cloudlet's cache endpoint vs. the same valkey's own TLS port.

One valkey-server (unix socket for the proxy, tls-port with a certificate from
cloudlet's CA for the direct run), one DataPlane on uvloop in this process,
50 connections, SET/GET, without and with pipelining (-P 16). Both sides are
warmed up first (keys written, TLS stacks exercised); then direct and proxied
runs alternate --repeat times and the medians are printed (throughput, p50/p99
latency, the proxy/direct ratio), with the CPU time the proxy spent per
request: that figure barely moves with machine load, where throughput does
(on a 2-core machine the benchmark client, valkey and the proxy share the
cores, so the ratio is bounded by the proxy's share of the CPU).

    PYTHONPATH=src python3 bench/bench_dataplane.py [-n REQUESTS] [-c CLIENTS] [-P 1,16] [--repeat 3] [-d BYTES]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import io
import os
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from cloudlet.config import Config  # noqa: E402
from cloudlet.dataplane.server import DataPlane  # noqa: E402
from cloudlet.dataplane.spec import ADMIN_USER, CacheEndpoint, CacheUser, backend_password  # noqa: E402
from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert  # noqa: E402
from cloudlet.services.registry import build_world  # noqa: E402

USER, PASSWORD = "bench-user", "bench-password-123456"


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def start_valkey(work: Path, secret: bytes, tls_port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    chain, key = issue_server_cert(data_dir, ["localhost"], ["127.0.0.1"])
    (work / "tls.crt").write_bytes(chain)
    (work / "tls.key").write_bytes(key)
    (work / "tls.key").chmod(0o600)
    h = lambda pw: hashlib.sha256(pw.encode()).hexdigest()  # noqa: E731
    (work / "users.acl").write_text(
        f"user {ADMIN_USER} on #{h(backend_password(secret, ADMIN_USER))} ~* &* +@all\n"
        f"user {USER} on #{h(backend_password(secret, USER))} >{PASSWORD} ~* &* +@all\n"
        "user default off ~* +@all\n"
    )
    proc = subprocess.Popen(
        [
            "valkey-server", "--port", "0", "--unixsocket", str(work / "valkey.sock"),
            "--save", "", "--appendonly", "no", "--dir", str(work), "--aclfile", str(work / "users.acl"),
            "--tls-port", str(tls_port), "--tls-cert-file", str(work / "tls.crt"),
            "--tls-key-file", str(work / "tls.key"), "--tls-ca-cert-file", str(ca_cert_path(data_dir)),
            "--tls-auth-clients", "no", "--bind", "127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while time.time() < deadline and not (work / "valkey.sock").exists():
        time.sleep(0.05)
    return proc


def tls_of(host: str, port: int) -> str:
    """The protocol and cipher valkey-benchmark's OpenSSL defaults get from this endpoint."""
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=5) as raw, ctx.wrap_socket(raw) as s:
        cipher = s.cipher()
        return f"{s.version()} {cipher[0] if cipher else '?'}"


def benchmark(
    host: str, port: int, n: int, clients: int, pipeline: int, size: int, tests: str = "set,get"
) -> dict[str, dict[str, float]]:
    out = subprocess.run(
        [
            "valkey-benchmark", "-h", host, "-p", str(port), "--tls", "--insecure", "--user", USER,
            "-a", PASSWORD, "-c", str(clients), "-n", str(n), "-t", tests, "-P", str(pipeline),
            "-r", "100000", "-d", str(size), "--csv",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    rows = {}
    for row in csv.DictReader(io.StringIO(out.stdout)):
        rows[row["test"]] = {
            "rps": float(row["rps"]),
            "p50": float(row["p50_latency_ms"]),
            "p99": float(row["p99_latency_ms"]),
        }
    if not rows:
        raise RuntimeError(f"valkey-benchmark failed: {out.stderr or out.stdout}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("-c", type=int, default=50)
    ap.add_argument("-P", default="1,16", help="pipeline depths, comma-separated")
    ap.add_argument("-d", type=int, default=3, help="value size in bytes (valkey-benchmark -d)")
    ap.add_argument("--repeat", type=int, default=3, help="alternating direct/proxied runs; medians shown")
    args = ap.parse_args()
    pipelines = [int(p) for p in args.P.split(",")]
    with tempfile.TemporaryDirectory(prefix="cloudlet-bench-") as tmp:
        work = Path(tmp)
        config = Config.from_env(env={}, data_dir=work / "data")
        world = build_world(config)
        secret = b"bench-secret-0123456789abcdef0123"
        tls_port = free_port("127.0.0.1")
        valkey = start_valkey(work, secret, tls_port, config.data_dir)
        address, port = "127.77.199.9", free_port("127.77.199.9")
        spec = CacheEndpoint(
            name="bench", arn="arn:aws:elasticache:us-east-1:123456789012:serverlesscache:bench",
            account_id="123456789012", region="us-east-1",
            hostname="bench-abc123.serverless.use1.cache.amazonaws.com", address=address,
            valkey_socket=work / "valkey.sock", backend_secret=secret, port=port,
            reader_port=free_port("127.77.199.9"),
            users={USER: CacheUser(USER, USER, "arn:aws:elasticache:us-east-1:123456789012:user:" + USER,
                                   "password", (PASSWORD,), "on ~* +@all")},
        )
        loop = uvloop.new_event_loop()
        threading.Thread(target=loop.run_forever, daemon=True).start()

        async def _open() -> DataPlane:
            dp = DataPlane(world)
            await dp.open_cache(spec)
            return dp

        dp = asyncio.run_coroutine_threadsafe(_open(), loop).result(30)
        try:
            print(f"valkey-benchmark -c {args.c} -n {args.n} -d {args.d}, SET/GET, median of {args.repeat}, "
                  f"load average {os.getloadavg()[0]:.2f}")
            print(f"  direct:   valkey tls-port 127.0.0.1:{tls_port}, {tls_of('127.0.0.1', tls_port)}")
            print(f"  cloudlet: {address}:{port}, {tls_of(address, port)}")
            for host, p in (("127.0.0.1", tls_port), (address, port)):  # warm-up, not measured
                benchmark(host, p, max(args.n // 10, 1000), args.c, 16, args.d, "set")
            print(f"{'test':<8}{'P':>4}  {'direct rps':>12}{'p50':>7}{'p99':>7}  "
                  f"{'cloudlet rps':>12}{'p50':>7}{'p99':>7}  {'ratio':>6}  {'cloudlet CPU us/req':>19}")
            for pipeline in pipelines:
                runs: dict[str, list[dict[str, dict[str, float]]]] = {"direct": [], "proxied": []}
                cpu: list[float] = []
                for _ in range(args.repeat):
                    runs["direct"].append(benchmark("127.0.0.1", tls_port, args.n, args.c, pipeline, args.d))
                    before = time.process_time()  # this process is the proxy; its other threads idle
                    runs["proxied"].append(benchmark(address, port, args.n, args.c, pipeline, args.d))
                    cpu.append((time.process_time() - before) / (2 * args.n) * 1e6)
                for test in ("SET", "GET"):
                    d = {k: statistics.median(r[test][k] for r in runs["direct"]) for k in ("rps", "p50", "p99")}
                    p = {k: statistics.median(r[test][k] for r in runs["proxied"]) for k in ("rps", "p50", "p99")}
                    ratio = statistics.median(
                        pr[test]["rps"] / dr[test]["rps"] for dr, pr in zip(runs["direct"], runs["proxied"], strict=False)
                    )
                    print(f"{test:<8}{pipeline:>4}  {d['rps']:>12.0f}{d['p50']:>7.2f}{d['p99']:>7.2f}  "
                          f"{p['rps']:>12.0f}{p['p50']:>7.2f}{p['p99']:>7.2f}  {ratio:>6.2f}  "
                          f"{statistics.median(cpu):>19.2f}")
        finally:
            asyncio.run_coroutine_threadsafe(dp.stop(), loop).result(30)
            loop.call_soon_threadsafe(loop.stop)
            valkey.terminate()
            valkey.wait(5)


if __name__ == "__main__":
    main()
