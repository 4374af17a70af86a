"""Who is calling (Principal) and what one API request is (RequestContext)."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

PrincipalType = Literal["Account", "User", "AssumedRole", "FederatedUser", "Service"]


@dataclasses.dataclass(frozen=True)
class Principal:
    """An authenticated identity, as SigV4 verification resolved it.

    arn:      arn:aws:iam::ACCT:root | ...:user/PATH/NAME | arn:aws:sts::ACCT:assumed-role/ROLE/SESSION
    user_id:  ACCT (root) | AIDA... (user) | AROA...:SESSION (assumed role)
    name:     user name, role session's role name, or "root"
    role_arn: the IAM role ARN for assumed-role sessions (policies come from it)
    """

    arn: str
    account_id: str
    user_id: str
    type: PrincipalType
    name: str
    access_key_id: str = ""
    role_arn: str | None = None
    session_name: str | None = None
    # Session policies given to AssumeRole / GetFederationToken (documents, already parsed).
    session_policies: tuple[dict[str, Any], ...] = ()
    session_tags: tuple[tuple[str, str], ...] = ()
    # Keys of session_tags that pass on to sessions this one assumes (role chaining).
    transitive_tag_keys: tuple[str, ...] = ()

    @property
    def is_root(self) -> bool:
        return self.type == "Account"


@dataclasses.dataclass
class RequestContext:
    """One API request after authentication and parsing."""

    service: str  # botocore service name: iam, sts, ec2, elasticache, lambda, logs
    operation: str  # model operation name, e.g. CreateRole
    region: str
    principal: Principal
    request_id: str
    source_ip: str = "127.0.0.1"
    secure_transport: bool = False
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def account_id(self) -> str:
        return self.principal.account_id
