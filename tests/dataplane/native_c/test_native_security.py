"""An attacker holding valid credentials on the cache connection of the native data plane: the
secret names of the renamed commands are nowhere to be read, replication and server commands
stay out of reach, and cloudlet's admin stays invisible and unguessable."""

from __future__ import annotations

import time

import pytest
import redis

from .native_harness import APP, APP_PW, NativeValkey, encode, raw, replies


def _read(r: redis.Redis, *args: str) -> object:
    """A reply as valkey sent it, without redis-py's per-command parsing."""
    conn = r.connection
    assert conn is not None
    conn.send_command(*args)
    return conn.read_response()


def _everything_a_client_can_read(r: redis.Redis) -> bytes:
    parts = [_read(r, *args) for args in (
        ("COMMAND", "LIST"), ("COMMAND",), ("COMMAND", "DOCS"), ("COMMAND", "INFO", "keys", "config", "client", "debug"),
        ("INFO", "everything"), ("ACL", "LIST"), ("ACL", "CAT", "dangerous"),
        ("EVAL", "return server.call('INFO', 'commandstats')", "0"), ("CLUSTER", "NODES"),
    )]
    return repr(parts).encode()


def test_secret_names_cannot_be_discovered(cache: NativeValkey) -> None:
    admin = cache.admin()
    # cloudlet itself uses the renamed commands (by their secrets), so they have statistics.
    admin.execute_command(cache.secrets[b"CONFIG"], "GET", "maxmemory")
    admin.execute_command(cache.secrets[b"SLOWLOG"], "GET")
    seen = _everything_a_client_can_read(cache.client())
    for secret in cache.secrets.values():
        assert secret.encode() not in seen, secret
    assert b"cmdstat_config" in seen  # valkey reports them under their own names


@pytest.mark.parametrize("args", [
    ["ACL", "LOG"], ["CLIENT", "LIST"], ["CLIENT", "INFO"], ["CLIENT", "PAUSE", "10000"], ["CLIENT", "UNPAUSE"],
    ["CLIENT", "NO-EVICT", "ON"], ["CLUSTER", "RESET"], ["CLUSTER", "MEET", "127.0.0.1", "7000"],
    ["SCRIPT", "KILL"], ["COMMAND", "HELP"],
])
def test_reaching_other_connections_or_the_server_is_refused(cache: NativeValkey, args: list[str]) -> None:
    got = raw(cache, encode(*args), encode("PING"))
    assert got[0].startswith(b"-ERR unknown subcommand") and got[1] == b"+PONG"


@pytest.mark.parametrize("args", [
    ["CONFIG", "SET", "dir", "/tmp"], ["MODULE", "LOAD", "/tmp/evil.so"], ["DEBUG", "SLEEP", "1"],
    ["SHUTDOWN", "NOSAVE"], ["MONITOR"], ["REPLICAOF", "127.0.0.1", "1"], ["FAILOVER"], ["SLOWLOG", "GET"],
    ["PSYNC", "?", "-1"], ["SYNC"], ["REPLCONF", "capa", "psync2"], ["cloudlet.refuse"], ["FUNCTION", "LIST"],
])
def test_server_and_replication_commands_are_unknown(cache: NativeValkey, args: list[str]) -> None:
    got = raw(cache, encode(*args), encode("PING"))
    assert got[0].startswith(b"-ERR unknown command '" + args[0].encode() + b"'") and got[1] == b"+PONG"
    assert cache.proc.poll() is None


def test_psync_does_not_turn_the_connection_into_a_replica(cache: NativeValkey) -> None:
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("REPLCONF", "listening-port", "6380")
                  + encode("PSYNC", "?", "-1") + encode("SET", "after", "1"))
        got = replies(s, 4)
    assert got[0] == b"+OK" and got[3] == b"+OK"
    assert cache.admin().info("replication")["connected_slaves"] == 0


def test_the_admin_cannot_be_reached_from_a_client(cache: NativeValkey) -> None:
    for password in ("", "cloudlet-admin", APP_PW):
        with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
            cache.client(username="cloudlet-admin", password=password).ping()
    # HELLO AUTH as the admin, on the TLS port, is refused the same way.
    assert raw(cache, encode("HELLO", "3", "AUTH", "cloudlet-admin", APP_PW), login=False)[0].startswith(
        b"-WRONGPASS")


def test_nul_tricks_reach_nothing(cache: NativeValkey) -> None:
    """valkey compares names up to a NUL: the refusals read names the same way."""
    for args in (["client\0", "kill", "id", "1"], ["CLIENT", "list\0"], ["psync\0x", "?", "-1"],
                 ["config\0", "get", "dir"]):
        got = raw(cache, encode(*args), encode("PING"))
        assert got[0].startswith(b"-ERR unknown") and got[1] == b"+PONG"


@pytest.mark.parametrize("call", [
    "server.call('CLOUDLET.ECPU', '1')", "server.call('cloudlet.stats')", "server.call('REPLCONF', 'GETACK', '*')",
    "server.call('PSYNC', '?', '-1')", "server.call('CLIENT', 'PAUSE', '60000', 'ALL')",
])
def test_scripts_are_no_way_around_the_refusals(cache: NativeValkey, call: str) -> None:
    """Lua's server.call runs as a client of valkey's own: it is never taken for cloudlet's admin."""
    r = cache.client()
    with pytest.raises(redis.ResponseError, match="Unknown command called from script|unknown subcommand"):
        r.eval(f"return {call}", 0)
    t0 = time.monotonic()
    for _ in range(50):
        r.ping()
    assert time.monotonic() - t0 < 2  # no maximum set, no pause in force
