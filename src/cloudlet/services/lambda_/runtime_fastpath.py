"""The two requests of every warm invoke (GET .../invocation/next, POST .../invocation/{id}/response
or /error) served on a plain asyncio protocol, without aiohttp's per-request machinery (measured:
about 85 µs of CPU a request under aiohttp's low-level server against about 33 µs here, and a warm
invoke makes two of them on its critical path).

Only requests this module understands completely are served here: HTTP/1.1, a Content-Length body
within Lambda's response limit, no Transfer-Encoding, Expect, Connection or Upgrade header, no
streaming response mode, exactly the paths above. Any other request, and everything after it on
its connection, is handed to aiohttp's handler (runtime_api._EnvServer) with the bytes not yet
read, so the Runtime API's answers to anything unusual (errors, limits, streams, init errors)
stay aiohttp's, as before. Node.js runtimes (which stream, with trailers) never come here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import time
from email.utils import formatdate
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.services.lambda_.environment import Environment
    from cloudlet.services.lambda_.runtime_api import RuntimeApiServer, _EnvServer

log = logging.getLogger(__name__)

_NEXT = "/2018-06-01/runtime/invocation/next"
_INVOCATION = "/2018-06-01/runtime/invocation/"
_MAX_HEAD = 8190 + 128 * 8190  # past aiohttp's own line and header limits: aiohttp answers it
# A request id as cloudlet makes them (a UUID); anything else is aiohttp's to route and refuse.
_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
# A header name as HTTP defines it (a token).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# What aiohttp refuses to write into a header (a header-injection guard).
_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

_date_at = 0
_date = ""


def _http_date() -> str:
    """The Date header, formatted once a second."""
    global _date_at, _date
    now = int(time.time())
    if now != _date_at:
        _date_at, _date = now, formatdate(now, usegmt=True)
    return _date


def _response(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status}"]
    lines.extend(f"{k}: {v}" for k, v in headers)
    lines.append(f"Content-Length: {len(body)}")
    lines.append(f"Date: {_http_date()}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body


class FastPath(asyncio.Protocol):
    """One runtime connection, served here until a request needs aiohttp."""

    def __init__(self, server: _EnvServer) -> None:
        self.server = server
        self.api: RuntimeApiServer = server.api
        self.env: Environment = server.env
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.busy = False  # a request is being answered: later bytes wait in buf
        self.waiting: asyncio.Task[tuple[bytes, list[tuple[str, str]]]] | None = None

    # ---- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no asyncio.Transport subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:  # as aiohttp does: small answers leave at once
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fast.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.fast.discard(self)
        self.transport = None
        # A GET /next still waiting goes on (as under aiohttp, whose handlers are not cancelled):
        # the invocation it takes is answered into a closed connection.

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._serve()

    def close(self) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
        if self.transport is not None:
            self.transport.close()

    # ---- requests ----------------------------------------------------------------------------
    def _serve(self) -> None:
        """Answer the requests in buf, one at a time."""
        while not self.busy and self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > _MAX_HEAD:
                    self._hand_off()
                return
            request = _parse_head(bytes(self.buf[:end]))
            if request is None:
                self._hand_off()
                return
            method, target, headers = request
            length = headers.get("content-length", "0")
            if not length.isdigit() or len(length) > 9:
                self._hand_off()
                return
            size = int(length)
            start = end + 4
            if method == "GET" and target == _NEXT and size == 0:
                del self.buf[:start]
                self._next()
                continue
            outcome = _completion(method, target, headers, size)
            if outcome is None:
                self._hand_off()
                return
            if len(self.buf) < start + size:
                return  # the rest of the body is still on its way
            body = bytes(self.buf[start:start + size])
            del self.buf[:start + size]
            self._complete(target[len(_INVOCATION):].split("/", 1)[0], outcome, body, headers)

    def _next(self) -> None:
        self.busy = True
        self.waiting = asyncio.ensure_future(self.api.next_parts(self.env))
        self.waiting.add_done_callback(self._answer_next)

    def _answer_next(self, task: asyncio.Task[tuple[bytes, list[tuple[str, str]]]]) -> None:
        self.waiting = None
        if task.cancelled() or task.exception() is not None:
            self.close()
            return
        body, headers = task.result()
        if any(_FORBIDDEN.search(v) for _, v in headers):
            # A client context holding control characters: aiohttp refuses to write such headers and
            # drops the connection unanswered (the runtime then fails to get its invocation).
            log.warning("invocation headers with control characters: the runtime's connection is closed")
            self.close()
            return
        self._write(_response("200 OK", [*headers, ("Content-Type", "application/json")], body))

    def _complete(self, request_id: str, outcome: str, body: bytes, headers: dict[str, str]) -> None:
        from cloudlet.services.lambda_.runtime_api import ERROR_TYPE_HEADER, invalid_request_id

        env = self.env
        inv = env.current
        error_type = headers.get(ERROR_TYPE_HEADER.lower()) if outcome == "error" else None
        if inv is None or not env.complete(request_id, outcome, body, error_type):
            status, ctype, answer = invalid_request_id()
            assert self.transport is not None  # _serve runs only on an open connection
            self.transport.write(_response(status, [("Content-Type", ctype)], answer))
            return  # _serve goes on with what follows in buf
        # As runtime_api.complete: the 202 after the caller's answer (Invocation.answered).
        self.busy = True
        inv.answered.add_done_callback(self._accepted)

    def _accepted(self, _: object) -> None:
        self._write(_response("202 Accepted", [("Content-Type", "application/json")], b'{"status":"OK"}'))

    def _write(self, data: bytes) -> None:
        """An answer that waited (a callback, never inside _serve); then the requests behind it."""
        self.busy = False
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(data)
        if self.buf:
            self._serve()

    def _hand_off(self) -> None:
        """This connection goes to aiohttp from here on, with what it has sent and not been answered."""
        transport = self.transport
        assert transport is not None
        self.server.fast.discard(self)
        self.transport = None
        handler = self.server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self.buf:
            data, self.buf = bytes(self.buf), bytearray()
            handler.data_received(data)


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]] | None:
    """(method, target, headers by lowercased name) of a plain HTTP/1.1 request; None for anything
    else, which aiohttp parses (and refuses) as before."""
    try:
        text = head.decode("utf-8", "surrogateescape")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[2] != "HTTP/1.1" or parts[0] not in ("GET", "POST"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.fullmatch(name) or "\n" in line or "\r" in line:
            return None  # folded, malformed or smuggled lines: aiohttp's to judge
        key = name.lower()
        if key in ("transfer-encoding", "expect", "connection", "upgrade") or (key == "content-length"
                                                                               and key in headers):
            return None
        headers.setdefault(key, value.strip(" \t"))
    return parts[0], parts[1], headers


def _completion(method: str, target: str, headers: dict[str, str], size: int) -> str | None:
    """'ok' or 'error' for a POST of a result this module serves; None for anything else."""
    from cloudlet.services.lambda_.runtime_api import MAX_RESPONSE, RESPONSE_MODE_HEADER

    if method != "POST" or not target.startswith(_INVOCATION) or size > MAX_RESPONSE:
        return None
    request_id, slash, kind = target[len(_INVOCATION):].partition("/")
    if not slash or kind not in ("response", "error") or not _ID.fullmatch(request_id):
        return None
    if "content-length" not in headers or RESPONSE_MODE_HEADER.lower() in headers:
        return None  # a streamed response (or one without a length) is aiohttp's
    return "ok" if kind == "response" else "error"
