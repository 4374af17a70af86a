"""The engine configuration every serverless cache runs with, fixed as AWS fixes it.

Source: ElastiCache user guide, "Valkey and Redis OSS configuration and limits",
section "Serverless caches" (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/RedisConfiguration.html):
no parameter groups, nothing modifiable, these values in place. The 3,999-argument
limit on a request that page also states has no valkey setting; the data plane
enforces it (dataplane.resp.MAX_REQUEST_ARGS).
"""

from __future__ import annotations

# (directive, value) as valkey.conf lines.
FIXED: tuple[tuple[str, str], ...] = (
    ("acl-pubsub-default", "allchannels"),
    # Normal clients unlimited; pub/sub clients cut at 32 MiB, or 8 MiB held for 60 s.
    ("client-output-buffer-limit", "normal 0 0 0 pubsub 32mb 8mb 60"),
    ("client-query-buffer-limit", "1gb"),
    # All slots surfaced as owned by one virtual node (see valkey_process: the node claims them).
    ("cluster-enabled", "yes"),
    ("cluster-require-full-coverage", "no"),
    ("cluster-allow-reads-when-down", "yes"),
    ("cluster-allow-pubsubshard-when-down", "yes"),
    # Then -BUSY for other clients (valkey 8's name for lua-time-limit is busy-reply-threshold).
    ("lua-time-limit", "5000"),
    ("maxclients", "65000"),
    # At the storage limit evict keys that have a TTL by LRU, else refuse writes (OOM).
    ("maxmemory-policy", "volatile-lru"),
    # Keyspace notifications are not available on serverless caches.
    ("notify-keyspace-events", '""'),
)


def config_lines() -> list[str]:
    return [f"{name} {value}" for name, value in FIXED]
