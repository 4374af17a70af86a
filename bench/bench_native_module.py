"""What the native data plane's C parts cost by themselves: valkey-benchmark against a valkey-server
--tls in cluster mode with handoff.so preloaded (every connection accepted by this script and its
fd passed over the hand-off socket) and cloudlet_module.so loaded (AUTH through a verifier here,
the command filter on every request, maxargs, the containers of a serverless cache), against the
same valkey-server without them, in the same run, cases interleaved.

Informative (no GOAL line): the goal is end to end, through cloudlet (bench_dataplane.py); this
bench says how much of any gap the module and the shim make.

    .venv/bin/python bench/bench_native_module.py [--repeat N] [--requests N]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from cloudlet.dataplane.commands import PARTIAL
from cloudlet.dataplane.native.build import NativeBuildError, native_artifacts
from cloudlet.dataplane.tls import ca_cert_path, issue_server_cert

USER, PASSWORD = "bench", "bench-password-0123456789"
ADMIN, ADMIN_PASSWORD = b"cloudlet-admin", os.urandom(16).hex().encode()
CASES = [(1, 1), (1, 16), (50, 1), (50, 16)]  # (connections, pipeline)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_verifier(path: Path) -> None:
    """The bench's own admin ("ADMIN", for CLUSTER ADDSLOTSRANGE); every other login is left to
    valkey's own ACL ("NEXT"): the module's auth path either way."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(256)

    def answer(conn: socket.socket) -> None:
        with conn:
            f = conn.makefile("rb")
            head = f.readline(256).split()
            user = f.read(int(head[3]))
            password = f.read(int(head[4]))
            conn.sendall(b"ADMIN\n" if (user, password) == (ADMIN, ADMIN_PASSWORD) else b"NEXT\n")

    def serve() -> None:
        while True:
            conn, _ = sock.accept()
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def pass_fds(listener: socket.socket, handoff: socket.socket) -> None:
    """cloudlet's acceptor, reduced: accept, send the fd to valkey, close our copy."""
    def serve() -> None:
        while True:
            conn, _ = listener.accept()
            with conn:
                socket.send_fds(handoff, [b"c"], [conn.fileno()])

    threading.Thread(target=serve, daemon=True).start()


