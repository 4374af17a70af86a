"""Statistics over the points of one period: SampleCount, Average, Sum, Minimum, Maximum, pNN.NN.

Percentiles are nearest-rank over the values with their counts (AWS approximates
them from its own sketches; for small sets both give a value that was sent). They
exist only where every point's values are known, and none is negative, as the
GetMetricStatistics reference says.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from cloudlet.services.cloudwatch.series import Point

BASIC = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d{1,2})?|100(?:\.0{1,2})?)")


def percentile_of(stat: str) -> float | None:
    """The percentile a statistic name asks for (p99 -> 99.0), or None."""
    m = _PERCENTILE.fullmatch(stat)
    return float(m.group(1)) if m else None


def is_valid(stat: str) -> bool:
    return stat in BASIC or percentile_of(stat) is not None


def _values(points: Sequence[Point]) -> dict[float, float] | None:
    merged: dict[float, float] = {}
    for p in points:
        values = p.values
        if values is None and (p.count == 1 or p.minimum == p.maximum):
            values = {p.minimum: p.count}  # a set that can only be these values
        if values is None:
            return None
        for v, c in values.items():
            merged[v] = merged.get(v, 0.0) + c
    return merged


def percentile(values: dict[float, float], pct: float) -> float | None:
    total = sum(values.values())
    if total <= 0 or any(v < 0 for v in values):
        return None
    rank = max(math.ceil(pct / 100.0 * total - 1e-9), 1)
    seen = 0.0
    for v in sorted(values):
        seen += values[v]
        if seen >= rank:
            return v
    return max(values)


def compute(points: Sequence[Point], stat: str) -> float | None:
    """STAT over POINTS (all of one period); None when it cannot be computed."""
    if not points:
        return None
    if stat == "SampleCount":
        return sum(p.count for p in points)
    if stat == "Sum":
        return sum(p.total for p in points)
    if stat == "Minimum":
        return min(p.minimum for p in points)
    if stat == "Maximum":
        return max(p.maximum for p in points)
    if stat == "Average":
        count = sum(p.count for p in points)
        return sum(p.total for p in points) / count if count else None
    pct = percentile_of(stat)
    if pct is None:
        return None
    values = _values(points)
    return None if values is None else percentile(values, pct)
