"""CloudWatch metrics (and function URL config) as clients other than boto3 send them.

- the stock aws CLI (v1, botocore's CLI) with file:// input and its text/table output;
- raw awsQuery: form-encoded, signed with botocore's SigV4Auth, as the Java v1 and Go v1
  SDKs send it; the XML answers and the ErrorResponse shape of AWS's query API reference;
- raw awsJson1_0 (X-Amz-Target GraniteServiceVersion20100801.*), as newer SDKs without
  CBOR send it: timestamps as epoch seconds, errors with x-amzn-query-error.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cloudlet_process import REGION, ROOT_KEY, ROOT_SECRET
from provider_world import TRUST_LAMBDA

UTC = dt.UTC
NS = "http://monitoring.amazonaws.com/doc/2010-08-01/"
Q = f"{{{NS}}}"
JSON_TARGET = "GraniteServiceVersion20100801"


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _minute(offset: int) -> dt.datetime:
    return dt.datetime.now(UTC).replace(second=0, microsecond=0) + dt.timedelta(minutes=offset)


def _send(endpoint: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    """POST BODY signed for monitoring (SigV4, botocore's signer) to cloudlet, as an SDK would."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers=headers)
    SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET), "monitoring", REGION).add_auth(req)
    prepared = req.prepare()
    http = urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(http, timeout=30) as r:
            return r.status, dict(r.headers.items()), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


def _query(endpoint: str, params: dict[str, str]) -> tuple[int, dict[str, str], ET.Element]:
    body = urlencode({"Version": "2010-08-01", **params}).encode()
    status, headers, raw = _send(endpoint, body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    return status, headers, ET.fromstring(raw)


def _json(endpoint: str, op: str, doc: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    status, headers, raw = _send(endpoint, json.dumps(doc).encode(), {
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"{JSON_TARGET}.{op}"})
    return status, headers, json.loads(raw)


# ---- the aws CLI ------------------------------------------------------------------------------
def test_cli_file_input_extended_statistics_and_text_table(aws_cli: Any, tmp_path: Path) -> None:
    ns = f"cli/{uuid.uuid4().hex[:8]}"
    t = _minute(-3)
    data = tmp_path / "metric-data.json"
    data.write_text(json.dumps([
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "Values": [1, 2, 3, 4],
         "Counts": [1, 1, 1, 1], "Unit": "Milliseconds", "Timestamp": _iso(t)},
        {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}],
         "StatisticValues": {"SampleCount": 2, "Sum": 30, "Minimum": 15, "Maximum": 15}, "Unit": "Milliseconds",
         "Timestamp": _iso(t)},
        {"MetricName": "Hits", "Dimensions": [{"Name": "Api", "Value": "put"}, {"Name": "Stage", "Value": "prod"}],
         "Value": 5, "StorageResolution": 1, "Unit": "Count", "Timestamp": _iso(t)},
    ]))
    aws_cli("cloudwatch", "put-metric-data", "--namespace", ns, "--metric-data", f"file://{data}")
    window = ["--start-time", _iso(t), "--end-time", _iso(t + dt.timedelta(minutes=1)), "--period", "60"]
    stat = ["cloudwatch", "get-metric-statistics", "--namespace", ns, "--metric-name", "Latency",
            "--dimensions", "Name=Api,Value=get", *window, "--extended-statistics", "p50", "p100"]
    (point,) = aws_cli(*stat)["Datapoints"]
    # 1, 2, 3, 4 and a statistic set of two 15s (Min == Max: percentiles still apply).
    assert point["ExtendedStatistics"] == {"p50": 3.0, "p100": 15.0}
    assert "SampleCount" not in point and point["Unit"] == "Milliseconds"
    text = aws_cli(*stat, "--output", "text").splitlines()
    assert text[0] == "Latency"
    assert text[1].startswith("DATAPOINTS\t") and text[1].endswith("\tMilliseconds")
    # The CLI prints a map's values in the order of its sorted keys: p100, p50.
    assert text[2] == "EXTENDEDSTATISTICS\t15.0\t3.0"
    table = aws_cli(*stat, "--output", "table")
    assert "ExtendedStatistics" in table and "p50" in table and "p100" in table and "15.0" in table

    listed = aws_cli("cloudwatch", "list-metrics", "--namespace", ns, "--dimensions", "Name=Stage,Value=prod")
    assert listed["Metrics"] == [{"Namespace": ns, "MetricName": "Hits", "Dimensions": [
        {"Name": "Api", "Value": "put"}, {"Name": "Stage", "Value": "prod"}]}]
    text = aws_cli("cloudwatch", "list-metrics", "--namespace", ns, "--dimensions", "Name=Stage", "--output", "text")
    assert f"METRICS\tHits\t{ns}" in text.splitlines()
    assert "DIMENSIONS\tStage\tprod" in text.splitlines()
    table = aws_cli("cloudwatch", "list-metrics", "--namespace", ns, "--output", "table")
    assert "ListMetrics" in table and "Latency" in table and "Hits" in table

    bad = aws_cli("cloudwatch", "put-metric-data", "--namespace", "AWS/Lambda", "--metric-name", "Fake",
                  "--value", "1", check=False)
    assert bad.returncode == 255
    assert "(InvalidParameterValue)" in bad.stderr and "AWS/Lambda" in bad.stderr


