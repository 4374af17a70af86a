"""The protocol interface and what every wire format shares.

A Protocol turns an HttpRequest into (operation, params) and a result dict or
AWSError into an HttpResponse, driven entirely by the service's botocore model.
Subclasses supply the wire format (query.py, json_rpc.py, rest_json.py).
"""

from __future__ import annotations

import abc
from typing import Any

from botocore.model import OperationModel, ServiceModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import validate
from cloudlet.protocol.error_codes import ErrorInfo, error_table, resolve
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.styles import ValidationStyle, style_for
from cloudlet.protocol.values import BadValue


class WireTypeError(BadValue):
    """A member whose wire value does not fit its shape's type."""

    def __init__(self, path: list[str], raw: object, expected: str) -> None:
        super().__init__(f"{'.'.join(path)}: {raw!r}")
        self.path = path
        self.raw = raw
        self.expected = expected


class Protocol(abc.ABC):
    #: botocore protocol name
    name: str = ""

    def __init__(self, service: str, model: ServiceModel) -> None:
        self.service = service
        self.model = model
        self.style: ValidationStyle = style_for(service)
        self._errors: dict[str, ErrorInfo] = error_table(model)
        self._operations: set[str] = set(model.operation_names)

    # -- the contract -------------------------------------------------------

    def operation_for_request(self, req: HttpRequest) -> str | None:
        return self.locate(req)[0]

    def parse_request(self, req: HttpRequest) -> tuple[str, dict[str, Any]]:
        op_name, found = self.locate(req)
        if op_name is None:
            raise self.unknown_operation(req, found)
        op = self.model.operation_model(op_name)
        try:
            params = self.parse_input(req, op, found)
        except WireTypeError as exc:
            raise self.type_error(exc) from None
        failures = validate.check(op.input_shape, params, self.style)
        if failures:
            raise validate.to_error(self.style, failures, self.wire_name_for(op))
        return op_name, params

    @abc.abstractmethod
    def serialize_response(self, op_name: str, result: dict[str, Any] | None, request_id: str) -> HttpResponse:
        """Supplied by each wire format."""

    @abc.abstractmethod
    def serialize_error(self, err: AWSError, op_name: str | None, request_id: str) -> HttpResponse:
        """Supplied by each wire format."""

    # -- hooks and shared helpers ------------------------------------------

    @abc.abstractmethod
    def locate(self, req: HttpRequest) -> tuple[str | None, Any]:
        """(the operation the request names or None, what the wire format read to find it).

        The second item is handed on to parse_input / unknown_operation, so that the
        form body or the URI route is read once per request.
        """

    @abc.abstractmethod
    def parse_input(self, req: HttpRequest, op: OperationModel, found: Any) -> dict[str, Any]:
        """Supplied by each wire format."""

    @abc.abstractmethod
    def unknown_operation(self, req: HttpRequest, found: Any) -> AWSError:
        """Supplied by each wire format."""

    def type_error(self, exc: WireTypeError) -> AWSError:
        """A member of the wrong type: Coral JSON services call it SerializationException."""
        return AWSError(
            self.style.serialization_code,
            f"Value '{exc.raw}' at '{'.'.join(exc.path)}' could not be read as {exc.expected}",
            status=400,
            sender_fault=True,
        )

    def wire_name_for(self, op: OperationModel) -> Any:
        """Maps a validation path to the parameter name the client used (None: model names)."""
        return None

    def error_parts(self, err: AWSError) -> tuple[Shape | None, int, bool]:
        # Coral codes may carry a namespace ("com.amazon.coral.service#X").
        return resolve(self._errors, err.code.rpartition("#")[2], err.status, err.sender_fault)
