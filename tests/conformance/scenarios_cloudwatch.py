"""CloudWatch metrics scenarios: the calls of LocalStack's recorded CloudWatch tests (their
smithy-rpc-v2-cbor runs, the protocol boto3 speaks), made on cloudlet."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from conformance.recordings import Caller, scenario

UTC = dt.UTC
CBOR = "[smithy-rpc-v2-cbor{}]"


def _cw_scenario(test: str, param: str = "") -> Callable[[Callable[[Caller], dict[str, Any]]], Any]:
    return scenario("cloudwatch", test + CBOR.format(param))


def _stat_query(qid: str, namespace: str, name: str, stat: str, period: int = 60, **metric: Any) -> dict[str, Any]:
    return {"Id": qid, "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": name, **metric},
                                      "Period": period, "Stat": stat}}


@_cw_scenario("test_basic_operations_multiple_protocols")
def basic_operations(c: Caller) -> dict[str, Any]:
    cw = c.client("cloudwatch")
    ns1, ns2 = c.name("test/a"), c.name("test/b")
    now = dt.datetime.now(UTC).replace(microsecond=0)
    cw.put_metric_data(Namespace=ns1, MetricData=[{"MetricName": "someMetric", "Value": 23}])
    cw.put_metric_data(Namespace=ns1, MetricData=[{"MetricName": "someMetric", "Value": 18}])
    cw.put_metric_data(Namespace=ns2, MetricData=[{"MetricName": "ug", "Value": 23, "Timestamp": now}])
    response = c.call(
        cw.get_metric_data,
        MetricDataQueries=[_stat_query("some", ns1, "someMetric", "Sum"), _stat_query("part", ns2, "ug", "Sum")],
        StartTime=now - dt.timedelta(minutes=1), EndTime=now + dt.timedelta(minutes=5))
    response.pop("ResponseMetadata", None)  # recorded from a raw HTTP client, not boto3
    return {"get-metric-data": response}


@_cw_scenario("test_put_metric_data_values_list")
def values_list(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("ns"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "test-metric", "Timestamp": now, "Values": [1.0, 10.0], "Counts": [2, 4], "Unit": "Count"}])
    return {"get_metric_statistics": c.call(
        cw.get_metric_statistics, Namespace=ns, MetricName="test-metric", StartTime=now - dt.timedelta(seconds=60),
        EndTime=now + dt.timedelta(seconds=60), Period=60, Statistics=["SampleCount", "Sum", "Maximum"])}


@_cw_scenario("test_put_metric_data_validation")
def put_validation(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("ns"), dt.datetime.now(UTC)
    base = {"MetricName": "mymetric", "Timestamp": now, "Unit": "Count"}
    return {
        "invalid-param-combination": c.call(cw.put_metric_data, Namespace=ns, MetricData=[
            {**base, "Value": 1.5, "Values": [1.0, 10.0]}]),
        "invalid-param-value": c.call(cw.put_metric_data, Namespace=ns, MetricData=[
            {**base, "Values": [1.0, 10.0], "Counts": [2, 4, 5]}]),
        "invalid-param-combination-2": c.call(cw.put_metric_data, Namespace=ns, MetricData=[
            {**base, "Value": 1.5, "StatisticValues": {"SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}}]),
    }


@_cw_scenario("test_get_metric_data_for_multiple_metrics")
def multiple_metrics(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": 50, "Unit": "Seconds",
                                                  "Timestamp": now}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric2", "Value": 25, "Unit": "Seconds",
                                                  "Timestamp": now}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric3", "StatisticValues": {
        "SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}, "Unit": "Seconds", "Timestamp": now}])
    return {"get_metric_data": c.call(
        cw.get_metric_data, MetricDataQueries=[_stat_query(f"result{i}", ns, f"metric{i}", "Sum") for i in (1, 2, 3)],
        StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))}


def _stats_scenario(stat: str) -> None:
    @_cw_scenario("test_get_metric_data_stats", f"-{stat}")
    def run(c: Caller) -> dict[str, Any]:
        cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": 11, "Unit": "Seconds",
                                                      "Timestamp": now}])
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "StatisticValues": {
            "SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}, "Unit": "Seconds", "Timestamp": now}])
        return {"get_metric_data": c.call(
            cw.get_metric_data, MetricDataQueries=[_stat_query("result1", ns, "metric1", stat)],
            StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))}


for _stat in ("Sum", "SampleCount", "Minimum", "Maximum", "Average"):
    _stats_scenario(_stat)


@_cw_scenario("test_get_metric_data_with_dimensions")
def with_dimensions(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
    for instance in ("one", "two"):
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": 11, "Unit": "Seconds",
                                                      "Dimensions": [{"Name": "InstanceId", "Value": instance}],
                                                      "Timestamp": now}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "StatisticValues": {
        "SampleCount": 10, "Sum": 55, "Minimum": 1, "Maximum": 10}, "Unit": "Seconds", "Timestamp": now}])
    return {"get_metric_data": c.call(
        cw.get_metric_data, MetricDataQueries=[_stat_query(
            "result1", ns, "metric1", "Sum", Dimensions=[{"Name": "InstanceId", "Value": "one"}])],
        StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))}


@_cw_scenario("test_get_metric_data_with_zero_and_labels")
def zero_and_labels(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": v, "Unit": "Seconds"}
                                                 for v in (0, 2, 4, 3.5, 7, 100)])
    return {"get_metric_data_with_zero_and_labels": c.call(
        cw.get_metric_data, MetricDataQueries=[_stat_query("result_" + s, ns, "metric1", s)
                                               for s in ("Average", "Sum", "Minimum", "Maximum")],
        StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))}


@_cw_scenario("test_get_metric_statistics")
def get_statistics(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
    for i in range(10):
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric", "Value": i,
                                                      "Timestamp": now + dt.timedelta(seconds=1)}])
    return {"get_metric_statistics": c.call(
        cw.get_metric_statistics, Namespace=ns, MetricName="metric", StartTime=now - dt.timedelta(seconds=60),
        EndTime=now + dt.timedelta(seconds=60), Period=60,
        Statistics=["Average", "Sum", "Minimum", "Maximum", "SampleCount"])}


@_cw_scenario("test_handle_different_units")
def different_units(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("n-sp"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m-test", "Timestamp": now, "Value": 1, "Unit": "Seconds"},
        {"MetricName": "m-test", "Timestamp": now, "Value": 5, "Unit": "Count"},
        {"MetricName": "m-test", "Timestamp": now, "Value": 10}])
    response = c.call(cw.get_metric_statistics, Namespace=ns, MetricName="m-test",
                      StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60), Period=60,
                      Statistics=["Average"])
    response["Datapoints"].sort(key=lambda x: x["Average"], reverse=True)  # as the recorded test sorts them
    return {"get_metric_statistics_with_different_units": response}


@_cw_scenario("test_get_metric_data_with_different_units")
def data_with_different_units(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("n-sp"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[
        {"MetricName": "m-test", "Timestamp": now, "Value": 1, "Unit": "Seconds"},
        {"MetricName": "m-test", "Timestamp": now, "Value": 1, "Unit": "Count"}])
    query = _stat_query("m1", ns, "m-test", "Sum")
    query["MetricStat"]["Unit"] = "Seconds"
    return {"get_metric_data_with_different_units": c.call(
        cw.get_metric_data, MetricDataQueries=[query], StartTime=now, EndTime=now + dt.timedelta(seconds=60),
        MaxDatapoints=10)}


_MIXED = [{"Value": 60000, "Unit": "Milliseconds"}, {"Value": 60, "Unit": "Seconds"}]
_UNIT_DATA = {"0": _MIXED, "1": _MIXED + _MIXED, "2": [*_MIXED, *_MIXED, {"Value": 5, "Unit": "Count"}]}


def _no_unit_scenario(index: str) -> None:
    @_cw_scenario("test_get_metric_data_different_units_no_unit_in_query", f"-metric_data{index}")
    def run(c: Caller) -> dict[str, Any]:
        cw, ns, now = c.client("cloudwatch"), c.name("n-sp"), dt.datetime.now(UTC)
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m-test", "Timestamp": now, **d}
                                                     for d in _UNIT_DATA[index]])
        return {"get_metric_data_with_no_unit_specified": c.call(
            cw.get_metric_data, MetricDataQueries=[_stat_query("m1", ns, "m-test", "Sum")], StartTime=now,
            EndTime=now + dt.timedelta(seconds=60), MaxDatapoints=10)}


for _index in _UNIT_DATA:
    _no_unit_scenario(_index)


_LABEL_PAIRS = [
    [("Sum", 60, "Seconds"), ("Minimum", 30, "Seconds")],
    [("Sum", 60, "Seconds"), ("Minimum", 60, "Seconds")],
    [("Sum", 60, "Seconds"), ("Sum", 30, "Seconds")],
    [("Sum", 60, "Seconds"), ("Minimum", 30, "Milliseconds")],
    [("Sum", 60, "Seconds"), ("Minimum", 60, "Milliseconds")],
    [("Sum", 60, "Seconds"), ("Sum", 30, "Milliseconds")],
    [("Sum", 60, "Seconds"), ("Sum", 60, "Milliseconds")],
]


def _label_scenario(index: int) -> None:
    @_cw_scenario("test_label_generation", f"-input_pairs{index}")
    def run(c: Caller) -> dict[str, Any]:
        cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "metric1", "Value": v, "Unit": "Seconds"}
                                                     for v in (0, 2, 7, 100)])
        queries = []
        for stat, period, unit in _LABEL_PAIRS[index]:
            q = _stat_query(f"result_{stat}_{period}_{unit}", ns, "metric1", stat, period)
            q["MetricStat"]["Unit"] = unit
            queries.append(q)
        return {"label_generation": c.call(cw.get_metric_data, MetricDataQueries=queries,
                                           StartTime=now - dt.timedelta(seconds=60),
                                           EndTime=now + dt.timedelta(seconds=60))}


for _i in range(len(_LABEL_PAIRS)):
    _label_scenario(_i)


@_cw_scenario("test_get_metric_with_null_dimensions")
def null_dimensions(c: Caller) -> dict[str, Any]:
    cw, ns = c.client("cloudwatch"), c.name("n")
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "m-test", "Value": 1, "Unit": "Seconds",
                                                  "Dimensions": [{"Name": "foo", "Value": "bar"}]}])
    now = dt.datetime.now(UTC)
    return {"get_metric_with_null_dimensions": c.call(
        cw.get_metric_data, MetricDataQueries=[_stat_query("m1", ns, "m-test", "Sum", Dimensions=[])],
        StartTime=now - dt.timedelta(hours=1), EndTime=now)}


@_cw_scenario("test_get_metric_with_no_results")
def no_results(c: Caller) -> dict[str, Any]:
    cw, ns, metric, now = c.client("cloudwatch"), c.name("n"), c.name("m"), dt.datetime.now(UTC)
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": metric, "Value": 1}])
    assert len(cw.list_metrics(Namespace=ns, MetricName=metric)["Metrics"]) == 1
    return {"result": c.call(
        cw.get_metric_data, MetricDataQueries=[_stat_query("result", ns, metric, "Sum",
                                                           Dimensions=[{"Name": "foo", "Value": "bar"}])],
        StartTime=now - dt.timedelta(seconds=60), EndTime=now + dt.timedelta(seconds=60))}


@_cw_scenario("test_multiple_dimensions_statistics")
def multiple_dimensions(c: Caller) -> dict[str, Any]:
    cw, ns, now = c.client("cloudwatch"), c.name("test"), dt.datetime.now(UTC)
    name = "http.server.requests.count"
    dims = [{"Name": "error", "Value": "none"}, {"Name": "exception", "Value": "none"},
            {"Name": "method", "Value": "GET"}, {"Name": "outcome", "Value": "SUCCESS"},
            {"Name": "uri", "Value": "/greetings"}, {"Name": "status", "Value": "200"}]
    for value in (0.0, 5.0):
        cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": name, "Value": value, "Unit": "Count",
                                                      "StorageResolution": 1, "Dimensions": dims,
                                                      "Timestamp": dt.datetime.now(UTC)}])
    query = _stat_query("result1", ns, name, "Maximum", 10, Dimensions=dims)
    query["MetricStat"]["Unit"] = "Count"
    return {
        "get-metric-stats-max": c.call(cw.get_metric_data, MetricDataQueries=[query],
                                       StartTime=now - dt.timedelta(seconds=60),
                                       EndTime=now + dt.timedelta(seconds=60)),
        "list-metrics": c.call(cw.list_metrics, Namespace=ns, MetricName=name, Dimensions=dims),
    }


@_cw_scenario("test_invalid_amount_of_datapoints")
def invalid_amount(c: Caller) -> dict[str, Any]:
    cw, now = c.client("cloudwatch"), dt.datetime.now(UTC)
    return {
        "error-invalid-amount-datapoints": c.call(
            cw.get_metric_statistics, Namespace="namespace", MetricName="metric_name", StartTime=now,
            EndTime=now + dt.timedelta(days=1), Period=1, Statistics=["SampleCount"]),
        "error-invalid-time-frame": c.call(
            cw.get_metric_statistics, Namespace="namespace", MetricName="metric_name", StartTime=now, EndTime=now,
            Period=1, Statistics=["SampleCount"]),
        "get-metric-statitics": c.call(
            cw.get_metric_statistics, Namespace=c.name("namespace"), MetricName="metric_name", StartTime=now,
            EndTime=now + dt.timedelta(days=1), Period=60, Statistics=["SampleCount"]),
    }
