"""IAM provider rules, called directly (no server)."""

from __future__ import annotations

import json
import urllib.parse

import pytest
from provider_world import TRUST_LAMBDA, call, policy_doc

from cloudlet.core.errors import AWSError

ACCT = "123456789012"


def error(exc: pytest.ExceptionInfo[AWSError]) -> tuple[str, int | None, str]:
    return exc.value.code, exc.value.status, exc.value.message


def test_role_lifecycle_and_trust_document_is_url_encoded(iam, root_ctx):
    out = call(iam.create_role, root_ctx, RoleName="app", AssumeRolePolicyDocument=TRUST_LAMBDA,
               Path="/svc/", Description="d", Tags=[{"Key": "team", "Value": "x"}])["Role"]
    assert out["Arn"] == f"arn:aws:iam::{ACCT}:role/svc/app"
    assert out["RoleId"].startswith("AROA") and len(out["RoleId"]) == 21
    assert json.loads(urllib.parse.unquote(out["AssumeRolePolicyDocument"])) == json.loads(TRUST_LAMBDA)
    assert "%7B" in out["AssumeRolePolicyDocument"]
    got = call(iam.get_role, root_ctx, RoleName="APP")["Role"]  # names are case-insensitive
    assert got["RoleName"] == "app" and got["Tags"] == [{"Key": "team", "Value": "x"}]
    with pytest.raises(AWSError) as e:
        call(iam.create_role, root_ctx, RoleName="App", AssumeRolePolicyDocument=TRUST_LAMBDA)
    assert error(e) == ("EntityAlreadyExists", 409, "Role with name App already exists.")
    call(iam.update_role, root_ctx, RoleName="app", MaxSessionDuration=7200)
    assert iam.role_by_arn(ACCT, out["Arn"]).max_session_duration == 7200
    assert iam.role_by_arn(ACCT, f"arn:aws:iam::{ACCT}:role/app") is None  # path is part of the ARN
    call(iam.delete_role, root_ctx, RoleName="app")
    with pytest.raises(AWSError) as e:
        call(iam.get_role, root_ctx, RoleName="app")
    assert error(e) == ("NoSuchEntity", 404, "The role with name app cannot be found.")


def test_malformed_trust_policy_rejected(iam, root_ctx):
    with pytest.raises(AWSError) as e:
        call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument='{"Version": "2012-10-17"')
    assert e.value.code == "MalformedPolicyDocument" and e.value.status == 400


def test_delete_role_conflicts_until_policies_removed(iam, root_ctx):
    call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)
    arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
    call(iam.attach_role_policy, root_ctx, RoleName="r", PolicyArn=arn)
    call(iam.put_role_policy, root_ctx, RoleName="r", PolicyName="inl", PolicyDocument=policy_doc())
    with pytest.raises(AWSError) as e:
        call(iam.delete_role, root_ctx, RoleName="r")
    assert error(e) == ("DeleteConflict", 409, "Cannot delete entity, must detach all policies first.")
    call(iam.detach_role_policy, root_ctx, RoleName="r", PolicyArn=arn)
    with pytest.raises(AWSError) as e:
        call(iam.delete_role, root_ctx, RoleName="r")
    assert error(e) == ("DeleteConflict", 409, "Cannot delete entity, must delete policies first.")
    call(iam.delete_role_policy, root_ctx, RoleName="r", PolicyName="inl")
    call(iam.delete_role, root_ctx, RoleName="r")
    with pytest.raises(AWSError) as e:
        call(iam.detach_role_policy, root_ctx, RoleName="nope", PolicyArn=arn)
    assert e.value.code == "NoSuchEntity"


