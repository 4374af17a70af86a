"""Processes for the `cloudlet` command (through psutil): is the server alive, its tree, stopping it.

psutil is imported where it is used: `cloudlet start` runs the server in this process, which
needs none of it (start-up time, idle memory).
"""

from __future__ import annotations

import os
import signal
import time


def pid_alive(pid: int) -> bool:
    """pid runs (a zombie does not count: it has exited, only its parent has not reaped it)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def is_cloudlet(pid: int) -> bool:
    """pid is a live cloudlet, not a stale pid the kernel has given to another program."""
    import psutil

    if not pid_alive(pid):
        return False
    try:
        return any("cloudlet" in part for part in psutil.Process(pid).cmdline())
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # another user's process: its pid file says what it is


def owner_if_foreign(pid: int) -> str | None:
    """The name of pid's user when this process may not signal it (another user's), else None."""
    import psutil

    try:
        os.kill(pid, 0)
        return None
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    try:
        return psutil.Process(pid).username()
    except (psutil.Error, KeyError):
        return "another user"


def descendants(pid: int) -> list[int]:
    """All live descendants of pid, children before their own children."""
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def terminate_tree(pid: int, timeout: float = 10.0) -> None:
    """SIGTERM pid and wait; then SIGKILL it, its process group and every descendant left.

    The tree is read before the signal: children re-parented to init once the server
    has exited are no longer its descendants, and would otherwise be missed.
    """
    tree = descendants(pid)
    try:
        pgid: int | None = os.getpgid(pid)
    except ProcessLookupError:
        pgid = None
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    # Children started in the meantime are caught by this second look.
    survivors = [p for p in dict.fromkeys([pid, *tree, *descendants(pid)]) if pid_alive(p)]
    if pgid is not None and pgid != os.getpgid(0):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for p in survivors:
        _signal(p, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(pid_alive(p) for p in survivors):
        time.sleep(0.05)


def port_holder(port: int) -> str | None:
    """Who listens on TCP port (e.g. "pid 123, python3 -m cloudlet start"), when this user may see it."""
    import psutil

    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for c in conns:
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid:
            try:
                argv = psutil.Process(c.pid).cmdline()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                return f"pid {c.pid}"
            if "cloudlet" in argv and "--data-dir" in argv[:-1]:
                data_dir = argv[argv.index("--data-dir") + 1]
                return f"another cloudlet (pid {c.pid}; `cloudlet stop --data-dir {data_dir}` stops it)"
            return f"pid {c.pid} ({' '.join(argv)[:80]})"
    return None
