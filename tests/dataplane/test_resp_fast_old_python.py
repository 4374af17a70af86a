"""The fast path's run pattern on Pythons whose possessive repeats are unsound
(CPython < 3.11.5, gh-100061: Debian 12's python3 is 3.11.2): the atomic-group form
is used there, and must frame exactly as the possessive form does elsewhere."""

from __future__ import annotations

import platform
import sys
from collections.abc import Iterator

import pytest

from cloudlet.dataplane import resp_fast

CAPTURE = frozenset({b"ACL", b"AUTH", b"HELLO"})


@pytest.fixture
def atomic(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(resp_fast, "POSSESSIVE_SOUND", False)
    resp_fast.plain_run.cache_clear()
    yield
    resp_fast.plain_run.cache_clear()


def cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


@pytest.mark.skipif(platform.python_implementation() != "CPython", reason="the probe is about CPython's re")
def test_probe_matches_the_interpreter() -> None:
    assert resp_fast.POSSESSIVE_SOUND == (sys.version_info >= (3, 11, 5))


def test_atomic_form_stops_at_captured_and_partial_commands(atomic: None) -> None:
    run = resp_fast.plain_run(CAPTURE)
    assert b"(?>" in run.pattern
    ping, setk = cmd(b"PING"), cmd(b"SET", b"k", b"v")
    for stop in (cmd(b"ACL", b"WHOAMI"), cmd(b"auth", b"u", b"p"), cmd(b"HELLO", b"3")):
        assert run.match(stop).end() == 0  # type: ignore[union-attr]
        assert run.match(ping + setk + stop).end() == len(ping + setk)  # type: ignore[union-attr]
    # The command redis-py 8 sends after HELLO: five arguments, none captured.
    maint = cmd(b"CLIENT", b"MAINT_NOTIFICATIONS", b"ON", b"moving-endpoint-type", b"internal-ip")
    assert run.match(maint + maint).end() == 2 * len(maint)  # type: ignore[union-attr]
    whole = ping + setk
    for cut in range(1, len(setk)):
        assert run.match(whole[: len(ping) + cut]).end() == len(ping)  # type: ignore[union-attr]
