"""Lambda's Runtime API (/2018-06-01/runtime/...), served to awslambdaric.

One aiohttp application; every execution environment gets its own loopback
listening socket, so the port a request arrives on names its environment
(the Runtime API paths themselves carry no environment id).
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from cloudlet.services.lambda_.environment import Environment

_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


def _error(status: int, error_type: str, message: str) -> web.Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type})
    return web.Response(status=status, body=body.encode(), content_type="application/json")


def _unknown_env() -> web.Response:
    # A request on a port whose environment is gone (or never was).
    return _error(403, "InvalidEnvironment", "unknown execution environment")


def _accepted() -> web.Response:
    return web.Response(status=202, body=b'{"status":"OK"}', content_type="application/json")


class RuntimeApiServer:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._envs: dict[int, Environment] = {}
        self._sites: dict[int, web.SockSite] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get(f"{_PREFIX}/invocation/next", self._next)
        app.router.add_post(f"{_PREFIX}/invocation/{{request_id}}/response", self._response)
        app.router.add_post(f"{_PREFIX}/invocation/{{request_id}}/error", self._invocation_error)
        app.router.add_post(f"{_PREFIX}/init/error", self._init_error)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()

    async def stop(self) -> None:
        for port in list(self._sites):
            await self.close(port)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def listen(self, env: Environment) -> int:
        """A new listening socket for env; returns its port (AWS_LAMBDA_RUNTIME_API)."""
        assert self._runner is not None, "RuntimeApiServer.start() first"
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._envs[port] = env
        self._sites[port] = site
        return port

    async def close(self, port: int) -> None:
        self._envs.pop(port, None)
        site = self._sites.pop(port, None)
        if site is not None:
            await site.stop()

    def _env(self, request: web.Request) -> Environment | None:
        sockname: Any = request.transport.get_extra_info("sockname") if request.transport else None
        return self._envs.get(sockname[1]) if sockname else None

    async def _next(self, request: web.Request) -> web.StreamResponse:
        env = self._env(request)
        if env is None:
            return _unknown_env()
        inv = await env.next_invocation()
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        }
        if inv.client_context:
            headers["Lambda-Runtime-Client-Context"] = inv.client_context
        if inv.cognito_identity:
            headers["Lambda-Runtime-Cognito-Identity"] = inv.cognito_identity
        return web.Response(status=200, body=inv.payload, headers=headers, content_type="application/json")

    async def _response(self, request: web.Request) -> web.Response:
        return await self._complete(request, "ok")

    async def _invocation_error(self, request: web.Request) -> web.Response:
        return await self._complete(request, "error")

    async def _complete(self, request: web.Request, outcome: str) -> web.Response:
        env = self._env(request)
        if env is None:
            return _unknown_env()
        body = await request.read()
        error_type = request.headers.get(ERROR_TYPE_HEADER) if outcome == "error" else None
        if not env.complete(request.match_info["request_id"], outcome, body, error_type):
            return _error(400, "InvalidRequestID", "Invalid request ID")
        return _accepted()

    async def _init_error(self, request: web.Request) -> web.Response:
        env = self._env(request)
        if env is None:
            return _unknown_env()
        body = await request.read()
        env.init_failed(body, request.headers.get(ERROR_TYPE_HEADER))
        return _accepted()
