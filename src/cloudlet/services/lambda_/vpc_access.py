"""Whether a function's connection to a cache endpoint is allowed, from its VpcConfig and EC2.

As on AWS: a function without VpcConfig is outside every VPC and cannot reach a
cache's private endpoint; a function in a VPC reaches it when the cache is in
the same account, region and VPC and the security groups of both sides allow
the flow (ec2/reachability.py). The answer explains a refusal in one line for
the function's log, something AWS only offers through Reachability Analyzer.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from typing import TYPE_CHECKING

from cloudlet.core.interfaces import Placement

if TYPE_CHECKING:
    from cloudlet.core.world import World
    from cloudlet.services.elasticache.state import ServerlessCache
    from cloudlet.services.lambda_.models import FunctionVersion


# The SigV4 credential scope names the service: .../DATE/REGION/SERVICE/aws4_request
_SCOPE = re.compile(rb"Credential=[^/\s]+/\d{8}/[^/\s]+/([^/\s]+)/aws4_request", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class CacheTarget:
    """A cache endpoint a connection was addressed to, and where the cache lives."""

    account_id: str
    region: str
    cache: ServerlessCache


def find_cache(world: World, address: str) -> CacheTarget | None:
    """The cache whose endpoint is at address (a cache's address is unique on the host)."""
    from cloudlet.services.elasticache.base import ElastiCacheBase

    for (account, region), state in world.provider_of(ElastiCacheBase).store.items():
        for cache in state.caches.values():
            if cache.address == address:
                return CacheTarget(account, region, cache)
    return None


def cache_denial(world: World, fv: FunctionVersion, target: CacheTarget, port: int) -> str | None:
    """None when fv may connect to the cache on port; otherwise the log line that explains why not."""
    cache = target.cache
    flow = f"function {fv.name} to {cache.address}:{port} (cache {cache.name})"
    vpc = fv.vpc_config or {}
    if not vpc.get("VpcId"):
        return (f"cloudlet: connection from {flow} dropped: the function has no VpcConfig, so it runs "
                "outside every VPC and cannot reach the cache's private endpoint (add --vpc-config "
                "with subnets and security groups of the cache's VPC)")
    if (fv.account_id, fv.region) != (target.account_id, target.region):
        return f"cloudlet: connection from {flow} dropped: the cache is in another account or region"
    source = _placement(fv)
    destination = Placement(tuple(cache.subnet_ids), tuple(cache.security_group_ids), f"cache:{cache.name}")
    verdict = world.ec2.check_flow(fv.account_id, fv.region, source, destination, port)
    if verdict.denial is None:
        return None
    return (f"cloudlet: connection from function {fv.name} (ENI {verdict.source_address}) to "
            f"{cache.address}:{port} (cache {cache.name}) dropped: {verdict.denial}")


def _placement(fv: FunctionVersion) -> Placement:
    vpc = fv.vpc_config or {}
    return Placement(tuple(vpc.get("SubnetIds") or ()), tuple(vpc.get("SecurityGroupIds") or ()),
                     f"lambda:{fv.name}")


def api_gated(world: World, fv: FunctionVersion) -> bool:
    """Whether fv's connections to cloudlet's API are decided per request: it is in a VPC."""
    return world.config.vpc_egress == "aws" and bool((fv.vpc_config or {}).get("VpcId"))


def service_of(head: bytes) -> str:
    """The AWS service an HTTP request head is signed for ("" when unsigned)."""
    request_line = head.split(b"\r\n", 1)[0]
    found = _SCOPE.search(head) or _SCOPE.search(
        b"Credential=" + urllib.parse.unquote_to_bytes(request_line.partition(b"X-Amz-Credential=")[2]))
    return found.group(1).decode("ascii", "replace").lower() if found else ""


def api_denial(world: World, fv: FunctionVersion, head: bytes) -> str | None:
    """None when fv, in a VPC, reaches the API of the service head is for; else the log line why not."""
    service = service_of(head)
    verdict = world.ec2.check_api_flow(fv.account_id, fv.region, _placement(fv), service)
    if verdict.denial is None:
        return None
    return (f"cloudlet: connection from function {fv.name} (ENI {verdict.source_address}) to "
            f"{service or 'the'} API (https, port 443) dropped: {verdict.denial}")
