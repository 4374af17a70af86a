"""The CloudWatch Logs filter pattern language, compiled once into a matcher.

`compile_pattern(text)` returns `match(message) -> bool` or raises AWSError
InvalidParameterException. The form is chosen by the first character: `{` JSON,
`[` space-delimited, anything else a text pattern.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cloudlet.core.errors import AWSError
from cloudlet.services.logs.filter_pattern.delimited import compile_delimited
from cloudlet.services.logs.filter_pattern.errors import FilterPatternError
from cloudlet.services.logs.filter_pattern.json_pattern import compile_json
from cloudlet.services.logs.filter_pattern.text import compile_text

Matcher = Callable[[str], bool]

__all__ = ["FilterPatternError", "Matcher", "compile_pattern"]


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Matcher:
    stripped = pattern.strip()
    try:
        if stripped.startswith("{"):
            return compile_json(stripped)
        if stripped.startswith("["):
            return compile_delimited(stripped)
        return compile_text(stripped)
    except FilterPatternError as e:
        raise AWSError("InvalidParameterException", f"Invalid filter pattern: {e}", status=400) from None
