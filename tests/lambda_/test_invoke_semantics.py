"""Invoke semantics as AWS has them (issue 16): LoggingConfig applied, the response size limit,
REPORT's status and billing, INIT_START, log lines kept whole, cloudlet's variables hidden.
Through the session cloudlet with boto3, against real awslambdaric environments."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from lambda_helpers import lambda_role, make_zip

ROLE_NAME = "lambda-invoke-semantics-role"

SRC = r'''
import json, logging, os, time, uuid
EID = uuid.uuid4().hex  # names this execution environment
log = logging.getLogger("app")

def handler(event, context):
    if "size" in event:
        return "a" * event["size"]
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("log"):
        log.debug("debug-record")
        log.info("info-record")
        log.warning("warn-record")
        print("printed-line")
    if event.get("cr"):
        print("left\rright")
    if event.get("traceback"):
        raise ValueError("line one\nline two")
    return {"eid": EID, "environ": dict(os.environ)}
'''


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME)


def _create(lam: Any, name: str, role: str, **kw: Any) -> None:
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": SRC})}, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _invoke(lam: Any, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return out, json.loads(out["Payload"].read())


def _messages(boto3_client: Any, name: str, until: str) -> list[str]:
    """The log group's events, once one contains UNTIL."""
    logs = boto3_client("logs")
    messages: list[str] = []
    for _ in range(80):
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        messages = [e["message"] for e in events]
        if any(until in m for m in messages):
            return messages
        time.sleep(0.25)
    raise AssertionError(f"no log event with {until!r} in {messages}")


