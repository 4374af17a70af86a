"""What `cloudlet start` checks before it starts: a data dir it can write, a port it can listen on.

Each failure is one line naming the path or address, the reason and, where there is
one, the fix; the command exits non-zero with it instead of a traceback.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path


class CliError(Exception):
    """A failure the user can act on: printed as one `cloudlet: ...` line, exit status `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


DATA_DIR_FIX = "choose another with --data-dir or CLOUDLET_DATA_DIR"


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def check_data_dir(path: Path) -> None:
    """path exists (made if missing) and this user can create files in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise CliError(f"cannot use data dir {path}: it exists and is not a directory; {DATA_DIR_FIX}") from None
    except OSError as e:
        where = f" ({e.filename})" if e.filename and str(e.filename) != str(path) else ""
        raise CliError(f"cannot create data dir {path}: {_reason(e)}{where}; {DATA_DIR_FIX}") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CliError(f"cannot write to data dir {path}: {_reason(e)}; {DATA_DIR_FIX}") from None


def unprivileged_port_start() -> int:
    """The lowest port a user without CAP_NET_BIND_SERVICE may listen on (Linux sysctl)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def check_port(host: str, port: int, who: Callable[[], str | None] | None = None) -> None:
    """Listening on host:port would work now (the server binds it a moment later).

    SO_REUSEADDR as the server sets it: a port held only by TIME_WAIT connections is free.
    `who()` names who listens there, asked only when the port is taken.
    """
    where = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise CliError(f"cannot listen on {where}: host {host!r} does not resolve ({e.strerror}); "
                       "choose another with --host or CLOUDLET_HOST") from None
    for family, kind, proto, _, addr in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(addr)
            except OSError as e:
                holder = who() if who is not None and e.errno == errno.EADDRINUSE else None
                raise CliError(port_error(host, port, e, holder)) from None


def port_error(host: str, port: int, e: OSError, holder: str | None = None) -> str:
    """The one line for a failed bind, with the fix."""
    where = f"{host}:{port}"
    if e.errno == errno.EADDRINUSE:
        by = f" by {holder}" if holder else ""
        return (f"cannot listen on {where}: the port is in use{by}; choose another with --port or "
                f"CLOUDLET_PORT (and `cloudlet env` then points clients at it)")
    if e.errno == errno.EACCES and port < unprivileged_port_start():
        return (f"cannot listen on {where}: ports below {unprivileged_port_start()} need root on this machine; "
                f"choose a port from {unprivileged_port_start()} up with --port or CLOUDLET_PORT (default 4566)")
    if e.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen on {where}: {host} is not an address of this machine; "
                "choose another with --host or CLOUDLET_HOST (default 127.0.0.1)")
    return f"cannot listen on {where}: {_reason(e)}"
