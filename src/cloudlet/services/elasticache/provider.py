"""ElastiCacheProvider: serverless caches, snapshots, RBAC users/groups, tags, engine versions.

ExportServerlessCacheSnapshot needs S3, which cloudlet does not have: no method, so 501.
"""

from __future__ import annotations

import asyncio

from cloudlet.services.elasticache.cache_ops import CacheOps
from cloudlet.services.elasticache.metrics import CacheMetricsSampler
from cloudlet.services.elasticache.reader_idle import ReaderIdleStopper
from cloudlet.services.elasticache.tag_ops import TagOps
from cloudlet.services.elasticache.user_ops import UserOps


class ElastiCacheProvider(CacheOps, UserOps, TagOps):
    service = "elasticache"
    _metrics: asyncio.Task[None] | None = None  # the AWS/ElastiCache sampler (metrics.py)
    _reader_idle: asyncio.Task[None] | None = None  # stops idle read replicas (reader_idle.py)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._metrics = self._loop.create_task(CacheMetricsSampler(self).run())
        self._reader_idle = self._loop.create_task(ReaderIdleStopper(self).run())

    async def stop(self) -> None:
        """Stop every valkey (gracefully: AOF flushed) and the data plane."""
        for loop_task in (self._metrics, self._reader_idle):
            if loop_task is not None:
                loop_task.cancel()
        for task in list(self._tasks):
            task.cancel()
        await self.settle()
        for _, st in self.store.items():
            for cache in list(st.caches.values()):
                if cache.process is not None:
                    await cache.process.stop(graceful=True)
        if self._dataplane is not None:
            await self._dataplane.stop()

    def health(self) -> str:
        caches = [c for _, st in self.store.items() for c in st.caches.values()]
        failed = [c.name for c in caches if c.status == "create-failed"]
        text = f"running ({len(caches)} cache{'' if len(caches) == 1 else 's'}"
        return text + (f", create-failed: {', '.join(failed)})" if failed else ")")
