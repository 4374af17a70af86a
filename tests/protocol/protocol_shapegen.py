"""Deterministic example values for botocore shapes, honouring the model's
constraints (enum, min/max, pattern) so that botocore's own client accepts them."""

from __future__ import annotations

import datetime as dt
import re
import re._parser as sre  # type: ignore[import-not-found]
from typing import Any

from botocore.model import Shape

WHEN = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
# Tried first so that escaping (URL, XML, JSON) and non-ASCII text get exercised.
_CANDIDATES = ["Val 1&<x>/é", "abc", "abc-123", "Abc123"]
_CATEGORY_CHAR = {
    sre.CATEGORY_DIGIT: "1",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_NOT_WORD: "-",
    sre.CATEGORY_NOT_SPACE: "a",
}


def _from_regex(items: Any, repeat: int) -> str:
    out: list[str] = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append("a" if chr(arg) != "a" else "b")
        elif op is sre.ANY:
            out.append("a")
        elif op is sre.IN:
            out.append(_from_set(arg))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = arg
            count = max(low, min(repeat, high if high != sre.MAXREPEAT else repeat))
            out.append(_from_regex(sub, repeat) * count)
        elif op is sre.SUBPATTERN:
            out.append(_from_regex(arg[-1], repeat))
        elif op is sre.BRANCH:
            out.append(_from_regex(arg[1][0], repeat))
        elif op is sre.ATOMIC_GROUP:
            out.append(_from_regex(arg, repeat))
    return "".join(out)


def _from_set(items: Any) -> str:
    negate = any(op is sre.NEGATE for op, _ in items)
    if negate:
        excluded = {chr(a) for op, a in items if op is sre.LITERAL}
        return next(c for c in "abcxyz" if c not in excluded)
    for op, arg in items:
        if op is sre.LITERAL:
            return chr(arg)
        if op is sre.RANGE:
            return chr(max(arg[0], 0x30) if arg[0] <= 0x30 <= arg[1] else arg[0])
        if op is sre.CATEGORY:
            return _CATEGORY_CHAR.get(arg, "a")
    return "a"


def example_string(shape: Shape) -> str | None:
    meta = shape.metadata
    low, high = meta.get("min", 0), meta.get("max", 10**9)
    pattern = meta.get("pattern")
    try:
        compiled = re.compile(pattern, re.DOTALL) if pattern else None
        parsed = sre.parse(pattern) if pattern else None
    except (re.error, OverflowError, RecursionError):
        compiled = parsed = None
    tries = list(_CANDIDATES)
    if parsed is not None:
        for repeat in (1, 3, 8, 20, max(low, 1)):
            try:
                tries.append(_from_regex(parsed, repeat))
            except StopIteration:
                pass
    tries += ["a" * max(low, 1)]
    for value in tries:
        if low <= len(value) <= high and (compiled is None or compiled.fullmatch(value)):
            return value
    return None


def _has_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_leaf(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_leaf(v) for v in value)
    return value is not None


class Generator:
    def __init__(self, max_depth: int = 5) -> None:
        self.max_depth = max_depth

    def structure(self, shape: Shape, stack: tuple[str, ...] = ()) -> dict[str, Any]:
        out: dict[str, Any] = {}
        required = set(shape.required_members)
        members = shape.members
        if shape.metadata.get("union"):
            name = next(iter(members))
            value = self.value(members[name], stack + (shape.name,))
            return {name: value} if value is not None else {}
        for name, member in members.items():
            if member.serialization.get("eventstream"):
                continue
            recursive = member.name in stack or len(stack) >= self.max_depth
            if recursive and name not in required:
                continue
            if member.serialization.get("location") == "statusCode":
                out[name] = 200
                continue
            value = self.value(member, stack + (shape.name,))
            if not _has_leaf(value) and name not in required:
                continue  # an empty structure does not exist on the query wire
            if value is None:
                if name in required:
                    raise ValueError(f"cannot generate {shape.name}.{name}")
                continue
            out[name] = value
        return out

    def value(self, shape: Shape, stack: tuple[str, ...]) -> Any:
        meta = shape.metadata
        kind = shape.type_name
        if kind == "structure":
            if meta.get("document"):
                return {"doc": [1, "two"]}
            return self.structure(shape, stack)
        if kind == "list":
            count = max(1, min(meta.get("min", 1), 2))
            items = [self.value(shape.member, stack) for _ in range(count)]
            return None if any(i is None for i in items) else items
        if kind == "map":
            key = self.value(shape.key, stack)
            value = self.value(shape.value, stack)
            if key is None or value is None:
                return None
            wanted = max(1, meta.get("min", 1))
            keys = [key] + [f"{key}{i}" for i in range(1, wanted)]
            return {k: value for k in keys}
        if kind == "string":
            if shape.serialization.get("jsonvalue"):
                return {"k": ["v", 1]}
            if shape.enum:
                return shape.enum[0]
            return example_string(shape)
        if kind in ("integer", "long"):
            low, high = meta.get("min"), meta.get("max")
            value = 7 if low is None else int(low) + 1
            return min(value, int(high)) if high is not None else value
        if kind in ("float", "double"):
            low = meta.get("min")
            return 1.5 if low is None else float(low) + 0.5
        if kind == "boolean":
            return True
        if kind == "timestamp":
            return WHEN
        if kind == "blob":
            return b"blob\x00\x01" if not shape.serialization.get("streaming") else b"raw payload"
        return None
