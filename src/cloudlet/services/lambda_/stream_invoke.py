"""InvokeWithResponseStream: the function's response as an event stream.

The answer's headers leave once the runtime has begun its streamed POST (they carry
its Content-Type) or the invoke has ended; then each chunk as a PayloadChunk event as
it arrives, and InvokeComplete last (the error, if any, and the log tail for LogType
Tail). A handler that does not stream (any Python function, a Node.js handler without
``streamifyResponse``) answers its whole result as one PayloadChunk, as Lambda does.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.services.lambda_.environment import Invocation, InvokeResult
from cloudlet.services.lambda_.host import Throttled
from cloudlet.services.lambda_.response_stream import DEFAULT_CONTENT_TYPE, ResponseStream

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider

MAX_REQUEST = 6 * 1024 * 1024


def _error_fields(payload: bytes) -> tuple[str, str]:
    """InvokeComplete's ErrorCode and ErrorDetails from the function's error document."""
    try:
        doc = json.loads(payload)
    except ValueError:
        doc = None
    if isinstance(doc, dict):
        return str(doc.get("errorType") or "Unhandled"), str(doc.get("errorMessage") or "")
    return "Unhandled", payload.decode("utf-8", "replace")


async def invoke_with_response_stream(provider: LambdaProvider, ctx: RequestContext,
                                      params: dict[str, Any]) -> dict[str, Any]:
    fn, qualifier = provider.qualified(ctx, params)
    fv = provider._version(ctx, fn, qualifier)
    payload: bytes = params.get("Payload") or b"{}"
    if len(payload) > MAX_REQUEST:
        raise AWSError("RequestTooLargeException",
                       f"Request must be smaller than {MAX_REQUEST} bytes for the InvokeWithResponseStream operation",
                       status=413)
    if fv.state != "Active":
        raise AWSError("ResourceConflictException",
                       "The operation cannot be performed at this time. The function is currently in the following "
                       f"state: {fv.state}", status=409, fields={"Type": "User"})
    await provider._settled(fv)
    if (params.get("InvocationType") or "RequestResponse") == "DryRun":
        return {"StatusCode": 204}
    invoked_arn = fv.function_arn + (f":{qualifier}" if qualifier else "")
    inv = Invocation(payload, invoked_arn, client_context=provider._client_context(params.get("ClientContext")),
                     request_id=ctx.request_id)
    sink = inv.stream = ResponseStream()
    run = asyncio.ensure_future(
        provider.host.invoke(fv, inv, fn.reserved_concurrency, provider.world.config.lambda_max_environments))
    await sink.wait_open(run)
    if run.done() and run.exception() is not None:
        err = run.exception()
        if isinstance(err, Throttled):
            raise AWSError("TooManyRequestsException", "Rate Exceeded.", status=429,
                           fields={"Reason": err.reason, "Type": "User"})
        assert err is not None
        raise err
    content_type = sink.opened.result() if sink.opened.done() else None
    return {
        "StatusCode": 200,
        "ExecutedVersion": fv.version,
        "ResponseStreamContentType": content_type or DEFAULT_CONTENT_TYPE,
        "EventStream": _events(sink, run, params.get("LogType") == "Tail"),
    }


async def _events(sink: ResponseStream, run: asyncio.Future[InvokeResult], tail: bool) -> AsyncIterator[dict[str, Any]]:
    try:
        await sink.wait_open(run)
        if sink.streaming:
            while (chunk := await sink.next_chunk()) is not None:
                yield {"PayloadChunk": {"Payload": chunk}}
    finally:
        sink.abandon()  # the caller went away (or all is read): the function's writes never wait
    result = await run
    complete: dict[str, Any] = {}
    if result.function_error:
        complete["ErrorCode"], complete["ErrorDetails"] = _error_fields(result.payload)
    elif not sink.streaming and result.payload:
        yield {"PayloadChunk": {"Payload": result.payload}}  # a buffered handler's whole answer
    if tail:
        complete["LogResult"] = base64.b64encode(result.log_tail().encode()).decode()
    yield {"InvokeComplete": complete}
