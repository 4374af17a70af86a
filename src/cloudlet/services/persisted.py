"""Which services' state is durable: service -> (what of its state, how it comes back to life).

The specs live next to the state classes they describe; a reviver (async, given the
provider) restarts what a restored state needs running (valkeys, function states).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from cloudlet.core.store import PersistSpec
from cloudlet.services.cloudwatch.state import PERSIST as CLOUDWATCH
from cloudlet.services.ec2.model import PERSIST as EC2
from cloudlet.services.elasticache import restore as elasticache_restore
from cloudlet.services.elasticache.state import PERSIST as ELASTICACHE
from cloudlet.services.iam.model import PERSIST as IAM
from cloudlet.services.lambda_ import restore as lambda_restore
from cloudlet.services.lambda_.models import PERSIST as LAMBDA
from cloudlet.services.logs.state import PERSIST as LOGS

Reviver = Callable[[Any], Awaitable[None]]

SERVICES: dict[str, tuple[PersistSpec, Reviver | None]] = {
    "iam": (IAM, None),
    "ec2": (EC2, None),
    "elasticache": (ELASTICACHE, elasticache_restore.revive),
    "lambda": (LAMBDA, lambda_restore.revive),
    "logs": (LOGS, None),
    "cloudwatch": (CLOUDWATCH, None),
}
