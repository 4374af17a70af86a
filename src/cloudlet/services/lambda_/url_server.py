"""Serving function URLs: an HTTP request becomes Lambda's payload format 2.0 event.

A request reaches a URL by its Host: ``<url-id>.lambda-url.<region>.localhost`` (what
FunctionUrl reports; ``*.localhost`` resolves to loopback for curl and browsers) or
AWS's own ``<url-id>.lambda-url.<region>.on.aws`` (for a client told to connect to
cloudlet's port, e.g. curl --connect-to), on cloudlet's API port. The front door
hands such requests here before the AWS API path.

Per request, as Lambda does it: CORS preflight answered from the URL's Cors (no
invoke); AuthType AWS_IAM verifies a SigV4 signature for service ``lambda``; then the
caller (anonymous for NONE) must be allowed both lambda:InvokeFunctionUrl and, since
October 2025 for new URLs, lambda:InvokeFunction, by identity or the function's
resource-based policy; then the event, the invoke, and the function's answer mapped
to an HTTP response. Errors answer as Lambda's URL front end does: JSON ``Message``
bodies, 403 for any refusal, 413 for a too-large request, 502 for a function error.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict

from cloudlet import sigv4
from cloudlet.config import Config
from cloudlet.core.context import Principal
from cloudlet.core.errors import AWSError
from cloudlet.core.ids import request_id as new_request_id
from cloudlet.core.policies import PolicyDoc
from cloudlet.policy.engine import evaluate
from cloudlet.policy.principals import Caller
from cloudlet.services.lambda_.environment import Invocation, InvokeResult
from cloudlet.services.lambda_.host import Throttled
from cloudlet.services.lambda_.models import LATEST, Function, FunctionUrlConfig, FunctionVersion
from cloudlet.services.lambda_.response_stream import ResponseStream
from cloudlet.services.lambda_.url_stream import stream_url_response

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider

log = logging.getLogger(__name__)
access_log = logging.getLogger("cloudlet.access")

HOST = re.compile(r"^([a-z0-9]{32})\.lambda-url\.([a-z0-9-]+)\.(?:localhost|on\.aws)\.?(?::\d+)?$")
# Lambda's limit on the invoke payload: the whole event, body and headers included.
MAX_EVENT_BYTES = 6 * 1024 * 1024
_TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|xml|javascript|x-www-form-urlencoded|[\w.+-]*\+(json|xml)))(;.*)?$", re.I
)
_CORS_HEADER = re.compile(r"^access-control-", re.I)


def function_url(config: Config, url_id: str, region: str) -> str:
    """The URL a local client reaches the function at (FunctionUrl)."""
    return f"http://{url_id}.lambda-url.{region}.localhost:{config.port}/"


def url_host(host: str) -> tuple[str, str] | None:
    """(url id, region) of a function URL's Host header, or None."""
    m = HOST.match(host.strip().lower())
    return (m.group(1), m.group(2)) if m else None


def _message(status: int, message: str, request_id: str) -> web.Response:
    return web.Response(
        status=status, body=json.dumps({"Message": message}).encode(),
        headers={"Content-Type": "application/json", "x-amzn-RequestId": request_id},
    )


def _forbidden(request_id: str) -> web.Response:
    return _message(403, "Forbidden", request_id)


