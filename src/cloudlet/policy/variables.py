"""Policy variables: ${aws:username}, ${aws:PrincipalTag/team}, ${*}, defaults.

Substitution happens in Resource/NotResource entries and condition values of
version 2012-10-17 documents. A variable whose key the request lacks (and that
has no default) leaves the entry unable to match, as AWS treats it; a
multi-valued key cannot be substituted either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

_VAR = re.compile(r"\$\{([^}]*)\}")
_DEFAULT = re.compile(r"^\s*([^,]+?)\s*,\s*'([^']*)'\s*$")
# ${*} and ${?} stand for literal characters, never wildcards: they become
# private-use sentinels that the matchers compare as the plain character.
LITERAL_STAR = "\ue000"
LITERAL_QMARK = "\ue001"
_SPECIAL = {"*": LITERAL_STAR, "?": LITERAL_QMARK, "$": "$"}


def plain(text: str) -> str:
    """TEXT with literal-character sentinels turned back into the characters."""
    if LITERAL_STAR in text or LITERAL_QMARK in text:
        return text.replace(LITERAL_STAR, "*").replace(LITERAL_QMARK, "?")
    return text


@functools.lru_cache(maxsize=8192)
def _parts(text: str) -> tuple[tuple[str, str | None, str | None], ...] | None:
    """Split TEXT into (literal, key, default) runs; None when it has no variables."""
    if "${" not in text:
        return None
    runs: list[tuple[str, str | None, str | None]] = []
    pos = 0
    for m in _VAR.finditer(text):
        literal = text[pos : m.start()]
        inner = m.group(1)
        if inner in _SPECIAL:
            runs.append((literal + _SPECIAL[inner], None, None))
        else:
            d = _DEFAULT.match(inner)
            if d:
                runs.append((literal, d.group(1).lower(), d.group(2)))
            else:
                runs.append((literal, inner.strip().lower(), None))
        pos = m.end()
    runs.append((text[pos:], None, None))
    return tuple(runs)


def has_variables(text: str) -> bool:
    return _parts(text) is not None


def substitute(text: str, context: Mapping[str, Any]) -> str | None:
    """TEXT with variables filled from CONTEXT (keys lower-cased); None if a key is missing."""
    runs = _parts(text)
    if runs is None:
        return text
    out: list[str] = []
    for literal, key, default in runs:
        out.append(literal)
        if key is None:
            continue
        value = context.get(key)
        if value is None or isinstance(value, (list, tuple)):
            if default is None:
                return None
            value = default
        if isinstance(value, bool):
            value = "true" if value else "false"
        out.append(str(value))
    return "".join(out)


def special_literals_only(text: str) -> str:
    """TEXT with only ${*} ${?} ${$} resolved: those never depend on the request."""
    runs = _parts(text)
    if runs is None or any(key is not None for _, key, _ in runs):
        return text
    return "".join(literal for literal, _, _ in runs)
