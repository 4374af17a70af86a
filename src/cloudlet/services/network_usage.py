"""Which subnets and security groups caches and functions' ENIs use (EC2's DependencyViolation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudlet.core.world import World


def network_ids_in_use(world: World, account_id: str, region: str) -> set[str]:
    """Ids of the subnets and security groups a cache or a function version of (account, region) is in."""
    from cloudlet.services.elasticache.base import ElastiCacheBase
    from cloudlet.services.lambda_.provider import LambdaProvider

    used: set[str] = set()
    for cache in world.provider_of(ElastiCacheBase).store.get(account_id, region).caches.values():
        used.update(cache.subnet_ids, cache.security_group_ids)
    for fn in world.provider_of(LambdaProvider).store.get(account_id, region).functions.values():
        for fv in (fn.latest, *fn.versions.values()):
            vpc = fv.vpc_config or {}
            used.update(vpc.get("SubnetIds") or (), vpc.get("SecurityGroupIds") or ())
    return used


def function_placements(world: World) -> list[tuple[str, str, str, list[str], list[str]]]:
    """(account, region, function name, subnet ids, group ids) of every function in a VPC ($LATEST)."""
    from cloudlet.services.lambda_.provider import LambdaProvider

    out = []
    for (account, region), state in world.provider_of(LambdaProvider).store.items():
        for fn in state.functions.values():
            vpc = fn.latest.vpc_config or {}
            if vpc.get("VpcId"):
                out.append((account, region, fn.name, list(vpc.get("SubnetIds") or []),
                            list(vpc.get("SecurityGroupIds") or [])))
    return out
