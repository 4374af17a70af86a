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


def environment_pids(body: dict[str, Any]) -> set[tuple[int, str]]:
    """The (host pid, start time) of every process of the execution environment that answered body
    (HANDLER_SRC's reply), taken while it lives: a later environment may get the same namespace
    inode once this one's is freed, and the same pids."""
    if body["pidns"] == os.readlink("/proc/self/ns/pid"):
        pids = [body["pid"]]
    else:
        pids = namespace_pids(body["pidns"])
    return {(pid, _start_time(pid)) for pid in pids}


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def wait_environment_gone(body: dict[str, Any] | set[tuple[int, str]], timeout: float = 5.0) -> bool:
    """True once the execution environment that answered body (or whose environment_pids these are)
    has no process left: its whole PID namespace when it has its own, else its runtime process."""
    procs = environment_pids(body) if isinstance(body, dict) else body
    deadline = time.monotonic() + timeout
    while any(_start_time(pid) == started for pid, started in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
