"""Wire details real clients rely on beyond what the round trips cover."""

from __future__ import annotations

import base64
import datetime as dt
import json

from multidict import CIMultiDict

from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.registry import get_protocol


def test_invoke_payload_is_the_raw_body_both_ways() -> None:
    proto = get_protocol("lambda")
    headers = CIMultiDict({"X-Amz-Invocation-Type": "RequestResponse", "X-Amz-Log-Type": "Tail"})
    req = HttpRequest("POST", "/2015-03-31/functions/my-fn/invocations", [("Qualifier", "$LATEST")], headers, b'{"a": 1}')
    op, params = proto.parse_request(req)
    assert op == "Invoke"
    assert params == {
        "FunctionName": "my-fn",
        "InvocationType": "RequestResponse",
        "LogType": "Tail",
        "Qualifier": "$LATEST",
        "Payload": b'{"a": 1}',
    }
    log = base64.b64encode(b"START RequestId: x").decode()
    resp = proto.serialize_response(
        "Invoke",
        {"StatusCode": 200, "FunctionError": "Unhandled", "LogResult": log, "ExecutedVersion": "$LATEST", "Payload": b'{"errorMessage":"x"}'},
        "rid",
    )
    assert resp.status == 200
    assert resp.body == b'{"errorMessage":"x"}'
    assert resp.headers["X-Amz-Function-Error"] == "Unhandled"
    assert resp.headers["X-Amz-Log-Result"] == log
    assert resp.headers["X-Amz-Executed-Version"] == "$LATEST"
    assert resp.headers["x-amzn-RequestId"] == "rid"


def test_async_invoke_status_comes_from_the_result() -> None:
    resp = get_protocol("lambda").serialize_response("Invoke", {"StatusCode": 202}, "r")
    assert resp.status == 202 and resp.body == b""


def test_create_function_answers_201_with_model_response_code() -> None:
    resp = get_protocol("lambda").serialize_response(
        "CreateFunction", {"FunctionName": "f", "LastModified": "2024-01-11T09:49:02.956+0000"}, "r"
    )
    assert resp.status == 201
    assert json.loads(resp.body) == {"FunctionName": "f", "LastModified": "2024-01-11T09:49:02.956+0000"}


def test_delete_function_is_204_without_body() -> None:
    resp = get_protocol("lambda").serialize_response("DeleteAlias", None, "r")
    assert resp.status == 204 and resp.body == b""
    resp = get_protocol("lambda").serialize_response("DeleteFunction", {"StatusCode": 204}, "r")
    assert resp.status == 204 and resp.body == b""


def test_greedy_and_pinned_routes() -> None:
    proto = get_protocol("lambda")
    req = HttpRequest("GET", "/2018-10-31/layers", [("find", "LayerVersion"), ("Arn", "arn:aws:lambda:us-east-1:123456789012:layer:l:1")], CIMultiDict(), b"")
    assert proto.operation_for_request(req) == "GetLayerVersionByArn"
    req = HttpRequest("GET", "/2018-10-31/layers", [], CIMultiDict(), b"")
    assert proto.operation_for_request(req) == "ListLayers"
    req = HttpRequest("GET", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af", [], CIMultiDict(), b"")
    op, params = proto.parse_request(req)
    assert op == "GetFunction"
    assert params["FunctionName"] == "arn:aws:lambda:us-east-1:123456789012:function:f"


def test_sts_get_request_with_query_string() -> None:
    proto = get_protocol("sts")
    req = HttpRequest("GET", "/", [("Action", "GetCallerIdentity"), ("Version", "2011-06-15")], CIMultiDict(), b"")
    assert proto.parse_request(req) == ("GetCallerIdentity", {})


def test_query_timestamps_are_iso8601_utc_and_booleans_lowercase() -> None:
    when = dt.datetime(2024, 1, 11, 9, 49, 2, tzinfo=dt.UTC)
    resp = get_protocol("iam").serialize_response(
        "GetRole",
        {"Role": {"Path": "/", "RoleName": "r", "RoleId": "AROAX", "Arn": "arn:aws:iam::123456789012:role/r", "CreateDate": when}},
        "rid",
    )
    body = resp.body.decode()
    assert body.startswith('<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role>')
    assert "<CreateDate>2024-01-11T09:49:02Z</CreateDate>" in body
    assert body.endswith("<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetRoleResponse>")


def test_ec2_sets_and_items() -> None:
    resp = get_protocol("ec2").serialize_response(
        "DescribeVpcs", {"Vpcs": [{"VpcId": "vpc-1", "IsDefault": True, "Tags": [{"Key": "k", "Value": "v"}]}]}, "rid"
    )
    body = resp.body.decode()
    assert '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>rid</requestId>' in body
    assert "<vpcSet><item>" in body and "</item></vpcSet>" in body
    assert "<vpcId>vpc-1</vpcId>" in body and "<isDefault>true</isDefault>" in body
    assert "<tagSet><item><key>k</key><value>v</value></item></tagSet>" in body


def test_ec2_filters_parse() -> None:
    body = b"Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=isDefault&Filter.1.Value.1=true&VpcId.1=vpc-a&VpcId.2=vpc-b"
    op, params = get_protocol("ec2").parse_request(HttpRequest("POST", "/", [], CIMultiDict(), body))
    assert op == "DescribeVpcs"
    assert params == {"Filters": [{"Name": "isDefault", "Values": ["true"]}], "VpcIds": ["vpc-a", "vpc-b"]}


def test_json_timestamps_are_epoch_seconds() -> None:
    resp = get_protocol("logs").serialize_response(
        "DescribeLogGroups", {"logGroups": [{"logGroupName": "g", "creationTime": 1700000000000}]}, "r"
    )
    assert resp.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(resp.body) == {"logGroups": [{"logGroupName": "g", "creationTime": 1700000000000}]}
