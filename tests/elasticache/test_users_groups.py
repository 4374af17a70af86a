"""RBAC users and groups: AWS's rules, transitions, and valkey ACLs that follow them."""

from __future__ import annotations

import os

import pytest
import redis
from ec_harness import Harness, harness  # noqa: F401  (fixture)

from cloudlet.core.errors import AWSError

PW = "a-very-long-password-1"
# cloudlet's admin is an ACL user of the proxy data plane; natively a module user ACL never shows.
ADMINS = set() if os.environ.get("CLOUDLET_DATAPLANE", "proxy").strip().lower() == "native" else {"cloudlet-admin"}


def _err(h: Harness, op: str, **params) -> str:
    with pytest.raises(AWSError) as e:
        h.call(op, **params)
    return e.value.code


def _tutorial_users(h: Harness) -> None:
    h.call("CreateUser", UserName="default", UserId="default-user-disabled", Engine="redis",
           AuthenticationMode={"Type": "no-password-required"}, AccessString="off +get ~keys*")
    h.call("CreateUser", UserName="iam-user-01", UserId="iam-user-01", Engine="redis",
           AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")


def test_builtin_default_user(harness: Harness) -> None:
    users = harness.call("DescribeUsers")["Users"]
    assert users == [{
        "UserId": "default", "UserName": "default", "Status": "active", "Engine": "redis",
        "MinimumEngineVersion": "6.0", "AccessString": "on ~* +@all", "UserGroupIds": [],
        "Authentication": {"Type": "no-password", "PasswordCount": 0},
        "ARN": "arn:aws:elasticache:us-east-1:123456789012:user:default",
    }]
    assert _err(harness, "DeleteUser", UserId="default") == "InvalidParameterValue"
    assert _err(harness, "ModifyUser", UserId="default", AccessString="off") == "InvalidParameterValue"
    assert _err(harness, "CreateUser", UserId="default", UserName="default", Engine="redis",
                NoPasswordRequired=True, AccessString="on ~* +@all") == "UserAlreadyExists"


def test_user_validation(harness: Harness) -> None:
    base = {"UserName": "u1", "UserId": "u1", "Engine": "valkey", "AccessString": "on ~* +@all"}
    bad_pw = dict(base, AuthenticationMode={"Type": "password", "Passwords": ["short"]})
    assert _err(harness, "CreateUser", **bad_pw) == "InvalidParameterValue"
    forbidden = dict(base, AuthenticationMode={"Type": "password", "Passwords": ["abcdefghijklmnop@"]})
    assert _err(harness, "CreateUser", **forbidden) == "InvalidParameterValue"
    three = dict(base, AuthenticationMode={"Type": "password", "Passwords": [PW, PW + "2", PW + "3"]})
    assert _err(harness, "CreateUser", **three) == "InvalidParameterValue"
    iam_pw = dict(base, AuthenticationMode={"Type": "iam", "Passwords": [PW]})
    assert _err(harness, "CreateUser", **iam_pw) == "InvalidParameterCombination"
    iam_name = dict(base, UserName="other", AuthenticationMode={"Type": "iam"})
    assert _err(harness, "CreateUser", **iam_name) == "InvalidParameterValue"
    both = dict(base, Passwords=[PW], NoPasswordRequired=True)
    assert _err(harness, "CreateUser", **both) == "InvalidParameterCombination"
    assert _err(harness, "CreateUser", **base) == "InvalidParameterValue"  # no authentication at all
    for access in ["on nopass ~*", "on >secret ~*", "reset", "on ~* +@nosuchcategory", "on ~* !x"]:
        assert _err(harness, "CreateUser", **dict(base, NoPasswordRequired=True, AccessString=access)) == \
            "InvalidParameterValue", access
    assert _err(harness, "CreateUser", **dict(base, UserId="9bad", NoPasswordRequired=True)) == "InvalidParameterValue"
    ok = harness.call("CreateUser", **dict(base, UserId="U1", Passwords=[PW]))
    assert (ok["UserId"], ok["Authentication"], ok["Status"]) == ("u1", {"Type": "password", "PasswordCount": 1},
                                                                  "active")
    assert _err(harness, "CreateUser", **dict(base, Passwords=[PW])) == "UserAlreadyExists"
    assert _err(harness, "DescribeUsers", UserId="nobody") == "UserNotFound"


def test_group_rules(harness: Harness) -> None:
    _tutorial_users(harness)
    harness.call("CreateUser", UserName="default", UserId="another-default", Engine="redis",
                 NoPasswordRequired=True, AccessString="on ~* +@all")
    assert _err(harness, "CreateUserGroup", UserGroupId="g1", Engine="redis", UserIds=["iam-user-01"]) == \
        "DefaultUserRequired"
    assert _err(harness, "CreateUserGroup", UserGroupId="g1", Engine="redis",
                UserIds=["default-user-disabled", "another-default"]) == "DuplicateUserName"
    assert _err(harness, "CreateUserGroup", UserGroupId="g1", Engine="redis",
                UserIds=["default-user-disabled", "ghost"]) == "UserNotFound"
    # Valkey groups: no default user needed, but only password/iam users.
    assert _err(harness, "CreateUserGroup", UserGroupId="g1", Engine="valkey",
                UserIds=["default-user-disabled"]) == "InvalidParameterValue"
    vg = harness.call("CreateUserGroup", UserGroupId="VG", Engine="valkey", UserIds=["iam-user-01"])
    assert (vg["UserGroupId"], vg["Status"], vg["UserIds"]) == ("vg", "creating", ["iam-user-01"])
    assert _err(harness, "CreateUserGroup", UserGroupId="vg", Engine="valkey", UserIds=["iam-user-01"]) == \
        "UserGroupAlreadyExists"
    harness.settle()
    assert harness.call("DescribeUserGroups", UserGroupId="vg")["UserGroups"][0]["Status"] == "active"
    assert harness.call("DescribeUsers", UserId="iam-user-01")["Users"][0]["UserGroupIds"] == ["vg"]
    filtered = harness.call("DescribeUsers", Filters=[{"Name": "user-group-id", "Values": ["vg"]}])["Users"]
    assert [u["UserId"] for u in filtered] == ["iam-user-01"]
    # A redis cache cannot take a valkey group.
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="rc", Engine="redis", UserGroupId="vg") == \
        "InvalidParameterValue"
    assert _err(harness, "DescribeUserGroups", UserGroupId="none") == "UserGroupNotFound"
    for arn in (vg["ARN"], "arn:aws:elasticache:us-east-1:123456789012:user:iam-user-01"):
        harness.call("AddTagsToResource", ResourceName=arn, Tags=[{"Key": "team", "Value": "cache"}])
        assert harness.call("ListTagsForResource", ResourceName=arn)["TagList"] == [{"Key": "team", "Value": "cache"}]
    assert _err(harness, "ListTagsForResource",
                ResourceName="arn:aws:elasticache:us-east-1:123456789012:user:ghost") == "UserNotFound"
    assert _err(harness, "ListTagsForResource",
                ResourceName="arn:aws:elasticache:us-east-1:123456789012:usergroup:ghost") == "UserGroupNotFound"


