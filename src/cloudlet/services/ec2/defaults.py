"""Every region's default VPC, built the same way on every run.

Ids are derived from (account, region) so one cloudlet gives the same ids across
restarts, as a real account's default VPC keeps its ids.
"""

from __future__ import annotations

import hashlib
import ipaddress
from typing import Any

from cloudlet.services.ec2.model import (
    AvailabilityZone,
    Ec2State,
    InternetGateway,
    RouteTable,
    SecurityGroup,
    Subnet,
    Vpc,
)

DEFAULT_VPC_CIDR = "172.31.0.0/16"
_DIRECTIONS = {
    "north": "n", "south": "s", "east": "e", "west": "w", "central": "c",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}
# Regions whose accounts see other than three AZs.
_AZ_LETTERS = {"us-east-1": "abcdef", "us-west-1": "ab"}


def region_code(region: str) -> str:
    """us-east-1 -> use1, ap-southeast-2 -> apse2 (the prefix of AZ ids)."""
    parts = region.split("-")
    if len(parts) < 3:
        return region.replace("-", "")
    area, *middle, number = parts
    return area + "".join(_DIRECTIONS.get(m, m[:1]) for m in middle) + number


# Zone names map to zone ids per account; us-east-1a/b as AWS answered one account
# (use1-az6, use1-az1), the rest of that region's ids in order after them.
_AZ_NUMBERS = {"us-east-1": (6, 1, 2, 4, 3, 5)}


def zones_of(region: str) -> list[AvailabilityZone]:
    letters = _AZ_LETTERS.get(region, "abc")
    numbers = _AZ_NUMBERS.get(region, range(1, len(letters) + 1))
    code = region_code(region)
    return [AvailabilityZone(f"{region}{ch}", f"{code}-az{n}", region) for ch, n in zip(letters, numbers, strict=True)]


def stable_id(prefix: str, account_id: str, region: str, what: str) -> str:
    digest = hashlib.sha256(f"{account_id}/{region}/{what}".encode()).hexdigest()
    return f"{prefix}-{digest[:17]}"


def default_state(account_id: str, region: str) -> Ec2State:
    state = Ec2State(account_id, region, zones=zones_of(region))
    vpc = Vpc(
        id=stable_id("vpc", account_id, region, "default-vpc"),
        cidr_block=DEFAULT_VPC_CIDR,
        is_default=True,
        owner_id=account_id,
        region=region,
        dhcp_options_id=stable_id("dopt", account_id, region, "default-dhcp"),
        main_route_table_id=stable_id("rtb", account_id, region, "default-main-rtb"),
        cidr_association_id=stable_id("vpc-cidr-assoc", account_id, region, "default-cidr"),
    )
    state.vpcs[vpc.id] = vpc
    state.default_vpc_id = vpc.id
    blocks = ipaddress.ip_network(DEFAULT_VPC_CIDR).subnets(new_prefix=20)
    for zone, block in zip(state.zones, blocks, strict=False):
        subnet = Subnet(
            id=stable_id("subnet", account_id, region, f"default-{zone.name}"),
            vpc_id=vpc.id,
            availability_zone=zone.name,
            availability_zone_id=zone.zone_id,
            cidr_block=str(block),
            default_for_az=True,
            owner_id=account_id,
            region=region,
        )
        state.subnets[subnet.id] = subnet
    igw = InternetGateway(stable_id("igw", account_id, region, "default-igw"), account_id, vpc_id=vpc.id)
    state.internet_gateways[igw.id] = igw
    table = RouteTable(id=vpc.main_route_table_id, vpc_id=vpc.id, owner_id=account_id, main=True,
                       main_association_id=stable_id("rtbassoc", account_id, region, "default-main"),
                       routes=[{"DestinationCidrBlock": vpc.cidr_block, "GatewayId": "local",
                                "Origin": "CreateRouteTable", "State": "active"},
                               {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw.id,
                                "Origin": "CreateRoute", "State": "active"}])
    state.route_tables[table.id] = table
    sg_id = stable_id("sg", account_id, region, "default-sg")
    state.security_groups[sg_id] = default_security_group(sg_id, vpc, account_id, region)
    return state


def default_security_group(sg_id: str, vpc: Vpc, account_id: str, region: str) -> SecurityGroup:
    """A VPC's `default` group: all traffic from itself in, everything out."""
    return SecurityGroup(
        id=sg_id,
        vpc_id=vpc.id,
        name="default",
        description="default VPC security group",
        owner_id=account_id,
        region=region,
        ingress=[{"IpProtocol": "-1", "IpRanges": [], "Ipv6Ranges": [], "PrefixListIds": [],
                  "UserIdGroupPairs": [{"UserId": account_id, "GroupId": sg_id}]}],
        egress=allow_all_egress(),
    )


def allow_all_egress() -> list[dict[str, Any]]:
    """The outbound rule every new security group starts with (a fresh list: groups' rules change apart)."""
    return [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [],
             "PrefixListIds": [], "UserIdGroupPairs": []}]
