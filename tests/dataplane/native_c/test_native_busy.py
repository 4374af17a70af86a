"""Logins while a script runs past busy-script-time (BUSY), on the native data plane.

valkey still serves AUTH and HELLO then (they are allow-busy) but lets no module block a
client while a script runs, so the module asks the verifier on the main thread instead: the
login is decided exactly as at any other time (the verifier's user, its refusal wording, the
admin), and the logged-in client's commands then get BUSY, as on AWS and the proxy. Before,
every such login was answered "Blocking module command called from Lua script"."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from cloudlet.dataplane import replies as wording
from cloudlet.dataplane.native.build import NativeArtifacts

from .native_harness import ADMIN_PW, APP, APP_PW, READER, WRONGPASS, NativeValkey, encode, replies

BUSY_MS = 300
# What cloudlet's verifier answers for an IAM user's token: the user's ACL name. The token's
# checks are the verifier's (tests/dataplane/test_busy_auth.py runs them against the real one).
IAM_USER, IAM_TOKEN = b"iam-reader", b"cache-01/?Action=connect&User=iam-reader&X-Amz-Signature=ab12"


@pytest.fixture
def busy_cache(tmp_path: Path, artifacts: NativeArtifacts) -> Iterator[NativeValkey]:
    c = NativeValkey(tmp_path, artifacts, extra=["--busy-reply-threshold", str(BUSY_MS)])
    c.verifier.answers[(IAM_USER, IAM_TOKEN)] = b"OK " + READER.encode()
    try:
        c.wait_ready()
        yield c
    finally:
        c.stop()


class Runaway:
    """`while true do end` in a connection of its own, until SCRIPT KILL ends it."""

    def __init__(self, cache: NativeValkey) -> None:
        self.outcome: list[object] = []
        self.watcher = cache.client()  # logged in before: sees BUSY once the script is past the limit
        assert self.watcher.ping()
        self.thread = threading.Thread(target=self._run, args=(cache.client(),), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.watcher.ping()
            except redis.ResponseError as e:
                if str(e).startswith("BUSY"):
                    return
                raise
            time.sleep(0.05)
        raise AssertionError("the script never made valkey BUSY")

    def _run(self, r: redis.Redis) -> None:
        try:
            self.outcome.append(r.eval("while true do end", 0))
        except redis.ResponseError as e:
            self.outcome.append(e)

    def killed(self) -> bool:
        self.thread.join(10)
        return bool(self.outcome) and "killed" in str(self.outcome[0]).lower()


def login_then_get(cache: NativeValkey, *login: bytes | str) -> list[bytes]:
    with cache.tls() as s:
        s.sendall(encode(*login) + encode("GET", "k"))
        return replies(s, 2)


def test_password_and_token_logins_succeed_then_get_busy(busy_cache: NativeValkey) -> None:
    script = Runaway(busy_cache)
    try:
        ok, busy = login_then_get(busy_cache, "AUTH", APP, APP_PW)
        assert ok == b"+OK" and busy.startswith(b"-BUSY"), (ok, busy)
        ok, busy = login_then_get(busy_cache, b"AUTH", IAM_USER, IAM_TOKEN)
        assert ok == b"+OK" and busy.startswith(b"-BUSY"), (ok, busy)
        # One-argument AUTH (the user "default") and HELLO AUTH too.
        ok, busy = login_then_get(busy_cache, "AUTH", APP_PW)
        assert ok == b"+OK" and busy.startswith(b"-BUSY"), (ok, busy)
        with busy_cache.tls() as s:
            s.sendall(encode("HELLO", "2", "AUTH", APP, APP_PW))
            assert replies(s, 1)[0].startswith(b"*")  # HELLO's map, as RESP2 writes it
        # Each was the verifier's decision, with the client's id and peer, as any other login.
        asked = [q for q in busy_cache.verifier.requests if q[3] in (APP.encode(), IAM_USER, b"default")]
        assert len(asked) >= 5 and all(q[0].isdigit() and q[1] == "127.0.0.1" for q in asked)
    finally:
        busy_cache.admin().script_kill()
    assert script.killed()


def test_the_logins_are_the_verifiers_users_once_it_ends(busy_cache: NativeValkey) -> None:
    """Logged in during BUSY as the verifier's ACL user: that user's rights hold after the kill."""
    script = Runaway(busy_cache)
    s = busy_cache.tls()
    with s:
        s.sendall(encode(b"AUTH", IAM_USER, IAM_TOKEN))
        assert replies(s, 1) == [b"+OK"]
        busy_cache.admin().script_kill()
        assert script.killed()
        s.sendall(encode("GET", "nothing-here") + encode("SET", "k", "v"))
        got = replies(s, 2)
    # READER may only GET keys k*: its own ACL rules, valkey's wording.
    assert got == [b"-NOPERM No permissions to access a key",
                   b"-NOPERM User reader has no permissions to run the 'set' command"], got


def test_refusals_keep_their_wording_during_busy(busy_cache: NativeValkey) -> None:
    script = Runaway(busy_cache)
    try:
        assert login_then_get(busy_cache, "AUTH", APP, "wrong-password") == [
            WRONGPASS, wording.NOAUTH.rstrip(b"\r\n")]
        with busy_cache.tls() as s:
            s.sendall(encode("HELLO", "3", "AUTH", APP, "wrong-password"))
            assert replies(s, 1) == [WRONGPASS]
        # The admin's password is checked by the verifier too: a guess is refused.
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(unix_socket_path=str(busy_cache.work / "valkey.sock"), username="cloudlet-admin",
                        password=ADMIN_PW + "x").ping()
    finally:
        busy_cache.admin().script_kill()
    assert script.killed()


def test_admin_logs_in_during_busy_and_kills_the_script(busy_cache: NativeValkey) -> None:
    """cloudlet's watchdog may need a fresh admin connection to send SCRIPT KILL."""
    script = Runaway(busy_cache)
    admin = busy_cache.admin()  # a new connection: logs in now, through the verifier
    assert admin.script_kill()
    assert script.killed()
    assert busy_cache.client().set("k", "v")
    assert busy_cache.proc.poll() is None


def test_a_silent_verifier_during_busy_is_bounded(busy_cache: NativeValkey) -> None:
    """valkey's main thread waits for the answer, so the wait is bounded (5 s): then refused as
    when the verifier does not answer a blocked login."""
    script = Runaway(busy_cache)
    busy_cache.verifier.silent = True
    try:
        with busy_cache.tls() as s:
            s.settimeout(20)
            t0 = time.monotonic()
            s.sendall(encode("AUTH", APP, APP_PW))
            assert replies(s, 1) == [wording.SERVICE_UNAVAILABLE.rstrip(b"\r\n")]
            assert 4 < time.monotonic() - t0 < 12
    finally:
        busy_cache.verifier.silent = False
        busy_cache.admin().script_kill()
    assert script.killed()
    assert busy_cache.client().ping()


def test_a_gone_verifier_during_busy_refuses_at_once(busy_cache: NativeValkey) -> None:
    admin = busy_cache.admin()
    assert admin.ping()  # logged in while the verifier was there
    script = Runaway(busy_cache)
    busy_cache.verifier.close()
    t0 = time.monotonic()
    assert login_then_get(busy_cache, "AUTH", APP, APP_PW) == [
        wording.SERVICE_UNAVAILABLE.rstrip(b"\r\n"), wording.NOAUTH.rstrip(b"\r\n")]
    assert time.monotonic() - t0 < 3
    assert admin.script_kill()
    assert script.killed()
    assert busy_cache.proc.poll() is None
