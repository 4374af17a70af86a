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
import fcntl
import os
import socket
import struct

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


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
        return _loopback_up()
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return False
    try:
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    except OSError:
        return False
    return _loopback_up()


def _loopback_up() -> bool:
    """A new namespace's loopback starts down; the replica reaches its primary over it."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            flags = struct.unpack("16sh", fcntl.ioctl(s, _SIOCGIFFLAGS, struct.pack("16sh", b"lo", 0)))[1]
            fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sh", b"lo", flags | _IFF_UP))
    except OSError:
        return False
    return True


def join(pid: int) -> None:
    """Enter the network namespace of process PID (its primary, for a replica); as a
    non-root user through that process's user namespace first. Failures leave the
    caller where it is (then both share the host's namespace anyway)."""
    libc = ctypes.CDLL(None, use_errno=True)
    kinds = [("net", CLONE_NEWNET)] if os.geteuid() == 0 else [("user", CLONE_NEWUSER), ("net", CLONE_NEWNET)]
    for kind, flag in kinds:
        try:
            fd = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY)
        except OSError:
            return
        try:
            libc.setns(fd, flag)
        finally:
            os.close(fd)
