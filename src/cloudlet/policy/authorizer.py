"""IamAuthorizer: enforces IAM on every API request and on data-plane connects.

Implements the Authorizer protocol of cloudlet.core.interfaces. Root (type Account)
may do anything; sts:GetCallerIdentity needs no permission (as in AWS). Policies
come from IAM (world.iam.principal_policies); resource policies, tags and the
resources a request names beyond the action table from the service's provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.policies import PolicyDoc, PrincipalPolicies
from cloudlet.policy.actions import resolve
from cloudlet.policy.context_keys import request_keys
from cloudlet.policy.engine import Decision, evaluate
from cloudlet.policy.principals import Caller
from cloudlet.protocol.styles import style_for

if TYPE_CHECKING:
    from cloudlet.core.provider import Provider
    from cloudlet.core.world import World

# Actions AWS authorizes for every authenticated caller, and actions whose
# decision belongs to the role's trust policy (the STS provider asks trust.py,
# which consults identity policies only when the trust policy requires it).
ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})
DECIDED_BY_TRUST_POLICY = frozenset({"sts:assumerole"})

_DENY_WHERE = {
    "identity": "an identity-based policy",
    "resource": "a resource-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
}
_MISSING = {
    "identity": "identity-based policy",
    "resource": "resource-based policy",
    "boundary": "permissions boundary",
    "session": "session policy",
}


def denial_message(principal_arn: str, action: str, resource: str, decision: Decision, service: str) -> str:
    """AWS's AccessDenied wording for DECISION."""
    on = f" on resource: {resource}" if resource != "*" or style_for(service).denial_names_any_resource else ""
    if decision.kind == "explicit_deny":
        why = f" with an explicit deny in {_DENY_WHERE[decision.policy_type or 'identity']}"
    else:
        why = f" because no {_MISSING[decision.missing or 'identity']} allows the {action} action"
    return f"User: {principal_arn} is not authorized to perform: {action}{on}{why}"


def access_denied(service: str, message: str) -> AWSError:
    """The service's own AccessDenied error."""
    style = style_for(service)
    return AWSError(
        style.access_denied_code, style.access_denied_prefix + message, status=style.access_denied_status,
        sender_fault=True,
    )


def _request_tags(params: Mapping[str, Any]) -> dict[str, Any]:
    """aws:RequestTag/* and aws:TagKeys from a request's Tags member (list or map)."""
    tags = params.get("Tags", params.get("tags"))
    pairs: dict[str, str] = {}
    if isinstance(tags, Mapping):
        pairs = {str(k): str(v) for k, v in tags.items()}
    elif isinstance(tags, list):
        for t in tags:
            if isinstance(t, Mapping) and "Key" in t:
                pairs[str(t["Key"])] = str(t.get("Value", ""))
    if not pairs:
        return {}
    keys: dict[str, Any] = {f"aws:requesttag/{k.lower()}": v for k, v in pairs.items()}
    keys["aws:tagkeys"] = list(pairs)
    return keys


class IamAuthorizer:
    def __init__(self, world: World) -> None:
        self.world = world

    def _policies(self, principal: Principal) -> PrincipalPolicies:
        return self.world.iam.principal_policies(principal)

    def decide(
        self,
        principal: Principal,
        action: str,
        resources: list[str],
        context: Mapping[str, Any],
        policies: PrincipalPolicies | None = None,
        resource_policies: Mapping[str, list[PolicyDoc]] | None = None,
    ) -> tuple[Decision, str]:
        """The first non-allowing decision over RESOURCES (or the last allow), and its resource.

        RESOURCE_POLICIES: each resource's resource-based policy (where it has one)."""
        pols = policies if policies is not None else self._policies(principal)
        session = list(pols.session)
        if not session and principal.session_policies:
            session = [PolicyDoc(f"session:{principal.arn}#{i}", d) for i, d in enumerate(principal.session_policies)]
        caller = Caller.of(principal) if resource_policies else None
        decision = Decision(True, "allow")
        resource = "*"
        for resource in resources or ["*"]:
            decision = evaluate(
                action, resource, context, identity=pols.identity, boundary=pols.boundary, session=session,
                resource_policies=(resource_policies or {}).get(resource, ()), caller=caller,
            )
            if not decision.allowed:
                break
        return decision, resource

    def authorize_request(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        principal = ctx.principal
        if principal.is_root:
            return
        action, resources = resolve(ctx.service, ctx.operation, params, ctx.region, principal.account_id)
        provider = self.world.providers[ctx.service]
        resources = provider.authorization_resources(ctx, params, resources)
        if action.lower() in ALWAYS_ALLOWED or action.lower() in DECIDED_BY_TRUST_POLICY:
            return
        policies = self._policies(principal)
        keys = request_keys(principal, ctx, policies.principal_tags, self._resource_tags(provider, resources))
        keys.update(_request_tags(params))
        keys.update(provider.condition_keys(ctx, params))
        decision, resource = self.decide(
            principal, action, resources, keys, policies, self._resource_policies(provider, resources)
        )
        if not decision.allowed:
            raise access_denied(ctx.service, denial_message(principal.arn, action, resource, decision, ctx.service))

    @staticmethod
    def _resource_policies(provider: Provider, resources: list[str]) -> dict[str, list[PolicyDoc]]:
        """Resource-based policies of RESOURCES (where the service keeps them)."""
        out: dict[str, list[PolicyDoc]] = {}
        for arn in resources:
            if arn == "*":
                continue
            try:
                document = provider.resource_policy(arn)
            except AWSError:
                continue
            if document:
                out[arn] = [PolicyDoc(f"resource:{arn}", document)]
        return out

    @staticmethod
    def _resource_tags(provider: Provider, resources: list[str]) -> dict[str, str]:
        """Tags of the (single) resource, for aws:ResourceTag/*."""
        if len(resources) != 1 or resources[0] == "*":
            return {}
        try:
            return dict(provider.resource_tags(resources[0]))
        except AWSError:
            return {}

    def check(
        self,
        principal: Principal,
        action: str,
        resources: list[str],
        context: dict[str, Any],
        service: str,
        resource_policies: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        if principal.is_root:
            return
        policies = self._policies(principal)
        keys = request_keys(principal, None, policies.principal_tags, extra=context)
        documents = {arn: [PolicyDoc(f"resource:{arn}", d)] for arn, d in (resource_policies or {}).items()}
        decision, resource = self.decide(principal, action, resources, keys, policies, documents or None)
        if not decision.allowed:
            raise access_denied(service, denial_message(principal.arn, action, resource, decision, service))
