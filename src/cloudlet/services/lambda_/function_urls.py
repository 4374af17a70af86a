"""Function URLs' configuration API: Create/Get/Update/Delete/ListFunctionUrlConfig(s).

A function has at most one URL per qualifier: the unqualified function ($LATEST)
or an alias (versions and an explicit $LATEST are refused by the model's pattern,
as Lambda refuses them). The refusals and their wordings are those AWS answers
(LocalStack's recordings against AWS, tests/conformance): Create, Update and List
of a missing function or alias say "Function does not exist", Get and Delete "The
resource you requested does not exist.". Serving the URL is url_server.py.

The URL cloudlet reports is one a local client can reach: the AWS host name's
shape under `localhost` on cloudlet's own port (url_server.url_for).
"""

from __future__ import annotations

import secrets
import string
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.paging import offset_page
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.models import LATEST, Function, FunctionUrlConfig, url_timestamp
from cloudlet.services.lambda_.refs import request_ref
from cloudlet.services.lambda_.url_server import function_url

if TYPE_CHECKING:
    from cloudlet.services.lambda_.provider import LambdaProvider

URL_ID_ALPHABET = string.ascii_lowercase + string.digits
URL_ID_LENGTH = 32
MAX_LIST_ITEMS = 50


def new_url_id() -> str:
    return "".join(secrets.choice(URL_ID_ALPHABET) for _ in range(URL_ID_LENGTH))


def _user_error(code: str, message: str, status: int) -> AWSError:
    return AWSError(code, message, status=status, fields={"Type": "User"})


def _no_function() -> AWSError:
    return _user_error("ResourceNotFoundException", "Function does not exist", 404)


def _no_resource() -> AWSError:
    return _user_error("ResourceNotFoundException", "The resource you requested does not exist.", 404)


class FunctionUrls:
    """The function URL operations over LambdaProvider's functions (it delegates them here)."""

    def __init__(self, provider: LambdaProvider) -> None:
        self.provider = provider

    # ---- which URL a request names ------------------------------------------------------
    def _target(self, ctx: RequestContext, params: dict[str, Any], missing: AWSError) -> tuple[Function, str, str]:
        """(function, key, ARN the URL config reports): key is $LATEST or the alias name."""
        try:
            ref = request_ref(params, ctx.account_id, ctx.region)
        except AWSError as e:
            if e.code == "ResourceNotFoundException":
                raise missing from None
            raise _user_error(e.code, e.message, e.status or 400) from None
        fn = self.provider.function_at(ref.account_id, ref.region, ref.name)
        if fn is None:
            raise missing
        qualifier = ref.qualifier
        if qualifier is None:
            return fn, LATEST, fn.latest.function_arn
        if qualifier == LATEST or qualifier.isdigit():
            # A qualifier inside FunctionName escapes the model's pattern on Qualifier; same answer.
            raise AWSError(
                "ValidationException",
                f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)",
                status=400,
            )
        if qualifier not in fn.aliases:
            raise missing
        return fn, qualifier, f"{fn.latest.function_arn}:{qualifier}"

    def _changed(self, fn: Function) -> None:
        self.provider.store.changed(fn.latest.account_id, fn.latest.region, "functions", fn.name)

    def url_for(self, fn: Function, cfg: FunctionUrlConfig) -> str:
        return function_url(self.provider.world.config, cfg.url_id, fn.latest.region)

    def _answer(self, fn: Function, arn: str, cfg: FunctionUrlConfig, full: bool) -> dict[str, Any]:
        """The config as Lambda answers it: Get and List always name InvokeMode and LastModifiedTime;
        Create and Update only what was set (as AWS's recorded answers show)."""
        out: dict[str, Any] = {
            "FunctionUrl": self.url_for(fn, cfg),
            "FunctionArn": arn,
            "AuthType": cfg.auth_type,
            "CreationTime": cfg.creation_time,
        }
        if cfg.cors is not None:
            out["Cors"] = dict(cfg.cors)
        if full or cfg.invoke_mode is not None:
            out["InvokeMode"] = cfg.invoke_mode or "BUFFERED"
        return out

    # ---- operations -------------------------------------------------------------------------
    def create(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._target(ctx, params, _no_function())
        if key in fn.url_configs:
            raise _user_error(
                "ResourceConflictException",
                f"Failed to create function url config for [functionArn = {arn}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function",
                409,
            )
        taken = {c.url_id for f in self.provider.all_functions() for c in f.url_configs.values()}
        url_id = new_url_id()
        while url_id in taken:
            url_id = new_url_id()
        cfg = FunctionUrlConfig(url_id, params["AuthType"], _cors(params.get("Cors")), params.get("InvokeMode"))
        fn.url_configs[key] = cfg
        self._changed(fn)
        return self._answer(fn, arn, cfg, full=False)

    def get(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._target(ctx, params, _no_resource())
        cfg = fn.url_configs.get(key)
        if cfg is None:
            raise _no_resource()
        return {**self._answer(fn, arn, cfg, full=True), "LastModifiedTime": cfg.last_modified_time}

    def update(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, arn = self._target(ctx, params, _no_function())
        cfg = fn.url_configs.get(key)
        if cfg is None:
            raise _no_resource()
        if params.get("AuthType") is not None:
            cfg.auth_type = params["AuthType"]
        if "Cors" in params:
            cfg.cors = _cors(params["Cors"])
        if params.get("InvokeMode") is not None:
            cfg.invoke_mode = params["InvokeMode"]
        cfg.last_modified_time = url_timestamp()
        self._changed(fn)
        return {**self._answer(fn, arn, cfg, full=False), "LastModifiedTime": cfg.last_modified_time}

    def delete(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, key, _arn = self._target(ctx, params, _no_resource())
        if fn.url_configs.pop(key, None) is None:
            raise _no_resource()
        self._changed(fn)
        return {}

    def list_all(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _key, _arn = self._target(ctx, {"FunctionName": params["FunctionName"]}, _no_function())
        base = fn.latest.function_arn
        items = []
        for key in sorted(fn.url_configs, key=lambda k: (k != LATEST, k)):
            cfg = fn.url_configs[key]
            arn = base if key == LATEST else f"{base}:{key}"
            items.append({**self._answer(fn, arn, cfg, full=True), "LastModifiedTime": cfg.last_modified_time})
        page, token = offset_page(items, params.get("Marker"), min(params.get("MaxItems") or MAX_LIST_ITEMS,
                                  MAX_LIST_ITEMS), "FunctionUrlConfigs", lambda _t: v.invalid("Invalid marker"))
        return {"FunctionUrlConfigs": page, **({"NextMarker": token} if token else {})}

    # ---- for the URL server -----------------------------------------------------------------
    def find(self, url_id: str) -> tuple[Function, str, FunctionUrlConfig] | None:
        """The function, qualifier key and config of the URL whose id is URL_ID."""
        for fn in self.provider.all_functions():
            for key, cfg in fn.url_configs.items():
                if cfg.url_id == url_id:
                    return fn, key, cfg
        return None


def _cors(cors: dict[str, Any] | None) -> dict[str, Any] | None:
    """Cors as Lambda keeps it: the members given (an empty object stays an empty object)."""
    return None if cors is None else {k: (list(x) if isinstance(x, list) else x) for k, x in cors.items()}
