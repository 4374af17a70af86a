"""Route tables, internet gateways, Elastic IPs and NAT gateways: what a VPC's traffic to the
internet (and AWS's public API endpoints) takes.

A subnet uses the route table it is associated with, else its VPC's main table. A function
in a VPC has no public IP, so its way out is a route 0.0.0.0/0 to an available public NAT
gateway whose own subnet routes 0.0.0.0/0 to an internet gateway attached to the VPC;
`nat_denial` says whether that path exists, or what is missing.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
from typing import Any

from cloudlet.core.errors import AWSError
from cloudlet.core.ids import hex_id
from cloudlet.services.ec2.model import Ec2State, ElasticIp, InternetGateway, NatGateway, RouteTable, Vpc
from cloudlet.services.ec2.reachability import FlowEnd, interface_address
from cloudlet.services.ec2.shapes import tag_set

ANYWHERE = "0.0.0.0/0"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _tags(params: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", ""))
            for spec in params.get("TagSpecifications") or [] for t in spec.get("Tags") or []}


def local_route(vpc: Vpc) -> dict[str, Any]:
    return {"DestinationCidrBlock": vpc.cidr_block, "GatewayId": "local", "Origin": "CreateRouteTable",
            "State": "active"}


def main_table(vpc: Vpc, owner_id: str, table_id: str = "", association_id: str = "") -> RouteTable:
    """A VPC's main route table: the local route only (the default VPC's adds its internet gateway)."""
    return RouteTable(id=table_id or vpc.main_route_table_id or hex_id("rtb"), vpc_id=vpc.id, owner_id=owner_id,
                      main=True, main_association_id=association_id or hex_id("rtbassoc"),
                      routes=[local_route(vpc)])


# -- lookups ------------------------------------------------------------------------------------
def _table(state: Ec2State, table_id: str) -> RouteTable:
    table = state.route_tables.get(table_id)
    if table is None:
        raise AWSError("InvalidRouteTableID.NotFound", f"The routeTable ID '{table_id}' does not exist", 400)
    return table


def table_of_subnet(state: Ec2State, subnet_id: str) -> RouteTable | None:
    subnet = state.subnets.get(subnet_id)
    if subnet is None:
        return None
    for table in state.route_tables.values():
        if subnet_id in table.subnet_associations.values():
            return table
    return next((t for t in state.route_tables.values() if t.vpc_id == subnet.vpc_id and t.main), None)


def _default_route(table: RouteTable | None) -> dict[str, Any] | None:
    if table is None:
        return None
    return next((r for r in table.routes if r.get("DestinationCidrBlock") == ANYWHERE), None)


def nat_denial(state: Ec2State, source: FlowEnd) -> str | None:
    """None when source's subnet reaches the internet through a NAT gateway; else what is missing."""
    table = table_of_subnet(state, source.subnet_id)
    route = _default_route(table)
    where = f"route table {table.id if table else '(none)'} of {source.subnet_id}"
    if route is None:
        return f"the {where} has no route to 0.0.0.0/0"
    nat = state.nat_gateways.get(str(route.get("NatGatewayId", "")))
    if nat is None:
        target = route.get("GatewayId") or route.get("NatGatewayId")
        return (f"the {where} sends 0.0.0.0/0 to {target}, not to a NAT gateway (a function's ENI has no "
                "public IP, so an internet gateway does not carry it)")
    if nat.state != "available":
        return f"NAT gateway {nat.id} is {nat.state}"
    if nat.connectivity_type != "public":
        return f"NAT gateway {nat.id} is private (no route to the internet)"
    nat_route = _default_route(table_of_subnet(state, nat.subnet_id))
    igw = state.internet_gateways.get(str((nat_route or {}).get("GatewayId", "")))
    if igw is None or igw.vpc_id != nat.vpc_id:
        return f"the subnet {nat.subnet_id} of NAT gateway {nat.id} has no route to an attached internet gateway"
    return None


# -- route tables ---------------------------------------------------------------------------------
def create_route_table(state: Ec2State, params: dict[str, Any], owner_id: str) -> RouteTable:
    vpc = state.vpcs.get(params["VpcId"])
    if vpc is None:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{params['VpcId']}' does not exist", 400)
    table = RouteTable(id=hex_id("rtb"), vpc_id=vpc.id, owner_id=owner_id, routes=[local_route(vpc)],
                       tags=_tags(params))
    state.route_tables[table.id] = table
    return table


def delete_route_table(state: Ec2State, table_id: str) -> None:
    table = _table(state, table_id)
    if table.main or table.subnet_associations:
        raise AWSError("DependencyViolation", f"The routeTable '{table_id}' has dependencies and cannot be deleted.",
                       400)
    del state.route_tables[table_id]


