"""CloudWatch's rules for metric data, as its API reference states them.

PutMetricData: 1,000 metrics a request, 150 values a datum, values within
±2^360 and finite, timestamps from two weeks ago to two hours ahead, Value /
StatisticValues / Values exclusive, Counts as long as Values, StorageResolution 1
or 60. Periods: 1, 5, 10, 30 or a multiple of 60. Retention: sub-minute data for
3 hours, 1-minute for 15 days, 5-minute for 63 days, 1-hour for 455 days.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.errors import AWSError

MAX_METRICS_PER_PUT = 1000
MAX_VALUES_PER_DATUM = 150
MAX_MAGNITUDE = 2.0**360
MIN_MAGNITUDE = 2.0**-260
PAST_LIMIT_S = 14 * 86400
FUTURE_LIMIT_S = 2 * 3600
HIGH_RES_PERIODS = (1, 5, 10, 30)
MAX_STATISTICS_DATAPOINTS = 1440
MAX_METRIC_DATA_QUERIES = 500
MAX_GET_METRIC_DATA_POINTS = 100_800
RECENTLY_ACTIVE_S = 3 * 3600
LIST_METRICS_WINDOW_S = 14 * 86400
LIST_PAGE = 500

#: (age limit in seconds, the coarsest resolution in seconds data of that age is kept at)
RETENTION: tuple[tuple[float, int], ...] = (
    (3 * 3600, 1),
    (15 * 86400, 60),
    (63 * 86400, 300),
    (455 * 86400, 3600),
)
KEEP_S = RETENTION[-1][0]


# The order in which GetMetricData picks one unit when a query names none and the data has several
# (observed on AWS by LocalStack's recorded tests: Milliseconds before Seconds, Count before both).
UNIT_PREFERENCE: tuple[str, ...] = (
    "Megabits", "Terabits", "Gigabits", "Count", "Bytes", "Gigabytes", "Gigabytes/Second", "Kilobytes",
    "Kilobits/Second", "Terabytes", "Terabits/Second", "Bytes/Second", "Percent", "Megabytes", "Megabits/Second",
    "Milliseconds", "Microseconds", "Kilobytes/Second", "Gigabits/Second", "Megabytes/Second", "Bits",
    "Bits/Second", "Count/Second", "Seconds", "Kilobits", "Terabytes/Second", "None",
)


def invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterValue", message, status=400, sender_fault=True)


def combination(message: str) -> AWSError:
    return AWSError("InvalidParameterCombination", message, status=400, sender_fault=True)


def missing(message: str) -> AWSError:
    return AWSError("MissingParameter", message, status=400, sender_fault=True)


def resolution_at(age_s: float) -> int | None:
    """The resolution data AGE_S old is kept at (None: past retention)."""
    for limit, resolution in RETENTION:
        if age_s <= limit:
            return resolution
    return None


def check_period(period: int, name: str = "Period") -> None:
    if period in HIGH_RES_PERIODS or (period > 0 and period % 60 == 0):
        return
    raise invalid(f"The parameter {name} must be a multiple of 60.")


def check_value(value: float, name: str) -> None:
    if value != value or value in (float("inf"), float("-inf")):
        raise invalid(f"The value {value} for parameter {name} is not supported.")
    magnitude = abs(value)
    if magnitude > MAX_MAGNITUDE or (0 < magnitude < MIN_MAGNITUDE):
        raise invalid(f"The value {value} for parameter {name} is not supported.")


def check_datum(datum: dict[str, Any], where: str, now: float) -> None:
    """One MetricDatum of PutMetricData; WHERE is its wire name (MetricData.member.N)."""
    has_value = "Value" in datum
    has_set = "StatisticValues" in datum
    has_values = "Values" in datum
    if has_value and has_set:
        raise combination(f"The parameters {where}.Value and {where}.StatisticValues are mutually exclusive "
                          "and you have specified both.")
    if has_value and has_values:
        raise combination(f"The parameters {where}.Value and {where}.Values are mutually exclusive "
                          "and you have specified both.")
    if has_set and has_values:
        raise combination(f"The parameters {where}.StatisticValues and {where}.Values are mutually exclusive "
                          "and you have specified both.")
    if "Counts" in datum and not has_values:
        raise combination(f"The parameters {where}.Counts requires {where}.Values.")
    values = datum.get("Values") or []
    counts = datum.get("Counts")
    if counts is not None and len(counts) != len(values):
        raise invalid(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
    if len(values) > MAX_VALUES_PER_DATUM:
        raise invalid(f"The collection {where}.Values must not have a size greater than {MAX_VALUES_PER_DATUM}.")
    if has_value:
        check_value(datum["Value"], f"{where}.Value")
    for i, v in enumerate(values, 1):
        check_value(v, f"{where}.Values.member.{i}")
    for i, c in enumerate(counts or [], 1):
        check_value(c, f"{where}.Counts.member.{i}")
        if c < 0:
            raise invalid(f"The value {c} for parameter {where}.Counts.member.{i} is not supported.")
    stats = datum.get("StatisticValues")
    if stats is not None:
        for field in ("SampleCount", "Sum", "Minimum", "Maximum"):
            check_value(stats[field], f"{where}.StatisticValues.{field}")
        if stats["SampleCount"] <= 0:
            raise invalid(f"The parameter {where}.StatisticValues.SampleCount must be greater than 0.")
        if stats["Minimum"] > stats["Maximum"]:
            raise invalid(f"The parameter {where}.StatisticValues.Minimum must be less than or equal to "
                          f"{where}.StatisticValues.Maximum.")
    resolution = datum.get("StorageResolution")
    if resolution is not None and resolution not in (1, 60):
        raise invalid(f"The value {resolution} for parameter {where}.StorageResolution is not supported.")
    ts = datum.get("Timestamp")
    if ts is not None:
        epoch = ts.timestamp()
        if epoch < now - PAST_LIMIT_S:
            raise invalid(f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past.")
        if epoch > now + FUTURE_LIMIT_S:
            raise invalid(f"The parameter {where}.Timestamp must specify a time no more than two hours in the future.")
    dims = datum.get("Dimensions") or []
    names = [d["Name"] for d in dims]
    if len(set(names)) != len(names):
        raise invalid(f"No metric may have duplicate dimension names: {where}.Dimensions.")


def check_time_range(start: float, end: float) -> None:
    if start >= end:
        raise invalid("The parameter StartTime must be less than the parameter EndTime.")