def start(work: Path, native: bool) -> tuple[subprocess.Popen[bytes], int]:
    work.mkdir(parents=True)
    chain, key = issue_server_cert(work / "ca", ["localhost"], ["127.0.0.1"])
    (work / "tls.crt").write_bytes(chain)
    (work / "tls.key").write_bytes(key)
    (work / "users.acl").write_text(f"user {USER} on >{PASSWORD} ~* &* +@all\nuser default off\n")
    port = free_port()
    argv = ["valkey-server", "--port", "0", "--save", "", "--appendonly", "no", "--dir", str(work),
            "--aclfile", str(work / "users.acl"), "--bind", "127.0.0.1", "--tls-port", str(port),
            "--tls-cert-file", str(work / "tls.crt"), "--tls-key-file", str(work / "tls.key"),
            "--tls-ca-cert-file", str(ca_cert_path(work / "ca")), "--tls-auth-clients", "no",
            "--cluster-enabled", "yes", "--cluster-port", str(free_port()),
            "--cluster-config-file", str(work / "nodes.conf"), "--unixsocket", str(work / "valkey.sock"),
            "--logfile", str(work / "valkey.log")]
    env = dict(os.environ)
    pass_on: tuple[int, ...] = ()
    if native:
        built = native_artifacts()
        serve_verifier(work / "verifier.sock")
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(512)
        port = int(listener.getsockname()[1])
        argv[argv.index("--tls-port") + 1] = str(port)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pass_fds(listener, ours)
        containers = [a for name, subs in PARTIAL.items()
                      for a in ("container", name.decode(), ",".join(s.decode().lower() for s in subs))]
        argv += ["--loadmodule", str(built.module), "verifier", str(work / "verifier.sock"), *containers,
                 "maxargs", "3999"]
        env.update(LD_PRELOAD=str(built.handoff), CLOUDLET_HANDOFF=f"{theirs.fileno()}:{port}")
        pass_on = (theirs.fileno(),)
    proc = subprocess.Popen(argv, env=env, pass_fds=pass_on, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    login = (ADMIN.decode(), ADMIN_PASSWORD.decode()) if native else (USER, PASSWORD)
    cli = ["valkey-cli", "-s", str(work / "valkey.sock"), "--user", login[0], "-a", login[1], "--no-auth-warning"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        got = subprocess.run([*cli, "CLUSTER", "INFO"], capture_output=True, text=True, timeout=10).stdout
        if "cluster_state:ok" in got:
            return proc, port
        if "cluster_slots_assigned:0" in got:
            subprocess.run([*cli, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"], capture_output=True, timeout=10)
        time.sleep(0.05)
    proc.kill()
    log = (work / "valkey.log").read_text() if (work / "valkey.log").exists() else ""
    raise RuntimeError(f"valkey-server ({'native' if native else 'bare'}) did not start: {log[-1500:]}")


def run(port: int, clients: int, pipeline: int, n: int) -> tuple[float, float]:
    """SET and GET, -d 3: the harmonic mean of their rates, the worse p99 (ms)."""
    out = subprocess.run(["valkey-benchmark", "-h", "127.0.0.1", "-p", str(port), "--tls", "--insecure",
                          "--user", USER, "-a", PASSWORD, "-c", str(clients), "-n", str(n), "-P", str(pipeline),
                          "-t", "set,get", "-r", "100000", "-d", "3", "--csv"],
                         capture_output=True, text=True, timeout=600)
    rows = {row["test"]: row for row in csv.DictReader(io.StringIO(out.stdout))}
    if set(rows) != {"SET", "GET"}:
        raise RuntimeError(f"valkey-benchmark failed: {out.stderr.strip() or out.stdout.strip()}")
    rps = [float(rows[t]["rps"]) for t in ("SET", "GET")]
    return 2 / sum(1 / r for r in rps), max(float(rows[t]["p99_latency_ms"]) for t in ("SET", "GET"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--requests", type=int, default=50000, help="per case at pipeline 1 (x4 at 16)")
    args = ap.parse_args()
    for tool in ("valkey-server", "valkey-benchmark", "valkey-cli"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print(f"{tool} not found; skipping the native module bench")
            return 0
    try:
        native_artifacts()
    except NativeBuildError as e:
        print(f"skipping the native module bench: {e}")
        return 0
    with tempfile.TemporaryDirectory(prefix="cloudlet-bench-native-") as tmp:
        bare, bare_port = start(Path(tmp) / "bare", native=False)
        native, native_port = start(Path(tmp) / "native", native=True)
        try:
            print(f"valkey-benchmark SET/GET -d 3 over TLS, cluster mode both; median of {args.repeat}; "
                  f"load average {os.getloadavg()[0]:.2f}")
            print(f"{'conns':>5} {'pipe':>4} {'bare rps':>10} {'native rps':>10} {'ratio':>6} "
                  f"{'bare p99':>9} {'nat p99':>8} {'p99 x':>6}")
            for clients, pipeline in CASES:
                n = args.requests * (4 if pipeline > 1 else 1)
                bare_runs, native_runs = [], []
                for _ in range(args.repeat):  # interleaved, so load changes hit both
                    bare_runs.append(run(bare_port, clients, pipeline, n))
                    native_runs.append(run(native_port, clients, pipeline, n))
                b_rps = statistics.median(r[0] for r in bare_runs)
                n_rps = statistics.median(r[0] for r in native_runs)
                b_p99 = statistics.median(r[1] for r in bare_runs)
                n_p99 = statistics.median(r[1] for r in native_runs)
                print(f"{clients:>5} {pipeline:>4} {b_rps:>10.0f} {n_rps:>10.0f} {n_rps / b_rps:>6.2f} "
                      f"{b_p99:>9.3f} {n_p99:>8.3f} {n_p99 / b_p99 if b_p99 else 0:>6.2f}", flush=True)
        finally:
            for proc in (bare, native):
                proc.terminate()
                proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
