"""Asynchronous (Event) invokes: AWS's retries and the EventInvokeConfig API that tunes them.

A function error (an error it raised, a timeout, a crash) is retried twice by default,
the first retry about a minute later and the second about two minutes after that
(CLOUDLET_LAMBDA_EVENT_RETRY_S scales both); MaximumRetryAttempts lowers the count and
MaximumEventAgeInSeconds drops an event that waited longer. Throttles are retried
with backoff until the event's age runs out (at most 6 hours), as Lambda's queue does.
Every attempt carries the same request id, as on AWS. The queue itself is in memory:
a restart of cloudlet loses events not yet delivered.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any, cast

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page
from cloudlet.core.provider import operation
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.environment import Invocation
from cloudlet.services.lambda_.host import Throttled
from cloudlet.services.lambda_.models import LATEST, EventInvokeConfig, Function, FunctionVersion

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 2
MAX_EVENT_AGE_S = 21600  # 6 hours, AWS's default and maximum


def _missing(arn: str) -> AWSError:
    return AWSError("ResourceNotFoundException", f"The function {arn} doesn't have an EventInvokeConfig",
                    status=404, fields={"Type": "User"})


def _provider(ops: EventInvokeOperations) -> LambdaProvider:
    return cast("LambdaProvider", ops)


class EventInvokeOperations:
    """LambdaProvider's EventInvokeConfig operations (a mixin: it uses the provider's lookups)."""

    def _event_target(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str, str]:
        """The function, the qualifier the config is kept under, and that qualifier's ARN."""
        p = _provider(self)
        fn, qualifier = p.qualified(ctx, params)
        p._version(ctx, fn, qualifier)  # an unknown version or alias is not found
        key = qualifier or LATEST
        return fn, key, f"{fn.latest.function_arn}:{key}"

    @staticmethod
    def _event_settings(params: dict[str, Any]) -> tuple[int | None, int | None]:
        destinations = params.get("DestinationConfig") or {}
        if any((destinations.get(k) or {}).get("Destination") for k in ("OnSuccess", "OnFailure")):
            raise AWSError("NotImplementedException",
                           "Destinations for asynchronous invocation are not implemented by cloudlet.",
                           status=501, sender_fault=False)
        retries, age = params.get("MaximumRetryAttempts"), params.get("MaximumEventAgeInSeconds")
        if retries is None and age is None and "DestinationConfig" not in params:
            raise v.invalid("You must specify at least one of error handling or destination setting.")
        return retries, age

    def _store_event_config(self, ctx: RequestContext, params: dict[str, Any],
                            replace: bool) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        retries, age = self._event_settings(params)
        cfg = fn.event_invoke_configs.get(key)
        if cfg is None and not replace:
            raise _missing(arn)
        if cfg is None or replace:
            # Put replaces the whole configuration: what it leaves out goes back to the default.
            cfg = EventInvokeConfig(retries, age)
        else:
            if retries is not None:
                cfg.maximum_retry_attempts = retries
            if age is not None:
                cfg.maximum_event_age_s = age
            cfg.last_modified = time.time()
        fn.event_invoke_configs[key] = cfg
        _provider(self).store.changed(ctx.account_id, ctx.region, "functions", fn.name)
        return cfg.to_api(arn)

    @operation("PutFunctionEventInvokeConfig")
    def put_function_event_invoke_config(self, ctx: RequestContext,
                                         params: dict[str, Any]) -> dict[str, Any]:
        return self._store_event_config(ctx, params, replace=True)

    @operation("UpdateFunctionEventInvokeConfig")
    def update_function_event_invoke_config(self, ctx: RequestContext,
                                            params: dict[str, Any]) -> dict[str, Any]:
        return self._store_event_config(ctx, params, replace=False)

    @operation("GetFunctionEventInvokeConfig")
    def get_function_event_invoke_config(self, ctx: RequestContext,
                                         params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        cfg = fn.event_invoke_configs.get(key)
        if cfg is None:
            raise _missing(arn)
        return cfg.to_api(arn)

    @operation("DeleteFunctionEventInvokeConfig")
    def delete_function_event_invoke_config(self, ctx: RequestContext,
                                            params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._event_target(ctx, params)
        if fn.event_invoke_configs.pop(key, None) is None:
            raise _missing(arn)
        _provider(self).store.changed(ctx.account_id, ctx.region, "functions", fn.name)
        return {}

    @operation("ListFunctionEventInvokeConfigs")
    def list_function_event_invoke_configs(self, ctx: RequestContext,
                                           params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = _provider(self)._function(ctx, params["FunctionName"])
        items = [cfg.to_api(f"{fn.latest.function_arn}:{key}") for key, cfg in sorted(fn.event_invoke_configs.items())]
        page, token = offset_page(items, params.get("Marker"), params.get("MaxItems") or 50,
                                  "FunctionEventInvokeConfigs", lambda _t: v.invalid("Invalid marker"))
        return {"FunctionEventInvokeConfigs": page, **({"NextMarker": token} if token else {})}


async def deliver(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                  qualifier: str | None) -> None:
    """Run one queued event: attempts, retries and expiry as AWS's asynchronous invoke has them."""
    cfg = fn.event_invoke_configs.get(qualifier or LATEST)
    retries = DEFAULT_RETRIES if cfg is None or cfg.maximum_retry_attempts is None else cfg.maximum_retry_attempts
    max_age = MAX_EVENT_AGE_S if cfg is None or cfg.maximum_event_age_s is None else cfg.maximum_event_age_s
    queued = time.monotonic()
    retry_s = provider.world.config.lambda_event_retry_s
    attempt = 0
    while True:
        failed = await _attempt(provider, fn, fv, inv, queued + max_age)
        if failed is None:
            return  # delivered (or expired while throttled)
        if attempt >= retries:
            log.info("asynchronous invoke %s of %s failed after %d attempts", inv.request_id, fv.name, attempt + 1)
            return
        attempt += 1
        delay = retry_s * attempt  # about 1 minute, then 2 more
        if time.monotonic() + delay - queued > max_age:
            log.info("asynchronous invoke %s of %s dropped: older than %d s", inv.request_id, fv.name, max_age)
            return
        await asyncio.sleep(delay)
        # The same event and request id again; a fresh invocation record for the runtime.
        inv = Invocation(inv.payload, inv.invoked_arn, client_context=inv.client_context, request_id=inv.request_id)


async def _attempt(provider: LambdaProvider, fn: Function, fv: FunctionVersion, inv: Invocation,
                   expires: float) -> str | None:
    """One attempt: the function error it ended with, or None (succeeded, or gave up while throttled)."""
    delay = 0.05
    while True:
        try:
            result = await provider.host.invoke(fv, inv, fn.reserved_concurrency,
                                                provider.world.config.lambda_max_environments)
            return result.function_error
        except Throttled:
            if time.monotonic() > expires:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
        except Exception:
            log.exception("asynchronous invoke of %s failed", fv.name)
            return None
