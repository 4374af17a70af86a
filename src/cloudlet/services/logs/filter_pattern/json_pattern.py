"""JSON patterns: `{ $.a.b = "x*" && ($.n > 3 || $.list[0] IS NULL) }`.

A message matches only when it is a JSON object and the condition holds.
Selectors: `$` followed by `.name`, `.*`, `[N]` or `[*]` steps; a wildcard step
fans out, and a comparison holds when any value it reaches satisfies it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from cloudlet.services.logs.filter_pattern.conditions import ConditionParser, Node
from cloudlet.services.logs.filter_pattern.errors import FilterPatternError
from cloudlet.services.logs.filter_pattern.lexer import TokenStream, tokenize

_STEP_RE = re.compile(r"\.(\*|[^.\[\]*]+)|\[(\*|\d+)\]")

Step = tuple[str, str | int | None]  # ("key", name) | ("index", n) | ("any", None)


def parse_selector(text: str) -> list[Step]:
    if not text.startswith("$") or len(text) == 1:
        raise FilterPatternError(f"Invalid selector '{text}'")
    steps: list[Step] = []
    i = 1
    while i < len(text):
        m = _STEP_RE.match(text, i)
        if not m:
            raise FilterPatternError(f"Invalid selector '{text}'")
        name, index = m.group(1), m.group(2)
        if name == "*" or index == "*":
            steps.append(("any", None))
        elif name is not None:
            steps.append(("key", name))
        else:
            steps.append(("index", int(index)))
        i = m.end()
    return steps


def resolve(doc: object, steps: list[Step]) -> list[object]:
    current = [doc]
    for kind, arg in steps:
        nxt: list[object] = []
        for node in current:
            if kind == "key" and isinstance(node, dict) and arg in node:
                nxt.append(node[arg])
            elif kind == "index" and isinstance(node, list) and isinstance(arg, int) and arg < len(node):
                nxt.append(node[arg])
            elif kind == "any" and isinstance(node, dict):
                nxt.extend(node.values())
            elif kind == "any" and isinstance(node, list):
                nxt.extend(node)
        current = nxt
    return current


def compile_json(pattern: str) -> Callable[[str], bool]:
    ts = TokenStream(tokenize(pattern))
    ts.expect("{", "'{'")
    parser = ConditionParser(ts, operand_kind="SELECTOR", allow_checks=True)
    tree: Node = parser.expr()
    ts.expect("}", "'}'")
    ts.expect("END", "end of pattern")
    selectors = {s: parse_selector(s) for s in parser.operands}

    def match(message: str) -> bool:
        text = message.strip()
        if not text.startswith("{"):
            return False
        try:
            doc = json.loads(text)
        except ValueError:
            return False
        if not isinstance(doc, dict):
            return False
        return tree.evaluate(lambda sel: resolve(doc, selectors[sel]))

    return match
