"""Pre-started launchers: sandboxes with the runtime loaded, waiting for a function.

A cold start spends most of its time before the function's own code runs:
bubblewrap making the namespaces, the interpreter starting, awslambdaric loading.
This pool does that ahead of need, in the background, for each shape of sandbox
some function uses (a Python runtime and an EphemeralStorage size, the two things
fixed when bwrap makes the sandbox). A launcher is taken by exactly one
environment (environment.py), never reused; the pool refills once the taker is up.

The sandbox's /var/task is a directory of its own (a slot) that is empty until a
function takes the launcher; then the function's code is hard-linked into it
(one link per file: no copy, and the sandbox sees it read-only as always). The
function's variables, credentials and listening addresses reach the launcher over
its control socket at that moment, as for a launcher started on demand.

A launcher serves a function only when the result is what a launcher started for
it would be: the same exec environment (a function's own PYTHON*/LD_* variables
act at interpreter start, so such a function starts afresh) and no module in its
code that the runtime had already loaded (it would have shadowed that module).
Unisolated environments and Node.js runtimes are not pooled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import shutil
import socket
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from cloudlet.core.child_process import kill_tree, spawn
from cloudlet.services.lambda_ import sandbox
from cloudlet.services.lambda_.runtimes import RuntimeChoice

log = logging.getLogger(__name__)

_READY_LIMIT_S = 30.0  # a launcher not warm by then is given up
_MAX_FAILURES = 3  # a shape whose launchers keep dying is not refilled any more


@dataclasses.dataclass(frozen=True)
class Shape:
    """What a sandbox is made for before any function is known."""

    runtime: str  # the function's runtime name, e.g. python3.12
    ephemeral_mb: int  # its /tmp size


def exec_environment() -> dict[str, str]:
    """A sandboxed Python launcher's exec environment, the same for every function
    (environment.py gives an on-demand one this plus the function's startup variables)."""
    from cloudlet.services.lambda_.environment import python_sandbox_environ

    return python_sandbox_environ()


class WarmLauncher:
    """One pre-started launcher: its process, control socket, output pipe and /var/task slot."""

    def __init__(self, shape: Shape, slot: Path) -> None:
        self.shape = shape
        self.slot = slot
        self.exec_env = exec_environment()
        self.proc: asyncio.subprocess.Process | None = None
        self.control: socket.socket | None = None
        self.out_fd = -1
        self.modules: frozenset[str] = frozenset()
        self.discarded = False
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def fits(self, exec_env: dict[str, str], task_root: Path) -> bool:
        """Would this launcher run the function exactly as one started for it?"""
        if exec_env != self.exec_env:
            return False
        try:
            names = os.listdir(task_root)
        except OSError:
            return False
        return not any(n.partition(".")[0] in self.modules for n in names)

    def hand_over(self) -> tuple[asyncio.subprocess.Process, socket.socket, int]:
        """The process, control socket and output pipe, for the environment that took it.
        What the warm-up printed is not the function's: it is read and dropped."""
        assert self.proc is not None and self.control is not None
        while True:
            try:
                if not os.read(self.out_fd, 65536):
                    break
            except BlockingIOError:
                break
        proc, control, fd = self.proc, self.control, self.out_fd
        self.proc, self.control, self.out_fd = None, None, -1
        return proc, control, fd

    def stop(self) -> None:
        """End its process (unless an environment took it: then the environment ends it)."""
        self.discarded = True
        if self.proc is not None:
            kill_tree(self.proc)  # bwrap; the sandbox's init dies with it (--die-with-parent)

    def discard(self) -> None:
        """End it and close what it holds (not while it is being started: see LauncherPool._fill)."""
        self.stop()
        self.proc = None
        if self.control is not None:
            self.control.close()
            self.control = None
        if self.out_fd >= 0:
            os.close(self.out_fd)
            self.out_fd = -1
        if not self.ready.done():
            self.ready.set_result(False)


def link_code(task_root: Path, slot: Path) -> None:
    """The function's code into the slot: its directories made, its files hard-linked."""
    base = len(str(task_root))
    for dirpath, dirnames, filenames in os.walk(task_root):
        rel = dirpath[base:].lstrip("/")
        target = slot / rel if rel else slot
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                filenames.append(d)  # a link to a directory is linked as it is, not walked
            else:
                (target / d).mkdir()
        for f in filenames:
            os.link(os.path.join(dirpath, f), target / f, follow_symlinks=False)


class LauncherPool:
    """Up to SIZE warm launchers per shape in demand (0: no pool)."""

    def __init__(
        self,
        *,
        size: int,
        root: Path,
        support_dir: Path,
        dns_dir: Path,
        isolation: Callable[[], Awaitable[sandbox.Isolation]],
        runtime: Callable[[str], Awaitable[RuntimeChoice]],
    ) -> None:
        self.size = size
        self.root = root
        self.support_dir = support_dir
        self.dns_dir = dns_dir
        self._isolation = isolation
        self._runtime = runtime
        self._idle: dict[Shape, list[WarmLauncher]] = {}
        self._filling: dict[Shape, int] = {}
        self._failures: dict[Shape, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._off = False  # no sandboxes on this machine: nothing to pre-start

    def start(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for launchers in self._idle.values():
            for launcher in launchers:
                launcher.discard()
        self._idle.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    # ---- demand ----------------------------------------------------------------
    def expect(self, shape: Shape) -> None:
        """A function of this shape exists: keep SIZE launchers for it warm."""
        if self.size <= 0 or self._off or not shape.runtime.startswith("python"):
            return
        if self._failures.get(shape, 0) >= _MAX_FAILURES:
            return
        have = len(self._idle.get(shape, [])) + self._filling.get(shape, 0)
        for _ in range(self.size - have):
            self._filling[shape] = self._filling.get(shape, 0) + 1
            task = asyncio.ensure_future(self._fill(shape))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def keep_only(self, shapes: set[Shape]) -> None:
        """Shapes no function has any more lose their launchers (idle cost follows use)."""
        for shape in [s for s in self._idle if s not in shapes]:
            for launcher in self._idle.pop(shape):
                if launcher.ready.done():
                    self._remove(launcher)
                else:
                    launcher.stop()  # still starting: _fill sees it end and cleans up

    def idle_count(self) -> int:
        return sum(len(v) for v in self._idle.values())

    # ---- taking ------------------------------------------------------------------
    async def take(self, shape: Shape, exec_env: dict[str, str], task_root: Path) -> WarmLauncher | None:
        """A warm launcher with the function's code in /var/task, or None (start one afresh)."""
        launchers = self._idle.get(shape)
        if not launchers:
            return None
        launcher = launchers[0]
        if not launcher.ready.done():
            # Still warming: waiting for the rest is quicker than starting anew.
            await asyncio.shield(launcher.ready)
        if launcher not in launchers or not launcher.ready.result():
            return None
        if not launcher.fits(exec_env, task_root):
            return None
        launchers.remove(launcher)
        try:
            await asyncio.to_thread(link_code, task_root, launcher.slot)
        except OSError as e:
            # A code tree on another filesystem than the pool's (no hard links): start afresh.
            log.info("cannot link %s into a pooled sandbox (%s): starting one for it", task_root, e)
            self._remove(launcher)
            return None
        if launcher.proc is None or launcher.proc.returncode is not None:
            log.warning("a pre-started Lambda launcher for %s had exited", shape.runtime)
            self._remove(launcher)
            return None
        return launcher

    def release(self, launcher: WarmLauncher) -> None:
        """The environment made from this launcher is gone (or never started): so does the slot."""
        self._remove(launcher)

    # ---- filling -----------------------------------------------------------------
    def _remove(self, launcher: WarmLauncher) -> None:
        launcher.discard()
        shutil.rmtree(launcher.slot, ignore_errors=True)

    async def _fill(self, shape: Shape) -> None:
        launcher: WarmLauncher | None = None
        try:
            isolation = await self._isolation()
            if not isolation.enabled:
                self._off = True
                return
            choice = await self._runtime(shape.runtime)
            if choice.node is not None:
                return
            slot = self.root / uuid.uuid4().hex
            slot.mkdir(parents=True)
            launcher = WarmLauncher(shape, slot)
            self._idle.setdefault(shape, []).append(launcher)
            await self._launch(launcher, choice, isolation)
            assert launcher.control is not None
            doc = await asyncio.wait_for(_read_frame(launcher.control), _READY_LIMIT_S)
            launcher.modules = frozenset(doc["modules"])
            launcher.ready.set_result(True)
            self._failures.pop(shape, None)
            watcher = asyncio.ensure_future(self._watch(launcher))
            self._tasks.add(watcher)
            watcher.add_done_callback(self._tasks.discard)
            launcher = None
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if launcher is not None and not launcher.discarded:
                log.warning("a pre-started Lambda launcher for %s failed: %s", shape.runtime, e)
                self._failures[shape] = self._failures.get(shape, 0) + 1
        finally:
            self._filling[shape] = self._filling.get(shape, 1) - 1
            if launcher is not None:
                if launcher in self._idle.get(shape, []):
                    self._idle[shape].remove(launcher)
                self._remove(launcher)

    async def _watch(self, launcher: WarmLauncher) -> None:
        """A launcher that dies while it waits is dropped and replaced (so often, no more)."""
        proc = launcher.proc
        assert proc is not None
        code = await proc.wait()
        if launcher.proc is None or launcher.discarded:
            return  # taken by an environment, or ended by the pool
        log.warning("a pre-started Lambda launcher for %s exited (status %s) while waiting",
                    launcher.shape.runtime, code)
        idle = self._idle.get(launcher.shape, [])
        if launcher in idle:
            idle.remove(launcher)
        self._remove(launcher)
        self._failures[launcher.shape] = self._failures.get(launcher.shape, 0) + 1
        self.expect(launcher.shape)

    async def _launch(self, launcher: WarmLauncher, choice: RuntimeChoice, isolation: sandbox.Isolation) -> None:
        layout = sandbox.SandboxLayout(
            task_root=launcher.slot,
            runtime_venv=choice.runtime_dir,
            support_dir=self.support_dir,
            dns_dir=self.dns_dir,
            tmp_bytes=launcher.shape.ephemeral_mb * 1024 * 1024,
        )
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # the runtime's host pid, later
        parent.setblocking(False)
        launcher.control = parent
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        launcher.out_fd = rfd
        assert isolation.bwrap is not None
        command = [f"{sandbox.RUNTIME_DIR}/bin/python", "-m", "cloudlet_launcher", str(child.fileno()), "--pooled"]
        try:
            launcher.proc = await spawn(layout.bwrap_argv(isolation.bwrap, command), env=launcher.exec_env,
                                        stdout=wfd, stderr=wfd, pass_fds=[child.fileno()], new_session=True)
        finally:
            os.close(wfd)
            child.close()
        if launcher.discarded:  # its shape went out of use while it was being started
            kill_tree(launcher.proc)
            launcher.proc = None
            raise ConnectionError("discarded")


async def _read_frame(sock: socket.socket) -> dict[str, list[str]]:
    """The launcher's length-prefixed readiness message (it sends nothing after it until spoken to)."""
    loop = asyncio.get_running_loop()
    buf = b""
    while len(buf) < 4 or len(buf) < 4 + int.from_bytes(buf[:4], "big"):
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionError("the launcher exited while warming up")
        buf += chunk
    doc: dict[str, list[str]] = json.loads(buf[4:])
    return doc
