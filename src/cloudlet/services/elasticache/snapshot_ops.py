"""Serverless cache snapshots: valkey RDB files under DATA_DIR/elasticache/snapshots/."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.services.elasticache import validation, views
from cloudlet.services.elasticache.base import ElastiCacheBase, log, require_cache_status
from cloudlet.services.elasticache.pagination import paged_result
from cloudlet.services.elasticache.state import ElastiCacheState, ServerlessCache, Snapshot

SNAPSHOT_QUOTA = 1000


class SnapshotOps(ElastiCacheBase):
    def new_snapshot(
        self,
        st: ElastiCacheState,
        raw_name: str,
        source: ServerlessCache | Snapshot,
        kms_key_id: str | None,
        tags: list[dict[str, str]] | None,
        name_param: str = "ServerlessCacheSnapshotName",
    ) -> Snapshot:
        """Record a snapshot (status creating) of a cache, or a copy of another snapshot."""
        name = validation.identifier(raw_name, name_param, 255)
        if name in st.snapshots:
            raise AWSError(
                "ServerlessCacheSnapshotAlreadyExistsFault", f"Serverless cache snapshot {name} already exists."
            )
        if len(st.snapshots) >= SNAPSHOT_QUOTA:
            raise AWSError("ServerlessCacheSnapshotQuotaExceededFault", "The snapshot quota has been reached.")
        snap = Snapshot(
            name=name,
            arn=st.arn("serverlesscachesnapshot", name),
            cache_name=source.name if isinstance(source, ServerlessCache) else source.cache_name,
            engine=source.engine,
            major_version=source.major_version,
            path=self.snapshot_dir(st) / f"{name}.rdb",
            kms_key_id=kms_key_id,
            tags=validation.tags({}, tags),
        )
        st.snapshots[name] = snap
        return snap

    @staticmethod
    async def _store(source: Path, snap: Snapshot) -> None:
        """Copy an RDB file to the snapshot's path and mark the snapshot available."""
        snap.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.copyfile, source, snap.path)
        snap.bytes_used = snap.path.stat().st_size
        snap.status = "available"

    async def take_snapshot(self, cache: ServerlessCache, snap: Snapshot) -> None:
        try:
            assert cache.process is not None
            await self._store(await cache.process.save_rdb(), snap)
        except Exception:
            log.exception("snapshot %s of cache %s failed", snap.name, cache.name)
            snap.status = "failed"

    @operation("CreateServerlessCacheSnapshot")
    async def create_serverless_cache_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        cache = self.get_cache(st, params["ServerlessCacheName"])
        require_cache_status(cache)
        snap = self.new_snapshot(
            st, params["ServerlessCacheSnapshotName"], cache, params.get("KmsKeyId"), params.get("Tags")
        )
        self.background(self.take_snapshot(cache, snap))
        return {"ServerlessCacheSnapshot": views.snapshot(snap)}

    @operation("CopyServerlessCacheSnapshot")
    async def copy_serverless_cache_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        src = self.get_snapshot(st, params["SourceServerlessCacheSnapshotName"])
        if src.status != "available":
            raise AWSError(
                "InvalidServerlessCacheSnapshotStateFault", f"Serverless cache snapshot {src.name} is not available."
            )
        target = "TargetServerlessCacheSnapshotName"
        kms_key_id = params.get("KmsKeyId") or src.kms_key_id
        copy = self.new_snapshot(st, params[target], src, kms_key_id, params.get("Tags"), name_param=target)
        self.background(self._copy_file(src, copy))
        return {"ServerlessCacheSnapshot": views.snapshot(copy)}

    async def _copy_file(self, src: Snapshot, dst: Snapshot) -> None:
        try:
            await self._store(src.path, dst)
        except OSError:
            log.exception("copy of snapshot %s to %s failed", src.name, dst.name)
            dst.status = "failed"

    @operation("DeleteServerlessCacheSnapshot")
    async def delete_serverless_cache_snapshot(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        snap = self.get_snapshot(st, params["ServerlessCacheSnapshotName"])
        if snap.status not in ("available", "failed"):
            raise AWSError(
                "InvalidServerlessCacheSnapshotStateFault",
                f"Serverless cache snapshot {snap.name} is in state {snap.status} and cannot be deleted.",
            )
        snap.status = "deleting"
        self.background(self._remove(st, snap))
        return {"ServerlessCacheSnapshot": views.snapshot(snap)}

    async def _remove(self, st: ElastiCacheState, snap: Snapshot) -> None:
        await asyncio.to_thread(snap.path.unlink, True)
        st.snapshots.pop(snap.name, None)

    @operation("DescribeServerlessCacheSnapshots")
    def describe_serverless_cache_snapshots(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        items = sorted(st.snapshots.values(), key=lambda s: s.create_time)
        if params.get("ServerlessCacheSnapshotName"):
            items = [self.get_snapshot(st, params["ServerlessCacheSnapshotName"])]
        if params.get("ServerlessCacheName"):
            cname = params["ServerlessCacheName"].lower()
            if cname not in st.caches and not any(s.cache_name == cname for s in st.snapshots.values()):
                raise AWSError("ServerlessCacheNotFoundFault", f"Serverless cache {cname} not found.")
            items = [s for s in items if s.cache_name == cname]
        if params.get("SnapshotType"):
            items = [s for s in items if s.snapshot_type == params["SnapshotType"]]
        return paged_result(
            "ServerlessCacheSnapshots", items, views.snapshot, params, default=50, lo=1, hi=50, serverless=True
        )
