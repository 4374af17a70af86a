"""The AWS/Lambda metrics an invoke emits, as Lambda publishes them.

Invocations, Errors, Duration and Throttles per invoke; ConcurrentExecutions (the
invokes in flight as one starts). Each under FunctionName, under FunctionName and
Resource (NAME:QUALIFIER) for a qualified invoke, with ExecutedVersion too when an
alias was invoked, and account-wide without dimensions. Emitting is an append
(world.metrics): nothing here waits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cloudlet.core.interfaces import MetricSink

if TYPE_CHECKING:
    from cloudlet.services.lambda_.environment import Invocation, InvokeResult
    from cloudlet.services.lambda_.models import FunctionVersion

NAMESPACE = "AWS/Lambda"
Dims = tuple[tuple[str, str], ...]


def dimension_sets(fv: FunctionVersion, inv: Invocation) -> list[Dims]:
    parts = inv.invoked_arn.split(":")
    qualifier = parts[7] if len(parts) > 7 else None
    sets: list[Dims] = [(), (("FunctionName", fv.name),)]
    if qualifier:
        resource = (("FunctionName", fv.name), ("Resource", f"{fv.name}:{qualifier}"))
        sets.append(resource)
        if qualifier != fv.version:  # an alias: which version ran
            sets.append((*resource, ("ExecutedVersion", fv.version)))
    return sets


class LambdaMetrics:
    def __init__(self, sink: MetricSink) -> None:
        self.sink = sink
        self._in_flight: dict[tuple[str, str, str], int] = {}  # (account, region, function or "")

    def _emit(self, fv: FunctionVersion, dims: list[Dims], name: str, value: float, unit: str) -> None:
        for d in dims:
            self.sink.emit(fv.account_id, fv.region, NAMESPACE, name, d, value, unit)

    def started(self, fv: FunctionVersion, inv: Invocation) -> list[Dims]:
        dims = dimension_sets(fv, inv)
        for key in ((fv.account_id, fv.region, fv.name), (fv.account_id, fv.region, "")):
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        now_fn = self._in_flight[(fv.account_id, fv.region, fv.name)]
        now_all = self._in_flight[(fv.account_id, fv.region, "")]
        self.sink.emit(fv.account_id, fv.region, NAMESPACE, "ConcurrentExecutions", (), now_all, "Count")
        for d in dims[1:]:
            self.sink.emit(fv.account_id, fv.region, NAMESPACE, "ConcurrentExecutions", d, now_fn, "Count")
        return dims

    def finished(self, fv: FunctionVersion, dims: list[Dims], result: InvokeResult | None) -> None:
        for key in ((fv.account_id, fv.region, fv.name), (fv.account_id, fv.region, "")):
            left = self._in_flight.get(key, 1) - 1
            if left > 0:
                self._in_flight[key] = left
            else:
                self._in_flight.pop(key, None)
        self._emit(fv, dims, "Invocations", 1.0, "Count")
        failed = result is None or result.function_error is not None
        self._emit(fv, dims, "Errors", 1.0 if failed else 0.0, "Count")
        self._emit(fv, dims, "Throttles", 0.0, "Count")
        if result is not None:
            self._emit(fv, dims, "Duration", result.duration_ms, "Milliseconds")

    def throttled(self, fv: FunctionVersion, inv: Invocation) -> None:
        self._emit(fv, dimension_sets(fv, inv), "Throttles", 1.0, "Count")
