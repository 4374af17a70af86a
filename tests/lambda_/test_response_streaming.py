"""Lambda response streaming through a real cloudlet: a Node.js handler wrapped in
awslambda.streamifyResponse, read with boto3's invoke_with_response_stream (botocore's own
event-stream parser) and a RESPONSE_STREAM function URL read chunk by chunk;
a buffered Python handler invoked the streaming way; an error part-way through a stream.
(The stock aws CLI here is v1, which leaves out event-stream operations such as
invoke-with-response-stream; only v2 has the command.)"""

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
  if (event.exit) {
    process.exit(3);
  }
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



def test_error_part_way_ends_the_stream_with_the_error(lam: Any, node_fn: str) -> None:
    events = [e for _, e in _read(lam.invoke_with_response_stream(
        FunctionName=node_fn, Payload=json.dumps({"fail": True, "pause": 50}), LogType="Tail"))]
    assert events[0] == {"PayloadChunk": {"Payload": b"first;"}}
    done = events[-1]["InvokeComplete"]
    assert done["ErrorCode"] == "Error" and done["ErrorDetails"] == "broke mid-stream"
    assert "broke mid-stream" in base64.b64decode(done["LogResult"]).decode()
    assert not any(e.get("PayloadChunk", {}).get("Payload") == b"second" for e in events)
    # The environment lived through it: the next stream is whole.
    again = [e for _, e in _read(lam.invoke_with_response_stream(FunctionName=node_fn,
                                                                Payload=json.dumps({"pause": 10})))]
    assert b"".join(e["PayloadChunk"]["Payload"] for e in again if "PayloadChunk" in e) == b"first;second"


