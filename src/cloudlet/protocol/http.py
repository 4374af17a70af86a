"""Transport-neutral request/response records the protocol layer works on.

The front door (aiohttp) converts to and from these, so that the protocol layer
and its tests need no server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator

from multidict import CIMultiDict


@dataclasses.dataclass
class HttpRequest:
    method: str
    path: str  # raw path, percent-encoded as received (no query string)
    query: list[tuple[str, str]]  # decoded query pairs, in order
    headers: CIMultiDict[str]
    body: bytes
    raw_query: str = ""  # the query string as received (SigV4 canonicalization needs it)


@dataclasses.dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    stream: AsyncGenerator[bytes, None] | None = None  # an event-stream output: sent after BODY as it comes
