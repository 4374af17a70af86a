"""Helpers for tests that check cloudlet's child processes die with it."""

from __future__ import annotations

import os
import time


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
