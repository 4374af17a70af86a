"""Role operations: CRUD, trust policy, tags, attachments, inline policies, boundary."""

from __future__ import annotations

import json
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.policy.grammar import parse_policy_document
from cloudlet.services.iam.base import IamBase
from cloudlet.services.iam.common import (
    already_exists,
    check_document_size,
    check_path,
    decode_document,
    encode_document,
    merge_tags,
    paginate,
    path_matches,
    remove_tags,
    tag_list,
)
from cloudlet.services.iam.model import Role, utcnow

TRUST_POLICY_SIZE = 2048


def _check_max_session(value: Any) -> int:
    seconds = int(value)
    if not 3600 <= seconds <= 43200:
        raise AWSError(
            "ValidationError",
            f"1 validation error detected: Value '{seconds}' at 'maxSessionDuration' failed to satisfy "
            "constraint: Member must have value less than or equal to 43200",
            400,
        )
    return seconds


def _trust_text(raw: str) -> str:
    text = decode_document(raw)
    try:
        json.loads(text)
    except ValueError:
        # A trust policy that is not JSON gets its own wording (identity policies: "Syntax errors").
        raise AWSError("MalformedPolicyDocument", "This policy contains invalid Json", 400) from None
    parse_policy_document(text, "trust")
    check_document_size(text, TRUST_POLICY_SIZE, "ACLSizePerRole")
    return text


class RoleOps(IamBase):
    def role_shape(self, role: Role, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": role.path,
            "RoleName": role.name,
            "RoleId": role.id,
            "Arn": role.arn,
            "CreateDate": role.create_date,
            "AssumeRolePolicyDocument": encode_document(role.assume_role_policy_text),
            "MaxSessionDuration": role.max_session_duration,
        }
        if role.description is not None:
            out["Description"] = role.description
        if full:
            out.update(self.boundary_shape(role))
            out.update(self.tags_shape(role))
            out["RoleLastUsed"] = {}
        return out

    @operation("CreateRole")
    def create_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = params["RoleName"]
        path = check_path(params.get("Path"))
        if name.lower() in state.roles:
            raise already_exists(f"Role with name {name} already exists.")
        text = _trust_text(params["AssumeRolePolicyDocument"])
        tags = merge_tags({}, params.get("Tags"))
        boundary = params.get("PermissionsBoundary")
        if boundary:
            self.policy_by_arn(state, boundary)
        role = Role(
            name=name,
            path=path,
            id=self.new_id(state, "AROA"),
            arn=self.arn(state, "role", path, name),
            create_date=utcnow(),
            tags=tags,
            permissions_boundary=boundary or None,
            assume_role_policy_text=text,
            description=params.get("Description"),
            max_session_duration=_check_max_session(params.get("MaxSessionDuration", 3600)),
        )
        state.roles[name.lower()] = role
        shape = self.role_shape(role)
        # AWS's CreateRole answer has neither of these; GetRole and ListRoles do.
        shape.pop("RoleLastUsed")
        shape.pop("MaxSessionDuration")
        return {"Role": shape}

    @operation("GetRole")
    def get_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        return {"Role": self.role_shape(role)}

    @operation("ListRoles")
    def list_roles(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        roles = sorted(
            (r for r in state.roles.values() if path_matches(r.path, params.get("PathPrefix"))),
            key=lambda r: r.name.lower(),
        )
        page, extra = paginate(roles, params)
        return {"Roles": [self.role_shape(r, full=False) for r in page], **extra}

    @operation("UpdateRole")
    def update_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        if "MaxSessionDuration" in params:
            role.max_session_duration = _check_max_session(params["MaxSessionDuration"])
        if "Description" in params:
            role.description = params["Description"]
        return {}

    @operation("UpdateRoleDescription")
    def update_role_description(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        role.description = params["Description"]
        return {"Role": self.role_shape(role)}

    @operation("UpdateAssumeRolePolicy")
    def update_assume_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        role.assume_role_policy_text = _trust_text(params["PolicyDocument"])
        return {}

    @operation("DeleteRole")
    def delete_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        role = self.role_named(state, params["RoleName"])
        self.check_no_policies(role)
        del state.roles[role.name.lower()]
        return {}

    # -- tags ----------------------------------------------------------------------
    @operation("TagRole")
    def tag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        role.tags = merge_tags(role.tags, params["Tags"])
        return {}

    @operation("UntagRole")
    def untag_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        role.tags = remove_tags(role.tags, params["TagKeys"])
        return {}

    @operation("ListRoleTags")
    def list_role_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role = self.role_named(self.state(ctx.account_id), params["RoleName"])
        page, extra = paginate(tag_list(role.tags), params)
        return {"Tags": page, **extra}

    # -- policies ----------------------------------------------------------------------
    @operation("AttachRolePolicy")
    def attach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.attach(ctx, "role", params["RoleName"], params["PolicyArn"])

    @operation("DetachRolePolicy")
    def detach_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.detach(ctx, "role", params["RoleName"], params["PolicyArn"])

    @operation("ListAttachedRolePolicies")
    def list_attached_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_attached(ctx, "role", params["RoleName"], params)

    @operation("PutRolePolicy")
    def put_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.put_inline(ctx, "role", params["RoleName"], params)

    @operation("GetRolePolicy")
    def get_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.get_inline(ctx, "role", params["RoleName"], params["PolicyName"])

    @operation("DeleteRolePolicy")
    def delete_role_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.delete_inline(ctx, "role", params["RoleName"], params["PolicyName"])

    @operation("ListRolePolicies")
    def list_role_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.list_inline(ctx, "role", params["RoleName"], params)

    @operation("PutRolePermissionsBoundary")
    def put_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.set_boundary(ctx, "role", params["RoleName"], params["PermissionsBoundary"])

    @operation("DeleteRolePermissionsBoundary")
    def delete_role_permissions_boundary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.set_boundary(ctx, "role", params["RoleName"], None)

    @operation("ListInstanceProfilesForRole")
    def list_instance_profiles_for_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # cloudlet has no instance profiles, so no role is in one; the role must still exist.
        self.role_named(self.state(ctx.account_id), params["RoleName"])
        return {"InstanceProfiles": [], "IsTruncated": False}
