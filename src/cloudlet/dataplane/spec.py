"""What the ElastiCache control plane tells the data plane about one cache.

The control plane builds a CacheEndpoint and calls DataPlane.open_cache /
update_cache / close_cache; the data plane never reads control-plane state.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Literal

AuthType = Literal["iam", "password", "no-password"]

# Cloudlet's own valkey ACL user, for the control plane's admin connections.
ADMIN_USER = "cloudlet-admin"
# How long a reader-port connection waits for the read replica's start (first use) before it
# is answered as when valkey is unreachable.
READER_START_TIMEOUT_S = 10.0


@dataclasses.dataclass(frozen=True)
class CacheUser:
    user_id: str
    user_name: str  # the valkey ACL user name and the AUTH user name
    arn: str
    auth_type: AuthType
    passwords: tuple[str, ...] = ()
    access_string: str = ""
    status: str = "active"


@dataclasses.dataclass
class CacheEndpoint:
    name: str  # lowercase cache name (the IAM token's host)
    arn: str
    account_id: str
    region: str
    hostname: str  # NAME-xxxxxx.serverless.use1.cache.amazonaws.com
    address: str  # the cache's own loopback address, 127.x.y.z
    valkey_socket: Path  # unix socket of the cache's valkey-server
    backend_secret: bytes  # derives each ACL user's valkey password (backend_password)
    # The read replica's socket, behind the reader port; None: the reader port uses valkey_socket.
    reader_socket: Path | None = None
    # Awaited before a reader-port connection reaches reader_socket: the control plane starts
    # the replica at the reader's first use. Raises ConnectionError when it cannot be served.
    reader_ready: Callable[[], Coroutine[Any, Any, None]] | None = None
    port: int = 6379
    reader_port: int = 6380
    # None: no user group, the default user serves everyone (AWS's default).
    users: dict[str, CacheUser] | None = None
    # CacheUsageLimits.ECPUPerSecond.Maximum; None: not limited (throttle.py).
    ecpu_per_second_max: int | None = None
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


def backend_password(secret: bytes, user_name: str) -> str:
    """The password valkey knows user_name by; only cloudlet can compute it."""
    return hmac.new(secret, user_name.encode(), hashlib.sha256).hexdigest()
