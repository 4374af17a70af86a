"""The commands a native cache's valkey knows under secret names, and ACL rules to match.

Serverless lacks whole commands (commands.NOT_OFFERED) and some subcommands of the
containers (commands.PARTIAL). Natively valkey's configuration renames each of them
(`rename-command NAME SECRET`): a whole command becomes unreachable (valkey answers
"unknown command" itself, and aborts a transaction on it); a container's real command
is reached only through the cloudlet module, which registers a container of the same
name and rewrites argv[0] to the secret when the subcommand is one serverless offers.
cloudlet's own admin connection uses the secret names (AdminNames).

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
        self.secret_of: dict[str, str] = {name: secret_name(secret, name) for name in (*WHOLE, *CONTAINERS)}
        self.secrets = frozenset(self.secret_of.values())

    def config_lines(self) -> list[str]:
        return [f"rename-command {name} {secret}" for name, secret in sorted(self.secret_of.items())]

    def admin_name(self, command: str) -> str:
        """What cloudlet's admin connection sends for COMMAND (its secret, or itself)."""
        return self.secret_of.get(command.upper(), command)

    def container_args(self) -> list[str]:
        """The module's `container NAME SECRET sub,sub,...` arguments, one triple per container."""
        args: list[str] = []
        for name in CONTAINERS:
            subs = ",".join(sorted(s.decode().lower() for s in PARTIAL[name.encode()]))
            args += ["container", name, self.secret_of[name], subs]
        return args

    def acl_rules(self, rules: list[str]) -> list[str]:
        """A user's ACL rules for this valkey: a rule naming a whole renamed command is dropped
        (the command is unreachable under any name a client knows); one naming a container is
        applied to the module's container and the real one under its secret name; one naming a
        container's subcommand to the real one's (the module's container has none)."""
        out: list[str] = []
        for rule in rules:
            if rule[:1] not in "+-" or rule[1:2] == "@":
                out.append(rule)
                continue
            top, bar, sub = rule[1:].partition("|")
            name = top.upper()
            if name in WHOLE:
                continue
            if name in CONTAINERS:
                out.append(f"{rule[0]}{self.secret_of[name]}{bar}{sub}")
                if bar:
                    continue  # the module's container has no subcommands of its own to name
            out.append(rule)
        return out

    def restrictable(self, table: dict[str, list[str]]) -> dict[str, list[str]]:
        """The part of valkey's command table the ACL restrictions still need to cover: commands
        neither renamed, nor the module's containers, nor the module's own (cloudlet.*)."""
        skip = self.secrets | {c.lower() for c in CONTAINERS}
        return {top: subs for top, subs in table.items() if top not in skip and not top.startswith("cloudlet.")}
