"""The small internal APIs services offer each other, as typing.Protocols.

Each service implements its interface structurally; `World` holds one typed
reference per interface (wired by `cloudlet.services.registry.build_world`), so a
renamed method is a type error, not a check that silently stops running.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.identity import Credential
from cloudlet.core.policies import PrincipalPolicies


class RoleView(Protocol):
    """What other services read of an IAM role."""

    @property
    def name(self) -> str: ...
    @property
    def arn(self) -> str: ...
    @property
    def role_id(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def assume_role_policy(self) -> dict[str, Any]: ...
    @property
    def max_session_duration(self) -> int: ...


class IdentityDirectory(Protocol):
    """IAM: roles, users and the policies that apply to a principal."""

    def role_by_arn(self, account_id: str, role_arn: str) -> RoleView | None: ...

    def user_exists(self, account_id: str, user_arn: str) -> bool: ...

    def principal_policies(self, principal: Principal) -> PrincipalPolicies: ...

    def managed_policy_document(self, account_id: str, policy_arn: str) -> dict[str, Any] | None: ...


class RoleSessions(Protocol):
    """STS: temporary credentials for a role session (the caller made the trust check)."""

    def issue_role_session(
        self,
        role_arn: str,
        session_name: str,
        duration_s: int = 3600,
        source_identity: str | None = None,
        session_policies: tuple[dict[str, Any], ...] = (),
        session_tags: tuple[tuple[str, str], ...] = (),
    ) -> Credential: ...


class VpcView(Protocol):
    @property
    def id(self) -> str: ...


class SubnetView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def vpc_id(self) -> str: ...
    @property
    def availability_zone(self) -> str: ...
    @property
    def default_for_az(self) -> bool: ...
    @property
    def cidr_block(self) -> str: ...


class SecurityGroupView(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def vpc_id(self) -> str: ...


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where a resource's network interface is: its subnets, its security groups, whose it is."""

    subnet_ids: tuple[str, ...]
    group_ids: tuple[str, ...]
    owner: str  # names the interface (its address is derived from it)


@dataclasses.dataclass(frozen=True)
class FlowVerdict:
    source_address: str  # the source interface's private address ("" when it has none)
    denial: str | None  # None: allowed; otherwise the missing rule or route


class NetworkDirectory(Protocol):
    """EC2: the VPCs, subnets and security groups other services are placed in."""

    def default_vpc(self, account_id: str, region: str) -> VpcView: ...

    def subnet(self, account_id: str, region: str, subnet_id: str) -> SubnetView | None: ...

    def security_group(self, account_id: str, region: str, group_id: str) -> SecurityGroupView | None: ...

    def subnets_of(self, account_id: str, region: str, vpc_id: str) -> Sequence[SubnetView]: ...

    def default_security_group(self, account_id: str, region: str, vpc_id: str) -> SecurityGroupView: ...

    def check_flow(self, account_id: str, region: str, source: Placement, destination: Placement,
                   port: int) -> FlowVerdict: ...

    def check_api_flow(self, account_id: str, region: str, source: Placement, service: str) -> FlowVerdict:
        """May an interface in a VPC reach SERVICE's API (through an interface endpoint)?"""


class LogSink(Protocol):
    """CloudWatch Logs: where functions' output lines go."""

    def append_events(
        self, account_id: str, region: str, group: str, stream: str, events: list[tuple[int, str]]
    ) -> None: ...


class MetricSink(Protocol):
    """CloudWatch metrics: where services emit their AWS/* metrics (an append; cheap on hot paths)."""

    def emit(
        self, account_id: str, region: str, namespace: str, name: str, dimensions: tuple[tuple[str, str], ...],
        value: float, unit: str = "None", timestamp: float | None = None, high_resolution: bool = False,
    ) -> None: ...

    def emit_log_event(self, account_id: str, region: str, message: str, timestamp_ms: int) -> None:
        """A function's log line: the metrics it declares in the embedded metric format, if any."""


class Authorizer(Protocol):
    """Answers: may PRINCIPAL do ACTION on RESOURCES with these context keys?

    Both methods raise AWSError (AccessDenied in the service's wording) when not
    and return None when allowed. Implemented by cloudlet.policy.authorizer.
    """

    def authorize_request(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        """Every API request, before its provider runs (action service:Operation)."""

    def check(
        self,
        principal: Principal,
        action: str,
        resources: list[str],
        context: dict[str, Any],
        service: str,
    ) -> None: ...
