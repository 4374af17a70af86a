"""Expired temporary credentials are refused with ExpiredToken by a real front door.

The server runs in this process (its own thread and event loop) so the test can issue a
session that lasts two seconds, shorter than STS's 900 s minimum, and sign with it via boto3.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest
from aiohttp import web

from cloudlet.config import Config
from cloudlet.core.world import World
from cloudlet.server import FrontDoor, make_app
from cloudlet.services.registry import build_world
from cloudlet.services.sts.sessions import issue


@pytest.fixture
def in_process(tmp_path: Path) -> Iterator[tuple[World, str]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    world = build_world(Config(data_dir=tmp_path, port=port))
    front = FrontDoor(world)
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(make_app(front), access_log=None, handle_signals=False)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(30)
    yield world, f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def client(endpoint: str, **creds: Any) -> Any:
    return boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1",
                        config=botocore.config.Config(retries={"max_attempts": 1}), **creds)


def test_expired_role_session_gets_expired_token(in_process):
    world, endpoint = in_process
    cred = issue(world.credentials, world.root, 2)
    temp = client(endpoint, aws_access_key_id=cred.access_key_id, aws_secret_access_key=cred.secret_access_key,
                  aws_session_token=cred.session_token)
    assert temp.get_caller_identity()["Account"] == world.config.account_id
    time.sleep(2.5)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        temp.get_caller_identity()
    assert e.value.response["Error"]["Code"] in ("ExpiredToken", "ExpiredTokenException")
