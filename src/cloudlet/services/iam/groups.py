"""Group operations: CRUD, membership, attached and inline group policies."""

from __future__ import annotations

from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.provider import operation
from cloudlet.services.iam.base import IamBase
from cloudlet.services.iam.common import (
    already_exists,
    check_path,
    delete_conflict,
    no_such_entity,
    paginate,
    path_matches,
)
from cloudlet.services.iam.model import Group, utcnow


class GroupOps(IamBase):
    @staticmethod
    def group_shape(group: Group) -> dict[str, Any]:
        return {
            "Path": group.path,
            "GroupName": group.name,
            "GroupId": group.id,
            "Arn": group.arn,
            "CreateDate": group.create_date,
        }

    @operation("CreateGroup")
    def create_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = params["GroupName"]
        path = check_path(params.get("Path"))
        if name.lower() in state.groups:
            raise already_exists(f"Group with name {name} already exists.")
        group = Group(name=name, path=path, id=self.new_id(state, "AGPA"),
                      arn=self.arn(state, "group", path, name), create_date=utcnow())
        state.groups[name.lower()] = group
        return {"Group": self.group_shape(group)}

    @operation("GetGroup")
    def get_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        group = self.group_named(state, params["GroupName"])
        users = [state.users[m.lower()] for m in group.members if m.lower() in state.users]
        page, extra = paginate(users, params)
        return {
            "Group": self.group_shape(group),
            "Users": [self.user_shape(u, full=False) for u in page],
            **extra,
        }

    @operation("ListGroups")
    def list_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        groups = sorted(
            (g for g in state.groups.values() if path_matches(g.path, params.get("PathPrefix"))),
            key=lambda g: g.name.lower(),
        )
        page, extra = paginate(groups, params)
        return {"Groups": [self.group_shape(g) for g in page], **extra}

    @operation("ListGroupsForUser")
    def list_groups_for_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        user = self.user_named(state, params["UserName"])
        groups = sorted((g for g in state.groups.values() if user.name in g.members),
                        key=lambda g: g.name.lower())
        page, extra = paginate(groups, params)
        return {"Groups": [self.group_shape(g) for g in page], **extra}

    @operation("DeleteGroup")
    def delete_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        group = self.group_named(state, params["GroupName"])
        if group.members:
            raise delete_conflict("Cannot delete entity, must remove users from group first.")
        self.check_no_policies(group)
        del state.groups[group.name.lower()]
        return {}

    @operation("AddUserToGroup")
    def add_user_to_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        group = self.group_named(state, params["GroupName"])
        user = self.user_named(state, params["UserName"])
        if user.name not in group.members:
            group.members.append(user.name)
        return {}

    @operation("RemoveUserFromGroup")
    def remove_user_from_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        group = self.group_named(state, params["GroupName"])
        user = self.user_named(state, params["UserName"])
        if user.name not in group.members:
            raise no_such_entity(f"The user with name {user.name} cannot be found.")
        group.members.remove(user.name)
        return {}

    @operation("AttachGroupPolicy")
    def attach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "group", params["GroupName"], params["PolicyArn"])

    @operation("DetachGroupPolicy")
    def detach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "group", params["GroupName"], params["PolicyArn"])

    @operation("ListAttachedGroupPolicies")
    def list_attached_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "group", params["GroupName"], params)

    @operation("PutGroupPolicy")
    def put_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.put_inline(ctx, "group", params["GroupName"], params)

    @operation("GetGroupPolicy")
    def get_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "group", params["GroupName"], params["PolicyName"])

    @operation("DeleteGroupPolicy")
    def delete_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "group", params["GroupName"], params["PolicyName"])

    @operation("ListGroupPolicies")
    def list_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "group", params["GroupName"], params)
