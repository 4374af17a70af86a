"""Input rules AWS applies beyond the model's shapes (names, limits, passwords, tags)."""

from __future__ import annotations

import re
from typing import Any

from cloudlet.core.errors import AWSError

_IDENT = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
MAX_TAGS = 50


def identifier(value: str, param: str, max_len: int) -> str:
    """ElastiCache identifiers: 1-max_len letters/digits/hyphens, a letter first,
    no trailing or doubled hyphen; stored lowercase."""
    if not (1 <= len(value) <= max_len) or not _IDENT.match(value) or value.endswith("-") or "--" in value:
        raise AWSError(
            "InvalidParameterValue",
            f"The parameter {param} is not a valid identifier. Identifiers must begin with a letter; "
            "must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen "
            f"or contain two consecutive hyphens. Length must be between 1 and {max_len} characters.",
        )
    return value.lower()


def cache_name(value: str) -> str:
    return identifier(value, "ServerlessCacheName", 40)


def _range(limits: dict[str, Any], what: str, lo: int, hi: int) -> None:
    mn, mx = limits.get("Minimum"), limits.get("Maximum")
    for label, v in (("Minimum", mn), ("Maximum", mx)):
        if v is not None and not (lo <= v <= hi):
            raise AWSError(
                "InvalidParameterValue",
                f"{what} {label} must be between {lo} and {hi}, got {v}.",
            )
    if mn is not None and mx is not None and mn > mx:
        raise AWSError("InvalidParameterCombination", f"{what} Minimum {mn} must not exceed Maximum {mx}.")


def usage_limits(limits: dict[str, Any] | None) -> dict[str, Any] | None:
    """CacheUsageLimits: DataStorage 1-5000 GB, ECPUPerSecond 1,000-15,000,000, min <= max."""
    if not limits:
        return None
    storage = limits.get("DataStorage")
    if storage is not None:
        if storage.get("Unit") != "GB":
            raise AWSError("InvalidParameterValue", "DataStorage Unit must be GB.")
        if storage.get("Maximum") is None and storage.get("Minimum") is None:
            raise AWSError("InvalidParameterValue", "DataStorage must specify Maximum or Minimum.")
        _range(storage, "DataStorage", 1, 5000)
    ecpu = limits.get("ECPUPerSecond")
    if ecpu is not None:
        if ecpu.get("Maximum") is None and ecpu.get("Minimum") is None:
            raise AWSError("InvalidParameterValue", "ECPUPerSecond must specify Maximum or Minimum.")
        _range(ecpu, "ECPUPerSecond", 1000, 15_000_000)
    return limits


_FORBIDDEN_PW = set(',"/@')


def passwords(values: list[str]) -> list[str]:
    """1-2 passwords of 16-128 printable ASCII characters without , " / @ or spaces."""
    if not values:
        raise AWSError("InvalidParameterValue", "At least one password is required.")
    if len(values) > 2:
        raise AWSError("InvalidParameterValue", "A user can have at most 2 passwords.")
    for pw in values:
        if not (16 <= len(pw) <= 128):
            raise AWSError("InvalidParameterValue", "Passwords length must be between 16-128 characters.")
        if any(c in _FORBIDDEN_PW or not (33 <= ord(c) <= 126) for c in pw):
            raise AWSError(
                "InvalidParameterValue",
                'Password must contain only printable ASCII characters and not , " / @ or space.',
            )
    return list(values)


def tags(existing: dict[str, str], new: list[dict[str, str]] | None) -> dict[str, str]:
    """Merge Tags (list of Key/Value) into existing; more than 50 -> TagQuotaPerResourceExceeded."""
    merged = dict(existing)
    for t in new or []:
        key = t.get("Key")
        if not key:
            raise AWSError("InvalidParameterValue", "Tag keys must not be empty.")
        if key.lower().startswith("aws:"):
            raise AWSError("InvalidParameterValue", "Tag keys must not start with aws:.")
        merged[key] = t.get("Value", "") or ""
    if len(merged) > MAX_TAGS:
        raise AWSError(
            "TagQuotaPerResourceExceeded",
            f"The request cannot be processed because it would cause the resource to have more than {MAX_TAGS} tags.",
        )
    return merged


def tag_list(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in values.items()]
