"""Unstructured (text) patterns: `ERROR "connection refused" ?WARN ?FATAL -Exiting %re[gx]%`.

Terms are case-sensitive and match anywhere in the message. Plain terms must
all match; `?` terms are alternatives of which one must match; `-` terms must
not match. A term with characters other than letters, digits and '_' must be
quoted. An empty pattern, or only blank quoted phrases, matches everything.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from cloudlet.services.logs.filter_pattern.errors import FilterPatternError
from cloudlet.services.logs.filter_pattern.lexer import read_quoted
from cloudlet.services.logs.filter_pattern.values import compile_regex


@dataclasses.dataclass(frozen=True)
class Term:
    text: str
    regex: re.Pattern[str] | None = None

    def found_in(self, message: str) -> bool:
        if self.regex is not None:
            return self.regex.search(message) is not None
        return self.text in message


def _bare_term_ok(term: str) -> bool:
    return all(ch.isalnum() or ch == "_" for ch in term)


def parse_terms(pattern: str) -> tuple[list[Term], list[Term], list[Term]]:
    """(required, alternatives, excluded) terms of a text pattern."""
    required: list[Term] = []
    alternatives: list[Term] = []
    excluded: list[Term] = []
    i, n = 0, len(pattern)
    while i < n:
        if pattern[i].isspace():
            i += 1
            continue
        bucket = required
        if pattern[i] in "?-" and i + 1 < n and not pattern[i + 1].isspace():
            bucket = alternatives if pattern[i] == "?" else excluded
            i += 1
        if pattern[i] == '"':
            text, i = read_quoted(pattern, i)
            if i < n and not pattern[i].isspace():
                raise FilterPatternError(f"Invalid character(s) in term '{pattern[i:].split()[0]}'")
            if text.strip():
                bucket.append(Term(text))
            elif bucket is not required:
                raise FilterPatternError("Empty term")
            continue
        if pattern[i] == "%":
            end = pattern.find("%", i + 1)
            if end < 0:
                raise FilterPatternError(f"Invalid character(s) in term '{pattern[i:].split()[0]}'")
            body = pattern[i + 1 : end]
            bucket.append(Term(body, compile_regex(body)))
            i = end + 1
            continue
        j = i
        while j < n and not pattern[j].isspace():
            j += 1
        term = pattern[i:j]
        if not _bare_term_ok(term):
            raise FilterPatternError(f"Invalid character(s) in term '{term}'")
        bucket.append(Term(term))
        i = j
    return required, alternatives, excluded


def compile_text(pattern: str) -> Callable[[str], bool]:
    required, alternatives, excluded = parse_terms(pattern)

    def match(message: str) -> bool:
        return (
            all(t.found_in(message) for t in required)
            and (not alternatives or any(t.found_in(message) for t in alternatives))
            and not any(t.found_in(message) for t in excluded)
        )

    return match
