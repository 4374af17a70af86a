"""The one error a filter pattern can raise while compiling."""

from __future__ import annotations


class FilterPatternError(ValueError):
    """The pattern is not valid CloudWatch Logs filter pattern syntax."""
