"""Output shapes (model member names) of EC2's resources."""

from __future__ import annotations

import functools
from typing import Any

from botocore.loaders import create_loader  # type: ignore[import-untyped]

from cloudlet.services.ec2.model import AvailabilityZone, SecurityGroup, Subnet, Vpc
from cloudlet.services.ec2.sg_rules import merged_permissions


def tag_set(tags: dict[str, str]) -> dict[str, Any]:
    # AWS leaves tagSet out when a resource has no tags.
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}


def vpc_shape(vpc: Vpc) -> dict[str, Any]:
    return {
        "VpcId": vpc.id,
        "OwnerId": vpc.owner_id,
        "InstanceTenancy": vpc.instance_tenancy,
        "CidrBlockAssociationSet": [
            {
                "AssociationId": vpc.cidr_association_id,
                "CidrBlock": vpc.cidr_block,
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "IsDefault": vpc.is_default,
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
        "State": vpc.state,
        "CidrBlock": vpc.cidr_block,
        "DhcpOptionsId": vpc.dhcp_options_id,
        **tag_set(vpc.tags),
    }


def subnet_shape(subnet: Subnet) -> dict[str, Any]:
    return {
        "AvailabilityZoneId": subnet.availability_zone_id,
        "MapCustomerOwnedIpOnLaunch": False,
        "OwnerId": subnet.owner_id,
        "AssignIpv6AddressOnCreation": False,
        "Ipv6CidrBlockAssociationSet": [],
        "SubnetArn": subnet.arn,
        "EnableDns64": False,
        "Ipv6Native": False,
        "PrivateDnsNameOptionsOnLaunch": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "BlockPublicAccessStates": {"InternetGatewayBlockMode": "off"},
        "SubnetId": subnet.id,
        "State": subnet.state,
        "VpcId": subnet.vpc_id,
        "CidrBlock": subnet.cidr_block,
        "AvailableIpAddressCount": subnet.available_ip_address_count,
        "AvailabilityZone": subnet.availability_zone,
        "DefaultForAz": subnet.default_for_az,
        "MapPublicIpOnLaunch": subnet.map_public_ip_on_launch,
        **tag_set(subnet.tags),
    }


def security_group_shape(group: SecurityGroup) -> dict[str, Any]:
    return {
        "GroupId": group.id,
        "IpPermissionsEgress": merged_permissions(group.egress),
        "VpcId": group.vpc_id,
        "SecurityGroupArn": group.arn,
        "OwnerId": group.owner_id,
        "GroupName": group.name,
        "Description": group.description,
        "IpPermissions": merged_permissions(group.ingress),
        **tag_set(group.tags),
    }


@functools.cache
def region_long_name(region: str) -> str:
    """'US East (N. Virginia)' for us-east-1, from botocore's endpoint data."""
    for partition in create_loader().load_data("endpoints")["partitions"]:
        if region in partition["regions"]:
            return str(partition["regions"][region].get("description", region))
    return region


def zone_shape(zone: AvailabilityZone) -> dict[str, Any]:
    # A region's AZs form its zone group 1 ("us-east-1-zg-1"), as AWS answers today.
    return {
        "OptInStatus": "opt-in-not-required",
        "Messages": [],
        "RegionName": zone.region,
        "ZoneName": zone.name,
        "ZoneId": zone.zone_id,
        "GroupName": f"{zone.region}-zg-1",
        "GroupLongName": f"{region_long_name(zone.region)} 1",
        "NetworkBorderGroup": zone.region,
        "ZoneType": "availability-zone",
        "State": "available",
    }
