"""Input validation against a botocore input shape, worded as AWS words it.

Checks what AWS enforces server-side from the model: required members, enums,
length (strings, blobs, lists, maps), numeric ranges and `pattern` regexes
(Java-style full match; patterns Python's `re` cannot compile are skipped).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from typing import Any

from botocore.model import Shape  # type: ignore[import-untyped]

from cloudlet.core.errors import AWSError
from cloudlet.protocol.styles import ValidationStyle

# Coral reports at most this many failures in one message.
_MAX_REPORTED = 10


@dataclasses.dataclass
class Failure:
    path: list[str]  # member names (and list indexes) from the input root
    value: object
    constraint: str  # "Member must ..." text
    missing: bool = False
    sensitive: bool = False
    blank: bool = False  # a required string sent empty (only ElastiCache's wording reports it)
    # A bad item of a list of scalars: (the list's path, the list); Coral reports the list once.
    in_list: tuple[list[str], object] | None = None


@functools.lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern, re.DOTALL)
    except (re.error, OverflowError):
        return None


def _render_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render_value(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return "java.nio.HeapByteBuffer"
    if isinstance(value, dict):
        # java.util.Map's toString
        return "{" + ", ".join(f"{_render_value(k)}={_render_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def check(shape: Shape | None, params: dict[str, Any], style: ValidationStyle | None = None) -> list[Failure]:
    failures: list[Failure] = []
    if shape is not None:
        _check_structure(shape, params, [], failures, style.provider_checked if style else frozenset())
    if style is None or style.wording != "elasticache":
        # Coral and EC2 check only presence; an empty string meets "required".
        failures = [f for f in failures if not f.blank]
    if style is not None and style.wording == "coral":
        failures = _lists_once(shape, failures)
    return failures


def _lists_once(root: Shape | None, failures: list[Failure]) -> list[Failure]:
    """Coral words bad items of a list of scalars once, for the whole list, with every constraint
    of the item shape: "Value '[X86_64]' at 'architectures' failed to satisfy constraint: Member
    must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], Member must not
    be null]"."""
    out: list[Failure] = []
    seen: set[tuple[str, ...]] = set()
    for f in failures:
        if f.in_list is None:
            out.append(f)
            continue
        list_path, value = f.in_list
        if tuple(list_path) in seen:
            continue
        seen.add(tuple(list_path))
        member = _member_shape(root, list_path)
        if member is None:
            out.append(f)
            continue
        constraints = ", ".join(c for c in (_constraints_of(member), "Member must not be null") if c)
        out.append(Failure(list_path, value, f"Member must satisfy constraint: [{constraints}]", sensitive=f.sensitive))
    return out


def _member_shape(root: Shape | None, path: list[str]) -> Shape | None:
    """The item shape of the list at PATH (member names and list indexes) under ROOT."""
    shape = root
    parts = list(path)
    while parts and shape is not None:
        part = parts.pop(0)
        if shape.type_name == "structure":
            shape = shape.members.get(part)
        elif shape.type_name == "list":
            shape = shape.member
            if parts and parts[0] == "member":
                parts.pop(0)
        elif shape.type_name == "map":
            shape = shape.value
            if parts and parts[0] == "value":
                parts.pop(0)
        else:
            return None
    return shape.member if shape is not None and shape.type_name == "list" else None


def _check_structure(
    shape: Shape, value: dict[str, Any], path: list[str], out: list[Failure], skip: frozenset[str] = frozenset()
) -> None:
    members = shape.members
    for name in shape.required_members:
        if value.get(name) is None:
            out.append(Failure(path + [name], None, "Member must not be null", missing=True))
        elif value[name] == "" and members[name].type_name == "string":
            out.append(Failure(path + [name], "", "Member must not be blank", missing=True, blank=True))
    for name, member_value in value.items():
        member = members.get(name)
        if member is not None and member_value is not None and member.name not in skip:
            _check_value(member, member_value, path + [name], out, skip)


def _check_value(shape: Shape, value: Any, path: list[str], out: list[Failure], skip: frozenset[str] = frozenset()) -> None:
    kind = shape.type_name
    meta = shape.metadata
    sensitive = bool(meta.get("sensitive"))
    if kind == "structure":
        if isinstance(value, dict) and not meta.get("document"):
            _check_structure(shape, value, path, out, skip)
        return
    if kind == "list":
        _check_length(len(value), meta, value, path, sensitive, out)
        scalar = shape.member.type_name not in ("structure", "list", "map")
        for i, item in enumerate(value, 1):
            if item is not None:
                start = len(out)
                _check_value(shape.member, item, path + [str(i), "member"], out, skip)
                if scalar:
                    for f in out[start:]:
                        f.in_list = (path, value)
        return
    if kind == "map":
        _check_length(len(value), meta, value, path, sensitive, out)
        _check_map_entries(shape, value, path, sensitive, out)
        return
    if kind == "string":
        enum = shape.enum
        if enum and value not in enum:
            out.append(Failure(path, value, f"Member must satisfy enum value set: [{', '.join(enum)}]", sensitive=sensitive))
            return
        _check_length(len(value), meta, value, path, sensitive, out)
        pattern = meta.get("pattern")
        if pattern:
            compiled = _compiled(pattern)
            if compiled is not None and compiled.fullmatch(value) is None:
                out.append(
                    Failure(path, value, f"Member must satisfy regular expression pattern: {pattern}", sensitive=sensitive)
                )
        return
    if kind == "blob":
        if isinstance(value, (bytes, bytearray)):
            _check_length(len(value), meta, value, path, True, out)
        return
    if kind in ("integer", "long", "float", "double"):
        low, high = meta.get("min"), meta.get("max")
        if low is not None and value < low:
            out.append(Failure(path, value, f"Member must have value greater than or equal to {low}", sensitive=sensitive))
        elif high is not None and value > high:
            out.append(Failure(path, value, f"Member must have value less than or equal to {high}", sensitive=sensitive))


