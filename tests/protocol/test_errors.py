"""Error responses as botocore reads them: every modeled error of the six
services, validation failures in each service's wording, unknown operations."""

from __future__ import annotations

import json

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from multidict import CIMultiDict
from protocol_shapegen import Generator
from protocol_wire import to_botocore_response, to_http_request

from cloudlet.core.errors import AWSError
from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.registry import get_protocol

SERVICES = ["iam", "sts", "ec2", "elasticache", "lambda", "logs"]
_MESSAGE_KEYS = {"message", "Message", "Type", "Code"}


def _parse_error(service: str, resp, shape=None):  # type: ignore[no-untyped-def]
    proto = get_protocol(service)
    return create_parser(proto.model.protocol).parse(to_botocore_response(resp), shape)


@pytest.mark.parametrize("service", SERVICES)
def test_every_modeled_error_parses_with_code_message_status_and_fields(service: str) -> None:
    proto = get_protocol(service)
    gen = Generator()
    if service == "ec2":
        # EC2 models no errors; its codes are dotted strings, all HTTP 400.
        for code in ("InvalidVpcID.NotFound", "InvalidParameterValue", "DependencyViolation"):
            resp = proto.serialize_error(AWSError(code, "no <vpc>"), "DescribeVpcs", "rid-9")
            parsed = _parse_error(service, resp)
            assert resp.status == 400
            assert parsed["Error"] == {"Code": code, "Message": "no <vpc>"}
            assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
        return
    assert proto.model.error_shapes
    for shape in proto.model.error_shapes:
        error = shape.metadata.get("error") or {}
        code = error.get("code", shape.name)
        fields = {k: v for k, v in gen.structure(shape).items() if k not in _MESSAGE_KEYS}
        err = AWSError(code, "bad <thing> & \"more\"", fields=fields)
        resp = proto.serialize_error(err, None, "rid-9")
        expected_status = error.get("httpStatusCode", 400)
        assert resp.status == expected_status, (code, resp.status)
        parsed = _parse_error(service, resp)
        assert parsed["Error"]["Code"] == code
        assert parsed["Error"]["Message"] == "bad <thing> & \"more\""
        assert parsed["ResponseMetadata"]["RequestId"] == "rid-9"
        modeled = _parse_error(service, resp, shape)
        for name, value in fields.items():
            assert modeled.get(name) == value, (code, name, modeled)


def test_query_error_has_sender_type_and_namespace() -> None:
    resp = get_protocol("iam").serialize_error(AWSError("NoSuchEntity", "The role with name x cannot be found."), "GetRole", "r1")
    assert resp.status == 404
    body = resp.body.decode()
    assert body.startswith('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>')
    assert "<RequestId>r1</RequestId>" in body


def test_explicit_status_and_receiver_fault_win() -> None:
    resp = get_protocol("sts").serialize_error(AWSError("ServiceFailure", "boom", status=503, sender_fault=False), None, "r")
    assert resp.status == 503
    assert "<Type>Receiver</Type>" in resp.body.decode()


def test_common_codes_get_their_status() -> None:
    resp = get_protocol("iam").serialize_error(AWSError("AccessDenied", "no"), "GetRole", "r")
    assert resp.status == 403
    resp = get_protocol("logs").serialize_error(AWSError("MissingAuthenticationTokenException", "no"), None, "r")
    assert resp.status == 403


@pytest.mark.parametrize(
    ("service", "op_name"),
    [("iam", "CreateRole"), ("ec2", "DescribeVpcs"), ("elasticache", "CreateServerlessCache"), ("lambda", "Invoke"), ("logs", "FilterLogEvents")],
)
def test_not_implemented_is_501_and_parses(service: str, op_name: str) -> None:
    proto = get_protocol(service)
    resp = proto.serialize_error(proto.not_implemented(op_name), op_name, "r")
    assert resp.status == 501
    parsed = _parse_error(service, resp)
    assert parsed["Error"]["Code"] in ("NotImplemented", "NotImplementedException")
    assert op_name in parsed["Error"]["Message"]


