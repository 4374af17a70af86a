"""AUTH and HELLO AUTH on the native data plane: every login is cloudlet's verifier's decision,
asked with the connection's peer address; refusals keep valkey's and today's wordings."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from cloudlet.dataplane import replies as wording

from .native_harness import (
    ADMIN_PW,
    APP,
    APP_PW,
    LOCAL,
    LOCAL_PW,
    WRONGPASS,
    NativeValkey,
    Verifier,
    encode,
    raw,
    replies,
)


def test_login_is_the_verifiers_with_the_peer_address(cache: NativeValkey) -> None:
    r = cache.client()
    assert r.acl_whoami() == APP
    assert r.set("k", "v") and r.get("k") == b"v"
    local_port = r.connection._sock.getsockname()[1]  # type: ignore[union-attr]
    asked = [q for q in cache.verifier.requests if q[3] == APP.encode() and q[2] == local_port]
    assert len(asked) == 1
    client_id, ip, _, _, password = asked[0]
    assert ip == "127.0.0.1" and password == APP_PW.encode() and client_id.isdigit()

def test_client_id_is_not_offered_but_the_request_carries_it(cache: NativeValkey) -> None:
    with pytest.raises(redis.ResponseError, match="unknown subcommand 'ID'. Try CLIENT HELP."):
        cache.client().execute_command("CLIENT", "ID")


def test_hello_auth_and_one_argument_auth(cache: NativeValkey) -> None:
    r3 = cache.client(protocol=3)  # redis-py logs in with HELLO 3 AUTH
    assert r3.acl_whoami() in (APP, APP.encode())
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP_PW))  # one argument: the user "default"
        assert replies(s, 1) == [b"+OK"]
        s.sendall(encode("ACL", "WHOAMI"))
        assert replies(s, 2)[1] == APP.encode()
    assert any(q[3] == b"default" and q[4] == APP_PW.encode() for q in cache.verifier.requests)


def test_refusals_are_sent_as_the_verifier_wrote_them(cache: NativeValkey) -> None:
    got = raw(cache, encode("AUTH", APP, "wrong-password"), encode("GET", "k"), login=False)
    assert got == [WRONGPASS, wording.NOAUTH.rstrip(b"\r\n")]
    # HELLO AUTH refused the same way.
    assert raw(cache, encode("HELLO", "3", "AUTH", APP, "wrong-password"), login=False) == [WRONGPASS]


def test_next_leaves_it_to_valkeys_own_acl(cache: NativeValkey) -> None:
    assert cache.client(username=LOCAL, password=LOCAL_PW).acl_whoami() == LOCAL
    with pytest.raises(redis.AuthenticationError):
        cache.client(username=LOCAL, password="not-it-0123456789").ping()


def test_a_failed_reauth_keeps_the_login(cache: NativeValkey) -> None:
    with cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW) + encode("AUTH", APP, "wrong-password") + encode("ACL", "WHOAMI"))
        assert replies(s, 4) == [b"+OK", WRONGPASS, b"$3", APP.encode()]


def test_admin_is_invisible_to_clients(cache: NativeValkey) -> None:
    r = cache.client()
    assert b"cloudlet-admin" not in r.execute_command("ACL", "USERS")
    assert not any(b"cloudlet-admin" in rule for rule in r.execute_command("ACL", "LIST"))
    assert r.execute_command("ACL", "GETUSER", "cloudlet-admin") is None
    assert cache.admin().execute_command("ACL", "WHOAMI") == b"cloudlet-admin"
    # Its password is the verifier's to check, not valkey's: a guess is refused.
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(unix_socket_path=str(cache.work / "valkey.sock"), username="cloudlet-admin",
                    password=ADMIN_PW + "x").ping()


def test_verifier_silent_or_gone_refuses_with_service_unavailable(own_cache: NativeValkey) -> None:
    own_cache.verifier.close()
    assert raw(own_cache, encode("AUTH", APP, APP_PW), encode("GET", "k"), login=False) == [
        wording.SERVICE_UNAVAILABLE.rstrip(b"\r\n"), wording.NOAUTH.rstrip(b"\r\n")]


def test_logins_in_flight_do_not_stop_other_clients(own_cache: NativeValkey) -> None:
    """A verifier that never answers holds only the client logging in (10 s, then refused)."""
    r = own_cache.client()
    assert r.ping()
    own_cache.verifier.silent = True
    with own_cache.tls() as s:
        s.sendall(encode("AUTH", APP, APP_PW))
        for _ in range(20):
            assert r.incr("counter")
        s.settimeout(20)
        assert replies(s, 1) == [wording.SERVICE_UNAVAILABLE.rstrip(b"\r\n")]


def test_admin_powers_end_with_its_login(cache: NativeValkey) -> None:
    """A connection logged in as the admin that logs in as someone else keeps nothing of it."""
    for relogin in ((APP, APP_PW), (LOCAL, LOCAL_PW)):  # the verifier's user, valkey's own user
        admin = cache.admin()
        assert admin.execute_command("CLOUDLET.STATS").startswith(b"throttled ")
        admin.execute_command("AUTH", *relogin)
        with pytest.raises(redis.ResponseError, match="unknown command 'CLOUDLET.STATS'"):
            admin.execute_command("CLOUDLET.STATS")
        with pytest.raises(redis.ResponseError, match="unknown subcommand 'LIST'"):
            admin.execute_command("CLIENT", "LIST")
        admin.close()
    # RESET logs out (the default user is off here): no admin command either.
    with cache.tls() as s:
        s.sendall(encode("AUTH", "cloudlet-admin", ADMIN_PW) + encode("RESET") + encode("CLOUDLET.STATS"))
        got = replies(s, 3)
    assert got[:2] == [b"+OK", b"+RESET"] and not got[2].startswith(b"+throttled")


def test_clients_gone_while_their_login_is_decided(own_cache: NativeValkey) -> None:
    """The verifier answers after the client left: valkey drops the answer and serves on."""
    own_cache.verifier.delay = 0.5
    for _ in range(8):
        s = own_cache.tls()
        s.sendall(encode("AUTH", APP, APP_PW))
        s.close()
    time.sleep(1.5)
    own_cache.verifier.delay = 0
    assert own_cache.proc.poll() is None
    assert own_cache.client().ping()


def test_steady_logins_reuse_a_verifier_connection(own_cache: NativeValkey) -> None:
    """Logins one after the other are asked on a kept connection (no thread or connection each)."""
    own_cache.verifier.keep = True
    before = own_cache.verifier.connections
    for _ in range(20):
        r = own_cache.client()
        assert r.acl_whoami() == APP
        r.close()
    assert own_cache.verifier.connections - before <= 2


def test_logins_go_on_when_the_verifier_restarts(own_cache: NativeValkey) -> None:
    """Kept connections to a verifier that went away: the next login asks a fresh one."""
    own_cache.verifier.keep = True
    for _ in range(3):
        assert own_cache.client().acl_whoami() == APP
    old = own_cache.verifier
    old.close()
    own_cache.verifier = Verifier(old.path, old.answers, keep=True)
    for _ in range(3):
        assert own_cache.client().acl_whoami() == APP
    assert len(own_cache.verifier.requests) == 3


def test_logins_are_decided_side_by_side(own_cache: NativeValkey) -> None:
    """40 logins, each verified in 0.5 s, take about 0.5 s together, not 20 s."""
    own_cache.verifier.delay = 0.5

    def login(_: int) -> bytes:
        r = own_cache.client()
        try:
            return r.acl_whoami()
        finally:
            r.close()

    t0 = time.monotonic()
    with ThreadPoolExecutor(40) as pool:
        assert set(pool.map(login, range(40))) == {APP}
    assert time.monotonic() - t0 < 8