def test_tutorial_users_group_and_acls(harness: Harness) -> None:
    """Tutorial steps 1.1, 1.2, 1.4 and the cache/user/group clean-up of step 4."""
    harness.call("CreateServerlessCache", ServerlessCacheName="cache-01", Engine="valkey",
                 Description="ElastiCache IAM auth application")
    harness.wait_status("cache-01", "available")
    _tutorial_users(harness)
    harness.call("CreateUserGroup", UserGroupId="iam-user-group-01", Engine="redis",
                 UserIds=["default-user-disabled", "iam-user-01"])
    harness.settle()
    out = harness.call("ModifyServerlessCache", ServerlessCacheName="cache-01", UserGroupId="iam-user-group-01")
    assert out["ServerlessCache"]["Status"] == "modifying"
    assert out["ServerlessCache"]["UserGroupId"] == "iam-user-group-01"
    harness.wait_status("cache-01", "available")
    harness.settle()
    group = harness.call("DescribeUserGroups", UserGroupId="iam-user-group-01")["UserGroups"][0]
    assert group["ServerlessCaches"] == ["cache-01"]
    admin = harness.admin("cache-01")
    assert set(admin.acl_users()) == {*ADMINS, "default", "iam-user-01"}
    default_rule = admin.acl_getuser("default")
    assert "off" in default_rule["flags"]
    iam = harness.as_user("cache-01", "iam-user-01")
    iam.set("key", "value")
    assert iam.get("key") == "value"
    with pytest.raises(redis.AuthenticationError):
        harness.as_user("cache-01", "default").ping()
    # The endpoint spec the data plane gets lists the group's users.
    st = harness.provider.store.get("123456789012", "us-east-1")
    spec = harness.provider.endpoint(st, harness.cache("cache-01"))
    assert spec.users is not None and spec.users["iam-user-01"].auth_type == "iam"
    assert spec.users["default"].auth_type == "no-password"
    # A group in use cannot be deleted.
    assert _err(harness, "DeleteUserGroup", UserGroupId="iam-user-group-01") == "InvalidUserGroupState"
    # A default-named user still in a group cannot be deleted.
    assert _err(harness, "DeleteUser", UserId="default-user-disabled") == "DefaultUserAssociatedToUserGroup"
    # Clean-up as the tutorial does it.
    harness.call("DeleteServerlessCache", ServerlessCacheName="cache-01")
    harness.wait_status("cache-01", None)
    gone = harness.call("DeleteUser", UserId="iam-user-01")
    assert gone["Status"] == "deleting"
    harness.call("DeleteUserGroup", UserGroupId="iam-user-group-01")
    harness.settle()
    assert _err(harness, "DescribeUserGroups", UserGroupId="iam-user-group-01") == "UserGroupNotFound"
    assert _err(harness, "DescribeUsers", UserId="iam-user-01") == "UserNotFound"
    harness.call("DeleteUser", UserId="default-user-disabled")
    harness.settle()
    assert [u["UserId"] for u in harness.call("DescribeUsers")["Users"]] == ["default"]


