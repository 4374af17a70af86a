"""Pagination tokens.

GetLogEvents tokens have AWS's visible form "f/<56 digits>/s" and "b/<56 digits>/s":
the digits are an event key (see state.event_key), the position the next page
continues from. Describe*/FilterLogEvents tokens are opaque: base64 of a small
JSON object carrying the operation they belong to, so one can't be replayed
against another operation.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.services.logs.state import format_key

_STREAM_TOKEN_RE = re.compile(r"([fb])/(\d{1,60})/s")


def invalid_token() -> AWSError:
    return AWSError("InvalidParameterException", "The specified nextToken is invalid.", status=400)


def stream_token(direction: str, key: int) -> str:
    return f"{direction}/{format_key(key)}/s"


def parse_stream_token(token: str) -> tuple[str, int]:
    m = _STREAM_TOKEN_RE.fullmatch(token)
    if not m:
        raise invalid_token()
    return m.group(1), int(m.group(2))


def encode(kind: str, **fields: Any) -> str:
    raw = json.dumps({"k": kind, **fields}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(kind: str, token: str) -> dict[str, Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_token() from None
    if not isinstance(data, dict) or data.get("k") != kind:
        raise invalid_token()
    return data
