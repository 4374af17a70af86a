"""The Runtime API's fast path (runtime_fastpath.py) serves only the requests it understands
completely and hands anything else to aiohttp, as the Runtime API answered it before. Run from
where a function's own code would try it: inside the function, on raw connections to its own
AWS_LAMBDA_RUNTIME_API while its invocation is in flight (pipelined, chunked, duplicated lengths,
garbage, unknown paths); the environment must go on serving its own runtime."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from lambda_helpers import lambda_role, make_zip

PROBE = r'''
import os, socket

def _exchange(data):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(data)
    s.settimeout(0.5)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except socket.timeout:
        pass
    s.close()
    return out.decode("latin-1")

def handler(event, context):
    bogus = "POST /2018-06-01/runtime/invocation/{}/response HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\n\"no\""
    return {
        "rid": context.aws_request_id,
        "unknown_path": _exchange(b"GET /2018-06-01/runtime/nope HTTP/1.1\r\nHost: x\r\n\r\n"),
        "pipelined": _exchange((bogus.format("bogus-1") + bogus.format("bogus-2")).encode()),
        "chunked": _exchange(b"POST /2018-06-01/runtime/invocation/bogus-3/response HTTP/1.1\r\nHost: x\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n4\r\n\"no\"\r\n0\r\n\r\n"),
        "double_length": _exchange(("POST /2018-06-01/runtime/invocation/" + context.aws_request_id
                                    + "/response HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                    "Content-Length: 9\r\n\r\n\"no\"").encode()),
        "garbage": _exchange(b"HELLO\r\n\r\n"),
        "bad_name": _exchange(b"POST /2018-06-01/runtime/invocation/bogus-5/response HTTP/1.1\r\nHost: x\r\n"
                              b"Bad Name: 1\r\nContent-Length: 4\r\n\r\n\"no\""),
        "then_unknown": _exchange((bogus.format("bogus-4")).encode()
                                  + b"GET /2018-06-01/runtime/elsewhere HTTP/1.1\r\nHost: x\r\n\r\n"),
    }
'''


@pytest.fixture(scope="module")
def probe(boto3_client: Any) -> str:
    lam = boto3_client("lambda")
    role = lambda_role(boto3_client, "lambda-fastpath-role")
    name = "runtime-fastpath-probe"
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler", Timeout=30,
                        Code={"ZipFile": make_zip({"app.py": PROBE})})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def _statuses(raw: str) -> list[str]:
    return re.findall(r"HTTP/1\.[01] (\d{3}) ", raw)


def test_requests_the_fast_path_does_not_serve_get_the_runtime_apis_answers(boto3_client: Any, probe: str) -> None:
    lam = boto3_client("lambda")
    for _ in range(2):  # a cold and a warm environment
        out = lam.invoke(FunctionName=probe, Payload=b"{}")
        assert "FunctionError" not in out
        got = json.loads(out["Payload"].read())
        assert got["rid"] == out["ResponseMetadata"]["RequestId"]  # its own result went through
        assert _statuses(got["unknown_path"]) == ["404"] and '"errorType": "NotFound"' in got["unknown_path"]
        # Results for invocations that are not the current one, one after the other on one connection.
        assert _statuses(got["pipelined"]) == ["400", "400"]
        assert got["pipelined"].count('"errorType": "InvalidRequestID"') == 2
        assert _statuses(got["chunked"]) == ["400"] and "InvalidRequestID" in got["chunked"]
        # Two lengths (a smuggling attempt) for the function's own invocation: refused, not taken.
        assert _statuses(got["double_length"]) == ["400"] and "InvalidRequestID" not in got["double_length"]
        assert _statuses(got["garbage"]) == ["400"]
        assert _statuses(got["bad_name"]) == ["400"] and "InvalidRequestID" not in got["bad_name"]
        assert _statuses(got["then_unknown"]) == ["400", "404"]
