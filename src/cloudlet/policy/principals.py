"""Who a trust or resource-based policy's Principal / NotPrincipal names.

A match reports how it matched, because AWS treats them differently: naming the
caller itself (its user ARN, its role, its session ARN, a service) grants on its
own; naming the caller's account only delegates to the account, whose identity
policies must then allow the action too.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Literal

from cloudlet.core.context import Principal

MatchKind = Literal["exact", "role", "account", "service", "anyone"]
_ACCOUNT = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^arn:[\w-]+:iam::(\d{12}):root$")
# When one Principal element names the caller several ways, the most precise counts.
_PRECISION: dict[str, int] = {"anyone": 0, "account": 1, "role": 2, "service": 3, "exact": 4}


@dataclasses.dataclass(frozen=True)
class Caller:
    """The principal a trust/resource policy is asked about."""

    arn: str | None = None  # user ARN, assumed-role session ARN or root ARN
    account_id: str | None = None
    role_arn: str | None = None  # the role behind an assumed-role session
    service: str | None = None  # e.g. lambda.amazonaws.com
    federated: str | None = None
    is_root: bool = False

    @classmethod
    def of(cls, principal: Principal) -> Caller:
        return cls(
            arn=principal.arn,
            account_id=principal.account_id,
            role_arn=principal.role_arn,
            is_root=principal.is_root,
        )

    @classmethod
    def service_principal(cls, service: str) -> Caller:
        return cls(service=service)


def _ids(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _match_aws(pid: str, caller: Caller) -> MatchKind | None:
    if caller.service is not None or caller.federated is not None:
        return None
    if pid == "*":
        return "anyone"
    if _ACCOUNT.match(pid):
        return "account" if pid == caller.account_id else None
    root = _ROOT.match(pid)
    if root:
        return "account" if root.group(1) == caller.account_id else None
    if caller.arn and pid == caller.arn:
        return "exact"
    if caller.role_arn and pid == caller.role_arn:
        return "role"
    return None


def principal_match(spec: Any, caller: Caller) -> MatchKind | None:
    """How SPEC (a Principal element) names CALLER, or None when it does not."""
    if spec == "*":
        return "anyone"
    if not isinstance(spec, dict):
        return None
    best: MatchKind | None = None
    for kind, ids in spec.items():
        for pid in _ids(ids):
            got: MatchKind | None = None
            if kind == "AWS":
                got = _match_aws(pid, caller)
            elif kind == "Service" and caller.service is not None:
                got = "service" if pid.lower() == caller.service.lower() else None
            elif kind == "Federated" and caller.federated is not None:
                got = "exact" if pid == caller.federated else None
            if got is not None and (best is None or _PRECISION[got] > _PRECISION[best]):
                best = got
    return best


def not_principal_excludes(spec: Any, caller: Caller) -> bool:
    """NotPrincipal: does SPEC list the caller (so the statement does not apply)?

    Listing a role excludes its sessions; listing an account excludes the whole account.
    """
    return principal_match(spec, caller) is not None
