"""Comparison values shared by JSON and space-delimited patterns.

A value on the right of an operator is one of: a number, a string (quoted or
bare, `*` is a wildcard), or a %regex%. Comparing never raises: a field of the
wrong kind simply does not match.
"""

from __future__ import annotations

import dataclasses
import math
import re

from cloudlet.services.logs.filter_pattern.errors import FilterPatternError

NUMBER_RE = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# What CloudWatch allows between the % signs: no groups, no '!', single-byte only.
_REGEX_FORBIDDEN = set("()!%")


def compile_regex(body: str) -> re.Pattern[str]:
    if not body:
        raise FilterPatternError("Empty regular expression")
    for ch in body:
        if ch in _REGEX_FORBIDDEN or ord(ch) > 127:
            raise FilterPatternError(f"Invalid character '{ch}' in regular expression %{body}%")
    try:
        return re.compile(body)
    except re.error as e:
        raise FilterPatternError(f"Invalid regular expression %{body}%: {e.msg}") from None


def wildcard_regex(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)), re.S)


def parse_number(text: str) -> float | None:
    if NUMBER_RE.fullmatch(text):
        v = float(text)
        return v if math.isfinite(v) else None
    return None


@dataclasses.dataclass(frozen=True)
class Value:
    kind: str  # "number" | "string" | "regex"
    text: str
    number: float | None = None
    pattern: re.Pattern[str] | None = None

    @classmethod
    def number_literal(cls, text: str) -> Value:
        return cls("number", text, number=parse_number(text))

    @classmethod
    def string_literal(cls, text: str) -> Value:
        return cls("string", text, pattern=wildcard_regex(text) if "*" in text else None)

    @classmethod
    def regex_literal(cls, body: str) -> Value:
        return cls("regex", body, pattern=compile_regex(body))

    def equals(self, field: object) -> bool:
        """`=` against a field value (str, int/float, bool, None or a container)."""
        if self.kind == "number" and self.number is not None and not isinstance(field, bool):
            if isinstance(field, (int, float)):
                return float(field) == self.number
            if isinstance(field, str) and (n := parse_number(field)) is not None:
                return n == self.number
        text = _scalar_text(field)
        if text is None:
            return False
        if self.kind == "regex":
            assert self.pattern is not None
            return self.pattern.search(text) is not None
        if self.pattern is not None:
            return self.pattern.fullmatch(text) is not None
        return text == self.text

    def compare(self, op: str, field: object) -> bool:
        if op == "=":
            return self.equals(field)
        if op == "!=":
            return _scalar_text(field) is not None and not self.equals(field)
        if self.number is None:
            return False
        if isinstance(field, bool):
            return False
        if isinstance(field, (int, float)):
            n: float | None = float(field)
        elif isinstance(field, str):
            n = parse_number(field)
        else:
            n = None
        if n is None:
            return False
        v = self.number
        return {"<": n < v, ">": n > v, "<=": n <= v, ">=": n >= v}[op]


def _scalar_text(field: object) -> str | None:
    """The text a scalar field compares as; None for objects, arrays and null."""
    if isinstance(field, bool):
        return "true" if field else "false"
    if isinstance(field, int):
        return str(field)
    if isinstance(field, float):
        return str(int(field)) if field.is_integer() else repr(field)
    if isinstance(field, str):
        return field
    return None
