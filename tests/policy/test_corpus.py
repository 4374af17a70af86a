"""The table-driven corpus: every case's documents pass IAM's grammar, then the
engine must reach the expected decision (kind, deciding statement, missing type)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudlet.core.policies import PolicyDoc
from cloudlet.policy.context_keys import lower_keys
from cloudlet.policy.engine import evaluate
from cloudlet.policy.grammar import parse_policy_document
from cloudlet.policy.principals import Caller

HERE = Path(__file__).parent
CASES: list[dict[str, Any]] = []
for name in ("corpus_eval.yaml", "corpus_conditions.yaml"):
    CASES.extend(yaml.safe_load((HERE / name).read_text()))

DEFAULT_CALLER = {"arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333"}


def _doc(p: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": p} if isinstance(p, list) else p


def _docs(case: dict[str, Any], key: str, policy_type: str) -> list[PolicyDoc]:
    out = []
    for i, p in enumerate(case.get(key) or []):
        doc = _doc(p)
        parse_policy_document(doc, policy_type)  # the corpus holds only valid documents
        out.append(PolicyDoc(f"{key}#{i}", doc))
    return out


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 150
    assert len({c["name"] for c in CASES}) == len(CASES), "case names must be unique"


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    if "cond" in case:
        case = {**case, "identity": [[{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": case["cond"]}]]}
    identity = _docs(case, "identity", "inline")
    session = _docs(case, "session", "session")
    resource_policies = _docs(case, "resource_policies", "resource")
    boundary = None
    if case.get("boundary") is not None:
        boundary = PolicyDoc("boundary", _doc(case["boundary"]))
        parse_policy_document(boundary.document, "inline")
    c = case.get("caller", DEFAULT_CALLER)
    caller = Caller(arn=c.get("arn"), account_id=c.get("account"), role_arn=c.get("role_arn"), service=c.get("service"))
    decision = evaluate(
        case.get("action", "s3:GetObject"),
        case.get("resource", "arn:aws:s3:::bucket/key"),
        lower_keys(case.get("ctx", {})),
        identity=identity,
        boundary=boundary,
        session=session,
        resource_policies=resource_policies,
        caller=caller,
    )
    assert decision.kind == case["expect"], decision
    assert decision.allowed == (case["expect"] == "allow")
    if "missing" in case:
        assert decision.missing == case["missing"]
    if "decided_by" in case:
        assert decision.statement == case["decided_by"]
    if "policy_type" in case:
        assert decision.policy_type == case["policy_type"]
