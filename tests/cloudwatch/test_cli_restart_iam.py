"""The stock aws CLI against CloudWatch metrics; acknowledged data across restarts (graceful and
kill -9); IAM deciding cloudwatch:* actions like any other call."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from cloudlet_process import REGION, ROOT_KEY, ROOT_SECRET, CloudletProcess

UTC = dt.UTC


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_aws_cli_round_trip(aws_cli: Any) -> None:
    ns = f"cli/{uuid.uuid4().hex[:8]}"
    t = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=2)
    aws_cli("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-name", "Jobs", "--unit", "Count",
            "--value", "5", "--dimensions", "Queue=a", "--timestamp", _iso(t))
    aws_cli("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-data", json.dumps([
        {"MetricName": "Jobs", "Unit": "Count", "Values": [1, 2], "Counts": [3, 1], "Timestamp": _iso(t),
         "Dimensions": [{"Name": "Queue", "Value": "a"}]}]))
    stats = aws_cli("cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Jobs",
                    "--dimensions", "Name=Queue,Value=a", "--start-time", _iso(t),
                    "--end-time", _iso(t + dt.timedelta(minutes=1)), "--period", "60",
                    "--statistics", "Sum", "SampleCount", "Maximum")
    (point,) = stats["Datapoints"]
    # 5 once, 1 three times, 2 once: n=5, sum=10.
    assert (point["SampleCount"], point["Sum"], point["Maximum"], point["Unit"]) == (5.0, 10.0, 5.0, "Count")
    listed = aws_cli("cloudwatch", "list-metrics", "--namespace", ns)
    assert listed["Metrics"] == [{"Namespace": ns, "MetricName": "Jobs",
                                  "Dimensions": [{"Name": "Queue", "Value": "a"}]}]
    data = aws_cli("cloudwatch", "get-metric-data", "--start-time", _iso(t),
                   "--end-time", _iso(t + dt.timedelta(minutes=1)), "--metric-data-queries", json.dumps([
                       {"Id": "jobs", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Jobs",
                                                                "Dimensions": [{"Name": "Queue", "Value": "a"}]},
                                                     "Period": 60, "Stat": "Average"}},
                       {"Id": "double", "Expression": "jobs * 2"}]))
    values = {r["Id"]: r["Values"] for r in data["MetricDataResults"]}
    assert values == {"jobs": [2.0], "double": [4.0]}
    bad = aws_cli("cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Jobs",
                  "--start-time", _iso(t), "--end-time", _iso(t + dt.timedelta(minutes=1)), "--period", "45",
                  "--statistics", "Sum", check=False)
    assert bad.returncode != 0
    assert "(InvalidParameterValue)" in bad.stderr and "Period must be a multiple of 60" in bad.stderr


def _client(server: CloudletProcess) -> Any:
    return boto3.session.Session(aws_access_key_id=ROOT_KEY, aws_secret_access_key=ROOT_SECRET,
                                 region_name=REGION).client("cloudwatch", endpoint_url=server.endpoint_url)


def _sum(cw: Any, ns: str, t: dt.datetime) -> float:
    out = cw.get_metric_statistics(Namespace=ns, MetricName="Kept", StartTime=t, EndTime=t + dt.timedelta(minutes=2),
                                   Period=60, Statistics=["Sum"])
    return float(sum(p["Sum"] for p in out["Datapoints"]))


def test_acknowledged_data_survives_restart_and_kill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    ns = "restart/test"
    t = dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=3)
    server = CloudletProcess(data_dir)
    try:
        cw = _client(server)
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Kept", "Value": 7.0, "Timestamp": t}])
        server.stop()
        server = CloudletProcess(data_dir)
        cw = _client(server)
        assert _sum(cw, ns, t) == 7.0
        cw.put_metric_data(Namespace=ns, MetricData=[
            {"MetricName": "Kept", "Values": [1.0, 2.0], "Counts": [2.0, 1.0],
             "Timestamp": t + dt.timedelta(minutes=1)}])
        os.kill(server.pid, signal.SIGKILL)  # acknowledged before the kill: on disk
        server.proc.wait(timeout=10)
        server.stop()
        server = CloudletProcess(data_dir)
        cw = _client(server)
        assert _sum(cw, ns, t) == 11.0
        p50 = cw.get_metric_statistics(Namespace=ns, MetricName="Kept", StartTime=t + dt.timedelta(minutes=1),
                                       EndTime=t + dt.timedelta(minutes=2), Period=60, ExtendedStatistics=["p50"])
        assert p50["Datapoints"][0]["ExtendedStatistics"] == {"p50": 1.0}  # the values came back too
        assert cw.list_metrics(Namespace=ns)["Metrics"][0]["MetricName"] == "Kept"
    finally:
        server.stop()


def test_iam_decides_cloudwatch_actions(boto3_client: Any) -> None:
    iam = boto3_client("iam")
    user = f"metrics-reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "cloudwatch:ListMetrics"],
                       "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    cw = boto3_client("cloudwatch", aws_access_key_id=key["AccessKeyId"],
                      aws_secret_access_key=key["SecretAccessKey"])
    cw.list_metrics(Namespace="iam/test")
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(Namespace="iam/test", MetricData=[{"MetricName": "m", "Value": 1.0}])
    err = exc.value.response
    assert err["Error"]["Code"] == "AccessDenied" and err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "cloudwatch:PutMetricData" in err["Error"]["Message"]
    # Nothing was stored.
    root = boto3_client("cloudwatch")
    assert root.list_metrics(Namespace="iam/test")["Metrics"] == []
