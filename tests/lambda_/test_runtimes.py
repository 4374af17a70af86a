"""What a runtime must do the same way in every language: context, environment, errors,
timeouts, crashes, logs, init errors, cache names. Each test runs for python3.12 and
nodejs20.x against real runtime interface clients (awslambdaric, aws-lambda-ric)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import shutil
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from lambda_helpers import HANDLER_SRC, make_zip
from process_helpers import environment_processes, wait_environment_gone
from test_provider import Harness, _harness

from cloudlet.core.context import RequestContext

NODE_HANDLER = r'''
const fs = require("node:fs");
const crypto = require("node:crypto");
let count = 0;
const EID = crypto.randomUUID().replaceAll("-", "");  // names this execution environment
console.log("init: module loaded");
exports.handler = async (event, context) => {
  count += 1;
  console.log("hello", JSON.stringify(event));
  if (event.multi) console.warn("line one\nline two");
  if (event.boom) throw new TypeError("bad thing");
  if (event.sleep) await new Promise((r) => setTimeout(r, event.sleep * 1000));
  if (event.exit) process.exit(1);
  return {count, rid: context.awsRequestId, pid: process.pid, eid: EID,
          pidns: fs.readlinkSync("/proc/self/ns/pid"),
          env: Object.fromEntries((event.env || []).map((k) => [k, process.env[k] ?? null])),
          ctx: {name: context.functionName, arn: context.invokedFunctionArn, memory: context.memoryLimitInMB,
                version: context.functionVersion, group: context.logGroupName, stream: context.logStreamName,
                remaining: context.getRemainingTimeInMillis()}};
};
'''

PY_CONTEXT = '''
def _ctx(context):
    return {"name": context.function_name, "arn": context.invoked_function_arn,
            "memory": context.memory_limit_in_mb, "version": context.function_version,
            "group": context.log_group_name, "stream": context.log_stream_name,
            "remaining": context.get_remaining_time_in_millis()}
_orig = handler
def handler(event, context):
    out = _orig(event, context)
    return {**out, "ctx": _ctx(context)} if isinstance(out, dict) else out
'''

RUNTIMES = ["python3.12", "nodejs20.x"]


def _code(runtime: str, src: str | None = None) -> dict[str, Any]:
    """Runtime, Handler and Code of a function whose module is SRC (default: the handler above)."""
    if runtime.startswith("python"):
        return {"Runtime": runtime, "Handler": "app.handler",
                "Code": {"ZipFile": make_zip({"app.py": src if src is not None else HANDLER_SRC + PY_CONTEXT})}}
    return {"Runtime": runtime, "Handler": "index.handler",
            "Code": {"ZipFile": make_zip({"index.js": src if src is not None else NODE_HANDLER})}}


def per_runtime(body: Callable[[Harness, str], Awaitable[None]]) -> Callable[[str], None]:
    """Run an async test body against a fresh harness, once per runtime."""

    @pytest.mark.parametrize("runtime", RUNTIMES)
    def run(runtime: str) -> None:
        if runtime.startswith("nodejs") and shutil.which("node") is None:
            pytest.skip("no node on this machine")

        async def main() -> None:
            h = await _harness()
            try:
                await body(h, runtime)
            finally:
                await h.p.stop()
                shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

        asyncio.run(main())

    run.__name__ = body.__name__
    return run


def _tail(r: dict[str, Any]) -> str:
    return base64.b64decode(r["LogResult"]).decode()


@per_runtime
async def test_environment_context_and_warm_reuse(h: Harness, runtime: str) -> None:
    await h.create(Environment={"Variables": {"GREETING": "hi"}}, MemorySize=256, Timeout=7, **_code(runtime))
    names = ["GREETING", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "TZ", "AWS_EXECUTION_ENV",
             "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_ACCESS_KEY_ID",
             "AWS_SESSION_TOKEN", "_HANDLER", "CLOUDLET_CONFIG_FD", "CLOUDLET_CONTROL_FD"]
    r1 = await h.invoke(event={"env": names}, LogType="Tail")
    b1 = json.loads(r1["Payload"])
    assert r1["StatusCode"] == 200 and "FunctionError" not in r1, b1
    env = b1["env"]
    assert env["GREETING"] == "hi" and env["AWS_LAMBDA_FUNCTION_NAME"] == "f1" and env["TZ"] == ":UTC"
    assert env["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{runtime}" and env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == h.world.config.endpoint_url
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["_HANDLER"].endswith(".handler")
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_SESSION_TOKEN"]
    assert env["CLOUDLET_CONFIG_FD"] is None and env["CLOUDLET_CONTROL_FD"] is None  # cloudlet's own are gone
    if h.p.host.isolation is not None and h.p.host.isolation.enabled:
        assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    ctx = b1["ctx"]
    assert ctx["name"] == "f1" and ctx["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:f1"
    assert str(ctx["memory"]) == "256" and ctx["version"] == "$LATEST" and ctx["group"] == "/aws/lambda/f1"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", ctx["stream"])
    assert 5000 < ctx["remaining"] <= 7000
    tail = _tail(r1)
    assert f"START RequestId: {b1['rid']} Version: $LATEST" in tail and "init: module loaded" in tail
    assert "Init Duration:" in tail and f"END RequestId: {b1['rid']}" in tail
    r2 = await h.invoke()
    b2 = json.loads(r2["Payload"])
    assert b2["count"] == 2 and b2["eid"] == b1["eid"] and b2["rid"] != b1["rid"]


@per_runtime
async def test_handler_errors_as_the_runtime_reports_them(h: Harness, runtime: str) -> None:
    await h.create(**_code(runtime))
    r = await h.invoke(event={"boom": True}, LogType="Tail")
    err = json.loads(r["Payload"])
    assert r["FunctionError"] == "Unhandled" and err["errorMessage"] == "bad thing"
    tail = _tail(r)
    if runtime.startswith("python"):
        assert err["errorType"] == "ValueError" and err["stackTrace"]
        assert "[ERROR] ValueError: bad thing" in tail
    else:
        # aws-lambda-ric: errorType, errorMessage and trace (the stack's lines), logged as an Invoke Error.
        assert err["errorType"] == "TypeError" and err["trace"][0] == "TypeError: bad thing"
        assert any("/index.js:" in line for line in err["trace"][1:]), err["trace"]
        assert re.search(r"Z\t[0-9a-f-]{36}\tERROR\tInvoke Error \t\{\"errorType\":\"TypeError\",\"errorMessage\":\"bad thing\"", tail)
    # A handled error leaves the environment warm.
    assert json.loads((await h.invoke())["Payload"])["count"] == 2


@per_runtime
async def test_timeout_and_crash_get_fresh_environment(h: Harness, runtime: str) -> None:
    await h.create(Timeout=1, **_code(runtime))
    first_body = json.loads((await h.invoke())["Payload"])
    first = environment_processes(first_body)
    r = await h.invoke(event={"sleep": 5}, LogType="Tail")
    body = json.loads(r["Payload"])
    assert r["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in _tail(r)
    r = await h.invoke()
    assert json.loads(r["Payload"])["eid"] != first_body["eid"]
    assert wait_environment_gone(first, timeout=2)
    r = await h.invoke(event={"exit": True})
    body = json.loads(r["Payload"])
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"].endswith("Error: Runtime exited with error: exit status 1")
    assert json.loads((await h.invoke())["Payload"])["count"] == 1


@per_runtime
async def test_init_errors(h: Harness, runtime: str) -> None:
    py = runtime.startswith("python")
    await h.create("imp", **_code(runtime, "import no_such_module_here\n" if py
                                  else "require('no_such_module_here');\n"))
    r = await h.invoke("imp")
    body = json.loads(r["Payload"])
    assert r["FunctionError"] == "Unhandled" and body["errorType"] == "Runtime.ImportModuleError"
    if py:
        assert body["errorMessage"].startswith("Unable to import module 'app'")
    else:
        assert body["errorMessage"].startswith("Error: Cannot find module 'no_such_module_here'")
    await h.create("nohandler", **_code(runtime, "x = 1\n" if py else "exports.other = 1;\n"))
    body = json.loads((await h.invoke("nohandler"))["Payload"])
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == ("Handler 'handler' missing on module 'app'" if py
                                    else "index.handler is undefined or not exported")


@per_runtime
async def test_logs_reach_cloudwatch(h: Harness, runtime: str) -> None:
    await h.create(**_code(runtime))
    rid = json.loads((await h.invoke(event={"k": 1, "multi": True}))["Payload"])["rid"]
    logs = h.world.providers["logs"]
    ctx = RequestContext("logs", "FilterLogEvents", "us-east-1", h.world.root, "r")
    events = logs.filter_log_events(ctx, {"logGroupName": "/aws/lambda/f1"})["events"]
    messages = [e["message"] for e in events]
    assert any(m == f"START RequestId: {rid} Version: $LATEST\n" for m in messages)
    if runtime.startswith("python"):
        assert any(m.startswith('hello {"k": 1, "multi": true}') for m in messages)
    else:
        # Lambda's Node.js format: time, request id, level, message; the init phase has no request id.
        assert any(re.fullmatch(rf"\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{rid}\tINFO\thello {{\"k\":1,\"multi\":true}}\n",
                                m) for m in messages), messages
        # A multi-line message is one event, as Lambda stores it; console.warn is WARN.
        assert any(re.fullmatch(rf"\S+Z\t{rid}\tWARN\tline one\nline two\n", m) for m in messages), messages
        assert any(re.fullmatch(r"\S+Z\tundefined\tINFO\tinit: module loaded\n", m) for m in messages), messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {rid}"))
    fields = dict(part.split(": ", 1) for part in report.strip().split("\t")[1:])
    assert fields["Memory Size"] == "128 MB" and int(fields["Max Memory Used"].split()[0]) > 1
    assert float(fields["Duration"].split()[0]) > 0 and "Init Duration" in fields


@per_runtime
async def test_cache_hostnames_resolve_inside_the_environment(h: Harness, runtime: str) -> None:
    h.world.hosts.register("cache-01-abc123.serverless.use1.cache.amazonaws.com", "127.77.0.9")
    if runtime.startswith("python"):
        src = ("import socket\n"
               "def handler(event, context):\n"
               "    n = event['name']\n"
               "    return [socket.gethostbyname(n), socket.gethostbyname('localhost')]\n")
    else:
        src = ("const dns = require('node:dns');\n"
               "exports.handler = async (event) => [(await dns.promises.lookup(event.name, 4)).address,\n"
               "  await new Promise((ok, no) => dns.lookup('localhost', 4, (e, a) => e ? no(e) : ok(a)))];\n")
    await h.create("dns", **_code(runtime, src))
    r = await h.invoke("dns", event={"name": "CACHE-01-abc123.serverless.use1.cache.amazonaws.com"})
    assert json.loads(r["Payload"]) == ["127.77.0.9", "127.0.0.1"]
    h.world.hosts.register("later.serverless.use1.cache.amazonaws.com", "127.77.0.10")
    r = await h.invoke("dns", event={"name": "later.serverless.use1.cache.amazonaws.com"})
    assert json.loads(r["Payload"])[0] == "127.77.0.10"  # a warm environment sees new names


# ---- Node.js only: the handler forms AWS's Node.js runtimes accept ------------------------------

NODE_FORMS: dict[str, tuple[str, dict[str, str]]] = {
    "callback": ("index.handler", {"index.js": "exports.handler = (event, context, callback) => {\n"
                                               "  setTimeout(() => callback(null, {form: 'callback', got: event.x}), 5);\n};\n"}),
    "callback-error": ("index.handler", {"index.js": "exports.handler = (e, c, callback) => callback(new RangeError('cb'));\n"}),
    "mjs": ("app.handler", {"app.mjs": "export const handler = async (event) => ({form: 'mjs', got: event.x});\n"}),
    "type-module": ("src/index.handler", {"package.json": '{"type": "module"}',
                                          "src/index.js": "export async function handler(event) {\n"
                                                          "  return {form: 'type-module', got: event.x};\n}\n"}),
    "esm-sdk": ("index.handler", {"index.mjs": "import { STSClient } from '@aws-sdk/client-sts';\n"
                                               "export const handler = async (event) => ({form: 'esm-sdk', got: event.x,\n"
                                               "  sdk: typeof STSClient});\n"}),
    "cjs-sdk": ("index.handler", {"index.js": "const { LambdaClient } = require('@aws-sdk/client-lambda');\n"
                                              "exports.handler = async (event) => ({form: 'cjs-sdk', got: event.x,\n"
                                              "  sdk: typeof LambdaClient});\n"}),
}


@pytest.mark.parametrize("form", sorted(NODE_FORMS))
def test_node_handler_forms(form: str) -> None:
    if shutil.which("node") is None:
        pytest.skip("no node on this machine")
    handler, files = NODE_FORMS[form]

    async def main() -> None:
        h = await _harness()
        try:
            await h.create(Runtime="nodejs20.x", Handler=handler, Code={"ZipFile": make_zip(files)})
            r = await h.invoke(event={"x": 7})
            body = json.loads(r["Payload"])
            if form == "callback-error":
                assert r["FunctionError"] == "Unhandled"
                assert body["errorType"] == "RangeError" and body["errorMessage"] == "cb", body
                return
            assert "FunctionError" not in r, body
            assert body["form"] == form and body["got"] == 7
            if "sdk" in form:
                assert body["sdk"] == "function"
        finally:
            await h.p.stop()
            shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

    asyncio.run(main())


def test_a_missing_node_major_runs_on_the_nearest_and_says_so() -> None:
    from cloudlet.services.lambda_.node_runtimes import discover_nodes

    installed = discover_nodes()
    if not installed:
        pytest.skip("no node on this machine")
    missing = next((r for r in ("nodejs22.x", "nodejs24.x", "nodejs20.x")
                    if int(r[len("nodejs"):-2]) not in installed), None)
    if missing is None:
        pytest.skip("every Node.js runtime's major is installed here")

    async def main() -> None:
        h = await _harness()
        try:
            await h.create(**{**_code("nodejs20.x"), "Runtime": missing})
            r = await h.invoke(event={"env": ["AWS_EXECUTION_ENV"]}, LogType="Tail")
            body = json.loads(r["Payload"])
            assert "FunctionError" not in r, body
            assert body["env"]["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{missing}"
            want = missing[len("nodejs"):-2]
            assert re.search(rf"cloudlet: no Node\.js {want} on this machine for runtime {re.escape(missing)}; "
                             r"running it with Node\.js \d+\.\d+ \(/\S+\)", _tail(r)), _tail(r)
        finally:
            await h.p.stop()
            shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

    asyncio.run(main())


def test_node_options_of_the_function_act_at_startup() -> None:
    """NODE_OPTIONS is read by node only when it starts: it must be in node's exec environment."""
    if shutil.which("node") is None:
        pytest.skip("no node on this machine")

    async def main() -> None:
        h = await _harness()
        try:
            src = "exports.handler = async () => ({noDeprecation: process.noDeprecation === true});\n"
            await h.create(Environment={"Variables": {"NODE_OPTIONS": "--no-deprecation"}},
                           **_code("nodejs20.x", src))
            assert json.loads((await h.invoke())["Payload"]) == {"noDeprecation": True}
        finally:
            await h.p.stop()
            shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

    asyncio.run(main())


def test_a_runtime_cloudlet_cannot_run_fails_the_function() -> None:
    async def main() -> None:
        h = await _harness()
        try:
            cfg = await h.create(**{**_code("nodejs20.x"), "Runtime": "java21"})
            cfg = await h.wait_active("f1")
            assert cfg["State"] == "Failed" and cfg["StateReasonCode"] == "InvalidRuntime", cfg
        finally:
            await h.p.stop()
            shutil.rmtree(h.world.config.data_dir, ignore_errors=True)

    asyncio.run(main())
