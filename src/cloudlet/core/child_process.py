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
from collections.abc import Callable, Collection, Mapping
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


def _setup(before: Callable[[], object] | None, own_group: bool) -> Callable[[], None]:
    def run() -> None:
        # BEFORE first: entering a user namespace there would reset the parent-death signal.
        if before is not None:
            before()
        _die_with_parent()
        if own_group:
            os.setpgid(0, 0)

    return run


async def spawn(
    argv: list[str],
    *,
    cwd: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = asyncio.subprocess.DEVNULL,
    stdout: int | IO[bytes] | None = asyncio.subprocess.DEVNULL,
    stderr: int | IO[bytes] | None = asyncio.subprocess.DEVNULL,
    pass_fds: Collection[int] = (),
    new_session: bool = False,
    executable: str | None = None,
    before_exec: Callable[[], object] | None = None,
) -> asyncio.subprocess.Process:
    """Start argv as a child that dies with cloudlet, in its own process group
    (its own session when new_session: no controlling terminal either). EXECUTABLE runs in
    place of argv[0] (which the child then sees as its name); BEFORE_EXEC runs in the child
    first (entering a namespace)."""
    return await asyncio.create_subprocess_exec(
        *argv,
        executable=executable,
        cwd=None if cwd is None else str(cwd),
        env=None if env is None else dict(env),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        pass_fds=tuple(pass_fds),
        # uvloop has no process_group argument: the group is made before exec.
        preexec_fn=_setup(before_exec, own_group=not new_session),
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
