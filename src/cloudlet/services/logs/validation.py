"""Input rules CloudWatch Logs applies beyond what the model's shapes express."""

from __future__ import annotations

import re

from cloudlet.core.errors import AWSError

GROUP_NAME_RE = re.compile(r"[\.\-_/#A-Za-z0-9]+")
STREAM_NAME_RE = re.compile(r"[^:*]*")
TAG_KEY_RE = re.compile(r"[\w\s.:/=+\-@]+")
TAG_VALUE_RE = re.compile(r"[\w\s.:/=+\-@]*")

RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)


def invalid(message: str) -> AWSError:
    return AWSError("InvalidParameterException", message, status=400)


def group_name(name: object, field: str = "logGroupName") -> str:
    return _name(name, field, GROUP_NAME_RE)


def stream_name(name: object, field: str = "logStreamName") -> str:
    return _name(name, field, STREAM_NAME_RE)


def _name(name: object, field: str, pattern: re.Pattern[str]) -> str:
    # AWS's message quotes the model's pattern, which is the regex itself.
    if not isinstance(name, str) or not (1 <= len(name) <= 512) or not pattern.fullmatch(name):
        raise invalid(
            f"1 validation error detected: Value '{name}' at '{field}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return name


def retention_days(days: object) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or days not in RETENTION_DAYS:
        raise invalid(
            f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy "
            "constraint: Member must satisfy enum value set: "
            f"[{', '.join(str(d) for d in sorted(RETENTION_DAYS))}]"
        )
    return days


def limit(value: object, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not (low <= value <= high):
        too_high = isinstance(value, int) and value > high
        bound = f"less than or equal to {high}" if too_high else f"greater than or equal to {low}"
        raise invalid(
            f"1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: "
            f"Member must have value {bound}"
        )
    return value


def tags(value: object) -> dict[str, str]:
    if not isinstance(value, dict) or not (1 <= len(value) <= 50):
        raise invalid("tags must contain between 1 and 50 entries.")
    for k, v in value.items():
        if not isinstance(k, str) or not (1 <= len(k) <= 128) or not TAG_KEY_RE.fullmatch(k):
            raise invalid(f"Invalid tag key: {k}")
        if k.startswith("aws:"):
            raise invalid("Tag keys beginning with 'aws:' are reserved for system use.")
        if not isinstance(v, str) or len(v) > 256 or not TAG_VALUE_RE.fullmatch(v):
            raise invalid(f"Invalid tag value for key {k}: {v}")
    return dict(value)
