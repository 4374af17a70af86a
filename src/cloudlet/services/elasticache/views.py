"""Resource records -> the model's output shapes."""

from __future__ import annotations

import hashlib
from typing import Any

from cloudlet.services.elasticache.state import (
    CacheUserRecord,
    ElastiCacheState,
    ServerlessCache,
    Snapshot,
    UserGroupRecord,
)

PORT = 6379
READER_PORT = 6380


def min_engine_version(engine: str) -> str:
    return "7.2" if engine == "valkey" else "6.0"


def assigned_snapshot_time(arn: str) -> str:
    """The DailySnapshotTime AWS fills in when the caller sets none.

    AWS always reports one (e.g. "04:00", "05:00" in us-east-1, even with
    SnapshotRetentionLimit 0): a half-hour slot, here picked from 03:00-10:30
    UTC by the cache's ARN so it stays the same for the cache's lifetime.
    """
    slot = int.from_bytes(hashlib.sha256(arn.encode()).digest()[:2], "big") % 16
    minutes = 3 * 60 + 30 * slot
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def cache(c: ServerlessCache) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ServerlessCacheName": c.name,
        "Description": c.description,
        "CreateTime": c.create_time,
        "Status": c.status,
        "Engine": c.engine,
        "MajorEngineVersion": c.major_version,
        "FullEngineVersion": c.full_version,
        "SecurityGroupIds": list(c.security_group_ids),
        "Endpoint": {"Address": c.hostname, "Port": PORT},
        "ReaderEndpoint": {"Address": c.hostname, "Port": READER_PORT},
        "ARN": c.arn,
        "SubnetIds": list(c.subnet_ids),
        "SnapshotRetentionLimit": c.snapshot_retention_limit,
        "NetworkType": c.network_type,
    }
    if c.usage_limits:
        out["CacheUsageLimits"] = c.usage_limits
    if c.kms_key_id:
        out["KmsKeyId"] = c.kms_key_id
    if c.user_group_id:
        out["UserGroupId"] = c.user_group_id
    out["DailySnapshotTime"] = c.daily_snapshot_time or assigned_snapshot_time(c.arn)
    return out


def snapshot(s: Snapshot) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ServerlessCacheSnapshotName": s.name,
        "ARN": s.arn,
        "SnapshotType": s.snapshot_type,
        "Status": s.status,
        "CreateTime": s.create_time,
        "BytesUsedForCache": str(s.bytes_used),
        "ServerlessCacheConfiguration": {
            "ServerlessCacheName": s.cache_name,
            "Engine": s.engine,
            "MajorEngineVersion": s.major_version,
        },
    }
    if s.kms_key_id:
        out["KmsKeyId"] = s.kms_key_id
    return out


def user(st: ElastiCacheState, u: CacheUserRecord) -> dict[str, Any]:
    return {
        "UserId": u.user_id,
        "UserName": u.user_name,
        "Status": u.status,
        "Engine": u.engine,
        "MinimumEngineVersion": min_engine_version(u.engine),
        "AccessString": u.access_string,
        "UserGroupIds": st.groups_of(u.user_id),
        "Authentication": {"Type": u.auth_type, "PasswordCount": len(u.passwords)},
        "ARN": u.arn,
    }


def user_group(st: ElastiCacheState, g: UserGroupRecord) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserGroupId": g.group_id,
        "Status": g.status,
        "Engine": g.engine,
        "UserIds": list(g.user_ids),
        "MinimumEngineVersion": min_engine_version(g.engine),
        "ReplicationGroups": [],
        "ServerlessCaches": [c.name for c in st.caches_of_group(g.group_id)],
        "ARN": g.arn,
    }
    if g.pending_add or g.pending_remove:
        pending: dict[str, Any] = {}
        if g.pending_remove:
            pending["UserIdsToRemove"] = list(g.pending_remove)
        if g.pending_add:
            pending["UserIdsToAdd"] = list(g.pending_add)
        out["PendingChanges"] = pending
    return out
