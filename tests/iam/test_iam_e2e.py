"""IAM through a real cloudlet with the stock aws CLI and boto3 (tutorial steps 1.3, 2.2, 4.3)."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest

TUTORIAL = Path("/work/shared/tutorial")
ACCT = "123456789012"


@pytest.fixture
def tutorial_files(tmp_path: Path) -> Path:
    for name in ("trust-policy.json", "policy.json"):
        shutil.copy(TUTORIAL / name, tmp_path / name)
    return tmp_path


def test_tutorial_iam_steps(aws_cli, tutorial_files):
    role, policy = f"elasticache-iam-auth-app-{uuid.uuid4().hex[:6]}", f"elasticache-allow-all-{uuid.uuid4().hex[:6]}"
    policy_arn = f"arn:aws:iam::{ACCT}:policy/{policy}"
    vpc_policy = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    trust, doc = tutorial_files / "trust-policy.json", tutorial_files / "policy.json"
    # 1.3
    created = aws_cli("iam", "create-role", "--role-name", role, "--assume-role-policy-document", f"file://{trust}")
    assert created["Role"]["Arn"] == f"arn:aws:iam::{ACCT}:role/{role}"
    # The CLI shows the trust document decoded, as with AWS.
    assert created["Role"]["AssumeRolePolicyDocument"]["Statement"][1]["Principal"] == {
        "Service": "lambda.amazonaws.com"}
    out = aws_cli("iam", "create-policy", "--policy-name", policy, "--policy-document", f"file://{doc}")
    assert out["Policy"]["Arn"] == policy_arn and out["Policy"]["DefaultVersionId"] == "v1"
    aws_cli("iam", "attach-role-policy", "--role-name", role, "--policy-arn", policy_arn)
    # 2.2
    aws_cli("iam", "attach-role-policy", "--role-name", role, "--policy-arn", vpc_policy)
    attached = aws_cli("iam", "list-attached-role-policies", "--role-name", role)["AttachedPolicies"]
    assert {a["PolicyArn"] for a in attached} == {policy_arn, vpc_policy}
    got = aws_cli("iam", "get-policy-version", "--policy-arn", vpc_policy, "--version-id", "v3")
    assert "ec2:CreateNetworkInterface" in got["PolicyVersion"]["Document"]["Statement"][0]["Action"]
    # Deleting while attached is refused, as AWS does.
    cp = aws_cli("iam", "delete-role", "--role-name", role, check=False)
    assert cp.returncode != 0 and "DeleteConflict" in cp.stderr
    # 4.3
    aws_cli("iam", "detach-role-policy", "--role-name", role, "--policy-arn", policy_arn)
    aws_cli("iam", "detach-role-policy", "--role-name", role, "--policy-arn", vpc_policy)
    aws_cli("iam", "delete-role", "--role-name", role)
    aws_cli("iam", "delete-policy", "--policy-arn", policy_arn)
    cp = aws_cli("iam", "get-role", "--role-name", role, check=False)
    assert cp.returncode != 0 and "NoSuchEntity" in cp.stderr and f"The role with name {role} cannot be found" in cp.stderr


def test_access_key_signs_at_once_and_inactive_key_stops(boto3_client):
    iam = boto3_client("iam")
    name = f"user-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    as_user = boto3_client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    ident = as_user.get_caller_identity()
    assert ident["Arn"] == f"arn:aws:iam::{ACCT}:user/{name}" and ident["UserId"].startswith("AIDA")
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.get_caller_identity()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.delete_user(UserName=name)
    assert e.value.response["Error"]["Code"] == "DeleteConflict"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=name)


def test_boto3_roles_paginate_and_errors(boto3_client):
    iam = boto3_client("iam")
    prefix = f"/p{uuid.uuid4().hex[:6]}/"
    trust = (TUTORIAL / "trust-policy.json").read_text()
    for i in range(3):
        iam.create_role(RoleName=f"pg-{prefix.strip('/')}-{i}", Path=prefix, AssumeRolePolicyDocument=trust)
    pages = list(iam.get_paginator("list_roles").paginate(PathPrefix=prefix, PaginationConfig={"PageSize": 2}))
    assert [len(p["Roles"]) for p in pages] == [2, 1]
    role = iam.get_role(RoleName=f"pg-{prefix.strip('/')}-0")["Role"]
    assert role["Path"] == prefix and role["RoleId"].startswith("AROA")
    assert role["CreateDate"].year >= 2024 and time.time() - role["CreateDate"].timestamp() < 300
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_role(RoleName=f"pg-{prefix.strip('/')}-0", AssumeRolePolicyDocument=trust)
    assert e.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    with pytest.raises(botocore.exceptions.ClientError) as e:
        iam.create_policy(PolicyName="bad", PolicyDocument='{"Version": "2012-10-17", "Statement": []')
    assert e.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    for i in range(3):
        iam.delete_role(RoleName=f"pg-{prefix.strip('/')}-{i}")


def test_user_policies_drive_enforcement(boto3_client):
    """Inline, group and managed policies of a user are what the authorizer evaluates."""
    iam = boto3_client("iam")
    s = uuid.uuid4().hex[:8]
    user, group = f"limited-{s}", f"readers-{s}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="get-roles", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3_client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    role = f"target-{s}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=(TUTORIAL / "trust-policy.json").read_text())
    assert as_user.get_role(RoleName=role)["Role"]["RoleName"] == role
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.list_users()
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    # Group membership grants through the group's managed policy.
    iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.add_user_to_group(GroupName=group, UserName=user)
    assert any(u["UserName"] == user for u in as_user.list_users()["Users"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        as_user.delete_role(RoleName=role)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    iam.remove_user_from_group(GroupName=group, UserName=user)
    iam.detach_group_policy(GroupName=group, PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    iam.delete_group(GroupName=group)
    iam.delete_user_policy(UserName=user, PolicyName="get-roles")
    iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=user)
    iam.delete_role(RoleName=role)
