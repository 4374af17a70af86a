"""What every ElastiCache operation group shares: state, background tasks, data plane, ACL resync."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import Provider
from cloudlet.core.runtime_dir import private_socket_dir
from cloudlet.core.store import AccountRegionStore
from cloudlet.core.world import World
from cloudlet.dataplane.spec import CacheEndpoint
from cloudlet.services.elasticache import acl_sync
from cloudlet.services.elasticache.addresses import AddressPool
from cloudlet.services.elasticache.state import (
    CacheUserRecord,
    ElastiCacheState,
    ServerlessCache,
    Snapshot,
    UserGroupRecord,
)
from cloudlet.services.elasticache.views import PORT, READER_PORT

if TYPE_CHECKING:
    from cloudlet.dataplane.native_plane.plane import NativeDataPlane
    from cloudlet.dataplane.server import DataPlane
    from cloudlet.services.elasticache.valkey_process import ValkeyProcess

log = logging.getLogger("cloudlet.elasticache")

# Unix socket paths are limited to 108 bytes; stay well below.
MAX_SOCKET_PATH = 100
# How long user/group transitions (creating, modifying, deleting) stay visible.
TRANSITION_S = 0.1


# ARN resource type -> (ElastiCacheState table, AWS's not-found fault, the noun its message uses).
RESOURCE_KINDS: dict[str, tuple[str, str, str]] = {
    "serverlesscache": ("caches", "ServerlessCacheNotFoundFault", "Serverless cache"),
    "serverlesscachesnapshot": ("snapshots", "ServerlessCacheSnapshotNotFoundFault", "Serverless cache snapshot"),
    "user": ("users", "UserNotFound", "User"),
    "usergroup": ("groups", "UserGroupNotFound", "User group"),
}


def find(st: ElastiCacheState, kind: str, key: str) -> Any:
    """The resource of an ARN resource type by its key, or AWS's not-found fault."""
    table, fault, noun = RESOURCE_KINDS[kind]
    found = getattr(st, table).get(key)
    if found is None:
        raise AWSError(fault, f"{noun} {key} not found.")
    return found


def require_cache_status(cache: ServerlessCache, *allowed: str) -> None:
    if cache.status not in (allowed or ("available",)):
        raise AWSError(
            "InvalidServerlessCacheStateFault",
            f"Serverless cache {cache.name} is not in available state (current state: {cache.status}).",
        )


