"""One execution environment: an awslambdaric process serving one function version.

With isolation (sandbox.py) the process runs in a bubblewrap sandbox of its own
and reaches the Runtime API at 127.0.0.1:9001 inside its network namespace;
without, it is a plain child with a loopback port of the host. Either way it
starts as cloudlet_launcher, which receives the environment's variables over a
control socket (so no /proc/PID/environ holds the credentials) and becomes
awslambdaric (a Node.js runtime: node running aws-lambda-ric). Its stdout and stderr share one pipe that is read without
blocking, so that when the runtime posts a result every line printed before it
has already been collected. A sandboxed Python environment may instead take a
pre-started launcher (launcher_pool.py): the same message then goes to a process
that is already up, and the init phase (Init Duration) starts there.
"""

from __future__ import annotations

import array
import asyncio
import datetime
import json
import logging
import os
import secrets
import signal
import socket
import struct
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudlet.core.child_process import kill_tree, spawn
from cloudlet.core.identity import Credential
from cloudlet.services.lambda_ import memory_limit, sandbox
from cloudlet.services.lambda_.egress import EgressRelay
from cloudlet.services.lambda_.log_stream import LogStreamParser
from cloudlet.services.lambda_.models import FunctionVersion
from cloudlet.services.lambda_.outcome import EnvState, Outcome, OutcomeKind
from cloudlet.services.lambda_.platform_log import LogSettings, ReportMetrics
from cloudlet.services.lambda_.response_stream import ResponseStream
from cloudlet.services.lambda_.runtime_api import RuntimeApiServer
from cloudlet.services.lambda_.runtimes import RuntimeChoice, runtime_version_label

if TYPE_CHECKING:
    from cloudlet.services.lambda_.launcher_pool import WarmLauncher

log = logging.getLogger(__name__)

_INIT_LIMIT_S = 10.0  # AWS's init phase limit for on-demand functions
_TAIL_BYTES = 4096
RUNTIME_API_ADDRESS = ("127.0.0.1", 9001)  # AWS_LAMBDA_RUNTIME_API inside a sandbox, as on AWS
# Variables that act when the interpreter starts, so they must be in its exec environment.
_STARTUP_PREFIXES = ("PYTHON", "LD_")
_NODE_STARTUP = {"NODE_OPTIONS", "NODE_PATH", "NODE_EXTRA_CA_CERTS"}  # what node reads only at start
_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def python_sandbox_environ() -> dict[str, str]:
    """A sandboxed Python launcher's exec environment before the function's own startup
    variables: AWS's PATH and LD_LIBRARY_PATH, and the runtime, code and support dirs."""
    return {
        "PATH": sandbox.PATH,
        "LD_LIBRARY_PATH": sandbox.LD_LIBRARY_PATH,
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": f"{sandbox.RUNTIME_DIR}:{sandbox.TASK_ROOT}:{sandbox.SUPPORT_MOUNT}",
    }


def _now_ms() -> int:
    return int(time.time() * 1000)


def _signal_text(signum: int) -> str:
    """As AWS words it ("signal: killed"): the C library's description, lower case."""
    return (signal.strsignal(signum) or f"signal {signum}").lower()


