"""Lambda API answers as AWS gives them (issue 16's list), through the real server with boto3."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from lambda_helpers import HANDLER_SRC, lambda_role, make_zip

ROLE_NAME = "lambda-fidelity-role"


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME,
                       "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")


def _args(name: str, role: str, **kw: Any) -> dict[str, Any]:
    return {"FunctionName": name, "Role": role, "Runtime": "python3.12", "Handler": "app.handler",
            "Code": {"ZipFile": make_zip({"app.py": HANDLER_SRC})}, **kw}


def _wait(lam: Any, name: str) -> None:
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def test_create_answers_pending_without_update_status_then_settles_with_new_revision(boto3_client, role_arn):
    lam = boto3_client("lambda")
    out = lam.create_function(**_args("fid-create", role_arn))
    assert out["State"] == "Pending" and out["StateReasonCode"] == "Creating"
    assert not {k for k in out if k.startswith("LastUpdateStatus")}
    # The transition lasts long enough to be met: an update right away conflicts, as on AWS.
    with pytest.raises(lam.exceptions.ResourceConflictException) as e:
        lam.update_function_configuration(FunctionName="fid-create", Timeout=5)
    assert "An update is in progress" in str(e.value)
    _wait(lam, "fid-create")
    cfg = lam.get_function_configuration(FunctionName="fid-create")
    assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful"
    assert cfg["RevisionId"] != out["RevisionId"]
    upd = lam.update_function_configuration(FunctionName="fid-create", Timeout=5)
    assert upd["LastUpdateStatus"] == "InProgress"
    lam.get_waiter("function_updated_v2").wait(FunctionName="fid-create", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    assert lam.get_function_configuration(FunctionName="fid-create")["RevisionId"] != upd["RevisionId"]


def test_publish_on_create_and_update_answers_the_new_version(boto3_client, role_arn):
    lam = boto3_client("lambda")
    out = lam.create_function(**_args("fid-publish", role_arn, Publish=True))
    # The new version's configuration under the unqualified ARN, as AWS answers it.
    assert out["Version"] == "1" and out["FunctionArn"].endswith(":function:fid-publish")
    assert lam.get_function(FunctionName="fid-publish", Qualifier="1")["Configuration"]["Version"] == "1"
    _wait(lam, "fid-publish")
    assert lam.get_function_configuration(FunctionName="fid-publish", Qualifier="1")["State"] == "Active"
    upd = lam.update_function_code(FunctionName="fid-publish", ZipFile=make_zip({"app.py": HANDLER_SRC + "\n#2"}),
                                   Publish=True)
    assert upd["Version"] == "2"
    assert lam.get_function(FunctionName="fid-publish", Qualifier="2")["Configuration"]["Version"] == "2"


def test_unknown_runtime_is_invalid_parameter_value(boto3_client, role_arn):
    lam = boto3_client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(**_args("fid-runtime", role_arn, Runtime="python9.9"))
    message = e.value.response["Error"]["Message"]
    assert message.startswith("Value python9.9 at 'runtime' failed to satisfy constraint: Member must satisfy "
                              "enum value set: [")
    assert message.endswith("] or be a valid ARN") and "python3.12" in message


def test_listings_as_aws_shapes_them(boto3_client, role_arn):
    lam = boto3_client("lambda")
    lam.create_function(**_args("fid-list", role_arn))
    _wait(lam, "fid-list")
    item = next(f for f in lam.list_functions()["Functions"] if f["FunctionName"] == "fid-list")
    assert not {"State", "LastUpdateStatus", "RuntimeVersionConfig"} & set(item)
    versions = lam.list_versions_by_function(FunctionName="fid-list")["Versions"]
    assert versions[0]["Version"] == "$LATEST" and versions[0]["FunctionArn"].endswith(":fid-list:$LATEST")
    assert not lam.get_function(FunctionName="fid-list")["Configuration"]["FunctionArn"].endswith("$LATEST")


def test_bad_group_reported_before_bad_subnet(boto3_client, role_arn):
    lam = boto3_client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(**_args("fid-vpc", role_arn, VpcConfig={
            "SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}))
    assert "DescribeSecurityGroups" in str(e.value) and "InvalidGroup.NotFound" in str(e.value)


def test_invoke_request_id_is_the_invocations(boto3_client, role_arn):
    lam = boto3_client("lambda")
    lam.create_function(**_args("fid-rid", role_arn))
    _wait(lam, "fid-rid")
    r = lam.invoke(FunctionName="fid-rid", Payload=b"{}", LogType="Tail")
    rid = r["ResponseMetadata"]["RequestId"]
    assert json.loads(r["Payload"].read())["rid"] == rid
    assert f"START RequestId: {rid}" in base64.b64decode(r["LogResult"]).decode()
