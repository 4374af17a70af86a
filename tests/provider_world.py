"""A World with the IAM, STS and EC2 providers, for direct provider tests (no server).

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
from cloudlet.services.ec2.provider import Ec2Provider
from cloudlet.services.iam.provider import IamProvider
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
    w = World(Config(data_dir=tmp_path))
    for cls in (IamProvider, StsProvider, Ec2Provider):
        w.add_provider(cls(w))
    return w


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
    p: IamProvider = world.provider("iam")
    return p


@pytest.fixture
def sts(world: World) -> StsProvider:
    p: StsProvider = world.provider("sts")
    return p


@pytest.fixture
def ec2(world: World) -> Ec2Provider:
    p: Ec2Provider = world.provider("ec2")
    return p


def call(fn: Callable[[RequestContext, dict[str, Any]], dict[str, Any]], ctx: RequestContext,
         **params: Any) -> dict[str, Any]:
    return fn(ctx, params)
