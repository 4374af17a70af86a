"""AWS/ElastiCache metrics of each serverless cache, published every CLOUDLET_METRICS_INTERVAL_S
(AWS: once a minute), dimension clusterId = the cache's name.

From the cache's valkeys (INFO, read by the admin user) and the data plane's counters:
  BytesUsedForCache            used_memory of the primary
  CurrConnections              client connections open on the cache's endpoints now
  NewConnections               connections accepted in the interval
  CacheHits / CacheMisses      keyspace_hits / keyspace_misses in the interval (primary + replica)
  ElastiCacheProcessingUnits   ECPUs in the interval: max(commands, KB transferred) on the
                               primary, plus the replica's reads (the throttle's per-chunk rule,
                               applied to the interval's totals; the sampler's own INFO left out)
  ThrottledCmds                requests held back by the ECPUPerSecond maximum in the interval
Counters that went backwards (a valkey restarted) count from zero.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from cloudlet.services.elasticache.admin_client import AdminError

if TYPE_CHECKING:
    from cloudlet.services.elasticache.base import ElastiCacheBase
    from cloudlet.services.elasticache.state import ServerlessCache

log = logging.getLogger("cloudlet.elasticache.metrics")

NAMESPACE = "AWS/ElastiCache"
KB = 1024


@dataclasses.dataclass
class Counters:
    commands: int = 0
    net_bytes: int = 0
    hits: int = 0
    misses: int = 0
    replica_reads: int = 0
    accepted: int = 0
    throttled: int = 0


def _delta(now: int, before: int) -> int:
    return now - before if now >= before else now


class CacheMetricsSampler:
    def __init__(self, provider: ElastiCacheBase) -> None:
        self.provider = provider
        self._last: dict[str, Counters] = {}  # by cache ARN

    async def run(self) -> None:
        interval = self.provider.world.config.metrics_interval_s
        while True:
            await asyncio.sleep(interval)
            await self.sample_all()

    async def sample_all(self) -> None:
        live = {c.arn for _, st in self.provider.store.items() for c in st.caches.values()}
        for gone in set(self._last) - live:  # deleted caches
            del self._last[gone]
        for (account, region), st in self.provider.store.items():
            for cache in list(st.caches.values()):
                if cache.status != "available" or cache.process is None:
                    continue
                try:
                    await self.sample(account, region, cache)
                except (AdminError, OSError, TimeoutError) as e:
                    log.debug("metrics of cache %s not sampled: %s", cache.name, e)

    async def sample(self, account: str, region: str, cache: ServerlessCache) -> None:
        assert cache.process is not None
        primary = cache.process
        infos: list[dict[str, Any]] = [await p.client().info() for p in primary.processes()]
        main = infos[0]
        replica = infos[1] if len(infos) > 1 else {}
        conns = await self.provider.dataplane.connection_stats(cache.name)
        now = Counters(
            commands=int(main.get("total_commands_processed", 0)),
            net_bytes=int(main.get("total_net_input_bytes", 0)) + int(main.get("total_net_output_bytes", 0)),
            hits=sum(int(i.get("keyspace_hits", 0)) for i in infos),
            misses=sum(int(i.get("keyspace_misses", 0)) for i in infos),
            replica_reads=int(replica.get("keyspace_hits", 0)) + int(replica.get("keyspace_misses", 0)),
            accepted=conns.accepted if conns is not None else 0,
            throttled=conns.throttled if conns is not None else 0,
        )
        before = self._last.get(cache.arn)
        self._last[cache.arn] = now
        # The previous sample's INFO (and the data plane's own commands) on the primary.
        own_info = 1 + (conns.admin_commands if conns is not None else 0) if before is not None else 0
        if before is None:
            before = Counters()
        commands = max(_delta(now.commands, before.commands) - own_info, 0)
        kb = _delta(now.net_bytes, before.net_bytes) // KB
        ecpus = max(commands, kb) + _delta(now.replica_reads, before.replica_reads)
        figures = {
            "BytesUsedForCache": (float(main.get("used_memory", 0)), "Bytes"),
            "CurrConnections": (float(conns.current if conns is not None else 0), "Count"),
            "NewConnections": (float(_delta(now.accepted, before.accepted)), "Count"),
            "CacheHits": (float(_delta(now.hits, before.hits)), "Count"),
            "CacheMisses": (float(_delta(now.misses, before.misses)), "Count"),
            "ElastiCacheProcessingUnits": (float(ecpus), "Count"),
            "ThrottledCmds": (float(_delta(now.throttled, before.throttled)), "Count"),
        }
        sink = self.provider.world.metrics
        dims = (("clusterId", cache.name),)
        for name, (value, unit) in figures.items():
            sink.emit(account, region, NAMESPACE, name, dims, value, unit)
