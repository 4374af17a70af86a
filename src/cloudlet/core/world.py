"""The World: everything one running cloudlet holds, handed to every provider.

`cloudlet.services.registry.build_world` makes one from the catalog of served services:
`world.providers` builds each provider at its first use (core/providers.py), and the
typed interfaces (core/interfaces.py) services use to reach each other resolve, at
their first use, to the provider or object that implements them: `world.iam`,
`world.sts`, `world.ec2`, `world.logs`, `world.metrics`, and the `world.authorizer`
that decides IAM for the API and the data plane.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

from cloudlet.config import Config
from cloudlet.core.context import Principal
from cloudlet.core.dns import HostsRegistry
from cloudlet.core.identity import Credential, CredentialRegistry
from cloudlet.core.interfaces import (
    Authorizer,
    IdentityDirectory,
    LogSink,
    MetricSink,
    NetworkDirectory,
    RoleSessions,
)
from cloudlet.core.persist import Persistence
from cloudlet.core.providers import Factory, Providers

if TYPE_CHECKING:
    from cloudlet.core.provider import Provider

P = TypeVar("P", bound="Provider")


@dataclasses.dataclass(frozen=True)
class Catalog:
    """The served services (services/registry.py): how to build each one's provider, in start
    order, and what implements each interface; nothing in it is imported until it is used."""

    providers: Mapping[str, Factory]
    iam: Callable[[World], IdentityDirectory]
    sts: Callable[[World], RoleSessions]
    ec2: Callable[[World], NetworkDirectory]
    logs: Callable[[World], LogSink]
    metrics: Callable[[World], MetricSink]
    authorizer: Callable[[World], Authorizer]


class World:
    def __init__(self, config: Config, catalog: Catalog) -> None:
        self.config = config
        self.credentials = CredentialRegistry()
        self.hosts = HostsRegistry(config.data_dir / "hosts")
        self.root = Principal(
            arn=f"arn:aws:iam::{config.account_id}:root",
            account_id=config.account_id,
            user_id=config.account_id,
            type="Account",
            name="root",
            access_key_id=config.access_key_id,
        )
        self.credentials.add(Credential(config.access_key_id, config.secret_access_key, self.root))
        # The data dir's state file (or nothing when ephemeral); raises StateUnreadable.
        self.persistence = Persistence.open(config)
        self.catalog = catalog
        self.providers = Providers(self, catalog.providers)

    # The interfaces, each resolved at its first use (a test may assign its own stand-in).
    @cached_property
    def iam(self) -> IdentityDirectory:
        return self.catalog.iam(self)

    @cached_property
    def sts(self) -> RoleSessions:
        return self.catalog.sts(self)

    @cached_property
    def ec2(self) -> NetworkDirectory:
        return self.catalog.ec2(self)

    @cached_property
    def logs(self) -> LogSink:
        return self.catalog.logs(self)

    @cached_property
    def metrics(self) -> MetricSink:
        return self.catalog.metrics(self)

    @cached_property
    def authorizer(self) -> Authorizer:
        return self.catalog.authorizer(self)

    def provider_of(self, cls: type[P]) -> P:
        """The provider of CLS's service, typed (built if it was not yet): for a service's own
        modules that need its whole class (others use the interfaces above)."""
        return self.providers.get_typed(cls)
