"""One execution environment: an awslambdaric process serving one function version.

The process runs in its own working directory (the unpacked package is
LAMBDA_TASK_ROOT) and talks to cloudlet's Runtime API on its own port. Its
stdout and stderr share one pipe that is read without blocking, so that when the
runtime posts a result every line printed before it has already been collected.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime
import json
import logging
import math
import os
import secrets
import signal
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudlet.core.identity import Credential
from cloudlet.services.lambda_.models import FunctionVersion
from cloudlet.services.lambda_.runtime_api import RuntimeApiServer

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
_INIT_LIMIT_S = 10.0  # AWS's init phase limit for on-demand functions
_TAIL_BYTES = 4096


def _child_setup() -> None:
    """In the child before exec: die with cloudlet even if cloudlet is SIGKILLed."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def _now_ms() -> int:
    return int(time.time() * 1000)


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
        self.result: asyncio.Future[tuple[str, bytes, str | None]] = (
            asyncio.get_running_loop().create_future()
        )
        self.lines: list[tuple[int, str]] = []


class InvokeResult:
    def __init__(self, payload: bytes, function_error: str | None, lines: list[tuple[int, str]]) -> None:
        self.payload = payload
        self.function_error = function_error
        self.lines = lines  # this invoke's log events (with the init phase's on a cold start)

    def log_tail(self) -> str:
        """The last 4 KB of the log, as LogType=Tail returns it (joined only when asked for)."""
        data = "".join(m + "\n" for _, m in self.lines).encode()
        return data[-_TAIL_BYTES:].decode("utf-8", "replace")


