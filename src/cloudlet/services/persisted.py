"""Which services' state is durable: service -> (what of its state, how it comes back to life).

The specs live next to the state classes they describe; a reviver (async, given the
provider) restarts what a restored state needs running (valkeys, function states). Each
is imported when its service's provider is built (core/providers.py), not before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cloudlet.core.store import PersistSpec

Reviver = Callable[[Any], Awaitable[None]]


def _iam() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.iam.model import PERSIST

    return PERSIST, None


def _ec2() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.ec2.model import PERSIST

    return PERSIST, None


def _elasticache() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.elasticache import restore
    from cloudlet.services.elasticache.state import PERSIST

    return PERSIST, restore.revive


def _lambda() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.lambda_ import restore
    from cloudlet.services.lambda_.models import PERSIST

    return PERSIST, restore.revive


def _logs() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.logs.state import PERSIST

    return PERSIST, None


def _cloudwatch() -> tuple[PersistSpec, Reviver | None]:
    from cloudlet.services.cloudwatch.state import PERSIST

    return PERSIST, None


SERVICES: dict[str, Callable[[], tuple[PersistSpec, Reviver | None]]] = {
    "iam": _iam,
    "ec2": _ec2,
    "elasticache": _elasticache,
    "lambda": _lambda,
    "logs": _logs,
    "cloudwatch": _cloudwatch,
}
