"""STS through a real cloudlet: caller identity, AssumeRole creds that sign, expiry refused."""

from __future__ import annotations

import json
import uuid

import botocore.exceptions
import pytest

ACCT = "123456789012"
TRUST_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})


def test_get_caller_identity_cli_root(aws_cli):
    out = aws_cli("sts", "get-caller-identity")
    assert out == {"UserId": ACCT, "Account": ACCT, "Arn": f"arn:aws:iam::{ACCT}:root"}


def test_assume_role_then_caller_identity_with_new_creds(boto3_client, aws_cli):
    iam = boto3_client("iam")
    name = f"assumable-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ACCOUNT)["Role"]
    out = aws_cli("sts", "assume-role", "--role-arn", role["Arn"], "--role-session-name", "cli-session",
                  "--duration-seconds", "900")
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/{name}/cli-session"
    env = {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
           "AWS_SESSION_TOKEN": creds["SessionToken"]}
    ident = aws_cli("sts", "get-caller-identity", env=env)
    assert ident == {"UserId": f"{role['RoleId']}:cli-session", "Account": ACCT,
                     "Arn": f"arn:aws:sts::{ACCT}:assumed-role/{name}/cli-session"}
    # Chaining beyond one hour is refused with AWS's ValidationError.
    chained = boto3_client("sts", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        chained.assume_role(RoleArn=role["Arn"], RoleSessionName="again", DurationSeconds=7200)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    iam.delete_role(RoleName=name)


def test_assume_role_denied_for_user_without_permission(boto3_client):
    iam = boto3_client("iam")
    suffix = uuid.uuid4().hex[:8]
    role = iam.create_role(RoleName=f"guarded-{suffix}", AssumeRolePolicyDocument=TRUST_ACCOUNT)["Role"]
    iam.create_user(UserName=f"plain-{suffix}")
    key = iam.create_access_key(UserName=f"plain-{suffix}")["AccessKey"]
    sts = boto3_client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(botocore.exceptions.ClientError) as e:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="try")
    err = e.value.response["Error"]
    assert err["Code"] == "AccessDenied" and e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Message"].startswith(f"User: arn:aws:iam::{ACCT}:user/plain-{suffix} is not authorized to perform: "
                                     f"sts:AssumeRole on resource: {role['Arn']}")
    iam.delete_access_key(UserName=f"plain-{suffix}", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName=f"plain-{suffix}")
    iam.delete_role(RoleName=f"guarded-{suffix}")
