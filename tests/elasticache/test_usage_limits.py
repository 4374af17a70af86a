"""CacheUsageLimits.ECPUPerSecond: over the maximum, requests are held back (throttled),
never refused; a modified maximum applies to open connections at once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from ec_harness import Harness
from redis.backoff import NoBackoff
from redis.retry import Retry

from cloudlet.dataplane.throttle import ecpus

N = 1500  # PINGs: 1 ECPU for each request and each reply


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("limits"))
    h.call("CreateServerlessCache", ServerlessCacheName="lim", Engine="valkey",
           CacheUsageLimits={"ECPUPerSecond": {"Maximum": 1000, "Minimum": 1000}})
    h.wait_status("lim", "available", timeout=30)
    try:
        yield h
    finally:
        h.close()


def pings(h: Harness) -> float:
    r = redis.Redis(host=h.cache("lim").address, port=6379, ssl=True, ssl_cert_reqs="none",
                    socket_timeout=30, retry=Retry(NoBackoff(), 0))
    r.ping()
    time.sleep(1.1)  # a full bucket
    t0 = time.monotonic()
    for _ in range(N):
        assert r.ping()
    return time.monotonic() - t0


def test_ecpu_accounting() -> None:
    assert ecpus(b"*1\r\n$4\r\nPING\r\n") == 1
    assert ecpus(b"*1\r\n$4\r\nPING\r\n" * 16) == 16
    assert ecpus(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10000\r\n" + b"x" * 10000 + b"\r\n") == 9


def test_over_the_maximum_requests_are_held_back_then_a_raise_applies_live(env: Harness) -> None:
    limits = env.call("DescribeServerlessCaches", ServerlessCacheName="lim")["ServerlessCaches"][0]["CacheUsageLimits"]
    assert limits["ECPUPerSecond"] == {"Maximum": 1000, "Minimum": 1000}
    throttled = pings(env)
    if env.config.dataplane == "native":
        # Natively a command costs its request only: N ECPUs at 1000/s with one second's burst.
        assert throttled >= (N - 1000) / 1000 * 0.9, throttled
        stats = env.run(env.provider.dataplane.connection_stats(env.cache("lim").name))
        assert stats is not None and stats.throttled > 0
    else:
        # 2*N ECPUs at 1000/s with one second's burst: at least (2*N - 1000) / 1000 s.
        assert throttled >= (2 * N - 1000) / 1000 * 0.9, throttled
        bucket = next(iter(env.provider.dataplane.caches.values())).ecpu
        assert bucket is not None and bucket.throttled > 0
    env.call("ModifyServerlessCache", ServerlessCacheName="lim",
             CacheUsageLimits={"ECPUPerSecond": {"Maximum": 15_000_000}})
    env.wait_status("lim", "available")
    free = pings(env)
    assert free < throttled / 2, (free, throttled)
