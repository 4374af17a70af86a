"""What cloudlet itself publishes, read back with boto3: AWS/Lambda from invokes, metrics from
embedded-metric-format lines a real function prints, AWS/ElastiCache from a real cache's traffic."""

from __future__ import annotations

import datetime as dt
import io
import json
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
from botocore.config import Config
from cloudlet_process import REGION, ROOT_KEY, ROOT_SECRET
from provider_world import TRUST_LAMBDA

UTC = dt.UTC

FUNCTION_SRC = '''
import json, time
def handler(event, context):
    if event.get("emf"):
        print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": event["emf"], "Dimensions": [["service"], []],
            "Metrics": [{"Name": "Orders", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]}]},
            "service": "shop", "Orders": 3, "Latency": [10, 20]}))
        # Malformed: the Orders value is text. Stays a log line, makes no metric.
        print(json.dumps({"_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": event["emf"] + "-bad", "Dimensions": [[]], "Metrics": [{"Name": "Orders"}]}]},
            "Orders": "three"}))
    if event.get("boom"):
        raise ValueError("boom")
    return {"ok": True}
'''


def make_zip(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return buf.getvalue()


def lambda_role(boto3_client: Any, name: str) -> str:
    iam = boto3_client("iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"])


def _window() -> tuple[dt.datetime, dt.datetime]:
    now = dt.datetime.now(UTC)
    return now - dt.timedelta(minutes=10), now + dt.timedelta(minutes=2)


def _sum(cw: Any, namespace: str, name: str, dims: list[dict[str, str]], stat: str = "Sum") -> float | None:
    start, end = _window()
    points = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dims, StartTime=start,
                                      EndTime=end, Period=60, Statistics=[stat])["Datapoints"]
    if not points:
        return None
    if stat == "Maximum":
        return max(p[stat] for p in points)
    return sum(p[stat] for p in points)


@pytest.fixture(scope="module")
def function(boto3_client: Any) -> str:
    role = lambda_role(boto3_client, "metrics-test-role")
    lam = boto3_client("lambda")
    name = f"metrics-{uuid.uuid4().hex[:8]}"
    lam.create_function(FunctionName=name, Role=role, Runtime="python3.12", Handler="app.handler",
                        Code={"ZipFile": make_zip({"app.py": FUNCTION_SRC})})
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    return name


def test_invokes_make_aws_lambda_metrics(boto3_client: Any, function: str) -> None:
    lam, cw = boto3_client("lambda"), boto3_client("cloudwatch")
    for payload in (b"{}", b"{}", b'{"boom": true}'):
        lam.invoke(FunctionName=function, Payload=payload)
    version = lam.publish_version(FunctionName=function)["Version"]
    lam.create_alias(FunctionName=function, Name="live", FunctionVersion=version)
    lam.invoke(FunctionName=function, Qualifier="live", Payload=b"{}")
    fn = [{"Name": "FunctionName", "Value": function}]
    assert _sum(cw, "AWS/Lambda", "Invocations", fn) == 4.0
    assert _sum(cw, "AWS/Lambda", "Errors", fn) == 1.0
    assert _sum(cw, "AWS/Lambda", "Duration", fn, "SampleCount") == 4.0
    assert (_sum(cw, "AWS/Lambda", "Duration", fn, "Minimum") or 0) > 0
    assert _sum(cw, "AWS/Lambda", "ConcurrentExecutions", fn, "Maximum") == 1.0
    alias = [*fn, {"Name": "Resource", "Value": f"{function}:live"}]
    assert _sum(cw, "AWS/Lambda", "Invocations", alias) == 1.0
    executed = [*alias, {"Name": "ExecutedVersion", "Value": version}]
    assert _sum(cw, "AWS/Lambda", "Invocations", executed) == 1.0
    assert (_sum(cw, "AWS/Lambda", "Invocations", []) or 0) >= 4.0  # account-wide
    # Reserved concurrency 0 throttles every invoke: a Throttles point, not an Invocations one.
    lam.put_function_concurrency(FunctionName=function, ReservedConcurrentExecutions=0)
    once = boto3_client("lambda", config=Config(retries={"total_max_attempts": 1}))  # each attempt is a throttle
    with pytest.raises(once.exceptions.TooManyRequestsException):
        once.invoke(FunctionName=function, Payload=b"{}")
    lam.delete_function_concurrency(FunctionName=function)
    assert _sum(cw, "AWS/Lambda", "Throttles", fn) == 1.0
    assert _sum(cw, "AWS/Lambda", "Invocations", fn) == 4.0
    listed = cw.list_metrics(Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": function}])
    names = {m["MetricName"] for m in listed["Metrics"]}
    assert {"Invocations", "Errors", "Duration", "Throttles", "ConcurrentExecutions"} <= names


def test_embedded_metric_format_lines_become_metrics(boto3_client: Any, function: str) -> None:
    lam, cw, logs = boto3_client("lambda"), boto3_client("cloudwatch"), boto3_client("logs")
    namespace = f"emf-{uuid.uuid4().hex[:8]}"
    lam.invoke(FunctionName=function, Payload=json.dumps({"emf": namespace}).encode())
    service = [{"Name": "service", "Value": "shop"}]
    assert _sum(cw, namespace, "Orders", service) == 3.0
    assert _sum(cw, namespace, "Orders", []) == 3.0  # the empty dimension set
    assert _sum(cw, namespace, "Latency", service, "SampleCount") == 2.0
    start, end = _window()
    latency = cw.get_metric_statistics(Namespace=namespace, MetricName="Latency", Dimensions=service,
                                       StartTime=start, EndTime=end, Period=60, Statistics=["Average"])
    assert latency["Datapoints"][0]["Average"] == 15.0 and latency["Datapoints"][0]["Unit"] == "Milliseconds"
    assert cw.list_metrics(Namespace=namespace + "-bad")["Metrics"] == []
    # Both lines are still log lines.
    events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}", filterPattern=f'"{namespace}"')
    assert len(events["events"]) == 2