def test_cli_function_url_config_text_and_table(aws_cli: Any, boto3_client: Any) -> None:
    fn = f"cli-url-{uuid.uuid4().hex[:8]}"
    role = boto3_client("iam").create_role(RoleName=fn, AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as zf:
        zf.writestr("app.py", "def handler(event, context):\n    return event\n")
    lam = boto3_client("lambda")
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role, Handler="app.handler",
                        Code={"ZipFile": code.getvalue()})
    try:
        text = aws_cli("lambda", "create-function-url-config", "--function-name", fn, "--auth-type", "NONE",
                       "--output", "text").split("\t")
        # Top-level scalars, sorted by name: AuthType CreationTime FunctionArn FunctionUrl (Create names
        # InvokeMode only when the request set it, as AWS answers).
        assert len(text) == 4 and text[0] == "NONE" and text[2].endswith(f":function:{fn}")
        text[3] = text[3].strip()
        assert text[3].startswith("http://") and text[3].endswith(".localhost:" + text[3].rsplit(":", 1)[1])
        table = aws_cli("lambda", "get-function-url-config", "--function-name", fn, "--output", "table")
        assert "GetFunctionUrlConfig" in table and text[3] in table and "BUFFERED" in table
        listed = aws_cli("lambda", "list-function-url-configs", "--function-name", fn, "--output", "text")
        assert listed.startswith("FUNCTIONURLCONFIGS\tNONE\t") and text[3] in listed
    finally:
        lam.delete_function(FunctionName=fn)
        boto3_client("iam").delete_role(RoleName=fn)


