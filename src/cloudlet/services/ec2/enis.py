"""Network interfaces of functions in a VPC, as DescribeNetworkInterfaces shows them.

One requester-managed interface (type `lambda`) per function and subnet, with the
function's security groups and the address its connections are decided by
(reachability.interface_address), so a log line's ENI address is found here.
AWS shares one interface among functions with the same subnet and groups.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from cloudlet.services.ec2.defaults import stable_id
from cloudlet.services.ec2.model import Ec2State
from cloudlet.services.ec2.reachability import interface_address


@dataclasses.dataclass(frozen=True)
class Eni:
    id: str
    subnet_id: str
    vpc_id: str
    availability_zone: str
    availability_zone_id: str
    address: str
    group_ids: tuple[str, ...]
    function: str
    owner_id: str


def function_enis(state: Ec2State, account_id: str, region: str, function: str, subnet_ids: list[str],
                  group_ids: list[str]) -> list[Eni]:
    out = []
    for sid in subnet_ids:
        subnet = state.subnets.get(sid)
        if subnet is None:
            continue
        out.append(Eni(
            id=stable_id("eni", account_id, region, f"lambda:{function}/{sid}"), subnet_id=sid, vpc_id=subnet.vpc_id,
            availability_zone=subnet.availability_zone, availability_zone_id=subnet.availability_zone_id,
            address=interface_address(subnet, f"lambda:{function}"), group_ids=tuple(group_ids), function=function,
            owner_id=account_id,
        ))
    return out


def eni_shape(eni: Eni, state: Ec2State) -> dict[str, Any]:
    dns = f"ip-{eni.address.replace('.', '-')}.ec2.internal"
    return {
        "AvailabilityZone": eni.availability_zone,
        "AvailabilityZoneId": eni.availability_zone_id,
        "Description": f"AWS Lambda VPC ENI-{eni.function}",
        "Groups": [{"GroupId": g, "GroupName": state.security_groups[g].name}
                   for g in eni.group_ids if g in state.security_groups],
        "InterfaceType": "lambda",
        "Ipv6Addresses": [],
        "MacAddress": ":".join(eni.id[-12:][i:i + 2] for i in range(0, 12, 2)),
        "NetworkInterfaceId": eni.id,
        "OwnerId": eni.owner_id,
        "PrivateDnsName": dns,
        "PrivateIpAddress": eni.address,
        "PrivateIpAddresses": [{"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": eni.address}],
        "RequesterId": "560195319926",  # the Lambda service account that owns the attachment
        "RequesterManaged": True,
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": eni.subnet_id,
        "TagSet": [],
        "VpcId": eni.vpc_id,
    }


ENI_FILTERS: dict[str, Callable[[Eni], Iterable[str]]] = {
    "availability-zone": lambda e: [e.availability_zone],
    "description": lambda e: [f"AWS Lambda VPC ENI-{e.function}"],
    "group-id": lambda e: list(e.group_ids),
    "interface-type": lambda e: ["lambda"],
    "network-interface-id": lambda e: [e.id],
    "private-ip-address": lambda e: [e.address],
    "addresses.private-ip-address": lambda e: [e.address],
    "requester-managed": lambda e: ["true"],
    "status": lambda e: ["in-use"],
    "subnet-id": lambda e: [e.subnet_id],
    "vpc-id": lambda e: [e.vpc_id],
}
