"""The runtime host: pools of execution environments per function version.

Picks a warm environment or starts one (within the function's reserved
concurrency and cloudlet's environment cap), retires environments whose code,
configuration or credentials are stale, reaps idle ones, ships their logs.
A new environment takes a pre-started launcher when one fits (launcher_pool.py).
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cloudlet.core.errors import AWSError
from cloudlet.core.identity import Credential
from cloudlet.services.lambda_ import memory_limit, sandbox
from cloudlet.services.lambda_.egress import EgressPolicy, EgressRelay
from cloudlet.services.lambda_.environment import Environment, Invocation, InvokeResult
from cloudlet.services.lambda_.launcher_pool import LauncherPool, Shape, WarmLauncher
from cloudlet.services.lambda_.metrics import LambdaMetrics
from cloudlet.services.lambda_.models import Function, FunctionVersion
from cloudlet.services.lambda_.outcome import EnvState
from cloudlet.services.lambda_.runtime_api import RuntimeApiServer
from cloudlet.services.lambda_.runtimes import RuntimeChoice, ensure_runtime_choice

if TYPE_CHECKING:
    from cloudlet.core.world import World

log = logging.getLogger(__name__)

SUPPORT_DIR = Path(__file__).parent / "support"
_CREDENTIAL_S = 3600  # role session length handed to an environment
_CREDENTIAL_MARGIN_S = 120  # retire this long before expiry (plus the function timeout)


def function_key(fv: FunctionVersion) -> tuple[str, str, str]:
    return (fv.account_id, fv.region, fv.name)


def pool_key(fv: FunctionVersion) -> tuple[str, str, str, str, str]:
    # The revision changes on every $LATEST update, so stale code never serves.
    return (fv.account_id, fv.region, fv.name, fv.version, fv.revision_id)


class Throttled(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def shape_of(fv: FunctionVersion) -> Shape:
    return Shape(fv.runtime, fv.ephemeral_storage)


class RuntimeHost:
    def __init__(self, world: World, functions: Callable[[], Iterable[Function]] = tuple) -> None:
        self.world = world
        self._functions = functions  # every function there is (the pool keeps launchers for their shapes)
        self.api = RuntimeApiServer("127.0.0.1")
        self.metrics = LambdaMetrics(world.metrics)
        self.pools: dict[tuple[str, str, str, str, str], list[Environment]] = {}
        self.envs: set[Environment] = set()
        self.tmp_root = world.config.data_dir / "lambda" / "tmp"
        # The VPC's hosts file alone in a directory, which sandboxes mount read-only.
        self.dns_file = world.config.data_dir / "lambda" / "dns" / "hosts"
        self.relay = EgressRelay(EgressPolicy(world))
        self.isolation: sandbox.Isolation | None = None
        self._runtimes: dict[str, RuntimeChoice] = {}
        self._reaper: asyncio.Task[None] | None = None
        self._memory: asyncio.Task[None] | None = None
        self._probe: asyncio.Task[sandbox.Isolation] | None = None
        self._started = False
        self.pool = LauncherPool(
            size=world.config.lambda_prewarm, root=world.config.data_dir / "lambda" / "pool",
            support_dir=SUPPORT_DIR, dns_dir=self.dns_file.parent,
            isolation=self._isolation, runtime=self.prepare_runtime)
        self._launchers: dict[Environment, WarmLauncher] = {}

    async def _isolation(self) -> sandbox.Isolation:
        assert self._probe is not None, "RuntimeHost.start() first"
        return await asyncio.shield(self._probe)

    def expect(self, fv: FunctionVersion) -> None:
        """A function of fv's shape exists: have a launcher ready for its cold start."""
        if self._started:
            self.pool.expect(shape_of(fv))

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        await self.api.start()
        if self.tmp_root.exists():
            shutil.rmtree(self.tmp_root, ignore_errors=True)
        self.pool.start()
        self.world.hosts.add_mirror(self.dns_file)
        if self._probe is None:
            # Probed in the background: cloudlet is healthy without waiting for a sandbox to run.
            self._probe = asyncio.ensure_future(self._probe_isolation())
        self._reaper = asyncio.ensure_future(self._reap_loop())
        self._memory = asyncio.ensure_future(memory_limit.watch(lambda: self.envs))

    async def _probe_isolation(self) -> sandbox.Isolation:
        isolation = await asyncio.to_thread(sandbox.isolation_for, self.world.config)
        if not isolation.enabled:
            log.warning("%s", isolation.warning())
        self.isolation = isolation
        return isolation

    async def stop(self) -> None:
        for task in (self._reaper, self._memory):
            if task is not None:
                task.cancel()
        self._reaper = self._memory = None
        envs = list(self.envs)
        for env in envs:
            env.kill()
        for env in envs:
            try:
                await asyncio.wait_for(env.wait_dead(), 5)
            except (TimeoutError, asyncio.CancelledError):
                pass
        await self.pool.stop()
        await self.api.stop()
        self._started = False

    # ---- runtimes --------------------------------------------------------------
    async def prepare_runtime(self, runtime: str) -> RuntimeChoice:
        choice = self._runtimes.get(runtime)
        if choice is None:
            choice = await asyncio.to_thread(ensure_runtime_choice, self.world.config, runtime)
            # Compiled once here: a sandbox sees the support dir read-only and would compile
            # the launcher and the resolver shim on every cold start.
            await asyncio.to_thread(subprocess.run, [str(choice.python), "-m", "compileall", "-q", str(SUPPORT_DIR)],
                                    capture_output=True, timeout=60, check=False)
            self._runtimes[runtime] = choice
        return choice

    # ---- accounting ------------------------------------------------------------
    def in_use(self, key: tuple[str, str, str]) -> int:
        return sum(
            1 for e in self.envs
            if function_key(e.fv) == key and e.state in (EnvState.STARTING, EnvState.BUSY)
        )

    def _live(self) -> int:
        return sum(1 for e in self.envs if e.state != EnvState.DEAD)

    # ---- invoke ------------------------------------------------------------------
    async def invoke(
        self,
        fv: FunctionVersion,
        inv: Invocation,
        reserved: int | None,
        max_envs: int,
    ) -> InvokeResult:
        # Reserved concurrency caps invokes in flight, warm environments included
        # (0 throttles everything, as AWS does).
        if reserved is not None and self.in_use(function_key(fv)) >= reserved:
            self.metrics.throttled(fv, inv)
            raise Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
        env = self._take_warm(fv)
        spawned = env is None
        if env is None:
            if self._live() >= max_envs and not self._evict_idle():
                self.metrics.throttled(fv, inv)
                raise Throttled("ConcurrentInvocationLimitExceeded")
            env = await self._spawn(fv)
        dims = self.metrics.started(fv, inv)
        result: InvokeResult | None = None
        try:
            result = await env.run(inv)
            return result
        finally:
            self.metrics.finished(fv, dims, result)
            if spawned:
                self.expect(fv)  # the pool refills once this cold start is over, not during it
            if env.retire_after_use or env.state != EnvState.IDLE:
                env.kill()

    def _take_warm(self, fv: FunctionVersion) -> Environment | None:
        pool = self.pools.get(pool_key(fv), [])
        horizon = time.time() + fv.timeout + _CREDENTIAL_MARGIN_S
        for env in pool:
            if env.state != EnvState.IDLE:
                continue
            cred = env.credential
            if cred is not None and cred.expires_at is not None and cred.expires_at < horizon:
                # Its role credentials would lapse mid-invoke: replace it.
                env.kill()
                continue
            env.state = EnvState.BUSY
            return env
        return None

    def _evict_idle(self) -> bool:
        idle = [e for e in self.envs if e.state == EnvState.IDLE]
        if not idle:
            return False
        min(idle, key=lambda e: e.last_used).kill()
        return True

    async def _spawn(self, fv: FunctionVersion) -> Environment:
        choice = await self.prepare_runtime(fv.runtime)
        assert self._probe is not None, "RuntimeHost.start() first"
        isolation = await asyncio.shield(self._probe)
        cred = self._role_credentials(fv)
        env = Environment(
            fv=fv,
            runtime=choice,
            credential=cred,
            api=self.api,
            endpoint_url=self.world.config.endpoint_url,
            support_dir=SUPPORT_DIR,
            hosts_file=self.dns_file if isolation.enabled else self.world.hosts.path,
            tmp_root=self.tmp_root,
            ship=self._ship,
            on_exit=self._forget,
            isolation=isolation,
            relay=self.relay,
            warning=choice.warning,
        )
        launcher = None
        if isolation.enabled and choice.node is None:
            launcher = await self.pool.take(shape_of(fv), env.exec_environ(), fv.code.task_root)
            if launcher is not None:
                self._launchers[env] = launcher
        self.envs.add(env)
        self.pools.setdefault(pool_key(fv), []).append(env)
        try:
            await env.start(launcher)
        except Exception:
            self._forget(env)
            env.kill()
            raise
        return env

    def _role_credentials(self, fv: FunctionVersion) -> Credential:
        try:
            cred: Credential = self.world.sts.issue_role_session(fv.role, session_name=fv.name, duration_s=_CREDENTIAL_S)
        except AWSError:
            # The execution role is gone (deleted after the function was created).
            raise AWSError("InvalidParameterValueException",
                           "The role defined for the function cannot be assumed by Lambda.", status=400) from None
        return cred

    def _forget(self, env: Environment) -> None:
        self.envs.discard(env)
        pool = self.pools.get(pool_key(env.fv))
        if pool is not None and env in pool:
            pool.remove(env)
            if not pool:
                del self.pools[pool_key(env.fv)]
        env.flush_logs()
        shutil.rmtree(env.tmp_dir, ignore_errors=True)
        launcher = self._launchers.pop(env, None)
        if launcher is not None:
            self.pool.release(launcher)

    # ---- retirement --------------------------------------------------------------
    def retire(self, account_id: str, region: str, name: str, version: str | None = None) -> None:
        """Environments of this function (version) stop serving: idle ones now, busy ones after."""
        for env in list(self.envs):
            if function_key(env.fv) != (account_id, region, name):
                continue
            if version is not None and env.fv.version != version:
                continue
            if env.state == EnvState.IDLE:
                env.kill()
            else:
                env.retire_after_use = True

    def _reconcile_pool(self) -> None:
        """Launchers for the shapes of the functions there are (after a restart too), no others."""
        versions = [fv for fn in self._functions() for fv in (fn.latest, *fn.versions.values())]
        self.pool.keep_only({shape_of(fv) for fv in versions})
        for shape in {shape_of(fv) for fv in versions if fv.state == "Active"}:
            self.pool.expect(shape)

    async def _reap_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            idle_s = self.world.config.lambda_idle_s
            now = time.monotonic()
            self._reconcile_pool()
            for env in list(self.envs):
                env.drain()
                env.flush_logs()
                if env.state == EnvState.IDLE and now - env.last_used > idle_s:
                    env.kill()

    # ---- logs --------------------------------------------------------------------
    def _ship(self, env: Environment, events: list[tuple[int, str]]) -> None:
        logs = self.world.logs
        fv = env.fv
        # Lambda stores each line with its newline, as the runtime wrote it.
        events = [(ts, m + "\n") for ts, m in events]
        try:
            logs.append_events(fv.account_id, fv.region, fv.log_group, env.stream_name, events)
        except Exception:
            log.exception("shipping Lambda logs of %s failed", fv.name)
        metrics = self.world.metrics
        for ts, m in events:
            if "_aws" in m:  # an embedded-metric-format line becomes metrics, as in CloudWatch
                metrics.emit_log_event(fv.account_id, fv.region, m, ts)