def associate(state: Ec2State, table_id: str, subnet_id: str) -> str:
    table = _table(state, table_id)
    subnet = state.subnets.get(subnet_id)
    if subnet is None:
        raise AWSError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist", 400)
    if subnet.vpc_id != table.vpc_id:
        raise AWSError("InvalidParameterValue", f"Route table {table_id} and subnet {subnet_id} belong to "
                       "different networks", 400)
    for other in state.route_tables.values():
        for assoc, sid in other.subnet_associations.items():
            if sid == subnet_id:
                raise AWSError("Resource.AlreadyAssociated",
                               f"the specified association for route table {other.id} conflicts with an "
                               f"existing association {assoc}", 400)
    association_id = hex_id("rtbassoc")
    table.subnet_associations[association_id] = subnet_id
    return association_id


def disassociate(state: Ec2State, association_id: str) -> None:
    for table in state.route_tables.values():
        if association_id in table.subnet_associations:
            del table.subnet_associations[association_id]
            return
        if table.main_association_id == association_id:
            raise AWSError("InvalidParameterValue", f"cannot disassociate the main route table association "
                           f"{association_id}", 400)
    raise AWSError("InvalidAssociationID.NotFound", f"The association ID '{association_id}' does not exist", 400)


def create_route(state: Ec2State, params: dict[str, Any]) -> None:
    table = _table(state, params["RouteTableId"])
    cidr = params.get("DestinationCidrBlock")
    if not cidr:
        raise AWSError("MissingParameter", "The request must contain the parameter destinationCidrBlock", 400)
    try:
        cidr = str(ipaddress.IPv4Network(cidr, strict=False))
    except ValueError:
        raise AWSError("InvalidParameterValue", f"Value ({cidr}) for parameter destinationCidrBlock is invalid. "
                       "This is not a valid CIDR block.", 400) from None
    route: dict[str, Any] = {"DestinationCidrBlock": cidr, "Origin": "CreateRoute", "State": "active"}
    if params.get("NatGatewayId"):
        nat = state.nat_gateways.get(params["NatGatewayId"])
        if nat is None or nat.state == "deleted":
            raise AWSError("InvalidNatGatewayID.NotFound",
                           f"The natGateway ID '{params['NatGatewayId']}' does not exist", 400)
        route["NatGatewayId"] = nat.id
    elif params.get("GatewayId"):
        igw = state.internet_gateways.get(params["GatewayId"])
        if igw is None:
            raise AWSError("InvalidGatewayID.NotFound", f"The gateway ID '{params['GatewayId']}' does not exist", 400)
        if igw.vpc_id != table.vpc_id:
            raise AWSError("InvalidParameterValue", f"route table {table.id} and network gateway {igw.id} belong "
                           "to different networks", 400)
        route["GatewayId"] = igw.id
    else:
        raise AWSError("InvalidParameterCombination", "cloudlet routes to a NatGatewayId or an internet GatewayId",
                       400)
    if any(r.get("DestinationCidrBlock") == cidr for r in table.routes):
        raise AWSError("RouteAlreadyExists", f"The route identified by {cidr} already exists.", 400)
    table.routes.append(route)


def delete_route(state: Ec2State, params: dict[str, Any]) -> None:
    table = _table(state, params["RouteTableId"])
    cidr = params.get("DestinationCidrBlock", "")
    found = next((r for r in table.routes if r.get("DestinationCidrBlock") == cidr and r.get("GatewayId") != "local"),
                 None)
    if found is None:
        raise AWSError("InvalidRoute.NotFound", f"no route with destination-cidr-block {cidr} in route table "
                       f"{table.id}", 400)
    table.routes.remove(found)


def route_table_shape(table: RouteTable, state: Ec2State) -> dict[str, Any]:
    associations = []
    if table.main:
        associations.append({"Main": True, "RouteTableAssociationId": table.main_association_id,
                             "RouteTableId": table.id, "AssociationState": {"State": "associated"}})
    for assoc, subnet in table.subnet_associations.items():
        associations.append({"Main": False, "RouteTableAssociationId": assoc, "RouteTableId": table.id,
                             "SubnetId": subnet, "AssociationState": {"State": "associated"}})
    routes = []
    for r in table.routes:
        nat = state.nat_gateways.get(str(r.get("NatGatewayId", "")))
        gone = nat is not None and nat.state == "deleted"
        routes.append({**r, "State": "blackhole" if gone else r.get("State", "active")})
    return {"Associations": associations, "PropagatingVgws": [], "RouteTableId": table.id, "Routes": routes,
            "VpcId": table.vpc_id, "OwnerId": table.owner_id, **tag_set(table.tags)}


# -- internet gateways --------------------------------------------------------------------------------
def _igw(state: Ec2State, igw_id: str) -> InternetGateway:
    igw = state.internet_gateways.get(igw_id)
    if igw is None:
        raise AWSError("InvalidInternetGatewayID.NotFound", f"The internetGateway ID '{igw_id}' does not exist", 400)
    return igw


def create_igw(state: Ec2State, params: dict[str, Any], owner_id: str) -> InternetGateway:
    igw = InternetGateway(id=hex_id("igw"), owner_id=owner_id, tags=_tags(params))
    state.internet_gateways[igw.id] = igw
    return igw


