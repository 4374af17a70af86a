"""May a caller (or a service such as Lambda) assume a role? The role's trust policy decides.

A trust policy naming the caller itself (user ARN, session ARN, role) or the
service grants on its own within the account. Naming the account (root or
account id) only delegates: the caller's own identity-based policies must also
allow sts:AssumeRole on the role, except for the account's root, which its
account always allows. Callers from another account always need both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import Principal
from cloudlet.policy.authorizer import denial_message
from cloudlet.policy.context_keys import lower_keys, request_keys, resource_tag_keys
from cloudlet.policy.engine import evaluate, evaluate_trust
from cloudlet.policy.principals import Caller

if TYPE_CHECKING:
    from cloudlet.core.interfaces import RoleView
    from cloudlet.core.world import World


def tag_dict(tags: Any) -> dict[str, str]:
    """IAM tags as a dict, whether held as a dict or as [{"Key":..,"Value":..}]."""
    if not tags:
        return {}
    if isinstance(tags, Mapping):
        return {str(k): str(v) for k, v in tags.items()}
    return {str(t["Key"]): str(t.get("Value", "")) for t in tags}


def _document(role: RoleView) -> dict[str, Any]:
    return role.assume_role_policy


def _denied(caller: Principal | None, service: str | None, role_arn: str, why: str) -> str:
    who = caller.arn if caller is not None else service
    return f"User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}{why}"


def can_assume_role(
    world: World,
    caller: Principal | None,
    service_principal: str | None,
    role: RoleView,
    context: Mapping[str, Any] | None = None,
    action: str = "sts:AssumeRole",
) -> tuple[bool, str]:
    """(allowed, reason). REASON is AWS's AccessDenied wording when not allowed, else ""."""
    role_arn: str = role.arn
    extra = dict(context or {})
    resource_tags = tag_dict(role.tags)
    if caller is not None:
        who = Caller.of(caller)
        principal_tags: dict[str, str] = {}
        policies = None
        if not caller.is_root:
            policies = world.iam.principal_policies(caller)
            principal_tags = dict(policies.principal_tags)
        keys = request_keys(caller, None, principal_tags, resource_tags, extra=extra)
    elif service_principal:
        who = Caller.service_principal(service_principal)
        policies = None
        keys = lower_keys(extra)
        keys.update(resource_tag_keys(resource_tags))
    else:
        return False, "no caller"

    decision, kind = evaluate_trust(_document(role), action, role_arn, keys, who, source=f"trust:{role_arn}")
    if decision.kind == "explicit_deny":
        return False, _denied(caller, service_principal, role_arn, " with an explicit deny in a resource-based policy")
    if not decision.allowed:
        return False, _denied(caller, service_principal, role_arn, "")
    if caller is None:
        return True, ""
    same_account = caller.account_id == role.account_id
    needs_identity = kind == "account" or not same_account
    if not needs_identity:
        return True, ""
    if caller.is_root:
        return True, ""
    if policies is None:
        return False, _denied(caller, None, role_arn, " because no identity-based policy allows the sts:AssumeRole action")
    ident = evaluate(
        action,
        role_arn,
        keys,
        identity=policies.identity,
        boundary=policies.boundary,
        session=policies.session,
    )
    if ident.allowed:
        return True, ""
    return False, denial_message(caller.arn, "sts:AssumeRole", role_arn, ident, "sts")
