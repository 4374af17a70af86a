"""The Lambda API (2015-03-31, rest-json): functions, versions, aliases, invoke."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.errors import AWSError
from cloudlet.core.interfaces import RoleView, SecurityGroupView, SubnetView
from cloudlet.core.paging import offset_page
from cloudlet.core.provider import HostRoute, InternalRoute, Provider, operation
from cloudlet.core.store import AccountRegionStore
from cloudlet.policy.trust import can_assume_role
from cloudlet.services.lambda_ import code as codepkg
from cloudlet.services.lambda_ import validation as v
from cloudlet.services.lambda_.code_url import PREFIX as CODE_PREFIX
from cloudlet.services.lambda_.code_url import code_download
from cloudlet.services.lambda_.environment import Invocation
from cloudlet.services.lambda_.event_invoke import EventInvokeConfigs, queue_event
from cloudlet.services.lambda_.function_urls import FunctionUrls
from cloudlet.services.lambda_.host import RuntimeHost, Throttled
from cloudlet.services.lambda_.models import (
    LATEST,
    Alias,
    Function,
    FunctionVersion,
    LambdaState,
    lambda_timestamp,
    new_revision,
)
from cloudlet.services.lambda_.permissions import FunctionPermissions
from cloudlet.services.lambda_.platform_log import settle_logging_config
from cloudlet.services.lambda_.refs import FunctionRef, not_found, parse_function_name, request_ref
from cloudlet.services.lambda_.runtimes import is_supported
from cloudlet.services.lambda_.stream_invoke import invoke_with_response_stream
from cloudlet.services.lambda_.url_server import FunctionUrlServer

if TYPE_CHECKING:
    from cloudlet.core.world import World

log = logging.getLogger(__name__)

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
ACCOUNT_CONCURRENCY = 1000
MIN_UNRESERVED = 100


def _conflict(message: str) -> AWSError:
    return AWSError("ResourceConflictException", message, status=409)


class LambdaProvider(Provider):
    service = "lambda"

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self.store: AccountRegionStore[LambdaState] = AccountRegionStore(LambdaState)
        self.host = RuntimeHost(world, functions=self.all_functions)
        self.data_dir = world.config.data_dir / "lambda"
        self.permissions = FunctionPermissions(self, world.iam)
        self.event_invoke = EventInvokeConfigs(self)
        self.urls = FunctionUrls(self)
        self.url_server = FunctionUrlServer(self)
        self._code_tokens: dict[str, tuple[Path, float]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # $LATEST's current transition (Pending -> Active, InProgress -> Successful) per function:
        # whoever must wait for it (Publish, Invoke) awaits the task instead of polling the state.
        self._transitions: dict[tuple[str, str, str], asyncio.Task[None]] = {}

    def internal_routes(self) -> list[InternalRoute]:
        return [InternalRoute("GET", CODE_PREFIX, lambda token: code_download(self.code_for_token(token)))]

    def host_routes(self) -> list[HostRoute]:
        return [HostRoute(self.url_server.claims, self.url_server.serve)]

    def authorization_resources(self, ctx: RequestContext, params: dict[str, Any], resources: list[str]) -> list[str]:
        """A request naming a version or alias is authorized on the qualified function ARN, as Lambda does."""
        if "FunctionName" not in params:
            return resources
        try:
            ref = request_ref(params, ctx.account_id, ctx.region)
        except AWSError:
            return resources  # the operation itself reports a bad or foreign name
        return [ref.qualified_arn if r == ref.arn else r for r in resources]

    def resource_policy(self, arn: str) -> dict[str, Any] | None:
        return self.permissions.resource_policy(arn)

    async def start(self) -> None:
        await self.host.start()

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.host.stop()

    def _bg(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # What a background transition changed is written once it ends.
        task.add_done_callback(lambda _: self.world.persistence.flush())
        return task

    # ---- lookup ----------------------------------------------------------------
    def _split_name(self, ctx: RequestContext, raw: str) -> FunctionRef:
        return parse_function_name(raw, ctx.account_id, ctx.region)

    def _arn(self, ctx: RequestContext, name: str) -> str:
        return FunctionRef(ctx.account_id, ctx.region, name).arn

    def function_at(self, account_id: str, region: str, name: str) -> Function | None:
        return self.store.get(account_id, region).functions.get(name)

    def all_functions(self) -> list[Function]:
        return [fn for state in self.store.states() for fn in state.functions.values()]

    def _lookup(self, ref: FunctionRef) -> Function:
        fn = self.store.get(ref.account_id, ref.region).functions.get(ref.name)
        if fn is None:
            raise not_found(ref.arn + (f":{ref.qualifier}" if ref.qualifier else ""))
        return fn

    def _function(self, ctx: RequestContext, raw: str) -> tuple[Function, str | None]:
        ref = self._split_name(ctx, raw)
        return self._lookup(ref), ref.qualifier

    def qualified(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, str | None]:
        """The function and qualifier a request names (FunctionName's own :QUALIFIER or Qualifier)."""
        ref = request_ref(params, ctx.account_id, ctx.region)
        return self._lookup(ref), ref.qualifier

    def _resolve(self, ctx: RequestContext, params: dict[str, Any]) -> tuple[Function, FunctionVersion]:
        fn, qualifier = self.qualified(ctx, params)
        return fn, self._version(ctx, fn, qualifier)

    def _version(self, ctx: RequestContext, fn: Function, qualifier: str | None) -> FunctionVersion:
        if qualifier in (None, LATEST):
            return fn.latest
        if qualifier in fn.versions:
            return fn.versions[qualifier]
        alias = fn.aliases.get(qualifier)
        if alias is not None:
            return fn.latest if alias.function_version == LATEST else fn.versions[alias.function_version]
        raise not_found(f"{fn.latest.function_arn}:{qualifier}")

    # ---- checks against IAM and EC2 -------------------------------------------------
    def _check_role(self, ctx: RequestContext, role_arn: str) -> RoleView:
        cannot = v.invalid("The role defined for the function cannot be assumed by Lambda.")
        role = self.world.iam.role_by_arn(ctx.account_id, role_arn)
        if role is None:
            raise cannot
        allowed, _reason = can_assume_role(self.world, None, "lambda.amazonaws.com", role, {})
        if not allowed:
            raise cannot
        return role

    def _role_principal(self, ctx: RequestContext, role_arn: str, role: RoleView, fn_name: str) -> Principal:
        return Principal(
            arn=f"arn:aws:sts::{ctx.account_id}:assumed-role/{role.name}/{fn_name}",
            account_id=ctx.account_id,
            user_id=f"{role.role_id}:{fn_name}",
            type="AssumedRole",
            name=role.name,
            role_arn=role_arn,
            session_name=fn_name,
        )

    def _check_vpc(
        self, ctx: RequestContext, vpc: dict[str, Any] | None, role_arn: str, role: RoleView, fn_name: str
    ) -> dict[str, Any] | None:
        if vpc is None:
            return None
        subnets = list(vpc.get("SubnetIds") or [])
        groups = list(vpc.get("SecurityGroupIds") or [])
        if not subnets and not groups:
            return {"SubnetIds": [], "SecurityGroupIds": [], "VpcId": ""}
        if len(subnets) > 16 or len(groups) > 5:
            raise v.invalid("The maximum number of subnets is 16 and security groups is 5.")
        if not subnets or not groups:
            raise v.invalid("SubnetIds and SecurityGroupIds must coexist or be both empty list.")
        ec2 = self.world.ec2
        # AWS looks the security groups up before the subnets: with both wrong, the group is reported.
        group_vpcs = {
            self._ec2_lookup(ec2.security_group(ctx.account_id, ctx.region, gid), "DescribeSecurityGroups",
                             "InvalidGroup.NotFound", f"The security group '{gid}' does not exist")
            for gid in groups
        }
        vpc_ids: set[str] = set()
        for sid in subnets:
            vpc_ids.add(self._ec2_lookup(ec2.subnet(ctx.account_id, ctx.region, sid), "DescribeSubnets",
                                         "InvalidSubnetID.NotFound", f"The subnet ID '{sid}' does not exist"))
        if len(vpc_ids) > 1:
            raise v.invalid("Subnets are required to be in the same VPC.")
        if group_vpcs - vpc_ids:
            raise v.invalid("Security Groups are required to be in the same VPC.")
        authz = self.world.authorizer
        if self.world.config.enforce_iam:
            principal = self._role_principal(ctx, role_arn, role, fn_name)
            for action in ("CreateNetworkInterface", "DescribeNetworkInterfaces", "DeleteNetworkInterface"):
                try:
                    authz.check(principal, f"ec2:{action}", ["*"], {}, "ec2")
                except AWSError:
                    raise v.invalid(
                        f"The provided execution role does not have permissions to call {action} on EC2"
                    ) from None
        out: dict[str, Any] = {
            "SubnetIds": subnets,
            "SecurityGroupIds": groups,
            "VpcId": next(iter(vpc_ids), ""),
        }
        out["Ipv6AllowedForDualStack"] = bool(vpc.get("Ipv6AllowedForDualStack", False))
        return out

    @staticmethod
    def _ec2_lookup(found: SubnetView | SecurityGroupView | None, call: str, code: str, message: str) -> str:
        """The VPC id of the subnet or group EC2 found, or Lambda's wording of the error EC2 gave."""
        if found is None:
            raise v.invalid(f"Error occurred while {call}. EC2 Error Code: {code}. EC2 Error Message: {message}")
        return str(found.vpc_id)

    # ---- environment preparation (Pending -> Active) ---------------------------------
    async def _prepare(self, fv: FunctionVersion, updating: bool, published: FunctionVersion | None) -> None:
        """The transition: Pending -> Active (create) or InProgress -> Successful (update). It lasts at
        least CLOUDLET_LAMBDA_TRANSITION_S so that clients can observe it, as on AWS. PUBLISHED is the
        version Publish=true cut from this $LATEST: it goes the same way."""
        targets = [fv] if published is None else [fv, published]
        started = time.monotonic()
        try:
            if not is_supported(fv.runtime):
                raise _PrepareError("InvalidRuntime", f"cloudlet runs only Python and Node.js runtimes, not {fv.runtime}.")
            await asyncio.to_thread(codepkg.unpack, fv.code)
            await self.host.prepare_runtime(fv.runtime)
            self.host.expect(fv)
        except _PrepareError as e:
            for t in targets:
                self._mark_failed(t, e.code, e.message, updating and t is fv)
            self.store.changed(fv.account_id, fv.region, "functions", fv.name)
            return
        except Exception as e:  # a broken package or a runtime that cannot be installed
            log.exception("preparing Lambda function %s failed", fv.name)
            for t in targets:
                self._mark_failed(t, "InternalError", f"cloudlet could not prepare the function: {e}", updating and t is fv)
            self.store.changed(fv.account_id, fv.region, "functions", fv.name)
            return
        finally:
            await asyncio.sleep(max(0.0, self.world.config.lambda_transition_s - (time.monotonic() - started)))
        for t in targets:
            t.state, t.state_reason, t.state_reason_code = "Active", None, None
            t.last_update_status = "Successful"
            t.last_update_status_reason = t.last_update_status_reason_code = None
            # Every change of state is a new revision, as Lambda answers it.
            t.revision_id = new_revision()
        # Written with the task's flush (see _bg): a restart finds the function Active, not Pending.
        self.store.changed(fv.account_id, fv.region, "functions", fv.name)

    @staticmethod
    def _mark_failed(fv: FunctionVersion, code: str, message: str, updating: bool) -> None:
        # A failed update leaves the function Active on its previous code; a failed create fails it.
        if not updating:
            fv.state, fv.state_reason, fv.state_reason_code = "Failed", message, code
        fv.last_update_status = "Failed"
        fv.last_update_status_reason, fv.last_update_status_reason_code = message, code
        fv.revision_id = new_revision()

    def _store_code(self, ctx: RequestContext, code: dict[str, Any], operation: str) -> codepkg.CodePackage:
        if code.get("S3Bucket") or code.get("S3Key") or code.get("ImageUri"):
            what = "S3 code" if code.get("S3Bucket") or code.get("S3Key") else "container images"
            raise AWSError(
                "NotImplementedException",
                f"{operation} with {what} is not implemented by cloudlet; upload the package as ZipFile.",
                status=501,
                sender_fault=False,
            )
        data = code.get("ZipFile")
        if data is None:
            raise v.invalid("Please provide a source for function code.")
        unzipped = codepkg.check_zip(data, operation)
        return codepkg.store_zip(self.data_dir / ctx.account_id / ctx.region / "code", data, unzipped)

    # ---- functions -------------------------------------------------------------------
    @operation("CreateFunction")
    def create_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._split_name(ctx, params["FunctionName"])
        name = ref.name
        if ref.qualifier:
            v.check_function_name(params["FunctionName"])
        if params.get("PackageType", "Zip") == "Image":
            raise AWSError("NotImplementedException", "CreateFunction with container images is not implemented by cloudlet.",
                           status=501, sender_fault=False)
        v.check_runtime(params.get("Runtime"))
        v.check_handler(params.get("Handler"))
        v.check_limits(params)
        state = self.store.get(ctx.account_id, ctx.region)
        if name in state.functions:
            raise _conflict(f"Function already exist: {name}")
        role = self._check_role(ctx, params["Role"])
        vpc = self._check_vpc(ctx, params.get("VpcConfig"), params["Role"], role, name)
        pkg = self._store_code(ctx, params["Code"], "CreateFunction")
        fv = FunctionVersion(
            name=name,
            account_id=ctx.account_id,
            region=ctx.region,
            version=LATEST,
            runtime=params["Runtime"],
            role=params["Role"],
            handler=params["Handler"],
            code=pkg,
            description=params.get("Description", ""),
            timeout=params.get("Timeout", 3),
            memory_size=params.get("MemorySize", 128),
            environment=dict((params.get("Environment") or {}).get("Variables") or {})
            if params.get("Environment") is not None else None,
            vpc_config=vpc,
            architectures=list(params.get("Architectures") or ["x86_64"]),
            ephemeral_storage=(params.get("EphemeralStorage") or {}).get("Size", 512),
            logging_config=self._logging_config(params.get("LoggingConfig"), name),
            tracing_mode=(params.get("TracingConfig") or {}).get("Mode", "PassThrough"),
            layers=list(params.get("Layers") or []),
        )
        fn = Function(latest=fv, tags=dict(params.get("Tags") or {}))
        state.functions[name] = fn
        # Publish=true answers with the new version, Pending like $LATEST (AWS: Version "1").
        published = self._publish(fn, None) if params.get("Publish") else None
        self._transition(fv, updating=False, published=published)
        return self._answer(fv, published)

    @staticmethod
    def _answer(latest: FunctionVersion, published: FunctionVersion | None) -> dict[str, Any]:
        """Create/UpdateFunctionCode's answer: with Publish=true the new version's configuration,
        under the unqualified ARN (as recorded from AWS)."""
        if published is None:
            return latest.to_config()
        out = published.to_config()
        out["FunctionArn"] = latest.function_arn
        return out

    def _transition(self, fv: FunctionVersion, updating: bool, published: FunctionVersion | None = None) -> None:
        task = self._bg(self._prepare(fv, updating, published))
        self._transitions[(fv.account_id, fv.region, fv.name)] = task

    async def _settled(self, fv: FunctionVersion) -> None:
        """Returns once $LATEST of FV's function has finished its current transition."""
        task = self._transitions.get((fv.account_id, fv.region, fv.name))
        if task is not None and fv.version == LATEST:
            await asyncio.shield(task)

    @staticmethod
    def _logging_config(cfg: dict[str, Any] | None, name: str) -> dict[str, str]:
        out = {k: str(val) for k, val in (cfg or {}).items() if val is not None}
        out.setdefault("LogGroup", f"/aws/lambda/{name}")
        return settle_logging_config(out)

    @operation("GetFunction")
    def get_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.qualified(ctx, params)
        fv = self._version(ctx, fn, qualifier)
        token = secrets.token_urlsafe(24)
        now = time.time()
        # Like AWS's presigned S3 URL, a location is good for 10 minutes.
        for stale in [t for t, (_p, exp) in self._code_tokens.items() if exp < now]:
            del self._code_tokens[stale]
        self._code_tokens[token] = (fv.code.zip_path, now + 600)
        out: dict[str, Any] = {
            "Configuration": self._config_as_named(fn, fv, qualifier),
            "Code": {
                "RepositoryType": "S3",
                "Location": f"{self.world.config.endpoint_url}/_cloudlet/lambda/code/{token}",
            },
        }
        if fn.tags:
            out["Tags"] = dict(fn.tags)
        if fn.reserved_concurrency is not None:
            out["Concurrency"] = {"ReservedConcurrentExecutions": fn.reserved_concurrency}
        return out

    @staticmethod
    def _config_as_named(fn: Function, fv: FunctionVersion, qualifier: str | None) -> dict[str, Any]:
        """A version's configuration with the ARN the request named: an explicit $LATEST or an alias
        qualifies it, as Lambda answers."""
        out = fv.to_config(qualified=qualifier == LATEST)
        if qualifier is not None and qualifier in fn.aliases:
            out["FunctionArn"] = f"{fn.latest.function_arn}:{qualifier}"
        return out

    def code_for_token(self, token: str) -> Path | None:
        """The zip a GetFunction Code.Location URL names (served by the front door)."""
        entry = self._code_tokens.get(token)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    @operation("GetFunctionConfiguration")
    def get_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.qualified(ctx, params)
        return self._config_as_named(fn, self._version(ctx, fn, qualifier), qualifier)

    @operation("ListFunctions")
    def list_functions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.store.get(ctx.account_id, ctx.region)
        everything = params.get("FunctionVersion") == "ALL"
        configs: list[dict[str, Any]] = []
        for name in sorted(state.functions):
            fn = state.functions[name]
            # Listed with its versions (FunctionVersion=ALL), $LATEST has its qualified ARN.
            configs.append(fn.latest.to_list_item(qualified=everything))
            if everything:
                configs += [fn.versions[k].to_list_item() for k in sorted(fn.versions, key=int)]
        return self._page(configs, params, "Functions")

    @staticmethod
    def _page(items: list[dict[str, Any]], params: dict[str, Any], key: str) -> dict[str, Any]:
        page, token = offset_page(items, params.get("Marker"), params.get("MaxItems") or 50, key,
                                  lambda _t: v.invalid("Invalid marker"))
        return {key: page, **({"NextMarker": token} if token else {})}

    def _check_updatable(self, fv: FunctionVersion, revision_id: str | None) -> None:
        if fv.state == "Pending" or fv.last_update_status == "InProgress":
            raise _conflict(
                "The operation cannot be performed at this time. An update is in progress for resource: "
                f"{fv.function_arn}"
            )
        if revision_id is not None and revision_id != fv.revision_id:
            raise v.precondition_failed()

    def _start_update(self, fn: Function, publish: bool = False) -> FunctionVersion | None:
        """$LATEST goes InProgress; with PUBLISH the new version is cut now and settles with it."""
        fv = fn.latest
        fv.last_modified = lambda_timestamp()
        fv.revision_id = new_revision()
        fv.last_update_status = "InProgress"
        fv.last_update_status_reason = "The function is being created."
        fv.last_update_status_reason_code = "Creating"
        self.host.retire(fv.account_id, fv.region, fv.name, LATEST)
        published = self._publish(fn, None) if publish else None
        self._transition(fv, updating=True, published=published)
        return published

    @operation("UpdateFunctionCode")
    def update_function_code(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        fv = fn.latest
        self._check_updatable(fv, params.get("RevisionId"))
        pkg = self._store_code(ctx, params, "UpdateFunctionCode")
        if params.get("DryRun"):
            out = fv.to_config()
            out["CodeSha256"], out["CodeSize"] = pkg.sha256_b64, pkg.size
            return out
        fv.code = pkg
        if params.get("Architectures"):
            fv.architectures = list(params["Architectures"])
        published = self._start_update(fn, publish=bool(params.get("Publish")))
        return self._answer(fv, published)

    @operation("UpdateFunctionConfiguration")
    def update_function_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        fv = fn.latest
        self._check_updatable(fv, params.get("RevisionId"))
        if "Runtime" in params:
            v.check_runtime(params["Runtime"])
        if "Handler" in params:
            v.check_handler(params["Handler"])
        v.check_limits(params)
        role = None
        if "Role" in params:
            role = self._check_role(ctx, params["Role"])
        role_arn = params.get("Role", fv.role)
        vpc = fv.vpc_config
        if "VpcConfig" in params:
            if role is None:
                role = self._check_role(ctx, role_arn)
            vpc = self._check_vpc(ctx, params["VpcConfig"], role_arn, role, fn.name)
        simple = {"Role": "role", "Handler": "handler", "Description": "description", "Timeout": "timeout",
                  "MemorySize": "memory_size", "Runtime": "runtime"}
        for key, attr in simple.items():
            if key in params:
                setattr(fv, attr, params[key])
        if "Environment" in params:
            fv.environment = dict((params["Environment"] or {}).get("Variables") or {})
        fv.vpc_config = vpc
        if "EphemeralStorage" in params:
            fv.ephemeral_storage = params["EphemeralStorage"].get("Size", fv.ephemeral_storage)
        if "LoggingConfig" in params:
            fv.logging_config = self._logging_config(params["LoggingConfig"], fn.name)
        if "TracingConfig" in params:
            fv.tracing_mode = params["TracingConfig"].get("Mode", fv.tracing_mode)
        if "Layers" in params:
            fv.layers = list(params["Layers"] or [])
        self._start_update(fn)
        return fv.to_config()

    @operation("DeleteFunction")
    def delete_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, q_in_name = self._function(ctx, params["FunctionName"])
        qualifier = params.get("Qualifier") or q_in_name
        state = self.store.get(ctx.account_id, ctx.region)
        if qualifier is None:
            del state.functions[fn.name]
            self._transitions.pop((ctx.account_id, ctx.region, fn.name), None)
            self.host.retire(ctx.account_id, ctx.region, fn.name)
            return {"StatusCode": 204}
        if qualifier == LATEST:
            raise v.invalid("$LATEST version cannot be deleted without deleting the function.")
        if qualifier not in fn.versions:
            if qualifier in fn.aliases:
                raise v.invalid("Deletion of aliases is not supported via DeleteFunction. Use DeleteAlias instead.")
            raise not_found(f"{fn.latest.function_arn}:{qualifier}")
        users = sorted(a.name for a in fn.aliases.values() if a.function_version == qualifier)
        if users:
            raise _conflict(f"Unable to delete version because the following aliases reference it: {users}")
        del fn.versions[qualifier]
        fn.policies.pop(qualifier, None)
        self.host.retire(ctx.account_id, ctx.region, fn.name, qualifier)
        return {"StatusCode": 204}

    # ---- versions ------------------------------------------------------------------------
    def _publish(self, fn: Function, description: str | None) -> FunctionVersion:
        latest = fn.latest
        # $LATEST unchanged since the newest version was cut from it: Lambda answers that version
        # (whatever Description PublishVersion asks for), it does not cut another.
        last = fn.versions[max(fn.versions, key=int)] if fn.versions else None
        if last is not None and last.source_digest == latest.content_digest():
            return last
        fv = latest.publish_copy(str(fn.next_version))
        if description is not None:
            fv.description = description
        fn.versions[fv.version] = fv
        fn.next_version += 1
        self.store.changed(latest.account_id, latest.region, "functions", fn.name)  # may run in _bg
        return fv

    @operation("PublishVersion")
    def publish_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        self._check_updatable(fn.latest, params.get("RevisionId"))
        sha = params.get("CodeSha256")
        if sha is not None and sha != fn.latest.code.sha256_b64:
            raise v.invalid(
                f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST "
                f"({fn.latest.code.sha256_b64}). Please try again"
            )
        return self._publish(fn, params.get("Description")).to_config()

    @operation("ListVersionsByFunction")
    def list_versions_by_function(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        # Listed among versions, $LATEST has its qualified ARN; items are ListFunctions' subset.
        configs = [fn.latest.to_list_item(qualified=True)]
        configs += [fn.versions[k].to_list_item() for k in sorted(fn.versions, key=int)]
        return self._page(configs, params, "Versions")

    # ---- aliases ----------------------------------------------------------------------------
    def _alias_target(self, fn: Function, version: str) -> None:
        if version != LATEST and version not in fn.versions:
            raise not_found(f"{fn.latest.function_arn}:{version}")

    def _alias(self, fn: Function, name: str) -> Alias:
        alias = fn.aliases.get(name)
        if alias is None:
            raise AWSError("ResourceNotFoundException", f"Alias not found: {fn.latest.function_arn}:{name}", status=404)
        return alias

    @operation("CreateAlias")
    def create_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        name = params["Name"]
        if name.isdigit() or name == LATEST:
            raise v.invalid(f"Alias name {name} is not allowed: names must not look like a version.")
        if name in fn.aliases:
            raise _conflict(f"Alias already exists: {fn.latest.function_arn}:{name}")
        self._alias_target(fn, params["FunctionVersion"])
        alias = Alias(name, params["FunctionVersion"], params.get("Description", ""), params.get("RoutingConfig"))
        fn.aliases[name] = alias
        return alias.to_config(fn.latest.function_arn)

    @operation("GetAlias")
    def get_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        return self._alias(fn, params["Name"]).to_config(fn.latest.function_arn)

    @operation("UpdateAlias")
    def update_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        alias = self._alias(fn, params["Name"])
        if params.get("RevisionId") is not None and params["RevisionId"] != alias.revision_id:
            raise v.precondition_failed()
        if "FunctionVersion" in params:
            self._alias_target(fn, params["FunctionVersion"])
            alias.function_version = params["FunctionVersion"]
        if "Description" in params:
            alias.description = params["Description"]
        if "RoutingConfig" in params:
            alias.routing_config = params["RoutingConfig"]
        alias.revision_id = new_revision()
        return alias.to_config(fn.latest.function_arn)

    @operation("DeleteAlias")
    def delete_alias(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        fn.aliases.pop(params["Name"], None)
        fn.policies.pop(params["Name"], None)
        fn.url_configs.pop(params["Name"], None)  # an alias's URL goes with it
        return {}

    @operation("ListAliases")
    def list_aliases(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        want = params.get("FunctionVersion")
        items = [a.to_config(fn.latest.function_arn) for _, a in sorted(fn.aliases.items())
                 if want is None or a.function_version == want]
        return self._page(items, params, "Aliases")

    # ---- resource-based policy (permissions.py) ------------------------------------------------
    @operation("AddPermission")
    def add_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.permissions.add(ctx, params)

    @operation("GetPolicy")
    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.permissions.get(ctx, params)

    @operation("RemovePermission")
    def remove_permission(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.permissions.remove(ctx, params)

    # ---- function URLs (function_urls.py; serving them: url_server.py) ------------------------
    @operation("CreateFunctionUrlConfig")
    def create_function_url_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.urls.create(ctx, params)

    @operation("GetFunctionUrlConfig")
    def get_function_url_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.urls.get(ctx, params)

    @operation("UpdateFunctionUrlConfig")
    def update_function_url_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.urls.update(ctx, params)

    @operation("DeleteFunctionUrlConfig")
    def delete_function_url_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.urls.delete(ctx, params)

    @operation("ListFunctionUrlConfigs")
    def list_function_url_configs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.urls.list_all(ctx, params)

    # ---- asynchronous invocation configuration (event_invoke.py) --------------------------------
    @operation("PutFunctionEventInvokeConfig")
    def put_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.event_invoke.put(ctx, params)

    @operation("UpdateFunctionEventInvokeConfig")
    def update_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.event_invoke.update(ctx, params)

    @operation("GetFunctionEventInvokeConfig")
    def get_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.event_invoke.get(ctx, params)

    @operation("DeleteFunctionEventInvokeConfig")
    def delete_function_event_invoke_config(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.event_invoke.delete(ctx, params)

    @operation("ListFunctionEventInvokeConfigs")
    def list_function_event_invoke_configs(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self.event_invoke.list_all(ctx, params)

    # ---- concurrency -------------------------------------------------------------------------
    def _reserved_total(self, ctx: RequestContext, skip: str | None = None) -> int:
        state = self.store.get(ctx.account_id, ctx.region)
        return sum(f.reserved_concurrency or 0 for n, f in state.functions.items() if n != skip)

    @operation("PutFunctionConcurrency")
    def put_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ref = self._split_name(ctx, params["FunctionName"])
        if ref.qualifier is not None:
            raise v.invalid(
                "This operation is permitted on Lambda functions only. Aliases and versions do not support this "
                "operation. Please specify either a function name or an unqualified function ARN."
            )
        fn = self.function_at(ref.account_id, ref.region, ref.name)
        if fn is None:
            raise not_found(f"{ref.arn}:{LATEST}")
        want = params["ReservedConcurrentExecutions"]
        if ACCOUNT_CONCURRENCY - self._reserved_total(ctx, fn.name) - want < MIN_UNRESERVED:
            raise v.invalid(
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
            )
        fn.reserved_concurrency = want
        return {"ReservedConcurrentExecutions": want}

    @operation("GetFunctionConcurrency")
    def get_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        if fn.reserved_concurrency is None:
            return {}
        return {"ReservedConcurrentExecutions": fn.reserved_concurrency}

    @operation("DeleteFunctionConcurrency")
    def delete_function_concurrency(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, _q = self._function(ctx, params["FunctionName"])
        fn.reserved_concurrency = None
        return {}

    @operation("GetAccountSettings")
    def get_account_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        state = self.store.get(ctx.account_id, ctx.region)
        total = sum(
            fn.latest.code.size + sum(x.code.size for x in fn.versions.values())
            for fn in state.functions.values()
        )
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,
                "CodeSizeUnzipped": codepkg.MAX_UNZIPPED,
                "CodeSizeZipped": codepkg.MAX_ZIPPED_DIRECT,
                "ConcurrentExecutions": ACCOUNT_CONCURRENCY,
                "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY - self._reserved_total(ctx),
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": len(state.functions)},
        }

    # ---- tags --------------------------------------------------------------------------------
    def _tagged(self, ctx: RequestContext, arn: str) -> Function:
        parts = arn.split(":")
        if len(parts) < 7 or parts[5] != "function":
            raise v.invalid(f"Invalid ARN: {arn}")
        fn, _q = self._function(ctx, arn)
        return fn

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn = self._tagged(ctx, params["Resource"])
        fn.tags.update(params.get("Tags") or {})
        if len(fn.tags) > 50:
            raise v.invalid("Number of tags exceeds resource tag limit.")
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn = self._tagged(ctx, params["Resource"])
        for key in params.get("TagKeys") or []:
            fn.tags.pop(key, None)
        return {}

    @operation("ListTags")
    def list_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Tags": dict(self._tagged(ctx, params["Resource"]).tags)}

    # ---- invoke ------------------------------------------------------------------------------
    @operation("Invoke")
    async def invoke(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        fn, qualifier = self.qualified(ctx, params)
        fv = self._version(ctx, fn, qualifier)
        payload: bytes = params.get("Payload") or b""
        # An invoke without a payload hands the function an empty JSON object, as Lambda does.
        payload = payload or b"{}"
        kind = params.get("InvocationType") or "RequestResponse"
        if kind == "Event" and len(payload) > MAX_ASYNC_PAYLOAD:
            raise AWSError("RequestTooLargeException",
                           f"Request must be smaller than {MAX_ASYNC_PAYLOAD} bytes for the InvokeAsync operation",
                           status=413)
        if len(payload) > MAX_SYNC_PAYLOAD:
            raise AWSError("RequestTooLargeException",
                           f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the Invoke operation",
                           status=413)
        if fv.state != "Active":
            raise _conflict(
                "The operation cannot be performed at this time. The function is currently in the following "
                f"state: {fv.state}"
            )
        await self._settled(fv)
        invoked_arn = fv.function_arn + (f":{qualifier}" if qualifier else "")
        if kind == "DryRun":
            return {"StatusCode": 204}
        # The invoke's request id is the API request's: the caller finds its invoke in the logs by it.
        inv = Invocation(payload, invoked_arn, client_context=self._client_context(params.get("ClientContext")),
                         request_id=ctx.request_id)
        inv.wants_tail = params.get("LogType") == "Tail"
        if kind == "Event":
            queue_event(self, fn, fv, inv, qualifier)
            return {"StatusCode": 202}
        try:
            result = await self.host.invoke(fv, inv, fn.reserved_concurrency, self.world.config.lambda_max_environments)
        except Throttled as t:
            raise AWSError("TooManyRequestsException", "Rate Exceeded.", status=429,
                           fields={"Reason": t.reason, "Type": "User"}) from None
        out: dict[str, Any] = {"StatusCode": 200, "Payload": result.payload, "ExecutedVersion": fv.version}
        if result.function_error:
            out["FunctionError"] = result.function_error
        if params.get("LogType") == "Tail":
            out["LogResult"] = base64.b64encode(result.log_tail().encode()).decode()
        return out

    @operation("InvokeWithResponseStream")
    async def invoke_with_response_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await invoke_with_response_stream(self, ctx, params)  # stream_invoke.py

    @staticmethod
    def _client_context(raw: str | None) -> str | None:
        """X-Amz-Client-Context arrives base64; the runtime receives the JSON itself."""
        if not raw:
            return None
        try:
            return base64.b64decode(raw, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise v.invalid("Client context must be a valid Base64-encoded JSON object.") from None


class _PrepareError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message
