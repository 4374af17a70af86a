"""A World with every provider (build_world), for direct provider tests of IAM, STS and EC2 (no server).

Test packages that want these fixtures import them into their conftest.py:
    from provider_world import *  # noqa: F401,F403
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cloudlet.config import Config
from cloudlet.core.context import Principal, RequestContext
from cloudlet.core.world import World
from cloudlet.protocol import local
from cloudlet.services.ec2.provider import Ec2Provider
from cloudlet.services.iam.provider import IamProvider
from cloudlet.services.registry import build_world
from cloudlet.services.sts.provider import StsProvider

TRUST_LAMBDA = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
})


def policy_doc(action: str = "elasticache:Connect", resource: str = "*") -> str:
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})


@pytest.fixture
def world(tmp_path: Path) -> World:
    return build_world(Config(data_dir=tmp_path))


@pytest.fixture
def ctx_for(world: World) -> Callable[..., RequestContext]:
    def make(principal: Principal | None = None, service: str = "iam", region: str = "us-east-1") -> RequestContext:
        return RequestContext(service, "Test", region, principal or world.root, "req-1")

    return make


@pytest.fixture
def root_ctx(ctx_for: Callable[..., RequestContext]) -> RequestContext:
    return ctx_for()


@pytest.fixture
def iam(world: World) -> IamProvider:
    p = world.providers["iam"]
    assert isinstance(p, IamProvider)
    return p


@pytest.fixture
def sts(world: World) -> StsProvider:
    p = world.providers["sts"]
    assert isinstance(p, StsProvider)
    return p


@pytest.fixture
def ec2(world: World) -> Ec2Provider:
    p = world.providers["ec2"]
    assert isinstance(p, Ec2Provider)
    return p


def call(fn: Callable[[RequestContext, dict[str, Any]], dict[str, Any]], ctx: RequestContext,
         **params: Any) -> dict[str, Any]:
    """An operation handler called as the front door calls it: input validated against the model first."""
    out: dict[str, Any] = local.call(fn, ctx, params)
    return out


class Validated:
    """A provider whose operation handlers are called as the front door calls them (input validated
    against the model first); every other attribute is the provider's own."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._provider, name)
        if name not in self._provider.operations.values():
            return attr
        return lambda ctx, params: local.call(attr, ctx, params)
