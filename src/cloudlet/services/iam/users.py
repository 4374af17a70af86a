"""User operations, their access keys (registered as signing credentials) and groups."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.identity import Credential
from cloudlet.core.ids import aws_unique_id, secret_access_key
from cloudlet.core.provider import operation
from cloudlet.services.iam.base import IamBase
from cloudlet.services.iam.common import (
    already_exists,
    check_path,
    delete_conflict,
    limit_exceeded,
    merge_tags,
    no_such_entity,
    paginate,
    path_matches,
    remove_tags,
    tag_list,
)
from cloudlet.services.iam.model import AccessKey, IamState, User, utcnow

MAX_ACCESS_KEYS = 2
# The root identity's creation date, for GetUser called by root.
ROOT_CREATE_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def user_principal(state: IamState, user: User, access_key_id: str = "") -> Principal:
    return Principal(
        arn=user.arn,
        account_id=state.account_id,
        user_id=user.id,
        type="User",
        name=user.name,
        access_key_id=access_key_id,
    )


class UserOps(IamBase):
    def caller_user_name(self, ctx: RequestContext, params: dict[str, Any]) -> str | None:
        """UserName given, else the calling user's; None for the root identity."""
        if params.get("UserName"):
            return str(params["UserName"])
        p = ctx.principal
        if p.type == "User" and p.account_id == ctx.account_id:
            state = self.state(ctx.account_id)
            for user in state.users.values():
                if user.id == p.user_id:
                    return user.name
            raise no_such_entity(f"The user with name {p.name} cannot be found.")
        if p.is_root:
            return None
        raise AWSError("ValidationError", "Must specify userName when calling with non-User credentials", 400)

    @operation("CreateUser")
    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = params["UserName"]
        path = check_path(params.get("Path"))
        if name.lower() in state.users:
            raise already_exists(f"User with name {name} already exists.")
        tags = merge_tags({}, params.get("Tags"))
        boundary = params.get("PermissionsBoundary")
        if boundary:
            self.policy_by_arn(state, boundary)
        user = User(
            name=name,
            path=path,
            id=self.new_id(state, "AIDA"),
            arn=self.arn(state, "user", path, name),
            create_date=utcnow(),
            tags=tags,
            permissions_boundary=boundary or None,
        )
        state.users[name.lower()] = user
        return {"User": self.user_shape(user)}

    @operation("GetUser")
    def get_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = self.caller_user_name(ctx, params)
        if name is None:
            # The root identity has no user name or path.
            return {"User": {"UserId": ctx.account_id, "Arn": ctx.principal.arn,
                             "CreateDate": ROOT_CREATE_DATE}}
        return {"User": self.user_shape(self.user_named(state, name))}

    @operation("ListUsers")
    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        users = sorted(
            (u for u in state.users.values() if path_matches(u.path, params.get("PathPrefix"))),
            key=lambda u: u.name.lower(),
        )
        page, extra = paginate(users, params)
        return {"Users": [self.user_shape(u, full=False) for u in page], **extra}

    @operation("UpdateUser")
    def update_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        user = self.user_named(state, params["UserName"])
        new_name = params.get("NewUserName") or user.name
        new_path = check_path(params.get("NewPath") or user.path)
        if new_name.lower() != user.name.lower() and new_name.lower() in state.users:
            raise already_exists(f"User with name {new_name} already exists.")
        old_name = user.name
        del state.users[old_name.lower()]
        user.name, user.path = new_name, new_path
        user.arn = self.arn(state, "user", new_path, new_name)
        state.users[new_name.lower()] = user
        for group in state.groups.values():
            group.members = [new_name if m == old_name else m for m in group.members]
        for key in state.access_keys.values():
            if key.user_name == old_name:
                key.user_name = new_name
                self._register_key(state, key)
        return {}

    @operation("DeleteUser")
    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        user = self.user_named(state, params["UserName"])
        if any(k.user_name == user.name for k in state.access_keys.values()):
            raise delete_conflict("Cannot delete entity, must delete access keys first.")
        self.check_no_policies(user)
        if any(user.name in g.members for g in state.groups.values()):
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        del state.users[user.name.lower()]
        return {}

    # -- tags ------------------------------------------------------------------------
    @operation("TagUser")
    def tag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self.user_named(self.state(ctx.account_id), params["UserName"])
        user.tags = merge_tags(user.tags, params["Tags"])
        return {}

    @operation("UntagUser")
    def untag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self.user_named(self.state(ctx.account_id), params["UserName"])
        user.tags = remove_tags(user.tags, params["TagKeys"])
        return {}

    @operation("ListUserTags")
    def list_user_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self.user_named(self.state(ctx.account_id), params["UserName"])
        page, extra = paginate(tag_list(user.tags), params)
        return {"Tags": page, **extra}

    # -- policies ----------------------------------------------------------------------
    @operation("AttachUserPolicy")
    def attach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "user", params["UserName"], params["PolicyArn"])

    @operation("DetachUserPolicy")
    def detach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "user", params["UserName"], params["PolicyArn"])

    @operation("ListAttachedUserPolicies")
    def list_attached_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "user", params["UserName"], params)

    @operation("PutUserPolicy")
    def put_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.put_inline(ctx, "user", params["UserName"], params)

    @operation("GetUserPolicy")
    def get_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "user", params["UserName"], params["PolicyName"])

    @operation("DeleteUserPolicy")
    def delete_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "user", params["UserName"], params["PolicyName"])

    @operation("ListUserPolicies")
    def list_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "user", params["UserName"], params)

    @operation("PutUserPermissionsBoundary")
    def put_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.set_boundary(ctx, "user", params["UserName"], params["PermissionsBoundary"])

    @operation("DeleteUserPermissionsBoundary")
    def delete_user_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.set_boundary(ctx, "user", params["UserName"], None)

    # -- access keys ---------------------------------------------------------------------
    def _register_key(self, state: IamState, key: AccessKey) -> None:
        """Make the key sign requests at once (or stop, when inactive)."""
        if key.user_name is None:
            principal = self.world.root
        else:
            principal = user_principal(state, self.user_named(state, key.user_name), key.access_key_id)
        cred = Credential(key.access_key_id, key.secret_access_key, principal)
        cred.active = key.status == "Active"
        self.world.credentials.add(cred)

    def _key_owner(self, ctx: RequestContext, state: IamState, params: dict[str, Any]) -> str | None:
        """The user whose keys an access-key call manages, as IAM spells the name; None for root's."""
        name = self.caller_user_name(ctx, params)
        return None if name is None else self.user_named(state, name).name

    def _key(self, state: IamState, key_id: str, user_name: str | None) -> AccessKey:
        key = state.access_keys.get(key_id)
        if key is None or key.user_name != user_name:
            raise no_such_entity(f"The Access Key with id {key_id} cannot be found.")
        return key

    def key_shape(self, key: AccessKey, secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"AccessKeyId": key.access_key_id, "Status": key.status,
                               "CreateDate": key.create_date}
        if key.user_name is not None:
            out["UserName"] = key.user_name
        if secret:
            out["SecretAccessKey"] = key.secret_access_key
        return out

    @operation("CreateAccessKey")
    def create_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = self._key_owner(ctx, state, params)
        if sum(k.user_name == name for k in state.access_keys.values()) >= MAX_ACCESS_KEYS:
            raise limit_exceeded(f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}")
        key_id = aws_unique_id("AKIA")
        while self.world.credentials.get(key_id) is not None:
            key_id = aws_unique_id("AKIA")
        key = AccessKey(key_id, secret_access_key(), name, "Active", utcnow())
        state.access_keys[key_id] = key
        self._register_key(state, key)
        return {"AccessKey": self.key_shape(key, secret=True)}

    @operation("ListAccessKeys")
    def list_access_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = self._key_owner(ctx, state, params)
        keys = [k for k in state.access_keys.values() if k.user_name == name]
        page, extra = paginate(keys, params)
        return {"AccessKeyMetadata": [self.key_shape(k) for k in page], **extra}

    @operation("UpdateAccessKey")
    def update_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = self._key_owner(ctx, state, params)
        key = self._key(state, params["AccessKeyId"], name)
        key.status = params["Status"]
        self._register_key(state, key)
        return {}

    @operation("DeleteAccessKey")
    def delete_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = self._key_owner(ctx, state, params)
        key = self._key(state, params["AccessKeyId"], name)
        del state.access_keys[key.access_key_id]
        self.world.credentials.remove(key.access_key_id)
        return {}

    @operation("GetAccessKeyLastUsed")
    def get_access_key_last_used(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        key = state.access_keys.get(params["AccessKeyId"])
        if key is None:
            raise AWSError("AccessDenied", "Access Denied", 403)
        out: dict[str, Any] = {"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
        if key.user_name is not None:
            out["UserName"] = key.user_name
        return out

