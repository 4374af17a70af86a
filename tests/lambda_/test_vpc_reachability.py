"""What a real function can reach of a cache, decided by its VpcConfig and the security groups,
as on AWS: a flow not allowed is dropped, so the client inside the function times out (here it
runs into the Lambda timeout, "Task timed out"), and a cloudlet: line in the function's log
says which rule is missing. Rule changes apply to the next connection."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import botocore.config
import pytest
from lambda_helpers import lambda_role, make_zip

VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
# Opens a TLS connection to the cache endpoint and sends PING; an answer (PONG or NOAUTH) means
# the endpoint was reached. Without a timeout a dropped flow runs into the function's timeout;
# with one, the function reports the client's own exception.
PROBE = r'''
import socket, ssl
def handler(event, context):
    host, port = event["host"], event.get("port", 6379)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    try:
        raw = socket.create_connection((host, port), timeout=event.get("timeout"))
        with ctx.wrap_socket(raw, server_hostname=host) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).decode()
    except OSError as e:
        return type(e).__name__
'''


@pytest.fixture(scope="module")
def lam(boto3_client: Any) -> Any:
    return boto3_client("lambda", config=botocore.config.Config(read_timeout=120, retries={"max_attempts": 0}))


def _available(ec: Any, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found: dict[str, Any] = ec.describe_serverless_caches(ServerlessCacheName=name)["ServerlessCaches"][0]
        if found["Status"] == "available":
            return found
        time.sleep(0.2)
    raise AssertionError(f"cache {name} never became available")


@pytest.fixture(scope="module")
def cache(boto3_client: Any) -> Iterator[dict[str, Any]]:
    ec = boto3_client("elasticache")
    name = f"vpc-{uuid.uuid4().hex[:8]}"
    ec.create_serverless_cache(ServerlessCacheName=name, Engine="valkey")
    yield _available(ec, name)
    _available(ec, name)
    ec.delete_serverless_cache(ServerlessCacheName=name)


@pytest.fixture(scope="module")
def network(boto3_client: Any) -> dict[str, Any]:
    ec2 = boto3_client("ec2")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    default = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "group-name", "Values": ["default"]}])
    return {"ec2": ec2, "vpc": vpc, "subnets": subnets, "default_sg": default["SecurityGroups"][0]["GroupId"]}


def _function(lam: Any, boto3_client: Any, vpc_config: dict[str, Any] | None, timeout: int = 3) -> str:
    name = f"vpc-probe-{uuid.uuid4().hex[:8]}"
    kw: dict[str, Any] = {"VpcConfig": vpc_config} if vpc_config else {}
    lam.create_function(FunctionName=name, Role=lambda_role(boto3_client, "vpc-probe", VPC_ACCESS), Runtime="python3.12",
                        Handler="app.handler", Code={"ZipFile": make_zip({"app.py": PROBE})}, Timeout=timeout, **kw)
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def _invoke(lam: Any, name: str, event: dict[str, Any]) -> tuple[dict[str, Any], Any, str]:
    r = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    return r, json.loads(r["Payload"].read()), base64.b64decode(r["LogResult"]).decode()


def _reached(out: Any) -> bool:
    return isinstance(out, str) and out.startswith(("+PONG", "-NOAUTH"))


def test_default_group_reaches_the_cache_and_no_vpc_config_times_out(lam: Any, boto3_client: Any,
                                                                      cache: dict[str, Any],
                                                                      network: dict[str, Any]) -> None:
    host = cache["Endpoint"]["Address"]
    inside = _function(lam, boto3_client, {"SubnetIds": network["subnets"], "SecurityGroupIds": [network["default_sg"]]})
    outside = _function(lam, boto3_client, None)
    try:
        r, out, _ = _invoke(lam, inside, {"host": host})
        assert _reached(out), out
        r, out, _ = _invoke(lam, inside, {"host": host, "port": 6380})
        assert _reached(out), out

        # Outside every VPC: the connection is never answered, the function times out.
        started = time.monotonic()
        r, out, tail = _invoke(lam, outside, {"host": host})
        assert r["FunctionError"] == "Unhandled"
        assert "Task timed out after 3.00 seconds" in out["errorMessage"]
        assert time.monotonic() - started >= 2.9
        line = next(ln for ln in tail.splitlines() if ln.startswith("cloudlet: connection from function"))
        assert outside in line and ":6379" in line and "no VpcConfig" in line
        # With a client timeout, the client's own timeout error (not a refusal or a reset).
        r, out, _ = _invoke(lam, outside, {"host": host, "timeout": 1})
        assert out == "TimeoutError", out
    finally:
        lam.delete_function(FunctionName=inside)
        lam.delete_function(FunctionName=outside)


def test_a_group_the_cache_does_not_allow_times_out_until_authorized(lam: Any, boto3_client: Any,
                                                                      cache: dict[str, Any],
                                                                      network: dict[str, Any],
                                                                      cloudlet_server: Any) -> None:
    ec2, host = network["ec2"], cache["Endpoint"]["Address"]
    fn_sg = ec2.create_security_group(GroupName=f"fn-{uuid.uuid4().hex[:8]}", Description="function",
                                      VpcId=network["vpc"])["GroupId"]
    name = _function(lam, boto3_client, {"SubnetIds": network["subnets"], "SecurityGroupIds": [fn_sg]})
    rule = [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6380, "UserIdGroupPairs": [{"GroupId": fn_sg}]}]
    try:
        r, out, tail = _invoke(lam, name, {"host": host})
        assert "Task timed out" in out["errorMessage"]
        line = next(ln for ln in tail.splitlines() if ln.startswith("cloudlet: connection from function"))
        assert f"no inbound rule of security group(s) {network['default_sg']}" in line and fn_sg in line
        # The ENI the line names is the function's, as DescribeNetworkInterfaces lists it.
        address = line.split("(ENI ", 1)[1].split(")", 1)[0]
        enis = ec2.describe_network_interfaces(Filters=[{"Name": "private-ip-address", "Values": [address]}])
        eni = enis["NetworkInterfaces"][0]
        assert eni["InterfaceType"] == "lambda" and eni["RequesterManaged"] is True
        assert eni["Groups"][0]["GroupId"] == fn_sg and eni["SubnetId"] in network["subnets"]
        assert eni["Description"] == f"AWS Lambda VPC ENI-{name}"
        # `cloudlet status` lists it (the health answer's status lines).
        with urllib.request.urlopen(cloudlet_server.endpoint_url + "/_cloudlet/health", timeout=10) as resp:
            lines = json.loads(resp.read())["status_lines"]
        assert any(f"{eni['NetworkInterfaceId']} lambda {name} {address}" in ln for ln in lines), lines

        ec2.authorize_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)
        r, out, _ = _invoke(lam, name, {"host": host})
        assert _reached(out), out

        # Revoked: the next connection is dropped again.
        ec2.revoke_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)
        r, out, _ = _invoke(lam, name, {"host": host, "timeout": 1})
        assert out == "TimeoutError", out

        # The function's own group without the outbound rule: dropped on the way out.
        ec2.authorize_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)
        ec2.revoke_security_group_egress(GroupId=fn_sg, IpPermissions=[
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        r, out, tail = _invoke(lam, name, {"host": host, "timeout": 1})
        assert out == "TimeoutError", out
        assert f"no outbound rule of security group(s) {fn_sg} allows TCP 6379" in tail
    finally:
        lam.delete_function(FunctionName=name)
        ec2.revoke_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)


def test_cache_groups_changed_apply_to_the_next_connection_and_cidr_rules_match_the_subnet(
        lam: Any, boto3_client: Any, cache: dict[str, Any], network: dict[str, Any]) -> None:
    ec2, ec, host = network["ec2"], boto3_client("elasticache"), cache["Endpoint"]["Address"]
    cache_sg = ec2.create_security_group(GroupName=f"cache-{uuid.uuid4().hex[:8]}", Description="cache",
                                         VpcId=network["vpc"])["GroupId"]
    name = _function(lam, boto3_client, {"SubnetIds": network["subnets"][:1],
                                         "SecurityGroupIds": [network["default_sg"]]})
    subnet_cidr = ec2.describe_subnets(SubnetIds=network["subnets"][:1])["Subnets"][0]["CidrBlock"]
    try:
        assert _reached(_invoke(lam, name, {"host": host})[1])
        ec.modify_serverless_cache(ServerlessCacheName=cache["ServerlessCacheName"], SecurityGroupIds=[cache_sg])
        _available(ec, cache["ServerlessCacheName"])
        r, out, tail = _invoke(lam, name, {"host": host, "timeout": 1})
        assert out == "TimeoutError", out
        assert f"no inbound rule of security group(s) {cache_sg}" in tail

        ec2.authorize_security_group_ingress(GroupId=cache_sg, IpProtocol="tcp", FromPort=6379, ToPort=6379,
                                             CidrIp=subnet_cidr)
        assert _reached(_invoke(lam, name, {"host": host})[1])
        # The rule names 6379 only: the reader port stays closed.
        assert _invoke(lam, name, {"host": host, "port": 6380, "timeout": 1})[1] == "TimeoutError"
    finally:
        lam.delete_function(FunctionName=name)
        _available(ec, cache["ServerlessCacheName"])
        ec.modify_serverless_cache(ServerlessCacheName=cache["ServerlessCacheName"],
                                   SecurityGroupIds=[network["default_sg"]])


CALLER = r'''
import boto3, botocore.config
def handler(event, context):
    config = botocore.config.Config(connect_timeout=1, read_timeout=event.get("read_timeout", 60),
                                    retries={"max_attempts": 0})
    try:
        return boto3.client("sts", config=config).get_caller_identity()["Arn"]
    except Exception as e:
        return type(e).__name__
'''


def test_a_vpc_function_reaches_sts_only_through_a_vpc_endpoint(lam: Any, boto3_client: Any,
                                                                network: dict[str, Any]) -> None:
    ec2 = network["ec2"]
    name = f"vpc-sts-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=lambda_role(boto3_client, "vpc-probe", VPC_ACCESS),
                        Runtime="python3.12", Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CALLER})},
                        Timeout=4, VpcConfig={"SubnetIds": network["subnets"],
                                              "SecurityGroupIds": [network["default_sg"]]})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    created: list[str] = []
    try:
        r, out, tail = _invoke(lam, name, {})
        assert "Task timed out after 4.00 seconds" in out["errorMessage"]
        line = next(ln for ln in tail.splitlines() if ln.startswith("cloudlet: connection from function"))
        assert "sts API" in line and "com.amazonaws.us-east-1.sts" in line and "(ENI 172.31." in line

        # An endpoint of another service does not carry STS.
        logs_ep = ec2.create_vpc_endpoint(VpcId=network["vpc"], VpcEndpointType="Interface",
                                          ServiceName="com.amazonaws.us-east-1.logs",
                                          SubnetIds=network["subnets"][:1])["VpcEndpoint"]
        created.append(logs_ep["VpcEndpointId"])
        assert _invoke(lam, name, {"read_timeout": 1})[1] == "ReadTimeoutError"

        sts_ep = ec2.create_vpc_endpoint(VpcId=network["vpc"], VpcEndpointType="Interface",
                                         ServiceName="com.amazonaws.us-east-1.sts",
                                         SubnetIds=network["subnets"][:2])["VpcEndpoint"]
        created.append(sts_ep["VpcEndpointId"])
        assert sts_ep["Groups"][0]["GroupId"] == network["default_sg"] and sts_ep["PrivateDnsEnabled"] is True
        r, out, _ = _invoke(lam, name, {})
        assert out.startswith("arn:aws:sts::") and ":assumed-role/vpc-probe/" in out, out

        ec2.delete_vpc_endpoints(VpcEndpointIds=[sts_ep["VpcEndpointId"]])
        created.remove(sts_ep["VpcEndpointId"])
        assert _invoke(lam, name, {"read_timeout": 1})[1] == "ReadTimeoutError"
    finally:
        lam.delete_function(FunctionName=name)
        if created:
            ec2.delete_vpc_endpoints(VpcEndpointIds=created)


def test_a_cache_in_a_custom_vpc_is_reached_only_from_that_vpc(lam: Any, boto3_client: Any,
                                                                network: dict[str, Any]) -> None:
    ec2, ec = network["ec2"], boto3_client("elasticache")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in enumerate("ab")]
    default_sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                       {"Name": "group-name", "Values": ["default"]}])
    sg = default_sg["SecurityGroups"][0]["GroupId"]
    name = f"custom-{uuid.uuid4().hex[:6]}"
    ec.create_serverless_cache(ServerlessCacheName=name, Engine="valkey", SubnetIds=subnets)
    cache = _available(ec, name)
    assert cache["SecurityGroupIds"] == [sg] and sorted(cache["SubnetIds"]) == sorted(subnets)
    inside = _function(lam, boto3_client, {"SubnetIds": subnets, "SecurityGroupIds": [sg]})
    elsewhere = _function(lam, boto3_client, {"SubnetIds": network["subnets"],
                                              "SecurityGroupIds": [network["default_sg"]]})
    try:
        assert _reached(_invoke(lam, inside, {"host": cache["Endpoint"]["Address"]})[1])
        r, out, tail = _invoke(lam, elsewhere, {"host": cache["Endpoint"]["Address"], "timeout": 1})
        assert out == "TimeoutError", out
        assert f"the destination is in {vpc}, the source in {network['vpc']}" in tail
    finally:
        lam.delete_function(FunctionName=inside)
        lam.delete_function(FunctionName=elsewhere)
        ec.delete_serverless_cache(ServerlessCacheName=name)


KEEPER = r'''
import socket, ssl
conn = None
def handler(event, context):
    global conn
    host = event["host"]
    try:
        if event["op"] == "open":
            ctx = ssl.create_default_context()
            ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            raw = socket.create_connection((host, 6379), timeout=event.get("timeout"))
            conn = ctx.wrap_socket(raw, server_hostname=host)
        conn.sendall(b"PING\r\n")
        return conn.recv(64).decode()
    except OSError as e:
        return type(e).__name__
'''


def test_a_revoked_rule_keeps_established_connections(lam: Any, boto3_client: Any, cache: dict[str, Any],
                                                      network: dict[str, Any]) -> None:
    """As AWS's connection tracking does: a rule change decides new connections only."""
    ec2, host = network["ec2"], cache["Endpoint"]["Address"]
    fn_sg = ec2.create_security_group(GroupName=f"keep-{uuid.uuid4().hex[:8]}", Description="function",
                                      VpcId=network["vpc"])["GroupId"]
    rule = [{"IpProtocol": "tcp", "FromPort": 6379, "ToPort": 6379, "UserIdGroupPairs": [{"GroupId": fn_sg}]}]
    ec2.authorize_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)
    name = f"vpc-keep-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=lambda_role(boto3_client, "vpc-probe", VPC_ACCESS),
                        Runtime="python3.12", Handler="app.handler", Code={"ZipFile": make_zip({"app.py": KEEPER})},
                        Timeout=5, VpcConfig={"SubnetIds": network["subnets"], "SecurityGroupIds": [fn_sg]})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    try:
        assert _reached(_invoke(lam, name, {"host": host, "op": "open"})[1])
        ec2.revoke_security_group_ingress(GroupId=network["default_sg"], IpPermissions=rule)
        assert _reached(_invoke(lam, name, {"host": host, "op": "reuse"})[1])  # established: stays
        assert _invoke(lam, name, {"host": host, "op": "open", "timeout": 1})[1] == "TimeoutError"
    finally:
        lam.delete_function(FunctionName=name)