def _cache_address(data_dir: Path, endpoint: str) -> str:
    return next(line.split()[0] for line in (data_dir / "hosts").read_text().splitlines()
                if line.split()[1] == endpoint)


def test_cache_metrics_follow_its_traffic(cloudlet_factory: Any) -> None:
    server = cloudlet_factory(CLOUDLET_METRICS_INTERVAL_S="1", CLOUDLET_CACHE_NET="127.79")
    session = boto3.session.Session(aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                                    region_name=REGION)
    ec = session.client("elasticache", endpoint_url=server.endpoint_url)
    cw = session.client("cloudwatch", endpoint_url=server.endpoint_url)
    ec.create_serverless_cache(ServerlessCacheName="graphs", Engine="valkey")
    deadline = time.monotonic() + 60
    while True:
        cache = ec.describe_serverless_caches(ServerlessCacheName="graphs")["ServerlessCaches"][0]
        if cache["Status"] == "available":
            break
        assert time.monotonic() < deadline, cache["Status"]
        time.sleep(0.2)
    address = _cache_address(server.data_dir, cache["Endpoint"]["Address"])
    client = redis.Redis(host=address, port=int(cache["Endpoint"]["Port"]), ssl=True, ssl_cert_reqs="none",
                         socket_timeout=10)
    for i in range(20):
        client.set(f"{{k}}{i}", "x" * 100)
    hits = sum(1 for i in range(5) if client.get(f"{{k}}{i}") is not None)
    misses = sum(1 for i in range(3) if client.get(f"{{none}}{i}") is None)
    assert (hits, misses) == (5, 3)
    dims = [{"Name": "clusterId", "Value": "graphs"}]
    deadline = time.monotonic() + 30
    while True:
        got = {name: _sum(cw, "AWS/ElastiCache", name, dims) for name in ("CacheHits", "CacheMisses",
                                                                            "NewConnections")}
        if got == {"CacheHits": 5.0, "CacheMisses": 3.0, "NewConnections": 1.0}:
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.5)
    assert _sum(cw, "AWS/ElastiCache", "CurrConnections", dims, "Maximum") == 1.0
    assert (_sum(cw, "AWS/ElastiCache", "BytesUsedForCache", dims, "Maximum") or 0) > 0
    # 28 commands at least (20 SET, 8 GET; the client's own handshake adds a few).
    assert (_sum(cw, "AWS/ElastiCache", "ElastiCacheProcessingUnits", dims) or 0) >= 28
    assert _sum(cw, "AWS/ElastiCache", "ThrottledCmds", dims) == 0.0
    client.close()
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/ElastiCache", Dimensions=dims)["Metrics"]}
    assert names == {"BytesUsedForCache", "ElastiCacheProcessingUnits", "CurrConnections", "NewConnections",
                     "ThrottledCmds", "CacheHits", "CacheMisses"}
