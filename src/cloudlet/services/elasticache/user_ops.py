"""RBAC users and user groups, with AWS's rules and asynchronous status transitions."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.services.elasticache import access_strings, validation, views
from cloudlet.services.elasticache.base import TRANSITION_S, ElastiCacheBase
from cloudlet.services.elasticache.pagination import paged_result
from cloudlet.services.elasticache.state import CacheUserRecord, ElastiCacheState, UserGroupRecord

USER_QUOTA = 1000
GROUP_QUOTA = 100
USERS_PER_GROUP = 100
_USER_ID = re.compile(r"^[a-zA-Z][a-zA-Z0-9-]*$")
_USER_NAME = re.compile(r"^[!-~]+$")  # printable, no spaces: it is a valkey ACL user name


def _engine(value: str) -> str:
    eng = value.strip().lower()
    if eng not in ("valkey", "redis"):
        raise AWSError("InvalidParameterValue", f"Invalid engine {value}. Valid values are valkey, redis.")
    return eng


def _authentication(params: dict[str, Any]) -> tuple[str, list[str]] | None:
    """-> (output auth type, passwords) from AuthenticationMode or the legacy parameters; None if absent."""
    mode = params.get("AuthenticationMode")
    legacy_pw = params.get("Passwords")
    legacy_nopw = params.get("NoPasswordRequired")
    if mode is not None:
        if legacy_pw or legacy_nopw is not None:
            raise AWSError(
                "InvalidParameterCombination",
                "AuthenticationMode cannot be combined with Passwords or NoPasswordRequired.",
            )
        kind = mode.get("Type")
        pws = mode.get("Passwords") or []
        if kind == "password":
            return "password", validation.passwords(pws)
        if kind in ("iam", "no-password-required"):
            if pws:
                raise AWSError(
                    "InvalidParameterCombination", f"Passwords are not allowed with authentication type {kind}."
                )
            return ("iam" if kind == "iam" else "no-password"), []
        raise AWSError(
            "InvalidParameterValue", "AuthenticationMode Type must be one of password, no-password-required, iam."
        )
    if legacy_nopw and legacy_pw:
        raise AWSError("InvalidParameterCombination", "Passwords cannot be given when NoPasswordRequired is true.")
    if legacy_nopw:
        return "no-password", []
    if legacy_pw:
        return "password", validation.passwords(legacy_pw)
    return None


class UserOps(ElastiCacheBase):
    def _changeable_user(self, st: ElastiCacheState, user_id: str, verb: str) -> CacheUserRecord:
        """The user ModifyUser/DeleteUser may change: not the built-in default user, and active."""
        user = self.get_user(st, user_id)
        if user.builtin:
            raise AWSError("InvalidParameterValue", f"The default user cannot be {verb}.")
        if user.status != "active":
            raise AWSError("InvalidUserState", f"User {user.user_id} is not in active state.")
        return user

    async def _settle_user(self, st: ElastiCacheState, user: CacheUserRecord, final: str | None) -> None:
        await asyncio.sleep(TRANSITION_S)
        if final is None:  # deleting: leave every group, then disappear
            for gid in st.groups_of(user.user_id):
                st.groups[gid].user_ids.remove(user.user_id)
                await self.resync_group(st, gid)
            st.users.pop(user.user_id, None)
            return
        user.status = final
        for gid in st.groups_of(user.user_id):
            await self.resync_group(st, gid)

    # ---- users
    @operation("CreateUser")
    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        raw_id = params["UserId"]
        if not _USER_ID.match(raw_id) or len(raw_id) > 40:
            raise AWSError(
                "InvalidParameterValue",
                "UserId must begin with a letter and contain only letters, digits and hyphens (1-40 characters).",
            )
        user_id = raw_id.lower()
        name = params["UserName"]
        if not _USER_NAME.match(name) or len(name) > 120:
            raise AWSError("InvalidParameterValue", "UserName must be 1-120 printable characters without spaces.")
        engine = _engine(params["Engine"])
        access_strings.parse(params["AccessString"])
        auth = _authentication(params)
        if auth is None:
            raise AWSError(
                "InvalidParameterValue",
                "No password argument: give AuthenticationMode, Passwords or NoPasswordRequired.",
            )
        auth_type, pws = auth
        if auth_type == "iam" and raw_id != name:
            raise AWSError("InvalidParameterValue", "UserId and UserName must be the same for IAM authentication.")
        if user_id in st.users:
            raise AWSError("UserAlreadyExists", f"User {user_id} already exists.")
        if len(st.users) >= USER_QUOTA:
            raise AWSError("UserQuotaExceeded", f"You have reached the quota of {USER_QUOTA} users.")
        user = CacheUserRecord(
            user_id=user_id,
            user_name=name,
            engine=engine,
            access_string=params["AccessString"],
            auth_type=auth_type,
            arn=st.arn("user", user_id),
            passwords=pws,
            tags=validation.tags({}, params.get("Tags")),
        )
        st.users[user_id] = user
        return views.user(st, user)

    @operation("ModifyUser")
    def modify_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        user = self._changeable_user(st, params["UserId"], "modified")
        if params.get("AccessString") and params.get("AppendAccessString"):
            raise AWSError("InvalidParameterCombination", "AccessString and AppendAccessString cannot both be given.")
        access = user.access_string
        if params.get("AccessString"):
            access = params["AccessString"]
        elif params.get("AppendAccessString"):
            access = f"{user.access_string} {params['AppendAccessString']}"
        access_strings.parse(access)
        auth = _authentication(params)
        if auth is not None and auth[0] == "iam" and user.user_id != user.user_name.lower():
            raise AWSError("InvalidParameterValue", "UserId and UserName must be the same for IAM authentication.")
        engine = _engine(params["Engine"]) if params.get("Engine") else user.engine
        if (user.engine, engine) == ("valkey", "redis"):
            raise AWSError("InvalidParameterValue", "A valkey user cannot be changed to engine redis.")
        if auth is not None and auth[0] == "no-password":
            for gid in st.groups_of(user.user_id):
                if st.groups[gid].engine == "valkey":
                    raise AWSError(
                        "InvalidParameterValue", f"User group {gid} of engine valkey only holds password or iam users."
                    )
        user.access_string = access
        user.engine = engine
        if auth is not None:
            user.auth_type, user.passwords = auth
        user.status = "modifying"
        self.background(self._settle_user(st, user, "active"))
        return views.user(st, user)

    @operation("DeleteUser")
    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        user = self._changeable_user(st, params["UserId"], "deleted")
        groups = st.groups_of(user.user_id)
        if user.user_name == "default" and groups:
            raise AWSError(
                "DefaultUserAssociatedToUserGroup",
                f"User {user.user_id} is the default user of user group(s) {', '.join(groups)}.",
            )
        user.status = "deleting"
        self.background(self._settle_user(st, user, None))
        return views.user(st, user)

    @operation("DescribeUsers")
    def describe_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        items = list(st.users.values())
        if params.get("UserId"):
            items = [self.get_user(st, params["UserId"])]
        if params.get("Engine"):
            items = [u for u in items if u.engine == params["Engine"].lower()]
        for f in params.get("Filters") or []:
            name = (f.get("Name") or "").lower().replace("-", "")
            wanted = {v.lower() for v in f.get("Values") or []}
            if name == "usergroupid":
                items = [u for u in items if wanted & set(st.groups_of(u.user_id))]
            elif name == "userid":
                items = [u for u in items if u.user_id in wanted]
            elif name == "username":
                items = [u for u in items if u.user_name.lower() in wanted]
            else:
                raise AWSError(
                    "InvalidParameterValue",
                    f"Invalid filter name {f.get('Name')}. Valid names: user-group-id, user-id, user-name.",
                )
        return paged_result("Users", items, lambda u: views.user(st, u), params, default=100, lo=1, hi=100)

    # ---- user groups
    def _check_members(self, st: ElastiCacheState, engine: str, group_id: str, user_ids: list[str]) -> None:
        users = [self.get_user(st, u) for u in user_ids]
        names = [u.user_name for u in users]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise AWSError("DuplicateUserName", f"User group {group_id} would contain two users named {dup}.")
        if len(users) > USERS_PER_GROUP:
            raise AWSError("InvalidParameterValue", f"A user group can hold at most {USERS_PER_GROUP} users.")
        if engine == "redis" and "default" not in names:
            raise AWSError("DefaultUserRequired", "A user with the username default must be included.")
        if engine == "valkey":
            bad = [u.user_id for u in users if u.auth_type == "no-password"]
            if bad:
                raise AWSError(
                    "InvalidParameterValue",
                    "User group of engine valkey only holds users with password or iam authentication: "
                    + ", ".join(bad),
                )

    @operation("CreateUserGroup")
    def create_user_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        group_id = validation.identifier(params["UserGroupId"], "UserGroupId", 40)
        engine = _engine(params["Engine"])
        user_ids = [u.lower() for u in params.get("UserIds") or []]
        if group_id in st.groups:
            raise AWSError("UserGroupAlreadyExists", f"User group {group_id} already exists.")
        if len(st.groups) >= GROUP_QUOTA:
            raise AWSError("UserGroupQuotaExceeded", f"You have reached the quota of {GROUP_QUOTA} user groups.")
        self._check_members(st, engine, group_id, user_ids)
        group = UserGroupRecord(
            group_id=group_id,
            engine=engine,
            arn=st.arn("usergroup", group_id),
            user_ids=user_ids,
            tags=validation.tags({}, params.get("Tags")),
        )
        st.groups[group_id] = group
        self.background(self._settle_group(st, group))
        return views.user_group(st, group)

    async def _settle_group(self, st: ElastiCacheState, group: UserGroupRecord) -> None:
        await asyncio.sleep(TRANSITION_S)
        if group.status == "deleting":
            st.groups.pop(group.group_id, None)
            return
        if group.pending_add or group.pending_remove:
            group.user_ids = [u for u in group.user_ids if u not in group.pending_remove] + group.pending_add
            group.pending_add, group.pending_remove = [], []
            await self.resync_group(st, group.group_id)
        group.status = "active"

    @operation("ModifyUserGroup")
    def modify_user_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        group = self.get_group(st, params["UserGroupId"])
        if group.status != "active":
            raise AWSError("InvalidUserGroupState", f"User group {group.group_id} is not in active state.")
        add = [u.lower() for u in params.get("UserIdsToAdd") or []]
        remove = [u.lower() for u in params.get("UserIdsToRemove") or []]
        engine = _engine(params["Engine"]) if params.get("Engine") else group.engine
        if (group.engine, engine) == ("valkey", "redis"):
            raise AWSError("InvalidParameterValue", "A valkey user group cannot be changed to engine redis.")
        for u in add:
            self.get_user(st, u)
            if u in group.user_ids:
                raise AWSError("InvalidParameterValue", f"User {u} is already a member of user group {group.group_id}.")
        for u in remove:
            self.get_user(st, u)
            if u not in group.user_ids:
                raise AWSError("InvalidParameterValue", f"User {u} is not a member of user group {group.group_id}.")
        if set(add) & set(remove):
            raise AWSError("InvalidParameterCombination", "A user cannot be both added and removed.")
        members = [u for u in group.user_ids if u not in remove] + add
        self._check_members(st, engine, group.group_id, members)
        group.engine = engine
        group.pending_add, group.pending_remove = add, remove
        group.status = "modifying"
        self.background(self._settle_group(st, group))
        return views.user_group(st, group)

    @operation("DeleteUserGroup")
    def delete_user_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        group = self.get_group(st, params["UserGroupId"])
        caches = st.caches_of_group(group.group_id)
        if caches:
            raise AWSError(
                "InvalidUserGroupState",
                f"User group {group.group_id} is associated with serverless cache(s) "
                f"{', '.join(c.name for c in caches)}; disassociate it first.",
            )
        if group.status != "active":
            raise AWSError("InvalidUserGroupState", f"User group {group.group_id} is not in active state.")
        group.status = "deleting"
        self.background(self._settle_group(st, group))
        return views.user_group(st, group)

    @operation("DescribeUserGroups")
    def describe_user_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        st = self.state(ctx)
        items = list(st.groups.values())
        if params.get("UserGroupId"):
            items = [self.get_group(st, params["UserGroupId"])]
        return paged_result(
            "UserGroups", items, lambda g: views.user_group(st, g), params, default=100, lo=1, hi=100
        )
