"""The environment pipe's parser: printed text and awslambdaric's frames, split however they arrive."""

from __future__ import annotations

import logging

from cloudlet.services.lambda_.log_stream import LogEvent, LogStreamParser


def _frame(kind: int, text: str, micros: int = 1_700_000_000_123_456) -> bytes:
    data = text.encode()
    return kind.to_bytes(4, "big") + len(data).to_bytes(4, "big") + micros.to_bytes(8, "big") + data


def _feed_bytewise(data: bytes) -> list[LogEvent]:
    p = LogStreamParser()
    out: list[LogEvent] = []
    for i in range(len(data)):
        out += p.feed(data[i:i + 1])
    return out + p.close()


def test_lines_and_frames_in_order_whatever_the_chunking() -> None:
    data = (b"printed\r still one line\npart-" + _frame(0xA55A0017, "[ERROR] E: x\nTraceback\n")
            + b"line\n" + _frame(0xA55A000E, '{"level":"INFO"}') + "é\n".encode())
    whole = LogStreamParser().feed(data)
    assert [(e.message, e.level) for e in whole] == [
        ("printed\r still one line", None),
        ("[ERROR] E: x\nTraceback", logging.ERROR),
        ("part-line", None),
        ('{"level":"INFO"}', logging.INFO),
        ("é", None),
    ]
    assert whole[1].ts_ms == 1_700_000_000_123
    assert _feed_bytewise(data) == whole


def test_binary_output_that_looks_like_a_frame_passes_as_text() -> None:
    bogus = b"\xa5\x5a\x00\x03" + (2**31).to_bytes(4, "big") + b"tail\n"
    events = _feed_bytewise(bogus + b"next\n")
    assert [e.message for e in events][-1] == "next"
    assert events[0].message.endswith("tail") and events[0].level is None
