"""The cache's VPC placement, checked against cloudlet's EC2 (the default VPC).

Uses EC2's internal API (world.ec2, core.interfaces.NetworkDirectory).
"""

from __future__ import annotations

from cloudlet.core.errors import AWSError
from cloudlet.core.world import World

DEFAULT_SUBNET_COUNT = 3


def security_groups(world: World, account: str, region: str, ids: list[str] | None,
                    subnet_ids: list[str] | None = None) -> list[str]:
    """The groups asked for, or the default group of the VPC the subnets are in (the default VPC's)."""
    ec2 = world.ec2
    if ids:
        missing = [g for g in ids if ec2.security_group(account, region, g) is None]
        if missing:
            raise AWSError("InvalidParameterValue", f"The security group(s) {', '.join(missing)} do not exist.")
        return list(dict.fromkeys(ids))
    first = ec2.subnet(account, region, subnet_ids[0]) if subnet_ids else None
    vpc_id = first.vpc_id if first is not None else ec2.default_vpc(account, region).id
    return [ec2.default_security_group(account, region, vpc_id).id]


def subnets(world: World, account: str, region: str, ids: list[str] | None) -> list[str]:
    ec2 = world.ec2
    if ids:
        found = []
        for sid in dict.fromkeys(ids):
            subnet = ec2.subnet(account, region, sid)
            if subnet is None:
                raise AWSError("InvalidSubnet", f"The subnet ID '{sid}' does not exist")
            found.append(subnet)
        if len({s.vpc_id for s in found}) > 1:
            raise AWSError("InvalidParameterValue", "All subnets must belong to the same VPC.")
        return [s.id for s in found]
    vpc = ec2.default_vpc(account, region)
    defaults = sorted(ec2.subnets_of(account, region, vpc.id), key=lambda s: s.availability_zone)
    return [s.id for s in defaults if s.default_for_az][:DEFAULT_SUBNET_COUNT]
