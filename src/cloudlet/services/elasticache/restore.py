"""Bring restored ElastiCache state back to life after a restart.

Caches restart on their own data (the AOF in their workdir), at the same endpoint
hostname and address, with their ACL users; transitions a restart interrupted are
finished the way they would have ended (deleting -> gone, creating -> available).
"""

from __future__ import annotations

import asyncio
import shutil
from typing import TYPE_CHECKING

from cloudlet.services.elasticache.state import ElastiCacheState

if TYPE_CHECKING:
    from cloudlet.services.elasticache.provider import ElastiCacheProvider

COLLECTIONS = ("caches", "snapshots", "users", "groups")


def settle_transitions(st: ElastiCacheState) -> None:
    """Finish what the last run left half-way, as its background tasks would have."""
    for uid, user in list(st.users.items()):
        if user.status == "deleting":
            for g in st.groups.values():
                if uid in g.user_ids:
                    g.user_ids.remove(uid)
            del st.users[uid]
        else:
            user.status = "active"
    for gid, group in list(st.groups.items()):
        if group.status == "deleting":
            del st.groups[gid]
            continue
        if group.pending_add or group.pending_remove:
            group.user_ids = [u for u in group.user_ids if u not in group.pending_remove] + group.pending_add
            group.pending_add, group.pending_remove = [], []
        group.status = "active"
    for name, snap in list(st.snapshots.items()):
        if snap.status == "deleting":
            snap.path.unlink(missing_ok=True)
            del st.snapshots[name]
        elif snap.status == "creating":
            # Its copy was interrupted: a file that is not all there is no snapshot.
            snap.status = "failed"


async def revive(provider: ElastiCacheProvider) -> None:
    ups = []
    for (account, region), st in provider.store.items():
        settle_transitions(st)
        for name, cache in list(st.caches.items()):
            cache.process = None
            if cache.status == "deleting":
                shutil.rmtree(cache.workdir, ignore_errors=True)
                del st.caches[name]
                continue
            provider.addresses.reserve(cache.address)
            provider.world.hosts.register(cache.hostname, cache.address)
            if cache.status == "create-failed":
                continue
            cache.status = "creating"
            ups.append(provider._bring_up(st, cache, fresh=False))
        for attr in COLLECTIONS:
            provider.store.changed(account, region, attr)
    # Awaited before cloudlet answers its health check: clients may connect at once.
    await asyncio.gather(*ups)
    provider.world.persistence.flush()
