"""MemorySize as a limit: sampling an execution environment's memory and stopping it past the limit.

No cgroup is used: this machine (and a user without a delegated cgroup v2
subtree) cannot put a sandbox in its own memory cgroup, so cloudlet samples the
resident memory of every process in the environment (through the sandbox's own
/proc, which lists exactly its PID namespace) every SAMPLE_S, and SIGKILLs the
environment when the sum passes MemorySize, as AWS's hard limit would. What
this does not catch: a spike that rises and falls between two samples, and
memory not resident in a process (the /tmp tmpfs, kernel buffers, page cache).
Without a sandbox only the runtime process itself is counted.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.services.lambda_.environment import Environment

log = logging.getLogger(__name__)

SAMPLE_S = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss(statm: str) -> int:
    try:
        with open(statm) as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


def resident_bytes(pid: int, whole_namespace: bool) -> int:
    """Resident memory of pid, or of every process in its PID namespace (seen through its /proc)."""
    if not whole_namespace:
        return _rss(f"/proc/{pid}/statm")
    proc = f"/proc/{pid}/root/proc"
    try:
        entries = os.listdir(proc)
    except OSError:
        return _rss(f"/proc/{pid}/statm")
    return sum(_rss(f"{proc}/{e}/statm") for e in entries if e.isdigit())


def peak_bytes(pid: int) -> int:
    """The process's own high-water mark of resident memory (VmHWM).

    Read once per invoke: one raw read and a search of the bytes, not a decoded walk of
    the file's ~55 lines."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
    except OSError:
        return 0
    try:
        data = os.read(fd, 8192)  # the whole file (~1.5 KiB)
    except OSError:
        return 0
    finally:
        os.close(fd)
    at = data.find(b"\nVmHWM:")
    if at < 0:
        return 0
    try:
        return int(data[at + 7:data.index(b"kB", at)]) * 1024
    except ValueError:
        return 0


def to_mb(n: int) -> int:
    return math.ceil(n / (1024 * 1024))


async def watch(environments: Callable[[], Iterable[Environment]]) -> None:
    """Forever: sample every live environment; stop those past their MemorySize."""
    while True:
        await asyncio.sleep(SAMPLE_S)
        for env in list(environments()):
            try:
                env.check_memory()
            except Exception:
                log.exception("memory sample of an environment of %s failed", env.fv.name)
