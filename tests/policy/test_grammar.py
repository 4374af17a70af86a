"""IAM's grammar errors and messages (MalformedPolicyDocument, 400)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloudlet.core.errors import AWSError
from cloudlet.policy.grammar import parse_policy_document

OK_STMT = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::example_bucket"}


def doc(*statements: Any, version: str | None = "2012-10-17", **top: Any) -> dict[str, Any]:
    d: dict[str, Any] = {} if version is None else {"Version": version}
    d["Statement"] = list(statements) if len(statements) != 1 else statements[0]
    d.update(top)
    return d


def st(**kw: Any) -> dict[str, Any]:
    out = dict(OK_STMT)
    for k, v in kw.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


SYNTAX = "Syntax errors in policy."
BAD: list[tuple[str, Any, str, str]] = [
    ("not json", "This is not a json document", "identity", SYNTAX),
    ("empty text", "   ", "identity", SYNTAX),
    ("json array", "[]", "identity", SYNTAX),
    ("no version on managed policy", doc(st(), version=None), "identity", "Policy document must be version 2012-10-17 or greater."),
    ("2008 version on managed policy", doc(st(), version="2008-10-17"), "identity", "Policy document must be version 2012-10-17 or greater."),
    ("unknown version", doc(st(), version="2013-10-17"), "identity", SYNTAX),
    ("no statement", {"Version": "2012-10-17"}, "identity", SYNTAX),
    ("empty statement list", {"Version": "2012-10-17", "Statement": []}, "identity", SYNTAX),
    ("unknown top field", doc(st(), **{"Extra field": "value"}), "identity", SYNTAX),
    ("unknown statement field", doc(st(**{"Extra field": "value"})), "identity", SYNTAX),
    ("Id as list", doc(st(), Id=["x"]), "identity", SYNTAX),
    ("Id as object", doc(st(), Id={}), "identity", SYNTAX),
    ("invalid effect", doc(st(Effect="invalid")), "identity", SYNTAX),
    ("lower-case effect", doc(st(Effect="allow")), "identity", "The policy failed legacy parsing"),
    ("missing effect", doc(st(Effect=None)), "identity", SYNTAX),
    ("action without vendor", doc(st(Action="invalid")), "identity", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("resource not an arn", doc(st(Resource="invalid resource")), "identity", 'Resource invalid resource must be in ARN format or "*".'),
    ("missing resource", doc(st(Resource=None)), "identity", "Policy statement must contain resources."),
    ("missing action", doc(st(Action=None)), "identity", "Policy statement must contain actions."),
    ("empty action list", doc(st(Action=[])), "identity", "Policy statement must contain actions."),
    ("only effect", doc({"Effect": "Allow"}), "identity", "Policy statement must contain actions."),
    ("deny missing action before valid", doc({"Effect": "Deny"}, st()), "identity", "Policy statement must contain actions."),
    ("arn with five parts", doc(st(Resource="arn:aws:s3::example_bucket")), "identity", "The policy failed legacy parsing"),
    ("arn without vendor", doc(st(Resource="arn:aws")), "identity", "Resource vendor must be fully qualified and cannot contain regexes."),
    ("resource as object", doc(st(Resource={"a": "arn:aws:s3:::example_bucket"})), "identity", SYNTAX),
    ("condition as list", doc(st(Condition=[])), "identity", SYNTAX),
    ("condition as string", doc(st(Condition="a")), "identity", SYNTAX),
    ("condition operator to string", doc(st(Condition={"a": "b"})), "identity", SYNTAX),
    ("condition operator block as string", doc(st(Condition={"DateGreaterThan": "b"})), "identity", SYNTAX),
    ("condition operator block as list", doc(st(Condition={"DateGreaterThan": []})), "identity", SYNTAX),
    ("condition value as object", doc(st(Condition={"DateGreaterThan": {"a": {}}})), "identity", SYNTAX),
    ("unknown condition operator", doc(st(Condition={"StringEqualz": {"aws:username": "a"}})), "identity", SYNTAX),
    ("condition list of blocks", doc(st(Condition=[{"ForAllValues:StringEquals": {"aws:TagKeys": "Department"}}])), "identity", SYNTAX),
    ("iam resource with region", doc(st(Resource="arn:aws:iam:us-east-1::example_bucket")), "identity", "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information."),
    ("s3 resource with region", doc(st(Resource="arn:aws:s3:us-east-1::example_bucket")), "identity", "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information."),
    ("sid as object", doc(st(Sid={})), "identity", SYNTAX),
    ("sid as list", doc(st(Sid=[])), "identity", SYNTAX),
    ("duplicate sid", doc(st(Sid="sdf"), {"Sid": "sdf", "Effect": "Allow"}), "identity", "Statement IDs (SID) in a single policy must be unique."),
    ("sid with spaces", doc(st(Sid="my sid")), "identity", "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*"),
    ("action and notaction", doc(st(NotAction="s3:ListBucket", Action="iam:dsf")), "identity", SYNTAX),
    ("resource and notresource", doc(st(NotResource="*")), "identity", SYNTAX),
    ("principal in identity policy", doc(st(Principal="*")), "identity", "Policy document should not specify a principal."),
    ("notprincipal in inline policy", doc(st(NotPrincipal={"AWS": "123456789012"})), "inline", "Policy document should not specify a principal."),
    ("two colons in action", doc(st(Action="s3:a:b")), "identity", "Actions/Condition can contain only one colon."),
    ("bad vendor", doc(st(Action="s 3:Get")), "identity", "Vendor s 3 is not valid"),
    ("condition key without vendor", doc(st(Condition={"StringEquals": {"username": "a"}})), "identity", "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    ("bad partition", doc(st(Resource="arn:foo:s3:::b")), "identity", 'Partition "foo" is not valid for resource "arn:foo:s3:::b".'),
    ("trust without principal", doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), "trust", "Missing required field Principal"),
    ("trust with resource", doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole", "Resource": "*"}), "trust", "Has prohibited field Resource"),
    ("trust with non-sts action", doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "s3:GetObject"}), "trust", "AssumeRole policy may only specify STS AssumeRole actions."),
    ("trust with bad AWS principal", doc({"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "sts:AssumeRole"}), "trust", 'Invalid principal in policy: "AWS":"bob"'),
    ("trust principal unknown kind", doc({"Effect": "Allow", "Principal": {"Person": "bob"}, "Action": "sts:AssumeRole"}), "trust", SYNTAX),
    ("trust principal as number", doc({"Effect": "Allow", "Principal": 5, "Action": "sts:AssumeRole"}), "trust", SYNTAX),
    ("resource policy without principal", doc(st()), "resource", "Missing required field Principal"),
]


@pytest.mark.parametrize("name,document,ptype,message", BAD, ids=[b[0] for b in BAD])
def test_malformed(name: str, document: Any, ptype: str, message: str) -> None:
    text = document if isinstance(document, str) else json.dumps(document)
    with pytest.raises(AWSError) as err:
        parse_policy_document(text, ptype)
    assert err.value.code == "MalformedPolicyDocument"
    assert err.value.status == 400
    assert err.value.message == message


GOOD: list[tuple[str, Any, str]] = [
    ("statement object", doc(st()), "identity"),
    ("statement list with sids", doc(st(Sid="A1"), st(Sid="B2")), "identity"),
    ("star resource and action", doc(st(Action="*", Resource="*")), "identity"),
    ("not action not resource", doc(st(Action=None, Resource=None, NotAction="iam:*", NotResource="arn:aws:s3:::x/*")), "identity"),
    ("conditions of every family", doc(st(Condition={
        "StringLike": {"s3:prefix": ["home/${aws:username}/*"]},
        "NumericLessThanEquals": {"s3:max-keys": 10},
        "Bool": {"aws:SecureTransport": True},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
        "ForAnyValue:StringEquals": {"aws:TagKeys": ["a"]},
        "StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"},
        "Null": {"aws:TokenIssueTime": "true"},
        "ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:*:function:*"},
        "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
        "BinaryEquals": {"x:b": "QQ=="},
    })), "identity"),
    ("inline policy without version", doc(st(), version=None), "inline"),
    ("inline policy 2008", doc(st(), version="2008-10-17"), "inline"),
    ("tutorial trust policy", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}, "trust"),
    ("trust with account id and tag session", doc({"Effect": "Allow", "Principal": {"AWS": ["123456789012"]}, "Action": ["sts:AssumeRole", "sts:TagSession"], "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}), "trust"),
    ("trust with star principal", doc({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}), "trust"),
    ("resource policy", doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}), "resource"),
]


@pytest.mark.parametrize("name,document,ptype", GOOD, ids=[g[0] for g in GOOD])
def test_valid(name: str, document: Any, ptype: str) -> None:
    assert parse_policy_document(json.dumps(document), ptype) == document


def test_real_aws_managed_policy_documents_parse() -> None:
    # AWSLambdaVPCAccessExecutionRole's statement (aws-facts.md F), as IAM returns it.
    vpc = {"Version": "2012-10-17", "Statement": [{"Sid": "AWSLambdaVPCAccessExecutionPermissions", "Effect": "Allow", "Action": [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"], "Resource": "*"}]}
    assert parse_policy_document(json.dumps(vpc))["Statement"][0]["Resource"] == "*"
