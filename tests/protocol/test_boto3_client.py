"""boto3 clients end to end through cloudlet's protocol layer, with no server:
a `before-send` hook hands the client's signed, encoded request to cloudlet and
returns cloudlet's response, so the client's full serialize/parse path is the oracle."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from multidict import CIMultiDict

from cloudlet.core.errors import AWSError
from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.registry import get_protocol

Handler = Callable[[str, dict[str, Any]], dict[str, Any] | None]


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._io = io.BytesIO(body)

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._io.read()

    def read(self, *args: Any, **_: Any) -> bytes:
        return self._io.read(*args)


def client(service: str, handler: Handler, seen: list[tuple[str, dict[str, Any]]]) -> Any:
    proto = get_protocol(service)
    c = boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:4566",
        aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(retries={"max_attempts": 1}),
    )

    def before_send(request: Any, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        req = HttpRequest(
            request.method,
            url.path or "/",
            parse_qsl(url.query, keep_blank_values=True),
            CIMultiDict({k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}),
            body,
            url.query,
        )
        try:
            op, params = proto.parse_request(req)
            seen.append((op, params))
            resp = proto.serialize_response(op, handler(op, params), "req-42")
        except AWSError as err:
            resp = proto.serialize_error(err, None, "req-42")
        return AWSResponse(request.url, resp.status, resp.headers, _Raw(resp.body))

    c.meta.events.register("before-send", before_send)
    return c


def test_iam_create_role_with_tags_and_policy_document() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    created = dt.datetime(2024, 1, 11, 9, 49, 2, tzinfo=dt.UTC)

    def handler(op: str, p: dict[str, Any]) -> dict[str, Any]:
        role = {"Path": "/", "RoleName": p["RoleName"], "RoleId": "AROA1234567890EXAMPLE", "CreateDate": created,
                "Arn": f"arn:aws:iam::123456789012:role/{p['RoleName']}", "AssumeRolePolicyDocument": "%7B%7D"}
        return {"Role": role}

    iam = client("iam", handler, seen)
    doc = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
    out = iam.create_role(RoleName="app+role", AssumeRolePolicyDocument=doc, Tags=[{"Key": "k 1", "Value": "v&1"}])
    assert seen[0] == ("CreateRole", {"RoleName": "app+role", "AssumeRolePolicyDocument": doc, "Tags": [{"Key": "k 1", "Value": "v&1"}]})
    assert out["Role"]["CreateDate"] == created
    assert out["ResponseMetadata"]["RequestId"] == "req-42"


def test_iam_error_reaches_the_client_as_client_error() -> None:
    def handler(op: str, p: dict[str, Any]) -> dict[str, Any]:
        raise AWSError("NoSuchEntity", f"The role with name {p['RoleName']} cannot be found.")

    iam = client("iam", handler, [])
    with pytest.raises(iam.exceptions.NoSuchEntityException) as info:
        iam.get_role(RoleName="ghost")
    assert info.value.response["Error"]["Message"] == "The role with name ghost cannot be found."
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_elasticache_create_serverless_cache() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(op: str, p: dict[str, Any]) -> dict[str, Any]:
        return {"ServerlessCache": {"ServerlessCacheName": p["ServerlessCacheName"], "Status": "creating",
                                    "SecurityGroupIds": ["sg-1"], "Endpoint": {"Address": "h", "Port": 6379}}}

    ec = client("elasticache", handler, seen)
    out = ec.create_serverless_cache(ServerlessCacheName="cache-01", Engine="valkey", SubnetIds=["subnet-1", "subnet-2"],
                                     CacheUsageLimits={"DataStorage": {"Maximum": 10, "Unit": "GB"}})
    assert seen[0][1]["SubnetIds"] == ["subnet-1", "subnet-2"]
    assert seen[0][1]["CacheUsageLimits"] == {"DataStorage": {"Maximum": 10, "Unit": "GB"}}
    assert out["ServerlessCache"]["Endpoint"] == {"Address": "h", "Port": 6379}
    assert out["ServerlessCache"]["SecurityGroupIds"] == ["sg-1"]


def test_ec2_describe_subnets_with_filters() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    ec2 = client("ec2", lambda op, p: {"Subnets": [{"SubnetId": "subnet-1", "DefaultForAz": True, "AvailableIpAddressCount": 4091}]}, seen)
    out = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": ["vpc-1"]}])
    assert seen[0] == ("DescribeSubnets", {"Filters": [{"Name": "vpc-id", "Values": ["vpc-1"]}]})
    assert out["Subnets"] == [{"SubnetId": "subnet-1", "DefaultForAz": True, "AvailableIpAddressCount": 4091}]


def test_lambda_invoke_and_function_error() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def handler(op: str, p: dict[str, Any]) -> dict[str, Any]:
        return {"StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST", "Payload": b'{"errorType":"X"}'}

    lam = client("lambda", handler, seen)
    out = lam.invoke(FunctionName="AccessValkey", Payload=b'{"k": "v"}', LogType="Tail")
    assert seen[0] == ("Invoke", {"FunctionName": "AccessValkey", "Payload": b'{"k": "v"}', "LogType": "Tail"})
    assert out["StatusCode"] == 200 and out["FunctionError"] == "Unhandled"
    assert out["Payload"].read() == b'{"errorType":"X"}'


def test_lambda_modeled_error_with_conflict_status() -> None:
    def handler(op: str, p: dict[str, Any]) -> dict[str, Any]:
        raise AWSError("ResourceConflictException", "The operation cannot be performed at this time.")

    lam = client("lambda", handler, [])
    with pytest.raises(lam.exceptions.ResourceConflictException) as info:
        lam.invoke(FunctionName="f")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert info.value.response["Error"]["Message"] == "The operation cannot be performed at this time."


def test_logs_filter_events_and_validation_error() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    logs = client("logs", lambda op, p: {"events": [{"logStreamName": "s", "timestamp": 1, "message": "m"}], "searchedLogStreams": []}, seen)
    out = logs.filter_log_events(logGroupName="/aws/lambda/AccessValkey", limit=5)
    assert seen[0] == ("FilterLogEvents", {"logGroupName": "/aws/lambda/AccessValkey", "limit": 5})
    assert out["events"][0]["message"] == "m"
    with pytest.raises(ClientError) as info:
        logs.filter_log_events(logGroupName="bad:name")
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
