"""The `cloudlet` command: start, stop, status, env, hosts, ca."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from cloudlet.config import Config

# The server (server.py) writes this file and answers on this path; the commands read them.
PID_FILE = "cloudlet.pid"
HEALTH_PATH = "/_cloudlet/health"


def _config(args: argparse.Namespace) -> Config:
    return Config.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=Path(args.data_dir).expanduser().resolve() if getattr(args, "data_dir", None) else None,
    )


def fetch_health(endpoint: str, timeout: float = 1.0) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(endpoint + HEALTH_PATH, timeout=timeout) as r:
            data: dict[str, object] = json.loads(r.read())
            return data
    except (OSError, ValueError, urllib.error.URLError):
        return None


def read_pid_file(data_dir: Path) -> dict[str, object] | None:
    try:
        info: dict[str, object] = json.loads((data_dir / PID_FILE).read_text())
        return info
    except (OSError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def server_alive(info: dict[str, object] | None) -> bool:
    """The pid file names a live cloudlet (not a stale pid reused by another program)."""
    if not info or not str(info.get("pid", "")).isdigit():
        return False
    pid = int(str(info["pid"]))
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"cloudlet" in f.read()
    except OSError:
        return True


def running_server(data_dir: Path) -> dict[str, object] | None:
    """The pid file's record when it names a live cloudlet, else None."""
    info = read_pid_file(data_dir)
    return info if server_alive(info) else None


def descendants(pid: int) -> list[int]:
    """All live descendants of pid (from /proc), children first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out: list[int] = []
    todo = [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def terminate_tree(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM pid and wait; then SIGKILL it, its process group and every descendant left."""
    tree = descendants(pid)
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        pgid = None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    # Children re-parented to init after the server exited are still in `tree`.
    survivors = [p for p in [pid, *tree] if pid_alive(p)]
    if pgid is not None and pgid != os.getpgid(0):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in survivors:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_alive(p) for p in survivors):
        time.sleep(0.05)


# ---------------------------------------------------------------------------
# Commands


def cmd_start(args: argparse.Namespace) -> int:
    config = _config(args)
    running = running_server(config.data_dir)
    if running and running.get("pid") != os.getpid():
        print(f"cloudlet is already running (pid {running['pid']}) at {running['endpoint']}", file=sys.stderr)
        return 1
    from cloudlet.services.elasticache.valkey_binary import valkey_warning

    warning = valkey_warning(config.valkey_server)
    if warning:
        print(warning, file=sys.stderr)
    from cloudlet.services.lambda_.sandbox import IsolationUnavailable, isolation_for

    if config.lambda_isolation == "on":
        # Refused before anything starts; otherwise the probe overlaps the server's start.
        try:
            isolation_for(config)
        except IsolationUnavailable as e:
            print(f"cloudlet: {e}", file=sys.stderr)
            return 1
    if not args.detach:
        from cloudlet.server import run_forever

        return run_forever(config)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    (config.data_dir / "logs").mkdir(exist_ok=True)
    t0 = time.monotonic()
    cmd = [
        sys.executable, "-m", "cloudlet", "start",
        "--host", config.host, "--port", str(config.port), "--data-dir", str(config.data_dir),
    ]
    # Its own session: the server leads a process group its children join.
    with open(config.data_dir / "logs" / "server.out", "ab") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True, close_fds=True
        )
    # The server logs this too; the terminal of a detached start sees it here, once.
    isolation_warning = isolation_for(config).warning()
    if isolation_warning:
        print(isolation_warning, file=sys.stderr)
    deadline = t0 + args.timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (config.data_dir / "logs" / "server.out").read_text(errors="replace")[-2000:]
            print(f"cloudlet failed to start (exit {proc.returncode}):\n{tail}", file=sys.stderr)
            return 1
        info = read_pid_file(config.data_dir)
        if info and info.get("pid") == proc.pid and fetch_health(config.endpoint_url, 0.5) is not None:
            print(f"cloudlet running at {config.endpoint_url} (pid {proc.pid}, healthy in "
                  f"{time.monotonic() - t0:.2f} s, data dir {config.data_dir})")
            return 0
        time.sleep(0.02)
    terminate_tree(proc.pid)
    print(f"cloudlet did not become healthy within {args.timeout} s", file=sys.stderr)
    return 1


