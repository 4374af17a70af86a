"""smithy-rpc-v2-cbor and CloudWatch's three protocols, with botocore as the oracle: every
CloudWatch operation's input as botocore writes it in cbor, json and query parses back exactly,
every output cloudlet writes botocore reads back; the CBOR codec against botocore's own CBOR;
errors in each protocol's shape; hostile bodies refused, not crashed on."""

from __future__ import annotations

import datetime as dt
import gzip
import math
import struct
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from protocol_shapegen import Generator
from protocol_wire import to_botocore_response, to_http_request

from cloudlet.core.errors import AWSError
from cloudlet.protocol import cbor
from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.registry import get_protocol, protocol_for_request, protocol_named

PROTOCOLS = ("smithy-rpc-v2-cbor", "json", "query")
GEN = Generator()


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.timestamp()
    return value


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_cloudwatch_input_parses_in_each_protocol(protocol: str) -> None:
    default = get_protocol("cloudwatch")
    serializer = create_serializer(protocol, include_validation=True)
    failures = []
    for op_name in default.model.operation_names:
        op = default.model.operation_model(op_name)
        params = GEN.structure(op.input_shape) if op.input_shape is not None else {}
        req = to_http_request(serializer.serialize_to_request(params, op))
        proto = protocol_for_request("cloudwatch", req)
        assert proto.name == protocol, (op_name, req.path, dict(req.headers))
        got_op, parsed = proto.parse_request(req)
        assert got_op == op_name
        if _normalize(parsed) != _normalize(params):
            failures.append((op_name, params, parsed))
    assert not failures, failures[:3]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_cloudwatch_output_reads_back_in_each_protocol(protocol: str) -> None:
    proto = protocol_named("cloudwatch", protocol)
    parser = create_parser(protocol)
    failures = []
    for op_name in proto.model.operation_names:
        shape = proto.model.operation_model(op_name).output_shape
        result = GEN.structure(shape) if shape is not None else {}
        resp = proto.serialize_response(op_name, result, "req-1")
        parsed = parser.parse(to_botocore_response(resp), shape)
        if shape is not None:  # botocore's rpc-v2 parser reads no metadata for an operation without output
            assert parsed["ResponseMetadata"].get("RequestId") == "req-1", op_name
        if _normalize(parsed) != _normalize(result):
            failures.append((op_name, result, parsed))
    assert not failures, failures[:3]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("code, shape_name, status", [
    ("InvalidParameterValue", "InvalidParameterValueException", 400),
    ("MissingParameter", "MissingRequiredParameterException", 400),
    ("InvalidParameterCombination", "InvalidParameterCombinationException", 400),
    ("ValidationError", "ValidationException", 400),
])
def test_errors_carry_the_query_code_in_every_protocol(protocol: str, code: str, shape_name: str,
                                                        status: int) -> None:
    proto = protocol_named("cloudwatch", protocol)
    resp = proto.serialize_error(AWSError(code, "the reason", sender_fault=True), "PutMetricData", "req-2")
    assert resp.status == status
    parsed = create_parser(protocol).parse(to_botocore_response(resp), None)
    assert parsed["Error"]["Code"] == code and parsed["Error"]["Message"] == "the reason"
    if protocol != "query":
        # Recorded against AWS (LocalStack's snapshots): the shape name as QueryErrorCode, Sender.
        assert parsed["Error"]["QueryErrorCode"] == shape_name and parsed["Error"]["Type"] == "Sender"
        assert resp.headers["x-amzn-query-error"] == f"{code};Sender"
    if protocol == "smithy-rpc-v2-cbor":
        assert resp.headers["smithy-protocol"] == "rpc-v2-cbor"
        assert resp.headers["Content-Type"] == "application/cbor"
        assert cbor.decode(resp.body)["__type"] == shape_name


def _cbor_request(op: str, body: bytes, **headers: str) -> HttpRequest:
    h = CIMultiDict({"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor", **headers})
    return HttpRequest("POST", f"/service/GraniteServiceVersion20100801/operation/{op}", [], h, body)


def _refusal(req: HttpRequest) -> AWSError:
    proto = protocol_for_request("cloudwatch", req)
    with pytest.raises(AWSError) as exc:
        proto.parse_request(req)
    return exc.value


