"""Asynchronous (Event) invokes: AWS's retries and the EventInvokeConfig API that tunes them.

A function error (an error it raised, a timeout, a crash) is retried twice by default,
the first retry about a minute later and the second about two minutes after that
(CLOUDLET_LAMBDA_EVENT_RETRY_S scales both); MaximumRetryAttempts lowers the count and
MaximumEventAgeInSeconds drops an event that waited longer. Throttles are retried
with backoff until the event's age runs out (at most 6 hours), as Lambda's queue does.
The outcome's invocation record goes to the OnSuccess or OnFailure destination, which
in cloudlet can be a Lambda function (invoked asynchronously), the only destination
service it has.
Every attempt carries the same request id, as on AWS. The queue is part of the state
(`PendingEvent`, written before Invoke answers 202): after a restart, even a kill -9,
each event acknowledged and not finished is delivered, its retries at the times they
were due (an attempt running at the crash runs again: at least once, as AWS delivers).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.environment import Invocation, InvokeResult
from cloudlet.services.lambda_.host import Throttled
from cloudlet.services.lambda_.models import LATEST, EventInvokeConfig, Function, FunctionVersion, PendingEvent
from cloudlet.services.lambda_.refs import parse_function_name

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 2
MAX_EVENT_AGE_S = 21600  # 6 hours, AWS's default and maximum


def _missing(arn: str) -> AWSError:
    return AWSError("ResourceNotFoundException", f"The function {arn} doesn't have an EventInvokeConfig",
                    status=404, fields={"Type": "User"})


class EventInvokeConfigs:
    """The EventInvokeConfig operations over LambdaProvider's functions (it delegates them here)."""

    def __init__(self, provider: LambdaProvider) -> None:
        self.provider = provider

    def _event_target(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str, str]:
        """The function, the qualifier the config is kept under, and that qualifier's ARN."""
        p = self.provider
        fn, qualifier = p.qualified(ctx, params)
        p._version(ctx, fn, qualifier)  # an unknown version or alias is not found
        key = qualifier or LATEST
        return fn, key, f"{fn.latest.function_arn}:{key}"

    def _event_settings(self, ctx: RequestContext, fn: Function,
                        params: dict[str, Any]) -> tuple[int | None, int | None, dict[str, str | None]]:
        """MaximumRetryAttempts, MaximumEventAgeInSeconds and the destinations the request sets."""
        destinations: dict[str, str | None] = {}
        for key in ("OnSuccess", "OnFailure"):
            given = (params.get("DestinationConfig") or {}).get(key)
            if given is not None:
                arn = given.get("Destination") or None
                if arn is not None:
                    self._check_destination(ctx, fn, arn)
                destinations[key] = arn
        retries, age = params.get("MaximumRetryAttempts"), params.get("MaximumEventAgeInSeconds")
        if retries is None and age is None and "DestinationConfig" not in params:
            raise v.invalid("You must specify at least one of error handling or destination setting.")
        return retries, age, destinations

    def _check_destination(self, ctx: RequestContext, fn: Function, arn: str) -> None:
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn":
            raise v.invalid(f"The destination ARN {arn} is invalid.")
        if parts[2] != "lambda":
            raise AWSError("NotImplementedException",
                           f"Destinations of service {parts[2]} are not implemented by cloudlet; "
                           "a Lambda function destination is.", status=501, sender_fault=False)
        p = self.provider
        role = p.world.iam.role_by_arn(ctx.account_id, fn.latest.role)
        if role is None or not p.world.config.enforce_iam:
            return
        # Lambda sends the record with the function's execution role, so the role must be allowed to.
        principal = p._role_principal(ctx, fn.latest.role, role, fn.name)
        try:
            p.world.authorizer.check(principal, "lambda:InvokeFunction", [arn], {}, "lambda")
        except AWSError:
            raise v.invalid(f"The function's execution role does not have permissions to call InvokeFunction on {arn}") from None

    def _store_event_config(self, ctx: RequestContext, params: dict[str, Any],
                            replace: bool) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        cfg = fn.event_invoke_configs.get(key)
        if cfg is None and not replace:
            raise _missing(arn)
        retries, age, destinations = self._event_settings(ctx, fn, params)
        if cfg is None or replace:
            # Put replaces the whole configuration: what it leaves out goes back to the default.
            cfg = EventInvokeConfig(retries, age)
        else:
            if retries is not None:
                cfg.maximum_retry_attempts = retries
            if age is not None:
                cfg.maximum_event_age_s = age
            cfg.last_modified = time.time()
        if "OnSuccess" in destinations:
            cfg.on_success = destinations["OnSuccess"]
        if "OnFailure" in destinations:
            cfg.on_failure = destinations["OnFailure"]
        fn.event_invoke_configs[key] = cfg
        self.provider.store.changed(ctx.account_id, ctx.region, "functions", fn.name)
        return cfg.to_api(arn)

    def put(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._store_event_config(ctx, params, replace=True)

    def update(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._store_event_config(ctx, params, replace=False)

    def get(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        cfg = fn.event_invoke_configs.get(key)
        if cfg is None:
            raise _missing(arn)
        return cfg.to_api(arn)

    def delete(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        if fn.event_invoke_configs.pop(key, None) is None:
            raise _missing(arn)
        self.provider.store.changed(ctx.account_id, ctx.region, "functions", fn.name)
        return {}

    def list_all(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self.provider._function(ctx, params["FunctionName"])
        items = [cfg.to_api(f"{fn.latest.function_arn}:{key}") for key, cfg in sorted(fn.event_invoke_configs.items())]
        page, token = offset_page(items, params.get("Marker"), params.get("MaxItems") or 50,
                                  "FunctionEventInvokeConfigs", lambda _t: v.invalid("Invalid marker"))
        return {"FunctionEventInvokeConfigs": page, **({"NextMarker": token} if token else {})}


def queue_event(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                qualifier: str | None) -> None:
    """Accept an asynchronous invoke: recorded in the state (written before the caller's 202)
    and delivered in the background."""
    pending = PendingEvent(inv.request_id, fn.name, qualifier, inv.invoked_arn,
                           base64.b64encode(inv.payload).decode(), inv.client_context)
    provider.store.get(fv.account_id, fv.region).pending_events[pending.request_id] = pending
    provider.store.changed(fv.account_id, fv.region, "pending_events", pending.request_id)
    provider._bg(deliver(provider, fn, fv, inv, qualifier, pending))


def resume_events(provider: LambdaProvider) -> None:
    """After a restart: deliver every event acknowledged before it and not finished."""
    for state in provider.store.states():
        for pending in list(state.pending_events.values()):
            fn = state.functions.get(pending.function_name)
            fv = None if fn is None else _version_of(fn, pending.qualifier)
            if fn is None or fv is None:
                _forget(provider, state.account_id, state.region, pending)
                continue
            inv = Invocation(base64.b64decode(pending.payload_b64), pending.invoked_arn,
                             client_context=pending.client_context, request_id=pending.request_id)
            log.info("asynchronous invoke %s of %s resumed after a restart (%d attempts made)",
                     pending.request_id, fn.name, pending.attempts)
            provider._bg(deliver(provider, fn, fv, inv, pending.qualifier, pending))


def _forget(provider: LambdaProvider, account_id: str, region: str, pending: PendingEvent) -> None:
    if provider.store.get(account_id, region).pending_events.pop(pending.request_id, None) is not None:
        provider.store.changed(account_id, region, "pending_events", pending.request_id)
        provider.world.persistence.flush()


def _remember(provider: LambdaProvider, fv: FunctionVersion, pending: PendingEvent) -> None:
    provider.store.changed(fv.account_id, fv.region, "pending_events", pending.request_id)
    provider.world.persistence.flush()


async def deliver(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                  qualifier: str | None, pending: PendingEvent) -> None:
    """Run one queued event: attempts, retries, expiry and destinations as AWS's asynchronous invoke has them."""
    try:
        await _deliver(provider, fn, fv, inv, qualifier, pending)
    except asyncio.CancelledError:
        raise  # cloudlet is stopping: the event stays queued for its next start
    except Exception:
        log.exception("asynchronous invoke %s of %s failed", inv.request_id, fv.name)
    _forget(provider, fv.account_id, fv.region, pending)


async def _deliver(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                   qualifier: str | None, pending: PendingEvent) -> None:
    cfg = fn.event_invoke_configs.get(qualifier or LATEST)
    retries = DEFAULT_RETRIES if cfg is None or cfg.maximum_retry_attempts is None else cfg.maximum_retry_attempts
    max_age = MAX_EVENT_AGE_S if cfg is None or cfg.maximum_event_age_s is None else cfg.maximum_event_age_s
    retry_s = provider.world.config.lambda_event_retry_s
    attempts = pending.attempts
    # Times are wall-clock ones: the record carries them across a restart.
    wait = pending.next_attempt_at - time.time()
    if wait > 0:
        await asyncio.sleep(wait)
    while True:
        result = await _attempt(provider, fn, fv, inv, pending.queued_at + max_age)
        if result is None:
            _send(provider, fv, inv, cfg, "EventAgeExceeded", attempts, None)
            return
        attempts += 1
        if result.function_error is None:
            _send(provider, fv, inv, cfg, "Success", attempts, result)
            return
        if attempts > retries:
            log.info("asynchronous invoke %s of %s failed after %d attempts", inv.request_id, fv.name, attempts)
            _send(provider, fv, inv, cfg, "RetriesExhausted", attempts, result)
            return
        delay = retry_s * attempts  # about 1 minute, then 2 more
        if time.time() + delay - pending.queued_at > max_age:
            log.info("asynchronous invoke %s of %s dropped: older than %d s", inv.request_id, fv.name, max_age)
            _send(provider, fv, inv, cfg, "EventAgeExceeded", attempts, result)
            return
        pending.attempts, pending.next_attempt_at = attempts, time.time() + delay
        _remember(provider, fv, pending)
        await asyncio.sleep(delay)
        if provider.function_at(fv.account_id, fv.region, fv.name) is not fn:
            return  # deleted (or replaced) meanwhile: its queued events go with it
        # The same event and request id again; a fresh invocation record for the runtime.
        inv = Invocation(inv.payload, inv.invoked_arn, client_context=inv.client_context, request_id=inv.request_id)


async def _attempt(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                   expires: float) -> InvokeResult | None:
    """One attempt's result; None when the event grew too old (EXPIRES, wall clock) waiting out throttles."""
    delay = 0.05
    while True:
        try:
            return await provider.host.invoke(fv, inv, fn.reserved_concurrency,
                                              provider.world.config.lambda_max_environments)
        except Throttled:
            if time.time() > expires:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        except Exception:
            log.exception("asynchronous invoke of %s failed", fv.name)
            return InvokeResult(b"", "Unhandled", [])


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def _send(provider: LambdaProvider, fv: FunctionVersion, inv: Invocation, cfg: EventInvokeConfig | None,
          condition: str, attempts: int, result: InvokeResult | None) -> None:
    """The invocation record to the configured destination, as Lambda sends it (an Event invoke)."""
    if cfg is None:
        return
    arn = cfg.on_success if condition == "Success" else cfg.on_failure
    if not arn:
        return
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "requestContext": {"requestId": inv.request_id, "functionArn": inv.invoked_arn
                           if inv.invoked_arn.count(":") == 7 else f"{inv.invoked_arn}:{LATEST}",
                           "condition": condition, "approximateInvokeCount": attempts},
        "requestPayload": _json_or_text(inv.payload),
    }
    if result is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": fv.version}
        if result.function_error:
            response["functionError"] = result.function_error
        record["responseContext"] = response
        record["responsePayload"] = _json_or_text(result.payload)
    try:
        ref = parse_function_name(arn, fv.account_id, fv.region)
    except AWSError:
        ref = None
    target = None if ref is None else provider.function_at(ref.account_id, ref.region, ref.name)
    target_fv = None if target is None or ref is None else _version_of(target, ref.qualifier)
    if ref is None or target is None or target_fv is None or target_fv.state != "Active":
        log.warning("destination %s of %s cannot be invoked; the record is dropped", arn, fv.name)
        return
    out = Invocation(json.dumps(record).encode(), arn)
    queue_event(provider, target, target_fv, out, ref.qualifier)


def _version_of(fn: Function, qualifier: str | None) -> FunctionVersion | None:
    if qualifier in (None, LATEST):
        return fn.latest
    if qualifier in fn.versions:
        return fn.versions[qualifier]
    alias = fn.aliases.get(qualifier)
    if alias is None:
        return None
    return fn.latest if alias.function_version == LATEST else fn.versions.get(alias.function_version)
