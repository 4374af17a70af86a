"""State survives a restart: the tutorial's stack plus state of every kind, found again
after a graceful stop and after kill -9, with the cache's keys readable and the
function invocable (issue 15)."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import signal
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from acceptance.test_tutorial_boto3 import (
    TUTORIAL_DIR,
    _client,
    _deployment_zip,
    _iam_token,
    _wait_cache,
)
from acceptance.tutorial_runner import TUTORIAL

ACCOUNT = "123456789012"
ROLE = "elasticache-iam-auth-app"
TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
})


def _echo_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("echo.py", "import os\ndef handler(event, context):\n"
                               "    return {'event': event, 'mode': os.environ.get('MODE')}\n")
    return buf.getvalue()


def _restart(cloudlets: Any, server: Any, kill: bool = False) -> Any:
    if kill:
        os.kill(server.pid, signal.SIGKILL)
        server.proc.wait(timeout=10)
    server.stop()
    return cloudlets(server.data_dir)


def _cache_address(server: Any, endpoint: str) -> str:
    return next(line.split()[0] for line in (server.data_dir / "hosts").read_text().splitlines()
                if line.split()[1] == endpoint)


@pytest.mark.skipif(not TUTORIAL.exists(), reason="../shared/tutorial is not beside the checkout")
@pytest.mark.skipif(importlib.util.find_spec("cachetools") is None, reason="cachetools not installed")
def test_whole_stack_survives_graceful_restart_and_kill(tmp_path: Path, cloudlets: Any) -> None:
    valkey = pytest.importorskip("valkey")
    server = cloudlets(tmp_path / "data")
    try:
        ec, iam, ec2, lam, logs, sts = (
            _client(server, s) for s in ("elasticache", "iam", "ec2", "lambda", "logs", "sts")
        )
        # -- the tutorial's stack (steps 1.1-2.3)
        ec.create_serverless_cache(ServerlessCacheName="cache-01", Engine="valkey",
                                   Tags=[{"Key": "team", "Value": "a"}])
        endpoint = _wait_cache(ec, "cache-01", "available")["Endpoint"]["Address"]
        address = _cache_address(server, endpoint)
        iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=(TUTORIAL_DIR / "trust-policy.json").read_text())
        policy_arn = iam.create_policy(
            PolicyName="elasticache-allow-all", PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text()
        )["Policy"]["Arn"]
        iam.attach_role_policy(RoleName=ROLE, PolicyArn=policy_arn)
        iam.attach_role_policy(RoleName=ROLE,
                               PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole")
        ec.create_user(UserName="default", UserId="default-user-disabled", Engine="redis",
                       AuthenticationMode={"Type": "no-password-required"}, AccessString="off +get ~keys*")
        ec.create_user(UserName="iam-user-01", UserId="iam-user-01", Engine="redis",
                       AuthenticationMode={"Type": "iam"}, AccessString="on ~* +@all")
        ec.create_user_group(UserGroupId="iam-user-group-01", Engine="redis",
                             UserIds=["default-user-disabled", "iam-user-01"])
        ec.modify_serverless_cache(ServerlessCacheName="cache-01", UserGroupId="iam-user-group-01")
        _wait_cache(ec, "cache-01", "available")
        vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        subnets = [s["SubnetId"] for s in ec2.describe_subnets(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
        sg = ec2.describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
        lam.create_function(
            FunctionName="AccessValkey", Role=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}",
            Handler="app.lambda_handler", Runtime="python3.12", Timeout=30,
            Code={"ZipFile": _deployment_zip(endpoint)},
            VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg]},
        )
        lam.get_waiter("function_active_v2").wait(FunctionName="AccessValkey", WaiterConfig={"Delay": 1})
        out = lam.invoke(FunctionName="AccessValkey")
        assert json.loads(out["Payload"].read()) == "Fetched value from Valkey"

        # -- extra state of every kind
        # IAM: a user with a key (it signs the cache token), a group, versions, inline, tags.
        iam.create_user(UserName="cache-reader", Tags=[{"Key": "k", "Value": "v"}])
        iam.put_user_policy(UserName="cache-reader", PolicyName="connect",
                            PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text())
        key = iam.create_access_key(UserName="cache-reader")["AccessKey"]
        iam.create_group(GroupName="readers")
        iam.add_user_to_group(GroupName="readers", UserName="cache-reader")
        iam.create_policy_version(PolicyArn=policy_arn, SetAsDefault=True,
                                  PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text())
        iam.put_role_policy(RoleName=ROLE, PolicyName="inline", PolicyDocument=(TUTORIAL_DIR / "policy.json").read_text())
        iam.create_role(RoleName="chain", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                           "Action": "sts:AssumeRole"}],
        }))
        # STS: a role session, still valid after the restart.
        session = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/chain", RoleSessionName="s1")["Credentials"]
        # EC2: a security group and a tag on the default VPC.
        sg2 = ec2.create_security_group(GroupName="extra", Description="extra", VpcId=vpc)["GroupId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "dev"}])
        # ElastiCache: a snapshot, and a key written through the data plane.
        ec.create_serverless_cache_snapshot(ServerlessCacheSnapshotName="snap-1", ServerlessCacheName="cache-01")
        deadline = time.monotonic() + 60
        while ec.describe_serverless_cache_snapshots(
                ServerlessCacheSnapshotName="snap-1")["ServerlessCacheSnapshots"][0]["Status"] != "available":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        _wait_cache(ec, "cache-01", "available")

        def cache_client(srv: Any, port: int = 6379) -> Any:
            return valkey.Valkey(
                host=_cache_address(srv, endpoint), port=port, ssl=True,
                ssl_ca_certs=str(srv.data_dir / "ca" / "ca.pem"), username="iam-user-01",
                password=_iam_token("cache-01", "iam-user-01", key["AccessKeyId"], key["SecretAccessKey"]),
            )

        c = cache_client(server)
        c.set("persisted-key", "before-restart")
        uuid = c.get("uuid")
        assert uuid
        c.close()
        # The reader endpoint used (its replica started at this first use) before the restarts.
        r = cache_client(server, 6380)
        assert r.execute_command("READONLY") in (True, b"OK") and r.get("persisted-key") == b"before-restart"
        r.close()
        # Lambda: a second function with a version, an alias, a permission, concurrency, config.
        lam.create_function(FunctionName="echo", Role=f"arn:aws:iam::{ACCOUNT}:role/{ROLE}", Handler="echo.handler",
                            Runtime="python3.12", Code={"ZipFile": _echo_zip()},
                            Environment={"Variables": {"MODE": "one"}})
        lam.get_waiter("function_active_v2").wait(FunctionName="echo", WaiterConfig={"Delay": 1})
        v1 = lam.publish_version(FunctionName="echo")["Version"]
        lam.update_function_configuration(FunctionName="echo", Environment={"Variables": {"MODE": "two"}})
        lam.get_waiter("function_updated_v2").wait(FunctionName="echo", WaiterConfig={"Delay": 1})
        lam.create_alias(FunctionName="echo", Name="live", FunctionVersion=v1)
        lam.add_permission(FunctionName="echo", StatementId="allow-root", Action="lambda:InvokeFunction",
                           Principal=ACCOUNT)
        lam.put_function_concurrency(FunctionName="echo", ReservedConcurrentExecutions=5)
        lam.tag_resource(Resource=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo", Tags={"t": "1"})
        # Logs: retention, a stream, events, and a paging token taken before the restart.
        logs.create_log_group(logGroupName="app")
        logs.put_retention_policy(logGroupName="app", retentionInDays=30)
        logs.create_log_stream(logGroupName="app", logStreamName="s")
        now = int(time.time() * 1000)
        put = logs.put_log_events(logGroupName="app", logStreamName="s",
                                  logEvents=[{"timestamp": now + i, "message": f"m{i}"} for i in range(5)])
        page = logs.get_log_events(logGroupName="app", logStreamName="s", limit=2, startFromHead=True)
        assert [e["message"] for e in page["events"]] == ["m0", "m1"]

        before = {
            "function": lam.get_function_configuration(FunctionName="AccessValkey"),
            "echo": lam.get_function_configuration(FunctionName="echo"),
            "cache": ec.describe_serverless_caches(ServerlessCacheName="cache-01")["ServerlessCaches"][0],
            "streams": logs.describe_log_streams(logGroupName="app")["logStreams"],
        }

        for kill in (False, True):
            server = _restart(cloudlets, server, kill=kill)
            ec, iam, ec2, lam, logs = (_client(server, s) for s in ("elasticache", "iam", "ec2", "lambda", "logs"))

            # IAM
            role = iam.get_role(RoleName=ROLE)["Role"]
            attached = {p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]}
            assert policy_arn in attached and len(attached) == 2
            assert iam.list_role_policies(RoleName=ROLE)["PolicyNames"] == ["inline"]
            assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"] == "v2"
            assert len(iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]) == 2
            assert [u["UserName"] for u in iam.get_group(GroupName="readers")["Users"]] == ["cache-reader"]
            assert iam.list_user_tags(UserName="cache-reader")["Tags"] == [{"Key": "k", "Value": "v"}]
            assert role["RoleId"].startswith("AROA")
            # The user's key and the role session still sign requests.
            me = _client(server, "sts", key=key["AccessKeyId"], secret=key["SecretAccessKey"]).get_caller_identity()
            assert me["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/cache-reader"
            assumed = _client(server, "sts", key=session["AccessKeyId"], secret=session["SecretAccessKey"],
                              token=session["SessionToken"]).get_caller_identity()
            assert assumed["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/chain/s1"
            # EC2
            assert ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"] == vpc
            assert {"Key": "env", "Value": "dev"} in ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Tags"]
            assert ec2.describe_security_groups(GroupIds=[sg2])["SecurityGroups"][0]["GroupName"] == "extra"
            # ElastiCache: available at the same endpoint and address, with its data and users.
            cache = ec.describe_serverless_caches(ServerlessCacheName="cache-01")["ServerlessCaches"][0]
            assert cache["Status"] == "available"
            assert cache["Endpoint"] == before["cache"]["Endpoint"]
            assert cache["UserGroupId"] == "iam-user-group-01"
            assert _cache_address(server, endpoint) == address
            assert ec.list_tags_for_resource(ResourceName=cache["ARN"])["TagList"] == [{"Key": "team", "Value": "a"}]
            assert ec.describe_serverless_cache_snapshots(
                ServerlessCacheSnapshotName="snap-1")["ServerlessCacheSnapshots"][0]["Status"] == "available"
            groups = ec.describe_user_groups(UserGroupId="iam-user-group-01")["UserGroups"]
            assert groups[0]["Status"] == "active"
            assert sorted(groups[0]["UserIds"]) == ["default-user-disabled", "iam-user-01"]
            c = cache_client(server)
            assert c.get("persisted-key") == b"before-restart"
            assert c.get("uuid") == uuid
            c.close()
            r = cache_client(server, 6380)  # the reader answers again, with the cache's users and data
            assert r.execute_command("READONLY") in (True, b"OK") and r.get("persisted-key") == b"before-restart"
            assert r.execute_command("ROLE")[0] == b"slave"
            r.close()
            # Lambda: Active (cold), its configuration, versions, alias, policy, concurrency.
            cfg = lam.get_function_configuration(FunctionName="AccessValkey")
            assert cfg["State"] == "Active" and cfg["CodeSha256"] == before["function"]["CodeSha256"]
            assert cfg["RevisionId"] == before["function"]["RevisionId"]
            echo = lam.get_function_configuration(FunctionName="echo")
            assert echo["Environment"] == {"Variables": {"MODE": "two"}} and echo["State"] == "Active"
            assert echo["RevisionId"] == before["echo"]["RevisionId"]
            assert [v["Version"] for v in lam.list_versions_by_function(FunctionName="echo")["Versions"]] == [
                "$LATEST", v1]
            assert lam.get_alias(FunctionName="echo", Name="live")["FunctionVersion"] == v1
            assert json.loads(lam.get_policy(FunctionName="echo")["Policy"])["Statement"][0]["Sid"] == "allow-root"
            assert lam.get_function_concurrency(FunctionName="echo")["ReservedConcurrentExecutions"] == 5
            assert lam.list_tags(Resource=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo")["Tags"] == {"t": "1"}
            res = json.loads(lam.invoke(FunctionName="echo", Qualifier="live", Payload=b'{"x":1}')["Payload"].read())
            assert res == {"event": {"x": 1}, "mode": "one"}
            out = lam.invoke(FunctionName="AccessValkey")
            assert "FunctionError" not in out
            assert json.loads(out["Payload"].read()) == "Fetched value from Valkey"
            c = cache_client(server)
            uuid = c.get("uuid")  # the invoke wrote a new one
            c.close()
            # Logs: retention, events, and the tokens handed out before the restart.
            group = logs.describe_log_groups(logGroupNamePrefix="app")["logGroups"][0]
            assert group["retentionInDays"] == 30
            assert logs.describe_log_streams(logGroupName="app")["logStreams"] == before["streams"]
            rest = logs.get_log_events(logGroupName="app", logStreamName="s", nextToken=page["nextForwardToken"],
                                       startFromHead=True)
            assert [e["message"] for e in rest["events"]] == ["m2", "m3", "m4"]
            assert before["streams"][0]["uploadSequenceToken"] == put["nextSequenceToken"]
            found = logs.filter_log_events(logGroupName="/aws/lambda/AccessValkey",
                                           filterPattern='"from Valkey"')["events"]
            assert found, "the function's log lines from before the restart are kept"
    finally:
        server.stop()


def test_acknowledged_writes_survive_kill_9_mid_stream(tmp_path: Path, cloudlets: Any) -> None:
    """A stream of writes, cloudlet killed in the middle: every acknowledged write is back."""
    server = cloudlets(tmp_path / "data")
    iam, logs = _client(server, "iam"), _client(server, "logs")
    logs.create_log_group(logGroupName="stream")
    logs.create_log_stream(logGroupName="stream", logStreamName="s")
    acked_roles: list[str] = []
    acked_events: list[str] = []
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        i = 0
        base = int(time.time() * 1000)
        while not stop.is_set():
            try:
                iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument=TRUST)
                acked_roles.append(f"r{i}")
                logs.put_log_events(logGroupName="stream", logStreamName="s",
                                    logEvents=[{"timestamp": base + i, "message": f"e{i}"}])
                acked_events.append(f"e{i}")
            except Exception as e:  # noqa: BLE001 -- the kill ends the stream
                errors.append(e)
                return
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 60
    while len(acked_events) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(server.pid, signal.SIGKILL)
    t.join(timeout=30)
    stop.set()
    assert len(acked_roles) >= 40 and errors, "the stream was cut by the kill"
    server.stop()
    server = cloudlets(server.data_dir)
    try:
        iam, logs = _client(server, "iam"), _client(server, "logs")
        names: set[str] = set()
        for page in iam.get_paginator("list_roles").paginate():
            names.update(r["RoleName"] for r in page["Roles"])
        assert set(acked_roles) <= names
        got = [e["message"] for e in logs.get_paginator("filter_log_events").paginate(
            logGroupName="stream").build_full_result()["events"]]
        assert set(acked_events) <= set(got)
        # Writes go on where they stopped.
        logs.put_log_events(logGroupName="stream", logStreamName="s",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "after"}])
        iam.create_role(RoleName="after-kill", AssumeRolePolicyDocument=TRUST)
    finally:
        server.stop()
