"""The runtime's 202 for a result waits for the caller's answer (Environment.run resolves
Invocation.answered in the caller's step); what a function and a caller can observe must not
change: through the real server, awslambdaric and boto3, a caller that hangs up does not leave its
environment waiting for an acknowledgment, and that environment serves the next invoke warm."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.config
import botocore.exceptions
import pytest
from lambda_helpers import HANDLER_SRC, lambda_role, make_zip


@pytest.fixture(scope="module")
def fn(boto3_client: Any) -> str:
    lam = boto3_client("lambda")
    role = lambda_role(boto3_client, "lambda-ack-order-role")
    name = "ack-order"
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler", Timeout=10,
                        Code={"ZipFile": make_zip({"app.py": HANDLER_SRC})})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def _invoke(lam: Any, name: str, event: dict[str, Any]) -> dict[str, Any]:
    out = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    assert "FunctionError" not in out, out["Payload"].read()
    doc: dict[str, Any] = json.loads(out["Payload"].read())
    return doc


def test_a_caller_that_hangs_up_leaves_its_environment_serving(boto3_client: Any, fn: str) -> None:
    lam = boto3_client("lambda")
    first = _invoke(lam, fn, {})
    impatient = boto3_client("lambda", config=botocore.config.Config(read_timeout=1, retries={"max_attempts": 0}))
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        impatient.invoke(FunctionName=fn, Payload=b'{"sleep": 2}')
    time.sleep(2.5)  # the hung-up invoke has ended; its runtime has its 202 and polls again
    started = time.monotonic()
    again = _invoke(lam, fn, {})
    # The same environment (no cold start), at warm speed (not after a wait for a runtime that
    # never got its acknowledgment, which would end in Sandbox.Timedout after 10 s).
    assert again["eid"] == first["eid"] and again["count"] == first["count"] + 2
    assert time.monotonic() - started < 5


def test_back_to_back_invokes_each_get_their_own_answer(boto3_client: Any, fn: str) -> None:
    lam = boto3_client("lambda")
    answers = [_invoke(lam, fn, {"i": i}) for i in range(20)]
    rids = [a["rid"] for a in answers]
    assert len(set(rids)) == 20
    assert len({a["eid"] for a in answers}) == 1
    counts = [a["count"] for a in answers]
    assert counts == list(range(counts[0], counts[0] + 20))
