"""Reading metric data back: periods of a time range, the points in each, GetMetricData's queries.

Periods start at StartTime rounded down as CloudWatch rounds it (to the minute, or to
the period when it is under a minute); a period whose data, at its age, is kept only at
a coarser resolution than the period asks for returns nothing (the retention rules).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from cloudlet.services.cloudwatch import rules
from cloudlet.services.cloudwatch.series import Point, Series


def aligned_start(start: float, period: int) -> float:
    step = period if period < 60 else 60
    return math.floor(start / step) * step


def period_count(start: float, end: float, period: int) -> int:
    """How many datapoints a request asks for, as the 1,440 limit counts them (the range as given)."""
    return max(math.ceil((end - start) / period), 0)


def answered(t: float, period: int, now: float) -> bool:
    """Whether retention still answers the period starting at T at PERIOD's resolution."""
    resolution = rules.resolution_at(now - t)
    return resolution is not None and period % resolution == 0


def points_between(series: Series, start: float, end: float, unit: str | None) -> list[Point]:
    pts = series.points
    lo = bisect.bisect_left(pts, start, key=lambda p: p.timestamp)
    hi = bisect.bisect_left(pts, end, key=lambda p: p.timestamp)
    chosen = pts[lo:hi]
    if unit is not None:
        chosen = [p for p in chosen if p.unit == unit]
    return chosen


def per_period(series_list: Sequence[Series], start: float, end: float, period: int, now: float,
               unit: str | None) -> list[tuple[float, list[Point]]]:
    """(period start, its points) for every answered period that has points, in time order.

    Walks the points, not the periods: a year asked for at one second costs what its data costs."""
    first = aligned_start(start, period)
    grouped: dict[float, list[Point]] = {}
    for s in series_list:
        for p in points_between(s, first, end, unit):
            t = first + ((p.timestamp - first) // period) * period
            grouped.setdefault(t, []).append(p)
    return [(t, grouped[t]) for t in sorted(grouped) if answered(t, period, now)]
