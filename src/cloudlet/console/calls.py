"""One console action as an API operation: JSON in, the front door's validate -> authorize ->
invoke steps (FrontDoor.run_parsed), JSON out.

Values follow the botocore model the way the JSON protocols write them (blobs base64,
timestamps epoch seconds), keyed by the model's member names whatever the service's wire
format, so the page speaks one shape to every service.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from botocore.model import Shape
from multidict import CIMultiDict

from cloudlet.core.context import Principal
from cloudlet.core.errors import AWSError
from cloudlet.core.ids import request_id as new_request_id
from cloudlet.protocol import eventstream
from cloudlet.protocol.base import WireTypeError
from cloudlet.protocol.http import HttpRequest
from cloudlet.protocol.json_walk import read_value, write_value
from cloudlet.protocol.registry import get_protocol

if TYPE_CHECKING:
    from cloudlet.server import FrontDoor

access_log = logging.getLogger("cloudlet.access")


def read_input(shape: Shape | None, value: Any) -> dict[str, Any]:
    if shape is None:
        return {}
    params: dict[str, Any] = _read_named(shape, value, [])
    return params


def _read_named(shape: Shape, value: Any, path: list[str]) -> Any:
    """read_value with the model's member names at every depth, whatever the wire's names."""
    kind = shape.type_name
    if kind == "structure" and not shape.metadata.get("document"):
        if not isinstance(value, dict):
            raise WireTypeError(path, value, "structure")
        return {n: _read_named(m, value[n], path + [n]) for n, m in shape.members.items() if value.get(n) is not None}
    if kind == "list":
        if not isinstance(value, list):
            raise WireTypeError(path, value, "list")
        return [_read_named(shape.member, v, path + [str(i)]) for i, v in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise WireTypeError(path, value, "map")
        return {k: _read_named(shape.value, v, path + [k]) for k, v in value.items()}
    return read_value(shape, value, path)


def write_output(shape: Shape | None, result: dict[str, Any]) -> dict[str, Any]:
    # Every member, headers and payload included (Lambda Invoke's LogResult, FunctionError).
    return {} if shape is None else _write_named(shape, result)


def _write_named(shape: Shape, value: Any) -> Any:
    """write_value with the model's member names at every depth (EC2's wire names are camelCase)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
        return {n: _write_named(m, value[n]) for n, m in shape.members.items() if value.get(n) is not None}
    if kind == "list" and isinstance(value, list):
        return [_write_named(shape.member, v) for v in value if v is not None]
    if kind == "map" and isinstance(value, dict):
        return {str(k): _write_named(shape.value, v) for k, v in value.items() if v is not None}
    return write_value(shape, value)


class ConsoleCalls:
    def __init__(self, front: FrontDoor, region: str) -> None:
        self.front = front
        self.region = region

    async def run(self, principal: Principal, service: str, operation: str, data: Any) -> tuple[int, dict[str, Any]]:
        """(HTTP status, the output or {"Error": {"Code", "Message"}})."""
        from cloudlet.server import Call  # the front door's own record of a request

        t0 = time.perf_counter()
        call = Call(HttpRequest("POST", "/console", [], CIMultiDict(), b"", ""), new_request_id(), "127.0.0.1", False)
        call.principal, call.region = principal, self.region
        status, out = 200, {}
        try:
            if service not in self.front.world.providers:
                raise AWSError("NotImplemented", f"cloudlet does not serve the service '{service}'.", status=501)
            call.service, call.proto = service, get_protocol(service)
            if operation not in call.proto.model.operation_names:
                raise AWSError("InvalidAction", f"{service} has no operation {operation!r}.", status=400)
            op = call.proto.model.operation_model(operation)
            call.operation = operation
            try:
                call.params = read_input(op.input_shape, data)
            except WireTypeError as exc:
                raise call.proto.type_error(exc) from None
            result = await eventstream.collected(op.output_shape, await self.front.run_parsed(call))
            out = write_output(op.output_shape, result)
        except AWSError as e:
            status = e.status or (call.proto.error_parts(e)[1] if call.proto else 400)
            out = {"Error": {"Code": e.code, "Message": e.message}}
        except Exception:
            logging.getLogger("cloudlet.console").exception("console call %s.%s failed", service, operation)
            status, out = 500, {"Error": {"Code": "InternalFailure", "Message": "Internal failure"}}
        access_log.info("%s %s %s %s %.1fms (console)", service or "-", operation or "-", principal.arn, status,
                        (time.perf_counter() - t0) * 1000)
        out["RequestId"] = call.request_id
        return status, out
