"""Fuzz every operation a provider implements through the real front door.

For each operation of iam, sts, ec2, elasticache, lambda and logs that has a
provider method, seeded requests are generated from the operation's input shape
(valid values, values past min/max, wrong types, unknown enum values, missing
required members, empty and huge containers, unicode, very long strings,
unknown names, and wire values of the wrong type the serializer would refuse),
serialized by botocore with validation off, signed with root credentials and
sent to a private cloudlet. Every answer must come back in bounded time, never
as a 500, and parse with botocore's parser for the protocol (an error with a
Code); cloudlet's log must show no traceback.

Reproducible: the seed of each operation is derived from its name.
FUZZ_EXAMPLES_PER_OPERATION (default 16) widens a local run, FUZZ_SEED (default 0)
moves it elsewhere.
"""

from __future__ import annotations

import copy
import os
import random
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import urllib3
from botocore.model import OperationModel, ServiceModel
from botocore.parsers import ResponseParserError

from cloudlet.config import Config
from cloudlet.services.registry import provider_classes

from .fuzz_values import MUTATIONS, ValueMaker, mutate
from .fuzz_wire import REQUEST_TIMEOUT, Answer, Wire

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES_PER_OPERATION", "16"))
SEED = int(os.environ.get("FUZZ_SEED", "0"))
# What a server-side bug leaves in cloudlet's log or its stderr.
BUG_LINE = re.compile(r"Traceback|Unhandled|internal error|Error handling request|Task exception", re.I)
# 5xx codes that are a provider's deliberate answer (none so far) would be listed here.
INTENDED_5XX: set[tuple[str, str]] = set()
_SESSION = botocore.session.get_session()


def _implemented() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for cls in provider_classes():
        model = _SESSION.get_service_model(cls.service)
        found += [(cls.service, op) for op in model.operation_names if op in cls.operations]
    return found


OPERATIONS = _implemented()


class LogWatch:
    """New lines of cloudlet's log file and stderr since the last look."""

    def __init__(self, *paths: Path) -> None:
        self.offsets = {p: 0 for p in paths}

    def new_bug_lines(self) -> list[str]:
        found: list[str] = []
        for path, offset in self.offsets.items():
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
            except OSError:
                continue
            self.offsets[path] = offset + len(data)
            text = data.decode("utf-8", "replace")
            found += [line for line in text.splitlines() if BUG_LINE.search(line)]
        return found


class FuzzTarget:
    def __init__(self, server: Any) -> None:
        self.server = server
        self.wire = Wire(server.endpoint_url, Config.access_key_id, Config.secret_access_key)
        self.logs = LogWatch(server.log_path, server.data_dir / "server.out")
        self.requests = 0
        self.codes: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_target(cloudlet_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    # A private cloudlet of the same kind as the session's: the fuzz deletes and
    # creates things with random names and must not disturb other tests.
    server = type(cloudlet_server)(tmp_path_factory.mktemp("fuzz") / "data")
    target = FuzzTarget(server)
    try:
        yield target
    finally:
        print(f"\nfuzz: {len(OPERATIONS)} operations, {target.requests} requests; codes: {dict(target.codes.most_common())}")
        server.stop()


def _cases(model: ServiceModel, op: OperationModel) -> Iterator[tuple[str, dict[str, Any], bool, random.Random]]:
    rng = random.Random(zlib.crc32(f"{model.service_name}.{op.name}".encode()) + SEED)
    maker = ValueMaker(rng)
    shape = op.input_shape
    for i in range(EXAMPLES):
        params = maker.structure(shape) if shape is not None else {}
        kind = MUTATIONS[i % len(MUTATIONS)]
        garble = i >= len(MUTATIONS)
        if shape is None:
            note = "no input"
        elif garble:
            note = "garbled on the wire"
        else:
            note = mutate(rng, shape, params, kind)
        yield note, params, garble, rng


def _check(model: ServiceModel, op: OperationModel, answer: Answer, note: str, params: dict[str, Any]) -> str | None:
    """What is wrong with one answer, or None."""
    where = f"{model.service_name}.{op.name} [{note}] params={str(params)[:300]}"
    if answer.seconds > REQUEST_TIMEOUT / 2:
        return f"{where}: took {answer.seconds:.1f} s"
    if answer.status >= 500 and (model.service_name, answer.code) not in INTENDED_5XX:
        return f"{where}: HTTP {answer.status} {answer.code}: {answer.body[:300]!r}"
    if answer.status >= 300:
        # botocore falls back to the status as the code when the body is not its protocol's.
        if not answer.code or answer.code.isdigit():
            return f"{where}: HTTP {answer.status} is not an AWS error: {answer.body[:300]!r}"
        if answer.status not in (400, 403, 404, 409, 412, 413, 415, 429):
            return f"{where}: unexpected HTTP {answer.status} for {answer.code}"
    return None


@pytest.mark.parametrize(("service", "operation"), OPERATIONS, ids=[f"{s}.{o}" for s, o in OPERATIONS])
def test_operation_never_fails_inside(fuzz_target: FuzzTarget, service: str, operation: str) -> None:
    model = _SESSION.get_service_model(service)
    op = model.operation_model(operation)
    problems: list[str] = []
    for note, params, garble, rng in _cases(model, op):
        try:
            prepared = fuzz_target.wire.prepare(model, op, copy.deepcopy(params), rng, garble=garble)
        except (TypeError, ValueError, AttributeError, KeyError, UnicodeError):
            continue  # botocore itself cannot put this value on the wire
        try:
            answer = fuzz_target.wire.call(model, op, prepared)
        except UnicodeEncodeError:
            continue  # a header value HTTP/1.1 cannot carry (non-latin-1): no client can send it
        except (ResponseParserError, urllib3.exceptions.HTTPError) as exc:
            fuzz_target.requests += 1
            problems.append(f"{service}.{operation} [{note}] params={str(params)[:300]}: {type(exc).__name__}: {exc}")
            continue
        fuzz_target.requests += 1
        fuzz_target.codes[answer.code or str(answer.status)] += 1
        problem = _check(model, op, answer, note, params)
        if problem:
            problems.append(problem)
    bug_lines = fuzz_target.logs.new_bug_lines()
    assert not problems and not bug_lines, "\n".join(problems + bug_lines)
