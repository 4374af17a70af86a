"""One client connection to a cache endpoint: authenticate, then splice bytes to valkey.

Before authentication every command is parsed (bounded) and answered here.
After it, the connection is spliced to a unix-socket connection to the cache's
valkey, logged in as the same ACL user, so valkey enforces the access string.
Only a few commands are looked at on the way (AUTH/HELLO re-authentication,
commands serverless does not offer (commands.py), the cluster topology commands,
MULTI and CLIENT REPLY state, ACL reads, flushes, RESET); everything else passes
as the bytes the client sent. Requests over 3,999 arguments never reach valkey. Names and
keywords are read as valkey reads them (resp.keyword: case-insensitive, up to
a NUL), and a looked-at command whose name holds a NUL is sent on under the
name the proxy read, so valkey and the proxy always agree on what it is.

Keeping replies in order without parsing valkey's output:
  * a refused command, or a reply the proxy writes itself (CLUSTER SLOTS,
    READONLY ...), is replaced by a marker command with a random name: valkey
    answers "unknown command '<marker>'" in its place, and that error is cut
    out of the stream and replaced by the proxy's reply (see _in_place);
  * a failed re-AUTH is sent on with a password valkey cannot accept, so valkey
    answers WRONGPASS in place;
  * a reply the proxy must rewrite (ACL LIST/USERS without cloudlet's admin user)
    is bracketed by two marker commands and cut out between their errors.
Throttling over a cache's ECPUPerSecond maximum pauses reading from the client.
"""

from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import secrets
import struct
import termios
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cloudlet.dataplane import replies
from cloudlet.dataplane.auth import DEFAULT_USER, Authenticated, AuthRefused
from cloudlet.dataplane.commands import NOT_OFFERED, PARTIAL
from cloudlet.dataplane.resp import (
    MAX_REQUEST_ARGS,
    Command,
    CommandScanner,
    ProtocolError,
    keyword,
    reply_end,
)
from cloudlet.dataplane.spec import ADMIN_USER, READER_START_TIMEOUT_S, backend_password
from cloudlet.dataplane.throttle import ecpus

if TYPE_CHECKING:
    from cloudlet.dataplane.server import CacheListener

log = logging.getLogger("cloudlet.dataplane")

# "In ElastiCache Serverless, FLUSHDB and FLUSHALL commands will always flush all keys across
# the cluster. For this reason, flush commands cannot be included inside a Serverless transaction."
# (user guide, "Supported and restricted Valkey, Memcached, and Redis OSS commands").
FLUSHES = frozenset({b"FLUSHALL", b"FLUSHDB"})
# Looked at after authentication; everything else passes through unread: the commands
# serverless does not offer (refused here, see commands.py) and the ones the proxy acts on.
CAPTURE = (
    NOT_OFFERED
    | frozenset(PARTIAL)
    | {b"AUTH", b"HELLO", b"READONLY", b"READWRITE", b"MULTI", b"EXEC", b"DISCARD", b"RESET"}
    | FLUSHES
)
# CLUSTER subcommands the endpoint answers for its one virtual shard.
LOCAL_CLUSTER = frozenset({b"SLOTS", b"SHARDS", b"NODES", b"INFO", b"MYID", b"KEYSLOT", b"REPLICAS"})
BACKEND_CONNECT_TIMEOUT_S = 5.0
# Flow control: stop reading one side when the other side's write buffer holds this much.
WRITE_HIGH = 4 * 1024 * 1024
WRITE_LOW = 1024 * 1024
# How often a closing connection checks that its last replies have left.
CLOSE_POLL_S = 0.05


