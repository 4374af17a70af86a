"""Security group rules through a real cloudlet: Authorize/Revoke ingress and egress, rule ids,
DescribeSecurityGroupRules, and AWS's refusals, from boto3 and the stock CLI."""

from __future__ import annotations

import uuid
from typing import Any

import botocore.exceptions
import pytest


def _group(ec2: Any, prefix: str) -> str:
    return str(ec2.create_security_group(GroupName=f"{prefix}-{uuid.uuid4().hex[:8]}", Description="t")["GroupId"])


def _error(call: Any, **kw: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return dict(e.value.response["Error"])


def test_authorize_ingress_by_group_and_cidr_then_revoke(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    target, source = _group(ec2, "cache"), _group(ec2, "fn")
    out = ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6380, "UserIdGroupPairs": [{"GroupId": source}]},
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6380, "IpRanges": [{"CidrIp": "10.1.0.0/16",
                                                                            "Description": "office"}]},
    ])
    assert out["Return"] is True
    rules = out["SecurityGroupRules"]
    assert [r["IsEgress"] for r in rules] == [False, False]
    assert rules[0]["ReferencedGroupInfo"]["GroupId"] == source and rules[0]["FromPort"] == 6379
    assert rules[1]["CidrIpv4"] == "10.1.0.0/16" and rules[1]["Description"] == "office"
    assert all(r["SecurityGroupRuleId"].startswith("sgr-") for r in rules)

    # DescribeSecurityGroups shows one IpPermission per protocol and port range, its peers together.
    group = ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"][0]
    assert len(group["IpPermissions"]) == 1
    perm = group["IpPermissions"][0]
    assert perm["IpRanges"] == [{"CidrIp": "10.1.0.0/16", "Description": "office"}]
    assert [p["GroupId"] for p in perm["UserIdGroupPairs"]] == [source]

    listed = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [target]}])
    ids = {r["SecurityGroupRuleId"] for r in listed["SecurityGroupRules"]}
    assert {r["SecurityGroupRuleId"] for r in rules} <= ids
    assert len(ids) == 3  # and the all-traffic egress rule every new group has

    dup = _error(ec2.authorize_security_group_ingress, GroupId=target, IpProtocol="tcp", FromPort=6379,
                 ToPort=6380, CidrIp="10.1.0.0/16")
    assert dup["Code"] == "InvalidPermission.Duplicate"
    assert dup["Message"] == 'the specified rule "peer: 10.1.0.0/16, TCP, from port: 6379, to port: 6380, ALLOW" ' \
        "already exists"

    gone = ec2.revoke_security_group_ingress(GroupId=target, SecurityGroupRuleIds=[rules[0]["SecurityGroupRuleId"]])
    assert gone["Return"] is True
    assert gone["RevokedSecurityGroupRules"][0]["ReferencedGroupId"] == source
    out = ec2.revoke_security_group_ingress(GroupId=target, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6380, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
    ])
    # In the default VPC an unknown rule is listed, not refused.
    assert out["Return"] is True and out["UnknownIpPermissions"][0]["FromPort"] == 22
    assert ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"][0]["IpPermissions"] == []


def test_egress_rules_and_refusals(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    group = _group(ec2, "egress")
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"] == []
    out = ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert out["SecurityGroupRules"][0]["IsEgress"] is True

    missing = _error(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "UserIdGroupPairs": [{"GroupId": "sg-0123456789abcdef0"}]}])
    assert missing["Code"] == "InvalidGroup.NotFound"
    bad = _error(ec2.authorize_security_group_ingress, GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 1, "ToPort": 2, "IpRanges": [{"CidrIp": "10.0.0/8"}]}])
    assert bad["Code"] == "InvalidParameterValue" and "10.0.0/8" in bad["Message"]
    no_group = _error(ec2.authorize_security_group_egress, GroupId="sg-0123456789abcdef0", IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert no_group["Code"] == "InvalidGroup.NotFound"
    unknown_id = _error(ec2.revoke_security_group_egress, GroupId=group, SecurityGroupRuleIds=["sgr-0123456789abcdef0"])
    assert unknown_id["Code"] == "InvalidSecurityGroupRuleId.NotFound"


def test_cli_authorize_shorthand(aws_cli: Any, boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    target, source = _group(ec2, "cli-cache"), _group(ec2, "cli-fn")
    out = aws_cli("ec2", "authorize-security-group-ingress", "--group-id", target, "--protocol", "tcp",
                  "--port", "6379", "--source-group", source)
    assert out["Return"] is True
    assert out["SecurityGroupRules"][0]["ReferencedGroupInfo"]["GroupId"] == source
    perm = ec2.describe_security_groups(GroupIds=[target])["SecurityGroups"][0]["IpPermissions"][0]
    assert (perm["IpProtocol"], perm["FromPort"], perm["ToPort"]) == ("tcp", 6379, 6379)
