"""IAM scenarios: the calls of LocalStack's recorded IAM tests, made on cloudlet."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_plus

from conformance.recordings import Caller, scenario

EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
LIST_FUNCTIONS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["lambda:ListFunctions"], "Resource": ["*"]}]})
REGION = "us-east-1"
TARGET = quote_plus(f"arn:aws:apigateway:{REGION}::/restapis/aaeeieije")
ENCODED_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["apigatway:PUT"], "Resource": [f"arn:aws:apigateway:{REGION}::/tags/{TARGET}"]}]})


@scenario("iam", "test_create_describe_role")
def create_describe_role(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    path, role = f"/{c.name('p')}/", c.name("role")
    return {
        "create_role_result": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Path=path),
        "get_role_result": c.call(iam.get_role, RoleName=role),
        "list_roles_result": c.call(iam.list_roles, PathPrefix=path),
    }


@scenario("iam", "test_role_with_tags")
def role_with_tags(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role = c.name("role")
    tags = [{"Key": "test", "Value": "value"}]
    return {
        "create-role-response": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=EC2_TRUST,
                                       Tags=tags, Path="/role-with-tags/"),
        "get-role-response": c.call(iam.get_role, RoleName=role),
        "list-role-response": c.call(iam.list_roles, PathPrefix="/role-with-tags/"),
    }


@scenario("iam", "test_role_with_path_lifecycle")
def role_with_path_lifecycle(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role = c.name("role")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}, "Effect": "Allow"}]})
    return {
        "create-role-response": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=trust,
                                       Path=f"/{c.name('path')}/"),
        "get-role-response": c.call(iam.get_role, RoleName=role),
        "delete-role-response": c.call(iam.delete_role, RoleName=role),
    }


@scenario("iam", "test_update_assume_role_policy")
def update_assume_role_policy(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role = c.name("role")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]})
    return {
        "created_role": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=trust),
        "updated_policy": c.call(iam.update_assume_role_policy, RoleName=role, PolicyDocument=EC2_TRUST),
    }


@scenario("iam", "test_create_role_with_malformed_assume_role_policy_document")
def malformed_trust_policy(c: Caller) -> dict[str, Any]:
    # The trailing comma after "Effect" makes it invalid JSON.
    doc = '{"Version": "2012-10-17", "Statement": [{"Action": "sts:AssumeRole", "Principal": "*", "Effect": "Allow",}]}'
    iam = c.client("iam")
    return {"invalid-json": c.call(iam.create_role, RoleName=c.name("role"), AssumeRolePolicyDocument=doc)}


def _attach_policy(c: Caller, attach: Any, principal: dict[str, str]) -> dict[str, Any]:
    iam = c.client("iam")
    policy_name = c.name("test-policy")
    created = c.call(iam.create_policy, PolicyName=policy_name, PolicyDocument=LIST_FUNCTIONS)
    arn = created["Policy"]["Arn"]
    return {
        "create_policy_response": created,
        "non_existent_malformed_policy_arn": c.call(attach, **principal, PolicyArn="longpolicynamebutnoarn"),
        "existing_policy_name_provided": c.call(attach, **principal, PolicyArn=policy_name),
        "valid_arn_not_existent": c.call(attach, **principal, PolicyArn=f"{arn}123"),
        "valid_policy_arn": c.call(attach, **principal, PolicyArn=arn),
    }


@scenario("iam", "test_role_attach_policy")
def role_attach_policy(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role = c.name("test-role")
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=EC2_TRUST)
    return _attach_policy(c, iam.attach_role_policy, {"RoleName": role})


@scenario("iam", "test_user_attach_policy")
def user_attach_policy(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    user = c.name("test-user")
    iam.create_user(UserName=user)
    return _attach_policy(c, iam.attach_user_policy, {"UserName": user})


@scenario("iam", "test_put_role_policy_encoding")
def put_role_policy_encoding(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role, policy, path = c.name("test-role"), c.name("test-policy"), f"/{c.name('p')}/"
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}, "Effect": "Allow",
         "Condition": {"StringEquals": {"aws:SourceArn": TARGET}}}]})
    out = {"create-role-response": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=trust, Path=path)}
    iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=ENCODED_POLICY)
    out["get-policy-response"] = c.call(iam.get_role_policy, RoleName=role, PolicyName=policy)
    out["get-role-response"] = c.call(iam.get_role, RoleName=role)
    out["list-roles-response"] = c.call(iam.list_roles, PathPrefix=path)
    return out


@scenario("iam", "test_put_user_policy_encoding")
def put_user_policy_encoding(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    user, policy = c.name("test-user"), c.name("test-policy")
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName=policy, PolicyDocument=ENCODED_POLICY)
    return {"get-policy-response": c.call(iam.get_user_policy, UserName=user, PolicyName=policy)}


@scenario("iam", "test_put_group_policy_encoding")
def put_group_policy_encoding(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    group, policy = c.name("test-group"), c.name("test-policy")
    iam.create_group(GroupName=group)
    iam.put_group_policy(GroupName=group, PolicyName=policy, PolicyDocument=ENCODED_POLICY)
    return {"get-policy-response": c.call(iam.get_group_policy, GroupName=group, PolicyName=policy)}


@scenario("iam", "test_delete_non_existent_policy_returns_no_such_entity")
def delete_non_existent_policy(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    account = c.client("sts").get_caller_identity()["Account"]
    arn = f"arn:aws:iam::{account}:policy/non-existent-policy"
    return {"delete-non-existent-policy-exc": c.call(iam.delete_policy, PolicyArn=arn)}


@scenario("iam", "test_list_roles_with_permission_boundary")
def list_roles_with_permission_boundary(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    path, role = f"/{c.name('p')}/", c.name("role")
    out = {"created_role": c.call(iam.create_role, RoleName=role, AssumeRolePolicyDocument=EC2_TRUST, Path=path)}
    arn = iam.create_policy(PolicyName=c.name("policy"), PolicyDocument=LIST_FUNCTIONS)["Policy"]["Arn"]
    iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)
    out["list_roles_result"] = c.call(iam.list_roles, PathPrefix=path)
    return out


@scenario("iam", "test_delete_user_after_service_credential_created")
def create_user(c: Caller) -> dict[str, Any]:
    return {"create-user-response": c.call(c.client("iam").create_user, UserName=c.name("user"))}


@scenario("iam", "test_iam_username_defaultname")
def get_user(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    user = c.name("user")
    iam.create_user(UserName=user)
    return {"get_iam_user": c.call(iam.get_user, UserName=user)}


@scenario("iam", "test_create_with_full_properties")
def groups_for_user(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    user, prefix = c.name("user"), c.name("group")
    iam.create_user(UserName=user)
    for group in (f"{prefix}-1", f"{prefix}-2"):
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName=user)
    return {"describe-user-group-association": c.call(iam.list_groups_for_user, UserName=user)}


@scenario("iam", "test_cfn_lambda_sqs_source")
def function_role_policies(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    role = c.name("fnServiceRole")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
    iam.attach_role_policy(RoleName=role,
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    iam.put_role_policy(RoleName=role, PolicyName="fnServiceRoleDefaultPolicy0ED5D3E5", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]}))
    return {
        "list_attached_role_policies_result": c.call(iam.list_attached_role_policies, RoleName=role),
        "list_inline_role_policies_result": c.call(iam.list_role_policies, RoleName=role),
    }


@scenario("iam", "test_managed_policy_with_empty_resource")
def get_policy(c: Caller) -> dict[str, Any]:
    iam = c.client("iam")
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Action": "dynamodb:DescribeTable", "Effect": "Allow",
         "Resource": ["arn:aws:dynamodb:us-east-1:123456789012:table/some-table"]}]})
    arn = iam.create_policy(PolicyName=c.name("managed-policy"), PolicyDocument=document)["Policy"]["Arn"]
    return {"managed_policy": c.call(iam.get_policy, PolicyArn=arn)}
