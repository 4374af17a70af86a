"""A user's policies are found by its name first, the id deciding: a rename, or a new user of the
same name, must still give each principal its own user's policies and nobody else's."""

from __future__ import annotations

import dataclasses

from provider_world import call, policy_doc


def sources(iam, principal) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.source for d in iam.principal_policies(principal).identity]


def test_renamed_user_keeps_its_policies(iam, world, root_ctx):  # type: ignore[no-untyped-def]
    call(iam.create_user, root_ctx, UserName="carol")
    call(iam.put_user_policy, root_ctx, UserName="carol", PolicyName="p", PolicyDocument=policy_doc("s3:Get*"))
    key = call(iam.create_access_key, root_ctx, UserName="carol")["AccessKey"]
    principal = world.credentials.get(key["AccessKeyId"]).principal
    assert sources(iam, principal) == ["inline:user/carol/p"]
    call(iam.update_user, root_ctx, UserName="carol", NewUserName="dave")
    principal = world.credentials.get(key["AccessKeyId"]).principal
    assert sources(iam, principal) == ["inline:user/dave/p"]
    # A principal still naming the old name (as issued before the rename) is the same user.
    stale = dataclasses.replace(principal, name="carol")
    assert sources(iam, stale) == ["inline:user/dave/p"]


def test_new_user_of_the_same_name_is_another_user(iam, world, root_ctx):  # type: ignore[no-untyped-def]
    call(iam.create_user, root_ctx, UserName="erin")
    key = call(iam.create_access_key, root_ctx, UserName="erin")["AccessKey"]
    old = world.credentials.get(key["AccessKeyId"]).principal
    call(iam.delete_access_key, root_ctx, UserName="erin", AccessKeyId=key["AccessKeyId"])
    call(iam.delete_user, root_ctx, UserName="erin")
    call(iam.create_user, root_ctx, UserName="erin")
    call(iam.put_user_policy, root_ctx, UserName="erin", PolicyName="admin", PolicyDocument=policy_doc("*"))
    # The old principal's user is gone: it gets no policies, not the new erin's.
    assert sources(iam, old) == []
    key = call(iam.create_access_key, root_ctx, UserName="erin")["AccessKey"]
    assert sources(iam, world.credentials.get(key["AccessKeyId"]).principal) == ["inline:user/erin/admin"]
