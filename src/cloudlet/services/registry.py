"""Builds a World with every provider up front and wires their typed interfaces."""

from __future__ import annotations

from cloudlet.config import Config
from cloudlet.core.provider import Provider
from cloudlet.core.world import World
from cloudlet.policy.authorizer import IamAuthorizer
from cloudlet.services.cloudwatch.provider import CloudWatchProvider
from cloudlet.services.ec2.provider import Ec2Provider
from cloudlet.services.elasticache.provider import ElastiCacheProvider
from cloudlet.services.iam.provider import IamProvider
from cloudlet.services.lambda_.provider import LambdaProvider
from cloudlet.services.logs.provider import LogsProvider
from cloudlet.services.sts.provider import StsProvider

# Every service cloudlet serves, in start order (stopped in reverse).
PROVIDER_CLASSES: tuple[type[Provider], ...] = (
    IamProvider, StsProvider, Ec2Provider, CloudWatchProvider, ElastiCacheProvider, LambdaProvider, LogsProvider,
)


def build_world(config: Config) -> World:
    world = World(config)
    iam, sts, ec2, logs = IamProvider(world), StsProvider(world), Ec2Provider(world), LogsProvider(world)
    metrics = CloudWatchProvider(world)
    # The interfaces are wired before the others are built: they may use them from their constructors.
    world.wire([iam, sts, ec2, logs, metrics], iam=iam, sts=sts, ec2=ec2, logs=logs, metrics=metrics,
               authorizer=IamAuthorizer(world))
    built = {p.service: p for p in (iam, sts, ec2, logs, metrics, ElastiCacheProvider(world), LambdaProvider(world))}
    world.providers = {cls.service: built[cls.service] for cls in PROVIDER_CLASSES}
    # The providers' stores and the credential registry write through to the data dir's state.
    world.persistence.attach(world)
    return world
