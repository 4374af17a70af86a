"""Route tables, internet gateways, Elastic IPs and NAT gateways through a real cloudlet."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest


def _code(call: Any, **kw: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return str(e.value.response["Error"]["Code"])


def test_default_vpc_routes_to_its_internet_gateway(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    main = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                              {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    assert len(main) == 1
    routes = {r["DestinationCidrBlock"]: r for r in main[0]["Routes"]}
    assert routes["172.31.0.0/16"]["GatewayId"] == "local"
    igw = routes["0.0.0.0/0"]["GatewayId"]
    found = ec2.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"][0]
    assert found["Attachments"] == [{"State": "available", "VpcId": vpc}]


def test_custom_vpc_gateways_routes_and_nat(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.50.0.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    assert _code(ec2.attach_internet_gateway, InternetGatewayId=igw, VpcId=vpc) == "Resource.AlreadyAssociated"
    assert _code(ec2.delete_internet_gateway, InternetGatewayId=igw) == "DependencyViolation"
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]
    assert table["Routes"] == [{"DestinationCidrBlock": "10.50.0.0/16", "GatewayId": "local",
                                "Origin": "CreateRouteTable", "State": "active"}]
    rtb = table["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assert _code(ec2.create_route, RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0",
                 GatewayId=igw) == "RouteAlreadyExists"
    assoc = ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)["AssociationId"]
    assert _code(ec2.associate_route_table, RouteTableId=rtb, SubnetId=subnet) == "Resource.AlreadyAssociated"
    assert _code(ec2.delete_route_table, RouteTableId=rtb) == "DependencyViolation"

    assert _code(ec2.create_nat_gateway, SubnetId=subnet) == "MissingParameter"
    allocation = ec2.allocate_address(Domain="vpc")
    nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=allocation["AllocationId"])["NatGateway"]
    assert nat["State"] == "pending" and nat["NatGatewayAddresses"][0]["PublicIp"] == allocation["PublicIp"]
    assert _code(ec2.release_address, AllocationId=allocation["AllocationId"]) == "InvalidIPAddress.InUse"
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat["NatGatewayId"]])["NatGateways"][0]["State"] == "available"
    assert _code(ec2.delete_subnet, SubnetId=subnet) == "DependencyViolation"
    ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
    ec2.release_address(AllocationId=allocation["AllocationId"])

    ec2.delete_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0")
    assert _code(ec2.delete_route, RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0") == "InvalidRoute.NotFound"
    ec2.disassociate_route_table(AssociationId=assoc)
    ec2.delete_route_table(RouteTableId=rtb)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
