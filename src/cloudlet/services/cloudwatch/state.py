"""CloudWatch metrics of one (account, region): series by metric, their points in time order.

Durable in the state file's own table (metric_points), one row per point, written in
the transaction that acknowledges PutMetricData (and, for emitted metrics, when the
provider's flusher ingests them). At start the rows come back; those past retention
(455 days) are dropped from the file.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from cloudlet.core.store import PersistSpec
from cloudlet.services.cloudwatch.rules import KEEP_S
from cloudlet.services.cloudwatch.series import MetricId, Point, Series

if TYPE_CHECKING:
    from cloudlet.core.persist import StateDB

_TABLE = """
CREATE TABLE IF NOT EXISTS metric_points(
    account TEXT NOT NULL, region TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    dims TEXT NOT NULL, ts REAL NOT NULL, unit TEXT NOT NULL, hires INTEGER NOT NULL,
    n REAL NOT NULL, total REAL NOT NULL, lo REAL NOT NULL, hi REAL NOT NULL, vals TEXT)
"""
_INDEX = "CREATE INDEX IF NOT EXISTS metric_points_by_state ON metric_points(account, region, ts)"
_PUT = "INSERT INTO metric_points VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"

Journal = Callable[[list[tuple[MetricId, Point]]], None]


class CloudWatchState:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.series: dict[MetricId, Series] = {}
        # Ingest runs on the event loop; the lock keeps readers from other threads consistent.
        self.lock = threading.RLock()
        self.journal: Journal | None = None
        self.created = time.time()

    def add(self, items: Iterable[tuple[MetricId, Point]], put_at: float | None = None,
            merge_minute: bool = False) -> list[tuple[MetricId, Point]]:
        """Stores points; MERGE_MINUTE folds a point into its series' point of the same minute and
        unit (emitted samples). Returns the points to write: each is a row of its own in the file
        (statistics over several rows of a minute equal those over their merged point)."""
        written: list[tuple[MetricId, Point]] = []
        with self.lock:
            for metric, point in items:
                series = self.series.get(metric)
                if series is None:
                    series = self.series[metric] = Series(metric)
                if put_at is not None:
                    series.last_put = max(series.last_put, put_at)
                pts = series.points
                if merge_minute and pts:
                    last = pts[-1]
                    if (int(last.timestamp // 60) == int(point.timestamp // 60) and last.unit == point.unit
                            and last.timestamp <= point.timestamp):
                        last.merge(point)
                        written.append((metric, point))
                        continue
                if not pts or pts[-1].timestamp <= point.timestamp:
                    pts.append(point)
                else:
                    bisect.insort(pts, point, key=lambda p: p.timestamp)
                written.append((metric, point))
        return written

    def drop_before(self, cutoff: float) -> None:
        with self.lock:
            for metric in list(self.series):
                s = self.series[metric]
                i = bisect.bisect_left(s.points, cutoff, key=lambda p: p.timestamp)
                if i:
                    del s.points[:i]


def _row(account: str, region: str, metric: MetricId, p: Point) -> tuple[Any, ...]:
    vals = None if p.values is None else json.dumps([[v, c] for v, c in p.values.items()])
    return (account, region, metric.namespace, metric.name, json.dumps(metric.dimensions), p.timestamp, p.unit,
            int(p.high_resolution), p.count, p.total, p.minimum, p.maximum, vals)


def attach(state: CloudWatchState, db: StateDB, account: str, region: str, restored: bool) -> None:
    db.write([(_TABLE, ()), (_INDEX, ())])

    def journal(items: list[tuple[MetricId, Point]]) -> None:
        db.write_many(_PUT, [_row(account, region, m, p) for m, p in items])

    state.journal = journal
    if restored:
        _load(state, db, account, region)


def _load(state: CloudWatchState, db: StateDB, account: str, region: str) -> None:
    cutoff = time.time() - KEEP_S
    db.write([("DELETE FROM metric_points WHERE account=? AND region=? AND ts < ?", (account, region, cutoff))])
    rows = db.query(
        "SELECT namespace, name, dims, ts, unit, hires, n, total, lo, hi, vals FROM metric_points "
        "WHERE account=? AND region=? ORDER BY ts", (account, region))
    items = []
    for namespace, name, dims, ts, unit, hires, n, total, lo, hi, vals in rows:
        metric = MetricId(namespace, name, tuple((str(a), str(b)) for a, b in json.loads(dims)))
        values = None if vals is None else {float(v): float(c) for v, c in json.loads(vals)}
        items.append((metric, Point(ts, unit, n, total, lo, hi, values, bool(hires))))
    state.add(items)
    # A restored series counts as put when its last point was (RecentlyActive looks at it).
    for series in state.series.values():
        if series.points:
            series.last_put = series.points[-1].timestamp


def _persist_spec() -> PersistSpec:
    # Points are written by the handlers themselves (the journal); no per-resource records.
    # The scalar record makes a state with points come back at start (restore walks records).
    return PersistSpec(collections=(), scalars=("created",), skip_ops=frozenset({"PutMetricData"}),
                       attach_state=attach)


PERSIST = _persist_spec()
