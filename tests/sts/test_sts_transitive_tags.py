"""Transitive session tags through role chaining, on a real cloudlet.

The attack: a session tagged Project=alpha (transitively) chains to a second role
and tries to leave its tag behind or replace it with Project=beta to reach what
beta may reach. AWS carries the tag into the chained session and refuses the
override; so does cloudlet.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import botocore.exceptions
import pytest

ACCT = "123456789012"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
     "Action": ["sts:AssumeRole", "sts:TagSession"]}]})


def _session(boto3_client: Any, service: str, creds: dict[str, str]) -> Any:
    return boto3_client(service, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])


@pytest.fixture
def chain(boto3_client: Any) -> dict[str, str]:
    """Role FIRST may assume role SECOND; SECOND may list roles only as Project=alpha."""
    iam = boto3_client("iam")
    first, second = (f"chain-{uuid.uuid4().hex[:8]}" for _ in range(2))
    second_arn = iam.create_role(RoleName=second, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=second, PolicyName="alpha-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*",
                                                "Condition": {"StringEquals": {"aws:PrincipalTag/Project": "alpha"}}}]}))
    first_arn = iam.create_role(RoleName=first, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    iam.put_role_policy(RoleName=first, PolicyName="chain", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                                                "Resource": second_arn}]}))
    return {"first": first_arn, "second": second_arn}


def _first_session(boto3_client: Any, chain: dict[str, str], transitive: bool) -> dict[str, str]:
    extra = {"TransitiveTagKeys": ["Project"]} if transitive else {}
    return boto3_client("sts").assume_role(RoleArn=chain["first"], RoleSessionName="first",
                                           Tags=[{"Key": "Project", "Value": "alpha"}], **extra)["Credentials"]


def test_transitive_tag_reaches_the_chained_session(boto3_client: Any, chain: dict[str, str]) -> None:
    first = _first_session(boto3_client, chain, transitive=True)
    second = _session(boto3_client, "sts", first).assume_role(RoleArn=chain["second"],
                                                               RoleSessionName="second")["Credentials"]
    assert "Roles" in _session(boto3_client, "iam", second).list_roles()


def test_non_transitive_tag_stays_behind(boto3_client: Any, chain: dict[str, str]) -> None:
    first = _first_session(boto3_client, chain, transitive=False)
    second = _session(boto3_client, "sts", first).assume_role(RoleArn=chain["second"],
                                                               RoleSessionName="second")["Credentials"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _session(boto3_client, "iam", second).list_roles()
    assert e.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize("key", ["Project", "project"])
def test_chained_session_cannot_override_a_transitive_tag(boto3_client: Any, chain: dict[str, str],
                                                          key: str) -> None:
    first = _first_session(boto3_client, chain, transitive=True)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _session(boto3_client, "sts", first).assume_role(RoleArn=chain["second"], RoleSessionName="second",
                                                         Tags=[{"Key": key, "Value": "beta"}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_transitive_key_must_be_a_requested_tag(boto3_client: Any, chain: dict[str, str]) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as e:
        boto3_client("sts").assume_role(RoleArn=chain["first"], RoleSessionName="first",
                                        Tags=[{"Key": "Project", "Value": "alpha"}], TransitiveTagKeys=["Team"])
    assert e.value.response["Error"]["Message"] == (
        "The specified transitive tag key must be included in the requested tags.")
