"""The `query` protocol (IAM, STS, ElastiCache) and its `ec2` variant.

Requests are form parameters (POST body or GET query string) flattened as
Name.member.N / Name.entry.N.key; responses are XML shaped by the model.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl

from botocore.model import OperationModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import formtree, xml_out
from cloudlet.protocol.base import Protocol, WireTypeError
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.values import BadValue, b64decode, parse_bool, parse_float, parse_int, parse_timestamp

if TYPE_CHECKING:
    from cloudlet.sigv4 import SigV4Failure

_SCALAR_READERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "character": str,
    "integer": parse_int,
    "long": parse_int,
    "float": parse_float,
    "double": parse_float,
    "boolean": parse_bool,
    "timestamp": parse_timestamp,
    "blob": b64decode,
}


def form_pairs(req: HttpRequest) -> list[tuple[str, str]]:
    """Query-string pairs then form-body pairs, as AWS reads both."""
    pairs = list(req.query)
    if req.body:
        try:
            body = req.body.decode("utf-8")
        except UnicodeDecodeError:
            raise AWSError("MalformedQueryString", "The request body is not valid UTF-8.", status=400) from None
        pairs.extend(parse_qsl(body, keep_blank_values=True))
    return pairs


class QueryProtocol(Protocol):
    name = "query"
    # The query front ends (IAM, STS, ElastiCache) answer 403 to every auth failure.
    auth_codes = {
        "missing": ("MissingAuthenticationToken", 403),
        "incomplete": ("IncompleteSignature", 403),
        "unknown_key": ("InvalidClientTokenId", 403),
        "bad_token": ("InvalidClientTokenId", 403),
        "expired_token": ("ExpiredToken", 403),
        "skewed": ("SignatureDoesNotMatch", 403),
        "presign_expired": ("SignatureDoesNotMatch", 403),
        "bad_signature": ("SignatureDoesNotMatch", 403),
    }
    #: ec2 names parameters by queryName / capitalized locationName and never nests lists
    ec2 = False

    def __init__(self, service: str, model: Any) -> None:
        super().__init__(service, model)
        self.namespace: str = model.metadata.get("xmlNamespace", "")
        self.version: str = model.metadata.get("apiVersion", "")

    # -- requests -----------------------------------------------------------

    def locate(self, req: HttpRequest) -> tuple[str | None, list[tuple[str, str]]]:
        pairs = form_pairs(req)
        action = self._action(pairs)
        return (action if action in self._operations else None), pairs

    @staticmethod
    def _action(pairs: list[tuple[str, str]]) -> str | None:
        for key, value in pairs:
            if key == "Action":
                return value
        return None

    def parse_input(self, req: HttpRequest, op: OperationModel, found: list[tuple[str, str]]) -> dict[str, Any]:
        shape = op.input_shape
        return self._read_structure(shape, formtree.build(found), []) if shape is not None else {}

    def unknown_operation(self, req: HttpRequest, found: list[tuple[str, str]]) -> AWSError:
        return self._unknown_action(self._action(found))

    def _unknown_action(self, action: str | None) -> AWSError:
        if action is None:
            return AWSError("MissingAction", "Missing Action", status=400, sender_fault=True)
        return AWSError(
            "InvalidAction", f"Could not find operation {action} for version {self.version}", status=400, sender_fault=True
        )

    def param_name(self, member: Shape, name: str) -> str:
        # A query parameter is named as the member's XML element is.
        return xml_out.member_tag(member, name)

    def _read_structure(self, shape: Shape, node: formtree.Node, path: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        children = node.children
        for name, member in shape.members.items():
            key = self.param_name(member, name)
            child = children.get(key)
            if child is not None:
                out[name] = self._read_value(member, child, path + [key])
        return out

    def _read_value(self, shape: Shape, node: formtree.Node, path: list[str]) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self._read_structure(shape, node, path)
        if kind == "list":
            return self._read_list(shape, node, path)
        if kind == "map":
            return self._read_map(shape, node, path)
        if node.value is None:
            raise WireTypeError(path, "", kind)
        try:
            return _SCALAR_READERS.get(kind, str)(node.value)
        except BadValue:
            raise WireTypeError(path, node.value, kind) from None

    def _read_list(self, shape: Shape, node: formtree.Node, path: list[str]) -> list[Any]:
        if self.ec2 or shape.serialization.get("flattened"):
            items = node
        else:
            items = node.children.get(shape.member.serialization.get("name", "member"))  # type: ignore[assignment]
            if items is None:
                # "Name=" is how the query protocol sends an empty list.
                return []
        return [self._read_value(shape.member, item, path + [str(i)]) for i, item in enumerate(items.indexed(), 1)]

    def _read_map(self, shape: Shape, node: formtree.Node, path: list[str]) -> dict[Any, Any]:
        entries = node if shape.serialization.get("flattened") else node.children.get("entry")
        if entries is None:
            return {}
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        out: dict[Any, Any] = {}
        for i, entry in enumerate(entries.indexed(), 1):
            key_node = entry.children.get(key_name)
            if key_node is None:
                continue
            key = self._read_value(shape.key, key_node, path + [str(i), key_name])
            value_node = entry.children.get(value_name)
            out[key] = self._read_value(shape.value, value_node, path + [str(i), value_name]) if value_node else None
        return out

    def type_error(self, exc: WireTypeError) -> AWSError:
        name = ".".join(exc.path)
        if self.style.wording == "coral":
            message = (
                f"1 validation error detected: Value '{exc.raw}' at '{_coral_path(exc.path)}' failed to satisfy "
                f"constraint: Member must be a valid {exc.expected}"
            )
        else:
            message = f"Value ({exc.raw}) for parameter {name} is invalid. Expected a valid {exc.expected}."
        return AWSError(self.style.code, message, status=400, sender_fault=True)

    def wire_name_for(self, op: OperationModel) -> Any:
        return functools.partial(_wire_path, self, op.input_shape)

    # -- responses ----------------------------------------------------------

    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        op = self.model.operation_model(op_name)
        shape = op.output_shape
        out = [f'<{op_name}Response xmlns="{self.namespace}">']
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper", f"{op_name}Result")
            out.append(f"<{wrapper}>")
            xml_out.write_members(out, shape, result or {})
            out.append(f"</{wrapper}>")
        out.append(f"<ResponseMetadata><RequestId>{xml_out.text(request_id)}</RequestId></ResponseMetadata>")
        out.append(f"</{op_name}Response>")
        return HttpResponse(200, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, "".join(out).encode())

    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        shape, status, sender = self.error_parts(err)
        out = [f'<ErrorResponse xmlns="{self.namespace}"><Error>']
        out.append(f"<Type>{'Sender' if sender else 'Receiver'}</Type>")
        out.append(f"<Code>{xml_out.text(err.code)}</Code><Message>{xml_out.text(err.message)}</Message>")
        _write_error_fields(out, shape, err.fields)
        out.append(f"</Error><RequestId>{xml_out.text(request_id)}</RequestId></ErrorResponse>")
        headers = {"Content-Type": "text/xml", "x-amzn-RequestId": request_id, **err.headers}
        return HttpResponse(status, headers, "".join(out).encode())


class Ec2Protocol(QueryProtocol):
    name = "ec2"
    ec2 = True
    auth_codes = {
        # EC2 asks for the access key like a missing parameter (answer to an unsigned request).
        "missing": ("MissingParameter", 400),
        "incomplete": ("IncompleteSignature", 400),
        "unknown_key": ("AuthFailure", 401),
        "bad_token": ("AuthFailure", 401),
        "expired_token": ("RequestExpired", 400),
        "skewed": ("RequestExpired", 400),
        "presign_expired": ("RequestExpired", 400),
        "bad_signature": ("SignatureDoesNotMatch", 403),
    }
    _auth_messages: ClassVar[dict[str, str]] = {
        "missing": "The request must contain the parameter AWSAccessKeyId",
        "unknown_key": "AWS was not able to validate the provided access credentials",
        "bad_token": "AWS was not able to validate the provided access credentials",
        "expired_token": "Request has expired.",
        "skewed": "Request has expired.",
        "presign_expired": "Request has expired.",
    }

    def auth_message(self, failure: SigV4Failure) -> str:
        return self._auth_messages.get(failure.reason, failure.message)

    def __init__(self, service: str, model: Any) -> None:
        super().__init__(service, model)
        # The model's namespace lacks the trailing slash EC2 itself sends.
        self.namespace = self.namespace.rstrip("/") + "/"

    def param_name(self, member: Shape, name: str) -> str:
        ser = member.serialization
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][:1].upper() + ser["name"][1:]
        return name

    def _unknown_action(self, action: str | None) -> AWSError:
        if action is None:
            return AWSError("MissingAction", "The request must contain the parameter Action", status=400, sender_fault=True)
        return AWSError("InvalidAction", f"The action {action} is not valid for this web service.", status=400, sender_fault=True)

    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        op = self.model.operation_model(op_name)
        shape = op.output_shape
        out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{op_name}Response xmlns="{self.namespace}">']
        out.append(f"<requestId>{xml_out.text(request_id)}</requestId>")
        if shape is not None:
            xml_out.write_members(out, shape, result or {})
        elif op_name.startswith(("Delete", "Disassociate", "Detach", "Revoke")):
            out.append("<return>true</return>")
        out.append(f"</{op_name}Response>")
        headers = {"Content-Type": "text/xml;charset=UTF-8", "x-amzn-RequestId": request_id}
        return HttpResponse(200, headers, "".join(out).encode())

    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        shape, status, _sender = self.error_parts(err)
        out = ['<?xml version="1.0" encoding="UTF-8"?>', "<Response><Errors><Error>"]
        out.append(f"<Code>{xml_out.text(err.code)}</Code><Message>{xml_out.text(err.message)}</Message>")
        _write_error_fields(out, shape, err.fields)
        out.append(f"</Error></Errors><RequestID>{xml_out.text(request_id)}</RequestID></Response>")
        headers = {"Content-Type": "text/xml;charset=UTF-8", "x-amzn-RequestId": request_id, **err.headers}
        return HttpResponse(status, headers, "".join(out).encode())


def _coral_path(path: list[str]) -> str:
    """A wire path as Coral names it in its validation messages, the whole path from the input
    with list items as N.member (metricData.1.member.value), as the model checks word it."""
    return ".".join(f"{part}.member" if part.isdigit() else part[:1].lower() + part[1:] for part in path)


def _write_error_fields(out: list[str], shape: Shape | None, fields: dict[str, object]) -> None:
    members = shape.members if shape is not None else {}
    for name, value in fields.items():
        if value is None or name in ("Code", "Message", "message", "Type"):
            continue
        member = members.get(name)
        if member is not None:
            xml_out.write_value(out, xml_out.member_tag(member, name), member, value)
        else:
            out.append(f"<{name}>{xml_out.text(str(value))}</{name}>")


def _wire_path(proto: QueryProtocol, shape: Shape | None, path: list[str]) -> str:
    """A validation path of model names as the dotted parameter name the client sent."""
    parts: list[str] = []
    current = shape
    for segment in path:
        if current is None:
            parts.append(segment)
        elif current.type_name == "structure" and segment in current.members:
            member = current.members[segment]
            parts.append(proto.param_name(member, segment))
            current = member
        elif current.type_name == "list":
            if segment == "member":
                current = current.member
                continue
            if not proto.ec2 and not current.serialization.get("flattened"):
                parts.append(current.member.serialization.get("name", "member"))
            parts.append(segment)
        else:
            parts.append(segment)
            current = None
    return ".".join(parts)