@pytest.mark.parametrize("body", [
    b"\xa1",  # a map of one entry, then nothing
    b"\xa1\x69Namespace\x7f\x61a",  # an indefinite text that never breaks
    b"\x9b" + b"\xff" * 8,  # an array claiming 2^64-1 items
    b"\x81" * 10_000 + b"\x00",  # nesting past any sane depth
    b"\xa1\x69Namespace\x62\xff\xfe",  # text that is not UTF-8
    b"\xa0\x00",  # trailing bytes
    b"\xff",  # a break with nothing to end
])
def test_malformed_cbor_is_a_serialization_error(body: bytes) -> None:
    err = _refusal(_cbor_request("ListMetrics", body))
    assert (err.code, err.status) == ("SerializationException", 400)


def test_wrong_types_and_unknown_operations_are_refused_in_shape() -> None:
    err = _refusal(_cbor_request("ListMetrics", cbor.encode({"Namespace": 5})))
    assert (err.code, err.status) == ("SerializationException", 400)
    err = _refusal(_cbor_request("PutMetricData", cbor.encode({"Namespace": "n", "MetricData": [
        {"MetricName": "m", "Timestamp": "yesterday"}]})))
    assert err.code == "SerializationException"
    err = _refusal(_cbor_request("NoSuchThing", cbor.encode({})))
    assert (err.code, err.status) == ("UnknownOperationException", 404)
    err = _refusal(HttpRequest("POST", "/service/GraniteServiceVersion20100801/operation/ListMetrics", [],
                               CIMultiDict({"Content-Type": "application/cbor"}), cbor.encode({})))
    assert err.status == 400  # no smithy-protocol header
    err = _refusal(_cbor_request("PutMetricData", cbor.encode({"MetricData": []})))
    assert err.code == "ValidationError" and "namespace" in err.message.lower()


def test_gzip_bodies_are_inflated_and_bombs_refused() -> None:
    body = cbor.encode({"Namespace": "ns", "MetricName": "m"})
    req = _cbor_request("ListMetrics", gzip.compress(body), **{"Content-Encoding": "gzip"})
    assert protocol_for_request("cloudwatch", req).parse_request(req) == (
        "ListMetrics", {"Namespace": "ns", "MetricName": "m"})
    bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024))
    err = _refusal(_cbor_request("ListMetrics", bomb, **{"Content-Encoding": "gzip"}))
    assert err.status == 413
    err = _refusal(_cbor_request("ListMetrics", b"not gzip", **{"Content-Encoding": "gzip"}))
    assert err.status == 400


def test_codec_reads_every_float_width_and_indefinite_forms() -> None:
    assert cbor.decode(b"\xf9\x3c\x00") == 1.0  # half
    assert cbor.decode(b"\xf9\x7c\x00") == math.inf
    assert math.isnan(cbor.decode(b"\xf9\x7e\x00"))
    assert cbor.decode(b"\xf9\x00\x01") == 2.0**-24  # subnormal half
    assert cbor.decode(b"\xfa" + struct.pack(">f", 1.5)) == 1.5
    assert cbor.decode(b"\x5f\x42ab\x41c\xff") == b"abc"
    assert cbor.decode(b"\x7f\x62ab\x61c\xff") == "abc"
    assert cbor.decode(b"\x9f\x01\x02\xff") == [1, 2]
    assert cbor.decode(b"\xbf\x61a\x01\xff") == {"a": 1}
    assert cbor.decode(b"\x3b" + b"\xff" * 8) == -(2**64)
    assert cbor.decode(b"\xc1\x1a\x00\x00\x00\x01") == cbor.Tagged(1, 1)


_json_like = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_json_like)
def test_codec_round_trips_and_botocore_reads_what_it_writes(value: Any) -> None:
    data = cbor.encode(value)
    assert cbor.decode(data) == value
    import io

    oracle = create_parser("smithy-rpc-v2-cbor")
    # botocore leaves out map entries whose value is null; otherwise it must read what we wrote.
    assert oracle.parse_data_item(io.BufferedReader(io.BytesIO(data))) == _without_null_entries(value)


def _without_null_entries(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_null_entries(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_null_entries(v) for v in value]
    return value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_codec_never_crashes_on_random_bytes(data: bytes) -> None:
    try:
        cbor.decode(data)
    except cbor.CborError:
        pass
