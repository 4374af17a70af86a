"""The `rest-json` protocol (Lambda): operation from method + URI, members in the
URI, query string, headers, and a JSON (or raw payload) body."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel, ServiceModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import eventstream, json_walk
from cloudlet.protocol.base import Protocol, WireTypeError
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.json_rpc import dump_json, error_body, load_json_body
from cloudlet.protocol.rest_routes import Router
from cloudlet.protocol.values import (
    b64decode,
    b64encode,
    format_float,
    format_timestamp,
    parse_bool,
    parse_float,
    parse_int,
    parse_timestamp,
)

if TYPE_CHECKING:
    from cloudlet.sigv4 import SigV4Failure


def _read_text(shape: Shape, text: str, path: list[str]) -> Any:
    """A scalar from a URI label, query parameter or header (timestamps in any format)."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return parse_int(text)
        if kind in ("float", "double"):
            return parse_float(text)
        if kind == "boolean":
            return parse_bool(text)
        if kind == "timestamp":
            return parse_timestamp(text)
        if kind == "blob":
            return b64decode(text)
    except ValueError:  # BadValue, or one a date out of range raises
        raise WireTypeError(path, text, kind) from None
    if kind == "string" and shape.serialization.get("jsonvalue"):
        try:
            return json.loads(base64.b64decode(text))
        except (binascii.Error, ValueError):
            raise WireTypeError(path, text, "JSON value") from None
    return text


def _write_text(shape: Shape, value: Any, default_ts: str) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return str(format_timestamp(value, shape.serialization.get("timestampFormat", default_ts)))
    if kind in ("float", "double"):
        return format_float(float(value))
    if kind == "list":
        return ",".join(_write_text(shape.member, v, default_ts) for v in value)
    if kind == "blob":
        return b64encode(value)
    if kind == "string" and shape.serialization.get("jsonvalue"):
        return b64encode(json.dumps(value, separators=(",", ":")))
    return str(value)


def _split_header_list(text: str) -> list[str]:
    """RFC 7230 list: comma separated, items may be double-quoted."""
    items: list[str] = []
    buf: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if quoted:
            if c == "\\" and i + 1 < len(text):
                buf.append(text[i + 1])
                i += 1
            elif c == '"':
                quoted = False
            else:
                buf.append(c)
        elif c == '"':
            quoted = True
        elif c == ",":
            items.append("".join(buf).strip())
            buf = []
        else:
            buf.append(c)
        i += 1
    items.append("".join(buf).strip())
    return items