class BackendProtocol(asyncio.Protocol):
    """The proxy's unix-socket connection to valkey for one client connection."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Future[bytes] | None = None
        self._hs_buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport subclasses
        self.transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        hs = self.handshake
        if hs is None:
            self.session.from_backend(data)
            return
        buf = self._hs_buf + data
        try:
            end = reply_end(buf)
        except ProtocolError as e:
            self.handshake = None
            if not hs.done():
                hs.set_exception(ConnectionError(f"valkey reply: {e}"))
            return
        if end is None:
            self._hs_buf = buf
            return
        self._hs_buf = b""
        self.handshake = None
        if not hs.done():
            hs.set_result(buf[:end])
        if end < len(buf):
            self.session.from_backend(buf[end:])

    def connection_lost(self, exc: Exception | None) -> None:
        hs = self.handshake
        if hs is not None and not hs.done():
            hs.set_exception(ConnectionError("valkey closed the connection"))
        self.session.backend_lost(self)

    def pause_writing(self) -> None:
        self.session.pause_client("backend")

    def resume_writing(self) -> None:
        self.session.resume_client("backend")


class ClientSession(asyncio.Protocol):
    def __init__(self, listener: CacheListener) -> None:
        self.listener = listener
        self.cache = listener.cache
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer_ip = "127.0.0.1"
        self.state = "preauth"  # preauth | authing | open | closed
        self.scanner = CommandScanner(CAPTURE, capture_all=True)
        self.backend: BackendProtocol | None = None
        self.user_name: str | None = None
        self.proto = 2
        self.in_multi = False
        self.reply_off = False
        self.skip_seq: int | None = None  # seq of the command whose reply CLIENT REPLY SKIP drops
        self.markers: collections.deque[Marker] = collections.deque()
        self._rewriting: tuple[bytes, Callable[[bytes], bytes]] | None = None  # see _rewritten
        self._hold = b""
        self._batch: list[bytes] | None = None  # backend writes collected while one read is handled
        self._deferred: list[Command] = []
        self._queued: list[bytes] = []
        self._pauses: set[str] = set()
        self._auth_timer: asyncio.TimerHandle | None = None
        self._iam_timer: asyncio.TimerHandle | None = None
        self._lost = False  # the client's transport has called connection_lost
        self._reader_start: asyncio.Task[None] | None = None  # see connection_made

    # -- connection lifecycle -------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport subclasses
        self.transport.set_write_buffer_limits(WRITE_HIGH, WRITE_LOW)  # type: ignore[union-attr]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer_ip = str(peer[0])
        self.cache.sessions.add(self)
        self.cache.accepted += 1  # the NewConnections metric
        ready = self.cache.spec.reader_ready
        if self.listener.reader:
            self.cache.reader_last_used = time.monotonic()
        if self.listener.reader and ready is not None:
            # The read replica starts at the reader's first connection, while TLS and AUTH go on.
            self._reader_start = self.loop.create_task(ready())
            self._reader_start.add_done_callback(_retrieve)
        timeout = self.cache.world.config.cache_auth_timeout_s
        self._auth_timer = self.loop.call_later(timeout, self._auth_timed_out)
        if self.cache.spec.users is None:
            # No user group: everyone is the default user, as on AWS; no AUTH needed.
            self._start_login(Authenticated(DEFAULT_USER, iam=False), hello=None, reply_ok=False)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self.close()

    def close(self) -> None:
        if self.state == "closed":
            return
        self.state = "closed"
        self.cache.sessions.discard(self)
        if self.listener.reader:
            self.cache.reader_last_used = time.monotonic()
        for timer in (self._auth_timer, self._iam_timer):
            if timer is not None:
                timer.cancel()
        if self.transport is not None:
            self.transport.close()
            self._drop_when_flushed(self.transport)
        if self.backend is not None and self.backend.transport is not None:
            self.backend.transport.close()

    def _drop_when_flushed(self, transport: asyncio.Transport, idle_checks: int = 0) -> None:
        """Close as valkey closes a TLS client: once the replies and close_notify are
        out, drop the socket without waiting for the peer's close_notify. (A graceful
        asyncio close waits up to 30 s for it, reading and discarding whatever the
        client still sends, so a client that keeps writing never sees the close.)
        "Out" means the TLS layer holds nothing and the kernel has nothing unacknowledged
        on two checks in a row: between them the event loop's poll phase has moved
        anything the TCP transport still queued into the kernel."""
        if self._lost:
            return
        if transport.get_write_buffer_size() == 0 and _unacked_bytes(transport) == 0:
            if idle_checks >= 1:
                transport.abort()
                return
            idle_checks += 1
        else:
            idle_checks = 0
        self.loop.call_later(CLOSE_POLL_S, self._drop_when_flushed, transport, idle_checks)

    def _fail(self, reply: bytes) -> None:
        if self.transport is not None and self.state != "closed":
            self.transport.write(reply)
        self.close()

    def _auth_timed_out(self) -> None:
        if self.state in ("preauth", "authing"):
            log.info("cache %s: %s did not authenticate in time; closing", self.cache.spec.name, self.peer_ip)
            self.close()

    def _iam_expired(self) -> None:
        log.info(
            "cache %s: IAM connection of %s reached its maximum age; closing", self.cache.spec.name, self.user_name
        )
        self.close()

    # -- flow control ---------------------------------------------------------

    def _throttle(self, delay: float) -> None:
        """Over the cache's ECPUPerSecond maximum: read nothing more from this client for DELAY s."""
        if delay > 0 and "ecpu" not in self._pauses:
            self.pause_client("ecpu")
            self.loop.call_later(delay, self.resume_client, "ecpu")

    def pause_client(self, reason: str) -> None:
        if not self._pauses and self.transport is not None:
            self.transport.pause_reading()
        self._pauses.add(reason)

    def resume_client(self, reason: str) -> None:
        self._pauses.discard(reason)
        if not self._pauses and self.transport is not None and self.state != "closed":
            self.transport.resume_reading()

    def pause_writing(self) -> None:
        if self.backend is not None and self.backend.transport is not None:
            self.backend.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.backend is not None and self.backend.transport is not None:
            self.backend.transport.resume_reading()

    # -- client -> valkey ----------------------------------------------------

    def data_received(self, data: bytes) -> None:
        state = self.state
        if state == "open":
            bucket = self.cache.ecpu
            if bucket is not None:
                self._throttle(bucket.spend(ecpus(data)))
            try:
                items = self.scanner.feed(data)
            except ProtocolError as e:
                self._fail(replies.error(f"ERR {e}"))
                return
            backend = self.backend.transport  # type: ignore[union-attr]
            if len(items) == 1 and items[0].__class__ is bytes:
                backend.write(items[0])  # type: ignore[union-attr, arg-type]
                return
            # Several pieces (pass-through bytes, looked-at commands): one writev for all.
            batch: list[bytes] = []
            self._batch = batch
            try:
                for item in items:
                    if item.__class__ is bytes:
                        batch.append(item)  # type: ignore[arg-type]
                    else:
                        self._command(item)  # type: ignore[arg-type]
                    if self.state != "open":
                        break
            finally:
                self._batch = None
            if batch and self.state == "open":
                backend.writelines(batch)  # type: ignore[union-attr]
            return
        if state == "authing":
            self._queued.append(data)
            return
        if state != "preauth":
            return
        try:
            items = self.scanner.feed(data)
        except ProtocolError as e:
            self._fail(replies.error(f"ERR {e}"))
            return
        self._run_preauth([i for i in items if isinstance(i, Command)])

    def _run_preauth(self, commands: list[Command]) -> None:
        for i, cmd in enumerate(commands):
            if self.state != "preauth":
                return
            self._preauth_command(cmd)
            if self.state == "authing":
                self._deferred = commands[i + 1 :]
                return

    def _preauth_command(self, cmd: Command) -> None:
        name = cmd.name
        t = self.transport
        assert t is not None
        if name == b"AUTH":
            args = cmd.args
            if len(args) not in (2, 3):
                t.write(replies.wrong_args("auth"))
                return
            user, pw = (None, args[1]) if len(args) == 2 else (args[1], args[2])
            self._try_login(user, pw, hello=None)
        elif name == b"HELLO":
            parsed = _parse_hello(cmd.args)
            if isinstance(parsed, bytes):
                t.write(parsed)
            elif parsed.user is None:
                t.write(replies.HELLO_NOAUTH)
            else:
                self._try_login(parsed.user, parsed.password, hello=parsed)
        elif name == b"QUIT":
            self._fail(replies.OK)
        else:
            t.write(replies.NOAUTH)

    def _try_login(self, user: bytes | None, password: bytes, hello: Hello | None) -> None:
        try:
            result = self.cache.authenticator.authenticate(user, password, self.peer_ip)
        except AuthRefused as e:
            log.info("cache %s: AUTH refused for %s: %s", self.cache.spec.name, self.peer_ip, e.reason)
            assert self.transport is not None
            self.transport.write(e.reply)
            return
        self._start_login(result, hello, reply_ok=True)

    def _start_login(self, result: Authenticated, hello: Hello | None, reply_ok: bool) -> None:
        self.state = "authing"
        self.pause_client("auth")
        self.loop.create_task(self._login(result, hello, reply_ok))

    async def _login(self, result: Authenticated, hello: Hello | None, reply_ok: bool) -> None:
        spec = self.cache.spec
        request = self._backend_login(result.user_name, hello)
        backend: BackendProtocol | None = None
        try:
            conn: BackendProtocol
            if self.backend is None:
                if self._reader_start is not None:
                    await asyncio.wait_for(self._reader_start, READER_START_TIMEOUT_S)
                _, conn = await asyncio.wait_for(
                    self.loop.create_unix_connection(lambda: BackendProtocol(self), str(self._backend_socket())),
                    BACKEND_CONNECT_TIMEOUT_S,
                )
            else:
                conn = self.backend
            backend = conn
            hs: asyncio.Future[bytes] = self.loop.create_future()
            conn.handshake = hs
            assert conn.transport is not None
            conn.transport.write(request)
            reply = await asyncio.wait_for(hs, BACKEND_CONNECT_TIMEOUT_S)
        except (TimeoutError, OSError, ConnectionError) as e:
            log.warning("cache %s: valkey unreachable at %s: %r", spec.name, self._backend_socket(), e)
            if backend is not None and backend.transport is not None:
                backend.transport.close()
            self._fail(replies.SERVICE_UNAVAILABLE)
            return
        if self.state == "closed":
            if backend.transport is not None:
                backend.transport.close()
            return
        t = self.transport
        assert t is not None
        if reply.startswith(b"-"):
            log.warning(
                "cache %s: valkey refused the login of ACL user %r: %r",
                spec.name,
                result.user_name,
                reply.strip(),
            )
            if backend.transport is not None:
                backend.transport.close()
            if not reply_ok:
                self._fail(replies.SERVICE_UNAVAILABLE)
                return
            t.write(replies.WRONGPASS)
            self.state = "preauth"
            self._resume_after_login()
            return
        self.backend = backend
        if hello is not None:
            t.write(reply)
            if hello.version is not None:
                self.proto = hello.version
        elif reply_ok:
            t.write(replies.OK)
        self.state = "open"
        self.scanner.set_capture_all(False)
        if self._auth_timer is not None:
            self._auth_timer.cancel()
            self._auth_timer = None
        self._logged_in(result)
        log.info("cache %s: %s authenticated as %r", spec.name, self.peer_ip, result.user_name)
        self._resume_after_login()

    def _backend_socket(self) -> Path:
        """The reader port's connections go to the read replica, when the cache has one."""
        spec = self.cache.spec
        if self.listener.reader and spec.reader_socket is not None:
            return spec.reader_socket
        return spec.valkey_socket

    def _logged_in(self, result: Authenticated) -> None:
        self.user_name = result.user_name
        if self._iam_timer is not None:
            self._iam_timer.cancel()
            self._iam_timer = None
        if result.iam:
            self._iam_timer = self.loop.call_later(
                self.cache.world.config.cache_iam_conn_max_s, self._iam_expired
            )

    def _resume_after_login(self) -> None:
        deferred, self._deferred = self._deferred, []
        queued, self._queued = self._queued, []
        if self.state == "open":
            for cmd in deferred:
                if self.state != "open":
                    return
                self._command(cmd)
        else:
            self._run_preauth(deferred)
        for data in queued:
            if self.state in ("closed", "authing"):
                if self.state == "authing":
                    self._queued.append(data)
                continue
            self.data_received(data)
        if self.state != "authing":
            self.resume_client("auth")

    # -- commands looked at after authentication ---------------------------------

    def _send(self, data: bytes) -> None:
        if self._batch is not None:
            self._batch.append(data)
        else:
            self.backend.transport.write(data)  # type: ignore[union-attr]

    def _command(self, cmd: Command) -> None:
        name = cmd.name
        args = cmd.args
        if cmd.dropped_argc or len(args) > MAX_REQUEST_ARGS:
            count = cmd.dropped_argc or len(args)
            self._in_place(cmd, replies.error(
                f"ERR too many arguments: the request has {count}, at most {MAX_REQUEST_ARGS} are allowed"))
            return
        if name == b"AUTH":
            if len(args) not in (2, 3):
                self._send(_wire(cmd))  # valkey answers the arity error
                return
            user, pw = (None, args[1]) if len(args) == 2 else (args[1], args[2])
            self._relogin(cmd, user, pw, None)
        elif name == b"HELLO":
            parsed = _parse_hello(args)
            if isinstance(parsed, bytes) or parsed.user is None:
                # No AUTH in it (or invalid): valkey answers it; track the protocol it switches to.
                if not isinstance(parsed, bytes) and parsed.version is not None:
                    self.proto = parsed.version
                self._send(_wire(cmd))
                return
            self._relogin(cmd, parsed.user, parsed.password, parsed)
        elif name in NOT_OFFERED:
            self._in_place(cmd, replies.unknown_command(args))
        elif name in PARTIAL and len(args) > 1 and keyword(args[1]) not in PARTIAL[name]:
            self._in_place(cmd, replies.unknown_subcommand(args))
        elif name == b"ACL":
            self._acl(cmd)
        elif name in FLUSHES:
            if self.in_multi:
                self._in_place(cmd, replies.error(
                    f"ERR {name.decode()} cannot be included in a transaction on a serverless cache"))
            else:
                self._send(_wire(cmd))
        elif name == b"MULTI":
            self.in_multi = True
            self._send(_wire(cmd))
        elif name in (b"EXEC", b"DISCARD"):
            self.in_multi = False
            self._send(_wire(cmd))
        elif name == b"RESET":
            self.in_multi = False
            self.reply_off = False
            self.proto = 2
            self._send(_wire(cmd))
            if self.cache.spec.users is None:
                # valkey's RESET logs the connection in as its default user, which here needs
                # cloudlet's password: log in again, as at connect, its reply cut out.
                self._bracketed(self._backend_login(DEFAULT_USER, None), _nothing)
        elif name == b"CLIENT":
            mode = keyword(args[2]) if len(args) == 3 and keyword(args[1]) == b"REPLY" else b""
            if mode == b"ON":
                self.reply_off = False
            elif mode == b"OFF":
                self.reply_off = True
            elif mode == b"SKIP":
                self.skip_seq = cmd.seq + 1
            if mode in (b"ON", b"OFF", b"SKIP"):
                # Sent as read, so valkey's own subcommand lookup cannot disagree with the tracking.
                self._send(replies.command_array([b"CLIENT", b"REPLY", mode]))
            else:
                self._send(_wire(cmd))
        elif name == b"CLUSTER":
            self._cluster(cmd)
        elif name in (b"READONLY", b"READWRITE"):
            if len(args) != 1:
                self._local(cmd, replies.wrong_args(name.decode()))
            else:
                self._local(cmd, replies.OK)
        else:
            self._send(_wire(cmd))

    def _acl(self, cmd: Command) -> None:
        """ACL reads, with cloudlet's own admin user left out of what they show."""
        args = cmd.args
        sub = keyword(args[1]) if len(args) > 1 else b""
        if sub == b"GETUSER" and len(args) == 3 and args[2] == ADMIN_USER.encode():
            # Asked of a name no user has: valkey still checks the caller's permission, then answers null.
            absent = b"cloudlet-absent-" + secrets.token_hex(8).encode()
            self._send(replies.command_array([b"ACL", b"GETUSER", absent]))
        elif sub in (b"LIST", b"USERS") and len(args) == 2:
            drop = _without_admin_rule if sub == b"LIST" else _without_admin_name
            self._rewritten(cmd, drop)
        else:
            self._send(_wire(cmd))

    def _rewritten(self, cmd: Command, rewrite: Callable[[bytes], bytes]) -> None:
        """Send a command to valkey with its reply passed through rewrite: the reply is
        bracketed by two marker commands, so it is found in the stream without parsing
        the replies around it."""
        if self.reply_off or self.skip_seq == cmd.seq:
            self._send(_wire(cmd))  # no reply will come back to rewrite
            return
        if self.in_multi:
            # Its reply would come inside EXEC's, past the proxy's reach.
            self._in_place(cmd, replies.error(f"ERR {cmd.name.decode()} {keyword(cmd.args[1]).decode()} "
                                              "is not allowed inside a transaction on this endpoint"))
            return
        self._bracketed(_wire(cmd), rewrite)

    def _bracketed(self, request: bytes, rewrite: Callable[[bytes], bytes]) -> None:
        start = b"cloudlet-barrier-" + secrets.token_hex(16).encode()
        end = b"cloudlet-barrier-" + secrets.token_hex(16).encode()
        self.markers.append(Marker(b"-ERR unknown command '" + start + b"'", b"", (end, rewrite)))
        self._send(replies.command_array([start]) + request + replies.command_array([end]))

    def _cluster(self, cmd: Command) -> None:
        args = cmd.args
        sub = keyword(args[1]) if len(args) > 1 else b""
        if sub not in LOCAL_CLUSTER:
            self._send(_wire(cmd))
            return
        topo = self.cache.topology
        reader = self.listener.reader
        if sub == b"REPLICAS":
            self._cluster_replicas(cmd)
            return
        if sub == b"KEYSLOT":
            if len(args) != 3:
                self._local(cmd, replies.wrong_args("cluster|keyslot"))
            else:
                self._local(cmd, b":%d\r\n" % replies.key_slot(args[2]))
            return
        if len(args) != 2:
            self._local(cmd, replies.wrong_args(f"cluster|{sub.decode().lower()}"))
            return
        if sub == b"SLOTS":
            reply = topo.slots(self.proto)
        elif sub == b"SHARDS":
            reply = topo.shards(self.proto)
        elif sub == b"NODES":
            reply = topo.nodes(self.proto, reader)
        elif sub == b"INFO":
            reply = topo.info(self.proto)
        else:
            reply = topo.myid(reader)
        self._local(cmd, reply)

    def _cluster_replicas(self, cmd: Command) -> None:
        args = cmd.args
        if len(args) != 3:
            self._local(cmd, replies.wrong_args("cluster|replicas"))
        else:
            self._local(cmd, self.cache.topology.replicas(args[2].decode(errors="replace"), self.proto))

    def _local(self, cmd: Command, reply: bytes) -> None:
        """Answer a command here, in its place among valkey's replies."""
        if self.in_multi:
            # Inside MULTI valkey queues it and answers at EXEC, as a cluster node would.
            self._send(_wire(cmd))
            return
        self._in_place(cmd, reply)

    def _in_place(self, cmd: Command, reply: bytes) -> None:
        """Send valkey a random unknown command and replace its error with REPLY, so
        the answer keeps its place in the pipeline. Refusals use it too: valkey never
        runs the refused command, and inside MULTI the marker's error aborts the
        transaction as the refused command's would. (Never refuse by mangling the
        name: valkey's command lookup compares C strings, so "CONFIG\\0" can match.)"""
        marker = b"cloudlet-barrier-" + secrets.token_hex(16).encode()
        # With replies off (CLIENT REPLY OFF, or SKIP of this command) valkey's error never comes.
        if not self.reply_off:
            if self.skip_seq == cmd.seq:
                self.skip_seq = None
            else:
                self.markers.append(Marker(b"-ERR unknown command '" + marker + b"'", reply))
        self._send(replies.command_array([marker]))

    def _relogin(self, cmd: Command, user: bytes | None, password: bytes, hello: Hello | None) -> None:
        """AUTH / HELLO AUTH on an open connection: verify here, let valkey answer in order."""
        spec = self.cache.spec
        if self.in_multi:
            # AWS refuses re-authentication inside a transaction.
            self._in_place(cmd, replies.unknown_command(cmd.args))
            return
        try:
            result = self.cache.authenticator.authenticate(user, password, self.peer_ip)
        except AuthRefused as e:
            log.info("cache %s: re-AUTH refused for %s: %s", spec.name, self.peer_ip, e.reason)
            if e.reply != replies.WRONGPASS:
                self._local(cmd, e.reply)
                return
            # A password valkey cannot accept: it answers WRONGPASS in place, the login unchanged.
            bad = b"cloudlet-refused-" + secrets.token_hex(16).encode()
            name = DEFAULT_USER.encode() if user is None else user
            self._send(_auth_request(hello, name, bad))
            return
        if hello is not None and hello.version is not None:
            self.proto = hello.version
        self._send(self._backend_login(result.user_name, hello))
        self._logged_in(result)

    def _backend_login(self, user_name: str, hello: Hello | None) -> bytes:
        """The login as the ACL user user_name, with the password only cloudlet knows."""
        password = backend_password(self.cache.spec.backend_secret, user_name).encode()
        return _auth_request(hello, user_name.encode(), password)

    # -- valkey -> client -----------------------------------------------------

    def from_backend(self, data: bytes) -> None:
        t = self.transport
        if t is None or self.state == "closed":
            return
        bucket = self.cache.ecpu
        if bucket is not None:
            self._throttle(bucket.spend(ecpus(data)))
        if not self.markers and self._rewriting is None:
            t.write(data)
            return
        buf = self._hold + data if self._hold else data
        self._hold = b""
        out: list[bytes] = []  # one TLS write for all of it
        while True:
            if self._rewriting is not None:
                # Inside a bracketed reply: it ends where the closing marker's error starts.
                end, rewrite = self._rewriting
                i = buf.find(b"-ERR unknown command '" + end + b"'")
                j = buf.find(b"\r\n", i) if i >= 0 else -1
                if j < 0:
                    self._hold = buf
                    buf = b""
                    break
                out.append(rewrite(buf[:i]))
                buf = buf[j + 2 :]
                self._rewriting = None
                continue
            if not self.markers:
                break
            marker = self.markers[0]
            pattern = marker.pattern
            i = buf.find(pattern)
            if i < 0:
                # Keep what could be the start of the marker's reply for the next read.
                keep = min(len(buf), len(pattern) - 1)
                cut = len(buf) - keep
                if cut:
                    out.append(buf[:cut])
                self._hold = buf[cut:]
                buf = b""
                break
            j = buf.find(b"\r\n", i + len(pattern))
            if j < 0:
                if i:
                    out.append(buf[:i])
                self._hold = buf[i:]
                buf = b""
                break
            if i:
                out.append(buf[:i])
            out.append(marker.reply)
            self.markers.popleft()
            self._rewriting = marker.then
            buf = buf[j + 2 :]
        if buf:
            out.append(buf)
        if out:
            t.writelines(out)

    def backend_lost(self, backend: BackendProtocol) -> None:
        if backend is self.backend and self.state != "closed":
            log.info("cache %s: valkey connection of %s dropped; closing the client", self.cache.spec.name, self.user_name)
            self.close()


