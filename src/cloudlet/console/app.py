"""The console's requests: the page's files, sign-in, and operation calls (loaded on first use)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cloudlet.console.calls import ConsoleCalls
from cloudlet.console.guard import CSRF_HEADER, Guard, Refused, Session, set_cookie
from cloudlet.console.listener import MAX_BODY

if TYPE_CHECKING:
    from cloudlet.config import Config
    from cloudlet.server import FrontDoor

log = logging.getLogger("cloudlet.console")

STATIC = Path(__file__).parent / "static"
VENDOR = STATIC / "vendor" / "node_modules"

# The only files served: name -> (path, content type). Libraries come from the npm ci of
# static/vendor/package-lock.json that `make install` runs.
FILES: dict[str, tuple[Path, str]] = {
    "/": (STATIC / "index.html", "text/html; charset=utf-8"),
    "/static/console.js": (STATIC / "console.js", "text/javascript; charset=utf-8"),
    "/static/pages.js": (STATIC / "pages.js", "text/javascript; charset=utf-8"),
    "/static/charts.js": (STATIC / "charts.js", "text/javascript; charset=utf-8"),
    "/static/console.css": (STATIC / "console.css", "text/css; charset=utf-8"),
    "/vendor/uPlot.esm.js": (VENDOR / "uplot" / "dist" / "uPlot.esm.js", "text/javascript; charset=utf-8"),
    "/vendor/uPlot.min.css": (VENDOR / "uplot" / "dist" / "uPlot.min.css", "text/css; charset=utf-8"),
}

SECURITY_HEADERS = {
    # Only the console's own files run; no framing (clickjacking), no referrer out.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"Error": {"Code": code, "Message": message}}, status=status, headers=SECURITY_HEADERS)


class ConsoleApp:
    def __init__(self, front: FrontDoor, config: Config, secret: str, host: str, port: int) -> None:
        world = front.world
        self.guard = Guard(host, port, secret, world.credentials, world.root)
        self.calls = ConsoleCalls(front, config.region)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            self.guard.check_request(request)
            return await self._route(request)
        except Refused as r:
            return _error(r.status, r.code, r.message)
        except web.HTTPRequestEntityTooLarge:
            return _error(413, "RequestEntityTooLarge", f"Request must be smaller than {MAX_BODY} bytes.")
        except Exception:
            log.exception("console request %s %s failed", request.method, request.path)
            return _error(500, "InternalFailure", "Internal failure")

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if method in ("GET", "HEAD") and path in FILES:
            return self._file(path)
        if path == "/api/session" and method == "GET":
            # Never the CSRF token here: cookies ignore ports, so whatever else listens on
            # 127.0.0.1 and is visited by the browser gets the cookie; the token stays in the
            # console origin's own storage.
            session = self.guard.session_of(request, need_csrf=False)
            return self._session_answer(session, with_csrf=False)
        if path == "/api/signin" and method == "POST":
            token, session = self.guard.sign_in(await self._json(request))
            response = self._session_answer(session, with_csrf=True)
            set_cookie(response, token)
            return response
        if path == "/api/signout" and method == "POST":
            self.guard.session_of(request, need_csrf=True)
            self.guard.sign_out(request)
            response = web.json_response({}, headers=SECURITY_HEADERS)
            set_cookie(response, "", max_age=0)
            return response
        if path == "/api/call" and method == "POST":
            session = self.guard.session_of(request, need_csrf=True)
            principal = self.guard.principal_of(session)
            body = await self._json(request)
            service, operation = body.get("service"), body.get("operation")
            if not isinstance(service, str) or not isinstance(operation, str):
                raise Refused(400, "BadRequest", "Give service, operation and input.")
            status, out = await self.calls.run(principal, service, operation, body.get("input") or {})
            return web.json_response(out, status=status, headers=SECURITY_HEADERS)
        if path.startswith("/api/"):
            raise Refused(404, "NotFound", f"No console route {method} {path}.")
        if path in FILES:
            raise Refused(405, "MethodNotAllowed", f"{method} is not allowed on {path}.")
        raise Refused(404, "NotFound", f"No console page {path}.")

    def _session_answer(self, session: Session, with_csrf: bool) -> web.Response:
        answer = {"principal": self.guard.principal_of(session).arn, "csrfHeader": CSRF_HEADER}
        if with_csrf:
            answer["csrf"] = session.csrf
        return web.json_response(answer, headers=SECURITY_HEADERS)

    @staticmethod
    async def _json(request: web.Request) -> dict[str, Any]:
        if request.content_type != "application/json":
            raise Refused(415, "UnsupportedMediaType", "Send application/json.")
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "BadRequest", "The body is not JSON.") from None
        if not isinstance(body, dict):
            raise Refused(400, "BadRequest", "The body must be a JSON object.")
        return body

    @staticmethod
    def _file(path: str) -> web.StreamResponse:
        file, content_type = FILES[path]
        try:
            body = file.read_bytes()
        except OSError:
            return _error(404, "NotInstalled",
                          f"{file.name} is missing: run `make install` (it installs the console's libraries).")
        return web.Response(body=body, headers={**SECURITY_HEADERS, "Content-Type": content_type})
