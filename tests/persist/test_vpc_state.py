"""The VPC state survives a restart: rules with their ids, endpoints, route tables, NAT gateways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloudlet.config import Config


def _ec2(server: Any) -> Any:
    import boto3

    return boto3.client("ec2", endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=Config.access_key_id, aws_secret_access_key=Config.secret_access_key)


def test_vpc_state_survives_a_restart(tmp_path: Path, cloudlets: Any) -> None:
    server = cloudlets(tmp_path / "data")
    ec2 = _ec2(server)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.create_security_group(GroupName="fn", Description="d")["GroupId"]
    rule = ec2.authorize_security_group_ingress(GroupId=sg, IpProtocol="tcp", FromPort=6379, ToPort=6379,
                                                CidrIp="10.0.0.0/8")["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    endpoint = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface",
                                       ServiceName="com.amazonaws.us-east-1.sts")["VpcEndpoint"]["VpcEndpointId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=subnets[0], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    kept = ec2.associate_route_table(RouteTableId=table, SubnetId=subnets[1])["AssociationId"]
    dropped = ec2.associate_route_table(RouteTableId=table, SubnetId=subnets[2])["AssociationId"]
    ec2.disassociate_route_table(AssociationId=dropped)  # names the association only

    server.stop()
    ec2 = _ec2(cloudlets(tmp_path / "data"))
    rules = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule])["SecurityGroupRules"]
    assert rules[0]["CidrIpv4"] == "10.0.0.0/8" and rules[0]["GroupId"] == sg
    assert ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]["ServiceName"] \
        == "com.amazonaws.us-east-1.sts"
    assert ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] == "available"
    found = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]
    assert [a["RouteTableAssociationId"] for a in found["Associations"]] == [kept]
    assert any(r.get("NatGatewayId") == nat for r in found["Routes"])
