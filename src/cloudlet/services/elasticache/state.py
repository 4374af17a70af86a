"""ElastiCache resource state for one (account, region): caches, snapshots, users, groups."""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlet.services.elasticache.valkey_process import ValkeyProcess


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass
class ServerlessCache:
    name: str
    arn: str
    engine: str
    major_version: str
    full_version: str
    hostname: str
    address: str
    workdir: Path
    socket: Path
    backend_secret: bytes
    description: str = ""
    create_time: datetime.datetime = dataclasses.field(default_factory=now)
    status: str = "creating"
    usage_limits: dict[str, Any] | None = None
    kms_key_id: str | None = None
    security_group_ids: list[str] = dataclasses.field(default_factory=list)
    subnet_ids: list[str] = dataclasses.field(default_factory=list)
    user_group_id: str | None = None
    snapshot_retention_limit: int = 0
    daily_snapshot_time: str | None = None
    network_type: str = "ipv4"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    restore_from: Path | None = None
    process: ValkeyProcess | None = None
    failure: str = ""


@dataclasses.dataclass
class Snapshot:
    name: str
    arn: str
    cache_name: str
    engine: str
    major_version: str
    path: Path
    snapshot_type: str = "manual"
    status: str = "creating"
    create_time: datetime.datetime = dataclasses.field(default_factory=now)
    kms_key_id: str | None = None
    bytes_used: int = 0
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class CacheUserRecord:
    user_id: str
    user_name: str
    engine: str
    access_string: str
    auth_type: str  # password | no-password | iam (the output's spelling)
    arn: str
    passwords: list[str] = dataclasses.field(default_factory=list)
    status: str = "active"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    builtin: bool = False


@dataclasses.dataclass
class UserGroupRecord:
    group_id: str
    engine: str
    arn: str
    user_ids: list[str] = dataclasses.field(default_factory=list)
    status: str = "creating"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    pending_add: list[str] = dataclasses.field(default_factory=list)
    pending_remove: list[str] = dataclasses.field(default_factory=list)


class ElastiCacheState:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.caches: dict[str, ServerlessCache] = {}
        self.snapshots: dict[str, Snapshot] = {}
        self.users: dict[str, CacheUserRecord] = {}
        self.groups: dict[str, UserGroupRecord] = {}
        # The built-in user every account has; it can't be modified or deleted.
        self.users["default"] = CacheUserRecord(
            user_id="default",
            user_name="default",
            engine="redis",
            access_string="on ~* +@all",
            auth_type="no-password",
            arn=self.arn("user", "default"),
            builtin=True,
        )

    def arn(self, kind: str, name: str) -> str:
        return f"arn:aws:elasticache:{self.region}:{self.account_id}:{kind}:{name}"

    def groups_of(self, user_id: str) -> list[str]:
        return [g.group_id for g in self.groups.values() if user_id in g.user_ids]

    def caches_of_group(self, group_id: str) -> list[ServerlessCache]:
        return [c for c in self.caches.values() if c.user_group_id == group_id]


def _persist_spec() -> Any:
    from cloudlet.core.store import Collection, PersistSpec

    return PersistSpec(collections=(
        Collection("caches", ServerlessCache, exclude=frozenset({"process"})),
        Collection("snapshots", Snapshot),
        Collection("users", CacheUserRecord),
        Collection("groups", UserGroupRecord),
    ))


PERSIST = _persist_spec()
