"""The fixed engine configuration of serverless caches, as clients meet it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from ec_harness import Harness
from redis.backoff import NoBackoff
from redis.retry import Retry

from cloudlet.services.elasticache.serverless_config import FIXED

PW = "a-very-long-password-1"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("config"))
    h.call("CreateUser", UserId="app", UserName="app", Engine="valkey",
           AuthenticationMode={"Type": "password", "Passwords": [PW]}, AccessString="on ~* +@all")
    h.call("CreateUserGroup", UserGroupId="grp", Engine="valkey", UserIds=["app"])
    h.wait_for(lambda: h.call("DescribeUserGroups", UserGroupId="grp")["UserGroups"][0]["Status"] == "active")
    h.call("CreateServerlessCache", ServerlessCacheName="cfg", Engine="valkey", UserGroupId="grp")
    h.wait_status("cfg", "available", timeout=30)
    try:
        yield h
    finally:
        h.close()


def client(h: Harness, **kw: object) -> redis.Redis:
    return redis.Redis(host=h.cache("cfg").address, port=6379, ssl=True, ssl_cert_reqs="none",
                       username="app", password=PW, socket_timeout=15, retry=Retry(NoBackoff(), 0),
                       **kw)  # type: ignore[arg-type]


def test_valkey_runs_the_documented_values(env: Harness) -> None:
    admin = env.admin("cfg")
    expect = {
        "acl-pubsub-default": "allchannels",
        "client-query-buffer-limit": str(1024**3),
        "cluster-enabled": "yes",
        "cluster-require-full-coverage": "no",
        "cluster-allow-reads-when-down": "yes",
        "cluster-allow-pubsubshard-when-down": "yes",
        "lua-time-limit": "5000",
        "maxmemory-policy": "volatile-lru",
        "notify-keyspace-events": "",
    }
    assert {name for name, _ in FIXED} >= set(expect)
    for name, value in expect.items():
        assert admin.config_get(name)[name] == value, name
    limits = admin.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    assert "normal 0 0 0" in limits and f"pubsub {32 * 1024**2} {8 * 1024**2} 60" in limits
    # 65000 unless the machine's file limit is lower: valkey then lowers it and says so in its log.
    maxclients = int(admin.config_get("maxclients")["maxclients"])
    log = (env.cache("cfg").workdir / "valkey.log").read_text()
    assert maxclients == 65000 or "maxclients has been reduced" in log


def test_configuration_is_not_modifiable_by_clients(env: Harness) -> None:
    r = client(env)
    with pytest.raises(redis.ResponseError, match="unknown command 'CONFIG'"):
        r.config_set("notify-keyspace-events", "KEA")
    with pytest.raises(redis.ResponseError, match="not allowed from script|no permissions"):
        r.eval("return redis.call('CONFIG', 'SET', 'notify-keyspace-events', 'KEA')", 0)


def test_no_keyspace_notifications(env: Harness) -> None:
    r = client(env)
    p = r.pubsub()
    p.subscribe("__keyspace@0__:watched", "plain")
    for _ in range(2):
        assert p.get_message(timeout=2)["type"] == "subscribe"
    r.set("watched", "1")
    r.publish("plain", "hello")
    msg = p.get_message(timeout=2)
    assert msg is not None and msg["channel"] == b"plain"  # the published one, no keyspace event
    assert p.get_message(timeout=0.5) is None
    p.close()


def test_long_script_makes_others_busy_then_they_resume(env: Harness) -> None:
    r = client(env)
    # Spins for 5.6 s of server time, past lua-time-limit (5000 ms).
    spin = ("local s = redis.call('TIME') local t0 = s[1] * 1000000 + s[2] "
            "while true do local n = redis.call('TIME') "
            "if n[1] * 1000000 + n[2] - t0 > 5600000 then break end end return 1")
    done: list[object] = []
    t = threading.Thread(target=lambda: done.append(client(env).eval(spin, 0)), daemon=True)
    t.start()
    time.sleep(5.2)
    with pytest.raises(redis.ResponseError, match="BUSY"):
        r.get("k")
    t.join(10)
    assert done == [1]
    assert r.set("k", "v") and r.get("k") == b"v"