class FunctionUrlServer:
    """Answers requests whose Host names a function URL."""

    def __init__(self, provider: LambdaProvider) -> None:
        self.provider = provider
        self.world = provider.world

    def claims(self, host: str) -> bool:
        return url_host(host) is not None

    async def serve(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        request_id = new_request_id()
        try:
            response, who = await self._serve(request, request_id)
        except web.HTTPRequestEntityTooLarge:
            response, who = _message(413, "Request Entity Too Large", request_id), "-"
        except Exception:
            log.exception("function URL request %s %s failed", request.method, request.host)
            response, who = _message(500, "Internal Server Error", request_id), "-"
        response.headers.setdefault("x-amzn-RequestId", request_id)
        access_log.info("lambda-url %s %s %s %s %.1fms", request.method, request.host, who, response.status,
                        (time.perf_counter() - t0) * 1000)
        return response

    async def _serve(self, request: web.Request, request_id: str) -> tuple[web.StreamResponse, str]:
        host = request.headers.get("Host", "")
        parsed = url_host(host)
        found = self.provider.urls.find(parsed[0]) if parsed else None
        if parsed is None or found is None or found[0].latest.region != parsed[1]:
            return _forbidden(request_id), "-"
        fn, key, cfg = found
        origin = request.headers.get("Origin")
        if (cfg.cors is not None and request.method == "OPTIONS" and origin
                and "Access-Control-Request-Method" in request.headers):
            return _preflight(cfg.cors, origin, request_id), "preflight"
        body = await request.read()
        raw_path, _, raw_query = request.raw_path.partition("?")
        headers = CIMultiDict(request.headers)
        principal: Principal | None = None
        if cfg.auth_type == "AWS_IAM":
            try:
                principal = self._authenticate(request.method, raw_path, raw_query, headers, body)
            except sigv4.SigV4Failure as f:
                log.info("function URL %s: signature refused: %s", cfg.url_id, f.message.splitlines()[0])
                return _message(403, f.message.splitlines()[0] if f.reason != "missing" else "Forbidden",
                                request_id), "-"
        who = principal.arn if principal else "anonymous"
        resource = fn.latest.function_arn if key == LATEST else f"{fn.latest.function_arn}:{key}"
        if self.world.config.enforce_iam and not self._allowed(principal, cfg, resource, request.remote or ""):
            return _forbidden(request_id), who
        fv = _version_of_key(fn, key)
        event = self._event(request, raw_path, raw_query, headers, body, fn, key, cfg, principal, parsed, request_id)
        payload = json.dumps(event, separators=(",", ":")).encode()
        if len(payload) > MAX_EVENT_BYTES:
            return _message(413, f"Request must be smaller than {MAX_EVENT_BYTES} bytes for the InvokeFunction "
                                 "operation", request_id), who
        return await self._invoke(request, fn, fv, resource, payload, cfg, origin, request_id), who

    # ---- who may invoke ---------------------------------------------------------------------
    def _authenticate(self, method: str, raw_path: str, raw_query: str, headers: CIMultiDict[str],
                      body: bytes) -> Principal:
        auth = sigv4.extract_auth(headers, sigv4.split_raw_query(raw_query))
        if auth is None:
            raise sigv4.SigV4Failure("missing", "Forbidden")
        if auth.service != "lambda":
            raise sigv4.SigV4Failure("incomplete", "Credential should be scoped to correct service: 'lambda'.")
        verified = sigv4.verify_request(self.world.credentials, method, raw_path, raw_query, headers, body,
                                        params=auth)
        return verified.credential.principal

    def _allowed(self, principal: Principal | None, cfg: FunctionUrlConfig, resource: str, source_ip: str) -> bool:
        """Both actions allowed on RESOURCE: InvokeFunctionUrl (with lambda:FunctionUrlAuthType) and
        InvokeFunction (with lambda:InvokedViaFunctionUrl), as Lambda requires for URLs made since
        October 2025."""
        if principal is not None and principal.is_root:
            return True
        document = self.provider.resource_policy(resource)
        policies = [PolicyDoc(f"resource:{resource}", document)] if document else []
        checks = (
            ("lambda:InvokeFunctionUrl", {"lambda:FunctionUrlAuthType": cfg.auth_type}),
            ("lambda:InvokeFunction", {"lambda:InvokedViaFunctionUrl": "true",
                                       "lambda:FunctionUrlAuthType": cfg.auth_type}),
        )
        for action, extra in checks:
            if principal is None:
                # Anonymous: only a resource-based policy naming everyone can allow it.
                keys = {k.lower(): v for k, v in extra.items()}
                keys["aws:sourceip"] = source_ip
                decision = evaluate(action, resource, keys, resource_policies=policies, caller=Caller())
                allowed = decision.allowed
            else:
                try:
                    self.world.authorizer.check(principal, action, [resource], {**extra, "aws:SourceIp": source_ip},
                                                "lambda", {resource: document} if document else None)
                    allowed = True
                except AWSError:
                    allowed = False
            if not allowed:
                log.info("function URL invoke of %s by %s refused: %s not allowed", resource,
                         principal.arn if principal else "anonymous", action)
                return False
        return True

    # ---- the event --------------------------------------------------------------------------
    def _event(self, request: web.Request, raw_path: str, raw_query: str, headers: CIMultiDict[str], body: bytes,
               fn: Function, key: str, cfg: FunctionUrlConfig, principal: Principal | None,
               parsed: tuple[str, str], request_id: str) -> dict[str, Any]:
        url_id, region = parsed
        domain = f"{url_id}.lambda-url.{region}.on.aws"
        source_ip = request.remote or "127.0.0.1"
        merged: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in headers.items():
            lname = name.lower()
            if lname == "cookie":
                cookies += [c.strip() for c in value.split(";") if c.strip()]
                continue
            merged[lname] = f"{merged[lname]},{value}" if lname in merged else value
        merged.setdefault("x-forwarded-for", source_ip)
        merged.setdefault("x-forwarded-proto", request.scheme)
        merged.setdefault("x-forwarded-port", str(request.url.port or ""))
        merged.setdefault("x-amzn-trace-id", f"Root=1-{int(time.time()):08x}-{request_id.replace('-', '')[:24]}")
        now = time.time()
        when = datetime.datetime.fromtimestamp(now, datetime.UTC)
        context: dict[str, Any] = {
            "accountId": fn.latest.account_id if principal is not None else "anonymous",
            "apiId": url_id,
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": f"HTTP/{request.version.major}.{request.version.minor}",
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", ""),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        }
        if principal is not None:
            context["authorizer"] = {"iam": {
                "accessKey": principal.access_key_id,
                "accountId": principal.account_id,
                "callerId": principal.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": principal.arn,
                "userId": principal.user_id,
            }}
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": raw_path,
            "rawQueryString": raw_query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = merged
        query = _query_parameters(raw_query)
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = context
        if body:
            is_text = _is_text(headers.get("Content-Type"), body)
            event["body"] = body.decode("utf-8") if is_text else base64.b64encode(body).decode()
            event["isBase64Encoded"] = not is_text
        else:
            event["isBase64Encoded"] = False
        return event

    # ---- invoke and answer --------------------------------------------------------------------
    async def _invoke(self, request: web.Request, fn: Function, fv: FunctionVersion, invoked_arn: str,
                      payload: bytes, cfg: FunctionUrlConfig, origin: str | None,
                      request_id: str) -> web.StreamResponse:
        if fv.state != "Active":
            return _message(503, "Service Unavailable", request_id)  # Pending: not invocable yet
        await self.provider._settled(fv)
        inv = Invocation(payload, invoked_arn, request_id=request_id)
        if cfg.invoke_mode == "RESPONSE_STREAM":
            return await self._stream(request, fn, fv, inv, cfg, origin, request_id)
        try:
            result = await self.provider.host.invoke(fv, inv, fn.reserved_concurrency,
                                                     self.world.config.lambda_max_environments)
        except Throttled:
            return _message(429, "Rate Exceeded.", request_id)
        except AWSError as e:
            log.info("function URL invoke of %s failed: %s", invoked_arn, e.message)
            return _message(502, "Internal Server Error", request_id)
        return self._answer(result, invoked_arn, cfg, origin, request_id)

    async def _stream(self, request: web.Request, fn: Function, fv: FunctionVersion, inv: Invocation,
                      cfg: FunctionUrlConfig, origin: str | None, request_id: str) -> web.StreamResponse:
        """RESPONSE_STREAM: the function's chunks to the client as they come (url_stream.py)."""
        sink = inv.stream = ResponseStream()
        run = asyncio.ensure_future(self.provider.host.invoke(fv, inv, fn.reserved_concurrency,
                                                              self.world.config.lambda_max_environments))

        def headers(out: web.StreamResponse) -> None:
            out.headers["x-amzn-RequestId"] = request_id
            if cfg.cors is not None:
                _apply_cors(out, cfg.cors, origin)

        return await stream_url_response(
            request, sink, run, lambda status, message: _message(status, message, request_id), headers)

    @staticmethod
    def _answer(result: InvokeResult, invoked_arn: str, cfg: FunctionUrlConfig, origin: str | None,
                request_id: str) -> web.Response:
        """A whole (buffered) result as the URL's HTTP answer."""
        if result.function_error:
            return _message(502, "Internal Server Error", request_id)
        response = _http_response(result.payload)
        if response is None:
            log.info("function URL %s: the function's answer is not a valid response", invoked_arn)
            return _message(502, "Internal Server Error", request_id)
        if cfg.cors is not None:
            _apply_cors(response, cfg.cors, origin)
        return response


def _version_of_key(fn: Function, key: str) -> FunctionVersion:
    """The version a URL's qualifier runs: $LATEST, or the version its alias points at."""
    if key == LATEST:
        return fn.latest
    target = fn.aliases[key].function_version
    return fn.latest if target == LATEST else fn.versions[target]


def _query_parameters(raw_query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, val in parse_qsl(raw_query, keep_blank_values=True):
        out[k] = f"{out[k]},{val}" if k in out else val
    return out


def _is_text(content_type: str | None, body: bytes) -> bool:
    """Lambda passes text bodies as they are and base64-encodes the others."""
    if content_type is None or not _TEXT_TYPES.match(content_type.strip()):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _http_response(payload: bytes) -> web.Response | None:
    """The function's answer as HTTP: a statusCode object as it says, any other JSON as a 200 JSON body."""
    try:
        value = json.loads(payload) if payload else None
    except ValueError:
        return None
    if not isinstance(value, dict) or "statusCode" not in value:
        return web.Response(status=200, body=payload, headers={"Content-Type": "application/json"})
    status = value.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers: CIMultiDict[str] = CIMultiDict()
    raw_headers = value.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        return None
    for name, val in raw_headers.items():
        headers[str(name)] = val if isinstance(val, str) else json.dumps(val)
    headers.setdefault("Content-Type", "application/json")
    for cookie in value.get("cookies") or []:
        headers.add("Set-Cookie", str(cookie))
    raw_body = value.get("body")
    if raw_body is None:
        data = b""
    elif not isinstance(raw_body, str):
        data = json.dumps(raw_body).encode()
    elif value.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw_body, validate=True)
        except ValueError:
            return None
    else:
        data = raw_body.encode()
    return web.Response(status=status, body=data, headers=headers)


def _origin_allowed(cors: Mapping[str, Any], origin: str) -> str | None:
    """The Access-Control-Allow-Origin value for ORIGIN, or None when Cors does not allow it."""
    allowed = [o for o in cors.get("AllowOrigins") or []]
    if "*" in allowed:
        return "*"
    return origin if origin in allowed else None


def _preflight(cors: Mapping[str, Any], origin: str, request_id: str) -> web.Response:
    """The OPTIONS preflight answer Lambda gives from the URL's Cors, without invoking the function."""
    headers: dict[str, str] = {"x-amzn-RequestId": request_id}
    allow = _origin_allowed(cors, origin)
    if allow is not None:
        headers["Access-Control-Allow-Origin"] = allow
        if cors.get("AllowMethods"):
            headers["Access-Control-Allow-Methods"] = ",".join(cors["AllowMethods"])
        if cors.get("AllowHeaders"):
            headers["Access-Control-Allow-Headers"] = ",".join(cors["AllowHeaders"])
        if cors.get("ExposeHeaders"):
            headers["Access-Control-Expose-Headers"] = ",".join(cors["ExposeHeaders"])
        if cors.get("MaxAge"):
            headers["Access-Control-Max-Age"] = str(cors["MaxAge"])
        if cors.get("AllowCredentials"):
            headers["Access-Control-Allow-Credentials"] = "true"
    return web.Response(status=200, headers=headers)


def _apply_cors(response: web.StreamResponse, cors: Mapping[str, Any], origin: str | None) -> None:
    """With Cors configured, Lambda's CORS headers replace the ones the function sent."""
    for name in [n for n in response.headers if _CORS_HEADER.match(n)]:
        del response.headers[name]
    allow = _origin_allowed(cors, origin) if origin else None
    if allow is None:
        return
    response.headers["Access-Control-Allow-Origin"] = allow
    if cors.get("ExposeHeaders"):
        response.headers["Access-Control-Expose-Headers"] = ",".join(cors["ExposeHeaders"])
    if cors.get("AllowCredentials"):
        response.headers["Access-Control-Allow-Credentials"] = "true"
