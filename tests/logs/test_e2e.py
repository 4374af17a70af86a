"""CloudWatch Logs through a real cloudlet with stock clients (boto3, aws CLI)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _now() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def logs_client(boto3_client: Callable[..., Any]) -> Any:
    return boto3_client("logs")


@pytest.fixture
def group(logs_client: Any) -> str:
    name = f"/test/e2e/{uuid.uuid4().hex[:8]}"
    logs_client.create_log_group(logGroupName=name)
    yield name
    try:
        logs_client.delete_log_group(logGroupName=name)
    except ClientError:
        pass


def test_boto3_round_trip_and_paginators(logs_client: Any, group: str) -> None:
    logs_client.create_log_stream(logGroupName=group, logStreamName="s1")
    logs_client.create_log_stream(logGroupName=group, logStreamName="s2")
    t = _now() - 5000
    logs_client.put_log_events(
        logGroupName=group, logStreamName="s1",
        logEvents=[{"timestamp": t + i * 2, "message": f"line {i} ERROR" if i % 3 == 0 else f"line {i}"} for i in range(30)],
    )
    out = logs_client.put_log_events(
        logGroupName=group, logStreamName="s2",
        logEvents=[{"timestamp": t + i * 2 + 1, "message": f"other {i}"} for i in range(30)],
    )
    assert out["nextSequenceToken"]
    paginator = logs_client.get_paginator("filter_log_events")
    msgs = [e["message"] for page in paginator.paginate(logGroupName=group, PaginationConfig={"PageSize": 7}) for e in page["events"]]
    assert len(msgs) == 60 and msgs[:3] == ["line 0 ERROR", "other 0", "line 1"]
    errors = logs_client.filter_log_events(logGroupName=group, filterPattern="ERROR", logStreamNames=["s1"])["events"]
    assert [e["message"] for e in errors] == [f"line {i} ERROR" for i in range(0, 30, 3)]
    streams = [s for page in logs_client.get_paginator("describe_log_streams").paginate(
        logGroupName=group, PaginationConfig={"PageSize": 1}) for s in page["logStreams"]]
    assert [s["logStreamName"] for s in streams] == ["s1", "s2"]
    got = logs_client.get_log_events(logGroupName=group, logStreamName="s1", startFromHead=True, limit=10)
    assert [e["message"] for e in got["events"]][:2] == ["line 0 ERROR", "line 1"]
    assert got["nextForwardToken"].startswith("f/")
    desc = logs_client.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]
    assert desc["logGroupArn"].endswith(f":log-group:{group}") and desc["arn"].endswith(":*")


def test_boto3_errors_are_aws_shaped(logs_client: Any, group: str) -> None:
    with pytest.raises(ClientError) as ei:
        logs_client.create_log_group(logGroupName=group)
    assert ei.value.response["Error"]["Code"] == "ResourceAlreadyExistsException"
    with pytest.raises(logs_client.exceptions.ResourceNotFoundException) as nf:
        logs_client.filter_log_events(logGroupName=group + "-missing")
    assert nf.value.response["Error"]["Message"] == "The specified log group does not exist."
    assert nf.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    logs_client.create_log_stream(logGroupName=group, logStreamName="s")
    t = _now()
    with pytest.raises(logs_client.exceptions.InvalidParameterException) as ip:
        logs_client.put_log_events(logGroupName=group, logStreamName="s",
                                   logEvents=[{"timestamp": t, "message": "b"}, {"timestamp": t - 5, "message": "a"}])
    assert "chronological order" in ip.value.response["Error"]["Message"]
    with pytest.raises(logs_client.exceptions.InvalidParameterException):
        logs_client.filter_log_events(logGroupName=group, filterPattern="{ $.a = ")
    with pytest.raises(logs_client.exceptions.InvalidParameterException):
        logs_client.put_retention_policy(logGroupName=group, retentionInDays=2)
    logs_client.put_retention_policy(logGroupName=group, retentionInDays=30)
    assert logs_client.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"] == 30
    arn = logs_client.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupArn"]
    logs_client.tag_resource(resourceArn=arn, tags={"env": "test"})
    assert logs_client.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}


def test_tutorial_cli_filter_command(aws_cli: Callable[..., Any], logs_client: Any) -> None:
    """The exact `aws logs filter-log-events` call of run-tutorial.sh, on Lambda-style logs."""
    group = f"/aws/lambda/Tutorial{uuid.uuid4().hex[:6]}"
    stream = "2024/01/01/[$LATEST]" + uuid.uuid4().hex
    logs_client.create_log_group(logGroupName=group)
    logs_client.create_log_stream(logGroupName=group, logStreamName=stream)
    value = uuid.uuid4().hex
    t = _now()
    logs_client.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": t, "message": "START RequestId: 1 Version: $LATEST\n"},
        {"timestamp": t + 1, "message": f"Success: Inserted {value}. Fetched {value} from Valkey\n"},
        {"timestamp": t + 2, "message": "END RequestId: 1\n"},
    ])
    out = aws_cli("logs", "filter-log-events", "--log-group-name", group, "--filter-pattern", '"from Valkey"',
                  "--query", "events[].message", "--output", "text")
    assert out.strip() == f"Success: Inserted {value}. Fetched {value} from Valkey"
    cp = aws_cli("logs", "filter-log-events", "--log-group-name", group + "x", check=False)
    assert cp.returncode != 0 and "ResourceNotFoundException" in cp.stderr
