"""The World: everything one running cloudlet holds, handed to every provider.

`cloudlet.services.registry.build_world` makes one with every provider built up
front and wires the typed interfaces (core/interfaces.py) services use to reach
each other: `world.iam`, `world.sts`, `world.ec2`, `world.logs`, `world.metrics`, and the
`world.authorizer` that decides IAM for the API and the data plane.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from cloudlet.core.provider import Provider

P = TypeVar("P", bound="Provider")


class World:
    # Set by wire(); build_world() always calls it before anything runs.
    iam: IdentityDirectory
    sts: RoleSessions
    ec2: NetworkDirectory
    logs: LogSink
    metrics: MetricSink
    authorizer: Authorizer

    def __init__(self, config: Config) -> None:
        self.config = config
        self.credentials = CredentialRegistry()
        self.hosts = HostsRegistry(config.data_dir / "hosts")
        self.providers: dict[str, Provider] = {}
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

    def wire(
        self,
        providers: list[Provider],
        *,
        iam: IdentityDirectory,
        sts: RoleSessions,
        ec2: NetworkDirectory,
        logs: LogSink,
        metrics: MetricSink,
        authorizer: Authorizer,
    ) -> None:
        self.providers = {p.service: p for p in providers}
        self.iam, self.sts, self.ec2, self.logs, self.authorizer = iam, sts, ec2, logs, authorizer
        self.metrics = metrics

    def provider_of(self, cls: type[P]) -> P:
        """The provider of CLS's service, typed: for a service's own modules that need its whole class
        (others use the interfaces above). Every provider exists (build_world), so this never is None."""
        provider = self.providers[cls.service]
        if not isinstance(provider, cls):
            raise TypeError(f"the {cls.service} provider is a {type(provider).__name__}, not a {cls.__name__}")
        return provider