class RestJsonProtocol(Protocol):
    name = "rest-json"
    # rest-json front ends (Lambda) answer 403 to auth failures.
    auth_codes = {
        "missing": ("MissingAuthenticationTokenException", 403),
        "incomplete": ("IncompleteSignatureException", 403),
        "unknown_key": ("UnrecognizedClientException", 403),
        "bad_token": ("UnrecognizedClientException", 403),
        "expired_token": ("ExpiredTokenException", 403),
        "skewed": ("InvalidSignatureException", 403),
        "presign_expired": ("InvalidSignatureException", 403),
        "bad_signature": ("InvalidSignatureException", 403),
    }

    def auth_message(self, failure: SigV4Failure) -> str:
        return "Missing Authentication Token" if failure.reason == "missing" else failure.message

    def __init__(self, service: str, model: ServiceModel) -> None:
        super().__init__(service, model)
        self.router = Router(model)

    def locate(self, req: HttpRequest) -> tuple[str | None, dict[str, str]]:
        """The operation and the values of its URI labels, decoded."""
        found = self.router.match(req.method, req.path, req.query)
        return found if found else (None, {})

    def unknown_operation(self, req: HttpRequest, found: dict[str, str]) -> AWSError:
        return AWSError(
            "UnknownOperationException",
            f"No operation matches {req.method} {req.path}",
            status=404,
            sender_fault=True,
        )

    def parse_input(self, req: HttpRequest, op: OperationModel, labels: dict[str, str]) -> dict[str, Any]:
        shape = op.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        claimed_query: set[str] = set()
        body_members: dict[str, Shape] = {}
        for name, member in shape.members.items():
            ser = member.serialization
            location = ser.get("location")
            wire = ser.get("name", name)
            if location == "uri":
                if wire in labels:
                    params[name] = _read_text(member, labels[wire], [name])
            elif location == "querystring":
                if member.type_name == "map":
                    continue
                claimed_query.add(wire)
                values = [v for k, v in req.query if k == wire]
                if not values:
                    continue
                if member.type_name == "list":
                    params[name] = [_read_text(member.member, v, [name]) for v in values]
                else:
                    params[name] = _read_text(member, values[0], [name])
            elif location == "header":
                text = req.headers.get(wire)
                if text is None:
                    continue
                if member.type_name == "list":
                    params[name] = [_read_text(member.member, v, [name]) for v in _split_header_list(text)]
                else:
                    params[name] = _read_text(member, text, [name])
            elif location == "headers":
                prefix = wire.lower()
                found_headers = {k[len(prefix) :]: v for k, v in req.headers.items() if k.lower().startswith(prefix)}
                if found_headers:
                    params[name] = found_headers
            elif location is None:
                body_members[name] = member
        for name, member in shape.members.items():
            if member.serialization.get("location") == "querystring" and member.type_name == "map":
                rest = {k: v for k, v in req.query if k not in claimed_query}
                if rest:
                    params[name] = rest
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            if member.type_name == "blob":
                if req.body:
                    params[payload] = bytes(req.body)
            elif member.type_name == "string":
                if req.body:
                    params[payload] = req.body.decode("utf-8", errors="replace")
            elif req.body.strip():
                params[payload] = json_walk.read_value(member, load_json_body(req.body), [payload])
        elif body_members:
            body = load_json_body(req.body)
            if not isinstance(body, dict):
                raise WireTypeError([], body, "structure")
            for name, member in body_members.items():
                raw = body.get(member.serialization.get("name", name))
                if raw is not None:
                    params[name] = json_walk.read_value(member, raw, [name])
        return params

    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        op = self.model.operation_model(op_name)
        shape = op.output_shape
        result = result or {}
        status = int(op.http.get("responseCode", 200))
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id}
        if shape is None:
            return HttpResponse(status, headers, b"" if status == 204 else b"{}")
        body: bytes | None = None
        stream: AsyncGenerator[bytes, None] | None = None
        for name, member in shape.members.items():
            value = result.get(name)
            if value is None:
                continue
            location = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if location == "statusCode":
                status = int(value)
            elif location == "header":
                if member.type_name == "list" and not value:
                    continue
                headers[wire] = _write_text(member, value, "rfc822")
            elif location == "headers":
                for key, v in value.items():
                    headers[wire + key] = str(v)
        payload = shape.serialization.get("payload")
        if payload is not None:
            member = shape.members[payload]
            value = result.get(payload)
            if member.serialization.get("eventstream"):
                body = b""
                if value is not None:
                    stream = eventstream.encode_stream(member, value)
            elif member.type_name in ("blob", "string"):
                body = value.encode("utf-8") if isinstance(value, str) else bytes(value or b"")
            else:
                body = dump_json(json_walk.write_value(member, value)) if value is not None else b"{}"
        else:
            body = dump_json(json_walk.write_structure(shape, result))
        if status == 204:
            body = b""
        return HttpResponse(status, headers, body, stream)

    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        shape, status, sender = self.error_parts(err)
        code = err.code.rpartition("#")[2]
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id, "x-amzn-ErrorType": code}
        if shape is not None:
            for name, member in shape.members.items():
                if member.serialization.get("location") == "header" and err.fields.get(name) is not None:
                    headers[member.serialization.get("name", name)] = _write_text(member, err.fields[name], "rfc822")
        headers.update(err.headers)
        body = error_body(shape, err)
        if "Type" not in body:
            body = {"Type": "User" if sender else "Service", **body}
        return HttpResponse(status, headers, dump_json(body))
