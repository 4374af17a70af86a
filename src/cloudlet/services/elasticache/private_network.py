"""A network namespace of its own for each cache's valkey, entered between fork and exec.

Valkey in cluster mode must listen on a TCP port for the cluster bus even though
clients reach it through the unix socket. The bus has no authentication: anyone who
can connect could MEET the node into a cluster of their own and take its slots.
In a private network namespace the bus is bound to a loopback nobody else shares,
while the unix socket (a file) stays reachable for the data plane. Root enters one
directly; other users through an unprivileged user namespace that maps only their
own uid and gid. Where neither is allowed the bus stays on the host's loopback
(ValkeyProcess checks and logs which one it got).
"""

from __future__ import annotations

import ctypes
import os

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000


def _write(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def enter() -> bool:
    """Move the calling (single-threaded, just forked) process into a new network namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    if os.geteuid() == 0 and libc.unshare(CLONE_NEWNET) == 0:
        return True
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return False
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        return False
    return True
