"""EC2 networking resources cloudlet models, one Ec2State per (account, region)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class Vpc:
    id: str
    cidr_block: str
    is_default: bool
    owner_id: str
    region: str
    dhcp_options_id: str
    main_route_table_id: str
    cidr_association_id: str
    state: str = "available"
    instance_tenancy: str = "default"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}:{self.owner_id}:vpc/{self.id}"


@dataclasses.dataclass
class Subnet:
    id: str
    vpc_id: str
    availability_zone: str
    availability_zone_id: str
    cidr_block: str
    default_for_az: bool
    owner_id: str
    region: str
    map_public_ip_on_launch: bool = True
    available_ip_address_count: int = 4091
    state: str = "available"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}:{self.owner_id}:subnet/{self.id}"


@dataclasses.dataclass
class SecurityGroup:
    id: str
    vpc_id: str
    name: str
    description: str
    owner_id: str
    region: str
    # Rules in the model's IpPermission shape (IpProtocol, IpRanges, UserIdGroupPairs, ...).
    ingress: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    egress: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    tags: dict[str, str] = dataclasses.field(default_factory=dict)
    # "ingress|tcp|6379|6379|cidr|group" -> sgr-... for rules authorized through the API.
    rule_ids: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def arn(self) -> str:
        return f"arn:aws:ec2:{self.region}:{self.owner_id}:security-group/{self.id}"


@dataclasses.dataclass
class VpcEndpoint:
    """An interface endpoint: AWS's API for one service, reachable from inside a VPC."""

    id: str
    vpc_id: str
    service_name: str  # com.amazonaws.REGION.SERVICE
    endpoint_type: str
    subnet_ids: list[str]
    group_ids: list[str]
    private_dns_enabled: bool
    policy_document: str
    owner_id: str
    region: str
    network_interface_ids: list[str] = dataclasses.field(default_factory=list)
    created: str = ""
    state: str = "available"
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class RouteTable:
    id: str
    vpc_id: str
    owner_id: str
    main: bool = False
    main_association_id: str = ""
    # Routes in the model's Route shape (DestinationCidrBlock, GatewayId | NatGatewayId, Origin, State).
    routes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    subnet_associations: dict[str, str] = dataclasses.field(default_factory=dict)  # association id -> subnet
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class InternetGateway:
    id: str
    owner_id: str
    vpc_id: str = ""  # the VPC it is attached to
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ElasticIp:
    allocation_id: str
    public_ip: str
    association_id: str = ""  # set while a NAT gateway holds it
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class NatGateway:
    id: str
    subnet_id: str
    vpc_id: str
    connectivity_type: str
    private_ip: str
    network_interface_id: str
    created: str
    allocation_id: str = ""
    public_ip: str = ""
    state: str = "available"
    deleted: str = ""
    tags: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class AvailabilityZone:
    name: str  # us-east-1a
    zone_id: str  # use1-az1
    region: str


@dataclasses.dataclass
class Ec2State:
    account_id: str
    region: str
    vpcs: dict[str, Vpc] = dataclasses.field(default_factory=dict)
    subnets: dict[str, Subnet] = dataclasses.field(default_factory=dict)
    security_groups: dict[str, SecurityGroup] = dataclasses.field(default_factory=dict)
    vpc_endpoints: dict[str, VpcEndpoint] = dataclasses.field(default_factory=dict)
    route_tables: dict[str, RouteTable] = dataclasses.field(default_factory=dict)
    internet_gateways: dict[str, InternetGateway] = dataclasses.field(default_factory=dict)
    addresses: dict[str, ElasticIp] = dataclasses.field(default_factory=dict)
    nat_gateways: dict[str, NatGateway] = dataclasses.field(default_factory=dict)
    zones: list[AvailabilityZone] = dataclasses.field(default_factory=list)
    default_vpc_id: str = ""


def _persist_spec() -> Any:
    from cloudlet.core.store import Collection, PersistSpec

    return PersistSpec(
        collections=(
            Collection("vpcs", Vpc),
            Collection("subnets", Subnet),
            Collection("security_groups", SecurityGroup),
            Collection("vpc_endpoints", VpcEndpoint),
            Collection("route_tables", RouteTable),
            Collection("internet_gateways", InternetGateway),
            Collection("addresses", ElasticIp),
            Collection("nat_gateways", NatGateway),
        ),
        scalars=("zones", "default_vpc_id"),
    )


PERSIST = _persist_spec()
