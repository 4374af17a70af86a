"""Authentication through the real server, seen by stock clients (boto3, aws CLI)."""

from __future__ import annotations

import datetime
import time
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest
from botocore.config import Config as BotoConfig
from frontdoor_signing import presign, send, sign

KEY, SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def client_error(fn, *a, **kw) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(*a, **kw)
    return ei.value


def code_status(e: botocore.exceptions.ClientError) -> tuple[str, int]:
    return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]


def xml_error(body: bytes) -> tuple[str, str]:
    root = ET.fromstring(body)
    code = root.find(".//{*}Code")
    msg = root.find(".//{*}Message")
    assert code is not None and msg is not None, body
    return code.text or "", msg.text or ""


# One cheap signed call per service (each protocol's error shape is what is checked).
CALLS = {
    "sts": lambda c: c.get_caller_identity(),
    "iam": lambda c: c.list_roles(),
    "elasticache": lambda c: c.describe_serverless_caches(),
    "logs": lambda c: c.describe_log_groups(),
    "lambda": lambda c: c.list_functions(),
    "ec2": lambda c: c.describe_vpcs(),
}


@pytest.mark.parametrize(
    ("service", "code", "status"),
    [
        ("sts", "SignatureDoesNotMatch", 403),
        ("iam", "SignatureDoesNotMatch", 403),
        ("elasticache", "SignatureDoesNotMatch", 403),
        ("logs", "InvalidSignatureException", 400),
        ("lambda", "InvalidSignatureException", 403),
        ("ec2", "SignatureDoesNotMatch", 403),
    ],
)
def test_wrong_secret(boto3_client, service, code, status) -> None:
    c = boto3_client(service, aws_secret_access_key="not-the-secret", config=NO_RETRY)
    e = client_error(CALLS[service], c)
    assert code_status(e) == (code, status)
    assert e.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided."
    )


@pytest.mark.parametrize(
    ("service", "code", "status"),
    [
        ("sts", "InvalidClientTokenId", 403),
        ("logs", "UnrecognizedClientException", 400),
        ("lambda", "UnrecognizedClientException", 403),
        ("ec2", "AuthFailure", 401),
    ],
)
def test_unknown_access_key(boto3_client, service, code, status) -> None:
    c = boto3_client(service, aws_access_key_id="AKIAUNKNOWNKEY000000", config=NO_RETRY)
    assert code_status(client_error(CALLS[service], c)) == (code, status)


def test_unknown_key_with_aws_cli(aws_cli) -> None:
    cp = aws_cli("sts", "get-caller-identity", env={"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"}, check=False)
    assert cp.returncode != 0
    assert "InvalidClientTokenId" in cp.stderr
    assert "The security token included in the request is invalid." in cp.stderr


def test_missing_auth_query(cloudlet_server) -> None:
    status, headers, body = send(method="POST", url=cloudlet_server.endpoint_url + "/",
                                 body=b"Action=GetCallerIdentity&Version=2011-06-15", headers=FORM)
    assert status == 403
    assert xml_error(body)[0] == "MissingAuthenticationToken"


@pytest.mark.parametrize(
    ("service", "call", "code", "status"),
    [
        # Each query service has its own endpoint on AWS: an unsigned request is answered by it.
        ("ec2", lambda c: c.describe_vpcs(), "MissingParameter", 400),
        ("elasticache", lambda c: c.describe_serverless_caches(), "MissingAuthenticationToken", 403),
        ("sts", lambda c: c.get_caller_identity(), "MissingAuthenticationToken", 403),
    ],
)
def test_unsigned_query_request_answered_by_its_service(boto3_client, service, call, code, status) -> None:
    from botocore import UNSIGNED

    c = boto3_client(service, config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 0}))
    err = client_error(call, c)
    assert code_status(err) == (code, status)
    if service == "ec2":
        assert err.response["Error"]["Message"] == "The request must contain the parameter AWSAccessKeyId"


def test_unsigned_elasticache_error_has_its_namespace(cloudlet_server) -> None:
    status, _, body = send(method="POST", url=cloudlet_server.endpoint_url + "/",
                           body=b"Action=DescribeServerlessCaches&Version=2015-02-02", headers=FORM)
    assert status == 403
    assert ET.fromstring(body).tag == "{http://elasticache.amazonaws.com/doc/2015-02-02/}ErrorResponse"


