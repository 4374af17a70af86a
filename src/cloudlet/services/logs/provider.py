"""CloudWatch Logs (logs/2014-03-28): log groups, streams, events, retention, tags.

Other components write logs through `append_events` (Lambda's runtime host sends
each function's output here); API clients use the operations below.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
from collections.abc import Iterator
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import Provider, operation
from cloudlet.core.store import AccountRegionStore
from cloudlet.core.world import World
from cloudlet.services.logs import tokens, validation
from cloudlet.services.logs.filter_pattern import compile_pattern
from cloudlet.services.logs.state import (
    DAY_MS,
    LogEvent,
    LogGroup,
    LogsState,
    LogStream,
    event_key,
    now_ms,
)
from cloudlet.services.logs.validation import invalid

MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_SPAN_MS = DAY_MS
TOO_OLD_MS = 14 * DAY_MS
TOO_NEW_MS = 2 * 3_600_000
MAX_RESPONSE_BYTES = 1_048_576


def group_not_found() -> AWSError:
    return AWSError("ResourceNotFoundException", "The specified log group does not exist.", status=400)


def stream_not_found() -> AWSError:
    return AWSError("ResourceNotFoundException", "The specified log stream does not exist.", status=400)


# What a DescribeLogGroups answer to a logGroupNamePattern search leaves out (recorded against AWS).
PATTERN_OMITS = frozenset({"storedBytes", "deletionProtectionEnabled"})


class LogsProvider(Provider):
    service = "logs"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[LogsState] = AccountRegionStore(LogsState)

    # ---- internal API (Lambda runtime host) ---------------------------------

    def append_events(
        self, account_id: str, region: str, group: str, stream: str, events: list[tuple[int, str]]
    ) -> None:
        """Append (timestamp ms, message) events, creating the group and stream if missing.

        Thread-safe. Events are stored in timestamp order whatever order they come in;
        empty messages are dropped (AWS rejects them) and events past the group's
        retention are not stored.
        """
        state = self.store.get(account_id, region)
        now = now_ms()
        with state.lock:
            g = state.groups.get(group)
            if g is None:
                g = state.groups[group] = LogGroup(name=group, creation_time=now)
            s = g.streams.get(stream)
            made = s is None
            if s is None:
                s = g.streams[stream] = LogStream(name=stream, creation_time=now)
                self.store.changed(account_id, region, "groups", group)  # made here, not by a request
            cutoff = g.retention_cutoff(now)
            kept = sorted(
                ((ts, msg) for ts, msg in events if msg and (cutoff is None or ts >= cutoff)),
                key=lambda e: e[0],
            )
            state.append(g, s, kept, now)
        if made:  # outside the state's lock: persisting reads the state under it
            self.world.persistence.flush()

    # ---- helpers -----------------------------------------------------------

    def _state(self, ctx: RequestContext) -> LogsState:
        return self.store.get(ctx.account_id, ctx.region)

    def _locate_group(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[LogsState, str]:
        """(state, group name) from logGroupName or logGroupIdentifier (name or ARN)."""
        name = params.get("logGroupName")
        ident = params.get("logGroupIdentifier")
        if name is not None and ident is not None:
            # ValidationException here, not InvalidParameterException (recorded against AWS).
            raise AWSError("ValidationException",
                           "LogGroup name and LogGroup ARN are mutually exclusive parameters.", 400)
        if name is None and ident is None:
            raise invalid("Should provide either name or ARN of the log group.")
        if name is not None:
            return self._state(ctx), validation.group_name(name)
        return self._locate_arn(ctx, str(ident), field="logGroupIdentifier")

    def _locate_arn(self, ctx: RequestContext, ident: str, field: str) -> tuple[LogsState, str]:
        if not ident.startswith("arn:"):
            return self._state(ctx), validation.group_name(ident, field)
        parts = ident.split(":", 6)
        if len(parts) != 7 or parts[1] not in ("aws", "aws-cn", "aws-us-gov") or parts[2] != "logs":
            raise invalid(f"Invalid ARN: {ident}")
        _, _, _, region, account, rtype, rest = parts
        if rtype != "log-group":
            raise invalid(f"Invalid resource type in ARN: {ident}")
        rest = rest.removesuffix(":*")
        if account != ctx.account_id:
            raise group_not_found()
        return self.store.get(account, region), validation.group_name(rest, field)

    @staticmethod
    def _group(state: LogsState, name: str) -> LogGroup:
        g = state.groups.get(name)
        if g is None:
            raise group_not_found()
        return g

    @contextlib.contextmanager
    def _locked_group(self, state: LogsState, name: str) -> Iterator[LogGroup]:
        """The named group, held under the state's lock (ResourceNotFoundException when missing)."""
        with state.lock:
            yield self._group(state, name)

    def _describe_group(self, state: LogsState, g: LogGroup) -> dict[str, Any]:
        arn = state.group_arn(g.name)
        out: dict[str, Any] = {
            "logGroupName": g.name,
            "creationTime": g.creation_time,
            "metricFilterCount": 0,
            "arn": f"{arn}:*",
            "storedBytes": g.stored_bytes,
            "logGroupClass": g.log_group_class,
            "logGroupArn": arn,
        }
        if g.retention_in_days is not None:
            out["retentionInDays"] = g.retention_in_days
        if g.kms_key_id:
            out["kmsKeyId"] = g.kms_key_id
        out["deletionProtectionEnabled"] = g.deletion_protection
        return out

    # ---- log groups ----------------------------------------------------------

    @operation("CreateLogGroup")
    def create_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        if name.startswith("aws/"):
            raise invalid("Log group names can't start with the string aws/")
        cls = params.get("logGroupClass", "STANDARD")
        tags = validation.tags(params["tags"]) if params.get("tags") is not None else {}
        state = self._state(ctx)
        with state.lock:
            if name in state.groups:
                raise AWSError("ResourceAlreadyExistsException", "The specified log group already exists", status=400)
            state.groups[name] = LogGroup(
                name=name,
                creation_time=now_ms(),
                log_group_class=cls,
                kms_key_id=params.get("kmsKeyId"),
                deletion_protection=bool(params.get("deletionProtectionEnabled", False)),
                tags=tags,
            )
        return {}

    @operation("DeleteLogGroup")
    def delete_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            if g.deletion_protection:
                raise AWSError(
                    "ValidationException",
                    f"Log group {name} has deletion protection enabled and cannot be deleted.",
                    status=400,
                )
            del state.groups[name]
        return {}

    @operation("DescribeLogGroups")
    def describe_log_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("logGroupNamePrefix")
        pattern = params.get("logGroupNamePattern")
        idents = params.get("logGroupIdentifiers")
        if prefix is not None and pattern is not None and idents is None:
            raise invalid("LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
        if sum(x is not None for x in (prefix, pattern, idents)) > 1:
            raise invalid(
                "LogGroup name prefix, LogGroup name pattern and LogGroup identifiers are mutually exclusive parameters."
            )
        limit = validation.limit(params.get("limit"), 1, 50, 50)
        cls = params.get("logGroupClass")
        after = tokens.decode("dlg", params["nextToken"]).get("after") if params.get("nextToken") else None
        wanted: set[str] | None = None
        if idents is not None:
            wanted = {self._locate_arn(ctx, str(i), "logGroupIdentifiers")[1] for i in idents}
        state = self._state(ctx)
        now = now_ms()
        with state.lock:
            names = sorted(state.groups)
            selected: list[LogGroup] = []
            for n in names:
                if after is not None and n <= after:
                    continue
                if prefix is not None and not n.startswith(prefix):
                    continue
                if pattern and pattern not in n:  # case-sensitive substring, as documented
                    continue
                if wanted is not None and n not in wanted:
                    continue
                g = state.groups[n]
                if cls is not None and g.log_group_class != cls:
                    continue
                selected.append(g)
                if len(selected) > limit:
                    break
            page = selected[:limit]
            for g in page:
                g.apply_retention(now)
            described = [self._describe_group(state, g) for g in page]
        if pattern is not None:
            # AWS answers a logGroupNamePattern search without the size and protection fields.
            described = [{k: v for k, v in d.items() if k not in PATTERN_OMITS} for d in described]
        out: dict[str, Any] = {"logGroups": described}
        if len(selected) > limit:
            out["nextToken"] = tokens.encode("dlg", after=page[-1].name)
        return out

    # ---- retention -------------------------------------------------------------

    @operation("PutRetentionPolicy")
    def put_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        days = validation.retention_days(params.get("retentionInDays"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            g.retention_in_days = days
            g.apply_retention(now_ms())
        return {}

    @operation("DeleteRetentionPolicy")
    def delete_retention_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            g.retention_in_days = None
        return {}

    # ---- log streams -----------------------------------------------------------

    @operation("CreateLogStream")
    def create_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        gname = validation.group_name(params.get("logGroupName"))
        sname = validation.stream_name(params.get("logStreamName"))
        state = self._state(ctx)
        with self._locked_group(state, gname) as g:
            if sname in g.streams:
                raise AWSError("ResourceAlreadyExistsException", "The specified log stream already exists", status=400)
            g.streams[sname] = LogStream(name=sname, creation_time=now_ms())
        return {}

    @operation("DeleteLogStream")
    def delete_log_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        gname = validation.group_name(params.get("logGroupName"))
        sname = validation.stream_name(params.get("logStreamName"))
        state = self._state(ctx)
        with self._locked_group(state, gname) as g:
            s = g.streams.pop(sname, None)
            if s is None:
                raise stream_not_found()
            g.stored_bytes -= sum(e.size for e in s.events)
        return {}

    @operation("DescribeLogStreams")
    def describe_log_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state, gname = self._locate_group(ctx, params)
        order = params.get("orderBy", "LogStreamName")
        prefix = params.get("logStreamNamePrefix")
        if prefix is not None and order == "LastEventTime":
            raise invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
        descending = bool(params.get("descending", False))
        limit = validation.limit(params.get("limit"), 1, 50, 50)
        offset = 0
        if params.get("nextToken"):
            data = tokens.decode("dls", params["nextToken"])
            offset = data.get("offset", 0)
            if not isinstance(offset, int) or offset < 0:
                raise tokens.invalid_token()
        now = now_ms()
        with self._locked_group(state, gname) as g:
            g.apply_retention(now)
            streams = [s for s in g.streams.values() if prefix is None or s.name.startswith(prefix)]
            if order == "LogStreamName":
                streams.sort(key=lambda s: s.name, reverse=descending)
            else:
                streams.sort(key=lambda s: (s.last_event_timestamp or 0, s.name), reverse=descending)
            page = streams[offset : offset + limit]
            out: dict[str, Any] = {"logStreams": [self._describe_stream(state, gname, s) for s in page]}
            if offset + limit < len(streams):
                out["nextToken"] = tokens.encode("dls", offset=offset + limit)
        return out

    @staticmethod
    def _describe_stream(state: LogsState, gname: str, s: LogStream) -> dict[str, Any]:
        out: dict[str, Any] = {
            "logStreamName": s.name,
            "creationTime": s.creation_time,
            "arn": state.stream_arn(gname, s.name),
            "storedBytes": 0,  # AWS reports 0 for streams since 2019
        }
        if s.events:
            out["firstEventTimestamp"] = s.first_event_timestamp
            out["lastEventTimestamp"] = s.last_event_timestamp
        if s.last_ingestion_time is not None:
            out["lastIngestionTime"] = s.last_ingestion_time
        if s.upload_sequence_token is not None:
            out["uploadSequenceToken"] = s.upload_sequence_token
        return out

    # ---- events ------------------------------------------------------------------

    @operation("PutLogEvents")
    def put_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        gname = validation.group_name(params.get("logGroupName"))
        sname = validation.stream_name(params.get("logStreamName"))
        raw = params["logEvents"]
        events: list[tuple[int, str]] = []
        batch_bytes = 0
        for e in raw:
            ts, msg = e["timestamp"], e["message"]
            batch_bytes += len(msg.encode("utf-8")) + EVENT_OVERHEAD_BYTES
            events.append((ts, msg))
        if batch_bytes > MAX_BATCH_BYTES:
            raise invalid(f"Upload too large: {batch_bytes} bytes exceeds limit of {MAX_BATCH_BYTES}")
        if any(events[i][0] < events[i - 1][0] for i in range(1, len(events))):
            raise invalid("Log events in a single PutLogEvents request must be in chronological order.")

        state = self._state(ctx)
        now = now_ms()
        with self._locked_group(state, gname) as g:
            s = _stream(g, sname)
            # Events are chronological, so the rejected ones form a prefix and a suffix.
            too_old_end = sum(1 for ts, _ in events if ts < now - TOO_OLD_MS)
            cutoff = g.retention_cutoff(now)
            expired_end = sum(1 for ts, _ in events if ts < cutoff) if cutoff is not None else 0
            too_new_start = next((i for i, (ts, _) in enumerate(events) if ts > now + TOO_NEW_MS), len(events))
            accepted = events[max(too_old_end, expired_end) : too_new_start]
            # The 24-hour span rule applies to the events that are otherwise valid.
            if accepted and accepted[-1][0] - accepted[0][0] > MAX_BATCH_SPAN_MS:
                raise invalid(
                    "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
                )
            state.append(g, s, accepted, now)
            out: dict[str, Any] = {"nextSequenceToken": s.upload_sequence_token}
        rejected: dict[str, int] = {}
        if too_old_end:
            rejected["tooOldLogEventEndIndex"] = too_old_end
        if expired_end:
            rejected["expiredLogEventEndIndex"] = expired_end
        if too_new_start < len(events):
            rejected["tooNewLogEventStartIndex"] = too_new_start
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    @operation("GetLogEvents")
    def get_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state, gname = self._locate_group(ctx, params)
        sname = validation.stream_name(params.get("logStreamName"))
        limit = validation.limit(params.get("limit"), 1, 10_000, 10_000)
        start, end = params.get("startTime"), params.get("endTime")
        from_head = bool(params.get("startFromHead", False))
        token = params.get("nextToken")
        direction, pos = tokens.parse_stream_token(token) if token else (None, None)
        now = now_ms()
        with self._locked_group(state, gname) as g:
            s = _stream(g, sname)
            g.apply_retention(now)
            # GetLogEvents' window is [startTime, endTime); keys order events by time.
            lo = 0 if start is None else bisect.bisect_left(s.keys, event_key(start, 0))
            hi = len(s.keys) if end is None else bisect.bisect_left(s.keys, event_key(end, 0))
            if direction == "f" and pos is not None:
                lo = max(lo, bisect.bisect_right(s.keys, pos))
            elif direction == "b" and pos is not None:
                hi = min(hi, bisect.bisect_left(s.keys, pos))
            window = s.events[lo:hi] if lo < hi else []
            if direction == "f" or (direction is None and from_head):
                chosen = _take_forward(window, limit)
            else:
                chosen = _take_backward(window, limit)
            out_events = [
                {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.ingestion_time} for e in chosen
            ]
        if chosen:
            fwd, back = chosen[-1].key, chosen[0].key
        elif pos is not None:
            fwd = back = pos  # at the end: the same token comes back
        else:
            fwd = back = event_key(start or 0, 0)
        return {
            "events": out_events,
            "nextForwardToken": tokens.stream_token("f", fwd),
            "nextBackwardToken": tokens.stream_token("b", back),
        }

    @operation("FilterLogEvents")
    def filter_log_events(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state, gname = self._locate_group(ctx, params)
        names = params.get("logStreamNames")
        prefix = params.get("logStreamNamePrefix")
        if names is not None and prefix is not None:
            raise invalid("You cannot specify both LogStreamNames and LogStreamNamePrefix.")
        limit = validation.limit(params.get("limit"), 1, 10_000, 10_000)
        start, end = params.get("startTime"), params.get("endTime")
        pattern = params.get("filterPattern") or ""
        matcher = compile_pattern(pattern)
        after = -1
        if params.get("nextToken"):
            data = tokens.decode("fle", params["nextToken"])
            after = data.get("after", -1)
            if not isinstance(after, int) or data.get("g") != gname:
                raise tokens.invalid_token()
        now = now_ms()
        with self._locked_group(state, gname) as g:
            g.apply_retention(now)
            if names is not None:
                streams = [g.streams[n] for n in dict.fromkeys(names) if n in g.streams]
            else:
                streams = [s for s in g.streams.values() if prefix is None or s.name.startswith(prefix)]
            # FilterLogEvents' window is [startTime, endTime], both ends inclusive.
            merged = heapq.merge(*(_stream_events(s, after) for s in streams), key=lambda p: p[1].key)
            found: list[dict[str, Any]] = []
            size = 0
            more = False
            last_key = after
            for sname, e in merged:
                if start is not None and e.timestamp < start:
                    continue
                if end is not None and e.timestamp > end:
                    continue
                if not matcher(e.message):
                    continue
                if len(found) >= limit or size + e.size + EVENT_OVERHEAD_BYTES > MAX_RESPONSE_BYTES:
                    more = True
                    break
                found.append(
                    {
                        "logStreamName": sname,
                        "timestamp": e.timestamp,
                        "message": e.message,
                        "ingestionTime": e.ingestion_time,
                        "eventId": e.event_id,
                    }
                )
                size += e.size + EVENT_OVERHEAD_BYTES
                last_key = e.key
        out: dict[str, Any] = {"events": found, "searchedLogStreams": []}
        if more:
            out["nextToken"] = tokens.encode("fle", g=gname, after=last_key)
        return out

    # ---- tags --------------------------------------------------------------------

    @operation("TagLogGroup")
    def tag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        new = validation.tags(params.get("tags"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            if len({**g.tags, **new}) > 50:
                raise invalid("A resource can have no more than 50 tags.")
            g.tags.update(new)
        return {}

    @operation("UntagLogGroup")
    def untag_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            for k in params.get("tags") or []:
                g.tags.pop(k, None)
        return {}

    @operation("ListTagsLogGroup")
    def list_tags_log_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = validation.group_name(params.get("logGroupName"))
        state = self._state(ctx)
        with self._locked_group(state, name) as g:
            return {"tags": dict(g.tags)}

    def _resource_group(self, ctx: RequestContext, arn: object) -> tuple[LogsState, str]:
        """(state, group name) of a *Resource operation's resourceArn."""
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise invalid(f"Invalid ARN: {arn}")
        return self._locate_arn(ctx, arn, field="resourceArn")

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        new = validation.tags(params.get("tags"))
        state, name = self._resource_group(ctx, params.get("resourceArn"))
        with self._locked_group(state, name) as g:
            if len({**g.tags, **new}) > 50:
                raise AWSError(
                    "TooManyTagsException",
                    "A resource can have no more than 50 tags.",
                    status=400,
                    fields={"resourceName": params.get("resourceArn")},
                )
            g.tags.update(new)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state, name = self._resource_group(ctx, params.get("resourceArn"))
        with self._locked_group(state, name) as g:
            for k in params.get("tagKeys") or []:
                g.tags.pop(k, None)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state, name = self._resource_group(ctx, params.get("resourceArn"))
        with self._locked_group(state, name) as g:
            return {"tags": dict(g.tags)}


def _stream(g: LogGroup, name: str) -> LogStream:
    s = g.streams.get(name)
    if s is None:
        raise stream_not_found()
    return s


def _stream_events(s: LogStream, after: int) -> Iterator[tuple[str, LogEvent]]:
    """A stream's events with key > after, as (stream name, event), in key order."""
    i = bisect.bisect_right(s.keys, after)
    for e in s.events[i:]:
        yield s.name, e


def _take_forward(events: list[LogEvent], limit: int) -> list[LogEvent]:
    """The first events of the list within the count and response-size limits."""
    out: list[LogEvent] = []
    size = 0
    for e in events:
        size += e.size + EVENT_OVERHEAD_BYTES
        if len(out) >= limit or size > MAX_RESPONSE_BYTES:
            break
        out.append(e)
    return out


def _take_backward(events: list[LogEvent], limit: int) -> list[LogEvent]:
    """The last events of the list within the limits, still in ascending order."""
    size = 0
    i = len(events)
    while i > 0 and len(events) - i < limit:
        size += events[i - 1].size + EVENT_OVERHEAD_BYTES
        if size > MAX_RESPONSE_BYTES:
            break
        i -= 1
    return events[i:]