def test_user_and_group_changes_reach_valkey(harness: Harness) -> None:
    harness.call("CreateUser", UserId="app", UserName="app", Engine="valkey",
                 AuthenticationMode={"Type": "password", "Passwords": [PW]}, AccessString="on ~app:* +@all")
    harness.call("CreateUser", UserId="ro", UserName="ro", Engine="valkey",
                 AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@read")
    harness.call("CreateUserGroup", UserGroupId="vg", Engine="valkey", UserIds=["app"])
    harness.settle()
    harness.call("CreateServerlessCache", ServerlessCacheName="acl", Engine="valkey", UserGroupId="vg")
    harness.wait_status("acl", "available")
    app = harness.as_user("acl", "app")
    app.set("app:1", "x")
    with pytest.raises(redis.exceptions.NoPermissionError):
        app.set("other", "x")
    # Default user is off in a valkey group without a default-named user.
    with pytest.raises(redis.AuthenticationError):
        harness.as_user("acl", "default").ping()
    # ModifyUser: access string changes reach valkey after the modifying transition.
    assert harness.call("ModifyUser", UserId="app", AppendAccessString="~other")["Status"] == "modifying"
    assert _err(harness, "ModifyUser", UserId="app", AccessString="on") == "InvalidUserState"
    harness.settle()
    harness.as_user("acl", "app").set("other", "y")
    # ModifyUserGroup: add ro, remove app (pending changes shown while modifying).
    mod = harness.call("ModifyUserGroup", UserGroupId="vg", UserIdsToAdd=["ro"], UserIdsToRemove=["app"])
    assert mod["Status"] == "modifying"
    assert mod["PendingChanges"] == {"UserIdsToRemove": ["app"], "UserIdsToAdd": ["ro"]}
    harness.settle()
    assert set(harness.admin("acl").acl_users()) == {*ADMINS, "default", "ro"}
    ro = harness.as_user("acl", "ro")
    assert ro.get("other") == "y"
    with pytest.raises(redis.exceptions.NoPermissionError):
        ro.set("other", "z")
    # Removing the group from the cache re-opens the default user.
    harness.call("ModifyServerlessCache", ServerlessCacheName="acl", RemoveUserGroup=True)
    harness.wait_status("acl", "available")
    harness.settle()
    assert set(harness.admin("acl").acl_users()) == {*ADMINS, "default"}
    assert harness.as_user("acl", "default").get("other") == "y"


def test_acls_survive_crash_restart(harness: Harness) -> None:
    import os
    import signal

    harness.call("CreateUser", UserId="app", UserName="app", Engine="valkey",
                 AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
    harness.call("CreateUserGroup", UserGroupId="vg", Engine="valkey", UserIds=["app"])
    harness.settle()
    harness.call("CreateServerlessCache", ServerlessCacheName="acl2", Engine="valkey", UserGroupId="vg")
    harness.wait_status("acl2", "available")
    harness.as_user("acl2", "app").set("a", "1")
    os.kill(harness.cache("acl2").process.pid, signal.SIGKILL)
    harness.wait_for(lambda: harness.cache("acl2").process.restarts == 1)

    def ready() -> bool:
        try:
            return harness.as_user("acl2", "app").get("a") == "1"
        except redis.RedisError:
            return False

    harness.wait_for(ready)


def test_describe_users_filters_and_deleting_group(harness: Harness) -> None:
    _tutorial_users(harness)
    harness.call("CreateUserGroup", UserGroupId="g", Engine="redis", UserIds=["default-user-disabled"])
    harness.settle()
    by_id = harness.call("DescribeUsers", Filters=[{"Name": "user-id", "Values": ["iam-user-01"]}])["Users"]
    assert [u["UserId"] for u in by_id] == ["iam-user-01"]
    redis_users = harness.call("DescribeUsers", Engine="redis")["Users"]
    assert {u["UserId"] for u in redis_users} == {"default", "default-user-disabled", "iam-user-01"}
    assert _err(harness, "DescribeUsers", Filters=[{"Name": "colour", "Values": ["x"]}]) == "InvalidParameterValue"
    page1 = harness.call("DescribeUsers", MaxRecords=2)
    page2 = harness.call("DescribeUsers", MaxRecords=2, Marker=page1["Marker"])
    assert len(page1["Users"]) == 2 and len(page2["Users"]) == 1 and "Marker" not in page2
    harness.call("DeleteUserGroup", UserGroupId="g")
    assert _err(harness, "CreateServerlessCache", ServerlessCacheName="c", Engine="valkey",
                UserGroupId="g") == "InvalidUserGroupState"
    assert _err(harness, "ModifyUserGroup", UserGroupId="g", UserIdsToAdd=["iam-user-01"]) == "InvalidUserGroupState"
