"""NativeDataPlane: the control plane's data plane when CLOUDLET_DATAPLANE=native.

The same calls as dataplane.server.DataPlane (open_cache, update_cache, close_cache,
adopt, stop, connection_count, connection_stats), plus new_process: a native cache's
valkeys are made here, because the verifier must answer before valkey starts and the
acceptor feeds the hand-off sockets valkey receives on.

Per cache (NativeCache): the two verifiers (primary, replica), the two port acceptors,
and the logins: (port, valkey client id) -> user, with the IAM 12-hour timer. Removing
a user from the group, disabling it, or the 12 hours passing end its connections with
CLIENT KILL ID through the admin connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from cloudlet.core.runtime_dir import private_socket_dir
from cloudlet.core.world import World
from cloudlet.dataplane import replies, tls
from cloudlet.dataplane.auth import AuthRefused, CacheAuthenticator
from cloudlet.dataplane.native_plane.acceptor import PeerKey, PortAcceptor, shutdown
from cloudlet.dataplane.native_plane.renames import Renames
from cloudlet.dataplane.native_plane.valkey_native import NativeLink, NativeValkeyProcess
from cloudlet.dataplane.native_plane.verifier import Verifier
from cloudlet.dataplane.spec import ADMIN_USER, CacheEndpoint, backend_password
from cloudlet.dataplane.stats import ConnectionStats
from cloudlet.services.elasticache.valkey_process import ValkeyProcess

log = logging.getLogger("cloudlet.dataplane.native")

MAX_SOCKET_PATH = 100
UNIX_PEER = "/unixsocket"  # the peer address the module gives for a unix-socket client


@dataclasses.dataclass
class Login:
    user_name: str
    iam: bool
    timer: asyncio.TimerHandle | None


class NativeCache:
    def __init__(
        self, world: World, name: str, workdir: Path, admin_password: str, backend_secret: bytes, link: NativeLink
    ) -> None:
        self.world = world
        self.name = name
        self.backend_secret = backend_secret
        self.admin_password = admin_password.encode()
        self.link = link
        self.spec: CacheEndpoint | None = None
        self.authenticator: CacheAuthenticator | None = None
        self.process: NativeValkeyProcess | None = None
        self.logins: dict[tuple[int, int], Login] = {}
        self.acceptors: dict[int, PortAcceptor] = {}
        self.verifiers = {port: Verifier(_verifier_path(workdir, port), self._decider(port))
                          for port in (link.port, link.reader_port)}
        self.ecpu_max: int | None = None
        self._loop = asyncio.get_running_loop()
        self._tasks: set[asyncio.Task[None]] = set()
        for port in (link.port, link.reader_port):
            self.acceptors[port] = PortAcceptor(
                port,
                sender=lambda port=port: self.link.senders.get(port),  # type: ignore[misc]
                valkey_pid=lambda port=port: self._pid(port),  # type: ignore[misc]
                auth_timeout_s=lambda: world.config.cache_auth_timeout_s,
                on_timeout=lambda key, sock, port=port: self._auth_timed_out(port, key, sock),  # type: ignore[misc]
                before_hand=self._reader_start if port == link.reader_port else None,
            )

    def _process_of(self, port: int) -> NativeValkeyProcess | None:
        p = self.process
        if p is None:
            return None
        if port == self.link.reader_port:
            return p.replica if p.replica_up and isinstance(p.replica, NativeValkeyProcess) else None
        return p

    def _reader_start(self) -> Awaitable[None] | None:
        """The replica starts with the primary; after a failed start, a reader connection tries
        again (ensure_replica)."""
        p = self.process
        if p is None or p.replica is None or p.replica_up:
            return None
        return p.ensure_replica()

    def _pid(self, port: int) -> int | None:
        p = self._process_of(port)
        return p.pid if p is not None else None

    # ---- AUTH
    def _decider(self, port: int):  # type: ignore[no-untyped-def]
        def decide(client_id: int, ip: str, peer_port: int, user: bytes, password: bytes) -> bytes:
            return self.decide(port, client_id, ip, peer_port, user, password)

        return decide

    def decide(self, port: int, client_id: int, ip: str, peer_port: int, user: bytes, password: bytes) -> bytes:
        if user == ADMIN_USER.encode():
            if hmac.compare_digest(password, self.admin_password):
                return b"ADMIN"
            return b"ERR " + replies.WRONGPASS.rstrip(b"\r\n")
        if ip == UNIX_PEER:
            # cloudlet's own unix socket (mode 0700): a user by the password only cloudlet can
            # compute (backend_password), as the proxy logs its connections in.
            name = user.decode(errors="replace")
            if hmac.compare_digest(password, backend_password(self.backend_secret, name).encode()):
                return b"OK " + user
            return b"ERR " + replies.WRONGPASS.rstrip(b"\r\n")
        authenticator = self.authenticator
        if authenticator is None:  # the endpoint is not open (yet)
            return b"ERR " + replies.SERVICE_UNAVAILABLE.rstrip(b"\r\n")
        try:
            result = authenticator.authenticate(user, password, ip)
        except AuthRefused as e:
            log.info("cache %s: AUTH refused for %s: %s", self.name, ip, e.reason)
            return b"ERR " + e.reply.rstrip(b"\r\n")
        self.acceptors[port].release((ip, peer_port))
        key = (port, client_id)
        old = self.logins.pop(key, None)
        if old is not None and old.timer is not None:
            old.timer.cancel()
        timer = None
        if result.iam:
            timer = self._loop.call_later(self.world.config.cache_iam_conn_max_s, self._iam_expired, key)
        self.logins[key] = Login(result.user_name, result.iam, timer)
        log.info("cache %s: %s authenticated as %r", self.name, ip, result.user_name)
        return b"OK " + result.user_name.encode()

    def _iam_expired(self, key: tuple[int, int]) -> None:
        login = self.logins.pop(key, None)
        if login is not None:
            log.info("cache %s: IAM connection of %s reached its maximum age; closing", self.name, login.user_name)
            self._background(self.kill([key]))

    def _auth_timed_out(self, port: int, key: PeerKey, sock: socket.socket) -> None:
        if self.spec is not None and self.spec.users is None:
            # No user group: nobody AUTHs; the connection stays if it has been used.
            self._background(self._keep_if_used(port, key, sock))
            return
        log.info("cache %s: %s did not authenticate in time; closing", self.name, key[0])
        shutdown(sock)

    async def _keep_if_used(self, port: int, key: PeerKey, sock: socket.socket) -> None:
        used = False
        proc = self._process_of(port)
        if proc is not None:
            with contextlib.suppress(Exception):
                listing = str(await proc.client().execute_command("CLIENT", "LIST", "TYPE", "normal"))
                for line in listing.splitlines():
                    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                    if fields.get("addr") == f"{key[0]}:{key[1]}":
                        used = int(fields.get("tot-net-in", "0")) > 0 or fields.get("cmd", "NULL") != "NULL"
        if used:
            sock.close()
        else:
            log.info("cache %s: %s sent nothing within the auth timeout; closing", self.name, key[0])
            shutdown(sock)

    async def kill(self, keys: list[tuple[int, int]]) -> None:
        for port, client_id in keys:
            proc = self._process_of(port)
            if proc is None:
                continue
            with contextlib.suppress(Exception):  # already gone
                await proc.client().execute_command("CLIENT", "KILL", "ID", str(client_id))

    def _background(self, coro) -> None:  # type: ignore[no-untyped-def]
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def forget_logins(self, port: int) -> None:
        """A valkey restarted: its client ids start over."""
        for key in [k for k in self.logins if k[0] == port]:
            login = self.logins.pop(key)
            if login.timer is not None:
                login.timer.cancel()

    # ---- endpoint
    def set_spec(self, spec: CacheEndpoint) -> list[tuple[int, int]]:
        """New logins use SPEC; -> the logins it no longer allows (for end_logins)."""
        self.spec = spec
        self.authenticator = CacheAuthenticator(self.world, spec)
        gone = [k for k, login in self.logins.items() if not self.authenticator.user_allowed(login.user_name)]
        for k in gone:
            login = self.logins.pop(k)
            if login.timer is not None:
                login.timer.cancel()
            log.info("cache %s: user %r no longer allowed; closing its connection", self.name, login.user_name)
        return gone

    async def apply_ecpu(self, maximum: int | None) -> None:
        self.ecpu_max = maximum
        self.link.ecpu_max = maximum
        proc = self.process
        if proc is None:
            return
        for p in proc.processes():
            await p.client().execute_command("CLOUDLET.ECPU", str(maximum or 0))

    async def stats(self) -> ConnectionStats:
        accepted = sum(a.accepted for a in self.acceptors.values())
        current = 0
        throttled = 0
        live: set[tuple[int, int]] = set()
        proc = self.process
        if proc is not None:
            for p in proc.processes():
                assert isinstance(p, NativeValkeyProcess)
                client = p.client()
                listing = str(await client.execute_command("CLIENT", "LIST", "TYPE", "normal"))
                for line in listing.splitlines():
                    fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
                    if "U" in fields.get("flags", ""):
                        continue  # cloudlet's own admin connections (unix socket)
                    current += 1
                    live.add((p.tls_port, int(fields.get("id", "0"))))
                stats = str(await client.execute_command("CLOUDLET.STATS"))
                parts = stats.split()
                if len(parts) >= 2 and parts[0] == "throttled" and parts[1].isdigit():
                    throttled += int(parts[1])
        for key in [k for k in self.logins if k not in live]:  # ended connections
            login = self.logins.pop(key)
            if login.timer is not None:
                login.timer.cancel()
        return ConnectionStats(accepted, current, throttled, admin_commands=2)  # CLIENT LIST, CLOUDLET.STATS

    async def close(self) -> None:
        for a in self.acceptors.values():
            a.close()
        for v in self.verifiers.values():
            await v.stop()
        for login in self.logins.values():
            if login.timer is not None:
                login.timer.cancel()
        self.logins.clear()
        for t in list(self._tasks):
            t.cancel()


def _both(proc: NativeValkeyProcess) -> list[NativeValkeyProcess]:
    """The primary and its replica, whether or not the replica runs."""
    return [p for p in (proc, proc.replica) if isinstance(p, NativeValkeyProcess)]


def _verifier_path(workdir: Path, port: int) -> Path:
    path = workdir / f"verifier-{port}.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    leaf = hashlib.sha256(str(path).encode()).hexdigest()[:20] + ".sock"
    return private_socket_dir(len(leaf)) / leaf


class NativeDataPlane:
    def __init__(self, world: World) -> None:
        self.world = world
        self.caches: dict[str, NativeCache] = {}

    async def new_process(
        self,
        name: str,
        hostname: str,
        address: str,
        port: int,
        reader_port: int,
        workdir: Path,
        socket_path: Path,
        replica_socket: Path,
        backend_secret: bytes,
        admin_password: str,
        default_rules: str,
        maxmemory_bytes: int,
        on_restart,  # type: ignore[no-untyped-def]
        on_replica_start: Callable[[ValkeyProcess], Awaitable[None]],
    ) -> NativeValkeyProcess:
        """The cache's valkey (and its replica), with its verifiers serving; not started."""
        from cloudlet.dataplane.native.build import native_artifacts  # type: ignore[import-not-found]

        loop = asyncio.get_running_loop()
        artifacts = await loop.run_in_executor(None, native_artifacts)
        old = self.caches.pop(name, None)
        if old is not None:
            await old.close()
        data_dir = self.world.config.data_dir
        await loop.run_in_executor(None, tls.ensure_ca, data_dir)
        link = NativeLink(
            hostname=hostname, address=address, port=port, reader_port=reader_port,
            module=artifacts.module, handoff=artifacts.handoff,
            ca_file=tls.ca_cert_path(data_dir), renames=Renames(backend_secret),
        )
        cache = NativeCache(self.world, name, workdir, admin_password, backend_secret, link)
        for port_, verifier in cache.verifiers.items():
            link.verifier_paths[port_] = verifier.path
            await verifier.start()
        link.on_spawn = cache.forget_logins
        proc = NativeValkeyProcess(
            binary=self.world.config.valkey_server, workdir=workdir, socket=socket_path,
            admin_password=admin_password, default_rules=default_rules, maxmemory_bytes=maxmemory_bytes,
            link=link, on_restart=on_restart, replica_socket=replica_socket, on_replica_start=on_replica_start,
        )
        chain, key = await loop.run_in_executor(None, tls.issue_server_cert, data_dir, [hostname], [address])
        workdir.mkdir(parents=True, exist_ok=True)
        for p in _both(proc):  # the replica's too, before its (first) start
            p.workdir.mkdir(parents=True, exist_ok=True)
            p.write_certificate(chain, key)
        cache.process = proc
        self.caches[name] = cache
        return proc

    async def open_cache(self, spec: CacheEndpoint) -> None:
        cache = self.caches.get(spec.name)
        if cache is None:
            raise RuntimeError(f"cache {spec.name}: no native valkey was made for it")
        if spec.address != cache.link.address:
            await self._move(cache, spec)
        await cache.kill(cache.set_spec(spec))
        await cache.apply_ecpu(spec.ecpu_per_second_max)
        opened: list[PortAcceptor] = []
        try:
            for port in (spec.port, spec.reader_port):
                acceptor = cache.acceptors[port]
                acceptor.listen(spec.address)
                opened.append(acceptor)
        except OSError:
            for a in opened:
                a.close()
            raise
        log.info("cache %s: native endpoint %s (%s) ports %d/%d", spec.name, spec.hostname, spec.address,
                 spec.port, spec.reader_port)

    async def _move(self, cache: NativeCache, spec: CacheEndpoint) -> None:
        """The address was taken meanwhile (see cache_ops._open_endpoint): a new certificate and
        cluster announcement for the new one."""
        loop = asyncio.get_running_loop()
        chain, key = await loop.run_in_executor(
            None, tls.issue_server_cert, self.world.config.data_dir, [spec.hostname], [spec.address])
        cache.link.address = spec.address
        assert cache.process is not None
        for native in _both(cache.process):
            native.write_certificate(chain, key)
            native.write_config()
        for p in cache.process.processes():  # the running ones take them at once
            assert isinstance(p, NativeValkeyProcess)
            client = p.client()
            await client.execute_command("CONFIG", "SET", "tls-cert-file", str(p.cert_path),
                                         "tls-key-file", str(p.key_path))
            await client.execute_command("CONFIG", "SET", "bind", spec.address, "cluster-announce-ip", spec.address)

    async def update_cache(self, spec: CacheEndpoint) -> None:
        cache = self.caches.get(spec.name)
        if cache is None:
            return
        await cache.kill(cache.set_spec(spec))
        if spec.ecpu_per_second_max != cache.ecpu_max:
            await cache.apply_ecpu(spec.ecpu_per_second_max)

    def adopt(self, name: str, reader: bool, sock: socket.socket) -> bool:
        cache = self.caches.get(name)
        if cache is None or cache.spec is None:
            return False
        port = cache.spec.reader_port if reader else cache.spec.port
        cache.acceptors[port].hand(sock)
        return True

    async def close_cache(self, name: str) -> None:
        cache = self.caches.pop(name, None)
        if cache is not None:
            await cache.close()

    async def stop(self) -> None:
        for name in list(self.caches):
            await self.close_cache(name)

    def reader_idle_for(self, name: str) -> float | None:
        """Never idle: a native replica runs as long as its primary, since valkey's own cluster
        answers list it (the proxy's replicas start lazily and stop when idle)."""
        return None

    def connection_count(self, name: str) -> int:
        """Pending connections (accepted, not yet authenticated); the rest are valkey's (stats)."""
        cache = self.caches.get(name)
        return sum(len(a.pending) for a in cache.acceptors.values()) if cache is not None else 0

    async def connection_stats(self, name: str) -> ConnectionStats | None:
        cache = self.caches.get(name)
        return await cache.stats() if cache is not None else None
