"""LogsProvider against a World built directly (no HTTP): semantics and errors."""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.world import World
from cloudlet.protocol import local
from cloudlet.services.logs.provider import LogsProvider
from cloudlet.services.registry import build_world

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = 86_400_000


class Logs:
    """Calls provider operations by their AWS names with a root context."""

    def __init__(self, provider: LogsProvider, world: World) -> None:
        self.provider = provider
        self.world = world

    def __call__(self, op: str, **params: Any) -> dict[str, Any]:
        ctx = RequestContext("logs", op, REGION, self.world.root, "req-1")
        handler = self.provider.handler_for(op)
        assert handler is not None, op
        out: dict[str, Any] = local.call(handler, ctx, params)
        return out

    def error(self, op: str, **params: Any) -> AWSError:
        with pytest.raises(AWSError) as ei:
            self(op, **params)
        return ei.value


@pytest.fixture
def logs(tmp_path: Path) -> Logs:
    world = build_world(Config(data_dir=tmp_path, account_id=ACCOUNT))
    provider = world.providers["logs"]
    assert isinstance(provider, LogsProvider)
    return Logs(provider, world)


def now() -> int:
    return int(time.time() * 1000)


def put(logs: Logs, group: str, stream: str, events: list[tuple[int, str]]) -> dict[str, Any]:
    return logs(
        "PutLogEvents",
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": t, "message": m} for t, m in events],
    )


# ---- log groups -----------------------------------------------------------


