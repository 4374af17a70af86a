"""What a metric is (namespace, name, dimensions) and one stored data point of it.

A point is kept as CloudWatch keeps what it is given: a statistic set (count, sum,
minimum, maximum) and, when the values themselves were sent (Value, Values/Counts,
emitted samples), those values with their counts, so percentiles can be computed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

Dimensions = tuple[tuple[str, str], ...]


def dims_key(dimensions: list[dict[str, str]] | Dimensions | None) -> Dimensions:
    """Dimensions in one order (by name, then value): the same set names the same metric."""
    if not dimensions:
        return ()
    if isinstance(dimensions, tuple):
        return tuple(sorted(dimensions))
    return tuple(sorted((d["Name"], d["Value"]) for d in dimensions))


@dataclasses.dataclass(frozen=True, order=True)
class MetricId:
    namespace: str
    name: str
    dimensions: Dimensions = ()

    def as_metric(self) -> dict[str, Any]:
        return {
            "Namespace": self.namespace,
            "MetricName": self.name,
            "Dimensions": [{"Name": n, "Value": v} for n, v in self.dimensions],
        }


@dataclasses.dataclass
class Point:
    timestamp: float  # epoch seconds
    unit: str  # "None" when the caller gave none
    count: float
    total: float
    minimum: float
    maximum: float
    #: value -> count, when the values themselves are known (percentiles need them)
    values: dict[float, float] | None = None
    high_resolution: bool = False

    @classmethod
    def single(cls, ts: float, value: float, unit: str, high_resolution: bool = False) -> Point:
        return cls(ts, unit, 1.0, value, value, value, {value: 1.0}, high_resolution)

    def merge(self, other: Point) -> None:
        """Folds OTHER (same minute, same unit) into this point: emitted samples, kept compact."""
        self.count += other.count
        self.total += other.total
        self.minimum = min(self.minimum, other.minimum)
        self.maximum = max(self.maximum, other.maximum)
        if self.values is not None and other.values is not None:
            for v, c in other.values.items():
                self.values[v] = self.values.get(v, 0.0) + c
        else:
            self.values = None


@dataclasses.dataclass
class Series:
    metric: MetricId
    points: list[Point] = dataclasses.field(default_factory=list)
    last_put: float = 0.0  # epoch seconds of the last PutMetricData (ListMetrics RecentlyActive)
