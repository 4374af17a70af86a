"""The catalog of served services and build_world, which makes a World of them.

Nothing here imports a provider: each is imported and built at its service's first use
(core/providers.py), so a start pays only for the services it is asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from cloudlet.config import Config
from cloudlet.core.interfaces import (
    Authorizer,
    IdentityDirectory,
    LogSink,
    MetricSink,
    NetworkDirectory,
    RoleSessions,
)
from cloudlet.core.provider import Provider
from cloudlet.core.world import Catalog, World

# Every service cloudlet serves, in start order (stopped in reverse): (service, module, class).
PROVIDERS: tuple[tuple[str, str, str], ...] = (
    ("iam", "cloudlet.services.iam.provider", "IamProvider"),
    ("sts", "cloudlet.services.sts.provider", "StsProvider"),
    ("ec2", "cloudlet.services.ec2.provider", "Ec2Provider"),
    ("cloudwatch", "cloudlet.services.cloudwatch.provider", "CloudWatchProvider"),
    ("elasticache", "cloudlet.services.elasticache.provider", "ElastiCacheProvider"),
    ("lambda", "cloudlet.services.lambda_.provider", "LambdaProvider"),
    ("logs", "cloudlet.services.logs.provider", "LogsProvider"),
)
SERVICES: tuple[str, ...] = tuple(service for service, _, _ in PROVIDERS)


def provider_class(service: str) -> type[Provider]:
    """SERVICE's provider class (importing its module)."""
    _, module, name = next(p for p in PROVIDERS if p[0] == service)
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Provider) and cls.service == service):
        raise TypeError(f"{module}.{name} is not the {service} provider")
    return cls


def provider_classes() -> list[type[Provider]]:
    """Every provider class, in start order (imports them all: tests and tools, not start-up)."""
    return [provider_class(s) for s in SERVICES]


def _factory(service: str) -> Callable[[World], Provider]:
    def build(world: World) -> Provider:
        return provider_class(service)(world)

    return build


# The interfaces: which provider (or object) implements each, typed.
def _iam(world: World) -> IdentityDirectory:
    from cloudlet.services.iam.provider import IamProvider

    return world.provider_of(IamProvider)


def _sts(world: World) -> RoleSessions:
    from cloudlet.services.sts.provider import StsProvider

    return world.provider_of(StsProvider)


def _ec2(world: World) -> NetworkDirectory:
    from cloudlet.services.ec2.provider import Ec2Provider

    return world.provider_of(Ec2Provider)


def _logs(world: World) -> LogSink:
    from cloudlet.services.logs.provider import LogsProvider

    return world.provider_of(LogsProvider)


def _metrics(world: World) -> MetricSink:
    from cloudlet.services.cloudwatch.provider import CloudWatchProvider

    return world.provider_of(CloudWatchProvider)


def _authorizer(world: World) -> Authorizer:
    from cloudlet.policy.authorizer import IamAuthorizer

    return IamAuthorizer(world)


CATALOG = Catalog(
    providers={service: _factory(service) for service in SERVICES},
    iam=_iam, sts=_sts, ec2=_ec2, logs=_logs, metrics=_metrics, authorizer=_authorizer,
)


def build_world(config: Config) -> World:
    world = World(config, CATALOG)
    # The credential registry writes through to the data dir's state; each provider's store
    # is bound (and its rows loaded) when it is built.
    world.persistence.attach(world)
    return world
