"""Who may use the console: the request checks (Host, Origin, CSRF) and the sign-in sessions.

- Host must be the console's own loopback host:port, so a page whose DNS name is rebound to
  127.0.0.1 cannot read or drive it.
- Every non-GET request must come from the console's own origin (Origin, and Sec-Fetch-Site
  when the browser sends it) and carry the session's CSRF token (except the sign-in itself).
- A session is made by the secret `cloudlet console` prints (the account's root principal)
  or by an access key cloudlet knows (that key's principal); its cookie is HttpOnly and
  SameSite=Strict. The key is looked up again on every call, so a deleted or deactivated
  key ends its sessions.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from aiohttp import web

from cloudlet.core.context import Principal
from cloudlet.core.identity import CredentialRegistry

COOKIE = "cloudlet_console"
CSRF_HEADER = "X-Console-Csrf"
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 256


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Session:
    csrf: str
    expires: float
    root: bool  # signed in with the console secret
    access_key_id: str = ""
    session_token: str | None = None


class Guard:
    def __init__(self, host: str, port: int, secret: str, credentials: CredentialRegistry, root: Principal) -> None:
        self.hosts = {f"{host}:{port}", f"localhost:{port}"}
        self.origins = {f"http://{h}" for h in self.hosts}
        self.secret = secret
        self.credentials = credentials
        self.root = root
        self.sessions: dict[str, Session] = {}

    # -- every request

    def check_request(self, request: web.Request) -> None:
        if request.headers.get("Host", "") not in self.hosts:
            raise Refused(421, "ForeignHost", "This console answers only at its own address (Host header).")
        if request.method in ("GET", "HEAD"):
            return
        if request.headers.get("Origin", "") not in self.origins:
            raise Refused(403, "ForeignOrigin", "Cross-origin request refused (Origin header).")
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site != "same-origin":
            raise Refused(403, "ForeignOrigin", f"Cross-site request refused (Sec-Fetch-Site: {site}).")

    # -- sessions

    def session_of(self, request: web.Request, need_csrf: bool) -> Session:
        token = request.cookies.get(COOKIE, "")
        session = self.sessions.get(token)
        if session is None or session.expires < time.time():
            self.sessions.pop(token, None)
            raise Refused(401, "SignInRequired", "Sign in with the console secret or an access key.")
        if need_csrf and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), session.csrf):
            raise Refused(403, "BadCsrfToken", "Missing or wrong CSRF token.")
        return session

    def principal_of(self, session: Session) -> Principal:
        if session.root:
            return self.root
        cred = self.credentials.get(session.access_key_id)
        if cred is None or not cred.active or cred.expired() or cred.session_token != session.session_token:
            raise Refused(401, "SignInRequired", "The access key this session signed in with is no longer valid.")
        return cred.principal

    def sign_in(self, form: dict[str, object]) -> tuple[str, Session]:
        """A new session from {"secret"} or {"accessKeyId", "secretAccessKey"[, "sessionToken"]}."""
        now = time.time()
        secret = form.get("secret")
        if isinstance(secret, str) and secret:
            if not hmac.compare_digest(secret.strip().encode(), self.secret.encode()):
                raise Refused(401, "SignInFailed", "Wrong console secret.")
            session = Session(secrets.token_urlsafe(24), now + SESSION_SECONDS, root=True)
        else:
            key, sk, st = form.get("accessKeyId"), form.get("secretAccessKey"), form.get("sessionToken") or None
            if not isinstance(key, str) or not isinstance(sk, str) or not (st is None or isinstance(st, str)):
                raise Refused(400, "SignInFailed", "Give the console secret, or an access key id and secret key.")
            cred = self.credentials.get(key.strip())
            ok = cred is not None and hmac.compare_digest(sk.encode(), cred.secret_access_key.encode())
            if cred is None or not ok or not cred.active or cred.expired() or cred.session_token != st:
                raise Refused(401, "SignInFailed", "The access key or secret key is not valid.")
            expires = min(now + SESSION_SECONDS, cred.expires_at or now + SESSION_SECONDS)
            session = Session(secrets.token_urlsafe(24), expires, root=False, access_key_id=cred.access_key_id,
                              session_token=st)
        self._forget_expired(now)
        token = secrets.token_urlsafe(32)
        self.sessions[token] = session
        return token, session

    def sign_out(self, request: web.Request) -> None:
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)

    def _forget_expired(self, now: float) -> None:
        for token in [t for t, s in self.sessions.items() if s.expires < now]:
            del self.sessions[token]
        while len(self.sessions) >= MAX_SESSIONS:  # oldest first (dicts keep insertion order)
            del self.sessions[next(iter(self.sessions))]


def set_cookie(response: web.StreamResponse, token: str, max_age: int = SESSION_SECONDS) -> None:
    response.set_cookie(COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="Strict")
