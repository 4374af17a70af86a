"""AWS's event-stream framing (application/vnd.amazon.eventstream), for streamed outputs.

A message is: total length, headers length, CRC32 of those 8 bytes (all big-endian
uint32), the headers, the payload, and the CRC32 of everything before it. Each header
is a 1-byte name length, the name, a type byte (7: string), a 2-byte value length and
the value. An event carries ``:event-type``, ``:message-type`` (event) and
``:content-type``.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from botocore.model import Shape

from cloudlet.protocol import json_walk

_STRING = 7


def _header(name: str, value: str) -> bytes:
    n, v = name.encode(), value.encode()
    return struct.pack("!B", len(n)) + n + struct.pack("!BH", _STRING, len(v)) + v


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack("!II", total, len(head))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + head + payload
    return message + struct.pack("!I", zlib.crc32(message))


def encode_event(union: Shape, name: str, value: dict[str, Any]) -> bytes:
    """One event of the stream's union shape: its eventpayload member as the raw payload
    (a blob as octets), else its members as a JSON object."""
    shape = union.members[name]  # type: ignore[attr-defined]
    payload_member = next((m for m, s in shape.members.items() if s.serialization.get("eventpayload")), None)
    if payload_member is not None:
        raw = value.get(payload_member)
        body = raw.encode() if isinstance(raw, str) else bytes(raw or b"")
        content_type = "application/octet-stream"
    else:
        body = json.dumps(json_walk.write_structure(shape, value), separators=(",", ":")).encode()
        content_type = "application/json"
    return frame({":event-type": name, ":message-type": "event", ":content-type": content_type}, body)


async def encode_stream(union: Shape, events: AsyncGenerator[dict[str, Any], None]) -> AsyncGenerator[bytes, None]:
    """Frames for an async generator of single-key {EventName: members} dicts (closed with
    this one, so a producer learns when the caller has gone)."""
    async with aclosing(events):
        async for event in events:
            for name, value in event.items():
                yield encode_event(union, name, value)


async def collected(shape: Shape | None, result: dict[str, Any]) -> dict[str, Any]:
    """RESULT with each event-stream member read to its end, as a list of {EventName:
    members} in wire form (a caller that shows a whole answer, such as the console)."""
    if shape is None:
        return result
    out = dict(result)
    for name, member in shape.members.items():  # type: ignore[attr-defined]
        events = result.get(name)
        if member.serialization.get("eventstream") and events is not None:
            async with aclosing(events):
                out[name] = [{k: json_walk.write_value(member.members[k], v) for k, v in event.items()}
                             async for event in events]
    return out