def test_missing_auth_rest_json(cloudlet_server) -> None:
    status, headers, body = send(method="GET", url=cloudlet_server.endpoint_url + "/2015-03-31/functions/")
    assert status == 403
    assert headers.get("x-amzn-ErrorType", "").startswith("MissingAuthenticationTokenException")


def test_malformed_authorization(cloudlet_server) -> None:
    auth = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/sts/aws4_request"
    status, _, body = send(method="POST", url=cloudlet_server.endpoint_url + "/",
                           body=b"Action=GetCallerIdentity&Version=2011-06-15",
                           headers={**FORM, "Authorization": auth, "X-Amz-Date": "20240101T000000Z"})
    assert status == 403
    code, msg = xml_error(body)
    assert code == "IncompleteSignature"
    assert "Authorization header requires 'Signature' parameter." in msg


def test_skewed_clock(cloudlet_server) -> None:
    when = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=20)
    p = sign("POST", cloudlet_server.endpoint_url + "/", "sts", KEY, SECRET,
             b"Action=GetCallerIdentity&Version=2011-06-15", FORM, when=when)
    status, _, body = send(p)
    assert status == 403
    code, msg = xml_error(body)
    assert code == "SignatureDoesNotMatch"
    assert msg.startswith("Signature expired: ") and "is now earlier than" in msg


def test_skewed_clock_json(cloudlet_server) -> None:
    when = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=20)
    p = sign("POST", cloudlet_server.endpoint_url + "/", "logs", KEY, SECRET, b"{}",
             {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Logs_20140328.DescribeLogGroups"},
             when=when)
    status, _, body = send(p)
    assert status == 400
    assert b"InvalidSignatureException" in body and b"Signature not yet current" in body


def test_presigned_url(cloudlet_server) -> None:
    base = cloudlet_server.endpoint_url + "/?Action=GetCallerIdentity&Version=2011-06-15"
    url = presign("GET", base, "sts", KEY, SECRET, expires=60)
    status, _, body = send(method="GET", url=url)
    # Authenticated: whatever STS answers, it is not an authentication failure.
    assert status in (200, 501), body
    if status == 200:
        assert b"arn:aws:iam::123456789012:root" in body
    expired = presign("GET", base, "sts", KEY, SECRET, expires=1)
    time.sleep(2.1)
    status, _, body = send(method="GET", url=expired)
    assert status == 403
    code, msg = xml_error(body)
    assert code == "SignatureDoesNotMatch" and msg.startswith("Signature expired")
    forged = url.replace("GetCallerIdentity", "GetSessionToken")
    status, _, body = send(method="GET", url=forged)
    assert status == 403 and xml_error(body)[0] == "SignatureDoesNotMatch"


def test_root_credentials_accepted(boto3_client, cloudlet_server) -> None:
    if cloudlet_server.health()["services"].get("sts") == "absent":
        pytest.skip("the STS provider is not there yet")
    ident = boto3_client("sts").get_caller_identity()
    assert ident["Arn"] == "arn:aws:iam::123456789012:root"
    assert ident["Account"] == "123456789012"


def test_session_token_right_wrong_expired(boto3_client, cloudlet_server) -> None:
    if cloudlet_server.health()["services"].get("sts") == "absent":
        pytest.skip("the STS provider is not there yet")
    creds = boto3_client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    ok = boto3_client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"], config=NO_RETRY)
    assert ok.get_caller_identity()["Account"] == "123456789012"
    bad = boto3_client("sts", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"] + "x", config=NO_RETRY)
    assert code_status(client_error(bad.get_caller_identity)) == ("InvalidClientTokenId", 403)


def test_unimplemented_operation_is_501(boto3_client) -> None:
    # An operation of a mounted service that cloudlet does not implement.
    c = boto3_client("ec2", config=NO_RETRY)
    e = client_error(c.describe_capacity_reservation_fleets)
    code, status = code_status(e)
    assert status == 501
    assert code in ("NotImplemented", "NotImplementedException")


def test_service_cloudlet_does_not_serve(cloudlet_server) -> None:
    p = sign("GET", cloudlet_server.endpoint_url + "/?list-type=2", "s3", KEY, SECRET)
    status, _, body = send(p)
    assert status == 501
    assert xml_error(body)[0] == "NotImplemented"
