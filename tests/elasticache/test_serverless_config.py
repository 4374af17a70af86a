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
    kw.setdefault("socket_timeout", 15)
    return redis.Redis(host=h.cache("cfg").address, port=6379, ssl=True, ssl_cert_reqs="none",
                       username="app", password=PW, retry=Retry(NoBackoff(), 0),
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
    with pytest.raises(redis.ResponseError, match="not allowed from script|no permissions|Unknown command called from script"):
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


def test_runaway_script_makes_others_busy_then_is_killed(env: Harness) -> None:
    """Past lua-time-limit (5000 ms) others get BUSY; clients cannot SCRIPT KILL on serverless,
    ElastiCache does it: the script's caller gets the kill error, everyone else resumes."""
    r = client(env)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(client(env, socket_timeout=30).eval("while true do end", 0))
        except redis.ResponseError as e:
            outcome.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(0.5)
    assert not outcome  # still running, within the limit
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'KILL'"):
        client(env, socket_timeout=30).script_kill()  # refused, never queued behind the script
    time.sleep(5.0)
    busy_seen = False
    try:
        r.get("k")
    except redis.ResponseError as e:
        busy_seen = str(e).startswith("BUSY")
    t.join(10)
    assert outcome and isinstance(outcome[0], redis.ResponseError) and "killed" in str(outcome[0]).lower()
    assert busy_seen or "SCRIPT KILL" in (env.cache("cfg").workdir / "valkey.log").read_text()
    assert r.set("k", "v") and r.get("k") == b"v"


def test_runaway_script_that_wrote_gets_valkey_restarted(env: Harness) -> None:
    """A script that has written cannot be killed: ElastiCache restarts the engine."""
    proc = env.cache("cfg").process
    restarts = proc.restarts
    with pytest.raises(redis.ConnectionError):
        client(env, socket_timeout=30).eval("redis.call('SET', KEYS[1], '1') while true do end", 1, "{w}x")
    env.wait_for(lambda: proc.restarts == restarts + 1, timeout=20)

    def writable() -> bool:
        try:
            return bool(client(env).set("{w}after", "1"))
        except redis.RedisError:
            return False

    env.wait_for(writable, timeout=20)
    assert "restarting valkey" in (env.cache("cfg").workdir / "valkey.log").read_text()
