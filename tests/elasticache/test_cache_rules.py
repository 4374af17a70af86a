"""AWS's validation rules for serverless caches, each with AWS's error code."""

from __future__ import annotations

import pytest
from ec_harness import Harness, harness  # noqa: F401  (fixture)

from cloudlet.core.errors import AWSError
from cloudlet.services.elasticache.engines import installed_valkey


def _err(h: Harness, op: str, **params) -> str:
    with pytest.raises(AWSError) as e:
        h.call(op, **params)
    return e.value.code


@pytest.mark.parametrize("name", ["1abc", "a--b", "ab-", "a_b", "", "a" * 41, "a b"])
def test_bad_names(harness: Harness, name: str) -> None:
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName=name, Engine="valkey") == "InvalidParameterValue"


def test_engines_and_versions(harness: Harness) -> None:
    code = _err(harness, "CreateServerlessCache", ServerlessCacheName="m", Engine="memcached")
    assert code == "InvalidParameterValue"
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="m", Engine="mysql") == "InvalidParameterValue"
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="m", Engine="redis",
                MajorEngineVersion="6") == "InvalidParameterValue"
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="m", Engine="valkey",
                NetworkType="ipv6") == "InvalidParameterValue"
    # Versions are what the machine's valkey-server really is; others are refused, naming it.
    installed = installed_valkey(harness.config.valkey_server)
    assert installed is not None
    other = "7" if installed.major != "7" else "8"
    with pytest.raises(AWSError) as e:
        harness.call("CreateServerlessCache", ServerlessCacheName="vx", Engine="valkey", MajorEngineVersion=other)
    assert e.value.code == "InvalidParameterValue"
    assert installed.version in e.value.message and installed.path in e.value.message
    v = harness.call("CreateServerlessCache", ServerlessCacheName="v", Engine="valkey")["ServerlessCache"]
    assert (v["MajorEngineVersion"], v["FullEngineVersion"]) == (installed.major, installed.major_minor)
    harness.wait_status("v", "available", timeout=30)
    running = harness.admin("v").info("server")["valkey_version"]
    described = harness.call("DescribeServerlessCaches", ServerlessCacheName="v")["ServerlessCaches"][0]
    assert described["FullEngineVersion"] == ".".join(running.split(".")[:2])
    r = harness.call("CreateServerlessCache", ServerlessCacheName="r", Engine="redis")["ServerlessCache"]
    assert (r["MajorEngineVersion"], r["FullEngineVersion"]) == ("7", "7.2")


@pytest.mark.parametrize("limits", [
    {"DataStorage": {"Maximum": 0, "Unit": "GB"}},
    {"DataStorage": {"Maximum": 5001, "Unit": "GB"}},
    {"DataStorage": {"Maximum": 10, "Minimum": 20, "Unit": "GB"}},
    {"ECPUPerSecond": {"Maximum": 999}},
    {"ECPUPerSecond": {"Maximum": 15_000_001}},
    {"ECPUPerSecond": {"Minimum": 5000, "Maximum": 2000}},
])
def test_bad_usage_limits(harness: Harness, limits: dict) -> None:
    code = _err(harness, "CreateServerlessCache", ServerlessCacheName="lim", Engine="valkey", CacheUsageLimits=limits)
    assert code in ("InvalidParameterValue", "InvalidParameterCombination")


def test_duplicate_name_and_lowercase(harness: Harness) -> None:
    harness.call("CreateServerlessCache", ServerlessCacheName="dup", Engine="valkey")
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="DUP", Engine="valkey") == \
        "ServerlessCacheAlreadyExistsFault"
    assert harness.call("DescribeServerlessCaches", ServerlessCacheName="Dup")["ServerlessCaches"][0][
        "ServerlessCacheName"] == "dup"


def test_not_found_and_state_faults(harness: Harness) -> None:
    assert _err(harness, "DescribeServerlessCaches", ServerlessCacheName="nope") == "ServerlessCacheNotFoundFault"
    assert _err(harness, "DeleteServerlessCache", ServerlessCacheName="nope") == "ServerlessCacheNotFoundFault"
    assert _err(harness, "ModifyServerlessCache", ServerlessCacheName="nope") == "ServerlessCacheNotFoundFault"
    harness.call("CreateServerlessCache", ServerlessCacheName="busy", Engine="valkey")
    # Still creating: no changes yet.
    assert _err(harness, "DeleteServerlessCache", ServerlessCacheName="busy") == "InvalidServerlessCacheStateFault"
    harness.wait_status("busy", "available")
    assert _err(harness, "ModifyServerlessCache", ServerlessCacheName="busy", RemoveUserGroup=True,
                UserGroupId="g") == "InvalidParameterCombination"
    assert _err(harness, "ModifyServerlessCache", ServerlessCacheName="busy",
                UserGroupId="nogroup") == "UserGroupNotFound"


