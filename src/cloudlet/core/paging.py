"""One paging helper for every service's Marker/NextToken listings.

The token is opaque to clients: base64 of "SCOPE:OFFSET". SCOPE names the
listing it came from, so a token of another call (or a made-up or negative
offset) is refused, as AWS refuses it, with the service's own error.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TypeVar

from cloudlet.core.errors import AWSError

T = TypeVar("T")


def offset_page(
    items: Sequence[T], token: str | None, size: int | None, scope: str, invalid: Callable[[str], AWSError]
) -> tuple[list[T], str | None]:
    """(this page of ITEMS, the token of the next page or None). SIZE None: everything left."""
    start = 0
    if token:
        try:
            kind, _, offset = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
            start = int(offset)
        except (ValueError, UnicodeDecodeError, binascii.Error):
            raise invalid(token) from None
        if kind != scope or start < 0 or start > len(items):
            raise invalid(token)
    end = len(items) if size is None else start + size
    nxt = base64.urlsafe_b64encode(f"{scope}:{end}".encode()).decode() if end < len(items) else None
    return list(items[start:end]), nxt