def attach_igw(state: Ec2State, igw_id: str, vpc_id: str) -> None:
    igw = _igw(state, igw_id)
    if vpc_id not in state.vpcs:
        raise AWSError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist", 400)
    if igw.vpc_id:
        raise AWSError("Resource.AlreadyAssociated", f"resource {igw_id} is already attached to network {igw.vpc_id}",
                       400)
    if any(g.vpc_id == vpc_id for g in state.internet_gateways.values()):
        raise AWSError("InvalidParameterValue", f"Network {vpc_id} already has an internet gateway attached", 400)
    igw.vpc_id = vpc_id


def detach_igw(state: Ec2State, igw_id: str, vpc_id: str) -> None:
    igw = _igw(state, igw_id)
    if igw.vpc_id != vpc_id:
        raise AWSError("Gateway.NotAttached", f"resource {igw_id} is not attached to network {vpc_id}", 400)
    igw.vpc_id = ""


def delete_igw(state: Ec2State, igw_id: str) -> None:
    igw = _igw(state, igw_id)
    if igw.vpc_id:
        raise AWSError("DependencyViolation", f"The internetGateway '{igw_id}' has dependencies and cannot be deleted.",
                       400)
    del state.internet_gateways[igw_id]


def igw_shape(igw: InternetGateway) -> dict[str, Any]:
    attachments = [{"State": "available", "VpcId": igw.vpc_id}] if igw.vpc_id else []
    return {"Attachments": attachments, "InternetGatewayId": igw.id, "OwnerId": igw.owner_id, **tag_set(igw.tags)}


# -- Elastic IPs and NAT gateways -------------------------------------------------------------------------
def allocate_address(state: Ec2State, params: dict[str, Any]) -> ElasticIp:
    allocation_id = hex_id("eipalloc")
    digest = hashlib.sha256(allocation_id.encode()).digest()
    # An address of TEST-NET-3 (documentation range): cloudlet is offline, nothing routes it.
    address = ElasticIp(allocation_id, f"203.0.113.{1 + digest[0] % 254}", tags=_tags(params))
    state.addresses[allocation_id] = address
    return address


def release_address(state: Ec2State, allocation_id: str) -> None:
    address = state.addresses.get(allocation_id)
    if address is None:
        raise AWSError("InvalidAllocationID.NotFound", f"The allocation ID '{allocation_id}' does not exist", 400)
    if address.association_id:
        raise AWSError("InvalidIPAddress.InUse", "Address is in use.", 400)
    del state.addresses[allocation_id]


def create_nat(state: Ec2State, params: dict[str, Any]) -> NatGateway:
    subnet = state.subnets.get(params.get("SubnetId") or "")
    if subnet is None:
        raise AWSError("InvalidSubnetID.NotFound", f"The subnet ID '{params.get('SubnetId')}' does not exist", 400)
    kind = params.get("ConnectivityType") or "public"
    allocation = None
    if kind == "public":
        if not params.get("AllocationId"):
            raise AWSError("MissingParameter", "The request must contain the parameter AllocationId", 400)
        allocation = state.addresses.get(params["AllocationId"])
        if allocation is None:
            raise AWSError("InvalidAllocationID.NotFound",
                           f"The allocation ID '{params['AllocationId']}' does not exist", 400)
        if allocation.association_id:
            raise AWSError("InvalidParameterValue", f"Elastic IP address [{allocation.allocation_id}] is already "
                           "associated", 400)
    nat = NatGateway(id=hex_id("nat"), subnet_id=subnet.id, vpc_id=subnet.vpc_id, connectivity_type=kind,
                     private_ip=interface_address(subnet, "nat"), network_interface_id=hex_id("eni"),
                     created=_now(), tags=_tags(params))
    if allocation is not None:
        allocation.association_id = hex_id("eipassoc")
        nat.allocation_id, nat.public_ip = allocation.allocation_id, allocation.public_ip
    state.nat_gateways[nat.id] = nat
    return nat


def delete_nat(state: Ec2State, nat_id: str) -> None:
    nat = state.nat_gateways.get(nat_id)
    if nat is None or nat.state == "deleted":
        raise AWSError("NatGatewayNotFound", f"The Nat Gateway {nat_id} was not found", 400)
    nat.state, nat.deleted = "deleted", _now()
    address = state.addresses.get(nat.allocation_id)
    if address is not None:
        address.association_id = ""


def nat_shape(nat: NatGateway, pending: bool = False) -> dict[str, Any]:
    address: dict[str, Any] = {"NetworkInterfaceId": nat.network_interface_id, "PrivateIp": nat.private_ip,
                               "IsPrimary": True, "Status": "succeeded"}
    if nat.allocation_id:
        address.update(AllocationId=nat.allocation_id, PublicIp=nat.public_ip)
    out: dict[str, Any] = {
        "CreateTime": nat.created, "NatGatewayAddresses": [address], "NatGatewayId": nat.id,
        "State": "pending" if pending else nat.state, "SubnetId": nat.subnet_id, "VpcId": nat.vpc_id,
        "ConnectivityType": nat.connectivity_type, **tag_set(nat.tags),
    }
    if nat.deleted:
        out["DeleteTime"] = nat.deleted
    return out