def test_create_describe_delete_group(logs: Logs) -> None:
    logs("CreateLogGroup", logGroupName="/app/a", tags={"team": "x"}, kmsKeyId="arn:aws:kms:us-east-1:1:key/k")
    g = logs("DescribeLogGroups")["logGroups"][0]
    assert g["logGroupName"] == "/app/a"
    assert g["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/a:*"
    assert g["logGroupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/a"
    assert g["logGroupClass"] == "STANDARD"
    assert g["storedBytes"] == 0 and g["metricFilterCount"] == 0
    assert g["kmsKeyId"] == "arn:aws:kms:us-east-1:1:key/k"
    assert "retentionInDays" not in g
    assert abs(g["creationTime"] - now()) < 5000
    err = logs.error("CreateLogGroup", logGroupName="/app/a")
    assert (err.code, err.message) == ("ResourceAlreadyExistsException", "The specified log group already exists")
    logs("DeleteLogGroup", logGroupName="/app/a")
    assert logs("DescribeLogGroups")["logGroups"] == []
    err = logs.error("DeleteLogGroup", logGroupName="/app/a")
    assert (err.code, err.message) == ("ResourceNotFoundException", "The specified log group does not exist.")


@pytest.mark.parametrize("name", ["", "has space", "a:b", "x" * 513, "star*", "aws/reserved"])
def test_group_name_rules(logs: Logs, name: str) -> None:
    assert logs.error("CreateLogGroup", logGroupName=name).code == "InvalidParameterException"


def test_group_class_and_bad_class(logs: Logs) -> None:
    logs("CreateLogGroup", logGroupName="ia", logGroupClass="INFREQUENT_ACCESS")
    assert logs("DescribeLogGroups")["logGroups"][0]["logGroupClass"] == "INFREQUENT_ACCESS"
    assert logs("DescribeLogGroups", logGroupClass="STANDARD")["logGroups"] == []
    assert logs.error("CreateLogGroup", logGroupName="b", logGroupClass="GOLD").code == "InvalidParameterException"


def test_describe_groups_prefix_pattern_and_pages(logs: Logs) -> None:
    names = [f"/svc/Item{i:02d}" for i in range(7)] + ["/other/x"]
    for n in names:
        logs("CreateLogGroup", logGroupName=n)
    got = [g["logGroupName"] for g in logs("DescribeLogGroups", logGroupNamePrefix="/svc/")["logGroups"]]
    assert got == sorted(names[:7])
    by_pattern = logs("DescribeLogGroups", logGroupNamePattern="Item0")["logGroups"]
    assert [g["logGroupName"] for g in by_pattern] == sorted(names[:7])
    # As recorded against AWS: no storedBytes or deletionProtectionEnabled in a pattern search.
    assert set(by_pattern[0]) == {"arn", "creationTime", "logGroupName", "logGroupArn", "logGroupClass",
                                  "metricFilterCount"}
    assert logs("DescribeLogGroups", logGroupNamePattern="item0")["logGroups"] == []  # case-sensitive
    err = logs.error("DescribeLogGroups", logGroupNamePrefix="/svc", logGroupNamePattern="x")
    assert err.code == "InvalidParameterException"
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 3}
        if token:
            params["nextToken"] = token
        page = logs("DescribeLogGroups", **params)
        pages += 1
        seen += [g["logGroupName"] for g in page["logGroups"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == sorted(names) and pages == 3
    assert logs.error("DescribeLogGroups", limit=51).code == "InvalidParameterException"
    assert logs.error("DescribeLogGroups", nextToken="garbage!").code == "InvalidParameterException"


# ---- streams ----------------------------------------------------------------


def test_streams_create_describe_order(logs: Logs) -> None:
    logs("CreateLogGroup", logGroupName="g")
    err = logs.error("CreateLogStream", logGroupName="nope", logStreamName="s")
    assert err.message == "The specified log group does not exist."
    t = now()
    for name, ts in [("b", t - 3000), ("a", t - 1000), ("c", t - 2000)]:
        logs("CreateLogStream", logGroupName="g", logStreamName=name)
        put(logs, "g", name, [(ts, "x")])
    assert logs.error("CreateLogStream", logGroupName="g", logStreamName="a").code == "ResourceAlreadyExistsException"
    assert logs.error("CreateLogStream", logGroupName="g", logStreamName="a:b").code == "InvalidParameterException"
    by_name = [s["logStreamName"] for s in logs("DescribeLogStreams", logGroupName="g")["logStreams"]]
    assert by_name == ["a", "b", "c"]
    by_time = logs("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", descending=True)["logStreams"]
    assert [s["logStreamName"] for s in by_time] == ["a", "c", "b"]
    s = by_time[0]
    assert s["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g:log-stream:a"
    assert s["firstEventTimestamp"] == s["lastEventTimestamp"] == t - 1000
    assert s["storedBytes"] == 0 and "uploadSequenceToken" in s and "lastIngestionTime" in s
    err = logs.error("DescribeLogStreams", logGroupName="g", orderBy="LastEventTime", logStreamNamePrefix="a")
    assert err.code == "InvalidParameterException"
    page1 = logs("DescribeLogStreams", logGroupName="g", limit=2)
    page2 = logs("DescribeLogStreams", logGroupName="g", limit=2, nextToken=page1["nextToken"])
    assert [x["logStreamName"] for x in page1["logStreams"] + page2["logStreams"]] == ["a", "b", "c"]
    assert "nextToken" not in page2
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g"
    assert len(logs("DescribeLogStreams", logGroupIdentifier=arn)["logStreams"]) == 3
    assert logs.error("DescribeLogStreams", logGroupIdentifier=arn, logGroupName="g").code == "ValidationException"
    logs("DeleteLogStream", logGroupName="g", logStreamName="a")
    err = logs.error("DeleteLogStream", logGroupName="g", logStreamName="a")
    assert (err.code, err.message) == ("ResourceNotFoundException", "The specified log stream does not exist.")


# ---- PutLogEvents ---------------------------------------------------------


@pytest.fixture
def stream(logs: Logs) -> tuple[str, str]:
    logs("CreateLogGroup", logGroupName="g")
    logs("CreateLogStream", logGroupName="g", logStreamName="s")
    return "g", "s"


def test_put_rules(logs: Logs, stream: tuple[str, str]) -> None:
    t = now()
    err = logs.error("PutLogEvents", logGroupName="g", logStreamName="s",
                     logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 1, "message": "a"}])
    assert err.code == "InvalidParameterException"
    assert err.message == "Log events in a single PutLogEvents request must be in chronological order."
    err = logs.error("PutLogEvents", logGroupName="g", logStreamName="s",
                     logEvents=[{"timestamp": t - DAY - 1, "message": "a"}, {"timestamp": t, "message": "b"}])
    assert err.code == "InvalidParameterException" and "24 hours" in err.message
    # Only otherwise-valid events count toward the span: a too-old first event doesn't.
    out = put(logs, "g", "s", [(t - 15 * DAY, "old"), (t - 1, "fresh")])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    big = "x" * (1_048_576 // 2)
    err = logs.error("PutLogEvents", logGroupName="g", logStreamName="s",
                     logEvents=[{"timestamp": t, "message": big}, {"timestamp": t, "message": big}])
    assert err.code == "InvalidParameterException"
    # Exactly at the limit, counting 26 bytes per event, is accepted.
    exact = "y" * (1_048_576 - 26)
    put(logs, "g", "s", [(t, exact)])
    err = logs.error("PutLogEvents", logGroupName="g", logStreamName="nope", logEvents=[{"timestamp": t, "message": "m"}])
    assert err.message == "The specified log stream does not exist."
    err = logs.error("PutLogEvents", logGroupName="nope", logStreamName="s", logEvents=[{"timestamp": t, "message": "m"}])
    assert err.message == "The specified log group does not exist."


def test_put_rejects_too_old_and_too_new_into_info(logs: Logs, stream: tuple[str, str]) -> None:
    t = now()
    events = [(t - 14 * DAY - 3_600_000, "old"), (t - 14 * DAY + 60_000, "ok1"), (t - 14 * DAY + 120_000, "ok2")]
    out = put(logs, "g", "s", events)
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    out = put(logs, "g", "s", [(t, "ok3"), (t + 3 * 3_600_000, "future")])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert out["nextSequenceToken"].isdigit()
    msgs = [e["message"] for e in logs("GetLogEvents", logGroupName="g", logStreamName="s", startFromHead=True)["events"]]
    assert msgs == ["ok1", "ok2", "ok3"]
    logs("PutRetentionPolicy", logGroupName="g", retentionInDays=1)
    out = put(logs, "g", "s", [(t - DAY - 3_600_000, "expired"), (t - DAY + 60_000, "kept")])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    msgs = [e["message"] for e in logs("GetLogEvents", logGroupName="g", logStreamName="s", startFromHead=True)["events"]]
    assert msgs == ["kept", "ok3"]  # the 14-day-old events were purged by the 1-day retention


def test_sequence_token_is_ignored(logs: Logs, stream: tuple[str, str]) -> None:
    out = logs("PutLogEvents", logGroupName="g", logStreamName="s", sequenceToken="bogus",
               logEvents=[{"timestamp": now(), "message": "m"}])
    assert "nextSequenceToken" in out and "rejectedLogEventsInfo" not in out


# ---- GetLogEvents ---------------------------------------------------------


def test_get_log_events_tokens(logs: Logs, stream: tuple[str, str]) -> None:
    t = now() - 10_000
    put(logs, "g", "s", [(t + i, f"m{i}") for i in range(10)])

    def get(**kw: Any) -> dict[str, Any]:
        return logs("GetLogEvents", logGroupName="g", logStreamName="s", **kw)

    tail = get(limit=3)
    assert [e["message"] for e in tail["events"]] == ["m7", "m8", "m9"]
    assert tail["nextForwardToken"].startswith("f/") and tail["nextBackwardToken"].startswith("b/")
    back = get(limit=3, nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == ["m4", "m5", "m6"]
    # At the end the same forward token comes back, until new events arrive.
    end = get(nextToken=tail["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == tail["nextForwardToken"]
    put(logs, "g", "s", [(t + 20, "late")])
    assert [e["message"] for e in get(nextToken=tail["nextForwardToken"])["events"]] == ["late"]
    head = get(limit=4, startFromHead=True)
    assert [e["message"] for e in head["events"]] == ["m0", "m1", "m2", "m3"]
    nxt = get(limit=4, nextToken=head["nextForwardToken"])
    assert [e["message"] for e in nxt["events"]] == ["m4", "m5", "m6", "m7"]
    start_of_stream = get(nextToken=head["nextBackwardToken"])
    assert start_of_stream["events"] == [] and start_of_stream["nextBackwardToken"] == head["nextBackwardToken"]
    window = get(startTime=t + 2, endTime=t + 5, startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["m2", "m3", "m4"]  # [start, end)
    e0 = head["events"][0]
    assert set(e0) == {"timestamp", "message", "ingestionTime"}
    assert logs.error("GetLogEvents", logGroupName="g", logStreamName="s", nextToken="x/1").code == "InvalidParameterException"
    assert logs.error("GetLogEvents", logGroupName="g", logStreamName="zz").message == "The specified log stream does not exist."


# ---- FilterLogEvents ------------------------------------------------------


def test_filter_log_events(logs: Logs, stream: tuple[str, str]) -> None:
    logs("CreateLogStream", logGroupName="g", logStreamName="other")
    t = now() - 60_000
    put(logs, "g", "s", [(t + 0, "ERROR one"), (t + 2, "INFO two"), (t + 4, "ERROR three")])
    put(logs, "g", "other", [(t + 1, "ERROR four"), (t + 3, "WARN five")])

    def flt(**kw: Any) -> dict[str, Any]:
        return logs("FilterLogEvents", logGroupName="g", **kw)

    out = flt()
    assert [e["message"] for e in out["events"]] == ["ERROR one", "ERROR four", "INFO two", "WARN five", "ERROR three"]
    assert out["searchedLogStreams"] == [] and "nextToken" not in out
    ev = out["events"][1]
    assert ev["logStreamName"] == "other" and len(ev["eventId"]) == 56 and ev["eventId"].isdigit()
    assert [e["message"] for e in flt(filterPattern="ERROR")["events"]] == ["ERROR one", "ERROR four", "ERROR three"]
    assert [e["message"] for e in flt(filterPattern="ERROR", logStreamNames=["other"])["events"]] == ["ERROR four"]
    assert [e["message"] for e in flt(logStreamNamePrefix="oth")["events"]] == ["ERROR four", "WARN five"]
    assert [e["message"] for e in flt(startTime=t + 1, endTime=t + 3)["events"]] == ["ERROR four", "INFO two", "WARN five"]
    err = logs.error("FilterLogEvents", logGroupName="g", logStreamNames=["s"], logStreamNamePrefix="s")
    assert err.code == "InvalidParameterException"
    # Pagination: limit 2 walks all five in order, nextToken absent on the last page.
    got, token, pages = [], None, 0
    while True:
        kw: dict[str, Any] = {"limit": 2}
        if token:
            kw["nextToken"] = token
        page = flt(**kw)
        pages += 1
        got += [e["message"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert got == [e["message"] for e in out["events"]] and pages == 3
    assert logs.error("FilterLogEvents", logGroupName="g", filterPattern="{ $.x = }").code == "InvalidParameterException"
    assert logs.error("FilterLogEvents", logGroupName="g", nextToken="zzz").code == "InvalidParameterException"
    assert logs.error("FilterLogEvents", logGroupName="missing").message == "The specified log group does not exist."
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g"  # the model refuses the trailing :*
    assert len(logs("FilterLogEvents", logGroupIdentifier=arn)["events"]) == 5


# ---- retention --------------------------------------------------------------


def test_retention(logs: Logs, stream: tuple[str, str]) -> None:
    t = now()
    put(logs, "g", "s", [(t - 10 * DAY, "old"), (t - 10 * DAY + 1, "old2")])
    put(logs, "g", "s", [(t, "new")])
    assert logs.error("PutRetentionPolicy", logGroupName="g", retentionInDays=2).code == "InvalidParameterException"
    assert logs.error("PutRetentionPolicy", logGroupName="nope", retentionInDays=1).code == "ResourceNotFoundException"
    before = logs("DescribeLogGroups")["logGroups"][0]["storedBytes"]
    logs("PutRetentionPolicy", logGroupName="g", retentionInDays=7)
    g = logs("DescribeLogGroups")["logGroups"][0]
    assert g["retentionInDays"] == 7 and g["storedBytes"] == before - len("old") - len("old2")
    assert [e["message"] for e in logs("FilterLogEvents", logGroupName="g")["events"]] == ["new"]
    logs("DeleteRetentionPolicy", logGroupName="g")
    assert "retentionInDays" not in logs("DescribeLogGroups")["logGroups"][0]


# ---- tags ---------------------------------------------------------------------


def test_tags_both_apis(logs: Logs) -> None:
    logs("CreateLogGroup", logGroupName="g", tags={"a": "1"})
    logs("TagLogGroup", logGroupName="g", tags={"b": "2"})
    assert logs("ListTagsLogGroup", logGroupName="g")["tags"] == {"a": "1", "b": "2"}
    logs("UntagLogGroup", logGroupName="g", tags=["a"])
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:g"
    logs("TagResource", resourceArn=arn, tags={"c": "3"})
    assert logs("ListTagsForResource", resourceArn=arn)["tags"] == {"b": "2", "c": "3"}
    logs("UntagResource", resourceArn=arn, tagKeys=["b", "c"])
    assert logs("ListTagsForResource", resourceArn=arn)["tags"] == {}
    missing = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:nope"
    assert logs.error("ListTagsForResource", resourceArn=missing).code == "ResourceNotFoundException"
    assert logs.error("ListTagsForResource", resourceArn="not-an-arn").code == "InvalidParameterException"
    assert logs.error("TagLogGroup", logGroupName="nope", tags={"a": "b"}).code == "ResourceNotFoundException"
    many = {f"k{i}": "v" for i in range(50)}
    logs("TagResource", resourceArn=arn, tags=many)
    assert logs.error("TagResource", resourceArn=arn, tags={"one-more": "v"}).code == "TooManyTagsException"


# ---- append_events (Lambda's path) ------------------------------------------------


def test_append_events_creates_and_is_thread_safe(logs: Logs) -> None:
    t = now()
    threads = [
        threading.Thread(
            target=lambda k=k: [
                logs.provider.append_events(ACCOUNT, REGION, "/aws/lambda/fn", f"2024/01/01/[$LATEST]{k % 2}", [(t + i, f"t{k}-{i}")])
                for i in range(200)
            ]
        )
        for k in range(4)
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    groups = logs("DescribeLogGroups", logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/fn"]
    streams = logs("DescribeLogStreams", logGroupName="/aws/lambda/fn")["logStreams"]
    assert len(streams) == 2
    events = logs("FilterLogEvents", logGroupName="/aws/lambda/fn")["events"]
    assert len(events) == 800
    assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
    assert len({e["eventId"] for e in events}) == 800
    # Out-of-order input is stored in timestamp order.
    logs.provider.append_events(ACCOUNT, REGION, "/aws/lambda/fn", "x", [(t + 5, "b"), (t + 1, "a"), (t + 3, "")])
    got = logs("GetLogEvents", logGroupName="/aws/lambda/fn", logStreamName="x", startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["a", "b"]


# ---- pagination invariants (property-based) ------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    offsets=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 50)), min_size=1, max_size=40),
    limit=st.integers(1, 7),
)
def test_paging_visits_every_event_once_in_order(tmp_path: Path, offsets: list[tuple[int, int]], limit: int) -> None:
    # A data dir per example: tmp_path is shared by them, and a provider built over a data dir
    # with state restores it (the events of the examples before).
    world = build_world(Config(data_dir=Path(tempfile.mkdtemp(dir=tmp_path)), account_id=ACCOUNT))
    provider = world.providers["logs"]
    assert isinstance(provider, LogsProvider)
    logs = Logs(provider, world)
    base = now() - 100_000
    for i, (stream, off) in enumerate(offsets):
        logs.provider.append_events(ACCOUNT, REGION, "g", f"s{stream}", [(base + off, f"e{i}")])
    everything = logs("FilterLogEvents", logGroupName="g")["events"]
    assert len(everything) == len(offsets)
    assert [e["timestamp"] for e in everything] == sorted(e["timestamp"] for e in everything)
    paged: list[str] = []
    token = None
    while True:
        kw: dict[str, Any] = {"limit": limit}
        if token:
            kw["nextToken"] = token
        page = logs("FilterLogEvents", logGroupName="g", **kw)
        paged += [e["eventId"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert paged == [e["eventId"] for e in everything]
    for stream in {s for s, _ in offsets}:
        fwd: list[str] = []
        page = logs("GetLogEvents", logGroupName="g", logStreamName=f"s{stream}", startFromHead=True, limit=limit)
        while page["events"]:
            fwd += [e["message"] for e in page["events"]]
            page = logs("GetLogEvents", logGroupName="g", logStreamName=f"s{stream}", limit=limit,
                        nextToken=page["nextForwardToken"])
        back: list[str] = []
        page = logs("GetLogEvents", logGroupName="g", logStreamName=f"s{stream}", limit=limit)
        while page["events"]:
            back = [e["message"] for e in page["events"]] + back
            page = logs("GetLogEvents", logGroupName="g", logStreamName=f"s{stream}", limit=limit,
                        nextToken=page["nextBackwardToken"])
        expected = [e["message"] for e in everything if e["logStreamName"] == f"s{stream}"]
        assert fwd == expected and back == expected
