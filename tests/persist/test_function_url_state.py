"""A function URL survives a restart (and kill -9): same id, same settings, still served."""

from __future__ import annotations

import http.client
import json
import os
import signal
from pathlib import Path
from typing import Any

from cloudlet.config import Config

SRC = "def handler(event, context):\n    return {'path': event['rawPath']}\n"
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _client(server: Any, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=Config.access_key_id, aws_secret_access_key=Config.secret_access_key)


def _get(server: Any, url: str, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("GET", path, headers={"Host": url.split("/")[2]})
    resp = conn.getresponse()
    return resp.status, resp.read()


def test_function_url_survives_restart_and_kill(tmp_path: Path, cloudlets: Any) -> None:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("app.py", SRC)
    server = cloudlets(tmp_path / "data")
    lam = _client(server, "lambda")
    role = _client(server, "iam").create_role(RoleName="r", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="f", Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": buf.getvalue()})
    lam.get_waiter("function_active_v2").wait(FunctionName="f", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    cors = {"AllowOrigins": ["https://app.example"], "MaxAge": 10}
    url = lam.create_function_url_config(FunctionName="f", AuthType="NONE", Cors=cors)["FunctionUrl"]
    lam.add_permission(FunctionName="f", StatementId="u", Action="lambda:InvokeFunctionUrl", Principal="*",
                       FunctionUrlAuthType="NONE")
    lam.add_permission(FunctionName="f", StatementId="i", Action="lambda:InvokeFunction", Principal="*",
                       InvokedViaFunctionUrl=True)
    before = lam.get_function_url_config(FunctionName="f")

    server.stop()
    server = cloudlets(tmp_path / "data")
    lam = _client(server, "lambda")
    after = lam.get_function_url_config(FunctionName="f")
    url_id = url.split("/")[2].split(".")[0]
    assert after["FunctionUrl"].split("/")[2].split(".")[0] == url_id
    for key in ("AuthType", "Cors", "CreationTime", "LastModifiedTime", "InvokeMode", "FunctionArn"):
        assert after[key] == before[key], key
    status, body = _get(server, after["FunctionUrl"], "/after-restart")
    assert (status, json.loads(body)) == (200, {"path": "/after-restart"})

    # An acknowledged update is on disk before the answer: kill -9 right after keeps it.
    lam.update_function_url_config(FunctionName="f", AuthType="AWS_IAM")
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    server = cloudlets(tmp_path / "data")
    assert _client(server, "lambda").get_function_url_config(FunctionName="f")["AuthType"] == "AWS_IAM"
    assert _get(server, after["FunctionUrl"], "/")[0] == 403  # unsigned request to an AWS_IAM URL
