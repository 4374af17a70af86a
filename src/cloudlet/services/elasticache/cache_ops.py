"""Serverless cache operations and the lifecycle behind them (create, modify, delete)."""

from __future__ import annotations

import asyncio
import errno
import re
import secrets
import shutil
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.core.runtime_dir import ensure_private_dir
from cloudlet.dataplane.spec import ADMIN_USER, backend_password
from cloudlet.services.elasticache import acl_sync, network, validation, views
from cloudlet.services.elasticache.addresses import endpoint_hostname
from cloudlet.services.elasticache.base import TRANSITION_S, log, require_cache_status
from cloudlet.services.elasticache.engines import installed_valkey, resolve_engine, running_full_version
from cloudlet.services.elasticache.pagination import paged_result
from cloudlet.services.elasticache.snapshot_ops import SnapshotOps
from cloudlet.services.elasticache.state import (
    ElastiCacheState,
    ServerlessCache,
    Snapshot,
    UserGroupRecord,
)
from cloudlet.services.elasticache.valkey_process import GB

CACHE_QUOTA = 40  # AWS's default serverless caches per Region
ADDRESS_ATTEMPTS = 5  # endpoint addresses tried when others keep taking them first
DEFAULT_STORAGE_GB = 5000
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def maxmemory_of(limits: dict[str, Any] | None) -> int:
    storage = (limits or {}).get("DataStorage") or {}
    return int(storage.get("Maximum") or DEFAULT_STORAGE_GB) * GB


