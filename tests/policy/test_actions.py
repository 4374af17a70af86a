"""Operation -> action and resource ARNs, from the service authorization reference data."""

from __future__ import annotations

import pytest

from cloudlet.policy.actions import resolve

A, R = "123456789012", "us-east-1"
CASES = [
    ("iam", "CreateRole", {"RoleName": "r", "Path": "/svc/"}, "iam:CreateRole", [f"arn:aws:iam::{A}:role/svc/r"]),
    ("iam", "CreateRole", {"RoleName": "r"}, "iam:CreateRole", [f"arn:aws:iam::{A}:role/r"]),
    ("iam", "GetPolicy", {"PolicyArn": f"arn:aws:iam::{A}:policy/p"}, "iam:GetPolicy", [f"arn:aws:iam::{A}:policy/p"]),
    ("iam", "ListRoles", {}, "iam:ListRoles", ["*"]),
    ("sts", "AssumeRole", {"RoleArn": f"arn:aws:iam::{A}:role/x", "RoleSessionName": "s"}, "sts:AssumeRole", [f"arn:aws:iam::{A}:role/x"]),
    ("ec2", "DescribeVpcs", {}, "ec2:DescribeVpcs", ["*"]),
    ("elasticache", "CreateServerlessCache", {"ServerlessCacheName": "c1", "Engine": "valkey"}, "elasticache:CreateServerlessCache",
     [f"arn:aws:elasticache:{R}:{A}:serverlesscache:c1"]),
    ("elasticache", "CreateUser", {"UserId": "u1"}, "elasticache:CreateUser", [f"arn:aws:elasticache:{R}:{A}:user:u1"]),
    ("elasticache", "CreateUserGroup", {"UserGroupId": "g", "UserIds": ["a"]}, "elasticache:CreateUserGroup",
     [f"arn:aws:elasticache:{R}:{A}:user:a", f"arn:aws:elasticache:{R}:{A}:usergroup:g"]),
    ("lambda", "CreateFunction", {"FunctionName": "f"}, "lambda:CreateFunction", [f"arn:aws:lambda:{R}:{A}:function:f"]),
    ("lambda", "Invoke", {"FunctionName": f"arn:aws:lambda:{R}:{A}:function:f"}, "lambda:InvokeFunction", [f"arn:aws:lambda:{R}:{A}:function:f"]),
    ("lambda", "GetFunctionConfiguration", {"FunctionName": f"{A}:function:f"}, "lambda:GetFunctionConfiguration", [f"arn:aws:lambda:{R}:{A}:function:f"]),
    ("lambda", "InvokeWithResponseStream", {"FunctionName": "f"}, "lambda:InvokeFunction", [f"arn:aws:lambda:{R}:{A}:function:f"]),
    ("lambda", "ListFunctions", {}, "lambda:ListFunctions", ["*"]),
    ("logs", "FilterLogEvents", {"logGroupName": "/aws/lambda/f"}, "logs:FilterLogEvents", [f"arn:aws:logs:{R}:{A}:log-group:/aws/lambda/f:log-stream:"]),
    ("logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s"}, "logs:PutLogEvents", [f"arn:aws:logs:{R}:{A}:log-group:g:log-stream:s"]),
]


@pytest.mark.parametrize("service,operation,params,action,resources", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_resolve(service: str, operation: str, params: dict, action: str, resources: list[str]) -> None:
    assert resolve(service, operation, params, R, A) == (action, resources)


def test_every_model_operation_resolves() -> None:
    import botocore.session

    session = botocore.session.get_session()
    for service in ("iam", "sts", "ec2", "elasticache", "lambda", "logs"):
        for op in session.get_service_model(service).operation_names:
            action, resources = resolve(service, op, {}, R, A)
            assert action.startswith(f"{service}:") and resources
