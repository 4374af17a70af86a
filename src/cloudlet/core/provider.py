"""Base class of a service provider and the explicit table of its operations.

An operation handler is a method marked with ``@operation("CreateRole")``: it
takes (ctx, params), where params is the parsed input dict already validated
against the botocore model by the protocol layer, and returns the output dict
(model member names) or raises AWSError. It may be async. Only marked methods are
reachable from the API, so helpers can be named freely; an operation without a
handler answers as not implemented (501).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from aiohttp import web

    from cloudlet.core.context import RequestContext
    from cloudlet.core.world import World

Result = dict[str, Any]
Handler = Callable[["RequestContext", dict[str, Any]], "Result | Awaitable[Result]"]
F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__aws_operation__"


def operation(name: str) -> Callable[[F], F]:
    """Registers the decorated method as the handler of the AWS operation NAME."""

    def mark(fn: F) -> F:
        setattr(fn, _MARK, name)
        return fn

    return mark


@dataclasses.dataclass(frozen=True)
class InternalRoute:
    """A path of cloudlet's own a provider serves beside the AWS API (no SigV4).

    HANDLER gets the rest of the raw path after PREFIX."""

    method: str
    prefix: str
    handler: Callable[[str], web.StreamResponse]


@dataclasses.dataclass(frozen=True)
class HostRoute:
    """Requests whose Host header CLAIMS accepts, served by HANDLER instead of the AWS API
    (Lambda's function URLs)."""

    claims: Callable[[str], bool]
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]


def operation_of(handler: Handler) -> tuple[str, str]:
    """(service, AWS operation) of a bound handler method."""
    op = getattr(handler, _MARK, None)
    owner = getattr(handler, "__self__", None)
    if op is None or not isinstance(owner, Provider):
        raise TypeError(f"{handler!r} is not a provider's operation handler")
    return owner.service, op


class Provider:
    #: botocore service name, e.g. "iam".
    service: ClassVar[str] = ""
    #: AWS operation name -> method name, collected from @operation marks (mixins included).
    operations: ClassVar[Mapping[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                op = getattr(value, _MARK, None)
                if op is not None:
                    if op in table and table[op] != attr:
                        raise TypeError(f"{cls.__name__}: {op} is handled by both {table[op]} and {attr}")
                    table[op] = attr
        cls.operations = table

    def __init__(self, world: World) -> None:
        self.world = world

    def handler_for(self, operation: str) -> Handler | None:
        attr = self.operations.get(operation)
        return None if attr is None else getattr(self, attr)  # type: ignore[no-any-return]

    # Lifecycle hooks the server calls; providers with background work override them.
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def internal_routes(self) -> list[InternalRoute]:
        return []

    def host_routes(self) -> list[HostRoute]:
        return []

    def health(self) -> str:
        return "running"

    def status_lines(self) -> list[str]:
        """Lines `cloudlet status` prints for this service (caches and their addresses)."""
        return []

    # What the authorizer asks of every service (no resource policies or tags by default).
    def authorization_resources(self, ctx: RequestContext, params: dict[str, Any], resources: list[str]) -> list[str]:
        """The ARNs a request is authorized on, given those the action table derived (RESOURCES)."""
        return resources

    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        """The resource-based policy document attached to ARN, if the service has them."""
        return None

    def resource_tags(self, arn: str) -> Mapping[str, str]:
        """Tags of the resource ARN (for aws:ResourceTag/*)."""
        return {}

    def condition_keys(self, ctx: RequestContext, params: dict[str, Any]) -> Mapping[str, Any]:
        """The service's own condition keys of a request (cloudwatch:namespace), lower-cased."""
        return {}
