"""Dataclass records <-> JSON-able dicts, driven by the dataclasses' own type hints.

The persistence layer stores every service's records through this one codec, so a
record type needs no serialization code of its own. Decoding follows the field
types (datetime, Path, bytes, nested dataclasses, containers of them), ignores
fields a newer cloudlet dropped and lets missing fields take their defaults: that
is what lets a newer cloudlet read a data dir an older one wrote.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import sys
import types
import typing
from pathlib import Path
from typing import Any

# Paths inside the data dir are stored relative to it, so a data dir can be moved.
IN_DATA_DIR = "@data/"


def encode(value: Any, exclude: frozenset[str] = frozenset(), base: Path | None = None) -> Any:
    """A dataclass (or container of them) as plain JSON values; EXCLUDE drops top-level fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: encode(getattr(value, f.name), base=base)
            for f in dataclasses.fields(value)
            if f.name not in exclude
        }
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        if base is not None and value.is_relative_to(base):
            return IN_DATA_DIR + str(value.relative_to(base))
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: encode(v, base=base) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v, base=base) for v in value]
    return value


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """Field types of CLS; a type imported only for type checking counts as Any."""
    module = sys.modules.get(cls.__module__)
    ns = dict(vars(module)) if module else {}
    try:
        return typing.get_type_hints(cls, ns)
    except NameError:
        pass
    out: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, ann in getattr(klass, "__annotations__", {}).items():
            try:
                out[name] = eval(ann, ns) if isinstance(ann, str) else ann
            except NameError:
                out[name] = Any
    return out


def decode(tp: Any, data: Any, base: Path | None = None) -> Any:
    """DATA (from encode) back into type TP."""
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        return decode(members[0], data, base) if len(members) == 1 else data
    if origin is typing.Literal or tp is Any:
        return data
    if origin in (list, tuple):
        params = typing.get_args(tp)
        item = params[0] if params else Any
        items = [decode(item, v, base) for v in data]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        kv = typing.get_args(tp)
        vt = kv[1] if len(kv) == 2 else Any
        return {k: decode(vt, v, base) for k, v in data.items()}
    if isinstance(tp, type):
        if dataclasses.is_dataclass(tp):
            return decode_record(tp, data, base=base)
        if tp is dt.datetime:
            return dt.datetime.fromisoformat(data)
        if issubclass(tp, Path):
            if data.startswith(IN_DATA_DIR):
                if base is None:
                    raise ValueError(f"{data}: a data-dir path, and no data dir given")
                return base / data[len(IN_DATA_DIR):]
            return Path(data)
        if tp is bytes:
            return base64.b64decode(data)
        if tp is float and isinstance(data, int):
            return float(data)
    return data


@functools.cache
def _plain(tp: Any) -> bool:
    """Is a JSON value of type TP already its Python value (str, int, bool, lists/dicts of them)?"""
    if tp in (str, int, bool, type(None)) or tp is Any:
        return True
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return True
    if origin in (list, dict, typing.Union, types.UnionType):
        return all(_plain(a) for a in typing.get_args(tp))
    return False


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    """(name, type, plain) of CLS's init fields: worked out once per class."""
    hints = type_hints(cls)
    return tuple(
        (f.name, hints.get(f.name, Any), _plain(hints.get(f.name, Any)))
        for f in dataclasses.fields(cls)
        if f.init
    )


def decode_record(
    cls: type, data: dict[str, Any], extra: dict[str, Any] | None = None, base: Path | None = None
) -> Any:
    """An instance of dataclass CLS from DATA; EXTRA supplies excluded fields."""
    kwargs: dict[str, Any] = {}
    for name, tp, plain in _plan(cls):
        if extra and name in extra:
            kwargs[name] = extra[name]
        elif name in data:
            value = data[name]
            kwargs[name] = value if plain or value is None else decode(tp, value, base)
    return cls(**kwargs)
