"""CreateVpc/CreateSubnet and their deletes through a real cloudlet, with AWS's checks."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import botocore.exceptions
import pytest

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", source)
    return buf.getvalue()


def _code(call: Any, **kw: Any) -> str:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(**kw)
    return str(e.value.response["Error"]["Code"])


def test_vpc_subnets_and_their_refusals(boto3_client: Any) -> None:
    ec2 = boto3_client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]
    vid = vpc["VpcId"]
    assert vpc["CidrBlock"] == "10.20.0.0/16" and vpc["IsDefault"] is False
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vid]}])["SecurityGroups"]
    assert [g["GroupName"] for g in groups] == ["default"]

    subnet = ec2.create_subnet(VpcId=vid, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]
    assert subnet["AvailabilityZone"] == "us-east-1b" and subnet["AvailableIpAddressCount"] == 251
    assert subnet["DefaultForAz"] is False and subnet["MapPublicIpOnLaunch"] is False
    assert _code(ec2.create_subnet, VpcId=vid, CidrBlock="10.20.1.128/25") == "InvalidSubnet.Conflict"
    assert _code(ec2.create_subnet, VpcId=vid, CidrBlock="10.30.0.0/24") == "InvalidSubnet.Range"
    assert _code(ec2.create_subnet, VpcId=vid, CidrBlock="10.20.2.0/24",
                 AvailabilityZone="us-east-1z") == "InvalidParameterValue"
    assert _code(ec2.create_vpc, CidrBlock="10.0.0.0/8") == "InvalidVpc.Range"

    sg = ec2.create_security_group(GroupName=f"g-{uuid.uuid4().hex[:6]}", Description="d", VpcId=vid)["GroupId"]
    assert _code(ec2.delete_vpc, VpcId=vid) == "DependencyViolation"
    ec2.delete_security_group(GroupId=sg)
    assert _code(ec2.delete_vpc, VpcId=vid) == "DependencyViolation"  # the subnet
    ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    assert _code(ec2.delete_subnet, SubnetId=subnet["SubnetId"]) == "InvalidSubnetID.NotFound"
    ec2.delete_vpc(VpcId=vid)
    assert _code(ec2.describe_vpcs, VpcIds=[vid]) == "InvalidVpcID.NotFound"


def test_groups_and_subnets_in_use_are_not_deleted(boto3_client: Any) -> None:
    ec2, lam, iam = boto3_client("ec2"), boto3_client("lambda"), boto3_client("iam")
    vpc = ec2.create_vpc(CidrBlock="10.21.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.21.0.0/24")["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(GroupName="in-use", Description="d", VpcId=vpc)["GroupId"]
    other = ec2.create_security_group(GroupName="referrer", Description="d", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=other, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": sg}]}])
    # Referenced by another group's rule.
    assert _code(ec2.delete_security_group, GroupId=sg) == "DependencyViolation"
    ec2.delete_security_group(GroupId=other)

    role = iam.create_role(RoleName=f"vpc-usage-{uuid.uuid4().hex[:6]}", AssumeRolePolicyDocument=TRUST)["Role"]
    iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=VPC_ACCESS)
    name = f"uses-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Role=role["Arn"], Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": _zip("def handler(e, c):\n    return 1\n")},
                        VpcConfig={"SubnetIds": [subnet], "SecurityGroupIds": [sg]})
    try:
        assert _code(ec2.delete_security_group, GroupId=sg) == "DependencyViolation"
        assert _code(ec2.delete_subnet, SubnetId=subnet) == "DependencyViolation"
    finally:
        lam.delete_function(FunctionName=name)
    ec2.delete_security_group(GroupId=sg)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
