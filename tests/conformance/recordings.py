"""The AWS recordings (aws_recordings.json) and the scenarios that replay them on cloudlet.

A scenario makes on cloudlet the calls the recorded test made on AWS and returns
cloudlet's responses under the recorded keys; ``scenario("iam", "test_x")`` registers
one for the recordings of test_x. Error responses are ClientError.response, as
recorded.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from botocore.response import StreamingBody

DATA = Path(__file__).resolve().parent / "aws_recordings.json"
RECORDINGS: dict[str, dict[str, Any]] = json.loads(DATA.read_text())["recordings"]


class Caller:
    """What a scenario gets: clients of the session cloudlet, and names of its own."""

    def __init__(self, make_client: Callable[..., Any]) -> None:
        self._make = make_client
        self._clients: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make(service)
        return self._clients[service]

    @staticmethod
    def name(prefix: str) -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    @staticmethod
    def call(method: Callable[..., Any], **params: Any) -> Any:
        """The response, or the error response when the call fails (as recorded); a
        streamed body (Invoke's Payload) is read into text, as the recordings hold it."""
        try:
            response = method(**params)
        except ClientError as e:
            return e.response
        for key, value in list(response.items()):
            if isinstance(value, StreamingBody):
                response[key] = value.read().decode("utf-8", "replace")
        return response


ScenarioFn = Callable[[Caller], dict[str, Any]]
SCENARIOS: dict[str, ScenarioFn] = {}


def scenario(service: str, test: str) -> Callable[[ScenarioFn], ScenarioFn]:
    def register(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS[f"{service}/{test}"] = fn
        return fn

    return register


def scenario_of(recording_id: str) -> str:
    service, test, _key = recording_id.split("/", 2)
    return f"{service}/{test}"


def operations_covered() -> set[tuple[str, str]]:
    return {(rec["service"], rec["operation"]) for rec in RECORDINGS.values()}
