"""STS provider rules, called directly (no server)."""

from __future__ import annotations

import json
import time

import pytest
from provider_world import TRUST_LAMBDA, call, policy_doc

from cloudlet.core.errors import AWSError

ACCT = "123456789012"


def trust_account() -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]})


def make_user(iam, ctx, name: str, world, action: str | None = None):
    call(iam.create_user, ctx, UserName=name)
    if action:
        call(iam.put_user_policy, ctx, UserName=name, PolicyName="p", PolicyDocument=policy_doc(action))
    key = call(iam.create_access_key, ctx, UserName=name)["AccessKey"]
    return world.credentials.get(key["AccessKeyId"]).principal


def test_caller_identity_of_root_user_and_role_session(iam, sts, world, root_ctx, ctx_for):
    assert call(sts.get_caller_identity, root_ctx) == {
        "UserId": ACCT, "Account": ACCT, "Arn": f"arn:aws:iam::{ACCT}:root"}
    user = make_user(iam, root_ctx, "u1", world)
    got = call(sts.get_caller_identity, ctx_for(user))
    assert got["Arn"] == f"arn:aws:iam::{ACCT}:user/u1" and got["UserId"].startswith("AIDA")
    role = call(iam.create_role, root_ctx, RoleName="fn", AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]
    cred = sts.issue_role_session(role["Arn"], "sess1", 900)
    assert cred.access_key_id.startswith("ASIA") and cred.session_token
    assert world.credentials.get(cred.access_key_id) is cred
    got = call(sts.get_caller_identity, ctx_for(cred.principal))
    assert got == {"UserId": f"{role['RoleId']}:sess1", "Account": ACCT,
                   "Arn": f"arn:aws:sts::{ACCT}:assumed-role/fn/sess1"}
    assert 890 <= cred.expires_at - time.time() <= 900


def test_assume_role_checks_trust_and_identity_policy(iam, sts, world, root_ctx, ctx_for):
    arn = call(iam.create_role, root_ctx, RoleName="target", AssumeRolePolicyDocument=trust_account(),
               MaxSessionDuration=7200)["Role"]["Arn"]
    nobody = make_user(iam, root_ctx, "nobody", world)
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, ctx_for(nobody, "sts"), RoleArn=arn, RoleSessionName="s1")
    assert e.value.code == "AccessDenied" and e.value.status == 403
    assert e.value.message.startswith(
        f"User: arn:aws:iam::{ACCT}:user/nobody is not authorized to perform: sts:AssumeRole on resource: {arn}")
    allowed = make_user(iam, root_ctx, "allowed", world, "sts:AssumeRole")
    out = call(sts.assume_role, ctx_for(allowed, "sts"), RoleArn=arn, RoleSessionName="s1",
               DurationSeconds=7200, Tags=[{"Key": "project", "Value": "x"}])
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCT}:assumed-role/target/s1"
    assert isinstance(out["PackedPolicySize"], int)
    session = world.credentials.get(creds["AccessKeyId"]).principal
    assert session.role_arn == arn and dict(session.session_tags) == {"project": "x"}
    assert iam.principal_policies(session).principal_tags == {"project": "x"}
    # Role chaining is limited to one hour.
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, ctx_for(session, "sts"), RoleArn=arn, RoleSessionName="s2", DurationSeconds=3601)
    assert e.value.code == "ValidationError" and "role chaining" in e.value.message


def test_assume_role_duration_and_session_name_rules(iam, sts, root_ctx):
    arn = call(iam.create_role, root_ctx, RoleName="t", AssumeRolePolicyDocument=trust_account())["Role"]["Arn"]
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, root_ctx, RoleArn=arn, RoleSessionName="s1", DurationSeconds=3700)
    assert (e.value.code, e.value.message) == (
        "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, root_ctx, RoleArn=arn, RoleSessionName="bad name")
    assert e.value.code == "ValidationError" and "regular expression pattern" in e.value.message
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, root_ctx, RoleArn=arn, RoleSessionName="s")
    assert "length greater than or equal to 2" in e.value.message
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, root_ctx, RoleArn=f"arn:aws:iam::{ACCT}:role/none", RoleSessionName="ok")
    assert e.value.code == "AccessDenied"


def test_session_policy_is_carried_to_the_session(iam, sts, world, root_ctx):
    arn = call(iam.create_role, root_ctx, RoleName="t", AssumeRolePolicyDocument=trust_account())["Role"]["Arn"]
    out = call(sts.assume_role, root_ctx, RoleArn=arn, RoleSessionName="s1", Policy=policy_doc("s3:GetObject"),
               PolicyArns=[{"arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaRole"}])
    session = world.credentials.get(out["Credentials"]["AccessKeyId"]).principal
    docs = iam.principal_policies(session).session
    assert [d.document["Statement"][0]["Action"] for d in docs] == ["s3:GetObject", ["lambda:InvokeFunction"]]
    with pytest.raises(AWSError) as e:
        call(sts.assume_role, root_ctx, RoleArn=arn, RoleSessionName="s1", Policy="{nope")
    assert e.value.code == "MalformedPolicyDocument"


def test_get_session_token(iam, sts, world, root_ctx, ctx_for):
    user = make_user(iam, root_ctx, "u", world)
    creds = call(sts.get_session_token, ctx_for(user, "sts"), DurationSeconds=900)["Credentials"]
    cred = world.credentials.get(creds["AccessKeyId"])
    assert cred.principal.arn == user.arn and cred.session_token == creds["SessionToken"]
    assert not cred.expired() and cred.expired(time.time() + 901)
    with pytest.raises(AWSError) as e:
        call(sts.get_session_token, ctx_for(cred.principal, "sts"))
    assert e.value.code == "AccessDenied"
    root_creds = call(sts.get_session_token, root_ctx, DurationSeconds=7200)["Credentials"]
    assert world.credentials.get(root_creds["AccessKeyId"]).expires_at <= time.time() + 3600
