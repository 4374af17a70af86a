"""Boolean condition trees (&&, ||, parentheses) over comparisons, used by both
JSON patterns (operands are selectors) and space-delimited patterns (operands are
field names). The operand is resolved by a lookup the caller supplies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from cloudlet.services.logs.filter_pattern.errors import FilterPatternError
from cloudlet.services.logs.filter_pattern.lexer import TokenStream
from cloudlet.services.logs.filter_pattern.values import Value, parse_number

# A lookup gives every value an operand resolves to ([] when it is absent).
Lookup = Callable[[str], Sequence[object]]


class Node:
    def evaluate(self, lookup: Lookup) -> bool:
        raise TypeError("abstract node")


@dataclasses.dataclass(frozen=True)
class And(Node):
    parts: tuple[Node, ...]

    def evaluate(self, lookup: Lookup) -> bool:
        return all(p.evaluate(lookup) for p in self.parts)


@dataclasses.dataclass(frozen=True)
class Or(Node):
    parts: tuple[Node, ...]

    def evaluate(self, lookup: Lookup) -> bool:
        return any(p.evaluate(lookup) for p in self.parts)


@dataclasses.dataclass(frozen=True)
class Compare(Node):
    operand: str
    op: str
    value: Value

    def evaluate(self, lookup: Lookup) -> bool:
        return any(self.value.compare(self.op, v) for v in lookup(self.operand))


@dataclasses.dataclass(frozen=True)
class Check(Node):
    """IS TRUE / IS FALSE / IS NULL / NOT EXISTS (JSON only)."""

    operand: str
    check: str  # "true" | "false" | "null" | "absent"

    def evaluate(self, lookup: Lookup) -> bool:
        values = lookup(self.operand)
        if self.check == "absent":
            return not values
        if self.check == "null":
            return any(v is None for v in values)
        want = self.check == "true"
        return any(v is want for v in values)


class ConditionParser:
    """expr := and ('||' and)* ; and := primary ('&&' primary)* ;
    primary := '(' expr ')' | OPERAND OP value | OPERAND IS (TRUE|FALSE|NULL) | OPERAND NOT EXISTS
    """

    def __init__(self, ts: TokenStream, operand_kind: str, allow_checks: bool) -> None:
        self.ts = ts
        self.operand_kind = operand_kind  # "SELECTOR" (JSON) or "WORD" (field names)
        self.allow_checks = allow_checks
        self.operands: set[str] = set()

    def expr(self) -> Node:
        parts = [self.conj()]
        while self.ts.accept("||"):
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def conj(self) -> Node:
        parts = [self.primary()]
        while self.ts.accept("&&"):
            parts.append(self.primary())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def primary(self) -> Node:
        if self.ts.accept("("):
            node = self.expr()
            self.ts.expect(")", "')'")
            return node
        what = "a selector such as $.field" if self.operand_kind == "SELECTOR" else "a field name"
        operand = self.ts.expect(self.operand_kind, what).text
        self.operands.add(operand)
        t = self.ts.peek()
        if self.allow_checks and t.kind == "WORD" and t.text.upper() in ("IS", "NOT"):
            return self._check(operand)
        op = self.ts.expect("OP", "a comparison operator").text
        value = self.value(op)
        return Compare(operand, op, value)

    def _check(self, operand: str) -> Node:
        word = self.ts.next().text.upper()
        nxt = self.ts.expect("WORD", "TRUE, FALSE, NULL or EXISTS")
        arg = nxt.text.upper()
        if word == "IS" and arg in ("TRUE", "FALSE", "NULL"):
            return Check(operand, arg.lower())
        if word == "NOT" and arg == "EXISTS":
            return Check(operand, "absent")
        raise FilterPatternError(f"Unexpected '{word} {nxt.text}' at position {nxt.pos}")

    def value(self, op: str) -> Value:
        t = self.ts.next()
        if t.kind == "STRING":
            v = Value.string_literal(t.text)
        elif t.kind == "REGEX":
            v = Value.regex_literal(t.text)
        elif t.kind == "WORD":
            v = Value.number_literal(t.text) if parse_number(t.text) is not None else Value.string_literal(t.text)
        else:
            raise FilterPatternError(f"Expected a value at position {t.pos}, found '{t.text or 'end of pattern'}'")
        if op in ("<", ">", "<=", ">=") and v.kind != "number":
            raise FilterPatternError(f"Operator {op} needs a numeric value, found '{t.text}'")
        if v.kind == "regex" and op not in ("=", "!="):
            raise FilterPatternError(f"Operator {op} can't be used with a regular expression")
        return v
