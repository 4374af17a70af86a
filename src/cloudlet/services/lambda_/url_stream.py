"""Function URLs with InvokeMode RESPONSE_STREAM: the function's chunks go to the HTTP client
as they come (chunked Transfer-Encoding).

A handler that wraps its stream in ``awslambda.HttpResponseStream.from(stream, metadata)``
streams with Content-Type ``application/vnd.awslambda.http-integration-response``: its
first bytes are the metadata JSON (statusCode, headers, cookies), then 8 NUL bytes, then
the body. Any other streamed content type is a 200 with that Content-Type. A handler that
does not stream answers a 200 whose body is its result as returned (AWS does not read it
as a statusCode/headers/body object on such a URL, as a BUFFERED one does). A failure once the status line
has left cuts the connection, so the client sees an incomplete response, not a whole one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping

from aiohttp import web
from multidict import CIMultiDict

from cloudlet.core.errors import AWSError
from cloudlet.services.lambda_.environment import InvokeResult
from cloudlet.services.lambda_.host import Throttled
from cloudlet.services.lambda_.response_stream import (
    DEFAULT_CONTENT_TYPE,
    HTTP_PRELUDE_TYPE,
    PRELUDE_DELIMITER,
    ResponseStream,
)

Answer = Callable[[int, str], web.Response]  # a Lambda-front-end message answer (status, message)


def _prelude(raw: bytes) -> tuple[int, CIMultiDict[str]] | None:
    """The HTTP integration's metadata as a status and headers; None when it is not valid."""
    try:
        meta = json.loads(raw or b"{}")
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    status = meta.get("statusCode", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return None
    headers: CIMultiDict[str] = CIMultiDict()
    raw_headers = meta.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        return None
    for name, val in raw_headers.items():
        headers[str(name)] = val if isinstance(val, str) else json.dumps(val)
    for cookie in meta.get("cookies") or []:
        headers.add("Set-Cookie", str(cookie))
    return status, headers


async def stream_url_response(
    request: web.Request,
    sink: ResponseStream,
    run: asyncio.Future[InvokeResult],
    answer: Answer,
    finish_headers: Callable[[web.StreamResponse], None],
) -> web.StreamResponse:
    """Serve one RESPONSE_STREAM request whose invoke RUN writes into SINK."""
    try:
        return await _serve(request, sink, run, answer, finish_headers)
    finally:
        sink.abandon()  # the client went away (or all is sent): the function's writes never wait


async def _serve(
    request: web.Request,
    sink: ResponseStream,
    run: asyncio.Future[InvokeResult],
    answer: Answer,
    finish_headers: Callable[[web.StreamResponse], None],
) -> web.StreamResponse:
    await sink.wait_open(run)
    if run.done() and run.exception() is not None:
        err = run.exception()
        if isinstance(err, Throttled):
            return answer(429, "Rate Exceeded.")
        if isinstance(err, AWSError):
            return answer(502, "Internal Server Error")
        assert err is not None
        raise err
    if not sink.streaming:
        # A handler that does not stream: its result as it returned it (not read as an HTTP
        # response object, as a BUFFERED URL reads it), the way AWS answers.
        result = await run
        if result.function_error:
            return answer(502, "Internal Server Error")
        whole = web.Response(status=200, body=result.payload, headers={"Content-Type": DEFAULT_CONTENT_TYPE})
        finish_headers(whole)
        return whole
    content_type = sink.opened.result() or ""
    head = b""
    chunk: bytes | None = b""
    if content_type == HTTP_PRELUDE_TYPE:
        while PRELUDE_DELIMITER not in head and (chunk := await sink.next_chunk()) is not None:
            head += chunk
        meta, _, head = head.partition(PRELUDE_DELIMITER)
        parsed = _prelude(meta) if chunk is not None else None
        if parsed is None:
            await run
            return answer(502, "Internal Server Error")
        status, headers = parsed
        headers.setdefault("Content-Type", "application/octet-stream")
    else:
        chunk = await sink.next_chunk()
        head = chunk or b""
        status, headers = 200, CIMultiDict({"Content-Type": content_type})
    if chunk is None and not head:
        result = await run  # ended before any body: a failure is still a 502
        if result.function_error:
            return answer(502, "Internal Server Error")
    out = web.StreamResponse(status=status, headers=headers)
    finish_headers(out)
    out.enable_chunked_encoding()
    await out.prepare(request)
    if head:
        await out.write(head)
    while chunk is not None and (chunk := await sink.next_chunk()) is not None:
        await out.write(chunk)
    result = await run
    if result.function_error:
        if request.transport is not None:
            request.transport.close()  # cut short: the client must not take it for a whole response
        return out
    await out.write_eof()
    return out
