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
