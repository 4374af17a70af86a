"""The scanner's fast path: one regular expression that frames a run of plain commands.

After authentication almost every command passes through unread, yet the
proxy must still frame each one to find the few it looks at. Doing that in
Python costs about a microsecond per command; one `re` match over a whole
pipeline costs a few tenths, because the framing happens inside the regex
engine. A regex cannot count, so bulk lengths are spelled out: a digit trie
`$<len>\\r\\n` whose every leaf skips exactly <len> + 2 bytes. The run only
takes commands that are unambiguous, and stops at anything else (longer
arguments, more arguments, non-canonical numbers, a NUL in the name, a
captured name, an incomplete command) for the general path to handle:

  * `*<argc>` with 1 <= argc <= FAST_MAX_ARGS, in canonical decimal;
  * each argument `$<len>` with len < 10**FAST_LEN_DIGITS, canonical decimal;
  * after a payload any two bytes, as valkey skips them unchecked;
  * a name with no NUL byte (valkey compares names as C strings, so
    "CONFIG\\0x" may find CONFIG; the general path folds such names) that is
    not in the capture set, compared case-insensitively as valkey does.

Everything the pattern accepts, valkey frames the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Collection

# CPython before 3.11.5 lets a possessive repeat keep part of a failed iteration that
# holds a negative lookahead (gh-100061), and Debian 12's python3 is 3.11.2. An atomic
# group around a greedy repeat means the same and is matched right on those versions.
_probe = re.match(rb"(?:a(?!b)c)*+", b"acab")
POSSESSIVE_SOUND = _probe is not None and _probe.end() == 2

FAST_MAX_ARGS = 16
FAST_LEN_DIGITS = 2  # arguments up to 99 bytes; bigger payloads amortize the general path


Leaf = Callable[[int], bytes]  # the payload of length n and the two bytes after it


def _any(n: int) -> bytes:
    return b".{%d}" % (n + 2)


def _no_nul(n: int) -> bytes:
    return b"[^\\x00]{%d}.{2}" % n


def _bulk(prefix: bytes, digits: int, leaf: Leaf) -> bytes:
    """The rest of `$<prefix...>\\r\\n<payload>`: a trie over the remaining length digits."""
    n = int(prefix)
    alts = [rb"\r\n" + leaf(n)]
    if digits > 1 and n:
        alts += [b"%d" % d + _bulk(prefix + b"%d" % d, digits - 1, leaf) for d in range(10)]
    return b"(?:" + b"|".join(alts) + b")"


def _argument(leaf: Leaf) -> bytes:
    return rb"\$(?:" + b"|".join(b"%d" % d + _bulk(b"%d" % d, FAST_LEN_DIGITS, leaf) for d in range(10)) + b")"


def _not_captured(capture: Collection[bytes]) -> bytes:
    """A lookahead refusing a name in `capture` (ASCII case folded, as bytes.upper())."""
    by_len: dict[int, list[bytes]] = {}
    for name in capture:
        by_len.setdefault(len(name), []).append(re.escape(name))
    alts = [b"%d\\r\\n(?:%s)" % (n, b"|".join(sorted(names))) for n, names in sorted(by_len.items())]
    return rb"(?!\$(?i:" + b"|".join(alts) + b"))" if alts else b""


@functools.lru_cache(maxsize=8)
def plain_run(capture: frozenset[bytes]) -> re.Pattern[bytes]:
    """A pattern whose match at a command start ends after the run of plain commands there."""
    arg = _argument(_any)
    name = _not_captured(capture) + _argument(_no_nul)
    alts = [b"1\\r\\n" + name] + [
        b"%d\\r\\n" % k + name + b"(?:" + arg + b"){%d}" % (k - 1) for k in range(2, FAST_MAX_ARGS + 1)
    ]
    # Possessive: a run never gives back a command, so no backtracking state is kept.
    # DOTALL: "." is then any byte, and ".{n}" a jump over n bytes, not n class tests.
    command = rb"(?:\*(?:" + b"|".join(alts) + b"))"
    run = command + b"*+" if POSSESSIVE_SOUND else b"(?>" + command + b"*)"
    return re.compile(run, re.DOTALL)
