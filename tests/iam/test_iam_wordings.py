"""IAM refusals worded and coded as AWS words them, through a real cloudlet.

AttachRolePolicy/AttachUserPolicy, DeletePolicy and CreateRole's invalid JSON are
also judged against AWS's recorded answers in tests/conformance; these cover the
siblings that share the code (groups, UpdateAssumeRolePolicy) and GetPolicy, whose
wording comes from a real AWS error message.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _error(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as e:
        call(**params)
    return e.value.response


def test_attach_group_policy_with_a_name_instead_of_an_arn(boto3_client: Any) -> None:
    iam = boto3_client("iam")
    group = f"g-{uuid.uuid4().hex[:8]}"
    iam.create_group(GroupName=group)
    err = _error(iam.attach_group_policy, GroupName=group, PolicyArn="AmazonS3ReadOnlyAccess")
    assert err["Error"]["Code"] == "ValidationError"
    assert err["Error"]["Message"] == "Invalid ARN:  Could not be parsed!"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_get_unknown_policy(boto3_client: Any) -> None:
    arn = "arn:aws:iam::123456789012:policy/no-such-policy"
    err = _error(boto3_client("iam").get_policy, PolicyArn=arn)
    assert err["Error"]["Code"] == "NoSuchEntity"
    assert err["Error"]["Message"] == f"Policy {arn} was not found."
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_update_trust_policy_with_invalid_json(boto3_client: Any) -> None:
    iam = boto3_client("iam")
    role = f"r-{uuid.uuid4().hex[:8]}"
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST)
    err = _error(iam.update_assume_role_policy, RoleName=role, PolicyDocument='{"Version": "2012-10-17",}')
    assert err["Error"]["Code"] == "MalformedPolicyDocument"
    assert err["Error"]["Message"] == "This policy contains invalid Json"


def test_create_role_answer_has_no_max_session_duration(boto3_client: Any) -> None:
    iam = boto3_client("iam")
    role = f"r-{uuid.uuid4().hex[:8]}"
    created = iam.create_role(RoleName=role, AssumeRolePolicyDocument=TRUST, MaxSessionDuration=7200)["Role"]
    assert "MaxSessionDuration" not in created
    assert iam.get_role(RoleName=role)["Role"]["MaxSessionDuration"] == 7200