# ---- raw awsQuery -------------------------------------------------------------------------
def test_query_put_and_statistics_by_member_names(cloudlet_server: Any) -> None:
    ns = f"query/{uuid.uuid4().hex[:8]}"
    t = _minute(-3)
    status, _, doc = _query(cloudlet_server.endpoint_url, {
        "Action": "PutMetricData", "Namespace": ns,
        "MetricData.member.1.MetricName": "Jobs", "MetricData.member.1.Unit": "Count",
        "MetricData.member.1.Value": "5", "MetricData.member.1.Timestamp": _iso(t),
        "MetricData.member.1.Dimensions.member.1.Name": "Queue",
        "MetricData.member.1.Dimensions.member.1.Value": "a",
        "MetricData.member.2.MetricName": "Jobs", "MetricData.member.2.Unit": "Count",
        "MetricData.member.2.Timestamp": _iso(t),
        "MetricData.member.2.Dimensions.member.1.Name": "Queue",
        "MetricData.member.2.Dimensions.member.1.Value": "a",
        "MetricData.member.2.Values.member.1": "1", "MetricData.member.2.Values.member.2": "2",
        "MetricData.member.2.Counts.member.1": "3", "MetricData.member.2.Counts.member.2": "1",
        "MetricData.member.3.MetricName": "Jobs", "MetricData.member.3.Unit": "Count",
        "MetricData.member.3.Timestamp": _iso(t),
        "MetricData.member.3.Dimensions.member.1.Name": "Queue",
        "MetricData.member.3.Dimensions.member.1.Value": "a",
        "MetricData.member.3.StatisticValues.SampleCount": "2", "MetricData.member.3.StatisticValues.Sum": "20",
        "MetricData.member.3.StatisticValues.Minimum": "4", "MetricData.member.3.StatisticValues.Maximum": "16",
    })
    assert status == 200, ET.tostring(doc)
    assert doc.tag == f"{Q}PutMetricDataResponse"
    assert doc.find(f"{Q}ResponseMetadata/{Q}RequestId") is not None

    status, _, doc = _query(cloudlet_server.endpoint_url, {
        "Action": "GetMetricStatistics", "Namespace": ns, "MetricName": "Jobs",
        "Dimensions.member.1.Name": "Queue", "Dimensions.member.1.Value": "a",
        "StartTime": _iso(t), "EndTime": _iso(t + dt.timedelta(minutes=1)), "Period": "60",
        "Statistics.member.1": "SampleCount", "Statistics.member.2": "Sum", "Statistics.member.3": "Maximum",
    })
    assert status == 200, ET.tostring(doc)
    result = doc.find(f"{Q}GetMetricStatisticsResult")
    assert result is not None and result.findtext(f"{Q}Label") == "Jobs"
    (member,) = result.findall(f"{Q}Datapoints/{Q}member")
    # 5 once, 1 three times, 2 once, then a set of two summing to 20: n=7, sum=30, max=16.
    assert member.findtext(f"{Q}SampleCount") == "7.0" and member.findtext(f"{Q}Sum") == "30.0"
    assert member.findtext(f"{Q}Maximum") == "16.0" and member.findtext(f"{Q}Unit") == "Count"
    assert member.findtext(f"{Q}Timestamp") == _iso(t)

    status, _, doc = _query(cloudlet_server.endpoint_url, {
        "Action": "ListMetrics", "Namespace": ns, "Dimensions.member.1.Name": "Queue"})
    metrics = doc.findall(f"{Q}ListMetricsResult/{Q}Metrics/{Q}member")
    assert [m.findtext(f"{Q}MetricName") for m in metrics] == ["Jobs"]
    assert metrics[0].findtext(f"{Q}Dimensions/{Q}member/{Q}Value") == "a"


@pytest.mark.parametrize(("params", "code", "message"), [
    ({"Action": "PutMetricData", "Namespace": "AWS/EC2", "MetricData.member.1.MetricName": "x",
      "MetricData.member.1.Value": "1"},
     "InvalidParameterValue", "The value AWS/EC2 for parameter Namespace is invalid."),
    ({"Action": "GetMetricStatistics", "Namespace": "n", "MetricName": "m", "StartTime": "2026-01-01T00:00:00Z",
      "EndTime": "2026-01-01T01:00:00Z", "Period": "45", "Statistics.member.1": "Sum"},
     "InvalidParameterValue", "The parameter Period must be a multiple of 60."),
    # A malformed number is named by its whole path, as the model's checks name a member.
    ({"Action": "PutMetricData", "Namespace": "n", "MetricData.member.1.MetricName": "x",
      "MetricData.member.1.Value": "one"},
     "ValidationError", "1 validation error detected: Value 'one' at 'metricData.1.member.value' failed to satisfy "
     "constraint: Member must be a valid double"),
    ({"Action": "PutMetricData", "Namespace": "n", "MetricData.member.1.MetricName": "x" * 256,
      "MetricData.member.1.Value": "1"},
     "ValidationError", f"1 validation error detected: Value '{'x' * 256}' at 'metricData.1.member.metricName' "
     "failed to satisfy constraint: Member must have length less than or equal to 255"),
    ({"Action": "PutMetricData", "Namespace": "n", "MetricData.member.1.MetricName": "x",
      "MetricData.member.1.Values.member.1": "1", "MetricData.member.1.Values.member.2": "two"},
     "ValidationError", "1 validation error detected: Value 'two' at 'metricData.1.member.values.2.member' failed "
     "to satisfy constraint: Member must be a valid double"),
    ({"Action": "NoSuchAction"}, "InvalidAction", None),
])
def test_query_error_response_shape(cloudlet_server: Any, params: dict[str, str], code: str,
                                    message: str | None) -> None:
    """AWS's query APIs answer <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>."""
    status, headers, doc = _query(cloudlet_server.endpoint_url, params)
    assert status == 400
    assert headers["Content-Type"].startswith("text/xml")
    assert doc.tag == f"{Q}ErrorResponse"
    assert [c.tag for c in doc] == [f"{Q}Error", f"{Q}RequestId"]
    error = doc.find(f"{Q}Error")
    assert error is not None
    assert [c.tag for c in error] == [f"{Q}Type", f"{Q}Code", f"{Q}Message"]
    assert error.findtext(f"{Q}Type") == "Sender" and error.findtext(f"{Q}Code") == code
    if message is not None:
        assert error.findtext(f"{Q}Message") == message
    assert doc.findtext(f"{Q}RequestId") == headers["x-amzn-RequestId"]


