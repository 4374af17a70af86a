"""ElastiCache RBAC access strings, checked and turned into Valkey ACL rules.

AWS accepts the ACL rule subset that does not touch credentials (passwords and
nopass are set through the user's authentication mode) or reset the user.
"""

from __future__ import annotations

import re

from cloudlet.core.errors import AWSError

CATEGORIES = frozenset(
    {
        "all", "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
        "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
        "blocking", "dangerous", "connection", "transaction", "scripting",
    }
)
_KEYWORDS = frozenset(
    {"on", "off", "allkeys", "resetkeys", "allchannels", "resetchannels", "allcommands", "nocommands"}
)
_COMMAND = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]*(\|[a-zA-Z0-9_.-]+)?$")
_KEY_PREFIXES = ("%RW~", "%R~", "%W~", "~")


def _bad(token: str) -> AWSError:
    return AWSError("InvalidParameterValue", f"Access string is invalid: unsupported rule '{token}'.")


def parse(access_string: str) -> list[str]:
    """-> the rules (tokens) of a valid access string, or InvalidParameterValue."""
    tokens = access_string.split()
    if not tokens:
        raise AWSError("InvalidParameterValue", "Access string must not be blank.")
    for tok in tokens:
        low = tok.lower()
        if low in _KEYWORDS:
            continue
        if any(tok.startswith(p) for p in _KEY_PREFIXES) or tok.startswith("&"):
            if tok.endswith("~") or tok == "&":
                raise _bad(tok)
            continue
        if tok[0] in "+-":
            body = tok[1:]
            if body.startswith("@"):
                if body[1:].lower() not in CATEGORIES:
                    raise _bad(tok)
                continue
            if _COMMAND.match(body):
                continue
        raise _bad(tok)
    return tokens

