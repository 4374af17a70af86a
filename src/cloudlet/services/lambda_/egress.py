"""What a sandboxed execution environment may connect to, and the relay that carries it.

An environment has its own network namespace with nothing in it but loopback.
Its launcher listens there on the ports the function may use (cloudlet's API
port, the cache endpoints' 6379/6380) and hands the listening sockets to
cloudlet. Every connection the function opens to them is accepted here, with
its destination as the function addressed it (the accepted socket's local
address); `EgressPolicy.route` decides per (environment, destination) where it
goes on the host, that it is refused (reset: nothing listens there), or that
the network drops it (`Dropped`: a cache the function's VPC placement and the
security groups do not let it reach, `vpc_access.py`). A dropped connection is
held open and never answered, so the function's client times out as on AWS,
where the SYN goes unanswered; `relay` copies bytes of the others both ways.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from typing import TYPE_CHECKING

from cloudlet.services.lambda_.vpc_access import api_denial, api_gated, cache_denial, find_cache

if TYPE_CHECKING:
    from cloudlet.core.world import World
    from cloudlet.services.lambda_.environment import Environment

log = logging.getLogger(__name__)

Address = tuple[str, int]
CACHE_PORTS = (6379, 6380)  # a serverless cache's endpoint and reader endpoint
_WRITE_HIGH = 1 << 20
_HEAD_MAX = 64 << 10  # an HTTP request head is read up to this to find its service
_HELD_MAX = 256  # dropped connections held per environment; past it the oldest is closed (a retry loop)


class AwaitRequest:
    """The connection's fate depends on the service its HTTP request is for (an API call from a VPC)."""


AWAIT_REQUEST = AwaitRequest()


class Dropped:
    """A destination the network does not deliver to: the connection is held, never answered."""

    def __init__(self, reason: str) -> None:
        self.reason = reason  # the cloudlet: line for the function's log


class EgressPolicy:
    """The one place that says whether an environment may reach a destination, and where that is."""

    def __init__(self, world: World) -> None:
        self.world = world

    def listen_ports(self) -> list[int]:
        """Ports every environment listens on (on all its addresses) for the relay."""
        return [self.world.config.port, *CACHE_PORTS]

    def route(self, env: Environment, dest: Address) -> Address | Dropped | AwaitRequest | None:
        """The host address a connection of env to dest goes to, Dropped, AWAIT_REQUEST (ask
        route_request with the request's head), or None to refuse it."""
        host, port = dest
        config = self.world.config
        if port == config.port:
            return AWAIT_REQUEST if api_gated(self.world, env.fv) else self._api_address()
        if port in CACHE_PORTS:
            target = find_cache(self.world, host)
            if target is None:
                return None
            denial = cache_denial(self.world, env.fv, target, port)
            return (host, port) if denial is None else Dropped(denial)
        return None

    def hand_off(self, env: Environment, dest: Address, sock: socket.socket) -> bool:
        """Gives an allowed cache connection straight to the data plane (no relay hop); False when
        dest is not one (the caller routes it as any other)."""
        from cloudlet.services.elasticache.base import ElastiCacheBase

        if dest[1] not in CACHE_PORTS:
            return False
        target = find_cache(self.world, dest[0])
        if target is None:
            return False
        if cache_denial(self.world, env.fv, target, dest[1]) is not None:
            return False
        return self.world.provider_of(ElastiCacheBase).dataplane.adopt(target.cache.name, dest[1] == CACHE_PORTS[1], sock)

    def route_request(self, env: Environment, head: bytes) -> Address | Dropped:
        """Where an API connection of a function in a VPC goes, from its first request's head."""
        denial = api_denial(self.world, env.fv, head)
        return self._api_address() if denial is None else Dropped(denial)

    def _api_address(self) -> Address:
        # cloudlet's API endpoint, whichever loopback address the function used.
        config = self.world.config
        api_host = config.host if config.host not in ("0.0.0.0", "", "::") else "127.0.0.1"
        return (api_host, config.port)


def _reset(transport: asyncio.Transport) -> None:
    """Close with a TCP reset: the function's connect succeeded inside its namespace, and its
    first read or write fails (ECONNRESET) rather than seeing a clean end of stream."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    transport.abort()


class _Pipe(asyncio.Protocol):
    """One side of a relayed connection; writes what it reads to its peer, with back-pressure."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Pipe | None = None
        self.eof = False
        self.closed = False
        self.early: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(_WRITE_HIGH)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.write(data)
        else:
            # Not linked yet (some loops start reading after connection_made): hold it.
            self.early.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None:
            return True  # not linked yet: the link passes the EOF on
        if peer.transport is None or peer.eof:
            return False  # both directions done: close
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.close()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()


