"""JSON values <-> typed params, following a botocore shape (json and rest-json bodies)."""

from __future__ import annotations

import math
from typing import Any

from botocore.model import Shape

from cloudlet.protocol.base import WireTypeError
from cloudlet.protocol.values import BadValue, b64decode, b64encode, format_timestamp, json_float, to_datetime

_SPECIAL_FLOATS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def read_structure(shape: Shape, value: Any, path: list[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireTypeError(path, value, "structure")
    if shape.metadata.get("document"):
        return value
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        raw = value.get(member.serialization.get("name", name))
        if raw is not None:
            out[name] = read_value(member, raw, path + [name])
    return out


def read_value(shape: Shape, value: Any, path: list[str]) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return read_structure(shape, value, path)
    if kind == "list":
        if not isinstance(value, list):
            raise WireTypeError(path, value, "list")
        member = shape.member
        return [None if v is None else read_value(member, v, path + [str(i)]) for i, v in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise WireTypeError(path, value, "map")
        return {k: None if v is None else read_value(shape.value, v, path + [k]) for k, v in value.items()}
    if kind in ("string", "character"):
        if not isinstance(value, str):
            raise WireTypeError(path, value, "string")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise WireTypeError(path, value, "boolean")
        return value
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


def write_structure(shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
    if shape.metadata.get("document"):
        return value
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        v = value.get(name)
        if v is not None and "location" not in member.serialization:
            out[member.serialization.get("name", name)] = write_value(member, v)
    return out


def write_value(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return write_structure(shape, value) if isinstance(value, dict) else value
    if kind == "list":
        return [write_value(shape.member, v) for v in value if v is not None]
    if kind == "map":
        return {str(k): write_value(shape.value, v) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", "unixTimestamp"))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return json_float(float(value))
    if kind in ("integer", "long"):
        return int(value)
    if kind == "boolean":
        return bool(value)
    return value
