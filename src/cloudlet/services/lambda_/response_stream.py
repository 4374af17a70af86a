"""One streamed invoke's response, from the runtime's chunked POST to the caller.

A Node.js handler wrapped in ``awslambda.streamifyResponse`` makes aws-lambda-ric
POST its response with ``Lambda-Runtime-Function-Response-Mode: streaming`` and
chunked Transfer-Encoding; a failure part-way ends the body with the trailers
``Lambda-Runtime-Function-Error-Type`` and ``-Error-Body`` (base64 JSON). The
Runtime API puts each chunk here as it arrives; InvokeWithResponseStream and
RESPONSE_STREAM function URLs read them in order as they come.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import Any

# Lambda's limit on a streamed response (200 MiB since July 2025; buffered ones stay at 6 MB).
MAX_STREAMED = 200 * 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
HTTP_PRELUDE_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\0" * 8
HIGH_WATER = 1024 * 1024  # bytes a reader may fall behind before the runtime's writes wait  # between the HTTP integration's metadata JSON and the body


class ResponseStream:
    """Chunks in arrival order, then the end (None). ``opened`` resolves with the content type
    once the runtime's POST has begun, or with None when the invoke ended without streaming
    (a buffered handler, a timeout, a crash): its result is then the whole answer."""

    def __init__(self, limit: int = MAX_STREAMED) -> None:
        loop = asyncio.get_running_loop()
        self.limit = limit
        self.opened: asyncio.Future[str | None] = loop.create_future()
        self._chunks: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.size = 0
        self.too_large = False
        self.abandoned = False
        self._queued = 0  # bytes put and not yet read
        self._drained = asyncio.Event()

    @property
    def streaming(self) -> bool:
        return self.opened.done() and self.opened.result() is not None

    async def wait_open(self, run: asyncio.Future[Any]) -> None:
        """Until the runtime's streamed POST has begun or the invoke RUN has ended."""
        waiters: list[asyncio.Future[Any]] = [self.opened, run]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)

    def open(self, content_type: str) -> None:
        if not self.opened.done():
            self.opened.set_result(content_type or DEFAULT_CONTENT_TYPE)

    async def put(self, chunk: bytes) -> bool:
        """Forward CHUNK; False once the stream has passed its limit (the rest is dropped).
        Waits while the reader is more than HIGH_WATER bytes behind, so a slow client slows
        the function's writes (as on AWS) instead of growing cloudlet's memory."""
        if self.too_large:
            return False
        if self.size + len(chunk) > self.limit:
            self.too_large = True
            return False
        self.size += len(chunk)
        if chunk and not self.abandoned:
            self._chunks.put_nowait(chunk)
            self._queued += len(chunk)
            while self._queued > HIGH_WATER and not self.abandoned:
                self._drained.clear()
                await self._drained.wait()
        return True

    def abandon(self) -> None:
        """The reader went away: chunks from now on are dropped, a waiting writer goes on."""
        self.abandoned = True
        self._drained.set()

    def end(self) -> None:
        """No more chunks (called on every ending, so a reader never waits forever)."""
        if not self.opened.done():
            self.opened.set_result(None)
        self._chunks.put_nowait(None)

    async def next_chunk(self) -> bytes | None:
        chunk = await self._chunks.get()
        if chunk is not None:
            self._queued -= len(chunk)
            if self._queued <= HIGH_WATER:
                self._drained.set()
        return chunk


def error_from_trailers(error_type: str | None, error_body: str | None) -> tuple[str, bytes] | None:
    """The function's error as the runtime's trailers carry it: (type, JSON body), or None."""
    if not error_type and not error_body:
        return None
    body = b""
    if error_body:
        try:
            body = base64.b64decode(error_body, validate=True)
        except (binascii.Error, ValueError):
            body = error_body.encode()
    if not body:
        body = json.dumps({"errorType": error_type or "Unknown", "errorMessage": ""}).encode()
    return error_type or "Unknown", body
