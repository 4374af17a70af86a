"""Writes a result dict as XML following a botocore output shape (query, ec2)."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from botocore.model import Shape

from cloudlet.protocol.values import b64encode, format_float, format_timestamp

_ESCAPES = {"\r": "&#xD;", "\n": "&#xA;"}
# Characters XML 1.0 cannot carry even as references (NUL, most C0 controls,
# lone surrogates, U+FFFE/U+FFFF): an echoed bad value would make the whole
# document unreadable to every client, so they go out as U+FFFD. Spelled as the
# excluded ranges (the same set over all of Unicode): the complement of the allowed
# ones compiles ~15x slower, at every start, for the first XML answer.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def text(value: str) -> str:
    return escape(_NOT_XML.sub("\ufffd", value), _ESCAPES)


def member_tag(member: Shape, name: str) -> str:
    """The element name of a structure member (flattened lists take their member's name)."""
    ser = member.serialization
    if member.type_name == "list" and ser.get("flattened"):
        inner = member.member.serialization.get("name")
        if inner:
            return inner
    return ser.get("name", name)


def write_members(out: list[str], shape: Shape, value: dict[str, Any]) -> None:
    for name, member in shape.members.items():
        v = value.get(name)
        if v is not None:
            write_value(out, member_tag(member, name), member, v)


def write_value(out: list[str], tag: str, shape: Shape, value: Any) -> None:
    kind = shape.type_name
    if kind == "structure":
        out.append(f"<{tag}>")
        if isinstance(value, dict):
            write_members(out, shape, value)
        out.append(f"</{tag}>")
    elif kind == "list":
        member = shape.member
        if shape.serialization.get("flattened"):
            for item in value:
                write_value(out, tag, member, item)
            return
        item_tag = member.serialization.get("name", "member")
        out.append(f"<{tag}>")
        for item in value:
            write_value(out, item_tag, member, item)
        out.append(f"</{tag}>")
    elif kind == "map":
        key_tag = shape.key.serialization.get("name", "key")
        value_tag = shape.value.serialization.get("name", "value")
        flattened = shape.serialization.get("flattened")
        if not flattened:
            out.append(f"<{tag}>")
        for k, v in value.items():
            out.append(f"<{tag}>" if flattened else "<entry>")
            write_value(out, key_tag, shape.key, k)
            if v is not None:
                write_value(out, value_tag, shape.value, v)
            out.append(f"</{tag}>" if flattened else "</entry>")
        if not flattened:
            out.append(f"</{tag}>")
    else:
        out.append(f"<{tag}>{scalar_text(shape, value)}</{tag}>")


def scalar_text(shape: Shape, value: Any) -> str:
    kind = shape.type_name
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "timestamp":
        return text(str(format_timestamp(value, shape.serialization.get("timestampFormat", "iso8601"))))
    if kind == "blob":
        return b64encode(value)
    if kind in ("float", "double"):
        return format_float(float(value))
    if kind in ("integer", "long"):
        return str(int(value))
    return text(str(value))
