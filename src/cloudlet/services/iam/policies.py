"""Customer managed policies and their versions; AWS managed policies read-only."""

from __future__ import annotations

from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.provider import operation
from cloudlet.policy.grammar import parse_policy_document
from cloudlet.services.iam.aws_managed import aws_managed_policies
from cloudlet.services.iam.base import IamBase
from cloudlet.services.iam.common import (
    already_exists,
    check_document_size,
    check_path,
    decode_document,
    delete_conflict,
    encode_document,
    limit_exceeded,
    merge_tags,
    no_such_entity,
    paginate,
    path_matches,
    remove_tags,
    tag_list,
)
from cloudlet.services.iam.model import IamState, ManagedPolicy, PolicyVersion, utcnow

MANAGED_POLICY_SIZE = 6144
MAX_VERSIONS = 5


def _document(raw: str) -> str:
    text = decode_document(raw)
    parse_policy_document(text, "identity")
    check_document_size(text, MANAGED_POLICY_SIZE, "PolicySize")
    return text


class PolicyOps(IamBase):
    def policy_shape(self, state: IamState, policy: ManagedPolicy, listing: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "PolicyName": policy.name,
            "PolicyId": policy.id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": self.attachment_count(state, policy.arn),
            "PermissionsBoundaryUsageCount": self.boundary_count(state, policy.arn),
            "IsAttachable": True,
            "CreateDate": policy.create_date,
            "UpdateDate": policy.update_date,
        }
        # ListPolicies leaves descriptions out, as AWS does.
        if policy.description and not listing:
            out["Description"] = policy.description
        if policy.tags and not listing:
            out["Tags"] = tag_list(policy.tags)
        return out

    def customer_policy(self, state: IamState, arn: str) -> ManagedPolicy:
        policy = state.policies.get(arn)
        if policy is None:
            if arn in aws_managed_policies():
                raise AWSError(
                    "UnmodifiableEntity", f"Cannot modify an AWS managed policy: {arn}", 400
                )
            raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    @operation("CreatePolicy")
    def create_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        name = params["PolicyName"]
        path = check_path(params.get("Path"))
        arn = self.arn(state, "policy", path, name)
        if any(p.name.lower() == name.lower() for p in state.policies.values()):
            raise already_exists(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            )
        text = _document(params["PolicyDocument"])
        now = utcnow()
        policy = ManagedPolicy(
            name=name,
            path=path,
            id=self.new_id(state, "ANPA"),
            arn=arn,
            create_date=now,
            update_date=now,
            default_version_id="v1",
            versions={"v1": PolicyVersion("v1", text, now)},
            description=params.get("Description"),
            tags=merge_tags({}, params.get("Tags")),
        )
        state.policies[arn] = policy
        shape = self.policy_shape(state, policy)
        shape.pop("Description", None)
        return {"Policy": shape}

    @operation("GetPolicy")
    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.policy_or_none(state, params["PolicyArn"])
        if policy is None:
            raise no_such_entity(f"Policy {params['PolicyArn']} was not found.")  # GetPolicy's wording
        # GetPolicy lists Tags even when there are none (CreatePolicy does not): recorded against AWS.
        return {"Policy": {"Tags": [], **self.policy_shape(state, policy)}}

    @operation("ListPolicies")
    def list_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        scope = params.get("Scope", "All")
        candidates: list[ManagedPolicy] = []
        if scope in ("All", "AWS"):
            candidates += aws_managed_policies().values()
        if scope in ("All", "Local"):
            candidates += state.policies.values()
        usage = params.get("PolicyUsageFilter")
        rows = []
        for p in candidates:
            if not path_matches(p.path, params.get("PathPrefix")):
                continue
            attached = self.attachment_count(state, p.arn)
            if params.get("OnlyAttached") and attached == 0:
                continue
            if usage == "PermissionsPolicy" and attached == 0:
                continue
            if usage == "PermissionsBoundary" and self.boundary_count(state, p.arn) == 0:
                continue
            rows.append(p)
        rows.sort(key=lambda p: p.name.lower())
        page, extra = paginate(rows, params)
        return {"Policies": [self.policy_shape(state, p, listing=True) for p in page], **extra}

    @operation("DeletePolicy")
    def delete_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        if params["PolicyArn"] not in state.policies and params["PolicyArn"] not in aws_managed_policies():
            raise no_such_entity(f"Policy {params['PolicyArn']} was not found.")  # DeletePolicy's wording
        policy = self.customer_policy(state, params["PolicyArn"])
        if self.attachment_count(state, policy.arn) or self.boundary_count(state, policy.arn):
            raise delete_conflict("Cannot delete a policy attached to entities.")
        if len(policy.versions) > 1:
            raise delete_conflict("This policy has more than one version. Before you delete a policy, "
                                  "you must delete the policy's versions. The default version is "
                                  "deleted with the policy.")
        del state.policies[policy.arn]
        return {}

    # -- versions ------------------------------------------------------------------
    def version_shape(self, policy: ManagedPolicy, version: PolicyVersion, document: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "VersionId": version.version_id,
            "IsDefaultVersion": version.version_id == policy.default_version_id,
            "CreateDate": version.create_date,
        }
        if document:
            out["Document"] = encode_document(version.document_text)
        return out

    def _version(self, policy: ManagedPolicy, version_id: str) -> PolicyVersion:
        version = policy.versions.get(version_id)
        if version is None:
            raise no_such_entity(
                f"Policy {policy.arn} version {version_id} does not exist or is not attachable."
            )
        return version

    @operation("CreatePolicyVersion")
    def create_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.customer_policy(state, params["PolicyArn"])
        if len(policy.versions) >= MAX_VERSIONS:
            raise limit_exceeded(
                f"A managed policy can have up to {MAX_VERSIONS} versions. Before you create a new "
                "version, you must delete an existing version."
            )
        text = _document(params["PolicyDocument"])
        version = PolicyVersion(f"v{policy.next_version}", text, utcnow())
        policy.next_version += 1
        policy.versions[version.version_id] = version
        if params.get("SetAsDefault"):
            policy.default_version_id = version.version_id
            policy.update_date = version.create_date
        return {"PolicyVersion": self.version_shape(policy, version, document=False)}

    @operation("GetPolicyVersion")
    def get_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.policy_by_arn(state, params["PolicyArn"])
        version = self._version(policy, params["VersionId"])
        return {"PolicyVersion": self.version_shape(policy, version, document=True)}

    @operation("ListPolicyVersions")
    def list_policy_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.policy_by_arn(state, params["PolicyArn"])
        # Newest first, as AWS lists them.
        versions = sorted(policy.versions.values(), key=lambda v: int(v.version_id[1:]), reverse=True)
        page, extra = paginate(versions, params)
        return {"Versions": [self.version_shape(policy, v, document=False) for v in page], **extra}

    @operation("DeletePolicyVersion")
    def delete_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.customer_policy(state, params["PolicyArn"])
        version = self._version(policy, params["VersionId"])
        if version.version_id == policy.default_version_id:
            raise delete_conflict("Cannot delete the default version of a policy.")
        del policy.versions[version.version_id]
        return {}

    @operation("SetDefaultPolicyVersion")
    def set_default_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.customer_policy(state, params["PolicyArn"])
        version = self._version(policy, params["VersionId"])
        policy.default_version_id = version.version_id
        policy.update_date = utcnow()
        return {}

    # -- tags ------------------------------------------------------------------------
    @operation("TagPolicy")
    def tag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.customer_policy(self.state(ctx.account_id), params["PolicyArn"])
        policy.tags = merge_tags(policy.tags, params["Tags"])
        return {}

    @operation("UntagPolicy")
    def untag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.customer_policy(self.state(ctx.account_id), params["PolicyArn"])
        policy.tags = remove_tags(policy.tags, params["TagKeys"])
        return {}

    @operation("ListPolicyTags")
    def list_policy_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.customer_policy(self.state(ctx.account_id), params["PolicyArn"])
        page, extra = paginate(tag_list(policy.tags), params)
        return {"Tags": page, **extra}

    @operation("ListEntitiesForPolicy")
    def list_entities_for_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        policy = self.policy_by_arn(state, params["PolicyArn"])
        wanted = params.get("EntityFilter")
        usage = params.get("PolicyUsageFilter")
        prefix = params.get("PathPrefix")

        def uses(entity: Any) -> bool:
            if not path_matches(entity.path, prefix):
                return False
            as_policy = policy.arn in entity.attached
            as_boundary = entity.permissions_boundary == policy.arn
            if usage == "PermissionsPolicy":
                return as_policy
            if usage == "PermissionsBoundary":
                return as_boundary
            return as_policy or as_boundary

        out: dict[str, Any] = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": []}
        if wanted in (None, "Group"):
            out["PolicyGroups"] = [{"GroupName": g.name, "GroupId": g.id}
                                   for g in state.groups.values() if uses(g)]
        if wanted in (None, "User"):
            out["PolicyUsers"] = [{"UserName": u.name, "UserId": u.id} for u in state.users.values() if uses(u)]
        if wanted in (None, "Role"):
            out["PolicyRoles"] = [{"RoleName": r.name, "RoleId": r.id} for r in state.roles.values() if uses(r)]
        out["IsTruncated"] = False
        return out
