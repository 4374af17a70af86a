"""aws:CurrentTime is formatted once a second and kept: each request must still see its own second."""

from __future__ import annotations

import datetime as dt

from cloudlet.core.context import Principal
from cloudlet.policy.context_keys import request_keys

USER = Principal("arn:aws:iam::123456789012:user/u", "123456789012", "AIDAEXAMPLE", "User", "u")


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_current_time_follows_the_clock() -> None:
    base = 1_765_000_000.0
    seen = []
    for t in (base + 0.1, base + 0.9, base + 1.0, base + 61.5, base + 0.2, base + 86_400.7):
        keys = request_keys(USER, now=t)
        assert keys["aws:currenttime"] == iso(t)
        assert keys["aws:epochtime"] == str(int(t))
        seen.append(keys["aws:currenttime"])
    assert seen[0] == seen[1] != seen[2] != seen[3]
