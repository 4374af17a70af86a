"""The post-auth scanner's fast path (one regex per run of plain commands) against
its general path and valkey's framing, and names read the way valkey reads them."""

from __future__ import annotations

import re
import socket
import ssl

import pytest
import redis
from conftest import DataPlaneEnv
from hypothesis import given, settings
from hypothesis import strategies as st

from cloudlet.dataplane.resp import Command, CommandScanner, Item, keyword
from cloudlet.dataplane.resp_fast import FAST_LEN_DIGITS, FAST_MAX_ARGS, plain_run
from cloudlet.dataplane.session import CAPTURE

PW = {"username": "pw-user", "password": "passw0rd-passw0rd"}
SHORT = 10**FAST_LEN_DIGITS  # first argument length the regex leaves to the general path


def encode(args: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def _case(name: bytes, flips: list[bool]) -> bytes:
    return bytes(c ^ 0x20 if f and chr(c).isalpha() else c for c, f in zip(name, flips + [False] * len(name), strict=False))


captured_names = st.builds(
    lambda n, flips, tail: _case(n, flips) + tail,
    st.sampled_from(sorted(CAPTURE)),
    st.lists(st.booleans(), max_size=12),
    st.one_of(st.just(b""), st.binary(max_size=40).map(lambda b: b"\0" + b)),
)
names = st.one_of(
    captured_names,
    st.sampled_from([b"GET", b"set", b"PING", b"CONFIGX", b"", b"\0CONFIG", b"x" * 40]),
    st.binary(max_size=12),
)
payloads = st.one_of(st.binary(max_size=12), st.integers(SHORT - 3, SHORT + 3).map(lambda n: b"\r\n" * (n // 2) + b"*" * (n % 2)))
commands = st.builds(lambda n, rest: [n, *rest], names, st.lists(payloads, max_size=FAST_MAX_ARGS + 3))


def scan(wire: bytes, cuts: list[int], fast: bool) -> tuple[list[Item], CommandScanner]:
    sc = CommandScanner(CAPTURE)
    if not fast:
        sc._run = re.compile(b"")  # matches nothing: every command goes the general way
    out: list[Item] = []
    last = 0
    for c in sorted({x for x in cuts if x < len(wire)}) + [len(wire)]:
        out.extend(sc.feed(wire[last:c]))
        last = c
    return out, sc


def merged(items: list[Item]) -> list[bytes | list[bytes]]:
    """Adjacent pass-through pieces joined: how a run is cut into pieces is not part of the contract."""
    out: list[bytes | list[bytes]] = []
    for i in items:
        if isinstance(i, bytes):
            if out and isinstance(out[-1], bytes):
                out[-1] += i
            else:
                out.append(i)
        else:
            out.append(i.args)
    return out


@settings(max_examples=400, deadline=None)
@given(cmds=st.lists(commands, min_size=1, max_size=25), cuts=st.lists(st.integers(0, 6000), max_size=8))
def test_fast_and_general_paths_frame_alike(cmds: list[list[bytes]], cuts: list[int]) -> None:
    wire = b"".join(encode(c) for c in cmds)
    fast, fsc = scan(wire, cuts, fast=True)
    slow, ssc = scan(wire, cuts, fast=False)
    assert merged(fast) == merged(slow)
    assert fsc.buffered == ssc.buffered == 0
    expect = [c for c in cmds if keyword(c[0]) in CAPTURE]
    assert [i.args for i in fast if isinstance(i, Command)] == expect
    assert b"".join(i if isinstance(i, bytes) else encode(i.args) for i in fast) == wire
    # seq: two captured commands differ by one exactly when nothing came between them.
    at = [k for k, c in enumerate(cmds) if keyword(c[0]) in CAPTURE]
    got = [i for i in fast if isinstance(i, Command)]
    for (a, ca), (b, cb) in zip(zip(at, got, strict=False), zip(at[1:], got[1:], strict=False), strict=False):
        assert (cb.seq - ca.seq == 1) == (b - a == 1)


@pytest.mark.parametrize(
    "wire",
    [
        b"*1\r\n$04\r\nPING\r\n",  # leading zero: valkey refuses it
        b"*01\r\n$4\r\nPING\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*1\r\n$ 4\r\nPING\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*0\r\n",
        b"*-1\r\n",
        b"*1\r\n$4\nPING\r\n",
        b"*1\r\n$4\r\nPI\0G\r\n",  # a NUL in the name: the general path folds it
        b"*%d\r\n" % (FAST_MAX_ARGS + 1) + b"$1\r\nx\r\n" * (FAST_MAX_ARGS + 1),
        b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (SHORT, b"k" * SHORT),
        b"*1\r\n$4\r\nPING\r",  # incomplete
        b"*2\r\n$3\r\nGET\r\n",
    ],
)
def test_regex_takes_only_canonical_complete_commands(wire: bytes) -> None:
    assert plain_run(frozenset(CAPTURE)).match(wire).end() == 0  # type: ignore[union-attr]


def test_regex_takes_runs_and_stops_at_captured_names() -> None:
    run = plain_run(frozenset(CAPTURE))
    plain = encode([b"SET", b"k", b"v" * (SHORT - 1)]) + encode([b"configx"]) + encode([b"GET", b"\r\n*1\r\n"])
    for name in (b"auth", b"CoNfIg", b"MULTI", b"exec"):
        wire = plain + encode([name, b"x"]) + plain
        assert run.match(wire).end() == len(plain)  # type: ignore[union-attr]
    # Any two bytes end a payload, as valkey skips them unchecked.
    odd = b"*2\r\n$3\r\nGET\r\n$1\r\nkXY"
    assert run.match(odd + plain).end() == len(odd + plain)  # type: ignore[union-attr]


def test_keyword_reads_names_as_valkey_does() -> None:
    assert keyword(b"conFig") == b"CONFIG"
    assert keyword(b"config\0anything") == b"CONFIG"
    assert keyword(b"\0config") == b""
    assert Command([b"acl\0x", b"setuser"], inline=False).name == b"ACL"


def test_long_name_with_nul_is_captured() -> None:
    sc = CommandScanner(CAPTURE)
    wire = encode([b"CONFIG\0" + b"y" * 100, b"GET", b"maxmemory"])
    items = sc.feed(wire[:20]) + sc.feed(wire[20:])
    assert [i.name for i in items if isinstance(i, Command)] == [b"CONFIG"]
    sc = CommandScanner(CAPTURE)
    long_plain = encode([b"y" * 100, b"GET"])
    assert sc.feed(long_plain) == [long_plain]


def _tls(env: DataPlaneEnv) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=env.ca)
    raw = socket.create_connection((env.address, env.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=env.spec.hostname)


def _read_replies(s: ssl.SSLSocket, count: int) -> list[bytes]:
    """Simple replies (status, error, integer, bulk, arrays of those), one per command."""
    data = b""
    out: list[bytes] = []
    while len(out) < count:
        data += s.recv(65536)
        while len(out) < count and b"\r\n" in data:
            line, rest = data.split(b"\r\n", 1)
            if line[:1] == b"$" and int(line[1:]) >= 0:
                n = int(line[1:])
                if len(rest) < n + 2:
                    break
                out.append(rest[:n])
                data = rest[n + 2 :]
            else:
                out.append(line)
                data = rest
    return out


def test_nul_suffixed_restricted_names_never_run(dp_env: DataPlaneEnv) -> None:
    """Valkey's lookup compares names as C strings, so one of a few hundred "CONFIG\\0<n>"
    names lands on CONFIG; every one must be refused here."""
    tries = 300
    with _tls(dp_env) as s:
        s.sendall(encode([b"AUTH", b"pw-user", b"passw0rd-passw0rd"]))
        assert _read_replies(s, 1) == [b"+OK"]
        wire = b"".join(
            encode([b"CONFIG\0%d" % i, b"SET", b"maxmemory-policy", b"allkeys-random"])
            + encode([b"ACL", b"SETUSER\0%d" % i, b"evil%d" % i, b"on", b">x", b"+@all"])
            for i in range(tries)
        )
        s.sendall(wire)
        got = _read_replies(s, 2 * tries)
    assert all(r.startswith(b"-ERR unknown command 'CONFIG") for r in got[0::2])
    assert all(r.startswith(b"-ERR unknown subcommand") for r in got[1::2])
    admin = dp_env.valkey.admin()
    assert admin.config_get("maxmemory-policy")["maxmemory-policy"] != "allkeys-random"
    assert not [u for u in admin.acl_users() if u.startswith("evil")]


@pytest.mark.proxy_only("about the proxy's reading agreeing with valkey's; natively valkey alone reads commands")
def test_nul_suffixed_multi_is_the_multi_the_proxy_tracks(dp_env: DataPlaneEnv) -> None:
    with _tls(dp_env) as s:
        s.sendall(encode([b"AUTH", b"pw-user", b"passw0rd-passw0rd"]))
        assert _read_replies(s, 1) == [b"+OK"]
        s.sendall(encode([b"multi\0x"]) + encode([b"SET", b"nm", b"1"]) + encode([b"EXEC\0y"]))
        assert _read_replies(s, 4) == [b"+OK", b"+QUEUED", b"*1", b"+OK"]


def test_mixed_pipeline_big_values_many_args_and_local_replies(dp_env: DataPlaneEnv) -> None:
    """Commands the regex takes, ones it leaves to the general path, and captured ones, interleaved."""
    r = dp_env.client(**PW)
    p = r.pipeline(transaction=False)
    expect: list[object] = []
    for i in range(200):
        size = SHORT - 2 + i % 5  # around the regex's length limit
        p.set(f"m{i}", b"v" * size)
        expect.append(True)
        # up to 23 arguments; one hash tag per MSET (a cache is in cluster mode)
        p.mset({f"{{mm{i}}}-{j}": str(j) for j in range(i % 12)} or {f"mm{i}": "x"})
        expect.append(True)
        if i % 7 == 0:
            p.execute_command("CLUSTER", "KEYSLOT", "foo")
            expect.append(12182)
        p.get(f"m{i}")
        expect.append(b"v" * size)
    assert p.execute() == expect
    assert r.ping() is True
    with pytest.raises(redis.ResponseError, match="unknown command 'CONFIG'"):
        r.execute_command("CONFIG", "GET", "maxmemory")
