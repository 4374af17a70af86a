"""Logging in while a script runs past busy-script-time, with real IAM tokens and passwords.

On ElastiCache (and the proxy) a new connection still authenticates while another client's
script keeps valkey BUSY; its commands then get BUSY until the script ends. Natively the login
is the module's synchronous question to cloudlet's verifier (valkey blocks no client while a
script runs): same users, same refusals, same login table."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import redis
from conftest import NATIVE, DataPlaneEnv

BUSY_AFTER_S = 5.0  # lua-time-limit / busy-reply-threshold of both backends here


class Runaway:
    def __init__(self, env: DataPlaneEnv) -> None:
        if NATIVE:  # cloudlet's watchdog would SCRIPT KILL it within a second: the test does
            proc: Any = env.proc  # type: ignore[attr-defined]
            env.lt.call(proc._watchdog.cancel)
        self.outcome: list[object] = []
        self.watcher = env.client(username="pw-user", password="passw0rd-passw0rd", single_connection_client=True)
        assert self.watcher.ping()
        runner = env.client(username="pw-user", password="passw0rd-passw0rd", socket_timeout=60)
        self.thread = threading.Thread(target=self._run, args=(runner,), daemon=True)
        self.thread.start()
        deadline = time.monotonic() + BUSY_AFTER_S + 10
        time.sleep(BUSY_AFTER_S - 0.5)
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

    def kill(self, env: DataPlaneEnv) -> None:
        env.valkey.admin().script_kill()  # a fresh admin connection: it logs in during BUSY too
        self.thread.join(10)
        assert self.outcome and "killed" in str(self.outcome[0]).lower()


def test_logins_during_a_busy_script_succeed_and_then_get_busy(dp_env: DataPlaneEnv) -> None:
    script = Runaway(dp_env)
    try:
        iam = dp_env.client(username="iam-user-01", password=dp_env.token(), single_connection_client=True)
        pw = dp_env.client(username="pw-user", password="second-password-1", single_connection_client=True)
        reader = dp_env.client(reader=True, username="iam-user-01", password=dp_env.token(),
                               single_connection_client=True)
        for r in (iam, pw):
            with pytest.raises(redis.ResponseError, match="^BUSY"):
                r.get("k")  # logged in (else NOAUTH / an auth error), then BUSY
        # Refusals keep their wording.
        with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
            dp_env.client(username="pw-user", password="nope-nope-nope-1").ping()
        with pytest.raises(redis.AuthenticationError, match="invalid username-password pair"):
            dp_env.client(username="iam-user-01", password=dp_env.token(user_name="reader-01")).ping()
    finally:
        script.kill(dp_env)
    # The logins made during BUSY are theirs: same connections, now served.
    assert iam.acl_whoami() == "iam-user-01" and pw.acl_whoami() == "pw-user"
    assert iam.set("k", "v") and pw.get("k") == b"v"
    assert reader.execute_command("READONLY") and reader.get("k") in (b"v", None)
    if NATIVE:  # the login table holds them: the IAM 12-hour timer and the user-removal kill
        logins = dp_env.dp.caches["cache-01"].logins
        users = sorted(login.user_name for login in logins.values())
        assert users.count("iam-user-01") >= 2 and "pw-user" in users
        assert all(login.timer is not None for login in logins.values() if login.iam)
