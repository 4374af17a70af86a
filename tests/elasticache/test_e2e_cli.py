"""End to end: the tutorial's ElastiCache commands with the stock aws CLI and boto3
against a real cloudlet server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions
import pytest


def _wait_status(aws_cli: Callable[..., Any], name: str, wanted: str | None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    status: str | None = None
    while time.monotonic() < deadline:
        cp = aws_cli("elasticache", "describe-serverless-caches", "--serverless-cache-name", name, check=False)
        status = json.loads(cp.stdout)["ServerlessCaches"][0]["Status"] if cp.returncode == 0 else None
        if status == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"cache {name} is {status}, not {wanted}")


def test_tutorial_cache_user_group_steps(aws_cli: Callable[..., Any]) -> None:
    # 1.1
    out = aws_cli("elasticache", "create-serverless-cache", "--serverless-cache-name", "cache-e2e",
                  "--description", "ElastiCache IAM auth application", "--engine", "valkey")
    assert out["ServerlessCache"]["Status"] == "creating"
    # 1.2
    _wait_status(aws_cli, "cache-e2e", "available")
    desc = aws_cli("elasticache", "describe-serverless-caches", "--serverless-cache-name", "cache-e2e")
    endpoint = desc["ServerlessCaches"][0]["Endpoint"]["Address"]
    assert endpoint.startswith("cache-e2e-") and endpoint.endswith(".serverless.use1.cache.amazonaws.com")
    # 1.4
    aws_cli("elasticache", "create-user", "--user-name", "default", "--user-id", "e2e-default-disabled",
            "--engine", "redis", "--authentication-mode", "Type=no-password-required",
            "--access-string", "off +get ~keys*")
    iam_user = aws_cli("elasticache", "create-user", "--user-name", "e2e-iam-user", "--user-id", "e2e-iam-user",
                       "--authentication-mode", "Type=iam", "--engine", "redis", "--access-string", "on ~* +@all")
    assert iam_user["Authentication"] == {"Type": "iam", "PasswordCount": 0}
    group = aws_cli("elasticache", "create-user-group", "--user-group-id", "e2e-group", "--engine", "redis",
                    "--user-ids", "e2e-default-disabled", "e2e-iam-user")
    assert group["Status"] == "creating"
    mod = aws_cli("elasticache", "modify-serverless-cache", "--serverless-cache-name", "cache-e2e",
                  "--user-group-id", "e2e-group")
    assert mod["ServerlessCache"]["UserGroupId"] == "e2e-group"
    _wait_status(aws_cli, "cache-e2e", "available")
    # 4 (cache, users, group)
    aws_cli("elasticache", "delete-serverless-cache", "--serverless-cache-name", "cache-e2e")
    _wait_status(aws_cli, "cache-e2e", None)
    failed = aws_cli("elasticache", "describe-serverless-caches", "--serverless-cache-name", "cache-e2e", check=False)
    assert failed.returncode != 0 and "ServerlessCacheNotFoundFault" in failed.stderr
    aws_cli("elasticache", "delete-user", "--user-id", "e2e-iam-user")
    aws_cli("elasticache", "delete-user-group", "--user-group-id", "e2e-group")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if aws_cli("elasticache", "describe-user-groups", "--user-group-id", "e2e-group", check=False).returncode:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("user group not deleted")
    aws_cli("elasticache", "delete-user", "--user-id", "e2e-default-disabled")


def test_boto3_errors_have_aws_codes_and_status(boto3_client: Callable[..., Any]) -> None:
    ec = boto3_client("elasticache")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec.describe_serverless_caches(ServerlessCacheName="does-not-exist")
    assert e.value.response["Error"]["Code"] == "ServerlessCacheNotFoundFault"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ec.exceptions.InvalidParameterValueException):
        ec.create_serverless_cache(ServerlessCacheName="mc", Engine="memcached")
    ec.create_user(UserId="b3-user", UserName="b3-user", Engine="redis", AccessString="on ~* +@all",
                   AuthenticationMode={"Type": "iam"})
    with pytest.raises(ec.exceptions.DefaultUserRequired):
        ec.create_user_group(UserGroupId="no-default", Engine="redis", UserIds=["b3-user"])
    versions = ec.describe_cache_engine_versions(Engine="valkey")["CacheEngineVersions"]
    assert {v["EngineVersion"] for v in versions} >= {"7.2", "8.0"}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec.export_serverless_cache_snapshot(ServerlessCacheSnapshotName="s", S3BucketName="b")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
