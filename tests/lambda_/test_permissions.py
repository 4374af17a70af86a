"""Lambda resource-based policies (AddPermission, GetPolicy, RemovePermission) through the real
server with boto3, and their effect on who may invoke."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from lambda_helpers import lambda_role, make_zip

ROLE_NAME = "lambda-permissions-role"
SRC = "def handler(event, context):\n    return {'ok': True, 'arn': context.invoked_function_arn}\n"


@pytest.fixture(scope="module")
def lam(boto3_client: Any) -> Any:
    return boto3_client("lambda")


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME)


def _function(lam: Any, role: str, name: str) -> str:
    arn = lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                              Code={"ZipFile": make_zip({"app.py": SRC})})["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return str(arn)


@pytest.fixture
def fn(lam: Any, role_arn: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    name = f"perm-{request.node.name.removeprefix('test_')[:40].replace('_', '-')}"
    arn = _function(lam, role_arn, name)
    yield name, arn
    lam.delete_function(FunctionName=name)


def _code(e: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    err = e.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]


def test_add_get_remove(lam: Any, fn: tuple[str, str]) -> None:
    name, arn = fn
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert _code(e) == ("ResourceNotFoundException", 404, "The resource you requested does not exist.")
    before = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]

    out = lam.add_permission(FunctionName=name, StatementId="sns", Action="lambda:InvokeFunction",
                             Principal="sns.amazonaws.com")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 201
    # Lambda answers the statement as compact JSON, keys in its own order.
    assert out["Statement"] == (
        '{"Sid":"sns","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},'
        f'"Action":"lambda:InvokeFunction","Resource":"{arn}"}}'
    )
    account = arn.split(":")[4]
    lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:*", Principal=account)
    lam.add_permission(FunctionName=name, StatementId="all", Action="lambda:GetFunction", Principal="*")

    got = lam.get_policy(FunctionName=name)
    policy = json.loads(got["Policy"])
    assert got["Policy"].startswith('{"Version":"2012-10-17","Id":"default","Statement":[')
    assert [s["Sid"] for s in policy["Statement"]] == ["sns", "acct", "all"]
    assert policy["Statement"][1]["Principal"] == {"AWS": f"arn:aws:iam::{account}:root"}
    assert policy["Statement"][2]["Principal"] == "*"
    # A policy change is a new revision of the function, and GetPolicy reports it.
    after = lam.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    assert after != before and got["RevisionId"] == after

    out = lam.remove_permission(FunctionName=name, StatementId="acct")
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [s["Sid"] for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]] == ["sns", "all"]
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="acct")
    assert _code(e) == ("ResourceNotFoundException", 404, "Statement acct is not found in resource policy.")
    lam.remove_permission(FunctionName=name, StatementId="sns")
    lam.remove_permission(FunctionName=name, StatementId="all")
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert _code(e)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="sns")
    assert _code(e) == ("ResourceNotFoundException", 404, "No policy is associated with the given resource.")


def test_errors(lam: Any, fn: tuple[str, str]) -> None:
    name, _arn = fn
    lam.add_permission(FunctionName=name, StatementId="dup", Action="lambda:InvokeFunction", Principal="*")
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="dup", Action="lambda:InvokeFunction", Principal="*")
    assert _code(e) == (
        "ResourceConflictException", 409,
        "The statement id (dup) provided already exists. Please provide a new statement id, "
        "or remove the existing statement.",
    )
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="x", Action="lambda:InvokeFunction", Principal="*",
                           RevisionId="00000000-0000-0000-0000-000000000000")
    assert _code(e)[:2] == ("PreconditionFailedException", 412)
    rev = lam.get_policy(FunctionName=name)["RevisionId"]
    lam.add_permission(FunctionName=name, StatementId="x", Action="lambda:InvokeFunction", Principal="*",
                       RevisionId=rev)
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName=name, StatementId="x", RevisionId=rev)
    assert _code(e)[:2] == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="l", Action="lambda:InvokeFunction", Principal="*",
                           Qualifier="$LATEST")
    assert _code(e) == ("InvalidParameterValueException", 400,
                        "We currently do not support adding policies for $LATEST.")
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="p", Action="lambda:InvokeFunction",
                           Principal="arn:aws:iam::000000000000:user/nobody-here")
    assert _code(e)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as e:
        lam.add_permission(FunctionName=name, StatementId="q", Action="lambda:InvokeFunction", Principal="*",
                           Qualifier="nope")
    assert _code(e)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName="perm-no-such-function")
    assert _code(e)[:2] == ("ResourceNotFoundException", 404)
    assert "Function not found" in _code(e)[2]
    with pytest.raises(ClientError) as e:
        lam.remove_permission(FunctionName="perm-no-such-function", StatementId="x")
    assert _code(e)[:2] == ("ResourceNotFoundException", 404)
    assert _code(e)[2].startswith("No policy found for: arn:aws:lambda:")


def test_conditions_rendered_as_aws_does(lam: Any, fn: tuple[str, str]) -> None:
    name, arn = fn
    account = arn.split(":")[4]
    out = lam.add_permission(FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction",
                             Principal="s3.amazonaws.com", SourceArn="arn:aws:s3:::my-bucket",
                             SourceAccount=account)
    assert json.loads(out["Statement"])["Condition"] == {
        "StringEquals": {"AWS:SourceAccount": account},
        "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::my-bucket"},
    }
    assert '"Condition":{"StringEquals":{"AWS:SourceAccount":' in out["Statement"]
    out = lam.add_permission(FunctionName=name, StatementId="org", Action="lambda:InvokeFunction",
                             Principal="*", PrincipalOrgID="o-a1b2c3d4e5")
    assert json.loads(out["Statement"])["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    out = lam.add_permission(FunctionName=name, StatementId="url", Action="lambda:InvokeFunctionUrl",
                             Principal="*", FunctionUrlAuthType="NONE")
    assert json.loads(out["Statement"])["Condition"] == {"StringEquals": {"lambda:FunctionUrlAuthType": "NONE"}}


def test_qualified_policies(lam: Any, fn: tuple[str, str]) -> None:
    name, arn = fn
    lam.publish_version(FunctionName=name)
    alias_rev = lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")["RevisionId"]
    out = lam.add_permission(FunctionName=name, StatementId="v1", Action="lambda:InvokeFunction",
                             Principal="*", Qualifier="1")
    assert json.loads(out["Statement"])["Resource"] == f"{arn}:1"
    # The same statement id may be used once per qualifier.
    lam.add_permission(FunctionName=f"{name}:live", StatementId="v1", Action="lambda:InvokeFunction", Principal="*")
    got = lam.get_policy(FunctionName=name, Qualifier="live")
    assert json.loads(got["Policy"])["Statement"][0]["Resource"] == f"{arn}:live"
    assert got["RevisionId"] == lam.get_alias(FunctionName=name, Name="live")["RevisionId"] != alias_rev
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name)
    assert _code(e)[0] == "ResourceNotFoundException"
    lam.delete_alias(FunctionName=name, Name="live")
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as e:
        lam.get_policy(FunctionName=name, Qualifier="live")
    assert _code(e)[0] == "ResourceNotFoundException"


def test_resource_policy_grants_invoke(boto3_client: Any, lam: Any, fn: tuple[str, str]) -> None:
    name, arn = fn
    iam = boto3_client("iam")
    user = f"perm-invoker-{int(time.time() * 1000) % 10**8}"
    user_arn = iam.create_user(UserName=user)["User"]["Arn"]
    key = iam.create_access_key(UserName=user)["AccessKey"]
    as_user = boto3_client("lambda", aws_access_key_id=key["AccessKeyId"],
                           aws_secret_access_key=key["SecretAccessKey"])

    def invoke() -> dict[str, Any]:
        return dict(json.loads(as_user.invoke(FunctionName=name)["Payload"].read()))

    with pytest.raises(ClientError) as e:
        invoke()
    assert _code(e)[:2] == ("AccessDeniedException", 403)
    assert f"User: {user_arn} is not authorized to perform: lambda:InvokeFunction on resource: {arn}" in _code(e)[2]

    # A statement naming the account only delegates to the account's identity policies: still denied.
    lam.add_permission(FunctionName=name, StatementId="acct", Action="lambda:InvokeFunction",
                       Principal=arn.split(":")[4])
    with pytest.raises(ClientError):
        invoke()
    # A statement with a condition the request cannot meet (no source ARN on a direct call): denied.
    lam.add_permission(FunctionName=name, StatementId="cond", Action="lambda:InvokeFunction",
                       Principal=user_arn, SourceArn="arn:aws:s3:::some-bucket")
    with pytest.raises(ClientError):
        invoke()
    lam.add_permission(FunctionName=name, StatementId="user", Action="lambda:InvokeFunction", Principal=user_arn)
    assert invoke() == {"ok": True, "arn": arn}
    # The grant covers only the action it names.
    with pytest.raises(ClientError) as e:
        as_user.get_function_configuration(FunctionName=name)
    assert _code(e)[0] == "AccessDeniedException"

    # An explicit Deny in the user's identity policy wins over the resource policy's Allow.
    deny = {"Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": arn}]}
    iam.put_user_policy(UserName=user, PolicyName="deny", PolicyDocument=json.dumps(deny))
    with pytest.raises(ClientError) as e:
        invoke()
    assert "explicit deny in an identity-based policy" in _code(e)[2]
    iam.delete_user_policy(UserName=user, PolicyName="deny")
    assert invoke()["ok"] is True

    lam.remove_permission(FunctionName=name, StatementId="user")
    with pytest.raises(ClientError) as e:
        invoke()
    assert _code(e)[:2] == ("AccessDeniedException", 403)

    # A version's own policy governs invokes of that version only.
    lam.publish_version(FunctionName=name)
    lam.add_permission(FunctionName=name, Qualifier="1", StatementId="v1", Action="lambda:InvokeFunction",
                       Principal=user_arn)
    out = json.loads(as_user.invoke(FunctionName=name, Qualifier="1")["Payload"].read())
    assert out == {"ok": True, "arn": f"{arn}:1"}
    with pytest.raises(ClientError) as e:
        invoke()
    assert _code(e)[:2] == ("AccessDeniedException", 403)
