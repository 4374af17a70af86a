"""EC2's Filter semantics: names AND-ed, values OR-ed, * and ? wildcards (\\ escapes)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from cloudlet.core.errors import AWSError

T = TypeVar("T")
# A resource's values for one filter name (booleans as "true"/"false").
Extractor = Callable[[Any], Iterable[str]]


@functools.lru_cache(maxsize=512)
def _pattern(value: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def value_matches(pattern: str, candidates: Iterable[str]) -> bool:
    rx = _pattern(pattern)
    return any(rx.fullmatch(c) for c in candidates)


def flag(value: bool) -> list[str]:
    return ["true" if value else "false"]


def _tag_values(resource: Any, name: str) -> list[str] | None:
    tags: Mapping[str, str] = getattr(resource, "tags", {}) or {}
    if name.startswith("tag:"):
        key = name[4:]
        return [tags[key]] if key in tags else []
    if name == "tag-key":
        return list(tags)
    if name == "tag-value":
        return list(tags.values())
    return None


def apply_filters(
    resources: Iterable[T], filters: list[dict[str, Any]] | None, extractors: Mapping[str, Extractor]
) -> list[T]:
    items = list(resources)
    for f in filters or []:
        name = str(f.get("Name", ""))
        values = [str(v) for v in f.get("Values") or []]
        if name not in extractors and not (name.startswith("tag:") or name in ("tag-key", "tag-value")):
            raise AWSError("InvalidParameterValue", f"The filter '{name}' is invalid", 400)
        if not values:
            continue

        def keep(resource: T, name: str = name, values: list[str] = values) -> bool:
            got = _tag_values(resource, name)
            candidates = list(got if got is not None else extractors[name](resource))
            return any(value_matches(v, candidates) for v in values)

        items = [r for r in items if keep(r)]
    return items