def test_timeout_part_way_ends_the_stream(lam: Any, role_arn: str) -> None:
    lam.create_function(FunctionName="stream-node-short", Role=role_arn, Runtime="nodejs20.x",
                        Handler="index.handler", Code={"ZipFile": make_zip({"index.js": NODE_SRC})}, Timeout=2)
    try:
        lam.get_waiter("function_active_v2").wait(FunctionName="stream-node-short",
                                                  WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        events = [e for _, e in _read(lam.invoke_with_response_stream(
            FunctionName="stream-node-short", Payload=json.dumps({"pause": 5000})))]
        assert events[0] == {"PayloadChunk": {"Payload": b"first;"}}
        done = events[-1]["InvokeComplete"]
        assert done["ErrorCode"] == "Sandbox.Timedout" and "Task timed out after 2.00 seconds" in done["ErrorDetails"]
    finally:
        lam.delete_function(FunctionName="stream-node-short")


def test_runtime_crash_part_way_is_reported(lam: Any, node_fn: str) -> None:
    events = [e for _, e in _read(lam.invoke_with_response_stream(
        FunctionName=node_fn, Payload=json.dumps({"exit": True, "pause": 50})))]
    assert events[0] == {"PayloadChunk": {"Payload": b"first;"}}
    done = events[-1]["InvokeComplete"]
    assert done["ErrorCode"] == "Runtime.ExitError" and "exit status 3" in done["ErrorDetails"]


def test_streamed_response_passes_the_buffered_limit(lam: Any, node_fn: str) -> None:
    """7 MiB streams whole (over the 6 MB of a buffered answer); a plain Invoke of it fails."""
    resp = lam.invoke_with_response_stream(FunctionName=node_fn, Payload=json.dumps({"big": 7, "pause": 1}))
    events = list(resp["EventStream"])
    body = b"".join(e["PayloadChunk"]["Payload"] for e in events if "PayloadChunk" in e)
    assert len(body) == len(b"first;second") + 7 * 1024 * 1024 and events[-1] == {"InvokeComplete": {}}
    plain = lam.invoke(FunctionName=node_fn, Payload=json.dumps({"big": 7, "pause": 1}))
    assert plain["FunctionError"] == "Unhandled"
    assert json.loads(plain["Payload"].read())["errorType"] == "Function.ResponseSizeTooLarge"


def test_streamed_response_over_200_mib_ends_with_the_size_error(lam: Any, role_arn: str) -> None:
    """Lambda's streamed-response limit (200 MiB since July 2025): past it the stream ends
    with Function.ResponseSizeTooLarge; what came before it was delivered."""
    name = "stream-node-big"
    lam.create_function(FunctionName=name, Role=role_arn, Runtime="nodejs20.x", Handler="index.handler",
                        Code={"ZipFile": make_zip({"index.js": NODE_SRC})}, Timeout=120, MemorySize=1024)
    try:
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        size, last = 0, None
        for event in lam.invoke_with_response_stream(FunctionName=name,
                                                     Payload=json.dumps({"big": 201, "pause": 1}))["EventStream"]:
            if "PayloadChunk" in event:
                size += len(event["PayloadChunk"]["Payload"])
            else:
                last = event
        assert last is not None and last["InvokeComplete"]["ErrorCode"] == "Function.ResponseSizeTooLarge"
        assert 200 * 1024 * 1024 - 1024 * 1024 < size <= 200 * 1024 * 1024
    finally:
        lam.delete_function(FunctionName=name)


def test_plain_invoke_of_a_streaming_handler_is_buffered(lam: Any, node_fn: str) -> None:
    out = lam.invoke(FunctionName=node_fn, Payload=json.dumps({"pause": 10}))
    assert out["StatusCode"] == 200 and "FunctionError" not in out
    assert out["Payload"].read() == b"first;second"


def test_buffered_python_handler_answers_one_chunk(lam: Any, py_fn: str) -> None:
    resp = lam.invoke_with_response_stream(FunctionName=py_fn, Payload=json.dumps({"n": 7}), LogType="Tail")
    events = list(resp["EventStream"])
    assert len(events) == 2
    assert json.loads(events[0]["PayloadChunk"]["Payload"]) == {"buffered": True, "n": 7}
    assert "REPORT RequestId" in base64.b64decode(events[1]["InvokeComplete"]["LogResult"]).decode()
    failed = list(lam.invoke_with_response_stream(FunctionName=py_fn, Payload=b'{"boom": 1}')["EventStream"])
    assert failed == [{"InvokeComplete": {"ErrorCode": "ValueError", "ErrorDetails": "bad thing"}}]


def test_invocation_types_and_refusals(lam: Any, py_fn: str, boto3_client: Any) -> None:
    dry = lam.invoke_with_response_stream(FunctionName=py_fn, InvocationType="DryRun")
    assert dry["StatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lam.invoke_with_response_stream(FunctionName=py_fn, InvocationType="Event")
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        lam.invoke_with_response_stream(FunctionName="no-such-function")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.invoke_with_response_stream(FunctionName=py_fn, Payload=b"x" * (6 * 1024 * 1024 + 1))
    assert e.value.response["Error"]["Code"] == "RequestTooLargeException"


def test_authorized_as_lambda_invoke_function(boto3_client: Any, lam: Any, py_fn: str) -> None:
    """A caller allowed only lambda:InvokeFunction may stream; one without it is refused."""
    iam = boto3_client("iam")
    fn_arn = lam.get_function(FunctionName=py_fn)["Configuration"]["FunctionArn"]
    for user, action in (("stream-invoker", "lambda:InvokeFunction"), ("stream-getter", "lambda:GetFunction")):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": fn_arn}]}))
    keys = {u: iam.create_access_key(UserName=u)["AccessKey"] for u in ("stream-invoker", "stream-getter")}

    def as_user(user: str) -> Any:
        k = keys[user]
        return boto3_client("lambda", aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"])

    events = list(as_user("stream-invoker").invoke_with_response_stream(FunctionName=py_fn)["EventStream"])
    assert "PayloadChunk" in events[0]
    with pytest.raises(ClientError) as e:
        as_user("stream-getter").invoke_with_response_stream(FunctionName=py_fn)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "lambda:InvokeFunction" in e.value.response["Error"]["Message"]


URL = re.compile(r"^http://([a-z0-9]{32})\.lambda-url\.us-east-1\.localhost:(\d+)/$")


@pytest.fixture(scope="module")
def stream_url(lam: Any, node_fn: str) -> Iterator[str]:
    url = lam.create_function_url_config(FunctionName=node_fn, AuthType="NONE",
                                         InvokeMode="RESPONSE_STREAM")["FunctionUrl"]
    lam.add_permission(FunctionName=node_fn, StatementId="url", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    lam.add_permission(FunctionName=node_fn, StatementId="invoke", Action="lambda:InvokeFunction", Principal="*",
                       InvokedViaFunctionUrl=True)
    yield url
    lam.delete_function_url_config(FunctionName=node_fn)


def _open(url: str, path: str) -> http.client.HTTPResponse:
    m = URL.match(url)
    assert m, url
    conn = http.client.HTTPConnection("127.0.0.1", int(m.group(2)), timeout=60)
    conn.request("GET", path, headers={"Host": urllib.parse.urlsplit(url).netloc})
    return conn.getresponse()


def test_response_stream_url_streams_chunks_with_the_http_prelude(stream_url: str) -> None:
    resp = _open(stream_url, "/go")
    assert resp.status == 202
    assert resp.getheader("X-Streamed") == "url" and resp.getheader("Content-Type") == "text/plain"
    assert resp.getheader("Set-Cookie") == "c=1"
    assert resp.getheader("Transfer-Encoding") == "chunked"
    first = resp.read1()
    t_first = time.monotonic()
    rest = resp.read()
    assert first == b"first;" and rest == b"second"  # the prelude and its 8 NULs are not in the body
    assert time.monotonic() - t_first > 0.4  # the rest came later, as the function wrote it


def test_response_stream_url_failure_cuts_the_response(stream_url: str) -> None:
    resp = _open(stream_url, "/fail")
    assert resp.status == 202
    with pytest.raises(http.client.IncompleteRead) as e:
        resp.read()
    assert e.value.partial == b"first;"


def test_response_stream_url_with_curl(stream_url: str) -> None:
    if shutil.which("curl") is None:
        pytest.skip("no curl")
    m = URL.match(stream_url)
    assert m
    host = urllib.parse.urlsplit(stream_url).netloc
    proc = subprocess.Popen(["curl", "-sN", "-D", "-", "-H", f"Host: {host}", f"http://127.0.0.1:{m.group(2)}/x"],
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    data = b""
    while b"first;" not in data:
        data += proc.stdout.read1(65536)
    t_first = time.monotonic()
    rest = proc.stdout.read()
    proc.wait(30)
    assert b"HTTP/1.1 202" in data and rest.endswith(b"second") and time.monotonic() - t_first > 0.4


def test_console_shows_the_whole_event_stream(cloudlet_server: Any, node_fn: str) -> None:
    """The console's API call reads the stream to its end and answers its events."""
    from console.console_http import ConsoleHttp, console_secret

    c = ConsoleHttp(cloudlet_server)
    assert c.sign_in(secret=console_secret(cloudlet_server)).status == 200
    got = c.call("lambda", "InvokeWithResponseStream",
                  {"FunctionName": node_fn, "Payload": base64.b64encode(b'{"pause": 10}').decode()})
    assert got.status == 200, got.body
    events = got.body["EventStream"]
    chunks = b"".join(base64.b64decode(e["PayloadChunk"]["Payload"]) for e in events if "PayloadChunk" in e)
    assert chunks == b"first;second" and events[-1] == {"InvokeComplete": {}}
