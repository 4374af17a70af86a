"""EC2 through a real cloudlet: the three describe calls of tutorial step 2.3, as the CLI runs them."""

from __future__ import annotations

import botocore.exceptions
import pytest


def test_tutorial_step_2_3_describe_calls(aws_cli):
    vpc = aws_cli("ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true",
                  "--query", "Vpcs[0].VpcId", "--output", "text")
    assert vpc.startswith("vpc-")
    subnets = aws_cli("ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpc}",
                      "--query", "Subnets[].SubnetId", "--output", "text")
    ids = subnets.split("\t")
    assert len(ids) == 6 and all(i.startswith("subnet-") for i in ids)
    sg = aws_cli("ec2", "describe-security-groups", "--filters", f"Name=vpc-id,Values={vpc}",
                 "Name=group-name,Values=default", "--query", "SecurityGroups[0].GroupId", "--output", "text")
    assert sg.startswith("sg-")
    full = aws_cli("ec2", "describe-security-groups", "--group-ids", sg)["SecurityGroups"][0]
    assert full["GroupName"] == "default" and full["VpcId"] == vpc
    assert full["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == sg
    assert full["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_boto3_default_vpc_shapes_and_errors(boto3_client):
    ec2 = boto3_client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert vpc["CidrBlock"] == "172.31.0.0/16" and vpc["IsDefault"] is True and vpc["State"] == "available"
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == [f"us-east-1{c}" for c in "abcdef"]
    assert all(s["AvailableIpAddressCount"] == 4091 and s["MapPublicIpOnLaunch"] for s in subnets)
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert {z["ZoneId"] for z in zones} == {s["AvailabilityZoneId"] for s in subnets}
    attrs = ec2.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert attrs[0]["AttributeValues"][0]["AttributeValue"] == vpc["VpcId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert e.value.response["Error"]["Code"] == "InvalidVpcID.NotFound"
    assert e.value.response["Error"]["Message"] == "The vpc ID 'vpc-0123456789abcdef0' does not exist"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_subnets(Filters=[{"Name": "bogus", "Values": ["1"]}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    west = boto3_client("ec2", region_name="eu-west-1")
    assert len(west.describe_subnets()["Subnets"]) == 3


def test_describe_subnets_pages_with_max_results(boto3_client):
    ec2 = boto3_client("ec2")
    everything = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]]
    first = ec2.describe_subnets(MaxResults=5)
    assert len(first["Subnets"]) == 5 and first["NextToken"]
    rest = ec2.describe_subnets(MaxResults=5, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    assert [s["SubnetId"] for s in first["Subnets"] + rest["Subnets"]] == everything
    pages = ec2.get_paginator("describe_subnets").paginate(PaginationConfig={"PageSize": 5})
    assert [s["SubnetId"] for p in pages for s in p["Subnets"]] == everything
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ec2.describe_vpcs(NextToken=first["NextToken"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
