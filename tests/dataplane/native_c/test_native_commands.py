"""What a client of the native data plane can run: the offered subcommands of each container,
nothing else of them (also from scripts and transactions), no renamed command, no request over
3,999 arguments, no flush or re-AUTH in a transaction. Each refusal is compared with what the
proxy answers (dataplane/replies.py)."""

from __future__ import annotations

import pytest
import redis

from cloudlet.dataplane import replies as wording
from cloudlet.dataplane.commands import NOT_OFFERED, PARTIAL

from .native_harness import APP, APP_PW, READER, READER_PW, NativeValkey, encode, raw, replies

# One subcommand each container has in valkey 8 that serverless does not offer.
UNOFFERED = {b"ACL": b"SETUSER", b"CLIENT": b"KILL", b"CLUSTER": b"ADDSLOTS", b"COMMAND": b"HELP",
             b"PUBSUB": b"NUMPAT", b"SCRIPT": b"KILL", b"XGROUP": b"HELP", b"XINFO": b"HELP"}


def line(reply: bytes) -> bytes:
    return reply.rstrip(b"\r\n")


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_unoffered_subcommands_get_valkeys_wording(cache: NativeValkey, name: bytes) -> None:
    sub = UNOFFERED[name]
    for spelled in (sub, sub.lower(), sub + b"\0x"):
        args = [name, spelled, b"a1", b"a2"]
        # valkey prints a name up to its first NUL (the proxy printed the NUL too)
        shown = [name, spelled.split(b"\0")[0], b"a1", b"a2"]
        assert raw(cache, encode(*args)) == [line(wording.unknown_subcommand(shown))]


def test_offered_subcommands_run(cache: NativeValkey) -> None:
    r = cache.client()
    assert r.client_setname("app1") and r.client_getname() == "app1"
    assert r.execute_command("CLUSTER", "KEYSLOT", "foo") == 12182
    assert r.command_count() > 200
    assert r.execute_command("PUBSUB", "CHANNELS") == []
    sha = r.script_load("return 1")
    assert r.script_exists(sha) == [True]
    r.xadd("{s}stream", {"f": "v"})
    assert r.xgroup_create("{s}stream", "g", id="0")
    assert r.xinfo_stream("{s}stream")["groups"] == 1
    assert r.execute_command("ACL", "WHOAMI") == APP.encode()


def test_the_real_commands_errors_keep_their_names(cache: NativeValkey) -> None:
    assert raw(cache, encode("CLIENT", "SETNAME")) == [line(wording.wrong_args("client|setname"))]
    assert raw(cache, encode("CLIENT")) == [line(wording.wrong_args("client"))]


def test_unoffered_subcommands_refused_from_scripts(cache: NativeValkey) -> None:
    r = cache.client()
    for call in ("server.call('CLIENT', 'KILL', 'ID', '1')", "server.call('client', 'list')",
                 "server.call('ACL', 'SETUSER', 'evil', 'on', '>pw', '+@all')", "server.call('SCRIPT', 'KILL')",
                 "redis.call('CLUSTER', 'RESET')"):
        with pytest.raises(redis.ResponseError):
            r.eval(f"return {call}", 0)
    assert r.execute_command("ACL", "GETUSER", "evil") is None
    assert r.eval("return server.call('CLUSTER', 'KEYSLOT', 'foo')", 0) == 12182


@pytest.mark.parametrize("name", sorted(NOT_OFFERED))
def test_commands_serverless_lacks_are_unknown(cache: NativeValkey, name: bytes) -> None:
    args = [name, b"x", b"y"]
    assert raw(cache, encode(*args)) == [line(wording.unknown_command(args))]


def test_renamed_commands_unreachable_by_any_spelling_nor_from_scripts(cache: NativeValkey) -> None:
    r = cache.client()
    r.set("{k}a", "1")
    for spelled in (b"keys", b"KeYs", b"keys\0", b"keys\0x"):
        with pytest.raises(redis.ResponseError, match="unknown command 'keys'|unknown command 'KeYs'"):
            r.execute_command(spelled, "*")
    for call in ("server.call('KEYS', '*')", "server.call('CONFIG', 'GET', 'dir')", "server.call('DEBUG', 'SLEEP', '0')",
                 "server.call('MODULE', 'LIST')", "server.call('FUNCTION', 'LIST')"):
        with pytest.raises(redis.ResponseError, match="Unknown command called from script"):
            r.eval(f"return {call}", 1, "{k}a")


def test_replication_commands_refused_to_clients_not_to_cloudlet(cache: NativeValkey) -> None:
    for args in ([b"PSYNC", b"?", b"-1"], [b"sync"], [b"REPLCONF", b"listening-port", b"1"],
                 [b"replconf\0x", b"capa", b"eof"], [b"CLOUDLET.ECPU", b"0"], [b"cloudlet.stats"]):
        want = [args[0].split(b"\0")[0], *args[1:]]
        assert raw(cache, encode(*args)) == [line(wording.unknown_command(want))]
    admin = cache.admin()
    assert admin.execute_command("REPLCONF", "listening-port", "1") == b"OK"
    assert admin.execute_command("CLOUDLET.STATS").startswith(b"throttled ")


