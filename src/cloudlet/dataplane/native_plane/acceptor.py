"""Accepting a native cache's connections and handing them to its valkey.

Host clients connect to the cache's own address (ports 6379/6380), where cloudlet listens;
a function's connections come from its egress (EgressPolicy.hand_off, after the VPC
decision). Either way the accepted socket is sent to the valkey serving that port over a
SOCK_SEQPACKET pair (SCM_RIGHTS), and cloudlet keeps its own descriptor of it while the
connection is "pending": until it authenticates (the verifier maps the AUTH to it by peer
address) or, on a cache with no user group, until it has sent a command. A pending
connection past the auth timeout is shut down; that also covers a TLS handshake that
never completes. Kept descriptors would hold a connection open after valkey closed it
(no FIN while any descriptor is open), so a watcher checks valkey's descriptor table
(/proc/<pid>/fd) and lets go of the ones valkey no longer holds.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

from cloudlet.dataplane.spec import READER_START_TIMEOUT_S

log = logging.getLogger("cloudlet.dataplane.native")

LISTEN_BACKLOG = 1024
WATCH_S = 0.05


class Pending:
    __slots__ = ("sock", "inode", "timer", "seen", "since")

    def __init__(self, sock: socket.socket, timer: asyncio.TimerHandle) -> None:
        self.sock = sock
        self.inode = os.fstat(sock.fileno()).st_ino
        self.timer = timer
        self.seen = False  # valkey has been seen holding it
        self.since = time.monotonic()


PeerKey = tuple[str, int]


class PortAcceptor:
    """One port of one cache: its host listener, its hand-off to valkey, its pending connections."""

    def __init__(
        self,
        port: int,
        sender: Callable[[], socket.socket | None],
        valkey_pid: Callable[[], int | None],
        auth_timeout_s: Callable[[], float],
        on_timeout: Callable[[PeerKey, socket.socket], None],
        before_hand: Callable[[], Awaitable[None] | None] | None = None,
    ) -> None:
        self.port = port
        self.sender = sender
        self.valkey_pid = valkey_pid
        self.auth_timeout_s = auth_timeout_s
        self.on_timeout = on_timeout
        # What a connection waits for before valkey gets it (None: nothing): the reader port's
        # replica, started at its first connection.
        self.before_hand = before_hand
        self._waiting: set[asyncio.Task[None]] = set()
        self.accepted = 0  # the NewConnections metric
        self.pending: dict[PeerKey, Pending] = {}
        self.listener: socket.socket | None = None
        self._loop = asyncio.get_running_loop()
        self._watcher: asyncio.Task[None] | None = None

    def listen(self, address: str) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, self.port))
            sock.listen(LISTEN_BACKLOG)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.listener = sock
        self._loop.add_reader(sock.fileno(), self._accept_ready)

    def _accept_ready(self) -> None:
        assert self.listener is not None
        for _ in range(64):
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # EMFILE and the like: the client sees a reset, cloudlet goes on
                log.warning("cache port %d: accept failed: %s", self.port, e)
                return
            self.hand(conn)

    def hand(self, conn: socket.socket) -> bool:
        """Give an accepted connection to valkey; False (connection closed) when valkey is down."""
        self.accepted += 1
        try:
            peer = conn.getpeername()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        except OSError:
            conn.close()
            return False
        waiting = self.before_hand() if self.before_hand is not None else None
        if waiting is None:
            return self._send(conn, peer)
        task = self._loop.create_task(self._send_when_ready(conn, peer, waiting))
        self._waiting.add(task)
        task.add_done_callback(self._waiting.discard)
        return True

    async def _send_when_ready(self, conn: socket.socket, peer: tuple[str, int], waiting: Awaitable[None]) -> None:
        try:
            await asyncio.wait_for(waiting, READER_START_TIMEOUT_S)
        except asyncio.CancelledError:  # the endpoint closes
            _reset(conn)
            raise
        except Exception as e:  # not served: the client sees a reset, as when valkey is down
            log.info("cache port %d: connection from %s not served: %s", self.port, peer[0], e)
            _reset(conn)
            return
        self._send(conn, peer)

    def _send(self, conn: socket.socket, peer: tuple[str, int]) -> bool:
        sender = self.sender()
        try:
            if sender is None:
                raise ConnectionError("valkey is not running")
            sender.sendmsg([b"\0"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [conn.fileno()]))])
        except OSError as e:
            log.info("cache port %d: connection from %s not handed to valkey: %s", self.port, peer[0], e)
            _reset(conn)
            return False
        key: PeerKey = (str(peer[0]), int(peer[1]))
        old = self.pending.pop(key, None)
        if old is not None:
            old.timer.cancel()
            old.sock.close()
        timer = self._loop.call_later(self.auth_timeout_s(), self._timed_out, key)
        self.pending[key] = Pending(conn, timer)
        if self._watcher is None or self._watcher.done():
            self._watcher = self._loop.create_task(self._watch())
        return True

    def release(self, key: PeerKey) -> bool:
        """The connection authenticated (or no longer needs watching): close cloudlet's descriptor."""
        p = self.pending.pop(key, None)
        if p is None:
            return False
        p.timer.cancel()
        p.sock.close()
        return True

    def _timed_out(self, key: PeerKey) -> None:
        p = self.pending.pop(key, None)
        if p is not None:
            self.on_timeout(key, p.sock)

    async def _watch(self) -> None:
        """Let go of pending connections valkey has closed (see the module's docstring)."""
        while self.pending:
            await asyncio.sleep(WATCH_S)
            pid = self.valkey_pid()
            if pid is None:
                continue
            held = _socket_inodes(pid)
            if held is None:
                continue
            now = time.monotonic()
            for key, p in list(self.pending.items()):
                if p.inode in held:
                    p.seen = True
                elif p.seen or now - p.since > 1.0:
                    # Closed by valkey (or never taken: a valkey that died meanwhile).
                    self.pending.pop(key, None)
                    p.timer.cancel()
                    p.sock.close()

    def close(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(self.listener.fileno())
            self.listener.close()
            self.listener = None
        if self._watcher is not None:
            self._watcher.cancel()
        for task in self._waiting:
            task.cancel()
        for p in self.pending.values():
            p.timer.cancel()
            _reset(p.sock)
        self.pending.clear()


def _socket_inodes(pid: int) -> set[int] | None:
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return None
    held: set[int] = set()
    for name in names:
        try:
            target = os.readlink(f"{base}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            held.add(int(target[8:-1]))
    return held


def shutdown(sock: socket.socket) -> None:
    """End a connection valkey also holds: shutdown reaches the connection, not just this descriptor."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()
