"""Function URLs through a real cloudlet: the config API with boto3 and the aws CLI, the URL itself
with plain HTTP (http.client, curl) and SigV4-signed requests (botocore's SigV4Auth)."""

from __future__ import annotations

import base64
import http.client
import json
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from lambda_helpers import lambda_role, make_zip

ROLE_NAME = "lambda-url-role"
URL = re.compile(r"^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$")
SRC = r'''
import base64, json
def handler(event, context):
    path = event["rawPath"]
    if path == "/raw":
        return [1, "two", {"three": 3}]
    if path == "/fail":
        raise RuntimeError("no")
    if path == "/structured":
        return {"statusCode": 201, "headers": {"X-Made": "yes", "Access-Control-Allow-Origin": "https://evil.example"},
                "cookies": ["a=1; Path=/", "b=2"], "body": base64.b64encode(b"\x00\x01binary").decode(),
                "isBase64Encoded": True}
    if path == "/bad-status":
        return {"statusCode": "teapot"}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"event": event, "arn": context.invoked_function_arn})}
'''


@pytest.fixture(scope="module")
def lam(boto3_client: Any) -> Any:
    return boto3_client("lambda")


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME)


@pytest.fixture
def fn(lam: Any, role_arn: str, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"url-{request.node.name.removeprefix('test_')[:40].replace('_', '-')}"
    lam.create_function(FunctionName=name, Role=role_arn, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": SRC})})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    yield name
    lam.delete_function(FunctionName=name)


def _public(lam: Any, name: str, qualifier: str | None = None, both: bool = True) -> None:
    """The resource-based policy AWS's console writes for a public URL (both actions since Oct 2025)."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE", **extra)
    if both:
        lam.add_permission(FunctionName=name, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*",
                           InvokedViaFunctionUrl=True, **extra)


def _request(url: str, method: str = "GET", path: str = "/", body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, list[str]], bytes]:
    """A plain HTTP request to the function URL (its Host header; cloudlet's loopback port)."""
    m = URL.match(url)
    assert m, url
    conn = http.client.HTTPConnection("127.0.0.1", int(m.group(2)), timeout=60)
    hdrs = {"Host": urllib.parse.urlsplit(url).netloc, **(headers or {})}
    conn.request(method, path, body=body, headers=hdrs)
    resp = conn.getresponse()
    data = resp.read()
    out: dict[str, list[str]] = {}
    for k, v in resp.getheaders():
        out.setdefault(k.lower(), []).append(v)
    conn.close()
    return resp.status, out, data


def _signed(url: str, creds: Credentials, method: str = "GET", path: str = "/", body: bytes = b"",
            service: str = "lambda") -> tuple[int, dict[str, list[str]], bytes]:
    req = AWSRequest(method=method, url=url.rstrip("/") + path, data=body)
    SigV4Auth(creds, service, "us-east-1").add_auth(req)
    return _request(url, method, path, body or None, {k: v for k, v in req.headers.items() if k.lower() != "host"})


def _err(e: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    r = e.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Message"]


# ---- the configuration API ---------------------------------------------------------------------
def test_config_lifecycle(lam: Any, fn: str) -> None:
    arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    assert lam.list_function_url_configs(FunctionName=fn)["FunctionUrlConfigs"] == []
    created = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert URL.match(created["FunctionUrl"]) and created["FunctionArn"] == arn
    assert set(created) - {"ResponseMetadata"} == {"FunctionUrl", "FunctionArn", "AuthType", "CreationTime"}
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=fn, AuthType="NONE")
    assert _err(e) == ("ResourceConflictException", 409, f"Failed to create function url config for "
                       f"[functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function")
    got = lam.get_function_url_config(FunctionName=fn)
    assert got["InvokeMode"] == "BUFFERED" and got["AuthType"] == "NONE"
    assert got["FunctionUrl"] == created["FunctionUrl"]
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"], "MaxAge": 60}
    updated = lam.update_function_url_config(FunctionName=fn, AuthType="AWS_IAM", Cors=cors,
                                             InvokeMode="RESPONSE_STREAM")
    assert updated["AuthType"] == "AWS_IAM" and updated["Cors"] == cors and updated["InvokeMode"] == "RESPONSE_STREAM"
    assert updated["LastModifiedTime"] >= got["LastModifiedTime"]
    listed = lam.list_function_url_configs(FunctionName=fn)["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [created["FunctionUrl"]]
    assert lam.delete_function_url_config(FunctionName=fn)["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.get_function_url_config(FunctionName=fn)
    assert _err(e) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")


def test_qualifiers(lam: Any, fn: str) -> None:
    lam.publish_version(FunctionName=fn)
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion="1")
    for bad in ("$LATEST", "1"):
        with pytest.raises(ClientError) as e:
            lam.create_function_url_config(FunctionName=fn, Qualifier=bad, AuthType="NONE")
        assert _err(e)[:2] == ("ValidationException", 400)
        assert f"Value '{bad}' at 'qualifier'" in _err(e)[2]
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=fn, Qualifier="nope", AuthType="NONE")
    assert _err(e) == ("ResourceNotFoundException", 404, "Function does not exist")
    with pytest.raises(ClientError) as e:
        lam.create_function_url_config(FunctionName=f"{fn}:other", Qualifier="live", AuthType="NONE")
    assert _err(e) == ("InvalidParameterValueException", 400,
                       "The derived qualifier from the function name does not match the specified qualifier.")
    base = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")
    alias = lam.create_function_url_config(FunctionName=fn, Qualifier="live", AuthType="AWS_IAM")
    assert alias["FunctionArn"].endswith(":live") and alias["FunctionUrl"] != base["FunctionUrl"]
    lam.delete_function_url_config(FunctionName=fn)  # the alias's URL stays
    assert lam.get_function_url_config(FunctionName=fn, Qualifier="live")["AuthType"] == "AWS_IAM"
    lam.delete_alias(FunctionName=fn, Name="live")  # ... until its alias goes
    with pytest.raises(ClientError) as e:
        lam.get_function_url_config(FunctionName=fn, Qualifier="live")
    assert _err(e)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        lam.list_function_url_configs(FunctionName="no-such-function")
    assert _err(e) == ("ResourceNotFoundException", 404, "Function does not exist")


def test_aws_cli(aws_cli: Any, fn: str) -> None:
    out = aws_cli("lambda", "create-function-url-config", "--function-name", fn, "--auth-type", "NONE",
                  "--cors", json.dumps({"AllowOrigins": ["*"]}))
    assert URL.match(out["FunctionUrl"]) and out["Cors"] == {"AllowOrigins": ["*"]}
    got = aws_cli("lambda", "get-function-url-config", "--function-name", fn)
    assert got["FunctionUrl"] == out["FunctionUrl"] and got["InvokeMode"] == "BUFFERED"
    aws_cli("lambda", "delete-function-url-config", "--function-name", fn)
    cp = aws_cli("lambda", "get-function-url-config", "--function-name", fn, check=False)
    assert cp.returncode != 0 and "ResourceNotFoundException" in cp.stderr


# ---- serving the URL ----------------------------------------------------------------------------
def test_public_url_needs_both_permissions(lam: Any, fn: str) -> None:
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    # An anonymous caller, as on the internet: no resource policy, nothing is invoked.
    status, _h, body = _request(url)
    assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
    _public(lam, fn, both=False)
    assert _request(url)[0] == 403  # InvokeFunctionUrl alone no longer suffices (October 2025)
    lam.add_permission(FunctionName=fn, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*",
                       InvokedViaFunctionUrl=True)
    status, _h, body = _request(url)
    assert status == 200 and json.loads(body)["event"]["rawPath"] == "/"
    # A policy for the other auth type does not open the URL.
    lam.remove_permission(FunctionName=fn, StatementId="url")
    lam.add_permission(FunctionName=fn, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="AWS_IAM")
    assert _request(url)[0] == 403


def test_event_format(lam: Any, fn: str) -> None:
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    url_id = URL.match(url).group(1)  # type: ignore[union-attr]
    _public(lam, fn)
    status, headers, body = _request(url, "POST", "/some/path?b=2&a=1&a=3", b'{"hello": "world"}', {
        "Content-Type": "application/json", "Cookie": "c1=v1; c2=v2", "X-Custom": "Mixed Case",
        "User-Agent": "url-test/1.0"})
    assert status == 200, body
    assert headers["content-type"] == ["application/json"] and headers["x-amzn-requestid"]
    out = json.loads(body)
    event = out["event"]
    assert out["arn"].endswith(f":function:{fn}")
    assert event["version"] == "2.0" and event["routeKey"] == "$default"
    assert event["rawPath"] == "/some/path" and event["rawQueryString"] == "b=2&a=1&a=3"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["headers"]["x-custom"] == "Mixed Case" and "cookie" not in event["headers"]
    assert all(k == k.lower() for k in event["headers"])
    assert event["body"] == '{"hello": "world"}' and event["isBase64Encoded"] is False
    rc = event["requestContext"]
    assert rc["accountId"] == "anonymous" and rc["apiId"] == url_id and rc["domainPrefix"] == url_id
    assert rc["domainName"] == f"{url_id}.lambda-url.us-east-1.on.aws"
    assert rc["http"] == {"method": "POST", "path": "/some/path", "protocol": "HTTP/1.1",
                          "sourceIp": "127.0.0.1", "userAgent": "url-test/1.0"}
    assert rc["requestId"] == headers["x-amzn-requestid"][0]
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", rc["time"])
    assert isinstance(rc["timeEpoch"], int) and "authorizer" not in rc
    # A binary body arrives base64-encoded.
    _s, _h, body = _request(url, "PUT", "/bin", b"\xff\x00\x01", {"Content-Type": "application/octet-stream"})
    event = json.loads(body)["event"]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00\x01"
    assert "queryStringParameters" not in event and "cookies" not in event


def test_response_format_and_errors(lam: Any, fn: str) -> None:
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    _public(lam, fn)
    status, headers, body = _request(url, path="/raw")
    assert (status, headers["content-type"], json.loads(body)) == (200, ["application/json"], [1, "two", {"three": 3}])
    status, headers, body = _request(url, path="/structured")
    assert status == 201 and body == b"\x00\x01binary" and headers["x-made"] == ["yes"]
    assert headers["set-cookie"] == ["a=1; Path=/", "b=2"]
    status, _h, body = _request(url, path="/fail")
    assert (status, json.loads(body)) == (502, {"Message": "Internal Server Error"})
    assert _request(url, path="/bad-status")[0] == 502
    status, _h, body = _request(url, "POST", "/big", b"x" * (6 * 1024 * 1024 + 1), {"Content-Type": "text/plain"})
    assert status == 413


def test_cors(lam: Any, fn: str) -> None:
    cors = {"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-custom"], "ExposeHeaders": ["x-made"], "MaxAge": 300, "AllowCredentials": True}
    url = lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM", Cors=cors)["FunctionUrl"]
    # Preflight is answered by Lambda itself, unsigned, without invoking the function.
    status, headers, _b = _request(url, "OPTIONS", "/x", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert status == 200
    assert headers["access-control-allow-origin"] == ["https://app.example"]
    assert headers["access-control-allow-methods"] == ["GET,POST"]
    assert headers["access-control-allow-headers"] == ["x-custom"]
    assert headers["access-control-max-age"] == ["300"]
    assert headers["access-control-allow-credentials"] == ["true"]
    status, headers, _b = _request(url, "OPTIONS", "/x", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in headers
    # On a real request Lambda's CORS headers replace the function's own.
    lam.update_function_url_config(FunctionName=fn, AuthType="NONE")
    _public(lam, fn)
    status, headers, _b = _request(url, path="/structured", headers={"Origin": "https://app.example"})
    assert status == 201 and headers["access-control-allow-origin"] == ["https://app.example"]
    assert headers["access-control-expose-headers"] == ["x-made"]
    _s, headers, _b = _request(url, path="/structured", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in headers


def test_aws_iam_url(lam: Any, fn: str, boto3_client: Any, cloudlet_server: Any) -> None:
    url = lam.create_function_url_config(FunctionName=fn, AuthType="AWS_IAM")["FunctionUrl"]
    arn = lam.get_function(FunctionName=fn)["Configuration"]["FunctionArn"]
    # Unsigned (an anonymous caller), even with a public policy: refused.
    _public(lam, fn)
    assert _request(url)[0] == 403
    # (A public InvokeFunction statement would let any signed caller with InvokeFunctionUrl through.)
    lam.remove_permission(FunctionName=fn, StatementId="url")
    lam.remove_permission(FunctionName=fn, StatementId="invoke")
    iam = boto3_client("iam")
    user = f"{fn}-caller"[:64]
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    creds = Credentials(key["AccessKeyId"], key["SecretAccessKey"])
    try:
        # Signed by a user no policy allows.
        status, _h, body = _signed(url, creds)
        assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
        iam.put_user_policy(UserName=user, PolicyName="url-only", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunctionUrl",
                                                    "Resource": arn}]}))
        assert _signed(url, creds)[0] == 403  # InvokeFunction is needed too
        iam.put_user_policy(UserName=user, PolicyName="invoke", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                    "Resource": arn}]}))
        status, _h, body = _signed(url, creds, "POST", "/who", b"hi")
        assert status == 200, body
        rc = json.loads(body)["event"]["requestContext"]
        user_arn = iam.get_user(UserName=user)["User"]["Arn"]
        assert rc["authorizer"]["iam"]["userArn"] == user_arn
        assert rc["authorizer"]["iam"]["accessKey"] == key["AccessKeyId"]
        assert rc["accountId"] == "123456789012"
        # Signed for another service, or with a wrong secret: refused.
        assert _signed(url, creds, service="sts")[0] == 403
        assert _signed(url, Credentials(key["AccessKeyId"], "x" * 40))[0] == 403
    finally:
        for name in iam.list_user_policies(UserName=user)["PolicyNames"]:
            iam.delete_user_policy(UserName=user, PolicyName=name)
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
        iam.delete_user(UserName=user)


