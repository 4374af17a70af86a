"""Marker/NextToken pagination: the token is the index of the next item."""

from __future__ import annotations

import base64
from typing import TypeVar

from cloudlet.core.errors import AWSError

T = TypeVar("T")


def page(
    items: list[T], token: str | None, size: int | None, default: int, lo: int, hi: int, param: str
) -> tuple[list[T], str | None]:
    if size is None:
        size = default
    if not (lo <= size <= hi):
        raise AWSError("InvalidParameterValue", f"{param} must be between {lo} and {hi}.")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError) as e:
            raise AWSError("InvalidParameterValue", "The pagination token is not valid.") from e
        if start < 0:
            raise AWSError("InvalidParameterValue", "The pagination token is not valid.")
    chunk = items[start : start + size]
    nxt = start + size
    return chunk, (base64.urlsafe_b64encode(str(nxt).encode()).decode() if nxt < len(items) else None)
