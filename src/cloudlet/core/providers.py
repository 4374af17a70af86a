"""Every served service's provider, each built at its first use.

Building every provider up front cost start-up a third of its time and its idle memory
(their modules, and what those import), for services a run may never call. So a provider
is made the first time anything asks for it: the front door for a request to its service
(`ready`, before the request is authorized), another service through a World interface or
`world.provider_of` (`__getitem__`, synchronous). Made, it is handed to persistence, which
binds its store to the state file and loads its rows (`Persistence.adopt`), so whatever it
answers from then on includes what earlier runs acknowledged.

Starting (the provider's async `start`, then what persistence revives: caches' valkeys,
functions) runs once per provider, in a task: at once when it is built while the front
door serves, else when the front door starts. `ready` waits for that task, so a request
never reaches a provider whose restore has not finished.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from cloudlet.core.provider import HostRoute, InternalRoute, Provider
    from cloudlet.core.world import World

log = logging.getLogger("cloudlet.providers")

P = TypeVar("P", bound="Provider")
Factory = Callable[["World"], "Provider"]


class ProviderCycle(RuntimeError):
    """Two providers each need the other to be built first."""


class Providers(Mapping[str, "Provider"]):
    """service -> provider, built on first use; iterates every served service in start order."""

    def __init__(self, world: World, factories: Mapping[str, Factory]) -> None:
        self._world = world
        self._factories = dict(factories)
        self._order = list(factories)
        self._built: dict[str, Provider] = {}
        self._building: set[str] = set()
        self._lock = threading.RLock()
        self._started: dict[str, asyncio.Task[None]] = {}
        self._serving = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._restoring: asyncio.Task[None] | None = None
        # Routes of the built providers (the front door reads them per request).
        self.internal_routes: list[InternalRoute] = []
        self.host_routes: list[HostRoute] = []

    # -- the mapping: every served service, built when looked up
    def __getitem__(self, service: str) -> Provider:
        provider = self._built.get(service)
        return provider if provider is not None else self._build(service)

    def __iter__(self) -> Iterator[str]:
        return iter(self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, service: object) -> bool:
        return service in self._factories

    def __setitem__(self, service: str, provider: Provider) -> None:
        """Serve SERVICE with PROVIDER (tests that stand in a provider of their own)."""
        if service not in self._factories:
            raise KeyError(service)
        with self._lock:
            self._adopt(service, provider)

    def get_typed(self, cls: type[P]) -> P:
        provider = self[cls.service]
        if not isinstance(provider, cls):
            raise TypeError(f"the {cls.service} provider is a {type(provider).__name__}, not a {cls.__name__}")
        return provider

    def is_built(self, service: str) -> bool:
        return service in self._built

    def built(self) -> list[Provider]:
        """The providers made so far, in start order."""
        return [self._built[s] for s in self._order if s in self._built]

    def _build(self, service: str) -> Provider:
        factory = self._factories[service]  # KeyError: not a served service
        with self._lock:
            provider = self._built.get(service)
            if provider is not None:
                return provider
            if service in self._building:
                raise ProviderCycle(f"building the {service} provider needs itself ({sorted(self._building)})")
            self._building.add(service)
            try:
                provider = factory(self._world)
            finally:
                self._building.discard(service)
            self._adopt(service, provider)
            log.debug("built the %s provider", service)
            return provider

    def _adopt(self, service: str, provider: Provider) -> None:
        self._world.persistence.adopt(provider)
        self._built[service] = provider
        self.internal_routes.extend(provider.internal_routes())
        self.host_routes.extend(provider.host_routes())
        if self._serving:
            self._start_soon(service)

    # -- lifecycle (the front door's)
    def _start_task(self, service: str) -> asyncio.Task[None]:
        task = self._started.get(service)
        if task is None:
            task = self._started[service] = asyncio.get_running_loop().create_task(
                self._start(self._built[service]), name=f"start {service}")
        return task

    def _start_soon(self, service: str) -> None:
        """Start a provider built while serving; from another thread, on the loop's."""
        assert self._loop is not None
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._start_task(service)
        else:
            self._loop.call_soon_threadsafe(self._start_task, service)

    async def _start(self, provider: Provider) -> None:
        try:
            await provider.start()
            await self._world.persistence.revive(provider)
        except Exception:
            log.exception("starting the %s provider failed", provider.service)
            raise

    async def ready(self, service: str) -> Provider:
        """SERVICE's provider, built, started and restored (waits for a start under way)."""
        provider = self[service]
        if self._serving:
            task = self._start_task(service)
            if not task.done():
                await asyncio.shield(task)
            else:
                task.result()  # raises if the start failed
        return provider

    async def start(self, restore: list[str]) -> None:
        """Serve: start what is built already (awaited), and, in the background, build and start
        RESTORE (services with state to bring back; `restored()` waits for them)."""
        self._loop = asyncio.get_running_loop()
        self._serving = True
        for service in [s for s in self._order if s in self._built]:
            await self.ready(service)
        if restore:
            self._restoring = self._loop.create_task(self._restore(restore), name="restore state")

    async def _restore(self, services: list[str]) -> None:
        for service in [s for s in self._order if s in services]:
            try:
                await self.ready(service)
            except Exception:  # noqa: BLE001 -- logged by _start; the other services still come back
                pass
        self._world.persistence.log_restored()

    @property
    def restoring(self) -> bool:
        return self._restoring is not None and not self._restoring.done()

    async def restored(self) -> None:
        """Wait until the state found at start is back (caches up, functions revived)."""
        if self._restoring is not None:
            await asyncio.shield(self._restoring)

    async def stop(self) -> None:
        self._serving = False
        tasks = [*self._started.values(), *([self._restoring] if self._restoring is not None else [])]
        for task in tasks:
            if not task.done():
                task.cancel()
            try:
                await task
            except BaseException:  # noqa: BLE001 -- reported by the start itself; stopping goes on
                pass
        for provider in reversed(self.built()):
            try:
                await provider.stop()
            except Exception:
                log.exception("stopping provider %s failed", provider.service)