def test_more_than_3999_arguments_never_run(cache: NativeValkey) -> None:
    r = cache.client()
    keys = [f"{{m}}k{i}" for i in range(3998)]
    assert r.execute_command("DEL", *keys) == 0  # 3,999 arguments: runs
    too_many = ["SET", "{m}x", "1", *["NX"] * 3998]
    assert raw(cache, encode(*too_many)) == [
        line(wording.error("ERR too many arguments: the request has 4001, at most 3999 are allowed"))]
    assert r.get("{m}x") is None
    # Inside MULTI: refused at once, the transaction aborted, as the proxy does.
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("SET", "{m}y", "1") + encode(*too_many)
                  + encode("EXEC"))
        got = replies(s, 5)
    assert got[:3] == [b"+OK", b"+OK", b"+QUEUED"]
    assert got[3].startswith(b"-ERR unknown command 'SET'")
    assert got[4].startswith(b"-EXECABORT")
    assert r.get("{m}y") is None
    # A user allowed only GET gets the same answer, not NOPERM for a command it never named.
    with cache.tls() as s:
        s.sendall(encode("AUTH", READER, READER_PW) + encode("GET", *["k"] * 4000) + encode("SET", "k", "1"))
        got = replies(s, 3)
    assert got[1] == line(wording.error("ERR too many arguments: the request has 4001, at most 3999 are allowed"))
    assert got[2].startswith(b"-NOPERM")


@pytest.mark.parametrize("flush", ["FLUSHALL", "FLUSHDB", "flushall"])
def test_flushes_cannot_be_in_a_transaction(cache: NativeValkey, flush: str) -> None:
    r = cache.client()
    r.set("{f}kept", "1")
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("SET", "{f}other", "2") + encode(flush)
                  + encode("EXEC"))
        got = replies(s, 5)
    assert got[:3] == [b"+OK", b"+OK", b"+QUEUED"]
    assert got[3] == line(wording.unknown_command([flush.encode()]))
    assert got[4].startswith(b"-EXECABORT")
    assert r.get("{f}kept") == b"1" and r.get("{f}other") is None
    # redis-py's transaction sees the same.
    pipe = r.pipeline(transaction=True)
    pipe.set("{f}other", "2").execute_command(flush)
    with pytest.raises(redis.ResponseError):
        pipe.execute()
    assert r.get("{f}kept") == b"1" and r.get("{f}other") is None


def test_flush_outside_a_transaction_runs(own_cache: NativeValkey) -> None:
    r = own_cache.client()
    r.set("a", "1")
    assert r.flushall() and r.dbsize() == 0


@pytest.mark.parametrize("auth", [["AUTH", APP, APP_PW], ["HELLO", "3", "AUTH", APP, APP_PW], ["auth", APP_PW]])
def test_reauth_inside_multi_refused(cache: NativeValkey, auth: list[str]) -> None:
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("SET", "{r}x", "1") + encode(*auth)
                  + encode("EXEC") + encode("PING"))
        got = replies(s, 6)
    assert got[:3] == [b"+OK", b"+OK", b"+QUEUED"]
    assert got[3] == line(wording.unknown_command([a.encode() for a in auth]))
    assert got[4].startswith(b"-EXECABORT") and got[5] == b"+PONG"
    assert cache.client().get("{r}x") is None


def test_reauth_outside_multi_and_data_commands_in_multi_work(cache: NativeValkey) -> None:
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("SET", "{t}x", "1") + encode("EXEC")
                  + encode("AUTH", APP, APP_PW))
        assert replies(s, 6) == [b"+OK", b"+OK", b"+QUEUED", b"*1", b"+OK", b"+OK"]


def test_hello_without_a_login_runs_inside_multi(cache: NativeValkey) -> None:
    """Only HELLO's AUTH option is a login: a client named "auth" is not refused."""
    r = cache.client()
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("HELLO", "2", "SETNAME", "auth").set("{h}x", "1").client_getname()
    _, ok, name = pipe.execute()
    assert ok and name in ("auth", b"auth") and r.get("{h}x") == b"1"
    # The option keyword is read as valkey reads it (up to a NUL, any case): still a login.
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("HELLO", "2", "SETNAME", "n", "Auth\0", APP, APP_PW)
                  + encode("EXEC"))
        got = replies(s, 4)
    assert got[2].startswith(b"-ERR unknown command 'HELLO'") and got[3].startswith(b"-EXECABORT")


@pytest.mark.parametrize("refused", [
    [b"CLIENT", b"KILL", b"ID", b"1"], [b"KEYS", b"*"], [b"PSYNC", b"?", b"-1"], [b"CLOUDLET.ECPU", b"1"],
])
def test_refusals_inside_multi_abort_the_transaction(cache: NativeValkey, refused: list[bytes]) -> None:
    """Refused at once, as the proxy does, and nothing of the transaction runs."""
    want = wording.unknown_subcommand(refused) if refused[0] == b"CLIENT" else wording.unknown_command(refused)
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("MULTI") + encode("SET", "{x}a", "1") + encode(*refused)
                  + encode("EXEC"))
        got = replies(s, 5)
    assert got[:3] == [b"+OK", b"+OK", b"+QUEUED"]
    assert got[3] == line(want) and got[4].startswith(b"-EXECABORT")
    assert cache.client().get("{x}a") is None
