"""A small CBOR (RFC 8949) codec: what the smithy-rpc-v2-cbor protocol carries.

Decoding is bounded (nesting depth, lengths checked against the bytes left) so a
hostile body is refused with CborError, never a crash or a huge allocation.
Timestamps travel as tag 1 (epoch seconds); decode() hands tags back as Tagged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import struct
from typing import Any

MAX_DEPTH = 64
_BREAK = 0xFF


class CborError(ValueError):
    """Bytes that are not one well-formed CBOR data item."""


@dataclasses.dataclass(frozen=True)
class Tagged:
    tag: int
    value: Any


class _Undefined:
    """CBOR's `undefined` (simple value 23): read as absent, like null."""


UNDEFINED = _Undefined()


# -- decoding ----------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if n < 0 or end > len(self.data):
            raise CborError("unexpected end of data")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise CborError("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        if self.pos >= len(self.data):
            raise CborError("unexpected end of data")
        return self.data[self.pos]

    def argument(self, info: int) -> int | None:
        """The head's argument; None for the indefinite-length marker (31)."""
        if info < 24:
            return info
        if info == 24:
            return self.byte()
        if info == 25:
            return int(struct.unpack(">H", self.take(2))[0])
        if info == 26:
            return int(struct.unpack(">I", self.take(4))[0])
        if info == 27:
            return int(struct.unpack(">Q", self.take(8))[0])
        if info == 31:
            return None
        raise CborError(f"reserved additional information {info}")

    def item(self, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise CborError("nesting too deep")
        initial = self.byte()
        major, info = initial >> 5, initial & 0x1F
        if major == 7:
            return self.simple(info)
        arg = self.argument(info)
        if major == 0:
            return _definite(arg)
        if major == 1:
            return -1 - _definite(arg)
        if major in (2, 3):
            raw = self.chunks(major, arg)
            if major == 2:
                return raw
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                raise CborError("text string is not UTF-8") from None
        if major == 4:
            out: list[Any] = []
            if arg is None:
                while self.peek() != _BREAK:
                    out.append(self.item(depth + 1))
                self.pos += 1
            else:
                self.room_for(arg)
                for _ in range(arg):
                    out.append(self.item(depth + 1))
            return out
        if major == 5:
            result: dict[Any, Any] = {}
            if arg is None:
                while self.peek() != _BREAK:
                    self.pair(result, depth)
                self.pos += 1
            else:
                self.room_for(2 * arg)
                for _ in range(arg):
                    self.pair(result, depth)
            return result
        # major 6: a tag
        return Tagged(_definite(arg), self.item(depth + 1))

    def pair(self, into: dict[Any, Any], depth: int) -> None:
        key = self.item(depth + 1)
        if isinstance(key, (list, dict)):
            raise CborError("map key is not a scalar")
        into[key] = self.item(depth + 1)

    def room_for(self, items: int) -> None:
        # Every item takes at least one byte: a count past the bytes left is a lie.
        if items > len(self.data) - self.pos:
            raise CborError("unexpected end of data")

    def chunks(self, major: int, arg: int | None) -> bytes:
        if arg is not None:
            return self.take(arg)
        parts = []
        while self.peek() != _BREAK:
            head = self.byte()
            if head >> 5 != major:
                raise CborError("indefinite string chunk of another type")
            n = self.argument(head & 0x1F)
            if n is None:
                raise CborError("nested indefinite string")
            parts.append(self.take(n))
        self.pos += 1
        return b"".join(parts)

    def simple(self, info: int) -> Any:
        if info == 20:
            return False
        if info == 21:
            return True
        if info == 22:
            return None
        if info == 23:
            return UNDEFINED
        if info == 25:
            return _half(self.take(2))
        if info == 26:
            return float(struct.unpack(">f", self.take(4))[0])
        if info == 27:
            return float(struct.unpack(">d", self.take(8))[0])
        if info == 31:
            raise CborError("unexpected break")
        if info == 24:
            self.byte()
        raise CborError(f"unsupported simple value {info}")


def _definite(arg: int | None) -> int:
    if arg is None:
        raise CborError("indefinite length where none is allowed")
    return arg


def _half(raw: bytes) -> float:
    h = int.from_bytes(raw, "big")
    exp, frac = (h >> 10) & 0x1F, h & 0x3FF
    if exp == 0:
        value = math.ldexp(frac, -24)
    elif exp == 31:
        value = math.inf if frac == 0 else math.nan
    else:
        value = math.ldexp(frac + 1024, exp - 25)
    return -value if h & 0x8000 else value


def decode(data: bytes) -> Any:
    """One CBOR data item filling DATA exactly."""
    reader = _Reader(data)
    try:
        value = reader.item(0)
    except RecursionError:
        raise CborError("nesting too deep") from None
    if reader.pos != len(data):
        raise CborError("trailing bytes after the data item")
    return value


# -- encoding ----------------------------------------------------------------


def _head(out: bytearray, major: int, n: int) -> None:
    if n < 24:
        out.append(major << 5 | n)
    elif n < 0x100:
        out += bytes((major << 5 | 24, n))
    elif n < 0x10000:
        out.append(major << 5 | 25)
        out += struct.pack(">H", n)
    elif n < 0x100000000:
        out.append(major << 5 | 26)
        out += struct.pack(">I", n)
    else:
        out.append(major << 5 | 27)
        out += struct.pack(">Q", n)


def _encode(out: bytearray, value: Any) -> None:
    if value is None:
        out.append(0xF6)
    elif value is True:
        out.append(0xF5)
    elif value is False:
        out.append(0xF4)
    elif isinstance(value, int):
        if value >= 0:
            _head(out, 0, value)
        else:
            _head(out, 1, -1 - value)
    elif isinstance(value, float):
        out.append(0xFB)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        raw = value.encode("utf-8", "replace")
        _head(out, 3, len(raw))
        out += raw
    elif isinstance(value, (bytes, bytearray)):
        _head(out, 2, len(value))
        out += value
    elif isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        out.append(0xC1)  # tag 1: epoch seconds
        seconds = when.timestamp()
        _encode(out, int(seconds) if seconds == int(seconds) else seconds)
    elif isinstance(value, Tagged):
        _head(out, 6, value.tag)
        _encode(out, value.value)
    elif isinstance(value, (list, tuple)):
        _head(out, 4, len(value))
        for v in value:
            _encode(out, v)
    elif isinstance(value, dict):
        _head(out, 5, len(value))
        for k, v in value.items():
            _encode(out, k)
            _encode(out, v)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as CBOR")


def encode(value: Any) -> bytes:
    out = bytearray()
    _encode(out, value)
    return bytes(out)
