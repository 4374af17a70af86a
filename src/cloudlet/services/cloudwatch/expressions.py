"""Metric math, the part cloudlet evaluates: arithmetic (+ - * /, unary minus, parentheses) on
time series and numbers, METRICS() and the array functions SUM, AVG, MIN, MAX.

A time series is {timestamp: value}; arithmetic between two series keeps the timestamps
both have (CloudWatch's alignment for series of one period); a function over an array
of series gives one series, per timestamp. Other functions (FILL, RATE, SEARCH, IF, ...)
and Metrics Insights queries are refused as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Series = dict[float, float]
Value = float | Series | list[Series]

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")


class ExpressionError(ValueError):
    pass


def _combine(a: Value, b: Value, op: Callable[[float, float], float | None]) -> Value:
    if isinstance(a, list) or isinstance(b, list):
        if isinstance(a, list) and not isinstance(b, list):
            return [_as_series(_combine(x, b, op)) for x in a]
        if isinstance(b, list) and not isinstance(a, list):
            return [_as_series(_combine(a, y, op)) for y in b]
        raise ExpressionError("an operation between two arrays of time series is not supported")
    if isinstance(a, dict) and isinstance(b, dict):
        return {t: r for t in a if t in b and (r := op(a[t], b[t])) is not None}
    if isinstance(a, dict):
        assert isinstance(b, float)
        return {t: r for t, v in a.items() if (r := op(v, b)) is not None}
    if isinstance(b, dict):
        return {t: r for t, v in b.items() if (r := op(a, v)) is not None}
    result = op(a, b)
    if result is None:
        raise ExpressionError("division by zero")
    return result


def _as_series(v: Value) -> Series:
    if not isinstance(v, dict):
        raise ExpressionError("expected a time series")
    return v


def _div(x: float, y: float) -> float | None:
    return None if y == 0 else x / y  # CloudWatch leaves out a point divided by zero


_OPS: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
    "/": _div,
}


def _reduce(name: str, arg: Value) -> Value:
    series = arg if isinstance(arg, list) else [arg] if isinstance(arg, dict) else None
    if series is None:
        raise ExpressionError(f"{name} expects a time series or an array of time series")
    stamps = sorted({t for s in series for t in s})
    out: Series = {}
    for t in stamps:
        vals = [s[t] for s in series if t in s]
        if name == "SUM":
            out[t] = sum(vals)
        elif name == "AVG":
            out[t] = sum(vals) / len(vals)
        elif name == "MIN":
            out[t] = min(vals)
        else:
            out[t] = max(vals)
    return out


class _Parser:
    def __init__(self, text: str, refs: Mapping[str, Series], all_metrics: list[Series]) -> None:
        self.tokens: list[tuple[str, str]] = []
        for m in _TOKEN.finditer(text):
            num, ident, other = m.groups()
            if num:
                self.tokens.append(("num", num))
            elif ident:
                self.tokens.append(("id", ident))
            elif other and not other.isspace():
                self.tokens.append(("op", other))
        self.pos = 0
        self.refs = refs
        self.all_metrics = all_metrics

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("unexpected end of expression")
        self.pos += 1
        return tok

    def expect(self, op: str) -> None:
        tok = self.next()
        if tok != ("op", op):
            raise ExpressionError(f"expected '{op}' but found '{tok[1]}'")

    def parse(self) -> Value:
        value = self.sum()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected '{self.peek()[1]}'")  # type: ignore[index]
        return value

    def sum(self) -> Value:
        value = self.product()
        while (tok := self.peek()) in (("op", "+"), ("op", "-")):
            self.pos += 1
            value = _combine(value, self.product(), _OPS[tok[1]])  # type: ignore[index]
        return value

    def product(self) -> Value:
        value = self.unary()
        while (tok := self.peek()) in (("op", "*"), ("op", "/")):
            self.pos += 1
            value = _combine(value, self.unary(), _OPS[tok[1]])  # type: ignore[index]
        return value

    def unary(self) -> Value:
        if self.peek() == ("op", "-"):
            self.pos += 1
            return _combine(-1.0, self.unary(), _OPS["*"])
        return self.atom()

    def atom(self) -> Value:
        kind, text = self.next()
        if kind == "num":
            return float(text)
        if kind == "op" and text == "(":
            value = self.sum()
            self.expect(")")
            return value
        if kind == "op" and text == "[":
            items: list[Series] = []
            while True:
                items.append(_as_series(self.sum()))
                tok = self.next()
                if tok == ("op", "]"):
                    return items
                if tok != ("op", ","):
                    raise ExpressionError(f"expected ',' or ']' but found '{tok[1]}'")
        if kind == "id":
            if self.peek() == ("op", "("):
                self.pos += 1
                name = text.upper()
                if name == "METRICS":
                    self.expect(")")
                    return list(self.all_metrics)
                if name in ("SUM", "AVG", "MIN", "MAX"):
                    arg = self.sum()
                    self.expect(")")
                    return _reduce(name, arg)
                raise ExpressionError(f"the function {text} is not supported by cloudlet")
            if text in self.refs:
                return dict(self.refs[text])
            raise ExpressionError(f"Unrecognized metric id or keyword: {text}")
        raise ExpressionError(f"unexpected '{text}'")


def evaluate(text: str, refs: Mapping[str, Series], all_metrics: list[Series]) -> Value:
    return _Parser(text, refs, all_metrics).parse()


def references(text: str) -> set[str]:
    """The identifiers an expression names (which other queries it needs first)."""
    return {m.group(2) for m in _TOKEN.finditer(text) if m.group(2)}