class Environment:
    def __init__(
        self,
        *,
        fv: FunctionVersion,
        python: Path,
        credential: Credential | None,
        api: RuntimeApiServer,
        endpoint_url: str,
        support_dir: Path,
        hosts_file: Path,
        tmp_root: Path,
        ship: Callable[[Environment, list[tuple[int, str]]], None],
        on_exit: Callable[[Environment], None],
        warning: str | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.fv = fv
        self.python = python
        self.credential = credential
        self.api = api
        self.endpoint_url = endpoint_url
        self.support_dir = support_dir
        self.hosts_file = hosts_file
        self.tmp_dir = tmp_root / self.id
        self._ship = ship
        self._on_exit = on_exit
        self.warning = warning
        self.state = "starting"  # starting | idle | busy | dead
        self.retire_after_use = False
        self.cold = True
        self.port = 0
        self.proc: asyncio.subprocess.Process | None = None
        self.init_error: tuple[bytes, str | None] | None = None
        self.exit_reason = "exit status 1"  # how the process ended, once it has
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
        self._buf = b""
        self._watcher: asyncio.Task[None] | None = None

    # ---- process lifecycle -------------------------------------------------
    def _environ(self) -> dict[str, str]:
        fv = self.fv
        task_root = str(fv.code.task_root)
        runtime_dir = str(self.python.parent.parent)
        env = {
            "PATH": f"{self.python.parent}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "HOME": str(self.tmp_dir),
            "TMPDIR": str(self.tmp_dir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": f"{task_root}:{self.support_dir}",
            "LD_LIBRARY_PATH": f"{task_root}:{task_root}/lib",
            "LAMBDA_TASK_ROOT": task_root,
            "LAMBDA_RUNTIME_DIR": runtime_dir,
            "_HANDLER": fv.handler,
            "AWS_LAMBDA_RUNTIME_API": f"{self.api.host}:{self.port}",
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
            "CLOUDLET_HOSTS_FILE": str(self.hosts_file),
        }
        # The function's own variables, then the reserved ones win (AWS rejects overriding them).
        merged = {**(fv.environment or {}), **env}
        if self.credential is not None:
            merged["AWS_ACCESS_KEY_ID"] = self.credential.access_key_id
            merged["AWS_ACCESS_KEY"] = self.credential.access_key_id
            merged["AWS_SECRET_ACCESS_KEY"] = self.credential.secret_access_key
            if self.credential.session_token:
                merged["AWS_SESSION_TOKEN"] = self.credential.session_token
        return merged

    async def start(self) -> None:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.port = await self.api.listen(self)
        rfd, wfd = os.pipe()
        os.set_blocking(rfd, False)
        self._fd = rfd
        self._started = time.perf_counter()
        if self.warning:
            self._line(self.warning)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                str(self.python), "-m", "awslambdaric", self.fv.handler,
                cwd=str(self.fv.code.task_root),
                env=self._environ(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=wfd,
                stderr=wfd,
                preexec_fn=_child_setup,
                start_new_session=True,
            )
        finally:
            os.close(wfd)
        asyncio.get_running_loop().add_reader(rfd, self.drain)
        self._watcher = asyncio.ensure_future(self._watch_exit())

    async def _watch_exit(self) -> None:
        assert self.proc is not None
        code = await self.proc.wait()
        self.drain()
        self._close_pipe()
        self.state = "dead"
        if code < 0:
            reason = f"signal: {signal.Signals(-code).name.lower().removeprefix('sig')}"
        else:
            reason = f"exit status {code}"
        self.exit_reason = reason
        if not self._ready.done():
            self._ready.set_result(None)
        inv = self.current
        if inv is not None and not inv.result.done():
            inv.result.set_result(("exit", reason.encode(), None))
        await self.api.close(self.port)
        self._on_exit(self)

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.state != "dead":
            self.state = "dying"

    async def wait_dead(self) -> None:
        if self._watcher is not None:
            await asyncio.shield(self._watcher)

    def _close_pipe(self) -> None:
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

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
            if not chunk:
                if self._buf:
                    self._line(self._buf.decode("utf-8", "replace"))
                    self._buf = b""
                self._close_pipe()
                return
            self._buf += chunk
            *lines, self._buf = self._buf.split(b"\n")
            for raw in lines:
                # awslambdaric joins a multi-line error record with \r: one event, as in AWS.
                self._line(raw.decode("utf-8", "replace").replace("\r", "\n"))

    def _line(self, message: str) -> None:
        event = (_now_ms(), message)
        if self.current is not None:
            self.current.lines.append(event)
        else:
            self.init_lines.append(event)
        self.pending.append(event)

    def flush_logs(self) -> None:
        if self.pending:
            events, self.pending = self.pending, []
            self._ship(self, events)

    def _sample_memory(self) -> None:
        if self.proc is None:
            return
        try:
            with open(f"/proc/{self.proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        kb = int(line.split()[1])
                        self.max_memory_mb = max(self.max_memory_mb, math.ceil(kb / 1024))
                        break
        except (OSError, ValueError):
            pass

    # ---- Runtime API callbacks -----------------------------------------------
    async def next_invocation(self) -> Invocation:
        if not self._ready.done():
            self.init_duration_ms = (time.perf_counter() - self._started) * 1000
            self._ready.set_result(None)
        return await self._queue.get()

    def complete(self, request_id: str, kind: str, body: bytes, error_type: str | None) -> bool:
        inv = self.current
        if inv is None or inv.request_id != request_id or inv.result.done():
            return False
        self.drain()
        inv.result.set_result((kind, body, error_type))
        return True

    def init_failed(self, body: bytes, error_type: str | None) -> None:
        self.init_error = (body, error_type)
        self.drain()
        if not self._ready.done():
            self.init_duration_ms = (time.perf_counter() - self._started) * 1000
            self._ready.set_result(None)

    # ---- one invoke --------------------------------------------------------------
    async def run(self, inv: Invocation) -> InvokeResult:
        fv = self.fv
        self.state = "busy"
        cold = self.cold
        t_start = time.perf_counter()
        outcome: tuple[str, bytes, str | None]
        if cold:
            self.cold = False
            try:
                await asyncio.wait_for(asyncio.shield(self._ready), max(_INIT_LIMIT_S, fv.timeout))
            except TimeoutError:
                self.init_duration_ms = (time.perf_counter() - self._started) * 1000
                self.current = inv
                self._line(f"START RequestId: {inv.request_id} Version: {fv.version}")
                return self._finish(inv, self._timed_out(inv), t_start, cold, killed=True)
        head = list(self.init_lines) if cold else []
        self.current = inv
        self._line(f"START RequestId: {inv.request_id} Version: {fv.version}")
        if self.init_error is not None or self.state == "dead":
            if self.init_error is not None:
                outcome = ("init", self.init_error[0], self.init_error[1])
            else:
                outcome = ("exit", self.exit_reason.encode(), None)
            return self._finish(inv, outcome, t_start, cold, head=head, killed=True)
        t_deliver = time.perf_counter()
        inv.deadline_ms = _now_ms() + fv.timeout * 1000
        self._queue.put_nowait(inv)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(inv.result), fv.timeout)
        except TimeoutError:
            outcome = self._timed_out(inv)
        return self._finish(inv, outcome, t_deliver, cold, head=head, killed=outcome[0] != "ok" and outcome[0] != "error")

    def _timed_out(self, inv: Invocation) -> tuple[str, bytes, str | None]:
        self._sample_memory()
        self.kill()
        self.drain()
        ts = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        self._line(f"{ts} {inv.request_id} Task timed out after {self.fv.timeout:.2f} seconds")
        body = json.dumps({
            "errorMessage": f"RequestId: {inv.request_id} Error: Task timed out after {self.fv.timeout:.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }).encode()
        return ("timeout", body, "Sandbox.Timedout")

    def _finish(
        self,
        inv: Invocation,
        outcome: tuple[str, bytes, str | None],
        t0: float,
        cold: bool,
        head: list[tuple[int, str]] | None = None,
        killed: bool = False,
    ) -> InvokeResult:
        duration_ms = (time.perf_counter() - t0) * 1000
        kind, body, _etype = outcome
        self.drain()
        self._sample_memory()
        payload = body
        # Every outcome but a returned result is an Unhandled function error.
        function_error = None if kind == "ok" else "Unhandled"
        if kind == "init":
            payload = self._with_request_id(body, inv.request_id)
        elif kind == "exit":
            reason = body.decode()
            self._line(f"RequestId: {inv.request_id} Error: Runtime exited with error: {reason}")
            self._line("Runtime.ExitError")
            payload = json.dumps({
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {inv.request_id} Error: Runtime exited with error: {reason}",
            }).encode()
        if killed:
            self.kill()
        self._line(f"END RequestId: {inv.request_id}")
        report = (
            f"REPORT RequestId: {inv.request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, math.ceil(duration_ms))} ms\t"
            f"Memory Size: {self.fv.memory_size} MB\tMax Memory Used: {self.max_memory_mb} MB"
        )
        if cold:
            report += f"\tInit Duration: {self.init_duration_ms:.2f} ms"
        self._line(report + "\t")
        self.current = None
        self.flush_logs()
        self.last_used = time.monotonic()
        if self.state == "busy":
            self.state = "idle"
        return InvokeResult(payload, function_error, (head or []) + inv.lines)

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
