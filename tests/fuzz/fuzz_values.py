"""Seeded input generation for the API fuzz: values valid per a botocore shape,
and mutations of them that a careless or hostile client could send.

Everything is driven by one `random.Random`, so a (service, operation, seed)
triple always yields the same requests.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import re._parser as sre  # type: ignore[import-not-found]
import string
from collections.abc import Iterator
from typing import Any

from botocore.model import Shape

#: Every name the fuzz makes starts with this, so its side effects are recognisable.
PREFIX = "fz"

UNICODE_SAMPLES = [
    "é",
    "日本語",
    "🙂",
    "\u202eRTL",
    "\u0000",
    "tab\tnew\nline",
    "<x>&'\"",
    "a b%20c%zz",
    "\u00ff\u0100",
    "\ufeffbom",
    "${aws:username}",
    "\ud800lone",  # a lone surrogate: JSON can carry it escaped, UTF-8 cannot
    "*",
    "..",
    "/",
]
_CATEGORY_CHARS = {
    sre.CATEGORY_DIGIT: string.digits,
    sre.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre.CATEGORY_NOT_WORD: "-.",
    sre.CATEGORY_NOT_SPACE: string.ascii_letters,
}
MUTATIONS = [
    "valid",
    "valid",
    "missing_required",
    "boundary",
    "wrong_type",
    "bad_enum",
    "empty",
    "unicode",
    "long",
    "extra_member",
    "many_items",
]


class _Unsupported(Exception):
    """A regex construct the small generator does not produce text for."""


def _from_regex(rng: random.Random, items: Any, depth: int = 0) -> str:
    if depth > 20:
        raise _Unsupported("deep")
    out: list[str] = []
    for op, arg in items:
        if op is sre.LITERAL:
            out.append(chr(arg))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in "abcxyz" if c != chr(arg)]))
        elif op is sre.ANY:
            out.append(rng.choice(string.ascii_letters))
        elif op is sre.IN:
            out.append(_from_set(rng, arg))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, high, sub = arg
            top = high if high != sre.MAXREPEAT else low + 12
            count = rng.randint(low, max(low, min(top, low + 12)))
            out.extend(_from_regex(rng, sub, depth + 1) for _ in range(count))
        elif op is sre.SUBPATTERN:
            out.append(_from_regex(rng, arg[-1], depth + 1))
        elif op is sre.BRANCH:
            out.append(_from_regex(rng, rng.choice(arg[1]), depth + 1))
        elif op is sre.ATOMIC_GROUP:
            out.append(_from_regex(rng, arg, depth + 1))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        else:
            raise _Unsupported(str(op))
    return "".join(out)


def _from_set(rng: random.Random, items: Any) -> str:
    if any(op is sre.NEGATE for op, _ in items):
        excluded = {chr(a) for op, a in items if op is sre.LITERAL}
        return rng.choice([c for c in "abcxyz" if c not in excluded])
    choices: list[str] = []
    for op, arg in items:
        if op is sre.LITERAL:
            choices.append(chr(arg))
        elif op is sre.RANGE:
            low, high = arg
            choices.extend(chr(c) for c in range(low, min(high, low + 60) + 1))
        elif op is sre.CATEGORY:
            choices.extend(_CATEGORY_CHARS.get(arg, "a"))
    if not choices:
        raise _Unsupported("empty set")
    return rng.choice(choices)


def _pattern_fits(pattern: str | None, value: str) -> bool:
    if not pattern:
        return True
    try:
        return re.fullmatch(pattern, value, re.DOTALL) is not None
    except re.error:
        return True


def valid_string(rng: random.Random, shape: Shape) -> str:
    meta = shape.metadata
    if shape.enum:
        return str(rng.choice(shape.enum))
    low = int(meta.get("min", 0))
    high = int(meta.get("max", 64))
    pattern = meta.get("pattern")
    tries: list[str] = []
    if pattern:
        try:
            parsed = sre.parse(pattern)
            tries = [_from_regex(rng, parsed) for _ in range(6)]
        except (_Unsupported, re.error, IndexError, RecursionError):
            tries = []
    length = rng.randint(max(low, len(PREFIX) + 1), max(low, min(high, 24), len(PREFIX) + 1))
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(max(0, length - len(PREFIX))))
    tries.append(PREFIX + body)
    tries.append("a" * max(low, 1))
    for value in tries:
        if low <= len(value) <= high and _pattern_fits(pattern, value):
            return value
    return tries[-1]


class ValueMaker:
    """Random values that satisfy a shape's constraints."""

    def __init__(self, rng: random.Random, max_depth: int = 4) -> None:
        self.rng = rng
        self.max_depth = max_depth

    def structure(self, shape: Shape, depth: int = 0) -> dict[str, Any]:
        required = set(shape.required_members)
        members = shape.members
        names = list(members)
        if shape.metadata.get("union") and names:
            name = self.rng.choice(names)
            return {name: self.value(members[name], depth + 1)}
        out: dict[str, Any] = {}
        for name, member in members.items():
            ser = member.serialization
            if ser.get("eventstream") or ser.get("location") == "statusCode":
                continue
            if name not in required and (depth >= self.max_depth or self.rng.random() < 0.5):
                continue
            out[name] = self.value(member, depth + 1)
        return out

    def value(self, shape: Shape, depth: int = 0) -> Any:
        rng = self.rng
        meta = shape.metadata
        kind = shape.type_name
        if kind == "structure":
            if meta.get("document"):
                return {"doc": [1, "two"]}
            return self.structure(shape, depth)
        if kind == "list":
            low = int(meta.get("min", 0))
            count = rng.randint(max(low, 1), max(low, 2)) if depth < self.max_depth else low
            return [self.value(shape.member, depth + 1) for _ in range(count)]
        if kind == "map":
            count = rng.randint(max(int(meta.get("min", 0)), 1), 2)
            return {valid_string(rng, shape.key) + str(i): self.value(shape.value, depth + 1) for i in range(count)}
        if kind == "string":
            if shape.serialization.get("jsonvalue"):
                return {"k": ["v", 1]}
            return valid_string(rng, shape)
        if kind in ("integer", "long"):
            low = int(meta.get("min", 0))
            high = int(meta.get("max", low + 100))
            return rng.randint(low, max(low, min(high, low + 1000)))
        if kind in ("float", "double"):
            low = float(meta.get("min", 0))
            return low + rng.random() * 10
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "timestamp":
            return dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randint(0, 10**7))
        if kind == "blob":
            return bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        return None


