"""ElastiCache judged by AWS's documented examples (aws_documented_elasticache.json).

ElastiCache has no recordings of real AWS responses in LocalStack's suite; the AWS
CLI reference's example outputs are the nearest AWS-published answers. They cover
users and user groups (the CLI reference) and serverless caches and their snapshots
(the ElastiCache API Reference).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from conformance.compare import Judge
from conformance.recordings import Caller

EXAMPLES: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).resolve().parent / "aws_documented_elasticache.json").read_text())["examples"]
_results: dict[str, Any] = {}


def _status(ec: Any, group: str, want: str) -> None:
    for _ in range(100):
        if ec.describe_user_groups(UserGroupId=group)["UserGroups"][0]["Status"] == want:
            return
        time.sleep(0.1)


def _until(probe: Any, want: str) -> None:
    for _ in range(300):
        if probe() == want:
            return
        time.sleep(0.1)


def _serverless(c: Caller, out: dict[str, Any]) -> None:
    """The API Reference's serverless examples, with their inputs (default VPC's subnets and group)."""
    ec = c.client("elasticache")
    name = f"doc-cache-{uuid.uuid4().hex[:8]}"
    out["elasticache/create-serverless-cache"] = c.call(
        ec.create_serverless_cache, ServerlessCacheName=name, Description="A serverless cache.", Engine="redis",
        MajorEngineVersion="7", CacheUsageLimits={"DataStorage": {"Maximum": 10, "Unit": "GB"},
                                                  "ECPUPerSecond": {"Maximum": 50000}},
        SnapshotRetentionLimit=10, DailySnapshotTime="09:00")
    _until(lambda: ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]["Status"],
           "available")
    out["elasticache/describe-serverless-caches"] = c.call(ec.describe_serverless_caches, ServerlessCacheName=name)
    snapshot = f"{name}-snapshot"
    out["elasticache/create-serverless-cache-snapshot"] = c.call(
        ec.create_serverless_cache_snapshot, ServerlessCacheSnapshotName=snapshot, ServerlessCacheName=name)
    _until(lambda: ec.describe_serverless_cache_snapshots(ServerlessCacheSnapshotName=snapshot)
           ["ServerlessCacheSnapshots"][0]["Status"], "available")
    _until(lambda: ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]["Status"],
           "available")
    out["elasticache/delete-serverless-cache"] = c.call(ec.delete_serverless_cache, ServerlessCacheName=name)
    ec.delete_serverless_cache_snapshot(ServerlessCacheSnapshotName=snapshot)


def _responses(boto3_client: Any) -> dict[str, Any]:
    """The documented calls in the order a user would make them."""
    if not _results:
        c = Caller(boto3_client)
        ec = c.client("elasticache")
        user, group = f"user-{uuid.uuid4().hex[:8]}", f"group-{uuid.uuid4().hex[:8]}"
        _results["elasticache/create-user"] = c.call(
            ec.create_user, UserId=user, UserName="myUser", Passwords=["mYnuUzrpAxXw2rdzx"], Engine="redis",
            AccessString="on ~app::* -@all +@read")
        ec.create_user_group(UserGroupId=group, Engine="redis", UserIds=["default"])
        _status(ec, group, "active")
        _results["elasticache/describe-user-groups"] = c.call(ec.describe_user_groups, UserGroupId=group)
        _results["elasticache/modify-user-group"] = c.call(ec.modify_user_group, UserGroupId=group,
                                                           UserIdsToAdd=[user])
        _status(ec, group, "active")
        _results["elasticache/delete-user"] = c.call(ec.delete_user, UserId=user)
        _status(ec, group, "active")
        _results["elasticache/delete-user-group"] = c.call(ec.delete_user_group, UserGroupId=group)
        _results["elasticache/describe-users"] = c.call(ec.describe_users, UserId="default")
        _serverless(c, _results)
    return _results


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_matches_documented_example(example: str, boto3_client: Any) -> None:
    responses = _responses(boto3_client)
    judge = Judge("123456789012", "us-east-1", documented=True)
    # Bind the names this run chose, so every example must agree on them.
    judge.bindings["user-id:1"] = responses["elasticache/create-user"].get("UserId")
    judge.bindings["group-id:1"] = responses["elasticache/describe-user-groups"]["UserGroups"][0]["UserGroupId"]
    judge.bindings["cache-name:1"] = responses["elasticache/create-serverless-cache"]["ServerlessCache"][
        "ServerlessCacheName"]
    judge.bindings["snapshot-name:1"] = f"{judge.bindings['cache-name:1']}-snapshot"
    diffs = judge.differences(EXAMPLES[example]["response"], responses[example])
    assert not diffs, f"{EXAMPLES[example]['operation']} differs from AWS's example " \
                      f"({EXAMPLES[example]['source']}):\n  " + "\n  ".join(diffs)
