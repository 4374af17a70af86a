"""A function's first connection to a cache's reader endpoint (port 6380) starts the cache's
read replica, which an idle cache does not run: the function reads what was written before,
and READONLY semantics hold (reads served, writes refused as a replica refuses them)."""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

import boto3
import botocore.config
import psutil
import pytest
from lambda_helpers import lambda_role, make_zip

# The proxy's replica starts at the reader's first use and stops when idle; a native cache's
# runs with its primary (valkey's own CLUSTER SLOTS/NODES list it, as AWS's always do).
pytestmark = pytest.mark.skipif(os.environ.get("CLOUDLET_DATAPLANE", "proxy").strip().lower() == "native",
                                reason="proxy data plane: a native cache's replica runs from its start")

VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# Plain RESP over TLS, one command at a time: what a cache client inside the function sends.
READER = r'''
import socket, ssl
def handler(event, context):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    raw = socket.create_connection((event["host"], event["port"]), timeout=20)
    replies = []
    with ctx.wrap_socket(raw, server_hostname=event["host"]) as conn:
        for cmd in event["commands"]:
            conn.sendall(("*%d\r\n" % len(cmd) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in cmd)).encode())
            buf = b""
            while not buf.endswith(b"\r\n") or (buf.startswith(b"$") and buf.count(b"\r\n") < 2
                                                 and not buf.startswith(b"$-1")):
                buf += conn.recv(4096)
            replies.append(buf.decode())
    return replies
'''



def _valkeys(server_pid: int) -> set[int]:
    """The cloudlet's long-lived valkey-server processes (not a valkey's own short-lived forks)."""
    found = set()
    for p in psutil.Process(server_pid).children(recursive=True):
        try:
            if p.name() == "valkey-server" and p.parent().name() != "valkey-server":
                found.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return found


def test_a_function_reaches_the_lazily_started_reader(cloudlet_factory: Any) -> None:
    # A cloudlet of its own: the count of its valkeys is this cache's alone.
    server = cloudlet_factory()

    def client(service: str, **kw: Any) -> Any:
        return boto3.session.Session().client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                                              aws_access_key_id=server.env["AWS_ACCESS_KEY_ID"],
                                              aws_secret_access_key=server.env["AWS_SECRET_ACCESS_KEY"], **kw)

    ec, ec2 = client("elasticache"), client("ec2")
    lam = client("lambda", config=botocore.config.Config(read_timeout=120, retries={"max_attempts": 0}))
    name = f"lazy-{uuid.uuid4().hex[:8]}"
    ec.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")
    deadline = time.monotonic() + 90
    while (cache := ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0])["Status"] \
            != "available":
        assert time.monotonic() < deadline, "cache never became available"
        time.sleep(0.2)
    host = cache["Endpoint"]["Address"]
    assert cache["ReaderEndpoint"]["Port"] == 6380
    assert len(_valkeys(server.pid)) == 1, "an idle cache runs one valkey"

    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                               {"Name": "group-name", "Values": ["default"]}])
    fn = f"reader-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=fn, Role=lambda_role(client, "lazy-reader", VPC_ACCESS), Runtime="python3.12",
                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": READER})}, Timeout=30,
                        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg["SecurityGroups"][0]["GroupId"]]})
    lam.get_waiter("function_active_v2").wait(FunctionName=fn, WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    def run(port: int, *commands: list[str]) -> list[str]:
        out = lam.invoke(FunctionName=fn, Payload=json.dumps({"host": host, "port": port,
                                                              "commands": commands}).encode())
        assert "FunctionError" not in out, out["Payload"].read()
        replies: list[str] = json.loads(out["Payload"].read())
        return replies

    assert run(6379, ["SET", "{f}before", "v0"]) == ["+OK\r\n"]
    assert len(_valkeys(server.pid)) == 1
    replies = run(6380, ["READONLY"], ["GET", "{f}before"], ["SET", "{f}before", "x"], ["ROLE"])
    assert replies[0] == "+OK\r\n"
    assert replies[1] == "$2\r\nv0\r\n"  # the first sync happened before the connection was served
    assert replies[2].startswith("-READONLY")
    assert replies[3].startswith("*") and "slave" in replies[3]
    assert len(_valkeys(server.pid)) == 2, "the reader's first use started the replica"
    assert run(6379, ["GET", "{f}before"]) == ["$2\r\nv0\r\n"]