def test_a_vpc_function_reaches_sts_through_a_nat_gateway_route(lam: Any, boto3_client: Any,
                                                                network: dict[str, Any]) -> None:
    """No endpoint: the function's subnet needs 0.0.0.0/0 to a public NAT gateway, whose own subnet
    routes to the VPC's internet gateway (the default VPC's main table does)."""
    ec2 = network["ec2"]
    nat_subnet, fn_subnet = network["subnets"][0], network["subnets"][1]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    nat = ec2.create_nat_gateway(SubnetId=nat_subnet, AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    table = ec2.create_route_table(VpcId=network["vpc"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    name = f"vpc-nat-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=lambda_role(boto3_client, "vpc-probe", VPC_ACCESS),
                        Runtime="python3.12", Handler="app.handler", Code={"ZipFile": make_zip({"app.py": CALLER})},
                        Timeout=5, VpcConfig={"SubnetIds": [fn_subnet], "SecurityGroupIds": [network["default_sg"]]})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    association = None
    try:
        # The subnet still uses the main table: 0.0.0.0/0 goes to the internet gateway, no public IP.
        r, out, tail = _invoke(lam, name, {"read_timeout": 1})
        assert out == "ReadTimeoutError", out
        assert "not to a NAT gateway" in tail

        association = ec2.associate_route_table(RouteTableId=table, SubnetId=fn_subnet)["AssociationId"]
        r, out, _ = _invoke(lam, name, {})
        assert out.startswith("arn:aws:sts::"), out

        ec2.delete_nat_gateway(NatGatewayId=nat)
        routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
        assert [r["State"] for r in routes if r.get("NatGatewayId") == nat] == ["blackhole"]
        assert _invoke(lam, name, {"read_timeout": 1})[1] == "ReadTimeoutError"
    finally:
        lam.delete_function(FunctionName=name)
        if association:
            ec2.disassociate_route_table(AssociationId=association)
        ec2.delete_route_table(RouteTableId=table)
        if ec2.describe_nat_gateways(NatGatewayIds=[nat])["NatGateways"][0]["State"] != "deleted":
            ec2.delete_nat_gateway(NatGatewayId=nat)
        ec2.release_address(AllocationId=allocation)


def test_vpc_egress_open_lets_api_calls_through(cloudlet_factory: Any) -> None:
    """CLOUDLET_VPC_EGRESS=open: the documented departure, for code that relies on a NAT it did not declare."""
    import boto3

    from cloudlet.config import Config

    server = cloudlet_factory(CLOUDLET_VPC_EGRESS="open")
    kw = {"endpoint_url": server.endpoint_url, "region_name": "us-east-1",
          "aws_access_key_id": Config.access_key_id, "aws_secret_access_key": Config.secret_access_key}
    iam, ec2 = boto3.client("iam", **kw), boto3.client("ec2", **kw)
    lam = boto3.client("lambda", config=botocore.config.Config(read_timeout=60, retries={"max_attempts": 0}), **kw)
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
    iam.attach_role_policy(RoleName="r", PolicyArn=VPC_ACCESS)
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    lam.create_function(FunctionName="open", Role=role["Role"]["Arn"], Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": CALLER})}, Timeout=10,
                        VpcConfig={"SubnetIds": subnets, "SecurityGroupIds": [sg[0]["GroupId"]]})
    lam.get_waiter("function_active_v2").wait(FunctionName="open", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    out = json.loads(lam.invoke(FunctionName="open", Payload=b'{"read_timeout": 5}')["Payload"].read())
    assert out.startswith("arn:aws:sts::"), out
