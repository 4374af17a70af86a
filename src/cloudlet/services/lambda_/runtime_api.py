"""Lambda's Runtime API (/2018-06-01/runtime/...), served to awslambdaric.

Every execution environment gets its own listening socket and its own aiohttp
low-level server bound to it, so the socket a request arrives on names its
environment (the Runtime API paths carry no environment id). In a sandbox that
socket was created inside the environment's network namespace (127.0.0.1:9001,
as on AWS) and handed to cloudlet, so nothing outside can reach it; without a
sandbox it is a loopback port of the host.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.http_parser import HeadersParser, HttpRequestParserPy
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDictProxy

from cloudlet.services.lambda_.response_stream import error_from_trailers
from cloudlet.services.lambda_.runtime_fastpath import FastPath

if TYPE_CHECKING:
    from cloudlet.services.lambda_.environment import Environment

_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"
RESPONSE_MODE_HEADER = "Lambda-Runtime-Function-Response-Mode"
_MAX_BODY = 6291556  # init errors; invocation results are read by _read_capped
MAX_RESPONSE = 6291556  # Lambda's synchronous response limit, as its error message states it
TOO_LARGE = "Function.ResponseSizeTooLarge"


async def _read_capped(request: web.BaseRequest, limit: int) -> bytes | None:
    """The body, or None past LIMIT bytes; the rest is read and dropped, so that however large a
    response the runtime sends, it gets its answer and the environment stays usable."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size <= limit:
            chunks.append(chunk)
        elif chunks:
            chunks.clear()
    return b"".join(chunks) if size <= limit else None


def _error(status: int, error_type: str, message: str) -> web.Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type})
    return web.Response(status=status, body=body.encode(), content_type="application/json")


