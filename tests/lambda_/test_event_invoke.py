"""Asynchronous invokes retried as AWS retries them, and the EventInvokeConfig API that tunes
them (persisted), through real cloudlets with boto3 and real awslambdaric environments."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from cloudlet_process import REGION, ROOT_KEY, ROOT_SECRET, CloudletProcess
from lambda_helpers import lambda_role, make_zip

SRC = '''
import json

def handler(event, context):
    print("attempt", context.aws_request_id)
    print("event", json.dumps(event))
    if event.get("fail"):
        raise RuntimeError("failing on purpose")
    return "ok"
'''


def _client(server: CloudletProcess, service: str) -> Any:
    return boto3.session.Session().client(service, endpoint_url=server.endpoint_url, region_name=REGION,
                                          aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET)


def _factory_client(server: CloudletProcess) -> Any:
    return lambda service, **_kw: _client(server, service)


def _create(lam: Any, name: str, role: str) -> None:
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": SRC})}, Timeout=5)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def _starts(logs: Any, name: str, request_id: str) -> list[int]:
    """Timestamps of the START lines of REQUEST_ID's attempts."""
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(e["timestamp"] for e in events if e["message"].startswith(f"START RequestId: {request_id} "))


def _wait_starts(logs: Any, name: str, request_id: str, count: int, within: float) -> list[int]:
    deadline = time.monotonic() + within
    starts: list[int] = []
    while time.monotonic() < deadline:
        starts = _starts(logs, name, request_id)
        if len(starts) >= count:
            return starts
        time.sleep(0.25)
    return starts


