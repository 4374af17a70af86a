"""IamProvider: the IAM API plus the lookups other parts of cloudlet call.

It implements core.interfaces.IdentityDirectory for the rest of cloudlet:
principal_policies (for the policy engine), role_by_arn and user_exists.
"""

from __future__ import annotations

from typing import Any

from cloudlet.core.context import Principal
from cloudlet.core.policies import PolicyDoc, PrincipalPolicies
from cloudlet.services.iam.groups import GroupOps
from cloudlet.services.iam.model import Entity, Role, User, decoded_json
from cloudlet.services.iam.policies import PolicyOps
from cloudlet.services.iam.roles import RoleOps
from cloudlet.services.iam.users import UserOps


class IamProvider(RoleOps, PolicyOps, UserOps, GroupOps):
    service = "iam"

    # -- lookups for other providers ----------------------------------------------
    def role_by_arn(self, account_id: str, role_arn: str) -> Role | None:
        parts = role_arn.split(":", 5)
        if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
            return None
        owner = parts[4] or account_id
        name = parts[5].rsplit("/", 1)[-1]
        role = self.state(owner).roles.get(name.lower())
        if role is None or role.arn != role_arn:
            return None
        return role

    def user_exists(self, account_id: str, user_arn: str) -> bool:
        name = user_arn.rsplit("/", 1)[-1]
        user = self.state(account_id).users.get(name.lower())
        return user is not None and user.arn == user_arn

    def managed_policy_document(self, account_id: str, policy_arn: str) -> dict[str, Any] | None:
        policy = self.policy_or_none(self.state(account_id), policy_arn)
        return policy.default_document if policy else None

    # -- what the policy engine evaluates ---------------------------------------------
    def principal_policies(self, principal: Principal) -> PrincipalPolicies:
        session = [PolicyDoc("session", doc) for doc in principal.session_policies]
        session_tags = dict(principal.session_tags)
        entity: Entity | None = None
        if principal.type == "User":
            users = self.state(principal.account_id).users
            # By name first (a dict lookup, not a walk of every user), the id deciding; a renamed
            # user's older credentials name the old name: found by the walk.
            entity = users.get(principal.name.lower())
            if entity is None or entity.id != principal.user_id:
                entity = next((u for u in users.values() if u.id == principal.user_id), None)
        elif principal.type == "AssumedRole" and principal.role_arn:
            entity = self.role_by_arn(principal.account_id, principal.role_arn)
        if entity is None:
            return PrincipalPolicies(identity=[], session=session, principal_tags=session_tags)
        return PrincipalPolicies(
            identity=self._identity_docs(principal.account_id, entity),
            boundary=self._boundary_doc(principal.account_id, entity),
            session=session,
            principal_tags={**entity.tags, **session_tags},
        )

    def _identity_docs(self, account_id: str, entity: Entity) -> list[PolicyDoc]:
        state = self.state(account_id)
        sources: list[Entity] = [entity]
        if isinstance(entity, User):
            sources += [g for g in state.groups.values() if entity.name in g.members]
        docs: list[PolicyDoc] = []
        for source in sources:
            kind = type(source).__name__.lower()
            for arn in source.attached:
                policy = self.policy_or_none(state, arn)
                if policy is not None:
                    docs.append(PolicyDoc(arn, policy.default_document))
            for name, text in source.inline.items():
                docs.append(PolicyDoc(f"inline:{kind}/{source.name}/{name}", decoded_json(text)))
        return docs

    def _boundary_doc(self, account_id: str, entity: Entity) -> PolicyDoc | None:
        if not entity.permissions_boundary:
            return None
        policy = self.policy_or_none(self.state(account_id), entity.permissions_boundary)
        if policy is None:
            return None
        return PolicyDoc(policy.arn, policy.default_document)