def test_network_defaults_and_checks(harness: Harness) -> None:
    ec2 = harness.world.providers["ec2"]
    vpc = ec2.default_vpc("123456789012", "us-east-1")
    sg = ec2.default_security_group("123456789012", "us-east-1", vpc.id).id
    out = harness.call("CreateServerlessCache", ServerlessCacheName="net", Engine="valkey")["ServerlessCache"]
    assert out["SecurityGroupIds"] == [sg]
    assert len(out["SubnetIds"]) == 3
    assert all(ec2.subnet("123456789012", "us-east-1", s).vpc_id == vpc.id for s in out["SubnetIds"])
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="net2", Engine="valkey",
                SubnetIds=["subnet-0123456789abcdef0"]) == "InvalidSubnet"
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="net2", Engine="valkey",
                SecurityGroupIds=["sg-0123456789abcdef0"]) == "InvalidParameterValue"
    one = out["SubnetIds"][:2]
    ok = harness.call("CreateServerlessCache", ServerlessCacheName="net3", Engine="valkey", SubnetIds=one,
                      SecurityGroupIds=[sg])["ServerlessCache"]
    assert ok["SubnetIds"] == one


def test_tags_on_cache(harness: Harness) -> None:
    arn = harness.call("CreateServerlessCache", ServerlessCacheName="tagged", Engine="valkey",
                       Tags=[{"Key": "a", "Value": "1"}])["ServerlessCache"]["ARN"]
    assert harness.call("ListTagsForResource", ResourceName=arn)["TagList"] == [{"Key": "a", "Value": "1"}]
    many = [{"Key": f"k{i}", "Value": "v"} for i in range(49)]
    assert len(harness.call("AddTagsToResource", ResourceName=arn, Tags=many)["TagList"]) == 50
    assert _err(harness, "AddTagsToResource", ResourceName=arn, Tags=[{"Key": "one-more", "Value": ""}]) == \
        "TagQuotaPerResourceExceeded"
    left = harness.call("RemoveTagsFromResource", ResourceName=arn, TagKeys=["a"])["TagList"]
    assert len(left) == 49 and {"Key": "a", "Value": "1"} not in left
    assert _err(harness, "ListTagsForResource", ResourceName="not-an-arn") == "InvalidARN"
    missing = arn.replace("tagged", "other")
    assert _err(harness, "ListTagsForResource", ResourceName=missing) == "ServerlessCacheNotFoundFault"
    assert _err(harness, "ListTagsForResource",
                ResourceName="arn:aws:elasticache:us-east-1:123456789012:cluster:c1") == "CacheClusterNotFound"


def test_describe_pagination(harness: Harness) -> None:
    for i in range(3):
        harness.call("CreateServerlessCache", ServerlessCacheName=f"p{i}", Engine="valkey")
    first = harness.call("DescribeServerlessCaches", MaxResults=2)
    assert [c["ServerlessCacheName"] for c in first["ServerlessCaches"]] == ["p0", "p1"]
    rest = harness.call("DescribeServerlessCaches", MaxResults=2, NextToken=first["NextToken"])
    assert [c["ServerlessCacheName"] for c in rest["ServerlessCaches"]] == ["p2"]
    assert "NextToken" not in rest


def test_engine_versions(harness: Harness) -> None:
    allv = harness.call("DescribeCacheEngineVersions")["CacheEngineVersions"]
    assert {v["Engine"] for v in allv} == {"valkey", "redis"}
    valkey_default = harness.call("DescribeCacheEngineVersions", Engine="valkey", DefaultOnly=True)
    assert [v["EngineVersion"] for v in valkey_default["CacheEngineVersions"]] == ["8.1"]
    v = harness.call("DescribeCacheEngineVersions", Engine="redis", EngineVersion="7.1")["CacheEngineVersions"]
    assert v == [{"Engine": "redis", "EngineVersion": "7.1", "CacheParameterGroupFamily": "redis7",
                  "CacheEngineDescription": "Redis", "CacheEngineVersionDescription": "redis version 7.1.0"}]
    page1 = harness.call("DescribeCacheEngineVersions", MaxRecords=20)
    assert "Marker" not in page1
    assert _err(harness, "DescribeCacheEngineVersions", MaxRecords=5) == "InvalidParameterValue"


def test_daily_snapshot_time_is_always_reported(harness: Harness) -> None:
    # AWS fills in a half-hour DailySnapshotTime even with SnapshotRetentionLimit 0.
    out = harness.call("CreateServerlessCache", ServerlessCacheName="snaptime", Engine="valkey")["ServerlessCache"]
    assigned = out["DailySnapshotTime"]
    hours, minutes = assigned.split(":")
    assert len(hours) == 2 and minutes in ("00", "30") and 3 <= int(hours) <= 10
    assert out["SnapshotRetentionLimit"] == 0
    again = harness.call("DescribeServerlessCaches", ServerlessCacheName="snaptime")["ServerlessCaches"][0]
    assert again["DailySnapshotTime"] == assigned
    chosen = harness.call("CreateServerlessCache", ServerlessCacheName="snaptime2", Engine="valkey",
                          DailySnapshotTime="23:30")["ServerlessCache"]
    assert chosen["DailySnapshotTime"] == "23:30"
