"""CloudWatch Logs resource state for one (account, region): groups, streams, events.

Events in a stream are kept sorted by (timestamp, seq); seq is a per-region counter
so that the ordering key is unique and stable, which is what pagination tokens and
eventIds are built from. Every caller runs on cloudlet's event loop today (the API and
the Lambda host's `append_events`); mutation still happens under the state's lock so that
the state file writer (core/store.py) reads a consistent state whoever calls it.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

DAY_MS = 86_400_000
# Width of the sequence part of an event key; the timestamp part sits above it.
SEQ_DIGITS = 36
SEQ_SPAN = 10**SEQ_DIGITS


def now_ms() -> int:
    return int(time.time() * 1000)


def event_key(timestamp: int, seq: int) -> int:
    """One integer ordering events by (timestamp, seq); eventIds and tokens print it."""
    return max(timestamp, 0) * SEQ_SPAN + seq


def format_key(key: int) -> str:
    # 56 digits, the width of AWS's eventIds and token bodies.
    return f"{key:056d}"


@dataclasses.dataclass
class LogEvent:
    timestamp: int
    message: str
    ingestion_time: int
    seq: int

    @property
    def key(self) -> int:
        return event_key(self.timestamp, self.seq)

    @property
    def event_id(self) -> str:
        return format_key(self.key)

    @property
    def size(self) -> int:
        return len(self.message.encode("utf-8"))


@dataclasses.dataclass
class LogStream:
    name: str
    creation_time: int
    events: list[LogEvent] = dataclasses.field(default_factory=list)
    keys: list[int] = dataclasses.field(default_factory=list)  # parallel to events, for bisect
    last_ingestion_time: int | None = None
    upload_sequence_token: str | None = None

    def insert(self, event: LogEvent) -> None:
        key = event.key
        if not self.keys or key > self.keys[-1]:
            self.events.append(event)
            self.keys.append(key)
            return
        i = bisect.bisect_right(self.keys, key)
        self.events.insert(i, event)
        self.keys.insert(i, key)

    def purge_before(self, cutoff_ms: int) -> int:
        """Drop events older than cutoff; returns the bytes freed."""
        i = bisect.bisect_left(self.keys, event_key(cutoff_ms, 0))
        if i == 0:
            return 0
        freed = sum(e.size for e in self.events[:i])
        del self.events[:i]
        del self.keys[:i]
        return freed

    @property
    def first_event_timestamp(self) -> int | None:
        return self.events[0].timestamp if self.events else None

    @property
    def last_event_timestamp(self) -> int | None:
        return self.events[-1].timestamp if self.events else None


@dataclasses.dataclass
class LogGroup:
    name: str
    creation_time: int
    log_group_class: str = "STANDARD"
    kms_key_id: str | None = None
    retention_in_days: int | None = None
    deletion_protection: bool = False
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    streams: dict[str, LogStream] = dataclasses.field(default_factory=dict)
    stored_bytes: int = 0

    def retention_cutoff(self, now: int) -> int | None:
        if self.retention_in_days is None:
            return None
        return now - self.retention_in_days * DAY_MS

    def apply_retention(self, now: int) -> None:
        cutoff = self.retention_cutoff(now)
        if cutoff is None:
            return
        for stream in self.streams.values():
            self.stored_bytes -= stream.purge_before(cutoff)


class LogsState:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.groups: dict[str, LogGroup] = {}
        self.lock = threading.RLock()
        self._seq = 0
        # Told of every stored batch (group, stream, events) before the write is
        # acknowledged: the state file's events journal (see journal.py).
        self.journal: Callable[[str, str, list[LogEvent]], None] | None = None

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def group_arn(self, name: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.account_id}:log-group:{name}"

    def stream_arn(self, group: str, stream: str) -> str:
        return f"{self.group_arn(group)}:log-stream:{stream}"

    def append(self, group: LogGroup, stream: LogStream, events: list[tuple[int, str]], now: int) -> None:
        """Store already-validated events (caller holds the lock)."""
        batch = []
        for ts, msg in events:
            event = LogEvent(timestamp=ts, message=msg, ingestion_time=now, seq=self.next_seq())
            stream.insert(event)
            group.stored_bytes += event.size
            batch.append(event)
        if events:
            stream.last_ingestion_time = now
            if self.journal is not None:
                self.journal(group.name, stream.name, batch)
        stream.upload_sequence_token = format_key(event_key(now, self._seq))


def _persist_spec() -> Any:
    from cloudlet.core.store import Collection, PersistSpec
    from cloudlet.services.logs import journal

    return PersistSpec(
        collections=(Collection("groups", LogGroup, encode=journal.encode_group, decode=journal.decode_group),),
        skip_ops=frozenset({"PutLogEvents"}),  # its events go to the journal; records are unchanged
        attach_state=journal.attach,
        record_ops=journal.record_ops,
    )


PERSIST = _persist_spec()