class Marker:
    """A marker command's error in valkey's reply stream, and what replaces it.
    then: the closing marker and rewrite of a bracketed reply that follows (see _rewritten)."""

    __slots__ = ("pattern", "reply", "then")

    def __init__(
        self, pattern: bytes, reply: bytes, then: tuple[bytes, Callable[[bytes], bytes]] | None = None
    ) -> None:
        self.pattern = pattern
        self.reply = reply
        self.then = then


def _without(reply: bytes, drop: Callable[[bytes], bool]) -> bytes:
    """An array-of-bulk-strings reply without the elements drop() picks (others as they came)."""
    items = _bulk_items(reply)
    if items is None:
        return reply  # an error (NOPERM ...) or a shape these rewrites do not touch
    kept = [item for item in items if not drop(item)]
    return b"*%d\r\n" % len(kept) + b"".join(b"$%d\r\n%s\r\n" % (len(x), x) for x in kept)


def _bulk_items(reply: bytes) -> list[bytes] | None:
    if not reply.startswith(b"*"):
        return None
    nl = reply.find(b"\r\n")
    count = int(reply[1:nl])
    pos = nl + 2
    items: list[bytes] = []
    for _ in range(count):
        if reply[pos : pos + 1] != b"$":
            return None
        nl = reply.find(b"\r\n", pos)
        size = int(reply[pos + 1 : nl])
        items.append(reply[nl + 2 : nl + 2 + size])
        pos = nl + 4 + size
    return items if pos == len(reply) else None


