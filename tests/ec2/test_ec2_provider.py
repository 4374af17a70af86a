"""EC2 default VPC and filter semantics, called directly (no server)."""

from __future__ import annotations

import pytest
from provider_world import call

from cloudlet.core.errors import AWSError
from cloudlet.services.ec2.provider import Ec2Provider

ACCT = "123456789012"


def test_default_vpc_layout_us_east_1(ec2, root_ctx):
    vpcs = call(ec2.describe_vpcs, root_ctx, Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    assert len(vpcs) == 1 and vpcs[0]["CidrBlock"] == "172.31.0.0/16" and vpcs[0]["IsDefault"] is True
    vpc_id = vpcs[0]["VpcId"]
    subnets = call(ec2.describe_subnets, root_ctx, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["AvailabilityZone"] for s in subnets) == [f"us-east-1{c}" for c in "abcdef"]
    assert {s["CidrBlock"] for s in subnets} == {f"172.31.{16 * i}.0/20" for i in range(6)}
    assert all(s["DefaultForAz"] and s["AvailabilityZoneId"].startswith("use1-az") for s in subnets)
    groups = call(ec2.describe_security_groups, root_ctx, Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    assert len(groups) == 1
    sg = groups[0]
    assert sg["IpPermissions"][0]["UserIdGroupPairs"] == [{"UserId": ACCT, "GroupId": sg["GroupId"]}]
    assert sg["IpPermissionsEgress"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]
    assert ec2.default_security_group(ACCT, "us-east-1", vpc_id).id == sg["GroupId"]
    assert ec2.subnet(ACCT, "us-east-1", subnets[0]["SubnetId"]).vpc_id == vpc_id


def test_ids_are_stable_across_instances_and_differ_by_region(world, ec2):
    again = Ec2Provider(world)
    assert again.default_vpc(ACCT, "us-east-1").id == ec2.default_vpc(ACCT, "us-east-1").id
    assert ec2.default_vpc(ACCT, "eu-west-1").id != ec2.default_vpc(ACCT, "us-east-1").id
    west = ec2.subnets_of(ACCT, "eu-west-1", ec2.default_vpc(ACCT, "eu-west-1").id)
    assert [s.availability_zone_id for s in west] == ["euw1-az1", "euw1-az2", "euw1-az3"]


def test_filter_semantics(ec2, root_ctx):
    def subnets(*filters):
        return call(ec2.describe_subnets, root_ctx, Filters=list(filters))["Subnets"]

    assert len(subnets({"Name": "availability-zone", "Values": ["us-east-1a", "us-east-1b"]})) == 2  # OR
    assert len(subnets({"Name": "availability-zone", "Values": ["us-east-1?"]})) == 6  # wildcard
    assert len(subnets({"Name": "cidr-block", "Values": ["172.31.0.*"]})) == 1
    assert subnets({"Name": "availability-zone", "Values": ["us-east-1a"]},
                   {"Name": "default-for-az", "Values": ["false"]}) == []  # AND
    with pytest.raises(AWSError) as e:
        subnets({"Name": "no-such-filter", "Values": ["x"]})
    assert (e.value.code, e.value.message) == ("InvalidParameterValue", "The filter 'no-such-filter' is invalid")


def test_unknown_and_malformed_ids(ec2, root_ctx):
    with pytest.raises(AWSError) as e:
        call(ec2.describe_vpcs, root_ctx, VpcIds=["vpc-0123456789abcdef0"])
    assert (e.value.code, e.value.message) == ("InvalidVpcID.NotFound",
                                               "The vpc ID 'vpc-0123456789abcdef0' does not exist")
    with pytest.raises(AWSError) as e:
        call(ec2.describe_vpcs, root_ctx, VpcIds=["bogus"])
    assert e.value.code == "InvalidVpcID.Malformed"
    with pytest.raises(AWSError) as e:
        call(ec2.describe_subnets, root_ctx, SubnetIds=["subnet-0123456789abcdef0"])
    assert e.value.code == "InvalidSubnetID.NotFound"
    with pytest.raises(AWSError) as e:
        call(ec2.describe_security_groups, root_ctx, GroupIds=["sg-0123456789abcdef0"])
    assert (e.value.code, e.value.message) == ("InvalidGroup.NotFound",
                                               "The security group 'sg-0123456789abcdef0' does not exist")


def test_tags_and_security_groups(ec2, root_ctx):
    vpc_id = ec2.default_vpc(ACCT, "us-east-1").id
    call(ec2.create_tags, root_ctx, Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "main"}])
    assert len(call(ec2.describe_vpcs, root_ctx, Filters=[{"Name": "tag:Name", "Values": ["ma*"]}])["Vpcs"]) == 1
    assert call(ec2.describe_vpcs, root_ctx, Filters=[{"Name": "tag-key", "Values": ["Other"]}])["Vpcs"] == []
    tags = call(ec2.describe_tags, root_ctx, Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["Tags"]
    assert tags == [{"Key": "Name", "ResourceId": vpc_id, "ResourceType": "vpc", "Value": "main"}]
    call(ec2.delete_tags, root_ctx, Resources=[vpc_id], Tags=[{"Key": "Name"}])
    assert ec2.default_vpc(ACCT, "us-east-1").tags == {}
    gid = call(ec2.create_security_group, root_ctx, GroupName="app", Description="d")["GroupId"]
    with pytest.raises(AWSError) as e:
        call(ec2.create_security_group, root_ctx, GroupName="app", Description="d")
    assert e.value.code == "InvalidGroup.Duplicate"
    call(ec2.delete_security_group, root_ctx, GroupId=gid)
    default = ec2.default_security_group(ACCT, "us-east-1", vpc_id).id
    with pytest.raises(AWSError) as e:
        call(ec2.delete_security_group, root_ctx, GroupId=default)
    assert e.value.code == "CannotDelete"


def test_zones_and_account_attributes(ec2, root_ctx):
    zones = call(ec2.describe_availability_zones, root_ctx)["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == [f"us-east-1{c}" for c in "abcdef"]
    # use1-az1 is us-east-1b, as AWS answered one account (tests/conformance).
    one = call(ec2.describe_availability_zones, root_ctx, ZoneIds=["use1-az1"])["AvailabilityZones"]
    assert one[0]["ZoneName"] == "us-east-1b"
    attrs = call(ec2.describe_account_attributes, root_ctx, AttributeNames=["default-vpc"])["AccountAttributes"]
    assert attrs == [{"AttributeName": "default-vpc",
                      "AttributeValues": [{"AttributeValue": ec2.default_vpc(ACCT, "us-east-1").id}]}]
