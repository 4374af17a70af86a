"""Acceptance, second form: the tutorial's steps through boto3, and the cache reached
by a second, independent client (valkey-py) with an IAM token it makes itself."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from .tutorial_runner import TUTORIAL

ACCOUNT = "123456789012"
TUTORIAL_DIR = TUTORIAL.parent


def _session(server: Any, **creds: str) -> boto3.session.Session:
    return boto3.session.Session(
        aws_access_key_id=creds.get("key", server.env["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=creds.get("secret", server.env["AWS_SECRET_ACCESS_KEY"]),
        aws_session_token=creds.get("token"),
        region_name="us-east-1",
    )


def _client(server: Any, service: str, **creds: str) -> Any:
    return _session(server, **creds).client(service, endpoint_url=server.endpoint_url)


def _wait_cache(ec: Any, name: str, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        cache: dict[str, Any] = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]
        if cache["Status"] == status:
            return cache
        assert time.monotonic() < deadline, f"cache {name} is {cache['Status']}, not {status}"
        time.sleep(0.2)


def _package_dir(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec and spec.origin, module
    return Path(spec.origin).parent


def _deployment_zip(endpoint: str) -> bytes:
    """app.py with its endpoint line set, plus redis and cachetools, as step 2.1 builds it."""
    app = (TUTORIAL_DIR / "app.py").read_text().replace(
        "cache-01-xxxxx.serverless.use1.cache.amazonaws.com", endpoint
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        # redis needs async_timeout on Python < 3.11.3 (Debian 12's is 3.11.2): where it is
        # installed for that reason, it goes in too, as `pip install --target` would add it.
        extra = ("async_timeout",) if importlib.util.find_spec("async_timeout") else ()
        for module in ("redis", "cachetools", *extra):
            root = _package_dir(module)
            for path in root.rglob("*"):
                if path.is_file() and "__pycache__" not in path.parts:
                    zf.write(path, str(Path(module) / path.relative_to(root)))
        zf.writestr("app.py", app)
    return buf.getvalue()


def _iam_token(cache_name: str, user: str, key: str, secret: str, token: str | None = None) -> str:
    """An ElastiCache IAM token made with botocore's SigV4 query signer directly,
    not the tutorial's RequestSigner path."""
    request = botocore.awsrequest.AWSRequest(
        method="GET",
        url=f"http://{cache_name}/",
        params={"Action": "connect", "User": user, "ResourceType": "ServerlessCache"},
    )
    creds = botocore.credentials.Credentials(key, secret, token)
    botocore.auth.SigV4QueryAuth(creds, "elasticache", "us-east-1", expires=900).add_auth(request)
    return request.prepare().url.removeprefix("http://")


