"""cloudlet's responses judged by responses AWS sent (tests/conformance/aws_recordings.json).

Each recording is one test: its scenario runs once against the session cloudlet and
every recorded response of it is compared (compare.py) with cloudlet's.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import (  # noqa: F401  (register scenarios)
    scenarios_cloudwatch,
    scenarios_ec2,
    scenarios_iam,
    scenarios_lambda,
    scenarios_lambda_streaming,
    scenarios_logs,
    scenarios_sts,
)
from conformance.compare import Judge
from conformance.recordings import (
    RECORDINGS,
    SCENARIOS,
    Caller,
    operations_covered,
    scenario_of,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"

# Lambda differences owned elsewhere (the Lambda provider, the Lambda runtime host): strict
# xfails, so each flips to a failure ("XPASS") the day it is fixed and must leave this table.
# "issue 16:" quotes the bullet; "found:" is a difference this suite found beyond it.
KNOWN: dict[str, str] = {
}

# Differences cloudlet keeps on purpose (listed in README.md), by recording and path.
DELIBERATE: dict[str, dict[str, str]] = {
    "logs/test_describe_log_groups_with_pattern/describe-log-groups-pattern": {
        "$.nextToken": "AWS's pattern search sent a nextToken with its only page; cloudlet sends "
                       "one only when more log groups match",
    },
}

_results: dict[str, dict[str, list[str]]] = {}


def _judged(name: str, boto3_client: Any) -> dict[str, list[str]]:
    if name not in _results:
        responses = SCENARIOS[name](Caller(boto3_client))
        judge = Judge(ACCOUNT, REGION)
        # Values the recording's own transformers took from a response (Invoke's request id).
        judge.bindings.update(responses.pop("_bind", {}))
        out: dict[str, list[str]] = {}
        for rid, rec in RECORDINGS.items():
            if scenario_of(rid) != name:
                continue
            key = rid.split("/", 2)[2]
            if key not in responses:
                out[rid] = [f"scenario {name} made no call for {key}"]
                continue
            out[rid] = judge.differences(rec["response"], responses[key])
        _results[name] = out
    return _results[name]


def _params() -> list[Any]:
    out = []
    for rid in sorted(RECORDINGS):
        marks = [pytest.mark.xfail(reason=KNOWN[rid], strict=True)] if rid in KNOWN else []
        out.append(pytest.param(rid, id=rid, marks=marks))
    return out


@pytest.mark.parametrize("recording_id", _params())
def test_matches_aws(recording_id: str, boto3_client: Any) -> None:
    name = scenario_of(recording_id)
    assert name in SCENARIOS, f"no scenario replays {name}"
    diffs = _judged(name, boto3_client)[recording_id]
    kept = DELIBERATE.get(recording_id, {})
    for path in kept:
        # A deliberate difference that is gone should leave this table too.
        assert any(d.startswith(f"{path}:") for d in diffs), f"{path} no longer differs; drop it from DELIBERATE"
    diffs = [d for d in diffs if d.split(":", 1)[0] not in kept]
    rec = RECORDINGS[recording_id]
    assert not diffs, f"{rec['operation']} differs from AWS ({rec['source']}):\n  " + "\n  ".join(diffs)


def test_every_recording_has_a_scenario() -> None:
    missing = sorted({scenario_of(r) for r in RECORDINGS} - set(SCENARIOS))
    assert not missing, f"recordings without a scenario: {missing}"
    unused = sorted(set(SCENARIOS) - {scenario_of(r) for r in RECORDINGS})
    assert not unused, f"scenarios without recordings: {unused}"


def test_operation_count() -> None:
    ops = operations_covered()
    by_service: dict[str, int] = {}
    for service, _op in ops:
        by_service[service] = by_service.get(service, 0) + 1
    print(f"\nconformance: {len(RECORDINGS)} AWS recordings of {len(ops)} operations "
          + ", ".join(f"{s} {n}" for s, n in sorted(by_service.items())))
    assert ops
