"""What a data plane reports about one cache's connections, for its metrics."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class ConnectionStats:
    accepted: int  # connections ever accepted (NewConnections counts the increase)
    current: int  # client connections open now (CurrConnections)
    throttled: int  # requests (proxy: chunks) held back by the ECPU maximum, ever (ThrottledCmds)
    # Commands cloudlet's own sampling ran on the primary (not the cache's ECPUs).
    admin_commands: int = 0
