"""The front door: one aiohttp endpoint for every AWS service cloudlet serves.

Per request: HttpRequest from the raw request -> health check (no auth) ->
target service (credential scope / X-Amz-Target / rest-json URI) -> SigV4 ->
protocol parse -> IAM authorization -> provider method -> serialize. Every
failure leaves as an AWS-shaped error of the target service's protocol.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import os
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict

import cloudlet
from cloudlet import sigv4
from cloudlet.cli import HEALTH_PATH, PID_FILE
from cloudlet.config import Config
from cloudlet.core.errors import AWSError, NotImplementedOperation
from cloudlet.core.context import RequestContext
from cloudlet.core.ids import request_id as new_request_id
from cloudlet.core.persist import StateUnreadable
from cloudlet.core.provider import Provider
from cloudlet.core.world import World
from cloudlet.policy.authorizer import IamAuthorizer
from cloudlet.protocol.base import Protocol
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.registry import get_protocol, load_model
from cloudlet.protocol.xml_out import text as escape

log = logging.getLogger("cloudlet.server")
access_log = logging.getLogger("cloudlet.access")

MAX_BODY_BYTES = 128 * 1024 * 1024
# aiohttp's 8 KiB default cuts off request lines and headers before cloudlet sees
# them (a plain-text 400); long names in URIs must reach validation instead.
MAX_LINE_BYTES = 128 * 1024


# ---------------------------------------------------------------------------
# Which service a request is for


@dataclass
class ServiceInfo:
    name: str  # botocore service name
    protocol: str  # query | ec2 | json | rest-json
    signing_name: str
    target_prefix: str | None = None
    uri_roots: set[str] = field(default_factory=set)  # first path segments of requestUris
    api_version: str | None = None  # the query protocols' Version parameter


def load_service_info(name: str) -> ServiceInfo:
    model = load_model(name)
    meta = model.metadata
    protocol = meta.get("protocol") or (meta.get("protocols") or ["query"])[0]
    info = ServiceInfo(
        name=name,
        protocol=protocol,
        signing_name=meta.get("signingName") or meta.get("endpointPrefix") or name,
        target_prefix=meta.get("targetPrefix"),
        api_version=meta.get("apiVersion"),
    )
    if protocol.startswith("rest"):
        for op_name in model.operation_names:
            uri = model.operation_model(op_name).http.get("requestUri", "")
            root = uri.split("?", 1)[0].lstrip("/").split("/", 1)[0]
            if root and "{" not in root:
                info.uri_roots.add(root)
    return info


def load_service_infos(names: list[str]) -> list[ServiceInfo]:
    infos = []
    for n in names:
        try:
            infos.append(load_service_info(n))
        except Exception as e:  # a provider for a service botocore has no model of
            log.error("no botocore model for service %s: %s", n, e)
    return infos


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
# Error bodies for when no protocol implementation can answer


def fallback_error(err: AWSError, protocol: str, request_id: str) -> HttpResponse:
    status = err.status or 400
    if protocol in ("json", "rest-json"):
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}
        if protocol == "rest-json":
            headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code}
            body = {"Type": "User" if status < 500 else "Service", "message": err.message}
        else:
            body = {"__type": err.code, "message": err.message}
        return HttpResponse(status, headers, json.dumps(body).encode())
    if protocol == "ec2":
        xml = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(err.code)}</Code>'
            f"<Message>{escape(err.message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
    else:
        kind = "Sender" if (err.sender_fault if err.sender_fault is not None else status < 500) else "Receiver"
        xml = (
            f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
            f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        )
    return HttpResponse(status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode())


def internal_error(protocol: str, service: str) -> AWSError:
    if service == "lambda":
        return AWSError("ServiceException", "An internal error occurred.", status=500, sender_fault=False)
    if protocol == "ec2":
        return AWSError("InternalError", "An internal error has occurred", status=500, sender_fault=False)
    return AWSError(
        "InternalFailure",
        "The request processing has failed because of an unknown error, exception or failure.",
        status=500,
        sender_fault=False,
    )


def body_too_large(service: str, limit: int) -> AWSError:
    if service == "lambda":
        return AWSError("RequestEntityTooLargeException", f"Request must be smaller than {limit} bytes.", status=413)
    return AWSError("RequestEntityTooLarge", f"Request must be smaller than {limit} bytes.", status=413)


# ---------------------------------------------------------------------------
# Providers


@dataclass
class ProviderSlot:
    service: str
    path: str
    provider: Provider | None = None  # None: module absent


def service_name_of(path: str) -> str:
    """cloudlet.services.lambda_.provider:LambdaProvider -> lambda."""
    module = path.split(":", 1)[0]
    parts = module.split(".")
    pkg = parts[2] if len(parts) > 2 and parts[:2] == ["cloudlet", "services"] else parts[-1]
    return pkg.rstrip("_")


def load_providers(world: World, paths: list[str]) -> list[ProviderSlot]:
    slots: list[ProviderSlot] = []
    for path in paths:
        module_name, _, cls_name = path.partition(":")
        slot = ProviderSlot(service_name_of(path), path)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            # Absent only when the provider module itself (or its package) is missing;
            # a missing dependency inside an existing module is a real failure.
            if e.name and module_name.startswith(e.name):
                log.warning("provider %s is absent (%s)", path, e)
                slots.append(slot)
                continue
            raise
        provider = getattr(module, cls_name)(world)
        if provider.service:
            slot.service = provider.service
        world.add_provider(provider)
        slot.provider = provider
        slots.append(slot)
    return slots


# ---------------------------------------------------------------------------
# The application


class FrontDoor:
    def __init__(self, world: World, provider_paths: list[str] | None = None) -> None:
        self.world = world
        self.config: Config = world.config
        if provider_paths is None:
            from cloudlet.services.registry import PROVIDERS

            provider_paths = list(PROVIDERS)
        self.slots = load_providers(world, provider_paths)
        world.persistence.attach(world)
        self.world.authorizer = IamAuthorizer(world)
        self._router: ServiceRouter | None = None
        self._router_task: asyncio.Future[ServiceRouter] | None = None

    # -- lifecycle

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        names = [s.service for s in self.slots]
        self._router_task = loop.run_in_executor(None, lambda: ServiceRouter(load_service_infos(names)))
        # Then build the protocols in the background (on the models the router has just
        # loaded) so the first request is fast.
        self._router_task.add_done_callback(lambda _: loop.run_in_executor(None, self._warm_protocols, names))
        self.world.persistence.restore(self.world)
        for slot in self.slots:
            if slot.provider is not None:
                await slot.provider.start()
        await self.world.persistence.revive(self.world)

    def _warm_protocols(self, names: list[str]) -> None:
        for n in names:
            try:
                get_protocol(n)
            except Exception:  # reported on first real use instead
                log.debug("warming protocol %s failed", n, exc_info=True)

    async def stop(self) -> None:
        for slot in reversed(self.slots):
            if slot.provider is not None:
                try:
                    await slot.provider.stop()
                except Exception:
                    log.exception("stopping provider %s failed", slot.service)
        self.world.persistence.close()

    async def router(self) -> ServiceRouter:
        if self._router is None:
            if self._router_task is None:
                names = [s.service for s in self.slots]
                self._router = ServiceRouter(load_service_infos(names))
            else:
                self._router = await self._router_task
        return self._router

    def health(self) -> dict[str, Any]:
        services: dict[str, str] = {}
        for slot in self.slots:
            if slot.provider is None:
                services[slot.service] = "absent"
            else:
                try:
                    services[slot.service] = slot.provider.health()
                except Exception as e:
                    services[slot.service] = f"error: {e}"
        lines: list[str] = list(self.world.persistence.report.lines())
        for slot in self.slots:
            fn = getattr(slot.provider, "status_lines", None)
            if callable(fn):
                try:
                    lines.extend(str(x) for x in fn())
                except Exception:
                    log.exception("status_lines of %s failed", slot.service)
        out: dict[str, Any] = {"version": cloudlet.__version__, "services": services}
        if lines:
            out["status_lines"] = lines
        return out

    # -- requests

    async def handle(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        raw_path, _, raw_query = request.raw_path.partition("?")
        if raw_path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return web.json_response(self.health())
        if raw_path.startswith("/_cloudlet/lambda/code/") and request.method == "GET":
            from cloudlet.services.lambda_.code_url import code_download

            return code_download(self.world, raw_path)
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
        rid = new_request_id()
        outcome = _Outcome()
        resp = await self._dispatch(req, rid, request.remote or "127.0.0.1", outcome, too_large)
        ms = (time.perf_counter() - t0) * 1000
        access_log.info(
            "%s %s %s %s %.1fms",
            outcome.service or "-",
            outcome.operation or "-",
            outcome.principal or "-",
            resp.status,
            ms,
        )
        headers = dict(resp.headers)
        headers.setdefault("x-amzn-RequestId", rid)
        return web.Response(status=resp.status, headers=headers, body=resp.body)

    async def _dispatch(
        self, req: HttpRequest, rid: str, remote: str, out: _Outcome, too_large: bool = False
    ) -> HttpResponse:
        protocol_name = "query"
        proto: Protocol | None = None
        op: str | None = None
        service = ""
        try:
            auth_error: sigv4.SigV4Failure | None = None
            auth: sigv4.AuthParams | None = None
            signed_query = sigv4.split_raw_query(req.raw_query)
            try:
                auth = sigv4.extract_auth(req.headers, signed_query)
            except sigv4.SigV4Failure as f:
                auth_error = f
            router = await self.router()
            info = router.route(req.headers, req.path, auth)
            if info is None and auth_error is not None:
                hint = sigv4.scope_service_hint(req.headers, signed_query)
                candidates = router.by_signing.get(hint or "", [])
                info = candidates[0] if candidates else None
                if info is None:
                    raise auth_error
            if info is None and auth is None:
                info = router.route_unsigned(req)
            if info is None and auth is None:
                # Nothing says which service: answer like the query front ends do.
                raise sigv4.SigV4Failure("missing", "Request is missing Authentication Token")
            if info is None:
                name = auth.service if auth is not None else "?"
                raise AWSError("NotImplemented", f"cloudlet does not serve the service '{name}'.", status=501)
            service, protocol_name = info.name, info.protocol
            out.service = service
            proto = get_protocol(service)
            if too_large:
                # Size is checked before the signature, whose payload hash needs the body.
                raise body_too_large(service, MAX_BODY_BYTES)
            if auth_error is not None:
                raise auth_error
            verified = sigv4.verify_request(
                self.world.credentials, req.method, req.path, req.raw_query, req.headers, req.body, params=auth
            )
            principal = verified.credential.principal
            out.principal = principal.arn
            provider = self.world.providers.get(service)
            op, params = proto.parse_request(req)
            out.operation = op
            ctx = RequestContext(
                service=service,
                operation=op,
                region=verified.params.region,
                principal=principal,
                request_id=rid,
                source_ip=remote,
                headers={k.lower(): v for k, v in req.headers.items()},
            )
            if provider is None:
                raise NotImplementedOperation(service, op)
            if self.config.enforce_iam and self.world.authorizer is not None:
                self.world.authorizer.authorize_request(ctx, params)
            handler: Callable[..., Any] | None = provider.handler_for(op)
            if handler is None:
                raise NotImplementedOperation(service, op)
            try:
                result = handler(ctx, params)
                if inspect.isawaitable(result):
                    result = await result
            finally:  # on disk before the response goes out
                self.world.persistence.after_request(service, ctx.account_id, ctx.region, op, params)
            return proto.serialize_response(op, result or {}, rid)
        except sigv4.SigV4Failure as f:
            log.info("auth failure %s: %s", f.reason, f.message.splitlines()[0])
            return self._error(proto, sigv4.failure_to_error(f, protocol_name), op, rid, protocol_name)
        except AWSError as e:
            return self._error(proto, e, op, rid, protocol_name)
        except Exception:
            log.error("internal error in %s %s:\n%s", service or "-", op or "-", traceback.format_exc())
            return self._error(proto, internal_error(protocol_name, service), op, rid, protocol_name)

    def _error(self, proto: Protocol | None, err: AWSError, op: str | None, rid: str, protocol_name: str) -> HttpResponse:
        if proto is not None:
            try:
                resp: HttpResponse = proto.serialize_error(err, op, rid)
                return resp
            except Exception:
                log.error("serializing %s failed:\n%s", err.code, traceback.format_exc())
        return fallback_error(err, protocol_name, rid)


@dataclass
class _Outcome:
    """What the access log line reports about one request."""

    service: str = ""
    operation: str = ""
    principal: str = ""


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


def write_pid_file(config: Config) -> None:
    config.data_dir.mkdir(parents=True, exist_ok=True)
    info = {"pid": os.getpid(), "host": config.host, "port": config.port, "endpoint": config.endpoint_url}
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

    world = World(config)
    front = FrontDoor(world)
    app = make_app(front)
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, max_line_size=MAX_LINE_BYTES, max_field_size=MAX_LINE_BYTES
    )
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await site.start()
        write_pid_file(config)
        log.info("cloudlet %s listening on %s", cloudlet.__version__, config.endpoint_url)
        if ready is not None:
            await ready()
        await stop.wait()
        log.info("cloudlet stopping")
    finally:
        await runner.cleanup()
        remove_pid_file(config)


def run_forever(config: Config) -> int:
    """Foreground `cloudlet start`: logging, uvloop when present, serve until signalled."""
    from cloudlet.logging_setup import setup_logging

    setup_logging(config.data_dir, config.log_level)
    try:
        import uvloop

        runner: Callable[[Awaitable[None]], None] = uvloop.run  # type: ignore[assignment]
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