class _Inbound(_Pipe):
    """A connection the function opened inside its namespace."""

    def __init__(self, relay: EgressRelay, env: Environment) -> None:
        super().__init__()
        self.relay = relay
        self.env = env
        self.head_ready: asyncio.Future[None] | None = None  # set while the request head is awaited

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.check_head()

    def check_head(self) -> None:
        """Wakes the router once the request head is in (bytes may come before it waits)."""
        if self.head_ready is not None and not self.head_ready.done():
            head = b"".join(self.early)
            if b"\r\n\r\n" in head or len(head) >= _HEAD_MAX or self.eof or self.closed:
                self.head_ready.set_result(None)

    def eof_received(self) -> bool:
        self._head_done()
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_done()
        super().connection_lost(exc)

    def _head_done(self) -> None:
        if self.head_ready is not None and not self.head_ready.done():
            self.head_ready.set_result(None)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport.pause_reading()  # type: ignore[attr-defined]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sockname = transport.get_extra_info("sockname")
        dest: Address = (str(sockname[0]), int(sockname[1]))
        if sock is not None and self.transport is not None and self._hand_off(self.transport, sock, dest):
            return
        self.relay.connect(self, dest)

    def _hand_off(self, transport: asyncio.Transport, sock: socket.socket, dest: Address) -> bool:
        """An allowed cache connection goes to the data plane on a duplicate of its descriptor (nothing
        has been read from it yet); this transport's close then leaves the connection open."""
        copy = socket.socket(fileno=os.dup(sock.fileno()))
        if self.relay.policy.hand_off(self.env, dest, copy):
            transport.abort()
            return True
        copy.close()  # the duplicate only: the relay serves the connection
        return False


class EgressRelay:
    """Serves the listening sockets of every sandboxed environment."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self._servers: dict[Environment, list[asyncio.AbstractServer]] = {}
        self._held: dict[Environment, list[asyncio.Transport]] = {}  # dropped connections, never answered
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, env: Environment, sock: socket.socket) -> None:
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Inbound(self, env), sock=sock, backlog=256)
        self._servers.setdefault(env, []).append(server)

    def close(self, env: Environment) -> None:
        for server in self._servers.pop(env, []):
            server.close()
        for transport in self._held.pop(env, []):
            transport.abort()

    def connect(self, inbound: _Inbound, dest: Address) -> None:
        task = asyncio.ensure_future(self._connect(inbound, dest))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, inbound: _Inbound, dest: Address) -> None:
        assert inbound.transport is not None
        onward = self.policy.route(inbound.env, dest)
        if isinstance(onward, AwaitRequest):
            inbound.head_ready = asyncio.get_running_loop().create_future()
            inbound.check_head()
            inbound.transport.resume_reading()
            await inbound.head_ready
            if inbound.closed:
                return
            inbound.transport.pause_reading()
            onward = self.policy.route_request(inbound.env, b"".join(inbound.early))
        if onward is None:
            log.info("environment of %s: connection to %s:%d refused", inbound.env.fv.name, *dest)
            _reset(inbound.transport)
            return
        if isinstance(onward, Dropped):
            log.info("environment of %s: %s", inbound.env.fv.name, onward.reason)
            # Reading stays paused: nothing the function sends is taken, nothing comes back.
            held = self._held.setdefault(inbound.env, [])
            held.append(inbound.transport)
            if len(held) > _HELD_MAX:
                held.pop(0).abort()
            inbound.env.note(onward.reason)
            return
        log.debug("environment of %s: %s:%d -> %s:%d", inbound.env.fv.name, *dest, *onward)
        outbound = _Pipe()
        try:
            await asyncio.get_running_loop().create_connection(lambda: outbound, onward[0], onward[1])
        except OSError:
            _reset(inbound.transport)  # refused on the host: the function sees a reset
            return
        assert outbound.transport is not None
        if inbound.closed:
            outbound.transport.close()
            return
        inbound.peer, outbound.peer = outbound, inbound
        if inbound.early:
            outbound.transport.write(b"".join(inbound.early))
            inbound.early.clear()
        if inbound.eof and outbound.transport.can_write_eof():
            outbound.transport.write_eof()
        sock = outbound.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inbound.transport.resume_reading()