def _check_map_entries(shape: Shape, value: dict[Any, Any], path: list[str], sensitive: bool, out: list[Failure]) -> None:
    """Coral reports a map's bad keys once and its bad scalar values once, at the map's
    own path, listing every constraint of the key (value) shape:
    "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: ...]"."""
    key_shape, value_shape = shape.key, shape.value
    if any(_failures_of(key_shape, key) for key in value):
        hidden = sensitive or bool(key_shape.metadata.get("sensitive"))
        out.append(Failure(path, value, f"Map keys must satisfy constraint: [{_constraints_of(key_shape)}]", sensitive=hidden))
    if value_shape.type_name in ("structure", "list", "map"):
        for key, item in value.items():
            if item is not None:
                _check_value(value_shape, item, path + [str(key), "value"], out)
    elif any(_failures_of(value_shape, item) for item in value.values() if item is not None):
        hidden = sensitive or bool(value_shape.metadata.get("sensitive"))
        out.append(Failure(path, value, f"Map value must satisfy constraint: [{_constraints_of(value_shape)}]", sensitive=hidden))


def _failures_of(shape: Shape, value: Any) -> list[Failure]:
    found: list[Failure] = []
    _check_value(shape, value, [], found)
    return found


def _constraints_of(shape: Shape) -> str:
    """Every constraint of a scalar shape, in Coral's order (max before min, then pattern)."""
    meta = shape.metadata
    if shape.type_name == "string" and shape.enum:
        return f"Member must satisfy enum value set: [{', '.join(shape.enum)}]"
    noun = "length" if shape.type_name in ("string", "blob") else "value"
    parts = []
    if meta.get("max") is not None:
        parts.append(f"Member must have {noun} less than or equal to {meta['max']}")
    if meta.get("min") is not None:
        parts.append(f"Member must have {noun} greater than or equal to {meta['min']}")
    if shape.type_name == "string" and meta.get("pattern"):
        parts.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    return ", ".join(parts)


def _check_length(
    length: int, meta: dict[str, Any], value: object, path: list[str], sensitive: bool, out: list[Failure]
) -> None:
    low, high = meta.get("min"), meta.get("max")
    if low is not None and length < low:
        out.append(Failure(path, value, f"Member must have length greater than or equal to {low}", sensitive=sensitive))
    elif high is not None and length > high:
        out.append(Failure(path, value, f"Member must have length less than or equal to {high}", sensitive=sensitive))


def _coral_path(path: list[str]) -> str:
    return ".".join(p[:1].lower() + p[1:] for p in path)


def _coral_line(f: Failure) -> str:
    if f.missing:
        head = "Value null at"
    elif f.sensitive:
        # Coral leaves sensitive values out of the message.
        head = "Value at"
    else:
        head = f"Value '{_render_value(f.value)}' at"
    return f"{head} '{_coral_path(f.path)}' failed to satisfy constraint: {f.constraint}"


def to_error(style: ValidationStyle, failures: list[Failure], wire_name: Any = None) -> AWSError:
    """The AWSError a service sends for these failures (status 400, sender fault).

    `wire_name(path)` gives a member path's name as the client sent it (query
    protocols name parameters that way in their messages).
    """
    def name_of(f: Failure) -> str:
        return wire_name(f.path) if wire_name is not None else ".".join(f.path)

    for member, message in style.too_long_wording:
        if any(f.path == [member] and f.constraint.startswith("Member must have length less") for f in failures):
            return AWSError(style.code, message, status=400, sender_fault=True)
    if style.wording == "coral":
        shown = failures[:_MAX_REPORTED]
        count = len(failures)
        noun = "error" if count == 1 else "errors"
        message = f"{count} validation {noun} detected: " + "; ".join(_coral_line(f) for f in shown)
        code = style.missing_code if all(f.missing for f in failures) else style.code
        return AWSError(code, message, status=400, sender_fault=True)
    first = next((f for f in failures if f.missing), failures[0])
    if first.missing:
        if style.wording == "ec2":
            message = f"The request must contain the parameter {name_of(first)}"
        else:
            # ElastiCache words an absent parameter "null" and an empty one "blank".
            empty = "blank" if first.blank else "null"
            message = f"The parameter {name_of(first)} must be provided and must not be {empty}."
        return AWSError(style.missing_code, message, status=400, sender_fault=True)
    shown_value = "" if first.sensitive else _render_value(first.value)
    if style.wording == "ec2":
        message = f"Value ({shown_value}) for parameter {name_of(first)} is invalid. {first.constraint}"
    else:
        message = f"Invalid value '{shown_value}' for parameter {name_of(first)}: {first.constraint}"
    return AWSError(style.code, message, status=400, sender_fault=True)
