"""In-process calls of an operation handler with the protocol layer's validation.

Tests and tools that call providers without HTTP go through here, so that a
handler only ever sees input the botocore model accepts, as behind the front
door: providers check only what the model cannot express.
"""

from __future__ import annotations

import inspect
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.provider import Handler, operation_of
from cloudlet.protocol.registry import get_protocol


def call(handler: Handler, ctx: RequestContext, params: dict[str, Any]) -> Any:
    """HANDLER(ctx, params) after validating PARAMS as the front door would; returns what it returns
    (an awaitable for async handlers)."""
    service, op = operation_of(handler)
    get_protocol(service).validate_input(op, params)
    return handler(ctx, params)


async def call_async(handler: Handler, ctx: RequestContext, params: dict[str, Any]) -> Any:
    result = call(handler, ctx, params)
    return await result if inspect.isawaitable(result) else result
