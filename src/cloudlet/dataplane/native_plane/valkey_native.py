"""A native cache's valkey-server: valkey's own TLS listener, fed by cloudlet's acceptor.

The same supervised process as ValkeyProcess (start, readiness, crash restart, AOF,
snapshots), configured for the native data plane:
  * tls-port PORT (6379, the replica 6380): handoff.so (LD_PRELOAD) puts the receiving end
    of a SOCK_SEQPACKET pair in place of that listener, so valkey accepts exactly the
    sockets cloudlet's acceptor sends it (CLOUDLET_HANDOFF=<fd>:<port>);
  * the certificate for the cache's hostname and address from cloudlet's CA;
  * the cloudlet module: every AUTH asked of cloudlet's verifier, the containers serverless
    trims, the 3,999-argument limit, transaction rules, the ECPU throttle;
  * the commands serverless lacks renamed to secrets (renames.py);
  * cluster mode announcing the cache's hostname and address with the TLS ports clients
    use, and the read replica a cluster replica of the primary (CLUSTER MEET + REPLICATE
    inside the primary's private network namespace), so CLUSTER SLOTS/SHARDS/NODES are
    valkey's own answers.
cloudlet's admin connection (unix socket) logs in through the verifier as the module's
admin user and sends the renamed commands by their secret names (RenamingAdminClient).
The read replica starts with the primary (not at the reader's first use, as in proxy mode):
CLUSTER SLOTS/SHARDS/NODES are valkey's own answers here, and AWS's always list the replica.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
import shutil
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cloudlet.core.child_process import spawn
from cloudlet.dataplane.native_plane.renames import Renames
from cloudlet.dataplane.spec import ADMIN_USER
from cloudlet.services.elasticache import private_network, serverless_config
from cloudlet.services.elasticache.admin_client import AdminClient
from cloudlet.services.elasticache.valkey_process import (
    BIND_NAME,
    START_TIMEOUT_S,
    ValkeyProcess,
    ValkeyStartError,
)

log = logging.getLogger("cloudlet.elasticache.valkey")

MAX_REQUEST_ARGS = 3999


@dataclasses.dataclass
class NativeLink:
    """What a cache's two valkeys share with the native data plane."""

    hostname: str
    address: str
    port: int
    reader_port: int
    module: Path
    handoff: Path
    ca_file: Path
    renames: Renames
    # Set at each spawn: the sending end of the hand-off pair of the valkey serving a port.
    senders: dict[int, socket.socket] = dataclasses.field(default_factory=dict)
    # The verifier's socket for the valkey serving a port.
    verifier_paths: dict[int, Path] = dataclasses.field(default_factory=dict)
    # Called with the port when a valkey (re)starts: its client ids start over.
    on_spawn: Callable[[int], None] | None = None
    ecpu_max: int | None = None  # the cache's ECPUPerSecond maximum, set again after a restart


def blocking_admin_client(renames: Renames, **kwargs: Any) -> Any:
    """A blocking redis-py client that sends renamed commands by their secret names (tools, tests)."""
    import redis

    class RenamingBlockingRedis(redis.Redis):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            return super().execute_command(*_renamed(self, renames, args), **options)

    return RenamingBlockingRedis(**kwargs)


def _renamed(client: Any, renames: Renames, args: tuple[Any, ...]) -> tuple[Any, ...]:
    first = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    top, _, rest = first.partition(" ")
    secret = renames.admin_name(top)
    if secret == top:
        return args
    renamed = f"{secret} {rest}" if rest else secret
    callback = client.response_callbacks.get(first)
    if callback is not None:  # redis-py parses a reply by the command's name
        client.response_callbacks[renamed] = callback
    return (renamed, *args[1:])


class RenamingAdminClient(AdminClient):
    """cloudlet's admin client for a native valkey: renamed commands go out under their secret names."""

    def __init__(self, socket_path: str, username: str, password: str, renames: Renames) -> None:
        super().__init__(socket_path, username, password, timeout=30)
        self.renames = renames

    async def execute_command(self, *args: Any) -> Any:
        if args:
            args = (self.renames.admin_name(str(args[0])), *args[1:])
        return await super().execute_command(*args)


