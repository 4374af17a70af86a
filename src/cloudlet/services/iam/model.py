"""IAM's resources, one IamState per account (region GLOBAL)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from typing import Any


def utcnow() -> dt.datetime:
    # IAM reports whole seconds.
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


@dataclasses.dataclass
class Entity:
    """What roles, users and groups share: identity, path, policies."""

    name: str
    path: str
    id: str
    arn: str
    create_date: dt.datetime
    attached: list[str] = dataclasses.field(default_factory=list)  # managed policy ARNs
    inline: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> document text
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    permissions_boundary: str | None = None  # managed policy ARN


@dataclasses.dataclass
class Role(Entity):
    assume_role_policy_text: str = "{}"
    description: str | None = None
    max_session_duration: int = 3600

    @property
    def role_id(self) -> str:
        return self.id

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    @property
    def assume_role_policy(self) -> dict[str, Any]:
        return decoded_json(self.assume_role_policy_text)


@functools.lru_cache(maxsize=4096)
def decoded_json(text: str) -> dict[str, Any]:
    """Policy text -> dict, decoded once per distinct text (every request reads them).

    The dict is shared: callers must not mutate it."""
    doc: dict[str, Any] = json.loads(text)
    return doc


@dataclasses.dataclass
class User(Entity):
    @property
    def user_id(self) -> str:
        return self.id


@dataclasses.dataclass
class Group(Entity):
    members: list[str] = dataclasses.field(default_factory=list)  # user names

    @property
    def group_id(self) -> str:
        return self.id


@dataclasses.dataclass
class PolicyVersion:
    version_id: str
    document_text: str
    create_date: dt.datetime


@dataclasses.dataclass
class ManagedPolicy:
    name: str
    path: str
    id: str
    arn: str
    create_date: dt.datetime
    update_date: dt.datetime
    default_version_id: str
    versions: dict[str, PolicyVersion]
    description: str | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    next_version: int = 2
    aws_managed: bool = False

    @property
    def default_document(self) -> dict[str, Any]:
        return decoded_json(self.versions[self.default_version_id].document_text)


@dataclasses.dataclass
class AccessKey:
    access_key_id: str
    secret_access_key: str
    user_name: str | None  # None: a root key
    status: str  # Active | Inactive
    create_date: dt.datetime


@dataclasses.dataclass
class IamState:
    account_id: str
    # Keyed by lowercased name: IAM names are unique case-insensitively.
    roles: dict[str, Role] = dataclasses.field(default_factory=dict)
    users: dict[str, User] = dataclasses.field(default_factory=dict)
    groups: dict[str, Group] = dataclasses.field(default_factory=dict)
    policies: dict[str, ManagedPolicy] = dataclasses.field(default_factory=dict)  # by ARN
    access_keys: dict[str, AccessKey] = dataclasses.field(default_factory=dict)

    def entities(self) -> list[Entity]:
        return [*self.roles.values(), *self.users.values(), *self.groups.values()]
