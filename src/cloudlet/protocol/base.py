"""The protocol interface and what every wire format shares.

A Protocol turns an HttpRequest into (operation, params) and a result dict or
AWSError into an HttpResponse, driven entirely by the service's botocore model.
Subclasses supply the wire format (query.py, json_rpc.py, rest_json.py).
"""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from botocore.model import OperationModel, ServiceModel, Shape

from cloudlet.core.errors import AWSError
from cloudlet.protocol import encoding, validate
from cloudlet.protocol.error_codes import ErrorInfo, error_table, resolve
from cloudlet.protocol.http import HttpRequest, HttpResponse
from cloudlet.protocol.styles import ValidationStyle, style_for
from cloudlet.protocol.values import BadValue

if TYPE_CHECKING:
    from cloudlet.sigv4 import FailureReason, SigV4Failure


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
    #: SigV4 failure reason -> (code, HTTP status), as this wire format's front ends answer.
    auth_codes: ClassVar[dict[FailureReason, tuple[str, int]]] = {}

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
        req = encoding.decoded(req)
        op_name, found = self.locate(req)
        if op_name is None:
            raise self.unknown_operation(req, found)
        op = self.model.operation_model(op_name)
        try:
            params = self.parse_input(req, op, found)
        except WireTypeError as exc:
            raise self.type_error(exc) from None
        self.validate_input(op_name, params, self.wire_name_for(op))
        return op_name, params

    def validate_input(self, op_name: str, params: dict[str, Any], wire_names: Any = None) -> None:
        """Checks PARAMS against the operation's input shape; the one place the model's rules run."""
        op = self.model.operation_model(op_name)
        failures = validate.check(op.input_shape, params, self.style)
        if failures:
            raise validate.to_error(self.style, failures, wire_names)

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

    # -- errors the front door raises in this wire format's wording ------------

    def auth_error(self, failure: SigV4Failure) -> AWSError:
        code, status = self.auth_codes[failure.reason]
        return AWSError(code, self.auth_message(failure), status=status, sender_fault=True)

    def auth_message(self, failure: SigV4Failure) -> str:
        return failure.message

    def internal_error(self) -> AWSError:
        return AWSError(self.style.internal_code, self.style.internal_message, status=500, sender_fault=False)

    def not_implemented(self, operation: str) -> AWSError:
        return AWSError(
            self.style.not_implemented_code,
            f"The operation {operation} of service {self.service} is not implemented by cloudlet.",
            status=501,
            sender_fault=False,
        )

    def too_large(self, limit: int) -> AWSError:
        return AWSError(self.style.too_large_code, f"Request must be smaller than {limit} bytes.", status=413)
