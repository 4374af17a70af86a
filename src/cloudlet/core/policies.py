"""What the policy engine needs to know about a principal, as IAM supplies it."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class PolicyDoc:
    source: str  # policy ARN, or "inline:ENTITY/NAME" for inline policies
    document: dict[str, Any]  # parsed JSON document


@dataclasses.dataclass
class PrincipalPolicies:
    identity: list[PolicyDoc]  # managed + inline + group policies of the user/role
    boundary: PolicyDoc | None = None  # permissions boundary, if set
    session: list[PolicyDoc] = dataclasses.field(default_factory=list)  # AssumeRole session policies
    principal_tags: dict[str, str] = dataclasses.field(default_factory=dict)