class CacheOps(SnapshotOps):
    # ---- checks shared by create and modify
    def _user_group_for(self, st: ElastiCacheState, group_id: str, engine: str) -> UserGroupRecord:
        group = self.get_group(st, group_id)
        if group.status == "deleting":
            raise AWSError("InvalidUserGroupState", f"User group {group.group_id} is not in active state.")
        if engine == "redis" and group.engine != "redis":
            raise AWSError(
                "InvalidParameterValue",
                f"User group {group.group_id} with engine {group.engine} cannot be used with engine {engine}.",
            )
        return group

    @staticmethod
    def _snapshot_settings(params: dict[str, Any]) -> None:
        limit = params.get("SnapshotRetentionLimit")
        if limit is not None and not (0 <= limit <= 35):
            raise AWSError("InvalidParameterValue", "SnapshotRetentionLimit must be between 0 and 35.")
        t = params.get("DailySnapshotTime")
        if t is not None and not _TIME.match(t):
            raise AWSError("InvalidParameterValue", "DailySnapshotTime must be in the format HH:MM (UTC).")

    @staticmethod
    def _description(params: dict[str, Any]) -> str | None:
        d = params.get("Description")
        if d is not None and len(d) > 255:
            raise AWSError("InvalidParameterValue", "Description must be at most 255 characters.")
        return d

    def _restore_source(self, st: ElastiCacheState, arns: list[str] | None, engine: str) -> Snapshot | None:
        if not arns:
            return None
        if len(arns) > 1:
            raise AWSError("InvalidParameterValue", "Only one snapshot can be restored into a serverless cache.")
        snap = next((s for s in st.snapshots.values() if s.arn == arns[0]), None)
        if snap is None:
            raise AWSError("InvalidParameterValue", f"Snapshot {arns[0]} does not exist.")
        if snap.status != "available":
            raise AWSError("InvalidServerlessCacheSnapshotStateFault", f"Snapshot {snap.name} is not available.")
        if snap.engine == "valkey" and engine == "redis":
            raise AWSError("InvalidParameterValue", "A valkey snapshot cannot be restored into a redis cache.")
        return snap

    # ---- operations
    @operation("CreateServerlessCache")
    async def create_serverless_cache(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        name = validation.cache_name(params["ServerlessCacheName"])
        engine, major, full = resolve_engine(
            params["Engine"], params.get("MajorEngineVersion"), installed_valkey(self.world.config.valkey_server)
        )
        description = self._description(params) or ""
        limits = validation.usage_limits(params.get("CacheUsageLimits"))
        self._snapshot_settings(params)
        if name in st.caches:
            raise AWSError("ServerlessCacheAlreadyExistsFault", f"Serverless cache {name} already exists.")
        if len(st.caches) >= CACHE_QUOTA:
            raise AWSError(
                "ServerlessCacheQuotaForCustomerExceededFault",
                f"You have reached the quota of {CACHE_QUOTA} serverless caches.",
            )
        network_type = params.get("NetworkType") or "ipv4"
        if network_type != "ipv4":
            # The default VPC's subnets have no IPv6 CIDR blocks, so AWS refuses ipv6 and dual_stack there.
            raise AWSError(
                "InvalidParameterValue",
                f"NetworkType {network_type} requires subnets with IPv6 CIDR blocks; the subnets have none.",
            )
        group = self._user_group_for(st, params["UserGroupId"], engine) if params.get("UserGroupId") else None
        tags = validation.tags({}, params.get("Tags"))
        sgs = network.security_groups(self.world, ctx.account_id, ctx.region, params.get("SecurityGroupIds"),
                                      params.get("SubnetIds"))
        subnets = network.subnets(self.world, ctx.account_id, ctx.region, params.get("SubnetIds"))
        snap = self._restore_source(st, params.get("SnapshotArnsToRestore"), engine)

        workdir = self.cache_dir(st, name)
        address = self.addresses.allocate()
        cache = ServerlessCache(
            name=name,
            arn=st.arn("serverlesscache", name),
            engine=engine,
            major_version=major,
            full_version=full,
            hostname=endpoint_hostname(name, ctx.region),
            address=address,
            workdir=workdir,
            socket=self.socket_path(workdir),
            backend_secret=secrets.token_bytes(32),
            description=description,
            usage_limits=limits,
            kms_key_id=params.get("KmsKeyId"),
            security_group_ids=sgs,
            subnet_ids=subnets,
            user_group_id=group.group_id if group else None,
            snapshot_retention_limit=params.get("SnapshotRetentionLimit") or 0,
            daily_snapshot_time=params.get("DailySnapshotTime"),
            network_type=network_type,
            tags=tags,
            restore_from=snap.path if snap else None,
        )
        st.caches[name] = cache
        self.world.hosts.register(cache.hostname, address)
        self.background(self._bring_up(st, cache))
        return {"ServerlessCache": views.cache(cache)}

    async def _bring_up(self, st: ElastiCacheState, cache: ServerlessCache, fresh: bool = True) -> None:
        """Start the cache's valkey; FRESH=False restarts a restored cache on its own data."""
        try:
            if fresh and cache.workdir.exists():
                shutil.rmtree(cache.workdir)  # left over from an earlier cloudlet run
            cache.workdir.mkdir(parents=True, exist_ok=not fresh)
            if cache.socket.parent != cache.workdir:
                ensure_private_dir(cache.socket.parent)
            if fresh and cache.restore_from is not None:
                shutil.copyfile(cache.restore_from, cache.workdir / "dump.rdb")
            cache.process = await self.new_valkey_process(
                st, cache, _admin_password(cache), maxmemory_of(cache.usage_limits))
            await cache.process.start()
            cache.full_version = running_full_version(cache.engine, await cache.process.client().info("server"))
            await acl_sync.sync(st, cache)
            await self._open_endpoint(st, cache)
            cache.status = "available"
            log.info("serverless cache %s available at %s (%s)", cache.name, cache.hostname, cache.address)
        except Exception as e:  # any failure leaves the cache create-failed, as AWS shows it
            cache.status = "create-failed"
            cache.failure = str(e) or type(e).__name__
            log.error("serverless cache %s failed to start: %s", cache.name, cache.failure)
            try:
                with open(cache.workdir / "valkey.log", "a") as f:
                    f.write(f"cloudlet: create failed: {cache.failure}\n")
            except OSError:
                pass
            if cache.process is not None:
                await cache.process.stop(graceful=False)

    async def _open_endpoint(self, st: ElastiCacheState, cache: ServerlessCache) -> None:
        """Open the cache's TLS endpoint. Its address was free when allocated, but another
        cloudlet (another user's, another test run) may have bound it since: move to the
        next free one, which clients only ever see through the hostname."""
        for attempt in range(ADDRESS_ATTEMPTS):
            try:
                await self.dataplane.open_cache(self.endpoint(st, cache))
                return
            except OSError as e:
                if e.errno != errno.EADDRINUSE or attempt == ADDRESS_ATTEMPTS - 1:
                    raise
                taken = cache.address
                cache.address = self.addresses.allocate()
                self.addresses.release(taken)
                self.world.hosts.register(cache.hostname, cache.address)
                log.warning("cache %s: %s was taken meanwhile, using %s", cache.name, taken, cache.address)

    @operation("DescribeServerlessCaches")
    def describe_serverless_caches(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        if params.get("ServerlessCacheName"):
            items = [self.get_cache(st, params["ServerlessCacheName"])]
        else:
            items = sorted(st.caches.values(), key=lambda c: c.create_time)
        return paged_result("ServerlessCaches", items, views.cache, params, default=50, lo=1, hi=100, serverless=True)

    @operation("ModifyServerlessCache")
    async def modify_serverless_cache(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        cache = self.get_cache(st, params["ServerlessCacheName"])
        require_cache_status(cache)
        if params.get("RemoveUserGroup") and params.get("UserGroupId"):
            raise AWSError(
                "InvalidParameterCombination", "RemoveUserGroup and UserGroupId cannot be specified together."
            )
        description = self._description(params)
        limits = validation.usage_limits(params.get("CacheUsageLimits"))
        self._snapshot_settings(params)
        engine, major, full = cache.engine, cache.major_version, cache.full_version
        if params.get("Engine") or params.get("MajorEngineVersion"):
            engine, major, full = resolve_engine(
                params.get("Engine") or cache.engine,
                params.get("MajorEngineVersion"),
                installed_valkey(self.world.config.valkey_server),
            )
            if (cache.engine, engine) == ("valkey", "redis"):
                raise AWSError("InvalidParameterValue", "A valkey cache cannot be changed to engine redis.")
            if engine == cache.engine and int(major) < int(cache.major_version):
                raise AWSError(
                    "InvalidParameterValue",
                    f"MajorEngineVersion {major} is lower than the cache's version {cache.major_version}.",
                )
        group_id = cache.user_group_id
        if params.get("UserGroupId"):
            group_id = self._user_group_for(st, params["UserGroupId"], engine).group_id
        elif params.get("RemoveUserGroup"):
            if cache.user_group_id is None:
                raise AWSError("InvalidParameterValue", f"Serverless cache {cache.name} has no user group.")
            group_id = None
        sgs = None
        if params.get("SecurityGroupIds"):
            sgs = network.security_groups(self.world, ctx.account_id, ctx.region, params["SecurityGroupIds"])

        # Validated: record the new configuration; valkey and the data plane follow in the background.
        if description is not None:
            cache.description = description
        cache.engine, cache.major_version, cache.full_version = engine, major, full
        memory_changed = limits is not None and maxmemory_of(limits) != maxmemory_of(cache.usage_limits)
        # A new ECPU maximum reaches the data plane with the endpoint's next update.
        limits_changed = limits is not None and limits != cache.usage_limits
        if limits is not None:
            cache.usage_limits = limits
        if sgs is not None:
            cache.security_group_ids = sgs
        if params.get("SnapshotRetentionLimit") is not None:
            cache.snapshot_retention_limit = params["SnapshotRetentionLimit"]
        if params.get("DailySnapshotTime") is not None:
            cache.daily_snapshot_time = params["DailySnapshotTime"]
        users_changed = group_id != cache.user_group_id
        cache.user_group_id = group_id
        cache.status = "modifying"
        self.background(self._apply_modify(st, cache, memory_changed, users_changed or limits_changed))
        return {"ServerlessCache": views.cache(cache)}

    async def _apply_modify(
        self, st: ElastiCacheState, cache: ServerlessCache, memory_changed: bool, users_changed: bool
    ) -> None:
        try:
            if memory_changed and cache.process is not None:
                await cache.process.set_maxmemory(maxmemory_of(cache.usage_limits))
            if users_changed:
                await self.resync(st, cache)
            # AWS applies changes asynchronously: keep "modifying" visible for a moment.
            await asyncio.sleep(TRANSITION_S)
            cache.status = "available"
        except Exception:
            log.exception("modify of serverless cache %s failed", cache.name)
            cache.status = "available"

    @operation("DeleteServerlessCache")
    async def delete_serverless_cache(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        cache = self.get_cache(st, params["ServerlessCacheName"])
        require_cache_status(cache, "available", "create-failed")
        final: Snapshot | None = None
        if params.get("FinalSnapshotName"):
            if cache.status != "available":
                raise AWSError(
                    "InvalidServerlessCacheStateFault",
                    f"Cannot take a final snapshot of serverless cache {cache.name} in state {cache.status}.",
                )
            final = self.new_snapshot(st, params["FinalSnapshotName"], cache, None, [])
        cache.status = "deleting"
        self.background(self._tear_down(st, cache, final))
        return {"ServerlessCache": views.cache(cache)}

    async def _tear_down(self, st: ElastiCacheState, cache: ServerlessCache, final: Snapshot | None) -> None:
        if final is not None:
            await self.take_snapshot(cache, final)
        try:
            await self.dataplane.close_cache(cache.name)
        except Exception:
            log.exception("data plane close of cache %s failed", cache.name)
        if cache.process is not None:
            await cache.process.stop(graceful=False)
        self.world.hosts.unregister(cache.hostname)
        self.addresses.release(cache.address)
        shutil.rmtree(cache.workdir, ignore_errors=True)
        if cache.socket.parent != cache.workdir:
            cache.socket.unlink(missing_ok=True)
        st.caches.pop(cache.name, None)
        log.info("serverless cache %s deleted", cache.name)


def _admin_password(cache: ServerlessCache) -> str:
    return backend_password(cache.backend_secret, ADMIN_USER)
