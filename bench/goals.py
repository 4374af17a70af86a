"""The one line format every benchmark prints for a goal of issue 18, and the summary `make bench` ends with.

    GOAL | <goal name> | cloudlet <value><unit> | peer(<peer name>) <value><unit> | ratio <x.xx> | target <op><value> | MET

A target whose unit is "x" is a bound on the ratio (cloudlet / peer); any other target
is a bound on cloudlet's own value, the peer's figure and the ratio then being context.

    python bench/goals.py summary FILE...   # the GOAL lines of bench output files as one table
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Callable
from pathlib import Path

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt,
}


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def goal_line(
    name: str,
    value: float,
    unit: str,
    peer: str,
    peer_value: float,
    target_op: str,
    target: float,
    target_unit: str | None = None,
) -> str:
    """One GOAL line. TARGET_UNIT "x" bounds the ratio; otherwise (default: UNIT) cloudlet's VALUE."""
    target_unit = unit if target_unit is None else target_unit
    ratio = value / peer_value if peer_value else float("inf")
    checked = ratio if target_unit == "x" else value
    met = _OPS[target_op](checked, target)
    return (
        f"GOAL | {name} | cloudlet {_num(value)}{unit} | peer({peer}) {_num(peer_value)}{unit} | "
        f"ratio {ratio:.2f} | target {target_op}{_num(target)}{target_unit} | {'MET' if met else 'MISSED'}"
    )


def goal_missing(name: str, peer: str, why: str) -> str:
    """A goal that could not be measured in this run (peer not installable, ...): said, never faked."""
    return f"GOAL | {name} | cloudlet - | peer({peer}) - | ratio - | target - | SKIPPED: {why}"


def report(name: str, value: float, unit: str, peer: str, peer_value: float, target_op: str, target: float,
           target_unit: str | None = None) -> None:
    print(goal_line(name, value, unit, peer, peer_value, target_op, target, target_unit), flush=True)


def summary(lines: list[str]) -> str:
    goals = [line.strip() for line in lines if line.startswith("GOAL |")]
    if not goals:
        return "no GOAL lines"
    rows = [[cell.strip() for cell in g.split("|")[1:]] for g in goals]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = [" | ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=False)).rstrip() for r in rows]
    counts = {word: sum(1 for r in rows if r[-1].startswith(word)) for word in ("MET", "MISSED", "SKIPPED")}
    out.append(", ".join(f"{n} {word}" for word, n in counts.items()))
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] != "summary":
        print(__doc__, file=sys.stderr)
        return 2
    lines: list[str] = []
    for name in argv[1:]:
        lines += Path(name).read_text(errors="replace").splitlines()
    print(summary(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
