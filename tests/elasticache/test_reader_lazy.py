"""The read replica behind the reader endpoint (port 6380) starts at that endpoint's first use:
an idle cache runs one valkey. The first reader connection waits for the replica's first sync,
so it reads what was written before it; READONLY semantics, the cache's users and the reader's
cluster view are as they were with a replica started up front."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psutil
import pytest
import redis
from ec_harness import Harness
from redis.backoff import NoBackoff
from redis.retry import Retry

# The proxy's replica starts at the reader's first use and stops when idle; a native cache's
# runs with its primary (valkey's own CLUSTER SLOTS/NODES list it, as AWS's always do).
pytestmark = pytest.mark.skipif(os.environ.get("CLOUDLET_DATAPLANE", "proxy").strip().lower() == "native",
                                reason="proxy data plane: a native cache's replica runs from its start")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("lazy-reader"), cache_net="127.79")
    try:
        yield h
    finally:
        h.close()


def valkeys() -> set[int]:
    """The valkey-server processes this test process (the harness's cloudlet) runs (not the
    short-lived children a valkey forks to save or to send a replica its first sync)."""
    found = set()
    for p in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if p.name() == "valkey-server" and p.parent().name() != "valkey-server":
                found.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return found


def connect(h: Harness, name: str, port: int, **kw: object) -> redis.Redis:
    return redis.Redis(host=h.cache(name).address, port=port, ssl=True, ssl_cert_reqs="none",
                       socket_timeout=20, retry=Retry(NoBackoff(), 0), **kw)  # type: ignore[arg-type]


def create(h: Harness, name: str, **params: object) -> None:
    h.call("CreateServerlessCache", ServerlessCacheName=name, Engine="valkey", **params)
    h.wait_status(name, "available", timeout=30)


def test_an_idle_cache_runs_one_valkey_and_the_reader_starts_at_first_use(env: Harness) -> None:
    before = valkeys()
    create(env, "lazy")
    cache = env.cache("lazy")
    started = valkeys() - before
    assert started == {cache.process.pid}, "an idle cache runs its primary only"
    assert not cache.process.replica.socket.exists()
    primary = connect(env, "lazy", 6379)
    primary.set("{k}written-before", "v0")  # before the replica exists

    reader = connect(env, "lazy", 6380)
    assert reader.execute_command("READONLY") in (True, b"OK")
    # The first connection waited for the first sync: what was written before is there at once.
    assert reader.get("{k}written-before") == b"v0"
    replica_pid = cache.process.replica.pid
    assert valkeys() - before == {cache.process.pid, replica_pid}
    assert reader.execute_command("ROLE")[0] == b"slave"
    with pytest.raises(redis.exceptions.ReadOnlyError):
        reader.set("{k}written-before", "from-reader")
    # Later writes replicate (eventually, as on AWS).
    primary.set("{k}written-after", "v1")
    env.wait_for(lambda: reader.get("{k}written-after") == b"v1", timeout=5)
    # The reader's own cluster view, and ACL reads without cloudlet's admin user.
    assert reader.execute_command("CLUSTER", "MYID") != primary.execute_command("CLUSTER", "MYID")
    assert b"cloudlet-admin" not in reader.execute_command("ACL", "USERS")

    # More reader connections use the running replica; none starts another.
    others = [connect(env, "lazy", 6380) for _ in range(3)]
    assert [o.get("{k}written-before") for o in others] == [b"v0"] * 3
    assert cache.process.replica.pid == replica_pid
    assert valkeys() - before == {cache.process.pid, replica_pid}
    for c in (primary, reader, *others):
        c.close()


def test_concurrent_first_connections_share_one_replica_start(env: Harness) -> None:
    before = valkeys()
    create(env, "lazy-burst")
    cache = env.cache("lazy-burst")
    connect(env, "lazy-burst", 6379).set("burst", "b")
    import threading

    results: list[object] = []

    def read() -> None:
        try:
            results.append(connect(env, "lazy-burst", 6380).get("burst"))
        except redis.RedisError as e:
            results.append(e)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [b"b"] * 8
    assert valkeys() - before == {cache.process.pid, cache.process.replica.pid}


def test_the_replica_gets_the_cache_users_when_it_starts_and_after(env: Harness) -> None:
    env.call("CreateUser", UserId="lazy-rw", UserName="lazy-rw", Engine="valkey", AccessString="on ~* +@all",
             AuthenticationMode={"Type": "password", "Passwords": ["lazy-password-rw-0001"]})
    env.call("CreateUserGroup", UserGroupId="lazy-group", Engine="valkey", UserIds=["lazy-rw"])
    env.wait_for(lambda: env.call("DescribeUserGroups", UserGroupId="lazy-group")["UserGroups"][0]["Status"]
                 == "active", timeout=15)
    create(env, "lazy-users", UserGroupId="lazy-group")
    rw = {"username": "lazy-rw", "password": "lazy-password-rw-0001"}
    connect(env, "lazy-users", 6379, **rw).set("u", "1")
    reader = connect(env, "lazy-users", 6380, **rw)
    assert reader.get("u") == b"1"
    # A user added after the replica started reaches it too (ACLs do not replicate).
    env.call("CreateUser", UserId="lazy-ro", UserName="lazy-ro", Engine="valkey", AccessString="on ~* +get",
             AuthenticationMode={"Type": "password", "Passwords": ["lazy-password-ro-0001"]})
    env.call("ModifyUserGroup", UserGroupId="lazy-group", UserIdsToAdd=["lazy-ro"])

    def ro_reads() -> bool:
        try:
            return connect(env, "lazy-users", 6380, username="lazy-ro", password="lazy-password-ro-0001").get("u") \
                == b"1"
        except redis.RedisError:
            return False

    env.wait_for(ro_reads, timeout=20)
    with pytest.raises(redis.ResponseError, match="no permissions to run the .set. command"):
        connect(env, "lazy-users", 6380, username="lazy-ro", password="lazy-password-ro-0001").set("u", "2")


def test_a_replica_that_cannot_start_is_answered_as_unreachable_and_retried(env: Harness) -> None:
    create(env, "lazy-fail")
    cache = env.cache("lazy-fail")
    connect(env, "lazy-fail", 6379).set("f", "1")
    cache.process.replica.binary = "/bin/false"  # this start's valkey exits at once
    started = time.monotonic()
    with pytest.raises(redis.ResponseError, match="service is not available"):
        connect(env, "lazy-fail", 6380).get("f")
    assert time.monotonic() - started < 10  # answered, not left hanging
    assert not cache.process.replica_up
    # The next connection starts it again, with the cache's own binary.
    assert connect(env, "lazy-fail", 6380).get("f") == b"1"
    assert cache.process.replica_up


def test_a_deleted_cache_stops_its_replica(env: Harness) -> None:
    before = valkeys()
    create(env, "lazy-gone")
    connect(env, "lazy-gone", 6380).ping()
    cache = env.cache("lazy-gone")
    pids = {cache.process.pid, cache.process.replica.pid}
    assert valkeys() - before == pids
    env.call("DeleteServerlessCache", ServerlessCacheName="lazy-gone")
    env.wait_for(lambda: env.cache_status("lazy-gone") is None, timeout=20)
    env.wait_for(lambda: not (valkeys() & pids), timeout=10)


def test_a_first_connection_that_gives_up_leaves_the_start_running(env: Harness,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A sync that outlasts the first connection's wait (a big dataset) is not torn down: that
    connection is answered as unreachable, and a later one finds the replica in sync."""
    from cloudlet.dataplane import session

    create(env, "lazy-slow")
    cache = env.cache("lazy-slow")
    connect(env, "lazy-slow", 6379).set("s", "1")
    monkeypatch.setattr(session, "READER_START_TIMEOUT_S", 0.0)
    with pytest.raises(redis.ResponseError, match="service is not available"):
        connect(env, "lazy-slow", 6380).get("s")
    monkeypatch.undo()
    env.wait_for(lambda: cache.process.replica_up, timeout=20)
    pid = cache.process.replica.pid
    assert connect(env, "lazy-slow", 6380).get("s") == b"1"
    assert cache.process.replica.pid == pid