def trace_id() -> str:
    return f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Invocation:
    def __init__(
        self,
        payload: bytes,
        invoked_arn: str,
        client_context: str | None = None,
        cognito_identity: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.request_id = request_id or str(uuid.uuid4())
        self.payload = payload
        self.invoked_arn = invoked_arn
        self.client_context = client_context
        self.cognito_identity = cognito_identity
        self.trace_id = trace_id()
        self.deadline_ms = 0
        loop = asyncio.get_running_loop()
        self.result: asyncio.Future[Outcome] = loop.create_future()
        # Done once the caller's answer is written (the turn after run() ends): the runtime's 202
        # waits for it, so the runtime's next poll does not compete with the answer (runtime_api).
        self.answered: asyncio.Future[None] = loop.create_future()
        self.lines: list[tuple[int, str]] = []
        self.stream: ResponseStream | None = None  # set for a caller that reads the response as it streams
        self.wants_tail = False  # LogType=Tail: the answer carries the log, REPORT line included


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


def _report_status(outcome: Outcome) -> tuple[str, str | None]:
    """REPORT's status and error type: what the platform saw, not the function's own errors."""
    if outcome.kind == OutcomeKind.TIMEOUT:
        return "timeout", None
    if outcome.kind == OutcomeKind.EXIT:
        return "error", "Runtime.ExitError"
    if outcome.kind == OutcomeKind.OUT_OF_MEMORY:
        return "error", "Runtime.OutOfMemory"
    return ("success" if outcome.kind == OutcomeKind.OK else "error"), None


class InvokeResult:
    def __init__(self, payload: bytes, function_error: str | None, lines: list[tuple[int, str]],
                 duration_ms: float = 0.0) -> None:
        self.payload = payload
        self.function_error = function_error
        self.lines = lines  # this invoke's log events (with the init phase's on a cold start)
        self.duration_ms = duration_ms  # REPORT's Duration (the AWS/Lambda Duration metric)

    def log_tail(self) -> str:
        """The last 4 KB of the log, as LogType=Tail returns it (joined only when asked for)."""
        data = "".join(m + "\n" for _, m in self.lines).encode()
        return data[-_TAIL_BYTES:].decode("utf-8", "replace")


class Environment:
    def __init__(
        self,
        *,
        fv: FunctionVersion,
        runtime: RuntimeChoice,
        credential: Credential | None,
        api: RuntimeApiServer,
        endpoint_url: str,
        support_dir: Path,
        hosts_file: Path,
        tmp_root: Path,
        ship: Callable[[Environment, list[tuple[int, str]]], None],
        on_exit: Callable[[Environment], None],
        isolation: sandbox.Isolation,
        relay: EgressRelay | None = None,
        warning: str | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.fv = fv
        self.runtime = runtime
        self.python = runtime.python
        self.credential = credential
        self.api = api
        self.endpoint_url = endpoint_url
        self.support_dir = support_dir
        self.hosts_file = hosts_file
        self.tmp_dir = tmp_root / self.id  # the host /tmp of an unisolated environment
        self._ship = ship
        self._on_exit = on_exit
        self.isolation = isolation
        self.relay = relay
        self.warning = warning
        self.state = EnvState.STARTING
        self.retire_after_use = False
        self.cold = True
        self.port = 0  # the host port of an unisolated environment's Runtime API
        self.proc: asyncio.subprocess.Process | None = None
        self.runtime_pid = 0  # the runtime's pid as the host sees it, once it reported
        self.init_error: Outcome | None = None
        self.exit_reason = "exit status 1"  # how the process ended, once it has
        self.out_of_memory = False
        self.init_duration_ms = 0.0
        self.max_memory_mb = 0
        self.last_used = time.monotonic()
        day = datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
        self.stream_name = f"{day}/[{fv.version}]{self.id}"
        self.current: Invocation | None = None
        self.init_lines: list[tuple[int, str]] = []
        self.pending: list[tuple[int, str]] = []  # not yet shipped to CloudWatch Logs
        self._queue: asyncio.Queue[Invocation] = asyncio.Queue()
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._started = 0.0
        self._fd = -1
        self._parser = LogStreamParser()
        self.log_settings = LogSettings.of(fv.logging_config)
        self._control: socket.socket | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._wiring: asyncio.Task[None] | None = None
        # An invoke's closing bookkeeping (memory sample, END/REPORT, shipping), when it runs after
        # the answer; anything that adds a line, ships or kills runs it first, so order holds.
        self._closing: Callable[[], None] | None = None

    @property
    def isolated(self) -> bool:
        return self.isolation.enabled

    # ---- process lifecycle -------------------------------------------------
    def _environ(self) -> dict[str, str]:
        fv = self.fv
        node = self.runtime.node is not None
        if self.isolated:
            task_root, runtime_dir = sandbox.TASK_ROOT, sandbox.RUNTIME_DIR
            support, hosts_file = sandbox.SUPPORT_MOUNT, sandbox.HOSTS_FILE
            runtime_api = "{}:{}".format(*RUNTIME_API_ADDRESS)
            paths = {"PATH": sandbox.PATH, "LD_LIBRARY_PATH": sandbox.LD_LIBRARY_PATH}
        else:
            task_root, runtime_dir = str(fv.code.task_root), str(self.runtime.runtime_dir)
            support, hosts_file = str(self.support_dir), str(self.hosts_file)
            runtime_api = f"{self.api.host}:{self.port}"
            bin_dir = self.runtime.node.parent if self.runtime.node is not None else self.python.parent
            paths = {
                "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
                "LD_LIBRARY_PATH": f"{task_root}:{task_root}/lib",
                # A shared host /tmp: each environment gets its own directory in it.
                "HOME": str(self.tmp_dir),
                "TMPDIR": str(self.tmp_dir),
            }
        if node:
            # AWS's Node.js runtimes: CommonJS requires find the SDK through NODE_PATH.
            major = self.runtime.version[0]
            language = {"NODE_PATH": f"/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:"
                                     f"{runtime_dir}/node_modules:{runtime_dir}:{task_root}"}
        else:
            language = {
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": f"{runtime_dir}:{task_root}:{support}" if self.isolated else f"{task_root}:{support}",
            }
        env = {
            **paths,
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            **language,
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "_HANDLER": fv.handler,
            "AWS_LAMBDA_RUNTIME_API": runtime_api,
            "AWS_REGION": fv.region,
            "AWS_DEFAULT_REGION": fv.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{fv.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": fv.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(fv.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": fv.version,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": fv.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": self.stream_name,
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
            "AWS_ENDPOINT_URL": self.endpoint_url,
            **self.log_settings.runtime_environment(),
        }
        # The resolver shim's hosts file goes only into the exec environment, which the shim
        # empties at interpreter start: the function never sees cloudlet's own variables.
        self._hosts_path = hosts_file
        # The function's own variables, then the reserved ones win (AWS rejects overriding them).
        merged = {**(fv.environment or {}), **env}
        if self.credential is not None:
            merged["AWS_ACCESS_KEY_ID"] = self.credential.access_key_id
            merged["AWS_ACCESS_KEY"] = self.credential.access_key_id
            merged["AWS_SECRET_ACCESS_KEY"] = self.credential.secret_access_key
            if self.credential.session_token:
                merged["AWS_SESSION_TOKEN"] = self.credential.session_token
        return merged

    def exec_environ(self) -> dict[str, str]:
        """This environment's exec environment (what a pooled launcher must have been started with)."""
        return self._exec_environ(self._environ())

    @staticmethod
    def _exec_environ(full: dict[str, str]) -> dict[str, str]:
        """What the interpreter needs at exec; the rest (credentials, the function's variables)
        goes over the control socket, never into a /proc/PID/environ."""
        keep = {"PATH", "LANG", "TZ", "HOME", "TMPDIR", *_NODE_STARTUP}
        return {k: v for k, v in full.items()
                if (k in keep or k.startswith(_STARTUP_PREFIXES)) and k not in _SECRETS}

    async def start(self, launcher: WarmLauncher | None = None) -> None:
        """Start the runtime: a new launcher, or LAUNCHER, pre-started with this function's code
        already in its /var/task, which gets the same message."""
        fv = self.fv
        if not self.isolated:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            self.port = await self.api.listen(self)
        full = self._environ()
        listen: list[tuple[str, int]] = []
        if self.isolated:
            assert self.relay is not None
            listen = [RUNTIME_API_ADDRESS, *(("0.0.0.0", p) for p in self.relay.policy.listen_ports())]
        support = sandbox.SUPPORT_MOUNT if self.isolated else str(self.support_dir)
        # Nothing of cloudlet's goes into the exec environment (a function reads its own
        # /proc/self/environ): the hosts file is named in the control message, the control
        # socket's descriptor on the launcher's command line.
        control: dict[str, Any] = {"env": full, "handler": fv.handler, "listen": listen,
                                   "hosts_file": self._hosts_path}
        if self.runtime.node is not None:
            control["exec"] = [str(self.runtime.node), f"{support}/cloudlet_launcher.mjs"]
        message = json.dumps(control).encode()
        if launcher is not None:
            self._adopt(launcher, message)
            return
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)  # learn the runtime's host pid
        parent.sendall(len(message).to_bytes(4, "big") + message)
        parent.setblocking(False)
        self._control = parent
        exec_env = self._exec_environ(full)
        if self.isolated:
            layout = sandbox.SandboxLayout(
                task_root=fv.code.task_root,
                runtime_venv=self.runtime.runtime_dir,
                support_dir=self.support_dir,
                dns_dir=self.hosts_file.parent,
                tmp_bytes=fv.ephemeral_storage * 1024 * 1024,
                extra_ro=sandbox.installs_outside_usr(self.runtime),
            )
            assert self.isolation.bwrap is not None
            argv = layout.bwrap_argv(self.isolation.bwrap, [*self._launcher_argv(support), str(child.fileno())])
            cwd = None
        else:
            argv, cwd = [*self._launcher_argv(support), str(child.fileno())], str(fv.code.task_root)
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        self._fd = rfd
        self._init_starts()
        try:
            self.proc = await spawn(argv, cwd=cwd, env=exec_env, stdout=wfd, stderr=wfd,
                                    pass_fds=[child.fileno()], new_session=True)
        except BaseException:
            self._close_control()
            os.close(rfd)
            self._fd = -1
            raise
        finally:
            os.close(wfd)
            child.close()
        self._watch(parent)

    def _adopt(self, launcher: WarmLauncher, message: bytes) -> None:
        """Take over a pre-started launcher: its init phase starts now, with this message."""
        self.proc, parent, self._fd = launcher.hand_over()
        self._control = parent
        self._init_starts()
        # The launcher has been waiting for exactly this; the socket's buffer is empty.
        parent.setblocking(True)
        try:
            parent.sendall(len(message).to_bytes(4, "big") + message)
        finally:
            parent.setblocking(False)
        self._watch(parent)

    def _init_starts(self) -> None:
        """The init phase's clock and its first log lines."""
        fv = self.fv
        self._started = time.perf_counter()
        init_start = self.log_settings.init_start(
            runtime_version_label(self.python, fv.runtime), fv.runtime_version_arn(), fv.name, fv.version)
        if init_start is not None:
            self._line(init_start)
        if self.warning:
            self._line(self.warning)
        note = self.isolation.log_line()
        if note:
            self._line(note)

    def _watch(self, control: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        loop.add_reader(self._fd, self.drain)
        loop.add_reader(control.fileno(), self._on_control)
        self._watcher = asyncio.ensure_future(self._watch_exit())

    def _launcher_argv(self, support: str) -> list[str]:
        if self.runtime.node is not None:
            # A base interpreter (-I: no PYTHON* variables or user site; -S: no site at all,
            # the launcher needs only the standard library) that execs node.
            return [str(self.python), "-I", "-S", f"{support}/cloudlet_launcher.py"]
        python = f"{sandbox.RUNTIME_DIR}/bin/python" if self.isolated else str(self.python)
        return [python, "-m", "cloudlet_launcher"]

    def _on_control(self) -> None:
        """The launcher's one reply: the addresses it listens on, their sockets, its pid."""
        ctl = self._control
        if ctl is None:
            return
        fd_space = socket.CMSG_SPACE(16 * array.array("i").itemsize)
        cred_space = socket.CMSG_SPACE(struct.calcsize("3i"))
        try:
            data, ancdata, _flags, _addr = ctl.recvmsg(65536, fd_space + cred_space)
        except BlockingIOError:
            return
        except OSError:
            data, ancdata = b"", []
        self._close_control()
        fds: list[int] = []
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                arr = array.array("i")
                arr.frombytes(payload[: len(payload) - len(payload) % arr.itemsize])
                fds.extend(arr)
            elif level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                self.runtime_pid = struct.unpack("3i", payload[:12])[0]
        socks = [socket.socket(fileno=fd) for fd in fds]
        try:
            size = int.from_bytes(data[:4], "big")
            bound = [tuple(a) for a in json.loads(data[4:4 + size])] if len(data) >= 4 + size else []
        except ValueError:
            bound = []
        if len(bound) != len(socks) or self.state in (EnvState.DYING, EnvState.DEAD):
            for s in socks:
                s.close()
            return
        self._wiring = asyncio.ensure_future(self._wire(list(zip(bound, socks, strict=False))))

    async def _wire(self, listeners: list[tuple[Any, socket.socket]]) -> None:
        log.debug("environment %s of %s listens on %s", self.id, self.fv.name, [a for a, _ in listeners])
        for address, sock in listeners:
            if tuple(address) == RUNTIME_API_ADDRESS:
                await self.api.serve(self, sock)
            elif self.relay is not None:
                await self.relay.serve(self, sock)
            else:
                sock.close()

    def _close_control(self) -> None:
        if self._control is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._control.fileno())
            except (ValueError, RuntimeError):
                pass
            self._control.close()
            self._control = None

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        self.drain()
        self._close_pipe()
        self._close_control()
        self.state = EnvState.DEAD
        if code < 0:
            reason = f"signal: {_signal_text(-code)}"
        elif self.isolated and code > 128 and code - 128 in signal.valid_signals():
            # bwrap reports a command killed by signal N as exit status 128+N.
            reason = f"signal: {_signal_text(code - 128)}"
        else:
            reason = f"exit status {code}"
        self.exit_reason = reason
        if not self._ready.done():
            self._ready.set_result(None)
        inv = self.current
        if inv is not None and not inv.result.done():
            kind = OutcomeKind.OUT_OF_MEMORY if self.out_of_memory else OutcomeKind.EXIT
            inv.result.set_result(Outcome(kind, reason.encode()))
        if self._wiring is not None:
            await asyncio.gather(self._wiring, return_exceptions=True)
        await self.api.close(self)
        if self.relay is not None:
            self.relay.close(self)
        self._on_exit(self)

    def kill(self) -> None:
        """End the environment: the sandbox (or the process group) and everything in it."""
        self.settle()
        if self.proc is not None and self.proc.returncode is None:
            init = self._sandbox_init()
            if init:
                # The namespace's init dies, the kernel kills every process in it, and bwrap
                # (its parent) reaps it and exits: no orphan is left for the host's init to reap.
                try:
                    os.kill(init, signal.SIGKILL)
                except ProcessLookupError:
                    kill_tree(self.proc)
            else:
                kill_tree(self.proc)
        if self.state != EnvState.DEAD:
            self.state = EnvState.DYING

    def _sandbox_init(self) -> int:
        """Host pid of the sandbox's PID 1 (bwrap's child, the runtime's parent), when known."""
        if not (self.isolated and self.runtime_pid and self.proc is not None):
            return 0
        try:
            with open(f"/proc/{self.runtime_pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{ppid}/stat") as f:
                grand = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return 0
        return ppid if grand == self.proc.pid else 0

    async def wait_dead(self) -> None:
        if self._watcher is not None:
            await asyncio.shield(self._watcher)

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    # ---- memory --------------------------------------------------------------
    def _sample_memory(self) -> int:
        """Resident bytes now; also keeps the peak for REPORT's Max Memory Used."""
        pid = self.runtime_pid or (self.proc.pid if self.proc is not None and not self.isolated else 0)
        if not pid:
            return 0
        now = memory_limit.resident_bytes(pid, whole_namespace=self.isolated)
        peak = max(now, memory_limit.peak_bytes(pid))
        self.max_memory_mb = max(self.max_memory_mb, memory_limit.to_mb(peak))
        return now

    def _sample_peak(self) -> None:
        """REPORT's Max Memory Used at an invoke's end: the runtime's own high-water mark (kept by
        the kernel, so exact), with what the memory watcher sums of the whole environment every
        SAMPLE_S. One small read per invoke, not a walk of the sandbox's /proc."""
        pid = self.runtime_pid or (self.proc.pid if self.proc is not None and not self.isolated else 0)
        if pid:
            self.max_memory_mb = max(self.max_memory_mb, memory_limit.to_mb(memory_limit.peak_bytes(pid)))

    def check_memory(self) -> None:
        """Past MemorySize the environment is stopped, as AWS's hard limit stops it."""
        if self.state in (EnvState.DYING, EnvState.DEAD):
            return
        if self._sample_memory() > self.fv.memory_size * 1024 * 1024:
            self.out_of_memory = True
            self.max_memory_mb = self.fv.memory_size
            self.kill()

    # ---- logs ----------------------------------------------------------------
    def drain(self) -> None:
        """Read every byte the process has written so far and split it into events."""
        if self._fd < 0:
            return
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                chunk = b""
            events = self._parser.feed(chunk) if chunk else self._parser.close()
            for ev in events:
                if self.log_settings.keeps_application(ev.level):
                    self._line(ev.message, ev.ts_ms)
            if not chunk:
                self._close_pipe()
                return

    def _line(self, message: str, ts_ms: int | None = None) -> None:
        self.settle()
        event = (_now_ms() if ts_ms is None else ts_ms, message)
        if self.current is not None:
            self.current.lines.append(event)
        else:
            self.init_lines.append(event)
        self.pending.append(event)

    def note(self, message: str) -> None:
        """A line of cloudlet's own in the function's log (a dropped connection, explained)."""
        self._line(message)
        self.flush_logs()

    def flush_logs(self) -> None:
        self.settle()
        if self.pending:
            events, self.pending = self.pending, []
            self._ship(self, events)

    # ---- Runtime API callbacks -----------------------------------------------
    async def next_invocation(self) -> Invocation:
        if not self._ready.done():
            self.init_duration_ms = (time.perf_counter() - self._started) * 1000
            for line in self.log_settings.init_done("success", self.init_duration_ms):
                self._line(line)
            self._ready.set_result(None)
        return await self._queue.get()

    def complete(self, request_id: str, kind: str, body: bytes, error_type: str | None) -> bool:
        inv = self.current
        if inv is None or inv.request_id != request_id or inv.result.done():
            return False
        self.drain()
        inv.result.set_result(Outcome(OutcomeKind(kind), body, error_type))
        return True

    def init_failed(self, body: bytes, error_type: str | None) -> None:
        self.init_error = Outcome(OutcomeKind.INIT_ERROR, body, error_type)
        self.drain()
        if not self._ready.done():
            self.init_duration_ms = (time.perf_counter() - self._started) * 1000
            for line in self.log_settings.init_done("error", self.init_duration_ms, error_type):
                self._line(line)
            self._ready.set_result(None)

    # ---- one invoke --------------------------------------------------------------
    async def run(self, inv: Invocation) -> InvokeResult:
        try:
            return await self._run(inv)
        finally:
            # Resolved in the caller's step: the runtime's 202 (runtime_api) goes out at the next turn
            # of the loop, after this step has written the caller's answer. The invoke's closing log
            # work is queued after it, so it still runs before any request that comes next.
            _resolve(inv.answered)
            if self._closing is not None:
                asyncio.get_running_loop().call_soon(self.settle)

    async def _run(self, inv: Invocation) -> InvokeResult:
        self.settle()  # the previous invoke's REPORT goes before this one's START
        fv = self.fv
        self.state = EnvState.BUSY
        cold = self.cold
        t_start = time.perf_counter()
        if cold:
            self.cold = False
            try:
                await asyncio.wait_for(asyncio.shield(self._ready), max(_INIT_LIMIT_S, fv.timeout))
            except TimeoutError:
                self.init_duration_ms = (time.perf_counter() - self._started) * 1000
                self.current = inv
                self._start_line(inv)
                return self._finish(inv, self._timed_out(inv), t_start, cold)
        head = list(self.init_lines) if cold else []
        self.current = inv
        self._start_line(inv)
        if self.init_error is not None:
            return self._finish(inv, self.init_error, t_start, cold, head=head)
        if self.state == EnvState.DEAD:
            kind = OutcomeKind.OUT_OF_MEMORY if self.out_of_memory else OutcomeKind.EXIT
            return self._finish(inv, Outcome(kind, self.exit_reason.encode()), t_start, cold, head=head)
        t_deliver = time.perf_counter()
        inv.deadline_ms = _now_ms() + fv.timeout * 1000
        self._queue.put_nowait(inv)
        try:
            async with asyncio.timeout(fv.timeout):  # cheaper than wait_for, on every invoke
                outcome = await asyncio.shield(inv.result)
        except TimeoutError:
            outcome = self._timed_out(inv)
        return self._finish(inv, outcome, t_deliver, cold, head=head)

    def _start_line(self, inv: Invocation) -> None:
        line = self.log_settings.start(inv.request_id, self.fv.version)
        if line is not None:
            self._line(line)

    def _timed_out(self, inv: Invocation) -> Outcome:
        self._sample_memory()
        self.kill()
        self.drain()
        ts = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self._line(f"{ts} {inv.request_id} Task timed out after {self.fv.timeout:.2f} seconds")
        body = json.dumps({
            "errorMessage": f"RequestId: {inv.request_id} Error: Task timed out after {self.fv.timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }).encode()
        return Outcome(OutcomeKind.TIMEOUT, body, "Sandbox.Timedout")

    def _finish(
        self,
        inv: Invocation,
        outcome: Outcome,
        t0: float,
        cold: bool,
        head: list[tuple[int, str]] | None = None,
    ) -> InvokeResult:
        duration_ms = (time.perf_counter() - t0) * 1000
        self.drain()
        payload = outcome.body
        # Every outcome but a returned result is an Unhandled function error.
        function_error = None if outcome.kind == OutcomeKind.OK else "Unhandled"
        if outcome.kind == OutcomeKind.INIT_ERROR:
            payload = self._with_request_id(outcome.body, inv.request_id)
        elif outcome.kind in (OutcomeKind.EXIT, OutcomeKind.OUT_OF_MEMORY):
            reason = outcome.body.decode()
            error_type = "Runtime.OutOfMemory" if outcome.kind == OutcomeKind.OUT_OF_MEMORY else "Runtime.ExitError"
            message = f"RequestId: {inv.request_id} Error: Runtime exited with error: {reason}"
            self._line(message)
            self._line(error_type)
            payload = json.dumps({"errorType": error_type, "errorMessage": message}).encode()
        if outcome.killed_environment:
            if not self.out_of_memory:
                self._sample_memory()  # while the process is there to measure
            self.kill()
        result = InvokeResult(payload, function_error, (head or []) + inv.lines, duration_ms)
        close = self._closer(inv, outcome, duration_ms, time.time() - duration_ms / 1000, cold, result)
        deferred = not (inv.wants_tail or inv.stream is not None or self.state != EnvState.BUSY)
        if not deferred:
            # The caller reads the log (or the environment is going): REPORT first, then the answer.
            close()
        self.current = None
        if inv.stream is not None:
            inv.stream.end()
        self.last_used = time.monotonic()
        if deferred:
            # Nothing in the answer needs it: it runs right after the response and the runtime's
            # 202 are written (queued by run()), or before whatever next adds to this environment's
            # log, ships it or kills it.
            self._closing = close
        if self.state == EnvState.BUSY:
            self.state = EnvState.IDLE
        return result

    def settle(self) -> None:
        """Run the last invoke's closing bookkeeping now, if it has not run yet."""
        close, self._closing = self._closing, None
        if close is not None:
            close()

    def _closer(self, inv: Invocation, outcome: Outcome, duration_ms: float, started: float, cold: bool,
                result: InvokeResult) -> Callable[[], None]:
        def close() -> None:
            if not self.out_of_memory:
                self._sample_peak()
            settings = self.log_settings
            status, platform_error = _report_status(outcome)
            done = settings.runtime_done(inv.request_id, status, started, duration_ms,
                                         len(outcome.body) if outcome.kind == OutcomeKind.OK else 0,
                                         platform_error or outcome.error_type)
            report = settings.report(inv.request_id, ReportMetrics(
                duration_ms, self.fv.memory_size, self.max_memory_mb, self.init_duration_ms if cold else None,
                status, platform_error))
            for line in (done, settings.end(inv.request_id), report):
                if line is not None:
                    event = (_now_ms(), line)
                    result.lines.append(event)  # the log tail, when asked for
                    self.pending.append(event)
            self.flush_logs()
        return close

    @staticmethod
    def _with_request_id(body: bytes, request_id: str) -> bytes:
        try:
            doc: Any = json.loads(body)
        except ValueError:
            return body
        if isinstance(doc, dict):
            doc["requestId"] = request_id
            return json.dumps(doc).encode()
        return body