def test_failed_event_is_retried_twice_with_growing_delays_and_config_limits_it(cloudlet_factory: Any) -> None:
    server = cloudlet_factory(CLOUDLET_LAMBDA_EVENT_RETRY_S="1")
    lam, logs = _client(server, "lambda"), _client(server, "logs")
    role = lambda_role(_factory_client(server), "event-retry-role", "arn:aws:iam::aws:policy/service-role/AWSLambdaRole")
    for name in ("ev-default", "ev-no-retry", "ev-ok", "ev-sink"):
        _create(lam, name, role)
    sink = lam.get_function_configuration(FunctionName="ev-sink")["FunctionArn"]
    lam.put_function_event_invoke_config(FunctionName="ev-no-retry", MaximumRetryAttempts=0)
    # Destinations: the invocation record goes to a function (the execution role may invoke it).
    lam.put_function_event_invoke_config(FunctionName="ev-default", DestinationConfig={"OnFailure": {"Destination": sink}})
    lam.put_function_event_invoke_config(FunctionName="ev-ok", DestinationConfig={"OnSuccess": {"Destination": sink}})

    failing = lam.invoke(FunctionName="ev-default", InvocationType="Event", Payload=json.dumps({"fail": True}))
    assert failing["StatusCode"] == 202
    once = lam.invoke(FunctionName="ev-no-retry", InvocationType="Event", Payload=json.dumps({"fail": True}))
    fine = lam.invoke(FunctionName="ev-ok", InvocationType="Event", Payload=b"{}")

    rid = failing["ResponseMetadata"]["RequestId"]
    starts = _wait_starts(logs, "ev-default", rid, 3, within=30)
    # Three attempts of the one event, with the same request id: 1 s, then 2 s more (scaled from AWS's 1 and 2 min).
    assert len(starts) == 3, starts
    assert starts[1] - starts[0] >= 1000 and starts[2] - starts[1] >= 2000
    time.sleep(3)
    assert len(_starts(logs, "ev-default", rid)) == 3  # and no fourth
    assert len(_starts(logs, "ev-no-retry", once["ResponseMetadata"]["RequestId"])) == 1
    assert len(_starts(logs, "ev-ok", fine["ResponseMetadata"]["RequestId"])) == 1
    records = _records(logs, "ev-sink", 2)
    failed = next(r for r in records if r["requestContext"]["requestId"] == rid)
    assert failed["requestContext"] == {"requestId": rid, "functionArn": failed["requestContext"]["functionArn"],
                                        "condition": "RetriesExhausted", "approximateInvokeCount": 3}
    assert failed["requestContext"]["functionArn"].endswith(":function:ev-default:$LATEST")
    assert failed["requestPayload"] == {"fail": True} and failed["version"] == "1.0"
    assert failed["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert failed["responsePayload"]["errorType"] == "RuntimeError"
    ok = next(r for r in records if r["requestContext"]["requestId"] == fine["ResponseMetadata"]["RequestId"])
    assert ok["requestContext"]["condition"] == "Success" and ok["responsePayload"] == "ok"
    assert ok["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}


def _records(logs: Any, name: str, count: int) -> list[dict[str, Any]]:
    """The invocation records destination function NAME printed, once there are COUNT."""
    records: list[dict[str, Any]] = []
    for _ in range(80):
        try:
            events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
        except logs.exceptions.ResourceNotFoundException:
            events = []
        records = [json.loads(e["message"][len("event "):]) for e in events if e["message"].startswith("event ")]
        if len(records) >= count:
            return records
        time.sleep(0.25)
    raise AssertionError(f"{len(records)} records at {name}: {records}")


def test_event_invoke_config_operations_as_aws_answers(boto3_client: Any) -> None:
    lam = boto3_client("lambda")
    role = lambda_role(boto3_client, "event-config-role")
    _create(lam, "ev-config", role)
    arn = lam.get_function_configuration(FunctionName="ev-config")["FunctionArn"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as e:
        lam.get_function_event_invoke_config(FunctionName="ev-config")
    assert e.value.response["Error"]["Message"] == f"The function {arn}:$LATEST doesn't have an EventInvokeConfig"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.update_function_event_invoke_config(FunctionName="ev-config", MaximumRetryAttempts=1)

    put = lam.put_function_event_invoke_config(FunctionName="ev-config", MaximumRetryAttempts=1,
                                               MaximumEventAgeInSeconds=120)
    assert put["FunctionArn"] == f"{arn}:$LATEST"
    assert put["MaximumRetryAttempts"] == 1 and put["MaximumEventAgeInSeconds"] == 120
    assert put["LastModified"].year >= 2024  # a timestamp, as botocore parses it
    # Update merges; Put replaces (what it leaves out is gone).
    upd = lam.update_function_event_invoke_config(FunctionName="ev-config", MaximumRetryAttempts=0)
    assert upd["MaximumRetryAttempts"] == 0 and upd["MaximumEventAgeInSeconds"] == 120
    put = lam.put_function_event_invoke_config(FunctionName="ev-config", MaximumEventAgeInSeconds=60)
    assert "MaximumRetryAttempts" not in put and put["MaximumEventAgeInSeconds"] == 60

    lam.publish_version(FunctionName="ev-config")
    lam.put_function_event_invoke_config(FunctionName="ev-config", Qualifier="1", MaximumRetryAttempts=2)
    listed = lam.list_function_event_invoke_configs(FunctionName="ev-config")["FunctionEventInvokeConfigs"]
    assert sorted(c["FunctionArn"] for c in listed) == [f"{arn}:$LATEST", f"{arn}:1"]
    page = lam.list_function_event_invoke_configs(FunctionName="ev-config", MaxItems=1)
    assert len(page["FunctionEventInvokeConfigs"]) == 1 and page["NextMarker"]

    # Out of range, an unknown version, nothing to set, destinations (not implemented).
    with pytest.raises(lam.exceptions.ClientError) as e:
        lam.put_function_event_invoke_config(FunctionName="ev-config", MaximumRetryAttempts=3)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="ev-config", Qualifier="9", MaximumRetryAttempts=1)
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_function_event_invoke_config(FunctionName="ev-config")
    with pytest.raises(lam.exceptions.ClientError) as e:
        lam.put_function_event_invoke_config(
            FunctionName="ev-config", DestinationConfig={"OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:q"}})
    assert e.value.response["Error"]["Code"] == "NotImplementedException"

    # The execution role must be allowed to invoke a function destination.
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.put_function_event_invoke_config(FunctionName="ev-config",
                                             DestinationConfig={"OnFailure": {"Destination": f"{arn}-other"}})
    assert "does not have permissions to call InvokeFunction" in str(e.value)

    lam.delete_function_event_invoke_config(FunctionName="ev-config", Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_event_invoke_config(FunctionName="ev-config", Qualifier="1")
    listed = lam.list_function_event_invoke_configs(FunctionName="ev-config")["FunctionEventInvokeConfigs"]
    assert [c["FunctionArn"] for c in listed] == [f"{arn}:$LATEST"]


def test_event_invoke_config_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = CloudletProcess(data)
    try:
        lam = _client(server, "lambda")
        _create(lam, "ev-kept", lambda_role(_factory_client(server), "event-kept-role"))
        lam.put_function_event_invoke_config(FunctionName="ev-kept", MaximumRetryAttempts=1,
                                             MaximumEventAgeInSeconds=300)
    finally:
        server.stop()
    server = CloudletProcess(data)
    try:
        got = _client(server, "lambda").get_function_event_invoke_config(FunctionName="ev-kept")
        assert got["MaximumRetryAttempts"] == 1 and got["MaximumEventAgeInSeconds"] == 300
    finally:
        server.stop()


def test_event_older_than_its_maximum_age_is_not_retried(cloudlet_factory: Any) -> None:
    # A first retry 61 s after the failure would find the event older than its 60 s limit.
    server = cloudlet_factory(CLOUDLET_LAMBDA_EVENT_RETRY_S="61")
    lam, logs = _client(server, "lambda"), _client(server, "logs")
    _create(lam, "ev-aged", lambda_role(_factory_client(server), "event-age-role"))
    lam.put_function_event_invoke_config(FunctionName="ev-aged", MaximumEventAgeInSeconds=60)
    out = lam.invoke(FunctionName="ev-aged", InvocationType="Event", Payload=json.dumps({"fail": True}))
    rid = out["ResponseMetadata"]["RequestId"]
    assert len(_wait_starts(logs, "ev-aged", rid, 1, within=20)) == 1
    deadline = time.monotonic() + 10
    while f"asynchronous invoke {rid} of ev-aged dropped: older than 60 s" not in server.log_tail(200):
        assert time.monotonic() < deadline, server.log_tail(40)
        time.sleep(0.25)


@pytest.mark.parametrize("how", ["stop", "kill -9"])
def test_acknowledged_event_survives_a_restart(tmp_path: Path, how: str) -> None:
    """An event answered 202 is delivered even when cloudlet restarts before its retry is due."""
    data = tmp_path / "data"
    env = {"CLOUDLET_LAMBDA_EVENT_RETRY_S": "4"}
    server = CloudletProcess(data, extra_env=env)
    try:
        lam, logs = _client(server, "lambda"), _client(server, "logs")
        _create(lam, "ev-restart", lambda_role(_factory_client(server), "event-restart-role"))
        rid = lam.invoke(FunctionName="ev-restart", InvocationType="Event",
                         Payload=json.dumps({"fail": True}))["ResponseMetadata"]["RequestId"]
        assert len(_wait_starts(logs, "ev-restart", rid, 1, 60)) == 1  # the first attempt failed
        if how == "stop":
            server.stop()
        else:
            server.proc.kill()
            server.proc.wait()
    finally:
        server.stop()
    server = CloudletProcess(data, extra_env=env)
    try:
        logs = _client(server, "logs")
        # The two retries AWS makes, the first about RETRY_S after the failed attempt, then no more.
        starts = _wait_starts(logs, "ev-restart", rid, 3, 60)
        assert len(starts) == 3, starts
        assert starts[1] - starts[0] >= 3500
        time.sleep(6)
        assert len(_starts(logs, "ev-restart", rid)) == 3
    finally:
        server.stop()
