"""Every operation of the six models, both directions, with botocore as the oracle:
botocore serializes a generated input that cloudlet must parse back exactly, and
botocore parses cloudlet's serialization of a generated output back exactly."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from protocol_shapegen import Generator
from protocol_wire import to_botocore_response, to_http_request

from cloudlet.protocol.registry import get_protocol

SERVICES = ["iam", "sts", "ec2", "elasticache", "lambda", "logs", "cloudwatch"]
GEN = Generator()


def _normalize(value: Any) -> Any:
    """Compare timestamps as instants and payload streams as bytes."""
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


@pytest.mark.parametrize("service", SERVICES)
def test_every_input_round_trips(service: str) -> None:
    proto = get_protocol(service)
    serializer = create_serializer(proto.model.protocol, include_validation=True)
    failures = []
    for op_name in proto.model.operation_names:
        op = proto.model.operation_model(op_name)
        params = GEN.structure(op.input_shape) if op.input_shape is not None else {}
        serialized = serializer.serialize_to_request(params, op)
        req = to_http_request(serialized)
        assert proto.operation_for_request(req) == op_name, (op_name, req.method, req.path, req.query)
        got_op, parsed = proto.parse_request(req)
        assert got_op == op_name
        if _normalize(parsed) != _normalize(params):
            failures.append((op_name, params, parsed))
    assert not failures, failures[:3]


@pytest.mark.parametrize("service", SERVICES)
def test_every_output_round_trips(service: str) -> None:
    proto = get_protocol(service)
    parser = create_parser(proto.model.protocol)
    failures = []
    for op_name in proto.model.operation_names:
        op = proto.model.operation_model(op_name)
        shape = op.output_shape
        if shape is not None and any(m.serialization.get("eventstream") for m in shape.members.values()):
            continue  # event streams (InvokeWithResponseStream) are not a request/response body
        result = GEN.structure(shape) if shape is not None else {}
        resp = proto.serialize_response(op_name, result, "req-123")
        assert resp.status < 300
        parsed = parser.parse(to_botocore_response(resp), shape)
        if shape is not None or proto.name != "smithy-rpc-v2-cbor":  # botocore's rpc-v2 parser: no metadata then
            assert parsed["ResponseMetadata"].get("RequestId") == "req-123", op_name
        payload = shape.serialization.get("payload") if shape is not None else None
        if payload and shape.members[payload].type_name == "blob" and payload in parsed:
            parsed[payload] = parsed[payload].encode() if isinstance(parsed[payload], str) else parsed[payload]
        if _normalize(parsed) != _normalize(result):
            failures.append((op_name, result, parsed))
    assert not failures, failures[:3]
