"""Starting and ending cloudlet's child processes (valkey-servers, Lambda environments).

Every child gets a parent-death signal (SIGKILL when cloudlet dies, even by
SIGKILL) and leads its own process group, so a terminal's Ctrl-C reaches only
cloudlet (which then stops its children in order) and one killpg ends a child
with everything it started that stayed in its group.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the parent (cloudlet) dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


def _own_group() -> None:
    _die_with_parent()
    os.setpgid(0, 0)


async def spawn(
    argv: list[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdout: int | IO[bytes] | None = asyncio.subprocess.DEVNULL,
    stderr: int | IO[bytes] | None = asyncio.subprocess.DEVNULL,
    pass_fds: Collection[int] = (),
    new_session: bool = False,
) -> asyncio.subprocess.Process:
    """Start argv as a child that dies with cloudlet, in its own process group
    (its own session when new_session: no controlling terminal either)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        cwd=None if cwd is None else str(cwd),
        env=None if env is None else dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        pass_fds=tuple(pass_fds),
        # uvloop has no process_group argument: the group is made before exec.
        preexec_fn=_die_with_parent if new_session else _own_group,
        start_new_session=new_session,
    )


def kill_tree(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL proc's process group (proc leads it; see spawn). No-op once it has exited."""
    if proc.returncode is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:
        # Not a group leader after all (should not happen): at least the process itself.
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
