"""Space-delimited patterns: `[ip, user, ..., status_code = 4* || status_code = 5*, bytes > 1000]`.

The message splits on spaces into fields; text inside "double quotes" or
[square brackets] is one field (without its delimiters). Pattern slots bind
positionally to fields; `...` absorbs any number of fields, and without one the
counts must be equal. Each slot may carry a condition over the bound names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

from cloudlet.services.logs.filter_pattern.conditions import ConditionParser, Node
from cloudlet.services.logs.filter_pattern.errors import FilterPatternError
from cloudlet.services.logs.filter_pattern.lexer import TokenStream, tokenize

ELLIPSIS = "..."
# Several ellipses over a long message have many alignments; bound the search per event
# (an event whose search runs out counts as not matching).
MAX_STEPS = 20_000


@dataclasses.dataclass(frozen=True)
class Slot:
    name: str  # a field name, or ELLIPSIS
    condition: Node | None = None
    local: bool = False  # the condition reads only this slot's field: check it while aligning


def split_fields(message: str) -> list[str]:
    fields: list[str] = []
    i, n = 0, len(message)
    while i < n:
        c = message[i]
        if c.isspace():
            i += 1
            continue
        close = {'"': '"', "[": "]"}.get(c)
        if close is not None:
            end = message.find(close, i + 1)
            if end >= 0:
                fields.append(message[i + 1 : end])
                i = end + 1
                continue
        j = i
        while j < n and not message[j].isspace():
            j += 1
        fields.append(message[i:j])
        i = j
    return fields


def compile_delimited(pattern: str) -> Callable[[str], bool]:
    ts = TokenStream(tokenize(pattern))
    ts.expect("[", "'['")
    slots: list[Slot] = []
    referenced: set[str] = set()
    while True:
        if ts.accept("ELLIPSIS"):
            slots.append(Slot(ELLIPSIS))
        else:
            name = ts.expect("WORD", "a field name or '...'").text
            if ts.peek(0).kind in ("OP", "&&", "||"):
                # The slot's condition starts at its own name: rewind one token.
                ts.i -= 1
                parser = ConditionParser(ts, operand_kind="WORD", allow_checks=False)
                cond = parser.expr()
                referenced |= parser.operands
                slots.append(Slot(name, cond, local=parser.operands <= {name}))
            else:
                slots.append(Slot(name))
        if ts.accept("]"):
            break
        ts.expect(",", "',' or ']'")
    ts.expect("END", "end of pattern")
    names = [s.name for s in slots if s.name != ELLIPSIS]
    if len(set(names)) != len(names):
        raise FilterPatternError("Duplicate field name in space-delimited pattern")
    unknown = referenced - set(names)
    if unknown:
        raise FilterPatternError(f"Unknown field name '{sorted(unknown)[0]}' in space-delimited pattern")
    conditions = [s.condition for s in slots if s.condition is not None and not s.local]

    def match(message: str) -> bool:
        fields = split_fields(message)
        for binding in _bindings(slots, fields, 0, 0, {}, [MAX_STEPS]):
            lookup = lambda name, b=binding: [b[name]] if name in b else []  # noqa: E731
            if all(c.evaluate(lookup) for c in conditions):
                return True
        return False

    return match


def _bindings(
    slots: list[Slot], fields: list[str], si: int, fi: int, bound: dict[str, str], budget: list[int]
) -> Iterator[dict[str, str]]:
    """Every way of aligning slots[si:] with fields[fi:], within budget[0] steps."""
    budget[0] -= 1
    if budget[0] < 0:
        return
    rest = slots[si:]
    needed = sum(1 for s in rest if s.name != ELLIPSIS)
    left = len(fields) - fi
    # Prune alignments that can't complete, so the search only walks live paths.
    if needed > left or (needed < left and all(s.name != ELLIPSIS for s in rest)):
        return
    if si == len(slots):
        yield dict(bound)
        return
    slot = slots[si]
    if slot.name == ELLIPSIS:
        for skip in range(left - needed + 1):
            yield from _bindings(slots, fields, si + 1, fi + skip, bound, budget)
        return
    if slot.local and slot.condition is not None:
        value = fields[fi]
        if not slot.condition.evaluate(lambda _name: [value]):
            return
    bound[slot.name] = fields[fi]
    yield from _bindings(slots, fields, si + 1, fi + 1, bound, budget)
    del bound[slot.name]
