"""ECPU accounting and the ECPUPerSecond maximum of a cache's CacheUsageLimits.

AWS (ElastiCache user guide, "Scaling ElastiCache Serverless" and "Pricing
dimensions"): a simple read or write costs 1 ECPU per KB transferred, other
commands in proportion to the vCPU time they take; over the ECPUPerSecond maximum
requests are throttled (the ThrottledCmds metric), with no documented error text.

Here, per chunk of client input and of valkey output: ECPUs = max(commands in it,
KB in it), commands counted by their multibulk headers, so a pipeline of small
commands costs one ECPU each and large values cost by size. CPU-heavy commands are
not weighed by CPU time (not measured per command). Throttling holds the client
back: after a chunk overdraws the cache's bucket, the connection is not read again
until the bucket has refilled, so no request is refused and no error is invented.
"""

from __future__ import annotations

import time

KB = 1024


def ecpus(data: bytes) -> int:
    """The ECPUs one chunk of requests or replies costs (at least 1)."""
    commands = data.count(b"\r\n*") + (1 if data[:1] == b"*" else 0)
    return max(1, commands, len(data) // KB)


class EcpuBucket:
    """A token bucket filled at the ECPUPerSecond maximum, holding at most one second of it."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.tokens = float(rate)
        self.stamp = time.monotonic()
        self.throttled = 0  # chunks held back (the ThrottledCmds count, by chunk)

    def spend(self, cost: int) -> float:
        """Take COST ECPUs; -> how long the spender must wait before its next request (0: none)."""
        now = time.monotonic()
        self.tokens = min(float(self.rate), self.tokens + (now - self.stamp) * self.rate) - cost
        self.stamp = now
        if self.tokens >= 0:
            return 0.0
        self.throttled += 1
        return -self.tokens / self.rate
