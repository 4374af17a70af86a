"""The World: everything one running cloudlet holds, handed to every provider.

Providers reach each other only through here (world.provider("iam")), and the
data plane and Lambda host find credentials, DNS and the authorizer here too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from cloudlet.config import Config
from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.dns import HostsRegistry
from cloudlet.core.identity import Credential, CredentialRegistry
from cloudlet.core.persist import Persistence

if TYPE_CHECKING:
    from cloudlet.core.provider import Provider


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


class World:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.credentials = CredentialRegistry()
        self.hosts = HostsRegistry(config.data_dir / "hosts")
        self.providers: dict[str, Provider] = {}
        self.authorizer: Authorizer | None = None
        self.root = Principal(
            arn=f"arn:aws:iam::{config.account_id}:root",
            account_id=config.account_id,
            user_id=config.account_id,
            type="Account",
            name="root",
            access_key_id=config.access_key_id,
        )
        self.credentials.add(
            Credential(config.access_key_id, config.secret_access_key, self.root)
        )
        # The data dir's state file (or nothing when ephemeral); raises StateUnreadable.
        self.persistence = Persistence.open(config)
        # Free-form slots for long-lived components (dataplane, lambda host, ...).
        self.components: dict[str, Any] = {}

    def provider(self, service: str) -> Any:
        return self.providers[service]

    def add_provider(self, provider: Provider) -> None:
        self.providers[provider.service] = provider
