"""Enforcement end to end: a real cloudlet, real IAM, boto3 as the client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "123456789012"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as e:
        call()
    return {**e.value.response["Error"], "Status": e.value.response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture
def user(boto3_client: Callable[..., Any]) -> Callable[[], tuple[str, Callable[..., Any]]]:
    """Makes a fresh IAM user with an access key; returns (name, client factory)."""
    iam = boto3_client("iam")

    def make() -> tuple[str, Callable[..., Any]]:
        name = f"u-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]

        def client(service: str, **kw: Any) -> Any:
            return boto3_client(service, aws_access_key_id=key["AccessKeyId"],
                                aws_secret_access_key=key["SecretAccessKey"], **kw)

        return name, client

    return make


def test_user_without_policy_is_denied_in_each_services_wording(user: Any) -> None:
    name, client = user()
    arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
    err = _error(lambda: client("ec2").describe_vpcs())
    assert err["Code"] == "UnauthorizedOperation" and err["Status"] == 403
    assert err["Message"] == (
        f"You are not authorized to perform this operation. User: {arn} is not authorized to perform: "
        "ec2:DescribeVpcs because no identity-based policy allows the ec2:DescribeVpcs action"
    )
    err = _error(lambda: client("iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}"))
    assert err["Code"] == "AccessDenied" and err["Status"] == 403
    assert err["Message"] == (
        f"User: {arn} is not authorized to perform: iam:CreateRole on resource: "
        f"arn:aws:iam::{ACCOUNT}:role/x because no identity-based policy allows the iam:CreateRole action"
    )
    err = _error(lambda: client("lambda").list_functions())
    assert err["Code"] == "AccessDeniedException" and err["Status"] == 403
    err = _error(lambda: client("elasticache").describe_serverless_caches())
    assert err["Code"] == "AccessDenied"
    # GetCallerIdentity needs no permission.
    assert client("sts").get_caller_identity()["Arn"] == arn


def test_managed_policy_allows_and_inline_deny_overrides(user: Any, boto3_client: Any) -> None:
    iam = boto3_client("iam")
    name, client = user()
    pol = iam.create_policy(PolicyName=f"p-{name}", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": ["ec2:Describe*", "iam:ListRoles"], "Resource": "*"}))["Policy"]
    iam.attach_user_policy(UserName=name, PolicyArn=pol["Arn"])
    assert "Vpcs" in client("ec2").describe_vpcs()
    assert "Roles" in client("iam").list_roles()
    iam.put_user_policy(UserName=name, PolicyName="deny", PolicyDocument=_doc(
        {"Effect": "Deny", "Action": "ec2:DescribeVpcs", "Resource": "*"}))
    err = _error(lambda: client("ec2").describe_vpcs())
    assert err["Code"] == "UnauthorizedOperation"
    assert err["Message"].endswith("ec2:DescribeVpcs with an explicit deny in an identity-based policy")
    assert "Subnets" in client("ec2").describe_subnets()  # other actions still allowed


def test_conditions_on_source_ip_and_current_time(user: Any, boto3_client: Any) -> None:
    iam = boto3_client("iam")
    name, client = user()
    iam.put_user_policy(UserName=name, PolicyName="ip", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Effect": "Allow", "Action": "iam:ListPolicies", "Resource": "*",
         "Condition": {"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}},
        {"Effect": "Allow", "Action": "iam:ListGroups", "Resource": "*",
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}},
    ))
    c = client("iam")
    assert _error(c.list_roles)["Code"] == "AccessDenied"
    assert "Users" in c.list_users()
    assert _error(c.list_policies)["Code"] == "AccessDenied"
    assert "Groups" in c.list_groups()


def test_role_trust_policy_decides_who_may_assume(user: Any, boto3_client: Any) -> None:
    iam = boto3_client("iam")
    alice, alice_client = user()
    bob, bob_client = user()
    role = f"r-{alice}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{bob}"}, "Action": "sts:AssumeRole"}))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    # Alice may call sts:AssumeRole on anything, but the trust policy does not name her.
    iam.put_user_policy(UserName=alice, PolicyName="sts", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}))
    err = _error(lambda: alice_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1"))
    assert err["Code"] == "AccessDenied"
    assert f"is not authorized to perform: sts:AssumeRole on resource: {role_arn}" in err["Message"]
    # Bob has no identity policy at all: a trust policy naming him is enough.
    assert bob_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="b1")["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/b1")
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/{alice}"}, "Action": "sts:AssumeRole"}))
    creds = alice_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")


def test_aws_managed_policy_on_a_role_grants_its_real_document(boto3_client: Any) -> None:
    iam = boto3_client("iam")
    role = f"vpc-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName=role,
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    creds = boto3_client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                            RoleSessionName="s1")["Credentials"]
    kw = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
          "aws_session_token": creds["SessionToken"]}
    assert "Subnets" in boto3_client("ec2", **kw).describe_subnets()
    err = _error(lambda: boto3_client("ec2", **kw).describe_vpcs())
    assert err["Code"] == "UnauthorizedOperation"
    assert f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/s1 is not authorized" in err["Message"]
    err = _error(lambda: boto3_client("iam", **kw).list_roles())
    assert err["Code"] == "AccessDenied"


def test_trust_naming_the_account_needs_the_callers_identity_permission(user: Any, boto3_client: Any) -> None:
    iam = boto3_client("iam")
    name, client = user()
    role = f"acct-{name}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=_doc(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    err = _error(lambda: client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1"))
    assert err["Code"] == "AccessDenied"
    assert err["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: sts:AssumeRole on resource: "
        f"{role_arn} because no identity-based policy allows the sts:AssumeRole action")
    iam.put_user_policy(UserName=name, PolicyName="sts", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{ACCOUNT}:role/acct-*"}))
    assert client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s1")["Credentials"]["SessionToken"]
    # The account root is always allowed by its own account.
    assert boto3_client("sts").assume_role(RoleArn=role_arn, RoleSessionName="root1")["Credentials"]
