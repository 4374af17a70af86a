"""An environment's output pipe split into log events: printed text and the runtime's framed records.

awslambdaric (and aws-lambda-ric for Node.js) writes each logging record (and each error record) as one frame when
_LAMBDA_TELEMETRY_LOG_FD names a file, as AWS's runtimes do: 4 bytes of frame type
(0xA55A00xx, the low byte naming the level and format), 4 of length, 8 of timestamp
(microseconds), then the message. cloudlet points that descriptor at the same pipe
as stdout and stderr, so the order of printed lines and records is kept. Printed
text is one event per newline (a carriage return stays inside its line, as on AWS);
a frame is one event whatever it contains (a multi-line traceback stays whole).
A frame is told from text by its first bytes: 0xA5 cannot begin a UTF-8 character.
"""

from __future__ import annotations

import dataclasses
import logging

_MAGIC = b"\xa5\x5a\x00"
_HEADER = 16
_MAX_FRAME = 64 * 1024 * 1024  # beyond any record awslambdaric writes
# The frame type's low byte, without its format bit (set: text, clear: JSON), to a level.
_LEVELS = {0x02: None, 0x06: logging.DEBUG - 5, 0x0A: logging.DEBUG, 0x0E: logging.INFO, 0x12: logging.WARNING,
           0x16: logging.ERROR, 0x1A: logging.CRITICAL}


@dataclasses.dataclass(frozen=True)
class LogEvent:
    message: str
    level: int | None = None  # a record's level; None for printed text and unleveled records
    ts_ms: int | None = None  # a record's own time; None: the time it was read


class LogStreamParser:
    def __init__(self) -> None:
        self._buf = bytearray()
        self._text = bytearray()  # a printed line not yet ended

    def feed(self, data: bytes) -> list[LogEvent]:
        self._buf += data
        out: list[LogEvent] = []
        while self._buf:
            if self._buf.startswith(_MAGIC) and (len(self._buf) < 4 or self._buf[3] & ~1 in _LEVELS):
                if len(self._buf) < _HEADER:
                    break
                size = int.from_bytes(self._buf[4:8], "big")
                if size > _MAX_FRAME:
                    # Not a frame after all (binary bytes a function wrote): they pass as text.
                    self._text += self._buf[:1]
                    del self._buf[:1]
                    continue
                if len(self._buf) < _HEADER + size:
                    break
                kind = self._buf[3] & ~1
                micros = int.from_bytes(self._buf[8:16], "big")
                text = bytes(self._buf[_HEADER:_HEADER + size]).decode("utf-8", "replace")
                del self._buf[:_HEADER + size]
                # Text records end with the formatter's newline, which is not part of the event.
                out.append(LogEvent(text[:-1] if text.endswith("\n") else text, _LEVELS.get(kind), micros // 1000))
                continue
            frame = self._buf.find(_MAGIC, 1)
            newline = self._buf.find(b"\n")
            if newline >= 0 and (frame < 0 or newline < frame):
                self._text += self._buf[:newline]
                del self._buf[:newline + 1]
                out.append(LogEvent(self._text.decode("utf-8", "replace")))
                self._text.clear()
                continue
            if frame > 0:
                # A record written in the middle of a printed line: the line goes on after it.
                self._text += self._buf[:frame]
                del self._buf[:frame]
                continue
            # No newline and no frame: keep a tail that could be the start of a frame's magic.
            keep = next((k for k in (2, 1) if self._buf.endswith(_MAGIC[:k])), 0)
            self._text += self._buf[:len(self._buf) - keep]
            del self._buf[:len(self._buf) - keep]
            break
        return out

    def close(self) -> list[LogEvent]:
        """What is left when the pipe ends: an unfinished line (or frame) as one last event."""
        rest = bytes(self._text + self._buf)
        self._text.clear()
        self._buf.clear()
        return [LogEvent(rest.decode("utf-8", "replace"))] if rest else []
