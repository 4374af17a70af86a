"""Marker/NextToken pagination: the token is the index of the next item."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, TypeVar

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


def paged_result(
    key: str,
    items: list[T],
    render: Callable[[T], dict[str, Any]],
    params: dict[str, Any],
    *,
    default: int,
    lo: int,
    hi: int,
    serverless: bool = False,
) -> dict[str, Any]:
    """One page of a Describe* output: {key: rendered items} plus the next-page token when there is one.

    The serverless operations page with NextToken/MaxResults, the older ones with Marker/MaxRecords.
    """
    token_param, size_param = ("NextToken", "MaxResults") if serverless else ("Marker", "MaxRecords")
    chunk, token = page(items, params.get(token_param), params.get(size_param), default, lo, hi, size_param)
    out: dict[str, Any] = {key: [render(item) for item in chunk]}
    if token:
        out[token_param] = token
    return out
