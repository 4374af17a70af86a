"""CloudWatch Logs in the state file: group records (with their streams' names) and
one row per event, appended in the transaction that acknowledges PutLogEvents.

Streams' derived figures (stored bytes, last ingestion, the upload sequence token)
and the region's event sequence are rebuilt from the events at start, so tokens
and eventIds handed out before a restart keep their meaning after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudlet.core import codec
from cloudlet.core.persist import PUT_EVENT
from cloudlet.services.logs.state import (
    SEQ_SPAN,
    LogEvent,
    LogGroup,
    LogsState,
    LogStream,
    event_key,
    format_key,
    now_ms,
)

if TYPE_CHECKING:
    from cloudlet.core.persist import StateDB

_GROUP_FIELDS = frozenset({"streams", "stored_bytes"})


def encode_group(g: LogGroup) -> dict[str, Any]:
    out: dict[str, Any] = codec.encode(g, _GROUP_FIELDS)
    out["streams"] = [[s.name, s.creation_time] for s in g.streams.values()]
    return out


def decode_group(data: dict[str, Any]) -> LogGroup:
    streams = {name: LogStream(name=name, creation_time=int(created)) for name, created in data.get("streams", [])}
    group: LogGroup = codec.decode_record(LogGroup, data, extra={"streams": streams})
    return group


def record_ops(account: str, region: str, attr: str, key: str, group: Any) -> list[tuple[str, tuple[Any, ...]]]:
    """A deleted group takes its events along; a rewritten one those of its deleted streams."""
    if group is None:
        return [("DELETE FROM events WHERE account=? AND region=? AND grp=?", (account, region, key))]
    import json

    sql = (
        "DELETE FROM events WHERE account=? AND region=? AND grp=? "
        "AND stream NOT IN (SELECT value FROM json_each(?))"
    )
    return [(sql, (account, region, key, json.dumps(list(group.streams))))]


def attach(state: LogsState, db: StateDB, account: str, region: str, restored: bool) -> None:
    def journal(group: str, stream: str, events: list[LogEvent]) -> None:
        db.write_many(PUT_EVENT, [
            (account, region, group, stream, e.seq, e.timestamp, e.ingestion_time, e.message) for e in events
        ])

    state.journal = journal
    if restored:
        _load_events(state, db, account, region)


def _load_events(state: LogsState, db: StateDB, account: str, region: str) -> None:
    # Events past their group's retention are dropped here: the running cloudlet drops
    # them only from memory, so the file sheds them at the next start.
    now = now_ms()
    db.write([
        ("DELETE FROM events WHERE account=? AND region=? AND grp=? AND ts < ?", (account, region, g.name, cutoff))
        for g in state.groups.values()
        if (cutoff := g.retention_cutoff(now)) is not None
    ])
    rows = db.query(
        "SELECT grp, stream, seq, ts, ingested, message FROM events WHERE account=? AND region=? "
        "ORDER BY grp, stream, ts, seq",
        (account, region),
    )
    top = 0
    stream: LogStream | None = None
    current: tuple[str, str] | None = None
    group: LogGroup | None = None
    for grp, sname, seq, ts, ingested, message in rows:
        if (grp, sname) != current:
            current = (grp, sname)
            # Events of a group or stream whose record is missing still come back.
            group = state.groups.get(grp)
            if group is None:
                group = state.groups[grp] = LogGroup(name=grp, creation_time=ingested)
            stream = group.streams.get(sname)
            if stream is None:
                stream = group.streams[sname] = LogStream(name=sname, creation_time=ingested)
        assert stream is not None and group is not None
        event = LogEvent(timestamp=ts, message=message, ingestion_time=ingested, seq=seq)
        stream.events.append(event)  # rows come in (ts, seq) order: no insort needed
        stream.keys.append(max(ts, 0) * SEQ_SPAN + seq)  # event.key, without the call
        group.stored_bytes += event.size
        top = max(top, seq)
    for g in state.groups.values():
        for s in g.streams.values():
            if s.events:
                last = max(s.events, key=lambda e: e.seq)
                s.last_ingestion_time = last.ingestion_time
                s.upload_sequence_token = format_key(event_key(last.ingestion_time, last.seq))
    state._seq = max(state._seq, top)
