"""Start to first answer and idle memory: cloudlet vs moto server and MiniStack, same run, same way.

The first answer is the first successful signed API call: sts:GetCallerIdentity, signed
with SigV4 as boto3 signs it, sent over a fresh connection every 5 ms from the moment the
server's process is spawned until one is answered 200 (a refused connection or an error
status is a retry). Each server is started the same way: `python -m <its module>` (its
console script's module) on a free port, with its own empty data dir, from a cold start of
its interpreter (bytecode already compiled: each is started once before it is timed).

Idle memory: the resident set (RSS) of the whole process tree (the server and every
descendant, as psutil sees it) after the first answer and IDLE seconds of nothing; no
caches, no functions. cloudlet's is summed the same way.

The peers are installed with pip into a throwaway virtualenv (PEERS_VENV, default
/tmp/cloudlet-bench-peers) the first time; a peer that cannot be installed or started is
reported SKIPPED with the reason.

    python bench/bench_startup.py [--starts 5] [--idle 3]
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import free_port  # noqa: E402
from goals import goal_missing, report  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
PEERS_VENV = Path(os.environ.get("PEERS_VENV", "/tmp/cloudlet-bench-peers"))
START_GOAL, RSS_GOAL = "start to first answer", "idle RSS (process tree)"


@dataclass
class Server:
    name: str
    # (port, data dir) -> argv and extra environment
    command: Callable[[int, Path], tuple[list[str], dict[str, str]]]


def signed_call(port: int) -> tuple[bytes, dict[str, str]]:
    req = AWSRequest("POST", f"http://127.0.0.1:{port}/", data=BODY,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(KEY, SECRET), "sts", "us-east-1").add_auth(req)
    return BODY, {k: str(v) for k, v in req.prepare().headers.items()}


def first_answer(port: int, proc: subprocess.Popen[bytes], t0: float, timeout: float = 60) -> float:
    """Seconds from T0 to the first 200 answer to a signed GetCallerIdentity."""
    body, headers = signed_call(port)
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode} before answering")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.005)
    raise RuntimeError(f"no answer within {timeout} s")


def tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, 15)
        proc.wait(10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:
            pass
        proc.wait()


def run_once(server: Server, idle: float | None) -> tuple[float, int | None]:
    """One cold start: (seconds to first answer, tree RSS after IDLE s or None)."""
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix=f"bench-start-{server.name}-"))
    argv, extra = server.command(port, data)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLET_"))}
    env.update(extra)
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        took = first_answer(port, proc, t0)
        rss = None
        if idle is not None:
            time.sleep(idle)
            rss = tree_rss(proc.pid)
        return took, rss
    finally:
        stop(proc)
        shutil.rmtree(data, ignore_errors=True)


def cloudlet_server() -> Server:
    def command(port: int, data: Path) -> tuple[list[str], dict[str, str]]:
        return ([sys.executable, "-m", "cloudlet", "start", "--port", str(port), "--data-dir", str(data / "cloudlet")],
                {"PYTHONPATH": str(REPO / "src"), "CLOUDLET_LOG_LEVEL": "WARNING", "CLOUDLET_EXIT_WITH_PARENT": "1"})
    return Server("cloudlet", command)


def peer_servers() -> tuple[list[Server], list[tuple[str, str]]]:
    """The peers that are installed (installing them the first time), and (name, reason) for the others."""
    py = PEERS_VENV / "bin" / "python"
    skipped: list[tuple[str, str]] = []
    if not py.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True, capture_output=True)
        except subprocess.CalledProcessError as e:
            return [], [(n, f"no virtualenv: {e.stderr.decode()[-200:]}") for n in ("moto", "MiniStack")]
    peers: list[Server] = []
    for name, requirement, module in (("moto", "moto[server]", "moto.server"), ("MiniStack", "ministack", "ministack")):
        have = subprocess.run([str(py), "-c", f"import {module.split('.')[0]}"], capture_output=True).returncode == 0
        if not have:
            print(f"installing {requirement} into {PEERS_VENV} ...", flush=True)
            r = subprocess.run([str(py), "-m", "pip", "install", "-q", requirement], capture_output=True, text=True)
            if r.returncode != 0:
                skipped.append((name, f"pip install {requirement} failed: {r.stderr.strip()[-200:]}"))
                continue
        peers.append(Server(name, _peer_command(name, py)))
    return peers, skipped


def _peer_command(name: str, py: Path) -> Callable[[int, Path], tuple[list[str], dict[str, str]]]:
    def moto(port: int, data: Path) -> tuple[list[str], dict[str, str]]:
        return [str(py), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {}

    def ministack(port: int, data: Path) -> tuple[list[str], dict[str, str]]:
        return [str(py), "-m", "ministack"], {"GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1"}

    return moto if name == "moto" else ministack


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=5, help="timed cold starts per server")
    ap.add_argument("--idle", type=float, default=3.0, help="seconds idle before RSS is read")
    args = ap.parse_args()
    servers = [cloudlet_server()]
    peers, skipped = peer_servers()
    servers += peers
    starts: dict[str, list[float]] = {s.name: [] for s in servers}
    rss: dict[str, int] = {}
    failed: dict[str, str] = {}
    for s in servers:  # untimed: bytecode compiled, files in the page cache
        try:
            run_once(s, None)
        except RuntimeError as e:
            failed[s.name] = str(e)
    live = [s for s in servers if s.name not in failed]
    for i in range(args.starts):  # interleaved, so machine load falls on all alike
        for s in live if i % 2 == 0 else live[::-1]:
            took, mem = run_once(s, args.idle if i == 0 else None)
            starts[s.name].append(took)
            if mem is not None:
                rss[s.name] = mem
    for s in live:
        xs = starts[s.name]
        print(f"{s.name:10s} start to first answer: median {statistics.median(xs):.3f} s "
              f"(min {min(xs):.3f}, max {max(xs):.3f}, {len(xs)} starts); idle tree RSS {rss[s.name] / 2**20:.1f} MiB")
    if "cloudlet" in failed:
        print(f"cloudlet did not start: {failed['cloudlet']}")
        return 1
    c_start, c_rss = statistics.median(starts["cloudlet"]), rss["cloudlet"] / 2**20
    for name, why in skipped + [(n, f"did not start: {w}") for n, w in failed.items()]:
        print(goal_missing(START_GOAL, name, why))
        print(goal_missing(RSS_GOAL, name, why))
    for s in peers:
        if s.name in failed:
            continue
        report(START_GOAL, c_start, "s", s.name, statistics.median(starts[s.name]), "<=", 0.3)
        report(RSS_GOAL, c_rss, "MiB", s.name, rss[s.name] / 2**20, "<=", 50)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
