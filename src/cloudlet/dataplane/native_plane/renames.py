"""The commands a native cache's valkey knows under secret names, and ACL rules to match.

Serverless lacks whole commands (commands.NOT_OFFERED) and some subcommands of the
containers (commands.PARTIAL). Natively valkey's configuration renames each whole one
(`rename-command NAME SECRET`): it becomes unreachable (valkey answers "unknown command"
itself, and aborts a transaction on it). The containers keep their names: the cloudlet
module (`container NAME sub,sub,...`) makes every subcommand serverless lacks one valkey
cannot find. cloudlet's own admin connection sends the renamed commands by their secret
names (admin_name).

Secrets are derived from the cache's backend secret: stable across restarts (the ACL
file valkey reloads names them), unguessable to clients.
"""

from __future__ import annotations

import hashlib
import hmac

from cloudlet.dataplane.commands import NOT_OFFERED, PARTIAL

# Valkey's replication sends these by name (the replica to its primary): not renamed; the
# module refuses them to every client but cloudlet's admin.
REPLICATION = frozenset({b"PSYNC", b"SYNC", b"REPLCONF"})
CONTAINERS: tuple[str, ...] = tuple(sorted(n.decode() for n in PARTIAL))
WHOLE: tuple[str, ...] = tuple(sorted(n.decode() for n in NOT_OFFERED - REPLICATION))


def secret_name(secret: bytes, command: str) -> str:
    digest = hmac.new(secret, b"rename-command:" + command.upper().encode(), hashlib.sha256).hexdigest()
    return f"cloudlet-{command.lower()}-{digest[:24]}"


class Renames:
    """One cache's renamed commands: upper-case name -> secret name."""

    def __init__(self, secret: bytes) -> None:
        self.secret_of: dict[str, str] = {name: secret_name(secret, name) for name in WHOLE}
        self.secrets = frozenset(self.secret_of.values())

    def config_lines(self) -> list[str]:
        return [f"rename-command {name} {secret}" for name, secret in sorted(self.secret_of.items())]

    def admin_name(self, command: str) -> str:
        """What cloudlet's admin connection sends for COMMAND (its secret, or itself)."""
        return self.secret_of.get(command.upper(), command)

    def container_args(self) -> list[str]:
        """The module's `container NAME sub,sub,...` arguments, one triple per container."""
        args: list[str] = []
        for name in CONTAINERS:
            subs = ",".join(sorted(s.decode().lower() for s in PARTIAL[name.encode()]))
            args += ["container", name, subs]
        return args

    def acl_rules(self, rules: list[str]) -> list[str]:
        """A user's ACL rules for this valkey: a rule naming a whole renamed command is dropped
        (the command is unreachable under any name a client knows; valkey would refuse the rule)."""
        out: list[str] = []
        for rule in rules:
            if rule[:1] in "+-" and rule[1:2] != "@" and rule[1:].partition("|")[0].upper() in WHOLE:
                continue
            out.append(rule)
        return out

    def restrictable(self, table: dict[str, list[str]]) -> dict[str, list[str]]:
        """The part of valkey's command table the ACL restrictions still need to cover: commands
        neither renamed nor the module's own (cloudlet.*, which it refuses to clients itself)."""
        return {top: subs for top, subs in table.items()
                if top not in self.secrets and not top.startswith("cloudlet.")}
