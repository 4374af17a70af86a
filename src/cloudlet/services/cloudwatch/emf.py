"""The embedded metric format: a JSON log line whose `_aws.CloudWatchMetrics` declares metrics.

    {"_aws": {"Timestamp": 1700000000000, "CloudWatchMetrics": [{"Namespace": "App",
      "Dimensions": [["service"]], "Metrics": [{"Name": "Orders", "Unit": "Count"}]}]},
     "service": "shop", "Orders": 3}

Each metric's value is the root member of its name (a number, or a list of up to 100),
each dimension's value the root member of the dimension's name (a string). A line that
breaks the specification yields no metric at all and stays only a log line, as CloudWatch
Logs treats it. Limits from the specification: 30 dimensions a set, 100 metrics a
directive, 100 values a metric.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

MAX_DIMENSIONS = 30
MAX_METRICS = 100
MAX_VALUES = 100
UNITS = frozenset({
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
})


@dataclasses.dataclass(frozen=True)
class EmfSample:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    values: tuple[float, ...]
    unit: str
    high_resolution: bool
    timestamp: float  # epoch seconds


class Invalid(ValueError):
    pass


def _str(value: Any, max_len: int = 255) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= max_len:
        raise Invalid(repr(value))
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise Invalid(repr(value))
    return float(value)


def samples(message: str) -> list[EmfSample]:
    """The metrics an EMF log line declares; [] for a plain line or a malformed one."""
    text = message.strip()
    if not text.startswith("{") or '"_aws"' not in text:
        return []
    try:
        doc = json.loads(text)
        return _samples(doc)
    except (ValueError, Invalid, KeyError, TypeError, RecursionError):
        return []


def _samples(doc: Any) -> list[EmfSample]:
    if not isinstance(doc, dict):
        raise Invalid("not an object")
    meta = doc["_aws"]
    if not isinstance(meta, dict):
        raise Invalid("_aws")
    ts = _number(meta["Timestamp"]) / 1000.0
    directives = meta["CloudWatchMetrics"]
    if not isinstance(directives, list):
        raise Invalid("CloudWatchMetrics")
    out: list[EmfSample] = []
    for directive in directives:
        namespace = _str(directive["Namespace"])
        dim_sets = directive["Dimensions"]
        metrics = directive["Metrics"]
        if not isinstance(dim_sets, list) or not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
            raise Invalid("directive")
        resolved_sets = []
        for dim_set in dim_sets:
            if not isinstance(dim_set, list) or len(dim_set) > MAX_DIMENSIONS:
                raise Invalid("dimension set")
            resolved_sets.append(tuple((_str(name), _str(doc[name], 1024)) for name in dim_set))
        if not resolved_sets:
            resolved_sets = [()]
        for metric in metrics:
            name = _str(metric["Name"])
            unit = metric.get("Unit", "None")
            if unit not in UNITS:
                raise Invalid("unit")
            resolution = metric.get("StorageResolution", 60)
            if resolution not in (1, 60):
                raise Invalid("StorageResolution")
            raw = doc[name]
            values = raw if isinstance(raw, list) else [raw]
            if not values or len(values) > MAX_VALUES:
                raise Invalid("values")
            numbers = tuple(_number(v) for v in values)
            for dims in resolved_sets:
                out.append(EmfSample(namespace, name, dims, numbers, unit, resolution == 1, ts))
    return out