@pytest.mark.skipif(not TUTORIAL.exists(), reason="../shared/tutorial is not beside the checkout")
@pytest.mark.skipif(importlib.util.find_spec("cachetools") is None, reason="cachetools not installed")
def test_tutorial_steps_with_boto3_and_valkey_py(cloudlet_factory: Any, tmp_path: Path) -> None:
    server = cloudlet_factory()
    ec, iam, ec2, lam, logs = (_client(server, s) for s in ("elasticache", "iam", "ec2", "lambda", "logs"))

    # 1.1–1.2
    created = ec.create_serverless_cache(
        ServerlessCacheName="cache-01", Description="ElastiCache IAM auth application", Engine="valkey"
    )["ServerlessCache"]
    assert created["Status"] == "creating"
    cache = _wait_cache(ec, "cache-01", "available")
    endpoint = cache["Endpoint"]["Address"]
    assert re.fullmatch(r"cache-01-[a-z0-9]{6}\.serverless\.use1\.cache\.amazonaws\.com", endpoint)
    assert cache["Endpoint"]["Port"] == 6379

    # 1.3
    iam.create_role(
        RoleName="elasticache-iam-auth-app",
        AssumeRolePolicyDocument=(TUTORIAL_DIR / "trust-policy.json").read_text(),
    )
    policy_arn = iam.create_policy(
        PolicyName="elasticache-allow-all", PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text()
    )["Policy"]["Arn"]
    assert policy_arn == f"arn:aws:iam::{ACCOUNT}:policy/elasticache-allow-all"
    iam.attach_role_policy(RoleName="elasticache-iam-auth-app", PolicyArn=policy_arn)

    # 1.4
    ec.create_user(
        UserName="default", UserId="default-user-disabled", Engine="redis",
        AuthenticationMode={"Type": "no-password-required"}, AccessString="off +get ~keys*",
    )
    ec.create_user(
        UserName="iam-user-01", UserId="iam-user-01", Engine="redis",
        AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all",
    )
    ec.create_user_group(UserGroupId="iam-user-group-01", Engine="redis",
                         UserIds=["default-user-disabled", "iam-user-01"])
    ec.modify_serverless_cache(ServerlessCacheName="cache-01", UserGroupId="iam-user-group-01")
    _wait_cache(ec, "cache-01", "available")

    # 2.2–2.3
    iam.attach_role_policy(
        RoleName="elasticache-iam-auth-app",
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    )
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    fn = lam.create_function(
        FunctionName="AccessValkey", Role=f"arn:aws:iam::{ACCOUNT}:role/elasticache-iam-auth-app",
        Handler="app.lambda_handler", Runtime="python3.12", Timeout=30,
        Code={"ZipFile": _deployment_zip(endpoint)},
        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg]},
    )
    assert fn["VpcConfig"]["VpcId"] == vpc
    lam.get_waiter("function_active_v2").wait(FunctionName="AccessValkey", WaiterConfig={"Delay": 1})

    # 3
    out = lam.invoke(FunctionName="AccessValkey")
    payload = out["Payload"].read().decode()
    assert "FunctionError" not in out, payload
    assert json.loads(payload) == "Fetched value from Valkey"
    found = ""
    for _ in range(30):
        events = logs.filter_log_events(logGroupName="/aws/lambda/AccessValkey",
                                        filterPattern='"from Valkey"')["events"]
        found = " ".join(e["message"] for e in events)
        if "Success: Inserted" in found:
            break
        time.sleep(0.5)
    m = re.search(r"Success: Inserted ([0-9a-f]{32})\. Fetched ([0-9a-f]{32}) from Valkey", found)
    assert m and m.group(1) == m.group(2), found

    # A second client: valkey-py, with a token it makes itself for an IAM user's own key.
    valkey = pytest.importorskip("valkey")
    iam.create_user(UserName="cache-reader")
    iam.put_user_policy(UserName="cache-reader", PolicyName="connect",
                        PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text())
    key = iam.create_access_key(UserName="cache-reader")["AccessKey"]
    address = next(line.split()[0] for line in (server.data_dir / "hosts").read_text().splitlines()
                   if line.split()[1] == endpoint)
    client = valkey.Valkey(
        host=address, port=6379, ssl=True, ssl_ca_certs=str(server.data_dir / "ca" / "ca.pem"),
        username="iam-user-01",
        password=_iam_token("cache-01", "iam-user-01", key["AccessKeyId"], key["SecretAccessKey"]),
    )
    assert client.get("uuid").decode() == m.group(1)
    client.set("from-valkey-py", "yes")
    assert client.get("from-valkey-py") == b"yes"
    client.close()

    # The same token for a user without a policy is refused.
    iam.create_user(UserName="no-connect")
    other = iam.create_access_key(UserName="no-connect")["AccessKey"]
    refused = valkey.Valkey(
        host=address, port=6379, ssl=True, ssl_cert_reqs="none", username="iam-user-01",
        password=_iam_token("cache-01", "iam-user-01", other["AccessKeyId"], other["SecretAccessKey"]),
    )
    with pytest.raises(valkey.exceptions.AuthenticationError):
        refused.ping()
    refused.close()

    # 4: clean up, as the tutorial does.
    lam.delete_function(FunctionName="AccessValkey")
    ec.delete_serverless_cache(ServerlessCacheName="cache-01")
    deadline = time.monotonic() + 60
    while ec.describe_serverless_caches()["ServerlessCaches"]:
        assert time.monotonic() < deadline, "cache not deleted"
        time.sleep(0.2)
    with pytest.raises(ec.exceptions.ServerlessCacheNotFoundFault):
        ec.describe_serverless_caches(ServerlessCacheName="cache-01")