# -- walking a params dict alongside its shape ---------------------------------


def leaves(shape: Shape, value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Shape]]:
    """Every (path, shape) in a params value, containers included."""
    yield path, shape
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict) and not shape.metadata.get("document"):
        for name, item in value.items():
            member = shape.members.get(name)
            if member is not None:
                yield from leaves(member, item, path + (name,))
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(shape.member, item, path + (i,))
    elif kind == "map" and isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(shape.value, item, path + (key,))


def set_at(root: dict[str, Any], path: tuple[Any, ...], new: Any) -> None:
    node: Any = root
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = new


def remove_at(root: dict[str, Any], path: tuple[Any, ...]) -> None:
    node: Any = root
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]


def _out_of_range(rng: random.Random, shape: Shape) -> Any:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        low, high = meta.get("min"), meta.get("max")
        options = []
        if high is not None and int(high) < 200_000:
            options.append("b" * (int(high) + 1))
        if low is not None and int(low) > 0:
            options.append("b" * (int(low) - 1))
        options.append("b" * 300)
        return rng.choice(options)
    if kind in ("integer", "long", "float", "double"):
        low, high = meta.get("min"), meta.get("max")
        options = [2**63, -(2**63) - 1, 2**31, -1, 0]
        if high is not None:
            options.append(int(high) + 1)
        if low is not None:
            options.append(int(low) - 1)
        return rng.choice(options)
    if kind == "list":
        low, high = meta.get("min"), meta.get("max")
        count = int(high) + 1 if high is not None and int(high) < 2000 else 0 if low else 1
        return ["x"] * count
    return None


def _wrong_type(rng: random.Random, shape: Shape) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long", "float", "double"):
        return rng.choice(["not-a-number", "1.5e400", "0x10", "", " 7 ", "NaN", "1e3"])
    if kind == "string":
        return rng.choice([12345, -1, 3.25])
    if kind == "timestamp":
        return rng.choice([-(10**18), 10**18, 0])
    return None


def mutate(rng: random.Random, shape: Shape, params: dict[str, Any], kind: str) -> str:
    """Applies mutation `kind` to params in place; returns what it did (for failure messages)."""
    spots = list(leaves(shape, params))[1:]
    if kind == "missing_required":
        required = [
            (path + (name,)) for path, s in [((), shape)] + spots
            if s.type_name == "structure" for name in s.required_members
            if _exists(params, path + (name,))
        ]
        if not required:
            return "valid (no required members)"
        path = rng.choice(required)
        remove_at(params, path)
        return f"removed {path}"
    if kind == "extra_member":
        params["FuzzUnknownMember"] = "x"
        return "extra member"
    candidates = _candidates(spots, kind)
    if not candidates:
        return f"valid (nothing to {kind})"
    path, target = rng.choice(candidates)
    if kind == "boundary":
        new = _out_of_range(rng, target)
    elif kind == "wrong_type":
        new = _wrong_type(rng, target)
    elif kind == "bad_enum":
        new = "NOT_A_" + rng.choice(["VALUE", "valid-enum", "ñ"])
    elif kind == "empty":
        new = {"list": [], "map": {}, "structure": {}}.get(target.type_name, "")
    elif kind == "unicode":
        new = "".join(rng.choice(UNICODE_SAMPLES) for _ in range(rng.randint(1, 3)))
    elif kind == "long":
        new = "L" * rng.choice([1025, 4097, 70_000])
    elif kind == "many_items":
        sample = params_value(params, path)
        new = (sample * 1000)[:1000] if sample else ["x"] * 1000
    else:
        return "valid"
    set_at(params, path, new)
    return f"{kind} at {path}: {str(new)[:40]!r}"


def params_value(root: dict[str, Any], path: tuple[Any, ...]) -> Any:
    node: Any = root
    for part in path:
        node = node[part]
    return node


def _exists(root: dict[str, Any], path: tuple[Any, ...]) -> bool:
    try:
        params_value(root, path)
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _candidates(spots: list[tuple[tuple[Any, ...], Shape]], kind: str) -> list[tuple[tuple[Any, ...], Shape]]:
    def fits(s: Shape) -> bool:
        t = s.type_name
        if kind == "boundary":
            return t in ("string", "integer", "long", "float", "double", "list") and not s.metadata.get("enum")
        if kind == "wrong_type":
            return t in ("integer", "long", "float", "double", "string", "timestamp")
        if kind == "bad_enum":
            return t == "string" and bool(s.metadata.get("enum"))
        if kind == "empty":
            return t in ("list", "map", "string", "structure")
        if kind in ("unicode", "long"):
            return t == "string" and not s.serialization.get("jsonvalue")
        if kind == "many_items":
            return t == "list"
        return False

    return [(p, s) for p, s in spots if p and fits(s)]
