"""ElastiCache's Marker/MaxRecords and NextToken/MaxResults paging (core.paging tokens)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page

T = TypeVar("T")


def page(
    items: list[T], token: str | None, size: int | None, default: int, lo: int, hi: int, param: str
) -> tuple[list[T], str | None]:
    if size is None:
        size = default
    if not (lo <= size <= hi):
        raise AWSError("InvalidParameterValue", f"{param} must be between {lo} and {hi}.")
    return offset_page(
        items, token, size, param, lambda _t: AWSError("InvalidParameterValue", "The pagination token is not valid.")
    )


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
