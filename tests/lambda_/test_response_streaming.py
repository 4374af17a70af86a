"""Lambda response streaming through a real cloudlet: a Node.js handler wrapped in
awslambda.streamifyResponse, read with boto3's invoke_with_response_stream (botocore's own
event-stream parser), the aws CLI, and a RESPONSE_STREAM function URL read chunk by chunk;
a buffered Python handler invoked the streaming way; an error part-way through a stream."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_helpers import lambda_role, make_zip

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="no node on this machine")

ROLE_NAME = "lambda-stream-role"
NODE_SRC = r'''
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  console.log("streaming for", context.awsRequestId);
  if (event.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201, headers: {"Content-Type": "text/plain", "X-Streamed": "yes"}});
  } else if (!event.rawPath) {
    responseStream.setContentType("text/plain");
  }
  if (event.rawPath) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 202, headers: {"Content-Type": "text/plain", "X-Streamed": "url"}, cookies: ["c=1"]});
  }
  responseStream.write("first;");
  await sleep(event.pause ?? 600);
  if (event.fail || event.rawPath === "/fail") {
    throw new Error("broke mid-stream");
  }
  if (event.big) {
    const block = "x".repeat(1024 * 1024);
    for (let i = 0; i < event.big; i++) { responseStream.write(block); }
  }
  responseStream.write("second");
  responseStream.end();
});
'''
PY_SRC = '''
def handler(event, context):
    if event.get("boom"):
        raise ValueError("bad thing")
    return {"buffered": True, "n": event.get("n")}
'''


@pytest.fixture(scope="module")
def lam(boto3_client: Any) -> Any:
    return boto3_client("lambda")


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME)


def _create(lam: Any, name: str, role_arn: str, runtime: str, files: dict[str, str], handler: str) -> None:
    lam.create_function(FunctionName=name, Role=role_arn, Runtime=runtime, Handler=handler,
                        Code={"ZipFile": make_zip(files)}, Timeout=30)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


@pytest.fixture(scope="module")
def node_fn(lam: Any, role_arn: str) -> Iterator[str]:
    _create(lam, "stream-node", role_arn, "nodejs20.x", {"index.js": NODE_SRC}, "index.handler")
    yield "stream-node"
    lam.delete_function(FunctionName="stream-node")


@pytest.fixture(scope="module")
def py_fn(lam: Any, role_arn: str) -> Iterator[str]:
    _create(lam, "stream-py", role_arn, "python3.12", {"app.py": PY_SRC}, "app.handler")
    yield "stream-py"
    lam.delete_function(FunctionName="stream-py")


def _read(resp: Any) -> list[tuple[float, dict[str, Any]]]:
    """Each event with the time it reached the caller."""
    return [(time.monotonic(), ev) for ev in resp["EventStream"]]


def test_chunks_arrive_as_the_function_writes_them(lam: Any, node_fn: str) -> None:
    resp = lam.invoke_with_response_stream(FunctionName=node_fn, Payload=json.dumps({"pause": 800}))
    assert resp["StatusCode"] == 200 and resp["ExecutedVersion"] == "$LATEST"
    assert resp["ResponseStreamContentType"] == "text/plain"
    events = _read(resp)
    chunks = [(t, e["PayloadChunk"]["Payload"]) for t, e in events if "PayloadChunk" in e]
    assert b"".join(c for _, c in chunks) == b"first;second"
    assert chunks[0][1] == b"first;"
    # The second write came 800 ms after the first: the first reached the caller before it.
    assert chunks[-1][0] - chunks[0][0] > 0.5
    assert events[-1][1] == {"InvokeComplete": {}}