def test_attach_unknown_policy_and_quota(iam, root_ctx):
    call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)
    bad = f"arn:aws:iam::{ACCT}:policy/missing"
    with pytest.raises(AWSError) as e:
        call(iam.attach_role_policy, root_ctx, RoleName="r", PolicyArn=bad)
    assert error(e) == ("NoSuchEntity", 404, f"Policy {bad} does not exist or is not attachable.")
    for i in range(10):
        call(iam.create_policy, root_ctx, PolicyName=f"p{i}", PolicyDocument=policy_doc())
        call(iam.attach_role_policy, root_ctx, RoleName="r", PolicyArn=f"arn:aws:iam::{ACCT}:policy/p{i}")
    with pytest.raises(AWSError) as e:
        call(iam.attach_role_policy, root_ctx, RoleName="r",
             PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    assert error(e)[:2] == ("LimitExceeded", 409)


def test_policy_versions(iam, root_ctx):
    arn = call(iam.create_policy, root_ctx, PolicyName="pv", PolicyDocument=policy_doc())["Policy"]["Arn"]
    for i in range(2, 6):
        v = call(iam.create_policy_version, root_ctx, PolicyArn=arn, PolicyDocument=policy_doc(f"s3:Get{i}"),
                 SetAsDefault=(i == 3))["PolicyVersion"]
        assert v["VersionId"] == f"v{i}"
    with pytest.raises(AWSError) as e:
        call(iam.create_policy_version, root_ctx, PolicyArn=arn, PolicyDocument=policy_doc())
    assert error(e)[:2] == ("LimitExceeded", 409)
    assert call(iam.get_policy, root_ctx, PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    listed = call(iam.list_policy_versions, root_ctx, PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in listed] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in listed] == [False, False, True, False, False]
    with pytest.raises(AWSError) as e:
        call(iam.delete_policy_version, root_ctx, PolicyArn=arn, VersionId="v3")
    assert e.value.code == "DeleteConflict"
    doc = call(iam.get_policy_version, root_ctx, PolicyArn=arn, VersionId="v3")["PolicyVersion"]["Document"]
    assert json.loads(urllib.parse.unquote(doc))["Statement"][0]["Action"] == "s3:Get3"
    call(iam.set_default_policy_version, root_ctx, PolicyArn=arn, VersionId="v5")
    with pytest.raises(AWSError) as e:
        call(iam.delete_policy, root_ctx, PolicyArn=arn)
    assert e.value.code == "DeleteConflict"
    for v in ("v1", "v2", "v3", "v4"):
        call(iam.delete_policy_version, root_ctx, PolicyArn=arn, VersionId=v)
    call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)
    call(iam.attach_role_policy, root_ctx, RoleName="r", PolicyArn=arn)
    assert call(iam.get_policy, root_ctx, PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    with pytest.raises(AWSError) as e:
        call(iam.delete_policy, root_ctx, PolicyArn=arn)
    assert error(e) == ("DeleteConflict", 409, "Cannot delete a policy attached to entities.")
    call(iam.detach_role_policy, root_ctx, RoleName="r", PolicyArn=arn)
    call(iam.delete_policy, root_ctx, PolicyArn=arn)


def test_aws_managed_policies_are_listed_and_read_only(iam, root_ctx):
    aws = call(iam.list_policies, root_ctx, Scope="AWS", MaxItems=1000)["Policies"]
    names = {p["PolicyName"] for p in aws}
    assert {"AWSLambdaVPCAccessExecutionRole", "AdministratorAccess", "AmazonElastiCacheFullAccess"} <= names
    vpc = next(p for p in aws if p["PolicyName"] == "AWSLambdaVPCAccessExecutionRole")
    assert vpc["Path"] == "/service-role/" and vpc["DefaultVersionId"] == "v3"
    doc = call(iam.get_policy_version, root_ctx, PolicyArn=vpc["Arn"], VersionId="v3")["PolicyVersion"]["Document"]
    actions = json.loads(urllib.parse.unquote(doc))["Statement"][0]["Action"]
    assert "ec2:CreateNetworkInterface" in actions and "logs:PutLogEvents" in actions
    with pytest.raises(AWSError) as e:
        call(iam.create_policy_version, root_ctx, PolicyArn=vpc["Arn"], PolicyDocument=policy_doc())
    assert e.value.code == "UnmodifiableEntity"
    assert call(iam.list_policies, root_ctx, Scope="Local")["Policies"] == []
    assert call(iam.list_policies, root_ctx, OnlyAttached=True)["Policies"] == []
    sr = call(iam.list_policies, root_ctx, PathPrefix="/service-role/")["Policies"]
    assert {p["PolicyName"] for p in sr} == {"AWSLambdaBasicExecutionRole", "AWSLambdaVPCAccessExecutionRole",
                                             "AWSLambdaRole"}


def test_pagination_with_marker(iam, root_ctx):
    for i in range(5):
        call(iam.create_role, root_ctx, RoleName=f"role{i}", AssumeRolePolicyDocument=TRUST_LAMBDA)
    seen, marker = [], None
    while True:
        params = {"MaxItems": 2, **({"Marker": marker} if marker else {})}
        page = iam.list_roles(root_ctx, params)
        seen += [r["RoleName"] for r in page["Roles"]]
        if not page["IsTruncated"]:
            break
        marker = page["Marker"]
    assert seen == [f"role{i}" for i in range(5)]


def test_users_access_keys_register_credentials(iam, world, root_ctx, ctx_for):
    user = call(iam.create_user, root_ctx, UserName="alice")["User"]
    assert user["UserId"].startswith("AIDA")
    k1 = call(iam.create_access_key, root_ctx, UserName="alice")["AccessKey"]
    assert k1["AccessKeyId"].startswith("AKIA") and len(k1["AccessKeyId"]) == 20
    cred = world.credentials.get(k1["AccessKeyId"])
    assert cred.secret_access_key == k1["SecretAccessKey"] and cred.principal.arn == user["Arn"]
    assert cred.principal.type == "User" and cred.active
    call(iam.create_access_key, root_ctx, UserName="alice")
    with pytest.raises(AWSError) as e:
        call(iam.create_access_key, root_ctx, UserName="alice")
    assert error(e) == ("LimitExceeded", 409, "Cannot exceed quota for AccessKeysPerUser: 2")
    call(iam.update_access_key, root_ctx, UserName="alice", AccessKeyId=k1["AccessKeyId"], Status="Inactive")
    assert not world.credentials.get(k1["AccessKeyId"]).active
    listed = call(iam.list_access_keys, root_ctx, UserName="alice")["AccessKeyMetadata"]
    assert {k["Status"] for k in listed} == {"Active", "Inactive"}
    # GetUser without a name answers for the calling user.
    me = iam.get_user(ctx_for(cred.principal), {})["User"]
    assert me["UserName"] == "alice"
    with pytest.raises(AWSError) as e:
        call(iam.delete_user, root_ctx, UserName="alice")
    assert e.value.code == "DeleteConflict"
    for k in listed:
        call(iam.delete_access_key, root_ctx, UserName="alice", AccessKeyId=k["AccessKeyId"])
    assert world.credentials.get(k1["AccessKeyId"]) is None
    call(iam.delete_user, root_ctx, UserName="alice")
    assert not iam.user_exists(ACCT, f"arn:aws:iam::{ACCT}:user/alice")


def test_principal_policies_for_user_with_groups_boundary_and_tags(iam, world, root_ctx):
    call(iam.create_user, root_ctx, UserName="bob", Tags=[{"Key": "dept", "Value": "eng"}])
    call(iam.put_user_policy, root_ctx, UserName="bob", PolicyName="own", PolicyDocument=policy_doc("s3:Get*"))
    call(iam.create_group, root_ctx, GroupName="devs")
    call(iam.add_user_to_group, root_ctx, GroupName="devs", UserName="bob")
    call(iam.attach_group_policy, root_ctx, GroupName="devs", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
    call(iam.put_user_permissions_boundary, root_ctx, UserName="bob",
         PermissionsBoundary="arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    key = call(iam.create_access_key, root_ctx, UserName="bob")["AccessKey"]
    principal = world.credentials.get(key["AccessKeyId"]).principal
    pp = iam.principal_policies(principal)
    sources = [d.source for d in pp.identity]
    assert "inline:user/bob/own" in sources and "arn:aws:iam::aws:policy/IAMReadOnlyAccess" in sources
    assert pp.boundary.source == "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess"
    assert pp.principal_tags == {"dept": "eng"}
    assert iam.principal_policies(world.root).identity == []
    with pytest.raises(AWSError) as e:
        call(iam.delete_group, root_ctx, GroupName="devs")
    assert e.value.code == "DeleteConflict"


def test_tags_are_case_insensitive_and_limited(iam, root_ctx):
    call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)
    call(iam.tag_role, root_ctx, RoleName="r", Tags=[{"Key": "Env", "Value": "a"}])
    call(iam.tag_role, root_ctx, RoleName="r", Tags=[{"Key": "env", "Value": "b"}])
    assert call(iam.list_role_tags, root_ctx, RoleName="r")["Tags"] == [{"Key": "env", "Value": "b"}]
    with pytest.raises(AWSError) as e:
        call(iam.tag_role, root_ctx, RoleName="r", Tags=[{"Key": f"k{i}", "Value": ""} for i in range(50)])
    assert e.value.code == "LimitExceeded"
    call(iam.untag_role, root_ctx, RoleName="r", TagKeys=["ENV"])
    assert call(iam.list_role_tags, root_ctx, RoleName="r")["Tags"] == []


def test_list_entities_for_policy(iam, root_ctx):
    arn = "arn:aws:iam::aws:policy/AWSLambda_ReadOnlyAccess"
    call(iam.create_role, root_ctx, RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)
    call(iam.create_user, root_ctx, UserName="u", PermissionsBoundary=arn)
    call(iam.attach_role_policy, root_ctx, RoleName="r", PolicyArn=arn)
    out = call(iam.list_entities_for_policy, root_ctx, PolicyArn=arn)
    assert [r["RoleName"] for r in out["PolicyRoles"]] == ["r"]
    assert [u["UserName"] for u in out["PolicyUsers"]] == ["u"]
    only = call(iam.list_entities_for_policy, root_ctx, PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")
    assert only["PolicyUsers"] == [] and len(only["PolicyRoles"]) == 1
    got = call(iam.get_policy, root_ctx, PolicyArn=arn)["Policy"]
    assert (got["AttachmentCount"], got["PermissionsBoundaryUsageCount"]) == (1, 1)
    assert call(iam.list_instance_profiles_for_role, root_ctx, RoleName="r")["InstanceProfiles"] == []
    with pytest.raises(AWSError) as e:
        call(iam.list_instance_profiles_for_role, root_ctx, RoleName="gone")
    assert e.value.code == "NoSuchEntity"
