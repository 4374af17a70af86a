"""Acceptance, Node.js form: the tutorial's function rewritten for nodejs20.x, as it is commonly
written: iovalkey with an IAM token presigned by @aws-sdk/signature-v4 (both installed into
the function's zip from the npm registry, as `npm install` would), credentials from the
runtime's bundled AWS SDK (@aws-sdk/credential-providers). It reaches the serverless cache
through cloudlet's VPC DNS and TLS endpoint, and the value it wrote is read back by valkey-py."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

ACCOUNT = "123456789012"
# The function's own dependencies, pinned (npm install into the package, as a user does).
PACKAGES = ("iovalkey@0.4.0", "@aws-sdk/signature-v4@3.374.0")

APP = r'''
import Valkey from "iovalkey";
import { SignatureV4 } from "@aws-sdk/signature-v4";
import { fromEnv } from "@aws-sdk/credential-providers";
import { createHash, createHmac, randomUUID } from "node:crypto";

class Sha256 {
  constructor(secret) { this.hash = secret ? createHmac("sha256", secret) : createHash("sha256"); }
  update(data) { this.hash.update(data); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

// An ElastiCache IAM token: a SigV4-presigned "connect" request, without its scheme.
async function iamToken(user, cacheName, region) {
  const signer = new SignatureV4({ service: "elasticache", region, credentials: fromEnv(), sha256: Sha256 });
  const signed = await signer.presign(
    { method: "GET", protocol: "http:", hostname: cacheName, path: "/", headers: { host: cacheName },
      query: { Action: "connect", User: user, ResourceType: "ServerlessCache" } },
    { expiresIn: 900 });
  const query = Object.entries(signed.query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return `${cacheName}/?${query}`;
}

export const handler = async (event, context) => {
  const username = "iam-user-01";
  const cacheName = "cache-01";
  const endpoint = "cache-01-xxxxx.serverless.use1.cache.amazonaws.com";
  const client = new Valkey({ host: endpoint, port: 6379, username,
                              password: await iamToken(username, cacheName, process.env.AWS_REGION),
                              tls: { rejectUnauthorized: false }, lazyConnect: true, maxRetriesPerRequest: 1,
                              retryStrategy: () => null });
  let firstError = null;  // a refused AUTH arrives as an error event; connect() only says "closed"
  client.on("error", (e) => { firstError ??= e; });
  try {
    await client.connect();
  } catch (e) {
    throw firstError ?? e;
  }
  try {
    const uuidIn = randomUUID().replaceAll("-", "");
    await client.set("uuid", uuidIn);
    const result = await client.get("uuid");
    if (result !== uuidIn) throw new Error(`Bad value retrieved. Expected ${uuidIn}, got ${result}`);
    console.log(`Success: Inserted ${uuidIn}. Fetched ${result} from Valkey.`);
  } finally {
    client.disconnect();
  }
  return "Fetched value from Valkey";
};
'''


@pytest.fixture(scope="module")
def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The function's node_modules, installed from the npm registry once per run."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed")
    root = tmp_path_factory.mktemp("node-fn")
    (root / "package.json").write_text('{"name": "access-valkey", "private": true, "type": "module"}')
    r = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact", *PACKAGES], cwd=root,
                       capture_output=True, text=True, timeout=600, check=False)
    if r.returncode != 0:
        pytest.skip(f"npm install failed (registry unreachable?): {r.stderr.strip()[-300:]}")
    return root


def _zip(root: Path, endpoint: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(root / "package.json", "package.json")
        for path in (root / "node_modules").rglob("*"):
            if path.is_file():
                zf.write(path, str(path.relative_to(root)))
        zf.writestr("index.js", APP.replace("cache-01-xxxxx.serverless.use1.cache.amazonaws.com", endpoint))
    return buf.getvalue()


def _wait_cache(ec: Any, name: str, status: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        cache: dict[str, Any] = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]
        if cache["Status"] == status:
            return cache
        assert time.monotonic() < deadline, f"cache {name} is {cache['Status']}, not {status}"
        time.sleep(0.2)


def test_tutorial_as_a_nodejs_function(cloudlet_factory: Any, node_modules: Path) -> None:
    server = cloudlet_factory()
    session = boto3.session.Session(aws_access_key_id=server.env["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=server.env["AWS_SECRET_ACCESS_KEY"],
                                     region_name="us-east-1")
    ec, iam, lam, logs, ec2 = (session.client(s, endpoint_url=server.endpoint_url)
                               for s in ("elasticache", "iam", "lambda", "logs", "ec2"))
    ec.create_serverless_cache(ServerlessCacheName="cache-01", Engine="valkey")
    endpoint = _wait_cache(ec, "cache-01", "available")["Endpoint"]["Address"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
        "Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="elasticache-iam-auth-app", AssumeRolePolicyDocument=json.dumps(trust))
    connect = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "elasticache:Connect",
               "Resource": [f"arn:aws:elasticache:us-east-1:{ACCOUNT}:serverlesscache:cache-01",
                            f"arn:aws:elasticache:us-east-1:{ACCOUNT}:user:iam-user-01"]}]}
    iam.put_role_policy(RoleName="elasticache-iam-auth-app", PolicyName="connect", PolicyDocument=json.dumps(connect))
    iam.attach_role_policy(RoleName="elasticache-iam-auth-app",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
    ec.create_user(UserName="default", UserId="default-user-disabled", Engine="redis",
                   AuthenticationMode={"Type": "no-password-required"}, AccessString="off +get ~keys*")
    ec.create_user(UserName="iam-user-01", UserId="iam-user-01", Engine="redis",
                   AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
    ec.create_user_group(UserGroupId="iam-user-group-01", Engine="redis",
                         UserIds=["default-user-disabled", "iam-user-01"])
    ec.modify_serverless_cache(ServerlessCacheName="cache-01", UserGroupId="iam-user-group-01")
    _wait_cache(ec, "cache-01", "available")

    # In the default VPC with its default security group, as the tutorial places it: a function
    # outside the cache's VPC cannot reach it (on AWS as on cloudlet).
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]
    lam.create_function(FunctionName="AccessValkey", Role=f"arn:aws:iam::{ACCOUNT}:role/elasticache-iam-auth-app",
                        Handler="index.handler", Runtime="nodejs20.x", Timeout=30,
                        Code={"ZipFile": _zip(node_modules, endpoint)},
                        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg["GroupId"]]})
    lam.get_waiter("function_active_v2").wait(FunctionName="AccessValkey",
                                              WaiterConfig={"Delay": 1, "MaxAttempts": 300})
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
    m = re.search(r"\tINFO\tSuccess: Inserted ([0-9a-f]{32})\. Fetched ([0-9a-f]{32}) from Valkey", found)
    assert m and m.group(1) == m.group(2), found

    # The value is really in the cache: valkey-py reads it with a token of its own.
    valkey = pytest.importorskip("valkey")
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    iam.create_user(UserName="cache-reader")
    iam.put_user_policy(UserName="cache-reader", PolicyName="connect", PolicyDocument=json.dumps(connect))
    key = iam.create_access_key(UserName="cache-reader")["AccessKey"]
    request = botocore.awsrequest.AWSRequest(method="GET", url="http://cache-01/", params={
        "Action": "connect", "User": "iam-user-01", "ResourceType": "ServerlessCache"})
    botocore.auth.SigV4QueryAuth(botocore.credentials.Credentials(key["AccessKeyId"], key["SecretAccessKey"]),
                                 "elasticache", "us-east-1", expires=900).add_auth(request)
    address = next(line.split()[0] for line in (server.data_dir / "hosts").read_text().splitlines()
                   if line.split()[1] == endpoint)
    client = valkey.Valkey(host=address, port=6379, ssl=True, ssl_ca_certs=str(server.data_dir / "ca" / "ca.pem"),
                           username="iam-user-01", password=request.prepare().url.removeprefix("http://"))
    assert client.get("uuid").decode() == m.group(1)
    client.close()

    # Without elasticache:Connect the same function is refused by the cache.
    iam.delete_role_policy(RoleName="elasticache-iam-auth-app", PolicyName="connect")
    out = lam.invoke(FunctionName="AccessValkey")
    err = json.loads(out["Payload"].read())
    assert out.get("FunctionError") == "Unhandled", err
    assert "WRONGPASS" in err["errorMessage"] or "invalid username-password" in err["errorMessage"], err
