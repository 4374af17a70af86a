"""Lambda through the real server with boto3 and the stock aws CLI."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest
from lambda_helpers import HANDLER_SRC, TRUST_LAMBDA, lambda_role, make_zip
from process_helpers import environment_processes, wait_environment_gone

ROLE_NAME = "lambda-e2e-role"


@pytest.fixture(scope="module")
def role_arn(boto3_client: Any) -> str:
    return lambda_role(boto3_client, ROLE_NAME,
                       "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")


def _create(lam: Any, name: str, role: str, src: str = HANDLER_SRC, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = lam.create_function(FunctionName=name, Role=role, Runtime="python3.12",
                                               Handler="app.handler", Code={"ZipFile": make_zip({"app.py": src})}, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return out


def test_create_invoke_warm_and_errors(boto3_client: Any, role_arn: str) -> None:
    lam = boto3_client("lambda")
    out = _create(lam, "e2e-basic", role_arn, Timeout=2)
    assert out["State"] == "Pending" and out["PackageType"] == "Zip"
    assert lam.get_function_configuration(FunctionName="e2e-basic")["State"] == "Active"
    r1 = lam.invoke(FunctionName="e2e-basic", Payload=b'{"a": 1}', LogType="Tail")
    b1 = json.loads(r1["Payload"].read())
    assert r1["StatusCode"] == 200 and r1["ExecutedVersion"] == "$LATEST" and "FunctionError" not in r1
    assert "START RequestId: " + b1["rid"] in base64.b64decode(r1["LogResult"]).decode()
    b2 = json.loads(lam.invoke(FunctionName="e2e-basic")["Payload"].read())
    assert b2["count"] == 2 and b2["eid"] == b1["eid"]
    r = lam.invoke(FunctionName="e2e-basic", Payload=b'{"boom": true}')
    assert r["FunctionError"] == "Unhandled"
    assert json.loads(r["Payload"].read())["errorType"] == "ValueError"
    r = lam.invoke(FunctionName="e2e-basic", Payload=b'{"sleep": 4}')
    assert json.loads(r["Payload"].read())["errorType"] == "Sandbox.Timedout"
    r = lam.invoke(FunctionName="e2e-basic", InvocationType="Event", Payload=b"{}")
    assert r["StatusCode"] == 202
    assert lam.invoke(FunctionName="e2e-basic", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="e2e-missing")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
        lam.create_function(FunctionName="e2e-bad", Role=role_arn, Runtime="python3.12", Handler="app.handler",
                            Code={"ZipFile": b"garbage"})
    assert "Could not unzip uploaded file" in str(e.value)
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName="e2e-basic", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    got = lam.get_function(FunctionName="e2e-basic")
    assert got["Code"]["RepositoryType"] == "S3"
    import base64 as b64
    import hashlib
    import urllib.request
    with urllib.request.urlopen(got["Code"]["Location"], timeout=10) as resp:
        data = resp.read()
    assert b64.b64encode(hashlib.sha256(data).digest()).decode() == got["Configuration"]["CodeSha256"]
    lam.delete_function(FunctionName="e2e-basic")


def test_tutorial_steps_with_aws_cli(aws_cli: Any, role_arn: str, tmp_path: Path) -> None:
    vpcs = aws_cli("ec2", "describe-vpcs", "--filters", "Name=isDefault,Values=true", check=False)
    if vpcs.returncode != 0 and "NotImplemented" in vpcs.stderr:
        pytest.skip("the EC2 provider (default VPC) is not in this build yet")
    vpc = json.loads(vpcs.stdout)["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in aws_cli("ec2", "describe-subnets", "--filters",
                                               f"Name=vpc-id,Values={vpc}")["Subnets"]]
    sg = aws_cli("ec2", "describe-security-groups", "--filters", f"Name=vpc-id,Values={vpc}",
                 "Name=group-name,Values=default")["SecurityGroups"][0]["GroupId"]
    src = ('def handler(event, context):\n'
           '    print(f"Success: Inserted abc. Fetched abc from Valkey.")\n'
           '    return "Fetched value from Valkey"\n')
    zpath = tmp_path / "pkg.zip"
    zpath.write_bytes(make_zip({"app.py": src}))
    out = aws_cli("lambda", "create-function", "--function-name", "TutorialFn", "--zip-file", f"fileb://{zpath}",
                  "--role", role_arn, "--handler", "app.handler", "--runtime", "python3.12", "--timeout", "30",
                  "--vpc-config", f"SubnetIds={','.join(subnets)},SecurityGroupIds={sg}")
    assert out["VpcConfig"]["VpcId"] == vpc and out["VpcConfig"]["SecurityGroupIds"] == [sg]
    aws_cli("lambda", "wait", "function-active-v2", "--function-name", "TutorialFn")
    res = aws_cli("lambda", "invoke", "--function-name", "TutorialFn", str(tmp_path / "output.txt"))
    assert res["StatusCode"] == 200 and "FunctionError" not in res
    assert "Fetched value from Valkey" in (tmp_path / "output.txt").read_text()
    found: list[str] = []
    for _ in range(30):
        found = aws_cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/TutorialFn",
                        "--filter-pattern", '"from Valkey"', "--query", "events[].message")
        if found:
            break
        time.sleep(1)
    assert found and found[0].startswith("Success: Inserted abc. Fetched abc from Valkey.")
    aws_cli("lambda", "delete-function", "--function-name", "TutorialFn")


def test_cli_create_wait_invoke_logs_without_vpc(aws_cli: Any, role_arn: str, tmp_path: Path) -> None:
    src = 'def handler(event, context):\n    print("marker-" + context.aws_request_id)\n    return {"ok": True}\n'
    zpath = tmp_path / "pkg.zip"
    zpath.write_bytes(make_zip({"app.py": src}))
    aws_cli("lambda", "create-function", "--function-name", "CliFn", "--zip-file", f"fileb://{zpath}",
            "--role", role_arn, "--handler", "app.handler", "--runtime", "python3.12")
    aws_cli("lambda", "wait", "function-active-v2", "--function-name", "CliFn")
    res = aws_cli("lambda", "invoke", "--function-name", "CliFn", "--log-type", "Tail", str(tmp_path / "out.json"))
    assert res["StatusCode"] == 200 and json.loads((tmp_path / "out.json").read_text()) == {"ok": True}
    tail = base64.b64decode(res["LogResult"]).decode()
    rid = tail.split("START RequestId: ", 1)[1].split()[0]
    found = aws_cli("logs", "filter-log-events", "--log-group-name", "/aws/lambda/CliFn",
                    "--filter-pattern", f'"marker-{rid}"', "--query", "events[].message")
    assert found == [f"marker-{rid}\n"]  # Lambda keeps each line's newline
    aws_cli("lambda", "delete-function", "--function-name", "CliFn")


def test_environments_die_with_a_killed_cloudlet(cloudlet_factory: Any) -> None:
    import os
    import signal

    import boto3

    server = cloudlet_factory()
    kw = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1",
              "aws_access_key_id": server.env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": server.env["AWS_SECRET_ACCESS_KEY"]}
    iam, lam = boto3.client("iam", **kw), boto3.client("lambda", **kw)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"]
    _create(lam, "orphan", role)
    body = json.loads(lam.invoke(FunctionName="orphan")["Payload"].read())
    processes = environment_processes(body)
    assert processes
    os.kill(server.pid, signal.SIGKILL)
    assert wait_environment_gone(processes), f"environment {body} outlived its cloudlet"


CREDS_SRC = {
    "python3.12": ("app.py", "import boto3\n"
                             "def handler(event, context):\n"
                             "    return boto3.client('sts').get_caller_identity()['Arn']\n"),
    # The SDK for JavaScript v3 bundled with the runtime, its default credential chain, AWS_ENDPOINT_URL.
    "nodejs20.x": ("app.mjs", "import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';\n"
                              "export const handler = async () =>\n"
                              "  (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn;\n"),
}


@pytest.mark.parametrize("runtime", sorted(CREDS_SRC))
def test_function_calls_cloudlet_with_its_role_credentials(boto3_client: Any, role_arn: str, runtime: str) -> None:
    lam = boto3_client("lambda")
    filename, src = CREDS_SRC[runtime]
    lam.create_function(FunctionName="e2e-creds", Role=role_arn, Runtime=runtime, Handler="app.handler",
                        Code={"ZipFile": make_zip({filename: src})}, Timeout=20)
    lam.get_waiter("function_active_v2").wait(FunctionName="e2e-creds", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    r = lam.invoke(FunctionName="e2e-creds")
    body = json.loads(r["Payload"].read())
    assert "FunctionError" not in r, body
    assert body == f"arn:aws:sts::123456789012:assumed-role/{ROLE_NAME}/e2e-creds"
    lam.delete_function(FunctionName="e2e-creds")


def test_publish_on_create_and_on_code_update(boto3_client: Any, role_arn: str) -> None:
    lam = boto3_client("lambda")

    def versions() -> list[str]:
        return [v["Version"] for v in lam.list_versions_by_function(FunctionName="e2e-publish")["Versions"]]

    def wait_versions(expected: list[str]) -> None:
        deadline = time.monotonic() + 20
        while versions() != expected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert versions() == expected

    _create(lam, "e2e-publish", role_arn, Publish=True)
    wait_versions(["$LATEST", "1"])
    src2 = HANDLER_SRC + "\n# v2\n"
    lam.update_function_code(FunctionName="e2e-publish", ZipFile=make_zip({"app.py": src2}), Publish=True)
    wait_versions(["$LATEST", "1", "2"])
    assert lam.get_function_configuration(FunctionName="e2e-publish", Qualifier="2")["CodeSha256"] == \
        lam.get_function_configuration(FunctionName="e2e-publish")["CodeSha256"]
    lam.delete_function(FunctionName="e2e-publish")


def test_vpc_config_naming_a_missing_subnet_or_group(boto3_client: Any, role_arn: str) -> None:
    lam, ec2 = boto3_client("lambda"), boto3_client("ec2")
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    sg = ec2.describe_security_groups(GroupNames=["default"])["SecurityGroups"][0]["GroupId"]
    for vpc, message in (
        ({"SubnetIds": ["subnet-0123456789abcdef0"], "SecurityGroupIds": [sg]},
         ("Error occurred while DescribeSubnets. EC2 Error Code: InvalidSubnetID.NotFound. "
         "EC2 Error Message: The subnet ID 'subnet-0123456789abcdef0' does not exist")),
        ({"SubnetIds": [subnet], "SecurityGroupIds": ["sg-0123456789abcdef0"]},
         ("Error occurred while DescribeSecurityGroups. EC2 Error Code: InvalidGroup.NotFound. "
         "EC2 Error Message: The security group 'sg-0123456789abcdef0' does not exist")),
    ):
        with pytest.raises(lam.exceptions.InvalidParameterValueException) as e:
            _create(lam, "e2e-bad-vpc", role_arn, VpcConfig=vpc)
        assert e.value.response["Error"]["Message"] == message
