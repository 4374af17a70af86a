"""The `json` protocol (CloudWatch Logs): POST /, X-Amz-Target picks the operation."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel, ServiceModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import json_walk
from cloudlet.protocol.base import Protocol
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.rpcv2_cbor import error_type, query_error_header

if TYPE_CHECKING:
    from cloudlet.sigv4 import SigV4Failure

_CORAL = "com.amazon.coral.service#"


def load_json_body(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nesting past Python's stack
        raise AWSError(f"{_CORAL}SerializationException", "", status=400, sender_fault=True) from None


def dump_json(value: Any) -> bytes:
    # A lone surrogate (a \\uD800-style escape in a request's JSON) has no UTF-8 form; it goes out
    # as "?", as a Java service's UTF-8 encoder writes it.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")


def error_body(shape: Shape | None, err: AWSError) -> dict[str, Any]:
    """The error's JSON members: message under the name its shape uses, then modeled fields."""
    members = shape.members if shape is not None else {}
    message_key = "Message" if "Message" in members and "message" not in members else "message"
    body: dict[str, Any] = {}
    for name, value in err.fields.items():
        member = members.get(name)
        if value is not None and (member is None or "location" not in member.serialization):
            body[name] = json_walk.write_value(member, value) if member is not None else value
    body[message_key] = err.message
    return body


class JsonProtocol(Protocol):
    name = "json"
    # json front ends (Logs) answer 400 to auth failures.
    auth_codes = {
        "missing": ("MissingAuthenticationTokenException", 400),
        "incomplete": ("IncompleteSignatureException", 400),
        "unknown_key": ("UnrecognizedClientException", 400),
        "bad_token": ("UnrecognizedClientException", 400),
        "expired_token": ("ExpiredTokenException", 400),
        "skewed": ("InvalidSignatureException", 400),
        "presign_expired": ("InvalidSignatureException", 400),
        "bad_signature": ("InvalidSignatureException", 400),
    }

    def auth_message(self, failure: SigV4Failure) -> str:
        return "Missing Authentication Token" if failure.reason == "missing" else failure.message

    def __init__(self, service: str, model: ServiceModel) -> None:
        super().__init__(service, model)
        self.target_prefix: str = model.metadata.get("targetPrefix", "")
        self.content_type = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"

    def locate(self, req: HttpRequest) -> tuple[str | None, None]:
        target = req.headers.get("X-Amz-Target", "")
        prefix, _, op_name = target.rpartition(".")
        if prefix != self.target_prefix or op_name not in self._operations:
            return None, None
        return op_name, None

    def unknown_operation(self, req: HttpRequest, found: None) -> AWSError:
        return AWSError(f"{_CORAL}UnknownOperationException", "", status=400, sender_fault=True)

    def parse_input(self, req: HttpRequest, op: OperationModel, found: None) -> dict[str, Any]:
        body = load_json_body(req.body)
        shape = op.input_shape
        if shape is None:
            return {}
        return json_walk.read_structure(shape, body, [])

    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        shape = self.model.operation_model(op_name).output_shape
        body = json_walk.write_structure(shape, result or {}) if shape is not None else {}
        headers = {"Content-Type": self.content_type, "x-amzn-RequestId": request_id}
        return HttpResponse(200, headers, dump_json(body))

    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        shape, status, sender = self.error_parts(err)
        code = err.code.rpartition("#")[2]
        # A service that kept its query-era codes (CloudWatch) names the shape and says the code in a header.
        query_compatible = "awsQueryCompatible" in self.model.metadata
        body = {"__type": error_type(shape, code) if query_compatible else err.code, **error_body(shape, err)}
        headers = {
            "Content-Type": self.content_type,
            "x-amzn-RequestId": request_id,
            "x-amzn-ErrorType": code,
            **err.headers,
        }
        if query_compatible:
            headers["x-amzn-query-error"] = query_error_header(code, sender)
        return HttpResponse(status, headers, dump_json(body))
