"""Who may connect to a cache: ElastiCache's AUTH rules for IAM, password and no-password users.

authenticate() answers with the valkey ACL user to log the connection in as,
or raises AuthRefused carrying the reply for the wire (WRONGPASS for every
credential failure, as AWS answers) and the real reason, for cloudlet's log only.
"""

from __future__ import annotations

import dataclasses
import hmac
import logging
import time
from typing import Any

from cloudlet.core.context import Principal
from cloudlet.core.errors import AWSError
from cloudlet.core.world import World
from cloudlet.dataplane import replies
from cloudlet.dataplane.spec import CacheEndpoint, CacheUser
from cloudlet.sigv4 import SigV4Failure, verify_presigned_token

log = logging.getLogger("cloudlet.dataplane")

# An ElastiCache IAM token is a presigned URL valid 15 minutes at most.
MAX_TOKEN_EXPIRES_S = 900
DEFAULT_USER = "default"


class AuthRefused(Exception):
    def __init__(self, reason: str, reply: bytes = replies.WRONGPASS) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reply = reply


@dataclasses.dataclass(frozen=True)
class Authenticated:
    user_name: str  # the valkey ACL user (and AUTH user name)
    iam: bool
    principal: Principal | None = None


def user_enabled(user: CacheUser) -> bool:
    """Access strings enable a user with 'on'; the last of on/off wins, off by default (as valkey)."""
    if user.status not in ("active", "modifying"):
        return False
    enabled = False
    for word in user.access_string.split():
        w = word.lower()
        if w == "on":
            enabled = True
        elif w == "off":
            enabled = False
    return enabled


def _text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthRefused("user name or password is not valid UTF-8") from None


class CacheAuthenticator:
    def __init__(self, world: World, spec: CacheEndpoint) -> None:
        self.world = world
        self.spec = spec

    def user_allowed(self, user_name: str) -> bool:
        """Whether a connection logged in as user_name may stay (after a user group change)."""
        users = self.spec.users
        if users is None:
            return user_name == DEFAULT_USER
        user = users.get(user_name)
        return user is not None and user_enabled(user)

    def authenticate(self, user_b: bytes | None, password_b: bytes, source_ip: str) -> Authenticated:
        """AUTH [user] password. user None: the one-argument form (the default user)."""
        one_arg = user_b is None
        user_name = DEFAULT_USER if user_b is None else _text(user_b)
        users = self.spec.users
        if users is None:
            # No user group: the default user needs no password, as on AWS.
            if user_name != DEFAULT_USER:
                raise AuthRefused(f"user {user_name!r}: the cache has no user group, only 'default' exists")
            if one_arg:
                raise AuthRefused("AUTH <password> without a user group", replies.AUTH_DEFAULT_NOPASS)
            return Authenticated(DEFAULT_USER, iam=False)
        user = users.get(user_name)
        if user is None:
            raise AuthRefused(f"user {user_name!r} is not in the cache's user group")
        if not user_enabled(user):
            raise AuthRefused(f"user {user_name!r} is disabled (access string or status {user.status!r})")
        if user.auth_type == "iam":
            principal = self._verify_iam(user, _text(password_b), source_ip)
            return Authenticated(user.user_name, iam=True, principal=principal)
        if user.auth_type in ("no-password", "no-password-required"):
            if one_arg:
                raise AuthRefused("AUTH <password> for a no-password default user", replies.AUTH_DEFAULT_NOPASS)
            return Authenticated(user.user_name, iam=False)
        if not any(hmac.compare_digest(password_b, p.encode()) for p in user.passwords):
            raise AuthRefused(f"user {user_name!r}: wrong password")
        return Authenticated(user.user_name, iam=False)

    def _verify_iam(self, user: CacheUser, token: str, source_ip: str) -> Principal:
        spec = self.spec
        now = time.time()
        try:
            verified, host, pairs = verify_presigned_token(self.world.credentials, token, "elasticache", now=now)
        except SigV4Failure as e:
            raise AuthRefused(f"IAM token for user {user.user_name!r}: {e.reason}: {e.message}") from None
        q: dict[str, str] = {}
        for k, v in pairs:
            q.setdefault(k, v)
        problems = []
        if host != spec.name:
            problems.append(f"token is for cache {host!r}, not {spec.name!r}")
        if q.get("Action") != "connect":
            problems.append(f"Action is {q.get('Action')!r}, not 'connect'")
        if q.get("User") != user.user_name:
            problems.append(f"token is for user {q.get('User')!r}, not {user.user_name!r}")
        if q.get("ResourceType") != "ServerlessCache":
            problems.append("token lacks ResourceType=ServerlessCache")
        expires = verified.params.expires
        if expires is None or expires > MAX_TOKEN_EXPIRES_S:
            problems.append(f"X-Amz-Expires {expires} is not at most {MAX_TOKEN_EXPIRES_S}")
        if problems:
            raise AuthRefused(f"IAM token for user {user.user_name!r}: " + "; ".join(problems))
        principal = verified.credential.principal
        self._authorize(principal, user, source_ip, now)
        return principal

    def _authorize(self, principal: Principal, user: CacheUser, source_ip: str, now: float) -> None:
        spec = self.spec
        if not self.world.config.enforce_iam:
            return
        context: dict[str, Any] = {
            "aws:SourceIp": source_ip,
            "aws:SecureTransport": "true",
            "aws:CurrentTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "aws:EpochTime": str(int(now)),
        }
        for k, v in spec.tags.items():
            context[f"aws:ResourceTag/{k}"] = v
        try:
            self.world.authorizer.check(principal, "elasticache:Connect", [spec.arn, user.arn], context, "elasticache")
        except AWSError as e:
            raise AuthRefused(f"{principal.arn}: elasticache:Connect denied: {e.code}: {e.message}") from None
        except Exception as e:  # the policy engine failed: AWS answers "service is not available"
            log.exception("cache %s: authorizer failed", spec.name)
            raise AuthRefused(f"authorizer error: {e!r}", replies.SERVICE_UNAVAILABLE) from None