@pytest.fixture(scope="module")
def idle_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("idle-reader"), cache_net="127.80", cache_reader_idle_s=0.5)
    try:
        yield h
    finally:
        h.close()


def test_an_idle_reader_stops_its_replica_and_the_next_connection_starts_one(idle_env: Harness) -> None:
    env = idle_env
    before = valkeys()
    create(env, "idle")
    cache = env.cache("idle")
    primary = connect(env, "idle", 6379)
    primary.set("{i}k", "1")
    reader = connect(env, "idle", 6380)
    assert reader.get("{i}k") == b"1"
    first = cache.process.replica.pid
    time.sleep(1.5)  # an open connection keeps the replica, however long it idles
    assert reader.get("{i}k") == b"1" and cache.process.replica.pid == first
    reader.close()
    env.wait_for(lambda: not cache.process.replica_up and valkeys() - before == {cache.process.pid}, timeout=10)
    primary.set("{i}k", "2")  # written while no replica runs
    assert connect(env, "idle", 6380).get("{i}k") == b"2"
    assert cache.process.replica_up and cache.process.replica.pid != first
    assert valkeys() - before == {cache.process.pid, cache.process.replica.pid}


def test_reader_connections_around_an_idle_stop_are_all_served(idle_env: Harness) -> None:
    """Connections that arrive while an idle replica is being stopped wait and get a new one."""
    env = idle_env
    create(env, "idle-race")
    cache = env.cache("idle-race")
    connect(env, "idle-race", 6379).set("r", "v")
    pids = set()
    deadline = time.monotonic() + 6
    got = []
    while time.monotonic() < deadline:
        c = connect(env, "idle-race", 6380)
        got.append(c.get("r"))
        pids.add(cache.process.replica.pid)
        c.close()
        time.sleep(0.45 + 0.1 * (len(got) % 3))  # about the idle time: some land on a stop
    assert got == [b"v"] * len(got)
    assert len(pids) > 1, "the replica was stopped and started again meanwhile"
