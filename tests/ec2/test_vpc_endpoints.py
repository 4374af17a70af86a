"""Interface VPC endpoints through a real cloudlet: shapes, defaults and AWS's refusals."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest


def _default_vpc(ec2: Any) -> tuple[str, list[dict[str, Any]], str]:
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "group-name", "Values": ["default"]}])
    return vpc, subnets, sg["SecurityGroups"][0]["GroupId"]


def _code(call: Any, **kw: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return str(e.value.response["Error"]["Code"])


def test_create_describe_delete(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    vpc, subnets, default_sg = _default_vpc(ec2)
    created = ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Interface",
                                      ServiceName="com.amazonaws.us-east-1.lambda",
                                      SubnetIds=[subnets[0]["SubnetId"]],
                                      TagSpecifications=[{"ResourceType": "vpc-endpoint",
                                                          "Tags": [{"Key": "k", "Value": "v"}]}])["VpcEndpoint"]
    eid = created["VpcEndpointId"]
    try:
        assert eid.startswith("vpce-") and created["State"] == "pending"
        assert created["Groups"] == [{"GroupId": default_sg, "GroupName": "default"}]
        assert created["PrivateDnsEnabled"] is True and len(created["NetworkInterfaceIds"]) == 1
        assert any(d["DnsName"] == "lambda.us-east-1.amazonaws.com" for d in created["DnsEntries"])
        found = ec2.describe_vpc_endpoints(Filters=[{"Name": "service-name",
                                                     "Values": ["com.amazonaws.us-east-1.lambda"]}])
        assert [e["VpcEndpointId"] for e in found["VpcEndpoints"]] == [eid]
        assert found["VpcEndpoints"][0]["State"] == "available"
        assert found["VpcEndpoints"][0]["Tags"] == [{"Key": "k", "Value": "v"}]

        # A second endpoint with private DNS for the same service in the same VPC conflicts.
        assert _code(ec2.create_vpc_endpoint, VpcId=vpc, VpcEndpointType="Interface",
                     ServiceName="com.amazonaws.us-east-1.lambda") == "InvalidParameter"
    finally:
        assert ec2.delete_vpc_endpoints(VpcEndpointIds=[eid])["Unsuccessful"] == []
    gone = ec2.delete_vpc_endpoints(VpcEndpointIds=[eid])["Unsuccessful"]
    assert gone[0]["ResourceId"] == eid and gone[0]["Error"]["Code"] == "InvalidVpcEndpoint.NotFound"
    assert _code(ec2.describe_vpc_endpoints, VpcEndpointIds=[eid]) == "InvalidVpcEndpointId.NotFound"


def test_refusals(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    vpc, subnets, _ = _default_vpc(ec2)
    assert _code(ec2.create_vpc_endpoint, VpcId=vpc, VpcEndpointType="Interface",
                 ServiceName="com.amazonaws.us-east-1.nosuch") == "InvalidServiceName"
    assert _code(ec2.create_vpc_endpoint, VpcId="vpc-0123456789abcdef0", VpcEndpointType="Interface",
                 ServiceName="com.amazonaws.us-east-1.sts") == "InvalidVpcID.NotFound"
    assert _code(ec2.create_vpc_endpoint, VpcId=vpc, VpcEndpointType="Interface",
                 ServiceName="com.amazonaws.us-east-1.sts",
                 SubnetIds=[subnets[0]["SubnetId"], "subnet-0123456789abcdef0"]) == "InvalidSubnetID.NotFound"
    assert _code(ec2.create_vpc_endpoint, VpcId=vpc, VpcEndpointType="Interface",
                 ServiceName="com.amazonaws.us-east-1.sts",
                 SecurityGroupIds=["sg-0123456789abcdef0"]) == "InvalidGroup.NotFound"
