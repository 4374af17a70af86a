"""A private, short directory for this user's unix sockets.

Unix socket paths are limited to 108 bytes, so a socket whose natural place (under a
deep data dir) is too long lives here instead. /tmp is shared by every user: a fixed
name there, created by one user, would be unusable by the next (or, worse, owned by
someone else), so the directory is per user (its uid in the name), mode 0700, and
refused when it is not ours.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

# sun_path is 108 bytes including the terminating NUL.
SOCKET_PATH_LIMIT = 107


def _candidates() -> list[Path]:
    uid = os.geteuid()
    found: list[Path] = []
    # Only our own: after `su` it may still name the first user's directory.
    xdg = os.environ.get("XDG_RUNTIME_DIR", "")
    if xdg and os.path.isabs(xdg) and os.path.isdir(xdg) and os.stat(xdg).st_uid == uid:
        found.append(Path(xdg) / "cloudlet")
    found.append(Path(tempfile.gettempdir()) / f"cloudlet-{uid}")
    found.append(Path("/tmp") / f"cloudlet-{uid}")
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return unique


def ensure_private_dir(path: Path) -> Path:
    """Create PATH mode 0700, or accept it if it is already a real directory of ours."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise PermissionError(f"{path} exists and is not a directory")
    if st.st_uid != os.geteuid():
        raise PermissionError(
            f"{path} belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()}); "
            "remove it or point TMPDIR elsewhere"
        )
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def private_socket_dir(room: int) -> Path:
    """Where this user's sockets go: the first candidate in which a ROOM-byte file name
    fits. Only chooses; ensure_private_dir makes (and checks) it before a socket is bound."""
    for candidate in _candidates():
        if len(str(candidate)) + 1 + room <= SOCKET_PATH_LIMIT:
            return candidate
    return Path("/tmp") / f"cloudlet-{os.geteuid()}"
