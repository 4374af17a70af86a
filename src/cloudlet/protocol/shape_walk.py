"""Decoded body values <-> typed params, following a botocore shape: the walk over structures,
lists and maps that the JSON bodies (json, rest-json) and CBOR bodies (rpc-v2-cbor) share.
A subclass says how members are named on the wire and how scalars look there."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from botocore.model import Shape

from cloudlet.protocol.base import WireTypeError


class ShapeWalk(ABC):
    def wire_name(self, name: str, member: Shape) -> str:
        return name

    def written(self, member: Shape) -> bool:
        """Whether a member belongs in the body (not in a header, the URI or the query)."""
        return True

    def present(self, raw: Any) -> bool:
        return raw is not None

    @abstractmethod
    def read_scalar(self, kind: str, shape: Shape, value: Any, path: list[str]) -> Any:
        """A number, timestamp or blob as the wire has it -> its typed value (WireTypeError if not one)."""

    @abstractmethod
    def write_scalar(self, kind: str, shape: Shape, value: Any) -> Any:
        """A typed number, timestamp or blob -> its wire form."""

    # -- the shared walk

    def read_structure(self, shape: Shape, value: Any, path: list[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise WireTypeError(path, value, "structure")
        if shape.metadata.get("document"):
            return value
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            raw = value.get(self.wire_name(name, member))
            if self.present(raw):
                out[name] = self.read_value(member, raw, path + [name])
        return out

    def read_value(self, shape: Shape, value: Any, path: list[str]) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.read_structure(shape, value, path)
        if kind == "list":
            if not isinstance(value, list):
                raise WireTypeError(path, value, "list")
            member = shape.member
            return [None if v is None else self.read_value(member, v, path + [str(i)]) for i, v in enumerate(value, 1)]
        if kind == "map":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise WireTypeError(path, value, "map")
            return {k: None if v is None else self.read_value(shape.value, v, path + [k]) for k, v in value.items()}
        if kind in ("string", "character"):
            if not isinstance(value, str):
                raise WireTypeError(path, value, "string")
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise WireTypeError(path, value, "boolean")
            return value
        return self.read_scalar(kind, shape, value, path)

    def write_structure(self, shape: Shape, value: dict[str, Any]) -> dict[str, Any]:
        if shape.metadata.get("document"):
            return value
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            v = value.get(name)
            if v is not None and self.written(member):
                out[self.wire_name(name, member)] = self.write_value(member, v)
        return out

    def write_value(self, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind == "structure":
            return self.write_structure(shape, value) if isinstance(value, dict) else value
        if kind == "list":
            return [self.write_value(shape.member, v) for v in value if v is not None]
        if kind == "map":
            return {str(k): self.write_value(shape.value, v) for k, v in value.items() if v is not None}
        if kind in ("float", "double"):
            return self.write_scalar(kind, shape, float(value))
        if kind in ("integer", "long"):
            return int(value)
        if kind == "boolean":
            return bool(value)
        return self.write_scalar(kind, shape, value)
