"""Matches a rest request (method + raw path + query) to an operation's requestUri.

Handles labels ({Name}), greedy labels ({Key+}) and URIs that pin a query
parameter (`/2018-10-31/layers?find=LayerVersion`); the most specific template
wins, as in AWS's own routers.
"""

from __future__ import annotations

import dataclasses
import re
from urllib.parse import unquote

from botocore.model import ServiceModel

_LABEL = re.compile(r"\{([^}]+)\}")
#: Answers of match() kept per router: the routes never change, and a warm caller repeats the same
#: few requests (an Invoke is 15+ regex matches). Bounded in entries and in each key's size.
MATCH_CACHE_SIZE = 512
MATCH_CACHE_KEY_CHARS = 512


@dataclasses.dataclass(frozen=True)
class Route:
    operation: str
    pattern: re.Pattern[str]
    labels: dict[str, str]  # regex group -> label name (without '+')
    pins: tuple[tuple[str, str | None], ...]  # query parameters the URI requires
    rank: tuple[int, int, int]


def _compile(operation: str, request_uri: str) -> Route:
    path, _, query = request_uri.partition("?")
    pins: list[tuple[str, str | None]] = []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        pins.append((key, value if eq else None))
    regex: list[str] = []
    labels: dict[str, str] = {}
    literal = 0
    greedy = 0
    pos = 0
    for i, m in enumerate(_LABEL.finditer(path)):
        regex.append(re.escape(path[pos : m.start()]))
        literal += m.start() - pos
        name = m.group(1)
        group = f"g{i}"
        if name.endswith("+"):
            greedy += 1
            labels[group] = name[:-1]
            regex.append(f"(?P<{group}>.+)")
        else:
            labels[group] = name
            regex.append(f"(?P<{group}>[^/]+)")
        pos = m.end()
    regex.append(re.escape(path[pos:]))
    literal += len(path) - pos
    pattern = re.compile("".join(regex))
    return Route(operation, pattern, labels, tuple(pins), (len(pins), literal, -greedy))


class Router:
    def __init__(self, model: ServiceModel) -> None:
        self._by_method: dict[str, list[Route]] = {}
        for name in model.operation_names:
            http = model.operation_model(name).http
            route = _compile(name, http.get("requestUri", "/"))
            self._by_method.setdefault(http.get("method", "POST").upper(), []).append(route)
        for routes in self._by_method.values():
            routes.sort(key=lambda r: r.rank, reverse=True)
        self._seen: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[str, dict[str, str]] | None] = {}

    def match(self, method: str, raw_path: str, query: list[tuple[str, str]]) -> tuple[str, dict[str, str]] | None:
        key = (method, raw_path, tuple(query))
        try:
            found = self._seen[key]
        except KeyError:
            found = self._match(method, raw_path, query)
            if len(raw_path) + sum(len(k) + len(v) for k, v in query) <= MATCH_CACHE_KEY_CHARS:
                if len(self._seen) >= MATCH_CACHE_SIZE:
                    self._seen.clear()
                self._seen[key] = found
        # The labels are the caller's to keep: a copy each time.
        return None if found is None else (found[0], dict(found[1]))

    def _match(self, method: str, raw_path: str, query: list[tuple[str, str]]) -> tuple[str, dict[str, str]] | None:
        routes = self._by_method.get(method.upper(), [])
        keys = {k: v for k, v in query}
        candidates = [raw_path]
        # AWS treats a trailing slash as insignificant for these APIs.
        candidates.append(raw_path[:-1] if raw_path.endswith("/") and len(raw_path) > 1 else raw_path + "/")
        for path in candidates:
            for route in routes:
                if route.pins and any(k not in keys or (v is not None and keys[k] != v) for k, v in route.pins):
                    continue
                m = route.pattern.fullmatch(path)
                if m:
                    return route.operation, {route.labels[g]: unquote(v) for g, v in m.groupdict().items()}
        return None
