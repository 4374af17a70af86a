"""Lambda provider and runtime host against real awslambdaric processes (no server)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from lambda_helpers import HANDLER_SRC, TRUST_LAMBDA, ctx_for, make_zip
from process_helpers import environment_processes, wait_environment_gone
from provider_world import Validated

from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.world import World
from cloudlet.services.iam.provider import IamProvider
from cloudlet.services.lambda_.provider import LambdaProvider
from cloudlet.services.registry import build_world

ROLE = "arn:aws:iam::123456789012:role/fn-role"


class Harness:
    def __init__(self, world: World, provider: LambdaProvider) -> None:
        self.world, self.p = world, Validated(provider)

    @property
    def ctx(self) -> RequestContext:
        # A request id of its own per call, as behind the front door (an invoke's is the invocation's).
        return dataclasses.replace(ctx_for(self.world), request_id=str(uuid.uuid4()))

    async def create(self, name: str = "f1", src: str = HANDLER_SRC, wait: bool = True, **kw: Any) -> dict[str, Any]:
        params = {"FunctionName": name, "Role": ROLE, "Runtime": "python3.12", "Handler": "app.handler",
                  "Code": {"ZipFile": make_zip({"app.py": src})}, **kw}
        out = self.p.create_function(self.ctx, params)
        if wait:
            await self.wait_active(name)
        return out

    async def wait_active(self, name: str) -> dict[str, Any]:
        for _ in range(600):
            cfg = self.p.get_function_configuration(self.ctx, {"FunctionName": name})
            if cfg["State"] != "Pending" and cfg.get("LastUpdateStatus") != "InProgress":
                return cfg
            await asyncio.sleep(0.05)
        raise AssertionError("function never became Active")

    async def invoke(self, name: str = "f1", event: Any = None, **kw: Any) -> dict[str, Any]:
        out = await self.p.invoke(self.ctx, {"FunctionName": name, "Payload": json.dumps(event or {}).encode(), **kw})
        # As through the server: the answer is written, and what runs after it (the invoke's REPORT,
        # its shipping to CloudWatch Logs) has run before the caller's next request is read.
        await asyncio.sleep(0)
        return out


async def _harness() -> Harness:
    data = Path(tempfile.mkdtemp(prefix="cloudlet-lambda-"))
    config = Config.from_env(data_dir=data, runtimes_dir=Config.from_env().runtimes_dir)
    world = build_world(config)
    iam = world.providers["iam"]
    assert isinstance(iam, IamProvider)
    iam.create_role(RequestContext("iam", "CreateRole", "us-east-1", world.root, "r"),
                    {"RoleName": "fn-role", "AssumeRolePolicyDocument": TRUST_LAMBDA})
    p = world.providers["lambda"]
    assert isinstance(p, LambdaProvider)
    await p.start()
    return Harness(world, p)


def with_harness(body: Callable[[Harness], Awaitable[None]]) -> Callable[[], None]:
    """Run an async test body against a fresh harness (no pytest-asyncio here)."""

    def run() -> None:
        async def main() -> None:
            h = await _harness()
            try:
                await body(h)
            finally:
                await h.p.stop()
                shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

        asyncio.run(main())

    run.__name__ = body.__name__
    return run


@with_harness
async def test_create_reports_aws_shape_and_becomes_active(h: Harness) -> None:
    out = await h.create(wait=False)
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert out["FunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:f1"
    assert out["Version"] == "$LATEST" and out["Timeout"] == 3 and out["MemorySize"] == 128
    assert out["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": "/aws/lambda/f1"}
    import hashlib
    z = make_zip({"app.py": HANDLER_SRC})
    assert out["CodeSize"] == len(z)
    assert out["CodeSha256"] == base64.b64encode(hashlib.sha256(z).digest()).decode()
    assert len(out["LastModified"]) == 28 and out["LastModified"].endswith("+0000")
    cfg = await h.wait_active("f1")
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"


@with_harness
async def test_invoke_while_pending_conflicts(h: Harness) -> None:
    await h.create(wait=False)
    with pytest.raises(AWSError) as e:
        await h.invoke()
    assert e.value.code == "ResourceConflictException" and e.value.status == 409
    assert "Pending" in e.value.message


@with_harness
async def test_role_must_trust_lambda(h: Harness) -> None:
    iam = h.world.providers["iam"]
    iam.create_role(RequestContext("iam", "CreateRole", "us-east-1", h.world.root, "r"), {
        "RoleName": "ec2-role",
        "AssumeRolePolicyDocument": TRUST_LAMBDA.replace("lambda.amazonaws.com", "ec2.amazonaws.com")})
    for role in ("arn:aws:iam::123456789012:role/ec2-role", "arn:aws:iam::123456789012:role/missing"):
        with pytest.raises(AWSError) as e:
            h.p.create_function(h.ctx, {"FunctionName": "x", "Role": role, "Runtime": "python3.12",
                                        "Handler": "app.handler", "Code": {"ZipFile": make_zip({"app.py": ""})}})
        assert e.value.code == "InvalidParameterValueException"
        assert e.value.message == "The role defined for the function cannot be assumed by Lambda."


@with_harness
async def test_bad_input_errors(h: Harness) -> None:
    base = {"FunctionName": "x", "Role": ROLE, "Runtime": "python3.12", "Handler": "app.handler",
            "Code": {"ZipFile": make_zip({"app.py": ""})}}
    cases = [
        ({"Code": {"ZipFile": b"not a zip"}}, "InvalidParameterValueException",
         "Could not unzip uploaded file. Please check your file, then try to upload again."),
        ({"Runtime": "python3.7"}, "InvalidParameterValueException", None),
        ({"Code": {"S3Bucket": "my-bucket", "S3Key": "k"}}, "NotImplementedException", None),
        ({"Environment": {"Variables": {"AWS_REGION": "x"}}}, "InvalidParameterValueException", None),
    ]
    for override, code, message in cases:
        with pytest.raises(AWSError) as e:
            h.p.create_function(h.ctx, {**base, **override})
        assert e.value.code == code, override
        if message:
            assert e.value.message == message
    with pytest.raises(AWSError) as e:
        h.p.create_function(h.ctx, {**base, "Code": {"ZipFile": b"\0" * (50 * 1024 * 1024 + 1)}})
    assert e.value.code == "RequestEntityTooLargeException" and e.value.status == 413
    await h.create()
    with pytest.raises(AWSError) as e:
        await h.create()
    assert e.value.code == "ResourceConflictException"
    with pytest.raises(AWSError) as e:
        h.p.get_function(h.ctx, {"FunctionName": "nope"})
    assert e.value.code == "ResourceNotFoundException" and e.value.status == 404
    assert e.value.message == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"


@with_harness
async def test_warm_reuse_errors_and_tail(h: Harness) -> None:
    await h.create(Environment={"Variables": {"GREETING": "hi"}})
    r1 = await h.invoke(event={"env": ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "TZ",
                                       "AWS_EXECUTION_ENV", "AWS_ENDPOINT_URL"]}, LogType="Tail")
    b1 = json.loads(r1["Payload"])
    assert r1["StatusCode"] == 200 and "FunctionError" not in r1 and r1["ExecutedVersion"] == "$LATEST"
    assert b1["env"]["GREETING"] == "hi" and b1["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "f1"
    assert b1["env"]["TZ"] == ":UTC" and b1["env"]["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert b1["env"]["AWS_ENDPOINT_URL"] == h.world.config.endpoint_url
    if h.p.host.isolation is not None and h.p.host.isolation.enabled:
        assert b1["env"]["LAMBDA_TASK_ROOT"] == "/var/task"  # as on AWS, inside the sandbox
    else:
        assert Path(b1["env"]["LAMBDA_TASK_ROOT"]).joinpath("app.py").is_file()
    tail = base64.b64decode(r1["LogResult"]).decode()
    assert f"START RequestId: {b1['rid']} Version: $LATEST" in tail
    assert "Init Duration:" in tail and f"END RequestId: {b1['rid']}" in tail
    r2 = await h.invoke()
    b2 = json.loads(r2["Payload"])
    assert b2["count"] == 2 and b2["pid"] == b1["pid"]  # the module-level counter survived
    r3 = await h.invoke(event={"boom": True}, LogType="Tail")
    err = json.loads(r3["Payload"])
    assert r3["FunctionError"] == "Unhandled" and err["errorType"] == "ValueError"
    assert err["errorMessage"] == "bad thing" and err["stackTrace"]
    assert "[ERROR] ValueError: bad thing" in base64.b64decode(r3["LogResult"]).decode()
    assert "Init Duration" not in base64.b64decode(r3["LogResult"]).decode()


@with_harness
async def test_timeout_and_crash_get_fresh_environment(h: Harness) -> None:
    await h.create(Timeout=1)
    first_body = json.loads((await h.invoke())["Payload"])
    first = environment_processes(first_body)
    r = await h.invoke(event={"sleep": 5}, LogType="Tail")
    body = json.loads(r["Payload"])
    assert r["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in base64.b64decode(r["LogResult"]).decode()
    r = await h.invoke()
    assert json.loads(r["Payload"])["eid"] != first_body["eid"]
    assert wait_environment_gone(first, timeout=2)
    r = await h.invoke(event={"exit": True})
    body = json.loads(r["Payload"])
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")
    assert json.loads((await h.invoke())["Payload"])["count"] == 1


@with_harness
async def test_init_errors(h: Harness) -> None:
    await h.create("imp", src="import no_such_module_here\n")
    r = await h.invoke("imp")
    body = json.loads(r["Payload"])
    assert r["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Unable to import module 'app'")
    await h.create("nohandler", src="x = 1\n")
    body = json.loads((await h.invoke("nohandler"))["Payload"])
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'handler' missing on module 'app'"


@with_harness
async def test_logs_reach_cloudwatch(h: Harness) -> None:
    await h.create()
    rid = json.loads((await h.invoke(event={"k": 1}))["Payload"])["rid"]
    logs = h.world.providers["logs"]
    ctx = RequestContext("logs", "FilterLogEvents", "us-east-1", h.world.root, "r")
    events = logs.filter_log_events(ctx, {"logGroupName": "/aws/lambda/f1"})["events"]
    messages = [e["message"] for e in events]
    assert any(m == f"START RequestId: {rid} Version: $LATEST\n" for m in messages)
    assert any(m.startswith('hello {"k": 1}') for m in messages)
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {rid}"))
    fields = dict(part.split(": ", 1) for part in report.strip().split("\t")[1:])
    assert fields["Memory Size"] == "128 MB" and int(fields["Max Memory Used"].split()[0]) > 1
    assert float(fields["Duration"].split()[0]) > 0 and "Init Duration" in fields
    import re
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", events[0]["logStreamName"])


@with_harness
async def test_update_retires_environment_and_versions_aliases(h: Harness) -> None:
    await h.create()
    first = environment_processes(json.loads((await h.invoke())["Payload"]))
    v1 = h.p.publish_version(h.ctx, {"FunctionName": "f1"})
    assert v1["Version"] == "1" and v1["FunctionArn"].endswith(":f1:1")
    assert h.p.publish_version(h.ctx, {"FunctionName": "f1"})["Version"] == "1"  # nothing changed
    rev = h.p.get_function(h.ctx, {"FunctionName": "f1"})["Configuration"]["RevisionId"]
    upd = h.p.update_function_code(h.ctx, {"FunctionName": "f1", "ZipFile": make_zip(
        {"app.py": "def handler(e, c):\n    return 'v2'\n"})})
    assert upd["LastUpdateStatus"] == "InProgress" and upd["RevisionId"] != rev
    await h.wait_active("f1")
    assert json.loads((await h.invoke())["Payload"]) == "v2"
    assert wait_environment_gone(first, timeout=2)
    h.p.create_alias(h.ctx, {"FunctionName": "f1", "Name": "prod", "FunctionVersion": "1"})
    r = await h.invoke("f1", Qualifier="prod")
    assert r["ExecutedVersion"] == "1" and json.loads(r["Payload"])["count"] == 1
    r = await h.invoke("f1:prod")
    assert r["ExecutedVersion"] == "1"
    versions = h.p.list_versions_by_function(h.ctx, {"FunctionName": "f1"})["Versions"]
    assert [x["Version"] for x in versions] == ["$LATEST", "1"]
    with pytest.raises(AWSError) as e:
        h.p.delete_function(h.ctx, {"FunctionName": "f1", "Qualifier": "1"})
    assert e.value.code == "ResourceConflictException"
    h.p.delete_alias(h.ctx, {"FunctionName": "f1", "Name": "prod"})
    h.p.delete_function(h.ctx, {"FunctionName": "f1", "Qualifier": "1"})
    page = h.p.list_functions(h.ctx, {"MaxItems": 1, "FunctionVersion": "ALL"})
    assert [f["FunctionName"] for f in page["Functions"]] == ["f1"] and "NextMarker" not in page


@with_harness
async def test_concurrency_and_event_invokes(h: Harness) -> None:
    await h.create(Timeout=5)
    h.p.put_function_concurrency(h.ctx, {"FunctionName": "f1", "ReservedConcurrentExecutions": 2})
    assert h.p.get_function_concurrency(h.ctx, {"FunctionName": "f1"}) == {"ReservedConcurrentExecutions": 2}
    slow = [asyncio.ensure_future(h.invoke(event={"sleep": 1.0})) for _ in range(2)]
    await asyncio.sleep(0.5)
    with pytest.raises(AWSError) as e:
        await h.invoke()
    assert e.value.code == "TooManyRequestsException" and e.value.status == 429
    eids = {json.loads((await s)["Payload"])["eid"] for s in slow}
    assert len(eids) == 2
    # Zero reserved concurrency throttles even while warm environments sit idle.
    h.p.put_function_concurrency(h.ctx, {"FunctionName": "f1", "ReservedConcurrentExecutions": 0})
    with pytest.raises(AWSError) as e:
        await h.invoke()
    assert e.value.code == "TooManyRequestsException"
    h.p.delete_function_concurrency(h.ctx, {"FunctionName": "f1"})
    assert h.p.get_function_concurrency(h.ctx, {"FunctionName": "f1"}) == {}
    r = await h.invoke(event={"marker": "evt-123"}, InvocationType="Event")
    assert r == {"StatusCode": 202}
    r = await h.invoke(InvocationType="DryRun")
    assert r["StatusCode"] == 204
    logs = h.world.providers["logs"]
    ctx = RequestContext("logs", "FilterLogEvents", "us-east-1", h.world.root, "r")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msgs = [e["message"] for e in logs.filter_log_events(ctx, {"logGroupName": "/aws/lambda/f1"})["events"]]
        if any("evt-123" in m for m in msgs):
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the Event invoke never ran")


@with_harness
async def test_stop_kills_every_environment(h: Harness) -> None:
    await h.create()
    first = environment_processes(json.loads((await h.invoke())["Payload"]))
    await h.p.stop()
    assert wait_environment_gone(first, timeout=2)
    await h.p.start()


@with_harness
async def test_cache_hostnames_resolve_inside_the_environment(h: Harness) -> None:
    h.world.hosts.register("cache-01-abc123.serverless.use1.cache.amazonaws.com", "127.77.0.9")
    src = ("import socket\n"
           "def handler(event, context):\n"
           "    n = event['name']\n"
           "    return [socket.gethostbyname(n), socket.getaddrinfo(n, 6379, socket.AF_INET)[0][4][0],\n"
           "            socket.gethostbyname('localhost')]\n")
    await h.create("dns", src=src)
    r = await h.invoke("dns", event={"name": "CACHE-01-abc123.serverless.use1.cache.amazonaws.com"})
    assert json.loads(r["Payload"]) == ["127.77.0.9", "127.77.0.9", "127.0.0.1"]
    h.world.hosts.register("later.serverless.use1.cache.amazonaws.com", "127.77.0.10")
    r = await h.invoke("dns", event={"name": "later.serverless.use1.cache.amazonaws.com"})
    assert json.loads(r["Payload"])[0] == "127.77.0.10"  # a warm environment sees new names