# ---- raw awsJson1_0 ---------------------------------------------------------------------------
def test_json_epoch_timestamps_in_and_out(cloudlet_server: Any) -> None:
    ns = f"json/{uuid.uuid4().hex[:8]}"
    t = _minute(-3)
    epoch = t.timestamp()
    status, _, out = _json(cloudlet_server.endpoint_url, "PutMetricData", {"Namespace": ns, "MetricData": [
        {"MetricName": "Hits", "Value": 2, "Timestamp": epoch + 1.5, "StorageResolution": 1,
         "Dimensions": [{"Name": "Api", "Value": "get"}]},
        {"MetricName": "Hits", "Value": 4, "Timestamp": int(epoch) + 30, "Dimensions": [{"Name": "Api", "Value": "get"}]},
    ]})
    assert (status, out) == (200, {})
    status, headers, out = _json(cloudlet_server.endpoint_url, "GetMetricData", {
        "StartTime": epoch, "EndTime": epoch + 60, "ScanBy": "TimestampAscending",
        "MetricDataQueries": [
            {"Id": "s", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Hits",
                                                   "Dimensions": [{"Name": "Api", "Value": "get"}]},
                                       "Period": 60, "Stat": "Sum"}},
            {"Id": "half", "Expression": "s / 2"},
        ]})
    assert status == 200 and headers["Content-Type"] == "application/x-amz-json-1.0"
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert results["s"]["Values"] == [6.0] and results["half"]["Values"] == [3.0]
    # awsJson timestamps are epoch seconds on the wire, numbers not strings.
    assert results["s"]["Timestamps"] == [epoch] and isinstance(results["s"]["Timestamps"][0], int | float)
    status, _, out = _json(cloudlet_server.endpoint_url, "GetMetricStatistics", {
        "Namespace": ns, "MetricName": "Hits", "Dimensions": [{"Name": "Api", "Value": "get"}],
        "StartTime": epoch, "EndTime": epoch + 60, "Period": 1, "Statistics": ["Sum"]})
    assert status == 200
    # The high-resolution point at its second, the standard one at its minute.
    points = sorted((d["Timestamp"], d["Sum"]) for d in out["Datapoints"])
    assert points == [(epoch, 4.0), (epoch + 1, 2.0)]


def test_json_errors_carry_the_query_code(cloudlet_server: Any) -> None:
    status, headers, out = _json(cloudlet_server.endpoint_url, "PutMetricData", {
        "Namespace": "AWS/EC2", "MetricData": [{"MetricName": "x", "Value": 1}]})
    assert status == 400
    assert headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
    assert out["__type"].rpartition("#")[2] == "InvalidParameterValueException"
    assert out["message"] == "The value AWS/EC2 for parameter Namespace is invalid."
    status, headers, out = _json(cloudlet_server.endpoint_url, "GetMetricStatistics", {
        "Namespace": "n", "MetricName": "m", "StartTime": "yesterday", "EndTime": 1.0, "Period": 60,
        "Statistics": ["Sum"]})
    assert status == 400 and "x-amzn-query-error" in headers, out
