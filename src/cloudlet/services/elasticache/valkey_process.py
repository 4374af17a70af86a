"""One supervised valkey-server: config, start, readiness, crash restart, stop.

valkey listens only on a unix socket (port 0): the data plane is the only way in.
Started by core.child_process, so it dies with cloudlet even on SIGKILL.

Clients can read INFO (also from scripts), so valkey is started to hold no host
detail there: argv[0] is the bare name from "/" (executable:/valkey-server), the
configuration comes on stdin (config_file empty) and the unix socket is bound by
a relative name in the cache's directory (listener bind=valkey.sock). When that
directory is too deep for a socket path, the path the data plane connects to is
a symlink to it in the private socket directory.

A cache runs the primary (cluster mode, all slots) and, once its reader endpoint
(port 6380) is first used, a read replica (`replicaof` the primary, over TCP inside
the primary's private network namespace, which the replica joins) that serves it:
an idle cache costs one valkey. The primary owns its replica: starts it on the
reader's first connection (ensure_replica), bounces it after its own crash restart
(the new primary has a new namespace), stops it with itself.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import shutil
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from cloudlet.core.child_process import spawn
from cloudlet.dataplane.spec import ADMIN_USER
from cloudlet.services.elasticache import private_network, serverless_config
from cloudlet.services.elasticache.admin_client import AdminClient, AdminError, AdminLoading, AdminReplyError

log = logging.getLogger("cloudlet.elasticache.valkey")

GB = 1024**3
START_TIMEOUT_S = 10.0
BIND_NAME = "valkey.sock"
SLOTS = 16384
SCRIPT_WATCH_S = 1.0  # how often a primary is checked for a script past lua-time-limit


def acl_hash(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True


class ValkeyStartError(Exception):
    pass


class ReplicaUnavailable(ConnectionError):
    """The read replica could not be started (the reader endpoint answers as for an unreachable valkey)."""


class ValkeyProcess:
    def __init__(
        self,
        binary: str,
        workdir: Path,
        socket: Path,
        admin_password: str,
        default_rules: str,
        maxmemory_bytes: int,
        on_restart: Callable[[], Awaitable[None]] | None = None,
        replica_socket: Path | None = None,
        primary: ValkeyProcess | None = None,
        on_replica_start: Callable[[ValkeyProcess], Awaitable[None]] | None = None,
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.socket = socket
        self.admin_password = admin_password
        self.default_rules = default_rules  # the default user's ACL line before any sync
        self.maxmemory_bytes = maxmemory_bytes
        self.on_restart = on_restart
        # Restores: valkey loads dump.rdb only while AOF is off, so AOF is switched on after loading.
        # (A replica's dump.rdb is its last full sync: it never runs AOF.)
        self.load_rdb_first = (
            primary is None and (workdir / "dump.rdb").exists() and not (workdir / "appendonlydir").exists()
        )
        self.proc: asyncio.subprocess.Process | None = None
        self.acl_restrictions: list[str] | None = None  # acl_sync.restrictions_of, once per process
        self.primary = primary  # set on a replica
        self.replica_socket = replica_socket if primary is None else None
        self.on_replica_start = on_replica_start  # gives a started replica the cache's ACL users
        self.replica: ValkeyProcess | None = self._new_replica()
        self.replica_up = False  # the replica runs (ensure_replica has started it)
        self._replica_starting: asyncio.Task[None] | None = None
        self._replica_stopping: asyncio.Task[None] | None = None
        self.bus_port = _free_loopback_port()
        self.repl_port = _free_loopback_port()  # where a primary serves its replica (in its namespace)
        self.bus_exposed = False  # the cluster bus answers on the host's loopback (no private namespace)
        self.restarts = 0
        self._stopping = False
        self._supervisor: asyncio.Task[None] | None = None
        # A replica's first start fails when it is not in sync in time (later restarts serve anyway).
        self.bounded_sync = False
        self._watchdog: asyncio.Task[None] | None = None
        self._client: AdminClient | None = None

    @property
    def bind_path(self) -> Path:
        """Where valkey binds its socket (by the relative name BIND_NAME, from its dir)."""
        return self.workdir / BIND_NAME

    @property
    def conf_path(self) -> Path:
        return self.workdir / "valkey.conf"

    @property
    def acl_path(self) -> Path:
        return self.workdir / "users.acl"

    @property
    def log_path(self) -> Path:
        return self.workdir / "valkey.log"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def write_config(self) -> None:
        if self.primary is not None:
            self._write_replica_config(self.primary)
            return
        self.conf_path.write_text("\n".join(self.primary_config_lines()) + "\n")

    @property
    def bind_address(self) -> str:
        """Where the primary's TCP ports (replica link, cluster bus) listen."""
        return "127.0.0.1"

    def primary_config_lines(self) -> list[str]:
        return [
            # TCP only for the replica, on the loopback of the private namespace.
            f"port {self.repl_port}",
            "repl-diskless-sync-delay 0",
            # The backlog counts against maxmemory (DataStorage): keep it small; the replica is local.
            "repl-backlog-size 1mb",
            f"unixsocket {BIND_NAME}",
            "unixsocketperm 700",
            f"dir {self.workdir}",
            "daemonize no",
            f"logfile {self.log_path}",
            f"aclfile {self.acl_path}",
            # Data survives a crash restart: AOF for every write, RDB for snapshots.
            f"appendonly {'no' if self.load_rdb_first else 'yes'}",
            "appendfsync everysec",
            "dbfilename dump.rdb",
            'save ""',
            f"maxmemory {self.maxmemory_bytes}",
            "protected-mode no",
            "io-threads 1",
            # Cluster mode needs a bus port; it is bound inside the process's own network
            # namespace when it has one (private_network), on the host's loopback otherwise.
            "cluster-config-file nodes.conf",
            f"cluster-port {self.bus_port}",
            f"bind {self.bind_address}",
            *serverless_config.config_lines(),
        ]

    def _write_replica_config(self, primary: ValkeyProcess) -> None:
        lines = [
            "port 0",
            f"unixsocket {BIND_NAME}",
            "unixsocketperm 700",
            f"dir {self.workdir}",
            "daemonize no",
            f"logfile {self.log_path}",
            f"aclfile {self.acl_path}",
            "appendonly no",
            'save ""',
            f"replicaof 127.0.0.1 {primary.repl_port}",
            f"masteruser {ADMIN_USER}",  # masterauth is added on stdin only (see _secret_config)
            "replica-read-only yes",
            "protected-mode no",
            "io-threads 1",
            *(line for line in serverless_config.config_lines() if not line.startswith("cluster-")),
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def _secret_config(self) -> bytes:
        """Configuration lines passed on stdin but never written to disk."""
        if self.primary is None:
            return b""
        return f"masterauth {self.admin_password}\n".encode()

    def write_initial_acl(self) -> None:
        admin = f"user {ADMIN_USER} on #{acl_hash(self.admin_password)} ~* &* +@all\n"
        if self.acl_path.exists():
            # A data dir last run by the native data plane has no admin ACL user (its admin is
            # the module's own user): cloudlet's connections need it back.
            text = self.acl_path.read_text()
            if not any(line.startswith(f"user {ADMIN_USER} ") for line in text.splitlines()):
                self.acl_path.write_text(admin + text)
            return
        self.acl_path.write_text(admin + f"user default {self.default_rules}\n")

    async def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.write_config()
        self.write_initial_acl()
        await self._spawn()
        if self.load_rdb_first:
            await self._enable_aof()
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())
        if self.primary is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch_scripts())

    # -- the read replica, started at the reader endpoint's first use -------------------

    def _new_replica(self) -> ValkeyProcess | None:
        if self.replica_socket is None:
            return None
        return ValkeyProcess(
            self.binary, self.workdir / "replica", self.replica_socket, self.admin_password, self.default_rules,
            self.maxmemory_bytes, on_restart=self.on_restart, primary=self,
        )

    async def ensure_replica(self) -> None:
        """Return once the read replica runs, in sync and with the cache's users, starting it
        on the first call. Concurrent callers share one start, and a caller that gives up
        (its own timeout) does not cancel it. Raises ReplicaUnavailable when it cannot start;
        the next call tries again."""
        if self.replica_up or self.replica is None:
            return
        if self._replica_stopping is not None:  # an idle replica on its way out: start anew after
            await asyncio.shield(self._replica_stopping)
        if self._stopping:
            raise ReplicaUnavailable("the cache is stopping")
        if self.replica_up:
            return
        task = self._replica_starting
        if task is None:
            task = asyncio.get_running_loop().create_task(self._start_replica())
            task.add_done_callback(self._replica_start_done)
            self._replica_starting = task
        await asyncio.shield(task)

    def _replica_start_done(self, task: asyncio.Task[None]) -> None:
        self._replica_starting = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("read replica of %s did not start: %s", self.workdir.name, task.exception())

    async def _start_replica(self) -> None:
        replica = self.replica
        assert replica is not None
        try:
            replica.bounded_sync = True
            try:
                await replica.start()
            finally:
                replica.bounded_sync = False
            self.replica_up = True  # from here on ACL syncs reach it (processes())
            if self.on_replica_start is not None:
                await self.on_replica_start(replica)
        except BaseException as e:
            self.replica_up = False
            await replica.stop(graceful=False)
            self.replica = self._new_replica()  # a stopped process object does not start again
            if isinstance(e, Exception) and not isinstance(e, ReplicaUnavailable):
                raise ReplicaUnavailable(f"read replica: {e}") from e
            raise
        log.info("read replica of %s started (pid %s)", self.workdir.name, replica.pid)

    def stop_idle_replica(self) -> bool:
        """Stop the running replica, whose reader endpoint has no connection. The caller checks
        that in the same step (no await between): from here on a new reader connection waits in
        ensure_replica for this stop, then starts a fresh replica."""
        replica = self.replica
        if not self.replica_up or replica is None or self._replica_starting is not None or self._stopping:
            return False
        self.replica_up = False  # out of processes(): ACL syncs and metrics leave it now
        self.replica = self._new_replica()
        task = asyncio.get_running_loop().create_task(replica.stop(graceful=False))
        task.add_done_callback(self._replica_stop_done)
        self._replica_stopping = task
        log.info("read replica of %s stopped: its reader endpoint is idle", self.workdir.name)
        return True

    def _replica_stop_done(self, task: asyncio.Task[None]) -> None:
        self._replica_stopping = None
        if not task.cancelled() and task.exception() is not None:
            log.warning("read replica of %s: stop failed: %s", self.workdir.name, task.exception())

    async def _enable_aof(self) -> None:
        """Turn AOF on after an RDB restore and wait until the AOF holds the restored data."""
        client = self.client()
        await client.config_set("appendonly", "yes")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            info = await client.info("persistence")
            if not info.get("aof_rewrite_in_progress") and not info.get("aof_rewrite_scheduled"):
                break
            await asyncio.sleep(0.01)
        self.load_rdb_first = False
        self.write_config()

    async def _spawn(self) -> None:
        self.bind_path.unlink(missing_ok=True)
        if self.socket != self.bind_path:
            self.socket.unlink(missing_ok=True)
            self.socket.symlink_to(self.bind_path)
        join_pid = self.primary.pid if self.primary is not None else None
        try:
            with open(self.workdir / "valkey.stderr", "ab") as err:
                # "-": the configuration is read from stdin; argv[0] resolved from "/" (see above).
                self.proc = await spawn(
                    ["valkey-server", "-"],
                    executable=shutil.which(self.binary) or self.binary,
                    stdin=asyncio.subprocess.PIPE,
                    stderr=err,
                    cwd="/",
                    # Its own network namespace, where the cluster bus is out of clients' reach (a
                    # replica joins its primary's, to replicate from it).
                    before_exec=private_network.enter if join_pid is None
                    else functools.partial(private_network.join, join_pid),
                )
            assert self.proc.stdin is not None
            self.proc.stdin.write(self.conf_path.read_bytes() + self._secret_config())
            await self.proc.stdin.drain()
            self.proc.stdin.close()
        except (OSError, ConnectionError) as e:
            raise ValkeyStartError(f"cannot run {self.binary}: {e}") from e
        await self._wait_ready()
        if self.primary is not None:
            await self._wait_replicating()
            return
        await self._own_all_slots()
        self.bus_exposed = await asyncio.get_running_loop().run_in_executor(None, _answers, self.bus_port)
        if self.bus_exposed:
            log.warning(
                "valkey of %s: no private network namespace here; its cluster bus listens on 127.0.0.1:%d",
                self.workdir.name, self.bus_port,
            )

    async def _wait_replicating(self) -> None:
        """A new replica: wait (bounded) for its first sync, so the reader starts in step. On a
        first start (bounded_sync) a sync still transferring or loading is waited out however
        long the data takes; one that makes no progress for START_TIMEOUT_S fails the start."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                info = await self.client().info("replication")
            except (TimeoutError, AdminLoading):
                info = {"master_sync_in_progress": 1}  # busy loading what it received
            if info.get("master_link_status") == "up":
                return
            if self.bounded_sync and info.get("master_sync_in_progress"):
                deadline = time.monotonic() + START_TIMEOUT_S
            if time.monotonic() > deadline:
                if self.bounded_sync:
                    raise ValkeyStartError(f"no sync with its primary under way for {START_TIMEOUT_S:.0f} s")
                log.warning("replica of %s: not in sync after %.0f s; serving anyway", self.workdir.parent.name,
                            START_TIMEOUT_S)
                return
            await asyncio.sleep(0.02)

    # A ping timed out is a connection dropped; the next one logs in again.
    script_ping_timeout_s = SCRIPT_WATCH_S * 2

    async def _watch_scripts(self) -> None:
        """AWS (user guide, "Valkey and Redis OSS configuration and limits", lua-time-limit): a
        script over the limit makes valkey answer BUSY; ElastiCache then issues SCRIPT KILL, and
        restarts the engine when the script cannot be killed (it has written). Clients cannot
        send SCRIPT KILL themselves on serverless, so this is what ends a runaway script."""
        while not self._stopping:
            await asyncio.sleep(SCRIPT_WATCH_S)
            try:
                await asyncio.wait_for(self.client().ping(), self.script_ping_timeout_s)
                continue
            except AdminReplyError as e:
                if not str(e).startswith("BUSY"):
                    continue
            except (TimeoutError, AdminError, OSError):
                continue  # down or restarting: the supervisor's business
            try:
                await self.client().script_kill()
                self._note("a script ran past lua-time-limit: SCRIPT KILL")
            except AdminReplyError as e:
                if str(e).startswith("UNKILLABLE") and self.proc is not None and self.proc.returncode is None:
                    self._note("a script that wrote ran past lua-time-limit: restarting valkey")
                    self.proc.kill()
            except (TimeoutError, AdminError, OSError):
                pass

    def _note(self, text: str) -> None:
        log.warning("valkey of %s: %s", self.workdir.name, text)
        with open(self.log_path, "a") as f:
            f.write(f"cloudlet: {text}\n")

    async def bounce(self) -> None:
        """Kill the process; the supervisor starts a new one (after the primary moved namespace)."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()

    async def _own_all_slots(self) -> None:
        """Claim every slot not yet this node's (all of them on a first start; nodes.conf keeps
        them across restarts), then wait out valkey's start-up delay until the cluster is ok."""
        client = self.client()
        owned = [False] * SLOTS
        for start, end, *_ in await client.execute_command("CLUSTER", "SLOTS"):
            owned[start : end + 1] = [True] * (end - start + 1)
        ranges: list[int] = []
        slot = 0
        while slot < SLOTS:
            if owned[slot]:
                slot += 1
                continue
            end = slot
            while end + 1 < SLOTS and not owned[end + 1]:
                end += 1
            ranges += [slot, end]
            slot = end + 1
        if ranges:
            await client.execute_command("CLUSTER", "ADDSLOTSRANGE", *ranges)
        deadline = time.monotonic() + START_TIMEOUT_S
        while "cluster_state:ok" not in await client.execute_command("CLUSTER", "INFO"):
            if time.monotonic() > deadline:
                raise ValkeyStartError("valkey's cluster state did not become ok")
            await asyncio.sleep(0.05)

    async def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        delay = 0.002
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise ValkeyStartError(f"valkey-server exited with {self.proc.returncode}: {self._log_tail()}")
            if self.socket.exists():
                try:
                    if await self.client().ping():
                        return
                except (AdminLoading, OSError):
                    pass
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        raise ValkeyStartError(f"valkey-server did not answer PING within {START_TIMEOUT_S:.0f} s")

    def _log_tail(self) -> str:
        text = ""
        for p in (self.log_path, self.workdir / "valkey.stderr"):
            if p.exists():
                text += p.read_text(errors="replace")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return " | ".join(lines[-3:])

    def client(self) -> AdminClient:
        if self._client is None:
            self._client = AdminClient(str(self.socket), ADMIN_USER, self.admin_password, timeout=30)
        return self._client

    async def _supervise(self) -> None:
        """Restart valkey when it dies unexpectedly; the cache stays available."""
        while not self._stopping:
            assert self.proc is not None
            code = await self.proc.wait()
            if self._stopping:
                return
            self.restarts += 1
            log.warning(
                "valkey-server of %s (pid %s) exited with %s; restarting (restart #%d)",
                self.workdir.name, self.proc.pid, code, self.restarts,
            )
            with open(self.log_path, "a") as f:
                f.write(f"cloudlet: valkey-server exited with {code}; restart #{self.restarts}\n")
            backoff = min(0.1 * self.restarts, 2.0)
            while not self._stopping:
                try:
                    await self._spawn()
                    break
                except ValkeyStartError as e:
                    log.error("restart of valkey for %s failed: %s", self.workdir.name, e)
                    await asyncio.sleep(backoff)
            if self.replica is not None and not self._stopping:
                await self.replica.bounce()
            if self.on_restart is not None and not self._stopping:
                try:
                    await self.on_restart()
                except Exception:  # a failed resync must not end supervision
                    log.exception("after-restart hook of %s failed", self.workdir.name)

    async def set_maxmemory(self, maxmemory_bytes: int) -> None:
        self.maxmemory_bytes = maxmemory_bytes
        self.write_config()
        await self.client().config_set("maxmemory", str(maxmemory_bytes))

    async def save_rdb(self) -> Path:
        """SAVE (synchronously inside valkey) and return the dump file's path. valkey refuses a
        SAVE while a background save of its own runs (a replica's full sync, until valkey has
        reaped that child): the snapshot waits it out, as a snapshot on AWS does not fail for it."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                await self.client().save()
                return self.workdir / "dump.rdb"
            except AdminReplyError as e:
                if "save already in progress" not in str(e) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(0.02)

    def processes(self) -> list[ValkeyProcess]:
        """This valkey and its replica once started: what ACL changes and metrics must reach."""
        return [self, self.replica] if self.replica is not None and self.replica_up else [self]

    async def stop(self, graceful: bool = True, timeout: float = 5.0) -> None:
        self._stopping = True  # first: no replica start begins from here on
        starting = self._replica_starting
        if starting is not None:
            starting.cancel()
            try:
                await starting
            except (asyncio.CancelledError, Exception):
                pass
        if self._replica_stopping is not None:
            await asyncio.gather(self._replica_stopping, return_exceptions=True)
        if self.replica is not None:
            await self.replica.stop(graceful=False, timeout=timeout)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        # Supervisor first, so it cannot spawn a replacement behind our back.
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except (asyncio.CancelledError, Exception):
                pass
            self._supervisor = None
        if self._client is not None:
            try:
                await self._client.aclose()
            except Exception:  # the connection may already be gone
                pass
            self._client = None
        proc = self.proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM if graceful else signal.SIGKILL)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                proc.kill()
                await proc.wait()
