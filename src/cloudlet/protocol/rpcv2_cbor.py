"""The `smithy-rpc-v2-cbor` protocol (CloudWatch): POST /service/<Service>/operation/<Op>, CBOR bodies.

Requests carry `smithy-protocol: rpc-v2-cbor`; the service segment is the model's
targetPrefix. Responses are CBOR maps of the output members (timestamps as tag 1),
errors a map with `__type` (the error shape's id) and `message`. A service that
kept its query-era error codes (`awsQueryCompatible`, CloudWatch) also says them in
`x-amzn-query-error: Code;Sender|Receiver`, which SDKs prefer to `__type`.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel, ServiceModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import cbor
from cloudlet.protocol.base import Protocol, WireTypeError
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.shape_walk import ShapeWalk
from cloudlet.protocol.values import BadValue, to_datetime

if TYPE_CHECKING:
    from cloudlet.sigv4 import SigV4Failure

CONTENT_TYPE = "application/cbor"
PROTOCOL_HEADER = "smithy-protocol"
PROTOCOL_VALUE = "rpc-v2-cbor"


def query_error_header(code: str, sender_fault: bool) -> str:
    return f"{code};{'Sender' if sender_fault else 'Receiver'}"


def error_type(shape: Shape | None, code: str) -> str:
    """`__type` of an error: its modeled shape's name, else the Coral name of a common query code."""
    if shape is not None:
        return shape.name
    return {"ValidationError": "ValidationException"}.get(code, code)


class RpcV2CborProtocol(Protocol):
    name = "smithy-rpc-v2-cbor"
    # The Coral front ends answer auth failures with 400/403 as the json protocol does.
    auth_codes = {
        "missing": ("MissingAuthenticationTokenException", 403),
        "incomplete": ("IncompleteSignatureException", 400),
        "unknown_key": ("UnrecognizedClientException", 403),
        "bad_token": ("UnrecognizedClientException", 403),
        "expired_token": ("ExpiredTokenException", 403),
        "skewed": ("InvalidSignatureException", 403),
        "presign_expired": ("InvalidSignatureException", 403),
        "bad_signature": ("InvalidSignatureException", 403),
    }

    def __init__(self, service: str, model: ServiceModel) -> None:
        super().__init__(service, model)
        self.service_id: str = model.metadata.get("targetPrefix", "")
        self.query_compatible = "awsQueryCompatible" in model.metadata
        self.prefix = f"/service/{self.service_id}/operation/"

    # -- requests -----------------------------------------------------------

    def locate(self, req: HttpRequest) -> tuple[str | None, str]:
        if not req.path.startswith(self.prefix):
            return None, ""
        op_name = req.path[len(self.prefix):]
        return (op_name if op_name in self._operations else None), op_name

    def unknown_operation(self, req: HttpRequest, found: str) -> AWSError:
        # Smithy RPC v2: an unknown service or operation is a 404.
        return AWSError("UnknownOperationException", "", status=404, sender_fault=True)

    def parse_input(self, req: HttpRequest, op: OperationModel, found: str) -> dict[str, Any]:
        if req.method != "POST":
            raise AWSError("UnknownOperationException", "", status=404, sender_fault=True)
        if req.headers.get(PROTOCOL_HEADER) != PROTOCOL_VALUE:
            raise AWSError("SerializationException", f"Missing or invalid {PROTOCOL_HEADER} header",
                           status=400, sender_fault=True)
        shape = op.input_shape
        if not req.body:
            return {}
        try:
            body = cbor.decode(req.body)
        except cbor.CborError as exc:
            raise AWSError("SerializationException", f"Malformed CBOR body: {exc}", status=400, sender_fault=True) from None
        if shape is None:
            return {}
        return read_structure(shape, body, [])

    # -- responses ----------------------------------------------------------

    def _headers(self, request_id: str) -> dict[str, str]:
        return {"Content-Type": CONTENT_TYPE, PROTOCOL_HEADER: PROTOCOL_VALUE, "x-amzn-RequestId": request_id}

    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        shape = self.model.operation_model(op_name).output_shape
        if shape is None:  # an operation without output answers with an empty body
            headers = self._headers(request_id)
            del headers["Content-Type"]
            return HttpResponse(200, headers, b"")
        return HttpResponse(200, self._headers(request_id), cbor.encode(write_structure(shape, result or {})))

    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        shape, status, sender = self.error_parts(err)
        code = err.code.rpartition("#")[2]
        body: dict[str, Any] = {"__type": error_type(shape, code)}
        members = shape.members if shape is not None else {}
        for name, value in err.fields.items():
            if value is not None and name in members:
                body[name] = write_value(members[name], value)
        body["Message" if "Message" in members and "message" not in members else "message"] = err.message
        headers = self._headers(request_id)
        if self.query_compatible:
            headers["x-amzn-query-error"] = query_error_header(code, sender)
        headers.update(err.headers)
        return HttpResponse(status, headers, cbor.encode(body))

    def auth_message(self, failure: SigV4Failure) -> str:
        return "Missing Authentication Token" if failure.reason == "missing" else failure.message


# -- CBOR values <-> typed params, following a botocore shape ------------------


class CborWalk(ShapeWalk):
    """CBOR bodies: members by their model name, `undefined` as absent, blobs as byte strings,
    timestamps as epoch seconds (tag 1), integers only where the model says integer."""

    def present(self, raw: Any) -> bool:
        return raw is not None and raw is not cbor.UNDEFINED

    def read_scalar(self, kind: str, shape: Shape, value: Any, path: list[str]) -> Any:
        if kind in ("integer", "long", "short", "byte"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise WireTypeError(path, value, "integer")
            return value
        if kind in ("float", "double"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise WireTypeError(path, value, "number")
            return float(value)
        if kind == "timestamp":
            raw = value.value if isinstance(value, cbor.Tagged) and value.tag == 1 else value
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
                raise WireTypeError(path, value, "timestamp")
            try:
                return to_datetime(raw)
            except (BadValue, OverflowError, OSError, ValueError):
                raise WireTypeError(path, value, "timestamp") from None
        if kind == "blob":
            if not isinstance(value, bytes):
                raise WireTypeError(path, value, "blob")
            return value
        return value

    def write_scalar(self, kind: str, shape: Shape, value: Any) -> Any:
        if kind == "timestamp":
            return to_datetime(value) if not isinstance(value, dt.datetime) else value
        if kind == "blob":
            return bytes(value) if not isinstance(value, str) else value.encode()
        return value


_WALK = CborWalk()
read_structure = _WALK.read_structure
read_value = _WALK.read_value
write_structure = _WALK.write_structure
write_value = _WALK.write_value