def cmd_stop(args: argparse.Namespace) -> int:
    config = _config(args)
    info = running_server(config.data_dir)
    if info is None:
        print("cloudlet is not running")
        (config.data_dir / PID_FILE).unlink(missing_ok=True)
        return 0
    pid = int(str(info["pid"]))
    terminate_tree(pid, timeout=args.timeout)
    (config.data_dir / PID_FILE).unlink(missing_ok=True)
    print(f"cloudlet stopped (pid {pid})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    config = _config(args)
    info = running_server(config.data_dir)
    if info is None:
        print("cloudlet: not running")
        return 3
    endpoint = str(info["endpoint"])
    health = fetch_health(endpoint)
    print(f"cloudlet: running (pid {info['pid']})")
    print(f"endpoint: {endpoint}")
    if health is None:
        print("health: not answering")
        return 1
    print(f"version: {health.get('version')}")
    services = health.get("services") or {}
    assert isinstance(services, dict)
    for name, state in services.items():
        print(f"  {name}: {state}")
    lines = health.get("status_lines") or []
    assert isinstance(lines, list)
    for line in lines:
        print(f"  {line}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    import shlex

    config = _config(args)
    # An explicit --port names another server than the one the pid file records.
    info = running_server(config.data_dir) if getattr(args, "port", None) is None else None
    endpoint = str(info["endpoint"]) if info else config.endpoint_url
    for name, value in (
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", config.access_key_id),
        ("AWS_SECRET_ACCESS_KEY", config.secret_access_key),
        ("AWS_DEFAULT_REGION", config.region),
    ):
        print(f"export {name}={shlex.quote(value)}")
    return 0


def cmd_hosts(args: argparse.Namespace) -> int:
    config = _config(args)
    path = config.data_dir / "hosts"
    if path.exists():
        sys.stdout.write(path.read_text())
    return 0


def cmd_ca(args: argparse.Namespace) -> int:
    config = _config(args)
    path = config.data_dir / "ca" / "ca.pem"
    print(path)
    if not path.exists():
        print("(not created yet: cloudlet creates it when it starts)", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cloudlet", description="AWS ElastiCache Serverless + IAM + Lambda, locally.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data-dir", help="state directory (CLOUDLET_DATA_DIR, default ~/.cloudlet)")

    s = sub.add_parser("start", help="run the server (foreground; -d to detach)")
    common(s)
    s.add_argument("--host", help="listen address (CLOUDLET_HOST)")
    s.add_argument("--port", type=int, help="listen port (CLOUDLET_PORT)")
    s.add_argument("-d", "--detach", action="store_true", help="run in the background")
    s.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for health with -d")
    s.set_defaults(func=cmd_start)
    s = sub.add_parser("stop", help="stop the detached server and all its children")
    common(s)
    s.add_argument("--timeout", type=float, default=15.0)
    s.set_defaults(func=cmd_stop)
    s = sub.add_parser("status", help="is it running, endpoint, services, caches")
    common(s)
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("env", help="print export lines for AWS clients")
    common(s)
    s.add_argument("--port", type=int)
    s.set_defaults(func=cmd_env)
    s = sub.add_parser("hosts", help="print /etc/hosts lines for the caches' endpoints")
    common(s)
    s.set_defaults(func=cmd_hosts)
    s = sub.add_parser("ca", help="print the path of the data plane's CA certificate")
    common(s)
    s.set_defaults(func=cmd_ca)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rc: int = args.func(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
