"""JSON values <-> typed params, following a botocore shape (json and rest-json bodies)."""

from __future__ import annotations

import math
from typing import Any

from botocore.model import Shape

from cloudlet.protocol.base import WireTypeError
from cloudlet.protocol.shape_walk import ShapeWalk
from cloudlet.protocol.values import BadValue, b64decode, b64encode, format_timestamp, json_float, to_datetime

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class JsonWalk(ShapeWalk):
    """JSON bodies: members by their wire name (`jsonName`/`name`), blobs base64, timestamps
    in the shape's format, NaN and the infinities as strings."""

    def wire_name(self, name: str, member: Shape) -> str:
        return member.serialization.get("name", name)

    def written(self, member: Shape) -> bool:
        return "location" not in member.serialization

    def read_scalar(self, kind: str, shape: Shape, value: Any, path: list[str]) -> Any:
        if kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
                raise WireTypeError(path, value, "integer")
            return int(value)
        if kind in ("float", "double"):
            if isinstance(value, str) and value in _SPECIAL_FLOATS:
                return _SPECIAL_FLOATS[value]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise WireTypeError(path, value, "number")
            return float(value)
        if kind == "timestamp":
            try:
                return to_datetime(value)
            except (BadValue, OverflowError, OSError, ValueError):
                raise WireTypeError(path, value, "timestamp") from None
        if kind == "blob":
            if not isinstance(value, str):
                raise WireTypeError(path, value, "blob")
            try:
                return b64decode(value)
            except BadValue:
                raise WireTypeError(path, value, "blob") from None
        return value

    def write_scalar(self, kind: str, shape: Shape, value: Any) -> Any:
        if kind == "timestamp":
            return format_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
        if kind == "blob":
            return b64encode(value)
        if kind in ("float", "double"):
            return json_float(value)
        return value


_WALK = JsonWalk()
read_structure = _WALK.read_structure
read_value = _WALK.read_value
write_structure = _WALK.write_structure
write_value = _WALK.write_value
