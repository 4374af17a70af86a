"""STS scenarios: the calls of LocalStack's recorded STS tests, made on cloudlet."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config

from conformance.recordings import Caller, scenario


@scenario("sts", "test_assume_role")
def assume_role(c: Caller) -> dict[str, Any]:
    iam, sts = c.client("iam"), c.client("sts")
    account = sts.get_caller_identity()["Account"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Action": "sts:AssumeRole", "Principal": {"AWS": account}, "Effect": "Allow"}]})
    role = c.name("role")
    created = c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=trust)
    assumed = c.call(sts.assume_role, RoleArn=created["Role"]["Arn"], RoleSessionName=c.name("test-assume-role"))
    return {"create-role": created, "assume-role": assumed}


@scenario("sts", "test_sts_invalid_parameters")
def invalid_parameters(c: Caller) -> dict[str, Any]:
    # The client's own validation is off, as in the recording: the server must refuse.
    sts = c._make("sts", config=Config(parameter_validation=False))
    cases = {
        "malformed-arn": ("nothing-valid-in-here", "Session1"),
        "no-partition": ("arn::b:::something/test-role", "Session1"),
        "no-service": ("arn:a::::something/test-role", "Session1"),
        "not-enough-colons": ("arn:a:::something/test-role", "Session1"),
        "no-resource": ("arn:a:a::aaaaaaaaaa:", "Session1"),
        "invalid-session-name": ("arn:a:b:::something/test-role", "Session1:2"),
    }
    return {key: c.call(sts.assume_role, RoleArn=arn, RoleSessionName=name) for key, (arn, name) in cases.items()}


def _taggable_role(c: Caller, prefix: str) -> dict[str, Any]:
    account = c.client("sts").get_caller_identity()["Account"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Principal": {"AWS": account}}]})
    return c.call(c.client("iam").create_role, RoleName=c.name(prefix), AssumeRolePolicyDocument=trust)


@scenario("sts", "test_assume_role_tag_validation")
def tag_validation(c: Caller) -> dict[str, Any]:
    sts = c.client("sts")
    role = _taggable_role(c, "role-1")
    arn = role["Role"]["Arn"]
    out = {"role-1": role}
    out["invalid-transitive-tag-keys"] = c.call(
        sts.assume_role, RoleArn=arn, RoleSessionName="SessionInvalidTransitiveKeys",
        Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}], TransitiveTagKeys=["InvalidKey"])
    # Transitive keys match tags case-insensitively: this one is accepted.
    sts.assume_role(RoleArn=arn, RoleSessionName="SessionInvalidCasingTransitiveKeys",
                    Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}], TransitiveTagKeys=["sessiontag1"])
    out["duplicate-tag-keys-different-casing"] = c.call(
        sts.assume_role, RoleArn=arn, RoleSessionName="SessionInvalidCasingTransitiveKeys",
        Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}, {"Key": "sessiontag1", "Value": "SessionValue2"}],
        TransitiveTagKeys=["sessiontag1"])
    return out


@scenario("sts", "test_iam_role_chaining_override_transitive_tags")
def chained_transitive_tags(c: Caller) -> dict[str, Any]:
    iam, sts = c.client("iam"), c.client("sts")
    role_1, role_2 = _taggable_role(c, "role-1"), _taggable_role(c, "role-2")
    iam.put_role_policy(RoleName=role_1["Role"]["RoleName"], PolicyName=c.name("policy"), PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"],
                                                 "Resource": [role_2["Role"]["Arn"]]}]}))
    keys = sts.assume_role(RoleArn=role_1["Role"]["Arn"], RoleSessionName="Session1",
                           Tags=[{"Key": "SessionTag1", "Value": "SessionValue1"}],
                           TransitiveTagKeys=["SessionTag1"])["Credentials"]
    chained = c._make("sts", aws_access_key_id=keys["AccessKeyId"], aws_secret_access_key=keys["SecretAccessKey"],
                      aws_session_token=keys["SessionToken"])
    arn_2 = role_2["Role"]["Arn"]
    return {
        "role-1": role_1, "role-2": role_2,
        "override-transitive-tag-error": c.call(chained.assume_role, RoleArn=arn_2,
                                                RoleSessionName="Session2SessionTagOverride",
                                                Tags=[{"Key": "SessionTag1", "Value": "SessionValue2"}]),
        "override-transitive-tag-case-ignore-error": c.call(chained.assume_role, RoleArn=arn_2,
                                                            RoleSessionName="Session2SessionTagOverride",
                                                            Tags=[{"Key": "sessiontag1", "Value": "SessionValue2"}]),
    }
