"""The ECPUPerSecond maximum (CLOUDLET.ECPU): each command costs max(1, argument KB); over the
maximum, valkey pauses the cache's clients for the deficit, so a client runs at about the rate;
CLOUDLET.STATS counts the commands that arrived while paused (ThrottledCmds)."""

from __future__ import annotations

import time

import pytest
import redis

from .native_harness import NativeValkey


def _stats(cache: NativeValkey) -> int:
    return int(cache.admin().execute_command("CLOUDLET.STATS").split()[1])


def test_a_client_is_slowed_to_about_the_rate(own_cache: NativeValkey) -> None:
    r = own_cache.client()
    assert r.ping()
    t0 = time.monotonic()
    for _ in range(300):
        r.ping()
    unthrottled = time.monotonic() - t0
    assert _stats(own_cache) == 0
    assert own_cache.admin().execute_command("CLOUDLET.ECPU", "100") == b"OK"
    t0 = time.monotonic()
    for _ in range(300):  # 100 from the full bucket, then 200 at 100/s: about 2 s
        r.ping()
    elapsed = time.monotonic() - t0
    assert 1.5 < elapsed < 6, elapsed
    assert _stats(own_cache) > 0
    # Big arguments cost by size: 20 SETs of 10 KB are 200 ECPUs, about 1-2 s at 100/s.
    t0 = time.monotonic()
    for i in range(20):
        r.set(f"big{i}", b"x" * 10240)
    assert 0.8 < time.monotonic() - t0 < 6
    # No maximum: full speed again.
    assert own_cache.admin().execute_command("CLOUDLET.ECPU", "0") == b"OK"
    time.sleep(1.5)  # any pause in force ends
    t0 = time.monotonic()
    for _ in range(300):
        r.ping()
    assert time.monotonic() - t0 < max(1.0, 5 * unthrottled)


def test_only_the_admin_sets_the_maximum(own_cache: NativeValkey) -> None:
    r = own_cache.client()
    for cmd in (("CLOUDLET.ECPU", "1"), ("cloudlet.ecpu", "1"), ("CLOUDLET.STATS",)):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            r.execute_command(*cmd)
    t0 = time.monotonic()
    for _ in range(200):
        r.ping()
    assert time.monotonic() - t0 < 1.5  # no maximum was set by the attempts
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        own_cache.admin().execute_command("CLOUDLET.ECPU", "-1")


def test_one_huge_request_does_not_stop_the_cache_for_long(own_cache: NativeValkey) -> None:
    """The pause holds every client, cloudlet's admin too: a 2 MB SET at 100 ECPU/s (2,048 ECPUs,
    20 s of debt) holds them about one second, and a new maximum reaches the module that soon."""
    r = own_cache.client()
    admin = own_cache.admin()
    assert admin.execute_command("CLOUDLET.ECPU", "100") == b"OK"
    r.set("huge", b"x" * (2 << 20))
    time.sleep(0.1)  # the pause is in force
    t0 = time.monotonic()
    assert admin.execute_command("CLOUDLET.ECPU", "0") == b"OK"
    assert time.monotonic() - t0 < 3
    t0 = time.monotonic()
    assert r.strlen("huge") == 2 << 20
    assert time.monotonic() - t0 < 1
