"""CreateVpc/DeleteVpc and CreateSubnet/DeleteSubnet with AWS's checks and defaults.

A new VPC gets its `default` security group, as on AWS. Deleting a VPC, subnet or
group still in use (by a subnet, a group, an endpoint, a cache or a function's ENI)
is refused with DependencyViolation; `usage` says who uses what.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.core.ids import hex_id
from cloudlet.services.ec2.defaults import default_security_group
from cloudlet.services.ec2.model import Ec2State, Subnet, Vpc
from cloudlet.services.ec2.routing import main_table

MAX_VPCS = 5  # AWS's default quota per region (the default VPC counts)

# (account, region) -> ids of subnets and security groups caches and functions use.
UsageProbe = Callable[[str, str], set[str]]


def _tags(params: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", ""))
            for spec in params.get("TagSpecifications") or [] for t in spec.get("Tags") or []}


def _cidr_block(params: dict[str, Any]) -> tuple[str, ipaddress.IPv4Network]:
    """CreateVpc's and CreateSubnet's CidrBlock, refused as EC2 refuses it."""
    cidr = params.get("CidrBlock")
    if not cidr:
        raise AWSError("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.", 400)
    try:
        return cidr, ipaddress.IPv4Network(cidr, strict=False)
    except ValueError:
        raise AWSError("InvalidParameterValue", f"Value ({cidr}) for parameter cidrBlock is invalid. "
                       "This is not a valid CIDR block.", 400) from None


def create_vpc(state: Ec2State, params: dict[str, Any], account_id: str, region: str) -> Vpc:
    cidr, network = _cidr_block(params)
    if not 16 <= network.prefixlen <= 28:
        raise AWSError("InvalidVpc.Range", f"The CIDR '{cidr}' is invalid.", 400)
    if len(state.vpcs) >= MAX_VPCS:
        raise AWSError("VpcLimitExceeded", "The maximum number of VPCs has been reached.", 400)
    default = state.vpcs[state.default_vpc_id]
    vpc = Vpc(
        id=hex_id("vpc"), cidr_block=str(network), is_default=False, owner_id=account_id, region=region,
        dhcp_options_id=default.dhcp_options_id, main_route_table_id=hex_id("rtb"),
        cidr_association_id=hex_id("vpc-cidr-assoc"), instance_tenancy=params.get("InstanceTenancy") or "default",
        tags=_tags(params),
    )
    state.vpcs[vpc.id] = vpc
    table = main_table(vpc, account_id)
    state.route_tables[table.id] = table
    group = default_security_group(hex_id("sg"), vpc, account_id, region)
    state.security_groups[group.id] = group
    return vpc


def delete_vpc(state: Ec2State, vpc_id: str) -> None:
    vpc = state.vpcs.get(vpc_id)
    if vpc is None:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist", 400)
    if vpc.is_default:
        # AWS lets an account delete its default VPC; cloudlet's services place resources in it.
        raise AWSError("OperationNotPermitted", "cloudlet does not delete the default VPC", 400)
    in_use = (any(s.vpc_id == vpc_id for s in state.subnets.values())
              or any(g.vpc_id == vpc_id and g.name != "default" for g in state.security_groups.values())
              or any(e.vpc_id == vpc_id for e in state.vpc_endpoints.values()))
    if in_use:
        raise AWSError("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be deleted.", 400)
    if any(g.vpc_id == vpc_id for g in state.internet_gateways.values()) or any(
            t.vpc_id == vpc_id and not t.main for t in state.route_tables.values()):
        raise AWSError("DependencyViolation", f"The vpc '{vpc_id}' has dependencies and cannot be deleted.", 400)
    for gid in [g.id for g in state.security_groups.values() if g.vpc_id == vpc_id]:
        del state.security_groups[gid]
    for tid in [t.id for t in state.route_tables.values() if t.vpc_id == vpc_id]:
        del state.route_tables[tid]
    del state.vpcs[vpc_id]


def create_subnet(state: Ec2State, params: dict[str, Any], account_id: str, region: str) -> Subnet:
    vpc_id = params["VpcId"]
    vpc = state.vpcs.get(vpc_id)
    if vpc is None:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist", 400)
    cidr, network = _cidr_block(params)
    if not 16 <= network.prefixlen <= 28 or not network.subnet_of(ipaddress.IPv4Network(vpc.cidr_block)):
        raise AWSError("InvalidSubnet.Range", f"The CIDR '{cidr}' is invalid.", 400)
    for other in state.subnets.values():
        if other.vpc_id == vpc_id and network.overlaps(ipaddress.IPv4Network(other.cidr_block)):
            raise AWSError("InvalidSubnet.Conflict", f"The CIDR '{cidr}' conflicts with another subnet", 400)
    zones = state.zones
    if params.get("AvailabilityZone"):
        zone = next((z for z in zones if z.name == params["AvailabilityZone"]), None)
    elif params.get("AvailabilityZoneId"):
        zone = next((z for z in zones if z.zone_id == params["AvailabilityZoneId"]), None)
    else:
        # AWS picks a zone; cloudlet the one with the fewest subnets of this VPC.
        counts = {z.name: sum(1 for s in state.subnets.values()
                              if s.vpc_id == vpc_id and s.availability_zone == z.name) for z in zones}
        zone = min(zones, key=lambda z: counts[z.name])
    if zone is None:
        wanted = params.get("AvailabilityZone") or params.get("AvailabilityZoneId")
        names = ", ".join(z.name for z in zones)
        raise AWSError("InvalidParameterValue", f"Value ({wanted}) for parameter availabilityZone is invalid. "
                       f"Subnets can currently only be created in the following availability zones: {names}.", 400)
    subnet = Subnet(
        id=hex_id("subnet"), vpc_id=vpc_id, availability_zone=zone.name, availability_zone_id=zone.zone_id,
        cidr_block=str(network), default_for_az=False, owner_id=account_id, region=region,
        map_public_ip_on_launch=False, available_ip_address_count=network.num_addresses - 5, tags=_tags(params),
    )
    state.subnets[subnet.id] = subnet
    return subnet


def delete_subnet(state: Ec2State, subnet_id: str, used: set[str]) -> None:
    if subnet_id not in state.subnets:
        raise AWSError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist", 400)
    if subnet_id in used or any(subnet_id in e.subnet_ids for e in state.vpc_endpoints.values()) or any(
            n.subnet_id == subnet_id and n.state != "deleted" for n in state.nat_gateways.values()):
        raise AWSError("DependencyViolation", f"The subnet '{subnet_id}' has dependencies and cannot be deleted.",
                       400)
    for table in state.route_tables.values():
        for assoc in [a for a, s in table.subnet_associations.items() if s == subnet_id]:
            del table.subnet_associations[assoc]
    del state.subnets[subnet_id]