_ADMIN = ADMIN_USER.encode()


def _nothing(reply: bytes) -> bytes:
    return b""


def _without_admin_rule(reply: bytes) -> bytes:
    return _without(reply, lambda line: line.startswith(b"user " + _ADMIN + b" "))


def _without_admin_name(reply: bytes) -> bytes:
    return _without(reply, lambda name: name == _ADMIN)


def _unacked_bytes(transport: asyncio.Transport) -> int:
    """Bytes of the connection's socket the peer has not acknowledged yet (Linux
    SIOCOUTQ); 0 where that cannot be asked."""
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except (OSError, ValueError):
        return 0
    return int(struct.unpack("i", raw)[0])


def _auth_request(hello: Hello | None, user: bytes, password: bytes) -> bytes:
    """AUTH user password for valkey, inside the client's HELLO when the login came as one."""
    if hello is not None:
        return hello.rewritten(user, password)
    return replies.command_array([b"AUTH", user, password])


def _wire(cmd: Command) -> bytes:
    """A looked-at command as sent on to valkey: as the client sent it, but under
    the name the proxy read if that name holds a NUL (see resp.keyword)."""
    args = cmd.args
    if b"\0" in args[0]:
        args = [cmd.name, *args[1:]]
    return replies.command_array(args)


class Hello:
    """A parsed HELLO [protover [AUTH user pass] [SETNAME name]]."""

    def __init__(
        self, version: int | None, user: bytes | None, password: bytes, setname: bytes | None
    ) -> None:
        self.version = version
        self.user = user
        self.password = password
        self.setname = setname

    def rewritten(self, user: bytes, password: bytes) -> bytes:
        args = [b"HELLO", str(self.version).encode(), b"AUTH", user, password]
        if self.setname is not None:
            args += [b"SETNAME", self.setname]
        return replies.command_array(args)


def _parse_hello(args: list[bytes]) -> Hello | bytes:
    """The HELLO, or the error valkey answers it with (checked in valkey's order)."""
    version: int | None = None
    if len(args) >= 2:
        v = args[1]
        if not v.lstrip(b"-").isdigit() or len(v) > 19:
            return replies.HELLO_BAD_VERSION
        version = int(v)
        if version not in (2, 3):
            return replies.NOPROTO
    user: bytes | None = None
    password = b""
    setname: bytes | None = None
    j = 2
    while j < len(args):
        opt = keyword(args[j])
        more = len(args) - j - 1
        if opt == b"AUTH" and more >= 2:
            user, password = args[j + 1], args[j + 2]
            j += 3
        elif opt == b"SETNAME" and more >= 1:
            name = args[j + 1]
            if any(c < 0x21 or c > 0x7E for c in name):
                return replies.CLIENT_NAME_INVALID
            setname = name
            j += 2
        else:
            return replies.error(f"ERR Syntax error in HELLO option '{args[j].decode(errors='replace')}'")
    return Hello(version, user, password, setname)


def _retrieve(task: asyncio.Task[None]) -> None:
    """A reader start's failure is the login's to report (or nobody's, if the client left first)."""
    if not task.cancelled():
        task.exception()
