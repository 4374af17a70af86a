"""Where a cache lives: its endpoint hostname and its own loopback address."""

from __future__ import annotations

import secrets
import socket
import string
import threading

from cloudlet.core.errors import AWSError
from cloudlet.services.elasticache.views import PORT, READER_PORT

# AWS's short region codes as they appear in serverless endpoint hostnames.
REGION_CODES: dict[str, str] = {
    "us-east-1": "use1",
    "us-east-2": "use2",
    "us-west-1": "usw1",
    "us-west-2": "usw2",
    "ca-central-1": "cac1",
    "eu-west-1": "euw1",
    "eu-west-2": "euw2",
    "eu-west-3": "euw3",
    "eu-central-1": "euc1",
    "eu-central-2": "euc2",
    "eu-north-1": "eun1",
    "eu-south-1": "eus1",
    "ap-south-1": "aps1",
    "ap-northeast-1": "apne1",
    "ap-northeast-2": "apne2",
    "ap-northeast-3": "apne3",
    "ap-southeast-1": "apse1",
    "ap-southeast-2": "apse2",
    "sa-east-1": "sae1",
    "me-south-1": "mes1",
    "af-south-1": "afs1",
}

_ALNUM = string.ascii_lowercase + string.digits


def region_code(region: str) -> str:
    """Known regions use AWS's code; others are abbreviated the same way (us-gov-west-1 -> usgw1)."""
    if region in REGION_CODES:
        return REGION_CODES[region]
    parts = region.split("-")
    return "".join(p[0] if not p.isdigit() else p for p in parts[:-1]) + parts[-1]


def endpoint_hostname(name: str, region: str) -> str:
    suffix = "".join(secrets.choice(_ALNUM) for _ in range(6))
    return f"{name}-{suffix}.serverless.{region_code(region)}.cache.amazonaws.com"


ENDPOINT_PORTS = (PORT, READER_PORT)


def _ports_free(address: str) -> bool:
    """Another cloudlet (or anything else) may already serve on this address: skip it then."""
    for port in ENDPOINT_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((address, port))
            except OSError:
                return False
    return True


class AddressPool:
    """Hands out addresses NET.x.y (x 0-255, y 1-254) from the loopback /16 given by cache_net."""

    def __init__(self, cache_net: str) -> None:
        self.net = cache_net
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def allocate(self) -> str:
        with self._lock:
            for x in range(256):
                for y in range(1, 255):
                    addr = f"{self.net}.{x}.{y}"
                    if addr not in self._used and _ports_free(addr):
                        self._used.add(addr)
                        return addr
        raise AWSError(
            "ServerlessCacheQuotaForCustomerExceededFault",
            "No loopback address is left for another serverless cache.",
        )

    def reserve(self, address: str) -> None:
        """Take ADDRESS (a restored cache's) out of the pool."""
        with self._lock:
            self._used.add(address)

    def release(self, address: str) -> None:
        with self._lock:
            self._used.discard(address)