def test_json_logging_config_reaches_runtime_and_filters_levels(boto3_client, role_arn):
    lam = boto3_client("lambda")
    name = "sem-json-logs"
    _create(lam, name, role_arn, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "WARN"})
    out, body = _invoke(lam, name, {"log": True})
    rid = out["ResponseMetadata"]["RequestId"]
    assert body["environ"]["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert body["environ"]["AWS_LAMBDA_LOG_LEVEL"] == "WARN"
    messages = _messages(boto3_client, name, "platform.report")
    records = [json.loads(m) for m in messages if m.startswith("{")]
    # The platform's records in the order and shapes of a real function's JSON log (a cold start's
    # LogResult from AWS, nodejs18.x, 2024): keys in AWS's order, times in milliseconds.
    platform = [r for r in records if str(r.get("type", "")).startswith("platform.")]
    assert [r["type"] for r in platform] == [
        "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
        "platform.runtimeDone", "platform.report"]
    for r in platform:
        assert list(r) == ["time", "type", "record"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"])
    init_start, init_done, init_report, start, done, report = (r["record"] for r in platform)
    assert list(init_start) == ["initializationType", "phase", "runtimeVersion", "runtimeVersionArn",
                                "functionName", "functionVersion"]
    assert init_start["functionName"] == name and init_start["functionVersion"] == "$LATEST"
    assert init_done == {"initializationType": "on-demand", "phase": "init", "status": "success"}
    assert list(init_report) == ["initializationType", "phase", "status", "metrics"]
    assert list(init_report["metrics"]) == ["durationMs"]
    assert start == {"requestId": rid, "version": "$LATEST"}
    assert list(done) == ["requestId", "status", "spans", "metrics"] and done["status"] == "success"
    assert [span["name"] for span in done["spans"]] == ["responseLatency", "responseDuration"]
    assert list(done["metrics"]) == ["durationMs", "producedBytes"] and done["metrics"]["producedBytes"] > 0
    assert list(report) == ["requestId", "status", "metrics"] and report["requestId"] == rid
    assert report["status"] == "success"
    assert list(report["metrics"]) == ["durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB",
                                       "initDurationMs"]
    # The application's WARN record as awslambdaric's JSON; DEBUG and INFO filtered out.
    warn = next(r for r in records if r.get("message") == "warn-record")
    assert warn["level"] == "WARNING" and warn["requestId"] == rid  # as the Python runtime names it
    assert not any("debug-record" in m or "info-record" in m for m in messages)
    # Printed text is not leveled, so it is kept; JSON logs carry no END line.
    assert any(m.rstrip("\n") == "printed-line" for m in messages)
    assert not any(m.startswith("END RequestId") or m.startswith("START RequestId") for m in messages)


def test_system_log_level_warn_drops_platform_records(boto3_client, role_arn):
    lam = boto3_client("lambda")
    name = "sem-json-syswarn"
    _create(lam, name, role_arn, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    _invoke(lam, name, {"log": True})
    messages = _messages(boto3_client, name, "warn-record")
    time.sleep(1.5)  # the report would have been shipped by now
    messages = _messages(boto3_client, name, "warn-record")
    assert not any("platform." in m for m in messages)


def test_response_over_limit_fails_and_environment_survives(boto3_client, role_arn):
    lam = boto3_client("lambda")
    name = "sem-too-large"
    _create(lam, name, role_arn, MemorySize=512, Timeout=30)
    _out, first = _invoke(lam, name, {})
    for size in (6291556 - 2, 7 * 1024 * 1024, 9 * 1024 * 1024):
        out, body = _invoke(lam, name, {"size": size})
        if size + 2 <= 6291556:  # the JSON string's quotes count
            assert "FunctionError" not in out and len(body) == size
            continue
        assert out["FunctionError"] == "Unhandled"
        assert body == {"errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
                        "errorType": "Function.ResponseSizeTooLarge"}
    # Still the same warm environment.
    _out, after = _invoke(lam, name, {})
    assert after["eid"] == first["eid"]


def test_text_logs_init_start_timeout_status_billing_and_carriage_return(boto3_client, role_arn):
    lam = boto3_client("lambda")
    name = "sem-text-logs"
    _create(lam, name, role_arn, Timeout=1)
    out, _body = _invoke(lam, name, {"cr": True})
    rid = out["ResponseMetadata"]["RequestId"]
    messages = _messages(boto3_client, name, f"REPORT RequestId: {rid}")
    assert messages[0].startswith("INIT_START Runtime Version: python:3.12.v")
    assert "\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:" in messages[0]
    # A carriage return inside a printed line stays in its one event.
    assert "left\rright\n" in messages
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {rid}"))
    fields = dict(p.split(": ", 1) for p in report.strip().split("\t")[1:])
    duration, init = float(fields["Duration"].split()[0]), float(fields["Init Duration"].split()[0])
    billed = int(fields["Billed Duration"].split()[0])
    # The INIT phase is billed (AWS, since August 2025).
    assert billed >= duration + init and billed < duration + init + 1.01
    # A multi-line error record is one event (framed by the runtime), with its newlines.
    out, _body = _invoke(lam, name, {"traceback": True})
    rid = out["ResponseMetadata"]["RequestId"]
    messages = _messages(boto3_client, name, f"REPORT RequestId: {rid}")
    record = next(m for m in messages if m.startswith("[ERROR] ValueError"))
    assert "line one\nline two" in record and "Traceback (most recent call last):" in record
    out, _body = _invoke(lam, name, {"sleep": 3})
    rid = out["ResponseMetadata"]["RequestId"]
    messages = _messages(boto3_client, name, f"REPORT RequestId: {rid}")
    report = next(m for m in messages if m.startswith(f"REPORT RequestId: {rid}"))
    assert report.rstrip("\n").endswith("\tStatus: timeout\t")


def test_function_does_not_see_cloudlet_variables(boto3_client, role_arn):
    lam = boto3_client("lambda")
    name = "sem-env"
    _create(lam, name, role_arn)
    _out, body = _invoke(lam, name, {})
    environ = body["environ"]
    leaked = sorted(k for k in environ if k.startswith("CLOUDLET_") or k == "_LAMBDA_TELEMETRY_LOG_FD")
    assert not leaked, leaked
    assert "AWS_LAMBDA_LOG_LEVEL" not in environ


def test_log_levels_only_with_json_where_they_default_to_info(boto3_client, role_arn):
    lam = boto3_client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(FunctionName="sem-text-levels", Role=role_arn, Runtime="python3.12",
                            Handler="app.handler", Code={"ZipFile": make_zip({"app.py": SRC})},
                            LoggingConfig={"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"})
    assert str(e.value).endswith('LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel '
                                 'from your request or change the LogFormat to "JSON" and try again.')
    out = lam.create_function(FunctionName="sem-json-default", Role=role_arn, Runtime="python3.12",
                              Handler="app.handler", Code={"ZipFile": make_zip({"app.py": SRC})},
                              LoggingConfig={"LogFormat": "JSON"})
    assert out["LoggingConfig"] == {"LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "INFO",
                                    "LogGroup": "/aws/lambda/sem-json-default"}


PROC_SCAN_PY = r'''
import os
def handler(event, context):
    found = {}
    for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
        for part in ("environ", "cmdline"):
            try:
                data = open(f"/proc/{pid}/{part}", "rb").read()
            except OSError:
                continue
            if b"CLOUDLET_" in data:
                found[f"{pid}/{part}"] = data.decode("utf-8", "replace")
    return {"found": found, "environ": sorted(k for k in os.environ if k.startswith("CLOUDLET_"))}
'''
PROC_SCAN_JS = r'''
const fs = require("fs");
exports.handler = async () => {
  const found = {};
  for (const pid of [...fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)), "self"]) {
    for (const part of ["environ", "cmdline"]) {
      let data;
      try { data = fs.readFileSync(`/proc/${pid}/${part}`, "latin1"); } catch { continue; }
      if (data.includes("CLOUDLET_")) found[`${pid}/${part}`] = data;
    }
  }
  return { found, environ: Object.keys(process.env).filter((k) => k.startsWith("CLOUDLET_")) };
};
'''


@pytest.mark.parametrize("runtime", ["python3.12", "nodejs20.x"])
def test_no_cloudlet_variable_anywhere_a_function_can_read(boto3_client, role_arn, runtime):
    """A function reads every /proc/PID/environ and cmdline it can see (its own launcher's
    exec environment included): none names a CLOUDLET_* variable."""
    lam = boto3_client("lambda")
    name = f"sem-proc-{runtime.split('.')[0]}"
    code = {"app.py": PROC_SCAN_PY} if runtime.startswith("python") else {"app.js": PROC_SCAN_JS}
    lam.create_function(FunctionName=name, Role=role_arn, Runtime=runtime, Handler="app.handler",
                        Code={"ZipFile": make_zip(code)})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    _out, body = _invoke(lam, name, {})
    assert body == {"found": {}, "environ": []}, body
