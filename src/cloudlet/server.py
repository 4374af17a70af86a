"""The front door: one aiohttp endpoint for every AWS service cloudlet serves.

Per request: the health check and providers' internal routes (no auth), else
FrontDoor.dispatch's steps: read auth -> resolve service (credential scope /
X-Amz-Target / rest-json URI) -> check size -> authenticate (SigV4) -> parse
(and validate) -> provide (the provider, built at its first call) -> authorize
(IAM) -> invoke the operation's handler -> serialize. Every failure leaves as an
AWS-shaped error in the wording of the
target service's protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import time
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from multidict import CIMultiDict

import cloudlet
from cloudlet import sigv4
from cloudlet.aiohttp_import import web
from cloudlet.config import HEALTH_PATH, PID_FILE, Config
from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.ids import request_id as new_request_id
from cloudlet.core.persist import StateUnreadable
from cloudlet.core.world import World
from cloudlet.protocol.base import Protocol
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.registry import get_protocol, protocol_for_request
from cloudlet.protocol.service_index import ServiceInfo, service_infos
from cloudlet.protocol.xml_out import text as escape
from cloudlet.services.registry import build_world

log = logging.getLogger("cloudlet.server")
access_log = logging.getLogger("cloudlet.access")

MAX_BODY_BYTES = 128 * 1024 * 1024
# Health of a service no call has needed yet: its provider is built at the first.
IDLE = "idle (loaded at its first call)"
# aiohttp's 8 KiB default cuts off request lines and headers before cloudlet sees
# them (a plain-text 400); long names in URIs must reach validation instead.
MAX_LINE_BYTES = 128 * 1024


# ---------------------------------------------------------------------------
# Which service a request is for


class ServiceRouter:
    """Maps a request to a botocore service name, from the models' metadata."""

    def __init__(self, infos: list[ServiceInfo]) -> None:
        self.by_signing: dict[str, list[ServiceInfo]] = {}
        self.by_target: dict[str, ServiceInfo] = {}
        self.by_root: dict[str, ServiceInfo] = {}
        self.by_version: dict[str, ServiceInfo] = {}
        for i in infos:
            if i.protocol in ("query", "ec2") and i.api_version:
                self.by_version.setdefault(i.api_version, i)
            self.by_signing.setdefault(i.signing_name, []).append(i)
            if i.target_prefix:
                self.by_target[i.target_prefix] = i
            for r in i.uri_roots:
                self.by_root[r] = i

    def route(self, headers: CIMultiDict[str], raw_path: str, auth: sigv4.AuthParams | None) -> ServiceInfo | None:
        target = headers.get("X-Amz-Target")
        if target:
            info = self.by_target.get(target.split(".", 1)[0])
            if info:
                return info
        root = raw_path.lstrip("/").split("/", 1)[0]
        by_path = self.by_root.get(root) if root else None
        if auth is not None:
            candidates = self.by_signing.get(auth.service, [])
            if len(candidates) == 1:
                return candidates[0]
            if by_path is not None and by_path in candidates:
                return by_path
            for c in candidates:
                if not c.protocol.startswith("rest"):
                    return c
        return by_path

    def route_unsigned(self, req: HttpRequest) -> ServiceInfo | None:
        """An unsigned query-protocol request: its Version names the service
        (each has its own endpoint on AWS, so each answers in its own format)."""
        pairs = list(req.query)
        if req.method == "POST" and "x-www-form-urlencoded" in req.headers.get("Content-Type", ""):
            pairs += parse_qsl(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        version = next((v for k, v in pairs if k == "Version"), None)
        return self.by_version.get(version) if version else None


# ---------------------------------------------------------------------------
# The application


def unrouted_error(err: AWSError, request_id: str) -> HttpResponse:
    """An error for a request no service claims: answered as the query front ends do."""
    status = err.status or 400
    kind = "Sender" if (err.sender_fault if err.sender_fault is not None else status < 500) else "Receiver"
    xml = (
        f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
        f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return HttpResponse(status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode())


@dataclass
class Call:
    """One API request as it passes the front door's steps; the access log reports it."""

    req: HttpRequest
    request_id: str
    remote: str
    too_large: bool
    service: str = ""
    proto: Protocol | None = None
    auth: sigv4.AuthParams | None = None
    auth_failure: sigv4.SigV4Failure | None = None
    principal: Principal | None = None
    region: str = ""
    operation: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    ctx: RequestContext | None = None


class FrontDoor:
    """Serves every request as a list of named steps, each raising AWSError (or SigV4Failure)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.config: Config = world.config
        # Built at their service's first use (core/providers.py), routes with them.
        self.providers = world.providers
        self._router: ServiceRouter | None = None

    # -- lifecycle

    async def start(self) -> None:
        # Routing needs a few fields of each model, kept in a small index (protocol/service_index.py):
        # read in place (no thread). Each service's model is loaded at its first call, so start-up
        # and idle memory stay small.
        self._router = ServiceRouter(service_infos(list(self.providers)))
        # Credentials back at once; the services the state file holds records of are built,
        # restored and revived (caches, functions) in the background, each request to one of
        # them (and the health check) waiting for its restore. The others wait for a call.
        self.world.persistence.restore(self.world)
        with_state = self.world.persistence.services_with_state()
        await self.providers.start(with_state)
        if not with_state:
            self.world.persistence.log_restored()

    async def stop(self) -> None:
        await self.providers.stop()
        self.world.persistence.close()

    async def router(self) -> ServiceRouter:
        if self._router is None:  # dispatch without start() (in-process tests)
            self._router = ServiceRouter(service_infos(list(self.providers)))
        return self._router

    async def health(self) -> dict[str, Any]:
        await self.providers.restored()  # healthy: what the state file holds runs again
        services: dict[str, str] = {}
        lines: list[str] = list(self.world.persistence.report.lines())
        for service in self.providers:
            if not self.providers.is_built(service):
                services[service] = IDLE
                continue
            provider = self.providers[service]
            try:
                services[provider.service] = provider.health()
                lines.extend(provider.status_lines())
            except Exception as e:
                log.exception("health of %s failed", provider.service)
                services[provider.service] = f"error: {e}"
        out: dict[str, Any] = {"version": cloudlet.__version__, "services": services}
        if lines:
            out["status_lines"] = lines
        return out

    # -- requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        host = request.headers.get("Host", "")
        if self.providers.restoring:  # function URLs and code downloads of restored functions
            await self.providers.restored()
        for host_route in self.providers.host_routes:  # function URLs, by Host, before the AWS API
            if host_route.claims(host):
                return await host_route.handler(request)
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return web.json_response(await self.health())
        for route in self.providers.internal_routes:
            if request.method == route.method and raw_path.startswith(route.prefix):
                return route.handler(raw_path[len(route.prefix):])
        try:
            body = await request.read()
            too_large = False
        except web.HTTPRequestEntityTooLarge:
            # Answered below in the target service's own error format, not aiohttp's text.
            body, too_large = b"", True
        req = HttpRequest(
            method=request.method,
            path=raw_path,
            query=parse_qsl(raw_query, keep_blank_values=True),
            headers=CIMultiDict(request.headers),
            body=body,
            raw_query=raw_query,
        )
        call = Call(req, new_request_id(), request.remote or "127.0.0.1", too_large)
        resp = await self.dispatch(call)
        if access_log.isEnabledFor(logging.INFO):
            # Written after the response goes out: the caller does not wait on the log's I/O.
            asyncio.get_running_loop().call_soon(
                access_log.info, "%s %s %s %s %.1fms", call.service or "-", call.operation or "-",
                call.principal.arn if call.principal else "-", resp.status, (time.perf_counter() - t0) * 1000)
        headers = dict(resp.headers)
        headers.setdefault("x-amzn-RequestId", call.request_id)
        if resp.stream is not None:
            return await _send_stream(request, resp.status, headers, resp.stream)
        return web.Response(status=resp.status, headers=headers, body=resp.body)

    async def dispatch(self, call: Call) -> HttpResponse:
        try:
            self.read_auth(call)
            await self.resolve_service(call)
            self.check_size(call)
            self.authenticate(call)
            self.parse(call)
            await self.provide(call)
            self.authorize(call)
            result = await self.invoke(call)
            return self.serialize(call, result)
        except sigv4.SigV4Failure as f:
            log.info("auth failure %s: %s", f.reason, f.message.splitlines()[0])
            return self.error(call, call.proto.auth_error(f) if call.proto else _unrouted_auth_error(f))
        except AWSError as e:
            return self.error(call, e)
        except Exception:
            log.error("internal error in %s %s:\n%s", call.service or "-", call.operation or "-", traceback.format_exc())
            if call.proto is None:
                return unrouted_error(AWSError("InternalFailure", "Internal failure", status=500), call.request_id)
            return self.error(call, call.proto.internal_error())

    # -- the steps

    def read_auth(self, call: Call) -> None:
        """SigV4 parameters, if any; a malformed set is kept to report once the service is known."""
        try:
            call.auth = sigv4.extract_auth(call.req.headers, sigv4.split_raw_query(call.req.raw_query))
        except sigv4.SigV4Failure as f:
            call.auth_failure = f

    async def resolve_service(self, call: Call) -> None:
        """Which service the request is for: credential scope, X-Amz-Target, URI or Version."""
        req, router = call.req, await self.router()
        info = router.route(req.headers, req.path, call.auth)
        if info is None and call.auth_failure is not None:
            hint = sigv4.scope_service_hint(req.headers, sigv4.split_raw_query(req.raw_query))
            candidates = router.by_signing.get(hint or "", [])
            info = candidates[0] if candidates else None
            if info is None:
                raise call.auth_failure
        if info is None and call.auth is None:
            info = router.route_unsigned(req)
            if info is None:
                # Nothing says which service: answer like the query front ends do.
                raise sigv4.SigV4Failure("missing", "Request is missing Authentication Token")
        if info is None:
            name = call.auth.service if call.auth is not None else "?"
            raise AWSError("NotImplemented", f"cloudlet does not serve the service '{name}'.", status=501)
        call.service = info.name
        call.proto = protocol_for_request(info.name, req)

    def check_size(self, call: Call) -> None:
        """Size is checked before the signature, whose payload hash needs the body."""
        if call.too_large:
            raise self._proto(call).too_large(MAX_BODY_BYTES)

    def authenticate(self, call: Call) -> None:
        if call.auth_failure is not None:
            raise call.auth_failure
        req = call.req
        verified = sigv4.verify_request(
            self.world.credentials, req.method, req.path, req.raw_query, req.headers, req.body, params=call.auth
        )
        call.principal = verified.credential.principal
        call.region = verified.params.region

    def parse(self, call: Call) -> None:
        call.operation, call.params = self._proto(call).parse_request(call.req)
        call.ctx = self._context(call)

    async def run_parsed(self, call: Call) -> dict[str, Any]:
        """validate -> authorize -> invoke for a call whose principal, service, operation and params
        come from elsewhere than a signed HTTP request (the console), so it meets the same rules."""
        self._proto(call).validate_input(call.operation, call.params)
        call.ctx = self._context(call)
        await self.provide(call)
        self.authorize(call)
        return await self.invoke(call)

    def _context(self, call: Call) -> RequestContext:
        assert call.principal is not None  # authenticate() ran
        return RequestContext(
            service=call.service,
            operation=call.operation,
            region=call.region,
            principal=call.principal,
            request_id=call.request_id,
            source_ip=call.remote,
            headers={k.lower(): v for k, v in call.req.headers.items()},
        )

    async def provide(self, call: Call) -> None:
        """The service's provider built, started and its state restored (at its first call)."""
        await self.providers.ready(call.service)

    def authorize(self, call: Call) -> None:
        # Root is allowed everything: its calls need no policy engine (nor its import, at a start).
        if self.config.enforce_iam and not self._ctx(call).principal.is_root:
            self.world.authorizer.authorize_request(self._ctx(call), call.params)

    async def invoke(self, call: Call) -> dict[str, Any]:
        handler = self.world.providers[call.service].handler_for(call.operation)
        if handler is None:
            raise self._proto(call).not_implemented(call.operation)
        ctx = self._ctx(call)
        try:
            result = handler(ctx, call.params)
            if inspect.isawaitable(result):
                result = await result
        finally:  # on disk before the response goes out
            self.world.persistence.after_request(call.service, ctx.account_id, ctx.region, call.operation, call.params)
        return result or {}

    def serialize(self, call: Call, result: dict[str, Any]) -> HttpResponse:
        return self._proto(call).serialize_response(call.operation, result, call.request_id)

    def error(self, call: Call, err: AWSError) -> HttpResponse:
        if call.proto is not None:
            try:
                return call.proto.serialize_error(err, call.operation or None, call.request_id)
            except Exception:
                log.error("serializing %s failed:\n%s", err.code, traceback.format_exc())
        return unrouted_error(err, call.request_id)

    @staticmethod
    def _proto(call: Call) -> Protocol:
        assert call.proto is not None  # resolve_service() ran
        return call.proto

    @staticmethod
    def _ctx(call: Call) -> RequestContext:
        assert call.ctx is not None  # parse() ran
        return call.ctx


async def _send_stream(request: web.Request, status: int, headers: dict[str, str],
                       stream: AsyncGenerator[bytes, None]) -> web.StreamResponse:
    """An event-stream output, each frame written as it is made (chunked); the stream is
    closed however this ends, so its producer learns when the caller has gone."""
    out = web.StreamResponse(status=status, headers=headers)
    out.enable_chunked_encoding()
    async with contextlib.aclosing(stream):
        await out.prepare(request)
        async for frame in stream:
            await out.write(frame)
    await out.write_eof()
    return out


def _unrouted_auth_error(failure: sigv4.SigV4Failure) -> AWSError:
    return get_protocol("sts").auth_error(failure)


def make_app(front: FrontDoor) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    # [\s\S]: a decoded path may hold a newline (%0A), which "." would not match.
    app.router.add_route("*", r"/{tail:[\s\S]*}", front.handle)

    async def on_startup(_: web.Application) -> None:
        await front.start()

    async def on_cleanup(_: web.Application) -> None:
        await front.stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def write_pid_file(config: Config, console_url: str | None = None) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "host": config.host, "port": config.port, "endpoint": config.endpoint_url,
            "console": console_url}
    tmp = config.data_dir / (PID_FILE + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, config.data_dir / PID_FILE)


def remove_pid_file(config: Config) -> None:
    p = config.data_dir / PID_FILE
    try:
        if json.loads(p.read_text()).get("pid") == os.getpid():
            p.unlink()
    except (OSError, ValueError):
        pass


async def serve(config: Config, ready: Callable[[], Awaitable[None]] | None = None) -> None:
    """Run cloudlet until SIGINT/SIGTERM."""
    import signal

    front = FrontDoor(build_world(config))
    app = make_app(front)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, max_line_size=MAX_LINE_BYTES, max_field_size=MAX_LINE_BYTES,
        # SigV4 signs a gzip body as sent: the protocol layer inflates it (protocol/encoding.py).
        auto_decompress=False,
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    console = None
    try:
        await site.start()
        if config.console_port:
            from cloudlet.console.listener import start_console  # small; the page's code loads on first use

            console = await start_console(front, config)
        write_pid_file(config, console.url if console else None)
        log.info("cloudlet %s listening on %s", cloudlet.__version__, config.endpoint_url)
        if ready is not None:
            await ready()
        await stop.wait()
        log.info("cloudlet stopping")
    finally:
        if console is not None:
            await console.stop()
        await runner.cleanup()
        remove_pid_file(config)


def run_forever(config: Config) -> int:
    """Foreground `cloudlet start`: logging, uvloop when present, serve until signalled."""
    from cloudlet.logging_setup import setup_logging

    setup_logging(config.data_dir, config.log_level)
    try:
        import uvloop

        runner: Callable[[Coroutine[Any, Any, None]], None] = uvloop.run
    except ImportError:
        runner = asyncio.run
    try:
        runner(serve(config))
    except StateUnreadable as e:
        log.error(
            "cannot read the state of %s: %s\nNothing was changed. Move the file away or run "
            "`cloudlet reset` to start empty, or `cloudlet start --ephemeral` to run without it.",
            config.data_dir, e,
        )
        return 1
    except OSError as e:
        log.error("cannot serve on %s: %s", config.endpoint_url, e)
        return 1
    return 0
