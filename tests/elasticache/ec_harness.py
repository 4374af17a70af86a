"""A real World and ElastiCacheProvider on an event loop in a background thread.

Tests call operations the way the server does (ctx, params) and talk to each
cache's valkey over its unix socket with redis-py.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.dataplane.spec import ADMIN_USER, backend_password
from cloudlet.protocol import local
from cloudlet.services.elasticache.provider import ElastiCacheProvider
from cloudlet.services.registry import build_world


class Harness:
    def __init__(self, data_dir: Path, cache_net: str = "127.78", **config: Any) -> None:
        # The data plane the test run asks for (CLOUDLET_DATAPLANE), nothing else of the environment.
        mode = {k: v for k, v in os.environ.items() if k == "CLOUDLET_DATAPLANE"}
        self.config = Config.from_env(mode, data_dir=data_dir, cache_net=cache_net, **config)
        self.world = build_world(self.config)
        provider = self.world.providers["elasticache"]
        assert isinstance(provider, ElastiCacheProvider)
        self.provider = provider
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.provider.start())

    def run(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def ctx(self, operation: str, region: str = "us-east-1") -> RequestContext:
        return RequestContext("elasticache", operation, region, self.world.root, "req-1")

    def call(self, operation: str, region: str = "us-east-1", **params: Any) -> dict[str, Any]:
        handler = self.provider.handler_for(operation)
        assert handler is not None, operation

        async def invoke() -> Any:
            return await local.call_async(handler, self.ctx(operation, region), params)

        return self.run(invoke())

    def settle(self) -> None:
        self.run(self.provider.settle())

    def wait_for(self, check: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.02)
        raise AssertionError("condition not reached in time")

    def cache_status(self, name: str) -> str | None:
        st = self.provider.store.get(self.config.account_id, "us-east-1")
        c = st.caches.get(name)
        return c.status if c else None

    def wait_status(self, name: str, status: str | None, timeout: float = 15) -> None:
        self.wait_for(lambda: self.cache_status(name) == status, timeout)

    def cache(self, name: str) -> Any:
        return self.provider.store.get(self.config.account_id, "us-east-1").caches[name]

    def admin(self, name: str) -> redis.Redis:
        return self._client(name, ADMIN_USER)

    def as_user(self, name: str, user_name: str) -> redis.Redis:
        """Connect to valkey as the data plane would after authenticating user_name."""
        return self._client(name, user_name, retry=Retry(NoBackoff(), 0))

    def _client(self, name: str, user_name: str, **options: Any) -> redis.Redis:
        c = self.cache(name)
        kwargs = dict(
            unix_socket_path=str(c.socket),
            username=user_name,
            password=backend_password(c.backend_secret, user_name),
            decode_responses=True,
            **options,
        )
        if self.config.dataplane == "native" and user_name == ADMIN_USER:
            # Commands serverless lacks are known by secret names only; cloudlet's admin sends those.
            from cloudlet.dataplane.native_plane.renames import Renames
            from cloudlet.dataplane.native_plane.valkey_native import blocking_admin_client

            client: redis.Redis = blocking_admin_client(Renames(c.backend_secret), **kwargs)
            return client
        return redis.Redis(**kwargs)

    def close(self) -> None:
        self.run(self.provider.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path)
    yield h
    h.close()