class NativeValkeyProcess(ValkeyProcess):
    def __init__(
        self,
        binary: str,
        workdir: Path,
        socket: Path,
        admin_password: str,
        default_rules: str,
        maxmemory_bytes: int,
        link: NativeLink,
        on_restart: Callable[[], Awaitable[None]] | None = None,
        replica_socket: Path | None = None,
        primary: NativeValkeyProcess | None = None,
        on_replica_start: Callable[[ValkeyProcess], Awaitable[None]] | None = None,
    ) -> None:
        self.link = link  # before the base class makes the (not started) replica: _new_replica
        super().__init__(binary, workdir, socket, admin_password, default_rules, maxmemory_bytes,
                         on_restart=on_restart, replica_socket=replica_socket, primary=primary,
                         on_replica_start=on_replica_start)
        self.tls_port = link.port if primary is None else link.reader_port
        # Cluster announcements show the bus port (and CLUSTER SHARDS the plain one): the
        # conventional ones, the same for every cache, bound on the cache's own address inside
        # its private namespace (on the host's loopback without one: still its own address).
        if self.tls_port + 10000 <= 65535:
            self.bus_port = self.tls_port + 10000
            self.repl_port = self.tls_port + 1000

    async def start(self) -> None:
        await super().start()
        if self.primary is None:
            await self.ensure_replica()

    def _new_replica(self) -> ValkeyProcess | None:
        if self.replica_socket is None:
            return None
        return NativeValkeyProcess(
            self.binary, self.workdir / "replica", self.replica_socket, self.admin_password, self.default_rules,
            self.maxmemory_bytes, self.link, on_restart=self.on_restart, primary=self,
        )

    # ---- configuration
    @property
    def cert_path(self) -> Path:
        return self.workdir / "tls.crt"

    @property
    def key_path(self) -> Path:
        return self.workdir / "tls.key"

    def write_certificate(self, chain: bytes, key: bytes) -> None:
        self.cert_path.write_bytes(chain)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)

    def _native_lines(self) -> list[str]:
        link = self.link
        module = [
            f"loadmodule {link.module}", "verifier", str(link.verifier_paths[self.tls_port]),
            "maxargs", str(MAX_REQUEST_ARGS), *link.renames.container_args(),
        ]
        return [
            f"tls-port {self.tls_port}",
            f"tls-cert-file {self.cert_path}",
            f"tls-key-file {self.key_path}",
            f"tls-ca-cert-file {link.ca_file}",
            "tls-auth-clients no",
            "tls-replication no",
            "tls-cluster no",
            # Clients see the cache's endpoint: hostname first, its address, the TLS ports.
            f"cluster-announce-hostname {link.hostname}",
            f"cluster-announce-ip {link.address}",
            f"cluster-announce-tls-port {self.tls_port}",
            "cluster-preferred-endpoint-type hostname",
            *link.renames.config_lines(),
            " ".join(module),
        ]

    @property
    def bind_address(self) -> str:
        # The cluster bus and the replica's link: on the cache's own address only.
        return self.link.address

    def write_config(self) -> None:
        if self.primary is not None:
            self._write_native_replica_config(self.primary)
            return
        lines = [*self.primary_config_lines(), "repl-ping-replica-period 1", *self._native_lines()]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def _write_native_replica_config(self, primary: ValkeyProcess) -> None:
        lines = [
            f"port {self.repl_port}",
            f"unixsocket {BIND_NAME}",
            "unixsocketperm 700",
            f"dir {self.workdir}",
            "daemonize no",
            f"logfile {self.log_path}",
            f"aclfile {self.acl_path}",
            "appendonly no",
            'save ""',
            f"maxmemory {self.maxmemory_bytes}",
            f"masteruser {ADMIN_USER}",  # masterauth on stdin only; the primary's verifier answers ADMIN
            "replica-read-only yes",
            "protected-mode no",
            "io-threads 1",
            "cluster-config-file nodes.conf",
            f"cluster-port {self.bus_port}",
            f"bind {self.bind_address}",
            *serverless_config.config_lines(),
            *self._native_lines(),
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    def write_initial_acl(self) -> None:
        # No admin ACL user: cloudlet's admin is the module's own user, which ACL never shows;
        # the one a data dir kept from the proxy data plane would show in ACL LIST/USERS.
        if not self.acl_path.exists():
            self.acl_path.write_text(f"user default {self.default_rules}\n")
            return
        lines = self.acl_path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if not line.startswith(f"user {ADMIN_USER} ")]
        if kept != lines:
            self.acl_path.write_text("".join(kept))

    # ---- process
    async def _spawn(self) -> None:
        self.bind_path.unlink(missing_ok=True)
        if self.socket != self.bind_path:
            self.socket.unlink(missing_ok=True)
            self.socket.symlink_to(self.bind_path)
        join_pid = self.primary.pid if self.primary is not None else None
        sender, receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sender.setblocking(False)
        env = dict(os.environ)
        env["LD_PRELOAD"] = str(self.link.handoff)
        env["CLOUDLET_HANDOFF"] = f"{receiver.fileno()}:{self.tls_port}"
        try:
            with open(self.workdir / "valkey.stderr", "ab") as err:
                self.proc = await spawn(
                    ["valkey-server", "-"],
                    executable=shutil.which(self.binary) or self.binary,
                    stdin=asyncio.subprocess.PIPE,
                    stderr=err,
                    cwd="/",
                    env=env,
                    pass_fds=(receiver.fileno(),),
                    before_exec=private_network.enter if join_pid is None
                    else functools.partial(private_network.join, join_pid),
                )
            assert self.proc.stdin is not None
            self.proc.stdin.write(self.conf_path.read_bytes() + self._secret_config())
            await self.proc.stdin.drain()
            self.proc.stdin.close()
        except (OSError, ConnectionError) as e:
            sender.close()
            raise ValkeyStartError(f"cannot run {self.binary}: {e}") from e
        finally:
            receiver.close()  # valkey holds it now
        old = self.link.senders.get(self.tls_port)
        self.link.senders[self.tls_port] = sender
        if old is not None:
            old.close()
        self._drop_client()  # a connection to the previous process is of no use
        if self.link.on_spawn is not None:
            self.link.on_spawn(self.tls_port)
        await self._wait_ready()
        if self.link.ecpu_max is not None:
            await self.client().execute_command("CLOUDLET.ECPU", str(self.link.ecpu_max))
        if self.primary is not None:
            await self._join_primary(self.primary)
            await self._wait_replicating()
            return
        await self._own_all_slots()
        self.bus_exposed = await asyncio.get_running_loop().run_in_executor(
            None, _answers, self.link.address, self.bus_port)
        if self.bus_exposed:
            log.warning("valkey of %s: no private network namespace here; its cluster bus listens on %s:%d",
                        self.workdir.name, self.link.address, self.bus_port)

    async def _own_all_slots(self) -> None:
        client = self.client()
        info = str(await client.execute_command("CLUSTER", "INFO"))
        if "cluster_my_epoch:0" in info and "cluster_known_nodes:1\r" in info:
            # A serverless endpoint's node shows config epoch 1 (valkey starts at 0; only a node
            # alone in its cluster may set it).
            await client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", "1")
        await super()._own_all_slots()

    def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            asyncio.get_running_loop().create_task(_close_quietly(client))

    async def _join_primary(self, primary: ValkeyProcess) -> None:
        """Make this valkey a cluster replica of the primary (its nodes.conf keeps that across
        its own restarts; a new replica meets the primary and replicates it)."""
        client = self.client()
        primary_id = str(await primary.client().execute_command("CLUSTER", "MYID"))
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            nodes = str(await client.execute_command("CLUSTER", "NODES"))
            known = any(line.split()[:1] == [primary_id] for line in nodes.splitlines())
            mine = next((ln for ln in nodes.splitlines() if "myself" in ln), "")
            if known and f" {primary_id} " in f" {mine} ":
                break  # replicating the primary already
            if known:
                try:
                    await client.execute_command("CLUSTER", "REPLICATE", primary_id)
                    break
                except Exception as e:  # the primary's node not yet confirmed by a handshake
                    if time.monotonic() > deadline:
                        raise ValkeyStartError(f"replica could not replicate the primary: {e}") from e
            else:
                await client.execute_command("CLUSTER", "MEET", self.link.address, str(primary.repl_port),
                                             str(primary.bus_port))
            if time.monotonic() > deadline:
                raise ValkeyStartError("replica did not meet its primary's cluster bus")
            await asyncio.sleep(0.05)
        # Until the primary's gossip has it as its replica, CLUSTER SLOTS/SHARDS leave it out.
        my_id = str(await client.execute_command("CLUSTER", "MYID"))
        while True:
            nodes = str(await primary.client().execute_command("CLUSTER", "NODES"))
            line = next((ln for ln in nodes.splitlines() if ln.startswith(my_id)), "")
            if f" {primary_id} " in line:
                break
            if time.monotonic() > deadline:
                log.warning("replica of %s: its primary does not list it yet", self.workdir.parent.name)
                return
            await asyncio.sleep(0.02)
        # valkey lists a replica in CLUSTER SLOTS once the primary has gossip of its replication
        # offset past 0: the primary's pings to it (repl-ping-replica-period 1) move it, no data written.
        while True:
            slots = await primary.client().execute_command("CLUSTER", "SLOTS")
            if slots and len(slots[0]) > 3:
                return
            if time.monotonic() > deadline:
                log.warning("replica of %s: not in CLUSTER SLOTS yet", self.workdir.parent.name)
                return
            await asyncio.sleep(0.05)

    def client(self) -> AdminClient:
        if self._client is None:
            self._client = RenamingAdminClient(str(self.socket), ADMIN_USER, self.admin_password, self.link.renames)
        return self._client

    async def stop(self, graceful: bool = True, timeout: float = 5.0) -> None:
        await super().stop(graceful=graceful, timeout=timeout)
        sender = self.link.senders.pop(self.tls_port, None)
        if sender is not None:
            sender.close()


async def _close_quietly(client: AdminClient) -> None:
    try:
        await client.aclose()
    except Exception:  # the process it talked to is gone
        pass


def _answers(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=0.5).close()
    except OSError:
        return False
    return True
