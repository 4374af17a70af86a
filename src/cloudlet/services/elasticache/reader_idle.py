"""Stop a cache's read replica again once its reader endpoint has been idle.

The replica starts at the reader endpoint's first connection (ValkeyProcess.ensure_replica);
when that endpoint has had no connection for CLOUDLET_CACHE_READER_IDLE_S, the replica is
stopped, so a cache read once and then left idle comes back to one valkey. The check and the
stop happen in one step of the event loop: a reader connection accepted after it waits for the
stop to finish and starts a fresh replica (which syncs from the primary in full).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.services.elasticache.base import ElastiCacheBase

MAX_CHECK_S = 30.0


class ReaderIdleStopper:
    def __init__(self, provider: ElastiCacheBase) -> None:
        self.provider = provider

    async def run(self) -> None:
        idle_s = self.provider.world.config.cache_reader_idle_s
        if idle_s <= 0:
            return
        while True:
            await asyncio.sleep(min(max(idle_s / 4, 0.05), MAX_CHECK_S))
            self.check(idle_s)

    def check(self, idle_s: float) -> None:
        """Synchronous on purpose: no reader connection can arrive between a look and a stop."""
        dataplane = self.provider._dataplane
        if dataplane is None:  # no cache was ever opened
            return
        for _, st in self.provider.store.items():
            for cache in st.caches.values():
                proc = cache.process
                if proc is None or not proc.replica_up or cache.status not in ("available", "modifying"):
                    continue
                idle = dataplane.reader_idle_for(cache.name)
                if idle is not None and idle >= idle_s:
                    proc.stop_idle_replica()
