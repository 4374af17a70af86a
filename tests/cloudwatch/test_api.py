"""CloudWatch metrics through a real cloudlet, in each of the model's three protocols."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cw_clients import PROTOCOLS, cloudwatch_client

UTC = dt.UTC


@pytest.fixture(scope="module", params=PROTOCOLS)
def cw(request: pytest.FixtureRequest, cloudlet_server: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    client = cloudwatch_client(cloudlet_server.endpoint_url, request.param, tmp_path_factory.mktemp("models"))
    assert client.meta.service_model.protocol == request.param
    return client


def _ns() -> str:
    return f"test/{uuid.uuid4().hex[:10]}"


def _minute(offset_min: int = 0) -> dt.datetime:
    now = dt.datetime.now(UTC).replace(second=0, microsecond=0)
    return now + dt.timedelta(minutes=offset_min)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def test_put_then_statistics_by_hand(cw: Any) -> None:
    ns = _ns()
    t = _minute(-3)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "Latency", "Value": v, "Unit": "Milliseconds", "Timestamp": t + dt.timedelta(seconds=s)}
        for v, s in ((10, 1), (20, 5), (60, 30))
    ] + [
        {"MetricName": "Latency", "Values": [1, 2, 3], "Counts": [1, 1, 2], "Unit": "Milliseconds", "Timestamp": t},
        {"MetricName": "Latency", "Value": 100, "Unit": "Milliseconds", "Timestamp": t + dt.timedelta(minutes=1)},
    ])
    out = cw.get_metric_statistics(
        Namespace=ns, MetricName="Latency", StartTime=t, EndTime=t + dt.timedelta(minutes=2), Period=60,
        Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"])
    points = sorted(out["Datapoints"], key=lambda d: d["Timestamp"])
    assert out["Label"] == "Latency"
    assert len(points) == 2
    first, second = points
    # Values 10, 20, 60, 1, 2, 3, 3 in the first minute: n=7, sum=99.
    assert first["Timestamp"] == t
    assert first["SampleCount"] == 7.0 and first["Sum"] == 99.0
    assert first["Minimum"] == 1.0 and first["Maximum"] == 60.0
    assert first["Average"] == pytest.approx(99 / 7)
    assert first["Unit"] == "Milliseconds"
    assert second["SampleCount"] == 1.0 and second["Sum"] == 100.0


def test_percentiles_and_statistic_sets(cw: Any) -> None:
    ns = _ns()
    t = _minute(-2)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "D", "Values": [float(v) for v in range(1, 101)], "Timestamp": t},
        {"MetricName": "S", "StatisticValues": {"SampleCount": 4, "Sum": 10, "Minimum": 1, "Maximum": 4},
         "Timestamp": t},
    ])
    got = cw.get_metric_statistics(Namespace=ns, MetricName="D", StartTime=t, EndTime=t + dt.timedelta(minutes=1),
                                   Period=60, ExtendedStatistics=["p50", "p99", "p100", "p0.5"])
    ext = got["Datapoints"][0]["ExtendedStatistics"]
    # Nearest rank over 1..100: p50 -> 50, p99 -> 99, p100 -> 100, p0.5 -> 1.
    assert ext == {"p50": 50.0, "p99": 99.0, "p100": 100.0, "p0.5": 1.0}
    sets = cw.get_metric_statistics(Namespace=ns, MetricName="S", StartTime=t, EndTime=t + dt.timedelta(minutes=1),
                                    Period=60, Statistics=["Average", "SampleCount"])
    assert sets["Datapoints"][0]["Average"] == 2.5 and sets["Datapoints"][0]["SampleCount"] == 4.0
    # A statistic set of different values has no percentiles (CloudWatch needs the raw values).
    none = cw.get_metric_statistics(Namespace=ns, MetricName="S", StartTime=t, EndTime=t + dt.timedelta(minutes=1),
                                    Period=60, ExtendedStatistics=["p50"])
    assert "ExtendedStatistics" not in none["Datapoints"][0]


def test_get_metric_data_with_math_labels_and_paging(cw: Any) -> None:
    ns = _ns()
    t = _minute(-5)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": name, "Value": v * (i + 1), "Timestamp": t + dt.timedelta(minutes=i),
         "Dimensions": [{"Name": "Fn", "Value": "a"}]}
        for i in range(5) for name, v in (("Errors", 1.0), ("Invocations", 4.0))
    ])
    dims = [{"Name": "Fn", "Value": "a"}]

    def stat(qid: str, name: str, **kw: Any) -> dict[str, Any]:
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": dims},
                                          "Period": 60, "Stat": "Sum"}, **kw}

    out = cw.get_metric_data(
        MetricDataQueries=[stat("e", "Errors", ReturnData=False), stat("i", "Invocations"),
                           {"Id": "rate", "Expression": "100 * e / i", "Label": "Error rate"},
                           {"Id": "total", "Expression": "SUM([e, i])"}],
        StartTime=t, EndTime=t + dt.timedelta(minutes=5), ScanBy="TimestampAscending")
    results = {r["Id"]: r for r in out["MetricDataResults"]}
    assert set(results) == {"i", "rate", "total"}
    assert results["i"]["Label"] == "Invocations"
    assert results["i"]["Values"] == [4.0, 8.0, 12.0, 16.0, 20.0]
    assert results["i"]["Timestamps"] == [t + dt.timedelta(minutes=k) for k in range(5)]
    assert results["rate"]["Label"] == "Error rate" and results["rate"]["Values"] == [25.0] * 5
    assert results["total"]["Values"] == [5.0, 10.0, 15.0, 20.0, 25.0]
    assert all(r["StatusCode"] == "Complete" for r in results.values())
    # Descending by default, and at most MaxDatapoints values a page.
    page = cw.get_metric_data(MetricDataQueries=[stat("i", "Invocations")], StartTime=t,
                              EndTime=t + dt.timedelta(minutes=5), MaxDatapoints=3)
    assert page["MetricDataResults"][0]["Values"] == [20.0, 16.0, 12.0]
    assert page["MetricDataResults"][0]["StatusCode"] == "PartialData"
    rest = cw.get_metric_data(MetricDataQueries=[stat("i", "Invocations")], StartTime=t,
                              EndTime=t + dt.timedelta(minutes=5), MaxDatapoints=3, NextToken=page["NextToken"])
    assert rest["MetricDataResults"][0]["Values"] == [8.0, 4.0]
    assert "NextToken" not in rest


def test_default_labels_name_what_differs(cw: Any) -> None:
    # Recorded against AWS (LocalStack's test_label_generation): stat and period join the label when they vary.
    ns = _ns()
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": v, "Unit": "Seconds"}
                                                  for v in (0, 2, 7, 100)])
    now = dt.datetime.now(UTC)

    def q(stat: str, period: int) -> dict[str, Any]:
        return {"Id": f"r_{stat}_{period}", "MetricStat": {
            "Metric": {"Namespace": ns, "MetricName": "metric1"}, "Period": period, "Stat": stat, "Unit": "Seconds"}}

    out = cw.get_metric_data(MetricDataQueries=[q("Sum", 60), q("Minimum", 30)],
                             StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))
    labels = {r["Id"]: r["Label"] for r in out["MetricDataResults"]}
    assert labels == {"r_Sum_60": "metric1 Sum 60", "r_Minimum_30": "metric1 Minimum 30"}
    sums = next(r for r in out["MetricDataResults"] if r["Id"] == "r_Sum_60")
    assert sum(sums["Values"]) == 109.0
    out = cw.get_metric_data(MetricDataQueries=[q("Sum", 60), q("Sum", 120)],
                             StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))
    assert {r["Label"] for r in out["MetricDataResults"]} == {"metric1 60", "metric1 120"}


def test_list_metrics_filters_and_paging(cw: Any) -> None:
    ns = _ns()
    data = [{"MetricName": f"M{i:03d}", "Value": 1.0, "Dimensions": [{"Name": "Shard", "Value": str(i % 3)}]}
            for i in range(600)]
    for chunk in (data[:300], data[300:]):
        cw.put_metric_data(Namespace=ns, MetricData=chunk)
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and "NextToken" in first
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 100 and "NextToken" not in second
    names = {m["MetricName"] for m in first["Metrics"] + second["Metrics"]}
    assert len(names) == 600
    shard = cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Shard", "Value": "1"}])["Metrics"]
    assert len(shard) == 200
    assert all(m["Dimensions"] == [{"Name": "Shard", "Value": "1"}] for m in shard)
    assert len(cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Shard"}])["Metrics"]) == 500
    assert cw.list_metrics(Namespace=ns, Dimensions=[{"Name": "Other"}])["Metrics"] == []
    one = cw.list_metrics(Namespace=ns, MetricName="M007", RecentlyActive="PT3H")["Metrics"]
    assert one == [{"Namespace": ns, "MetricName": "M007", "Dimensions": [{"Name": "Shard", "Value": "1"}]}]
    with pytest.raises(ClientError) as bad:
        cw.list_metrics(Namespace=ns, NextToken="not-a-token")
    assert _code(bad) == ("InvalidNextToken", 400)


@pytest.mark.parametrize("datum, code, message", [
    ({"Value": 1.0, "Values": [1.0]}, "InvalidParameterCombination",
     "The parameters MetricData.member.1.Value and MetricData.member.1.Values are mutually exclusive and you "
     "have specified both."),
    ({"Values": [1.0, 2.0], "Counts": [1.0]}, "InvalidParameterValue",
     "The parameters MetricData.member.1.Values and MetricData.member.1.Counts must be of the same size."),
    ({"Value": 1.0, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}},
     "InvalidParameterCombination",
     "The parameters MetricData.member.1.Value and MetricData.member.1.StatisticValues are mutually exclusive "
     "and you have specified both."),
    ({"Value": 1.0, "Timestamp": dt.datetime.now(UTC) - dt.timedelta(days=15)}, "InvalidParameterValue", None),
    ({"Value": 1.0, "Timestamp": dt.datetime.now(UTC) + dt.timedelta(hours=3)}, "InvalidParameterValue", None),
    ({"Value": 1.0, "StorageResolution": 30}, "InvalidParameterValue", None),
    ({"Value": 2.0**361}, "InvalidParameterValue", None),
])
def test_put_metric_data_refusals(cw: Any, datum: dict[str, Any], code: str, message: str | None) -> None:
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(Namespace=_ns(), MetricData=[{"MetricName": "m", **datum}])
    assert _code(exc) == (code, 400)
    if message is not None:
        assert exc.value.response["Error"]["Message"] == message


def test_limits(cw: Any) -> None:
    ns = _ns()
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i}", "Value": 1.0} for i in range(1001)])
    assert _code(exc) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(Namespace="AWS/Lambda", MetricData=[{"MetricName": "m", "Value": 1.0}])
    assert _code(exc) == ("InvalidParameterValue", 400)
    dims = [{"Name": f"d{i}", "Value": "v"} for i in range(31)]
    with pytest.raises(ClientError) as exc:
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1.0, "Dimensions": dims}])
    assert _code(exc) == ("ValidationError", 400)
    now = dt.datetime.now(UTC)
    queries = [{"Id": f"q{i}", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"}, "Period": 60,
                                              "Stat": "Sum"}} for i in range(501)]
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=queries, StartTime=now - dt.timedelta(hours=1), EndTime=now)
    assert _code(exc) == ("InvalidParameterValue", 400)


def test_period_and_time_refusals(cw: Any) -> None:
    ns, now = _ns(), dt.datetime.now(UTC)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now - dt.timedelta(hours=1), EndTime=now,
                                 Period=90, Statistics=["Sum"])
    assert _code(exc) == ("InvalidParameterValue", 400)
    for period in (1, 5, 10, 30, 60, 120):
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now - dt.timedelta(minutes=10),
                                 EndTime=now, Period=period, Statistics=["Sum"])
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now - dt.timedelta(days=1), EndTime=now,
                                 Period=1, Statistics=["Sum"])
    assert _code(exc) == ("InvalidParameterCombination", 400)
    assert exc.value.response["Error"]["Message"] == (
        "You have requested up to 86400 datapoints, which exceeds the limit of 1440. You may reduce the datapoints "
        "requested by increasing Period, or decreasing the time range.")
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now, EndTime=now - dt.timedelta(hours=1),
                                 Period=60, Statistics=["Sum"])
    assert _code(exc) == ("InvalidParameterValue", 400)
    assert exc.value.response["Error"]["Message"] == "The parameter StartTime must be less than the parameter EndTime."
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now - dt.timedelta(hours=1), EndTime=now,
                                 Period=60, Statistics=["Sum"], ExtendedStatistics=["p90"])
    assert _code(exc) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_statistics(Namespace=ns, MetricName="m", StartTime=now - dt.timedelta(hours=1), EndTime=now,
                                 Period=60)
    assert _code(exc) == ("MissingParameter", 400)
    base = {"Id": "a", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "m"}, "Period": 60, "Stat": "Sum"}}
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=[{**base, "Expression": "a"}], StartTime=now - dt.timedelta(hours=1),
                           EndTime=now)
    assert _code(exc) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=[{"Id": "a"}], StartTime=now - dt.timedelta(hours=1), EndTime=now)
    assert _code(exc) == ("MissingParameter", 400)
    with pytest.raises(ClientError) as exc:
        cw.get_metric_data(MetricDataQueries=[{**base, "Id": "Upper"}], StartTime=now - dt.timedelta(hours=1),
                           EndTime=now)
    assert _code(exc) == ("InvalidParameterValue", 400)


def test_high_resolution_and_retention(cw: Any) -> None:
    ns = _ns()
    now = dt.datetime.now(UTC).replace(microsecond=0)
    t = now - dt.timedelta(seconds=40)
    t -= dt.timedelta(seconds=t.second % 10)  # sub-minute periods start on even 5/10/30-second divisions
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "hr", "Value": float(i), "StorageResolution": 1, "Timestamp": t + dt.timedelta(seconds=i)}
        for i in range(10)
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="hr", StartTime=t, EndTime=t + dt.timedelta(seconds=10),
                                   Period=5, Statistics=["Sum"])
    assert sorted(d["Sum"] for d in out["Datapoints"]) == [10.0, 35.0]
    # Data 4 days old is kept at one minute: a 5-second period finds nothing, a minute finds it.
    old = _minute(-4 * 24 * 60)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "old", "Value": 5.0, "Timestamp": old}])
    fine = cw.get_metric_statistics(Namespace=ns, MetricName="old", StartTime=old, EndTime=old + dt.timedelta(minutes=1),
                                    Period=5, Statistics=["Sum"])
    assert fine["Datapoints"] == []
    coarse = cw.get_metric_statistics(Namespace=ns, MetricName="old", StartTime=old,
                                      EndTime=old + dt.timedelta(minutes=1), Period=60, Statistics=["Sum"])
    assert [d["Sum"] for d in coarse["Datapoints"]] == [5.0]


def test_units_split_datapoints_and_filter(cw: Any) -> None:
    ns = _ns()
    t = _minute(-2)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "u", "Value": 10.0, "Timestamp": t},
        {"MetricName": "u", "Value": 5.0, "Unit": "Count", "Timestamp": t},
        {"MetricName": "u", "Value": 1.0, "Unit": "Seconds", "Timestamp": t},
    ])
    out = cw.get_metric_statistics(Namespace=ns, MetricName="u", StartTime=t, EndTime=t + dt.timedelta(minutes=1),
                                   Period=60, Statistics=["Average"])
    assert sorted((d["Unit"], d["Average"]) for d in out["Datapoints"]) == [
        ("Count", 5.0), ("None", 10.0), ("Seconds", 1.0)]
    only = cw.get_metric_statistics(Namespace=ns, MetricName="u", StartTime=t, EndTime=t + dt.timedelta(minutes=1),
                                    Period=60, Statistics=["Average"], Unit="Count")
    assert [(d["Unit"], d["Average"]) for d in only["Datapoints"]] == [("Count", 5.0)]


def test_a_long_range_at_fine_periods_costs_what_its_data_costs(cw: Any) -> None:
    # 400 days at one second is 34.5 million periods: answered from the points, not by walking periods.
    ns, now = _ns(), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m", "Value": 1.0, "StorageResolution": 1}])
    t0 = time.monotonic()
    out = cw.get_metric_data(MetricDataQueries=[{"Id": "m", "MetricStat": {
        "Metric": {"Namespace": ns, "MetricName": "m"}, "Period": 1, "Stat": "Sum"}}],
        StartTime=now - dt.timedelta(days=400), EndTime=now + dt.timedelta(minutes=1))
    assert time.monotonic() - t0 < 5
    assert out["MetricDataResults"][0]["Values"] == [1.0]