def test_curl_by_name_and_unknown_url(lam: Any, fn: str) -> None:
    url = lam.create_function_url_config(FunctionName=fn, AuthType="NONE")["FunctionUrl"]
    _public(lam, fn)
    # curl resolves *.localhost to loopback itself: the reported URL works as it is.
    cp = subprocess.run(["curl", "-sS", "--max-time", "60", "-H", "Content-Type: text/plain", "--data", "from curl",
                         url + "hello?x=1"], capture_output=True, text=True, timeout=90)
    assert cp.returncode == 0, cp.stderr
    event = json.loads(cp.stdout)["event"]
    assert event["rawPath"] == "/hello" and event["body"] == "from curl"
    # AWS's own host name, pointed at cloudlet's port.
    m = URL.match(url)
    assert m
    aws_host = f"{m.group(1)}.lambda-url.us-east-1.on.aws"
    cp = subprocess.run(["curl", "-sS", "--max-time", "60", "--connect-to", f"{aws_host}:80:127.0.0.1:{m.group(2)}",
                         f"http://{aws_host}/aws-name"], capture_output=True, text=True, timeout=90)
    assert json.loads(cp.stdout)["event"]["rawPath"] == "/aws-name"
    # An id no function has.
    status, _h, body = _request(url.replace(m.group(1), "a" * 32))
    assert (status, json.loads(body)) == (403, {"Message": "Forbidden"})
    lam.delete_function_url_config(FunctionName=fn)
    assert _request(url)[0] == 403


def test_alias_url_runs_the_alias(lam: Any, fn: str) -> None:
    lam.publish_version(FunctionName=fn)
    lam.create_alias(FunctionName=fn, Name="live", FunctionVersion="1")
    url = lam.create_function_url_config(FunctionName=fn, Qualifier="live", AuthType="NONE")["FunctionUrl"]
    # The unqualified function's public policy does not open the alias's URL: its own policy does.
    _public(lam, fn)
    assert _request(url)[0] == 403
    _public(lam, fn, qualifier="live")
    status, _h, body = _request(url)
    assert status == 200 and json.loads(body)["arn"].endswith(f":function:{fn}:live")
