"""EC2 scenarios: the calls of LocalStack's recorded EC2 tests that cloudlet's EC2 answers."""

from __future__ import annotations

from typing import Any

from conformance.recordings import Caller, scenario


@scenario("ec2", "test_describe_availability_zones_filter_with_zone_names")
def zones_by_name(c: Caller) -> dict[str, Any]:
    return {"availability_zones": c.call(c.client("ec2").describe_availability_zones, ZoneNames=["us-east-1a"])}


@scenario("ec2", "test_describe_availability_zones_filter_with_zone_ids")
def zones_by_id(c: Caller) -> dict[str, Any]:
    return {"availability_zones": c.call(c.client("ec2").describe_availability_zones, ZoneIds=["use1-az1"])}


@scenario("ec2", "test_describe_availability_zones_filters")
def zones_by_filter(c: Caller) -> dict[str, Any]:
    ec2 = c.client("ec2")
    return {"availability_zones": c.call(ec2.describe_availability_zones,
                                         Filters=[{"Name": "zone-name", "Values": ["us-east-1a"]}])}


@scenario("ec2", "test_get_security_groups_for_vpc")
def create_security_group(c: Caller) -> dict[str, Any]:
    ec2 = c.client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    name = c.name("test-security-group")
    return {"create_security_group": c.call(ec2.create_security_group, GroupName=name,
                                            Description=f"Description for {name}", VpcId=vpc)}
