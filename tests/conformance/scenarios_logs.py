"""CloudWatch Logs scenarios: the calls of LocalStack's recorded Logs tests, made on cloudlet."""

from __future__ import annotations

import time
from typing import Any

from conformance.recordings import Caller, scenario

DAY_MS = 86_400_000


def _now_ms() -> int:
    return int(time.time() * 1000)


def _group(c: Caller, prefix: str = "test-log-group") -> str:
    name = c.name(prefix)
    c.client("logs").create_log_group(logGroupName=name)
    return name


def _group_and_stream(c: Caller) -> tuple[str, str]:
    group = _group(c)
    stream = c.name("test-log-stream")
    c.client("logs").create_log_stream(logGroupName=group, logStreamName=stream)
    return group, stream


@scenario("logs", "test_create_log_group_duplicate_error")
def duplicate_group(c: Caller) -> dict[str, Any]:
    group = _group(c)
    return {"error-duplicate-log-group": c.call(c.client("logs").create_log_group, logGroupName=group)}


@scenario("logs", "test_create_log_group_invalid_name_length")
def group_name_too_long(c: Caller) -> dict[str, Any]:
    return {"error-invalid-name-length": c.call(c.client("logs").create_log_group, logGroupName="a" * 513)}


@scenario("logs", "test_describe_log_groups_with_prefix")
def describe_groups_prefix(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    prefix = c.name("test-prefix")
    for i in range(3):
        logs.create_log_group(logGroupName=f"{prefix}-group-{i}")
    return {"describe-log-groups-prefix": c.call(logs.describe_log_groups, logGroupNamePrefix=prefix)}


@scenario("logs", "test_describe_log_groups_with_pattern")
def describe_groups_pattern(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    unique = c.name("u")
    logs.create_log_group(logGroupName=f"test-pattern-{unique}")
    return {"describe-log-groups-pattern": c.call(logs.describe_log_groups, logGroupNamePattern=unique)}


@scenario("logs", "test_describe_log_groups_prefix_and_pattern_error")
def describe_groups_prefix_and_pattern(c: Caller) -> dict[str, Any]:
    group = _group(c)
    return {"error-prefix-and-pattern": c.call(c.client("logs").describe_log_groups,
                                               logGroupNamePattern=group, logGroupNamePrefix=group)}


@scenario("logs", "test_create_log_group_with_tags")
def group_with_tags(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group = c.name("test-tags")
    logs.create_log_group(logGroupName=group, tags={"env": "testing"})
    return {"list-tags-after-create": c.call(logs.list_tags_log_group, logGroupName=group)}


@scenario("logs", "test_tag_log_group")
def tag_log_group(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group = _group(c, "test-tags")
    logs.tag_log_group(logGroupName=group, tags={"tag_key_1": "tag_value_1"})
    return {"list-tags-after-tag": c.call(logs.list_tags_log_group, logGroupName=group)}


@scenario("logs", "test_untag_log_group")
def untag_log_group(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group = _group(c, "test-tags")
    logs.tag_log_group(logGroupName=group, tags={"tag_key_1": "tag_value_1", "tag_key_2": "tag_value_2"})
    logs.untag_log_group(logGroupName=group, tags=["tag_key_1"])
    return {"list-tags-after-untag": c.call(logs.list_tags_log_group, logGroupName=group)}


@scenario("logs", "test_tag_resource_api")
def tag_resource_api(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group = c.name("test-tags")
    logs.create_log_group(logGroupName=group, tags={"env": "testing1"})
    out = {"list-tags-after-create": c.call(logs.list_tags_log_group, logGroupName=group)}
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["arn"].removesuffix(":*")
    logs.tag_resource(resourceArn=arn, tags={"test1": "val1", "test2": "val2"})
    out["list-tags-log-group-after-tag-resource"] = c.call(logs.list_tags_log_group, logGroupName=group)
    out["list-tags-for-resource-after-tag-resource"] = c.call(logs.list_tags_for_resource, resourceArn=arn)
    logs.tag_log_group(logGroupName=group, tags={"test3": "val3"})
    out["list-tags-log-group-after-tag-log-group"] = c.call(logs.list_tags_log_group, logGroupName=group)
    out["list-tags-for-resource-after-tag-log-group"] = c.call(logs.list_tags_for_resource, resourceArn=arn)
    logs.untag_log_group(logGroupName=group, tags=["test3"])
    logs.untag_resource(resourceArn=arn, tagKeys=["env", "test1"])
    out["list-tags-log-group-after-untag"] = c.call(logs.list_tags_log_group, logGroupName=group)
    out["list-tags-for-resource-after-untag"] = c.call(logs.list_tags_for_resource, resourceArn=arn)
    return out


@scenario("logs", "test_create_and_delete_log_stream")
def create_stream(c: Caller) -> dict[str, Any]:
    group, _stream = _group_and_stream(c)
    return {"describe-log-streams-after-create": c.call(c.client("logs").describe_log_streams, logGroupName=group)}


@scenario("logs", "test_create_log_stream_duplicate_error")
def duplicate_stream(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    return {"error-duplicate-log-stream": c.call(c.client("logs").create_log_stream,
                                                 logGroupName=group, logStreamName=stream)}


@scenario("logs", "test_describe_log_streams_with_log_group_identifier")
def streams_by_identifier(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group, _stream = _group_and_stream(c)
    account = c.client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:logs:us-east-1:{account}:log-group:{group}"
    return {
        "describe-streams-identifier-name": c.call(logs.describe_log_streams, logGroupIdentifier=group),
        "describe-streams-identifier-arn": c.call(logs.describe_log_streams, logGroupIdentifier=arn),
        "error-both-name-and-identifier": c.call(logs.describe_log_streams, logGroupName=group,
                                                 logGroupIdentifier=group),
    }


@scenario("logs", "test_describe_log_streams_with_prefix")
def streams_with_prefix(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group = _group(c)
    prefix = c.name("test-prefix")
    for i in range(3):
        logs.create_log_stream(logGroupName=group, logStreamName=f"{prefix}-stream-{i}")
    return {"describe-streams-with-prefix": c.call(logs.describe_log_streams, logGroupName=group,
                                                   logStreamNamePrefix=prefix)}


@scenario("logs", "test_log_stream_arn_format")
def stream_arn_format(c: Caller) -> dict[str, Any]:
    group, _stream = _group_and_stream(c)
    return {"describe-log-streams-with-arn": c.call(c.client("logs").describe_log_streams, logGroupName=group)}


@scenario("logs", "test_put_log_events_to_invalid_stream")
def put_to_missing_stream(c: Caller) -> dict[str, Any]:
    group = _group(c)
    return {"error-invalid-stream": c.call(c.client("logs").put_log_events, logGroupName=group,
                                           logStreamName="invalid-stream",
                                           logEvents=[{"timestamp": _now_ms(), "message": "test"}])}


@scenario("logs", "test_put_log_events_wrong_order")
def put_wrong_order(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    now = _now_ms()
    events = [{"message": "Message 0", "timestamp": now}, {"message": "Message 1", "timestamp": now - 2 * DAY_MS}]
    return {"error-wrong-order": c.call(c.client("logs").put_log_events, logGroupName=group,
                                        logStreamName=stream, logEvents=events)}


@scenario("logs", "test_put_log_events_too_old")
def put_too_old(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    events = [{"message": "Old message", "timestamp": _now_ms() - 30 * DAY_MS}]
    return {"response-too-old": c.call(c.client("logs").put_log_events, logGroupName=group,
                                       logStreamName=stream, logEvents=events)}


@scenario("logs", "test_put_log_events_too_new")
def put_too_new(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    events = [{"message": "Future message", "timestamp": _now_ms() + DAY_MS}]
    return {"response-too-new": c.call(c.client("logs").put_log_events, logGroupName=group,
                                       logStreamName=stream, logEvents=events)}


@scenario("logs", "test_get_log_events_invalid_token")
def get_events_bad_token(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    return {"error-invalid-token": c.call(c.client("logs").get_log_events, logGroupName=group,
                                          logStreamName=stream, nextToken="invalid-token")}


@scenario("logs", "test_get_log_events_limit_validation")
def get_events_limit(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    return {"error-limit-exceeded": c.call(c.client("logs").get_log_events, logGroupName=group,
                                           logStreamName=stream, limit=10001)}


@scenario("logs", "test_resource_does_not_exist")
def get_events_missing(c: Caller) -> dict[str, Any]:
    logs = c.client("logs")
    group, stream = c.name("log-group"), c.name("log-stream")
    out = {"error-log-group-does-not-exist": c.call(logs.get_log_events, logGroupName=group, logStreamName=stream)}
    logs.create_log_group(logGroupName=group)
    out["error-log-stream-does-not-exist"] = c.call(logs.get_log_events, logGroupName=group, logStreamName=stream)
    return out


@scenario("logs", "test_filter_log_events_limit_validation")
def filter_limit(c: Caller) -> dict[str, Any]:
    group = _group(c)
    return {"error-limit-exceeded": c.call(c.client("logs").filter_log_events, logGroupName=group, limit=10001)}


@scenario("logs", "test_filter_log_events_unknown_token")
def filter_bad_token(c: Caller) -> dict[str, Any]:
    group, stream = _group_and_stream(c)
    return {"invalid-token": c.call(c.client("logs").filter_log_events, logGroupName=group,
                                    logStreamNames=[stream], limit=20, nextToken="invalid-token")}
