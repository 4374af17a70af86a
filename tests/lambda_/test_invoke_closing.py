"""An invoke's closing bookkeeping (memory sample, END/REPORT, shipping to CloudWatch Logs) runs
after a warm invoke's answer is written; what a caller can observe must not change: through the
real server and boto3, REPORT is in the log group by the caller's next request, in order, with its
figures, and in LogResult when LogType=Tail asks for it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from lambda_helpers import lambda_role, make_zip

SRC = "def handler(event, context):\n    print('line', event['i'])\n    return event['i']\n"


@pytest.fixture(scope="module")
def fn(boto3_client: Any) -> str:
    lam = boto3_client("lambda")
    role = lambda_role(boto3_client, "lambda-invoke-closing-role")
    name = "closing-order"
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": SRC})})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def _fields(report: str) -> dict[str, str]:
    return dict(part.split(": ", 1) for part in report.strip().split("\t")[1:])


def test_report_is_shipped_in_order_by_the_next_request(boto3_client: Any, fn: str) -> None:
    lam, logs = boto3_client("lambda"), boto3_client("logs")
    rids = []
    for i in range(4):
        out = lam.invoke(FunctionName=fn, Payload=json.dumps({"i": i}).encode())
        assert json.loads(out["Payload"].read()) == i
        rid = out["ResponseMetadata"]["RequestId"]
        rids.append(rid)
        # One read, no polling: the REPORT of the invoke just answered is already there.
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}")["events"]
        report = [e["message"] for e in events if e["message"].startswith(f"REPORT RequestId: {rid}")]
        assert len(report) == 1, [e["message"] for e in events]
        fields = _fields(report[0])
        assert int(fields["Max Memory Used"].split()[0]) > 1
        assert float(fields["Duration"].split()[0]) > 0 and fields["Memory Size"] == "128 MB"
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{fn}")["events"]
    warm = [e for e in events if not e["message"].startswith("INIT_START")]
    assert len({e["logStreamName"] for e in warm}) == 1  # one warm environment served them all
    platform = [m.split(" ", 1)[0] + " " + m.split("RequestId: ")[1].split()[0]
                for m in (e["message"] for e in warm) if m.startswith(("START", "END", "REPORT"))]
    assert platform == [f"{kind} {rid}" for rid in rids for kind in ("START", "END", "REPORT")]
    lines = [e["message"] for e in warm if e["message"].startswith("line ")]
    assert lines == [f"line {i}\n" for i in range(4)]


def test_tail_carries_the_report_of_a_warm_invoke(boto3_client: Any, fn: str) -> None:
    lam = boto3_client("lambda")
    lam.invoke(FunctionName=fn, Payload=b'{"i": 0}')["Payload"].read()  # warm
    out = lam.invoke(FunctionName=fn, Payload=b'{"i": 7}', LogType="Tail")
    rid = out["ResponseMetadata"]["RequestId"]
    tail = base64.b64decode(out["LogResult"]).decode()
    lines = tail.splitlines()
    assert lines[-4].startswith(f"START RequestId: {rid} ")
    assert lines[-3:-1] == ["line 7", f"END RequestId: {rid}"]
    report = [ln for ln in lines if ln.startswith(f"REPORT RequestId: {rid}")]
    assert len(report) == 1 and lines[-1] == report[0]
    assert int(_fields(report[0])["Max Memory Used"].split()[0]) > 1
