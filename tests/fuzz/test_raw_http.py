"""Raw-HTTP garbage through the real front door: every answer is an AWS-shaped 4xx.

Requests are built by hand (malformed query strings and percent-encoding,
invalid JSON, wrong Content-Type, bad X-Amz-Target, unknown paths, oversized
bodies) and, where they name a service, signed by botocore's SigV4 signer over
exactly the bytes sent, so they get past authentication to the parsers. Each
answer must be a 4xx that botocore's parser for the service's protocol reads
as an error with a Code, and cloudlet's log must stay free of tracebacks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from cloudlet.config import Config

from .fuzz_wire import REQUEST_TIMEOUT, parse
from .test_api_fuzz import LogWatch

FORM = "application/x-www-form-urlencoded; charset=utf-8"
_SESSION = botocore.session.get_session()


@dataclass
class Case:
    id: str
    service: str | None  # signing service; None sends the request unsigned
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None  # the exact status AWS gives, where it is known
    code: str | None = None  # the exact code AWS gives, where it is known
    parse_as: str | None = None  # service whose protocol reads an unsigned answer
    ok_allowed: bool = False  # lenient input AWS may well accept: any non-5xx answer will do


def logs_call(target: str, body: bytes, content_type: str = "application/x-amz-json-1.1") -> dict[str, Any]:
    return {"headers": {"X-Amz-Target": target, "Content-Type": content_type}, "body": body}


IAM = "Version=2010-05-08&"
LOGS_DESCRIBE = "Logs_20140328.DescribeLogGroups"
LAMBDA_FN = "/2015-03-31/functions"

CASES = [
    # -- query protocol: form bodies and query strings
    Case("iam-no-action", "iam", "POST", "/", b"Version=2010-05-08", {"Content-Type": FORM}, 400, "MissingAction"),
    Case("iam-unknown-action", "iam", "POST", "/", b"Action=NoSuchThing&Version=2010-05-08", {"Content-Type": FORM},
         400, "InvalidAction"),
    Case("iam-bad-percent", "iam", "POST", "/", (IAM + "Action=GetRole&RoleName=%zz%").encode(), {"Content-Type": FORM},
         400, "ValidationError"),
    Case("iam-bad-utf8-percent", "iam", "POST", "/", (IAM + "Action=GetRole&RoleName=%ff%fe").encode(),
         {"Content-Type": FORM}, 400, "ValidationError"),
    Case("iam-raw-invalid-utf8", "iam", "POST", "/", IAM.encode() + b"Action=GetRole&RoleName=\xff\xfe",
         {"Content-Type": FORM}, 400),
    Case("iam-key-without-value", "iam", "POST", "/", (IAM + "Action=GetRole&RoleName").encode(),
         {"Content-Type": FORM}, 400, "ValidationError"),
    Case("iam-only-separators", "iam", "POST", "/", b"&&&=&==&", {"Content-Type": FORM}, 400, "MissingAction"),
    Case("iam-int-garbage", "iam", "POST", "/", (IAM + "Action=ListRoles&MaxItems=1e999").encode(),
         {"Content-Type": FORM}, 400, "ValidationError"),
    Case("iam-nul-in-name", "iam", "POST", "/", (IAM + "Action=GetRole&RoleName=a%00b").encode(),
         {"Content-Type": FORM}, 400, "ValidationError"),
    Case("iam-deep-keys", "iam", "POST", "/", (IAM + "Action=TagRole&RoleName=r&Tags.member." + ".".join(["1"] * 300)
         + "=x").encode(), {"Content-Type": FORM}, 400),
    Case("iam-huge-index", "iam", "POST", "/", (IAM + "Action=TagRole&RoleName=r&Tags.member.99999999999999999999.Key=k"
         "&Tags.member.99999999999999999999.Value=v").encode(), {"Content-Type": FORM}, None),
    Case("iam-json-content-type", "iam", "POST", "/", b'{"Action": "ListRoles"}', {"Content-Type": "application/json"},
         400, "MissingAction"),
    Case("sts-get-garbage-query", "sts", "GET", "/?Action=GetCallerIdentity&Version=2011-06-15&%zz&=&&x=%ff",
         status=None),
    Case("ec2-bad-filter-index", "ec2", "POST", "/", b"Action=DescribeVpcs&Version=2016-11-15&Filter.x.Name=a",
         {"Content-Type": FORM}, ok_allowed=True),
    Case("ec2-unknown-action", "ec2", "POST", "/", b"Action=Nope&Version=2016-11-15", {"Content-Type": FORM},
         400, "InvalidAction"),
    Case("elasticache-bad-bool", "elasticache", "POST", "/",
         b"Action=DescribeServerlessCaches&Version=2015-02-02&MaxResults=abc", {"Content-Type": FORM},
         400, "InvalidParameterValue"),
    # -- json protocol (Logs)
    Case("logs-truncated-json", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b"{"), status=400,
         code="SerializationException"),
    Case("logs-array-body", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b"[1, 2]"), status=400,
         code="SerializationException"),
    Case("logs-null-body", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b"null"), status=400,
         code="SerializationException"),
    Case("logs-invalid-utf8", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b'{"logGroupNamePrefix": "\xff"}'),
         status=400, code="SerializationException"),
    Case("logs-lone-surrogate", "logs", "POST", "/",
         **logs_call("Logs_20140328.CreateLogGroup", b'{"logGroupName": "a\\ud800b"}'), status=400),
    Case("logs-wrong-member-type", "logs", "POST", "/",
         **logs_call("Logs_20140328.CreateLogGroup", b'{"logGroupName": {"$ne": 1}}'), status=400,
         code="SerializationException"),
    Case("logs-huge-number", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b'{"limit": 1' + b"0" * 5000 + b"}"),
         status=400),
    Case("logs-deep-nesting", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b"[" * 100_000 + b"]" * 100_000),
         status=400, code="SerializationException"),
    Case("logs-wrong-content-type", "logs", "POST", "/", **logs_call(LOGS_DESCRIBE, b"{}", "text/plain"), ok_allowed=True),
    Case("logs-unknown-target", "logs", "POST", "/", **logs_call("Logs_20140328.NoSuchOp", b"{}"), status=400,
         code="UnknownOperationException"),
    Case("logs-target-without-op", "logs", "POST", "/", **logs_call("Logs_20140328.", b"{}"), status=400,
         code="UnknownOperationException"),
    Case("logs-target-garbage", "logs", "POST", "/", **logs_call("\u00ff garbage", b"{}"), status=400),
    Case("logs-no-target", "logs", "POST", "/", b"{}", {"Content-Type": "application/x-amz-json-1.1"}, 400),
    Case("logs-big-events", "logs", "POST", "/", **logs_call("Logs_20140328.PutLogEvents", json.dumps({
        "logGroupName": "g", "logStreamName": "s",
        "logEvents": [{"timestamp": 1, "message": "m" * 1000}] * 2000}).encode()), status=400),
    # -- rest-json (Lambda)
    Case("lambda-unknown-path", "lambda", "GET", "/2015-03-31/no-such-thing", status=404,
         code="UnknownOperationException"),
    Case("lambda-unknown-method", "lambda", "PATCH", LAMBDA_FN + "/f", status=404, code="UnknownOperationException"),
    Case("lambda-bad-percent-label", "lambda", "GET", LAMBDA_FN + "/%zz/configuration", status=None),
    # botocore signs the path as given; whether a 403 (signature) or a 400 comes back is not the point.
    Case("lambda-invalid-utf8-label", "lambda", "GET", LAMBDA_FN + "/%ff%fe/configuration"),
    Case("lambda-nul-label", "lambda", "GET", LAMBDA_FN + "/a%00b/configuration", status=400,
         code="ValidationException"),
    Case("lambda-newline-label", "lambda", "GET", LAMBDA_FN + "/a%0Ab", status=400, code="ValidationException"),
    Case("lambda-truncated-json", "lambda", "POST", LAMBDA_FN, b'{"FunctionName": ', {"Content-Type": "application/json"},
         400),
    Case("lambda-array-body", "lambda", "POST", LAMBDA_FN, b"[]", {"Content-Type": "application/json"}, 400),
    Case("lambda-lone-surrogate", "lambda", "POST", LAMBDA_FN, b'{"FunctionName": "\\udfff"}',
         {"Content-Type": "application/json"}, 400),
    Case("lambda-bad-query-int", "lambda", "GET", LAMBDA_FN + "?MaxItems=lots", status=400),
    Case("lambda-invoke-too-large", "lambda", "POST", LAMBDA_FN + "/nope/invocations", b"x" * (6 * 1024 * 1024 + 10)),
    Case("logs-non-utf8-token", "logs", "POST", "/", b"{}",
         {"X-Amz-Target": LOGS_DESCRIBE, "Content-Type": "application/x-amz-json-1.1",
          "X-Amz-Security-Token": "tok\u00ffen"}),
    Case("iam-non-utf8-header", "iam", "POST", "/", (IAM + "Action=ListRoles").encode(),
         {"Content-Type": FORM, "X-Amz-Meta": "\u00e9\u00ff"}),
    Case("lambda-invoke-bad-header", "lambda", "POST", LAMBDA_FN + "/nope/invocations", b"{}",
         {"X-Amz-Invocation-Type": "Sometimes", "X-Amz-Client-Context": "!!notbase64"}, 400),
    # -- no service at all
    Case("unsigned-unknown-path", None, "GET", "/no/such/path", status=403, code="MissingAuthenticationToken",
         parse_as="sts"),
    Case("unsigned-garbage-query", None, "GET", "/?%zz=%&&Action", status=403, parse_as="sts"),
    Case("unsigned-post-garbage", None, "POST", "/", b"\x00\xff" * 100, {"Content-Type": FORM}, 403, parse_as="sts"),
]


def _signed(case: Case, endpoint: str) -> tuple[str, dict[str, str], bytes]:
    url = endpoint + case.path
    if case.service is None:
        return url, dict(case.headers), case.body
    model = _SESSION.get_service_model(case.service)
    request = AWSRequest(method=case.method, url=url, data=case.body, headers=dict(case.headers))
    SigV4Auth(Credentials(Config.access_key_id, Config.secret_access_key), model.signing_name or case.service,
              "us-east-1").add_auth(request)
    headers = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in request.headers.items()}
    return url, headers, case.body


@pytest.fixture(scope="module")
def raw_target(cloudlet_server: Any) -> tuple[Any, urllib3.PoolManager, LogWatch]:
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5.0, read=REQUEST_TIMEOUT))
    watch = LogWatch(cloudlet_server.log_path, cloudlet_server.data_dir / "server.out")
    watch.new_bug_lines()  # only what these requests cause counts
    return cloudlet_server, pool, watch


def _answer(raw_target: Any, case: Case) -> tuple[int, dict[str, Any]]:
    server, pool, watch = raw_target
    url, headers, body = _signed(case, server.endpoint_url)
    resp = pool.request(case.method, url, body=body or None, headers=headers, redirect=False)
    model = _SESSION.get_service_model(case.service or case.parse_as or "sts")
    parsed = parse(model, None, resp.status, dict(resp.headers), resp.data) if resp.status >= 300 else {}
    bug_lines = watch.new_bug_lines()
    assert not bug_lines, "\n".join(bug_lines)
    return resp.status, parsed


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_garbage_gets_aws_shaped_4xx(raw_target: Any, case: Case) -> None:
    status, parsed = _answer(raw_target, case)
    code = parsed.get("Error", {}).get("Code", "")
    if case.ok_allowed and status < 300:
        return
    assert 400 <= status < 500, (status, parsed)
    assert code and not code.isdigit(), f"not an AWS error: {status} {parsed}"
    if case.status is not None:
        assert status == case.status, (status, code, parsed)
    if case.code is not None:
        assert code == case.code, (status, code, parsed)


def test_body_over_the_front_door_limit_is_413(raw_target: Any) -> None:
    from cloudlet.server import MAX_BODY_BYTES

    case = Case("lambda-over-limit", "lambda", "POST", LAMBDA_FN, b"x" * (MAX_BODY_BYTES + 1),
                {"Content-Type": "application/json"})
    status, parsed = _answer(raw_target, case)
    assert (status, parsed["Error"]["Code"]) == (413, "RequestEntityTooLargeException")
