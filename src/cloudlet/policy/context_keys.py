"""The global condition keys of one request, built from its caller and context.

Keys are lower-cased here once, because condition keys compare without regard
to case; the engine looks them up lower-cased.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

from cloudlet.core.context import Principal, RequestContext

# aws:CurrentTime of the last second asked for: it changes once a second, formatting it costs more.
_current: tuple[int, str] = (-1, "")


def _current_time(second: int) -> str:
    global _current
    at, text = _current
    if at != second:
        text = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _current = (second, text)
    return text


def lower_keys(context: Mapping[str, Any]) -> dict[str, Any]:
    return {k.lower(): v for k, v in context.items()}


def resource_tag_keys(tags: Mapping[str, str]) -> dict[str, str]:
    return {f"aws:resourcetag/{k.lower()}": v for k, v in tags.items()}


def principal_keys(principal: Principal, principal_tags: Mapping[str, str] | None = None) -> dict[str, Any]:
    keys: dict[str, Any] = {
        "aws:principalaccount": principal.account_id,
        "aws:principaltype": principal.type,
        "aws:userid": principal.user_id,
        # For a role session the principal ARN is the role's, not the session's.
        "aws:principalarn": principal.role_arn if principal.role_arn else principal.arn,
    }
    if principal.type == "User":
        keys["aws:username"] = principal.name
    tags = dict(principal_tags or {})
    tags.update(dict(principal.session_tags))  # session tags override the role's tags
    for k, v in tags.items():
        keys[f"aws:principaltag/{k.lower()}"] = v
    if tags:
        keys["aws:principaltagkeys"] = list(tags)
    return keys


def request_keys(
    principal: Principal,
    ctx: RequestContext | None = None,
    principal_tags: Mapping[str, str] | None = None,
    resource_tags: Mapping[str, str] | None = None,
    now: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """All global keys for a request by PRINCIPAL (CTX absent: a data-plane or internal check)."""
    t = time.time() if now is None else now
    keys = principal_keys(principal, principal_tags)
    second = int(t)
    keys["aws:currenttime"] = _current_time(second)
    keys["aws:epochtime"] = str(second)
    if ctx is not None:
        keys["aws:securetransport"] = "true" if ctx.secure_transport else "false"
        keys["aws:sourceip"] = ctx.source_ip
        keys["aws:requestedregion"] = ctx.region
    if resource_tags:
        keys.update(resource_tag_keys(resource_tags))
    if extra:
        keys.update(lower_keys(extra))
    return keys