def _request(service: str, op_name: str, params: dict) -> HttpRequest:  # type: ignore[type-arg]
    proto = get_protocol(service)
    op = proto.model.operation_model(op_name)
    return to_http_request(create_serializer(proto.model.protocol, include_validation=False).serialize_to_request(params, op))


def _rejects(service: str, op_name: str, params: dict) -> AWSError:  # type: ignore[type-arg]
    with pytest.raises(AWSError) as info:
        get_protocol(service).parse_request(_request(service, op_name, params))
    return info.value


def test_iam_pattern_failure_in_aws_wording() -> None:
    err = _rejects("iam", "CreateRole", {"RoleName": "bad name!", "AssumeRolePolicyDocument": "{}"})
    assert err.code == "ValidationError" and err.status == 400
    assert err.message == (
        "1 validation error detected: Value 'bad name!' at 'roleName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_iam_missing_and_length_failures_are_counted() -> None:
    err = _rejects("iam", "CreateRole", {"RoleName": "r" * 65})
    assert err.code == "ValidationError"
    assert err.message.startswith("2 validation errors detected: ")
    assert "Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null" in err.message
    assert "at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64" in err.message


def test_sts_range_failure() -> None:
    params = {"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "s1", "DurationSeconds": 10}
    err = _rejects("sts", "AssumeRole", params)
    assert err.code == "ValidationError"
    assert "Value '10' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900" in err.message


def test_logs_pattern_failure_is_invalid_parameter_exception() -> None:
    err = _rejects("logs", "CreateLogGroup", {"logGroupName": "bad:name"})
    assert err.code == "InvalidParameterException"
    assert "at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern" in err.message
    resp = get_protocol("logs").serialize_error(err, "CreateLogGroup", "r")
    parsed = _parse_error("logs", resp)
    assert resp.status == 400 and parsed["Error"]["Code"] == "InvalidParameterException"


def test_lambda_pattern_failure_is_validation_exception() -> None:
    err = _rejects("lambda", "GetFunction", {"FunctionName": "no spaces allowed"})
    assert err.code == "ValidationException"
    assert "at 'functionName' failed to satisfy constraint" in err.message
    resp = get_protocol("lambda").serialize_error(err, "GetFunction", "r")
    assert resp.status == 400
    assert _parse_error("lambda", resp)["Error"]["Code"] == "ValidationException"


def test_lambda_enum_failure() -> None:
    err = _rejects("lambda", "Invoke", {"FunctionName": "f", "InvocationType": "Sometimes"})
    assert "Member must satisfy enum value set: [Event, RequestResponse, DryRun]" in err.message


def test_ec2_missing_parameter() -> None:
    req = HttpRequest("POST", "/", [], CIMultiDict(), b"Action=DeleteVpc&Version=2016-11-15")
    with pytest.raises(AWSError) as info:
        get_protocol("ec2").parse_request(req)
    assert info.value.code == "MissingParameter"
    assert info.value.message == "The request must contain the parameter VpcId"


def test_elasticache_missing_parameter() -> None:
    req = HttpRequest("POST", "/", [], CIMultiDict(), b"Action=CreateServerlessCache&Version=2015-02-02&Engine=valkey")
    with pytest.raises(AWSError) as info:
        get_protocol("elasticache").parse_request(req)
    assert info.value.code == "InvalidParameterValue" and info.value.status == 400
    # Absent: "null"; sent empty: "blank" (as ElastiCache words them).
    assert info.value.message == "The parameter ServerlessCacheName must be provided and must not be null."
    req = HttpRequest("POST", "/", [], CIMultiDict(),
                      b"Action=CreateServerlessCache&Version=2015-02-02&Engine=valkey&ServerlessCacheName=")
    with pytest.raises(AWSError) as info:
        get_protocol("elasticache").parse_request(req)
    assert info.value.code == "InvalidParameterValue"
    assert info.value.message == "The parameter ServerlessCacheName must be provided and must not be blank."


def test_coral_required_empty_string_is_not_reported_blank() -> None:
    # Coral's "required" means present; an empty string fails only a length constraint.
    err = _rejects("iam", "CreateRole", {"RoleName": "", "AssumeRolePolicyDocument": "{}"})
    assert err.code == "ValidationError"
    assert "Value '' at 'roleName' failed to satisfy constraint: Member must have length greater than or equal to 1" \
        in err.message
    assert "blank" not in err.message and "Value null" not in err.message


def test_query_wrong_type_is_rejected_not_crashed() -> None:
    req = HttpRequest("POST", "/", [], CIMultiDict(), b"Action=ListRoles&Version=2010-05-08&MaxItems=lots")
    with pytest.raises(AWSError) as info:
        get_protocol("iam").parse_request(req)
    assert info.value.code == "ValidationError" and info.value.status == 400


def test_json_wrong_type_and_bad_json_are_serialization_exceptions() -> None:
    proto = get_protocol("logs")
    headers = CIMultiDict({"X-Amz-Target": "Logs_20140328.FilterLogEvents", "Content-Type": "application/x-amz-json-1.1"})
    for body in (b'{"logGroupName": "g", "limit": "ten"}', b"{not json", b'{"logGroupName": ["g"]}'):
        with pytest.raises(AWSError) as info:
            proto.parse_request(HttpRequest("POST", "/", [], headers, body))
        assert info.value.code.endswith("SerializationException")
        resp = proto.serialize_error(info.value, None, "r")
        assert resp.status == 400
        assert _parse_error("logs", resp)["Error"]["Code"] == "SerializationException"


def test_unknown_query_action() -> None:
    proto = get_protocol("iam")
    req = HttpRequest("POST", "/", [], CIMultiDict(), b"Action=MakeCoffee&Version=2010-05-08")
    assert proto.operation_for_request(req) is None
    with pytest.raises(AWSError) as info:
        proto.parse_request(req)
    assert info.value.code == "InvalidAction"
    assert info.value.message == "Could not find operation MakeCoffee for version 2010-05-08"
    parsed = _parse_error("iam", proto.serialize_error(info.value, None, "r"))
    assert parsed["Error"]["Code"] == "InvalidAction"


def test_unknown_json_target() -> None:
    proto = get_protocol("logs")
    req = HttpRequest("POST", "/", [], CIMultiDict({"X-Amz-Target": "Logs_20140328.MakeCoffee"}), b"{}")
    with pytest.raises(AWSError) as info:
        proto.parse_request(req)
    resp = proto.serialize_error(info.value, None, "r")
    assert resp.status == 400
    assert json.loads(resp.body)["__type"].endswith("#UnknownOperationException")
    assert _parse_error("logs", resp)["Error"]["Code"] == "UnknownOperationException"


def test_unknown_rest_path_is_404() -> None:
    proto = get_protocol("lambda")
    req = HttpRequest("GET", "/2015-03-31/coffee", [], CIMultiDict(), b"")
    assert proto.operation_for_request(req) is None
    with pytest.raises(AWSError) as info:
        proto.parse_request(req)
    resp = proto.serialize_error(info.value, None, "r")
    assert resp.status == 404
    assert _parse_error("lambda", resp)["Error"]["Code"] == "UnknownOperationException"


def test_timestamp_before_year_one_is_a_bad_value_not_a_crash() -> None:
    # 0001-01-01T00:00:00+01:00 is before datetime's range once moved to UTC.
    req = HttpRequest("POST", "/", [], CIMultiDict(),
                      b"Action=DescribeEvents&Version=2015-02-02&StartTime=0001-01-01T00:00:00%2B01:00")
    with pytest.raises(AWSError) as info:
        get_protocol("elasticache").parse_request(req)
    assert info.value.code == "InvalidParameterValue" and info.value.status == 400