def invalid_request_id() -> tuple[str, str, bytes]:
    """The answer to a result for an invocation that is not the environment's current one
    (status line, content type, body), as _error gives it."""
    body = json.dumps({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"})
    return "400 Bad Request", "application/json", body.encode()


def _accepted() -> web.Response:
    return web.Response(status=202, body=b'{"status":"OK"}', content_type="application/json")


class _TrailerHeaders(HeadersParser):
    """Remembers the last header block it parsed: after a chunked body, that body's trailers
    (aiohttp reads trailers and drops them; a streaming runtime reports its errors in them)."""

    last: CIMultiDictProxy[str] | None = None

    def parse_headers(self, lines: list[bytes]):  # type: ignore[no-untyped-def]
        parsed = super().parse_headers(lines)
        self.last = parsed[0]
        return parsed


class _EnvServer(web.Server):
    """The Runtime API of one environment."""

    def __init__(self, api: RuntimeApiServer, env: Environment) -> None:
        super().__init__(self._handle, handler_cancellation=False)
        self.api = api
        self.env = env
        self.listener: asyncio.AbstractServer | None = None
        self.fast: set[FastPath] = set()  # connections served by runtime_fastpath (not handed over)

    def protocol(self) -> asyncio.Protocol:
        """A new connection's protocol: the fast path for a Python runtime, aiohttp for Node.js."""
        return self() if self.env.runtime.node is not None else FastPath(self)

    def __call__(self) -> RequestHandler:
        handler = super().__call__()
        if self.env.runtime.node is not None:
            # Only Node.js's runtime client streams: its connections get aiohttp's Python parser
            # with a headers parser that keeps trailers. Python runtimes keep the C parser.
            parser = HttpRequestParserPy(handler, self._loop, 2**16, max_line_size=8190, max_field_size=8190,
                                         max_headers=128, payload_exception=web.RequestPayloadError)
            trailers = _TrailerHeaders(8190, 128, 8190, parser.lax)
            parser._headers_parser = trailers
            handler._parser = parser
        return handler

    def _make_request(self, message, payload, protocol: RequestHandler, writer, task):  # type: ignore[no-untyped-def]
        return web.BaseRequest(message, payload, protocol, writer, task, self._loop, client_max_size=_MAX_BODY)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if not path.startswith(_PREFIX + "/"):
            return _error(404, "NotFound", "not a Runtime API path")
        parts = path[len(_PREFIX) + 1:].split("/")
        method = request.method
        if parts == ["invocation", "next"] and method == "GET":
            return await self.api.next(self.env)
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error") and method == "POST":
            return await self.api.complete(self.env, request, parts[1], "ok" if parts[2] == "response" else "error")
        if parts == ["init", "error"] and method == "POST":
            return await self.api.init_error(self.env, request)
        return _error(404, "NotFound", "not a Runtime API path")


class RuntimeApiServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._servers: dict[Environment, _EnvServer] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        for env in list(self._servers):
            await self.close(env)

    async def serve(self, env: Environment, sock: socket.socket) -> None:
        """Serve env's Runtime API on a listening socket (made here or inside its sandbox)."""
        server = _EnvServer(self, env)
        sock.setblocking(False)
        server.listener = await asyncio.get_running_loop().create_server(server.protocol, sock=sock, backlog=256)
        self._servers[env] = server

    async def listen(self, env: Environment) -> int:
        """A loopback port of the host for env (no sandbox); returns it."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(256)
        port: int = sock.getsockname()[1]
        await self.serve(env, sock)
        return port

    async def close(self, env: Environment) -> None:
        server = self._servers.pop(env, None)
        if server is None:
            return
        if server.listener is not None:
            server.listener.close()
        for conn in list(server.fast):
            conn.close()
        await server.shutdown(0.1)

    async def next_parts(self, env: Environment) -> tuple[bytes, list[tuple[str, str]]]:
        """The next invocation's event and headers, once there is one."""
        inv = await env.next_invocation()
        headers = [
            ("Lambda-Runtime-Aws-Request-Id", inv.request_id),
            ("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms)),
            ("Lambda-Runtime-Invoked-Function-Arn", inv.invoked_arn),
            ("Lambda-Runtime-Trace-Id", inv.trace_id),
        ]
        if inv.client_context:
            headers.append(("Lambda-Runtime-Client-Context", inv.client_context))
        if inv.cognito_identity:
            headers.append(("Lambda-Runtime-Cognito-Identity", inv.cognito_identity))
        return inv.payload, headers

    async def next(self, env: Environment) -> web.StreamResponse:
        payload, headers = await self.next_parts(env)
        return web.Response(status=200, body=payload, headers=dict(headers), content_type="application/json")

    async def complete(self, env: Environment, request: web.BaseRequest, request_id: str, outcome: str) -> web.Response:
        if outcome == "ok" and request.headers.get(RESPONSE_MODE_HEADER, "").lower() == "streaming":
            return await self._streamed(env, request, request_id)
        body = await _read_capped(request, MAX_RESPONSE)
        error_type = request.headers.get(ERROR_TYPE_HEADER) if outcome == "error" else None
        if body is None:
            # Too large: the invoke fails, the environment goes on (its runtime got its 202).
            outcome, error_type = "error", TOO_LARGE
            body = json.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload size "
                                               f"({MAX_RESPONSE} bytes).", "errorType": TOO_LARGE}).encode()
        inv = env.current
        if inv is None or not env.complete(request_id, outcome, body, error_type):
            return _error(400, "InvalidRequestID", "Invalid request ID")
        # The caller's answer goes out first; the runtime's next poll follows the 202. Then the
        # invoke's closing log work (Environment.run), off both paths.
        await inv.answered
        return _accepted()

    async def _streamed(self, env: Environment, request: web.BaseRequest, request_id: str) -> web.Response:
        """A streamed response: forwarded chunk by chunk to a streaming caller; gathered whole
        (within the 6 MB limit) for a plain Invoke, as Lambda answers one."""
        found = getattr(getattr(request.protocol, "_parser", None), "_headers_parser", None)
        trailers = found if isinstance(found, _TrailerHeaders) else None
        if trailers is not None:
            trailers.last = None  # the request's own headers are parsed already: what comes next is trailers
        inv = env.current
        if inv is None or inv.request_id != request_id or inv.result.done():
            await request.content.read()  # drained, so the connection stays usable
            return _error(400, "InvalidRequestID", "Invalid request ID")
        sink = inv.stream
        body: bytes | None = b""
        try:
            if sink is None:
                body = await _read_capped(request, MAX_RESPONSE)
            else:
                sink.open(request.headers.get("Content-Type", ""))
                async for chunk in request.content.iter_any():
                    await sink.put(chunk)
        except (ConnectionResetError, web.RequestPayloadError):
            # The runtime died part-way: its environment's exit ends the invoke (Runtime.ExitError).
            return _error(400, "StreamBrokenOff", "the response stream ended before its last chunk")
        last = trailers.last if trailers is not None else None
        failure = error_from_trailers(last.get(ERROR_TYPE_HEADER), last.get(ERROR_BODY_TRAILER)) if last else None
        if failure is not None:
            outcome, error_type, body = "error", failure[0], failure[1]
        elif body is None or (sink is not None and sink.too_large):
            limit = MAX_RESPONSE if sink is None else sink.limit
            outcome, error_type = "error", TOO_LARGE
            body = json.dumps({"errorMessage": f"Response payload size exceeded maximum allowed payload size "
                                               f"({limit} bytes).", "errorType": TOO_LARGE}).encode()
        else:
            outcome, error_type = "ok", None
        if not env.complete(request_id, outcome, body, error_type):
            return _error(400, "InvalidRequestID", "Invalid request ID")
        return _accepted()

    async def init_error(self, env: Environment, request: web.BaseRequest) -> web.Response:
        body = await request.read()
        env.init_failed(body, request.headers.get(ERROR_TYPE_HEADER))
        return _accepted()
