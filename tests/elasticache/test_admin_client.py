"""cloudlet's admin client against a real valkey-server: the replies the control plane reads
are the ones redis-py reads, and a request given up midway never hands its reply to the next."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cloudlet.services.elasticache.admin_client import AdminClient, AdminReplyError

pytestmark = pytest.mark.skipif(shutil.which("valkey-server") is None, reason="valkey-server not installed")
VARYING = ("time", "client", "connection", "cycles", "duration", "cpu", "memory", "processed", "net_", "uptime", "calls", "usec")


@pytest.fixture
def sock(tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "v.sock"
    proc = subprocess.Popen(["valkey-server", "--port", "0", "--unixsocket", str(path), "--dir", str(tmp_path),
                             "--save", ""], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not path.exists():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    r = redis.Redis(unix_socket_path=str(path), decode_responses=True)
    r.execute_command("ACL", "SETUSER", "adm", "on", ">secret", "~*", "&*", "+@all")
    r.set("db-key", "1")
    r.close()
    yield str(path)
    proc.kill()
    proc.wait()


def test_replies_read_as_redis_py_reads_them(sock: str) -> None:
    async def run() -> None:
        c = AdminClient(sock, "adm", "secret")
        assert await c.ping()
        mine = await c.info()
        theirs = redis.Redis(unix_socket_path=sock, decode_responses=True).info()
        assert set(mine) == set(theirs)
        differ = {k for k in theirs if mine[k] != theirs[k] and not any(v in k for v in VARYING)}
        assert not differ, differ
        assert isinstance(mine["db0"], dict) and mine["db0"]["keys"] == 1
        assert (await c.info("replication"))["role"] == "master"
        assert sorted(await c.execute_command("ACL", "USERS")) == ["adm", "default"]
        assert "get" in await c.command_list()
        assert await c.config_set("maxmemory", "1000000")
        assert await c.execute_command("GET", "missing") is None
        with pytest.raises(AdminReplyError, match="unknown command"):
            await c.execute_command("NO-SUCH-COMMAND")
        await c.aclose()

    asyncio.run(run())


def test_a_wrong_password_is_refused(sock: str) -> None:
    async def run() -> None:
        with pytest.raises(AdminReplyError, match="WRONGPASS"):
            await AdminClient(sock, "adm", "wrong").ping()

    asyncio.run(run())


def test_a_request_given_up_midway_does_not_answer_the_next(sock: str) -> None:
    async def run() -> None:
        c = AdminClient(sock, "adm", "secret")
        assert await c.ping()  # one idle connection now
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(c.execute_command("BLPOP", "nothing", "0.5"), 0.1)
        await asyncio.sleep(0.6)  # BLPOP's nil reply has arrived on its (closed) connection
        assert await c.execute_command("ECHO", "mine") == "mine"
        # Overlapping requests each get their own reply.
        replies = await asyncio.gather(*(c.execute_command("ECHO", str(i)) for i in range(20)))
        assert replies == [str(i) for i in range(20)]
        await c.aclose()

    asyncio.run(run())
