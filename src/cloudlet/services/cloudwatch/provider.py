"""CloudWatch metrics: the API (PutMetricData, GetMetricData, GetMetricStatistics, ListMetrics)
and the MetricSink the other services emit their AWS/* metrics through.

Emitting is an append to a list (no lock, no I/O: the invoke path calls it); a flusher
folds the samples into their series once a second (one point per metric, minute and
unit, as AWS's per-minute publication), and any read flushes first so what was
emitted before a call is in its answer.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page
from cloudlet.core.provider import Provider, operation
from cloudlet.core.store import AccountRegionStore
from cloudlet.core.world import World
from cloudlet.services.cloudwatch import emf, expressions, queries, rules, stats
from cloudlet.services.cloudwatch.series import Dimensions, MetricId, Point, Series, dims_key
from cloudlet.services.cloudwatch.state import CloudWatchState

log = logging.getLogger("cloudlet.cloudwatch")

FLUSH_INTERVAL_S = 1.0
PURGE_INTERVAL_S = 3600.0
_METRIC_ID = re.compile(r"[a-z][a-zA-Z0-9_]*")
_TIMEZONE = re.compile(r"[+-](?:[01]\d|2[0-3])[0-5]\d")
_RESERVED_PREFIX = "AWS/"

# (account, region, namespace, name, dimensions, value, unit, epoch seconds, high resolution)
Sample = tuple[str, str, str, str, Dimensions, float, str, float, bool]


def _epoch(value: dt.datetime) -> float:
    return value.timestamp()


def _stamp(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def _truncate(ts: float, high_resolution: bool) -> float:
    """CloudWatch keeps standard-resolution data per minute, high-resolution per second."""
    step = 1 if high_resolution else 60
    return float(int(ts // step) * step)


class CloudWatchProvider(Provider):
    service = "cloudwatch"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[CloudWatchState] = AccountRegionStore(CloudWatchState)
        self._pending: list[Sample] = []
        self._flusher: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            try:
                await self._flusher
            except asyncio.CancelledError:
                pass
        self.flush()

    async def _flush_loop(self) -> None:
        last_purge = 0.0
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                self.flush()
                if time.monotonic() - last_purge > PURGE_INTERVAL_S:
                    last_purge = time.monotonic()
                    self.purge()
            except Exception:
                log.exception("ingesting emitted metrics failed")

    def purge(self) -> None:
        """Drops points past retention (455 days) from memory; the state file sheds them at start."""
        cutoff = time.time() - rules.KEEP_S
        for state in self.store.states():
            state.drop_before(cutoff)

    # -- MetricSink: what other services emit ---------------------------------------

    def emit(self, account_id: str, region: str, namespace: str, name: str, dimensions: Dimensions,
             value: float, unit: str = "None", timestamp: float | None = None, high_resolution: bool = False) -> None:
        # Only a tuple here: the objects are made by the flusher, off the invoke path.
        self._pending.append((account_id, region, namespace, name, dimensions, value, unit,
                              time.time() if timestamp is None else timestamp, high_resolution))

    def emit_log_event(self, account_id: str, region: str, message: str, timestamp_ms: int) -> None:
        """A function's log line: its embedded-metric-format metrics, if it declares any."""
        now = time.time()
        for sample in emf.samples(message):
            if not now - rules.PAST_LIMIT_S <= sample.timestamp <= now + rules.FUTURE_LIMIT_S:
                continue  # as PutMetricData would refuse it
            for value in sample.values:
                self.emit(account_id, region, sample.namespace, sample.name, sample.dimensions, value,
                          sample.unit, sample.timestamp, sample.high_resolution)

    def flush(self) -> None:
        """Folds the emitted samples into their series and writes them to the state file."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        # One point per metric, minute and unit of this batch: one row each in the file. Folded on
        # plain tuples, each Point and MetricId made once per key: a warm invoke emits ten samples.
        merged: dict[tuple[str, str, str, str, Dimensions, float, str], Point] = {}
        keys: dict[Dimensions, Dimensions] = {}
        for account, region, namespace, name, dimensions, value, unit, ts, high in pending:
            dims = keys.get(dimensions)
            if dims is None:
                dims = keys[dimensions] = dims_key(dimensions)
            at = _truncate(ts, high)
            value = float(value)
            key = (account, region, namespace, name, dims, at, unit)
            point = merged.get(key)
            if point is None:
                merged[key] = Point.single(at, value, unit, high)
                continue
            # Point.merge of a single sample, inline (same order, same arithmetic).
            point.count += 1.0
            point.total += value
            point.minimum = min(point.minimum, value)
            point.maximum = max(point.maximum, value)
            if point.values is not None:
                point.values[value] = point.values.get(value, 0.0) + 1.0
        by_state: dict[tuple[str, str], list[tuple[MetricId, Point]]] = {}
        for (account, region, namespace, name, dims, _, _), point in merged.items():
            by_state.setdefault((account, region), []).append((MetricId(namespace, name, dims), point))
        now = time.time()
        for (account, region), items in by_state.items():
            state = self.store.get(account, region)
            written = state.add(items, put_at=now, merge_minute=True)
            if state.journal is not None and written:
                state.journal(written)
        # A state made here (no request) gets its record written now.
        self.store.sync(None, None, None, "Get")

    # -- PutMetricData -------------------------------------------------------------

    @operation("PutMetricData")
    def put_metric_data(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        namespace: str = params["Namespace"]
        if namespace.startswith(_RESERVED_PREFIX):
            raise rules.invalid(f"The value {namespace} for parameter Namespace is invalid.")
        groups: list[tuple[str, list[dict[str, Any]]]] = []
        if "MetricData" in params:
            groups.append(("MetricData", params["MetricData"]))
        for i, entity in enumerate(params.get("EntityMetricData") or [], 1):
            groups.append((f"EntityMetricData.member.{i}.MetricData", entity.get("MetricData") or []))
        total = sum(len(data) for _, data in groups)
        if not groups:
            raise rules.missing("At least one of the parameters MetricData and EntityMetricData must be specified.")
        if total > rules.MAX_METRICS_PER_PUT:
            raise rules.invalid(
                f"The collection MetricData must not have a size greater than {rules.MAX_METRICS_PER_PUT}.")
        now = time.time()
        items: list[tuple[MetricId, Point]] = []
        for prefix, data in groups:
            for i, datum in enumerate(data, 1):
                where = f"{prefix}.member.{i}"
                rules.check_datum(datum, where, now)
                items.append((MetricId(namespace, datum["MetricName"], dims_key(datum.get("Dimensions"))),
                              self._point(datum, where, now)))
        state = self.store.get(ctx.account_id, ctx.region)
        written = state.add(items, put_at=now)
        if state.journal is not None:
            state.journal(written)  # in the request: acknowledged data is on disk
        return {}

    @staticmethod
    def _point(datum: dict[str, Any], where: str, now: float) -> Point:
        high = datum.get("StorageResolution") == 1
        ts = _truncate(_epoch(datum["Timestamp"]) if "Timestamp" in datum else now, high)
        unit = datum.get("Unit") or "None"
        if "StatisticValues" in datum:
            s = datum["StatisticValues"]
            return Point(ts, unit, s["SampleCount"], s["Sum"], s["Minimum"], s["Maximum"], None, high)
        if "Values" in datum:
            values: dict[float, float] = {}
            counts = datum.get("Counts") or [1.0] * len(datum["Values"])
            for v, c in zip(datum["Values"], counts, strict=True):
                if c > 0:
                    values[v] = values.get(v, 0.0) + c
            if not values:
                raise rules.invalid(f"The parameter {where}.Values must contain at least one value with a count.")
            return Point(ts, unit, sum(values.values()), sum(v * c for v, c in values.items()),
                         min(values), max(values), values, high)
        if "Value" not in datum:
            raise rules.missing(f"The parameter {where}.Value is required.")
        return Point.single(ts, datum["Value"], unit, high)

    # -- GetMetricStatistics ----------------------------------------------------------

    @operation("GetMetricStatistics")
    def get_metric_statistics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.flush()
        start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
        period: int = params["Period"]
        basic: list[str] = params.get("Statistics") or []
        extended: list[str] = params.get("ExtendedStatistics") or []
        if not basic and not extended:
            raise rules.missing("Must specify either Statistics or ExtendedStatistics.")
        if basic and extended:
            raise rules.combination(
                "The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
        for stat in extended:
            if stats.percentile_of(stat) is None:
                raise rules.invalid(f"The value {stat} for parameter ExtendedStatistics is not supported.")
        rules.check_period(period)
        rules.check_time_range(start, end)
        wanted = queries.period_count(start, end, period)
        if wanted > rules.MAX_STATISTICS_DATAPOINTS:
            raise rules.combination(
                f"You have requested up to {wanted} datapoints, which exceeds the limit of "
                f"{rules.MAX_STATISTICS_DATAPOINTS}. You may reduce the datapoints requested by increasing "
                "Period, or decreasing the time range.")
        metric = MetricId(params["Namespace"], params["MetricName"], dims_key(params.get("Dimensions")))
        state = self.store.get(ctx.account_id, ctx.region)
        with state.lock:
            series = state.series.get(metric)
            periods = (queries.per_period([series], start, end, period, time.time(), params.get("Unit"))
                       if series is not None else [])
        datapoints = []
        for t, pts in periods:
            units = sorted({p.unit for p in pts})
            for unit in units:
                of_unit = [p for p in pts if p.unit == unit]
                dp: dict[str, Any] = {"Timestamp": _stamp(t), "Unit": unit}
                for stat in basic:
                    dp[stat] = stats.compute(of_unit, stat)
                if extended:
                    ext = {s: v for s in extended if (v := stats.compute(of_unit, s)) is not None}
                    if ext:
                        dp["ExtendedStatistics"] = ext
                datapoints.append(dp)
        return {"Label": params["MetricName"], "Datapoints": datapoints}

    # -- GetMetricData -------------------------------------------------------------------

    @operation("GetMetricData")
    def get_metric_data(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.flush()
        start, end = _epoch(params["StartTime"]), _epoch(params["EndTime"])
        mdq: list[dict[str, Any]] = params["MetricDataQueries"]
        rules.check_time_range(start, end)
        self._check_queries(mdq)
        tz = (params.get("LabelOptions") or {}).get("Timezone")
        if tz is not None and not _TIMEZONE.fullmatch(tz):
            raise rules.invalid(f"The value {tz} for parameter LabelOptions.Timezone is invalid.")
        max_points = params.get("MaxDatapoints")
        if max_points is not None and max_points <= 0:
            raise rules.invalid("The parameter MaxDatapoints must be greater than 0.")
        state = self.store.get(ctx.account_id, ctx.region)
        now = time.time()
        values: dict[str, dict[float, float]] = {}
        messages: dict[str, list[dict[str, str]]] = {}
        with state.lock:
            for q in mdq:
                if "MetricStat" in q:
                    values[q["Id"]], messages[q["Id"]] = self._metric_stat(state, q["MetricStat"], start, end, now)
        for q in self._expression_order(mdq):
            values[q["Id"]] = self._expression(q, values, mdq)
        labels = _default_labels(mdq)
        descending = params.get("ScanBy", "TimestampDescending") == "TimestampDescending"
        results = []
        for q in mdq:
            if q.get("ReturnData", True) is False:
                continue
            series = values.get(q["Id"], {})
            stamps = sorted(series, reverse=descending)
            result = {"Id": q["Id"], "Label": q.get("Label") or labels[q["Id"]],
                      "Timestamps": [_stamp(t) for t in stamps], "Values": [series[t] for t in stamps],
                      "StatusCode": "Complete"}
            if messages.get(q["Id"]):
                result["Messages"] = messages[q["Id"]]
            results.append(result)
        return self._page(results, params.get("NextToken"), max_points)

    @staticmethod
    def _check_queries(mdq: list[dict[str, Any]]) -> None:
        if not mdq:
            raise rules.missing("The parameter MetricDataQueries is required.")
        if len(mdq) > rules.MAX_METRIC_DATA_QUERIES:
            raise rules.invalid(
                f"The collection MetricDataQueries must not have a size greater than {rules.MAX_METRIC_DATA_QUERIES}.")
        seen: set[str] = set()
        for i, q in enumerate(mdq, 1):
            where = f"MetricDataQueries.member.{i}"
            qid = q["Id"]
            if not _METRIC_ID.fullmatch(qid):
                raise rules.invalid(
                    f"The value {qid} for parameter {where}.Id is invalid. It must start with a lowercase letter "
                    "and contain only letters, numbers and underscores.")
            if qid in seen:
                raise rules.invalid(f"The value {qid} for parameter {where}.Id is duplicated.")
            seen.add(qid)
            has_stat, has_expr = "MetricStat" in q, "Expression" in q
            if has_stat and has_expr:
                raise rules.combination(f"The parameters {where}.MetricStat and {where}.Expression are mutually "
                                        "exclusive and you have specified both.")
            if not has_stat and not has_expr:
                raise rules.missing(f"The parameter {where}.MetricStat or {where}.Expression is required.")
            if has_stat:
                ms = q["MetricStat"]
                for member in ("Namespace", "MetricName"):
                    if not ms["Metric"].get(member):
                        raise rules.missing(f"The parameter {where}.MetricStat.Metric.{member} is required.")
                rules.check_period(ms["Period"], f"{where}.MetricStat.Period")
                if not stats.is_valid(ms["Stat"]):
                    raise rules.invalid(f"The value {ms['Stat']} for parameter {where}.MetricStat.Stat is not "
                                        "supported.")
            elif "Period" in q:
                rules.check_period(q["Period"], f"{where}.Period")
        if not any(q.get("ReturnData", True) for q in mdq):
            raise rules.invalid("At least one MetricDataQuery must have ReturnData set to true.")

    @staticmethod
    def _metric_stat(state: CloudWatchState, ms: dict[str, Any], start: float, end: float,
                     now: float) -> tuple[dict[float, float], list[dict[str, str]]]:
        """A MetricStat's values by period start, and the result's messages.

        Without a Unit, data of several units is not mixed: CloudWatch takes the first of them in
        its own order of units and says so in a MultipleUnits message (recorded against AWS)."""
        m = ms["Metric"]
        metric = MetricId(m["Namespace"], m["MetricName"], dims_key(m.get("Dimensions")))
        series: Series | None = state.series.get(metric)
        if series is None:
            return {}, []
        unit = ms.get("Unit")
        notes: list[dict[str, str]] = []
        if unit is None:
            units = {p.unit for p in queries.points_between(series, queries.aligned_start(start, ms["Period"]),
                                                             end, None)}
            if len(units) > 1:
                unit = min(units, key=rules.UNIT_PREFERENCE.index)
                notes.append({"Code": "MultipleUnits",
                              "Value": f"Multiple units returned: '[{', '.join(sorted(units))}]'"})
        out = {}
        for t, pts in queries.per_period([series], start, end, ms["Period"], now, unit):
            v = stats.compute(pts, ms["Stat"])
            if v is not None:
                out[t] = v
        return out, notes

    @staticmethod
    def _expression_order(mdq: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Expressions after the expressions they name; a cycle is refused."""
        exprs = {q["Id"]: q for q in mdq if "Expression" in q}
        order: list[dict[str, Any]] = []
        state: dict[str, int] = {}

        def visit(qid: str) -> None:
            if state.get(qid) == 2:
                return
            if state.get(qid) == 1:
                raise rules.invalid(f"Circular dependency in the expression of {qid}.")
            state[qid] = 1
            for ref in expressions.references(exprs[qid]["Expression"]):
                if ref in exprs:
                    visit(ref)
            state[qid] = 2
            order.append(exprs[qid])

        for qid in exprs:
            visit(qid)
        return order

    @staticmethod
    def _expression(q: dict[str, Any], values: dict[str, dict[float, float]],
                    mdq: list[dict[str, Any]]) -> dict[float, float]:
        metric_series = [values[x["Id"]] for x in mdq if "MetricStat" in x]
        try:
            result = expressions.evaluate(q["Expression"], values, metric_series)
        except expressions.ExpressionError as exc:
            raise AWSError("ValidationError", f"Error in expression {q['Id']}: {exc}", status=400,
                           sender_fault=True) from None
        if isinstance(result, list):
            raise AWSError("ValidationError", f"Error in expression {q['Id']}: the expression must return a single "
                           "time series, not an array of time series", status=400, sender_fault=True)
        if isinstance(result, float):
            # A constant: one value at every timestamp the query's series have.
            stamps = sorted({t for s in metric_series for t in s})
            return {t: result for t in stamps}
        return result

    @staticmethod
    def _page(results: list[dict[str, Any]], token: str | None, max_points: int | None) -> dict[str, Any]:
        """At most MAX_POINTS values this call, in result order; the rest behind NextToken."""
        limit = max_points or rules.MAX_GET_METRIC_DATA_POINTS
        skip = 0
        if token:
            try:
                doc = json.loads(base64.urlsafe_b64decode(token.encode()))
                skip = int(doc["skip"])
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise AWSError("InvalidNextToken", "The service cannot process the NextToken.", status=400,
                               sender_fault=True) from None
            if skip < 0:
                raise AWSError("InvalidNextToken", "The service cannot process the NextToken.", status=400,
                               sender_fault=True)
        total = sum(len(r["Values"]) for r in results)
        budget, offset = limit, 0
        for r in results:
            n = len(r["Values"])
            lo = min(max(skip - offset, 0), n)
            hi = min(lo + budget, n)
            budget -= hi - lo
            r["Timestamps"], r["Values"] = r["Timestamps"][lo:hi], r["Values"][lo:hi]
            if hi < n:
                r["StatusCode"] = "PartialData"
            offset += n
        out: dict[str, Any] = {"MetricDataResults": results, "Messages": []}
        served = min(skip + limit, total)
        if served < total:
            out["NextToken"] = base64.urlsafe_b64encode(json.dumps({"skip": served}).encode()).decode()
        return out

    # -- ListMetrics ---------------------------------------------------------------------

    @operation("ListMetrics")
    def list_metrics(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.flush()
        now = time.time()
        namespace, name = params.get("Namespace"), params.get("MetricName")
        filters = params.get("Dimensions") or []
        recent = params.get("RecentlyActive") == "PT3H"
        state = self.store.get(ctx.account_id, ctx.region)
        found: list[MetricId] = []
        with state.lock:
            for metric, series in state.series.items():
                if namespace is not None and metric.namespace != namespace:
                    continue
                if name is not None and metric.name != name:
                    continue
                if not _matches(metric.dimensions, filters):
                    continue
                last = series.points[-1].timestamp if series.points else 0.0
                if max(last, series.last_put) < now - rules.LIST_METRICS_WINDOW_S:
                    continue
                if recent and series.last_put < now - rules.RECENTLY_ACTIVE_S:
                    continue
                found.append(metric)
        found.sort()
        page, token = offset_page(found, params.get("NextToken"), rules.LIST_PAGE, "ListMetrics",
                                  lambda t: AWSError("InvalidNextToken", "The service cannot process the NextToken.",
                                                     status=400, sender_fault=True))
        out: dict[str, Any] = {"Metrics": [m.as_metric() for m in page]}
        if token:
            out["NextToken"] = token
        return out

    def health(self) -> str:
        return "running"

    def condition_keys(self, ctx: RequestContext, params: dict[str, Any]) -> Mapping[str, Any]:
        # PutMetricData's own condition key: the namespace a caller may publish to.
        if ctx.operation == "PutMetricData":
            return {"cloudwatch:namespace": params["Namespace"]}
        return {}


def _matches(dimensions: Dimensions, filters: list[dict[str, str]]) -> bool:
    have = dict(dimensions)
    for f in filters:
        if f["Name"] not in have:
            return False
        if "Value" in f and have[f["Name"]] != f["Value"]:
            return False
    return True


def _default_labels(mdq: list[dict[str, Any]]) -> dict[str, str]:
    """CloudWatch's default labels: the metric name, plus the statistic and the period when the
    request's metric queries differ in them (recorded against AWS); an expression's Id."""
    stat_queries = [q for q in mdq if "MetricStat" in q]
    vary_stat = len({q["MetricStat"]["Stat"] for q in stat_queries}) > 1
    vary_period = len({q["MetricStat"]["Period"] for q in stat_queries}) > 1
    labels = {}
    for q in mdq:
        if "MetricStat" not in q:
            labels[q["Id"]] = q["Id"]
            continue
        ms = q["MetricStat"]
        parts = [ms["Metric"]["MetricName"]]
        if vary_stat:
            parts.append(ms["Stat"])
        if vary_period:
            parts.append(str(ms["Period"]))
        labels[q["Id"]] = " ".join(parts)
    return labels
