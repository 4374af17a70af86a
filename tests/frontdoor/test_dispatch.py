"""Dispatch rules of the front door, with test providers mounted in an in-process server.

The STS provider here is deliberately broken or minimal (a crash, an async
handler, an operation without one); everything else — aiohttp, SigV4, the protocol
layer, boto3 on the client side — is the real thing.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest
from aiohttp import web
from botocore.config import Config as BotoConfig

from cloudlet.config import Config
from cloudlet.core.context import RequestContext
from cloudlet.core.provider import Provider, operation
from cloudlet.server import FrontDoor, make_app
from cloudlet.services.registry import build_world

NO_RETRY = BotoConfig(retries={"max_attempts": 1, "mode": "standard"})


class CrashingSts(Provider):
    service = "sts"
    started = stopped = False

    async def start(self) -> None:
        CrashingSts.started = True

    async def stop(self) -> None:
        CrashingSts.stopped = True

    @operation("GetCallerIdentity")
    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("provider bug")

    @operation("GetSessionToken")
    async def get_session_token(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(0)
        # Echo who called, to show ctx was filled from the verified credential.
        return {
            "Credentials": {
                "AccessKeyId": ctx.principal.access_key_id,
                "SecretAccessKey": ctx.region,
                "SessionToken": ctx.principal.arn,
                "Expiration": "2030-01-01T00:00:00Z",
            }
        }


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = Path(tmp_path_factory.mktemp("dispatch"))
    config = Config.from_env({}, data_dir=data, port=_port(), enforce_iam=False)
    world = build_world(config)
    world.providers["sts"] = CrashingSts(world)
    front = FrontDoor(world)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(front))
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", config.port).start())
        ready.set()
        loop.run_forever()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(10)
    yield config.endpoint_url
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    t.join(10)
    assert CrashingSts.stopped


def client(endpoint: str, service: str) -> Any:
    import boto3

    return boto3.session.Session().client(
        service, endpoint_url=endpoint, region_name="eu-west-3", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", config=NO_RETRY)


def test_health_reports_every_provider(endpoint: str) -> None:
    with urllib.request.urlopen(endpoint + "/_cloudlet/health") as r:
        services = json.loads(r.read())["services"]
    assert set(services) == {"iam", "sts", "ec2", "elasticache", "lambda", "logs", "cloudwatch"}
    assert services["sts"] == "running" and CrashingSts.started


def test_provider_exception_is_internal_failure(endpoint: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(endpoint, "sts").get_caller_identity()
    err = ei.value.response
    assert err["Error"]["Code"] == "InternalFailure"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert "Traceback" not in json.dumps(err) and "provider bug" not in json.dumps(err)


def test_async_handler_and_context(endpoint: str) -> None:
    creds = client(endpoint, "sts").get_session_token()["Credentials"]
    assert creds["AccessKeyId"] == "AKIAIOSFODNN7EXAMPLE"
    assert creds["SecretAccessKey"] == "eu-west-3"  # region from the credential scope
    assert creds["SessionToken"] == "arn:aws:iam::123456789012:root"


def test_operation_without_method_is_501(endpoint: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(endpoint, "sts").decode_authorization_message(EncodedMessage="x")
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert ei.value.response["Error"]["Code"] == "NotImplemented"


def test_json_operation_without_handler_is_501(endpoint: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        client(endpoint, "logs").describe_destinations()
    assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert ei.value.response["Error"]["Code"] == "NotImplementedException"
