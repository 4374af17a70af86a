"""`cloudlet start` asked to stop when the process that started it dies (CLOUDLET_EXIT_WITH_PARENT).

For harnesses (test fixtures, benches) that start a server in a session of its own: if the
harness is killed from outside (SIGKILL, no cleanup), nothing else would ever stop the
server. Linux's parent-death signal (prctl PR_SET_PDEATHSIG) sends SIGTERM to this process
when its parent thread ends, so the server stops as on `cloudlet stop` (its caches' valkeys
and Lambda environments with it; they already die with cloudlet, core/child_process.py).
A new session or process group does not clear it.

Two limits, both said in docs/CONFIGURATION.md: the signal follows the parent *thread*
that spawned this process (a harness must spawn from a thread that lives as long as it
does), and a parent that died before the signal was armed is seen by comparing the parent
pid with the one this module saw when it was first imported, early in start-up.
"""

from __future__ import annotations

import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1

# The parent as the process first saw it (imported by cli.py before anything slow runs).
STARTED_BY = os.getppid()


class ParentGone(Exception):
    """The parent died before the parent-death signal was armed."""


def exit_with_parent() -> None:
    """SIGTERM to this process when its parent dies; ParentGone if it already has."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_PDEATHSIG): {os.strerror(err)}")
    if os.getppid() != STARTED_BY:  # reparented already: the signal will never come
        raise ParentGone(f"the process that started cloudlet (pid {STARTED_BY}) has already exited")