class ElastiCacheBase(Provider):
    service = "elasticache"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[ElastiCacheState] = AccountRegionStore(ElastiCacheState)
        self.addresses = AddressPool(world.config.cache_net)
        self.root: Path = world.config.data_dir / "elasticache"
        self._dataplane: DataPlane | NativeDataPlane | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def dataplane(self) -> DataPlane | NativeDataPlane:
        """Built at the first cache: until then cloudlet starts and idles without its modules.
        CLOUDLET_DATAPLANE picks the proxy or the native one (whose modules the other never loads)."""
        if self._dataplane is None:
            if self.world.config.dataplane == "native":
                from cloudlet.dataplane.native_plane.plane import NativeDataPlane

                self._dataplane = NativeDataPlane(self.world)
            else:
                from cloudlet.dataplane.server import DataPlane

                self._dataplane = DataPlane(self.world)
        return self._dataplane

    async def new_valkey_process(
        self, st: ElastiCacheState, cache: ServerlessCache, admin_password: str, maxmemory_bytes: int
    ) -> ValkeyProcess:
        """The cache's valkey (its replica made, started at the reader's first use), not started:
        the data plane's kind decides how."""
        from cloudlet.services.elasticache.valkey_process import ValkeyProcess

        native = self.world.config.dataplane == "native"
        default_rules = acl_sync.default_user_line(cache.backend_secret, native=native)
        replica_socket = self.socket_path(cache.workdir / "replica")
        if native:
            from cloudlet.dataplane.native_plane.plane import NativeDataPlane

            dp = self.dataplane
            assert isinstance(dp, NativeDataPlane)
            return await dp.new_process(
                name=cache.name, hostname=cache.hostname, address=cache.address, port=PORT,
                reader_port=READER_PORT, workdir=cache.workdir, socket_path=cache.socket,
                replica_socket=replica_socket, backend_secret=cache.backend_secret,
                admin_password=admin_password, default_rules=default_rules, maxmemory_bytes=maxmemory_bytes,
                on_restart=lambda: acl_sync.sync(st, cache),
                on_replica_start=lambda replica: acl_sync.sync_replica(st, cache, replica),
            )
        return ValkeyProcess(
            binary=self.world.config.valkey_server,
            workdir=cache.workdir,
            socket=cache.socket,
            admin_password=admin_password,
            default_rules=default_rules,
            maxmemory_bytes=maxmemory_bytes,
            on_restart=lambda: acl_sync.sync(st, cache),
            replica_socket=replica_socket,
            on_replica_start=lambda replica: acl_sync.sync_replica(st, cache, replica),
        )

    # ---- plumbing
    def state(self, ctx: RequestContext) -> ElastiCacheState:
        return self.store.get(ctx.account_id, ctx.region)

    def background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run an asynchronous transition on cloudlet's loop (also when called from a worker thread)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or (self._loop is not None and loop is not self._loop):
            if self._loop is None:
                coro.close()
                raise RuntimeError("ElastiCacheProvider.start() was not awaited on cloudlet's loop")
            self._loop.call_soon_threadsafe(self._track, coro)
            return
        self._track(coro)

    def _track(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self.store.changed_all()  # transitions change records no request names: persist them
        self.world.persistence.flush()
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait until no background transition is running (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cache_dir(self, st: ElastiCacheState, name: str) -> Path:
        cfg = self.world.config
        home = (st.account_id, st.region) == (cfg.account_id, cfg.region)
        leaf = name if home else f"{st.region}.{st.account_id}.{name}"
        return self.root / "caches" / leaf

    def snapshot_dir(self, st: ElastiCacheState) -> Path:
        return self.root / "snapshots" / st.account_id / st.region

    @staticmethod
    def socket_path(workdir: Path) -> Path:
        sock = workdir / "valkey.sock"
        if len(str(sock)) <= MAX_SOCKET_PATH:
            return sock
        # Too deep for sun_path: this user's private socket dir (made when the cache starts).
        leaf = hashlib.sha256(str(workdir).encode()).hexdigest()[:20] + ".sock"
        return private_socket_dir(len(leaf)) / leaf

    # Names and ids are case-insensitive: AWS stores and reports them in lower case.
    def get_cache(self, st: ElastiCacheState, name: str) -> ServerlessCache:
        return find(st, "serverlesscache", name.lower())

    def get_snapshot(self, st: ElastiCacheState, name: str) -> Snapshot:
        return find(st, "serverlesscachesnapshot", name.lower())

    def get_user(self, st: ElastiCacheState, user_id: str) -> CacheUserRecord:
        return find(st, "user", user_id.lower())

    def get_group(self, st: ElastiCacheState, group_id: str) -> UserGroupRecord:
        return find(st, "usergroup", group_id.lower())

    # ---- data plane
    def endpoint(self, st: ElastiCacheState, cache: ServerlessCache) -> CacheEndpoint:
        return CacheEndpoint(
            name=cache.name,
            arn=cache.arn,
            account_id=st.account_id,
            region=st.region,
            hostname=cache.hostname,
            address=cache.address,
            valkey_socket=cache.socket,
            reader_socket=cache.process.replica.socket if cache.process and cache.process.replica else None,
            reader_ready=cache.process.ensure_replica if cache.process and cache.process.replica else None,
            backend_secret=cache.backend_secret,
            port=PORT,
            reader_port=READER_PORT,
            users=acl_sync.endpoint_users(acl_sync.group_members(st, cache)),
            ecpu_per_second_max=((cache.usage_limits or {}).get("ECPUPerSecond") or {}).get("Maximum"),
            tags=dict(cache.tags),
        )

    async def resync(self, st: ElastiCacheState, cache: ServerlessCache) -> None:
        """Push the cache's users to its valkey and to the data plane."""
        if cache.process is None or cache.status in ("creating", "create-failed", "deleting"):
            return
        try:
            await acl_sync.sync(st, cache)
        except Exception:
            log.exception("ACL sync of cache %s failed", cache.name)
        try:
            await self.dataplane.update_cache(self.endpoint(st, cache))
        except Exception:
            log.exception("data plane update of cache %s failed", cache.name)

    async def resync_group(self, st: ElastiCacheState, group_id: str) -> None:
        for cache in st.caches_of_group(group_id):
            await self.resync(st, cache)

    def status_lines(self) -> list[str]:
        lines = []
        for (account, region), st in self.store.items():
            for c in st.caches.values():
                restarts = c.process.restarts if c.process else 0
                lines.append(
                    f"elasticache {account} {region} {c.name} {c.status} {c.hostname} {c.address}"
                    + (f" restarts={restarts}" if restarts else "")
                    + (f" reason: {c.failure}" if c.status == "create-failed" and c.failure else "")
                )
        return lines
