"""Helpers for tests that check cloudlet's child processes die with it."""

from __future__ import annotations

import os
import time
from typing import Any


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    """True once no process has this pid (within timeout); reaps it if it is our own child."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie child of ours still answers kill(0) until reaped
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


def namespace_pids(pidns: str) -> list[int]:
    """Host pids of the processes in a PID namespace (pidns as readlink("/proc/PID/ns/pid") shows it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.readlink(f"/proc/{entry}/ns/pid") != pidns:
                    continue
                with open(f"/proc/{entry}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        continue  # dead, waiting to be reaped
            except (OSError, IndexError):
                continue
            found.append(int(entry))
    return found


def _started(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None once it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] == "Z" else int(fields[19])


def environment_processes(body: dict[str, Any]) -> set[tuple[int, int]]:
    """The processes of the execution environment that answered body (HANDLER_SRC's or DAEMON's
    reply), as (host pid, start time): its whole PID namespace when it has its own, else its
    runtime process and daemon. Taken while it lives: a namespace's id and a pid are reused."""
    if body["pidns"] == os.readlink("/proc/self/ns/pid"):
        pids = [body["pid"], *([body["daemon"]] if "daemon" in body else [])]
    else:
        pids = namespace_pids(body["pidns"])
    return {(pid, started) for pid in pids if (started := _started(pid)) is not None}


def wait_environment_gone(processes: set[tuple[int, int]], timeout: float = 5.0) -> bool:
    """True once none of these processes (environment_processes) is left, within timeout."""
    deadline = time.monotonic() + timeout
    while any(_started(pid) == started for pid, started in processes):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
