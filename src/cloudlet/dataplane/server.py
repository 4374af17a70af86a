"""The data plane: one TLS endpoint (primary and reader port) per serverless cache.

The ElastiCache control plane owns the caches and calls, from its provider:
    dp = DataPlane(world)            # once, when the ElastiCache provider is built
    await dp.open_cache(spec)        # cache available: bind spec.address:port and :reader_port
    await dp.update_cache(spec)      # users/group changed: new logins use it; removed users dropped
    await dp.close_cache(name)       # cache deleted
    await dp.stop()                  # shutdown
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from typing import Any

from cloudlet.core.world import World
from cloudlet.dataplane import tls
from cloudlet.dataplane.auth import CacheAuthenticator
from cloudlet.dataplane.replies import Topology
from cloudlet.dataplane.resp_fast import plain_run
from cloudlet.dataplane.session import CAPTURE, ClientSession
from cloudlet.dataplane.spec import CacheEndpoint
from cloudlet.dataplane.stats import ConnectionStats
from cloudlet.dataplane.throttle import EcpuBucket

log = logging.getLogger("cloudlet.dataplane")

LISTEN_BACKLOG = 1024


class CacheState:
    """What every connection of one cache shares; replaced wholesale on update."""

    def __init__(self, world: World, spec: CacheEndpoint) -> None:
        self.world = world
        self.sessions: set[ClientSession] = set()
        self.accepted = 0  # connections ever accepted (AWS/ElastiCache NewConnections)
        self.reader_last_used = time.monotonic()  # a reader-port connection last opened or closed
        self.ecpu: EcpuBucket | None = None
        self.set_spec(spec)

    def set_spec(self, spec: CacheEndpoint) -> None:
        self.spec = spec
        rate = spec.ecpu_per_second_max
        if rate is None:
            self.ecpu = None
        elif self.ecpu is None or self.ecpu.rate != rate:
            self.ecpu = EcpuBucket(rate)  # a modified maximum applies at once
        self.authenticator = CacheAuthenticator(self.world, spec)
        self.topology = Topology(spec.arn, spec.hostname, spec.address, spec.port, spec.reader_port)


class CacheListener:
    """One bound port of a cache (the primary or the reader endpoint)."""

    def __init__(self, cache: CacheState, reader: bool) -> None:
        self.cache = cache
        self.reader = reader
        self.server: asyncio.AbstractServer | None = None

    def protocol(self) -> ClientSession:
        return ClientSession(self)


class DataPlane:
    def __init__(self, world: World) -> None:
        self.world = world
        self.caches: dict[str, CacheState] = {}
        self._listeners: dict[str, list[CacheListener]] = {}
        self._tls: dict[str, ssl.SSLContext] = {}
        self._adopting: set[asyncio.Task[Any]] = set()

    async def open_cache(self, spec: CacheEndpoint) -> None:
        if spec.name in self.caches:
            await self.close_cache(spec.name)
        loop = asyncio.get_running_loop()
        data_dir = self.world.config.data_dir
        ctx: ssl.SSLContext = await loop.run_in_executor(
            None, tls.server_context, data_dir, [spec.hostname], [spec.address]
        )
        # The scanner's fast-path regex takes tens of ms to compile: once, here, off the loop.
        await loop.run_in_executor(None, plain_run, frozenset(CAPTURE))
        cache = CacheState(self.world, spec)
        listeners: list[CacheListener] = []
        try:
            for port, reader in ((spec.port, False), (spec.reader_port, True)):
                listener = CacheListener(cache, reader)
                listener.server = await loop.create_server(
                    listener.protocol,
                    spec.address,
                    port,
                    ssl=ctx,
                    ssl_handshake_timeout=self.world.config.cache_auth_timeout_s,
                    backlog=LISTEN_BACKLOG,
                    reuse_address=True,
                )
                listeners.append(listener)
        except OSError:
            for lst in listeners:
                if lst.server is not None:
                    lst.server.close()
            raise
        self.caches[spec.name] = cache
        self._listeners[spec.name] = listeners
        self._tls[spec.name] = ctx
        log.info(
            "cache %s: TLS endpoint %s (%s) ports %d/%d -> %s",
            spec.name,
            spec.hostname,
            spec.address,
            spec.port,
            spec.reader_port,
            spec.valkey_socket,
        )

    def adopt(self, name: str, reader: bool, sock: socket.socket) -> bool:
        """Serves a connection accepted elsewhere (a function's, from its network namespace) as if
        it had come to the cache's own port: one hop less than relaying it there over TCP."""
        listener = next((lst for lst in self._listeners.get(name, []) if lst.reader == reader), None)
        ctx = self._tls.get(name)
        if listener is None or ctx is None:
            return False
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.connect_accepted_socket(
            listener.protocol, sock, ssl=ctx, ssl_handshake_timeout=self.world.config.cache_auth_timeout_s))
        self._adopting.add(task)
        task.add_done_callback(self._adopted)
        return True

    def _adopted(self, task: asyncio.Task[Any]) -> None:
        self._adopting.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.info("adopted cache connection failed: %s", task.exception())

    async def update_cache(self, spec: CacheEndpoint) -> None:
        cache = self.caches.get(spec.name)
        if cache is None:
            await self.open_cache(spec)
            return
        cache.set_spec(spec)
        for session in list(cache.sessions):
            if session.user_name is not None and not cache.authenticator.user_allowed(session.user_name):
                log.info("cache %s: user %r no longer allowed; closing its connection", spec.name, session.user_name)
                session.close()

    async def close_cache(self, name: str) -> None:
        self._tls.pop(name, None)
        cache = self.caches.pop(name, None)
        listeners = self._listeners.pop(name, [])
        for lst in listeners:
            if lst.server is not None:
                lst.server.close()
        if cache is not None:
            for session in list(cache.sessions):
                session.close()
        for lst in listeners:
            if lst.server is not None:
                try:
                    await asyncio.wait_for(lst.server.wait_closed(), 5.0)
                except TimeoutError:
                    log.warning("cache %s: listener did not close in time", name)

    async def stop(self) -> None:
        for name in list(self.caches):
            await self.close_cache(name)

    def reader_idle_for(self, name: str) -> float | None:
        """Seconds since the cache's reader port last had a connection; None while one is open."""
        cache = self.caches.get(name)
        if cache is None or any(s.listener.reader for s in cache.sessions):
            return None
        return time.monotonic() - cache.reader_last_used

    def connection_count(self, name: str) -> int:
        cache = self.caches.get(name)
        return len(cache.sessions) if cache is not None else 0

    async def connection_stats(self, name: str) -> ConnectionStats | None:
        cache = self.caches.get(name)
        if cache is None:
            return None
        throttled = cache.ecpu.throttled if cache.ecpu is not None else 0
        return ConnectionStats(cache.accepted, len(cache.sessions), throttled)
