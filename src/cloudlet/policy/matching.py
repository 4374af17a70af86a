"""Wildcard matching of actions, ARNs and strings, compiled once per pattern.

`*` matches any run of characters and `?` exactly one. Actions compare without
regard to case; ARNs compare segment by segment so a wildcard in the first five
segments (arn:partition:service:region:account) never spills into the next one,
while the resource segment may hold ':' and '/' freely.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from cloudlet.policy.variables import plain

Matcher = Callable[[str], bool]


def _glob_regex(pattern: str, dot_matches: str = ".") -> str:
    out: list[str] = []
    for ch in pattern:
        if ch == "*":
            out.append(f"{dot_matches}*")
        elif ch == "?":
            out.append(dot_matches)
        else:
            out.append(re.escape(plain(ch)))
    return "".join(out)


def _compile(pattern: str, ignore_case: bool, dot: str = ".") -> Matcher:
    if "*" not in pattern and "?" not in pattern:
        pattern = plain(pattern)
        if ignore_case:
            low = pattern.lower()
            return lambda s: s.lower() == low
        return lambda s: s == pattern
    if pattern == "*":
        return lambda s: True
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    rx = re.compile(_glob_regex(pattern, dot), flags)
    return lambda s: rx.fullmatch(s) is not None


@functools.lru_cache(maxsize=8192)
def action_matcher(pattern: str) -> Matcher:
    """service:Action pattern; case-insensitive."""
    return _compile(pattern, ignore_case=True)


@functools.lru_cache(maxsize=8192)
def string_like_matcher(pattern: str) -> Matcher:
    """StringLike: case-sensitive glob over the whole value."""
    return _compile(pattern, ignore_case=False)


@functools.lru_cache(maxsize=8192)
def arn_matcher(pattern: str) -> Matcher:
    """Resource / ArnLike pattern, matched segment-wise."""
    if pattern == "*":
        return lambda s: True
    parts = pattern.split(":", 5)
    if len(parts) < 6:
        # Not an ARN pattern: a plain glob over the whole string.
        return _compile(pattern, ignore_case=False)
    # One regex: the first five segments cannot hold ':' so wildcards stay inside them.
    head = ":".join(_glob_regex(p, "[^:]") for p in parts[:5])
    rx = re.compile(head + ":" + _glob_regex(parts[5]), re.DOTALL)
    return lambda value: rx.fullmatch(value) is not None
