"""IamBase: state lookup, entity lookup, the generic attach/inline machinery and shapes."""

from __future__ import annotations

import secrets
import string
from typing import Any, Literal

from cloudlet.core.arn_shape import is_arn
from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.ids import aws_unique_id
from cloudlet.core.provider import Provider
from cloudlet.core.store import GLOBAL, AccountRegionStore
from cloudlet.policy.grammar import parse_policy_document
from cloudlet.services.iam.aws_managed import aws_managed_policies
from cloudlet.services.iam.common import (
    check_document_size,
    decode_document,
    delete_conflict,
    encode_document,
    limit_exceeded,
    no_such_entity,
    paginate,
    tag_list,
)
from cloudlet.services.iam.model import (
    Entity,
    Group,
    IamState,
    ManagedPolicy,
    Role,
    User,
)

Kind = Literal["role", "user", "group"]
_KIND_TITLE = {"role": "Role", "user": "User", "group": "Group"}
# Quotas (defaults of a fresh account).
MANAGED_PER_ENTITY = {"role": 10, "user": 10, "group": 10}
INLINE_SIZE = {"role": 10240, "user": 2048, "group": 5120}


class IamBase(Provider):
    service = "iam"

    def __init__(self, world: Any) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[IamState] = AccountRegionStore(lambda acct, _r: IamState(acct))

    # -- lookups -----------------------------------------------------------------
    def state(self, account_id: str) -> IamState:
        return self.store.get(account_id, GLOBAL)

    def new_id(self, state: IamState, prefix: str) -> str:
        taken = {e.id for e in state.entities()} | {p.id for p in state.policies.values()}
        while True:
            # Entity ids are 21 characters (the prefix and 17), one more than key ids.
            candidate = aws_unique_id(prefix) + secrets.choice(string.ascii_uppercase + "234567")
            if candidate not in taken:
                return candidate

    def arn(self, state: IamState, kind: str, path: str, name: str) -> str:
        return f"arn:aws:iam::{state.account_id}:{kind}{path}{name}"

    def find(self, state: IamState, kind: Kind, name: str) -> Entity:
        tables: dict[str, dict[str, Any]] = {"role": state.roles, "user": state.users, "group": state.groups}
        table = tables[kind]
        entity = table.get(name.lower())
        if entity is None:
            raise no_such_entity(f"The {kind} with name {name} cannot be found.")
        return entity  # type: ignore[no-any-return]

    def role_named(self, state: IamState, name: str) -> Role:
        role = self.find(state, "role", name)
        assert isinstance(role, Role)
        return role

    def user_named(self, state: IamState, name: str) -> User:
        user = self.find(state, "user", name)
        assert isinstance(user, User)
        return user

    def group_named(self, state: IamState, name: str) -> Group:
        group = self.find(state, "group", name)
        assert isinstance(group, Group)
        return group

    def policy_or_none(self, state: IamState, arn: str) -> ManagedPolicy | None:
        return state.policies.get(arn) or aws_managed_policies().get(arn)

    def policy_by_arn(self, state: IamState, arn: str) -> ManagedPolicy:
        policy = self.policy_or_none(state, arn)
        if policy is None:
            raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
        return policy

    def attachment_count(self, state: IamState, arn: str) -> int:
        return sum(arn in e.attached for e in state.entities())

    def boundary_count(self, state: IamState, arn: str) -> int:
        return sum(e.permissions_boundary == arn for e in state.entities())

    # -- managed policy attachments (roles, users, groups alike) -----------------
    def attach(self, ctx: RequestContext, kind: Kind, name: str, policy_arn: str) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        if not is_arn(policy_arn):
            # AWS's wording, two spaces included.
            raise AWSError("ValidationError", "Invalid ARN:  Could not be parsed!", 400)
        self.policy_by_arn(state, policy_arn)
        if policy_arn in entity.attached:
            return {}
        if len(entity.attached) >= MANAGED_PER_ENTITY[kind]:
            raise limit_exceeded(
                f"Cannot exceed quota for PoliciesPer{_KIND_TITLE[kind]}: {MANAGED_PER_ENTITY[kind]}"
            )
        entity.attached.append(policy_arn)
        return {}

    def detach(self, ctx: RequestContext, kind: Kind, name: str, policy_arn: str) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        if policy_arn not in entity.attached:
            raise no_such_entity(f"Policy {policy_arn} was not found.")
        entity.attached.remove(policy_arn)
        return {}

    def list_attached(self, ctx: RequestContext, kind: Kind, name: str, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        prefix = params.get("PathPrefix")
        rows = []
        for arn in entity.attached:
            policy = self.policy_or_none(state, arn)
            if policy is not None and (not prefix or policy.path.startswith(prefix)):
                rows.append({"PolicyName": policy.name, "PolicyArn": arn})
        page, extra = paginate(rows, params)
        return {"AttachedPolicies": page, **extra}

    # -- inline policies -----------------------------------------------------------
    def put_inline(self, ctx: RequestContext, kind: Kind, name: str, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        text = decode_document(params["PolicyDocument"])
        parse_policy_document(text, "inline")
        others = sum(len(t) for n, t in entity.inline.items() if n != params["PolicyName"])
        check_document_size(
            text + "x" * others, INLINE_SIZE[kind], f"{_KIND_TITLE[kind]}PolicySize"
        )
        entity.inline[params["PolicyName"]] = text
        return {}

    def get_inline(self, ctx: RequestContext, kind: Kind, name: str, policy_name: str) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        text = entity.inline.get(policy_name)
        if text is None:
            raise no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
        return {
            f"{_KIND_TITLE[kind]}Name": entity.name,
            "PolicyName": policy_name,
            "PolicyDocument": encode_document(text),
        }

    def delete_inline(self, ctx: RequestContext, kind: Kind, name: str, policy_name: str) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        if policy_name not in entity.inline:
            raise no_such_entity(f"The {kind} policy with name {policy_name} cannot be found.")
        del entity.inline[policy_name]
        return {}

    def list_inline(self, ctx: RequestContext, kind: Kind, name: str, params: dict[str, Any]) -> dict[str, Any]:
        entity = self.find(self.state(ctx.account_id), kind, name)
        page, extra = paginate(sorted(entity.inline), params)
        return {"PolicyNames": page, **extra}

    # -- shared checks -------------------------------------------------------------
    def check_no_policies(self, entity: Entity) -> None:
        if entity.attached:
            raise delete_conflict("Cannot delete entity, must detach all policies first.")
        if entity.inline:
            raise delete_conflict("Cannot delete entity, must delete policies first.")

    def set_boundary(self, ctx: RequestContext, kind: Kind, name: str, arn: str | None) -> dict[str, Any]:
        state = self.state(ctx.account_id)
        entity = self.find(state, kind, name)
        if arn is not None:
            self.policy_by_arn(state, arn)
        entity.permissions_boundary = arn
        return {}

    # -- shapes ----------------------------------------------------------------------
    @staticmethod
    def boundary_shape(entity: Entity) -> dict[str, Any]:
        if not entity.permissions_boundary:
            return {}
        return {
            "PermissionsBoundary": {
                "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                "PermissionsBoundaryArn": entity.permissions_boundary,
            }
        }

    @staticmethod
    def tags_shape(entity: Entity) -> dict[str, Any]:
        return {"Tags": tag_list(entity.tags)} if entity.tags else {}

    def user_shape(self, user: User, full: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Path": user.path,
            "UserName": user.name,
            "UserId": user.id,
            "Arn": user.arn,
            "CreateDate": user.create_date,
        }
        if full:
            out.update(self.boundary_shape(user))
            out.update(self.tags_shape(user))
        return out
